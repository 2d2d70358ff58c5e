/*
 * decode_npdu.h — NPDU/APDU/service and BACnet/IP printing for `bacsc decode`,
 * and the hex helpers its printers share.
 */
#ifndef BACSC_CLI_DECODE_NPDU_H
#define BACSC_CLI_DECODE_NPDU_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decode and print the NPDU header, APDU header and known service payloads.
 * obj != NULL: add "npdu_header" (with "apdu" inside) or "npdu_error" to obj;
 * else print indented text (`indent` spaces). Never fails: what cannot be
 * decoded is reported as an *_error field / line. */
void decode_npdu_print(const uint8_t *npdu, size_t len, json_t *obj, int indent);

/* `n` octets as lower-case hex: a malloc'd string (exits on out of memory),
 * or a JSON string. */
char *decode_hex_dup(const uint8_t *p, size_t n);
json_t *decode_json_hex(const uint8_t *p, size_t n);

/* Decode a BACnet/IP BVLL datagram and print it (and its NPDU). Returns 0,
 * or -1 when the datagram is malformed (nothing printed). */
int decode_bip_print(const uint8_t *buf, size_t len, bool json);

#endif
