/*
 * fuzz_support.h — what several fuzz targets share: one input split into
 * records at the marker FF FE FD (fuzz_device.c, fuzz_commission.c), and the
 * repeatable random bytes they hand to a protocol core's `random` callback
 * (fuzz_sc_hub.c, fuzz_sc_switch.c).
 */
#ifndef BACSC_FUZZ_SUPPORT_H
#define BACSC_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/* Hand each record of `data` (the pieces between FF FE FD markers, empty ones
 * included) to fn, in order. */
static inline void fz_records(const uint8_t *data, size_t size,
                              void (*fn)(void *user, const uint8_t *rec, size_t len), void *user)
{
    size_t start = 0;
    for (size_t i = 0; i + 3 <= size; i++) {
        if (data[i] == 0xFF && data[i + 1] == 0xFE && data[i + 2] == 0xFD) {
            fn(user, data + start, i - start);
            start = i + 3;
            i += 2;
        }
    }
    fn(user, data + start, size - start);
}

/* `len` bytes from a linear congruential generator whose state is *state. */
static inline void fz_lcg_bytes(uint64_t *state, uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (uint8_t)(*state >> 56);
    }
}

#endif
