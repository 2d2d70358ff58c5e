/*
 * fuzz_sc_switch.c — arbitrary event sequences into one node switch.
 *
 * The input is a script of operations (one op octet, then its operands):
 *   op % 13 selects:
 *     0 hub message (function, originator, id, payload)   1 connect(vmac)
 *     2 send an NPDU to a VMAC   3 unicast received through the hub
 *     4 accept a dc WebSocket    5 raw bytes on a connection
 *     6 Connect-Request on a connection   7 an initiated WebSocket opens
 *     8 a WebSocket is gone      9 advance time and run timers
 *    10 drain every connection's output   11 stop   12 honour close requests
 * VMACs and UUIDs come from small sets so duplicates, replacements and
 * simultaneous initiations happen. Invariants after every op: at most
 * max_conns connections; every octet queued for a connection or the hub
 * decodes as a valid BVLC-SC message; status rows never exceed max_peers.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/sc_switch.h"
#include "fuzz_support.h"

#define MAXDC 32
#define MAX_CONNS 4

static struct {
    bacsc_sc_dc *dc;
    bool close_requested;
} dcs[MAXDC];
static uint64_t rnd_state;

static int fz_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    fz_lcg_bytes(&rnd_state, buf, len);
    return 0;
}

static void must_decode(const uint8_t *d, size_t len)
{
    bacsc_bvlc_msg m;
    if (bacsc_bvlc_decode(d, len, &m, NULL) != BACSC_OK)
        abort();
}

static int fz_hub_npdu(const bacsc_vmac *dest, const uint8_t *npdu, size_t len, uint64_t now,
                       void *user)
{
    (void)dest, (void)npdu, (void)now, (void)user;
    return len > 1497 ? BACSC_ERR_LIMIT : BACSC_OK;
}

static int fz_hub_msg(const bacsc_bvlc_msg *msg, uint64_t now, void *user)
{
    (void)now, (void)user;
    uint8_t buf[2048];
    int n = bacsc_bvlc_encode(msg, buf, sizeof buf);
    if (n < 0)
        abort();
    must_decode(buf, (size_t)n);
    return BACSC_OK;
}

static void add_dc(bacsc_sc_dc *dc)
{
    for (int i = 0; i < MAXDC; i++)
        if (!dcs[i].dc) {
            dcs[i].dc = dc;
            dcs[i].close_requested = false;
            return;
        }
    abort(); /* more handles than max_conns allows */
}

static void fz_open(bacsc_sc_dc *dc, const char *uri, void *user)
{
    (void)uri, (void)user;
    add_dc(dc);
}

static void fz_close(bacsc_sc_dc *dc, void *user)
{
    (void)user;
    for (int i = 0; i < MAXDC; i++)
        if (dcs[i].dc == dc)
            dcs[i].close_requested = true;
}

static void fz_want_write(bacsc_sc_dc *dc, void *user)
{
    (void)dc, (void)user;
}

static bacsc_vmac vm(uint8_t k)
{
    bacsc_vmac v = {{0x02, 0, 0, 0, 0, (uint8_t)(k % 6)}};
    if (k % 6 == 5)
        v = BACSC_VMAC_BROADCAST;
    return v;
}

