/*
 * tls.c — OpenSSL 3 contexts with the BACnet/SC policy. See bacsc/tls.h.
 *
 * The trust store is built from the configured issuer files only (no
 * default paths, no environment). X509_V_FLAG_PARTIAL_CHAIN lets a
 * configured intermediate (not self-signed) issuer act as the anchor, since
 * the rule is "signed by one of the configured issuer certificates"; a
 * verify depth of 0 makes it exactly that: the peer's certificate and the
 * configured issuer that signed it, no intermediate in between (one a peer
 * sends is never used). With a CRL configured, a peer is checked against
 * its issuer's CRL; an issuer for which no CRL was given is not affected by
 * another issuer's CRL.
 */
#include "bacsc/tls.h"
#include "bacsc/bvlc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "bacsc/error.h"
#include "bacsc/hex.h"
#include "bacsc/log.h"
#include "ossl_compat_internal.h"
#include "ossl_keyless_internal.h"
#include "tls_crl_internal.h"
#include "tls_verify_internal.h"

struct bacsc_tls_ctx {
    SSL_CTX *ctx;
    bool server;
    bool verify_hostname;
    /* server tickets */
    bool tickets;
    char *ticket_key_file;
    uint32_t ticket_lifetime_s, ticket_rotate_s;
    bacsc_tls_ticket_keys keys;
    bacsc_tls_stats stats;
    /* Handshakes may run on worker threads (hspool.h): the ticket keys and
     * the counters the handshake callbacks touch are under this lock. */
    pthread_mutex_t lock;
    bool lock_init;
};

/* ex_data slots: SSL_CTX → bacsc_tls_ctx, SSL → bacsc_tls_resume, SSL → the
 * refused peer certificate's subject and serial (malloc'd text), X509 (an
 * issuer certificate of a trust store) → its SHA-256 (malloc'd) */
static int ctx_ex_index = -1, ssl_ex_index = -1, peer_ex_index = -1, x509_ex_index = -1;

static void free_peer_ex(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                         void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    free(ptr);
}

static bool ex_indexes(void)
{
    if (ctx_ex_index < 0)
        ctx_ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    if (ssl_ex_index < 0)
        ssl_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    if (peer_ex_index < 0)
        peer_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_peer_ex);
    if (x509_ex_index < 0)
        x509_ex_index = X509_get_ex_new_index(0, NULL, NULL, NULL, free_peer_ex);
    return ctx_ex_index >= 0 && ssl_ex_index >= 0 && peer_ex_index >= 0 && x509_ex_index >= 0;
}

static bacsc_tls_ctx *ctx_of(const SSL *ssl)
{
    return ctx_ex_index < 0 ? NULL : SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_ex_index);
}

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

/* SHA-256, fetched once. */
static EVP_MD *sha256_v;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static void sha256_fetch(void)
{
    sha256_v = EVP_MD_fetch(NULL, "SHA256", NULL);
}
static const EVP_MD *sha256(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_v ? sha256_v : EVP_sha256();
}

/* The SHA-256 of a certificate: an issuer of our trust stores carries it
 * (computed when the issuers were read), any other is hashed now. */
bool bacsc_tls_cert_sha256(X509 *x, uint8_t out[32])
{
    const uint8_t *h = x509_ex_index < 0 ? NULL : X509_get_ex_data(x, x509_ex_index);
    if (h) {
        memcpy(out, h, 32);
        return true;
    }
    unsigned len = 0;
    return X509_digest(x, sha256(), out, &len) == 1 && len == 32;
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
        uint8_t *h = malloc(32);
        if (h && (!bacsc_tls_cert_sha256(x, h) || X509_set_ex_data(x, x509_ex_index, h) != 1))
            free(h);
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

/* ---- session ticket keys ----------------------------------------------------- */

#define TK_MAGIC "bacsc-ticket-keys 1"

static void hex_put(char *out, const uint8_t *b, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[b[i] >> 4];
        out[2 * i + 1] = hx[b[i] & 15];
    }
    out[2 * n] = 0;
}

