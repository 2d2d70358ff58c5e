/*
 * bench_floor.c — floors measured in the same run as a benchmark
 * (see bench_floor.h).
 */
#define _GNU_SOURCE
#include "bench_floor.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLICES 5
#define FLOOR_MAX_SIZE 65536

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Run op(arg) for about `seconds` in SLICES slices; best seconds per op, or
 * -1 when op fails. The cost is this thread's CPU time, not the wall time:
 * on a shared machine the wall time also counts the time other processes
 * held the CPU. */
static double best_per_op(int (*op)(void *), void *arg, double seconds)
{
    if (seconds <= 0)
        seconds = 0.05;
    double best = -1;
    for (int s = 0; s < SLICES; s++) {
        double t0 = now_s(), c0 = cpu_s(), end = t0 + seconds / SLICES, t = t0;
        unsigned long n = 0;
        while (t < end) {
            for (int k = 0; k < 16; k++, n++)
                if (op(arg) != 0)
                    return -1;
            t = now_s();
        }
        double per = (cpu_s() - c0) / (double)n;
        if (best < 0 || per < best)
            best = per;
    }
    return best;
}

/* ---- loopback TCP ------------------------------------------------------ */

static int full_io(int fd, uint8_t *buf, size_t n, bool wr)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = wr ? write(fd, buf + done, n - done) : read(fd, buf + done, n - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

/* A connected loopback TCP pair (TCP_NODELAY on both ends). */
static int tcp_pair(int fds[2])
{
    int one = 1, l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    fds[0] = fds[1] = -1;
    if (l < 0)
        return -1;
    if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &al) != 0)
        goto fail;
    fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&a, sizeof a) != 0)
        goto fail;
    fds[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    if (fds[1] < 0)
        goto fail;
    setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fds[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    close(l);
    return 0;
fail:
    close(l);
    if (fds[0] >= 0)
        close(fds[0]);
    fds[0] = -1;
    return -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void summarize(double *v, unsigned long n, bench_floor_lat *out)
{
    qsort(v, n, sizeof *v, cmp_double);
    double sum = 0;
    for (unsigned long i = 0; i < n; i++)
        sum += v[i];
    out->samples = n;
    out->min_us = v[0];
    out->p50_us = v[(n - 1) / 2];
    out->p99_us = v[(unsigned long)((double)(n - 1) * 0.99)];
    out->mean_us = sum / (double)n;
}

/* The echo process: read what comes, send it back, until EOF. */
static void echo_child(int fd, size_t size)
{
    uint8_t buf[FLOOR_MAX_SIZE];
    for (;;) {
        ssize_t r = read(fd, buf, size);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || full_io(fd, buf, (size_t)r, true) != 0)
            _exit(0);
    }
}

int bench_floor_tcp_rtt(size_t size, unsigned trips, double seconds, unsigned long max_samples,
                        bench_floor_lat *out)
{
    memset(out, 0, sizeof *out);
    if (size == 0 || size > FLOOR_MAX_SIZE || trips == 0 || max_samples == 0)
        return -1;
    int fds[2];
    if (tcp_pair(fds) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        echo_child(fds[1], size);
    }
    close(fds[1]);
    double *v = malloc(max_samples * sizeof *v);
    uint8_t *buf = calloc(1, size);
    unsigned long n = 0;
    int rc = v && buf ? 0 : -1;
    double end = now_s() + seconds;
    /* a few untimed round trips wake the echo process up */
    for (int w = 0; rc == 0 && w < 20; w++)
        rc = full_io(fds[0], buf, size, true) || full_io(fds[0], buf, size, false) ? -1 : 0;
    while (rc == 0 && n < max_samples) {
        double t0 = now_s();
        for (unsigned t = 0; rc == 0 && t < trips; t++) {
            buf[0] = (uint8_t)n;
            if (full_io(fds[0], buf, size, true) != 0 || full_io(fds[0], buf, size, false) != 0)
                rc = -1;
        }
        double t1 = now_s();
        v[n++] = (t1 - t0) * 1e6;
        if (t1 >= end)
            break;
    }
    close(fds[0]);
    struct rusage ru;
    int st;
    bool ru_ok = wait4(pid, &st, 0, &ru) == pid;
    if (rc == 0 && n) {
        summarize(v, n, out);
        double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
        out->echo_cpu_us = ru_ok ? cpu * 1e6 / (double)(n * trips + 20) : 0;
    }
    free(v);
    free(buf);
    return rc == 0 && n ? 0 : -1;
}

typedef struct sock_rw {
    int fds[2];
    uint8_t buf[FLOOR_MAX_SIZE];
    size_t size;
} sock_rw;

/* Two messages, one each way, so that the ACKs ride on the data as in a
 * conversation (a one-way stream would add a pure ACK per segment). */
static int op_sock_rw(void *arg)
{
    sock_rw *s = arg;
    return full_io(s->fds[0], s->buf, s->size, true) ||
           full_io(s->fds[1], s->buf, s->size, false) ||
           full_io(s->fds[1], s->buf, s->size, true) || full_io(s->fds[0], s->buf, s->size, false);
}

double bench_floor_sock_rw_us(size_t size, double seconds)
{
    if (size == 0 || size > FLOOR_MAX_SIZE)
        return -1;
    sock_rw *s = calloc(1, sizeof *s);
    if (!s || tcp_pair(s->fds) != 0) {
        free(s);
        return -1;
    }
    s->size = size;
    double r = best_per_op(op_sock_rw, s, seconds);
    close(s->fds[0]);
    close(s->fds[1]);
    free(s);
    return r < 0 ? -1 : r * 1e6 / 2;
}

static int op_syscall(void *arg)
{
    (void)arg;
    return syscall(SYS_getppid) < 0;
}

double bench_floor_syscall_ns(double seconds)
{
    double r = best_per_op(op_syscall, NULL, seconds);
    return r < 0 ? -1 : r * 1e9;
}

/* ---- crypto (EVP) ------------------------------------------------------ */

typedef struct ec_op {
    EVP_PKEY *a, *b;
    EVP_PKEY_CTX *ctx;
    uint8_t dgst[32], sig[80], out[80];
    size_t siglen;
} ec_op;

static EVP_PKEY *p256_key(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static int op_keygen(void *arg)
{
    (void)arg;
    EVP_PKEY *k = p256_key();
    EVP_PKEY_free(k);
    return k ? 0 : -1;
}

static int op_derive(void *arg)
{
    ec_op *e = arg;
    size_t n = sizeof e->out;
    return EVP_PKEY_derive(e->ctx, e->out, &n) == 1 ? 0 : -1;
}

static int op_sign(void *arg)
{
    ec_op *e = arg;
    size_t n = sizeof e->out;
    e->dgst[0]++;
    return EVP_PKEY_sign(e->ctx, e->out, &n, e->dgst, sizeof e->dgst) == 1 ? 0 : -1;
}

static int op_verify(void *arg)
{
    ec_op *e = arg;
    return EVP_PKEY_verify(e->ctx, e->sig, e->siglen, e->dgst, sizeof e->dgst) == 1 ? 0 : -1;
}

enum { EC_KEYGEN, EC_DERIVE, EC_SIGN, EC_VERIFY };

static double ec_floor(int what, double seconds)
{
    if (what == EC_KEYGEN) {
        double r = best_per_op(op_keygen, NULL, seconds);
        return r < 0 ? -1 : r * 1e6;
    }
    ec_op e = {.a = p256_key(), .b = p256_key()};
    double r = -1;
    memset(e.dgst, 0x5a, sizeof e.dgst);
    if (!e.a || !e.b || !(e.ctx = EVP_PKEY_CTX_new_from_pkey(NULL, e.a, NULL)))
        goto out;
    if (what == EC_DERIVE) {
        if (EVP_PKEY_derive_init(e.ctx) != 1 || EVP_PKEY_derive_set_peer(e.ctx, e.b) != 1)
            goto out;
        r = best_per_op(op_derive, &e, seconds);
    } else if (what == EC_SIGN) {
        if (EVP_PKEY_sign_init(e.ctx) != 1)
            goto out;
        r = best_per_op(op_sign, &e, seconds);
    } else {
        e.siglen = sizeof e.sig;
        EVP_PKEY_CTX *s = EVP_PKEY_CTX_new_from_pkey(NULL, e.a, NULL);
        int ok = s && EVP_PKEY_sign_init(s) == 1 &&
                 EVP_PKEY_sign(s, e.sig, &e.siglen, e.dgst, sizeof e.dgst) == 1;
        EVP_PKEY_CTX_free(s);
        if (!ok || EVP_PKEY_verify_init(e.ctx) != 1)
            goto out;
        r = best_per_op(op_verify, &e, seconds);
    }
out:
    EVP_PKEY_CTX_free(e.ctx);
    EVP_PKEY_free(e.a);
    EVP_PKEY_free(e.b);
    return r < 0 ? -1 : r * 1e6;
}

double bench_floor_ec_keygen_p256_us(double seconds)
{
    return ec_floor(EC_KEYGEN, seconds);
}
double bench_floor_ecdh_p256_us(double seconds)
{
    return ec_floor(EC_DERIVE, seconds);
}
double bench_floor_ecdsa_p256_sign_us(double seconds)
{
    return ec_floor(EC_SIGN, seconds);
}
double bench_floor_ecdsa_p256_verify_us(double seconds)
{
    return ec_floor(EC_VERIFY, seconds);
}

typedef struct gcm_op {
    EVP_CIPHER_CTX *ctx;
    uint8_t iv[12], aad[5], tag[16];
    uint8_t in[FLOOR_MAX_SIZE + 16], out[FLOOR_MAX_SIZE + 32];
    int len;
} gcm_op;

/* One TLS 1.3 record: new nonce, AAD = record header, text, tag. */
static int op_seal(void *arg)
{
    gcm_op *g = arg;
    int n, f;
    g->iv[11]++;
    return EVP_EncryptInit_ex(g->ctx, NULL, NULL, NULL, g->iv) == 1 &&
                   EVP_EncryptUpdate(g->ctx, NULL, &n, g->aad, sizeof g->aad) == 1 &&
                   EVP_EncryptUpdate(g->ctx, g->out, &n, g->in, g->len) == 1 &&
                   EVP_EncryptFinal_ex(g->ctx, g->out + n, &f) == 1 &&
                   EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_GCM_GET_TAG, 16, g->tag) == 1
               ? 0
               : -1;
}

static int op_open(void *arg)
{
    gcm_op *g = arg;
    int n, f;
    return EVP_DecryptInit_ex(g->ctx, NULL, NULL, NULL, g->iv) == 1 &&
                   EVP_DecryptUpdate(g->ctx, NULL, &n, g->aad, sizeof g->aad) == 1 &&
                   EVP_DecryptUpdate(g->ctx, g->in, &n, g->out, g->len) == 1 &&
                   EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_GCM_SET_TAG, 16, g->tag) == 1 &&
                   EVP_DecryptFinal_ex(g->ctx, g->in + n, &f) == 1
               ? 0
               : -1;
}

