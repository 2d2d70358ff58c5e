/*
 * cmd_decode.c — `bacsc decode`: print every field of a BVLC-SC message.
 *
 * Input is hex text (arguments or stdin; whitespace, ':', '-', ',' and "0x"
 * tolerated) or, with --file, raw octets. Output is human-readable, or JSON
 * with the stable field names documented in docs/decode.md. A malformed
 * message prints the BACnet error code the codec assigns (e.g.
 * "header-encoding-error (145)"), the offset and the option marker, and
 * exits EXIT_DATAERR.
 *
 * The Encapsulated-NPDU payload goes through print_npdu(), which decodes the
 * NPDU, APDU header and known services (decode_npdu.c). --bip decodes a
 * BACnet/IP BVLL datagram instead of a BVLC-SC message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/bvlc.h"
#include "bacsc/error.h"
#include "bacsc/hex.h"
#include "cli.h"
#include "cli_opt.h"
#include "decode_npdu.h"

const char bacsc_cmd_decode_summary[] = "decode and print a BVLC-SC message given as hex or a file";

#define PROG "decode"
#define MAX_INPUT (1024 * 1024)

typedef struct decode_opts {
    const char *file;
    bool json, bip;
} decode_opts;

static const cli_opt decode_rows[] = {
    CLI_STR("file", 'f', "FILE", decode_opts, file,
            "read raw octets from FILE ('-' = stdin) instead of hex"),
    CLI_FLAG("json", 'j', decode_opts, json, "print JSON (field names: docs/decode.md)"),
    CLI_FLAG("bip", 'b', decode_opts, bip, "the input is a BACnet/IP (Annex J) BVLL datagram"),
    CLI_LOGLEVEL("log-level", 0, "LVL", "error, warn, info, debug, trace"),
    CLI_HELP("help", 'h', "this text"),
    CLI_END};

static const cli_part decode_help[] = {
    CLI_TEXT("usage: bacsc decode [--json] [--bip] [--file FILE] [HEX...]\n"
             "\n"
             "Decode one BVLC-SC message (ASHRAE 135 Annex AB) and print every field,\n"
             "including the NPDU, APDU header and known service payloads it carries.\n"
             "Hex comes from the arguments (joined) or, when there are none, stdin;\n"
             "whitespace, ':', '-', ',', '.' and 0x prefixes are ignored.\n"
             "\n"),
    CLI_GROUP("options:", decode_rows, 0),
    CLI_TEXT("\n"
             "exit status: 0 decoded, 2 usage, 3 input not hex or message malformed\n"
             "\n"
             "example:\n"
             "  bacsc decode 01040004 112233445566 01040005010c0c020003e9194d\n"),
    CLI_END};

static const cli_spec decode_spec = {PROG, decode_help, .col = 24, .short_col = true};

/* ---- small output helpers ------------------------------------------------ */

/* A string if `p` is valid UTF-8, else JSON null (the raw octets are always
 * in "payload_hex"). */
static json_t *json_text(const uint8_t *p, size_t n)
{
    json_t *j = json_stringn((const char *)p, n);
    return j ? j : json_null();
}

static json_t *json_vmac(const bacsc_vmac *v)
{
    char s[18];
    return json_string(bacsc_vmac_format(v, s));
}

/* Print text with non-printable octets escaped. */
static void print_text(const uint8_t *p, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7F && p[i] != '"' && p[i] != '\\')
            putchar(p[i]);
        else
            printf("\\x%02x", p[i]);
    }
    putchar('"');
}

static void print_hex_line(const char *label, const uint8_t *p, size_t n)
{
    char *s = decode_hex_dup(p, n);
    printf("  %-22s %s%s(%zu octets)\n", label, s, n ? " " : "", n);
    free(s);
}

static const char *option_type_name(uint8_t type)
{
    switch (type) {
    case BACSC_OPT_SECURE_PATH: return "Secure-Path";
    case BACSC_OPT_PROPRIETARY: return "Proprietary";
    default: return "unknown";
    }
}

static const char *hub_status_name(uint8_t s)
{
    switch (s) {
    case BACSC_HUB_STATUS_NONE: return "no-hub-connection";
    case BACSC_HUB_STATUS_PRIMARY: return "connected-to-primary";
    case BACSC_HUB_STATUS_FAILOVER: return "connected-to-failover";
    default: return "unknown";
    }
}

