/* cmd_write.c — `bacsc write`: WriteProperty over BACnet/SC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/apdu.h"
#include "bacsc/services.h"
#include "bacsc/tags.h"
#include "bacsc/value.h"
#include "cli.h"
#include "sc_tool.h"

const char bacsc_cmd_write_summary[] = "write a property of a BACnet device over BACnet/SC";

#define PROG "write"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bacsc write DEVICE OBJECT PROPERTY VALUE [--priority P] [--type T]\n"
            "                   [--index I] [--json] CONNECTION...\n"
            "\n"
            "Write one property with WriteProperty. DEVICE, OBJECT and PROPERTY as for\n"
            "`bacsc read`. VALUE is text in the property's datatype (known for the\n"
            "properties bacsc serves; otherwise give --type); \"null\" relinquishes a\n"
            "commandable value at --priority.\n"
            "\n"
            "options:\n"
            "      --priority P          1..16 (commandable properties; default: none sent = 16)\n"
            "      --type T              real, unsigned, signed, boolean, enumerated,\n"
            "                            character-string, octet-string, double, null, ...\n"
            "      --index I             array index\n" SC_TOOL_OPTIONS_HELP
            "\n"
            "exit status: 0 written, 1 the device answered Error/Reject/Abort, 2 usage,\n"
            "             3 bad profile/certificates or value, 4 hub or device unreachable\n"
            "\n"
            "examples:\n"
            "  bacsc write 1001 analog-value,1 present-value 21.5 --priority 8\n"
            "  bacsc write 1001 analog-value,1 present-value null --priority 8\n"
            "  bacsc write 1001 device,1001 location \"Plant room\" --type string\n",
            "10");
}

struct wr {
    bacsc_wp_request wp;
    uint8_t value[1500];
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
    if (bacsc_client_write_property(t->cl, &dev->address, &w->wp, done, t, sc_tool_now(t)) < 0) {
        cli_error(PROG, "cannot send WriteProperty");
        sc_tool_finish(t, EXIT_FAIL);
    }
}

static void ready(sc_tool *t)
{
    sc_tool_resolve(t, t->want_instance, found);
}

int bacsc_cmd_write(int argc, char **argv);
int bacsc_cmd_write(int argc, char **argv)
{
    enum { OPT_INDEX = 1, OPT_PRIORITY, OPT_TYPE };
    static const struct option longopts[] = {{"index", required_argument, NULL, OPT_INDEX},
                                             {"priority", required_argument, NULL, OPT_PRIORITY},
                                             {"type", required_argument, NULL, OPT_TYPE},
                                             SC_TOOL_LONGOPTS,
                                             {NULL, 0, NULL, 0}};
    sc_tool t;
    sc_tool_init(&t, PROG, 10.0);
    static struct wr w;
    memset(&w, 0, sizeof w);
    unsigned long ul;
    int type = -1;
    bool has_index = false;
    uint32_t index = 0;
    int opt, rc;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
        if (opt == 'h' || opt == SC_OPT_HELP) {
            usage(stdout);
            return EXIT_OK;
        }
        if (opt == 'j')
            opt = SC_OPT_JSON;
        if (opt == OPT_INDEX) {
            if (sc_parse_ulong(PROG, "--index", optarg, 0, 4294967294ul, &ul))
                return EXIT_USAGE;
            has_index = true;
            index = (uint32_t)ul;
            continue;
        }
        if (opt == OPT_PRIORITY) {
            if (sc_parse_ulong(PROG, "--priority", optarg, 1, 16, &ul))
                return EXIT_USAGE;
            w.wp.has_priority = true;
            w.wp.priority = (uint8_t)ul;
            continue;
        }
        if (opt == OPT_TYPE) {
            type = bacsc_value_type_parse(optarg);
            if (type < 0) {
                cli_error(PROG, "--type: unknown type '%s'", optarg);
                return EXIT_USAGE;
            }
            continue;
        }
        if ((rc = sc_tool_opt_or_usage(&t, opt, optarg, argc, argv)) != 0)
            return rc;
    }
    if (argc - optind != 4) {
        cli_error(PROG, "expected DEVICE OBJECT PROPERTY VALUE (see --help)");
        return EXIT_USAGE;
    }
    if ((rc = sc_tool_parse_device(&t, argv[optind])) != 0)
        return rc;
    if ((rc = sc_tool_parse_object(&t, argv[optind + 1], &w.wp.object)) != 0)
        return rc;
    uint32_t pidx;
    if (bacsc_property_ref_parse(argv[optind + 2], &w.wp.property, &pidx) != 0) {
        cli_error(PROG, "'%s' is not a property (name or number)", argv[optind + 2]);
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
        if (strcmp(argv[optind + 3], "null") == 0) {
            type = BACSC_TAG_NULL;
        } else {
            cli_error(PROG, "datatype of %s unknown: give --type", argv[optind + 2]);
            return EXIT_USAGE;
        }
    }
    const char *what = NULL;
    int n = bacsc_value_parse(argv[optind + 3], type, w.value, sizeof w.value, &what);
    if (n < 0) {
        cli_error(PROG, "value '%s': %s", argv[optind + 3], what ? what : "does not parse");
        return EXIT_DATAERR;
    }
    w.wp.value = w.value;
    w.wp.value_len = (size_t)n;
    return sc_tool_main(&t, argc, argv, &w, ready);
}
