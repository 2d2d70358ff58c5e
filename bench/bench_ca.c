/*
 * bench_ca.c — CA signing throughput: N P-256 CSRs through the real store,
 * each stage next to its crypto floor measured in the same run.
 *
 *   bench_ca [N [JOBS [DIR]]] [--jobs N] [--runs R] [--json]
 *            defaults: 10000 CSRs, 2 threads, 1 run, a fresh temp dir
 *
 * Makes N CSRs with Device UUID/DNS/IP SANs and a CARI request zip holding
 * them (setup, not timed), then R times, each in a fresh CA: times what
 * `bacsc ca sign REQ.zip --out RESP.zip` does, stage by stage:
 *   read     bacsc_ca_source_load: unzip, manifest, parse and verify every CSR
 *   submit   bacsc_ca_submit: policy and Device-UUID checks, store batch +
 *            requests + audit in one transaction
 *   issue    bacsc_ca_approve(batch): approve, build + sign + encode every
 *            certificate on JOBS threads, store (one transaction per 1000);
 *            meanwhile, as in `ca sign`, a thread reads the certificates
 *            committed so far into the response (bacsc_ca_response_begin)
 *   respond  bacsc_ca_response_end: the rest of the response zip (the last
 *            certificates, not-issued list, manifest, the file)
 * With R > 1 the median of each figure is printed.
 *
 * The floor (bench_floor.h, bench/README.md "Floors"): one P-256 ECDSA
 * verification (the CSR's self-signature) plus one ECDSA signature with the
 * CA key per certificate, through EVP, as CPU time of one thread (best of 5
 * slices) measured just before the stages, divided by the threads used (at
 * most the online CPUs). "read" is
 * compared with the verification share, "issue" with the signing share,
 * the total with both. Each stage prints its wall time and its CPU time
 * (all threads) and the CPU time of the calling thread ("main": the
 * serial part — zip, SQLite, audit chain — that the workers cannot take):
 * the CPU per certificate against the floor's CPU is the figure that does
 * not depend on how busy the machine is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "bacsc/ca_files.h"
#include "bacsc/cari.h"
#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "bacsc/pool.h"
#include "cli/bench_floor.h"

#define MAX_RUNS 25
enum { ST_READ, ST_SUBMIT, ST_ISSUE, ST_RESPOND, ST_TOTAL, N_ST };
static const char *const st_name[N_ST] = {"read", "submit", "issue", "respond", "total"};
static const char *const st_what[N_ST] = {
    "read request zip (unzip+parse+verify)", "submit (policy+store)",
    "approve+issue (build+sign+store)", "write response zip", "total request..response"};

typedef struct sample {
    double wall, cpu, main; /* seconds: wall, CPU of all threads, CPU of this thread */
    double main_wait;       /* this thread runnable but waiting for a CPU (schedstat) */
} sample;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the calling thread: the serial part (SQLite, zip, audit). */
static double main_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* Time this thread has waited runnable for a CPU, from the scheduler's
 * counters (/proc/thread-self/schedstat: run ns, wait ns, slices); 0 where
 * the kernel has none. Running + waiting + blocked = wall: what is left of
 * the wall after the first two is time the calling thread slept (waiting
 * for the workers, an fsync, a lock). */
static double main_wait_s(void)
{
    unsigned long long run = 0, wait = 0;
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    if (f) {
        if (fscanf(f, "%llu %llu", &run, &wait) != 2)
            wait = 0;
        fclose(f);
    }
    return (double)wait / 1e9;
}

