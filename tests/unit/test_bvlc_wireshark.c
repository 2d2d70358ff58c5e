/*
 * test_bvlc_wireshark.c — independent check of the BVLC-SC encoder against
 * Wireshark's `bscvlc` dissector.
 *
 * Encodes every function in every VMAC combination with several header
 * option lists, writes the frames as a text2pcap hex dump (link type 147
 * mapped to bscvlc), dissects them with tshark -T fields and asserts: no
 * malformed-packet or error-level expert item, and every dissected field
 * equals what was encoded. Skipped only when tshark/text2pcap are absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bacsc/bvlc.h"
#include "bacsc/error.h"
#include "bacsc/hex.h"
#include "support_tshark.h"

#define MAX_FRAMES 512

/* A Who-Is NPDU: Wireshark dissects the NPDU/APDU too, so it must be valid. */
static const uint8_t NPDU[] = {0x01, 0x00, 0x10, 0x08};
static const uint8_t BLOB[] = {0xDE, 0xAD, 0xBE, 0xEF, 0x42};
static const char URIS[] = "wss://192.0.2.1:4443 wss://hub.example:443";
static const char DETAILS[] = "no such peer";

typedef struct frame {
    bacsc_bvlc_msg m;
    uint8_t bytes[256];
    int len;
    char expect[1024];
} frame;

static frame frames[MAX_FRAMES];
static int n_frames;

static void set_options(bacsc_bvlc_msg *m, int variant)
{
    m->n_dest_options = m->n_data_options = 0;
    switch (variant) {
    case 0:
        break;
    case 1: /* one must-understand proprietary destination option */
        m->n_dest_options = 1;
        m->dest_options[0] = (bacsc_bvlc_option){
            .type = BACSC_OPT_PROPRIETARY, .must_understand = true, .has_data = true,
            .vendor_id = 555, .proprietary_type = 9, .proprietary_data = BLOB,
            .proprietary_len = 2};
        break;
    case 2: /* Secure-Path data option */
        m->n_data_options = 1;
        m->data_options[0] = (bacsc_bvlc_option){.type = BACSC_OPT_SECURE_PATH};
        break;
    case 3: /* both lists, several kinds, unknown types with and without data */
        m->n_dest_options = 2;
        m->dest_options[0] = (bacsc_bvlc_option){.type = 7, .has_data = true, .data = BLOB,
                                                 .data_len = 3};
        m->dest_options[1] = (bacsc_bvlc_option){.type = 12, .must_understand = true};
        m->n_data_options = 3;
        m->data_options[0] = (bacsc_bvlc_option){.type = BACSC_OPT_SECURE_PATH,
                                                 .must_understand = true};
        m->data_options[1] = (bacsc_bvlc_option){.type = BACSC_OPT_PROPRIETARY,
                                                 .has_data = true, .data = BLOB,
                                                 .data_len = sizeof BLOB};
        m->data_options[2] = (bacsc_bvlc_option){.type = 4};
        break;
    }
}

