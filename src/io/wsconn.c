/*
 * wsconn.c — WebSocket connections over non-blocking TCP (+ TLS) on the
 * event loop. See bacsc/wsconn.h.
 *
 * A connection is a small state machine:
 *   CONNECTING (client TCP connect) → TLS (handshake) → HTTP (upgrade)
 *   → OPEN → CLOSING (close frame sent, or flushing before teardown) → CLOSED.
 * Reads go through the loop's shared scratch buffer into the sans-I/O HTTP
 * parser and frame decoder (src/core). Writes are appended to a per-connection
 * queue and flushed from a deferred callback, so all frames produced in one
 * loop iteration leave in as few TLS records as possible.
 *
 * Freeing: a connection may be closed from inside its own callbacks, so it
 * is freed only when nothing on the stack uses it (busy == 0) and no
 * deferred flush refers to it.
 */
#define _GNU_SOURCE /* accept4 */
#include "bacsc/wsconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "bacsc/bvlc.h"
#include "bacsc/error.h"
#include "bacsc/hspool.h"
#include "bacsc/log.h"

#include "addr_limit_internal.h"
#include "ossl_keyless_internal.h"
#include "ws_params_internal.h"

enum cstate { CS_CONNECTING, CS_TLS, CS_HTTP, CS_OPEN, CS_CLOSING, CS_CLOSED };

#define ADDR_SWEEP_US 10000000u
/* While every handshake slot is taken, still accept this many connections
 * per this interval: peers that connect and stay silent can hold the slots
 * until the handshake timeout, but never stop the listener. */
#define HANDSHAKE_GRACE_CONNS 64
#define HANDSHAKE_GRACE_US 1000000
#define CONTROL_SLACK 256     /* room over max_queue for close/pong frames */
#define KEEP_OUT_CAP 4096     /* an empty output queue keeps at most this much */
#define READS_PER_EVENT 16    /* fairness: reads per readiness event before yielding */
#define KEEP_BUFS_US 20000    /* KEEP_BUFS_RUN I/O events this close (more than a greeting): */
#define KEEP_BUFS_RUN 8       /* keep OpenSSL's buffers (no 17 KB malloc+free per record) */
#define RELEASE_BUFS_US 1000000 /* until idle this long */
#define MASK_POOL 64          /* client: masking keys fetched 16 at a time */

/* Handshake-only state, freed when the connection opens. */
struct handshake {
    bacsc_http_parser http;
    char host[300];           /* client: Host header value / TLS name */
    char path[256];
    char tls_host[256];
    bacsc_hs_job job;         /* server: the TLS handshake on a pool worker */
    char buf[];               /* header buffer, opt.max_header octets */
};

struct bacsc_wsconn {
    bacsc_loop *loop;
    bacsc_ws_listener *listener;
    bacsc_wsconn *prev, *next;   /* in the listener's list */
    int fd;
    SSL *ssl;
    uint8_t state;
    bool server;
    bool handed;                 /* the user knows this connection: report on_close */
    bool reported;
    bool flush_scheduled;
    bool close_after_flush;      /* tear down once the queue is empty */
    bool close_sent;
    bool close_received;
    bool ssl_read_wants_write;
    bool read_more;              /* fairness cap hit with data left inside OpenSSL */
    bool rx_short;               /* the last socket read returned less than asked */
    bool handshaking;            /* server: counted in listener->handshaking */
    bool got_data;               /* any octet received */
    bool in_pool;                /* server: handshaking on a pool worker (hs->job) */
    bool bufs_kept;              /* open, busy: SSL_MODE_RELEASE_BUFFERS cleared */
    unsigned busy_run;           /* I/O events in a row < KEEP_BUFS_US apart */
    uint64_t last_io;            /* open: µs of the last read event or flush */
    uint8_t mask_used;           /* client: octets of `masks` already used */
    uint8_t masks[MASK_POOL];    /* client: unused masking keys from RAND_bytes */
    bacsc_addr_entry *addr;      /* server, while handshaking: its source address */
    uint64_t accepted_at;        /* server: µs */
    unsigned protocol;
    int busy;
    uint16_t final_error;        /* error to report when the close completes */
    const char *final_reason;
    bacsc_ws_callbacks cb;
    void *user;
    bacsc_ws_options opt;
    bacsc_timer timer;
    struct handshake *hs;
    bacsc_ws_decoder dec;
    uint8_t *rbuf;
    size_t rcap;
    uint8_t *out;
    size_t out_off, out_len, out_cap;
    char peer[56];
    char reason_buf[160];
};

struct bacsc_ws_listener {
    bacsc_loop *loop;
    int fd;
    uint16_t port;
    bacsc_tls_ctx *tls;
    bacsc_ws_options opt;
    bacsc_ws_callbacks cb;
    void *user;
    unsigned count;
    unsigned handshaking;        /* accepted, not yet open */
    bool paused;                 /* accepting stopped at max_handshakes */
    unsigned grace;              /* accepts allowed beyond max_handshakes now */
    bacsc_timer grace_timer;     /* refills `grace` while paused */
    bacsc_wsconn *conns;
    bacsc_addr_limit *addrs;     /* per-source-address state */
    bacsc_hspool *pool;          /* TLS handshake workers (NULL: on the loop) */
    int8_t nodelay_inherited;    /* accepted sockets have TCP_NODELAY (1), not (0), unknown (-1) */
    uint64_t swept;              /* µs of the last sweep of `addrs` */
    bacsc_ws_listener_stats st;
};

/* A server connection left the handshake (opened or closed): accept again
 * if we had stopped at max_handshakes. */
static void handshake_done(bacsc_wsconn *c)
{
    bacsc_ws_listener *l = c->listener;
    if (!c->handshaking || !l)
        return;
    c->handshaking = false;
    l->handshaking--;
    if (c->addr) {
        c->addr->handshaking--;
        c->addr = NULL;
    }
    if (l->paused && l->handshaking < l->opt.max_handshakes &&
        bacsc_loop_set_events(l->loop, l->fd, BACSC_EV_READ) == BACSC_OK)
        l->paused = false;
}

/* Every HANDSHAKE_GRACE_US while paused: admit a batch anyway. */
static void on_grace(bacsc_loop *loop, void *user)
{
    bacsc_ws_listener *l = user;
    l->grace = HANDSHAKE_GRACE_CONNS;
    if (l->paused && bacsc_loop_set_events(loop, l->fd, BACSC_EV_READ) == BACSC_OK)
        l->paused = false;
}

static void on_io(bacsc_loop *loop, int fd, unsigned events, void *user);
static void on_timer(bacsc_loop *loop, void *user);
static void flush_deferred(bacsc_loop *loop, void *user);
static void on_readable(bacsc_wsconn *c);
static void process_input(bacsc_wsconn *c, uint8_t *data, size_t len);
static void update_interest(bacsc_wsconn *c);

/* ---- life cycle ------------------------------------------------------------ */

static void conn_free(bacsc_wsconn *c)
{
    free(c->hs);
    free(c->rbuf);
    free(c->out);
    free(c);
}

