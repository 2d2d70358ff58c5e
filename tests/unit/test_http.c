/* test_http.c — WebSocket upgrade request/response parsing and building. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bacsc/error.h"
#include "bacsc/http.h"

#define RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static char hbuf[4096];

static const char good_request[] =
    "GET /hub HTTP/1.1\r\n"
    "Host: 127.0.0.1:4443\r\n"
    "Upgrade: websocket\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: " RFC_KEY "\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Protocol: foo, hub.bsc.bacnet.org\r\n"
    "\r\n";

static int parse_request(const char *text, unsigned accept, bacsc_http_parser *p)
{
    assert_int_equal(bacsc_http_parser_init_request(p, hbuf, sizeof hbuf, 0, accept), BACSC_OK);
    size_t used = 0;
    int rc = bacsc_http_feed(p, (const uint8_t *)text, strlen(text), &used);
    if (rc == BACSC_HTTP_DONE)
        assert_int_equal(used, strlen(text));
    return rc;
}

/* Replace the first occurrence of `from` in good_request by `to`. */
static const char *variant(const char *from, const char *to)
{
    static char out[2048];
    const char *at = strstr(good_request, from);
    assert_non_null(at);
    snprintf(out, sizeof out, "%.*s%s%s", (int)(at - good_request), good_request, to,
             at + strlen(from));
    return out;
}

static void rfc_accept_value(void **state)
{
    (void)state;
    char acc[BACSC_WS_ACCEPT_LEN + 1];
    assert_int_equal(bacsc_ws_accept_value(RFC_KEY, acc), BACSC_OK);
    assert_string_equal(acc, RFC_ACCEPT);
    char key[BACSC_WS_KEY_LEN + 1];
    assert_int_equal(bacsc_ws_make_key((const uint8_t *)"the sample nonce", key), BACSC_OK);
    assert_string_equal(key, RFC_KEY);
}

static void good_request_parses(void **state)
{
    (void)state;
    bacsc_http_parser p;
    assert_int_equal(parse_request(good_request, BACSC_WS_PROTO_HUB, &p), BACSC_HTTP_DONE);
    assert_string_equal(p.path, "/hub");
    assert_string_equal(p.host, "127.0.0.1:4443");
    assert_string_equal(p.ws_key, RFC_KEY);
    assert_int_equal(p.protocol, BACSC_WS_PROTO_HUB);
    assert_string_equal(bacsc_http_header(&p, "SEC-websocket-VERSION"), "13");
    assert_null(bacsc_http_header(&p, "X-Missing"));
    char resp[512];
    int n = bacsc_http_build_101(resp, sizeof resp, &p);
    assert_true(n > 0);
    assert_non_null(strstr(resp, "HTTP/1.1 101 Switching Protocols\r\n"));
    assert_non_null(strstr(resp, "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"));
    assert_non_null(strstr(resp, "Sec-WebSocket-Protocol: hub.bsc.bacnet.org\r\n"));
    assert_int_equal(bacsc_http_build_101(resp, 20, &p), BACSC_ERR_BUFFER_TOO_SMALL);
}

static void one_byte_at_a_time(void **state)
{
    (void)state;
    bacsc_http_parser p;
    assert_int_equal(bacsc_http_parser_init_request(&p, hbuf, sizeof hbuf, 0, BACSC_WS_PROTO_HUB),
                     BACSC_OK);
    size_t n = strlen(good_request);
    for (size_t i = 0; i < n; i++) {
        size_t used = 0;
        int rc = bacsc_http_feed(&p, (const uint8_t *)good_request + i, 1, &used);
        assert_int_equal(used, 1);
        assert_int_equal(rc, i + 1 == n ? BACSC_HTTP_DONE : BACSC_HTTP_NEED_MORE);
    }
    assert_string_equal(p.ws_key, RFC_KEY);
}

static void trailing_frames_not_consumed(void **state)
{
    (void)state;
    bacsc_http_parser p;
    char text[1024];
    snprintf(text, sizeof text, "%s\x82\x01X", good_request);
    assert_int_equal(bacsc_http_parser_init_request(&p, hbuf, sizeof hbuf, 0, BACSC_WS_PROTO_HUB),
                     BACSC_OK);
    size_t used = 0;
    assert_int_equal(bacsc_http_feed(&p, (const uint8_t *)text, strlen(text), &used),
                     BACSC_HTTP_DONE);
    assert_int_equal(used, strlen(good_request));
    /* Done is sticky and consumes nothing. */
    assert_int_equal(bacsc_http_feed(&p, (const uint8_t *)"x", 1, &used), BACSC_HTTP_DONE);
    assert_int_equal(used, 0);
}