static double gcm_floor(int key_bits, size_t octets, bool seal, double seconds)
{
    if ((key_bits != 128 && key_bits != 256) || octets > FLOOR_MAX_SIZE)
        return -1;
    gcm_op *g = calloc(1, sizeof *g);
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, key_bits == 128 ? "AES-128-GCM" : "AES-256-GCM", NULL);
    uint8_t key[32] = {1, 2, 3};
    double r = -1;
    if (!g || !c || !(g->ctx = EVP_CIPHER_CTX_new()))
        goto out;
    g->len = (int)octets + 1; /* + the inner content type */
    g->aad[0] = 23;
    if (seal) {
        if (EVP_EncryptInit_ex(g->ctx, c, NULL, key, NULL) == 1)
            r = best_per_op(op_seal, g, seconds);
    } else if (EVP_EncryptInit_ex(g->ctx, c, NULL, key, NULL) == 1 && op_seal(g) == 0) {
        EVP_CIPHER_CTX_reset(g->ctx);
        if (EVP_DecryptInit_ex(g->ctx, c, NULL, key, NULL) == 1)
            r = best_per_op(op_open, g, seconds);
    }
out:
    if (g)
        EVP_CIPHER_CTX_free(g->ctx);
    EVP_CIPHER_free(c);
    free(g);
    return r < 0 ? -1 : r * 1e6;
}

