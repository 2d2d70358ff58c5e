/*
 * bacsc/tags.h — BACnet application and context tags (ASHRAE 135 clause 20.2).
 *
 * Pure functions over byte buffers: no allocation, no I/O.
 *
 * Conventions shared by every BACnet codec in bacsc (tags.h, npdu.h, apdu.h,
 * services.h, bip.h):
 *  - Encoders write into `buf` of capacity `cap` and return the number of
 *    octets written, or BACSC_ERR_BUFFER_TOO_SMALL (nothing useful written),
 *    or BACSC_ERR_INVALID_ARG for a value the encoding cannot carry.
 *    Passing buf == NULL returns the exact size the encoding needs
 *    ("size first"); cap is then ignored.
 *  - Decoders read `len` octets at `buf` and return the number of octets
 *    consumed (> 0), or BACSC_ERR_MALFORMED. Decoded strings, octet strings,
 *    bit strings and nested encodings point into `buf`, which must outlive
 *    the decoded struct. Nothing is copied or allocated.
 *  - Decoders of optional context-tagged items return BACSC_ERR_NOT_FOUND
 *    when the next item is not the expected tag (or the input is empty); the
 *    input is then untouched and the caller moves on.
 *
 * Tag octet: bits 7..4 tag number (15 = extended: number in next octet,
 * 0..254), bit 3 class (1 = context), bits 2..0 L/V/T: length 0..4, 5 =
 * extended length (next octet 0..253; 254 + 2-octet; 255 + 4-octet), and for
 * context tags 6 = opening, 7 = closing. Application Boolean carries its value
 * in L/V/T and has no content octets.
 */
#ifndef BACSC_TAGS_H
#define BACSC_TAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Application tag numbers (the primitive BACnet data types). */
enum bacsc_app_tag {
    BACSC_TAG_NULL = 0,
    BACSC_TAG_BOOLEAN = 1,
    BACSC_TAG_UNSIGNED = 2,
    BACSC_TAG_SIGNED = 3,
    BACSC_TAG_REAL = 4,
    BACSC_TAG_DOUBLE = 5,
    BACSC_TAG_OCTET_STRING = 6,
    BACSC_TAG_CHARACTER_STRING = 7,
    BACSC_TAG_BIT_STRING = 8,
    BACSC_TAG_ENUMERATED = 9,
    BACSC_TAG_DATE = 10,
    BACSC_TAG_TIME = 11,
    BACSC_TAG_OBJECT_ID = 12
};
#define BACSC_APP_TAG_COUNT 13

/* Value kinds beyond the application types, produced by the value iterator
 * for items that are not application-tagged primitives. */
#define BACSC_VALUE_CONTEXT 64   /* context-tagged primitive: raw content in v.raw */
#define BACSC_VALUE_OPENING 65   /* opening tag `ctx_tag` */
#define BACSC_VALUE_CLOSING 66   /* closing tag `ctx_tag` */

/* Character sets (first content octet of a CharacterString). */
#define BACSC_CHARSET_UTF8 0
#define BACSC_CHARSET_IBM_DBCS 1
#define BACSC_CHARSET_JIS_X0208 2
#define BACSC_CHARSET_UCS4 3
#define BACSC_CHARSET_UCS2 4
#define BACSC_CHARSET_ISO8859_1 5

#define BACSC_MAX_INSTANCE 0x3FFFFFu       /* 22-bit object instance */
#define BACSC_MAX_OBJECT_TYPE 0x3FFu       /* 10-bit object type */
#define BACSC_WILDCARD_INSTANCE 0x3FFFFFu  /* e.g. device,4194303 */
#define BACSC_DATE_ANY 255                 /* unspecified date/time field */
#define BACSC_MAX_TAG_NUMBER 254