static void maybe_free(bacsc_wsconn *c)
{
    if (c->state == CS_CLOSED && c->busy == 0 && !c->flush_scheduled && !c->in_pool)
        conn_free(c);
}

static void detach_listener(bacsc_wsconn *c)
{
    bacsc_ws_listener *l = c->listener;
    if (!l)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    l->count--;
    c->listener = NULL;
}

/* Close everything now and report. */
static void teardown(bacsc_wsconn *c, uint16_t error_code, const char *reason)
{
    if (c->state == CS_CLOSED)
        return;
    bool was_open = c->state >= CS_OPEN;
    if (c->state == CS_TLS && c->fd >= 0 && !c->in_pool)
        bacsc_io_drain_socket(c->fd); /* our alert reaches the peer (ws_params_internal.h) */
    c->state = CS_CLOSED;
    bacsc_timer_stop(c->loop, &c->timer);
    if (c->in_pool) {
        /* the worker still holds fd and SSL: released when it hands them back */
        bacsc_hspool_cancel(c->listener->pool, &c->hs->job);
    } else if (c->fd >= 0) {
        bacsc_loop_unwatch(c->loop, c->fd);
        if (c->ssl && c->close_sent && c->close_received) /* close_notify; never blocks */
            SSL_shutdown(c->ssl);
        close(c->fd);
        c->fd = -1;
    }
    if (c->ssl && !c->in_pool) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    ERR_clear_error();
    if (c->server && c->listener && !was_open) {
        bacsc_ws_listener_stats *st = &c->listener->st;
        if (error_code >= BACSC_EC_TLS_CLIENT_CERTIFICATE_ERROR &&
            error_code <= BACSC_EC_TLS_ERROR)
            st->tls_failed[error_code - BACSC_EC_TLS_CLIENT_CERTIFICATE_ERROR]++;
        else if (error_code >= 152 && error_code <= 165) /* HTTP upgrade */
            st->upgrade_failed++;
        else if (error_code == BACSC_EC_TCP_CLOSED_OTHER) /* see client_gone() */
            st->abandoned++;
    }
    handshake_done(c);
    detach_listener(c);
    /* A client's failed attempt is logged by its owner, with context (the
     * node: which device, which hub, when the next try is). */
    /* A server connection that fails before opening is logged by its owner
     * (the hub: with the peer and the reason), once. */
    int level = ((!was_open && c->got_data && c->server && !(c->handed && c->cb.on_close)) ||
                 (was_open && error_code && error_code != BACSC_EC_WS_CLOSED_BY_PEER))
                    ? BACSC_LOG_INFO : BACSC_LOG_DEBUG;
    bacsc_log(level, "ws %s %s: closed, error %u%s%s", c->server ? "from" : "to", c->peer,
              error_code, reason ? ": " : "", reason ? reason : "");
    if (c->handed && !c->reported) {
        c->reported = true;
        c->busy++;
        if (c->cb.on_close)
            c->cb.on_close(c, error_code, reason ? reason : "", c->user);
        c->busy--;
    }
    maybe_free(c);
}

static void set_reason(bacsc_wsconn *c, const char *reason)
{
    snprintf(c->reason_buf, sizeof c->reason_buf, "%s", reason ? reason : "");
    c->final_reason = c->reason_buf;
}

/* Finish after the queued output is written (bounded by the close timer). */
static void close_after_flush(bacsc_wsconn *c, uint16_t error_code, const char *reason)
{
    if (c->state == CS_CLOSED)
        return;
    c->final_error = error_code;
    set_reason(c, reason);
    c->close_after_flush = true;
    if (c->state == CS_OPEN || c->state == CS_HTTP)
        c->state = CS_CLOSING;
    bacsc_timer_start(c->loop, &c->timer, (uint64_t)c->opt.close_timeout_ms * 1000);
    if (!c->flush_scheduled) {
        c->flush_scheduled = true;
        if (bacsc_loop_defer(c->loop, flush_deferred, c) != BACSC_OK) {
            c->flush_scheduled = false;
            teardown(c, error_code, reason);
        }
    }
}

/* ---- output queue ---------------------------------------------------------- */

static int reserve(bacsc_wsconn *c, size_t n, bool control)
{
    size_t pending = c->out_len - c->out_off;
    size_t limit = c->opt.max_queue + (control ? CONTROL_SLACK : 0);
    if (pending + n > limit)
        return BACSC_ERR_LIMIT;
    if (c->out_off && c->out_len + n > c->out_cap) {
        memmove(c->out, c->out + c->out_off, pending);
        c->out_off = 0;
        c->out_len = pending;
    }
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 512;
        while (cap < c->out_len + n)
            cap *= 2;
        uint8_t *o = realloc(c->out, cap);
        if (!o)
            return BACSC_ERR_NOMEM;
        c->out = o;
        c->out_cap = cap;
    }
    return BACSC_OK;
}

static void schedule_flush(bacsc_wsconn *c)
{
    if (c->flush_scheduled || c->state == CS_CLOSED)
        return;
    if (bacsc_loop_defer(c->loop, flush_deferred, c) == BACSC_OK)
        c->flush_scheduled = true;
}

static int queue_raw(bacsc_wsconn *c, const void *data, size_t len)
{
    int rc = reserve(c, len, true);
    if (rc != BACSC_OK)
        return rc;
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    schedule_flush(c);
    return BACSC_OK;
}

/* A client frame's masking key (RFC 6455 5.3: strong entropy), each used once.
 * RAND_bytes per frame cost ~6,500 instructions and a getpid(2) (OpenSSL 3.0). */
static int next_mask(bacsc_wsconn *c, uint8_t mask[4])
{
    if (c->mask_used == 0 || c->mask_used >= MASK_POOL) {
        if (RAND_bytes(c->masks, MASK_POOL) != 1)
            return BACSC_ERR_CRYPTO;
        c->mask_used = 0;
    }
    memcpy(mask, c->masks + c->mask_used, 4);
    c->mask_used += 4;
    return BACSC_OK;
}

static int queue_frame(bacsc_wsconn *c, int opcode, const uint8_t *data, size_t len)
{
    uint8_t mask[4];
    bool masked = !c->server;
    if (masked && next_mask(c, mask) != BACSC_OK)
        return BACSC_ERR_CRYPTO;
    size_t h = bacsc_ws_header_size(len, masked);
    int rc = reserve(c, h + len, opcode & 0x8);
    if (rc != BACSC_OK)
        return rc;
    uint8_t *p = c->out + c->out_len;
    rc = bacsc_ws_encode_header(p, h, opcode, true, len, masked ? mask : NULL);
    if (rc < 0)
        return rc;
    if (len)
        memcpy(p + h, data, len);
    if (masked)
        bacsc_ws_mask(p + h, len, mask, 0);
    c->out_len += h + len;
    schedule_flush(c);
    return BACSC_OK;
}

