/*
 * fuzz_sc_hub.c — arbitrary message sequences from 8 fake peers into one hub.
 *
 * The input is a script of operations (one op octet, then its operands):
 *   op & 7 = peer index, op >> 3 selects:
 *     0 accept a WebSocket      1 Connect-Request (VMAC/UUID from small sets,
 *     2 raw message (len, bytes)   so duplicates and replacements happen)
 *     3 NPDU to a chosen VMAC   4 advance time (seconds) and run timers
 *     5 WebSocket gone          6 drain the peer's output
 *     7 shutdown (Disconnect-Request to all)
 *     8.. raw message with a valid header prefix (function, control, id)
 * Invariants after every op: bacsc_sc_hub_check() passes (tables, lists and
 * heap agree; no deadline is missed), every octet the hub queues decodes as a
 * valid BVLC-SC message, counts never exceed the number of sockets.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/sc_hub.h"
#include "fuzz_support.h"

#define NPEERS 8

typedef struct fpeer {
    bacsc_sc_hub_peer *peer;
    bool close_requested;
} fpeer;

static fpeer peers[NPEERS];
static uint64_t rnd_state;

static int fz_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    fz_lcg_bytes(&rnd_state, buf, len);
    return 0;
}

static void fz_want_write(void *io, void *user)
{
    (void)io;
    (void)user;
}

static void fz_close(void *io, uint16_t code, void *user)
{
    (void)code;
    (void)user;
    ((fpeer *)io)->close_requested = true;
}

static void check(bacsc_sc_hub *hub)
{
    if (bacsc_sc_hub_check(hub) != BACSC_OK)
        abort();
    if (bacsc_sc_hub_connected_count(hub) > bacsc_sc_hub_peer_count(hub) ||
        bacsc_sc_hub_peer_count(hub) > NPEERS)
        abort();
}

static void drain(fpeer *p)
{
    const uint8_t *d;
    size_t n;
    while (bacsc_sc_hub_peek_output(p->peer, &d, &n)) {
        bacsc_bvlc_msg m;
        if (bacsc_bvlc_decode(d, n, &m, NULL) != BACSC_OK)
            abort(); /* the hub must only ever send well-formed messages */
        bacsc_sc_hub_pop_output(p->peer);
    }
}

static bacsc_vmac vmac_of(uint8_t k)
{
    bacsc_vmac v = {{0x02, 0, 0, 0, 0, (uint8_t)(k & 7)}};
    if ((k & 0x38) == 0x38)
        v = BACSC_VMAC_BROADCAST;
    else if ((k & 0x38) == 0x30)
        v = BACSC_VMAC_UNKNOWN;
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(peers, 0, sizeof peers);
    rnd_state = 1;
    bacsc_sc_hub_config cfg;
    bacsc_sc_hub_config_default(&cfg);
    cfg.max_queue_msgs = 8;
    cfg.max_bvlc_len = 600;
    cfg.max_npdu_len = 500;
    bacsc_sc_hub_callbacks cb = {.want_write = fz_want_write, .close = fz_close,
                                 .random = fz_random};
    bacsc_sc_hub *hub = bacsc_sc_hub_new(&cfg, &cb, NULL);
    if (!hub)
        return 0;
    uint64_t now = 0;
    size_t i = 0;
    while (i < size) {
        uint8_t op = data[i++];
        fpeer *p = &peers[op & 7];
        uint8_t kind = op >> 3;
        uint8_t buf[700];
        if (kind == 0) {
            if (!p->peer) {
                p->close_requested = false;
                p->peer = bacsc_sc_hub_accept(hub, p, now, NULL);
            }
        } else if (kind == 1 && i + 2 <= size) {
            uint8_t vk = data[i++], uk = data[i++];
            if (p->peer) {
                bacsc_bvlc_msg m;
                bacsc_bvlc_init(&m, BACSC_BVLC_CONNECT_REQUEST, (uint16_t)(vk << 8 | uk));
                m.u.connect.vmac = vmac_of(vk);
                memset(m.u.connect.uuid.b, 0x10, BACSC_UUID_LEN);
                m.u.connect.uuid.b[15] = uk & 3;
                m.u.connect.max_bvlc_len = (uint16_t)(100 + (vk >> 6) * 200);
                m.u.connect.max_npdu_len = (uint16_t)(50 + (uk >> 6) * 150);
                int n = bacsc_bvlc_encode(&m, buf, sizeof buf);
                if (n > 0)
                    bacsc_sc_hub_recv(hub, p->peer, buf, (size_t)n, now);
            }
        } else if (kind == 2 && i < size) {
            size_t n = data[i++];
            if (n > size - i)
                n = size - i;
            if (p->peer) {
                memcpy(buf, data + i, n);
                bacsc_sc_hub_recv(hub, p->peer, buf, n, now);
            }
            i += n;
        } else if (kind == 3 && i + 2 <= size) {
            uint8_t dk = data[i++], len = data[i++];
            if (p->peer) {
                bacsc_bvlc_msg m;
                bacsc_bvlc_init(&m, BACSC_BVLC_ENCAPSULATED_NPDU, len);
                m.has_dest = (dk & 0x40) == 0;
                m.dest = vmac_of(dk);
                m.has_orig = (dk & 0x80) != 0;
                m.orig = vmac_of((uint8_t)(dk >> 3));
                static const uint8_t npdu[2 * 255];
                m.payload = npdu;
                m.payload_len = (size_t)len * 2;
                int n = bacsc_bvlc_encode(&m, buf, sizeof buf);
                if (n > 0)
                    bacsc_sc_hub_recv(hub, p->peer, buf, (size_t)n, now);
            }
        } else if (kind == 4 && i < size) {
            now += (uint64_t)data[i++] * 1000000u;
            bacsc_sc_hub_handle_expiry(hub, now);
        } else if (kind == 5) {
            if (p->peer) {
                bacsc_sc_hub_peer_gone(hub, p->peer, 0, now);
                p->peer = NULL;
            }
        } else if (kind == 6) {
            if (p->peer)
                drain(p);
        } else if (kind == 7) {
            bacsc_sc_hub_disconnect_all(hub, now);
        } else if (kind >= 8 && i + 3 <= size) {
            /* A header the decoder gets past, then fuzz bytes. */
            size_t n = (size_t)data[i + 2] % 64;
            if (n > size - i - 3)
                n = size - i - 3;
            buf[0] = (uint8_t)(kind - 8);
            buf[1] = data[i];
            buf[2] = 0;
            buf[3] = data[i + 1];
            memcpy(buf + 4, data + i + 3, n);
            if (p->peer)
                bacsc_sc_hub_recv(hub, p->peer, buf, 4 + n, now);
            i += 3 + n;
        }
        /* The I/O layer honours close requests after flushing. */
        for (int k = 0; k < NPEERS; k++)
            if (peers[k].peer && peers[k].close_requested && (op & 0x40)) {
                drain(&peers[k]);
                bacsc_sc_hub_peer_gone(hub, peers[k].peer, 0, now);
                peers[k].peer = NULL;
            }
        check(hub);
    }
    for (int k = 0; k < NPEERS; k++)
        if (peers[k].peer)
            drain(&peers[k]);
    bacsc_sc_hub_free(hub);
    return 0;
}