/* Parse exactly n bytes of hex from *p followed by a space or the end. */
static bool hex_get(const char **p, uint8_t *b, size_t n)
{
    const char *s = *p;
    for (size_t i = 0; i < n; i++) {
        int hi = bacsc_hex_digit(s[2 * i]), lo = hi < 0 ? -1 : bacsc_hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    s += 2 * n;
    if (*s != ' ' && *s != 0 && *s != '\n')
        return false;
    while (*s == ' ')
        s++;
    *p = s;
    return true;
}

static int new_key(bacsc_tls_ticket_key *key, int64_t now)
{
    if (RAND_bytes(key->name, sizeof key->name) != 1 ||
        RAND_bytes(key->aes, sizeof key->aes) != 1 ||
        RAND_bytes(key->hmac, sizeof key->hmac) != 1)
        return -1;
    key->created = now;
    return 0;
}

int bacsc_tls_ticket_keys_rotate(bacsc_tls_ticket_keys *k, int64_t now)
{
    bacsc_tls_ticket_key fresh;
    if (new_key(&fresh, now) != 0)
        return -1;
    if (k->n >= 1) {
        k->key[1] = k->key[0];
        k->n = 2;
    } else {
        k->n = 1;
    }
    k->key[0] = fresh;
    OPENSSL_cleanse(&fresh, sizeof fresh);
    return 0;
}

int bacsc_tls_ticket_keys_save(const char *path, const bacsc_tls_ticket_keys *k, char *err,
                               size_t errlen)
{
    char tmp[1100];
    if (snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "ticket key file name too long: %s", path);
        return -1;
    }
    int fd = mkstemp(tmp); /* O_EXCL, mode 0600 */
    if (fd < 0) {
        snprintf(err, errlen, "cannot write ticket key file %s: %s", tmp, strerror(errno));
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        snprintf(err, errlen, "cannot write ticket key file %s: %s", tmp, strerror(errno));
        return -1;
    }
    fprintf(f, "%s\n", TK_MAGIC);
    for (unsigned i = 0; i < k->n; i++) {
        char n[33], a[65], h[65];
        hex_put(n, k->key[i].name, 16);
        hex_put(a, k->key[i].aes, 32);
        hex_put(h, k->key[i].hmac, 32);
        fprintf(f, "%lld %s %s %s\n", (long long)k->key[i].created, n, a, h);
        OPENSSL_cleanse(a, sizeof a);
        OPENSSL_cleanse(h, sizeof h);
    }
    bool ok = fflush(f) == 0 && fsync(fd) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write ticket key file %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Parse the file's text. Returns 0 or -1 (message in err). */
static int keys_parse(const char *path, char *text, bacsc_tls_ticket_keys *k, char *err,
                      size_t errlen)
{
    memset(k, 0, sizeof *k);
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save);
    if (!line || strcmp(line, TK_MAGIC) != 0) {
        snprintf(err, errlen, "%s is not a ticket key file (first line is not \"%s\")", path,
                 TK_MAGIC);
        return -1;
    }
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        if (!*line)
            continue;
        if (k->n == BACSC_TLS_TICKET_KEYS) {
            snprintf(err, errlen, "%s: more than %d keys", path, BACSC_TLS_TICKET_KEYS);
            return -1;
        }
        bacsc_tls_ticket_key *key = &k->key[k->n];
        char *end;
        errno = 0;
        long long created = strtoll(line, &end, 10);
        const char *p = end;
        if (errno || end == line || *p != ' ' || created < 0) {
            snprintf(err, errlen, "%s: key %u: bad creation time", path, k->n + 1);
            return -1;
        }
        p++;
        if (!hex_get(&p, key->name, 16) || !hex_get(&p, key->aes, 32) ||
            !hex_get(&p, key->hmac, 32) || *p) {
            snprintf(err, errlen, "%s: key %u: expected NAME(32 hex) AES(64 hex) HMAC(64 hex)",
                     path, k->n + 1);
            return -1;
        }
        key->created = created;
        k->n++;
    }
    if (!k->n) {
        snprintf(err, errlen, "%s: no key", path);
        return -1;
    }
    return 0;
}

int bacsc_tls_ticket_keys_load(const char *path, int64_t now, uint32_t rotate_s,
                               bacsc_tls_ticket_keys *k, bool *rotated, char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (rotated)
        *rotated = false;
    if (!rotate_s)
        rotate_s = BACSC_TLS_TICKET_ROTATE_S;
    memset(k, 0, sizeof *k);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        /* Create: O_EXCL so that two starting hubs do not both write keys. */
        if (bacsc_tls_ticket_keys_rotate(k, now) != 0) {
            snprintf(err, errlen, "no random numbers for the ticket keys");
            return -1;
        }
        int wfd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (wfd < 0) {
            snprintf(err, errlen, "cannot create ticket key file %s: %s", path, strerror(errno));
            return -1;
        }
        close(wfd);
        if (bacsc_tls_ticket_keys_save(path, k, err, errlen) != 0) {
            unlink(path);
            return -1;
        }
        BACSC_INFO("tls: created ticket key file %s", path);
        return 0;
    }
    if (fd < 0) {
        snprintf(err, errlen, "cannot open ticket key file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        snprintf(err, errlen, "ticket key file %s is not a regular file", path);
        return -1;
    }
    if (st.st_mode & 077) {
        close(fd);
        snprintf(err, errlen, "ticket key file %s is accessible by group/others (mode %03o; "
                              "must be 0600)", path, (unsigned)(st.st_mode & 0777));
        return -1;
    }
    char buf[1024];
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got < 0) {
        snprintf(err, errlen, "cannot read ticket key file %s: %s", path, strerror(errno));
        return -1;
    }
    if ((size_t)got == sizeof buf - 1) {
        snprintf(err, errlen, "%s is not a ticket key file (too large)", path);
        return -1;
    }
    buf[got] = 0;
    int rc = keys_parse(path, buf, k, err, errlen);
    OPENSSL_cleanse(buf, sizeof buf);
    if (rc != 0)
        return -1;
    if (now - k->key[0].created >= (int64_t)rotate_s) {
        if (bacsc_tls_ticket_keys_rotate(k, now) != 0) {
            snprintf(err, errlen, "no random numbers for the ticket keys");
            return -1;
        }
        if (bacsc_tls_ticket_keys_save(path, k, err, errlen) != 0)
            return -1;
        if (rotated)
            *rotated = true;
        BACSC_INFO("tls: rotated the ticket key in %s", path);
    }
    return 0;
}

/* The ticket cipher, fetched once (not looked up in the provider store on
 * every ticket). */
static EVP_CIPHER *ticket_cipher_v;
static pthread_once_t ticket_cipher_once = PTHREAD_ONCE_INIT;
static void ticket_cipher_fetch(void)
{
    ticket_cipher_v = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
}
static const EVP_CIPHER *ticket_cipher(void)
{
    pthread_once(&ticket_cipher_once, ticket_cipher_fetch);
    return ticket_cipher_v ? ticket_cipher_v : EVP_aes_256_cbc();
}

/* Under t->lock: the key to encrypt with (rotating first when due) or the
 * one named; *out gets a copy. Returns 1, 2 (previous key), 0 (unknown
 * name), -1. */
