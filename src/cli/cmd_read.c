/* cmd_read.c — `bacsc read`: ReadProperty over BACnet/SC. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/apdu.h"
#include "bacsc/error.h"
#include "bacsc/services.h"
#include "bacsc/value.h"
#include "cli.h"
#include "cli_opt.h"
#include "sc_tool.h"
#include "value_json.h"

const char bacsc_cmd_read_summary[] = "read a property of a BACnet device over BACnet/SC";

#define PROG "read"

typedef struct read_opts {
    sc_tool *t;
    unsigned long index, repeat;
    double interval;
} read_opts;

static const cli_opt read_rows[] = {
    CLI_ULONG("index", 0, "I", read_opts, index, 0, 4294967294, "array index (also PROPERTY[I])"),
    CLI_ULONG("repeat", 0, "N", read_opts, repeat, 1, 1000000,
              "read N times (one result line each; stops at the\n"
              "first failure); give --timeout for all of them"),
    CLI_SECONDS("interval", 0, "S", read_opts, interval,
                "seconds between repeated reads (default 1)"),
    CLI_END};

static const cli_part read_help[] = {
    CLI_TEXT("usage: bacsc read DEVICE OBJECT PROPERTY [--index I] [--repeat N [--interval S]]\n"
             "                  [--direct] [--json] CONNECTION...\n"
             "\n"
             "Read one property with ReadProperty. DEVICE is a device instance (its VMAC\n"
             "is found with a Who-Is); OBJECT is TYPE,INSTANCE (\"analog-value,1\",\n"
             "\"device,1001\", \"56,1\"); PROPERTY a name or number (\"present-value\", 85,\n"
             "\"object-list[3]\", \"sc-hub-connector-state\").\n"
             "\n"),
    CLI_GROUP("options:", read_rows, 0),
    SC_TOOL_GROUPS(sc_tool_timeout10_rows, read_opts, t),
    CLI_TEXT("\n"
             "exit status: 0 read, 1 the device answered Error/Reject/Abort, 2 usage,\n"
             "             3 bad profile/certificates, 4 hub or device unreachable\n"
             "\n"
             "examples:\n"
             "  bacsc read 1001 analog-value,1 present-value --profile site.json\n"
             "  bacsc read 1001 network-port,1 sc-hub-connector-state --json\n"),
    CLI_END};

static const cli_spec read_spec = {PROG, read_help, .col = SC_TOOL_HELP_COL, .short_col = true};

struct rd {
    bacsc_rp_request rp;
    const char *obj_text, *prop_text;
    unsigned long repeat, done;
    double interval;
    bacsc_client_device dev;
    bacsc_timer again;
    bool sent_direct;
};

static void send_read(sc_tool *t);

static void done(void *user, const bacsc_client_result *r)
{
    sc_tool *t = user;
    struct rd *d = t->user;
    if (t->finishing)
        return;
    if (r->outcome != BACSC_CLIENT_COMPLEX_ACK) {
        sc_tool_finish(t, sc_tool_result_error(t, r));
        return;
    }
    bacsc_rp_ack ack;
    bacsc_fault f;
    if (bacsc_rp_ack_decode(r->ack, r->ack_len, &ack, &f) < 0) {
        cli_error(PROG, "malformed ReadProperty-ACK");
        sc_tool_finish(t, EXIT_DATAERR);
        return;
    }
    if (t->json) {
        char ob[64];
        json_t *o = json_object();
        json_object_set_new(o, "device", json_integer(t->want_instance));
        json_object_set_new(o, "object", json_string(bacsc_object_id_format(&d->rp.object, ob,
                                                                            sizeof ob)));
        const char *pn = bacsc_property_name(d->rp.property);
        json_object_set_new(o, "property", pn ? json_string(pn) : json_integer(d->rp.property));
        if (d->rp.has_index)
            json_object_set_new(o, "index", json_integer(d->rp.index));
        if (t->direct || d->repeat > 1)
            json_object_set_new(o, "direct", json_boolean(d->sent_direct));
        json_t *v = bacsc_value_json(ack.value, ack.value_len);
        json_object_set_new(o, "value", v ? v : json_null());
        const char *en = bacsc_value_enum_name(d->rp.property, ack.value, ack.value_len);
        if (en) /* the number stays in "value" */
            json_object_set_new(o, "value_name", json_string(en));
        if (d->repeat > 1) { /* one compact line per result (JSON Lines) */
            char *line = json_dumps(o, JSON_COMPACT);
            printf("%s\n", line ? line : "{}");
            free(line);
            json_decref(o);
        } else {
            cli_print_json(o);
        }
    } else {
        const char *en = bacsc_value_enum_name(d->rp.property, ack.value, ack.value_len);
        char *text = NULL;
        if (!en && bacsc_value_format_alloc(ack.value, ack.value_len, &text) == BACSC_ERR_NOMEM) {
            cli_error(PROG, "out of memory formatting the value");
            sc_tool_finish(t, EXIT_FAIL);
            return;
        }
        printf("%s\n", en ? en : text);
        free(text);
    }
    fflush(stdout);
    if (++d->done < d->repeat) {
        bacsc_timer_start(t->loop, &d->again, sc_us(d->interval));
        return;
    }
    sc_tool_finish(t, EXIT_OK);
}

