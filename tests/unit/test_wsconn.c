/*
 * test_wsconn.c — WebSocket connections over real TLS 1.3 on 127.0.0.1.
 *
 * A listener and clients run on one event loop in this process; certificates
 * come from support_pki (two CAs, expired and revoked leaves). Independent
 * peers: the `openssl s_client` command (no client certificate, TLS 1.2) and
 * a raw blocking TLS client in a thread that sends hand-made bytes (missing
 * subprotocol, text frame, oversized frame, unmasked frame).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "bacsc/wsconn.h"
#include "support_sc.h"

static sct_env env;
static bacsc_loop *loop;

struct peer {
    int accepted;
    int opened;
    int closed;
    uint16_t code;
    char reason[256];
    unsigned proto;
    int msgs;
    size_t bytes;
    uint8_t last[65536];
    size_t last_len;
    bool echo;
    bacsc_wsconn *conn;
};

static struct peer srv, cli;

static void *cb_accept(bacsc_wsconn *c, void *user)
{
    struct peer *p = user;
    p->accepted++;
    return p;
}

static void cb_open(bacsc_wsconn *c, unsigned proto, void *user)
{
    struct peer *p = user;
    p->opened++;
    p->proto = proto;
    p->conn = c;
}

static void cb_message(bacsc_wsconn *c, const uint8_t *data, size_t len, void *user)
{
    struct peer *p = user;
    p->msgs++;
    p->bytes += len;
    if (len <= sizeof p->last) {
        memcpy(p->last, data, len);
        p->last_len = len;
    }
    if (p->echo)
        assert_int_equal(bacsc_wsconn_send(c, data, len), BACSC_OK);
}

static void cb_close(bacsc_wsconn *c, uint16_t code, const char *reason, void *user)
{
    struct peer *p = user;
    p->closed++;
    p->code = code;
    snprintf(p->reason, sizeof p->reason, "%s", reason);
    if (p->conn == c)
        p->conn = NULL;
}

static const bacsc_ws_callbacks callbacks = {cb_accept, cb_open, cb_message, cb_close};

static void path(char *out, const char *name, const char *ext)
{
    sct_env_path(&env, out, name, ext);
}

static bool want_hostname_check;

static bacsc_tls_ctx *make_ctx(bool server, const char *leaf, const char *ca, const char *crl,
                               const char *keylog)
{
    char cert[512], key[512], issuer[512], crlp[512];
    path(cert, leaf, "pem");
    path(key, leaf, "key");
    path(issuer, ca, "pem");
    if (crl)
        path(crlp, crl, "crl");
    bacsc_tls_config cfg = {.cert_file = cert, .key_file = key, .issuer_files = {issuer, NULL},
                            .crl_file = crl ? crlp : NULL, .keylog_file = keylog ? keylog : "",
                            .verify_hostname = want_hostname_check};
    char err[256];
    bacsc_tls_ctx *t = bacsc_tls_ctx_new(&cfg, server, err, sizeof err);
    if (!t)
        fail_msg("tls ctx: %s", err);
    return t;
}


struct server {
    bacsc_tls_ctx *tls;
    bacsc_ws_listener *l;
    char uri[64];
    uint16_t port;
};

static void server_start(struct server *s, bacsc_tls_ctx *tls, const bacsc_ws_options *opt)
{
    memset(&srv, 0, sizeof srv);
    srv.echo = true;
    s->tls = tls;
    assert_int_equal(bacsc_ws_listen(loop, "127.0.0.1:0", tls, opt, &callbacks, &srv, &s->l), BACSC_OK);
    s->port = bacsc_ws_listener_port(s->l);
    assert_true(s->port > 0);
    snprintf(s->uri, sizeof s->uri, "%s://127.0.0.1:%u/hub", tls ? "wss" : "ws", s->port);
}

static void server_stop(struct server *s)
{
    sct_run_for(loop, 20);
    bacsc_ws_listener_close(s->l);
    bacsc_tls_ctx_free(s->tls);
}

static bacsc_wsconn *client_connect(const char *uri, bacsc_tls_ctx *tls, const bacsc_ws_options *opt)
{
    memset(&cli, 0, sizeof cli);
    bacsc_wsconn *c = NULL;
    assert_int_equal(bacsc_ws_connect(loop, uri, tls, opt, &callbacks, &cli, &c), BACSC_OK);
    assert_non_null(c);
    return c;
}

/* ---- happy path ------------------------------------------------------------ */

