/*
 * bacsc/http.h — HTTP/1.1 WebSocket upgrade (RFC 6455 section 4), sans-I/O.
 *
 * A strict, incremental parser for the two messages of the opening
 * handshake: the client's GET upgrade request (parsed by a server) and the
 * server's response (parsed by a client). Bytes are fed as they arrive; the
 * parser copies them into a caller-provided header buffer (its size is the
 * header size limit), and when the blank line ending the header is seen it
 * parses and validates the whole header at once.
 *
 * Validation follows RFC 6455 and BACnet/SC (Annex AB):
 *  - request: "GET <path> HTTP/1.1", Host present, Upgrade contains
 *    "websocket", Connection contains "Upgrade", Sec-WebSocket-Key is the
 *    base64 of exactly 16 octets, Sec-WebSocket-Version is 13, and
 *    Sec-WebSocket-Protocol offers a subprotocol the server accepts
 *    (hub.bsc.bacnet.org and/or dc.bsc.bacnet.org); the server picks one.
 *  - response: "HTTP/1.1 101 ...", Upgrade/Connection as above,
 *    Sec-WebSocket-Accept matching the key, Sec-WebSocket-Protocol naming
 *    exactly the requested subprotocol, no Sec-WebSocket-Extensions.
 * Header names are case-insensitive; obsolete line folding, control
 * characters, duplicate singleton headers and oversize/too many headers are
 * rejected.
 *
 * A failure reports the HTTP status a server should answer with and the
 * BACnet error code (152..165 HTTP, 171 protocol) that names the problem.
 *
 * Builders write the request, the 101 response and error responses into
 * caller buffers. Sec-WebSocket-Accept uses OpenSSL's SHA-1 and base64
 * (pure computation; no I/O).
 */
#ifndef BACSC_HTTP_H
#define BACSC_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* BACnet/SC WebSocket subprotocols, as a bit mask. */
#define BACSC_WS_PROTO_HUB 0x1u /* "hub.bsc.bacnet.org" */
#define BACSC_WS_PROTO_DC 0x2u  /* "dc.bsc.bacnet.org" */
#define BACSC_WS_PROTO_NAME_HUB "hub.bsc.bacnet.org"
#define BACSC_WS_PROTO_NAME_DC "dc.bsc.bacnet.org"

#define BACSC_HTTP_DEFAULT_MAX_HEADER 4096 /* octets, request line + headers */
#define BACSC_HTTP_DEFAULT_MAX_HEADERS 32  /* header lines */
#define BACSC_WS_KEY_LEN 24                /* base64 of 16 octets */
#define BACSC_WS_ACCEPT_LEN 28             /* base64 of a SHA-1 digest */

/* The BACnet error codes for HTTP problems (class COMMUNICATION). */
enum bacsc_http_error_code {
    BACSC_EC_HTTP_UNEXPECTED_RESPONSE_CODE = 152,
    BACSC_EC_HTTP_NO_UPGRADE = 153,
    BACSC_EC_HTTP_RESOURCE_NOT_LOCAL = 154,
    BACSC_EC_HTTP_PROXY_AUTHENTICATION_FAILED = 155,
    BACSC_EC_HTTP_RESPONSE_TIMEOUT = 156,
    BACSC_EC_HTTP_RESPONSE_SYNTAX_ERROR = 157,
    BACSC_EC_HTTP_RESPONSE_VALUE_ERROR = 158,
    BACSC_EC_HTTP_RESPONSE_MISSING_HEADER = 159,
    BACSC_EC_HTTP_WEBSOCKET_HEADER_ERROR = 160,
    BACSC_EC_HTTP_UPGRADE_REQUIRED = 161,
    BACSC_EC_HTTP_UPGRADE_ERROR = 162,
    BACSC_EC_HTTP_TEMPORARY_UNAVAILABLE = 163,
    BACSC_EC_HTTP_NOT_A_SERVER = 164,
    BACSC_EC_HTTP_ERROR = 165
};

/* bacsc_http_feed() results besides the negative BACSC_ERR_* codes. */
#define BACSC_HTTP_NEED_MORE 0
#define BACSC_HTTP_DONE 1

enum bacsc_http_kind { BACSC_HTTP_REQUEST = 0, BACSC_HTTP_RESPONSE = 1 };

typedef struct bacsc_http_parser {
    /* configuration (set by the init functions) */
    uint8_t kind;              /* enum bacsc_http_kind */
    uint8_t max_headers;
    unsigned protocols;        /* request: accepted set; response: the one requested */
    char key[BACSC_WS_KEY_LEN + 1]; /* response: the key we sent */
    char *buf;                 /* header buffer (caller's); cap = size limit */
    size_t cap;
    size_t len;                /* octets held */
    size_t scan;               /* where the search for CRLFCRLF resumes */
    int state;                 /* 0 reading, 1 done, -1 failed */
    int result;                /* the negative status once failed */
    /* results after BACSC_HTTP_DONE; strings point into buf, NUL-terminated */
    const char *path;          /* request target (request) */
    const char *host;          /* Host header (request) */
    const char *ws_key;        /* Sec-WebSocket-Key (request) */
    int status;                /* status code (response) */
    unsigned protocol;         /* the chosen subprotocol (one BACSC_WS_PROTO_* bit) */
    /* failure details after a negative return */
    int http_status;           /* what a server should answer: 400, 404, 426, 431, 505 ... */
    uint16_t error_code;       /* BACnet error code: 152..165, or 171 */
    const char *error_text;    /* constant one-line English description */
} bacsc_http_parser;

