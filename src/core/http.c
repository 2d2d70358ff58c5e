/*
 * http.c — strict HTTP/1.1 WebSocket upgrade parsing and building.
 *
 * The parser only buffers until the blank line, then checks the whole header
 * in one pass over the buffer, rewriting it in place: each CR of a CRLF
 * becomes NUL (the LF stays, marking line starts), the colon after a header
 * name becomes NUL and trailing whitespace of a value becomes NUL. Result
 * strings therefore point into the caller's buffer. See bacsc/http.h.
 */
#include "bacsc/http.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "bacsc/error.h"
#include "bacsc/ws.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum { ST_READING = 0, ST_DONE = 1, ST_FAILED = -1 };

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static bool ieq(const char *a, const char *b)
{
    while (*a && *b && lower((unsigned char)*a) == lower((unsigned char)*b)) {
        a++;
        b++;
    }
    return *a == 0 && *b == 0;
}

static bool ieq_n(const char *a, size_t n, const char *b)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (b[i] == 0 || lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return false;
    return b[n] == 0;
}

/* RFC 7230 tchar. */
static bool is_tchar(int c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ows(int c)
{
    return c == ' ' || c == '\t';
}

static int fail(bacsc_http_parser *p, int rc, int http_status, uint16_t code, const char *text)
{
    p->state = ST_FAILED;
    p->result = rc;
    p->http_status = http_status;
    p->error_code = code;
    p->error_text = text;
    return rc;
}

static int init_common(bacsc_http_parser *p, int kind, char *buf, size_t cap, unsigned max_headers)
{
    if (!p || !buf || cap < 64 || cap > 65535 || max_headers > 255)
        return BACSC_ERR_INVALID_ARG;
    memset(p, 0, sizeof *p);
    p->kind = (uint8_t)kind;
    p->buf = buf;
    p->cap = cap;
    p->max_headers = (uint8_t)(max_headers ? max_headers : BACSC_HTTP_DEFAULT_MAX_HEADERS);
    return BACSC_OK;
}

int bacsc_http_parser_init_request(bacsc_http_parser *p, char *buf, size_t cap,
                                   unsigned max_headers, unsigned accept_protocols)
{
    unsigned known = BACSC_WS_PROTO_HUB | BACSC_WS_PROTO_DC;
    if (accept_protocols == 0 || (accept_protocols & ~known))
        return BACSC_ERR_INVALID_ARG;
    int rc = init_common(p, BACSC_HTTP_REQUEST, buf, cap, max_headers);
    if (rc == BACSC_OK)
        p->protocols = accept_protocols;
    return rc;
}

int bacsc_http_parser_init_response(bacsc_http_parser *p, char *buf, size_t cap,
                                    unsigned max_headers, const char *key, unsigned protocol)
{
    if (!key || strlen(key) != BACSC_WS_KEY_LEN || !bacsc_ws_protocol_name(protocol))
        return BACSC_ERR_INVALID_ARG;
    int rc = init_common(p, BACSC_HTTP_RESPONSE, buf, cap, max_headers);
    if (rc == BACSC_OK) {
        p->protocols = protocol;
        memcpy(p->key, key, BACSC_WS_KEY_LEN + 1);
    }
    return rc;
}

const char *bacsc_ws_protocol_name(unsigned protocol)
{
    if (protocol == BACSC_WS_PROTO_HUB)
        return BACSC_WS_PROTO_NAME_HUB;
    if (protocol == BACSC_WS_PROTO_DC)
        return BACSC_WS_PROTO_NAME_DC;
    return NULL;
}

/* ---- header access after the in-place rewrite ---------------------------- */

/* Next line start after `line` (lines end in "\0\n"), or NULL at the end. */
static char *next_line(const bacsc_http_parser *p, char *line)
{
    char *end = p->buf + p->len;
    char *nl = memchr(line, '\n', (size_t)(end - line));
    if (!nl || nl + 1 >= end || nl[1] == '\0') /* the blank line is "\0\n" */
        return NULL;
    return nl + 1;
}

static const char *value_of(const char *name)
{
    const char *v = name + strlen(name) + 1;
    while (is_ows((unsigned char)*v))
        v++;
    return v;
}

static const char *find_header(const bacsc_http_parser *p, const char *name)
{
    for (char *l = next_line(p, p->buf); l; l = next_line(p, l))
        if (ieq(l, name))
            return value_of(l);
    return NULL;
}

const char *bacsc_http_header(const bacsc_http_parser *p, const char *name)
{
    if (!p || p->state != ST_DONE || !name)
        return NULL;
    return find_header(p, name);
}

static int header_count(const bacsc_http_parser *p, const char *name)
{
    int n = 0;
    for (char *l = next_line(p, p->buf); l; l = next_line(p, l))
        if (ieq(l, name))
            n++;
    return n;
}

/* Does any occurrence of list header `name` contain `token` (case-insensitive)?
 * Sets *bad when an element is not a token. */
static bool list_has(const bacsc_http_parser *p, const char *name, const char *token, bool *bad)
{
    bool found = false;
    for (char *l = next_line(p, p->buf); l; l = next_line(p, l)) {
        if (!ieq(l, name))
            continue;
        const char *v = value_of(l);
        while (*v) {
            while (is_ows((unsigned char)*v) || *v == ',')
                v++;
            const char *s = v;
            while (*v && *v != ',' && !is_ows((unsigned char)*v))
                v++;
            size_t n = (size_t)(v - s);
            for (size_t i = 0; i < n; i++)
                if (!is_tchar((unsigned char)s[i]))
                    *bad = true;
            while (is_ows((unsigned char)*v))
                v++;
            if (*v && *v != ',')
                *bad = true; /* "a b" is not a list of tokens */
            if (n && ieq_n(s, n, token))
                found = true;
        }
    }
    return found;
}

/* ---- syntax ---------------------------------------------------------------- */

static bool is_b64(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* Base64 of exactly 16 octets, canonical: 22 characters, the last carrying 2
 * bits (so its low 4 bits are 0), then "==". */
static bool valid_ws_key(const char *k)
{
    if (strlen(k) != BACSC_WS_KEY_LEN || k[22] != '=' || k[23] != '=')
        return false;
    for (int i = 0; i < 22; i++)
        if (!is_b64((unsigned char)k[i]))
            return false;
    return strchr("AQgw", k[21]) != NULL;
}

/* Rewrite and check line syntax of buf[0..len); count header lines. */
static int check_lines(bacsc_http_parser *p, int *nheaders)
{
    char *b = p->buf;
    size_t len = p->len; /* ends with CRLFCRLF */
    int n = -1;          /* the start line is not a header */
    size_t i = 0;
    while (i < len) {
        size_t s = i;
        while (i < len && b[i] != '\r' && b[i] != '\n')
            i++;
        if (i + 1 >= len || b[i] != '\r' || b[i + 1] != '\n')
            return fail(p, BACSC_ERR_MALFORMED, 400, BACSC_EC_HTTP_RESPONSE_SYNTAX_ERROR,
                        "bare CR or LF in the header");
        b[i] = '\0';
        if (i == s) /* the blank line */
            break;
        for (size_t j = s; j < i; j++) {
            unsigned char c = (unsigned char)b[j];
            if ((c < 0x20 && c != '\t') || c == 0x7F)
                return fail(p, BACSC_ERR_MALFORMED, 400, BACSC_EC_HTTP_RESPONSE_SYNTAX_ERROR,
                            "control character in the header");
        }
        if (n >= 0 && is_ows((unsigned char)b[s]))
            return fail(p, BACSC_ERR_MALFORMED, 400, BACSC_EC_HTTP_RESPONSE_SYNTAX_ERROR,
                        "obsolete header line folding");
        if (n >= 0) {
            size_t j = s;
            while (j < i && is_tchar((unsigned char)b[j]))
                j++;
            if (j == s || j == i || b[j] != ':')
                return fail(p, BACSC_ERR_MALFORMED, 400, BACSC_EC_HTTP_RESPONSE_SYNTAX_ERROR,
                            "bad header name");
            b[j] = '\0';
            size_t e = i;
            while (e > j + 1 && is_ows((unsigned char)b[e - 1]))
                b[--e] = '\0';
        }
        n++;
        i += 2;
        if (n > p->max_headers)
            return fail(p, BACSC_ERR_LIMIT, 431, BACSC_EC_HTTP_ERROR, "too many header lines");
    }
    *nheaders = n;
    return BACSC_OK;
}

/* ---- request --------------------------------------------------------------- */

static int check_request(bacsc_http_parser *p)
{
    char *line = p->buf;
    char *sp1 = strchr(line, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (!sp1 || !sp2 || strchr(sp2 + 1, ' ') || sp2 == sp1 + 1)
        return fail(p, BACSC_ERR_MALFORMED, 400, BACSC_EC_HTTP_RESPONSE_SYNTAX_ERROR,
                    "malformed request line");
    *sp1 = *sp2 = '\0';
    for (const char *m = line; *m; m++)
        if (!is_tchar((unsigned char)*m))
            return fail(p, BACSC_ERR_MALFORMED, 400, BACSC_EC_HTTP_RESPONSE_SYNTAX_ERROR,
                        "malformed request method");
    p->path = sp1 + 1;
    for (const char *t = p->path; *t; t++)
        if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7F)
            return fail(p, BACSC_ERR_MALFORMED, 400, BACSC_EC_HTTP_RESPONSE_SYNTAX_ERROR,
                        "malformed request target");
    if (p->path[0] != '/')
        return fail(p, BACSC_ERR_MALFORMED, 400, BACSC_EC_HTTP_RESPONSE_SYNTAX_ERROR,
                    "request target is not an absolute path");
    if (strcmp(sp2 + 1, "HTTP/1.1") != 0)
        return fail(p, BACSC_ERR_PROTOCOL, 505, BACSC_EC_HTTP_ERROR, "HTTP version is not 1.1");
    if (strcmp(line, "GET") != 0)
        return fail(p, BACSC_ERR_PROTOCOL, 405, BACSC_EC_HTTP_ERROR, "method is not GET");

    if (header_count(p, "Host") != 1)
        return fail(p, BACSC_ERR_MALFORMED, 400, BACSC_EC_HTTP_RESPONSE_MISSING_HEADER,
                    "missing or repeated Host header");
    p->host = find_header(p, "Host");
    if (find_header(p, "Transfer-Encoding") ||
        (find_header(p, "Content-Length") &&
         strcmp(find_header(p, "Content-Length"), "0") != 0))
        return fail(p, BACSC_ERR_PROTOCOL, 400, BACSC_EC_HTTP_UPGRADE_ERROR,
                    "upgrade request with a body");
    bool bad = false;
    if (!list_has(p, "Upgrade", "websocket", &bad) || bad)
        return fail(p, BACSC_ERR_PROTOCOL, 426, BACSC_EC_HTTP_NO_UPGRADE,
                    "no 'Upgrade: websocket' header");
    if (!list_has(p, "Connection", "Upgrade", &bad) || bad)
        return fail(p, BACSC_ERR_PROTOCOL, 426, BACSC_EC_HTTP_NO_UPGRADE,
                    "no 'Connection: Upgrade' header");
    const char *ver = find_header(p, "Sec-WebSocket-Version");
    if (header_count(p, "Sec-WebSocket-Version") != 1 || strcmp(ver, "13") != 0)
        return fail(p, BACSC_ERR_PROTOCOL, 426, BACSC_EC_HTTP_UPGRADE_REQUIRED,
                    "Sec-WebSocket-Version is not 13");
    p->ws_key = find_header(p, "Sec-WebSocket-Key");
    if (header_count(p, "Sec-WebSocket-Key") != 1 || !valid_ws_key(p->ws_key))
        return fail(p, BACSC_ERR_PROTOCOL, 400, BACSC_EC_HTTP_WEBSOCKET_HEADER_ERROR,
                    "Sec-WebSocket-Key is not the base64 of 16 octets");
    bool hub = list_has(p, "Sec-WebSocket-Protocol", BACSC_WS_PROTO_NAME_HUB, &bad);
    bool dc = list_has(p, "Sec-WebSocket-Protocol", BACSC_WS_PROTO_NAME_DC, &bad);
    if (bad)
        return fail(p, BACSC_ERR_MALFORMED, 400, BACSC_EC_HTTP_WEBSOCKET_HEADER_ERROR,
                    "malformed Sec-WebSocket-Protocol list");
    if (hub && (p->protocols & BACSC_WS_PROTO_HUB))
        p->protocol = BACSC_WS_PROTO_HUB;
    else if (dc && (p->protocols & BACSC_WS_PROTO_DC))
        p->protocol = BACSC_WS_PROTO_DC;
    else
        return fail(p, BACSC_ERR_PROTOCOL, 400, BACSC_EC_HTTP_WEBSOCKET_HEADER_ERROR,
                    "no acceptable BACnet/SC subprotocol offered");
    return BACSC_OK;
}

/* ---- response -------------------------------------------------------------- */

static uint16_t status_error(int status)
{
    if (status >= 300 && status < 400)
        return BACSC_EC_HTTP_RESOURCE_NOT_LOCAL;
    switch (status) {
    case 407: return BACSC_EC_HTTP_PROXY_AUTHENTICATION_FAILED;
    case 426: return BACSC_EC_HTTP_UPGRADE_REQUIRED;
    case 503: return BACSC_EC_HTTP_TEMPORARY_UNAVAILABLE;
    }
    if (status >= 500)
        return BACSC_EC_HTTP_ERROR;
    return BACSC_EC_HTTP_UNEXPECTED_RESPONSE_CODE;
}

static int check_response(bacsc_http_parser *p)
{
    const char *l = p->buf;
    if (strncmp(l, "HTTP/1.1 ", 9) != 0 || l[9] < '1' || l[9] > '5' || l[10] < '0' ||
        l[10] > '9' || l[11] < '0' || l[11] > '9' || (l[12] != ' ' && l[12] != '\0'))
        return fail(p, BACSC_ERR_MALFORMED, 0, BACSC_EC_HTTP_RESPONSE_SYNTAX_ERROR,
                    "malformed status line");
    p->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
    if (p->status != 101)
        return fail(p, BACSC_ERR_PROTOCOL, p->status, status_error(p->status),
                    "server refused the upgrade");
    bool bad = false;
    if (!list_has(p, "Upgrade", "websocket", &bad) || !list_has(p, "Connection", "Upgrade", &bad))
        return fail(p, BACSC_ERR_PROTOCOL, 0, BACSC_EC_HTTP_NO_UPGRADE,
                    "101 response without Upgrade: websocket / Connection: Upgrade");
    const char *acc = find_header(p, "Sec-WebSocket-Accept");
    if (!acc)
        return fail(p, BACSC_ERR_PROTOCOL, 0, BACSC_EC_HTTP_RESPONSE_MISSING_HEADER,
                    "no Sec-WebSocket-Accept header");
    char want[BACSC_WS_ACCEPT_LEN + 1];
    if (bacsc_ws_accept_value(p->key, want) != BACSC_OK || header_count(p, "Sec-WebSocket-Accept") != 1 ||
        strcmp(acc, want) != 0)
        return fail(p, BACSC_ERR_PROTOCOL, 0, BACSC_EC_HTTP_RESPONSE_VALUE_ERROR,
                    "wrong Sec-WebSocket-Accept");
    if (find_header(p, "Sec-WebSocket-Extensions"))
        return fail(p, BACSC_ERR_PROTOCOL, 0, BACSC_EC_HTTP_WEBSOCKET_HEADER_ERROR,
                    "server selected an extension that was not offered");
    const char *proto = find_header(p, "Sec-WebSocket-Protocol");
    if (!proto || header_count(p, "Sec-WebSocket-Protocol") != 1 ||
        strcmp(proto, bacsc_ws_protocol_name(p->protocols)) != 0)
        return fail(p, BACSC_ERR_PROTOCOL, 0, BACSC_EC_HTTP_WEBSOCKET_HEADER_ERROR,
                    "server did not select the requested BACnet/SC subprotocol");
    p->protocol = p->protocols;
    return BACSC_OK;
}

/* ---- feeding --------------------------------------------------------------- */

static int finish(bacsc_http_parser *p)
{
    int nheaders = 0;
    int rc = check_lines(p, &nheaders);
    if (rc == BACSC_OK)
        rc = p->kind == BACSC_HTTP_REQUEST ? check_request(p) : check_response(p);
    if (rc != BACSC_OK)
        return rc;
    p->state = ST_DONE;
    return BACSC_HTTP_DONE;
}

int bacsc_http_feed(bacsc_http_parser *p, const uint8_t *data, size_t len, size_t *consumed)
{
    *consumed = 0;
    if (p->state == ST_DONE)
        return BACSC_HTTP_DONE;
    if (p->state == ST_FAILED)
        return p->result;
    /* Copy octet by octet until the header ends: octets after it are frames. */
    size_t i = 0;
    while (i < len) {
        if (p->len == p->cap)
            return fail(p, BACSC_ERR_LIMIT, 431, BACSC_EC_HTTP_ERROR, "header too large");
        char c = (char)data[i++];
        p->buf[p->len++] = c;
        if (c == '\n' && p->len >= 4 && memcmp(p->buf + p->len - 4, "\r\n\r\n", 4) == 0) {
            *consumed = i;
            return finish(p);
        }
        if (p->len == 1 && (c == '\r' || c == '\n'))
            return fail(p, BACSC_ERR_MALFORMED, 400, BACSC_EC_HTTP_RESPONSE_SYNTAX_ERROR,
                        "empty start line");
    }
    *consumed = i;
    p->scan = p->len;
    return BACSC_HTTP_NEED_MORE;
}

/* ---- builders -------------------------------------------------------------- */

int bacsc_ws_make_key(const uint8_t nonce[16], char out[BACSC_WS_KEY_LEN + 1])
{
    EVP_EncodeBlock((unsigned char *)out, nonce, 16);
    out[BACSC_WS_KEY_LEN] = '\0';
    return BACSC_OK;
}

/* SHA-1 fetched once: EVP_sha1() in EVP_Digest is an implicit fetch (a
 * provider look-up, thousands of instructions in OpenSSL 3.0) per upgrade. */
static EVP_MD *sha1_v;
static pthread_once_t sha1_once = PTHREAD_ONCE_INIT;

static void sha1_fetch(void)
{
    sha1_v = EVP_MD_fetch(NULL, "SHA1", NULL);
    ERR_clear_error();
}

static const EVP_MD *sha1(void)
{
    pthread_once(&sha1_once, sha1_fetch);
    return sha1_v ? sha1_v : EVP_sha1();
}

int bacsc_ws_accept_value(const char *key, char out[BACSC_WS_ACCEPT_LEN + 1])
{
    char cat[128];
    size_t kl = strlen(key);
    if (kl + sizeof WS_GUID > sizeof cat)
        return BACSC_ERR_INVALID_ARG;
    memcpy(cat, key, kl);
    memcpy(cat + kl, WS_GUID, sizeof WS_GUID - 1);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(cat, kl + sizeof WS_GUID - 1, md, &mdlen, sha1(), NULL) || mdlen != 20)
        return BACSC_ERR_CRYPTO;
    EVP_EncodeBlock((unsigned char *)out, md, 20);
    out[BACSC_WS_ACCEPT_LEN] = '\0';
    return BACSC_OK;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7F)
            return false;
    return true;
}

