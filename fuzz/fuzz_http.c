/*
 * fuzz_http.c — HTTP upgrade request and response parsers over arbitrary bytes.
 *
 * First octet: bit 0 selects request/response, bits 1..2 the accepted or
 * requested subprotocols, bits 3..7 the feed piece size. Checks: consumption
 * within bounds, DONE results well-formed (strings inside the buffer, one
 * known subprotocol chosen, a 101 builds), failures carry a status/code/text,
 * and feeding in pieces gives the same verdict as feeding at once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/http.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

static int run(const uint8_t *data, size_t size, bool request, unsigned protos, size_t piece,
               unsigned *chosen)
{
    static char buf[1024];
    bacsc_http_parser p;
    int rc = request ? bacsc_http_parser_init_request(&p, buf, sizeof buf, 16, protos)
                     : bacsc_http_parser_init_response(&p, buf, sizeof buf, 16, KEY,
                                                       protos & 1 ? BACSC_WS_PROTO_HUB
                                                                  : BACSC_WS_PROTO_DC);
    if (rc != BACSC_OK)
        abort();
    size_t off = 0;
    rc = BACSC_HTTP_NEED_MORE;
    while (off < size && rc == BACSC_HTTP_NEED_MORE) {
        size_t n = size - off < piece ? size - off : piece;
        size_t used = 0;
        rc = bacsc_http_feed(&p, data + off, n, &used);
        if (used > n)
            abort();
        off += used;
        if (rc == BACSC_HTTP_NEED_MORE && used != n)
            abort();
    }
    *chosen = 0;
    if (rc == BACSC_HTTP_DONE) {
        if (p.protocol != BACSC_WS_PROTO_HUB && p.protocol != BACSC_WS_PROTO_DC)
            abort();
        *chosen = p.protocol;
        if (request) {
            if (!p.path || p.path < buf || p.path >= buf + sizeof buf || p.path[0] != '/' ||
                !p.ws_key || strlen(p.ws_key) != 24 || !p.host)
                abort();
            char out[512];
            if (bacsc_http_build_101(out, sizeof out, &p) <= 0)
                abort();
        } else if (p.status != 101) {
            abort();
        }
        (void)bacsc_http_header(&p, "sec-websocket-protocol");
    } else if (rc < 0) {
        if (!p.error_text || p.error_code < 152 || (p.error_code > 165 && p.error_code != 171))
            abort();
        if (request && (p.http_status < 400 || p.http_status > 505))
            abort();
        char out[512];
        if (request && bacsc_http_build_error(out, sizeof out, p.http_status, p.error_text) <= 0)
            abort();
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    bool request = sel & 1;
    unsigned protos = (sel >> 1) & 3;
    if (!protos)
        protos = 3;
    size_t piece = (size_t)(sel >> 3) + 1;
    unsigned c1, c2;
    int a = run(data + 1, size - 1, request, protos, piece, &c1);
    int b = run(data + 1, size - 1, request, protos, size, &c2);
    if (a != b || c1 != c2)
        abort();
    return 0;
}