static int queue_close(bacsc_wsconn *c, uint16_t code, const char *reason)
{
    uint8_t frame[BACSC_WS_MAX_CONTROL + BACSC_WS_MAX_HEADER];
    uint8_t mask[4];
    if (!c->server && next_mask(c, mask) != BACSC_OK)
        return BACSC_ERR_CRYPTO;
    if (!bacsc_ws_close_code_valid(code))
        code = BACSC_WS_CLOSE_NORMAL;
    int n = bacsc_ws_encode_close(frame, sizeof frame, code, reason, c->server ? NULL : mask);
    if (n < 0)
        n = bacsc_ws_encode_close(frame, sizeof frame, code, NULL, c->server ? NULL : mask);
    if (n < 0)
        return n;
    c->close_sent = true;
    return queue_raw(c, frame, (size_t)n);
}

/* Fatal I/O error while writing or reading. */
static void io_failed(bacsc_wsconn *c, int ssl_rc, int sys_errno)
{
    char text[512];
    uint16_t code;
    if (c->ssl && ssl_rc == SSL_ERROR_SSL) {
        code = bacsc_tls_classify_error(c->ssl, c->server, text, sizeof text);
    } else if (c->state == CS_TLS && c->ssl) {
        code = bacsc_tls_classify_error(c->ssl, c->server, text, sizeof text);
    } else if (sys_errno == ECONNRESET || sys_errno == EPIPE || sys_errno == 0) {
        code = c->state == CS_HTTP && !c->server ? BACSC_EC_HTTP_RESPONSE_SYNTAX_ERROR
                                                 : BACSC_EC_WS_CLOSED_ABNORMALLY;
        snprintf(text, sizeof text, "connection closed by the peer without a close frame");
        if (c->state == CS_HTTP && !c->server)
            snprintf(text, sizeof text, "connection closed before the upgrade response");
    } else {
        code = BACSC_EC_TCP_ERROR;
        snprintf(text, sizeof text, "TCP error: %s", strerror(sys_errno));
    }
    teardown(c, code, text);
}

static void note_traffic(bacsc_wsconn *c)
{
    uint64_t now = bacsc_loop_now(c->loop);
    c->busy_run = now - c->last_io < KEEP_BUFS_US ? c->busy_run + 1 : 0; /* wraps harmlessly */
    if (!c->bufs_kept && c->ssl && c->state == CS_OPEN && c->busy_run >= KEEP_BUFS_RUN &&
        bacsc_timer_start(c->loop, &c->timer, RELEASE_BUFS_US) == BACSC_OK) {
        SSL_clear_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
        c->bufs_kept = true;
    }
    c->last_io = now;
}

static void release_buffers(bacsc_wsconn *c) /* the timer of a busy open connection */
{
    if (bacsc_loop_now(c->loop) < c->last_io + RELEASE_BUFS_US) {
        bacsc_timer_start_at(c->loop, &c->timer, c->last_io + RELEASE_BUFS_US);
        return;
    }
    SSL_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
    SSL_free_buffers(c->ssl); /* refused while a record is pending: then at its next I/O */
    c->bufs_kept = false;
}

static void flush(bacsc_wsconn *c)
{
    if (c->state == CS_OPEN && c->out_off < c->out_len)
        note_traffic(c);
    while (c->out_off < c->out_len && c->state != CS_CLOSED) {
        size_t n = c->out_len - c->out_off;
        if (n > INT32_MAX)
            n = INT32_MAX;
        if (c->ssl) {
            if (ERR_peek_error()) /* SSL_get_error() needs an empty queue; peek ~100 instr., */
                ERR_clear_error(); /* clear ~800 even when empty (OpenSSL 3.0) */
            int w = bacsc_keyless_after(SSL_write(c->ssl, c->out + c->out_off, (int)n));
            if (w > 0) {
                c->out_off += (size_t)w;
                continue;
            }
            int e = SSL_get_error(c->ssl, w);
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
                break;
            io_failed(c, e, errno);
            return;
        }
        ssize_t w = send(c->fd, c->out + c->out_off, n, MSG_NOSIGNAL);
        if (w > 0) {
            c->out_off += (size_t)w;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            break;
        io_failed(c, 0, w < 0 ? errno : 0);
        return;
    }
    if (c->state == CS_CLOSED)
        return;
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
        if (c->out_cap > KEEP_OUT_CAP) {
            free(c->out);
            c->out = NULL;
            c->out_cap = 0;
        }
        if (c->close_after_flush) {
            teardown(c, c->final_error, c->final_reason);
            return;
        }
    }
    update_interest(c);
}

static void flush_deferred(bacsc_loop *loop, void *user)
{
    bacsc_wsconn *c = user;
    c->flush_scheduled = false;
    if (c->state == CS_CLOSED) {
        maybe_free(c);
        return;
    }
    if (c->state == CS_CONNECTING || c->state == CS_TLS)
        return; /* the handshake path flushes */
    c->busy++;
    flush(c);
    if (c->read_more && c->state != CS_CLOSED) {
        on_readable(c);
        if (c->state != CS_CLOSED && c->out_off < c->out_len)
            schedule_flush(c);
        update_interest(c);
    }
    c->busy--;
    maybe_free(c);
}

static void update_interest(bacsc_wsconn *c)
{
    if (c->state == CS_CLOSED || c->fd < 0)
        return;
    unsigned ev = BACSC_EV_READ;
    /* Output whose flush is deferred to the end of this loop turn needs no write
     * interest (2 epoll_ctl per answer); that flush asks if the socket is full. */
    bool out_waits = c->out_off < c->out_len && !(c->flush_scheduled && c->state != CS_TLS);
    if (c->state == CS_CONNECTING || out_waits || c->ssl_read_wants_write)
        ev |= BACSC_EV_WRITE;
    if (c->state == CS_CONNECTING)
        ev = BACSC_EV_WRITE;
    bacsc_loop_set_events(c->loop, c->fd, ev);
}

/* ---- handshake ------------------------------------------------------------- */

static void become_open(bacsc_wsconn *c, unsigned protocol)
{
    if (c->server && c->listener)
        c->listener->st.opened++;
    c->protocol = protocol;
    c->state = CS_OPEN;
    handshake_done(c);
    free(c->hs);
    c->hs = NULL;
    bacsc_timer_stop(c->loop, &c->timer);
    bacsc_ws_decoder_init(&c->dec, c->server, c->opt.max_message);
    c->handed = true;
    BACSC_DEBUG("ws %s %s: open (%s)", c->server ? "from" : "to", c->peer,
                bacsc_ws_protocol_name(protocol));
    if (c->cb.on_open)
        c->cb.on_open(c, protocol, c->user);
}

