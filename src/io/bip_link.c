/*
 * bip_link.c — BACnet/IP datalink on the event loop (bacsc/bip_link.h).
 *
 * One UDP socket. The receive path (bacsc_bip_link_input) is separate from
 * the socket so the fuzz target and tests can drive it without one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bacsc/bip_link.h"
#include "bacsc/error.h"
#include "bacsc/log.h"

#define NPDU_MAX 1497

struct bacsc_bip_link {
    bacsc_loop *loop;
    int fd;
    int bfd;          /* receives broadcasts when fd is bound to a unicast address, else -1 */
    bacsc_bip_addr local;
    bacsc_bip_addr bcast;
    unsigned bcast_count;
    bacsc_bip_link_recv_fn recv;
    void *user;
    bacsc_bip_link_stats stats;
    int depth;          /* >0 while inside a recv callback */
    bool dead;          /* freed inside a callback: free on the way out */
    uint8_t tx[BACSC_BIP_MAX_LEN];
};

/* ---- addresses ------------------------------------------------------------------ */

int bacsc_bip_addr_parse(const char *s, uint16_t default_port, bacsc_bip_addr *out)
{
    if (s == NULL || out == NULL)
        return BACSC_ERR_MALFORMED;
    char host[32];
    const char *colon = strrchr(s, ':');
    size_t hl = colon ? (size_t)(colon - s) : strlen(s);
    if (hl >= sizeof host)
        return BACSC_ERR_MALFORMED;
    memcpy(host, s, hl);
    host[hl] = '\0';
    memset(out, 0, sizeof *out);
    if (hl > 0) {
        struct in_addr in;
        if (inet_pton(AF_INET, host, &in) != 1)
            return BACSC_ERR_MALFORMED;
        memcpy(out->ip, &in.s_addr, 4);
    }
    out->port = default_port;
    if (colon) {
        const char *p = colon + 1;
        if (*p == '\0')
            return BACSC_ERR_MALFORMED;
        unsigned long v = 0;
        for (; *p; p++) {
            if (*p < '0' || *p > '9')
                return BACSC_ERR_MALFORMED;
            v = v * 10 + (unsigned long)(*p - '0');
            if (v > 65535)
                return BACSC_ERR_MALFORMED;
        }
        out->port = (uint16_t)v;
    } else if (hl == 0) {
        return BACSC_ERR_MALFORMED;
    }
    return BACSC_OK;
}

char *bacsc_bip_addr_format(const bacsc_bip_addr *a, char *buf, size_t cap)
{
    snprintf(buf, cap, "%u.%u.%u.%u:%u", a->ip[0], a->ip[1], a->ip[2], a->ip[3], a->port);
    return buf;
}

bacsc_address bacsc_bip_addr_to_address(const bacsc_bip_addr *a)
{
    return bacsc_address_bip(a->ip, a->port);
}

int bacsc_bip_addr_from_address(const bacsc_address *a, bacsc_bip_addr *out)
{
    if (a == NULL || out == NULL || a->mac_len != 6)
        return BACSC_ERR_INVALID_ARG;
    memcpy(out->ip, a->mac, 4);
    out->port = (uint16_t)(a->mac[4] << 8 | a->mac[5]);
    return BACSC_OK;
}

static void to_sockaddr(const bacsc_bip_addr *a, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    memcpy(&sa->sin_addr.s_addr, a->ip, 4);
    sa->sin_port = htons(a->port);
}

static void from_sockaddr(const struct sockaddr_in *sa, bacsc_bip_addr *a)
{
    memcpy(a->ip, &sa->sin_addr.s_addr, 4);
    a->port = ntohs(sa->sin_port);
}

static bool addr_eq(const bacsc_bip_addr *a, const bacsc_bip_addr *b)
{
    return a->port == b->port && memcmp(a->ip, b->ip, 4) == 0;
}

/* ---- sending -------------------------------------------------------------------- */

int bacsc_bip_link_send_raw(bacsc_bip_link *link, const bacsc_bip_addr *to,
                            const uint8_t *data, size_t len)
{
    if (link == NULL || to == NULL || link->fd < 0)
        return BACSC_ERR_INVALID_ARG;
    struct sockaddr_in sa;
    to_sockaddr(to, &sa);
    ssize_t n = sendto(link->fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof sa);
    if (n < 0 || (size_t)n != len) {
        link->stats.tx_errors++;
        return BACSC_ERR_IO;
    }
    link->stats.tx_datagrams++;
    return BACSC_OK;
}

