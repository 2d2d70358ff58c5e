/* test_ws.c — WebSocket frame decoder/encoder against RFC 6455 examples and rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bacsc/error.h"
#include "bacsc/ws.h"

static const uint8_t rfc_mask[4] = {0x37, 0xfa, 0x21, 0x3d};
/* RFC 6455 5.7: "A single-frame masked text message" ("Hello"). */
static const uint8_t rfc_masked_text[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
/* "A single-frame unmasked text message". */
static const uint8_t rfc_unmasked_text[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
/* "Unmasked Ping request and masked Ping response". */
static const uint8_t rfc_ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
static const uint8_t rfc_masked_pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};

static uint8_t rbuf[1 << 17];

/* Decode everything in `in`, collecting messages; returns the last status. */
struct collected {
    int nmsg;
    size_t lens[16];
    uint8_t data[4096];
    size_t used;
    int events[32];
    int nev;
    uint16_t close_code;
};

static int decode_all(bacsc_ws_decoder *d, uint8_t *in, size_t len, struct collected *c)
{
    int rc = 0;
    while (len > 0 || rc == BACSC_WS_EV_NEED_BUFFER) {
        size_t used = 0;
        bacsc_ws_event ev;
        rc = bacsc_ws_decode(d, in, len, &used, &ev);
        assert_true(used <= len);
        in += used;
        len -= used;
        if (rc < 0)
            return rc;
        if (c->nev < 32)
            c->events[c->nev++] = rc;
        if (rc == BACSC_WS_EV_NEED_BUFFER) {
            assert_true(ev.need <= sizeof rbuf);
            assert_int_equal(bacsc_ws_set_buffer(d, rbuf, ev.need), BACSC_OK);
            continue;
        }
        if (rc == BACSC_WS_EV_MESSAGE || rc == BACSC_WS_EV_PING || rc == BACSC_WS_EV_PONG) {
            assert_true(c->used + ev.len <= sizeof c->data);
            if (ev.len)
                memcpy(c->data + c->used, ev.data, ev.len);
            c->used += ev.len;
            if (rc == BACSC_WS_EV_MESSAGE && c->nmsg < 16)
                c->lens[c->nmsg++] = ev.len;
        }
        if (rc == BACSC_WS_EV_CLOSE)
            c->close_code = ev.close_code;
        if (rc == BACSC_WS_EV_NONE)
            break;
    }
    return rc;
}

static int decode_bytes(bool server, size_t max, const uint8_t *bytes, size_t n, bacsc_ws_decoder *d,
                        struct collected *c)
{
    static uint8_t copy[1 << 17];
    assert_true(n <= sizeof copy);
    memcpy(copy, bytes, n);
    bacsc_ws_decoder_init(d, server, max);
    memset(c, 0, sizeof *c);
    return decode_all(d, copy, n, c);
}

static void rfc_masked_hello(void **state)
{
    (void)state;
    /* The RFC's masked text frame, sent as binary (BACnet/SC) by flipping the opcode. */
    uint8_t f[sizeof rfc_masked_text];
    memcpy(f, rfc_masked_text, sizeof f);
    f[0] = 0x82;
    bacsc_ws_decoder d;
    struct collected c;
    assert_int_equal(decode_bytes(true, 0, f, sizeof f, &d, &c), BACSC_WS_EV_MESSAGE);
    assert_int_equal(c.nmsg, 1);
    assert_memory_equal(c.data, "Hello", 5);
    /* The encoder reproduces the RFC bytes exactly. */
    uint8_t out[32];
    int n = bacsc_ws_encode_frame(out, sizeof out, BACSC_WS_OP_TEXT, true, (const uint8_t *)"Hello",
                                  5, rfc_mask);
    assert_int_equal(n, sizeof rfc_masked_text);
    assert_memory_equal(out, rfc_masked_text, sizeof rfc_masked_text);
    n = bacsc_ws_encode_frame(out, sizeof out, BACSC_WS_OP_TEXT, true, (const uint8_t *)"Hello", 5,
                              NULL);
    assert_memory_equal(out, rfc_unmasked_text, sizeof rfc_unmasked_text);
    n = bacsc_ws_encode_frame(out, sizeof out, BACSC_WS_OP_PONG, true, (const uint8_t *)"Hello", 5,
                              rfc_mask);
    assert_memory_equal(out, rfc_masked_pong, sizeof rfc_masked_pong);
    assert_int_equal(bacsc_ws_encode_frame(out, 6, BACSC_WS_OP_BINARY, true,
                                           (const uint8_t *)"Hello", 5, NULL),
                     BACSC_ERR_BUFFER_TOO_SMALL);
}

static void text_frames_refused(void **state)
{
    (void)state;
    bacsc_ws_decoder d;
    struct collected c;
    assert_int_equal(decode_bytes(true, 0, rfc_masked_text, sizeof rfc_masked_text, &d, &c),
                     BACSC_ERR_PROTOCOL);
    assert_int_equal(d.close_code, BACSC_WS_CLOSE_UNSUPPORTED_DATA);
    assert_int_equal(d.error_code, BACSC_EC_WS_DATA_NOT_ACCEPTED);
    assert_int_equal(decode_bytes(false, 0, rfc_unmasked_text, sizeof rfc_unmasked_text, &d, &c),
                     BACSC_ERR_PROTOCOL);
    assert_int_equal(d.close_code, 1003);
    /* Failure is sticky. */
    size_t used = 7;
    bacsc_ws_event ev;
    uint8_t b[2] = {0x82, 0x00};
    assert_int_equal(bacsc_ws_decode(&d, b, 2, &used, &ev), BACSC_ERR_PROTOCOL);
    assert_int_equal(used, 0);
}

static void ping_and_pong(void **state)
{
    (void)state;
    bacsc_ws_decoder d;
    struct collected c;
    assert_int_equal(decode_bytes(false, 0, rfc_ping, sizeof rfc_ping, &d, &c), BACSC_WS_EV_PING);
    assert_memory_equal(c.data, "Hello", 5);
    assert_int_equal(decode_bytes(true, 0, rfc_masked_pong, sizeof rfc_masked_pong, &d, &c),
                     BACSC_WS_EV_PONG);
    assert_memory_equal(c.data, "Hello", 5);
}

static void fragmented_with_interleaved_ping(void **state)
{
    (void)state;
    /* RFC 5.7 fragmented "Hel" + "lo" (as binary), with a ping between. */
    const uint8_t f[] = {0x02, 0x03, 0x48, 0x65, 0x6c, 0x89, 0x01, 0x21, 0x80, 0x02, 0x6c, 0x6f,
                         0x82, 0x02, 0x4f, 0x4b};
    bacsc_ws_decoder d;
    struct collected c;
    assert_int_equal(decode_bytes(false, 0, f, sizeof f, &d, &c), BACSC_WS_EV_MESSAGE);
    assert_int_equal(c.nmsg, 2);
    assert_int_equal(c.lens[0], 5);
    assert_int_equal(c.lens[1], 2);
    assert_memory_equal(c.data, "!" "Hello" "OK", 8); /* the ping is reported before the message completes */
    assert_int_equal(c.events[0], BACSC_WS_EV_NEED_BUFFER);
    assert_int_equal(c.events[1], BACSC_WS_EV_PING);
    assert_int_equal(c.events[2], BACSC_WS_EV_NEED_BUFFER); /* the next fragment needs 5 */
    assert_int_equal(c.events[3], BACSC_WS_EV_MESSAGE);
    assert_int_equal(c.events[4], BACSC_WS_EV_MESSAGE);   /* "OK": zero copy */
    assert_false(d.in_message);
}

static void lengths_16_and_64(void **state)
{
    (void)state;
    /* RFC: 256 bytes → 0x7E 0x0100; 64 KiB → 0x7F 0x0000000000010000. */
    uint8_t h[16];
    assert_int_equal(bacsc_ws_encode_header(h, sizeof h, BACSC_WS_OP_BINARY, true, 256, NULL), 4);
    assert_memory_equal(h, "\x82\x7e\x01\x00", 4);
    assert_int_equal(bacsc_ws_encode_header(h, sizeof h, BACSC_WS_OP_BINARY, true, 65536, NULL), 10);
    assert_memory_equal(h, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    assert_int_equal(bacsc_ws_header_size(125, false), 2);
    assert_int_equal(bacsc_ws_header_size(126, true), 8);
    assert_int_equal(bacsc_ws_header_size(65535, false), 4);
    assert_int_equal(bacsc_ws_header_size(65536, true), 14);

    static uint8_t frame[70000];
    static uint8_t payload[65536];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7);
    size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int n = bacsc_ws_encode_frame(frame, sizeof frame, BACSC_WS_OP_BINARY, true, payload,
                                      sizes[k], rfc_mask);
        assert_true(n > 0);
        bacsc_ws_decoder d;
        bacsc_ws_decoder_init(&d, true, 65536);
        size_t used;
        bacsc_ws_event ev;
        assert_int_equal(bacsc_ws_decode(&d, frame, (size_t)n, &used, &ev), BACSC_WS_EV_MESSAGE);
        assert_int_equal(used, n);
        assert_int_equal(ev.len, sizes[k]);
        if (sizes[k])
            assert_memory_equal(ev.data, payload, sizes[k]);
    }
}