static void set_payload(bacsc_bvlc_msg *m, int sub)
{
    switch (m->function) {
    case BACSC_BVLC_RESULT:
        m->u.result.result_for = (uint8_t)(sub % BACSC_BVLC_FUNCTION_COUNT);
        if (sub & 1) {
            m->u.result.result_code = BACSC_RESULT_NAK;
            m->u.result.error_marker = (sub & 2) ? 0x7F : 0;
            m->u.result.error_class = BACSC_ERROR_CLASS_COMMUNICATION;
            m->u.result.error_code = (uint16_t)(143 + sub % 9);
            m->u.result.details = (const uint8_t *)DETAILS;
            m->u.result.details_len = (sub & 2) ? strlen(DETAILS) : 0;
        } else {
            m->u.result.result_code = BACSC_RESULT_ACK;
        }
        break;
    case BACSC_BVLC_ENCAPSULATED_NPDU:
        m->payload = NPDU;
        m->payload_len = sizeof NPDU;
        break;
    case BACSC_BVLC_ADDRESS_RESOLUTION_ACK:
        m->payload = (const uint8_t *)URIS;
        m->payload_len = (sub & 1) ? strlen(URIS) : 0;
        break;
    case BACSC_BVLC_ADVERTISEMENT:
        m->u.advertisement.hub_status = (uint8_t)(sub % 3);
        m->u.advertisement.accept_direct = (uint8_t)(sub & 1);
        m->u.advertisement.max_bvlc_len = (uint16_t)(1600 + sub);
        m->u.advertisement.max_npdu_len = 1497;
        break;
    case BACSC_BVLC_CONNECT_REQUEST:
    case BACSC_BVLC_CONNECT_ACCEPT:
        for (int i = 0; i < BACSC_VMAC_LEN; i++)
            m->u.connect.vmac.b[i] = (uint8_t)(0x20 + i + sub);
        for (int i = 0; i < BACSC_UUID_LEN; i++)
            m->u.connect.uuid.b[i] = (uint8_t)(i * 17 + sub);
        m->u.connect.max_bvlc_len = (uint16_t)(0xFFF0 + sub);
        m->u.connect.max_npdu_len = (uint16_t)(1497 + sub);
        break;
    case BACSC_BVLC_PROPRIETARY_MESSAGE:
        m->u.proprietary.vendor_id = (uint16_t)(0x0100 + sub);
        m->u.proprietary.function = (uint8_t)(0x80 + sub);
        m->u.proprietary.data = BLOB;
        m->u.proprietary.data_len = (sub & 1) ? sizeof BLOB : 0;
        break;
    default:
        break;
    }
}

static void appendf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void appendf(char *buf, const char *fmt, ...)
{
    size_t n = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, 1024 - n, fmt, ap);
    va_end(ap);
}

static void append_hex(char *buf, const uint8_t *p, size_t len)
{
    char h[512];
    assert_true(2 * len + 1 <= sizeof h);
    appendf(buf, "%s", bacsc_hex_encode(p, len, h));
}

/* A variable-length field that is present on the wire; tshark prints a
 * zero-length one as "<MISSING>" (and flags nothing). */
static void append_field(char *buf, const uint8_t *p, size_t len)
{
    if (len)
        append_hex(buf, p, len);
    else
        appendf(buf, "<MISSING>");
}

/* Per-option column: each option's value, comma-joined; `which` selects. */
static void append_option_column(char *buf, const bacsc_bvlc_msg *m, char which)
{
    bool first = true;
    for (int list = 0; list < 2; list++) {
        const bacsc_bvlc_option *opts = list ? m->data_options : m->dest_options;
        int n = list ? m->n_data_options : m->n_dest_options;
        for (int i = 0; i < n; i++) {
            const bacsc_bvlc_option *o = &opts[i];
            if ((which == 'l' || which == 'd') && !o->has_data)
                continue;
            if (!first)
                appendf(buf, ",");
            first = false;
            switch (which) {
            case 't': appendf(buf, "0x%02x", o->type); break;
            case 'u': appendf(buf, "%d", o->must_understand); break;
            case 'm': appendf(buf, "%d", i + 1 < n); break;
            case 'p': appendf(buf, "%d", o->has_data); break;
            case 'l':
            case 'd': {
                uint8_t enc[64];
                size_t len;
                if (o->type == BACSC_OPT_PROPRIETARY && !o->data) {
                    enc[0] = (uint8_t)(o->vendor_id >> 8);
                    enc[1] = (uint8_t)o->vendor_id;
                    enc[2] = o->proprietary_type;
                    memcpy(enc + 3, o->proprietary_data, o->proprietary_len);
                    len = 3u + o->proprietary_len;
                } else {
                    memcpy(enc, o->data, o->data_len);
                    len = o->data_len;
                }
                if (which == 'l')
                    appendf(buf, "%zu", len);
                else
                    append_hex(buf, enc, len);
                break;
            }
            }
        }
    }
}