static void gone(bacsc_sc_switch *sw, int i, uint16_t code, uint64_t now)
{
    bacsc_sc_dc *dc = dcs[i].dc;
    dcs[i].dc = NULL;
    bacsc_sc_switch_dc_gone(sw, dc, code, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(dcs, 0, sizeof dcs);
    rnd_state = size;
    bacsc_sc_switch_config c;
    bacsc_sc_switch_config_default(&c);
    c.vmac = vm(0);
    c.uuid.b[0] = 1;
    c.accept_enable = size & 1;
    c.auto_initiate = (size & 2) != 0;
    c.accept_uris = "wss://127.0.0.1:1 wss://127.0.0.1:2";
    c.max_conns = MAX_CONNS;
    c.max_peers = 9;
    c.auto_count = 2;
    bacsc_sc_switch_callbacks cb = {.hub_send_npdu = fz_hub_npdu,
                                    .hub_send_msg = fz_hub_msg,
                                    .open = fz_open,
                                    .close = fz_close,
                                    .want_write = fz_want_write,
                                    .random = fz_random};
    bacsc_sc_switch *sw = bacsc_sc_switch_new(&c, &cb, NULL);
    if (!sw)
        abort();
    uint64_t now = 1000000;
    size_t pos = 0;
#define NEED(n)            \
    if (pos + (n) > size)  \
        goto out
    while (pos < size) {
        uint8_t op = data[pos++];
        NEED(2);
        uint8_t a = data[pos], b = data[pos + 1];
        pos += 2;
        int k = a % MAXDC;
        switch (op % 13) {
        case 0: {
            static const uint8_t fns[] = {BACSC_BVLC_ADDRESS_RESOLUTION,
                                          BACSC_BVLC_ADDRESS_RESOLUTION_ACK,
                                          BACSC_BVLC_ADVERTISEMENT,
                                          BACSC_BVLC_ADVERTISEMENT_SOLICITATION,
                                          BACSC_BVLC_RESULT, BACSC_BVLC_ENCAPSULATED_NPDU};
            bacsc_bvlc_msg m;
            bacsc_bvlc_init(&m, fns[a % 6], b);
            m.has_orig = (a & 0x80) == 0;
            m.orig = vm(b);
            NEED(1);
            size_t len = data[pos++] % 64;
            NEED(len);
            m.payload = data + pos;
            m.payload_len = len;
            pos += len;
            m.u.result.result_for = (b & 1) ? BACSC_BVLC_ADDRESS_RESOLUTION : BACSC_BVLC_RESULT;
            m.u.result.result_code = (b & 2) ? BACSC_RESULT_NAK : 0;
            bacsc_sc_switch_hub_message(sw, &m, now);
            break;
        }
        case 1: {
            bacsc_vmac v = vm(a);
            bacsc_sc_switch_connect(sw, &v, now);
            break;
        }
        case 2: {
            bacsc_vmac v = vm(a);
            uint8_t npdu[4] = {1, 0, 0x10, 8};
            bacsc_sc_switch_send_npdu(sw, &v, npdu, sizeof npdu, now);
            break;
        }
        case 3: {
            bacsc_vmac v = vm(a);
            bacsc_sc_switch_note_hub_rx(sw, &v, now);
            break;
        }
        case 4: {
            bacsc_sc_dc *dc = bacsc_sc_switch_accept(sw, NULL, now, NULL);
            if (dc)
                add_dc(dc);
            break;
        }
        case 5: {
            size_t len = b % 80;
            NEED(len);
            if (dcs[k].dc)
                bacsc_sc_switch_dc_recv(sw, dcs[k].dc, data + pos, len, now);
            pos += len;
            break;
        }
        case 6:
            if (dcs[k].dc) {
                bacsc_bvlc_msg m;
                bacsc_bvlc_init(&m, (b & 0x80) ? BACSC_BVLC_CONNECT_ACCEPT
                                               : BACSC_BVLC_CONNECT_REQUEST, b);
                m.u.connect.vmac = vm(b);
                m.u.connect.uuid.b[0] = (uint8_t)(b % 3);
                m.u.connect.max_bvlc_len = 1600;
                m.u.connect.max_npdu_len = 1497;
                uint8_t buf[64];
                int n = bacsc_bvlc_encode(&m, buf, sizeof buf);
                if (n > 0)
                    bacsc_sc_switch_dc_recv(sw, dcs[k].dc, buf, (size_t)n, now);
            }
            break;
        case 7:
            if (dcs[k].dc)
                bacsc_sc_switch_dc_opened(sw, dcs[k].dc, now);
            break;
        case 8:
            if (dcs[k].dc)
                gone(sw, k, b, now);
            break;
        case 9:
            now += (uint64_t)a * 1000000 + (uint64_t)b * 10000;
            bacsc_sc_switch_handle_expiry(sw, now);
            break;
        case 10:
            for (int i = 0; i < MAXDC; i++) {
                const uint8_t *d;
                size_t len;
                while (dcs[i].dc && bacsc_sc_switch_dc_peek_output(dcs[i].dc, &d, &len)) {
                    must_decode(d, len);
                    bacsc_sc_switch_dc_pop_output(dcs[i].dc);
                }
            }
            break;
        case 11:
            bacsc_sc_switch_stop(sw, now);
            break;
        case 12:
            for (int i = 0; i < MAXDC; i++)
                if (dcs[i].dc && dcs[i].close_requested)
                    gone(sw, i, 0, now);
            break;
        }
        if (bacsc_sc_switch_conn_count(sw) > MAX_CONNS)
            abort();
        bacsc_sc_dc_status rows[16];
        if (bacsc_sc_switch_status(sw, rows, 16) > 9)
            abort();
    }
out:
    bacsc_sc_switch_free(sw);
    return 0;
}