double bench_floor_aes_gcm_us(int key_bits, size_t octets, double seconds)
{
    return gcm_floor(key_bits, octets, true, seconds);
}

double bench_floor_aes_gcm_open_us(int key_bits, size_t octets, double seconds)
{
    return gcm_floor(key_bits, octets, false, seconds);
}

typedef struct sha_op {
    EVP_MD_CTX *ctx;
    const EVP_MD *md;
    uint8_t in[FLOOR_MAX_SIZE], out[32];
    size_t len;
} sha_op;

static int op_sha(void *arg)
{
    sha_op *s = arg;
    s->in[0]++;
    return EVP_DigestInit_ex(s->ctx, s->md, NULL) == 1 &&
                   EVP_DigestUpdate(s->ctx, s->in, s->len) == 1 &&
                   EVP_DigestFinal_ex(s->ctx, s->out, NULL) == 1
               ? 0
               : -1;
}

double bench_floor_sha256_us(size_t octets, double seconds)
{
    if (octets > FLOOR_MAX_SIZE)
        return -1;
    sha_op *s = calloc(1, sizeof *s);
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    double r = -1;
    if (s && md && (s->ctx = EVP_MD_CTX_new())) {
        s->md = md;
        s->len = octets;
        r = best_per_op(op_sha, s, seconds);
    }
    if (s)
        EVP_MD_CTX_free(s->ctx);
    EVP_MD_free(md);
    free(s);
    return r < 0 ? -1 : r * 1e6;
}

