/*
 * bench_renew.c — certificate renewal of N simulated devices (default 1000)
 * end to end, with the real CA store: renew (each device makes a new EC
 * P-256 key and a CSR signed by its current key) → CARI request → CA
 * (load, submit with the Device UUID and renewal-proof checks, approve,
 * sign, respond) → import (certificate, validate, activate, confirm) →
 * revoke the superseded certificates. Every step of every device is
 * committed to a real SQLite site database; the CA is a real CA directory.
 *
 * Printed next to the total: a floor measured in the same run — the
 * unavoidable crypto of one renewal per device (key generation, CSR with
 * proof, certificate signing, verification of both signatures), done
 * back to back without any protocol, database or file.
 *
 * Setup (not timed): the devices are commissioned first (discover, request,
 * sign, import) by the same code paths.
 *
 * usage: bench_renew [N] [CONCURRENCY]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bacsc/ca_files.h"
#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "bacsc/renewal.h"
#include "support_bench.h"

static double phase(const char *name, double t0, size_t n)
{
    return bench_phase(34, name, t0, n);
}

/* The CA side of one round: request file in, response file out. Returns the
 * number of requests that needed an administrator (must be 0). */
static size_t ca_round(bacsc_ca *ca, const char *req, const char *resp, size_t n)
{
    bacsc_ca_source src;
    char err[512];
    bench_check(bacsc_ca_source_load(req, 100000, &src, err, sizeof err) == BACSC_OK, err);
    bacsc_request_result *res = calloc(src.n, sizeof *res);
    int64_t batch = 0;
    bench_check(bacsc_ca_submit(ca, &src.batch, src.reqs, src.n, &batch, res) >= 0, "submit");
    size_t manual = 0;
    for (size_t i = 0; i < src.n; i++) {
        bool odd = res[i].status != BACSC_REQ_PENDING || res[i].reason[0] != 0;
        if (odd && !manual)
            fprintf(stderr, "bench_renew: request %zu: status %d: %s\n", i, res[i].status,
                    res[i].reason);
        manual += odd;
    }
    bacsc_selector sel = {.batch_id = batch};
    bench_check(bacsc_ca_approve(ca, &sel, NULL, NULL) == (int)n, "approve");
    size_t certs = 0;
    bench_check(bacsc_ca_response_write(ca, batch, resp, &certs, NULL, err, sizeof err) ==
                        BACSC_OK &&
                    certs == n,
                "respond");
    free(res);
    bacsc_ca_source_free(&src);
    return manual;
}

static void import(bacsc_site *site, sitesim *sim, const char *resp, unsigned conc, size_t n)
{
    bench_run(site, sim, bench_import_prepare(site, resp), conc, n);
}

typedef struct revoke_ctx {
    bacsc_ca *ca;
    size_t revoked;
} revoke_ctx;

static int revoke_one(void *user, const bacsc_site_superseded *r)
{
    revoke_ctx *x = user;
    if (bacsc_ca_revoke(x->ca, r->serial, 4 /* superseded */) == BACSC_OK)
        x->revoked++;
    return 0;
}

/* A certificate for the CSR `der` (DER) from `signer`, DER out. */
static uint8_t *issue(bacsc_signer *signer, const uint8_t *der, size_t len, size_t *out_len)
{
    const unsigned char *p = der;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
    bacsc_carry carry = {.uuid = true};
    X509 *x = NULL;
    bench_check(req && X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) == 1 &&
                    bacsc_signer_issue_csr(signer, req, &carry, 730, (int64_t)time(NULL), NULL,
                                           &x) == 0,
                "floor issue");
    unsigned char *out = NULL;
    int n = i2d_X509(x, &out);
    uint8_t *copy = malloc((size_t)n);
    memcpy(copy, out, (size_t)n);
    *out_len = (size_t)n;
    OPENSSL_free(out);
    X509_free(x);
    X509_REQ_free(req);
    return copy;
}

/* The floor: one renewal's crypto per device, back to back. */
static double floor_secs(size_t n)
{
    EVP_PKEY *cak = NULL, *oldk = NULL;
    X509 *cacert = NULL;
    bacsc_signer *signer = NULL;
    bench_check(bacsc_pki_keygen(BACSC_KEY_EC_P256, &cak) == 0 &&
                    bacsc_pki_make_ca_cert(cak, "floor CA", NULL, 30, &cacert) == 0 &&
                    bacsc_signer_new(cacert, cak, &signer) == 0 &&
                    bacsc_pki_keygen(BACSC_KEY_EC_P256, &oldk) == 0,
                "floor setup");
    bacsc_cert_spec spec = {.cn = "dev", .device_uuid = "5d7e0c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"};
    uint8_t *csr = NULL;
    size_t csr_len = 0, old_len = 0;
    bench_check(bacsc_pki_make_csr(oldk, &spec, false, &csr, &csr_len) == 0, "floor csr");
    uint8_t *old = issue(signer, csr, csr_len, &old_len);
    free(csr);
    double t0 = bench_secs();
    for (size_t i = 0; i < n; i++) {
        EVP_PKEY *k = NULL;
        uint8_t *c = NULL, *p = NULL, *cert = NULL;
        size_t cl = 0, pl = 0, certl = 0;
        bench_check(bacsc_pki_keygen(BACSC_KEY_EC_P256, &k) == 0 &&
                        bacsc_pki_make_csr(k, &spec, false, &c, &cl) == 0 &&
                        bacsc_renewal_add_proof(c, cl, k, oldk, old, old_len, &p, &pl) == 0 &&
                        bacsc_renewal_verify(p, pl, old, old_len) == 0,
                    "floor round");
        cert = issue(signer, p, pl, &certl);
        free(c);
        free(p);
        free(cert);
        EVP_PKEY_free(k);
    }
    double t = bench_secs() - t0;
    free(old);
    bacsc_signer_free(signer);
    X509_free(cacert);
    EVP_PKEY_free(cak);
    EVP_PKEY_free(oldk);
    return t;
}