/* Debug log of one datagram: what, how long, to/from where (count > 1: an
 * emulated broadcast to `count` consecutive ports). */
static void log_datagram(const char *verb, const char *what, size_t len, const char *dir,
                         const bacsc_bip_addr *a, unsigned count, int rc)
{
    if (bacsc_log_get_level() < BACSC_LOG_DEBUG)
        return;
    char buf[32];
    bacsc_bip_addr_format(a, buf, sizeof buf);
    char ports[48] = "";
    if (count > 1)
        snprintf(ports, sizeof ports, " (and the next %u ports)", count - 1);
    BACSC_DEBUG("bip: %s %s, %zu bytes, %s %s%s%s", verb, what, len, dir, buf, ports,
                rc == BACSC_OK ? "" : " (send failed)");
}

int bacsc_bip_link_send(void *user, const bacsc_address *dest, const uint8_t *npdu, size_t len)
{
    bacsc_bip_link *link = user;
    if (link == NULL || dest == NULL || npdu == NULL || len == 0)
        return BACSC_ERR_INVALID_ARG;
    if (len > NPDU_MAX)
        return BACSC_ERR_LIMIT;
    if (dest->mac_len == 6) {
        bacsc_bip_addr to;
        bacsc_bip_addr_from_address(dest, &to);
        int n = bacsc_bip_encode_npdu(link->tx, sizeof link->tx, false, npdu, len);
        if (n < 0)
            return n;
        int rc = bacsc_bip_link_send_raw(link, &to, link->tx, (size_t)n);
        log_datagram("sent", "Original-Unicast-NPDU", (size_t)n, "to", &to, 1, rc);
        return rc;
    }
    if (dest->mac_len != 0)
        return BACSC_ERR_INVALID_ARG;
    int n = bacsc_bip_encode_npdu(link->tx, sizeof link->tx, true, npdu, len);
    if (n < 0)
        return n;
    unsigned count = link->bcast_count ? link->bcast_count : 1;
    int rc = BACSC_OK;
    for (unsigned i = 0; i < count; i++) {
        bacsc_bip_addr to = link->bcast;
        uint32_t port = (uint32_t)link->bcast.port + i;
        if (port > 65535)
            break;
        to.port = (uint16_t)port;
        if (count > 1 && addr_eq(&to, &link->local))
            continue;                     /* not to ourselves */
        if (bacsc_bip_link_send_raw(link, &to, link->tx, (size_t)n) != BACSC_OK)
            rc = BACSC_ERR_IO;
    }
    log_datagram("sent", "Original-Broadcast-NPDU", (size_t)n, "to", &link->bcast, count, rc);
    return rc;
}

/* ---- receiving ------------------------------------------------------------------ */

static void send_nak(bacsc_bip_link *link, const bacsc_bip_addr *to, uint16_t code)
{
    uint8_t b[6] = {BACSC_BIP_TYPE, BACSC_BIP_RESULT, 0, 6, (uint8_t)(code >> 8), (uint8_t)code};
    if (bacsc_bip_link_send_raw(link, to, b, sizeof b) == BACSC_OK)
        link->stats.tx_naks++;
}

static bool is_own(const bacsc_bip_link *link, const bacsc_bip_addr *from)
{
    if (from->port != link->local.port)
        return false;
    static const uint8_t any[4] = {0, 0, 0, 0};
    if (memcmp(link->local.ip, any, 4) == 0)
        return from->ip[0] == 127;       /* bound to any: loopback echo */
    return memcmp(from->ip, link->local.ip, 4) == 0;
}