/* ---- the NPDU hook ------------------------------------------------------- */

/*
 * Print the NPDU carried by an Encapsulated-NPDU: its hex ("npdu"), then the
 * decoded NPDU header, APDU header and service fields ("npdu_header").
 */
static void print_npdu(const uint8_t *npdu, size_t len, json_t *obj)
{
    if (obj)
        json_object_set_new(obj, "npdu", decode_json_hex(npdu, len));
    else
        print_hex_line("npdu", npdu, len);
    decode_npdu_print(npdu, len, obj, 4);
}

/* ---- human-readable ------------------------------------------------------ */

static void print_options_human(const char *label, const bacsc_bvlc_option *o, uint8_t n)
{
    if (n == 0) {
        printf("  %-22s none\n", label);
        return;
    }
    printf("  %-22s %u\n", label, n);
    for (uint8_t i = 0; i < n; i++, o++) {
        printf("    [%u] marker 0x%02x  type %u %s%s%s\n", i, o->marker, o->type,
               option_type_name(o->type), o->must_understand ? "  must-understand" : "",
               o->marker & BACSC_OPT_MORE ? "  more" : "");
        if (o->type == BACSC_OPT_PROPRIETARY) {
            char *s = decode_hex_dup(o->proprietary_data, o->proprietary_len);
            printf("        vendor-id %u  proprietary-type %u  data %s(%u octets)\n",
                   o->vendor_id, o->proprietary_type, s, o->proprietary_len);
            free(s);
        } else if (o->has_data) {
            char *s = decode_hex_dup(o->data, o->data_len);
            printf("        data %s(%u octets)\n", s, o->data_len);
            free(s);
        }
    }
}

static void print_human(const bacsc_bvlc_msg *m, size_t len)
{
    char v[18], u[37];
    printf("BVLC-SC message, %zu octets\n", len);
    printf("  %-22s %s (0x%02x)\n", "function", bacsc_bvlc_function_name(m->function), m->function);
    printf("  %-22s 0x%02x%s%s%s%s\n", "control", m->control,
           m->control & BACSC_BVLC_CTRL_ORIG_VMAC ? " orig-vmac" : "",
           m->control & BACSC_BVLC_CTRL_DEST_VMAC ? " dest-vmac" : "",
           m->control & BACSC_BVLC_CTRL_DEST_OPTIONS ? " dest-options" : "",
           m->control & BACSC_BVLC_CTRL_DATA_OPTIONS ? " data-options" : "");
    printf("  %-22s %u (0x%04x)\n", "message-id", m->message_id, m->message_id);
    printf("  %-22s %s\n", "originating-vmac", m->has_orig ? bacsc_vmac_format(&m->orig, v) : "-");
    printf("  %-22s %s%s\n", "destination-vmac", m->has_dest ? bacsc_vmac_format(&m->dest, v) : "-",
           m->has_dest && bacsc_vmac_is_broadcast(&m->dest) ? " (broadcast)" : "");
    print_options_human("destination-options", m->dest_options, m->n_dest_options);
    print_options_human("data-options", m->data_options, m->n_data_options);
    if (m->not_understood_marker)
        printf("  %-22s 0x%02x (a destination answers NAK header-not-understood (146))\n",
               "not-understood-marker", m->not_understood_marker);
    switch (m->function) {
    case BACSC_BVLC_RESULT: {
        const bacsc_bvlc_result *r = &m->u.result;
        printf("  %-22s %s (0x%02x)\n", "result-for", bacsc_bvlc_function_name(r->result_for),
               r->result_for);
        printf("  %-22s %s\n", "result", r->result_code == BACSC_RESULT_ACK ? "ACK" : "NAK");
        if (r->result_code == BACSC_RESULT_NAK) {
            printf("  %-22s 0x%02x\n", "error-header-marker", r->error_marker);
            printf("  %-22s %u%s\n", "error-class", r->error_class,
                   r->error_class == BACSC_ERROR_CLASS_COMMUNICATION ? " (communication)" : "");
            printf("  %-22s %s (%u)\n", "error-code", bacsc_sc_error_name(r->error_code),
                   r->error_code);
            printf("  %-22s ", "error-details");
            print_text(r->details, r->details_len);
            putchar('\n');
        }
        break;
    }
    case BACSC_BVLC_ENCAPSULATED_NPDU:
        print_npdu(m->payload, m->payload_len, NULL);
        break;
    case BACSC_BVLC_ADDRESS_RESOLUTION_ACK: {
        printf("  %-22s", "uris");
        if (m->payload_len == 0)
            printf(" none");
        size_t start = 0;
        for (size_t i = 0; m->payload_len && i <= m->payload_len; i++) {
            if (i == m->payload_len || m->payload[i] == ' ') {
                putchar(' ');
                print_text(m->payload + start, i - start);
                start = i + 1;
            }
        }
        putchar('\n');
        break;
    }
    case BACSC_BVLC_ADVERTISEMENT: {
        const bacsc_bvlc_advertisement *a = &m->u.advertisement;
        printf("  %-22s %s (%u)\n", "hub-connection-status", hub_status_name(a->hub_status),
               a->hub_status);
        printf("  %-22s %s (%u)\n", "accept-direct-connect",
               a->accept_direct == 1 ? "yes" : a->accept_direct == 0 ? "no" : "invalid",
               a->accept_direct);
        printf("  %-22s %u\n", "max-bvlc-length", a->max_bvlc_len);
        printf("  %-22s %u\n", "max-npdu-length", a->max_npdu_len);
        break;
    }
    case BACSC_BVLC_CONNECT_REQUEST:
    case BACSC_BVLC_CONNECT_ACCEPT: {
        const bacsc_bvlc_connect *c = &m->u.connect;
        printf("  %-22s %s\n", "vmac", bacsc_vmac_format(&c->vmac, v));
        printf("  %-22s %s\n", "device-uuid", bacsc_uuid_format(&c->uuid, u));
        printf("  %-22s %u\n", "max-bvlc-length", c->max_bvlc_len);
        printf("  %-22s %u\n", "max-npdu-length", c->max_npdu_len);
        break;
    }
    case BACSC_BVLC_PROPRIETARY_MESSAGE: {
        const bacsc_bvlc_proprietary *p = &m->u.proprietary;
        printf("  %-22s %u\n", "vendor-id", p->vendor_id);
        printf("  %-22s %u (0x%02x)\n", "proprietary-function", p->function, p->function);
        print_hex_line("proprietary-data", p->data, p->data_len);
        break;
    }
    default:
        break;
    }
}

