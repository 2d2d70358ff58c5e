/*
 * fuzz_npdu.c — BACnet NPDU → APDU header → service payload decoders, with
 * re-encode round-trip checks (see bacnet_fuzz.h).
 *
 * Input selector (first octet):
 *   0x01  the input is an NPDU (version 1): the full path
 *   0x02  the rest is an APDU
 *   0x03  the rest is a sequence of tagged values
 *   else  octet 0 & 7 is a PDU type, octet 1 a service choice, the rest that
 *         service's payload (reaches every service decoder directly)
 */
#include <stddef.h>
#include <stdint.h>

#include "bacnet_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    switch (data[0]) {
    case 0x01:
        fz_npdu(data, size);
        break;
    case 0x02:
        fz_apdu(data + 1, size - 1);
        break;
    case 0x03:
        fz_values(data + 1, size - 1);
        break;
    default:
        if (size >= 2)
            fz_service(data[0] & 7, data[1], data + 2, size - 2);
        break;
    }
    return 0;
}
