/* metrics_http.c — /metrics and /health over plain HTTP with libmicrohttpd
 * on the daemon's event loop (see metrics_http.h). */
#include "web/metrics_http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "bacsc/log.h"

#define MAX_CONNS 16
#define MAX_PER_IP 4
#define IDLE_S 5
#define MEM_LIMIT 16384

struct metrics_http {
    bacsc_loop *loop;
    struct MHD_Daemon *d;
    int lfd, efd;
    uint16_t port;
    bacsc_timer timer;
    metrics_http_handlers h;
};

static void rearm(metrics_http *m)
{
    MHD_UNSIGNED_LONG_LONG to;
    if (MHD_get_timeout(m->d, &to) == MHD_YES)
        bacsc_timer_start(m->loop, &m->timer, (uint64_t)to * 1000);
    else
        bacsc_timer_stop(m->loop, &m->timer);
}

static void on_ready(bacsc_loop *loop, int fd, unsigned events, void *user)
{
    (void)loop;
    (void)fd;
    (void)events;
    metrics_http *m = user;
    MHD_run(m->d);
    rearm(m);
}

static void on_timer(bacsc_loop *loop, void *user)
{
    (void)loop;
    metrics_http *m = user;
    MHD_run(m->d);
    rearm(m);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *ctype,
                             char *body, size_t len, bool owned)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (!r) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)con_cls;
    metrics_http *m = cls;
    static const char text[] = "text/plain; charset=utf-8";
    if (*upload_data_size) { /* a body nobody asked for: refuse, read no more */
        *upload_data_size = 0;
        return MHD_NO;
    }
    bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    bool known = strcmp(url, "/metrics") == 0 || strcmp(url, "/health") == 0;
    if (!known) {
        char msg[] = "not found: try /metrics or /health\n";
        return reply(c, MHD_HTTP_NOT_FOUND, text, msg, strlen(msg), false);
    }
    if (!get) {
        char msg[] = "method not allowed\n";
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, msg, strlen(msg), false);
    }
    if (strcmp(url, "/health") == 0) {
        char msg[256] = "ok";
        bool ok = m->h.health ? m->h.health(m->h.user, msg, sizeof msg - 2) : true;
        size_t l = strlen(msg);
        msg[l++] = '\n';
        msg[l] = 0;
        return reply(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, text, msg, l, false);
    }
    size_t len = 0;
    char *body = m->h.render ? m->h.render(m->h.user, &len) : NULL;
    if (!body) {
        char msg[] = "cannot render the metrics\n";
        return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, text, msg, strlen(msg), false);
    }
    return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body, len, true);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[256];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t l = strlen(buf);
    while (l && (buf[l - 1] == '\n' || buf[l - 1] == '\r'))
        buf[--l] = 0;
    BACSC_DEBUG("metrics: %s", buf);
}

/* socket + bind + listen on "ADDR:PORT" (bare PORT / ":PORT": 127.0.0.1). */
static int open_listener(const char *listen_s, int *family, char *err, size_t errlen)
{
    char host[128] = "127.0.0.1", port[8];
    const char *colon = strrchr(listen_s, ':');
    const char *ps = colon ? colon + 1 : listen_s;
    if (colon && colon != listen_s) {
        const char *h = listen_s, *he = colon;
        if (*h == '[' && he > h && he[-1] == ']') {
            h++;
            he--;
        }
        if ((size_t)(he - h) >= sizeof host || he == h) {
            snprintf(err, errlen, "'%s' is not ADDR:PORT", listen_s);
            return -1;
        }
        memcpy(host, h, (size_t)(he - h));
        host[he - h] = 0;
    }
    if (!*ps || strlen(ps) > 5 || strspn(ps, "0123456789") != strlen(ps) || atoi(ps) > 65535) {
        snprintf(err, errlen, "'%s' is not ADDR:PORT", listen_s);
        return -1;
    }
    snprintf(port, sizeof port, "%s", ps);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
        snprintf(err, errlen, "'%s': not a numeric address", listen_s);
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 16) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", listen_s, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    *family = ai->ai_family;
    freeaddrinfo(ai);
    return fd;
}

static uint16_t bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return 0;
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int metrics_http_start(bacsc_loop *loop, const char *listen_s, const metrics_http_handlers *h,
                       metrics_http **out, char *err, size_t errlen)
{
    metrics_http *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int family = AF_INET;
    m->lfd = open_listener(listen_s, &family, err, errlen);
    if (m->lfd < 0) {
        free(m);
        return -1;
    }
    m->loop = loop;
    m->h = *h;
    m->port = bound_port(m->lfd);
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (family == AF_INET6 ? MHD_USE_IPv6 : 0);
    m->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_LISTEN_SOCKET, m->lfd,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNS,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)MAX_PER_IP,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_S,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEM_LIMIT,
                            MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_EXTERNAL_LOGGER,
                            mhd_log, m, MHD_OPTION_END);
    const union MHD_DaemonInfo *di = m->d ? MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD)
                                          : NULL;
    if (!di) {
        snprintf(err, errlen, "cannot start the HTTP server on %s", listen_s);
        if (m->d)
            MHD_stop_daemon(m->d);
        else
            close(m->lfd);
        free(m);
        return -1;
    }
    m->efd = di->epoll_fd;
    bacsc_timer_init(&m->timer, on_timer, m);
    if (bacsc_loop_watch(loop, m->efd, BACSC_EV_READ, on_ready, m) != 0) {
        snprintf(err, errlen, "cannot watch the HTTP server");
        MHD_stop_daemon(m->d);
        free(m);
        return -1;
    }
    rearm(m);
    *out = m;
    return 0;
}

uint16_t metrics_http_port(const metrics_http *m)
{
    return m->port;
}

void metrics_http_free(metrics_http *m)
{
    if (!m)
        return;
    bacsc_loop_unwatch(m->loop, m->efd);
    bacsc_timer_stop(m->loop, &m->timer);
    MHD_stop_daemon(m->d); /* closes the listening socket too */
    free(m);
}