/* ---- JSON ---------------------------------------------------------------- */

static json_t *options_json(const bacsc_bvlc_option *o, uint8_t n)
{
    json_t *a = json_array();
    for (uint8_t i = 0; i < n; i++, o++) {
        json_t *j = json_object();
        json_object_set_new(j, "marker", json_integer(o->marker));
        json_object_set_new(j, "type", json_integer(o->type));
        json_object_set_new(j, "type_name", json_string(option_type_name(o->type)));
        json_object_set_new(j, "must_understand", json_boolean(o->must_understand));
        json_object_set_new(j, "more", json_boolean(o->marker & BACSC_OPT_MORE));
        json_object_set_new(j, "has_data", json_boolean(o->has_data));
        if (o->has_data)
            json_object_set_new(j, "data", decode_json_hex(o->data, o->data_len));
        if (o->type == BACSC_OPT_PROPRIETARY) {
            json_object_set_new(j, "vendor_id", json_integer(o->vendor_id));
            json_object_set_new(j, "proprietary_type", json_integer(o->proprietary_type));
            json_object_set_new(j, "proprietary_data",
                                decode_json_hex(o->proprietary_data, o->proprietary_len));
        }
        json_array_append_new(a, j);
    }
    return a;
}

static json_t *msg_json(const bacsc_bvlc_msg *m, size_t len)
{
    json_t *o = json_object();
    char u[37];
    json_object_set_new(o, "length", json_integer((json_int_t)len));
    json_object_set_new(o, "function", json_string(bacsc_bvlc_function_name(m->function)));
    json_object_set_new(o, "function_code", json_integer(m->function));
    json_object_set_new(o, "control", json_integer(m->control));
    json_object_set_new(o, "message_id", json_integer(m->message_id));
    json_object_set_new(o, "originating_vmac", m->has_orig ? json_vmac(&m->orig) : json_null());
    json_object_set_new(o, "destination_vmac", m->has_dest ? json_vmac(&m->dest) : json_null());
    json_object_set_new(o, "destination_options", options_json(m->dest_options, m->n_dest_options));
    json_object_set_new(o, "data_options", options_json(m->data_options, m->n_data_options));
    json_object_set_new(o, "not_understood_marker", json_integer(m->not_understood_marker));
    json_object_set_new(o, "payload_hex", decode_json_hex(m->payload, m->payload_len));
    switch (m->function) {
    case BACSC_BVLC_RESULT: {
        const bacsc_bvlc_result *r = &m->u.result;
        json_t *j = json_object();
        json_object_set_new(j, "result_for", json_string(bacsc_bvlc_function_name(r->result_for)));
        json_object_set_new(j, "result_for_code", json_integer(r->result_for));
        json_object_set_new(j, "result_code", json_string(r->result_code ? "NAK" : "ACK"));
        if (r->result_code == BACSC_RESULT_NAK) {
            json_object_set_new(j, "error_header_marker", json_integer(r->error_marker));
            json_object_set_new(j, "error_class", json_integer(r->error_class));
            json_object_set_new(j, "error_code", json_integer(r->error_code));
            json_object_set_new(j, "error_name", json_string(bacsc_sc_error_name(r->error_code)));
            json_object_set_new(j, "error_details", json_text(r->details, r->details_len));
        }
        json_object_set_new(o, "result", j);
        break;
    }
    case BACSC_BVLC_ENCAPSULATED_NPDU:
        print_npdu(m->payload, m->payload_len, o);
        break;
    case BACSC_BVLC_ADDRESS_RESOLUTION_ACK: {
        json_t *a = json_array();
        size_t start = 0;
        for (size_t i = 0; m->payload_len && i <= m->payload_len; i++) {
            if (i == m->payload_len || m->payload[i] == ' ') {
                json_array_append_new(a, json_text(m->payload + start, i - start));
                start = i + 1;
            }
        }
        json_object_set_new(o, "uris", a);
        break;
    }
    case BACSC_BVLC_ADVERTISEMENT: {
        const bacsc_bvlc_advertisement *ad = &m->u.advertisement;
        json_t *j = json_object();
        json_object_set_new(j, "hub_connection_status", json_integer(ad->hub_status));
        json_object_set_new(j, "hub_connection_status_name",
                            json_string(hub_status_name(ad->hub_status)));
        json_object_set_new(j, "accept_direct_connections", json_integer(ad->accept_direct));
        json_object_set_new(j, "max_bvlc_length", json_integer(ad->max_bvlc_len));
        json_object_set_new(j, "max_npdu_length", json_integer(ad->max_npdu_len));
        json_object_set_new(o, "advertisement", j);
        break;
    }
    case BACSC_BVLC_CONNECT_REQUEST:
    case BACSC_BVLC_CONNECT_ACCEPT: {
        const bacsc_bvlc_connect *c = &m->u.connect;
        json_t *j = json_object();
        json_object_set_new(j, "vmac", json_vmac(&c->vmac));
        json_object_set_new(j, "device_uuid", json_string(bacsc_uuid_format(&c->uuid, u)));
        json_object_set_new(j, "max_bvlc_length", json_integer(c->max_bvlc_len));
        json_object_set_new(j, "max_npdu_length", json_integer(c->max_npdu_len));
        json_object_set_new(o, "connect", j);
        break;
    }
    case BACSC_BVLC_PROPRIETARY_MESSAGE: {
        const bacsc_bvlc_proprietary *p = &m->u.proprietary;
        json_t *j = json_object();
        json_object_set_new(j, "vendor_id", json_integer(p->vendor_id));
        json_object_set_new(j, "proprietary_function", json_integer(p->function));
        json_object_set_new(j, "proprietary_data", decode_json_hex(p->data, p->data_len));
        json_object_set_new(o, "proprietary", j);
        break;
    }
    default:
        break;
    }
    return o;
}

