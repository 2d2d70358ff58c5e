/* hex.c — tolerant hex text decoding for tools and tests (see bacsc/hex.h). */
#include "bacsc/hex.h"

#include "bacsc/error.h"

int bacsc_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int is_separator(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
           c == ':' || c == '-' || c == ',' || c == '.';
}

int bacsc_hex_decode(const char *text, size_t len, uint8_t *out, size_t cap,
                     size_t *bad_offset)
{
    size_t n = 0, i = 0;
    if (!text && len)
        return BACSC_ERR_INVALID_ARG;
    while (i < len) {
        unsigned char c = (unsigned char)text[i];
        if (is_separator(c)) {
            i++;
            continue;
        }
        if (c == '0' && i + 1 < len && (text[i + 1] == 'x' || text[i + 1] == 'X')) {
            i += 2;
            continue;
        }
        int hi = bacsc_hex_digit(c);
        if (hi < 0) {
            if (bad_offset)
                *bad_offset = i;
            return BACSC_ERR_MALFORMED;
        }
        int lo = i + 1 < len ? bacsc_hex_digit((unsigned char)text[i + 1]) : -1;
        if (lo < 0) {
            if (bad_offset)
                *bad_offset = i + 1;
            return BACSC_ERR_MALFORMED;
        }
        if (n >= cap)
            return BACSC_ERR_BUFFER_TOO_SMALL;
        out[n++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    return n > (size_t)0x7FFFFFFF ? BACSC_ERR_BUFFER_TOO_SMALL : (int)n;
}

char *bacsc_hex_encode(const uint8_t *data, size_t len, char *buf)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        buf[2 * i] = d[data[i] >> 4];
        buf[2 * i + 1] = d[data[i] & 15];
    }
    buf[2 * len] = '\0';
    return buf;
}
