/*
 * support_bacnet.h — helpers shared by the BACnet encoding tests: hex
 * conversion, a seeded PRNG (so failures are repeatable), and a generator of
 * random application values.
 */
#ifndef BACSC_TEST_SUPPORT_BACNET_H
#define BACSC_TEST_SUPPORT_BACNET_H

#include <stddef.h>
#include <stdint.h>

#include "bacsc/tags.h"

/* Parse hex (spaces allowed) into out; returns the octet count, or 0 on bad
 * input or overflow. */
size_t bt_hex(const char *hex, uint8_t *out, size_t cap);
/* Format `n` octets as lower-case hex without spaces into out (2n+1). */
char *bt_tohex(const uint8_t *p, size_t n, char *out);

/* xorshift64* PRNG; state must be non-zero. */
uint64_t bt_rand(uint64_t *state);
uint32_t bt_below(uint64_t *state, uint32_t n);

/* A random application value (types 0..12). Strings/octets/bits take their
 * bytes from `storage` (cap octets; at most cap used). */
void bt_random_value(uint64_t *state, bacsc_value *v, uint8_t *storage, size_t cap);

#endif