/* A decoded tag header. */
typedef struct bacsc_tag {
    uint8_t number;      /* tag number 0..254 */
    bool context;        /* class bit: true = context-specific */
    bool opening;        /* context opening tag (L/V/T 6) */
    bool closing;        /* context closing tag (L/V/T 7) */
    uint32_t lvt;        /* L/V/T value: length, or the application Boolean value */
    uint32_t len;        /* content octets following the header (0 for opening,
                            closing and application Boolean) */
    uint8_t header_len;  /* octets of the tag header itself (1..7) */
} bacsc_tag;

typedef struct bacsc_object_id {
    uint16_t type;       /* 0..1023 (enum bacsc_object_type in apdu.h) */
    uint32_t instance;   /* 0..4194303 */
} bacsc_object_id;

/* Date: year is stored as on the wire (year - 1900, 255 = any). Month 1..12,
 * 13 odd, 14 even, 255 any; day 1..31, 32 last day, 33 odd, 34 even, 255 any;
 * wday 1 (Monday)..7, 255 any. Values are carried as-is. */
typedef struct bacsc_date {
    uint8_t year_1900;
    uint8_t month;
    uint8_t day;
    uint8_t wday;
} bacsc_date;

typedef struct bacsc_time {
    uint8_t hour;        /* 0..23 or 255 */
    uint8_t minute;
    uint8_t second;
    uint8_t hundredths;
} bacsc_time;

typedef struct bacsc_octets {
    const uint8_t *data;
    size_t len;
} bacsc_octets;

/* A CharacterString: charset octet plus the bytes after it (UTF-8 for
 * charset 0; other charsets are kept raw). Not NUL-terminated. */
typedef struct bacsc_charstring {
    uint8_t charset;
    const uint8_t *data;
    size_t len;
} bacsc_charstring;

/* A BitString: `unused` trailing bits (0..7) of the last octet are unused.
 * Bit 0 is the most significant bit of the first octet. */
typedef struct bacsc_bitstring {
    uint8_t unused;
    const uint8_t *data;
    size_t len;          /* octets after the unused-bits octet */
} bacsc_bitstring;

/* A generic value. `type` is an enum bacsc_app_tag, or one of
 * BACSC_VALUE_CONTEXT/OPENING/CLOSING (iterator only; `ctx_tag` then holds
 * the context tag number). */
typedef struct bacsc_value {
    uint8_t type;
    uint8_t ctx_tag;
    union {
        bool boolean;
        uint64_t unsigned_;       /* Unsigned (up to 64 bits) */
        int64_t signed_;          /* Signed (up to 64 bits) */
        float real;
        double dbl;
        bacsc_octets octets;      /* OctetString; context primitive raw content */
        bacsc_charstring chars;
        bacsc_bitstring bits;
        uint32_t enumerated;
        bacsc_date date;
        bacsc_time time;
        bacsc_object_id oid;
        bacsc_octets raw;         /* BACSC_VALUE_CONTEXT */
    } v;
} bacsc_value;

/* ---- tag headers ---------------------------------------------------------- */

/*
 * Decode one tag header at buf. Checks that the header is complete, that an
 * extended tag number is 15..254 (0..14 must use the short form; 255 is
 * reserved), that an extended length fits 32 bits (non-minimal length forms
 * are accepted), that L/V/T 6/7 appear only on context tags, that an
 * application Boolean has L/V/T 0 or 1, and that `len` content octets are
 * present in the input. Returns the header length (1..7) or
 * BACSC_ERR_MALFORMED.
 */
int bacsc_tag_decode(const uint8_t *buf, size_t len, bacsc_tag *tag);

/* Encode a primitive tag header (class by `context`) announcing `content_len`
 * octets (for application Boolean pass the value 0/1 as content_len). */
int bacsc_tag_encode(uint8_t *buf, size_t cap, uint8_t number, bool context,
                     uint32_t content_len);
/* Encode a context opening (L/V/T 6) or closing (7) tag. */
int bacsc_tag_encode_opening(uint8_t *buf, size_t cap, uint8_t number);
int bacsc_tag_encode_closing(uint8_t *buf, size_t cap, uint8_t number);

