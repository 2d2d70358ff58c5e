/* cmd_write.c — `bacsc write`: WriteProperty over BACnet/SC. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/apdu.h"
#include "bacsc/services.h"
#include "bacsc/tags.h"
#include "bacsc/value.h"
#include "cli.h"
#include "cli_opt.h"
#include "sc_tool.h"

const char bacsc_cmd_write_summary[] = "write a property of a BACnet device over BACnet/SC";

#define PROG "write"

typedef struct write_opts {
    sc_tool *t;
    unsigned long index, priority;
    const char *type;
} write_opts;

static const cli_opt write_rows[] = {
    CLI_ULONG("priority", 0, "P", write_opts, priority, 1, 16,
              "1..16 (commandable properties; default: none sent = 16)"),
    CLI_STR("type", 0, "T", write_opts, type,
            "real, unsigned, signed, boolean, enumerated,\n"
            "character-string, octet-string, double, null, ..."),
    CLI_ULONG("index", 0, "I", write_opts, index, 0, 4294967294, "array index"),
    CLI_END};

static const cli_part write_help[] = {
    CLI_TEXT("usage: bacsc write DEVICE OBJECT PROPERTY VALUE [--priority P] [--type T]\n"
             "                   [--index I] [--json] CONNECTION...\n"
             "\n"
             "Write one property with WriteProperty. DEVICE, OBJECT and PROPERTY as for\n"
             "`bacsc read`. VALUE is text in the property's datatype (known for the\n"
             "properties bacsc serves; otherwise give --type); \"null\" relinquishes a\n"
             "commandable value at --priority.\n"
             "\n"),
    CLI_GROUP("options:", write_rows, 0),
    SC_TOOL_GROUPS(sc_tool_timeout10_rows, write_opts, t),
    CLI_TEXT("\n"
             "exit status: 0 written, 1 the device answered Error/Reject/Abort, 2 usage,\n"
             "             3 bad profile/certificates or value, 4 hub or device unreachable\n"
             "\n"
             "examples:\n"
             "  bacsc write 1001 analog-value,1 present-value 21.5 --priority 8\n"
             "  bacsc write 1001 analog-value,1 present-value null --priority 8\n"
             "  bacsc write 1001 device,1001 location \"Plant room\" --type string\n"),
    CLI_END};

static const cli_spec write_spec = {PROG, write_help, .col = SC_TOOL_HELP_COL, .short_col = true};

struct wr {
    bacsc_wp_request wp;
    uint8_t value[16384];
};

static void done(void *user, const bacsc_client_result *r)
{
    sc_tool *t = user;
    if (t->finishing)
        return;
    if (r->outcome != BACSC_CLIENT_SIMPLE_ACK) {
        sc_tool_finish(t, sc_tool_result_error(t, r));
        return;
    }
    if (t->json) {
        json_t *o = json_object();
        json_object_set_new(o, "result", json_string("ok"));
        cli_print_json(o);
    } else {
        printf("ok\n");
    }
    fflush(stdout);
    sc_tool_finish(t, EXIT_OK);
}

static void found(sc_tool *t, const bacsc_client_device *dev)
{
    struct wr *w = t->user;
    t->waiting_for = "the WriteProperty answer";
    int rc = bacsc_client_write_property(t->cl, &dev->address, &w->wp, done, t, sc_tool_now(t));
    if (rc < 0)
        sc_tool_finish(t, sc_tool_request_failed(t, "WriteProperty", rc, dev->instance));
}

static void ready(sc_tool *t)
{
    sc_tool_resolve(t, t->want_instance, found);
}

int bacsc_cmd_write(int argc, char **argv);
int bacsc_cmd_write(int argc, char **argv)
{
    sc_tool t;
    sc_tool_init(&t, PROG, 10.0);
    static struct wr w;
    memset(&w, 0, sizeof w);
    write_opts o = {.t = &t, .index = ULONG_MAX};
    int rc = cli_parse(&write_spec, &o, &argc, argv);
    if (rc >= 0)
        return rc;
    bool has_index = o.index != ULONG_MAX;
    uint32_t index = (uint32_t)o.index;
    if (o.priority) {
        w.wp.has_priority = true;
        w.wp.priority = (uint8_t)o.priority;
    }
    int type = -1;
    if (o.type && (type = bacsc_value_type_parse(o.type)) < 0) {
        cli_error(PROG, "--type: unknown type '%s'", o.type);
        return EXIT_USAGE;
    }
    if (cli_extra_args(PROG, argc, argv, 4))
        return EXIT_USAGE;
    if (argc != 5) {
        cli_error(PROG, "expected DEVICE OBJECT PROPERTY VALUE (see --help)");
        return EXIT_USAGE;
    }
    if ((rc = sc_tool_parse_device(&t, argv[1])) != 0)
        return rc;
    if ((rc = sc_tool_parse_object(&t, argv[2], &w.wp.object)) != 0)
        return rc;
    uint32_t pidx;
    if (bacsc_property_ref_parse(argv[3], &w.wp.property, &pidx) != 0) {
        cli_error(PROG, "'%s' is not a property (name or number)", argv[3]);
        return EXIT_USAGE;
    }
    if (pidx != BACSC_ARRAY_ALL) {
        w.wp.has_index = true;
        w.wp.index = pidx;
    }
    if (has_index) {
        w.wp.has_index = true;
        w.wp.index = index;
    }
    if (type < 0)
        type = bacsc_property_datatype(w.wp.object.type, w.wp.property);
    if (type < 0) {
        if (strcmp(argv[4], "null") == 0) {
            type = BACSC_TAG_NULL;
        } else {
            cli_error(PROG, "datatype of %s unknown: give --type", argv[3]);
            return EXIT_USAGE;
        }
    }
    const char *what = NULL;
    int n = bacsc_value_parse(argv[4], type, w.value, sizeof w.value, &what);
    if (n < 0) {
        cli_error(PROG, "value '%s': %s", argv[4], what ? what : "does not parse");
        return EXIT_DATAERR;
    }
    w.wp.value = w.value;
    w.wp.value_len = (size_t)n;
    return sc_tool_main(&t, &w, ready);
}