static void start_http(bacsc_wsconn *c)
{
    c->state = CS_HTTP;
    struct handshake *hs = c->hs;
    int rc;
    if (c->server) {
        rc = bacsc_http_parser_init_request(&hs->http, hs->buf, c->opt.max_header, 0,
                                            c->opt.protocols);
    } else {
        uint8_t nonce[16];
        char key[BACSC_WS_KEY_LEN + 1];
        char req[1024];
        if (RAND_bytes(nonce, sizeof nonce) != 1) {
            teardown(c, BACSC_EC_WS_ERROR, "no random numbers");
            return;
        }
        bacsc_ws_make_key(nonce, key);
        unsigned proto = (c->opt.protocols & BACSC_WS_PROTO_HUB) ? BACSC_WS_PROTO_HUB
                                                                 : BACSC_WS_PROTO_DC;
        rc = bacsc_http_parser_init_response(&hs->http, hs->buf, c->opt.max_header, 0, key, proto);
        int n = rc == BACSC_OK ? bacsc_http_build_request(req, sizeof req, hs->host, hs->path, key,
                                                          proto)
                               : rc;
        if (n < 0 || queue_raw(c, req, (size_t)n) != BACSC_OK) {
            teardown(c, BACSC_EC_HTTP_ERROR, "cannot build the upgrade request");
            return;
        }
        rc = BACSC_OK;
    }
    if (rc != BACSC_OK)
        teardown(c, BACSC_EC_HTTP_ERROR, "cannot start the upgrade");
}

/* The client closed before its TLS handshake was done, with nothing worth
 * reading left (ws_params_internal.h): no further handshake work is spent on
 * it (counted in the listener's `abandoned`). */
static void client_gone(bacsc_wsconn *c)
{
    teardown(c, BACSC_EC_TCP_CLOSED_OTHER, "the client closed during the TLS handshake");
}

static void tls_handshake(bacsc_wsconn *c)
{
    if (c->server && bacsc_io_client_gone(c->fd, BIO_number_read(SSL_get_rbio(c->ssl)) > 0)) {
        client_gone(c);
        return;
    }
    ERR_clear_error();
    int r = bacsc_keyless_after(SSL_do_handshake(c->ssl));
    if (r == 1) {
        bacsc_tls_note_handshake(c->ssl);
        start_http(c);
        if (c->state != CS_CLOSED)
            flush(c);
        return;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
        bacsc_loop_set_events(c->loop, c->fd, BACSC_EV_READ);
        return;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        bacsc_loop_set_events(c->loop, c->fd, BACSC_EV_READ | BACSC_EV_WRITE);
        return;
    }
    io_failed(c, e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 ? SSL_ERROR_SSL : e, errno);
}

static void http_input(bacsc_wsconn *c, uint8_t *data, size_t len)
{
    size_t used = 0;
    bacsc_http_parser *p = &c->hs->http;
    int rc = bacsc_http_feed(p, data, len, &used);
    if (rc == BACSC_HTTP_NEED_MORE)
        return;
    if (c->server) {
        char resp[512];
        if (rc == BACSC_HTTP_DONE) {
            int n = bacsc_http_build_101(resp, sizeof resp, p);
            if (n < 0 || queue_raw(c, resp, (size_t)n) != BACSC_OK) {
                teardown(c, BACSC_EC_HTTP_ERROR, "cannot build the 101 response");
                return;
            }
            become_open(c, p->protocol);
        } else {
            int n = bacsc_http_build_error(resp, sizeof resp, p->http_status ? p->http_status : 400,
                                           p->error_text);
            char why[200];
            snprintf(why, sizeof why, "upgrade refused with HTTP %d: %s", p->http_status,
                     p->error_text);
            if (n > 0 && queue_raw(c, resp, (size_t)n) == BACSC_OK)
                close_after_flush(c, p->error_code, why);
            else
                teardown(c, p->error_code, why);
            return;
        }
    } else {
        if (rc != BACSC_HTTP_DONE) {
            char why[200];
            if (p->status && p->status != 101)
                snprintf(why, sizeof why, "server answered HTTP %d: %s", p->status, p->error_text);
            else
                snprintf(why, sizeof why, "bad upgrade response: %s", p->error_text);
            teardown(c, p->error_code, why);
            return;
        }
        become_open(c, p->protocol);
    }
    if (c->state == CS_OPEN && used < len)
        process_input(c, data + used, len - used);
}

/* ---- frames ---------------------------------------------------------------- */

static void protocol_failure(bacsc_wsconn *c)
{
    char why[200];
    snprintf(why, sizeof why, "%s (close %u)", c->dec.error_text, c->dec.close_code);
    if (!c->close_sent)
        queue_close(c, c->dec.close_code, c->dec.error_text);
    close_after_flush(c, c->dec.error_code, why);
}

static void ws_input(bacsc_wsconn *c, uint8_t *data, size_t len)
{
    while (c->state == CS_OPEN || (c->state == CS_CLOSING && !c->close_received &&
                                   !c->dec.failed)) {
        size_t used = 0;
        bacsc_ws_event ev;
        int rc = bacsc_ws_decode(&c->dec, data, len, &used, &ev);
        data += used;
        len -= used;
        if (rc < 0) {
            protocol_failure(c);
            return;
        }
        switch (rc) {
        case BACSC_WS_EV_NONE:
            return;
        case BACSC_WS_EV_MESSAGE:
            if (c->state == CS_OPEN && c->cb.on_message)
                c->cb.on_message(c, ev.data, ev.len, c->user);
            if (!c->dec.in_message && c->rbuf) { /* reassembly memory only while needed */
                bacsc_ws_set_buffer(&c->dec, NULL, 0);
                free(c->rbuf);
                c->rbuf = NULL;
                c->rcap = 0;
            }
            break;
        case BACSC_WS_EV_NEED_BUFFER: {
            size_t cap = c->rcap ? c->rcap : 2048;
            while (cap < ev.need)
                cap *= 2;
            if (cap > c->opt.max_message)
                cap = c->opt.max_message > ev.need ? c->opt.max_message : ev.need;
            uint8_t *b = realloc(c->rbuf, cap);
            if (!b) {
                teardown(c, BACSC_EC_WS_REQUEST_UNAVAILABLE, "out of memory");
                return;
            }
            c->rbuf = b;
            c->rcap = cap;
            bacsc_ws_set_buffer(&c->dec, b, cap);
            break;
        }
        case BACSC_WS_EV_PING:
            if (!c->close_sent && queue_frame(c, BACSC_WS_OP_PONG, ev.data, ev.len) != BACSC_OK) {
                teardown(c, BACSC_EC_WS_DATA_AGAINST_POLICY, "output queue full");
                return;
            }
            break;
        case BACSC_WS_EV_PONG:
            break;
        case BACSC_WS_EV_CLOSE: {
            c->close_received = true;
            char why[200];
            int rl = (int)(ev.len > 120 ? 120 : ev.len);
            snprintf(why, sizeof why, "peer closed with %u%s%.*s", ev.close_code, rl ? ": " : "",
                     rl, (const char *)ev.data);
            if (c->close_sent) {
                /* Our close confirmed. */
                teardown(c, c->final_error, c->final_reason);
                return;
            }
            uint16_t echo = ev.close_code == BACSC_WS_CLOSE_NO_STATUS ? BACSC_WS_CLOSE_NORMAL
                                                                       : ev.close_code;
            queue_close(c, echo, NULL);
            close_after_flush(c, bacsc_ws_close_to_error(ev.close_code), why);
            return;
        }
        }
    }
}