static int ticket_key_pick(bacsc_tls_ctx *t, unsigned char key_name[16], int enc,
                           bacsc_tls_ticket_key *out)
{
    if (!t->keys.n)
        return -1;
    const bacsc_tls_ticket_key *key = NULL;
    int ret = 1;
    if (enc) {
        int64_t now = (int64_t)time(NULL);
        if (now - t->keys.key[0].created >= (int64_t)t->ticket_rotate_s) {
            char err[256];
            if (bacsc_tls_ticket_keys_rotate(&t->keys, now) != 0)
                return -1;
            t->stats.key_rotations++;
            if (bacsc_tls_ticket_keys_save(t->ticket_key_file, &t->keys, err, sizeof err) != 0)
                BACSC_WARN("tls: ticket key rotated in memory only: %s", err);
            else
                BACSC_INFO("tls: rotated the ticket key in %s", t->ticket_key_file);
        }
        key = &t->keys.key[0];
        memcpy(key_name, key->name, 16);
    } else {
        for (unsigned i = 0; i < t->keys.n; i++)
            if (CRYPTO_memcmp(key_name, t->keys.key[i].name, 16) == 0) {
                key = &t->keys.key[i];
                ret = i == 0 ? 1 : 2;
                break;
            }
        if (!key)
            return 0;
    }
    *out = *key;
    return ret;
}

/* Ticket encryption/decryption (OpenSSL 3: EVP_MAC HMAC-SHA-256). Returns
 * 1 (use), 2 (decrypted with the previous key: use, and issue a new one),
 * 0 (unknown key name: full handshake), -1 (error). */
static int ticket_key_cb(SSL *ssl, unsigned char key_name[16], unsigned char *iv,
                         EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    /* Making a ticket: the session was encoded, decoded and encoded again
     * since ticket_make_cb(); what follows needs the default library context
     * back (and the keyless decode's errors, if any, are not errors). */
    bacsc_keyless_leave_ex(enc != 0);
    bacsc_tls_ctx *t = ctx_of(ssl);
    if (!t)
        return -1;
    bacsc_tls_ticket_key key;
    pthread_mutex_lock(&t->lock);
    int ret = ticket_key_pick(t, key_name, enc, &key);
    pthread_mutex_unlock(&t->lock);
    if (ret <= 0) {
        OPENSSL_cleanse(&key, sizeof key);
        return ret;
    }
    if (enc && RAND_bytes(iv, 16) != 1)
        ret = -1;
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.hmac, 32);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[2] = OSSL_PARAM_construct_end();
    if (ret > 0 && EVP_MAC_CTX_set_params(hctx, params) != 1)
        ret = -1;
    if (ret > 0 && (enc ? EVP_EncryptInit_ex(cctx, ticket_cipher(), NULL, key.aes, iv)
                        : EVP_DecryptInit_ex(cctx, ticket_cipher(), NULL, key.aes, iv)) != 1)
        ret = -1;
    OPENSSL_cleanse(&key, sizeof key);
    /* Opening a ticket: OpenSSL now checks its MAC, decrypts it and decodes
     * the session — its client certificate without the key, which the
     * checks of session_cert_ok() do not need (tls_verify.c); closed by
     * ticket_decrypted_cb(). */
    if (!enc && ret > 0)
        bacsc_keyless_enter();
    return ret;
}


/* A configured CRL covers the issuers it was given for: a peer of another
 * configured issuer (no CRL of its own) is not refused for that. */
static int verify_cb(int ok, X509_STORE_CTX *vc)
{
    if (!ok && X509_STORE_CTX_get_error(vc) == X509_V_ERR_UNABLE_TO_GET_CRL) {
        X509_STORE_CTX_set_error(vc, X509_V_OK);
        return 1;
    }
    /* Our CRL is past its nextUpdate: fail closed, but do not tell the peer
     * its certificate expired (OpenSSL's alert for this error): the fault is
     * ours, so it gets an internal_error alert (the daemon logs the stale
     * CRL itself). */
    if (!ok && X509_STORE_CTX_get_error(vc) == X509_V_ERR_CRL_HAS_EXPIRED)
        X509_STORE_CTX_set_error(vc, X509_V_ERR_UNSPECIFIED);
    return ok;
}

/* "subject CN=x, serial 0A1B" of a certificate into buf. */
static void cert_ident(X509 *x, char *buf, size_t len)
{
    char subj[200] = "?", serial[80] = "?";
    BIO *b = BIO_new(BIO_s_mem());
    if (b && X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0) {
        int n = BIO_read(b, subj, (int)sizeof subj - 1);
        subj[n > 0 ? n : 0] = 0;
    }
    BIO_free(b);
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    if (hex)
        snprintf(serial, sizeof serial, "%s", hex);
    OPENSSL_free(hex);
    BN_free(bn);
    snprintf(buf, len, "subject %s, serial %s", subj[0] ? subj : "(empty)", serial);
}

/* Every handshake's verification: the CRL rules above, and the refused
 * peer's certificate noted (its subject and serial go into the reason). */
static int ssl_verify_cb(int ok, X509_STORE_CTX *vc)
{
    ok = verify_cb(ok, vc);
    if (ok || peer_ex_index < 0)
        return ok;
    SSL *ssl = X509_STORE_CTX_get_ex_data(vc, SSL_get_ex_data_X509_STORE_CTX_idx());
    X509 *x = X509_STORE_CTX_get0_cert(vc);
    if (!ssl || !x || SSL_get_ex_data(ssl, peer_ex_index))
        return ok;
    char buf[320];
    cert_ident(x, buf, sizeof buf);
    char *d = strdup(buf);
    if (d && SSL_set_ex_data(ssl, peer_ex_index, d) != 1)
        free(d);
    return ok;
}