double bench_floor_relay_us(size_t record_octets, double seconds)
{
    double open = bench_floor_aes_gcm_open_us(128, record_octets, seconds / 3);
    double seal = bench_floor_aes_gcm_us(128, record_octets, seconds / 3);
    double rw = bench_floor_sock_rw_us(record_octets + 22, seconds / 3);
    return open < 0 || seal < 0 || rw < 0 ? -1 : open + seal + rw;
}

/* ---- OpenSSL's TLS 1.3 record layer ------------------------------------- */

typedef struct tls_op {
    SSL *cli, *srv;
    int len;
    uint8_t buf[16384];
} tls_op;

static int op_tls_record(void *arg)
{
    tls_op *t = arg;
    t->buf[0]++;
    if (SSL_write(t->cli, t->buf, t->len) != t->len)
        return -1;
    return SSL_read(t->srv, t->buf, (int)sizeof t->buf) == t->len ? 0 : -1;
}

static X509 *self_signed(EVP_PKEY *k)
{
    X509 *x = X509_new();
    X509_NAME *n = x ? X509_get_subject_name(x) : NULL;
    if (!n || X509_set_version(x, 2) != 1 || ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -60) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 3600) || X509_set_pubkey(x, k) != 1 ||
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"floor", -1, -1,
                                   0) != 1 ||
        X509_set_issuer_name(x, n) != 1 || X509_sign(x, k, EVP_sha256()) <= 0) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static SSL_CTX *tls13_ctx(bool server, X509 *x, EVP_PKEY *k)
{
    SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!c || SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_ciphersuites(c, "TLS_AES_128_GCM_SHA256") != 1 ||
        (server && (SSL_CTX_use_certificate(c, x) != 1 || SSL_CTX_use_PrivateKey(c, k) != 1 ||
                    SSL_CTX_set_num_tickets(c, 0) != 1))) {
        SSL_CTX_free(c);
        return NULL;
    }
    return c;
}