struct bad {
    const char *name;
    bool server;
    const uint8_t *bytes;
    size_t len;
    int rc;
    uint16_t close_code;
    uint16_t error_code;
};

#define B(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

static void violations(void **state)
{
    (void)state;
    const struct bad cases[] = {
        {"16-bit length < 126", false, B(0x82, 0x7e, 0x00, 0x05, 1, 2, 3, 4, 5), BACSC_ERR_PROTOCOL, 1002, 171},
        {"64-bit length < 65536", false, B(0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff), BACSC_ERR_PROTOCOL, 1002, 171},
        {"64-bit length top bit", false, B(0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0), BACSC_ERR_PROTOCOL, 1002, 171},
        {"ping over 125", false, B(0x89, 0x7e, 0x00, 0x7e), BACSC_ERR_PROTOCOL, 1002, 171},
        {"fragmented ping", false, B(0x09, 0x00), BACSC_ERR_PROTOCOL, 1002, 171},
        {"fragmented close", false, B(0x08, 0x00), BACSC_ERR_PROTOCOL, 1002, 171},
        {"close 1-octet payload", false, B(0x88, 0x01, 0x03), BACSC_ERR_PROTOCOL, 1002, 171},
        {"close code 1005", false, B(0x88, 0x02, 0x03, 0xed), BACSC_ERR_PROTOCOL, 1002, 171},
        {"close code 999", false, B(0x88, 0x02, 0x03, 0xe7), BACSC_ERR_PROTOCOL, 1002, 171},
        {"close reason not UTF-8", false, B(0x88, 0x04, 0x03, 0xe8, 0xc3, 0x28), BACSC_ERR_PROTOCOL, 1007, 174},
        {"RSV1", false, B(0xc2, 0x00), BACSC_ERR_PROTOCOL, 1002, 171},
        {"RSV3", false, B(0x92, 0x00), BACSC_ERR_PROTOCOL, 1002, 171},
        {"reserved data opcode", false, B(0x83, 0x00), BACSC_ERR_PROTOCOL, 1002, 171},
        {"reserved control opcode", false, B(0x8b, 0x00), BACSC_ERR_PROTOCOL, 1002, 167},
        {"continuation first", false, B(0x80, 0x01, 0x41), BACSC_ERR_PROTOCOL, 1002, 171},
        {"binary inside fragmented", false, B(0x02, 0x01, 0x41, 0x82, 0x01, 0x42), BACSC_ERR_PROTOCOL, 1002, 171},
        {"text continuation", false, B(0x02, 0x01, 0x41, 0x81, 0x01, 0x42), BACSC_ERR_PROTOCOL, 1003, 172},
        {"server gets unmasked", true, B(0x82, 0x01, 0x41), BACSC_ERR_PROTOCOL, 1002, 171},
        {"client gets masked", false, B(0x82, 0x81, 1, 2, 3, 4, 0x41), BACSC_ERR_PROTOCOL, 1002, 171},
        {"frame after close", false, B(0x88, 0x02, 0x03, 0xe8, 0x82, 0x00), BACSC_ERR_PROTOCOL, 1002, 171},
        {"too big single", false, B(0x82, 0x7e, 0x01, 0x00), BACSC_ERR_LIMIT, 1009, 176},
        {"too big 64-bit", false, B(0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), BACSC_ERR_LIMIT, 1009, 176},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bacsc_ws_decoder d;
        struct collected c;
        int rc = decode_bytes(cases[i].server, 200, cases[i].bytes, cases[i].len, &d, &c);
        if (rc != cases[i].rc || d.close_code != cases[i].close_code ||
            d.error_code != cases[i].error_code)
            fail_msg("%s: rc %d close %u error %u (%s)", cases[i].name, rc, d.close_code,
                     d.error_code, d.error_text ? d.error_text : "-");
        assert_non_null(d.error_text);
    }
}

