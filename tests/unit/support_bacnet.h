/*
 * support_bacnet.h — helpers shared by the BACnet tests: hex conversion, a
 * seeded PRNG (so failures are repeatable), a generator of random
 * application values, and the record of a client request's result.
 */
#ifndef BACSC_TEST_SUPPORT_BACNET_H
#define BACSC_TEST_SUPPORT_BACNET_H

#include <stddef.h>
#include <stdint.h>

#include "bacsc/client.h"
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

/* The result of a client request, as bt_on_done (the request's callback,
 * with a bt_result as its user pointer) records it: how many times it was
 * called, the result with the peer cleared, and a copy of the ComplexACK's
 * service data that r.ack points to. */
typedef struct bt_result {
    int count;
    bacsc_client_result r;
    uint8_t ack[1600];
    size_t ack_len;
} bt_result;

void bt_on_done(void *user, const bacsc_client_result *r);

#endif
