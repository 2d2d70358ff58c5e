/* uuid.c — Device UUIDs as text and back (see bacsc/uuid.h). */
#include "bacsc/uuid.h"

#include <string.h>

#include "bacsc/error.h"
#include "bacsc/hex.h"

static const char hexdig[] = "0123456789abcdef";

char *bacsc_uuid_format(const bacsc_uuid *u, char *buf)
{
    char *w = buf;
    for (int i = 0; i < BACSC_UUID_LEN; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *w++ = '-';
        *w++ = hexdig[u->b[i] >> 4];
        *w++ = hexdig[u->b[i] & 15];
    }
    *w = '\0';
    return buf;
}

int bacsc_uuid_parse(const char *s, bacsc_uuid *u)
{
    if (!s || !u)
        return BACSC_ERR_MALFORMED;
    if (strncmp(s, "urn:uuid:", 9) == 0)
        s += 9;
    if (strlen(s) != 36)
        return BACSC_ERR_MALFORMED;
    bacsc_uuid tmp;
    const char *p = s;
    for (int i = 0; i < BACSC_UUID_LEN; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            if (*p != '-')
                return BACSC_ERR_MALFORMED;
            p++;
        }
        int hi = bacsc_hex_digit((unsigned char)p[0]), lo = bacsc_hex_digit((unsigned char)p[1]);
        if (hi < 0 || lo < 0)
            return BACSC_ERR_MALFORMED;
        tmp.b[i] = (uint8_t)(hi << 4 | lo);
        p += 2;
    }
    *u = tmp;
    return BACSC_OK;
}
