/* cmd_readm.c — `bacsc readm`: ReadPropertyMultiple over BACnet/SC. */
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
#include "readm.h"
#include "value_json.h"

const char bacsc_cmd_readm_summary[] = "read several properties at once (ReadPropertyMultiple)";

#define PROG "readm"
#define MAX_SPECS 160
#define MAX_REFS 512

typedef struct readm_opts {
    sc_tool *t;
} readm_opts;

static const cli_part readm_help[] = {
    CLI_TEXT("usage: bacsc readm DEVICE OBJECT PROP[,PROP...] [OBJECT PROP[,PROP...]]...\n"
             "                   [--json] CONNECTION...\n"
             "       bacsc readm DEVICE all [PROP[,PROP...]] [--json] CONNECTION...\n"
             "\n"
             "Read several properties of one or more objects with one\n"
             "ReadPropertyMultiple request. Arguments after DEVICE alternate: an object\n"
             "(TYPE,INSTANCE) and a comma-separated list of its properties, each a name\n"
             "or number with an optional [INDEX]; \"all\", \"required\" and \"optional\"\n"
             "are expanded by the device. Each result prints as\n"
             "  OBJECT PROPERTY = VALUE      or      OBJECT PROPERTY ! error: CLASS/CODE\n"
             "\n"
             "\"DEVICE all\" reads every object of the device (its Object_List first),\n"
             "with as many requests as needed, 4 in flight, each sized to what the\n"
             "device accepts and answers (default properties: all); progress on\n"
             "stderr; --timeout counts from the last answer.\n"
             "\n"
             "options:\n"),
    SC_TOOL_GROUPS(sc_tool_timeout10_rows, readm_opts, t),
    CLI_TEXT("\n"
             "exit status: 0 answered (individual properties may carry errors), 1 the\n"
             "             request was answered Error/Reject/Abort, 2 usage, 3 bad\n"
             "             profile/certificates, 4 hub or device unreachable, 5 (all)\n"
             "             some objects could not be read\n"
             "\n"
             "examples:\n"
             "  bacsc readm 1001 analog-value,1 present-value,units,priority-array[8]\n"
             "  bacsc readm 1001 device,1001 object-name,device-uuid network-port,1 all --json\n"
             "  bacsc readm 1001 all --json\n"
             "  bacsc readm 1001 all object-name,present-value\n"),
    CLI_END};

static const cli_spec readm_spec = {PROG, readm_help, .col = SC_TOOL_HELP_COL, .short_col = true};

struct rm {
    bacsc_rpm_spec specs[MAX_SPECS];
    bacsc_rpm_ref refs[MAX_REFS];
    size_t nspecs, nrefs;
};

static json_t *prop_json(uint32_t p)
{
    const char *n = bacsc_property_name(p);
    return n ? json_string(n) : json_integer(p);
}

int readm_print_ack(const uint8_t *ack, size_t len, json_t *arr)
{
    bacsc_fault f;
    if (bacsc_rpm_validate(ack, len, true, &f) < 0)
        return -1;
    bacsc_rpm_iter it;
    bacsc_rpm_iter_init(&it, ack, len, true);
    bacsc_object_id oid;
    bacsc_rpm_result res;
    while (bacsc_rpm_next_object(&it, &oid, &f) == 1) {
        char ob[64];
        bacsc_object_id_format(&oid, ob, sizeof ob);
        while (bacsc_rpm_next_result(&it, &res, &f) == 1) {
            char pn[96];
            const char *name = bacsc_property_name(res.property);
            if (name)
                snprintf(pn, sizeof pn, "%s", name);
            else
                snprintf(pn, sizeof pn, "%u", res.property);
            if (res.has_index)
                snprintf(pn + strlen(pn), sizeof pn - strlen(pn), "[%u]", res.index);
            if (arr) {
                json_t *o = json_object();
                json_object_set_new(o, "object", json_string(ob));
                json_object_set_new(o, "property", prop_json(res.property));
                if (res.has_index)
                    json_object_set_new(o, "index", json_integer(res.index));
                if (res.is_error) {
                    char e[96];
                    snprintf(e, sizeof e, "%s/%s", bacsc_error_class_name(res.error_class),
                             bacsc_error_code_name(res.error_code));
                    json_object_set_new(o, "error", json_string(e));
                } else {
                    json_t *v = bacsc_value_json(res.value, res.value_len);
                    json_object_set_new(o, "value", v ? v : json_null());
                    const char *en =
                        bacsc_value_enum_name(res.property, res.value, res.value_len);
                    if (en)
                        json_object_set_new(o, "value_name", json_string(en));
                }
                json_array_append_new(arr, o);
            } else if (res.is_error) {
                printf("%s %s ! error: %s/%s\n", ob, pn, bacsc_error_class_name(res.error_class),
                       bacsc_error_code_name(res.error_code));
            } else {
                const char *en = bacsc_value_enum_name(res.property, res.value, res.value_len);
                char *text = NULL;
                if (!en && bacsc_value_format_alloc(res.value, res.value_len, &text) ==
                               BACSC_ERR_NOMEM)
                    printf("%s %s ! error: out of memory formatting the value\n", ob, pn);
                else
                    printf("%s %s = %s\n", ob, pn, en ? en : text);
                free(text);
            }
        }
    }
    return 0;
}