int bacsc_bip_link_input(bacsc_bip_link *link, const bacsc_bip_addr *from,
                         const uint8_t *data, size_t len, uint64_t now)
{
    link->stats.rx_datagrams++;
    bacsc_bip_msg m;
    if (len > BACSC_BIP_MAX_LEN || bacsc_bip_decode(data, len, &m) < 0) {
        link->stats.rx_malformed++;
        return BACSC_ERR_MALFORMED;
    }
    bacsc_bip_addr src = *from;
    bool broadcast = false;
    switch (m.function) {
    case BACSC_BIP_ORIGINAL_UNICAST:
        break;
    case BACSC_BIP_ORIGINAL_BROADCAST:
        broadcast = true;
        if (is_own(link, from)) {
            link->stats.rx_ignored++;
            return BACSC_OK;
        }
        break;
    case BACSC_BIP_FORWARDED_NPDU:
        broadcast = true;
        src = m.addr;
        if (is_own(link, &src)) {
            link->stats.rx_ignored++;
            return BACSC_OK;
        }
        break;
    case BACSC_BIP_WRITE_BDT:
        send_nak(link, from, BACSC_BIP_RESULT_WRITE_BDT_NAK);
        return BACSC_OK;
    case BACSC_BIP_READ_BDT:
        send_nak(link, from, BACSC_BIP_RESULT_READ_BDT_NAK);
        return BACSC_OK;
    case BACSC_BIP_REGISTER_FOREIGN_DEVICE:
        send_nak(link, from, BACSC_BIP_RESULT_REGISTER_FD_NAK);
        return BACSC_OK;
    case BACSC_BIP_READ_FDT:
        send_nak(link, from, BACSC_BIP_RESULT_READ_FDT_NAK);
        return BACSC_OK;
    case BACSC_BIP_DELETE_FDT_ENTRY:
        send_nak(link, from, BACSC_BIP_RESULT_DELETE_FDT_NAK);
        return BACSC_OK;
    case BACSC_BIP_DISTRIBUTE_BROADCAST:
        send_nak(link, from, BACSC_BIP_RESULT_DISTRIBUTE_BROADCAST_NAK);
        return BACSC_OK;
    default:
        /* BVLC-Result, Read-BDT/FDT-ACK, Secure-BVLL: nothing to do. */
        link->stats.rx_ignored++;
        return BACSC_OK;
    }
    if (m.payload_len == 0 || m.payload_len > NPDU_MAX) {
        link->stats.rx_malformed++;
        return BACSC_ERR_MALFORMED;
    }
    link->stats.rx_npdus++;
    bacsc_address a = bacsc_bip_addr_to_address(&src);
    link->recv(link->user, link, &a, m.payload, m.payload_len, broadcast, now);
    return BACSC_OK;
}

static const char *bip_function_name(uint8_t f)
{
    switch (f) {
    case BACSC_BIP_ORIGINAL_UNICAST:
        return "Original-Unicast-NPDU";
    case BACSC_BIP_ORIGINAL_BROADCAST:
        return "Original-Broadcast-NPDU";
    case BACSC_BIP_FORWARDED_NPDU:
        return "Forwarded-NPDU";
    default:
        return "BVLC message";
    }
}

static void link_free_now(bacsc_bip_link *link)
{
    int fds[2] = {link->fd, link->bfd};
    for (int i = 0; i < 2; i++) {
        if (fds[i] < 0)
            continue;
        if (link->loop)
            bacsc_loop_unwatch(link->loop, fds[i]);
        close(fds[i]);
    }
    free(link);
}

static void on_readable(bacsc_loop *loop, int fd, unsigned events, void *user)
{
    bacsc_bip_link *link = user;
    (void)events;
    size_t cap;
    uint8_t *buf = bacsc_loop_scratch(loop, &cap);
    link->depth++;
    /* Bounded batch per wake-up so one busy socket cannot starve the loop. */
    for (int i = 0; i < 64 && !link->dead; i++) {
        struct sockaddr_in sa;
        socklen_t sl = sizeof sa;
        ssize_t n = recvfrom(fd, buf, cap, MSG_DONTWAIT, (struct sockaddr *)&sa, &sl);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                BACSC_DEBUG("bip: recvfrom: %s", strerror(errno));
            break;
        }
        if (sl < (socklen_t)sizeof sa || sa.sin_family != AF_INET)
            continue;
        bacsc_bip_addr from;
        from_sockaddr(&sa, &from);
        log_datagram("received", n >= 2 ? bip_function_name(buf[1]) : "datagram", (size_t)n,
                     "from", &from, 1, BACSC_OK);
        bacsc_bip_link_input(link, &from, buf, (size_t)n, bacsc_loop_now(loop));
    }
    link->depth--;
    if (link->dead && link->depth == 0)
        link_free_now(link);
}

/* ---- lifecycle ------------------------------------------------------------------ */