/* Trust: the configured issuers only, each peer signed directly by one;
 * the CRLs when configured. Returns 0 or -1 with err set. */
static int setup_trust(X509_STORE *st, const bacsc_tls_config *cfg, STACK_OF(X509_NAME) *names,
                       char *err, size_t errlen)
{
    for (int i = 0; i < BACSC_TLS_MAX_ISSUERS; i++) {
        const char *f = cfg->issuer_files[i];
        if (!f)
            continue;
        if (load_issuers(st, f, names) <= 0) {
            set_err(err, errlen, "no issuer certificate could be read from %s", f);
            return -1;
        }
    }
    unsigned long flags = X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_X509_STRICT;
    const char *crls[2] = {cfg->crl_file, cfg->crl_file2};
    for (int i = 0; i < 2; i++) {
        if (!crls[i])
            continue;
        if (load_crls(st, crls[i]) <= 0) {
            set_err(err, errlen, "no CRL could be read from %s", crls[i]);
            return -1;
        }
        flags |= X509_V_FLAG_CRL_CHECK;
        X509_STORE_set_verify_cb(st, verify_cb);
    }
    /* OpenSSL's CRL check, without verifying a CRL's signature again in
     * every verification (tls_crl.c) */
    if ((flags & X509_V_FLAG_CRL_CHECK) && bacsc_tls_crl_install(st, x509_ex_index) != 0) {
        set_err(err, errlen, "out of memory%s", NULL);
        return -1;
    }
    X509_STORE_set_flags(st, flags);
    return 0;
}

/* ---- the client certificate inside a ticket -------------------------------- */

/* A ticket names (OpenSSL's ticket appdata, inside the encrypted and
 * authenticated ticket) the issuer certificate that verified its client
 * certificate: TICKET_AD_V1 and the SHA-256 of that issuer certificate. */
#define TICKET_AD_V1 0x01
#define TICKET_AD_LEN 33

/* The issuer a ticket's session names, or NULL. */
static const uint8_t *ticket_issuer(SSL_SESSION *ss)
{
    void *ad = NULL;
    size_t len = 0;
    if (SSL_SESSION_get0_ticket_appdata(ss, &ad, &len) != 1 || len != TICKET_AD_LEN ||
        ((const uint8_t *)ad)[0] != TICKET_AD_V1)
        return NULL;
    return (const uint8_t *)ad + 1;
}

/* Name in the session (for the ticket issued from it) the issuer that
 * verified its certificate; `h` all zero: none. */
static void ticket_issuer_set(SSL_SESSION *ss, const uint8_t h[32])
{
    static const uint8_t zero[32];
    if (memcmp(h, zero, 32) == 0) {
        SSL_SESSION_set1_ticket_appdata(ss, NULL, 0);
        return;
    }
    uint8_t ad[TICKET_AD_LEN] = {TICKET_AD_V1};
    memcpy(ad + 1, h, 32);
    SSL_SESSION_set1_ticket_appdata(ss, ad, sizeof ad);
}

/* The client certificate in a ticket must still verify now: issuers, CRL,
 * clock and purpose of the store of the SSL's *own* context (on a
 * handshake worker, a reload may be swapping the bacsc context's SSL_CTX
 * meanwhile), with the SSL's verification parameters (depth 0), as in a
 * full handshake. When the ticket names the issuer certificate that
 * verified it and that very certificate is still configured, its signature
 * on the client certificate is not verified again; otherwise (a ticket of
 * an older bacsc, an issuer certificate replaced) in full, and the session
 * then names the issuer that verified it now (a renewed ticket carries it). */
static bool session_cert_ok(bacsc_tls_ctx *t, SSL *ssl, SSL_SESSION *ss)
{
    X509 *peer = SSL_SESSION_get0_peer(ss);
    if (!peer)
        return false;
    SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
    const X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    const uint8_t *known = ticket_issuer(ss);
    bool fast = known && bacsc_tls_cert_current(ctx, param, peer, true, known);
    uint8_t used[32];
    if (!fast) {
        char why[160];
        if (!bacsc_tls_cert_verifies(ctx, param, peer, true, used, why, sizeof why)) {
            BACSC_INFO("tls: ticket refused: its client certificate no longer verifies: %s",
                       why);
            return false;
        }
        if (!known || memcmp(known, used, 32) != 0)
            ticket_issuer_set(ss, used);
    }
    pthread_mutex_lock(&t->lock);
    if (fast)
        t->stats.tickets_issuer_known++;
    else
        t->stats.tickets_full_verify++;
    pthread_mutex_unlock(&t->lock);
    return true;
}

/* A ticket is about to be made from the session of a full handshake: name
 * in it the issuer certificate that verified the client certificate. (A
 * resumed session already names it: OpenSSL copies the appdata into the
 * session the new ticket is made from, and session_cert_ok updated it.) */
static int ticket_gen_cb(SSL *ssl, void *arg)
{
    (void)arg;
    SSL_SESSION *ss = SSL_get_session(ssl);
    if (!ss || SSL_session_reused(ssl))
        return 1;
    STACK_OF(X509) *chain = SSL_get0_verified_chain(ssl);
    uint8_t h[32];
    X509 *peer = SSL_SESSION_get0_peer(ss);
    if (peer && chain && sk_X509_num(chain) == 2 && X509_cmp(sk_X509_value(chain, 0), peer) == 0 &&
        bacsc_tls_cert_sha256(sk_X509_value(chain, 1), h))
        ticket_issuer_set(ss, h);
    ERR_clear_error();
    return 1; /* a ticket without it is still good: verified in full when used */
}

