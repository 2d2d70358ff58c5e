/*
 * fuzz_cari.c — any octets read as a CARI zip (request or response) with
 * small limits; then matching and issuer checks run over what was read.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bacsc/cari.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bacsc_cari_limits lim = {.max_file_size = 1 << 20,
                             .max_entries = 256,
                             .max_entry_size = 64 << 10,
                             .max_total_size = 1 << 20,
                             .max_ratio = 100,
                             .max_manifest_size = 64 << 10};
    bacsc_cari *c = NULL;
    bacsc_cari_read_buffer(data, size, &lim, &c);
    if (!c)
        return 0;
    /* every entry has a printable name and a one-line error */
    for (size_t i = 0; i < c->n_entries; i++) {
        const bacsc_cari_entry *e = &c->entries[i];
        if (!e->name || (e->error && strchr(e->error, '\n')))
            __builtin_trap();
    }
    /* match against itself (CSRs as requests) and treat any issuer as the CA */
    bacsc_cari_match_request(c, c);
    for (size_t i = 0; i < c->n_entries; i++)
        if (c->entries[i].der && c->entries[i].type == BACSC_CARI_ENTRY_ISSUER) {
            const unsigned char *ca = c->entries[i].der;
            size_t len = c->entries[i].der_len;
            bacsc_cari_verify_issuer(c, &ca, &len, 1);
            break;
        }
    bacsc_cari_free(c);
    return 0;
}