static void subprotocol_selection(void **state)
{
    (void)state;
    bacsc_http_parser p;
    /* A direct-connect server refuses a hub-only offer. */
    assert_int_equal(parse_request(good_request, BACSC_WS_PROTO_DC, &p), BACSC_ERR_PROTOCOL);
    assert_int_equal(p.http_status, 400);
    assert_int_equal(p.error_code, BACSC_EC_HTTP_WEBSOCKET_HEADER_ERROR);
    /* Both offered in two header lines: the server's role decides. */
    const char *both = variant("Sec-WebSocket-Protocol: foo, hub.bsc.bacnet.org\r\n",
                               "Sec-WebSocket-Protocol: dc.bsc.bacnet.org\r\n"
                               "Sec-WebSocket-Protocol: hub.bsc.bacnet.org\r\n");
    assert_int_equal(parse_request(both, BACSC_WS_PROTO_DC, &p), BACSC_HTTP_DONE);
    assert_int_equal(p.protocol, BACSC_WS_PROTO_DC);
    assert_int_equal(parse_request(both, BACSC_WS_PROTO_HUB | BACSC_WS_PROTO_DC, &p), BACSC_HTTP_DONE);
    assert_int_equal(p.protocol, BACSC_WS_PROTO_HUB);
    /* Missing and wrong subprotocols are refused. */
    assert_int_equal(parse_request(variant("Sec-WebSocket-Protocol: foo, hub.bsc.bacnet.org\r\n", ""),
                                   BACSC_WS_PROTO_HUB, &p),
                     BACSC_ERR_PROTOCOL);
    assert_int_equal(p.error_code, BACSC_EC_HTTP_WEBSOCKET_HEADER_ERROR);
    assert_int_equal(parse_request(variant("hub.bsc.bacnet.org", "hub.bsc.bacnet.org.evil"),
                                   BACSC_WS_PROTO_HUB, &p),
                     BACSC_ERR_PROTOCOL);
    assert_int_equal(parse_request(variant("hub.bsc.bacnet.org", "HUB.BSC.BACNET.ORG"),
                                   BACSC_WS_PROTO_HUB, &p),
                     BACSC_HTTP_DONE); /* tokens compare case-insensitively */
}

struct bad_case {
    const char *from, *to;
    int rc;
    int http_status;
    unsigned error_code;
};