static void mutual_auth_roundtrip(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, make_ctx(true, "server", "ca1", NULL, NULL), NULL);
    bacsc_tls_ctx *ct = make_ctx(false, "client", "ca1", NULL, NULL);
    bacsc_wsconn *c = client_connect(s.uri, ct, NULL);
    sct_run_until(loop, &cli.opened, 1, 5000);
    assert_int_equal(cli.opened, 1);
    assert_int_equal(srv.opened, 1);
    assert_int_equal(cli.proto, BACSC_WS_PROTO_HUB);
    assert_int_equal(srv.proto, BACSC_WS_PROTO_HUB);
    assert_true(bacsc_wsconn_is_open(c));
    assert_false(bacsc_wsconn_is_server(c));
    assert_non_null(bacsc_wsconn_ssl(c));
    assert_string_equal(SSL_get_version(bacsc_wsconn_ssl(c)), "TLSv1.3");
    assert_int_equal(bacsc_ws_listener_count(s.l), 1);
    /* both ends without Nagle (the accepted socket gets it from the listener) */
    int nd = 0;
    socklen_t ndl = sizeof nd;
    assert_non_null(srv.conn);
    assert_int_equal(getsockopt(SSL_get_fd(bacsc_wsconn_ssl(srv.conn)), IPPROTO_TCP, TCP_NODELAY,
                                &nd, &ndl), 0);
    assert_int_equal(nd, 1);
    nd = 0;
    assert_int_equal(getsockopt(SSL_get_fd(bacsc_wsconn_ssl(c)), IPPROTO_TCP, TCP_NODELAY, &nd,
                                &ndl), 0);
    assert_int_equal(nd, 1);

    static uint8_t big[40000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 13 + 1);
    size_t sizes[] = {1, 1400, 40000, 0};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(bacsc_wsconn_send(c, big, sizes[i]), BACSC_OK);
    assert_int_equal(bacsc_wsconn_ping(c, (const uint8_t *)"hi", 2), BACSC_OK);
    sct_run_until(loop, &cli.msgs, 4, 5000);
    assert_int_equal(cli.msgs, 4);
    assert_int_equal(srv.msgs, 4);
    assert_int_equal(cli.bytes, 41401);
    assert_int_equal(cli.last_len, 0);
    assert_int_equal(srv.bytes, 41401);

    /* 40000 back again to check the content after reassembly. */
    assert_int_equal(bacsc_wsconn_send(c, big, sizeof big), BACSC_OK);
    sct_run_until(loop, &cli.msgs, 5, 5000);
    assert_int_equal(cli.last_len, sizeof big);
    assert_memory_equal(cli.last, big, sizeof big);

    bacsc_wsconn_close(c, BACSC_WS_CLOSE_NORMAL, "bye");
    assert_int_equal(bacsc_wsconn_send(c, big, 1), BACSC_ERR_STATE);
    sct_run_until(loop, &cli.closed, 1, 5000);
    sct_run_until(loop, &srv.closed, 1, 5000);
    assert_int_equal(cli.closed, 1);
    assert_int_equal(cli.code, 0);
    assert_int_equal(srv.closed, 1);
    assert_int_equal(srv.code, BACSC_EC_WS_CLOSED_BY_PEER);
    assert_non_null(strstr(srv.reason, "bye"));
    assert_int_equal(bacsc_ws_listener_count(s.l), 0);
    bacsc_tls_ctx_free(ct);
    server_stop(&s);
}