static void fragmented_oversize(void **state)
{
    (void)state;
    /* 3 fragments of 50 with a limit of 120: the third is refused. */
    uint8_t f[3 * 52];
    uint8_t fifty[50];
    memset(fifty, 'x', sizeof fifty);
    size_t n = 0;
    n += (size_t)bacsc_ws_encode_frame(f + n, sizeof f - n, BACSC_WS_OP_BINARY, false, fifty, 50, NULL);
    n += (size_t)bacsc_ws_encode_frame(f + n, sizeof f - n, BACSC_WS_OP_CONT, false, fifty, 50, NULL);
    n += (size_t)bacsc_ws_encode_frame(f + n, sizeof f - n, BACSC_WS_OP_CONT, true, fifty, 50, NULL);
    bacsc_ws_decoder d;
    struct collected c;
    assert_int_equal(decode_bytes(false, 120, f, n, &d, &c), BACSC_ERR_LIMIT);
    assert_int_equal(d.close_code, 1009);
    assert_int_equal(d.error_code, BACSC_EC_WS_FRAME_TOO_LONG);
    assert_int_equal(c.nmsg, 0);
    /* Exactly at the limit is fine. */
    assert_int_equal(decode_bytes(false, 150, f, n, &d, &c), BACSC_WS_EV_MESSAGE);
    assert_int_equal(c.lens[0], 150);
}