/* The tshark -T fields line we expect for `m` (columns as in FIELDS). */
static void expected_line(const bacsc_bvlc_msg *m, uint8_t control, char *e)
{
    e[0] = '\0';
    /* _ws.malformed | _ws.expert.severity are expected empty */
    appendf(e, "||0x%02x", m->function);
    if (m->function == BACSC_BVLC_RESULT)
        appendf(e, ",0x%02x", m->u.result.result_for);
    appendf(e, "|%u|", m->message_id);
    if (m->has_orig)
        append_hex(e, m->orig.b, BACSC_VMAC_LEN);
    appendf(e, "|");
    if (m->has_dest)
        append_hex(e, m->dest.b, BACSC_VMAC_LEN);
    const char cols[] = "tumpld";
    for (const char *c = cols; *c; c++) {
        appendf(e, "|");
        append_option_column(e, m, *c);
    }
    appendf(e, "|");
    bool conn = m->function == BACSC_BVLC_CONNECT_REQUEST ||
                m->function == BACSC_BVLC_CONNECT_ACCEPT;
    if (conn)
        append_hex(e, m->u.connect.vmac.b, BACSC_VMAC_LEN);
    appendf(e, "|");
    if (conn)
        append_hex(e, m->u.connect.uuid.b, BACSC_UUID_LEN);
    appendf(e, "|");
    if (conn)
        appendf(e, "%u|%u", m->u.connect.max_bvlc_len, m->u.connect.max_npdu_len);
    else if (m->function == BACSC_BVLC_ADVERTISEMENT)
        appendf(e, "%u|%u", m->u.advertisement.max_bvlc_len, m->u.advertisement.max_npdu_len);
    else
        appendf(e, "|");
    const bacsc_bvlc_result *r = &m->u.result;
    if (m->function == BACSC_BVLC_RESULT) {
        appendf(e, "|0x%02x|", r->result_code);
        if (r->result_code == BACSC_RESULT_NAK) {
            appendf(e, "%u|%u|0x%02x|", r->error_class, r->error_code, r->error_marker);
            append_field(e, r->details, r->details_len);
        } else {
            appendf(e, "|||");
        }
    } else {
        appendf(e, "|||||");
    }
    appendf(e, "|");
    if (m->function == BACSC_BVLC_ADDRESS_RESOLUTION_ACK) {
        append_field(e, m->payload, m->payload_len);
    }
    appendf(e, "|");
    if (m->function == BACSC_BVLC_ADVERTISEMENT)
        appendf(e, "0x%02x|0x%02x", m->u.advertisement.hub_status,
                m->u.advertisement.accept_direct);
    else
        appendf(e, "|");
    appendf(e, "|");
    if (m->function == BACSC_BVLC_PROPRIETARY_MESSAGE) {
        appendf(e, "0x%04x|0x%02x|", m->u.proprietary.vendor_id, m->u.proprietary.function);
        append_field(e, m->u.proprietary.data, m->u.proprietary.data_len);
    } else {
        appendf(e, "||");
    }
    appendf(e, "|0x%02x", control);
}

static const char *const FIELDS[] = {
    "_ws.malformed", "_ws.expert.severity", "bscvlc.function", "bscvlc.msgid",
    "bscvlc.orig_virtual_address", "bscvlc.dest_virtual_address", "bscvlc.header_type",
    "bscvlc.header_understand", "bscvlc.header_more", "bscvlc.header_data_present",
    "bscvlc.header_length", "bscvlc.header_data", "bscvlc.connect_virtual_address",
    "bscvlc.connect_uuid", "bscvlc.max_bvlc_length", "bscvlc.max_npdu_length",
    "bscvlc.result", "bscvlc.error_class", "bscvlc.error_code", "bscvlc.header_error_marker",
    "bscvlc.result_data", "bscvlc.uris", "bscvlc.hub_conn_state", "bscvlc.accept_conns",
    "bscvlc.vendor_id", "bscvlc.proprietary_type", "bscvlc.proprietary_data", "bscvlc.control",
};