static void process_input(bacsc_wsconn *c, uint8_t *data, size_t len)
{
    if (c->hs && c->state == CS_CLOSING)
        return; /* refused upgrade: the error response is being sent; ignore input */
    if (c->state == CS_HTTP)
        http_input(c, data, len);
    else if (c->state == CS_OPEN || c->state == CS_CLOSING)
        ws_input(c, data, len);
}

/* Socket BIO callback: remember whether OpenSSL's last read(2) came back short.
 * A short read means the socket was drained at that moment; the loop is
 * level-triggered, so anything arriving later wakes epoll again. */
static long rbio_cb(BIO *b, int oper, const char *argp, size_t len, int argi, long argl, int ret,
                    size_t *processed)
{
    (void)argp;
    (void)argi;
    (void)argl;
    if (oper == (BIO_CB_READ | BIO_CB_RETURN)) {
        bacsc_wsconn *c = (bacsc_wsconn *)(void *)BIO_get_callback_arg(b);
        if (c)
            c->rx_short = ret <= 0 || !processed || *processed < len;
    }
    return ret;
}

static void watch_reads(bacsc_wsconn *c)
{
    BIO *rb = c->ssl ? SSL_get_rbio(c->ssl) : NULL;
    if (!rb)
        return;
    /* writes: own BIO, no callback (OpenSSL 3.0 runs ~8 BIO_ctrl per record) */
    BIO *wb = BIO_new_socket(c->fd, BIO_NOCLOSE);
    if (wb)
        SSL_set0_wbio(c->ssl, wb);
    BIO_set_callback_arg(rb, (char *)(void *)c);
    BIO_set_callback_ex(rb, rbio_cb);
}

/* Read until the socket is drained. A read that returned less than asked
 * ends the round (no second read just to see EAGAIN) unless OpenSSL still
 * holds buffered octets, which epoll cannot see. */
static void on_readable(bacsc_wsconn *c)
{
    size_t cap;
    uint8_t *buf = bacsc_loop_scratch(c->loop, &cap);
    c->ssl_read_wants_write = false;
    c->read_more = false;
    if (c->state == CS_OPEN)
        note_traffic(c);
    for (int rounds = 0; c->state == CS_HTTP || c->state == CS_OPEN || c->state == CS_CLOSING;
         rounds++) {
        if (rounds == READS_PER_EVENT) {
            /* Let other connections run. Data still in the socket wakes epoll
             * again (level-triggered); data already inside OpenSSL does not,
             * so come back from a deferred callback. */
            if (c->ssl && SSL_has_pending(c->ssl)) {
                c->read_more = true;
                if (!c->flush_scheduled &&
                    bacsc_loop_defer(c->loop, flush_deferred, c) == BACSC_OK)
                    c->flush_scheduled = true;
            }
            break;
        }
        size_t n;
        if (c->ssl) {
            if (ERR_peek_error()) /* as in flush() */
                ERR_clear_error();
            int r = bacsc_keyless_after(SSL_read(c->ssl, buf, (int)cap));
            if (r <= 0) {
                int e = SSL_get_error(c->ssl, r);
                if (e == SSL_ERROR_WANT_READ)
                    break;
                if (e == SSL_ERROR_WANT_WRITE) {
                    c->ssl_read_wants_write = true;
                    break;
                }
                if (e == SSL_ERROR_ZERO_RETURN ||
                    (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) ||
                    (e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) ==
                                               SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
                    ERR_clear_error();
                    if (c->close_received || (c->close_sent && c->close_after_flush)) {
                        teardown(c, c->final_error, c->final_reason);
                        return;
                    }
                    io_failed(c, 0, e == SSL_ERROR_SYSCALL ? errno : 0);
                    return;
                }
                io_failed(c, e, errno);
                return;
            }
            n = (size_t)r;
        } else {
            ssize_t r = recv(c->fd, buf, cap, 0);
            if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                break;
            if (r <= 0) {
                if (r == 0 && (c->close_received || (c->close_sent && c->close_after_flush))) {
                    teardown(c, c->final_error, c->final_reason);
                    return;
                }
                io_failed(c, 0, r < 0 ? errno : 0);
                return;
            }
            n = (size_t)r;
            c->rx_short = n < cap;
        }
        process_input(c, buf, n);
        if (c->rx_short && c->state != CS_CLOSED && !(c->ssl && SSL_has_pending(c->ssl)))
            break;
    }
}

/* ---- loop callbacks -------------------------------------------------------- */

static void tcp_connected(bacsc_wsconn *c)
{
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
        err = errno;
    if (err) {
        char why[160];
        snprintf(why, sizeof why, "connect failed: %s", strerror(err));
        teardown(c, err == ECONNREFUSED ? BACSC_EC_TCP_CONNECTION_REFUSED : BACSC_EC_TCP_ERROR, why);
        return;
    }
    bacsc_timer_start(c->loop, &c->timer, (uint64_t)c->opt.handshake_timeout_ms * 1000);
    if (c->ssl) {
        c->state = CS_TLS;
        tls_handshake(c);
    } else {
        start_http(c);
        if (c->state != CS_CLOSED)
            flush(c);
    }
}

/* Server: the first octets arrived; the rest of the handshake gets the full
 * handshake timeout (counted from the accept). */
static void first_octets(bacsc_wsconn *c)
{
    uint8_t b;
    if (recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) != 1)
        return;
    c->got_data = true;
    if (c->state == CS_TLS || c->state == CS_HTTP) {
        uint64_t end = c->accepted_at + (uint64_t)c->opt.handshake_timeout_ms * 1000;
        bacsc_timer_start_at(c->loop, &c->timer, end);
    }
}

static void on_io(bacsc_loop *loop, int fd, unsigned events, void *user)
{
    bacsc_wsconn *c = user;
    c->busy++;
    if (c->server && !c->got_data && (events & BACSC_EV_READ))
        first_octets(c);
    switch (c->state) {
    case CS_CONNECTING:
        tcp_connected(c);
        break;
    case CS_TLS:
        tls_handshake(c);
        /* data after the handshake may be inside OpenSSL (epoll sees the socket only) */
        if (c->state == CS_HTTP && SSL_has_pending(c->ssl))
            on_readable(c);
        if (c->state != CS_CLOSED && c->state != CS_TLS)
            update_interest(c);
        break;
    default:
        if ((events & BACSC_EV_WRITE) && c->ssl_read_wants_write)
            on_readable(c);
        if ((events & BACSC_EV_WRITE) && c->state != CS_CLOSED)
            flush(c);
        if ((events & BACSC_EV_READ) && c->state != CS_CLOSED)
            on_readable(c);
        if (c->state != CS_CLOSED && c->out_off < c->out_len)
            schedule_flush(c);
        if (c->state != CS_CLOSED)
            update_interest(c);
        break;
    }
    c->busy--;
    maybe_free(c);
}

