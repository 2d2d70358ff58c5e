/*
 * tls.c — OpenSSL 3 contexts with the BACnet/SC policy. See bacsc/tls.h.
 *
 * The trust store is built from the configured issuer files only (no
 * default paths, no environment). X509_V_FLAG_PARTIAL_CHAIN lets a
 * configured intermediate (not self-signed) issuer act as the anchor, since
 * the rule is "signed by one of the configured issuer certificates".
 */
#include "bacsc/tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "bacsc/error.h"
#include "bacsc/log.h"

struct bacsc_tls_ctx {
    SSL_CTX *ctx;
    bool server;
    bool verify_hostname;
};

/* ---- SSLKEYLOGFILE --------------------------------------------------------- */

/* One key-log file per process: the keylog callback has no user pointer and
 * every context of a process shares the environment variable anyway. */
static FILE *keylog_fp;
static char keylog_path[512];

static void keylog_cb(const SSL *ssl, const char *line)
{
    (void)ssl;
    if (keylog_fp) {
        fprintf(keylog_fp, "%s\n", line);
        fflush(keylog_fp);
    }
}

static bool keylog_open(const char *path)
{
    if (keylog_fp && strcmp(path, keylog_path) == 0)
        return true;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    FILE *fp = fdopen(fd, "a");
    if (!fp) {
        close(fd);
        return false;
    }
    if (keylog_fp)
        fclose(keylog_fp);
    keylog_fp = fp;
    snprintf(keylog_path, sizeof keylog_path, "%s", path);
    return true;
}

/* ---- helpers --------------------------------------------------------------- */

static void set_err(char *err, size_t errlen, const char *fmt, const char *file)
{
    if (!err || !errlen)
        return;
    char ossl[160] = "";
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, ossl, sizeof ossl);
    ERR_clear_error();
    int n = snprintf(err, errlen, fmt, file ? file : "");
    if (ossl[0] && n >= 0 && (size_t)n < errlen)
        snprintf(err + n, errlen - (size_t)n, " (%s)", ossl);
}

/* Add every certificate of a PEM file to the store; returns how many. */
static int load_issuers(X509_STORE *st, const char *file, STACK_OF(X509_NAME) *names)
{
    BIO *b = BIO_new_file(file, "r");
    if (!b)
        return -1;
    int n = 0;
    X509 *x;
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(st, x) == 1) {
            n++;
            if (names) {
                X509_NAME *nm = X509_NAME_dup(X509_get_subject_name(x));
                if (nm && !sk_X509_NAME_push(names, nm))
                    X509_NAME_free(nm);
            }
        }
        X509_free(x);
    }
    ERR_clear_error(); /* the end-of-file "no start line" */
    BIO_free(b);
    return n;
}

static int load_crls(X509_STORE *st, const char *file)
{
    BIO *b = BIO_new_file(file, "r");
    if (!b)
        return -1;
    int n = 0;
    X509_CRL *c;
    while ((c = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_crl(st, c) == 1)
            n++;
        X509_CRL_free(c);
    }
    ERR_clear_error();
    BIO_free(b);
    return n;
}

bacsc_tls_ctx *bacsc_tls_ctx_new(const bacsc_tls_config *cfg, bool server, char *err, size_t errlen)
{
    if (!cfg || !cfg->cert_file || !cfg->key_file || !cfg->issuer_files[0]) {
        set_err(err, errlen, "TLS needs a certificate, a key and at least one issuer certificate%s",
                NULL);
        return NULL;
    }
    bacsc_tls_ctx *t = calloc(1, sizeof *t);
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    X509_STORE *st = X509_STORE_new();
    STACK_OF(X509_NAME) *names = server ? sk_X509_NAME_new_null() : NULL;
    if (!t || !ctx || !st || (server && !names)) {
        set_err(err, errlen, "out of memory%s", NULL);
        goto fail;
    }
    t->ctx = ctx;
    t->server = server;
    t->verify_hostname = cfg->verify_hostname;

    /* TLS 1.3 only. */
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                       "TLS_CHACHA20_POLY1305_SHA256") ||
        !SSL_CTX_set1_groups_list(ctx, "P-256:X25519:P-384") ||
        !SSL_CTX_set1_sigalgs_list(ctx, "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:ed25519:"
                                        "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:"
                                        "rsa_pss_pss_sha256")) {
        set_err(err, errlen, "cannot configure TLS 1.3%s", NULL);
        goto fail;
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* Read whole socket buffers instead of header-then-body per record:
     * several times fewer read() calls under load. The buffer is still
     * released when empty (SSL_MODE_RELEASE_BUFFERS). */
    SSL_CTX_set_read_ahead(ctx, 1);
    if (server)
        SSL_CTX_set_num_tickets(ctx, 0); /* no resumption: saves a record and memory */

    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
        set_err(err, errlen, "cannot load certificate %s", cfg->cert_file);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1) {
        if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
            set_err(err, errlen, "private key %s does not match the certificate", cfg->key_file);
        else
            set_err(err, errlen, "cannot load private key %s", cfg->key_file);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        set_err(err, errlen, "private key %s does not match the certificate", cfg->key_file);
        goto fail;
    }

    /* Trust: the configured issuers only. */
    for (int i = 0; i < BACSC_TLS_MAX_ISSUERS; i++) {
        const char *f = cfg->issuer_files[i];
        if (!f)
            continue;
        if (load_issuers(st, f, names) <= 0) {
            set_err(err, errlen, "no issuer certificate could be read from %s", f);
            goto fail;
        }
    }
    unsigned long flags = X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT;
    if (cfg->crl_file) {
        if (load_crls(st, cfg->crl_file) <= 0) {
            set_err(err, errlen, "no CRL could be read from %s", cfg->crl_file);
            goto fail;
        }
        flags |= X509_V_FLAG_CRL_CHECK;
    }
    X509_STORE_set_flags(st, flags);
    SSL_CTX_set_cert_store(ctx, st); /* takes ownership */
    st = NULL;

    if (server) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_CTX_set_client_CA_list(ctx, names);
        names = NULL;
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    SSL_CTX_set_verify_depth(ctx, 4);

    const char *kl = cfg->keylog_file ? cfg->keylog_file : getenv("SSLKEYLOGFILE");
    if (kl && *kl) {
        if (keylog_open(kl)) {
            SSL_CTX_set_keylog_callback(ctx, keylog_cb);
            BACSC_WARN("TLS secrets are written to %s (SSLKEYLOGFILE): for debugging only", kl);
        } else {
            BACSC_WARN("cannot open key-log file %s", kl);
        }
    }
    return t;