static void server_closes_and_abort(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, make_ctx(true, "server", "ca1", NULL, NULL), NULL);
    bacsc_tls_ctx *ct = make_ctx(false, "client", "ca1", NULL, NULL);
    client_connect(s.uri, ct, NULL);
    sct_run_until(loop, &srv.opened, 1, 5000);
    sct_run_until(loop, &cli.opened, 1, 5000);
    assert_non_null(srv.conn);
    bacsc_wsconn_close(srv.conn, BACSC_WS_CLOSE_GOING_AWAY, "restart");
    sct_run_until(loop, &cli.closed, 1, 5000);
    sct_run_until(loop, &srv.closed, 1, 5000);
    assert_int_equal(cli.code, BACSC_EC_WS_ENDPOINT_LEAVES);
    assert_int_equal(srv.code, 0);

    /* Abort: on_close(195) synchronously, the peer sees an abnormal close. */
    bacsc_wsconn *c = client_connect(s.uri, ct, NULL);
    srv.opened = srv.closed = 0;
    sct_run_until(loop, &srv.opened, 1, 5000);
    sct_run_until(loop, &cli.opened, 1, 5000);
    bacsc_wsconn_abort(c);
    assert_int_equal(cli.closed, 1);
    assert_int_equal(cli.code, BACSC_EC_TCP_CLOSED_BY_LOCAL);
    sct_run_until(loop, &srv.closed, 1, 5000);
    assert_int_equal(srv.code, BACSC_EC_WS_CLOSED_ABNORMALLY);
    bacsc_tls_ctx_free(ct);
    server_stop(&s);
}

/* ---- certificate rejections ----------------------------------------------- */

static void expect_rejected(const char *server_leaf, const char *server_ca, const char *crl,
                            const char *client_leaf, const char *client_ca, uint16_t srv_code,
                            uint16_t cli_code)
{
    struct server s;
    server_start(&s, make_ctx(true, server_leaf, server_ca, crl, NULL), NULL);
    bacsc_tls_ctx *ct = make_ctx(false, client_leaf, client_ca, NULL, NULL);
    client_connect(s.uri, ct, NULL);
    sct_run_until(loop, &cli.closed, 1, 5000);
    sct_run_until(loop, &srv.closed, 1, 5000);
    assert_int_equal(cli.opened, 0);
    assert_int_equal(srv.opened, 0);
    if (srv.code != srv_code || cli.code != cli_code)
        fail_msg("server %u (%s) / client %u (%s); wanted %u / %u", srv.code, srv.reason, cli.code,
                 cli.reason, srv_code, cli_code);
    bacsc_tls_ctx_free(ct);
    server_stop(&s);
}

static void client_cert_from_other_ca(void **state)
{
    (void)state;
    expect_rejected("server", "ca1", NULL, "other", "ca1", 180, 180);
}

static void server_cert_from_other_ca(void **state)
{
    (void)state;
    expect_rejected("server2", "ca1", NULL, "client", "ca1", 181, 181);
}

static void expired_client_cert(void **state)
{
    (void)state;
    expect_rejected("server", "ca1", NULL, "expired", "ca1", 184, 184);
}

static void expired_server_cert(void **state)
{
    (void)state;
    expect_rejected("expired", "ca1", NULL, "client", "ca1", 185, 185);
}

static void revoked_client_cert(void **state)
{
    (void)state;
    expect_rejected("server", "ca1", "ca1", "revoked", "ca1", 186, 186);
}

static void hostname_check_optional(void **state)
{
    (void)state;
    /* BACnet/SC does not check names: a server certificate without any
     * DNS/IP name is accepted by default … */
    struct server s;
    server_start(&s, make_ctx(true, "nosan", "ca1", NULL, NULL), NULL);
    bacsc_tls_ctx *ct = make_ctx(false, "client", "ca1", NULL, NULL);
    client_connect(s.uri, ct, NULL);
    sct_run_until(loop, &cli.opened, 1, 5000);
    assert_int_equal(cli.opened, 1);
    bacsc_wsconn_abort(cli.conn);
    bacsc_tls_ctx_free(ct);
    /* … and refused when the check is enabled (181 server-certificate-error). */
    want_hostname_check = true;
    ct = make_ctx(false, "client", "ca1", NULL, NULL);
    want_hostname_check = false;
    client_connect(s.uri, ct, NULL);
    sct_run_until(loop, &cli.closed, 1, 5000);
    assert_int_equal(cli.opened, 0);
    if (cli.code != 181)
        fail_msg("client code %u (%s)", cli.code, cli.reason);
    bacsc_tls_ctx_free(ct);
    server_stop(&s);
    /* With the check on, a certificate naming 127.0.0.1 / localhost passes. */
    server_start(&s, make_ctx(true, "server", "ca1", NULL, NULL), NULL);
    want_hostname_check = true;
    ct = make_ctx(false, "client", "ca1", NULL, NULL);
    want_hostname_check = false;
    client_connect(s.uri, ct, NULL);
    sct_run_until(loop, &cli.opened, 1, 5000);
    assert_int_equal(cli.opened, 1);
    bacsc_wsconn_abort(cli.conn);
    char uri[64];
    snprintf(uri, sizeof uri, "wss://localhost:%u/", s.port);
    client_connect(uri, ct, NULL);
    sct_run_until(loop, &cli.opened, 1, 5000);
    assert_int_equal(cli.opened, 1);
    bacsc_wsconn_abort(cli.conn);
    bacsc_tls_ctx_free(ct);
    server_stop(&s);
}

