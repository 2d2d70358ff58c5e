/*
 * bench_cari.c — CARI interchange throughput at bulk scale.
 *
 *   bench_cari [N]      (default 10000)
 *
 * Makes N EC P-256 keys and CSRs (not timed), then times:
 *   request write  N CSRs → writer (each parsed + signature-verified) → zip in memory
 *   request read   zip → entries (limits, manifest, CSR signatures verified)
 *   response write N certificates + issuer → zip in memory (certs are issued
 *                  with a minimal in-bench CA, not timed)
 *   response write* the same through bacsc_cari_writer_add_issued (the CA's
 *                  fast path: its own certificates are not parsed again)
 *   response read  + match to the request + verify issuer
 * and prints entries/s for each, so the CARI layer's share of `bacsc ca sign`
 * (goal ≥ 5,000 certificates/s end to end) is visible.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cli/bench_floor.h"
#include "bacsc/cari.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned char *der_of_req(X509_REQ *r, size_t *len)
{
    unsigned char *d = NULL;
    int l = i2d_X509_REQ(r, &d);
    *len = (size_t)l;
    return d;
}

static unsigned char *der_of_x509(X509 *x, size_t *len)
{
    unsigned char *d = NULL;
    int l = i2d_X509(x, &d);
    *len = (size_t)l;
    return d;
}

/* The crypto floor per entry, measured at start (bench_floor.h): an ECDSA
 * P-256 verify for a step that checks each CSR or certificate signature,
 * a SHA-256 of the entry (≈ 500 octets, the manifest digest) otherwise. */
static double fl_verify_us, fl_sha_us;

