/*
 * bacsc/value.h — text forms of BACnet object identifiers, properties and
 * values, for command-line tools and logs (part of the app module).
 *
 * Pure functions; no allocation, no I/O. JSON forms live in the CLI
 * (src/cli/value_json.h) so the library stays free of jansson.
 */
#ifndef BACSC_VALUE_H
#define BACSC_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/tags.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Parse an object identifier: "TYPE,INSTANCE" where TYPE is a name
 * ("analog-value", case-insensitive, '_' for '-') or a number 0..1023 and
 * INSTANCE 0..4194303 ("device,1001", "8,1001", "analog-value,1").
 * Returns BACSC_OK or BACSC_ERR_MALFORMED.
 */
int bacsc_object_id_parse(const char *s, bacsc_object_id *oid);
/* "analog-value,1" (a number for types without a name). Returns buf. */
char *bacsc_object_id_format(const bacsc_object_id *oid, char *buf, size_t cap);

/*
 * Parse a property: a name ("present-value", "Device_UUID") or a number
 * 0..4194303, optionally followed by "[INDEX]" ("object-list[0]",
 * "priority-array[16]"). *index = BACSC_ARRAY_ALL without one.
 * Returns BACSC_OK or BACSC_ERR_MALFORMED.
 */
int bacsc_property_ref_parse(const char *s, uint32_t *property, uint32_t *index);

/*
 * The application datatype a property of an object type holds, for
 * WriteProperty values given on the command line without --type
 * (enum bacsc_app_tag), or -1 if unknown. Covers the properties of the
 * objects bacsc serves (Device, Analog Value, File, Network Port) and
 * common ones.
 */
int bacsc_property_datatype(uint16_t object_type, uint32_t property);

/*
 * Parse a command-line value of application type `type` (enum
 * bacsc_app_tag) into an encoded application-tagged value in buf.
 *   null           "null"
 *   boolean        true/false/1/0/active/inactive
 *   unsigned       decimal 0..2^64-1
 *   signed         decimal
 *   real, double   decimal / exponent notation, "nan", "inf"
 *   octet-string   hex, optionally ':' or ' ' separated
 *   character-string  the text (UTF-8)
 *   bit-string     a string of 0/1 characters ("0100")
 *   enumerated     decimal 0..4294967295
 *   date           YYYY-MM-DD (wday computed), "*" fields for any
 *   time           HH:MM:SS[.hh]
 *   object-id      TYPE,INSTANCE
 * "null" is accepted for every type (relinquish). Returns the encoded
 * length, BACSC_ERR_MALFORMED (text does not parse; *what names the
 * problem), BACSC_ERR_BUFFER_TOO_SMALL.
 */
int bacsc_value_parse(const char *text, int type, uint8_t *buf, size_t cap, const char **what);
/* Parse a type name for --type: "real", "unsigned", "character-string"
 * (also "string", "int", "uint", "enum", "bool", "oid", "octets"), or the
 * names of bacsc_app_tag_name(). Returns the tag or -1. */
int bacsc_value_type_parse(const char *name);

/*
 * Format an encoded property value (the octets between tags [3] of a
 * ReadProperty-ACK; any mix of application values and constructed data) as
 * one line of text: a single value alone ("21.5", "true", "\"Room 1\"",
 * "analog-value,1", "2026-11-26", "08:30:00.00", "{0,1,0,0}" for bit strings,
 * octet strings in hex, "*" for unspecified date/time fields), several values
 * separated by ", ", constructed data as "[n]{...}" groups. Enumerated
 * values of known properties are not named (the number is printed).
 * Returns the length that the full text needs (like snprintf); output is
 * truncated to cap-1 and NUL-terminated. BACSC_ERR_MALFORMED for input that
 * does not decode (buf then holds what was formatted so far).
 */
int bacsc_value_format(const uint8_t *enc, size_t len, char *buf, size_t cap);
/*
 * bacsc_value_format into a buffer of the size the text needs (an Object_List
 * of thousands of entries is hundreds of KB of text): *out gets the whole
 * text, never truncated, NUL-terminated, to be freed by the caller. Returns
 * its length, BACSC_ERR_MALFORMED (*out then holds what was formatted so
 * far), or BACSC_ERR_NOMEM (*out is NULL).
 */
int bacsc_value_format_alloc(const uint8_t *enc, size_t len, char **out);
/* Format one decoded primitive value (as bacsc_value_format does). */
int bacsc_value_format_one(const bacsc_value *v, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