double bench_floor_tls_record_us(size_t octets, double seconds)
{
    if (octets == 0 || octets > 16384)
        return -1;
    tls_op *t = calloc(1, sizeof *t);
    EVP_PKEY *k = p256_key();
    X509 *x = k ? self_signed(k) : NULL;
    SSL_CTX *sc = x ? tls13_ctx(true, x, k) : NULL, *cc = tls13_ctx(false, NULL, NULL);
    BIO *b1 = NULL, *b2 = NULL;
    double r = -1;
    if (!t || !sc || !cc || !(t->cli = SSL_new(cc)) || !(t->srv = SSL_new(sc)) ||
        BIO_new_bio_pair(&b1, 0, &b2, 0) != 1)
        goto out;
    SSL_set_bio(t->cli, b1, b1); /* each SSL owns its end of the pair */
    SSL_set_bio(t->srv, b2, b2);
    SSL_set_connect_state(t->cli);
    SSL_set_accept_state(t->srv);
    for (int i = 0; i < 16 && !(SSL_is_init_finished(t->cli) && SSL_is_init_finished(t->srv));
         i++) {
        SSL_do_handshake(t->cli);
        SSL_do_handshake(t->srv);
    }
    t->len = (int)octets;
    if (SSL_is_init_finished(t->cli) && SSL_is_init_finished(t->srv))
        r = best_per_op(op_tls_record, t, seconds);
out:
    if (t) {
        SSL_free(t->cli);
        SSL_free(t->srv);
    }
    SSL_CTX_free(sc);
    SSL_CTX_free(cc);
    X509_free(x);
    EVP_PKEY_free(k);
    free(t);
    ERR_clear_error();
    return r < 0 ? -1 : r * 1e6;
}

/* ---- output -------------------------------------------------------------- */

double bench_floor_ratio(double value, double floor)
{
    return floor > 0 ? value / floor : 0;
}

void bench_floor_print(FILE *f, const char *figure, double value, double floor, const char *unit)
{
    fprintf(f, "  %-44s %10.3f %-5s  floor %10.3f %-5s  ratio %5.2f×\n", figure, value, unit,
            floor, unit, bench_floor_ratio(value, floor));
}

json_t *bench_floor_json(double value, double floor, const char *unit)
{
    return json_pack("{s:f,s:f,s:f,s:s}", "value", value, "floor", floor, "ratio",
                     bench_floor_ratio(value, floor), "unit", unit ? unit : "");
}

void bench_floor_crypto_measure(double seconds, bench_floor_crypto *c)
{
    c->ec_keygen_us = bench_floor_ec_keygen_p256_us(seconds);
    c->ecdh_us = bench_floor_ecdh_p256_us(seconds);
    c->ecdsa_sign_us = bench_floor_ecdsa_p256_sign_us(seconds);
    c->ecdsa_verify_us = bench_floor_ecdsa_p256_verify_us(seconds);
    c->sha256_64_us = bench_floor_sha256_us(64, seconds);
    c->aes128_gcm_64_us = bench_floor_aes_gcm_us(128, 64, seconds);
    c->aes128_gcm_1400_us = bench_floor_aes_gcm_us(128, 1400, seconds);
    c->resumed_handshake_us = c->ec_keygen_us + c->ecdh_us;
    c->full_handshake_us = c->resumed_handshake_us + c->ecdsa_sign_us + 2 * c->ecdsa_verify_us;
}

void bench_floor_crypto_print(FILE *f, const bench_floor_crypto *c)
{
    fprintf(f,
            "floors (EVP, this run): P-256 keygen %.1f µs, ECDH derive %.1f µs, ECDSA sign "
            "%.1f µs, verify %.1f µs; SHA-256 of 64 octets %.2f µs; AES-128-GCM record of 64 "
            "octets %.2f µs, of 1400 octets %.2f µs\n"
            "  server crypto floor per handshake: full (ECDHE + sign + 2 verify) %.1f µs, "
            "resumed (ECDHE) %.1f µs\n",
            c->ec_keygen_us, c->ecdh_us, c->ecdsa_sign_us, c->ecdsa_verify_us, c->sha256_64_us,
            c->aes128_gcm_64_us, c->aes128_gcm_1400_us, c->full_handshake_us,
            c->resumed_handshake_us);
}

json_t *bench_floor_crypto_json(const bench_floor_crypto *c)
{
    return json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "p256_keygen_us", c->ec_keygen_us,
                     "ecdh_p256_us", c->ecdh_us, "ecdsa_p256_sign_us", c->ecdsa_sign_us,
                     "ecdsa_p256_verify_us", c->ecdsa_verify_us, "sha256_64_us",
                     c->sha256_64_us, "aes128_gcm_64_us", c->aes128_gcm_64_us,
                     "aes128_gcm_1400_us", c->aes128_gcm_1400_us, "full_handshake_us",
                     c->full_handshake_us, "resumed_handshake_us", c->resumed_handshake_us);
}