static void send_read(sc_tool *t)
{
    struct rd *d = t->user;
    t->waiting_for = "the ReadProperty answer";
    d->sent_direct = sc_tool_is_direct(t, d->dev.address.mac);
    int rc = bacsc_client_read_property(t->cl, &d->dev.address, &d->rp, done, t, sc_tool_now(t));
    if (rc < 0)
        sc_tool_finish(t, sc_tool_request_failed(t, "ReadProperty", rc, d->dev.instance));
}

static void on_again(bacsc_loop *loop, void *user)
{
    sc_tool *t = user;
    (void)loop;
    if (!t->finishing)
        send_read(t);
}

static void found(sc_tool *t, const bacsc_client_device *dev)
{
    struct rd *d = t->user;
    d->dev = *dev;
    bacsc_timer_init(&d->again, on_again, t);
    send_read(t);
}

static void ready(sc_tool *t)
{
    sc_tool_resolve(t, t->want_instance, found);
}

int bacsc_cmd_read(int argc, char **argv);
int bacsc_cmd_read(int argc, char **argv)
{
    sc_tool t;
    sc_tool_init(&t, PROG, 10.0);
    struct rd d = {.repeat = 1, .interval = 1.0};
    read_opts o = {.t = &t, .index = ULONG_MAX, .repeat = 1, .interval = 1.0};
    int rc = cli_parse(&read_spec, &o, &argc, argv);
    if (rc >= 0)
        return rc;
    d.repeat = o.repeat;
    d.interval = o.interval;
    bool has_index = o.index != ULONG_MAX;
    uint32_t index = (uint32_t)o.index;
    if (cli_extra_args(PROG, argc, argv, 3))
        return EXIT_USAGE;
    if (argc != 4) {
        cli_error(PROG, "expected DEVICE OBJECT PROPERTY (see --help)");
        return EXIT_USAGE;
    }
    if ((rc = sc_tool_parse_device(&t, argv[1])) != 0)
        return rc;
    if ((rc = sc_tool_parse_object(&t, argv[2], &d.rp.object)) != 0)
        return rc;
    uint32_t pidx;
    if (bacsc_property_ref_parse(argv[3], &d.rp.property, &pidx) != 0) {
        cli_error(PROG, "'%s' is not a property (name or number, optional [INDEX])",
                  argv[3]);
        return EXIT_USAGE;
    }
    if (pidx != BACSC_ARRAY_ALL) {
        d.rp.has_index = true;
        d.rp.index = pidx;
    }
    if (has_index) {
        d.rp.has_index = true;
        d.rp.index = index;
    }
    return sc_tool_main(&t, &d, ready);
}
