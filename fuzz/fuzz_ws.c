/*
 * fuzz_ws.c — WebSocket frame decoder and reassembly over arbitrary bytes.
 *
 * Input: first octet selects the role (bit 0: server), the message limit
 * (bits 1..3) and how the stream is cut into pieces (bits 4..7: piece size);
 * the rest is the byte stream. The harness owns a growing reassembly buffer
 * like wsconn does and checks the decoder's invariants: consumption never
 * exceeds the input, messages never exceed the limit, after a failure the
 * decoder stays failed with a sendable close code and a 166..179 error.
 * A second pass feeds the whole stream at once and must produce the same
 * messages.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/ws.h"

struct result {
    size_t nmsg;
    size_t total;
    uint32_t hash;
    int final;
};

static void run(const uint8_t *data, size_t size, bool server, size_t max, size_t piece,
                struct result *res)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return;
    memcpy(copy, data, size);
    bacsc_ws_decoder d;
    bacsc_ws_decoder_init(&d, server, max);
    uint8_t *buf = NULL;
    size_t cap = 0;
    memset(res, 0, sizeof *res);
    res->hash = 2166136261u;
    size_t off = 0;
    while (off < size && !d.failed) {
        size_t n = size - off < piece ? size - off : piece;
        uint8_t *p = copy + off;
        size_t left = n;
        for (;;) {
            size_t used = 0;
            bacsc_ws_event ev;
            int rc = bacsc_ws_decode(&d, p, left, &used, &ev);
            if (used > left)
                abort();
            p += used;
            left -= used;
            if (rc < 0) {
                if (!d.failed || !bacsc_ws_close_code_valid(d.close_code) || d.error_code < 166 ||
                    d.error_code > 179 || !d.error_text)
                    abort();
                res->final = rc;
                break;
            }
            if (rc == BACSC_WS_EV_NEED_BUFFER) {
                if (ev.need > max || ev.need < d.msg_len)
                    abort();
                uint8_t *nb = realloc(buf, ev.need);
                if (!nb)
                    abort();
                buf = nb;
                cap = ev.need;
                if (bacsc_ws_set_buffer(&d, buf, cap) != BACSC_OK)
                    abort();
                continue;
            }
            if (rc == BACSC_WS_EV_MESSAGE) {
                if (ev.len > max)
                    abort();
                res->nmsg++;
                res->total += ev.len;
                for (size_t i = 0; i < ev.len; i++)
                    res->hash = (res->hash ^ ev.data[i]) * 16777619u;
            }
            if ((rc == BACSC_WS_EV_PING || rc == BACSC_WS_EV_PONG) && ev.len > 125)
                abort();
            if (rc == BACSC_WS_EV_NONE) {
                if (left != 0)
                    abort();
                break;
            }
        }
        off += n;
    }
    free(buf);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    bool server = sel & 1;
    static const size_t maxes[8] = {1, 10, 125, 126, 200, 1000, 65535, 70000};
    size_t max = maxes[(sel >> 1) & 7];
    size_t piece = (size_t)(sel >> 4) + 1;
    struct result a, b;
    run(data + 1, size - 1, server, max, piece, &a);
    run(data + 1, size - 1, server, max, size, &b);
    if (a.nmsg != b.nmsg || a.total != b.total || a.hash != b.hash || a.final != b.final)
        abort(); /* splitting the stream must not change what is decoded */
    return 0;
}