/* True if buf starts with a well-formed opening / closing tag `number`. */
bool bacsc_tag_is_opening(const uint8_t *buf, size_t len, uint8_t number);
bool bacsc_tag_is_closing(const uint8_t *buf, size_t len, uint8_t number);

/*
 * Length of one complete element at buf: a primitive (header + content), or
 * an opening tag through its matching closing tag with every nested element
 * well formed and properly nested. Returns the length or BACSC_ERR_MALFORMED
 * (truncation, a stray closing tag, mismatched closing tag number, nesting
 * deeper than BACSC_MAX_NESTING).
 */
#define BACSC_MAX_NESTING 32
int bacsc_element_len(const uint8_t *buf, size_t len);

/*
 * If buf starts with opening tag `number`, find its matching closing tag.
 * On success sets *content and *content_len to the octets between the two tags
 * and returns the total length including both tags. Returns
 * BACSC_ERR_NOT_FOUND if buf does not start with that opening tag,
 * BACSC_ERR_MALFORMED if the enclosed data is not properly nested.
 */
int bacsc_enclosed_decode(const uint8_t *buf, size_t len, uint8_t number,
                          const uint8_t **content, size_t *content_len);

/* ---- application-tagged values ------------------------------------------- */

/* Encode `v` (type 0..12) as an application-tagged value.
 * BACSC_ERR_INVALID_ARG for an unknown type, an object type/instance out of
 * range, a bit string `unused` > 7 (or > 0 with no octets). */
int bacsc_value_encode(uint8_t *buf, size_t cap, const bacsc_value *v);

/* Decode one application-tagged value. BACSC_ERR_MALFORMED for a context
 * tag, opening/closing tag, or content of the wrong size for its type
 * (Null with content, Boolean L/V/T > 1, Unsigned/Signed/Enumerated of 0 or
 * more than 8 octets (Enumerated: more than 4), Real not 4, Double not 8,
 * Date/Time not 4, ObjectIdentifier not 4, CharacterString/BitString empty,
 * BitString unused bits > 7). */
int bacsc_value_decode(const uint8_t *buf, size_t len, bacsc_value *v);

/* Convenience encoders of application-tagged primitives. */
int bacsc_app_encode_null(uint8_t *buf, size_t cap);
int bacsc_app_encode_boolean(uint8_t *buf, size_t cap, bool b);
int bacsc_app_encode_unsigned(uint8_t *buf, size_t cap, uint64_t u);
int bacsc_app_encode_signed(uint8_t *buf, size_t cap, int64_t i);
int bacsc_app_encode_real(uint8_t *buf, size_t cap, float f);
int bacsc_app_encode_double(uint8_t *buf, size_t cap, double d);
int bacsc_app_encode_octet_string(uint8_t *buf, size_t cap, const uint8_t *data, size_t n);
/* UTF-8 string (charset 0). */
int bacsc_app_encode_char_string(uint8_t *buf, size_t cap, const char *s, size_t n);
int bacsc_app_encode_enumerated(uint8_t *buf, size_t cap, uint32_t e);
int bacsc_app_encode_object_id(uint8_t *buf, size_t cap, uint16_t type, uint32_t instance);

/* Decode an application-tagged value that must be of type `type`.
 * BACSC_ERR_MALFORMED if it is malformed or of another type. */
int bacsc_app_decode_expect(const uint8_t *buf, size_t len, uint8_t type, bacsc_value *v);

/* ---- context-tagged primitives ------------------------------------------- */

/* Encode `v` (type 0..12) with context tag `number` instead of its
 * application tag (content identical; a Boolean gets one content octet). */