/*
 * Linux delivers a datagram sent to a subnet's broadcast address only to
 * sockets bound to the wildcard address or to that broadcast address, never
 * to one bound to the host's own unicast address. So when the port is bound
 * to a unicast address (`--bip 10.0.0.5:47808`), a second, receive-only
 * socket bound to the broadcast address hears Who-Is and other broadcasts.
 * Loopback links emulate broadcast by port (broadcast_port_count) and need
 * none. Failing to open it is not fatal: the link still works for unicast.
 */
static void open_broadcast_socket(bacsc_bip_link *link)
{
    static const uint8_t any[4] = {0, 0, 0, 0};
    if (memcmp(link->local.ip, any, 4) == 0 || link->local.ip[0] == 127 ||
        link->bcast.ip[0] == 127 || memcmp(link->bcast.ip, link->local.ip, 4) == 0 ||
        link->bcast.port != link->local.port)
        return;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in sa;
    to_sockaddr(&link->bcast, &sa);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        bacsc_loop_watch(link->loop, fd, BACSC_EV_READ, on_readable, link) != BACSC_OK) {
        BACSC_WARN("bip: cannot listen for broadcasts on %u.%u.%u.%u:%u: %s (unicast only)",
                   link->bcast.ip[0], link->bcast.ip[1], link->bcast.ip[2], link->bcast.ip[3],
                   link->bcast.port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    link->bfd = fd;
}

int bacsc_bip_link_new(bacsc_loop *loop, const bacsc_bip_link_config *cfg,
                       bacsc_bip_link **out)
{
    if (loop == NULL || cfg == NULL || cfg->recv == NULL || out == NULL)
        return BACSC_ERR_INVALID_ARG;
    bacsc_bip_link *link = calloc(1, sizeof *link);
    if (link == NULL)
        return BACSC_ERR_NOMEM;
    link->loop = loop;
    link->recv = cfg->recv;
    link->user = cfg->user;
    link->bcast_count = cfg->broadcast_port_count;
    link->bfd = -1;
    link->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (link->fd < 0)
        goto io_fail;
    int one = 1;
    /* No SO_REUSEADDR: the port is ours alone (a second process on it would
     * get part of the unicasts); bind fails with EADDRINUSE instead. */
    if (setsockopt(link->fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0)
        goto io_fail;
    struct sockaddr_in sa;
    to_sockaddr(&cfg->bind, &sa);
    if (bind(link->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        goto io_fail;
    socklen_t sl = sizeof sa;
    if (getsockname(link->fd, (struct sockaddr *)&sa, &sl) < 0)
        goto io_fail;
    from_sockaddr(&sa, &link->local);
    link->bcast = cfg->broadcast;
    static const uint8_t any[4] = {0, 0, 0, 0};
    if (memcmp(link->bcast.ip, any, 4) == 0) {
        if (link->local.ip[0] == 127) {
            uint8_t lb[4] = {127, 255, 255, 255};
            memcpy(link->bcast.ip, lb, 4);
        } else {
            memset(link->bcast.ip, 255, 4);
        }
    }
    if (link->bcast.port == 0)
        link->bcast.port = link->local.port;
    int rc = bacsc_loop_watch(loop, link->fd, BACSC_EV_READ, on_readable, link);
    if (rc != BACSC_OK) {
        close(link->fd);
        free(link);
        return rc;
    }
    open_broadcast_socket(link);
    *out = link;
    return BACSC_OK;
io_fail: {
    int e = errno;
    if (link->fd >= 0)
        close(link->fd);
    free(link);
    errno = e;
    return BACSC_ERR_IO;
}
}

void bacsc_bip_link_free(bacsc_bip_link *link)
{
    if (link == NULL)
        return;
    if (link->depth > 0) {
        link->dead = true;
        return;
    }
    link_free_now(link);
}

bacsc_datalink bacsc_bip_link_datalink(bacsc_bip_link *link)
{
    bacsc_datalink d = {.send = bacsc_bip_link_send, .user = link, .max_npdu = NPDU_MAX};
    return d;
}

void bacsc_bip_link_local(const bacsc_bip_link *link, bacsc_bip_addr *out)
{
    *out = link->local;
}

bacsc_address bacsc_bip_link_address(const bacsc_bip_link *link)
{
    return bacsc_bip_addr_to_address(&link->local);
}

void bacsc_bip_link_get_stats(const bacsc_bip_link *link, bacsc_bip_link_stats *st)
{
    *st = link->stats;
}

int bacsc_bip_link_fd(const bacsc_bip_link *link)
{
    return link ? link->fd : -1;
}
