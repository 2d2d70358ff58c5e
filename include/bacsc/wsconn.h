/*
 * bacsc/wsconn.h — WebSocket connections over TLS (or plaintext) TCP.
 *
 * A bacsc_wsconn carries BACnet/SC binary messages over one non-blocking
 * TCP socket driven by a bacsc_loop: TCP connect (client) → TLS 1.3
 * handshake (unless plaintext) → HTTP upgrade with subprotocol negotiation
 * → open: binary messages in and out → close handshake. Everything is
 * bounded: handshake and connect timeouts, the HTTP header size, the
 * message size, the outgoing queue.
 *
 * Life cycle and callbacks (all called from the loop):
 *   on_open(c, protocol, user)        upgrade done; protocol is one
 *                                     BACSC_WS_PROTO_* bit. Sending allowed.
 *   on_message(c, data, len, user)    one complete binary message; data is
 *                                     valid only during the call.
 *   on_close(c, error_code, reason, user)
 *                                     exactly once for every connection that
 *                                     was handed to the user (connect or
 *                                     on_accept), however it ends; the
 *                                     connection is freed right after it
 *                                     returns. error_code (BACnet, class
 *                                     COMMUNICATION): 0 after a close we
 *                                     started and the peer confirmed; 169..179
 *                                     from the peer's close code or a
 *                                     WebSocket violation; 152..165 HTTP
 *                                     upgrade failures; 180..188 TLS; 193
 *                                     connect timeout, 194 refused, 195
 *                                     closed-by-local (abort), 196/197 TCP.
 *   on_accept(c, user)                server: a TCP connection was accepted;
 *                                     return a user pointer for it (or the
 *                                     listener's). Optional.
 * Any function may be called from inside callbacks, including
 * bacsc_wsconn_close()/abort() on the same connection.
 *
 * Memory per open connection is small: no fixed per-connection buffers; the
 * header buffer exists only during the upgrade, the reassembly buffer only
 * while a fragmented/partial message is being received, the output queue
 * only while data waits for the socket; reads go through the loop's shared
 * scratch buffer; OpenSSL uses SSL_MODE_RELEASE_BUFFERS.
 */
#ifndef BACSC_WSCONN_H
#define BACSC_WSCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/bvlc.h" /* BACSC_EC_TLS_*, BACSC_EC_TCP_* error codes */
#include "bacsc/http.h"
#include "bacsc/loop.h"
#include "bacsc/tls.h"
#include "bacsc/ws.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bacsc_wsconn bacsc_wsconn;
typedef struct bacsc_ws_listener bacsc_ws_listener;

/* An option value that switches a per-address limit off. */
#define BACSC_WS_OFF 0xFFFFFFFFu
/* handshake_threads: one worker per online CPU. */
#define BACSC_WS_AUTO 0xFFFFFFFFu

typedef struct bacsc_ws_callbacks {
    void *(*on_accept)(bacsc_wsconn *c, void *listener_user);
    void (*on_open)(bacsc_wsconn *c, unsigned protocol, void *user);
    void (*on_message)(bacsc_wsconn *c, const uint8_t *data, size_t len, void *user);
    void (*on_close)(bacsc_wsconn *c, uint16_t error_code, const char *reason, void *user);
} bacsc_ws_callbacks;