static void handshake_timed_out(bacsc_wsconn *c)
{
    if (c->server && c->listener) {
        if (!c->got_data)
            c->listener->st.first_octet_timeouts++;
        else
            c->listener->st.handshake_timeouts++;
    }
    if (c->server && !c->got_data)
        teardown(c, c->state == CS_TLS ? BACSC_EC_TLS_ERROR : BACSC_EC_HTTP_ERROR,
                 "nothing received within the first-octet timeout");
    else if (c->state == CS_TLS)
        teardown(c, BACSC_EC_TLS_ERROR, "TLS handshake timed out");
    else
        teardown(c, c->server ? BACSC_EC_HTTP_ERROR : BACSC_EC_HTTP_RESPONSE_TIMEOUT,
                 "WebSocket upgrade timed out");
}

/* ---- handshakes on pool workers (hspool.h) --------------------------------- */

/* Hand the server TLS handshake to a worker; nothing of it is touched here
 * until pool_done(). False: do it on the loop (no pool, or the pool is full). */
static bool pool_submit(bacsc_ws_listener *l, bacsc_wsconn *c)
{
    if (!l->pool || !c->ssl)
        return false;
    bacsc_hs_job *j = &c->hs->job;
    j->ssl = c->ssl;
    j->fd = c->fd;
    j->first_octet_deadline_us = c->accepted_at + (uint64_t)l->opt.first_octet_timeout_ms * 1000;
    j->deadline_us = c->accepted_at + (uint64_t)l->opt.handshake_timeout_ms * 1000;
    j->user = c;
    if (bacsc_hspool_submit(l->pool, j) != BACSC_OK)
        return false;
    c->in_pool = true;
    return true;
}

static void pool_done(bacsc_hs_job *j, void *user)
{
    (void)user;
    bacsc_wsconn *c = j->user;
    c->in_pool = false;
    c->busy++;
    if (c->state == CS_CLOSED) { /* torn down meanwhile: release what the worker had */
        close(c->fd);
        c->fd = -1;
        SSL_free(c->ssl);
        c->ssl = NULL;
    } else if (j->result == BACSC_HS_DONE) {
        c->got_data = true;
        if (bacsc_loop_watch(c->loop, c->fd, BACSC_EV_READ, on_io, c) != BACSC_OK) {
            teardown(c, BACSC_EC_TCP_ERROR, "cannot watch the socket");
            c->busy--;
            maybe_free(c);
            return;
        }
        watch_reads(c);
        bacsc_timer_start_at(c->loop, &c->timer,
                             c->accepted_at + (uint64_t)c->opt.handshake_timeout_ms * 1000);
        bacsc_tls_note_handshake(c->ssl);
        start_http(c);
        if (c->state == CS_HTTP && SSL_has_pending(c->ssl)) /* the request, in OpenSSL already */
            on_readable(c);
        if (c->state != CS_CLOSED)
            update_interest(c);
    } else {
        /* not watched by the loop: teardown's unwatch is a no-op */
        c->got_data = j->got_data;
        if (j->result == BACSC_HS_FAILED)
            teardown(c, j->error_code, j->error_text);
        else if (j->result == BACSC_HS_CANCELLED)
            teardown(c, BACSC_EC_TCP_CLOSED_BY_LOCAL, "closed locally");
        else if (j->result == BACSC_HS_PEER_GONE)
            client_gone(c);
        else
            handshake_timed_out(c);
    }
    c->busy--;
    maybe_free(c);
}

static void on_timer(bacsc_loop *loop, void *user)
{
    bacsc_wsconn *c = user;
    c->busy++;
    switch (c->state) {
    case CS_CONNECTING:
        teardown(c, BACSC_EC_TCP_CONNECT_TIMEOUT, "TCP connect timed out");
        break;
    case CS_TLS:
    case CS_HTTP:
        handshake_timed_out(c);
        break;
    case CS_OPEN:
        if (c->bufs_kept)
            release_buffers(c);
        break;
    case CS_CLOSING:
        if (c->close_after_flush)
            teardown(c, c->final_error, c->final_reason);
        else
            teardown(c, BACSC_EC_WS_CLOSED_ABNORMALLY, "no close frame from the peer");
        break;
    default:
        break;
    }
    c->busy--;
    maybe_free(c);
}

/* ---- construction ---------------------------------------------------------- */

static bacsc_wsconn *conn_new(bacsc_loop *loop, int fd, bool server, const bacsc_ws_options *opt,
                              const bacsc_ws_callbacks *cb, void *user)
{
    bacsc_wsconn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->hs = calloc(1, sizeof *c->hs + opt->max_header);
    if (!c->hs) {
        free(c);
        return NULL;
    }
    c->loop = loop;
    c->fd = fd;
    c->server = server;
    c->opt = *opt;
    if (cb)
        c->cb = *cb;
    c->user = user;
    bacsc_timer_init(&c->timer, on_timer, c);
    return c;
}

/* ---- listener -------------------------------------------------------------- */

/* Per-source-address admission of an accepted socket. Returns the address
 * entry to charge (NULL: not tracked — limits off, or no memory), or sets
 * *refused after refusing (fd closed). */
static bacsc_addr_entry *admit(bacsc_ws_listener *l, int fd, const struct sockaddr *sa,
                               bool *refused)
{
    *refused = false;
    const bacsc_ws_options *o = &l->opt;
    bool rate_on = o->accept_rate_per_addr != BACSC_WS_OFF;
    bool conc_on = o->max_handshakes_per_addr != BACSC_WS_OFF;
    if (!rate_on && !conc_on)
        return NULL;
    uint64_t now = bacsc_loop_now(l->loop);
    double rate = rate_on ? o->accept_rate_per_addr : 0;
    double burst = rate_on ? o->accept_burst_per_addr : 0;
    if (now - l->swept >= ADDR_SWEEP_US || bacsc_addr_limit_count(l->addrs) > 4u * o->max_connections) {
        bacsc_addr_limit_sweep(l->addrs, rate, burst, now);
        l->swept = now;
    }
    bacsc_addr_entry *e = bacsc_addr_limit_get(l->addrs, sa, burst, now);
    if (!e)
        return NULL;
    char why[160];
    if (conc_on && e->handshaking >= o->max_handshakes_per_addr &&
        l->handshaking >= o->max_handshakes / 4) {
        l->st.refused_addr_handshakes++;
        snprintf(why, sizeof why, "%u unauthenticated connections from this address "
                 "(max_handshakes_per_address %u)", e->handshaking, o->max_handshakes_per_addr);
        bacsc_addr_log_refusal(e, why, l->handshaking, now);
        bacsc_io_refuse_fd(fd);
        *refused = true;
        return NULL;
    }
    if (!bacsc_addr_take(e, rate, burst, now)) {
        l->st.refused_addr_rate++;
        snprintf(why, sizeof why, "more than %u connections per second from this address "
                 "(accept_rate_per_address, burst %u)", o->accept_rate_per_addr,
                 o->accept_burst_per_addr);
        bacsc_addr_log_refusal(e, why, l->handshaking, now);
        bacsc_io_refuse_fd(fd);
        *refused = true;
        return NULL;
    }
    return e;
}