/* Run `openssl s_client` against the server; returns its exit status. */
static int run_s_client(uint16_t port, const char *extra, char *out, size_t outcap)
{
    char cmd[2048], cert[512], key[512], ca[512];
    path(cert, "client", "pem");
    path(key, "client", "key");
    path(ca, "ca1", "pem");
    char *want_cert = strstr(extra, "CERT");
    snprintf(cmd, sizeof cmd,
             "openssl s_client -connect 127.0.0.1:%u -CAfile %s %s %s%s%s%s </dev/null 2>&1",
             port, ca, want_cert ? "" : extra, want_cert ? "-tls1_2 -cert " : "",
             want_cert ? cert : "", want_cert ? " -key " : "", want_cert ? key : "");
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    /* Drive the loop while the child talks to us. */
    int fd = fileno(f);
    size_t n = 0;
    for (int i = 0; i < 500; i++) {
        bacsc_loop_run_once(loop, 10000);
        fd_set rs;
        FD_ZERO(&rs);
        FD_SET(fd, &rs);
        struct timeval tv = {0, 0};
        if (select(fd + 1, &rs, NULL, NULL, &tv) > 0) {
            ssize_t r = read(fd, out + n, outcap - 1 - n);
            if (r <= 0)
                break;
            n += (size_t)r;
        }
    }
    out[n] = '\0';
    int st = pclose(f);
    sct_run_for(loop, 50);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void client_without_certificate(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, make_ctx(true, "server", "ca1", NULL, NULL), NULL);
    static char out[16384];
    /* TLS 1.3: s_client finishes its side; the server then refuses. Send a
     * request so that s_client reads the alert. */
    run_s_client(s.port, "-tls1_3", out, sizeof out);
    sct_run_until(loop, &srv.closed, 1, 3000);
    assert_int_equal(srv.closed, 1);
    assert_int_equal(srv.opened, 0);
    if (srv.code != 182)
        fail_msg("server code %u (%s)", srv.code, srv.reason);
    server_stop(&s);
}

static void tls12_client_rejected(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, make_ctx(true, "server", "ca1", NULL, NULL), NULL);
    static char out[16384];
    int st = run_s_client(s.port, "CERT", out, sizeof out);
    sct_run_until(loop, &srv.closed, 1, 3000);
    assert_int_not_equal(st, 0);
    assert_non_null(strstr(out, "alert protocol version"));
    assert_int_equal(srv.closed, 1);
    assert_int_equal(srv.code, 188);
    server_stop(&s);
}

/* ---- upgrade / frame rejections with a raw TLS peer ------------------------- */

struct raw {
    uint16_t port;
    const uint8_t *send1;  /* the upgrade request */
    size_t len1;
    const uint8_t *send2;  /* sent after the 101 */
    size_t len2;
    uint8_t got[8192];
    size_t got_len;
    atomic_int done;
};

