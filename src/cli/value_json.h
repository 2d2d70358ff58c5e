/*
 * value_json.h — JSON forms of BACnet values for the CLI's --json output
 * (kept out of the library so src/app does not depend on jansson).
 *
 * Mapping (one encoded property value → one JSON value):
 *   a single item               → that item alone
 *   several items               → an array
 *   Null / Boolean              → null / true / false
 *   Unsigned, Signed, Enumerated → integer (an Unsigned above 2^63-1 → string)
 *   Real, Double                → number ("nan", "inf", "-inf" as strings)
 *   OctetString                 → lower-case hex string
 *   CharacterString (UTF-8)     → string; other charsets → {"charset": n, "hex": "..."}
 *   BitString                   → array of booleans
 *   Date / Time                 → "2026-11-26" / "08:30:00.00" ('*' = any)
 *   ObjectIdentifier            → {"type": "analog-value", "instance": 1}
 *                                 (type is a number when it has no name)
 *   context primitive [n]       → {"context": n, "hex": "..."}
 *   constructed [n]{...}        → {"context": n, "value": <items, as above>}
 */
#ifndef BACSC_CLI_VALUE_JSON_H
#define BACSC_CLI_VALUE_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/tags.h"

/* JSON form of one decoded primitive value (new reference), NULL on
 * allocation failure. */
json_t *bacsc_value_one_json(const bacsc_value *v);

/* JSON form of an encoded property value (the octets between tags [3] of a
 * ReadProperty-ACK). Returns a new reference, or NULL when the encoding is
 * malformed (or allocation fails). */
json_t *bacsc_value_json(const uint8_t *enc, size_t len);

/* When the encoded value of `property` is one enumerated value with a known
 * name (bacsc_property_enum_name), that name; else NULL. */
const char *bacsc_value_enum_name(uint32_t property, const uint8_t *enc, size_t len);

#endif