static void on_accept(bacsc_loop *loop, int fd, unsigned events, void *user)
{
    bacsc_ws_listener *l = user;
    for (int i = 0; i < 64; i++) {
        if (l->handshaking >= l->opt.max_handshakes) {
            if (l->grace) {
                l->grace--;
            } else {
                /* leave the rest in the kernel's accept queue until one opens
                 * (or, at the latest, until the grace timer) */
                if (bacsc_loop_set_events(loop, l->fd, 0) == BACSC_OK)
                    l->paused = true;
                if (!bacsc_timer_active(&l->grace_timer))
                    bacsc_timer_start(loop, &l->grace_timer, HANDSHAKE_GRACE_US);
                return;
            }
        }
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int cfd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED)
                BACSC_WARN("accept: %s", strerror(errno));
            return;
        }
        if (bacsc_io_client_gone(cfd, false)) { /* gave up while in the accept queue: no TLS work */
            l->st.abandoned++;
            bacsc_io_refuse_fd(cfd);
            continue;
        }
        char peer[56];
        bacsc_io_format_addr((struct sockaddr *)&ss, peer, sizeof peer, NULL);
        if (l->count >= l->opt.max_connections) {
            l->st.refused_max_connections++;
            BACSC_WARN("ws listener: refusing %s: %u connections (limit)", peer, l->count);
            bacsc_io_refuse_fd(cfd);
            continue;
        }
        bool refused;
        bacsc_addr_entry *ae = admit(l, cfd, (struct sockaddr *)&ss, &refused);
        if (refused)
            continue;
        bacsc_io_nodelay_accepted(cfd, &l->nodelay_inherited);
        bacsc_wsconn *c = conn_new(loop, cfd, true, &l->opt, &l->cb, l->user);
        if (!c) {
            close(cfd);
            continue;
        }
        snprintf(c->peer, sizeof c->peer, "%s", peer);
        if (l->tls) {
            c->ssl = bacsc_tls_new_ssl(l->tls, cfd, NULL);
            if (!c->ssl) {
                close(cfd);
                conn_free(c);
                continue;
            }
        }
        c->accepted_at = bacsc_loop_now(loop);
        if (!pool_submit(l, c)) {
            if (c->ssl)
                watch_reads(c);
            if (bacsc_loop_watch(loop, cfd, BACSC_EV_READ, on_io, c) != BACSC_OK) {
                SSL_free(c->ssl);
                close(cfd);
                conn_free(c);
                continue;
            }
            bacsc_timer_start(loop, &c->timer, (uint64_t)l->opt.first_octet_timeout_ms * 1000);
        }
        c->listener = l;
        c->next = l->conns;
        if (l->conns)
            l->conns->prev = c;
        l->conns = c;
        l->count++;
        c->handshaking = true;
        l->handshaking++;
        l->st.accepted++;
        c->addr = ae;
        if (ae)
            ae->handshaking++;
        c->state = c->ssl ? CS_TLS : CS_HTTP;
        if (!c->ssl)
            start_http(c);
        if (l->cb.on_accept) {
            c->handed = true;
            c->busy++;
            c->user = l->cb.on_accept(c, l->user);
            c->busy--;
            maybe_free(c);
        }
    }
}

int bacsc_ws_listen(bacsc_loop *loop, const char *addr_port, bacsc_tls_ctx *tls,
                    const bacsc_ws_options *opt, const bacsc_ws_callbacks *cb, void *user,
                    bacsc_ws_listener **out)
{
    char host[256], port[8];
    if (!loop || !addr_port || !cb || !out ||
        bacsc_io_split_host_port(addr_port, host, sizeof host, port, sizeof port, NULL) != BACSC_OK)
        return BACSC_ERR_INVALID_ARG;
    bacsc_ws_options o;
    bacsc_io_ws_fill_defaults(&o, opt);
    if (!tls && !o.insecure_plaintext)
        return BACSC_ERR_POLICY;
    if (tls && !bacsc_tls_ctx_is_server(tls))
        return BACSC_ERR_INVALID_ARG;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        return BACSC_ERR_INVALID_ARG;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(ai);
        return BACSC_ERR_IO;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 4096) != 0) {
        int e = errno;
        freeaddrinfo(ai);
        close(fd);
        errno = e;
        return BACSC_ERR_IO;
    }
    freeaddrinfo(ai);
    bacsc_ws_listener *l = calloc(1, sizeof *l);
    if (!l) {
        close(fd);
        return BACSC_ERR_NOMEM;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    char name[64];
    bacsc_io_format_addr((struct sockaddr *)&ss, name, sizeof name, &l->port);
    l->loop = loop;
    l->fd = fd;
    l->nodelay_inherited = bacsc_io_nodelay_listen(fd);
    l->tls = tls;
    l->opt = o;
    l->cb = *cb;
    l->user = user;
    bacsc_timer_init(&l->grace_timer, on_grace, l);
    l->addrs = bacsc_addr_limit_new();
    if (tls && o.handshake_threads)
        l->pool = bacsc_hspool_new(loop, o.handshake_threads == BACSC_WS_AUTO ? 0
                                                                          : o.handshake_threads,
                                   o.max_handshakes, pool_done, l);
    if (!l->addrs || (tls && o.handshake_threads && !l->pool) ||
        bacsc_loop_watch(loop, fd, BACSC_EV_READ, on_accept, l) != BACSC_OK) {
        int rc = l->addrs && (!tls || !o.handshake_threads || l->pool) ? BACSC_ERR_IO
                                                                        : BACSC_ERR_NOMEM;
        bacsc_hspool_free(l->pool);
        bacsc_addr_limit_free(l->addrs);
        close(fd);
        free(l);
        return rc;
    }
    BACSC_INFO("listening on %s (%s%s)", name, tls ? "wss" : "ws, INSECURE plaintext",
               l->pool ? ", TLS handshakes on worker threads" : "");
    *out = l;
    return BACSC_OK;
}

uint16_t bacsc_ws_listener_port(const bacsc_ws_listener *l)
{
    return l->port;
}

unsigned bacsc_ws_listener_count(const bacsc_ws_listener *l)
{
    return l->count;
}

void bacsc_ws_listener_get_stats(const bacsc_ws_listener *l, bacsc_ws_listener_stats *out)
{
    *out = l->st;
    out->handshaking = l->handshaking;
    out->addresses = (unsigned)bacsc_addr_limit_count(l->addrs);
    out->max_addr_handshaking = 0;
    if (l->pool) {
        bacsc_hspool_stats ps;
        bacsc_hspool_get_stats(l->pool, &ps);
        out->handshake_threads = ps.threads;
        out->handshake_queue = ps.queued;
        out->handshakes_per_s = ps.handshakes_per_s;
        out->handshake_ctl_calls = ps.ctl_calls;
    }
    for (const bacsc_wsconn *c = l->conns; c; c = c->next)
        if (c->addr && c->addr->handshaking > out->max_addr_handshaking)
            out->max_addr_handshaking = c->addr->handshaking;
}