static void close_frames(void **state)
{
    (void)state;
    uint8_t f[140];
    int n = bacsc_ws_encode_close(f, sizeof f, 1001, "going away", rfc_mask);
    assert_int_equal(n, 2 + 4 + 2 + 10);
    bacsc_ws_decoder d;
    bacsc_ws_decoder_init(&d, true, 0);
    size_t used;
    bacsc_ws_event ev;
    assert_int_equal(bacsc_ws_decode(&d, f, (size_t)n, &used, &ev), BACSC_WS_EV_CLOSE);
    assert_int_equal(ev.close_code, 1001);
    assert_int_equal(ev.len, 10);
    assert_memory_equal(ev.data, "going away", 10);
    assert_true(d.close_received);
    /* Empty close → 1005 reported, never sent. */
    n = bacsc_ws_encode_close(f, sizeof f, 0, NULL, NULL);
    assert_int_equal(n, 2);
    bacsc_ws_decoder_init(&d, false, 0);
    assert_int_equal(bacsc_ws_decode(&d, f, (size_t)n, &used, &ev), BACSC_WS_EV_CLOSE);
    assert_int_equal(ev.close_code, BACSC_WS_CLOSE_NO_STATUS);
    assert_int_equal(bacsc_ws_encode_close(f, sizeof f, 1005, NULL, NULL), BACSC_ERR_INVALID_ARG);
    /* A long reason is cut at a character boundary to fit 125 octets. */
    char reason[300];
    for (int i = 0; i < 100; i++)
        memcpy(reason + 2 * i, "\xc3\xa9", 2); /* é */
    reason[200] = '\0';
    n = bacsc_ws_encode_close(f, sizeof f, 1000, reason, NULL);
    assert_true(n > 0 && n <= 127);
    bacsc_ws_decoder_init(&d, false, 0);
    assert_int_equal(bacsc_ws_decode(&d, f, (size_t)n, &used, &ev), BACSC_WS_EV_CLOSE);
    assert_int_equal(ev.len % 2, 0);
    /* Control frame encoding limits. */
    uint8_t big[126] = {0};
    assert_int_equal(bacsc_ws_encode_frame(f, sizeof f, BACSC_WS_OP_PING, true, big, 126, NULL),
                     BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_ws_encode_frame(f, sizeof f, BACSC_WS_OP_PING, false, big, 1, NULL),
                     BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_ws_encode_header(f, sizeof f, 3, true, 0, NULL), BACSC_ERR_INVALID_ARG);
}

