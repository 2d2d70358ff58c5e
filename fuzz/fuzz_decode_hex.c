/*
 * fuzz_decode_hex.c — the tolerant hex-text parser behind `bacsc decode`.
 *
 * Arbitrary text in; the parser must stay inside its output buffer, report
 * an offset inside the text on error, and agree with itself when re-run on
 * its own canonical output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/hex.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cap = size / 2 + 1;
    uint8_t *out = malloc(cap);
    CHECK(out);
    size_t bad = (size_t)-1;
    int n = bacsc_hex_decode((const char *)data, size, out, cap, &bad);
    if (n < 0) {
        CHECK(n == BACSC_ERR_MALFORMED);
        CHECK(bad <= size);
    } else {
        CHECK((size_t)n <= cap);
        char *text = malloc(2 * (size_t)n + 1);
        CHECK(text);
        bacsc_hex_encode(out, (size_t)n, text);
        uint8_t *back = malloc((size_t)n + 1);
        CHECK(back);
        CHECK(bacsc_hex_decode(text, 2 * (size_t)n, back, (size_t)n, NULL) == n);
        CHECK(memcmp(back, out, (size_t)n) == 0);
        /* A buffer one octet short must be refused. */
        if (n > 0)
            CHECK(bacsc_hex_decode((const char *)data, size, back, (size_t)n - 1, NULL) ==
                  BACSC_ERR_BUFFER_TOO_SMALL);
        free(back);
        free(text);
    }
    free(out);
    return 0;
}