/*
 * Prepare a server-side parser of an upgrade request.
 *   buf, cap   header buffer; cap is the size limit (request line + headers + CRLFs)
 *   max_headers  limit on header lines (0 → BACSC_HTTP_DEFAULT_MAX_HEADERS, max 255)
 *   accept_protocols  BACSC_WS_PROTO_* bits the server accepts; the first one
 *              offered by the client in that set is chosen, HUB preferred.
 * Returns BACSC_OK or BACSC_ERR_INVALID_ARG.
 */
int bacsc_http_parser_init_request(bacsc_http_parser *p, char *buf, size_t cap,
                                   unsigned max_headers, unsigned accept_protocols);
/* cap must be 64..65535; max_headers 0..255 (0 = default). */

/*
 * Prepare a client-side parser of the upgrade response.
 *   key        the Sec-WebSocket-Key the client sent (24 characters)
 *   protocol   the one BACSC_WS_PROTO_* bit the client requested
 * Returns BACSC_OK or BACSC_ERR_INVALID_ARG.
 */
int bacsc_http_parser_init_response(bacsc_http_parser *p, char *buf, size_t cap,
                                    unsigned max_headers, const char *key, unsigned protocol);

/*
 * Feed received octets. *consumed is set to how many were taken: on
 * BACSC_HTTP_DONE, octets after the header (the first WebSocket frames) are
 * NOT consumed and belong to the frame decoder.
 * Returns BACSC_HTTP_NEED_MORE, BACSC_HTTP_DONE, or on failure
 *   BACSC_ERR_LIMIT      header larger than the buffer or too many header lines
 *   BACSC_ERR_MALFORMED  syntax error
 *   BACSC_ERR_PROTOCOL   a WebSocket/BACnet/SC handshake rule is broken
 *                        (incl. a non-101 response status)
 * with p->http_status, p->error_code and p->error_text set. Once failed or
 * done, further calls return the same result and consume nothing.
 */
int bacsc_http_feed(bacsc_http_parser *p, const uint8_t *data, size_t len, size_t *consumed);

/*
 * Look up a header of a completed message (case-insensitive name). Returns
 * the value of the first occurrence (leading/trailing whitespace removed) or
 * NULL.
 */
const char *bacsc_http_header(const bacsc_http_parser *p, const char *name);

/* The token for one BACSC_WS_PROTO_* bit ("hub.bsc.bacnet.org"), or NULL. */
const char *bacsc_ws_protocol_name(unsigned protocol);

/*
 * Sec-WebSocket-Key from 16 random octets (injected by the caller).
 * Writes 24 characters and a NUL into out (≥ 25 octets). Returns BACSC_OK.
 */
int bacsc_ws_make_key(const uint8_t nonce[16], char out[BACSC_WS_KEY_LEN + 1]);

/*
 * Sec-WebSocket-Accept for a key: base64(SHA-1(key "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")).
 * Writes 28 characters and a NUL. Returns BACSC_OK, BACSC_ERR_INVALID_ARG
 * (key too long) or BACSC_ERR_CRYPTO.
 */
int bacsc_ws_accept_value(const char *key, char out[BACSC_WS_ACCEPT_LEN + 1]);

/*
 * Build the client's upgrade request.
 *   host      Host header value (with ":port" when not the default)
 *   path      request target ("/" if NULL or empty)
 *   key       from bacsc_ws_make_key()
 *   protocol  one BACSC_WS_PROTO_* bit
 * Returns the length written (not counting the NUL that is also written),
 * BACSC_ERR_BUFFER_TOO_SMALL or BACSC_ERR_INVALID_ARG (bad characters).
 */
int bacsc_http_build_request(char *out, size_t cap, const char *host, const char *path,
                             const char *key, unsigned protocol);

/*
 * Build the server's "101 Switching Protocols" for a request parsed by p
 * (uses p->ws_key and p->protocol). Returns the length or
 * BACSC_ERR_BUFFER_TOO_SMALL / BACSC_ERR_STATE (p not done) / BACSC_ERR_CRYPTO.
 */
int bacsc_http_build_101(char *out, size_t cap, const bacsc_http_parser *p);

/*
 * Build an error response: status line, "Connection: close", for 426 also
 * "Sec-WebSocket-Version: 13", a text/plain body with `text` (may be NULL).
 * Returns the length or BACSC_ERR_BUFFER_TOO_SMALL / BACSC_ERR_INVALID_ARG.
 */
int bacsc_http_build_error(char *out, size_t cap, int status, const char *text);

/* Reason phrase for a status code ("Bad Request"), "Error" if unknown. */
const char *bacsc_http_reason(int status);

#ifdef __cplusplus
}
#endif
#endif
