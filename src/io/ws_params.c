/*
 * ws_params.c — the WebSocket layer's option defaults, address text and
 * socket draining (ws_params_internal.h), kept out of wsconn.c.
 */
#include "ws_params_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bacsc/error.h"

#define DEF_MAX_MESSAGE 65536
#define DEF_MAX_QUEUE (1024 * 1024)
#define DEF_HANDSHAKE_MS 10000
#define DEF_CONNECT_MS 10000
#define DEF_CLOSE_MS 5000
#define DEF_MAX_CONN 10000
#define DEF_MAX_HANDSHAKES 128
#define DEF_ADDR_HANDSHAKES 8
#define DEF_ADDR_RATE 50
#define DEF_FIRST_OCTET_MS 3000

void bacsc_io_ws_fill_defaults(bacsc_ws_options *o, const bacsc_ws_options *in)
{
    if (in)
        *o = *in;
    else
        memset(o, 0, sizeof *o);
    if (!o->protocols)
        o->protocols = BACSC_WS_PROTO_HUB;
    if (!o->max_message)
        o->max_message = DEF_MAX_MESSAGE;
    if (!o->max_queue)
        o->max_queue = DEF_MAX_QUEUE;
    if (!o->max_header)
        o->max_header = BACSC_HTTP_DEFAULT_MAX_HEADER;
    if (o->max_header < 256)
        o->max_header = 256;
    if (o->max_header > 65535)
        o->max_header = 65535;
    if (!o->handshake_timeout_ms)
        o->handshake_timeout_ms = DEF_HANDSHAKE_MS;
    if (!o->connect_timeout_ms)
        o->connect_timeout_ms = DEF_CONNECT_MS;
    if (!o->close_timeout_ms)
        o->close_timeout_ms = DEF_CLOSE_MS;
    if (!o->max_connections)
        o->max_connections = DEF_MAX_CONN;
    if (!o->max_handshakes)
        o->max_handshakes = DEF_MAX_HANDSHAKES;
    if (!o->max_handshakes_per_addr)
        o->max_handshakes_per_addr = DEF_ADDR_HANDSHAKES;
    if (!o->accept_rate_per_addr)
        o->accept_rate_per_addr = DEF_ADDR_RATE;
    if (!o->accept_burst_per_addr)
        o->accept_burst_per_addr = o->accept_rate_per_addr == BACSC_WS_OFF
                                       ? BACSC_WS_OFF : 2 * o->accept_rate_per_addr;
    if (!o->first_octet_timeout_ms)
        o->first_octet_timeout_ms = DEF_FIRST_OCTET_MS;
    if (o->first_octet_timeout_ms > o->handshake_timeout_ms)
        o->first_octet_timeout_ms = o->handshake_timeout_ms;
}

void bacsc_io_format_addr(const struct sockaddr *sa, char *out, size_t cap, uint16_t *port)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    uint16_t p = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
        p = ntohs(s4->sin_port);
        snprintf(out, cap, "%s:%u", ip, p);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
        p = ntohs(s6->sin6_port);
        snprintf(out, cap, "[%s]:%u", ip, p);
    } else {
        snprintf(out, cap, "?");
    }
    if (port)
        *port = p;
}

/* Split "HOST:PORT" / "[V6]:PORT" into host and port strings. */
int bacsc_io_split_host_port(const char *s, char *host, size_t hcap, char *port, size_t pcap,
                             const char *def_port)
{
    const char *h = s, *he, *ps = NULL;
    if (*s == '[') {
        h = s + 1;
        he = strchr(h, ']');
        if (!he)
            return BACSC_ERR_INVALID_ARG;
        if (he[1] == ':')
            ps = he + 2;
        else if (he[1] != '\0')
            return BACSC_ERR_INVALID_ARG;
    } else {
        he = strrchr(s, ':');
        if (he) {
            ps = he + 1;
            if (memchr(s, ':', (size_t)(he - s)))
                return BACSC_ERR_INVALID_ARG; /* bare IPv6 needs brackets */
        } else {
            he = s + strlen(s);
        }
    }
    size_t hl = (size_t)(he - h);
    if (hl == 0 || hl >= hcap)
        return BACSC_ERR_INVALID_ARG;
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (!ps)
        ps = def_port;
    if (!ps || !*ps || strlen(ps) >= pcap || strlen(ps) > 5)
        return BACSC_ERR_INVALID_ARG;
    for (const char *q = ps; *q; q++)
        if (*q < '0' || *q > '9')
            return BACSC_ERR_INVALID_ARG;
    if (atoi(ps) > 65535)
        return BACSC_ERR_INVALID_ARG;
    strcpy(port, ps);
    return BACSC_OK;
}

void bacsc_io_drain_socket(int fd)
{
    char buf[16384];
    for (int i = 0; i < 4 && recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0; i++)
        ;
}

bool bacsc_io_client_gone(int fd, bool read_any)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 || len < 1)
        return false; /* not TCP (or unknown): the handshake finds out */
    if (ti.tcpi_state == TCP_CLOSE) /* reset */
        return true;
    return ti.tcpi_state != TCP_ESTABLISHED && !read_any;
}

int8_t bacsc_io_nodelay_listen(int fd)
{
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0 ? -1 : 0;
}

void bacsc_io_nodelay_accepted(int fd, int8_t *inherited)
{
    int one = 1;
    if (*inherited < 0) {
        int v = 0;
        socklen_t vl = sizeof v;
        *inherited = getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &vl) == 0 && v;
    }
    if (!*inherited)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void bacsc_io_refuse_fd(int fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}