static double loadavg(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

/* ---- the floor: EVP verify and sign (bench_floor.h) ---------------------- */

typedef struct crypto_floor {
    double verify_s, sign_s; /* per operation, one thread's CPU time */
} crypto_floor;

static crypto_floor measure_floor(void)
{
    crypto_floor f = {bench_floor_ecdsa_p256_verify_us(0.5) / 1e6,
                      bench_floor_ecdsa_p256_sign_us(0.5) / 1e6};
    if (f.verify_s <= 0 || f.sign_s <= 0) {
        fprintf(stderr, "floor: cannot measure ECDSA P-256\n");
        exit(1);
    }
    return f;
}

/* ---- setup ---------------------------------------------------------------- */

static int make_request(int n, const char *reqzip)
{
    static const char *const dns[] = {"device.local"};
    static const char *const ip[] = {"10.1.2.3"};
    char err[512];
    bacsc_cari_writer *w = NULL;
    if (bacsc_cari_writer_new(BACSC_CARI_REQUEST, "bench", NULL, &w) != BACSC_OK)
        return -1;
    for (int i = 0; i < n; i++) {
        EVP_PKEY *k;
        char uuid[BACSC_PKI_UUID_STR_LEN], cn[32];
        bacsc_pki_uuid_random(uuid);
        snprintf(cn, sizeof cn, "device-%d", i);
        bacsc_cert_spec spec = {.cn = cn, .device_uuid = uuid, .dns = dns, .n_dns = 1, .ip = ip,
                                .n_ip = 1};
        uint8_t *der = NULL;
        size_t len;
        if (bacsc_pki_keygen(BACSC_KEY_EC_P256, &k) != BACSC_OK ||
            bacsc_pki_make_csr(k, &spec, false, &der, &len) != BACSC_OK) {
            fprintf(stderr, "cannot make CSR %d\n", i);
            return -1;
        }
        EVP_PKEY_free(k);
        int a = bacsc_cari_writer_add_csr(w, der, len, NULL, NULL, NULL, err, sizeof err);
        free(der);
        if (a < 0) {
            fprintf(stderr, "add csr %d: %s\n", i, err);
            return -1;
        }
    }
    int rc = bacsc_cari_writer_write_file(w, reqzip, NULL);
    bacsc_cari_writer_free(w);
    return rc == BACSC_OK ? 0 : -1;
}

/* ---- one timed run -------------------------------------------------------- */

typedef struct clocks {
    double wall, cpu, main, main_wait;
} clocks;

static clocks clocks_now(void)
{
    clocks c = {now_s(), cpu_s(), main_cpu_s(), main_wait_s()};
    if (getenv("BENCH_CA_MARKS")) /* CLOCK_MONOTONIC: lines up with perf sched -k */
        fprintf(stderr, "bench_ca mark %.6f\n", c.wall);
    return c;
}

static sample sample_between(const clocks *a, const clocks *b)
{
    return (sample){b->wall - a->wall, b->cpu - a->cpu, b->main - a->main,
                    b->main_wait - a->main_wait};
}

static void mark(sample *s, clocks *c0)
{
    clocks c = clocks_now();
    *s = sample_between(c0, &c);
    *c0 = c;
}

static int run_once(const char *dir, int run, const char *reqzip, int n, int jobs, sample *st)
{
    char cadir[4200], respzip[4200], err[512];
    snprintf(cadir, sizeof cadir, "%s/ca%d", dir, run);
    snprintf(respzip, sizeof respzip, "%s/response%d.zip", dir, run);
    bacsc_ca_init_params p = {.dir = cadir, .name = "bench CA"};
    bacsc_ca *ca;
    if (bacsc_ca_init(&p, err, sizeof err) != BACSC_OK ||
        bacsc_ca_open(cadir, NULL, &ca, err, sizeof err) != BACSC_OK) {
        fprintf(stderr, "CA: %s\n", err);
        return -1;
    }
    bacsc_ca_set_threads(ca, jobs);
    bacsc_ca_policy_set(ca, "max_batch", "1000000");
    bacsc_ca_check_signing(ca); /* the key is loaded before the clock starts, as in `ca sign` */
    clocks c0 = clocks_now(), start = c0;
    bacsc_ca_source src;
    if (bacsc_ca_source_load_policy(reqzip, bacsc_ca_policy(ca), &src, err, sizeof err) !=
            BACSC_OK ||
        src.n != (size_t)n) {
        fprintf(stderr, "read %s: %s\n", reqzip, err);
        return -1;
    }
    mark(&st[ST_READ], &c0);
    int64_t bid = 0;
    int acc = bacsc_ca_submit(ca, &src.batch, src.reqs, src.n, &bid, NULL);
    mark(&st[ST_SUBMIT], &c0);
    bacsc_selector sel = {.batch_id = bid};
    /* as `ca sign`: the response's certificates are read while they are issued */
    bacsc_ca_response_ahead *ahead = bacsc_ca_response_begin(ca, bid);
    int issued = bacsc_ca_approve(ca, &sel, NULL, NULL);
    mark(&st[ST_ISSUE], &c0);
    size_t nc = 0;
    uint8_t sha[32];
    int wrc = bacsc_ca_response_end(ca, ahead, bid, respzip, &nc, sha, err, sizeof err);
    mark(&st[ST_RESPOND], &c0);
    st[ST_TOTAL] = sample_between(&start, &c0);
    bacsc_ca_source_free(&src);
    if (acc != n || issued != n || wrc != BACSC_OK || nc != (size_t)n) {
        fprintf(stderr, "accepted %d issued %d written %zu of %d: %s %s\n", acc, issued, nc, n,
                bacsc_ca_errmsg(ca), err);
        bacsc_ca_close(ca);
        return -1;
    }
    bacsc_ca_close(ca);
    return 0;
}

/* ---- report --------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct result {
    int n, jobs, cores, runs;
    double load0, load1, setup_s;
    crypto_floor fl;
    sample med[N_ST], best[N_ST];
} result;

/* Floor of a stage, seconds per certificate on the cores used (0: none). */
static double stage_floor(const result *r, int s)
{
    double per = s == ST_READ ? r->fl.verify_s
                 : s == ST_ISSUE ? r->fl.sign_s
                 : s == ST_TOTAL ? r->fl.verify_s + r->fl.sign_s
                                 : 0;
    return per / r->cores;
}

static double stage_floor_cpu(const result *r, int s)
{
    return stage_floor(r, s) * r->cores;
}

static void print_text(const result *r)
{
    printf("bench_ca: %d P-256 CSRs, %d jobs (%d cores used), %d run%s, load %.1f..%.1f\n", r->n,
           r->jobs, r->cores, r->runs, r->runs > 1 ? "s (medians)" : "", r->load0, r->load1);
    printf("  floor (same run, 1 thread): ECDSA P-256 verify %.1f us, sign %.1f us -> "
           "%.0f cert/s on %d cores\n",
           r->fl.verify_s * 1e6, r->fl.sign_s * 1e6, r->cores / (r->fl.verify_s + r->fl.sign_s),
           r->cores);
    printf("  setup: make CSRs + request zip   %8.3f s (not timed)\n", r->setup_s);
    printf("  %-40s %8s %10s %10s %8s  %9s %8s %9s\n", "stage", "wall s", "cert/s", "floor/s",
           "ratio", "CPU us/c", "ratio", "main us/c");
    for (int s = 0; s < N_ST; s++) {
        const sample *m = &r->med[s];
        double fl = stage_floor(r, s), rate = r->n / m->wall, cpu_c = m->cpu / r->n * 1e6;
        double main_c = m->main / r->n * 1e6;
        if (fl > 0)
            printf("  %-40s %8.3f %10.0f %10.0f %7.2fx  %9.1f %7.2fx %9.1f\n", st_what[s],
                   m->wall, rate, 1 / fl, m->wall / r->n / fl, cpu_c,
                   cpu_c / (stage_floor_cpu(r, s) * 1e6), main_c);
        else
            printf("  %-40s %8.3f %10.0f %10s %8s  %9.1f %8s %9.1f\n", st_what[s], m->wall,
                   rate, "-", "-", cpu_c, "-", main_c);
    }
    printf("  where the wall goes: cores busy = CPU of all threads / wall; the calling thread\n"
           "  (SQLite, zip, audit chain) running, waiting for a CPU, asleep (workers, fsync)\n");
    printf("  %-40s %8s %10s %9s %9s %9s %10s\n", "stage", "wall s", "cores busy", "main run",
           "main wait", "main slept", "workers s");
    for (int s = 0; s < N_ST; s++) {
        const sample *m = &r->med[s];
        double slept = m->wall - m->main - m->main_wait;
        printf("  %-40s %8.3f %10.2f %9.3f %9.3f %9.3f %10.3f\n", st_what[s], m->wall,
               m->wall > 0 ? m->cpu / m->wall : 0, m->main, m->main_wait, slept > 0 ? slept : 0,
               m->cpu - m->main);
    }
    if (r->runs > 1)
        printf("  best total: %.3f s wall, %.0f cert/s\n", r->best[ST_TOTAL].wall,
               r->n / r->best[ST_TOTAL].wall);
}

static void print_json(const result *r)
{
    json_t *o = json_pack("{s:i, s:i, s:i, s:i, s:f, s:f, s:{s:f, s:f, s:f}}", "csrs", r->n,
                          "jobs", r->jobs, "cores", r->cores, "runs", r->runs, "load_start",
                          r->load0, "load_end", r->load1, "floor", "verify_us",
                          r->fl.verify_s * 1e6, "sign_us", r->fl.sign_s * 1e6, "cert_per_s",
                          r->cores / (r->fl.verify_s + r->fl.sign_s));
    json_t *stages = json_object();
    for (int s = 0; s < N_ST; s++) {
        const sample *m = &r->med[s];
        double fl = stage_floor(r, s);
        json_t *j = json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "what",
                              st_what[s], "wall_s", m->wall, "per_s", r->n / m->wall,
                              "cpu_us_per_cert", m->cpu / r->n * 1e6, "main_cpu_us_per_cert",
                              m->main / r->n * 1e6, "best_wall_s", r->best[s].wall,
                              "cores_busy", m->wall > 0 ? m->cpu / m->wall : 0.0,
                              "main_wait_cpu_s", m->main_wait, "main_slept_s",
                              m->wall - m->main - m->main_wait);
        if (fl > 0) {
            json_object_set_new(j, "floor_per_s", json_real(1 / fl));
            json_object_set_new(j, "ratio", json_real(m->wall / r->n / fl));
            json_object_set_new(j, "cpu_ratio",
                                json_real(m->cpu / r->n / stage_floor_cpu(r, s)));
        }
        json_object_set_new(stages, st_name[s], j);
    }
    json_object_set_new(o, "stages", stages);
    char *txt = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    if (txt)
        puts(txt);
    free(txt);
    json_decref(o);
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_ca [N [JOBS [DIR]]] [--jobs N] [--runs R] [--json]\n");
    return 2;
}