/* ---- errors -------------------------------------------------------------- */

static int report_malformed(const uint8_t *buf, size_t len, const bacsc_bvlc_error *e,
                            bool json)
{
    if (json) {
        json_t *o = json_object();
        json_t *j = json_object();
        json_object_set_new(j, "error_class", json_integer(BACSC_ERROR_CLASS_COMMUNICATION));
        json_object_set_new(j, "error_code", json_integer(e->error_code));
        json_object_set_new(j, "error_name", json_string(bacsc_sc_error_name(e->error_code)));
        json_object_set_new(j, "offset", json_integer((json_int_t)e->offset));
        json_object_set_new(j, "marker", json_integer(e->marker));
        json_object_set_new(j, "reason", json_string(e->reason));
        json_object_set_new(o, "length", json_integer((json_int_t)len));
        if (len >= BACSC_BVLC_HEADER_MIN) {
            json_object_set_new(o, "function", json_string(bacsc_bvlc_function_name(buf[0])));
            json_object_set_new(o, "function_code", json_integer(buf[0]));
            json_object_set_new(o, "control", json_integer(buf[1]));
            json_object_set_new(o, "message_id", json_integer(buf[2] << 8 | buf[3]));
        }
        json_object_set_new(o, "error", j);
        cli_print_json(o);
    }
    char where[64] = "";
    if (e->marker)
        snprintf(where, sizeof where, ", header option marker 0x%02x", e->marker);
    cli_error(PROG, "malformed BVLC-SC message: %s (%u) at offset %zu%s: %s",
              bacsc_sc_error_name(e->error_code), e->error_code, e->offset, where, e->reason);
    return EXIT_DATAERR;
}

