/*
 * bench_handshake — server CPU per mutual-TLS 1.3 handshake (full and
 * resumed) with the hub's TLS context, in one process, no sockets.
 *
 *   bench_handshake [N [NODES [DIR]]]    default N = 2000 handshakes of each kind,
 *                                        NODES = 32 client certificates, temp PKI
 *
 * The server context is bacsc_tls_ctx_new(server) exactly as `bacsc hub`
 * builds it (issuer file, ticket key file); NODES client contexts each hold
 * their own demo certificate (own key, own Device UUID), used in turn, so no
 * figure profits from a peer seen before. Client and server talk through
 * memory BIOs; the server's calls (SSL_new, SSL_do_handshake until done,
 * SSL_free) are timed with the thread CPU clock, and the client's apart
 * (the node side, as the generator of a reconnect storm pays it). The
 * resumed run offers each client's last ticket (psk_dhe_ke: ECDHE + the
 * certificate in the ticket checked again; the ticket names the issuer
 * that verified it, so its signature is not verified again — the counts
 * are printed).
 *
 * Printed next to the crypto floor measured in the same run (EVP, P-256):
 * full = ECDH key generation + derive + one ECDSA sign + two verifies
 * (client CertificateVerify and certificate signature), resumed = ECDH key
 * generation + derive (the client's crypto is the same). For instruction
 * counts run it under `valgrind --tool=callgrind --toggle-collect=server_step`
 * (the node side: `--toggle-collect=client_step`).
 *
 * The first line names the OpenSSL the program runs with (OpenSSL_version())
 * and the one its headers were (bench/openssl.sh checks that they agree).
 *
 * BENCH_HS_ONLY=floor: no handshakes; N times the crypto floor's operations
 * with the floor's own EVP calls (a P-256 key generation + one derive, and
 * one ECDSA sign + two verifies), CPU-timed, and for instruction counts under
 * callgrind: --toggle-collect=floor_ecdhe_step (the resumed floor),
 * floor_sign_step (one sign) and floor_verify_step (two verifies per step).
 *
 * BENCH_HS_CRL=1: the hub also has a CRL of the issuer (as on a site
 * commissioned with `bacsc site`): shaped like the CA's own (crlNumber,
 * authorityKeyIdentifier, nextUpdate in 7 days), signed with the demo CA's
 * key, revoking BENCH_HS_CRL_REVOKED (default 16) serials that are not the
 * nodes'. Every handshake, full or resumed, then checks the client
 * certificate against it.
 */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bacsc/pki.h"
#include "bacsc/tls.h"
#include "cli/bench_floor.h"

#define MAX_NODES 256

static double thread_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Move everything the writer's wbio holds into the reader's rbio. */
static void pump(BIO *from, BIO *to)
{
    char buf[16384];
    int n;
    while ((n = BIO_read(from, buf, sizeof buf)) > 0)
        BIO_write(to, buf, n);
}

typedef struct server_side {
    SSL *ssl;
    int rc; /* 1 done, 0 in progress, -1 failed */
} server_side;

/* Everything the hub does in TLS for one connection (counted through
 * server_step: callgrind --toggle-collect=server_step). */
__attribute__((noinline)) static void server_work(bacsc_tls_ctx *sctx, server_side *s, BIO *in,
                                                  BIO *out, int phase)
{
    if (phase == 0) {
        s->ssl = SSL_new(bacsc_tls_ctx_ssl_ctx(sctx));
        if (!s->ssl) {
            s->rc = -1;
            return;
        }
        BIO_up_ref(in);
        BIO_up_ref(out);
        SSL_set_bio(s->ssl, in, out);
        SSL_set_accept_state(s->ssl);
        s->rc = 0;
        return;
    }
    if (phase == 2) {
        SSL_free(s->ssl);
        s->ssl = NULL;
        return;
    }
    int r = SSL_do_handshake(s->ssl);
    if (r == 1) {
        bacsc_tls_note_handshake(s->ssl);
        s->rc = 1;
    } else {
        int e = SSL_get_error(s->ssl, r);
        s->rc = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
    }
}

