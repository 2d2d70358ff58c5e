/*
 * test_bacnet_wireshark.c — independent check of the BACnet encoders against
 * Wireshark's BACnet dissectors (tshark 4.0).
 *
 * Every service bacsc encodes is built with the public API (service payload →
 * APDU → NPDU), wrapped twice: in a BACnet/IP Original-Unicast/Broadcast-NPDU
 * sent as UDP 47808 (text2pcap -u), and in a BVLC-SC Encapsulated-NPDU
 * (text2pcap -l 147, user DLT mapped to "bscvlc"; the 10-octet BVLC-SC header
 * is built by hand here). tshark must report no malformed packet and no
 * expert error, and the field values it decodes must be those intended.
 * The checker itself is shown to fail on a truncated frame.
 * Skipped when tshark/text2pcap are not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bacsc/apdu.h"
#include "bacsc/bip.h"
#include "bacsc/error.h"
#include "bacsc/npdu.h"
#include "bacsc/services.h"
#include "support_tshark.h"

#define MAX_FRAMES 40
#define NFIELDS 18

static const char *const fields[NFIELDS] = {
    "frame.number", "_ws.malformed", "_ws.expert.severity", "bacapp.type",
    "bacapp.confirmed_service", "bacapp.unconfirmed_service", "bacapp.invoke_id",
    "bacapp.objectType", "bacapp.instance_number", "bacapp.property_identifier",
    "bacapp.error_class", "bacapp.error_code", "bacapp.reject_reason", "bacapp.abort_reason",
    "bacapp.vendor_identifier", "bacapp.present_value.real", "bacnet.control",
    "bacapp.present_value.char_string"};
enum { F_NUM, F_MALFORMED, F_SEVERITY, F_TYPE, F_CSERVICE, F_USERVICE, F_INVOKE, F_OTYPE,
       F_INSTANCE, F_PROP, F_ECLASS, F_ECODE, F_REJECT, F_ABORT, F_VENDOR, F_REAL, F_CONTROL,
       F_CHARSTR };

typedef struct frame {
    const char *name;
    uint8_t apdu[512];
    size_t apdu_len;
    bool broadcast;
    const char *expect[NFIELDS];   /* NULL: not checked; "" must be absent */
} frame;

static frame frames[MAX_FRAMES];
static size_t nframes;
static char tmpdir[64];

static frame *add(const char *name)
{
    assert_true(nframes < MAX_FRAMES);
    frame *f = &frames[nframes++];
    memset(f, 0, sizeof *f);
    f->name = name;
    f->expect[F_MALFORMED] = "";
    f->expect[F_SEVERITY] = "";
    return f;
}

/* APDU from header + payload */
static void set_apdu(frame *f, bacsc_apdu *a, const uint8_t *payload, int plen)
{
    assert_true(plen >= 0);
    a->data = payload;
    a->data_len = (size_t)plen;
    int n = bacsc_apdu_encode(f->apdu, sizeof f->apdu, a);
    assert_true(n > 0);
    f->apdu_len = (size_t)n;
}

static void confirmed(frame *f, uint8_t service, uint8_t invoke, const uint8_t *p, int plen)
{
    bacsc_apdu a;
    bacsc_apdu_init_confirmed(&a, service, invoke, 5);
    set_apdu(f, &a, p, plen);
    f->expect[F_TYPE] = "0";
    static char buf[MAX_FRAMES][2][8];
    snprintf(buf[nframes - 1][0], 8, "%u", service);
    snprintf(buf[nframes - 1][1], 8, "%u", invoke);
    f->expect[F_CSERVICE] = buf[nframes - 1][0];
    f->expect[F_INVOKE] = buf[nframes - 1][1];
    f->expect[F_CONTROL] = "0x04";   /* expecting reply */
}

static void complex_ack(frame *f, uint8_t service, uint8_t invoke, const uint8_t *p, int plen)
{
    bacsc_apdu a;
    bacsc_apdu_init_complex_ack(&a, service, invoke);
    set_apdu(f, &a, p, plen);
    f->expect[F_TYPE] = "3";
    static char buf[MAX_FRAMES][2][8];
    snprintf(buf[nframes - 1][0], 8, "%u", service);
    snprintf(buf[nframes - 1][1], 8, "%u", invoke);
    f->expect[F_CSERVICE] = buf[nframes - 1][0];
    f->expect[F_INVOKE] = buf[nframes - 1][1];
    f->expect[F_CONTROL] = "0x00";
}

