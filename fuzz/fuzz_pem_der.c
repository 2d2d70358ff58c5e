/*
 * fuzz_pem_der.c — the PEM/DER CSR and certificate loader used by CARI
 * (bacsc_cari_parse_object), over every object in the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bacsc/cari.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    for (int k = 0; k < 8 && off < size; k++) {
        bacsc_cari_entry e;
        memset(&e, 0, sizeof e);
        size_t used = 0;
        int rc = bacsc_cari_parse_object(data + off, size - off, &e, &used);
        if (rc == 0 && (!e.der || !e.has_fingerprint || e.type == BACSC_CARI_ENTRY_INVALID))
            __builtin_trap();
        if (rc != 0 && (!e.error || strchr(e.error, '\n')))
            __builtin_trap();
        if (used > size - off)
            __builtin_trap();
        bacsc_cari_entry_clear(&e);
        if (used == 0)
            break;
        off += used;
    }
    return 0;
}
