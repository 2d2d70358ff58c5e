/* support_sc.c — see support_sc.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "support_pki.h"
#include "support_sc.h"

static uint64_t sct_state = 0x9E3779B97F4A7C15ull;

void sct_seed(uint64_t seed)
{
    sct_state = seed ? seed : 0x9E3779B97F4A7C15ull;
}

uint64_t sct_rand64(void)
{
    sct_state ^= sct_state >> 12;
    sct_state ^= sct_state << 25;
    sct_state ^= sct_state >> 27;
    return sct_state * 0x2545F4914F6CDD1Dull;
}

int sct_random(void *user, uint8_t *buf, size_t len)
{
    (void)user;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(sct_rand64() >> 56);
    return 0;
}

bacsc_vmac sct_vmac(uint8_t a, uint8_t b)
{
    bacsc_vmac v = {{0x02, 0x00, 0x00, 0x00, a, b}};
    return v;
}

bacsc_uuid sct_uuid(uint8_t a, uint8_t b)
{
    bacsc_uuid u;
    memset(u.b, 0x11, sizeof u.b);
    u.b[14] = a;
    u.b[15] = b;
    return u;
}

size_t sct_encode(const bacsc_bvlc_msg *m, uint8_t *out, size_t cap)
{
    int n = bacsc_bvlc_encode(m, out, cap);
    return n < 0 ? 0 : (size_t)n;
}

static size_t connect_msg(uint8_t *out, size_t cap, uint8_t fn, uint16_t id,
                          const bacsc_vmac *vmac, const bacsc_uuid *uuid, uint16_t max_bvlc,
                          uint16_t max_npdu)
{
    bacsc_bvlc_msg m;
    bacsc_bvlc_init(&m, fn, id);
    m.u.connect.vmac = *vmac;
    m.u.connect.uuid = *uuid;
    m.u.connect.max_bvlc_len = max_bvlc;
    m.u.connect.max_npdu_len = max_npdu;
    return sct_encode(&m, out, cap);
}

size_t sct_connect_request(uint8_t *out, size_t cap, uint16_t id, const bacsc_vmac *vmac,
                           const bacsc_uuid *uuid, uint16_t max_bvlc, uint16_t max_npdu)
{
    return connect_msg(out, cap, BACSC_BVLC_CONNECT_REQUEST, id, vmac, uuid, max_bvlc, max_npdu);
}

size_t sct_connect_accept(uint8_t *out, size_t cap, uint16_t id, const bacsc_vmac *vmac,
                          const bacsc_uuid *uuid, uint16_t max_bvlc, uint16_t max_npdu)
{
    return connect_msg(out, cap, BACSC_BVLC_CONNECT_ACCEPT, id, vmac, uuid, max_bvlc, max_npdu);
}

size_t sct_simple(uint8_t *out, size_t cap, uint8_t function, uint16_t id)
{
    bacsc_bvlc_msg m;
    bacsc_bvlc_init(&m, function, id);
    return sct_encode(&m, out, cap);
}

size_t sct_npdu(uint8_t *out, size_t cap, uint16_t id, const bacsc_vmac *orig,
                const bacsc_vmac *dest, const uint8_t *npdu, size_t len)
{
    bacsc_bvlc_msg m;
    bacsc_bvlc_init(&m, BACSC_BVLC_ENCAPSULATED_NPDU, id);
    if (orig) {
        m.has_orig = true;
        m.orig = *orig;
    }
    if (dest) {
        m.has_dest = true;
        m.dest = *dest;
    }
    m.payload = npdu;
    m.payload_len = len;
    return sct_encode(&m, out, cap);
}

size_t sct_nak(uint8_t *out, size_t cap, uint8_t function, uint16_t id, uint16_t code)
{
    bacsc_bvlc_msg m;
    bacsc_bvlc_make_nak(&m, function, id, 0, code, "test");
    return sct_encode(&m, out, cap);
}

/* ---- real TLS / WebSocket connections on 127.0.0.1 ---------------------------- */

int sct_env_setup(sct_env *e, const char *tag)
{
    snprintf(e->pki, sizeof e->pki, "/tmp/bacsc-%s-XXXXXX", tag);
    if (!mkdtemp(e->pki) || support_pki_make(e->pki) != 0)
        return -1;
    e->loop = bacsc_loop_new();
    bacsc_log_set_level(getenv("BACSC_TEST_VERBOSE") ? BACSC_LOG_DEBUG : BACSC_LOG_ERROR);
    return e->loop ? 0 : -1;
}

int sct_env_teardown(sct_env *e)
{
    bacsc_loop_free(e->loop);
    e->loop = NULL;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->pki);
    return system(cmd) == 0 ? 0 : -1;
}

void sct_env_path(const sct_env *e, char *out, const char *name, const char *ext)
{
    support_pki_path(out, 512, e->pki, name, ext);
}

