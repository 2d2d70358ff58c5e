/*
 * random.c — the random source of the I/O layer (bacsc/loop.h): VMACs,
 * UUIDs, jitter and message IDs for the sans-I/O core come from here.
 */
#include <openssl/rand.h>

#include "bacsc/loop.h"

int bacsc_io_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}