int main(int argc, char **argv)
{
    int n = 10000, jobs = 2, runs = 1, pos = 0;
    bool json = false;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc)
            jobs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (argv[i][0] == '-')
            return usage();
        else if (pos == 0 && ++pos)
            n = atoi(argv[i]);
        else if (pos == 1 && ++pos)
            jobs = atoi(argv[i]);
        else if (pos == 2 && ++pos)
            dir = argv[i];
        else
            return usage();
    }
    char tmpl[] = "/tmp/bench_ca.XXXXXX";
    if (!dir)
        dir = mkdtemp(tmpl);
    if (n <= 0 || jobs < 1 || jobs > BACSC_POOL_MAX || runs < 1 || runs > MAX_RUNS || !dir)
        return usage();
    bacsc_pool_set_default_size(jobs); /* the CARI reader's threads too */
    result r = {.n = n, .jobs = jobs, .runs = runs};
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    r.cores = cpus > 0 && jobs > cpus ? (int)cpus : jobs;
    char reqzip[4200];
    snprintf(reqzip, sizeof reqzip, "%s/request.zip", dir);
    double t0 = now_s();
    if (make_request(n, reqzip) != 0)
        return 1;
    r.setup_s = now_s() - t0;
    r.load0 = loadavg();
    r.fl = measure_floor();
    static sample all[MAX_RUNS][N_ST];
    for (int k = 0; k < runs; k++)
        if (run_once(dir, k, reqzip, n, jobs, all[k]) != 0)
            return 1;
    r.load1 = loadavg();
    for (int s = 0; s < N_ST; s++) {
        double w[MAX_RUNS], c[MAX_RUNS], mc[MAX_RUNS], mw[MAX_RUNS];
        r.best[s] = all[0][s];
        for (int k = 0; k < runs; k++) {
            w[k] = all[k][s].wall;
            c[k] = all[k][s].cpu;
            mc[k] = all[k][s].main;
            mw[k] = all[k][s].main_wait;
            if (all[k][s].wall < r.best[s].wall)
                r.best[s] = all[k][s];
        }
        r.med[s].wall = median(w, runs);
        r.med[s].cpu = median(c, runs);
        r.med[s].main = median(mc, runs);
        r.med[s].main_wait = median(mw, runs);
    }
    if (json)
        print_json(&r);
    else
        print_text(&r);
    if (pos < 3) { /* our own temp dir: remove it */
        char cmd[4300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return 0;
}
