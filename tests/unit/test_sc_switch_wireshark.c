/*
 * test_sc_switch_wireshark.c — the frames the node switch produces, checked
 * with Wireshark's `bscvlc` dissector (same pipeline as
 * test_bvlc_wireshark.c: text2pcap -l 147, user DLT mapped to bscvlc).
 *
 * Frames: Address-Resolution-ACK through the hub (Destination VMAC, two
 * URIs), Advertisement answering a solicitation (hub status, accept flag,
 * lengths), the Address-Resolution NAK of a switch that does not accept
 * direct connections, and Address-Resolution-ACK on a direct connection (no
 * VMACs). Asserts: no malformed mark or expert error, and every field as
 * intended. Skipped only when tshark/text2pcap are absent.
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

#include "bacsc/error.h"
#include "bacsc/hex.h"
#include "bacsc/sc_switch.h"
#include "support_sc.h"
#include "support_tshark.h"

#define MAXF 8
#define URIS "wss://127.0.0.1:47001 wss://[::1]:47001"

static struct {
    uint8_t b[512];
    size_t len;
    char expect[1024];
} frames[MAXF];
static int nf;

static void add_frame(const uint8_t *d, size_t len)
{
    assert_true(nf < MAXF && len <= sizeof frames[0].b);
    memcpy(frames[nf].b, d, len);
    frames[nf].len = len;
    nf++;
}

static int hub_npdu(const bacsc_vmac *dest, const uint8_t *npdu, size_t len, uint64_t now,
                    void *user)
{
    (void)dest, (void)npdu, (void)len, (void)now, (void)user;
    return BACSC_OK;
}

static int hub_msg(const bacsc_bvlc_msg *msg, uint64_t now, void *user)
{
    (void)now, (void)user;
    uint8_t b[512];
    size_t n = sct_encode(msg, b, sizeof b);
    assert_true(n > 0);
    add_frame(b, n);
    return BACSC_OK;
}

static void nop_open(bacsc_sc_dc *dc, const char *uri, void *user)
{
    (void)dc, (void)uri, (void)user;
}

static void nop_dc(bacsc_sc_dc *dc, void *user)
{
    (void)dc, (void)user;
}

static bacsc_sc_switch *make(bool accept)
{
    bacsc_sc_switch_config c;
    bacsc_sc_switch_config_default(&c);
    c.vmac = sct_vmac(0x02, 0x01);
    c.uuid = sct_uuid(0x11, 0x01);
    c.accept_enable = accept;
    c.accept_uris = URIS;
    bacsc_sc_switch_callbacks cb = {.hub_send_npdu = hub_npdu,
                                    .hub_send_msg = hub_msg,
                                    .open = nop_open,
                                    .close = nop_dc,
                                    .want_write = nop_dc};
    bacsc_sc_switch *sw = bacsc_sc_switch_new(&c, &cb, NULL);
    assert_non_null(sw);
    return sw;
}

static void hexs(char *out, const void *p, size_t len)
{
    char h[512];
    strcat(out, bacsc_hex_encode(p, len, h));
}

static void build(void)
{
    nf = 0;
    uint64_t now = 1000000;
    bacsc_vmac peer = sct_vmac(0x02, 0x77);
    char vm[13] = "";
    hexs(vm, peer.b, 6);
    char uh[200] = "";
    hexs(uh, URIS, strlen(URIS));

    bacsc_sc_switch *sw = make(true);
    bacsc_bvlc_msg m;
    bacsc_bvlc_init(&m, BACSC_BVLC_ADDRESS_RESOLUTION, 0x1234);
    m.has_orig = true;
    m.orig = peer;
    bacsc_sc_switch_hub_message(sw, &m, now);
    snprintf(frames[nf - 1].expect, 1024, "||0x03|4660|%s|%s||||||", vm, uh);

    bacsc_sc_switch_set_hub_state(sw, BACSC_HUB_STATUS_PRIMARY);
    bacsc_bvlc_init(&m, BACSC_BVLC_ADVERTISEMENT_SOLICITATION, 0x0102);
    m.has_orig = true;
    m.orig = peer;
    bacsc_sc_switch_hub_message(sw, &m, now);
    snprintf(frames[nf - 1].expect, 1024, "||0x04|258|%s||0x01|0x01|1600|1497||", vm);

    /* on a direct connection: no VMACs */
    bacsc_sc_dc *dc = bacsc_sc_switch_accept(sw, NULL, now, NULL);
    assert_non_null(dc);
    uint8_t b[128];
    bacsc_uuid pu = sct_uuid(0x22, 0x02);
    size_t n = sct_connect_request(b, sizeof b, 7, &peer, &pu, 1600, 1497);
    bacsc_sc_switch_dc_recv(sw, dc, b, n, now);
    const uint8_t *d;
    size_t len;
    assert_true(bacsc_sc_switch_dc_peek_output(dc, &d, &len)); /* Connect-Accept */
    bacsc_sc_switch_dc_pop_output(dc);
    n = sct_simple(b, sizeof b, BACSC_BVLC_ADDRESS_RESOLUTION, 0x0BAD);
    bacsc_sc_switch_dc_recv(sw, dc, b, n, now);
    assert_true(bacsc_sc_switch_dc_peek_output(dc, &d, &len));
    add_frame(d, len);
    bacsc_sc_switch_dc_pop_output(dc);
    snprintf(frames[nf - 1].expect, 1024, "||0x03|2989||%s||||||", uh);
    bacsc_sc_switch_free(sw);

    sw = make(false);
    bacsc_bvlc_init(&m, BACSC_BVLC_ADDRESS_RESOLUTION, 0x4321);
    m.has_orig = true;
    m.orig = peer;
    bacsc_sc_switch_hub_message(sw, &m, now);
    snprintf(frames[nf - 1].expect, 1024, "||0x00,0x02|17185|%s||||||7|45", vm);
    bacsc_sc_switch_free(sw);
}

