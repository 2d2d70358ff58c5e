/*
 * addr_limit_internal.h — per-source-address admission state of a WebSocket
 * listener (wsconn.c): how many unauthenticated connections each address
 * holds and a token bucket of accepts per address.
 *
 * IPv4 addresses are keyed whole (an IPv4-mapped IPv6 address counts as its
 * IPv4 address); IPv6 addresses by their /64 prefix, so one host cannot
 * escape the limits by walking its own subnet. Entries exist while an address
 * holds a connection in the handshake or its bucket is not yet full again;
 * bacsc_addr_limit_sweep() drops the others. Private to src/io.
 */
#ifndef BACSC_IO_ADDR_LIMIT_INTERNAL_H
#define BACSC_IO_ADDR_LIMIT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct bacsc_addr_entry {
    struct bacsc_addr_entry *next; /* hash chain */
    uint8_t key[17];               /* family byte + 16 octets */
    unsigned handshaking;          /* accepted, not yet open */
    double tokens;                 /* accept bucket */
    uint64_t refilled;             /* µs of the last refill */
    uint64_t logged;               /* µs of the last refusal log line (0: never) */
    uint64_t refused_since_log;
    char text[48];                 /* "127.0.0.2" or "2001:db8:1:2::/64" */
} bacsc_addr_entry;

typedef struct bacsc_addr_limit bacsc_addr_limit;

bacsc_addr_limit *bacsc_addr_limit_new(void);
void bacsc_addr_limit_free(bacsc_addr_limit *t);

/* The entry of sa's address (created with a full bucket of `burst`); NULL
 * when out of memory or the family is not IPv4/IPv6. */
bacsc_addr_entry *bacsc_addr_limit_get(bacsc_addr_limit *t, const struct sockaddr *sa,
                                       double burst, uint64_t now);

/* Refill e's bucket at `rate` per second up to `burst` and take one token.
 * false: the bucket is empty (refuse). rate 0: always true. */
bool bacsc_addr_take(bacsc_addr_entry *e, double rate, double burst, uint64_t now);

/* Drop entries that hold no connection and whose bucket is full again.
 * Returns the number of entries left. */
size_t bacsc_addr_limit_sweep(bacsc_addr_limit *t, double rate, double burst, uint64_t now);

/* Count a refusal of e's address and log it (warn), at most one line per
 * address per 10 s; `handshaking`: the listener's unauthenticated
 * connections now. */
void bacsc_addr_log_refusal(bacsc_addr_entry *e, const char *why, unsigned handshaking,
                            uint64_t now);

/* Entries now. */
size_t bacsc_addr_limit_count(const bacsc_addr_limit *t);

#endif