/* OpenSSL calls this just before it makes a ticket of the session: name the
 * issuer in it, then (a stateless ticket: OpenSSL encodes the session,
 * decodes the encoding into a copy and encodes the copy) open the keyless
 * window (ossl_keyless_internal.h) for that copy, whose certificate key
 * nothing uses; ticket_key_cb() closes it. */
static int ticket_make_cb(SSL *ssl, void *arg)
{
    int rc = ticket_gen_cb(ssl, arg);
    if (rc == 1 && !(SSL_get_options(ssl) & SSL_OP_NO_TICKET) && SSL_get_max_early_data(ssl) == 0)
        bacsc_keyless_enter();
    return rc;
}

static SSL_TICKET_RETURN ticket_decrypted_cb(SSL *ssl, SSL_SESSION *ss,
                                             const unsigned char *keyname, size_t keyname_len,
                                             SSL_TICKET_STATUS status, void *arg)
{
    bacsc_keyless_leave_ex(true); /* opened by ticket_key_cb() */
    bacsc_tls_ctx *t = arg;
    (void)keyname;
    (void)keyname_len;
    switch (status) {
    case SSL_TICKET_EMPTY:
    case SSL_TICKET_NO_DECRYPT:
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    case SSL_TICKET_SUCCESS:
    case SSL_TICKET_SUCCESS_RENEW:
        break;
    default:
        return SSL_TICKET_RETURN_ABORT;
    }
    int64_t age = (int64_t)time(NULL) - bacsc_ssl_session_time(ss);
    if (age < 0 || age > (int64_t)t->ticket_lifetime_s || !session_cert_ok(t, ssl, ss)) {
        pthread_mutex_lock(&t->lock);
        t->stats.tickets_refused++;
        pthread_mutex_unlock(&t->lock);
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    }
    /* Renew (a new ticket after the handshake) when the ticket came under
     * the previous key or is past half its life: a node that reconnects
     * keeps a ticket that will still be good at the next hub restart.
     * Otherwise the node reuses its ticket (tls_resume_offer()): issuing one
     * costs OpenSSL 3.0 an encode, a full decode (an X.509 parse) and an
     * encode of the session — a third of a resumed handshake, spent in a
     * reconnect storm where it matters most. */
    if (status == SSL_TICKET_SUCCESS_RENEW || age > (int64_t)t->ticket_lifetime_s / 2)
        return SSL_TICKET_RETURN_USE_RENEW;
    return SSL_TICKET_RETURN_USE;
}

/* Issue and accept tickets on `ctx` with the keys of `t`. */
static int tickets_on(bacsc_tls_ctx *t, SSL_CTX *ctx)
{
    static const unsigned char sid_ctx[] = "bacsc BACnet/SC";
    if (SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1) != 1 ||
        SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb) != 1 ||
        SSL_CTX_set_session_ticket_cb(ctx, ticket_make_cb, ticket_decrypted_cb, t) != 1 ||
        SSL_CTX_set_num_tickets(ctx, 1) != 1)
        return -1;
    SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_timeout(ctx, (long)t->ticket_lifetime_s);
    return 0;
}

/* When the ticket of an open connection is due for renewal: past half its
 * lifetime plus up to a quarter more, drawn from the session id (a new one
 * with every ticket), so that nodes that connected together (after a hub
 * restart) do not all come due in the same second. The last ticket sent is
 * at most three quarters of its life old, and still good at a restart. */
static int64_t ticket_due_age(const SSL_SESSION *s, uint32_t life)
{
    unsigned int n = 0;
    const unsigned char *id = SSL_SESSION_get_id(s, &n);
    uint32_t h = 2166136261u; /* FNV-1a */
    for (unsigned int i = 0; i < n; i++)
        h = (h ^ id[i]) * 16777619u;
    return (int64_t)life / 2 + (int64_t)(((uint64_t)(life / 4) * h) >> 32);
}

uint32_t bacsc_tls_ctx_ticket_lifetime(const bacsc_tls_ctx *t)
{
    return t && t->tickets ? t->ticket_lifetime_s : 0;
}

int bacsc_tls_ticket_refresh(SSL *ssl)
{
    bacsc_tls_ctx *t = ssl ? ctx_of(ssl) : NULL;
    SSL_SESSION *s = ssl ? SSL_get0_session(ssl) : NULL;
    if (!t || !t->tickets || !s || !SSL_is_server(ssl) || SSL_version(ssl) != TLS1_3_VERSION ||
        !SSL_is_init_finished(ssl))
        return 0;
    int64_t age = (int64_t)time(NULL) - bacsc_ssl_session_time(s);
    if (age < ticket_due_age(s, t->ticket_lifetime_s))
        return 0;
    /* OpenSSL sends it (and stamps the session with the time, so it is not
     * due again) at once when the socket takes it, else before the next
     * record either way (SSL_read/SSL_write finish the handshake state). */
    if (ERR_peek_error())
        ERR_clear_error();
    if (SSL_new_session_ticket(ssl) != 1)
        return -1;
    int rc = bacsc_keyless_after(SSL_do_handshake(ssl));
    if (rc != 1) {
        int e = SSL_get_error(ssl, rc);
        if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) {
            ERR_clear_error();
            return -1;
        }
    }
    pthread_mutex_lock(&t->lock);
    t->stats.tickets_refreshed++;
    pthread_mutex_unlock(&t->lock);
    return 1;
}

