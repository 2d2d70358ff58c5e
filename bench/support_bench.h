/*
 * support_bench.h — what the simulated-site benchmarks (bench_site,
 * bench_renew) share: the clock, phase lines, failing hard, and the site
 * steps run against the simulated devices of tests/unit/support_sitesim.h
 * (discover every device, request CSRs of all, prepare an import from a
 * response file, run a job expecting every device done).
 *
 * Every function exits the program with "<bench_prog>: <what> failed" on
 * an error: a benchmark measures only runs that worked.
 */
#ifndef BACSC_BENCH_SUPPORT_H
#define BACSC_BENCH_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "bacsc/site.h"
#include "support_sitesim.h"

/* The program name in messages (set by main). */
extern const char *bench_prog;

/* Monotonic seconds. */
double bench_secs(void);
/* Exit with "<bench_prog>: <what> failed" unless ok. */
void bench_check(int ok, const char *what);
/* Print "  NAME  SECONDS s  (RATE devices/s)" for the phase that began at
 * t0 (name padded to `width`); returns the time now. */
double bench_phase(int width, const char *name, double t0, size_t n);

/* Run `job` on the simulated network; exit unless `expect` devices ended done. */
void bench_run(bacsc_site *site, sitesim *sim, int64_t job, unsigned conc, size_t expect);
/* Who-Is to every device, then the discover job. */
void bench_discover(bacsc_site *site, sitesim *sim, size_t n, unsigned conc);
/* The request job on every device, then the CARI request written to `req`. */
void bench_request(bacsc_site *site, sitesim *sim, const char *req, size_t n, unsigned conc);
/* Read the CARI response `resp` and prepare its import; returns the job. */
int64_t bench_import_prepare(bacsc_site *site, const char *resp);

#endif
