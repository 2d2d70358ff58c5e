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
#include "support_bench.h"

static double phase(const char *name, double t0, size_t n)
{
    return bench_phase(28, name, t0, n);
}

int main(int argc, char **argv)
{
    bench_prog = "bench_site";
    size_t n = argc > 1 ? (size_t)atoi(argv[1]) : 500;
    unsigned conc = argc > 2 ? (unsigned)atoi(argv[2]) : 32;
    if (n == 0 || n > 60000 || conc == 0) {
        fprintf(stderr, "usage: bench_site [N (1..60000)] [CONCURRENCY]\n");
        return 2;
    }
    char dir[] = "/tmp/bench_site.XXXXXX";
    bench_check(mkdtemp(dir) != NULL, "mkdtemp");
    char db[256], req[256], resp[256];
    snprintf(db, sizeof db, "%s/site.db", dir);
    snprintf(req, sizeof req, "%s/req.zip", dir);
    snprintf(resp, sizeof resp, "%s/resp.zip", dir);

    printf("bench_site: %zu simulated devices, concurrency %u\n", n, conc);
    double t0 = bench_secs(), start = t0;
    sitesim *sim = sitesim_new(n, 100000);
    simca ca;
    simca_init(&ca, "Bench Site CA");
    bacsc_site *site = NULL;
    char err[256];
    bench_check(bacsc_site_open(db, true, &site, err, sizeof err) == BACSC_OK, "open");
    bench_check(bacsc_site_settings_set(site, "bench", ca.der, ca.der_len, "bench.example",
                                        "wss://127.0.0.1:4443", NULL) == BACSC_OK,
                "init");
    t0 = phase("setup (devices, CA, db)", t0, n);
    double work = t0;

    bench_discover(site, sim, n, conc);
    t0 = phase("discover (Who-Is + reads)", t0, n);

    bench_request(site, sim, req, n, conc);
    t0 = phase("request (keygen+CSR, read)", t0, n);

    bench_check(simca_sign_file(&ca, req, resp, 365) == (int)n, "sign");
    t0 = phase("sign (CARI in → out)", t0, n);

    int64_t job = bench_import_prepare(site, resp);
    t0 = phase("import checks (CA, match)", t0, n);
    bench_run(site, sim, job, conc, n);
    t0 = phase("distribute + activate", t0, n);

    bacsc_site_selection all;
    bacsc_site_selection_parse("all", &all);

    bench_check(bacsc_site_prepare_mode(site, BACSC_SITE_MODE_SC, &all, &job) == BACSC_OK,
                "mode prepare");
    bench_run(site, sim, job, conc, n);
    t0 = phase("mode sc", t0, n);
    for (size_t i = 0; i < n; i++)
        bench_check(sim->devs[i].mode == BACSC_SITE_MODE_SC && sim->devs[i].activations == 2,
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
