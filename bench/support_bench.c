/* support_bench.c — see support_bench.h. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bacsc/error.h"
#include "support_bench.h"

const char *bench_prog = "bench";

double bench_secs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "%s: %s failed\n", bench_prog, what);
        exit(1);
    }
}

double bench_phase(int width, const char *name, double t0, size_t n)
{
    double t = bench_secs();
    printf("  %-*s %8.3f s  (%7.0f devices/s)\n", width, name, t - t0, (double)n / (t - t0));
    return t;
}

void bench_run(bacsc_site *site, sitesim *sim, int64_t job, unsigned conc, size_t expect)
{
    bacsc_site_run_opts o = {.concurrency = conc};
    bacsc_site_summary sum;
    bench_check(bacsc_site_job_run(site, job, sitesim_io(sim), &o, &sum) == BACSC_OK, "job run");
    if (sum.done != expect) {
        fprintf(stderr, "%s: job %lld: %u done of %zu\n", bench_prog, (long long)job, sum.done,
                expect);
        exit(1);
    }
}

void bench_discover(bacsc_site *site, sitesim *sim, size_t n, unsigned conc)
{
    bacsc_site_found *found = calloc(n, sizeof *found);
    bench_check(found && sitesim_discover(sim, found, n) == n, "Who-Is");
    int64_t job;
    bench_check(bacsc_site_prepare_discover(site, found, n, &job) == BACSC_OK,
                "discover prepare");
    free(found);
    bench_run(site, sim, job, conc, n);
}

void bench_request(bacsc_site *site, sitesim *sim, const char *req, size_t n, unsigned conc)
{
    bacsc_site_selection all;
    bacsc_site_selection_parse("all", &all);
    int64_t job;
    bench_check(bacsc_site_prepare_request(site, &all, BACSC_SITE_CSR_KEEP, &job) == BACSC_OK,
                "request prepare");
    bench_run(site, sim, job, conc, n);
    size_t count;
    bench_check(bacsc_site_write_request(site, &all, req, &count) == BACSC_OK && count == n,
                "write request");
}

int64_t bench_import_prepare(bacsc_site *site, const char *resp)
{
    FILE *f = fopen(resp, "rb");
    bench_check(f != NULL, "open response");
    fseek(f, 0, SEEK_END);
    size_t len = (size_t)ftell(f);
    rewind(f);
    unsigned char *data = malloc(len);
    bench_check(data && fread(data, 1, len, f) == len, "read response");
    fclose(f);
    bacsc_site_import_entry *e = NULL;
    size_t ne;
    bool resumed;
    int64_t job;
    char err[256];
    bench_check(bacsc_site_prepare_import(site, data, len, false, &e, &ne, &job, &resumed, err,
                                          sizeof err) == BACSC_OK,
                "import prepare");
    free(e);
    free(data);
    return job;
}