static const char *const FIELDS[] = {
    "_ws.malformed",       "_ws.expert.severity",   "bscvlc.function",
    "bscvlc.msgid",        "bscvlc.dest_virtual_address", "bscvlc.uris",
    "bscvlc.hub_conn_state", "bscvlc.accept_conns", "bscvlc.max_bvlc_length",
    "bscvlc.max_npdu_length", "bscvlc.error_class",  "bscvlc.error_code",
};

static void tshark_dissects_switch_frames(void **state)
{
    (void)state;
    if (!tsk_have_tools()) {
        fprintf(stderr, "tshark/text2pcap not installed: skipping\n");
        skip();
    }
    build();
    assert_int_equal(nf, 4);
    char dir[] = "/tmp/bacsc-swws-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char hexpath[128], pcap[128];
    snprintf(hexpath, sizeof hexpath, "%s/f.txt", dir);
    snprintf(pcap, sizeof pcap, "%s/f.pcap", dir);
    FILE *f = fopen(hexpath, "w");
    assert_non_null(f);
    for (int i = 0; i < nf; i++)
        tsk_hexdump(f, frames[i].b, frames[i].len);
    assert_int_equal(fclose(f), 0);
    tsk_text2pcap(true, hexpath, pcap);
    FILE *p = tsk_fields(true, pcap, FIELDS, sizeof FIELDS / sizeof FIELDS[0]);
    char line[2048];
    int got = 0, bad = 0;
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (got < nf && strcmp(line, frames[got].expect) != 0) {
            fprintf(stderr, "frame %d\n  tshark: %s\n  expect: %s\n", got + 1, line,
                    frames[got].expect);
            bad++;
        }
        got++;
    }
    int status = pclose(p);
    tsk_rmrf(dir);
    assert_int_equal(status, 0);
    assert_int_equal(got, nf);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tshark_dissects_switch_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
