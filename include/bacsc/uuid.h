/*
 * bacsc/uuid.h — the Device UUID (RFC 4122): 16 octets, and its canonical
 * text "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (lower case). The one place
 * UUIDs become text and back, for the transport (BVLC-SC Connect messages),
 * the PKI (urn:uuid: SANs, CARI manifests) and the device runtime.
 *
 * Pure functions, no allocation, no I/O.
 */
#ifndef BACSC_UUID_H
#define BACSC_UUID_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BACSC_UUID_LEN 16
#define BACSC_UUID_STR_LEN 37 /* text and its terminating NUL */

typedef struct bacsc_uuid {
    uint8_t b[BACSC_UUID_LEN];
} bacsc_uuid;

/* Format as canonical 8-4-4-4-12 lower-case text into buf (at least
 * BACSC_UUID_STR_LEN octets). Returns buf. */
char *bacsc_uuid_format(const bacsc_uuid *u, char *buf);
/* Parse canonical text (either case), with or without a "urn:uuid:" prefix.
 * Returns BACSC_OK or BACSC_ERR_MALFORMED. */
int bacsc_uuid_parse(const char *s, bacsc_uuid *u);

#ifdef __cplusplus
}
#endif
#endif