static int tickets_setup(bacsc_tls_ctx *t, const bacsc_tls_config *cfg, char *err, size_t errlen)
{
    t->ticket_rotate_s = cfg->ticket_rotate_s ? cfg->ticket_rotate_s : BACSC_TLS_TICKET_ROTATE_S;
    t->ticket_lifetime_s =
        cfg->ticket_lifetime_s ? cfg->ticket_lifetime_s : BACSC_TLS_TICKET_LIFETIME_S;
    if (t->ticket_lifetime_s > t->ticket_rotate_s) {
        /* a ticket must stay decryptable (current or previous key) all its life */
        snprintf(err, errlen, "ticket lifetime (%u s) must not exceed the key rotation "
                              "period (%u s)", t->ticket_lifetime_s, t->ticket_rotate_s);
        return -1;
    }
    t->ticket_key_file = strdup(cfg->ticket_key_file);
    if (!t->ticket_key_file) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (bacsc_tls_ticket_keys_load(t->ticket_key_file, (int64_t)time(NULL), t->ticket_rotate_s,
                                   &t->keys, NULL, err, errlen) != 0)
        return -1;
    if (tickets_on(t, t->ctx) != 0) {
        snprintf(err, errlen, "cannot configure session tickets");
        return -1;
    }
    t->tickets = true;
    return 0;
}

/* ---- client-side resumption ------------------------------------------------ */

/* A ticket arrived (TLS 1.3: after the handshake). Keep a private copy: the
 * SSL's own session object is marked not resumable if the connection later
 * ends with an error (e.g. the hub is killed), which must not spoil it. */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    bacsc_tls_resume *r = ssl_ex_index < 0 ? NULL : SSL_get_ex_data(ssl, ssl_ex_index);
    if (!r || !SSL_SESSION_is_resumable(sess))
        return 0;
    SSL_SESSION *copy = SSL_SESSION_dup(sess);
    if (!copy)
        return 0;
    SSL_SESSION_free(r->session);
    r->session = copy;
    return 0; /* we did not keep the caller's reference */
}

/* Offer a copy of the kept session: OpenSSL marks the session a TLS 1.3
 * client resumed not resumable (single use), and the hub sends a new ticket
 * only when the old one is past half its life. The copy shares the
 * certificate (a reference), so it is cheap. */
static bool tls_resume_offer(SSL *ssl, SSL_SESSION *s)
{
    SSL_SESSION *copy = SSL_SESSION_dup(s);
    if (!copy)
        return false;
    bool ok = SSL_set_session(ssl, copy) == 1;
    SSL_SESSION_free(copy); /* the SSL holds its own reference */
    return ok;
}

int bacsc_tls_ssl_set_resume(SSL *ssl, bacsc_tls_resume *r)
{
    if (!ssl || SSL_is_server(ssl) || !ex_indexes())
        return -1;
    if (SSL_set_ex_data(ssl, ssl_ex_index, r) != 1)
        return -1;
    if (r && r->session) {
        SSL_SESSION *s = r->session;
        int64_t age = (int64_t)time(NULL) - bacsc_ssl_session_time(s);
        int64_t life = (int64_t)SSL_SESSION_get_timeout(s);
        uint32_t hint = (uint32_t)SSL_SESSION_get_ticket_lifetime_hint(s);
        if (hint && (int64_t)hint < life)
            life = hint; /* the server's ticket lifetime */
        if (age < 0 || age >= life || !SSL_SESSION_is_resumable(s)) {
            bacsc_tls_resume_clear(r);
        } else if (!tls_resume_offer(ssl, s)) {
            ERR_clear_error();
            bacsc_tls_resume_clear(r);
        }
    }
    return 0;
}

void bacsc_tls_resume_clear(bacsc_tls_resume *r)
{
    if (!r)
        return;
    SSL_SESSION_free(r->session);
    r->session = NULL;
}

void bacsc_tls_ctx_stats(const bacsc_tls_ctx *t, bacsc_tls_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!t)
        return;
    pthread_mutex_lock((pthread_mutex_t *)&t->lock);
    *out = t->stats;
    pthread_mutex_unlock((pthread_mutex_t *)&t->lock);
    uint64_t full, reused; /* the current store's, added to the earlier stores' */
    bacsc_tls_crl_counts(SSL_CTX_get_cert_store(t->ctx), &full, &reused);
    out->crl_checks_full += full;
    out->crl_checks_reused += reused;
}

void bacsc_tls_note_handshake(SSL *ssl)
{
    bacsc_tls_ctx *t = ssl ? ctx_of(ssl) : NULL;
    if (!t)
        return;
    bool resumed = SSL_session_reused(ssl);
    pthread_mutex_lock(&t->lock);
    t->stats.handshakes++;
    t->stats.resumed += resumed;
    pthread_mutex_unlock(&t->lock);
}

/* TLS 1.3 only, the suites, groups and signature algorithms of BACnet/SC,
 * session handling. */
static bool configure_protocol(SSL_CTX *ctx, bool server)
{
    /* TLS 1.3 only. */
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
        !SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                       "TLS_CHACHA20_POLY1305_SHA256") ||
        !SSL_CTX_set1_groups_list(ctx, "P-256:X25519:P-384") ||
        !SSL_CTX_set1_sigalgs_list(ctx, "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:ed25519:"
                                        "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:"
                                        "rsa_pss_pss_sha256")) {
        return false;
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Resumption only with a fresh (EC)DHE exchange (psk_dhe_ke): forward
     * secrecy does not depend on the ticket keys. */
    SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_NO_DHE_KEX);
    /* No stateful cache on either side. A server resumes only from its own
     * (stateless) tickets, when a ticket key file is configured; a client
     * keeps sessions in bacsc_tls_resume holders via the new-session
     * callback. */
    SSL_CTX_set_session_cache_mode(ctx, server ? SSL_SESS_CACHE_OFF
                                               : SSL_SESS_CACHE_CLIENT |
                                                     SSL_SESS_CACHE_NO_INTERNAL_STORE);
    if (!server)
        SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
    /* Read whole socket buffers instead of header-then-body per record:
     * several times fewer read() calls under load. The buffer is still
     * released when empty (SSL_MODE_RELEASE_BUFFERS). */
    SSL_CTX_set_read_ahead(ctx, 1);
    if (server)
        SSL_CTX_set_num_tickets(ctx, 0); /* no tickets unless a key file is configured */
    return true;
}

