/*
 * bench_site.c — commissioning throughput of the `bacsc site` job engine:
 * N simulated devices (default 500) in this process, on an in-memory
 * network, taken from BACnet/IP without certificates to BACnet/SC:
 * discover → request (each device makes an EC P-256 key and CSR) → CARI
 * request → sign (site CA, bacsc_signer) → CARI response → import (issuer,
 * certificate, validate, activate, confirm) → mode sc. Every step of every
 * device is committed to a real SQLite site database (WAL) on disk.
 *
 * What it measures: the tool side (engine, database, CARI, matching) plus
 * the simulated devices' crypto (key generation, CSR signing, certificate
 * checks) — not UDP or TLS. `bench/site.sh` runs the same workflow with
 * real `bacsc device` processes over BACnet/IP.
 *
 * usage: bench_site [N] [CONCURRENCY]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/bench_floor.h"
#include "bacsc/error.h"
#include "support_sitesim.h"

static double secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "bench_site: %s failed\n", what);
        exit(1);
    }
}

static double phase(const char *name, double t0, size_t n)
{
    double t = secs();
    printf("  %-28s %8.3f s  (%7.0f devices/s)\n", name, t - t0, (double)n / (t - t0));
    return t;
}

static void run(bacsc_site *site, sitesim *sim, int64_t job, unsigned conc, unsigned expect)
{
    bacsc_site_run_opts o = {.concurrency = conc};
    bacsc_site_summary sum;
    check(bacsc_site_job_run(site, job, sitesim_io(sim), &o, &sum) == BACSC_OK, "job run");
    if (sum.done != expect) {
        fprintf(stderr, "bench_site: job %lld: %u done of %u\n", (long long)job, sum.done, expect);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)atoi(argv[1]) : 500;
    unsigned conc = argc > 2 ? (unsigned)atoi(argv[2]) : 32;
    if (n == 0 || n > 60000 || conc == 0) {
        fprintf(stderr, "usage: bench_site [N (1..60000)] [CONCURRENCY]\n");
        return 2;
    }
    char dir[] = "/tmp/bench_site.XXXXXX";
    check(mkdtemp(dir) != NULL, "mkdtemp");
    char db[256], req[256], resp[256];
    snprintf(db, sizeof db, "%s/site.db", dir);
    snprintf(req, sizeof req, "%s/req.zip", dir);
    snprintf(resp, sizeof resp, "%s/resp.zip", dir);

    printf("bench_site: %zu simulated devices, concurrency %u\n", n, conc);
    double t0 = secs(), start = t0;
    sitesim *sim = sitesim_new(n, 100000);
    simca ca;
    simca_init(&ca, "Bench Site CA");
    bacsc_site *site = NULL;
    char err[256];
    check(bacsc_site_open(db, true, &site, err, sizeof err) == BACSC_OK, "open");
    check(bacsc_site_settings_set(site, "bench", ca.der, ca.der_len, "bench.example",
                                  "wss://127.0.0.1:4443", NULL) == BACSC_OK,
          "init");
    t0 = phase("setup (devices, CA, db)", t0, n);
    double work = t0;

    bacsc_site_found *found = calloc(n, sizeof *found);
    size_t nf = sitesim_discover(sim, found, n);
    check(nf == n, "Who-Is");
    int64_t job;
    check(bacsc_site_prepare_discover(site, found, nf, &job) == BACSC_OK, "discover prepare");
    run(site, sim, job, conc, (unsigned)n);
    t0 = phase("discover (Who-Is + reads)", t0, n);

    bacsc_site_selection all;
    bacsc_site_selection_parse("all", &all);
    check(bacsc_site_prepare_request(site, &all, BACSC_SITE_CSR_KEEP, &job) == BACSC_OK,
          "request prepare");
    run(site, sim, job, conc, (unsigned)n);
    size_t count;
    check(bacsc_site_write_request(site, &all, req, &count) == BACSC_OK && count == n,
          "write request");
    t0 = phase("request (keygen+CSR, read)", t0, n);

    check(simca_sign_file(&ca, req, resp, 365) == (int)n, "sign");
    t0 = phase("sign (CARI in → out)", t0, n);

    size_t len;
    FILE *f = fopen(resp, "rb");
    check(f != NULL, "open response");
    fseek(f, 0, SEEK_END);
    len = (size_t)ftell(f);
    rewind(f);
    unsigned char *data = malloc(len);
    check(fread(data, 1, len, f) == len, "read response");
    fclose(f);
    bacsc_site_import_entry *e = NULL;
    size_t ne;
    bool resumed;
    check(bacsc_site_prepare_import(site, data, len, false, &e, &ne, &job, &resumed, err,
                                    sizeof err) == BACSC_OK,
          "import prepare");
    free(e);
    free(data);
    t0 = phase("import checks (CA, match)", t0, n);
    run(site, sim, job, conc, (unsigned)n);
    t0 = phase("distribute + activate", t0, n);

    check(bacsc_site_prepare_mode(site, BACSC_SITE_MODE_SC, &all, &job) == BACSC_OK,
          "mode prepare");
    run(site, sim, job, conc, (unsigned)n);
    t0 = phase("mode sc", t0, n);
    for (size_t i = 0; i < n; i++)
        check(sim->devs[i].mode == BACSC_SITE_MODE_SC && sim->devs[i].activations == 2,
              "device state");

    printf("  %-28s %8.3f s  (end to end, setup excluded: %.3f s)\n", "total", t0 - start,
           t0 - work);
    /* floor: the crypto each commissioned device needs, back to back on one
     * core (bench_floor.h): key generation, CSR signature and its check,
     * certificate signature and its check */
    double per = bench_floor_ec_keygen_p256_us(0.2) + 2 * bench_floor_ecdsa_p256_sign_us(0.2) +
                 2 * bench_floor_ecdsa_p256_verify_us(0.2);
    double fl = per * (double)n / 1e6;
    printf("  %-28s %8.3f s  (ratio %.1f×; keygen + 2 sign + 2 verify per device, one core)\n",
           "floor: the crypto alone", fl, (t0 - work) / fl);
    printf("  frames delivered %zu\n", sim->delivered);
    bacsc_site_close(site);
    sitesim_free(sim);
    simca_free(&ca);
    free(found);
    unlink(db);
    char p[300];
    snprintf(p, sizeof p, "%s-wal", db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db);
    unlink(p);
    unlink(req);
    unlink(resp);
    rmdir(dir);
    return 0;
}
