/*
 * fuzz_bvlc.c — BVLC-SC decoder, encoder and hub rewrites on arbitrary input.
 *
 * For every input that decodes: re-encoding must reproduce the input octet
 * for octet (the encoding is canonical and the decoder keeps everything),
 * decoding that again must succeed, and both hub rewrites applied to a copy
 * with 6 octets of spare room must yield a message that decodes with the new
 * originating VMAC and the original function, options and payload.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/bvlc.h"
#include "bacsc/error.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

static void check_rewrite(const uint8_t *data, size_t size, const bacsc_bvlc_msg *m, bool bcast)
{
    uint8_t *copy = malloc(size + 6);
    CHECK(copy);
    memcpy(copy, data, size);
    size_t len = size;
    static const bacsc_vmac orig = {{0x02, 0xF0, 0xE1, 0xD2, 0xC3, 0xB4}};
    int rc = bcast ? bacsc_bvlc_rewrite_broadcast(copy, &len, size + 6, &orig)
                   : bacsc_bvlc_rewrite_unicast(copy, &len, size + 6, &orig);
    CHECK(rc == BACSC_OK);
    bacsc_bvlc_msg r;
    CHECK(bacsc_bvlc_decode(copy, len, &r, NULL) == BACSC_OK);
    CHECK(r.has_orig && bacsc_vmac_equal(&r.orig, &orig));
    CHECK(r.function == m->function && r.message_id == m->message_id);
    CHECK(r.n_dest_options == m->n_dest_options && r.n_data_options == m->n_data_options);
    if (bcast) {
        CHECK(r.has_dest == m->has_dest);
        if (m->has_dest)
            CHECK(bacsc_vmac_equal(&r.dest, &m->dest));
    } else {
        CHECK(!r.has_dest);
    }
    CHECK(r.payload_len == m->payload_len && memcmp(r.payload, m->payload, m->payload_len) == 0);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bacsc_bvlc_msg m;
    bacsc_bvlc_error err;
    int rc = bacsc_bvlc_decode(data, size, &m, &err);
    if (rc != BACSC_OK) {
        CHECK(rc == BACSC_ERR_MALFORMED);
        CHECK(err.offset <= size && err.reason != NULL);
        CHECK(err.error_code == 143 || err.error_code == 145 || err.error_code == 147 ||
              err.error_code == 149 || err.error_code == 150);
        return 0;
    }
    int n = bacsc_bvlc_encoded_size(&m);
    CHECK(n >= 0 && (size_t)n == size);
    uint8_t *out = malloc(size ? size : 1);
    CHECK(out);
    CHECK(bacsc_bvlc_encode(&m, out, size) == n);
    CHECK(memcmp(out, data, size) == 0);
    bacsc_bvlc_msg again;
    CHECK(bacsc_bvlc_decode(out, size, &again, NULL) == BACSC_OK);
    CHECK(again.function == m.function && again.control == m.control &&
          again.not_understood_marker == m.not_understood_marker);
    free(out);
    check_rewrite(data, size, &m, false);
    check_rewrite(data, size, &m, true);
    return 0;
}