static void build_frames(void)
{
    n_frames = 0;
    int sub = 0;
    for (uint8_t f = 0; f < BACSC_BVLC_FUNCTION_COUNT; f++) {
        for (int vm = 0; vm < 4; vm++) {
            for (int ov = 0; ov < 4; ov++) {
                /* Data options belong to Encapsulated-NPDU; other functions
                 * get destination options only (see docs/bvlc-sc.md). */
                if (f != BACSC_BVLC_ENCAPSULATED_NPDU && (ov == 2 || ov == 3))
                    continue;
                for (int s = 0; s < 2; s++) {
                    frame *fr = &frames[n_frames++];
                    assert_true(n_frames <= MAX_FRAMES);
                    bacsc_bvlc_msg *m = &fr->m;
                    bacsc_bvlc_init(m, f, (uint16_t)(0x0100 * f + 37 * sub));
                    m->has_orig = vm & 1;
                    m->has_dest = (vm & 2) != 0;
                    for (int i = 0; i < BACSC_VMAC_LEN; i++) {
                        m->orig.b[i] = (uint8_t)(0x10 + i + sub);
                        m->dest.b[i] = (uint8_t)(0xA0 + i + sub);
                    }
                    if (sub % 5 == 0)
                        m->dest = BACSC_VMAC_BROADCAST;
                    set_options(m, ov);
                    set_payload(m, sub);
                    fr->len = bacsc_bvlc_encode(m, fr->bytes, sizeof fr->bytes);
                    assert_true(fr->len >= 4);
                    expected_line(m, fr->bytes[1], fr->expect);
                    sub++;
                }
            }
        }
    }
}

static void write_hexdump(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < n_frames; i++)
        tsk_hexdump(f, frames[i].bytes, (size_t)frames[i].len);
    assert_int_equal(fclose(f), 0);
}

static void tshark_agrees(void **state)
{
    (void)state;
    if (!tsk_have_tools()) {
        fprintf(stderr, "tshark/text2pcap not installed: skipping\n");
        skip();
    }
    build_frames();
    char dir[] = "/tmp/bacsc-ws-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char hexpath[128], pcap[128];
    snprintf(hexpath, sizeof hexpath, "%s/frames.txt", dir);
    snprintf(pcap, sizeof pcap, "%s/frames.pcap", dir);
    write_hexdump(hexpath);
    tsk_text2pcap(true, hexpath, pcap);
    FILE *p = tsk_fields(true, pcap, FIELDS, sizeof FIELDS / sizeof FIELDS[0]);
    char line[4096];
    int got = 0, bad = 0;
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (got >= n_frames) {
            got++;
            continue;
        }
        const frame *fr = &frames[got++];
        if (strcmp(line, fr->expect) != 0) {
            char h[600];
            bacsc_hex_encode(fr->bytes, (size_t)fr->len, h);
            fprintf(stderr, "frame %d (%s) %s\n  tshark: %s\n  expect: %s\n", got,
                    bacsc_bvlc_function_name(fr->m.function), h, line, fr->expect);
            bad++;
        }
    }
    int status = pclose(p);
    tsk_rmrf(dir);
    assert_int_equal(status, 0);
    assert_int_equal(got, n_frames);
    assert_int_equal(bad, 0);
    fprintf(stderr, "tshark dissected %d frames, all fields as encoded\n", n_frames);
}

/* Frames that this Wireshark (4.0) flags as malformed — an exception in the
 * bscvlc dissector, reported as _ws.malformed with an error-level expert
 * item — each with the error our decoder must answer. The first entry is a
 * well-formed control frame that neither may flag, so a reader that sees
 * "malformed" everywhere (or nowhere) fails. Frames that Wireshark 4.0
 * passes silently although our decoder rejects them (a "more" flag on the
 * last option, reserved control bits, an unknown function, trailing octets)
 * cannot serve here. */
static const struct {
    const char *hex;
    const char *what;
    int rc;
    uint16_t error_code;
} MALFORMED[] = {
    {"0a000001", "well-formed Heartbeat-Request", BACSC_OK, 0},
    {"0a080001", "originating VMAC flag, no VMAC", BACSC_ERR_MALFORMED,
     BACSC_EC_MESSAGE_INCOMPLETE},
    {"0a04000101", "destination VMAC cut short", BACSC_ERR_MALFORMED,
     BACSC_EC_MESSAGE_INCOMPLETE},
    {"0a0100012f", "option data flag, no length", BACSC_ERR_MALFORMED,
     BACSC_EC_HEADER_ENCODING_ERROR},
    {"0a0100012f0005aa", "option data past the end", BACSC_ERR_MALFORMED,
     BACSC_EC_MESSAGE_INCOMPLETE},
    {"0a02000121", "Secure-Path option with data flag", BACSC_ERR_MALFORMED,
     BACSC_EC_HEADER_ENCODING_ERROR},
    {"00000001", "BVLC-Result without payload", BACSC_ERR_MALFORMED,
     BACSC_EC_PAYLOAD_EXPECTED},
    {"0000000101", "BVLC-Result without result code", BACSC_ERR_MALFORMED,
     BACSC_EC_MESSAGE_INCOMPLETE},
    {"06000001", "Advertisement without payload", BACSC_ERR_MALFORMED,
     BACSC_EC_PAYLOAD_EXPECTED},
    {"060000010001", "Advertisement cut short", BACSC_ERR_MALFORMED,
     BACSC_EC_MESSAGE_INCOMPLETE},
};
#define N_MALFORMED (sizeof MALFORMED / sizeof MALFORMED[0])
/* Wireshark's PI_ERROR expert severity. */
#define WS_SEVERITY_ERROR "8388608"