static void request_violations(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"GET /hub", "POST /hub", BACSC_ERR_PROTOCOL, 405, 165},
        {"HTTP/1.1\r\nHost", "HTTP/1.0\r\nHost", BACSC_ERR_PROTOCOL, 505, 165},
        {"GET /hub HTTP", "GET  /hub HTTP", BACSC_ERR_MALFORMED, 400, 157},
        {"GET /hub", "GET hub", BACSC_ERR_MALFORMED, 400, 157},
        {"Host: 127.0.0.1:4443\r\n", "", BACSC_ERR_MALFORMED, 400, 159},
        {"Host: 127.0.0.1:4443\r\n", "Host: a\r\nHost: b\r\n", BACSC_ERR_MALFORMED, 400, 159},
        {"Upgrade: websocket\r\n", "", BACSC_ERR_PROTOCOL, 426, 153},
        {"Upgrade: websocket", "Upgrade: h2c", BACSC_ERR_PROTOCOL, 426, 153},
        {"Connection: keep-alive, Upgrade", "Connection: keep-alive", BACSC_ERR_PROTOCOL, 426, 153},
        {"Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8", BACSC_ERR_PROTOCOL, 426, 161},
        {"Sec-WebSocket-Version: 13\r\n", "", BACSC_ERR_PROTOCOL, 426, 161},
        {"Sec-WebSocket-Key: " RFC_KEY, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=", BACSC_ERR_PROTOCOL, 400, 160},
        {"Sec-WebSocket-Key: " RFC_KEY, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==", BACSC_ERR_PROTOCOL, 400, 160},
        {"Sec-WebSocket-Key: " RFC_KEY, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub2!jZQ==", BACSC_ERR_PROTOCOL, 400, 160},
        {"Sec-WebSocket-Key: " RFC_KEY "\r\n", "", BACSC_ERR_PROTOCOL, 400, 160},
        {"Sec-WebSocket-Key: " RFC_KEY "\r\n",
         "Sec-WebSocket-Key: " RFC_KEY "\r\nSec-WebSocket-Key: " RFC_KEY "\r\n", BACSC_ERR_PROTOCOL, 400, 160},
        {"Host:", "Host :", BACSC_ERR_MALFORMED, 400, 157},
        {"Host:", "Ho(st:", BACSC_ERR_MALFORMED, 400, 157},
        {"Upgrade: websocket\r\n", "Upgrade: websocket\r\n continued\r\n", BACSC_ERR_MALFORMED, 400, 157},
        {"Upgrade: websocket\r\n", "Upgrade: web\x01socket\r\n", BACSC_ERR_MALFORMED, 400, 157},
        {"Upgrade: websocket\r\n", "Upgrade: websocket\n", BACSC_ERR_MALFORMED, 400, 157},
        {"Upgrade: websocket\r\n", "Upgrade: websocket\rX: y\r\n", BACSC_ERR_MALFORMED, 400, 157},
        {"Upgrade: websocket\r\n", "Content-Length: 5\r\nUpgrade: websocket\r\n", BACSC_ERR_PROTOCOL, 400, 162},
        {"Upgrade: websocket\r\n", "Transfer-Encoding: chunked\r\nUpgrade: websocket\r\n", BACSC_ERR_PROTOCOL, 400, 162},
        {"hub.bsc.bacnet.org", "hub.bsc.bacnet.org bad", BACSC_ERR_MALFORMED, 400, 160},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bacsc_http_parser p;
        int rc = parse_request(variant(cases[i].from, cases[i].to), BACSC_WS_PROTO_HUB, &p);
        if (rc != cases[i].rc || p.http_status != cases[i].http_status ||
            p.error_code != cases[i].error_code)
            fail_msg("case %zu (%s → %s): rc %d status %d code %u (%s)", i, cases[i].from,
                     cases[i].to, rc, p.http_status, p.error_code, p.error_text);
        assert_non_null(p.error_text);
        /* Failure is sticky. */
        size_t used = 1;
        assert_int_equal(bacsc_http_feed(&p, (const uint8_t *)"x", 1, &used), rc);
        assert_int_equal(used, 0);
    }
}

static void header_limits(void **state)
{
    (void)state;
    bacsc_http_parser p;
    char small[128];
    assert_int_equal(bacsc_http_parser_init_request(&p, small, sizeof small, 0, BACSC_WS_PROTO_HUB),
                     BACSC_OK);
    size_t used;
    assert_int_equal(bacsc_http_feed(&p, (const uint8_t *)good_request, strlen(good_request), &used),
                     BACSC_ERR_LIMIT);
    assert_int_equal(p.http_status, 431);
    /* Too many header lines. */
    char many[4096];
    size_t n = (size_t)snprintf(many, sizeof many, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "X-%d: y\r\n", i);
    snprintf(many + n, sizeof many - n, "\r\n");
    assert_int_equal(parse_request(many, BACSC_WS_PROTO_HUB, &p), BACSC_ERR_LIMIT);
    assert_int_equal(p.http_status, 431);
    /* Empty start line. */
    assert_int_equal(parse_request("\r\n\r\n", BACSC_WS_PROTO_HUB, &p), BACSC_ERR_MALFORMED);
    /* Bad init arguments. */
    assert_int_equal(bacsc_http_parser_init_request(&p, small, 10, 0, BACSC_WS_PROTO_HUB),
                     BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_http_parser_init_request(&p, small, sizeof small, 0, 0),
                     BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_http_parser_init_response(&p, small, sizeof small, 0, "short",
                                                     BACSC_WS_PROTO_HUB),
                     BACSC_ERR_INVALID_ARG);
}

static int parse_response(const char *text, bacsc_http_parser *p)
{
    assert_int_equal(bacsc_http_parser_init_response(p, hbuf, sizeof hbuf, 0, RFC_KEY,
                                                     BACSC_WS_PROTO_HUB),
                     BACSC_OK);
    size_t used = 0;
    return bacsc_http_feed(p, (const uint8_t *)text, strlen(text), &used);
}

static void response_parsing(void **state)
{
    (void)state;
    bacsc_http_parser p;
    static const char ok[] = "HTTP/1.1 101 Switching Protocols\r\n"
                             "upgrade: WebSocket\r\n"
                             "connection: upgrade\r\n"
                             "sec-websocket-accept: " RFC_ACCEPT "\r\n"
                             "sec-websocket-protocol: hub.bsc.bacnet.org\r\n"
                             "\r\n";
    assert_int_equal(parse_response(ok, &p), BACSC_HTTP_DONE);
    assert_int_equal(p.status, 101);
    assert_int_equal(p.protocol, BACSC_WS_PROTO_HUB);

    struct {
        const char *text;
        int rc;
        unsigned code;
    } cases[] = {
        {"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n\r\n", BACSC_ERR_PROTOCOL, 161},
        {"HTTP/1.1 503 Busy\r\n\r\n", BACSC_ERR_PROTOCOL, 163},
        {"HTTP/1.1 301 Moved\r\nLocation: x\r\n\r\n", BACSC_ERR_PROTOCOL, 154},
        {"HTTP/1.1 407 Proxy\r\n\r\n", BACSC_ERR_PROTOCOL, 155},
        {"HTTP/1.1 400 Bad Request\r\n\r\n", BACSC_ERR_PROTOCOL, 152},
        {"HTTP/1.1 500 Oops\r\n\r\n", BACSC_ERR_PROTOCOL, 165},
        {"HTTP/1.0 101 x\r\n\r\n", BACSC_ERR_MALFORMED, 157},
        {"HTTP/1.1 1O1 x\r\n\r\n", BACSC_ERR_MALFORMED, 157},
        {"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n"
         "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\nSec-WebSocket-Protocol: hub.bsc.bacnet.org\r\n\r\n",
         BACSC_ERR_PROTOCOL, 153},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
         "Sec-WebSocket-Protocol: hub.bsc.bacnet.org\r\n\r\n", BACSC_ERR_PROTOCOL, 159},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOA=\r\n"
         "Sec-WebSocket-Protocol: hub.bsc.bacnet.org\r\n\r\n", BACSC_ERR_PROTOCOL, 158},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
         "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n\r\n", BACSC_ERR_PROTOCOL, 160},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
         "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\nSec-WebSocket-Protocol: dc.bsc.bacnet.org\r\n\r\n",
         BACSC_ERR_PROTOCOL, 160},
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
         "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\nSec-WebSocket-Protocol: hub.bsc.bacnet.org\r\n"
         "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", BACSC_ERR_PROTOCOL, 160},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = parse_response(cases[i].text, &p);
        if (rc != cases[i].rc || p.error_code != cases[i].code)
            fail_msg("response case %zu: rc %d code %u (%s)", i, rc, p.error_code, p.error_text);
    }
}