static void *raw_thread(void *arg)
{
    struct raw *r = arg;
    char cert[512], key[512];
    path(cert, "client", "pem");
    path(key, "client", "key");
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(r->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL *ssl = NULL;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_connect(ssl) == 1 && SSL_write(ssl, r->send1, (int)r->len1) > 0) {
            bool sent2 = false;
            for (;;) {
                int n = SSL_read(ssl, r->got + r->got_len, (int)(sizeof r->got - 1 - r->got_len));
                if (n <= 0)
                    break;
                r->got_len += (size_t)n;
                r->got[r->got_len] = 0;
                if (!sent2 && r->send2 && strstr((char *)r->got, "\r\n\r\n")) {
                    sent2 = true;
                    SSL_write(ssl, r->send2, (int)r->len2);
                }
            }
        }
    }
    SSL_free(ssl);
    close(fd);
    SSL_CTX_free(ctx);
    atomic_store(&r->done, 1);
    return NULL;
}

static void raw_exchange(struct raw *r)
{
    pthread_t th;
    atomic_store(&r->done, 0);
    r->got_len = 0;
    assert_int_equal(pthread_create(&th, NULL, raw_thread, r), 0);
    for (int i = 0; i < 600 && !atomic_load(&r->done); i++)
        bacsc_loop_run_once(loop, 10000);
    pthread_join(th, NULL);
    sct_run_for(loop, 30);
}

static const char raw_request[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                                  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                  "Sec-WebSocket-Version: 13\r\n"
                                  "Sec-WebSocket-Protocol: hub.bsc.bacnet.org\r\n\r\n";

static void missing_subprotocol(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, make_ctx(true, "server", "ca1", NULL, NULL), NULL);
    static const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\n\r\n";
    struct raw r = {.port = s.port, .send1 = (const uint8_t *)req, .len1 = strlen(req)};
    raw_exchange(&r);
    assert_non_null(strstr((char *)r.got, "HTTP/1.1 400 Bad Request\r\n"));
    assert_int_equal(srv.closed, 1);
    assert_int_equal(srv.opened, 0);
    assert_int_equal(srv.code, BACSC_EC_HTTP_WEBSOCKET_HEADER_ERROR);
    server_stop(&s);
}

static void wrong_subprotocol(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, make_ctx(true, "server", "ca1", NULL, NULL), NULL);
    bacsc_tls_ctx *ct = make_ctx(false, "client", "ca1", NULL, NULL);
    bacsc_ws_options o = {.protocols = BACSC_WS_PROTO_DC};
    client_connect(s.uri, ct, &o);
    sct_run_until(loop, &cli.closed, 1, 5000);
    sct_run_until(loop, &srv.closed, 1, 5000);
    assert_int_equal(cli.opened, 0);
    assert_int_equal(cli.code, BACSC_EC_HTTP_UNEXPECTED_RESPONSE_CODE);
    assert_non_null(strstr(cli.reason, "400"));
    assert_int_equal(srv.code, BACSC_EC_HTTP_WEBSOCKET_HEADER_ERROR);
    bacsc_tls_ctx_free(ct);
    server_stop(&s);
}

/* After the 101, send `frame`; expect a close frame with `close_code` and the
 * server's on_close(error_code). */
static void expect_frame_refused(const uint8_t *frame, size_t len, uint16_t close_code,
                                 uint16_t error_code)
{
    struct server s;
    bacsc_ws_options o = {.max_message = 1000};
    server_start(&s, make_ctx(true, "server", "ca1", NULL, NULL), &o);
    struct raw r = {.port = s.port, .send1 = (const uint8_t *)raw_request,
                    .len1 = strlen(raw_request), .send2 = frame, .len2 = len};
    raw_exchange(&r);
    const char *end = strstr((char *)r.got, "\r\n\r\n");
    assert_non_null(strstr((char *)r.got, "HTTP/1.1 101 "));
    assert_non_null(end);
    const uint8_t *f = (const uint8_t *)end + 4;
    assert_true(r.got_len >= (size_t)(f - r.got) + 4);
    assert_int_equal(f[0], 0x88); /* close, unmasked from the server */
    assert_int_equal((f[2] << 8) | f[3], close_code);
    assert_int_equal(srv.opened, 1);
    assert_int_equal(srv.closed, 1);
    if (srv.code != error_code)
        fail_msg("server code %u (%s), wanted %u", srv.code, srv.reason, error_code);
    server_stop(&s);
}