static void report(const char *what, size_t n, double secs, size_t bytes, bool verifies)
{
    double us = n ? secs * 1e6 / (double)n : 0, fl = verifies ? fl_verify_us : fl_sha_us;
    printf("%-16s %6zu entries  %8.3f s  %9.0f entries/s  %8zu octets  %7.1f µs/entry  floor "
           "%6.1f µs (%s, one core)  ratio %.1f×\n",
           what, n, secs, secs > 0 ? (double)n / secs : 0.0, bytes, us, fl,
           verifies ? "ECDSA verify" : "SHA-256 of 500 octets", fl > 0 ? us / fl : 0);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 10000;
    if (n == 0 || n > 100000) {
        fprintf(stderr, "usage: bench_cari [N 1..100000]\n");
        return 2;
    }
    EVP_PKEY *cakey = EVP_EC_gen("P-256");
    X509 *ca = X509_new();
    X509_set_version(ca, 2);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(ca), "CN", MBSTRING_ASC,
                               (const unsigned char *)"Bench CA", -1, -1, 0);
    X509_set_issuer_name(ca, X509_get_subject_name(ca));
    X509_gmtime_adj(X509_getm_notBefore(ca), 0);
    X509_gmtime_adj(X509_getm_notAfter(ca), 86400);
    X509_set_pubkey(ca, cakey);
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, ca, ca, NULL, NULL, 0);
    X509_EXTENSION *bc = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(ca, bc, -1);
    X509_EXTENSION_free(bc);
    X509_sign(ca, cakey, EVP_sha256());

    unsigned char **csr = calloc(n, sizeof *csr), **crt = calloc(n, sizeof *crt);
    size_t *csr_len = calloc(n, sizeof *csr_len), *crt_len = calloc(n, sizeof *crt_len);
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        EVP_PKEY *k = EVP_EC_gen("P-256");
        char cn[32];
        snprintf(cn, sizeof cn, "dev-%zu", i);
        X509_REQ *r = X509_REQ_new();
        X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_ASC,
                                   (const unsigned char *)cn, -1, -1, 0);
        X509_REQ_set_pubkey(r, k);
        X509_REQ_sign(r, k, EVP_sha256());
        csr[i] = der_of_req(r, &csr_len[i]);
        X509 *x = X509_new();
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), (long)i + 1);
        X509_set_subject_name(x, X509_REQ_get_subject_name(r));
        X509_set_issuer_name(x, X509_get_subject_name(ca));
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 86400);
        X509_set_pubkey(x, k);
        X509_sign(x, cakey, EVP_sha256());
        crt[i] = der_of_x509(x, &crt_len[i]);
        X509_free(x);
        X509_REQ_free(r);
        EVP_PKEY_free(k);
    }
    fl_verify_us = bench_floor_ecdsa_p256_verify_us(0.3);
    fl_sha_us = bench_floor_sha256_us(500, 0.1);
    printf("bench_cari: %zu keys, CSRs and certificates prepared in %.2f s (not counted)\n", n,
           now_s() - t0);

    /* request write */
    t0 = now_s();
    bacsc_cari_writer *w = NULL;
    bacsc_cari_writer_new(BACSC_CARI_REQUEST, "bench", "bench-req", &w);
    for (size_t i = 0; i < n; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "r%zu", i);
        if (bacsc_cari_writer_add_csr(w, csr[i], csr_len[i], NULL, NULL, rid, NULL, 0) < 0)
            return 1;
    }
    unsigned char *req = NULL;
    size_t req_len = 0;
    if (bacsc_cari_writer_to_buffer(w, &req, &req_len) != 0)
        return 1;
    bacsc_cari_writer_free(w);
    report("request write", n, now_s() - t0, req_len, true);

    /* request read */
    t0 = now_s();
    bacsc_cari *rq = NULL;
    if (bacsc_cari_read_buffer(req, req_len, NULL, &rq) != 0 || bacsc_cari_invalid_count(rq))
        return 1;
    report("request read", n, now_s() - t0, req_len, true);

    /* response write */
    t0 = now_s();
    bacsc_cari_writer_new(BACSC_CARI_RESPONSE, "bench", NULL, &w);
    bacsc_cari_writer_set_request_batch(w, "bench-req");
    size_t ca_len;
    unsigned char *ca_der = der_of_x509(ca, &ca_len);
    bacsc_cari_writer_add_issuer(w, ca_der, ca_len, "ca", NULL, 0);
    for (size_t i = 0; i < n; i++) {
        char rid[32];
        snprintf(rid, sizeof rid, "r%zu", i);
        if (bacsc_cari_writer_add_certificate(w, crt[i], crt_len[i], NULL, NULL, rid, NULL, 0) < 0)
            return 1;
    }
    unsigned char *resp = NULL;
    size_t resp_len = 0;
    if (bacsc_cari_writer_to_buffer(w, &resp, &resp_len) != 0)
        return 1;
    bacsc_cari_writer_free(w);
    report("response write", n, now_s() - t0, resp_len, false);

    /* response write, CA fast path: certificates not parsed again */
    t0 = now_s();
    bacsc_cari_writer_new(BACSC_CARI_RESPONSE, "bench", NULL, &w);
    bacsc_cari_writer_add_issuer(w, ca_der, ca_len, "ca", NULL, 0);
    size_t ri = 0;
    for (size_t i = 0; i < rq->n_entries; i++) {
        const bacsc_cari_entry *e = &rq->entries[i];
        if (e->type != BACSC_CARI_ENTRY_CSR)
            continue;
        if (bacsc_cari_writer_add_issued(w, crt[ri], crt_len[ri], e->fingerprint, NULL, &e->device,
                                         e->request_id, NULL, 0) < 0)
            return 1;
        ri++;
    }
    unsigned char *resp2 = NULL;
    size_t resp2_len = 0;
    if (bacsc_cari_writer_to_buffer(w, &resp2, &resp2_len) != 0)
        return 1;
    bacsc_cari_writer_free(w);
    free(resp2);
    report("response write*", n, now_s() - t0, resp2_len, false);

    /* response read + match + verify */
    t0 = now_s();
    bacsc_cari *rs = NULL;
    if (bacsc_cari_read_buffer(resp, resp_len, NULL, &rs) != 0)
        return 1;
    int matched = bacsc_cari_match_request(rs, rq);
    const unsigned char *cas[1] = {ca_der};
    int flagged = bacsc_cari_verify_issuer(rs, cas, &ca_len, 1);
    report("response read+", n, now_s() - t0, resp_len, true);
    if (matched != (int)n || flagged != 0 || bacsc_cari_invalid_count(rs)) {
        fprintf(stderr, "bench_cari: matched %d flagged %d invalid %zu\n", matched, flagged,
                bacsc_cari_invalid_count(rs));
        return 1;
    }
    bacsc_cari_free(rq);
    bacsc_cari_free(rs);
    free(req);
    free(resp);
    OPENSSL_free(ca_der);
    for (size_t i = 0; i < n; i++) {
        OPENSSL_free(csr[i]);
        OPENSSL_free(crt[i]);
    }
    free(csr);
    free(crt);
    free(csr_len);
    free(crt_len);
    X509_free(ca);
    EVP_PKEY_free(cakey);
    return 0;
}