static void build_frames(void)
{
    uint8_t p[512];
    int n;
    frame *f;
    nframes = 0;

    f = add("Who-Is");
    bacsc_whois wi = {0};
    bacsc_apdu a;
    bacsc_apdu_init_unconfirmed(&a, BACSC_SERVICE_WHO_IS);
    set_apdu(f, &a, p, bacsc_whois_encode(p, sizeof p, &wi));
    f->broadcast = true;
    f->expect[F_TYPE] = "1";
    f->expect[F_USERVICE] = "8";

    f = add("Who-Is range");
    wi = (bacsc_whois){true, 1000, 4194303};
    bacsc_apdu_init_unconfirmed(&a, BACSC_SERVICE_WHO_IS);
    set_apdu(f, &a, p, bacsc_whois_encode(p, sizeof p, &wi));
    f->broadcast = true;
    f->expect[F_USERVICE] = "8";

    f = add("I-Am");
    bacsc_iam iam = {{BACSC_OBJ_DEVICE, 1234}, 1476, BACSC_SEGMENTATION_NONE, 260};
    bacsc_apdu_init_unconfirmed(&a, BACSC_SERVICE_I_AM);
    set_apdu(f, &a, p, bacsc_iam_encode(p, sizeof p, &iam));
    f->broadcast = true;
    f->expect[F_USERVICE] = "0";
    f->expect[F_OTYPE] = "8";
    f->expect[F_INSTANCE] = "1234";
    f->expect[F_VENDOR] = "260";

    f = add("ReadProperty");
    bacsc_rp_request rp = {{BACSC_OBJ_ANALOG_VALUE, 7}, BACSC_PROP_PRESENT_VALUE, false, 0};
    confirmed(f, BACSC_SERVICE_READ_PROPERTY, 1, p, bacsc_rp_request_encode(p, sizeof p, &rp));
    f->expect[F_OTYPE] = "2";
    f->expect[F_INSTANCE] = "7";
    f->expect[F_PROP] = "85";

    f = add("ReadProperty SC property with index");
    rp = (bacsc_rp_request){{BACSC_OBJ_NETWORK_PORT, 1}, BACSC_PROP_SC_PRIMARY_HUB_URI, true, 0};
    confirmed(f, BACSC_SERVICE_READ_PROPERTY, 2, p, bacsc_rp_request_encode(p, sizeof p, &rp));
    f->expect[F_OTYPE] = "56";
    f->expect[F_PROP] = "4194325";

    f = add("ReadProperty-ACK Real");
    uint8_t val[64];
    int vn = bacsc_app_encode_real(val, sizeof val, 72.5f);
    bacsc_rp_ack ack = {{BACSC_OBJ_ANALOG_VALUE, 7}, BACSC_PROP_PRESENT_VALUE, false, 0, val, (size_t)vn};
    complex_ack(f, BACSC_SERVICE_READ_PROPERTY, 1, p, bacsc_rp_ack_encode(p, sizeof p, &ack));
    f->expect[F_REAL] = "72.5";
    f->expect[F_PROP] = "85";

    f = add("ReadProperty-ACK SC URI");
    vn = bacsc_app_encode_char_string(val, sizeof val, "wss://hub.example:4443", 22);
    ack = (bacsc_rp_ack){{BACSC_OBJ_NETWORK_PORT, 1}, BACSC_PROP_SC_PRIMARY_HUB_URI, false, 0,
                         val, (size_t)vn};
    complex_ack(f, BACSC_SERVICE_READ_PROPERTY, 2, p, bacsc_rp_ack_encode(p, sizeof p, &ack));
    f->expect[F_PROP] = "4194325";
    f->expect[F_OTYPE] = "56";

    f = add("ReadProperty-ACK CharacterString");
    ack = (bacsc_rp_ack){{BACSC_OBJ_CHARACTERSTRING_VALUE, 1}, BACSC_PROP_PRESENT_VALUE, false, 0,
                         val, (size_t)vn};
    complex_ack(f, BACSC_SERVICE_READ_PROPERTY, 2, p, bacsc_rp_ack_encode(p, sizeof p, &ack));
    f->expect[F_CHARSTR] = "wss://hub.example:4443";
    f->expect[F_OTYPE] = "40";

    f = add("ReadPropertyMultiple");
    bacsc_object_id ai = {BACSC_OBJ_ANALOG_INPUT, 16}, dev = {BACSC_OBJ_DEVICE, 1234};
    bacsc_rpm_ref r1 = {85, false, 0}, r2 = {103, false, 0}, r3 = {77, false, 0};
    n = 0;
    n += bacsc_rpm_encode_object_begin(p + n, sizeof p - (size_t)n, &ai);
    n += bacsc_rpm_encode_ref(p + n, sizeof p - (size_t)n, &r1);
    n += bacsc_rpm_encode_ref(p + n, sizeof p - (size_t)n, &r2);
    n += bacsc_rpm_encode_object_end(p + n, sizeof p - (size_t)n);
    n += bacsc_rpm_encode_object_begin(p + n, sizeof p - (size_t)n, &dev);
    n += bacsc_rpm_encode_ref(p + n, sizeof p - (size_t)n, &r3);
    n += bacsc_rpm_encode_object_end(p + n, sizeof p - (size_t)n);
    confirmed(f, BACSC_SERVICE_READ_PROPERTY_MULTIPLE, 3, p, n);
    f->expect[F_OTYPE] = "0,8";
    f->expect[F_INSTANCE] = "16,1234";
    f->expect[F_PROP] = "85,103,77";

    f = add("ReadPropertyMultiple-ACK");
    vn = bacsc_app_encode_real(val, sizeof val, 21.5f);
    bacsc_rpm_result s1 = {.property = 85, .value = val, .value_len = (size_t)vn};
    bacsc_rpm_result s2 = {.property = 103, .is_error = true,
                           .error_class = BACSC_ERROR_CLASS_PROPERTY,
                           .error_code = BACSC_EC_UNKNOWN_PROPERTY};
    n = 0;
    n += bacsc_rpm_encode_object_begin(p + n, sizeof p - (size_t)n, &ai);
    n += bacsc_rpm_encode_result(p + n, sizeof p - (size_t)n, &s1);
    n += bacsc_rpm_encode_result(p + n, sizeof p - (size_t)n, &s2);
    n += bacsc_rpm_encode_object_end(p + n, sizeof p - (size_t)n);
    complex_ack(f, BACSC_SERVICE_READ_PROPERTY_MULTIPLE, 3, p, n);
    f->expect[F_PROP] = "85,103";
    f->expect[F_REAL] = "21.5";
    f->expect[F_ECLASS] = "2";
    f->expect[F_ECODE] = "32";

    f = add("WriteProperty");
    vn = bacsc_app_encode_real(val, sizeof val, 180.0f);
    bacsc_wp_request wp = {{BACSC_OBJ_ANALOG_VALUE, 1}, 85, false, 0, val, (size_t)vn, true, 8};
    confirmed(f, BACSC_SERVICE_WRITE_PROPERTY, 4, p, bacsc_wp_request_encode(p, sizeof p, &wp));
    f->expect[F_REAL] = "180";
    f->expect[F_OTYPE] = "2";
    f->expect[F_INSTANCE] = "1";

    f = add("SimpleACK");
    bacsc_apdu_init_simple_ack(&a, BACSC_SERVICE_WRITE_PROPERTY, 4);
    set_apdu(f, &a, NULL, 0);
    f->expect[F_TYPE] = "2";
    f->expect[F_CSERVICE] = "15";
    f->expect[F_INVOKE] = "4";

    f = add("AtomicReadFile stream");
    bacsc_arf_request arf = {{BACSC_OBJ_FILE, 3}, BACSC_FILE_STREAM, 0, 1024};
    confirmed(f, BACSC_SERVICE_ATOMIC_READ_FILE, 5, p, bacsc_arf_request_encode(p, sizeof p, &arf));
    f->expect[F_OTYPE] = "10";
    f->expect[F_INSTANCE] = "3";

    f = add("AtomicReadFile record");
    arf = (bacsc_arf_request){{BACSC_OBJ_FILE, 3}, BACSC_FILE_RECORD, 2, 5};
    confirmed(f, BACSC_SERVICE_ATOMIC_READ_FILE, 6, p, bacsc_arf_request_encode(p, sizeof p, &arf));

    f = add("AtomicReadFile-ACK stream");
    bacsc_arf_ack arfa = {true, BACSC_FILE_STREAM, 0, 0, (const uint8_t *)"-----BEGIN", 10};
    complex_ack(f, BACSC_SERVICE_ATOMIC_READ_FILE, 5, p, bacsc_arf_ack_encode(p, sizeof p, &arfa));

    f = add("AtomicReadFile-ACK record");
    uint8_t recs[64];
    bacsc_octets rl[2] = {{(const uint8_t *)"abc", 3}, {(const uint8_t *)"de", 2}};
    int rn = bacsc_records_encode(recs, sizeof recs, rl, 2);
    arfa = (bacsc_arf_ack){false, BACSC_FILE_RECORD, 2, 2, recs, (size_t)rn};
    complex_ack(f, BACSC_SERVICE_ATOMIC_READ_FILE, 6, p, bacsc_arf_ack_encode(p, sizeof p, &arfa));

    f = add("AtomicWriteFile stream");
    bacsc_awf_request awf = {{BACSC_OBJ_FILE, 4}, BACSC_FILE_STREAM, 0, 0,
                             (const uint8_t *)"certificate", 11};
    confirmed(f, BACSC_SERVICE_ATOMIC_WRITE_FILE, 7, p, bacsc_awf_request_encode(p, sizeof p, &awf));
    f->expect[F_OTYPE] = "10";
    f->expect[F_INSTANCE] = "4";

    f = add("AtomicWriteFile record");
    awf = (bacsc_awf_request){{BACSC_OBJ_FILE, 4}, BACSC_FILE_RECORD, -1, 2, recs, (size_t)rn};
    confirmed(f, BACSC_SERVICE_ATOMIC_WRITE_FILE, 8, p, bacsc_awf_request_encode(p, sizeof p, &awf));

    f = add("AtomicWriteFile-ACK");
    bacsc_awf_ack awfa = {BACSC_FILE_STREAM, 0};
    complex_ack(f, BACSC_SERVICE_ATOMIC_WRITE_FILE, 7, p, bacsc_awf_ack_encode(p, sizeof p, &awfa));

    f = add("ReinitializeDevice");
    bacsc_reinit_request ri = {BACSC_REINIT_ACTIVATE_CHANGES, true,
                               {BACSC_CHARSET_UTF8, (const uint8_t *)"secret", 6}};
    confirmed(f, BACSC_SERVICE_REINITIALIZE_DEVICE, 9, p,
              bacsc_reinit_request_encode(p, sizeof p, &ri));
    f->expect[F_CHARSTR] = NULL;

    f = add("Error");
    bacsc_error e = {BACSC_ERROR_CLASS_OBJECT, BACSC_EC_UNKNOWN_OBJECT, false, NULL, 0};
    bacsc_apdu_init_error(&a, BACSC_SERVICE_READ_PROPERTY, 10);
    set_apdu(f, &a, p, bacsc_error_encode(p, sizeof p, &e));
    f->expect[F_TYPE] = "5";
    f->expect[F_INVOKE] = "10";
    f->expect[F_ECLASS] = "1";
    f->expect[F_ECODE] = "31";

    f = add("Error (password-failure)");
    e = (bacsc_error){BACSC_ERROR_CLASS_SECURITY, BACSC_EC_PASSWORD_FAILURE, false, NULL, 0};
    bacsc_apdu_init_error(&a, BACSC_SERVICE_REINITIALIZE_DEVICE, 9);
    set_apdu(f, &a, p, bacsc_error_encode(p, sizeof p, &e));
    f->expect[F_ECLASS] = "4";
    f->expect[F_ECODE] = "26";

    f = add("Reject");
    bacsc_apdu_init_reject(&a, 11, BACSC_REJECT_MISSING_REQUIRED_PARAMETER);
    set_apdu(f, &a, NULL, 0);
    f->expect[F_TYPE] = "6";
    f->expect[F_INVOKE] = "11";
    f->expect[F_REJECT] = "5";

    f = add("Abort");
    bacsc_apdu_init_abort(&a, 12, BACSC_ABORT_SEGMENTATION_NOT_SUPPORTED, true);
    set_apdu(f, &a, NULL, 0);
    f->expect[F_TYPE] = "7";
    f->expect[F_INVOKE] = "12";
    f->expect[F_ABORT] = "4";
}

