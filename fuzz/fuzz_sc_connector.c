/*
 * fuzz_sc_connector.c — arbitrary I/O results, hub messages and time steps
 * into one hub connector.
 *
 * Script: op octet, op & 1 = slot, op >> 1 selects:
 *   0 opened   1 failed(code)   2 closed(code)   3 raw message (len, bytes)
 *   4 Connect-Accept   5 NAK of Connect-Request (code)   6 Disconnect-Request
 *   7 Heartbeat-ACK    8 NPDU   9 advance time (seconds)   10 drain output
 *   11 send an NPDU    12 stop  13 start   14.. tiny time step (ms)
 * The fake I/O layer keeps the contract: results only for slots it was asked
 * to open, and a close request is answered with closed() on a later op.
 * Invariants: SC_Hub_Connector_State agrees with the slot connections;
 * handling an expiry always moves it past now (no busy loop); every octet the
 * connector sends decodes.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/sc_connector.h"

static struct {
    bool open_requested[2];
    bool close_requested[2];
    bool is_open[2];
} io;

static uint64_t rnd;

static int fz_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    for (size_t i = 0; i < len; i++) {
        rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (uint8_t)(rnd >> 56);
    }
    return 0;
}

static void fz_open(int slot, const char *uri, void *user)
{
    (void)uri;
    (void)user;
    if (io.open_requested[slot] || io.is_open[slot])
        abort(); /* at most one WebSocket per slot */
    io.open_requested[slot] = true;
}

static void fz_close(int slot, void *user)
{
    (void)user;
    io.close_requested[slot] = true;
}

static void fz_noop_slot(int slot, void *user)
{
    (void)slot;
    (void)user;
}

static void check(bacsc_sc_connector *c)
{
    int st = bacsc_sc_connector_state(c);
    if (st == BACSC_SC_CONNECTED_TO_PRIMARY || st == BACSC_SC_CONNECTED_TO_FAILOVER) {
        bacsc_sc_conn *conn = bacsc_sc_connector_conn(
            c, st == BACSC_SC_CONNECTED_TO_PRIMARY ? BACSC_SC_SLOT_PRIMARY : BACSC_SC_SLOT_FAILOVER);
        if (!conn || bacsc_sc_conn_state(conn) != BACSC_SC_STATE_CONNECTED)
            abort();
    }
    for (int s = 0; s < 2; s++) {
        const bacsc_sc_hub_connection_status *hs = bacsc_sc_connector_status(c, s);
        if (hs->state < 0 || hs->state > 3 || !hs->error_details)
            abort();
    }
}

static void drain(bacsc_sc_connector *c, int slot)
{
    const uint8_t *d;
    size_t n;
    while (bacsc_sc_connector_peek_output(c, slot, &d, &n)) {
        bacsc_bvlc_msg m;
        if (bacsc_bvlc_decode(d, n, &m, NULL) != BACSC_OK)
            abort();
        bacsc_sc_connector_pop_output(c, slot);
    }
}

static void feed(bacsc_sc_connector *c, int slot, const bacsc_bvlc_msg *m, uint64_t now)
{
    uint8_t buf[600];
    int n = bacsc_bvlc_encode(m, buf, sizeof buf);
    if (n > 0)
        bacsc_sc_connector_recv(c, slot, buf, (size_t)n, now);
}