/* Options; zero fields take the defaults shown. */
typedef struct bacsc_ws_options {
    unsigned protocols;            /* server: accepted BACSC_WS_PROTO_* bits (default HUB);
                                      client: the one to request (default HUB) */
    size_t max_message;            /* largest message in (default 65536) */
    size_t max_queue;              /* bytes waiting to be sent (default 1 MiB); over → send fails */
    size_t max_header;             /* HTTP header limit (default 4096) */
    uint32_t handshake_timeout_ms; /* TCP accept/connect → open (default 10000) */
    uint32_t connect_timeout_ms;   /* TCP connect (client, default 10000) */
    uint32_t close_timeout_ms;     /* wait for the peer's close frame (default 5000) */
    unsigned max_connections;      /* listener: simultaneous connections (default 10000) */
    bool insecure_plaintext;       /* allow ws:// without TLS (tests/debugging only) */
    unsigned max_handshakes;       /* listener: connections between accept and open at once
                                      (default 128); further ones wait, in order, in the
                                      kernel's accept queue, so a reconnect storm is served
                                      first come first served instead of every handshake
                                      slowing down together past the clients' connect wait.
                                      While all are taken, 64 more are still accepted each
                                      second, so silent peers holding every slot until the
                                      handshake timeout cannot stop the listener */
    /* Per-source-address limits of a listener (before the connection is open,
     * i.e. before it has authenticated). BACSC_WS_OFF disables one. */
    unsigned max_handshakes_per_addr; /* connections between accept and open one address may
                                         hold while at least a quarter of max_handshakes is
                                         taken (default 8); further ones are refused at once */
    unsigned accept_rate_per_addr;    /* accepts per second per address, token bucket
                                         (default 50); over → refused at once */
    unsigned accept_burst_per_addr;   /* the bucket's size (default 2 × the rate) */
    uint32_t first_octet_timeout_ms;  /* server: the first octets of the TLS ClientHello (or
                                         the HTTP request in plaintext) must arrive within
                                         this (default 3000; never above handshake_timeout) */
    unsigned handshake_threads;    /* listener: TLS handshakes on this many worker threads
                                      (bacsc/hspool.h; BACSC_WS_AUTO: one per CPU), at most
                                      max_handshakes at once; the loop only accepts and then
                                      runs the open connections. 0 (default): on the loop */
    bacsc_tls_resume *resume;      /* client: offer the session stored here and store the
                                      tickets the server sends (tls.h); NULL = no
                                      resumption. Must outlive the connection */
} bacsc_ws_options;

/*
 * Listen on "ADDR:PORT" ("127.0.0.1:0", "[::1]:4443", "0.0.0.0:443").
 *   tls    server TLS context; NULL only with opt->insecure_plaintext
 *   cb     callbacks for every accepted connection
 *   user   passed to on_accept (and used as each connection's user when
 *          there is no on_accept)
 * The listener keeps pointers to tls and must be closed before it is freed.
 * Returns BACSC_OK (with *out), BACSC_ERR_INVALID_ARG (bad address),
 * BACSC_ERR_POLICY (no TLS without insecure_plaintext), BACSC_ERR_IO
 * (bind/listen failed, errno kept) or BACSC_ERR_NOMEM.
 */
int bacsc_ws_listen(bacsc_loop *loop, const char *addr_port, bacsc_tls_ctx *tls,
                    const bacsc_ws_options *opt, const bacsc_ws_callbacks *cb, void *user,
                    bacsc_ws_listener **out);

/* The bound port (useful after ":0"). */
uint16_t bacsc_ws_listener_port(const bacsc_ws_listener *l);

/* Connections currently open or opening through this listener. */
unsigned bacsc_ws_listener_count(const bacsc_ws_listener *l);

/* What a listener did with the connections it saw (counters since it
 * started). Refusals at accept close the socket at once (TCP RST), before
 * any TLS work. */
typedef struct bacsc_ws_listener_stats {
    uint64_t accepted;                /* handed to the handshake */
    uint64_t refused_max_connections; /* max_connections reached */
    uint64_t refused_addr_handshakes; /* max_handshakes_per_addr reached */
    uint64_t refused_addr_rate;       /* accept_rate_per_addr exceeded */
    uint64_t first_octet_timeouts;    /* nothing received within first_octet_timeout_ms */
    uint64_t handshake_timeouts;      /* TLS or upgrade not done within handshake_timeout_ms */
    uint64_t tls_failed[9];           /* TLS handshake failures by error code 180..188 */
    uint64_t upgrade_failed;          /* HTTP upgrade refused (152..165) */
    uint64_t opened;                  /* handshakes completed (connection open) */
    uint64_t abandoned;               /* the client closed before its TLS handshake was done
                                         (e.g. gave up while waiting in the accept queue):
                                         dropped before the next handshake step */
    unsigned handshaking;             /* now: connections between accept and open */
    unsigned addresses;               /* now: source addresses tracked */
    unsigned max_addr_handshaking;    /* now: most handshakes held by one address */
    unsigned handshake_threads;       /* TLS handshake workers (0: on the loop) */
    unsigned handshake_queue;         /* now: handshakes on the workers */
    double handshakes_per_s;          /* handshakes the workers completed in the last second */
    uint64_t handshake_ctl_calls;     /* epoll_ctl(2) calls of the workers (for tests) */
} bacsc_ws_listener_stats;