bacsc_tls_config *sct_tls_files_set(sct_tls_files *f, const sct_env *e, const char *leaf,
                                    const char *key, const char *ca1, const char *ca2,
                                    const char *crl)
{
    memset(f, 0, sizeof *f);
    sct_env_path(e, f->cert, leaf, "pem");
    sct_env_path(e, f->key, key ? key : leaf, "key");
    f->cfg.cert_file = f->cert;
    f->cfg.key_file = f->key;
    const char *cas[2] = {ca1, ca2};
    for (int i = 0; i < 2; i++)
        if (cas[i]) {
            sct_env_path(e, f->ca[i], cas[i], "pem");
            f->cfg.issuer_files[i] = f->ca[i];
        }
    if (crl) {
        sct_env_path(e, f->crl, crl, "crl");
        f->cfg.crl_file = f->crl;
    }
    f->cfg.keylog_file = "";
    return &f->cfg;
}

bacsc_tls_ctx *sct_tls_new(const bacsc_tls_config *cfg, bool server)
{
    char err[256];
    bacsc_tls_ctx *t = bacsc_tls_ctx_new(cfg, server, err, sizeof err);
    if (!t)
        fail_msg("%s tls ctx: %s", server ? "server" : "client", err);
    return t;
}

bacsc_tls_ctx *sct_tls(const sct_env *e, bool server, const char *leaf, const char *ca1,
                       const char *ca2, const char *crl)
{
    sct_tls_files f;
    return sct_tls_new(sct_tls_files_set(&f, e, leaf, NULL, ca1, ca2, crl), server);
}

void sct_run_until(bacsc_loop *loop, const int *flag, int want, int ms)
{
    uint64_t end = bacsc_loop_update_time(loop) + (uint64_t)ms * 1000;
    while (*flag < want && bacsc_loop_now(loop) < end)
        bacsc_loop_run_once(loop, 10000);
}

void sct_run_for(bacsc_loop *loop, int ms)
{
    uint64_t end = bacsc_loop_update_time(loop) + (uint64_t)ms * 1000;
    while (bacsc_loop_now(loop) < end)
        bacsc_loop_run_once(loop, 10000);
}

bacsc_ws_listener *sct_listen(bacsc_loop *loop, bacsc_tls_ctx *tls, const bacsc_ws_callbacks *cb,
                              void *user, char *uri, size_t cap)
{
    bacsc_ws_listener *l = NULL;
    assert_int_equal(bacsc_ws_listen(loop, "127.0.0.1:0", tls, NULL, cb, user, &l), BACSC_OK);
    snprintf(uri, cap, "wss://127.0.0.1:%u", bacsc_ws_listener_port(l));
    return l;
}

sct_hs sct_mem_handshake(bacsc_tls_ctx *st, bacsc_tls_ctx *ct, bacsc_tls_resume *r, SSL **keep_c,
                         SSL **keep_s)
{
    sct_hs res = {0};
    SSL *c = SSL_new(bacsc_tls_ctx_ssl_ctx(ct)), *s = SSL_new(bacsc_tls_ctx_ssl_ctx(st));
    BIO *c2s = BIO_new(BIO_s_mem()), *s2c = BIO_new(BIO_s_mem());
    assert_true(c && s && c2s && s2c);
    BIO_up_ref(c2s);
    BIO_up_ref(s2c);
    SSL_set_bio(c, s2c, c2s);
    SSL_set_bio(s, c2s, s2c);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    if (r)
        assert_int_equal(bacsc_tls_ssl_set_resume(c, r), 0);
    int sr = 0;
    for (int i = 0; i < 20 && sr != 1; i++) {
        SSL_do_handshake(c);
        sr = SSL_do_handshake(s);
        int e = sr == 1 ? SSL_ERROR_NONE : SSL_get_error(s, sr);
        if (e != SSL_ERROR_NONE && e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            break;
    }
    char b[16];
    if (sr == 1) {
        bacsc_tls_note_handshake(s);
        res.ok = true;
        res.reused = SSL_session_reused(s);
        assert_true(SSL_read(c, b, sizeof b) <= 0); /* takes the ticket (new-session callback) */
    } else {
        res.code = bacsc_tls_classify_error(s, true, res.why, sizeof res.why);
        ERR_clear_error();
        SSL_read(c, b, sizeof b); /* reads the alert */
        bacsc_tls_classify_error(c, false, res.client, sizeof res.client);
    }
    ERR_clear_error();
    if (keep_c && keep_s && res.ok) {
        *keep_c = c;
        *keep_s = s;
        return res;
    }
    SSL_free(c);
    SSL_free(s);
    return res;
}

void sct_ticket_key_file(const sct_env *e, char *out, size_t cap)
{
    static int n;
    snprintf(out, cap, "%s/tickets-%d", e->pki, ++n);
    unlink(out);
}