static void run_timers(bacsc_sc_connector *c, uint64_t now)
{
    for (int guard = 0; bacsc_sc_connector_expiry(c) <= now; guard++) {
        if (guard > 8)
            abort(); /* handling must move the deadline past now */
        bacsc_sc_connector_handle_expiry(c, now);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(&io, 0, sizeof io);
    rnd = 7;
    bacsc_sc_connector_config cfg;
    bacsc_sc_connector_config_default(&cfg);
    cfg.primary_uri = "wss://p";
    cfg.failover_uri = "wss://f";
    cfg.max_queue_msgs = 8;
    bacsc_sc_connector_callbacks cb = {.open = fz_open, .close = fz_close,
                                       .want_write = fz_noop_slot, .random = fz_random};
    bacsc_sc_connector *c = bacsc_sc_connector_new(&cfg, &cb, NULL);
    if (!c)
        return 0;
    uint64_t now = 0;
    bacsc_sc_connector_start(c, now);
    size_t i = 0;
    while (i < size) {
        uint8_t op = data[i++];
        int slot = op & 1;
        uint8_t kind = op >> 1;
        bacsc_bvlc_msg m;
        /* Close requests are honoured before anything else on that slot. */
        if (io.close_requested[slot]) {
            io.close_requested[slot] = false;
            io.open_requested[slot] = false;
            io.is_open[slot] = false;
            drain(c, slot);
            bacsc_sc_connector_closed(c, slot, 0, now);
        } else if (kind == 0) {
            if (io.open_requested[slot]) {
                io.open_requested[slot] = false;
                io.is_open[slot] = true;
                bacsc_sc_connector_opened(c, slot, now);
            }
        } else if (kind == 1 && i < size) {
            uint8_t code = data[i++];
            if (io.open_requested[slot]) {
                io.open_requested[slot] = false;
                bacsc_sc_connector_failed(c, slot, (uint16_t)(150 + code % 50), now);
            }
        } else if (kind == 2 && i < size) {
            uint8_t code = data[i++];
            if (io.is_open[slot]) {
                io.is_open[slot] = false;
                bacsc_sc_connector_closed(c, slot, (uint16_t)(160 + code % 40), now);
            }
        } else if (kind == 3 && i < size) {
            size_t n = data[i++];
            if (n > size - i)
                n = size - i;
            if (io.is_open[slot])
                bacsc_sc_connector_recv(c, slot, data + i, n, now);
            i += n;
        } else if (kind == 4 && io.is_open[slot]) {
            bacsc_bvlc_init(&m, BACSC_BVLC_CONNECT_ACCEPT, 1);
            m.u.connect.vmac.b[5] = 9;
            m.u.connect.max_bvlc_len = 1600;
            m.u.connect.max_npdu_len = 1497;
            feed(c, slot, &m, now);
        } else if (kind == 5 && i < size) {
            uint8_t code = data[i++];
            if (io.is_open[slot]) {
                bacsc_bvlc_make_nak(&m, BACSC_BVLC_CONNECT_REQUEST, 1, 0,
                                    (uint16_t)(code & 1 ? BACSC_EC_NODE_DUPLICATE_VMAC : code),
                                    "x");
                feed(c, slot, &m, now);
            }
        } else if (kind == 6 && io.is_open[slot]) {
            bacsc_bvlc_init(&m, BACSC_BVLC_DISCONNECT_REQUEST, 2);
            feed(c, slot, &m, now);
        } else if (kind == 7 && io.is_open[slot]) {
            bacsc_bvlc_init(&m, BACSC_BVLC_HEARTBEAT_ACK, 3);
            feed(c, slot, &m, now);
        } else if (kind == 8 && io.is_open[slot]) {
            static const uint8_t npdu[] = {1, 0};
            bacsc_bvlc_init(&m, BACSC_BVLC_ENCAPSULATED_NPDU, 4);
            m.payload = npdu;
            m.payload_len = sizeof npdu;
            feed(c, slot, &m, now);
        } else if (kind == 9 && i < size) {
            now += (uint64_t)data[i++] * 1000000u;
            run_timers(c, now);
        } else if (kind == 10) {
            drain(c, slot);
        } else if (kind == 11) {
            static const uint8_t npdu[] = {1, 0};
            bacsc_sc_connector_send_npdu(c, &BACSC_VMAC_BROADCAST, npdu, sizeof npdu, now);
        } else if (kind == 12) {
            bacsc_sc_connector_stop(c, now);
        } else if (kind == 13) {
            bacsc_sc_connector_start(c, now);
        } else if (kind >= 14) {
            now += (uint64_t)(kind - 13) * 1000u;
            run_timers(c, now);
        }
        check(c);
    }
    bacsc_sc_connector_free(c);
    return 0;
}