void bacsc_ws_listener_get_stats(const bacsc_ws_listener *l, bacsc_ws_listener_stats *out);

/* Stop listening and free the listener. Established connections live on. */
void bacsc_ws_listener_close(bacsc_ws_listener *l);

/*
 * Connect to "wss://HOST[:PORT][/PATH]" (or "ws://…" only with
 * opt->insecure_plaintext). HOST is an IP literal or a name (resolved with
 * getaddrinfo — blocking; prefer literals in daemons). The outcome comes
 * through on_open or on_close (connect refused, timeout, TLS, HTTP).
 *   tls   client TLS context (NULL for ws://)
 * Returns BACSC_OK (with *out), BACSC_ERR_INVALID_ARG (bad URI; error code
 * 166 scheme-not-supported for other schemes), BACSC_ERR_POLICY (ws://
 * without insecure_plaintext, or wss:// without tls), BACSC_ERR_NOT_FOUND
 * (name not resolved), BACSC_ERR_IO or BACSC_ERR_NOMEM.
 */
int bacsc_ws_connect(bacsc_loop *loop, const char *uri, bacsc_tls_ctx *tls,
                     const bacsc_ws_options *opt, const bacsc_ws_callbacks *cb, void *user,
                     bacsc_wsconn **out);

/*
 * Queue one binary message. Frames are written when the loop regains
 * control (many messages share one TLS record).
 * Returns BACSC_OK, BACSC_ERR_STATE (not open, or closing), BACSC_ERR_LIMIT
 * (the output queue would exceed max_queue; nothing queued) or
 * BACSC_ERR_NOMEM.
 */
int bacsc_wsconn_send(bacsc_wsconn *c, const uint8_t *data, size_t len);

/* Send a ping (payload ≤ 125). Returns as bacsc_wsconn_send(). */
int bacsc_wsconn_ping(bacsc_wsconn *c, const uint8_t *data, size_t len);

/*
 * Start the close handshake: send a close frame (code, reason) after the
 * queued data, wait up to close_timeout_ms for the peer's, then close TCP
 * and call on_close (error 0 if confirmed, 173 on timeout). Before the
 * connection is open this aborts instead. Idempotent.
 */
void bacsc_wsconn_close(bacsc_wsconn *c, uint16_t code, const char *reason);

/* Close TCP now (no close frame); on_close(195 closed-by-local) follows
 * before this returns, unless already reported. */
void bacsc_wsconn_abort(bacsc_wsconn *c);

void *bacsc_wsconn_user(const bacsc_wsconn *c);
void bacsc_wsconn_set_user(bacsc_wsconn *c, void *user);
bool bacsc_wsconn_is_open(const bacsc_wsconn *c);
bool bacsc_wsconn_is_server(const bacsc_wsconn *c);
/* The negotiated subprotocol bit (0 before open). */
unsigned bacsc_wsconn_protocol(const bacsc_wsconn *c);
/* Peer address "IP:PORT" (IPv6 as "[IP]:PORT"). */
const char *bacsc_wsconn_peer(const bacsc_wsconn *c);
/* Bytes waiting in the output queue. */
size_t bacsc_wsconn_queued(const bacsc_wsconn *c);
/* Whether any octet has been received on the connection. */
bool bacsc_wsconn_got_data(const bacsc_wsconn *c);
/* The TLS session (NULL in plaintext), e.g. to read the peer certificate. */
struct ssl_st *bacsc_wsconn_ssl(const bacsc_wsconn *c);

#ifdef __cplusplus
}
#endif
#endif
