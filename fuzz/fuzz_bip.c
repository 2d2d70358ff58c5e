/*
 * fuzz_bip.c — BACnet/IP BVLL decoder, re-encode round trip, and the NPDU
 * path for every function that carries an NPDU (see bacnet_fuzz.h).
 */
#include <stddef.h>
#include <stdint.h>

#include "bacnet_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bacsc_bip_msg m;
    int n = bacsc_bip_decode(data, size, &m);
    if (n < 0)
        return 0;
    FZ_CHECK((size_t)n == size);
    int e = bacsc_bip_encode(fz_a, sizeof fz_a, &m);
    FZ_CHECK(e == n && memcmp(fz_a, data, size) == 0);
    switch (m.function) {
    case BACSC_BIP_FORWARDED_NPDU:
    case BACSC_BIP_DISTRIBUTE_BROADCAST:
    case BACSC_BIP_ORIGINAL_UNICAST:
    case BACSC_BIP_ORIGINAL_BROADCAST:
        fz_npdu(m.payload, m.payload_len);
        break;
    }
    return 0;
}
