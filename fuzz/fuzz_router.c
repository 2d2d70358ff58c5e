/*
 * fuzz_router.c — the router's input path (router.h): a sequence of NPDUs,
 * each handed to bacsc_router_input() on a port of a 3-port router, so that
 * routes learned from one NPDU steer the next.
 *
 * Input: records of [port(1) time(1) len_hi(1) len_lo(1) NPDU(len)]; a short
 * last record takes the rest of the input. Checked on every NPDU the router
 * sends: it decodes, fits the port's maximum, goes to a valid port, and a
 * delivered copy never carries the DNET of the network it is sent on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/npdu.h"
#include "bacsc/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t max_npdu[3] = {1497, 600, 1800};

static int check_send(void *user, unsigned port, const bacsc_address *mac, const uint8_t *npdu,
                      size_t len)
{
    (void)user;
    if (port >= 3 || len > max_npdu[port] || mac->mac_len > BACSC_MAC_MAX)
        abort();
    bacsc_npdu n;
    if (bacsc_npdu_decode(npdu, len, &n) < 0)
        abort();
    if (n.has_dnet && n.dnet == (uint16_t)(10 + port))
        abort();
    return 0;
}

static void check_local(void *user, unsigned port, const bacsc_address *src, const uint8_t *npdu,
                        size_t len, uint64_t now)
{
    (void)user;
    (void)now;
    bacsc_npdu n;
    if (port >= 3 || src->mac_len == 0 || bacsc_npdu_decode(npdu, len, &n) < 0)
        abort();
    if (n.has_dnet && n.dnet != 0xFFFF)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bacsc_router_config c;
    memset(&c, 0, sizeof c);
    c.nports = 3;
    for (unsigned i = 0; i < 3; i++) {
        c.ports[i].network = (uint16_t)(10 + i);
        c.ports[i].max_npdu = max_npdu[i];
        c.ports[i].mac_len = 6;
    }
    c.max_routes = 8;
    c.send = check_send;
    c.local = check_local;
    bacsc_router *r;
    if (bacsc_router_new(&c, &r) != 0)
        abort();
    bacsc_address own = {.mac_len = 6, .mac = {2, 0, 0, 0, 0, 1}};
    bacsc_router_set_port_mac(r, 1, &own);
    uint64_t now = 0;
    size_t pos = 0;
    while (pos + 4 <= size) {
        unsigned port = data[pos] % 3;
        now += (uint64_t)data[pos + 1] * 1000000u;
        size_t len = (size_t)data[pos + 2] << 8 | data[pos + 3];
        pos += 4;
        if (len > size - pos)
            len = size - pos;
        bacsc_address src = {.mac_len = 6, .mac = {127, 0, 0, (uint8_t)port, 0xBA, 0xC0}};
        if (data[pos - 3] & 1)
            bacsc_router_input_broadcast(r, port, &src, data + pos, len, now);
        else
            bacsc_router_input(r, port, &src, data + pos, len, now);
        bacsc_router_originate(r, port, &src, data + pos, len, now);
        pos += len;
    }
    bacsc_router_announce(r, BACSC_ROUTER_LOCAL_PORT, now);
    bacsc_router_free(r);
    return 0;
}