int bacsc_ctx_encode_value(uint8_t *buf, size_t cap, uint8_t number, const bacsc_value *v);
int bacsc_ctx_encode_unsigned(uint8_t *buf, size_t cap, uint8_t number, uint64_t u);
int bacsc_ctx_encode_signed(uint8_t *buf, size_t cap, uint8_t number, int64_t i);
int bacsc_ctx_encode_enumerated(uint8_t *buf, size_t cap, uint8_t number, uint32_t e);
int bacsc_ctx_encode_boolean(uint8_t *buf, size_t cap, uint8_t number, bool b);
int bacsc_ctx_encode_real(uint8_t *buf, size_t cap, uint8_t number, float f);
int bacsc_ctx_encode_object_id(uint8_t *buf, size_t cap, uint8_t number,
                               uint16_t type, uint32_t instance);
int bacsc_ctx_encode_char_string(uint8_t *buf, size_t cap, uint8_t number,
                                 const char *s, size_t n);
int bacsc_ctx_encode_octet_string(uint8_t *buf, size_t cap, uint8_t number,
                                  const uint8_t *data, size_t n);

/*
 * Decode a context-tagged primitive with tag `number` whose content is of
 * application type `type`. Returns octets consumed, BACSC_ERR_NOT_FOUND when
 * the next item is not context tag `number` as a primitive (or len == 0),
 * BACSC_ERR_MALFORMED when the tag or content is malformed.
 */
int bacsc_ctx_decode_value(const uint8_t *buf, size_t len, uint8_t number, uint8_t type,
                           bacsc_value *v);
int bacsc_ctx_decode_unsigned(const uint8_t *buf, size_t len, uint8_t number, uint64_t *u);
int bacsc_ctx_decode_unsigned32(const uint8_t *buf, size_t len, uint8_t number, uint32_t *u);
int bacsc_ctx_decode_signed(const uint8_t *buf, size_t len, uint8_t number, int64_t *i);
int bacsc_ctx_decode_enumerated(const uint8_t *buf, size_t len, uint8_t number, uint32_t *e);
int bacsc_ctx_decode_boolean(const uint8_t *buf, size_t len, uint8_t number, bool *b);
int bacsc_ctx_decode_object_id(const uint8_t *buf, size_t len, uint8_t number,
                               bacsc_object_id *oid);

/* ---- iterating a list of values ------------------------------------------ */

/* Walks every item (application values, context primitives, opening and
 * closing tags) of an encoded sequence, e.g. a ReadProperty-ACK value. */
typedef struct bacsc_value_iter {
    const uint8_t *p;
    size_t left;
    unsigned depth;            /* current opening-tag nesting */
    uint8_t stack[BACSC_MAX_NESTING];
} bacsc_value_iter;

void bacsc_value_iter_init(bacsc_value_iter *it, const uint8_t *buf, size_t len);
/* Next item into *v. Returns 1 (an item), 0 (end of input with balanced
 * nesting), BACSC_ERR_MALFORMED (bad item, mismatched/stray closing tag,
 * nesting too deep, or end of input inside an opening tag). */
int bacsc_value_iter_next(bacsc_value_iter *it, bacsc_value *v);

/* Count application-tagged values in a flat sequence (no constructed items).
 * Returns the count or BACSC_ERR_MALFORMED. */
int bacsc_value_list_count(const uint8_t *buf, size_t len);

/* ---- raw content (no tag) helpers, used by the other BACnet codecs -------- */

/* Minimal number of octets for an Unsigned / Signed content (1..8). */
unsigned bacsc_unsigned_size(uint64_t u);
unsigned bacsc_signed_size(int64_t i);

/* Object identifier <-> 32-bit wire value. */
uint32_t bacsc_object_id_pack(uint16_t type, uint32_t instance);
bacsc_object_id bacsc_object_id_unpack(uint32_t packed);

/* Compare two values of the same application type for equality (strings and
 * octets by content; Real/Double bitwise so NaN equals itself). */
bool bacsc_value_equal(const bacsc_value *a, const bacsc_value *b);

/* Name of an application tag ("Unsigned", "CharacterString", ...) or NULL. */
const char *bacsc_app_tag_name(uint8_t tag);

#ifdef __cplusplus
}
#endif
#endif
