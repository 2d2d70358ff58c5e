/* fuzz_json_manifest.c — manifest.json parser alone. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/cari.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bacsc_cari m;
    char err[300];
    bacsc_cari_manifest_parse((const char *)data, size, 1000, &m, err, sizeof err);
    if (strlen(err) >= sizeof err || strchr(err, '\n'))
        __builtin_trap();
    bacsc_cari_clear(&m);
    return 0;
}