static void builders(void **state)
{
    (void)state;
    char out[1024];
    int n = bacsc_http_build_request(out, sizeof out, "hub.example:4443", "/bsc", RFC_KEY,
                                     BACSC_WS_PROTO_DC);
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(out));
    /* Our own request must satisfy our own strict parser. */
    bacsc_http_parser p;
    assert_int_equal(parse_request(out, BACSC_WS_PROTO_HUB | BACSC_WS_PROTO_DC, &p), BACSC_HTTP_DONE);
    assert_int_equal(p.protocol, BACSC_WS_PROTO_DC);
    assert_string_equal(p.path, "/bsc");
    assert_int_equal(bacsc_http_build_request(out, sizeof out, "h\r\nX: y", "/", RFC_KEY,
                                              BACSC_WS_PROTO_HUB),
                     BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_http_build_request(out, sizeof out, "h", "/", RFC_KEY, 3),
                     BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_http_build_request(out, 30, "h", "/", RFC_KEY, BACSC_WS_PROTO_HUB),
                     BACSC_ERR_BUFFER_TOO_SMALL);
    n = bacsc_http_build_error(out, sizeof out, 426, NULL);
    assert_true(n > 0);
    assert_non_null(strstr(out, "HTTP/1.1 426 Upgrade Required\r\n"));
    assert_non_null(strstr(out, "Sec-WebSocket-Version: 13\r\n"));
    assert_non_null(strstr(out, "Connection: close\r\n"));
    n = bacsc_http_build_error(out, sizeof out, 404, "no such hub");
    assert_true(n > 0);
    assert_non_null(strstr(out, "HTTP/1.1 404 Not Found\r\n"));
    assert_null(strstr(out, "Sec-WebSocket-Version"));
    assert_non_null(strstr(out, "\r\n\r\nno such hub\n"));
    assert_int_equal(bacsc_http_build_error(out, sizeof out, 200, NULL), BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_http_build_error(out, sizeof out, 400, "a\nb"), BACSC_ERR_INVALID_ARG);
    /* The error response parses as such on the client side. */
    n = bacsc_http_build_error(out, sizeof out, 503, NULL);
    assert_int_equal(parse_response(out, &p), BACSC_ERR_PROTOCOL);
    assert_int_equal(p.status, 503);
    assert_int_equal(p.error_code, BACSC_EC_HTTP_TEMPORARY_UNAVAILABLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc_accept_value),
        cmocka_unit_test(good_request_parses),
        cmocka_unit_test(one_byte_at_a_time),
        cmocka_unit_test(trailing_frames_not_consumed),
        cmocka_unit_test(subprotocol_selection),
        cmocka_unit_test(request_violations),
        cmocka_unit_test(header_limits),
        cmocka_unit_test(response_parsing),
        cmocka_unit_test(builders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