static void byte_at_a_time_equals_whole(void **state)
{
    (void)state;
    /* A stream of masked frames: small, fragmented, with pings, a 300-octet one. */
    static uint8_t stream[4096];
    uint8_t p300[300];
    for (int i = 0; i < 300; i++)
        p300[i] = (uint8_t)(i ^ 0x5a);
    size_t n = 0;
    uint8_t m[4] = {1, 2, 3, 4};
    n += (size_t)bacsc_ws_encode_frame(stream + n, sizeof stream - n, BACSC_WS_OP_BINARY, true, (const uint8_t *)"abc", 3, m);
    n += (size_t)bacsc_ws_encode_frame(stream + n, sizeof stream - n, BACSC_WS_OP_BINARY, false, p300, 100, m);
    n += (size_t)bacsc_ws_encode_frame(stream + n, sizeof stream - n, BACSC_WS_OP_PING, true, (const uint8_t *)"pp", 2, m);
    n += (size_t)bacsc_ws_encode_frame(stream + n, sizeof stream - n, BACSC_WS_OP_CONT, false, p300 + 100, 0, m);
    n += (size_t)bacsc_ws_encode_frame(stream + n, sizeof stream - n, BACSC_WS_OP_CONT, true, p300 + 100, 200, m);
    n += (size_t)bacsc_ws_encode_frame(stream + n, sizeof stream - n, BACSC_WS_OP_BINARY, true, p300, 300, m);
    n += (size_t)bacsc_ws_encode_frame(stream + n, sizeof stream - n, BACSC_WS_OP_BINARY, true, NULL, 0, m);
    n += (size_t)bacsc_ws_encode_close(stream + n, sizeof stream - n, 1000, "bye", m);

    bacsc_ws_decoder d;
    struct collected whole, bytes;
    assert_int_equal(decode_bytes(true, 1000, stream, n, &d, &whole), BACSC_WS_EV_CLOSE);
    assert_int_equal(whole.nmsg, 4);
    assert_int_equal(whole.close_code, 1000);

    static uint8_t copy[4096];
    memcpy(copy, stream, n);
    bacsc_ws_decoder_init(&d, true, 1000);
    memset(&bytes, 0, sizeof bytes);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        rc = decode_all(&d, copy + i, 1, &bytes);
        assert_true(rc >= 0);
    }
    assert_int_equal(rc, BACSC_WS_EV_CLOSE);
    assert_int_equal(bytes.nmsg, whole.nmsg);
    for (int i = 0; i < whole.nmsg; i++)
        assert_int_equal(bytes.lens[i], whole.lens[i]);
    assert_int_equal(bytes.used, whole.used);
    assert_memory_equal(bytes.data, whole.data, whole.used);
    assert_int_equal(bytes.close_code, 1000);
    assert_int_equal(whole.lens[1], 300);
    assert_memory_equal(whole.data + 3, "pp", 2);  /* the ping arrives mid-message */
    assert_memory_equal(whole.data + 5, p300, 300); /* reassembled fragments */
}