__attribute__((noinline)) static void server_step(bacsc_tls_ctx *sctx, server_side *s, BIO *in,
                                                  BIO *out, int phase)
{
    server_work(sctx, s, in, out, phase);
    __asm__ volatile("" ::: "memory");
}

/* The same, not counted (giving the clients their tickets). */
__attribute__((noinline)) static void server_untimed(bacsc_tls_ctx *sctx, server_side *s, BIO *in,
                                                     BIO *out, int phase)
{
    server_work(sctx, s, in, out, phase);
    __asm__ volatile("" ::: "memory");
}

/* The node's side of the same handshake (counted through client_step):
 * phase 0 SSL_new + offering the kept ticket, 1 one SSL_do_handshake,
 * 2 the last SSL_do_handshake + reading the ticket, 3 SSL_free. */
__attribute__((noinline)) static int client_work(bacsc_tls_ctx *cctx, SSL **c, BIO *in, BIO *out,
                                                 bacsc_tls_resume *res, int phase)
{
    char b[16];
    switch (phase) {
    case 0:
        *c = SSL_new(bacsc_tls_ctx_ssl_ctx(cctx));
        if (!*c)
            return -1;
        SSL_set_bio(*c, in, out);
        SSL_set_connect_state(*c);
        return bacsc_tls_ssl_set_resume(*c, res);
    case 1:
        SSL_do_handshake(*c);
        return 0;
    case 2: /* the client reads the ticket (new-session callback keeps it) */
        return SSL_do_handshake(*c) == 1 && SSL_read(*c, b, sizeof b) <= 0 ? 0 : -1;
    default:
        SSL_free(*c);
        *c = NULL;
        return 0;
    }
}

__attribute__((noinline)) static int client_step(bacsc_tls_ctx *cctx, SSL **c, BIO *in, BIO *out,
                                                 bacsc_tls_resume *res, int phase)
{
    int r = client_work(cctx, c, in, out, res, phase);
    __asm__ volatile("" ::: "memory");
    return r;
}

/* The same, not counted (giving the clients their tickets). */
__attribute__((noinline)) static int client_untimed(bacsc_tls_ctx *cctx, SSL **c, BIO *in, BIO *out,
                                                    bacsc_tls_resume *res, int phase)
{
    int r = client_work(cctx, c, in, out, res, phase);
    __asm__ volatile("" ::: "memory");
    return r;
}

/* One handshake; returns the server's CPU µs, or -1; *client_cpu gets the
 * node side's. *resumed tells. */
static double one(bacsc_tls_ctx *sctx, bacsc_tls_ctx *cctx, bacsc_tls_resume *res, bool *resumed,
                  bool timed, double *client_cpu)
{
    BIO *c2s = BIO_new(BIO_s_mem()), *s2c = BIO_new(BIO_s_mem());
    BIO *cin = BIO_new(BIO_s_mem()), *cout = BIO_new(BIO_s_mem());
    SSL *c = NULL;
    double cpu = 0, ccpu = 0;
    server_side s = {0};
    if (!c2s || !s2c || !cin || !cout)
        goto fail;
    double t0 = thread_cpu_us();
    int cr = (timed ? client_step : client_untimed)(cctx, &c, cin, cout, res, 0);
    ccpu += thread_cpu_us() - t0;
    if (!c)
        goto fail;
    cin = cout = NULL; /* owned by c */
    if (cr != 0)
        goto fail;
    t0 = thread_cpu_us();
    (timed ? server_step : server_untimed)(sctx, &s, c2s, s2c, 0);
    cpu += thread_cpu_us() - t0;
    for (int round = 0; round < 20 && s.rc == 0; round++) {
        t0 = thread_cpu_us();
        (timed ? client_step : client_untimed)(cctx, &c, NULL, NULL, res, 1);
        ccpu += thread_cpu_us() - t0;
        pump(SSL_get_wbio(c), c2s);
        t0 = thread_cpu_us();
        (timed ? server_step : server_untimed)(sctx, &s, c2s, s2c, 1);
        cpu += thread_cpu_us() - t0;
        pump(s2c, SSL_get_rbio(c));
    }
    if (s.rc != 1)
        goto fail;
    t0 = thread_cpu_us();
    cr = (timed ? client_step : client_untimed)(cctx, &c, NULL, NULL, res, 2);
    ccpu += thread_cpu_us() - t0;
    if (cr != 0)
        goto fail;
    *resumed = SSL_session_reused(s.ssl);
    t0 = thread_cpu_us();
    (timed ? server_step : server_untimed)(sctx, &s, c2s, s2c, 2);
    cpu += thread_cpu_us() - t0;
    t0 = thread_cpu_us();
    (timed ? client_step : client_untimed)(cctx, &c, NULL, NULL, res, 3);
    ccpu += thread_cpu_us() - t0;
    BIO_free(c2s);
    BIO_free(s2c);
    ERR_clear_error();
    if (client_cpu)
        *client_cpu = ccpu;
    return cpu;
fail:
    ERR_print_errors_fp(stderr);
    if (s.ssl)
        SSL_free(s.ssl);
    SSL_free(c);
    BIO_free(cin);
    BIO_free(cout);
    BIO_free(c2s);
    BIO_free(s2c);
    return -1;
}

