/*
 * bench_ca.c — CA signing throughput: N P-256 CSRs through the real store.
 *
 *   bench_ca [N [THREADS [DIR]]]     defaults: 10000, 2, a fresh temp dir
 *
 * Makes a CA (bacsc_ca_init), N CSRs with Device UUID/DNS/IP SANs and a CARI
 * request zip holding them (not timed), then times what `bacsc ca sign
 * REQ.zip --out RESP.zip` does: read the request zip (bacsc_cari_read_file:
 * unzip, parse, check every CSR), submit (parse + verify + policy + store,
 * one transaction), approve+issue (sign on THREADS threads + store, one
 * transaction per 1000), and write the response zip (certificates, issuer,
 * manifest). Prints certificates per second for each phase and overall.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bacsc/ca_files.h"
#include "bacsc/cari.h"
#include "bacsc/error.h"
#include "bacsc/pki.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    char tmpl[] = "/tmp/bench_ca.XXXXXX";
    const char *dir = argc > 3 ? argv[3] : mkdtemp(tmpl);
    if (n <= 0 || !dir) {
        fprintf(stderr, "usage: bench_ca [N [THREADS [DIR]]]\n");
        return 2;
    }
    char cadir[4096], err[512];
    snprintf(cadir, sizeof cadir, "%s/ca", dir);
    bacsc_ca_init_params p = {.dir = cadir, .name = "bench CA"};
    if (bacsc_ca_init(&p, err, sizeof err) != BACSC_OK) {
        fprintf(stderr, "init: %s\n", err);
        return 1;
    }
    bacsc_ca *ca;
    if (bacsc_ca_open(cadir, NULL, &ca, err, sizeof err) != BACSC_OK) {
        fprintf(stderr, "open: %s\n", err);
        return 1;
    }
    bacsc_ca_set_threads(ca, threads);
    bacsc_ca_policy_set(ca, "max_batch", "1000000");

    bacsc_request_in *reqs = calloc((size_t)n, sizeof *reqs);
    uint8_t **ders = calloc((size_t)n, sizeof *ders);
    static const char *const dns[] = {"device.local"};
    static const char *const ip[] = {"10.1.2.3"};
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        EVP_PKEY *k;
        char uuid[BACSC_PKI_UUID_STR_LEN], cn[32];
        bacsc_pki_uuid_random(uuid);
        snprintf(cn, sizeof cn, "device-%d", i);
        bacsc_cert_spec spec = {.cn = cn, .device_uuid = uuid, .dns = dns, .n_dns = 1, .ip = ip,
                                .n_ip = 1};
        size_t len;
        if (bacsc_pki_keygen(BACSC_KEY_EC_P256, &k) != BACSC_OK ||
            bacsc_pki_make_csr(k, &spec, false, &ders[i], &len) != BACSC_OK) {
            fprintf(stderr, "cannot make CSR %d\n", i);
            return 1;
        }
        EVP_PKEY_free(k);
        reqs[i].csr = ders[i];
        reqs[i].csr_len = len;
        reqs[i].device_instance = -1;
    }

    /* the request zip (setup) */
    char reqzip[4200], respzip[4200];
    snprintf(reqzip, sizeof reqzip, "%s/request.zip", dir);
    snprintf(respzip, sizeof respzip, "%s/response.zip", dir);
    bacsc_cari_writer *w = NULL;
    if (bacsc_cari_writer_new(BACSC_CARI_REQUEST, "bench", NULL, &w) != BACSC_OK) {
        fprintf(stderr, "cari writer\n");
        return 1;
    }
    for (int i = 0; i < n; i++)
        if (bacsc_cari_writer_add_csr(w, ders[i], reqs[i].csr_len, NULL, NULL, NULL, err,
                                      sizeof err) < 0) {
            fprintf(stderr, "add csr %d: %s\n", i, err);
            return 1;
        }
    if (bacsc_cari_writer_write_file(w, reqzip, NULL) != BACSC_OK) {
        fprintf(stderr, "cannot write %s\n", reqzip);
        return 1;
    }
    bacsc_cari_writer_free(w);
    double t1b = now_s();
    bacsc_ca_source src;
    if (bacsc_ca_source_load(reqzip, 1000000, &src, err, sizeof err) != BACSC_OK ||
        src.n != (size_t)n) {
        fprintf(stderr, "read %s: %s\n", reqzip, err);
        return 1;
    }
    double t1c = now_s();
    int64_t bid;
    int acc = bacsc_ca_submit(ca, &src.batch, src.reqs, src.n, &bid, NULL);
    double t2 = now_s();
    bacsc_selector sel = {.batch_id = bid};
    int issued = bacsc_ca_approve(ca, &sel, NULL, NULL);
    double t3 = now_s();
    size_t nc = 0;
    uint8_t sha[32];
    int wrc = bacsc_ca_response_write(ca, bid, respzip, &nc, sha, err, sizeof err);
    double t4 = now_s();
    bacsc_ca_source_free(&src);
    if (acc != n || issued != n || wrc != BACSC_OK || nc != (size_t)n) {
        fprintf(stderr, "accepted %d issued %d written %zu of %d: %s %s\n", acc, issued, nc, n,
                bacsc_ca_errmsg(ca), err);
        return 1;
    }
    printf("bench_ca: %d P-256 CSRs, %d signing threads, CA dir %s\n", n, threads, cadir);
    printf("  make CSRs + request zip (setup)  %8.3f s\n", t1b - t0);
    printf("  read request zip (cari)          %8.3f s  %9.0f CSR/s\n", t1c - t1b,
           n / (t1c - t1b));
    printf("  submit (verify+policy+store)     %8.3f s  %9.0f CSR/s\n", t2 - t1c, n / (t2 - t1c));
    printf("  approve+issue (sign+store)       %8.3f s  %9.0f cert/s\n", t3 - t2, n / (t3 - t2));
    printf("  write response zip               %8.3f s  %9.0f cert/s\n", t4 - t3, n / (t4 - t3));
    printf("  total read..response (ca sign)   %8.3f s  %9.0f cert/s\n", t4 - t1b,
           n / (t4 - t1b));
    bacsc_ca_close(ca);
    if (argc <= 3) { /* our own temp dir: remove it */
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    for (int i = 0; i < n; i++)
        free(ders[i]);
    free(ders);
    free(reqs);
    return 0;
}
