/* support_sc.c — see support_sc.h. */
#include <string.h>

#include "support_sc.h"

static uint64_t sct_state = 0x9E3779B97F4A7C15ull;

void sct_seed(uint64_t seed)
{
    sct_state = seed ? seed : 0x9E3779B97F4A7C15ull;
}

uint64_t sct_rand64(void)
{
    sct_state ^= sct_state >> 12;
    sct_state ^= sct_state << 25;
    sct_state ^= sct_state >> 27;
    return sct_state * 0x2545F4914F6CDD1Dull;
}

int sct_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(sct_rand64() >> 56);
    return 0;
}

bacsc_vmac sct_vmac(uint8_t a, uint8_t b)
{
    bacsc_vmac v = {{0x02, 0x00, 0x00, 0x00, a, b}};
    return v;
}

bacsc_uuid sct_uuid(uint8_t a, uint8_t b)
{
    bacsc_uuid u;
    memset(u.b, 0x11, sizeof u.b);
    u.b[14] = a;
    u.b[15] = b;
    return u;
}

size_t sct_encode(const bacsc_bvlc_msg *m, uint8_t *out, size_t cap)
{
    int n = bacsc_bvlc_encode(m, out, cap);
    return n < 0 ? 0 : (size_t)n;
}

static size_t connect_msg(uint8_t *out, size_t cap, uint8_t fn, uint16_t id,
                          const bacsc_vmac *vmac, const bacsc_uuid *uuid, uint16_t max_bvlc,
                          uint16_t max_npdu)
{
    bacsc_bvlc_msg m;
    bacsc_bvlc_init(&m, fn, id);
    m.u.connect.vmac = *vmac;
    m.u.connect.uuid = *uuid;
    m.u.connect.max_bvlc_len = max_bvlc;
    m.u.connect.max_npdu_len = max_npdu;
    return sct_encode(&m, out, cap);
}

size_t sct_connect_request(uint8_t *out, size_t cap, uint16_t id, const bacsc_vmac *vmac,
                           const bacsc_uuid *uuid, uint16_t max_bvlc, uint16_t max_npdu)
{
    return connect_msg(out, cap, BACSC_BVLC_CONNECT_REQUEST, id, vmac, uuid, max_bvlc, max_npdu);
}

size_t sct_connect_accept(uint8_t *out, size_t cap, uint16_t id, const bacsc_vmac *vmac,
                          const bacsc_uuid *uuid, uint16_t max_bvlc, uint16_t max_npdu)
{
    return connect_msg(out, cap, BACSC_BVLC_CONNECT_ACCEPT, id, vmac, uuid, max_bvlc, max_npdu);
}

size_t sct_simple(uint8_t *out, size_t cap, uint8_t function, uint16_t id)
{
    bacsc_bvlc_msg m;
    bacsc_bvlc_init(&m, function, id);
    return sct_encode(&m, out, cap);
}

size_t sct_npdu(uint8_t *out, size_t cap, uint16_t id, const bacsc_vmac *orig,
                const bacsc_vmac *dest, const uint8_t *npdu, size_t len)
{
    bacsc_bvlc_msg m;
    bacsc_bvlc_init(&m, BACSC_BVLC_ENCAPSULATED_NPDU, id);
    if (orig) {
        m.has_orig = true;
        m.orig = *orig;
    }
    if (dest) {
        m.has_dest = true;
        m.dest = *dest;
    }
    m.payload = npdu;
    m.payload_len = len;
    return sct_encode(&m, out, cap);
}

size_t sct_nak(uint8_t *out, size_t cap, uint8_t function, uint16_t id, uint16_t code)
{
    bacsc_bvlc_msg m;
    bacsc_bvlc_make_nak(&m, function, id, 0, code, "test");
    return sct_encode(&m, out, cap);
}