fail:
    if (names)
        sk_X509_NAME_pop_free(names, X509_NAME_free);
    X509_STORE_free(st);
    SSL_CTX_free(ctx);
    free(t);
    return NULL;
}

void bacsc_tls_ctx_free(bacsc_tls_ctx *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

struct ssl_ctx_st *bacsc_tls_ctx_ssl_ctx(bacsc_tls_ctx *t)
{
    return t->ctx;
}

bool bacsc_tls_ctx_is_server(const bacsc_tls_ctx *t)
{
    return t->server;
}

bool bacsc_tls_ctx_verify_hostname(const bacsc_tls_ctx *t)
{
    return t->verify_hostname;
}

static bool is_ip_literal(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

SSL *bacsc_tls_new_ssl(bacsc_tls_ctx *t, int fd, const char *host)
{
    SSL *ssl = SSL_new(t->ctx);
    if (!ssl)
        return NULL;
    if (SSL_set_fd(ssl, fd) != 1)
        goto fail;
    if (t->server) {
        SSL_set_accept_state(ssl);
        return ssl;
    }
    SSL_set_connect_state(ssl);
    if (host && *host && !is_ip_literal(host) && SSL_set_tlsext_host_name(ssl, host) != 1)
        goto fail;
    if (t->verify_hostname && host && *host) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
        int ok = is_ip_literal(host) ? X509_VERIFY_PARAM_set1_ip_asc(vp, host)
                                     : X509_VERIFY_PARAM_set1_host(vp, host, 0);
        if (ok != 1)
            goto fail;
        X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    }
    return ssl;
fail:
    SSL_free(ssl);
    return NULL;
}

/* ---- error classification -------------------------------------------------- */

static const char *const tls_names[] = {
    "client-certificate-error",   "server-certificate-error",   "client-authentication-failed",
    "server-authentication-failed", "client-certificate-expired", "server-certificate-expired",
    "client-certificate-revoked", "server-certificate-revoked", "tls-error"};

const char *bacsc_tls_error_name(uint16_t code)
{
    if (code < 180 || code > 188)
        return NULL;
    return tls_names[code - 180];
}

uint16_t bacsc_tls_classify_error(SSL *ssl, bool server, char *text, size_t textlen)
{
    /* "peer" codes are about the other side's certificate, "own" about ours. */
    uint16_t peer_err = server ? 180 : 181, own_err = server ? 181 : 180;
    uint16_t peer_exp = server ? 184 : 185, own_exp = server ? 185 : 184;
    uint16_t peer_rev = server ? 186 : 187, own_rev = server ? 187 : 186;
    uint16_t code = 188;
    const char *why = NULL;
    char ossl[200] = "";

    unsigned long e = ERR_peek_error();
    if (e)
        ERR_error_string_n(e, ossl, sizeof ossl);
    int reason = e ? ERR_GET_REASON(e) : 0;
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;

    if (vr != X509_V_OK && (!e || reason == SSL_R_CERTIFICATE_VERIFY_FAILED)) {
        why = X509_verify_cert_error_string(vr);
        if (vr == X509_V_ERR_CERT_HAS_EXPIRED)
            code = peer_exp;
        else if (vr == X509_V_ERR_CERT_REVOKED)
            code = peer_rev;
        else
            code = peer_err;
    } else {
        switch (reason) {
        case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
            code = 182;
            why = "the client sent no certificate";
            break;
        case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
            code = 182;
            why = "the server requires a client certificate";
            break;
        case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
            code = own_exp;
            why = "the peer says our certificate has expired";
            break;
        case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
            code = own_rev;
            why = "the peer says our certificate is revoked";
            break;
        case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
        case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
        case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
            code = own_err;
            why = "the peer rejected our certificate";
            break;
        default:
            code = 188;
            why = e ? NULL : "connection closed during TLS";
            break;
        }
    }
    ERR_clear_error();
    if (text && textlen) {
        if (why && ossl[0])
            snprintf(text, textlen, "%s: %s (%s)", bacsc_tls_error_name(code), why, ossl);
        else
            snprintf(text, textlen, "%s: %s", bacsc_tls_error_name(code), why ? why : ossl);
    }
    return code;
}
