/*
 * sc_reinit — test helper: ReinitializeDevice over BACnet/SC (until the
 * `bacsc` command has a verb for it), built on the CLI support library.
 *
 *   sc_reinit DEVICE STATE [PASSWORD] CONNECTION...   (connection options as
 *                                                     for `bacsc read`)
 * STATE: a number or a name (activate-changes, warmstart, coldstart).
 * Prints "ok" on SimpleACK; exit codes as `bacsc write`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/client.h"
#include "bacsc/error.h"
#include "bacsc/services.h"
#include "cli/cli.h"
#include "cli/cli_opt.h"
#include "cli/sc_tool.h"

#define PROG "sc_reinit"

static bacsc_reinit_request req;

static void done(void *user, const bacsc_client_result *r)
{
    sc_tool *t = user;
    if (t->finishing)
        return;
    if (r->outcome != BACSC_CLIENT_SIMPLE_ACK) {
        char buf[160];
        bacsc_client_result_format(r, buf, sizeof buf);
        printf("%s\n", buf);
        fflush(stdout);
        sc_tool_finish(t, r->outcome == BACSC_CLIENT_TIMEOUT ? EXIT_UNAVAILABLE : EXIT_FAIL);
        return;
    }
    printf("ok\n");
    fflush(stdout);
    sc_tool_finish(t, EXIT_OK);
}

static void found(sc_tool *t, const bacsc_client_device *dev)
{
    t->waiting_for = "the ReinitializeDevice answer";
    if (bacsc_client_reinitialize(t->cl, &dev->address, &req, done, t, sc_tool_now(t)) < 0)
        sc_tool_finish(t, EXIT_FAIL);
}

static void ready(sc_tool *t)
{
    sc_tool_resolve(t, t->want_instance, found);
}

typedef struct reinit_opts {
    sc_tool *t;
} reinit_opts;

static const cli_part reinit_help[] = {
    CLI_TEXT("usage: sc_reinit DEVICE STATE [PASSWORD] CONNECTION...\n\n"),
    SC_TOOL_GROUPS(sc_tool_timeout10_rows, reinit_opts, t), CLI_END};

static const cli_spec reinit_spec = {PROG, reinit_help, .col = SC_TOOL_HELP_COL};

int main(int argc, char **argv)
{
    sc_tool t;
    sc_tool_init(&t, PROG, 10.0);
    reinit_opts o = {.t = &t};
    int rc = cli_parse(&reinit_spec, &o, &argc, argv);
    if (rc >= 0)
        return rc;
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: sc_reinit DEVICE STATE [PASSWORD] CONNECTION...\n");
        return EXIT_USAGE;
    }
    if ((rc = sc_tool_parse_device(&t, argv[1])) != 0)
        return rc;
    char *end;
    unsigned long st = strtoul(argv[2], &end, 10);
    if (*end == '\0' && st <= 7)
        req.state = (uint8_t)st;
    else if (bacsc_reinit_state_parse(argv[2], &req.state) != BACSC_OK)
        return EXIT_USAGE;
    if (argc == 4) {
        req.has_password = true;
        req.password.charset = BACSC_CHARSET_UTF8;
        req.password.data = (const uint8_t *)argv[3];
        req.password.len = strlen(argv[3]);
    }
    return sc_tool_main(&t, &t, ready);
}