/* The crypto floor's operations, as bench_floor measures them (src/cli/bench_floor.c),
 * a fixed number of times: fixed keys and contexts made once, each step does
 * the operations of one handshake. */
typedef struct floor_ops {
    EVP_PKEY *a, *b;
    EVP_PKEY_CTX *derive, *sign, *verify;
    unsigned char dgst[32], sig[80], out[80];
    size_t siglen;
} floor_ops;

__attribute__((noinline)) static int floor_ecdhe_step(floor_ops *f)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    size_t n = sizeof f->out;
    int ok = k && EVP_PKEY_derive(f->derive, f->out, &n) == 1;
    EVP_PKEY_free(k);
    __asm__ volatile("" ::: "memory");
    return ok ? 0 : -1;
}

__attribute__((noinline)) static int floor_sign_step(floor_ops *f)
{
    size_t n = sizeof f->out;
    f->dgst[0]++;
    int ok = EVP_PKEY_sign(f->sign, f->out, &n, f->dgst, sizeof f->dgst) == 1;
    f->dgst[0]--;
    __asm__ volatile("" ::: "memory");
    return ok ? 0 : -1;
}

__attribute__((noinline)) static int floor_verify_step(floor_ops *f)
{
    int ok = EVP_PKEY_verify(f->verify, f->sig, f->siglen, f->dgst, sizeof f->dgst) == 1;
    __asm__ volatile("" ::: "memory");
    return ok ? 0 : -1;
}

static int run_floor(unsigned n)
{
    floor_ops f = {.a = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"),
                   .b = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"),
                   .siglen = sizeof f.sig};
    memset(f.dgst, 0x5a, sizeof f.dgst);
    int rc = -1;
    if (!f.a || !f.b || !(f.derive = EVP_PKEY_CTX_new_from_pkey(NULL, f.a, NULL)) ||
        !(f.sign = EVP_PKEY_CTX_new_from_pkey(NULL, f.a, NULL)) ||
        !(f.verify = EVP_PKEY_CTX_new_from_pkey(NULL, f.a, NULL)) ||
        EVP_PKEY_derive_init(f.derive) != 1 || EVP_PKEY_derive_set_peer(f.derive, f.b) != 1 ||
        EVP_PKEY_sign_init(f.sign) != 1 || EVP_PKEY_verify_init(f.verify) != 1 ||
        EVP_PKEY_sign(f.sign, f.sig, &f.siglen, f.dgst, sizeof f.dgst) != 1)
        goto out;
    double ecdhe = 0, sig = 0;
    for (unsigned i = 0; i < n; i++) {
        double t0 = thread_cpu_us();
        if (floor_ecdhe_step(&f) != 0)
            goto out;
        double t1 = thread_cpu_us();
        if (floor_sign_step(&f) != 0 || floor_verify_step(&f) != 0 || floor_verify_step(&f) != 0)
            goto out;
        ecdhe += t1 - t0;
        sig += thread_cpu_us() - t1;
    }
    printf("crypto floor by count (%u each, CPU mean): resumed (P-256 keygen + ECDH derive) "
           "%.1f µs, full (+ ECDSA sign + 2 verify) %.1f µs\n",
           n, ecdhe / n, (ecdhe + sig) / n);
    rc = 0;
out:
    if (rc != 0) {
        fprintf(stderr, "bench_handshake: the crypto floor's operations failed\n");
        ERR_print_errors_fp(stderr);
    }
    EVP_PKEY_CTX_free(f.derive);
    EVP_PKEY_CTX_free(f.sign);
    EVP_PKEY_CTX_free(f.verify);
    EVP_PKEY_free(f.a);
    EVP_PKEY_free(f.b);
    return rc;
}

