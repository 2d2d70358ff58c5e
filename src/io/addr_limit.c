/* addr_limit.c — per-source-address admission state (addr_limit_internal.h). */
#include "addr_limit_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/log.h"

#define BUCKETS 4096

struct bacsc_addr_limit {
    bacsc_addr_entry *b[BUCKETS];
    size_t count;
};

bacsc_addr_limit *bacsc_addr_limit_new(void)
{
    return calloc(1, sizeof(bacsc_addr_limit));
}

void bacsc_addr_limit_free(bacsc_addr_limit *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < BUCKETS; i++) {
        for (bacsc_addr_entry *e = t->b[i], *n; e; e = n) {
            n = e->next;
            free(e);
        }
    }
    free(t);
}

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* key: family byte + address (IPv4: 4 octets; IPv6: the /64 prefix). */
static bool make_key(const struct sockaddr *sa, uint8_t key[17], char *text, size_t cap)
{
    memset(key, 0, 17);
    if (sa->sa_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        if (memcmp(a, v4mapped, 12) == 0) {
            key[0] = 4;
            memcpy(key + 1, a + 12, 4);
        } else {
            key[0] = 6;
            memcpy(key + 1, a, 8);
        }
    } else if (sa->sa_family == AF_INET) {
        key[0] = 4;
        memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else {
        return false;
    }
    char ip[INET6_ADDRSTRLEN] = "?";
    if (key[0] == 4) {
        inet_ntop(AF_INET, key + 1, ip, sizeof ip);
        snprintf(text, cap, "%s", ip);
    } else {
        uint8_t full[16] = {0};
        memcpy(full, key + 1, 8);
        inet_ntop(AF_INET6, full, ip, sizeof ip);
        snprintf(text, cap, "%s/64", ip);
    }
    return true;
}

static size_t hash(const uint8_t key[17])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 17; i++)
        h = (h ^ key[i]) * 16777619u;
    return h % BUCKETS;
}

bacsc_addr_entry *bacsc_addr_limit_get(bacsc_addr_limit *t, const struct sockaddr *sa,
                                       double burst, uint64_t now)
{
    uint8_t key[17];
    char text[48];
    if (!make_key(sa, key, text, sizeof text))
        return NULL;
    size_t h = hash(key);
    for (bacsc_addr_entry *e = t->b[h]; e; e = e->next)
        if (memcmp(e->key, key, 17) == 0)
            return e;
    bacsc_addr_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    memcpy(e->key, key, 17);
    memcpy(e->text, text, sizeof e->text);
    e->tokens = burst;
    e->refilled = now;
    e->next = t->b[h];
    t->b[h] = e;
    t->count++;
    return e;
}

static void refill(bacsc_addr_entry *e, double rate, double burst, uint64_t now)
{
    if (now > e->refilled) {
        e->tokens += (double)(now - e->refilled) / 1e6 * rate;
        if (e->tokens > burst)
            e->tokens = burst;
    }
    e->refilled = now;
}

bool bacsc_addr_take(bacsc_addr_entry *e, double rate, double burst, uint64_t now)
{
    if (rate <= 0)
        return true;
    refill(e, rate, burst, now);
    if (e->tokens < 1.0)
        return false;
    e->tokens -= 1.0;
    return true;
}

size_t bacsc_addr_limit_sweep(bacsc_addr_limit *t, double rate, double burst, uint64_t now)
{
    for (size_t i = 0; i < BUCKETS; i++) {
        bacsc_addr_entry **pp = &t->b[i];
        while (*pp) {
            bacsc_addr_entry *e = *pp;
            if (rate > 0)
                refill(e, rate, burst, now);
            bool full = rate <= 0 || e->tokens >= burst;
            bool quiet = !e->logged || now - e->logged >= 60000000u;
            if (e->handshaking == 0 && full && quiet) {
                *pp = e->next;
                free(e);
                t->count--;
            } else {
                pp = &e->next;
            }
        }
    }
    return t->count;
}

size_t bacsc_addr_limit_count(const bacsc_addr_limit *t)
{
    return t->count;
}

#define ADDR_LOG_US 10000000u /* one refusal line per address per 10 s */

void bacsc_addr_log_refusal(bacsc_addr_entry *e, const char *why, unsigned handshaking,
                            uint64_t now)
{
    e->refused_since_log++;
    if (e->logged && now - e->logged < ADDR_LOG_US)
        return;
    BACSC_WARN("ws listener: refusing connections from %s: %s (%llu refused since the last "
               "such line; listener handshaking %u)", e->text, why,
               (unsigned long long)e->refused_since_log, handshaking);
    e->logged = now;
    e->refused_since_log = 0;
}