/* ---- input --------------------------------------------------------------- */

/* Join the arguments (or read stdin) and decode the hex into *out. */
static int read_hex_input(int argc, char **argv, uint8_t **out, size_t *out_len)
{
    char *text = NULL;
    size_t tlen = 0;
    if (argc > 0) {
        for (int i = 0; i < argc; i++)
            tlen += strlen(argv[i]) + 1;
        text = malloc(tlen + 1);
        if (!text) {
            cli_error(PROG, "out of memory");
            return EXIT_FAIL;
        }
        size_t n = 0;
        for (int i = 0; i < argc; i++) {
            size_t l = strlen(argv[i]);
            memcpy(text + n, argv[i], l);
            n += l;
            text[n++] = ' ';
        }
        tlen = n;
    } else {
        unsigned char *raw;
        if (cli_read_file(PROG, "-", 2 * MAX_INPUT + 65536, &raw, &tlen) != 0)
            return EXIT_DATAERR;
        text = (char *)raw;
    }
    uint8_t *buf = malloc(tlen / 2 + 1);
    if (!buf) {
        free(text);
        cli_error(PROG, "out of memory");
        return EXIT_FAIL;
    }
    size_t bad = 0;
    int n = bacsc_hex_decode(text, tlen, buf, tlen / 2 + 1, &bad);
    if (n < 0) {
        if (bad < tlen)
            cli_error(PROG, "input is not hex: unexpected character '%c' at position %zu",
                      text[bad] >= 0x20 && text[bad] < 0x7f ? text[bad] : '?', bad);
        else
            cli_error(PROG, "input is not hex: odd number of digits");
        free(text);
        free(buf);
        return EXIT_DATAERR;
    }
    free(text);
    *out = buf;
    *out_len = (size_t)n;
    return EXIT_OK;
}

int bacsc_cmd_decode(int argc, char **argv);
int bacsc_cmd_decode(int argc, char **argv)
{
    decode_opts o = {0};
    int prc = cli_parse(&decode_spec, &o, &argc, argv);
    if (prc >= 0)
        return prc;
    const char *file = o.file;
    bool json = o.json, bip = o.bip;
    if (file && argc > 1) {
        cli_error(PROG, "give either --file or hex arguments, not both");
        return EXIT_USAGE;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    if (file) {
        unsigned char *raw;
        if (cli_read_file(PROG, file, MAX_INPUT, &raw, &len) != 0)
            return EXIT_DATAERR;
        buf = raw;
    } else {
        int rc = read_hex_input(argc - 1, argv + 1, &buf, &len);
        if (rc != EXIT_OK)
            return rc;
    }
    if (bip) {
        int brc = decode_bip_print(buf, len, json);
        free(buf);
        if (brc != 0) {
            cli_error(PROG, "malformed BACnet/IP BVLL datagram (%zu octets)", len);
            return EXIT_DATAERR;
        }
        return EXIT_OK;
    }
    bacsc_bvlc_msg *m = malloc(sizeof *m);
    if (!m) {
        free(buf);
        cli_error(PROG, "out of memory");
        return EXIT_FAIL;
    }
    bacsc_bvlc_error err;
    int rc = EXIT_OK;
    if (bacsc_bvlc_decode(buf, len, m, &err) != BACSC_OK)
        rc = report_malformed(buf, len, &err, json);
    else if (json)
        cli_print_json(msg_json(m, len));
    else
        print_human(m, len);
    free(m);
    free(buf);
    return rc;
}
