/*
 * bacsc/hex.h — hexadecimal text to octets, as typed or pasted by people.
 *
 * Pure function, no allocation, no I/O.
 */
#ifndef BACSC_HEX_H
#define BACSC_HEX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Decode hex text `text` (`len` characters, need not be terminated) into
 * `out` (capacity `cap`). Tolerated and skipped between octets: ASCII
 * whitespace, ':', '-', ',' and '.'; an optional "0x"/"0X" prefix before any
 * octet. Each octet is exactly two hex digits (upper or lower case).
 *
 * Returns the number of octets written (>= 0), BACSC_ERR_MALFORMED for a
 * non-hex character or an odd digit at the end (*bad_offset, if not NULL,
 * is set to its character offset), or BACSC_ERR_BUFFER_TOO_SMALL when the
 * octets do not fit `cap`.
 */
int bacsc_hex_decode(const char *text, size_t len, uint8_t *out, size_t cap,
                     size_t *bad_offset);

/* The value 0..15 of the hex digit `c` (either case), or -1 if `c` is not
 * one. The one digit decoder of the library (VMAC, UUID, MAC and key-log
 * text all use it). */
int bacsc_hex_digit(int c);

/* Format `len` octets as lower-case hex without separators into `buf`
 * (capacity at least 2*len+1). Returns buf. */
char *bacsc_hex_encode(const uint8_t *data, size_t len, char *buf);

#ifdef __cplusplus
}
#endif
#endif