/* NPDU + BVLL (B/IP) or BVLC-SC Encapsulated-NPDU around frame f. */
static size_t wrap(const frame *f, bool sc, uint8_t *out, size_t cap)
{
    uint8_t npdu[600];
    bacsc_npdu n;
    bacsc_npdu_init(&n, f->apdu_len && (f->apdu[0] >> 4) == BACSC_PDU_CONFIRMED_REQUEST);
    n.payload = f->apdu;
    n.payload_len = f->apdu_len;
    int nl = bacsc_npdu_encode(npdu, sizeof npdu, &n);
    assert_true(nl > 0);
    if (!sc) {
        int bl = bacsc_bip_encode_npdu(out, cap, f->broadcast, npdu, (size_t)nl);
        assert_true(bl > 0);
        return (size_t)bl;
    }
    /* BVLC-SC: Encapsulated-NPDU, originating VMAC present (as relayed by a hub) */
    static const uint8_t hdr[] = {0x01, 0x08, 0x12, 0x34, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    assert_true(cap >= sizeof hdr + (size_t)nl);
    memcpy(out, hdr, sizeof hdr);
    memcpy(out + sizeof hdr, npdu, (size_t)nl);
    return sizeof hdr + (size_t)nl;
}

/* Write frames to a pcap and run tshark; returns the output lines in out. */
static void dissect(bool sc, size_t count, const uint8_t frames_raw[][700], const size_t *lens,
                    char lines[][1024])
{
    char hex[512], pcap[512];
    snprintf(hex, sizeof hex, "%s/%s.hex", tmpdir, sc ? "sc" : "bip");
    snprintf(pcap, sizeof pcap, "%s/%s.pcap", tmpdir, sc ? "sc" : "bip");
    FILE *fp = fopen(hex, "w");
    assert_non_null(fp);
    for (size_t i = 0; i < count; i++)
        tsk_hexdump(fp, frames_raw[i], lens[i]);
    fclose(fp);
    tsk_text2pcap(sc, hex, pcap);
    FILE *pp = tsk_fields(sc, pcap, fields, NFIELDS);
    size_t got = 0;
    char line[1024];
    while (fgets(line, sizeof line, pp)) {
        line[strcspn(line, "\n")] = 0;
        if (got < count)
            snprintf(lines[got], 1024, "%s", line);
        got++;
    }
    assert_int_equal(pclose(pp), 0);
    assert_int_equal(got, count);
}

/* Split a tshark line into NFIELDS columns (in place). */
static void split(char *line, char *cols[NFIELDS])
{
    char *p = line;
    for (int i = 0; i < NFIELDS; i++) {
        cols[i] = p;
        char *bar = p ? strchr(p, '|') : NULL;
        if (bar) {
            *bar = 0;
            p = bar + 1;
        } else {
            p = NULL;
            for (int j = i + 1; j < NFIELDS; j++)
                cols[j] = (char *)"";
            break;
        }
    }
}

/* Number of mismatches for frame f in a dissected line, each reported. */
static int check_line(const frame *f, bool sc, char *line)
{
    char *cols[NFIELDS];
    int bad = 0;
    split(line, cols);
    for (int i = 1; i < NFIELDS; i++) {
        if (f->expect[i] == NULL)
            continue;
        if (strcmp(cols[i], f->expect[i]) != 0) {
            print_error("%s %s: %s = \"%s\", want \"%s\"\n", sc ? "BVLC-SC" : "B/IP", f->name,
                        fields[i], cols[i], f->expect[i]);
            bad++;
        }
    }
    return bad;
}

static void every_service_dissects_cleanly(void **state)
{
    (void)state;
    if (!tsk_have_tools())
        skip();
    build_frames();
    static uint8_t raw[MAX_FRAMES][700];
    static size_t lens[MAX_FRAMES];
    static char lines[MAX_FRAMES][1024];
    for (int sc = 0; sc <= 1; sc++) {
        for (size_t i = 0; i < nframes; i++)
            lens[i] = wrap(&frames[i], sc, raw[i], sizeof raw[i]);
        dissect(sc, nframes, (const uint8_t(*)[700])raw, lens, lines);
        int bad = 0;
        for (size_t i = 0; i < nframes; i++)
            bad += check_line(&frames[i], sc, lines[i]);
        assert_int_equal(bad, 0);
    }
}

/* The checker can fail: a frame cut short is reported malformed by tshark. */
static void truncated_frame_is_caught(void **state)
{
    (void)state;
    if (!tsk_have_tools())
        skip();
    build_frames();
    static uint8_t raw[1][700];
    size_t lens[1];
    static char lines[1][1024];
    frame f = frames[5];          /* ReadProperty-ACK Real */
    f.apdu_len -= 3;              /* cut into the Real and its closing tag */
    lens[0] = wrap(&f, false, raw[0], sizeof raw[0]);
    dissect(false, 1, (const uint8_t(*)[700])raw, lens, lines);
    char *cols[NFIELDS];
    split(lines[0], cols);
    assert_true(cols[F_MALFORMED][0] != 0 || cols[F_SEVERITY][0] != 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bacsc-ws-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return tsk_rmrf(tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_service_dissects_cleanly),
        cmocka_unit_test(truncated_frame_is_caught),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