/* dir/ca.crl: a CRL of the demo CA revoking `revoked` random serials.
 * Returns 0 or -1. */
static int make_crl(const char *dir, const char *path, unsigned revoked)
{
    char cp[600], kp[600];
    snprintf(cp, sizeof cp, "%s/ca.pem", dir);
    snprintf(kp, sizeof kp, "%s/ca.key", dir);
    FILE *f = fopen(cp, "r");
    X509 *ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    f = fopen(kp, "r");
    EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    X509_CRL *crl = X509_CRL_new();
    time_t now = time(NULL);
    ASN1_TIME *t1 = ASN1_TIME_set(NULL, now - 60), *t2 = ASN1_TIME_set(NULL, now + 7 * 86400);
    ASN1_INTEGER *cn = ASN1_INTEGER_new();
    AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
    const ASN1_OCTET_STRING *ski = ca ? X509_get0_subject_key_id(ca) : NULL;
    int ok = ca && key && crl && t1 && t2 && cn && aki && ski && X509_CRL_set_version(crl, 1) &&
             X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) &&
             X509_CRL_set1_lastUpdate(crl, t1) && X509_CRL_set1_nextUpdate(crl, t2) &&
             ASN1_INTEGER_set_int64(cn, 1) &&
             X509_CRL_add1_ext_i2d(crl, NID_crl_number, cn, 0, 0) == 1 &&
             (aki->keyid = ASN1_OCTET_STRING_dup(ski)) != NULL &&
             X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, aki, 0, 0) == 1;
    for (unsigned i = 0; ok && i < revoked; i++) {
        unsigned char sn[16];
        X509_REVOKED *rv = X509_REVOKED_new();
        BIGNUM *bn = RAND_bytes(sn, sizeof sn) == 1 ? BN_bin2bn(sn, sizeof sn, NULL) : NULL;
        ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
        ok = rv && ai && X509_REVOKED_set_serialNumber(rv, ai) &&
             X509_REVOKED_set_revocationDate(rv, t1) && X509_CRL_add0_revoked(crl, rv);
        if (!ok)
            X509_REVOKED_free(rv);
        ASN1_INTEGER_free(ai);
        BN_free(bn);
    }
    if (ok) {
        X509_CRL_sort(crl);
        ok = X509_CRL_sign(crl, key, EVP_sha256()) > 0;
    }
    f = ok ? fopen(path, "w") : NULL;
    ok = f && PEM_write_X509_CRL(f, crl) == 1;
    if (f && fclose(f) != 0)
        ok = 0;
    AUTHORITY_KEYID_free(aki);
    ASN1_INTEGER_free(cn);
    ASN1_TIME_free(t1);
    ASN1_TIME_free(t2);
    X509_CRL_free(crl);
    EVP_PKEY_free(key);
    X509_free(ca);
    return ok ? 0 : -1;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Run n handshakes; median and mean server CPU µs, median client CPU µs. */