bacsc_tls_ctx *bacsc_tls_ctx_new(const bacsc_tls_config *cfg, bool server, char *err, size_t errlen)
{
    if (!cfg || !cfg->cert_file || !cfg->key_file || !cfg->issuer_files[0]) {
        set_err(err, errlen, "TLS needs a certificate, a key and at least one issuer certificate%s",
                NULL);
        return NULL;
    }
    bacsc_tls_ctx *t = calloc(1, sizeof *t);
    SSL_CTX *ctx = SSL_CTX_new_ex(bacsc_keyless_ssl_libctx(), NULL,
                                 server ? TLS_server_method() : TLS_client_method());
    X509_STORE *st = X509_STORE_new();
    STACK_OF(X509_NAME) *names = server ? sk_X509_NAME_new_null() : NULL;
    if (!t || !ctx || !st || (server && !names) || !ex_indexes() ||
        SSL_CTX_set_ex_data(ctx, ctx_ex_index, t) != 1) {
        set_err(err, errlen, "out of memory%s", NULL);
        goto fail;
    }
    t->ctx = ctx;
    t->server = server;
    t->verify_hostname = cfg->verify_hostname;
    pthread_mutex_init(&t->lock, NULL);
    t->lock_init = true;

    if (!configure_protocol(ctx, server)) {
        set_err(err, errlen, "cannot configure TLS 1.3%s", NULL);
        goto fail;
    }

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

    if (setup_trust(st, cfg, names, err, errlen) != 0)
        goto fail;
    SSL_CTX_set_cert_store(ctx, st); /* takes ownership */
    st = NULL;
    /* Our own chain, built once here. Otherwise OpenSSL builds it in every
     * handshake (an X509_verify_cert of our certificate: one ECDSA
     * verification each time) and sends the self-signed issuer too, which
     * the peer must already have (it never uses one a peer sends) and would
     * only parse (an X.509 decode per handshake on the other side). */
    if (SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_NO_ROOT |
                                          SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR |
                                          SSL_BUILD_CHAIN_FLAG_CLEAR_ERROR) <= 0) {
        set_err(err, errlen, "cannot build the certificate chain of %s", cfg->cert_file);
        goto fail;
    }

    if (server) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                           ssl_verify_cb);
        SSL_CTX_set_client_CA_list(ctx, names);
        names = NULL;
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, ssl_verify_cb);
    }
    SSL_CTX_set_verify_depth(ctx, 0); /* signed directly by a configured issuer */

    if (server && cfg->ticket_key_file && *cfg->ticket_key_file) {
        char terr[300];
        if (tickets_setup(t, cfg, terr, sizeof terr) != 0) {
            ERR_clear_error();
            if (err && errlen)
                snprintf(err, errlen, "%s", terr);
            goto fail;
        }
    }

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
    if (t) {
        free(t->ticket_key_file);
        OPENSSL_cleanse(&t->keys, sizeof t->keys);
        if (t->lock_init)
            pthread_mutex_destroy(&t->lock);
    }
    free(t);
    return NULL;
}

void bacsc_tls_ctx_free(bacsc_tls_ctx *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t->ticket_key_file);
    OPENSSL_cleanse(&t->keys, sizeof t->keys);
    if (t->lock_init)
        pthread_mutex_destroy(&t->lock);
    free(t);
}

int bacsc_tls_ctx_reload(bacsc_tls_ctx *t, const bacsc_tls_config *cfg, char *err, size_t errlen)
{
    if (!t || !cfg)
        return BACSC_ERR_INVALID_ARG;
    /* Build a complete context from the files (every check of
     * bacsc_tls_ctx_new), then adopt its SSL_CTX. The ticket keys stay
     * those in memory (tickets issued before the reload still resume). */
    bacsc_tls_config c = *cfg;
    c.ticket_key_file = NULL;
    c.keylog_file = "";
    bacsc_tls_ctx *n = bacsc_tls_ctx_new(&c, t->server, err, errlen);
    if (!n)
        return BACSC_ERR_CRYPTO;
    SSL_CTX *ctx = n->ctx;
    if (SSL_CTX_set_ex_data(ctx, ctx_ex_index, t) != 1 || (t->tickets && tickets_on(t, ctx) != 0)) {
        set_err(err, errlen, "cannot configure the reloaded context%s", NULL);
        bacsc_tls_ctx_free(n);
        return BACSC_ERR_CRYPTO;
    }
    if (keylog_fp)
        SSL_CTX_set_keylog_callback(ctx, keylog_cb);
    n->ctx = NULL;
    bacsc_tls_ctx_free(n);
    /* The CRL check counts are the store's: keep the old store's. */
    uint64_t full, reused;
    bacsc_tls_crl_counts(SSL_CTX_get_cert_store(t->ctx), &full, &reused);
    pthread_mutex_lock(&t->lock);
    t->stats.crl_checks_full += full;
    t->stats.crl_checks_reused += reused;
    pthread_mutex_unlock(&t->lock);
    /* Connections made with the old SSL_CTX hold their own reference. */
    SSL_CTX_free(t->ctx);
    t->ctx = ctx;
    t->verify_hostname = cfg->verify_hostname;
    return BACSC_OK;
}