static void mask_and_utf8(void **state)
{
    (void)state;
    uint8_t a[37], b[37];
    for (int i = 0; i < 37; i++)
        a[i] = b[i] = (uint8_t)i;
    /* Masking in two pieces with offsets equals masking at once. */
    bacsc_ws_mask(a, 37, rfc_mask, 0);
    bacsc_ws_mask(b, 5, rfc_mask, 0);
    bacsc_ws_mask(b + 5, 32, rfc_mask, 5);
    assert_memory_equal(a, b, 37);
    for (int i = 0; i < 37; i++)
        assert_int_equal(a[i], (uint8_t)(i ^ rfc_mask[i & 3]));
    assert_true(bacsc_utf8_valid((const uint8_t *)"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
    assert_false(bacsc_utf8_valid((const uint8_t *)"\xc0\xaf", 2));             /* overlong */
    assert_false(bacsc_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));         /* surrogate */
    assert_false(bacsc_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4));     /* > U+10FFFF */
    assert_false(bacsc_utf8_valid((const uint8_t *)"\xe2\x82", 2));             /* truncated */
    assert_false(bacsc_utf8_valid((const uint8_t *)"\xff", 1));
    assert_int_equal(bacsc_ws_close_to_error(1000), 169);
    assert_int_equal(bacsc_ws_close_to_error(1001), 170);
    assert_int_equal(bacsc_ws_close_to_error(1009), 176);
    assert_int_equal(bacsc_ws_close_to_error(1006), 173);
    assert_int_equal(bacsc_ws_close_to_error(4000), 179);
    assert_true(bacsc_ws_close_code_valid(1000));
    assert_true(bacsc_ws_close_code_valid(4999));
    assert_false(bacsc_ws_close_code_valid(1004));
    assert_false(bacsc_ws_close_code_valid(1006));
    assert_false(bacsc_ws_close_code_valid(1015));
    assert_false(bacsc_ws_close_code_valid(5000));
}

static void buffer_contract(void **state)
{
    (void)state;
    /* A partial frame asks for exactly its size; a too-small buffer is refused. */
    uint8_t f[16];
    int n = bacsc_ws_encode_frame(f, sizeof f, BACSC_WS_OP_BINARY, true, (const uint8_t *)"0123456789", 10, NULL);
    bacsc_ws_decoder d;
    bacsc_ws_decoder_init(&d, false, 0);
    size_t used;
    bacsc_ws_event ev;
    assert_int_equal(bacsc_ws_decode(&d, f, 5, &used, &ev), BACSC_WS_EV_NEED_BUFFER);
    assert_int_equal(ev.need, 10);
    assert_int_equal(used, 2);
    uint8_t buf[10];
    assert_int_equal(bacsc_ws_set_buffer(&d, buf, 10), BACSC_OK);
    assert_int_equal(bacsc_ws_decode(&d, f + 2, 3, &used, &ev), BACSC_WS_EV_NONE);
    assert_int_equal(used, 3);
    assert_int_equal(bacsc_ws_set_buffer(&d, buf, 2), BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_ws_decode(&d, f + 5, (size_t)n - 5, &used, &ev), BACSC_WS_EV_MESSAGE);
    assert_int_equal(ev.len, 10);
    assert_memory_equal(ev.data, "0123456789", 10);
    assert_ptr_equal(ev.data, buf);
    assert_int_equal(bacsc_ws_set_buffer(&d, NULL, 0), BACSC_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc_masked_hello),
        cmocka_unit_test(text_frames_refused),
        cmocka_unit_test(ping_and_pong),
        cmocka_unit_test(fragmented_with_interleaved_ping),
        cmocka_unit_test(lengths_16_and_64),
        cmocka_unit_test(violations),
        cmocka_unit_test(fragmented_oversize),
        cmocka_unit_test(close_frames),
        cmocka_unit_test(byte_at_a_time_equals_whole),
        cmocka_unit_test(mask_and_utf8),
        cmocka_unit_test(buffer_contract),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