static int run(const char *what, bacsc_tls_ctx *sctx, bacsc_tls_ctx **cctx, bacsc_tls_resume *res,
               unsigned nodes, unsigned n, bool want_resumed, double *median, double *mean,
               double *cmedian)
{
    double *v = malloc(n * sizeof *v), *cv = malloc(n * sizeof *cv), sum = 0, t0 = mono_s();
    unsigned reused = 0;
    if (!v || !cv) {
        free(v);
        free(cv);
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        bool r = false;
        unsigned k = i % nodes;
        if (!want_resumed)
            bacsc_tls_resume_clear(&res[k]);
        v[i] = one(sctx, cctx[k], &res[k], &r, true, &cv[i]);
        if (v[i] < 0) {
            fprintf(stderr, "bench_handshake: %s handshake %u failed\n", what, i);
            free(v);
            free(cv);
            return -1;
        }
        reused += r;
        sum += v[i];
    }
    double wall = mono_s() - t0;
    if (reused != (want_resumed ? n : 0)) {
        bacsc_tls_stats st;
        bacsc_tls_ctx_stats(sctx, &st);
        fprintf(stderr, "bench_handshake: %s: %u of %u handshakes resumed (tickets refused %llu)\n",
                what, reused, n, (unsigned long long)st.tickets_refused);
        free(v);
        free(cv);
        return -1;
    }
    qsort(v, n, sizeof *v, cmp_d);
    qsort(cv, n, sizeof *cv, cmp_d);
    *median = v[n / 2];
    *mean = sum / n;
    *cmedian = cv[n / 2];
    fprintf(stderr, "  %s: %u handshakes in %.2f s (both ends, one thread)\n", what, n, wall);
    free(v);
    free(cv);
    return 0;
}