/* Whether tshark's verdict on line `i` (fields _ws.malformed '|'
 * _ws.expert.severity) is the one expected; says why not on stderr. */
static bool verdict_ok(size_t i, char *line)
{
    char *bar = strchr(line, '|');
    if (!bar) {
        fprintf(stderr, "%s: no '|' separator in tshark line \"%s\"\n", MALFORMED[i].what,
                line);
        return false;
    }
    *bar = '\0';
    bool malformed = line[0] != '\0';
    bool error = strstr(bar + 1, WS_SEVERITY_ERROR) != NULL;
    bool want = MALFORMED[i].rc != BACSC_OK;
    if (malformed == want && error == want)
        return true;
    fprintf(stderr, "%s (%s): tshark malformed=\"%s\" severity=\"%s\", expected %s\n",
            MALFORMED[i].what, MALFORMED[i].hex, line, bar + 1,
            want ? "malformed + error" : "clean");
    return false;
}

/* The frames above: tshark flags exactly the malformed ones, and our decoder
 * rejects the same ones with the right error code. */
static void tshark_flags_malformed(void **state)
{
    (void)state;
    if (!tsk_have_tools())
        skip();
    char dir[] = "/tmp/bacsc-ws-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char hexpath[128], pcap[128];
    snprintf(hexpath, sizeof hexpath, "%s/m.txt", dir);
    snprintf(pcap, sizeof pcap, "%s/m.pcap", dir);
    uint8_t buf[N_MALFORMED][16];
    size_t len[N_MALFORMED];
    FILE *f = fopen(hexpath, "w");
    assert_non_null(f);
    for (size_t i = 0; i < N_MALFORMED; i++) {
        len[i] = strlen(MALFORMED[i].hex) / 2;
        assert_int_equal(bacsc_hex_decode(MALFORMED[i].hex, strlen(MALFORMED[i].hex), buf[i],
                                          sizeof buf[i], NULL),
                         (int)len[i]);
        tsk_hexdump(f, buf[i], len[i]);
    }
    assert_int_equal(fclose(f), 0);
    tsk_text2pcap(true, hexpath, pcap);
    static const char *const fields[] = {"_ws.malformed", "_ws.expert.severity"};
    FILE *p = tsk_fields(true, pcap, fields, 2);
    char line[512];
    size_t got = 0;
    int bad = 0;
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (got < N_MALFORMED && !verdict_ok(got, line))
            bad++;
        got++;
    }
    int status = pclose(p);
    tsk_rmrf(dir);
    assert_int_equal(status, 0);
    assert_int_equal(got, N_MALFORMED);
    assert_int_equal(bad, 0);

    for (size_t i = 0; i < N_MALFORMED; i++) {
        bacsc_bvlc_msg m;
        bacsc_bvlc_error err = {0};
        int rc = bacsc_bvlc_decode(buf[i], len[i], &m, &err);
        if (rc != MALFORMED[i].rc ||
            (rc != BACSC_OK && err.error_code != MALFORMED[i].error_code)) {
            fprintf(stderr, "%s (%s): decoder rc %d error code %u, expected %d / %u\n",
                    MALFORMED[i].what, MALFORMED[i].hex, rc, (unsigned)err.error_code,
                    MALFORMED[i].rc, (unsigned)MALFORMED[i].error_code);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    fprintf(stderr, "tshark flags the %zu malformed frames, our decoder rejects them\n",
            N_MALFORMED - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tshark_agrees),
        cmocka_unit_test(tshark_flags_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