/* The issuer certificate that verified the peer of `ssl` (its SHA-256):
 * named in the session (a ticket's, or a full handshake's once a ticket was
 * made of it), else the second of the verified chain [peer, issuer]. */
static bool peer_issuer(SSL *ssl, uint8_t out[32])
{
    SSL_SESSION *ss = SSL_get0_session(ssl);
    const uint8_t *named = ss ? ticket_issuer(ss) : NULL;
    if (named) {
        memcpy(out, named, 32);
        return true;
    }
    STACK_OF(X509) *chain = SSL_get0_verified_chain(ssl);
    return chain && sk_X509_num(chain) == 2 &&
           X509_cmp(sk_X509_value(chain, 0), SSL_get0_peer_certificate(ssl)) == 0 &&
           bacsc_tls_cert_sha256(sk_X509_value(chain, 1), out);
}

int bacsc_tls_peer_recheck(bacsc_tls_ctx *t, struct ssl_st *ssl, char *why, size_t cap)
{
    if (!t || !ssl)
        return BACSC_ERR_INVALID_ARG;
    X509 *peer = SSL_get0_peer_certificate(ssl);
    if (!peer)
        return BACSC_OK; /* no handshake done yet: it will verify with the new store */
    /* After a reload, a hub re-checks every connected node at once: without
     * the issuer's signature again where the issuer is known (tls_verify.c). */
    const X509_VERIFY_PARAM *param = SSL_CTX_get0_param(t->ctx);
    uint8_t known[32];
    bool fast = peer_issuer(ssl, known) &&
                bacsc_tls_cert_current(t->ctx, param, peer, SSL_is_server(ssl), known);
    bool ok = fast || bacsc_tls_cert_verifies(t->ctx, param, peer, SSL_is_server(ssl), NULL, why, cap);
    pthread_mutex_lock(&t->lock);
    if (fast)
        t->stats.rechecks_issuer_known++;
    else
        t->stats.rechecks_full_verify++;
    pthread_mutex_unlock(&t->lock);
    return ok ? BACSC_OK : BACSC_ERR_POLICY;
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
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    /* A refused certificate signature leaves the signature code's error
     * (e.g. "asn1 encoding routines::EVP lib") before the TLS layer's
     * "certificate verify failed": the latter says what happened. */
    unsigned long last = ERR_peek_last_error();
    if (vr != X509_V_OK && ERR_GET_LIB(last) == ERR_LIB_SSL &&
        ERR_GET_REASON(last) == SSL_R_CERTIFICATE_VERIFY_FAILED)
        e = last;
    if (e)
        ERR_error_string_n(e, ossl, sizeof ossl);
    int reason = e ? ERR_GET_REASON(e) : 0;

    char vwhy[160];
    if (vr != X509_V_OK && (!e || reason == SSL_R_CERTIFICATE_VERIFY_FAILED)) {
        why = X509_verify_cert_error_string(vr);
        if (vr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
            vr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT || vr == X509_V_ERR_CERT_CHAIN_TOO_LONG) {
            /* verify depth 0: the peer's certificate is not signed directly by
             * one of the configured issuers */
            snprintf(vwhy, sizeof vwhy, "%s: not signed directly by a configured issuer", why);
            why = vwhy;
        }
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
            code = own_err;
            why = "the peer rejected our certificate: unknown issuer";
            break;
        case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
            code = own_err;
            why = "the peer rejected our certificate: bad certificate";
            break;
        case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
            code = own_err;
            why = "the peer rejected our certificate: unsupported certificate";
            break;
        case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
            code = own_err;
            why = "the peer rejected our certificate: certificate unknown";
            break;
        default:
            code = 188;
            why = e ? NULL : "connection closed during TLS";
            break;
        }
    }
    ERR_clear_error();
    /* the certificate the peer presented, when we refused it */
    const char *peer = ssl && peer_ex_index >= 0 && vr != X509_V_OK
                           ? SSL_get_ex_data(ssl, peer_ex_index)
                           : NULL;
    char pbuf[340] = "";
    if (peer)
        snprintf(pbuf, sizeof pbuf, "; peer certificate %s", peer);
    if (text && textlen) {
        if (why && ossl[0])
            snprintf(text, textlen, "%s: %s%s (%s)", bacsc_tls_error_name(code), why, pbuf, ossl);
        else
            snprintf(text, textlen, "%s: %s%s", bacsc_tls_error_name(code), why ? why : ossl,
                     pbuf);
    }
    return code;
}

int bacsc_tls_cert_uuid(X509 *cert, uint8_t out[16])
{
    if (!cert)
        return 0;
    int found = 0;
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && !found; i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type != GEN_URI)
            continue;
        const char *s = (const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
        int len = ASN1_STRING_length(gn->d.uniformResourceIdentifier);
        char buf[64];
        if (len <= 9 || len >= (int)sizeof buf || strncasecmp(s, "urn:uuid:", 9) != 0)
            continue;
        memcpy(buf, s, (size_t)len);
        buf[len] = 0;
        bacsc_uuid u;
        if (bacsc_uuid_parse(buf, &u) == BACSC_OK) {
            memcpy(out, u.b, 16);
            found = 1;
        }
    }
    GENERAL_NAMES_free(names);
    return found;
}

int bacsc_tls_peer_ident(SSL *ssl, char *buf, size_t len)
{
    if (len)
        buf[0] = 0;
    X509 *peer = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
    if (!peer)
        return 0;
    cert_ident(peer, buf, len);
    return 1;
}

int bacsc_tls_peer_uuid(SSL *ssl, uint8_t out[16])
{
    X509 *peer = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
    int r = bacsc_tls_cert_uuid(peer, out);
    X509_free(peer);
    return r;
}