/* Give every client a ticket (not timed, not counted). */
static int run_tickets(bacsc_tls_ctx *sctx, bacsc_tls_ctx **cctx, bacsc_tls_resume *res,
                       unsigned nodes)
{
    for (unsigned k = 0; k < nodes; k++) {
        bool r;
        bacsc_tls_resume_clear(&res[k]);
        if (one(sctx, cctx[k], &res[k], &r, false, NULL) < 0 || !res[k].session)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 2000;
    unsigned nodes = argc > 2 ? (unsigned)atoi(argv[2]) : 32;
    if (!n || !nodes || nodes > MAX_NODES) {
        fprintf(stderr, "usage: bench_handshake [N [NODES(1..%d) [DIR]]]\n", MAX_NODES);
        return 2;
    }
    printf("OpenSSL: %s (headers: %s)\n", OpenSSL_version(OPENSSL_VERSION), OPENSSL_VERSION_TEXT);
    fflush(stdout);
    const char *only = getenv("BENCH_HS_ONLY");
    if (only && strcmp(only, "floor") == 0)
        return run_floor(n) == 0 ? 0 : 1;
    char tmp[] = "/tmp/bench-handshake-XXXXXX";
    const char *dir = argc > 3 ? argv[3] : mkdtemp(tmp);
    char err[300], path[5][600];
    if (!dir || bacsc_pki_demo(dir, nodes, err, sizeof err) != 0) {
        fprintf(stderr, "bench_handshake: demo PKI: %s\n", dir ? err : "no temp dir");
        return 1;
    }
    snprintf(path[0], sizeof path[0], "%s/hub.pem", dir);
    snprintf(path[1], sizeof path[1], "%s/hub.key", dir);
    snprintf(path[2], sizeof path[2], "%s/ca.pem", dir);
    snprintf(path[3], sizeof path[3], "%s/tickets", dir);
    snprintf(path[4], sizeof path[4], "%s/ca.crl", dir);
    unlink(path[3]);
    bacsc_tls_config sc = {.cert_file = path[0], .key_file = path[1],
                           .issuer_files = {path[2]}, .keylog_file = "",
                           .ticket_key_file = path[3]};
    const char *crl_env = getenv("BENCH_HS_CRL"), *rev_env = getenv("BENCH_HS_CRL_REVOKED");
    bool with_crl = crl_env && *crl_env && strcmp(crl_env, "0") != 0;
    unsigned revoked = rev_env ? (unsigned)atoi(rev_env) : 16;
    if (with_crl) {
        if (make_crl(dir, path[4], revoked) != 0) {
            fprintf(stderr, "bench_handshake: cannot write the CRL %s\n", path[4]);
            ERR_print_errors_fp(stderr);
            return 1;
        }
        sc.crl_file = path[4];
    }
    bacsc_tls_ctx *sctx = bacsc_tls_ctx_new(&sc, true, err, sizeof err);
    if (!sctx) {
        fprintf(stderr, "bench_handshake: server context: %s\n", err);
        return 1;
    }
    static bacsc_tls_ctx *cctx[MAX_NODES];
    static bacsc_tls_resume res[MAX_NODES];
    for (unsigned i = 0; i < nodes; i++) {
        char cert[600], key[600];
        snprintf(cert, sizeof cert, "%s/node%u.pem", dir, i + 1);
        snprintf(key, sizeof key, "%s/node%u.key", dir, i + 1);
        bacsc_tls_config cc = {.cert_file = cert, .key_file = key, .issuer_files = {path[2]},
                               .keylog_file = ""};
        if (!(cctx[i] = bacsc_tls_ctx_new(&cc, false, err, sizeof err))) {
            fprintf(stderr, "bench_handshake: client context: %s\n", err);
            return 1;
        }
    }
    fprintf(stderr, "bench_handshake: %u full + %u resumed handshakes, %u client certificates\n",
            n, n, nodes);
    if (with_crl)
        printf("the hub checks a CRL of the issuer (%u revoked serials, none of the nodes')\n",
               revoked);
    /* BENCH_HS_ONLY=full|resumed: time (and, under callgrind, count) one kind */
    bool do_full = !only || strcmp(only, "resumed") != 0;
    bool do_resumed = !only || strcmp(only, "full") != 0;
    double fmed = 0, fmean = 0, rmed = 0, rmean = 0, fcmed = 0, rcmed = 0;
    if (do_full && run("full", sctx, cctx, res, nodes, n, false, &fmed, &fmean, &fcmed) != 0)
        return 1;
    if (do_resumed &&
        (run_tickets(sctx, cctx, res, nodes) != 0 ||
         run("resumed", sctx, cctx, res, nodes, n, true, &rmed, &rmean, &rcmed) != 0))
        return 1;
    bench_floor_crypto fl;
    bench_floor_crypto_measure(0.5, &fl);
    printf("server CPU per mutual-TLS 1.3 handshake, median of %u (mean in brackets)\n", n);
    if (do_full) {
        bench_floor_print(stdout, "full handshake", fmed, fl.full_handshake_us, "µs");
        printf("    (mean %.1f µs)\n", fmean);
    }
    if (do_resumed) {
        bench_floor_print(stdout, "resumed handshake", rmed, fl.resumed_handshake_us, "µs");
        bacsc_tls_stats st;
        bacsc_tls_ctx_stats(sctx, &st);
        printf("    (mean %.1f µs; certificates in tickets: %llu issuer known, %llu verified in "
               "full)\n",
               rmean, (unsigned long long)st.tickets_issuer_known,
               (unsigned long long)st.tickets_full_verify);
    }
    if (with_crl) {
        bacsc_tls_stats st;
        bacsc_tls_ctx_stats(sctx, &st);
        printf("    (CRL checks: %llu in full with its signature, %llu reusing an earlier "
               "verification of it)\n",
               (unsigned long long)st.crl_checks_full, (unsigned long long)st.crl_checks_reused);
    }
    printf("client (node) CPU per handshake, median of %u: the generator of a reconnect storm\n",
           n);
    if (do_full)
        bench_floor_print(stdout, "full handshake, client", fcmed, fl.full_handshake_us, "µs");
    if (do_resumed)
        bench_floor_print(stdout, "resumed handshake, client", rcmed, fl.resumed_handshake_us,
                          "µs");
    bench_floor_crypto_print(stdout, &fl);
    for (unsigned i = 0; i < nodes; i++) {
        bacsc_tls_resume_clear(&res[i]);
        bacsc_tls_ctx_free(cctx[i]);
    }
    bacsc_tls_ctx_free(sctx);
    return 0;
}