static void text_frame_refused(void **state)
{
    (void)state;
    /* RFC 6455's masked "Hello" text frame. */
    static const uint8_t f[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    expect_frame_refused(f, sizeof f, 1003, BACSC_EC_WS_DATA_NOT_ACCEPTED);
}

static void oversized_frame_refused(void **state)
{
    (void)state;
    static uint8_t f[2100];
    static const uint8_t mask[4] = {1, 2, 3, 4};
    static uint8_t payload[2000];
    int n = bacsc_ws_encode_frame(f, sizeof f, BACSC_WS_OP_BINARY, true, payload, sizeof payload, mask);
    expect_frame_refused(f, (size_t)n, 1009, BACSC_EC_WS_FRAME_TOO_LONG);
}

static void unmasked_frame_refused(void **state)
{
    (void)state;
    static const uint8_t f[] = {0x82, 0x02, 0x01, 0x02};
    expect_frame_refused(f, sizeof f, 1002, BACSC_EC_WS_PROTOCOL_ERROR);
}

/* ---- limits, timeouts, policy --------------------------------------------- */

static void output_queue_bounded(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, make_ctx(true, "server", "ca1", NULL, NULL), NULL);
    bacsc_tls_ctx *ct = make_ctx(false, "client", "ca1", NULL, NULL);
    bacsc_ws_options o = {.max_queue = 8192};
    bacsc_wsconn *c = client_connect(s.uri, ct, &o);
    sct_run_until(loop, &cli.opened, 1, 5000);
    static uint8_t kb[1000];
    int i, rc = BACSC_OK;
    for (i = 0; i < 20 && rc == BACSC_OK; i++)
        rc = bacsc_wsconn_send(c, kb, sizeof kb);
    assert_int_equal(rc, BACSC_ERR_LIMIT);
    assert_true(i <= 9);
    assert_true(bacsc_wsconn_queued(c) <= 8192);
    sct_run_until(loop, &srv.msgs, i - 1, 5000);
    assert_int_equal(srv.msgs, i - 1); /* everything accepted was delivered, nothing more */
    bacsc_wsconn_abort(c);
    bacsc_tls_ctx_free(ct);
    server_stop(&s);
}

static void connection_limit(void **state)
{
    (void)state;
    struct server s;
    bacsc_ws_options so = {.max_connections = 1};
    server_start(&s, make_ctx(true, "server", "ca1", NULL, NULL), &so);
    bacsc_tls_ctx *ct = make_ctx(false, "client", "ca1", NULL, NULL);
    bacsc_wsconn *a = client_connect(s.uri, ct, NULL);
    sct_run_until(loop, &cli.opened, 1, 5000);
    assert_int_equal(cli.opened, 1);
    struct peer first = cli;
    client_connect(s.uri, ct, NULL); /* resets cli */
    sct_run_until(loop, &cli.closed, 1, 5000);
    assert_int_equal(cli.opened, 0);
    assert_int_equal(cli.closed, 1);
    assert_int_equal(bacsc_ws_listener_count(s.l), 1);
    (void)first;
    bacsc_wsconn_abort(a);
    bacsc_tls_ctx_free(ct);
    server_stop(&s);
}

static void connect_refused_and_timeouts(void **state)
{
    (void)state;
    bacsc_tls_ctx *ct = make_ctx(false, "client", "ca1", NULL, NULL);
    /* A port nobody listens on. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    char uri[64];
    snprintf(uri, sizeof uri, "wss://127.0.0.1:%u", ntohs(sa.sin_port));
    client_connect(uri, ct, NULL);
    sct_run_until(loop, &cli.closed, 1, 5000);
    assert_int_equal(cli.code, BACSC_EC_TCP_CONNECTION_REFUSED);
    /* Listening but never answering: the TLS handshake times out. */
    assert_int_equal(listen(fd, 4), 0);
    bacsc_ws_options o = {.handshake_timeout_ms = 300};
    client_connect(uri, ct, &o);
    sct_run_until(loop, &cli.closed, 1, 5000);
    assert_int_equal(cli.code, BACSC_EC_TLS_ERROR);
    assert_non_null(strstr(cli.reason, "timed out"));
    close(fd);
    bacsc_tls_ctx_free(ct);
}