void bacsc_ws_listener_close(bacsc_ws_listener *l)
{
    if (!l)
        return;
    /* handshakes still on the workers come back cancelled (on_close) first */
    bacsc_hspool_free(l->pool);
    l->pool = NULL;
    for (bacsc_wsconn *c = l->conns; c; c = c->next) {
        c->listener = NULL;
        c->addr = NULL;
    }
    bacsc_addr_limit_free(l->addrs);
    bacsc_timer_stop(l->loop, &l->grace_timer);
    bacsc_loop_unwatch(l->loop, l->fd);
    close(l->fd);
    free(l);
}

/* ---- client ---------------------------------------------------------------- */

int bacsc_ws_connect(bacsc_loop *loop, const char *uri, bacsc_tls_ctx *tls,
                     const bacsc_ws_options *opt, const bacsc_ws_callbacks *cb, void *user,
                     bacsc_wsconn **out)
{
    if (!loop || !uri || !cb || !out)
        return BACSC_ERR_INVALID_ARG;
    bacsc_ws_options o;
    bacsc_io_ws_fill_defaults(&o, opt);
    bool secure;
    const char *rest;
    if (strncmp(uri, "wss://", 6) == 0) {
        secure = true;
        rest = uri + 6;
    } else if (strncmp(uri, "ws://", 5) == 0) {
        secure = false;
        rest = uri + 5;
    } else {
        return BACSC_ERR_INVALID_ARG;
    }
    if (secure && (!tls || bacsc_tls_ctx_is_server(tls)))
        return tls ? BACSC_ERR_INVALID_ARG : BACSC_ERR_POLICY;
    if (!secure && !o.insecure_plaintext)
        return BACSC_ERR_POLICY;
    const char *slash = strchr(rest, '/');
    size_t al = slash ? (size_t)(slash - rest) : strlen(rest);
    char authority[300], host[256], port[8];
    if (al == 0 || al >= sizeof authority || strpbrk(rest, "?#@ ") != NULL)
        return BACSC_ERR_INVALID_ARG;
    memcpy(authority, rest, al);
    authority[al] = '\0';
    if (bacsc_io_split_host_port(authority, host, sizeof host, port, sizeof port, secure ? "443" : "80") !=
        BACSC_OK)
        return BACSC_ERR_INVALID_ARG;
    const char *path = slash ? slash : "/";
    if (strlen(path) >= 256)
        return BACSC_ERR_INVALID_ARG;

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
        return BACSC_ERR_NOT_FOUND;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(ai);
        return BACSC_ERR_IO;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    bacsc_wsconn *c = conn_new(loop, fd, false, &o, cb, user);
    if (!c) {
        freeaddrinfo(ai);
        close(fd);
        return BACSC_ERR_NOMEM;
    }
    bacsc_io_format_addr(ai->ai_addr, c->peer, sizeof c->peer, NULL);
    int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
    int cerr = errno;
    freeaddrinfo(ai);
    if (r != 0 && cerr != EINPROGRESS) {
        close(fd);
        conn_free(c);
        errno = cerr;
        return BACSC_ERR_IO;
    }
    /* Host header: the authority as written (default port omitted). */
    snprintf(c->hs->host, sizeof c->hs->host, "%s", authority);
    snprintf(c->hs->path, sizeof c->hs->path, "%s", path);
    snprintf(c->hs->tls_host, sizeof c->hs->tls_host, "%s", host);
    if (secure) {
        c->ssl = bacsc_tls_new_ssl(tls, fd, host);
        if (!c->ssl || (o.resume && bacsc_tls_ssl_set_resume(c->ssl, o.resume) != 0)) {
            SSL_free(c->ssl);
            c->ssl = NULL;
            close(fd);
            conn_free(c);
            return BACSC_ERR_CRYPTO;
        }
        watch_reads(c);
    }
    if (bacsc_loop_watch(loop, fd, BACSC_EV_WRITE, on_io, c) != BACSC_OK) {
        SSL_free(c->ssl);
        close(fd);
        conn_free(c);
        return BACSC_ERR_IO;
    }
    c->state = CS_CONNECTING;
    c->handed = true;
    bacsc_timer_start(loop, &c->timer, (uint64_t)o.connect_timeout_ms * 1000);
    *out = c;
    return BACSC_OK;
}

/* ---- public operations ----------------------------------------------------- */

int bacsc_wsconn_send(bacsc_wsconn *c, const uint8_t *data, size_t len)
{
    if (c->state != CS_OPEN || c->close_sent)
        return BACSC_ERR_STATE;
    if (len && !data)
        return BACSC_ERR_INVALID_ARG;
    return queue_frame(c, BACSC_WS_OP_BINARY, data, len);
}

int bacsc_wsconn_ping(bacsc_wsconn *c, const uint8_t *data, size_t len)
{
    if (c->state != CS_OPEN || c->close_sent)
        return BACSC_ERR_STATE;
    if (len > BACSC_WS_MAX_CONTROL || (len && !data))
        return BACSC_ERR_INVALID_ARG;
    return queue_frame(c, BACSC_WS_OP_PING, data, len);
}

void bacsc_wsconn_close(bacsc_wsconn *c, uint16_t code, const char *reason)
{
    if (c->state == CS_CLOSED || c->close_sent || c->state == CS_CLOSING)
        return;
    if (c->state != CS_OPEN) {
        bacsc_wsconn_abort(c);
        return;
    }
    c->busy++;
    if (queue_close(c, code ? code : BACSC_WS_CLOSE_NORMAL, reason) != BACSC_OK) {
        teardown(c, BACSC_EC_TCP_CLOSED_BY_LOCAL, "closed locally (output queue full)");
    } else {
        c->state = CS_CLOSING;
        c->final_error = 0;
        set_reason(c, "closed locally");
        bacsc_timer_start(c->loop, &c->timer, (uint64_t)c->opt.close_timeout_ms * 1000);
    }
    c->busy--;
    maybe_free(c);
}

void bacsc_wsconn_abort(bacsc_wsconn *c)
{
    if (c->state == CS_CLOSED)
        return;
    teardown(c, BACSC_EC_TCP_CLOSED_BY_LOCAL, "closed locally");
}

void *bacsc_wsconn_user(const bacsc_wsconn *c)
{
    return c->user;
}

void bacsc_wsconn_set_user(bacsc_wsconn *c, void *user)
{
    c->user = user;
}

bool bacsc_wsconn_is_open(const bacsc_wsconn *c)
{
    return c->state == CS_OPEN;
}

bool bacsc_wsconn_is_server(const bacsc_wsconn *c)
{
    return c->server;
}

unsigned bacsc_wsconn_protocol(const bacsc_wsconn *c)
{
    return c->protocol;
}

const char *bacsc_wsconn_peer(const bacsc_wsconn *c)
{
    return c->peer;
}

size_t bacsc_wsconn_queued(const bacsc_wsconn *c)
{
    return c->out_len - c->out_off;
}

bool bacsc_wsconn_got_data(const bacsc_wsconn *c)
{
    return c->got_data;
}

struct ssl_st *bacsc_wsconn_ssl(const bacsc_wsconn *c)
{
    return c->ssl;
}