static void done(void *user, const bacsc_client_result *r)
{
    sc_tool *t = user;
    if (t->finishing)
        return;
    if (r->outcome != BACSC_CLIENT_COMPLEX_ACK) {
        sc_tool_finish(t, sc_tool_result_error(t, r));
        return;
    }
    json_t *arr = t->json ? json_array() : NULL;
    if (readm_print_ack(r->ack, r->ack_len, arr) < 0) {
        json_decref(arr);
        cli_error(PROG, "malformed ReadPropertyMultiple-ACK");
        sc_tool_finish(t, EXIT_DATAERR);
        return;
    }
    if (arr)
        cli_print_json(arr);
    fflush(stdout);
    sc_tool_finish(t, EXIT_OK);
}

static void found(sc_tool *t, const bacsc_client_device *dev)
{
    struct rm *m = t->user;
    t->waiting_for = "the ReadPropertyMultiple answer";
    int rc = bacsc_client_read_property_multiple(t->cl, &dev->address, m->specs, m->nspecs, done,
                                                 t, sc_tool_now(t));
    if (rc < 0)
        sc_tool_finish(t, sc_tool_request_failed(t, "ReadPropertyMultiple", rc, dev->instance));
}

static void ready(sc_tool *t)
{
    sc_tool_resolve(t, t->want_instance, found);
}

static int parse_props(struct rm *m, bacsc_rpm_spec *s, const char *list)
{
    char *copy = strdup(list);
    if (!copy)
        return -1;
    s->refs = &m->refs[m->nrefs];
    s->nrefs = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (m->nrefs == MAX_REFS) {
            cli_error(PROG, "at most %d properties", MAX_REFS);
            free(copy);
            return -1;
        }
        bacsc_rpm_ref *r = &m->refs[m->nrefs];
        uint32_t idx;
        if (bacsc_property_ref_parse(tok, &r->property, &idx) != 0) {
            cli_error(PROG, "'%s' is not a property (name or number, optional [INDEX])", tok);
            free(copy);
            return -1;
        }
        r->has_index = idx != BACSC_ARRAY_ALL;
        r->index = idx;
        m->nrefs++;
        s->nrefs++;
    }
    free(copy);
    if (s->nrefs == 0) {
        cli_error(PROG, "empty property list '%s'", list);
        return -1;
    }
    return 0;
}

int bacsc_cmd_readm(int argc, char **argv);
int bacsc_cmd_readm(int argc, char **argv)
{
    sc_tool t;
    sc_tool_init(&t, PROG, 10.0);
    static struct rm m;
    memset(&m, 0, sizeof m);
    readm_opts o = {.t = &t};
    int rc = cli_parse(&readm_spec, &o, &argc, argv);
    if (rc >= 0)
        return rc;
    int npos = argc - 1;
    if (npos >= 2 && strcmp(argv[2], "all") == 0) {
        if (cli_extra_args(PROG, argc, argv, 3))
            return EXIT_USAGE;
        /* the whole device: DEVICE all [PROPS] */
        if ((rc = sc_tool_parse_device(&t, argv[1])) != 0)
            return rc;
        const char *props = npos == 3 ? argv[3] : "all";
        if (parse_props(&m, &m.specs[0], props))
            return EXIT_USAGE;
        return readm_all_main(&t, m.refs, m.nrefs, props);
    }
    if (npos >= 2 && (npos - 1) % 2 != 0) {
        cli_error(PROG, "object '%s' has no PROPERTY-LIST (see --help)", argv[argc - 1]);
        return EXIT_USAGE;
    }
    if (npos < 3) {
        cli_error(PROG, "expected DEVICE followed by OBJECT PROPERTY-LIST pairs (see --help)");
        return EXIT_USAGE;
    }
    if ((rc = sc_tool_parse_device(&t, argv[1])) != 0)
        return rc;
    for (int i = 2; i < argc; i += 2) {
        if (m.nspecs == MAX_SPECS) {
            cli_error(PROG, "at most %d objects", MAX_SPECS);
            return EXIT_USAGE;
        }
        bacsc_rpm_spec *s = &m.specs[m.nspecs];
        if ((rc = sc_tool_parse_object(&t, argv[i], &s->object)) != 0)
            return rc;
        if (parse_props(&m, s, argv[i + 1]))
            return EXIT_USAGE;
        m.nspecs++;
    }
    return sc_tool_main(&t, &m, ready);
}