/* Commission the devices (not timed): discover, request, CA, import. */
static void commission(bacsc_site *site, sitesim *sim, bacsc_ca *ca, const char *dir, size_t n,
                       unsigned conc)
{
    bench_discover(site, sim, n, conc);
    char req[300], resp[300];
    snprintf(req, sizeof req, "%s/req0.zip", dir);
    snprintf(resp, sizeof resp, "%s/resp0.zip", dir);
    bench_request(site, sim, req, n, conc);
    ca_round(ca, req, resp, n);
    import(site, sim, resp, conc, n);
}

int main(int argc, char **argv)
{
    bench_prog = "bench_renew";
    size_t n = argc > 1 ? (size_t)atoi(argv[1]) : 1000;
    unsigned conc = argc > 2 ? (unsigned)atoi(argv[2]) : 32;
    if (n == 0 || n > 60000 || conc == 0) {
        fprintf(stderr, "usage: bench_renew [N (1..60000)] [CONCURRENCY]\n");
        return 2;
    }
    char dir[] = "/tmp/bench_renew.XXXXXX", cadir[300], db[300], req[300], resp[300], err[512];
    bench_check(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(cadir, sizeof cadir, "%s/ca", dir);
    snprintf(db, sizeof db, "%s/site.db", dir);
    snprintf(req, sizeof req, "%s/renew.zip", dir);
    snprintf(resp, sizeof resp, "%s/renew-resp.zip", dir);
    printf("bench_renew: %zu simulated devices, concurrency %u\n", n, conc);
    double t0 = bench_secs();
    bacsc_ca_init_params cp = {.dir = cadir, .name = "Bench Renew CA", .actor = "bench"};
    bacsc_ca *ca = NULL;
    bench_check(bacsc_ca_init(&cp, err, sizeof err) == BACSC_OK &&
                    bacsc_ca_open(cadir, NULL, &ca, err, sizeof err) == BACSC_OK,
                "CA");
    bacsc_ca_set_actor(ca, "bench");
    bacsc_site *site = NULL;
    bench_check(bacsc_site_open(db, true, &site, err, sizeof err) == BACSC_OK, "site db");
    const X509 *cacert = bacsc_ca_cert(ca);
    unsigned char *cader = NULL;
    int cal = i2d_X509(cacert, &cader);
    bench_check(cal > 0 && bacsc_site_settings_set(site, "bench", cader, (size_t)cal,
                                                   "bench.example", NULL, NULL) == BACSC_OK,
                "site init");
    OPENSSL_free(cader);
    sitesim *sim = sitesim_new(n, 100000);
    commission(site, sim, ca, dir, n, conc);
    t0 = phase("setup (commissioning, not counted)", t0, n);
    double start = t0;

    bacsc_site_selection all;
    bacsc_site_selection_parse("all", &all);
    int64_t job;
    bench_check(bacsc_site_prepare_renew(site, &all, 0, BACSC_SITE_CSR_KEEP, &job) == BACSC_OK,
                "renew prepare");
    bench_run(site, sim, job, conc, n);
    size_t count;
    bench_check(bacsc_site_write_request_job(site, job, req, &count) == BACSC_OK && count == n,
                "write request");
    t0 = phase("renew (keygen + CSR with proof)", t0, n);
    size_t manual = ca_round(ca, req, resp, n);
    bench_check(manual == 0, "every renewal accepted without an administrator");
    t0 = phase("CA (submit, checks, sign, respond)", t0, n);
    import(site, sim, resp, conc, n);
    t0 = phase("import (write, validate, activate)", t0, n);
    revoke_ctx rx = {.ca = ca};
    bench_check(bacsc_site_superseded_list(site, BACSC_SITE_SUPERSEDED_PENDING, revoke_one, &rx) ==
                        BACSC_OK &&
                    rx.revoked == n,
                "revoke superseded");
    t0 = phase("revoke superseded", t0, n);
    for (size_t i = 0; i < n; i++)
        bench_check(sim->devs[i].activations == 2, "every device activated its new certificate");
    double total = t0 - start;
    double fl = floor_secs(n);
    printf("  %-34s %8.3f s  (goal < 60 s)\n", "total renew + sign + import", total);
    printf("  %-34s %8.3f s  (%.1fx; keygen, CSR, proof, verify, sign per device)\n",
           "floor: the crypto alone", fl, total / fl);
    bacsc_site_close(site);
    bacsc_ca_close(ca);
    sitesim_free(sim);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
