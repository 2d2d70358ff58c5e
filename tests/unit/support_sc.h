/*
 * support_sc.h — helpers shared by the BACnet/SC state-machine tests:
 * a repeatable random source and message builders on top of the codec.
 */
#ifndef BACSC_SUPPORT_SC_H
#define BACSC_SUPPORT_SC_H

#include <stddef.h>
#include <stdint.h>

#include "bacsc/bvlc.h"

/* Deterministic random source (xorshift64*); `user` is ignored. */
int sct_random(void *user, uint8_t *buf, size_t len);
void sct_seed(uint64_t seed);
uint64_t sct_rand64(void);

bacsc_vmac sct_vmac(uint8_t a, uint8_t b);
bacsc_uuid sct_uuid(uint8_t a, uint8_t b);

/* Encode `m` into out; returns the length, or 0 if it cannot be encoded. */
size_t sct_encode(const bacsc_bvlc_msg *m, uint8_t *out, size_t cap);

/* Builders: return the encoded length. */
size_t sct_connect_request(uint8_t *out, size_t cap, uint16_t id, const bacsc_vmac *vmac,
                           const bacsc_uuid *uuid, uint16_t max_bvlc, uint16_t max_npdu);
size_t sct_connect_accept(uint8_t *out, size_t cap, uint16_t id, const bacsc_vmac *vmac,
                          const bacsc_uuid *uuid, uint16_t max_bvlc, uint16_t max_npdu);
size_t sct_simple(uint8_t *out, size_t cap, uint8_t function, uint16_t id);
size_t sct_npdu(uint8_t *out, size_t cap, uint16_t id, const bacsc_vmac *orig,
                const bacsc_vmac *dest, const uint8_t *npdu, size_t len);
size_t sct_nak(uint8_t *out, size_t cap, uint8_t function, uint16_t id, uint16_t code);

#endif