static int put(char *out, size_t cap, int n)
{
    if (n < 0)
        return BACSC_ERR_INVALID_ARG;
    if ((size_t)n >= cap)
        return BACSC_ERR_BUFFER_TOO_SMALL;
    (void)out;
    return n;
}

int bacsc_http_build_request(char *out, size_t cap, const char *host, const char *path,
                             const char *key, unsigned protocol)
{
    const char *proto = bacsc_ws_protocol_name(protocol);
    if (!out || !host || !*host || !key || !proto || !printable(host) || !printable(key) ||
        (path && !printable(path)))
        return BACSC_ERR_INVALID_ARG;
    if (!path || !*path)
        path = "/";
    if (path[0] != '/')
        return BACSC_ERR_INVALID_ARG;
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "Sec-WebSocket-Protocol: %s\r\n"
                     "\r\n",
                     path, host, key, proto);
    return put(out, cap, n);
}

int bacsc_http_build_101(char *out, size_t cap, const bacsc_http_parser *p)
{
    if (!p || p->state != ST_DONE || p->kind != BACSC_HTTP_REQUEST)
        return BACSC_ERR_STATE;
    char acc[BACSC_WS_ACCEPT_LEN + 1];
    int rc = bacsc_ws_accept_value(p->ws_key, acc);
    if (rc != BACSC_OK)
        return rc;
    int n = snprintf(out, cap,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n"
                     "Sec-WebSocket-Protocol: %s\r\n"
                     "\r\n",
                     acc, bacsc_ws_protocol_name(p->protocol));
    return put(out, cap, n);
}

const char *bacsc_http_reason(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    }
    return "Error";
}

int bacsc_http_build_error(char *out, size_t cap, int status, const char *text)
{
    if (!out || status < 300 || status > 599)
        return BACSC_ERR_INVALID_ARG;
    if (!text)
        text = bacsc_http_reason(status);
    for (const char *t = text; *t; t++)
        if ((unsigned char)*t < 0x20)
            return BACSC_ERR_INVALID_ARG;
    int n = snprintf(out, cap,
                     "HTTP/1.1 %d %s\r\n"
                     "%s"
                     "Connection: close\r\n"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n"
                     "\r\n"
                     "%s\n",
                     status, bacsc_http_reason(status),
                     status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "", strlen(text) + 1, text);
    return put(out, cap, n);
}