static void handshake_timeout_server_side(void **state)
{
    (void)state;
    /* A client that connects and says nothing is dropped after the timeout. */
    struct server s;
    bacsc_ws_options o = {.handshake_timeout_ms = 200};
    server_start(&s, make_ctx(true, "server", "ca1", NULL, NULL), &o);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(s.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    sct_run_until(loop, &srv.closed, 1, 3000);
    assert_int_equal(srv.closed, 1);
    assert_int_equal(srv.code, BACSC_EC_TLS_ERROR);
    assert_int_equal(bacsc_ws_listener_count(s.l), 0);
    close(fd);
    server_stop(&s);
}

static void policy_checks(void **state)
{
    (void)state;
    bacsc_wsconn *c;
    bacsc_ws_listener *l;
    bacsc_tls_ctx *ct = make_ctx(false, "client", "ca1", NULL, NULL);
    assert_int_equal(bacsc_ws_connect(loop, "ws://127.0.0.1:1/", NULL, NULL, &callbacks, &cli, &c),
                     BACSC_ERR_POLICY);
    assert_int_equal(bacsc_ws_connect(loop, "wss://127.0.0.1:1/", NULL, NULL, &callbacks, &cli, &c),
                     BACSC_ERR_POLICY);
    assert_int_equal(bacsc_ws_connect(loop, "https://127.0.0.1:1/", ct, NULL, &callbacks, &cli, &c),
                     BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_ws_connect(loop, "wss://127.0.0.1:99999/", ct, NULL, &callbacks, &cli, &c),
                     BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_ws_connect(loop, "wss://::1:443/", ct, NULL, &callbacks, &cli, &c),
                     BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_ws_connect(loop, "wss://user@127.0.0.1/", ct, NULL, &callbacks, &cli, &c),
                     BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_ws_listen(loop, "127.0.0.1:0", NULL, NULL, &callbacks, NULL, &l),
                     BACSC_ERR_POLICY);
    assert_int_equal(bacsc_ws_listen(loop, "127.0.0.1", ct, NULL, &callbacks, NULL, &l),
                     BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_ws_listen(loop, "127.0.0.1:0", ct, NULL, &callbacks, NULL, &l),
                     BACSC_ERR_INVALID_ARG); /* a client context cannot serve */
    /* Bad TLS configuration names the file. */
    bacsc_tls_config cfg = {.cert_file = "/nonexistent.pem", .key_file = "/nonexistent.key",
                            .issuer_files = {"/nonexistent-ca.pem"}};
    char err[256];
    assert_null(bacsc_tls_ctx_new(&cfg, true, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent.pem"));
    char cert[512], key[512];
    path(cert, "client", "pem");
    path(key, "server", "key");
    cfg.cert_file = cert;
    cfg.key_file = key;
    assert_null(bacsc_tls_ctx_new(&cfg, true, err, sizeof err));
    assert_non_null(strstr(err, "does not match"));
    assert_string_equal(bacsc_tls_error_name(184), "client-certificate-expired");
    assert_null(bacsc_tls_error_name(179));
    bacsc_tls_ctx_free(ct);
}

static void plaintext_when_allowed(void **state)
{
    (void)state;
    struct server s;
    bacsc_ws_options o = {.insecure_plaintext = true, .protocols = BACSC_WS_PROTO_DC};
    server_start(&s, NULL, &o);
    client_connect(s.uri, NULL, &o);
    sct_run_until(loop, &cli.opened, 1, 5000);
    assert_int_equal(cli.proto, BACSC_WS_PROTO_DC);
    assert_int_equal(bacsc_wsconn_send(cli.conn, (const uint8_t *)"abc", 3), BACSC_OK);
    sct_run_until(loop, &cli.msgs, 1, 5000);
    assert_int_equal(cli.last_len, 3);
    bacsc_wsconn_close(cli.conn, 0, NULL);
    sct_run_until(loop, &cli.closed, 1, 5000);
    assert_int_equal(cli.code, 0);
    server_stop(&s);
}

static void ipv6_literal(void **state)
{
    (void)state;
    /* "[::1]:0" listener, "wss://[::1]:PORT/" client, peer printed in brackets. */
    bacsc_ws_listener *l;
    memset(&srv, 0, sizeof srv);
    srv.echo = true;
    bacsc_tls_ctx *st = make_ctx(true, "server", "ca1", NULL, NULL);
    int rc = bacsc_ws_listen(loop, "[::1]:0", st, NULL, &callbacks, &srv, &l);
    if (rc == BACSC_ERR_IO) { /* no IPv6 on this host */
        bacsc_tls_ctx_free(st);
        skip();
    }
    assert_int_equal(rc, BACSC_OK);
    char uri[64];
    snprintf(uri, sizeof uri, "wss://[::1]:%u/", bacsc_ws_listener_port(l));
    bacsc_tls_ctx *ct = make_ctx(false, "client", "ca1", NULL, NULL);
    client_connect(uri, ct, NULL);
    sct_run_until(loop, &cli.opened, 1, 5000);
    sct_run_until(loop, &srv.opened, 1, 5000);
    assert_int_equal(cli.opened, 1);
    assert_non_null(srv.conn);
    assert_true(strncmp(bacsc_wsconn_peer(srv.conn), "[::1]:", 6) == 0);
    char want[64];
    snprintf(want, sizeof want, "[::1]:%u", bacsc_ws_listener_port(l));
    assert_string_equal(bacsc_wsconn_peer(cli.conn), want);
    bacsc_wsconn_abort(cli.conn);
    sct_run_until(loop, &srv.closed, 1, 5000);
    bacsc_ws_listener_close(l);
    bacsc_tls_ctx_free(st);
    bacsc_tls_ctx_free(ct);
}

static void keylog_written(void **state)
{
    (void)state;
    char kl[512];
    snprintf(kl, sizeof kl, "%s/keys.log", env.pki);
    struct server s;
    server_start(&s, make_ctx(true, "server", "ca1", NULL, kl), NULL);
    bacsc_tls_ctx *ct = make_ctx(false, "client", "ca1", NULL, NULL);
    client_connect(s.uri, ct, NULL);
    sct_run_until(loop, &cli.opened, 1, 5000);
    bacsc_wsconn_abort(cli.conn);
    FILE *f = fopen(kl, "r");
    assert_non_null(f);
    char text[4096];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    assert_non_null(strstr(text, "CLIENT_HANDSHAKE_TRAFFIC_SECRET "));
    assert_non_null(strstr(text, "SERVER_TRAFFIC_SECRET_0 "));
    struct stat st;
    assert_int_equal(stat(kl, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    bacsc_tls_ctx_free(ct);
    server_stop(&s);
}

static int setup(void **state)
{
    (void)state;
    int rc = sct_env_setup(&env, "wsconn");
    loop = env.loop;
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    return sct_env_teardown(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mutual_auth_roundtrip),
        cmocka_unit_test(server_closes_and_abort),
        cmocka_unit_test(client_cert_from_other_ca),
        cmocka_unit_test(server_cert_from_other_ca),
        cmocka_unit_test(expired_client_cert),
        cmocka_unit_test(expired_server_cert),
        cmocka_unit_test(revoked_client_cert),
        cmocka_unit_test(hostname_check_optional),
        cmocka_unit_test(client_without_certificate),
        cmocka_unit_test(tls12_client_rejected),
        cmocka_unit_test(missing_subprotocol),
        cmocka_unit_test(wrong_subprotocol),
        cmocka_unit_test(text_frame_refused),
        cmocka_unit_test(oversized_frame_refused),
        cmocka_unit_test(unmasked_frame_refused),
        cmocka_unit_test(output_queue_bounded),
        cmocka_unit_test(connection_limit),
        cmocka_unit_test(connect_refused_and_timeouts),
        cmocka_unit_test(handshake_timeout_server_side),
        cmocka_unit_test(policy_checks),
        cmocka_unit_test(plaintext_when_allowed),
        cmocka_unit_test(ipv6_literal),
        cmocka_unit_test(keylog_written),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
