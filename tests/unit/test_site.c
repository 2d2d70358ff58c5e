/*
 * test_site.c — the site database and the commissioning job engine against
 * simulated devices in-process (support_sitesim.h): discover → request →
 * sign → import → mode sc; resume after a simulated kill; reruns retry only
 * failures; refusals (wrong CA, expired, unmatched) write nothing; a device
 * whose new certificate fails validation keeps its old configuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bacsc/cari.h"
#include "bacsc/error.h"
#include "bacsc/site.h"
#include "support_cari_certs.h"
#include "support_sitesim.h"

typedef struct fixture {
    char *dir;
    char db[512], req[512], resp[512];
    bacsc_site *site;
    sitesim *sim;
    simca ca;
} fixture;

static fixture *fx_new(size_t ndev, const char *hub)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = scc_tempdir();
    snprintf(f->db, sizeof f->db, "%s/site.db", f->dir);
    snprintf(f->req, sizeof f->req, "%s/req.zip", f->dir);
    snprintf(f->resp, sizeof f->resp, "%s/resp.zip", f->dir);
    char err[256];
    assert_int_equal(bacsc_site_open(f->db, true, &f->site, err, sizeof err), BACSC_OK);
    simca_init(&f->ca, "Site CA");
    assert_int_equal(bacsc_site_settings_set(f->site, "plant-a", f->ca.der, f->ca.der_len,
                                             "plant-a.example", hub, NULL),
                     BACSC_OK);
    f->sim = sitesim_new(ndev, 1001);
    return f;
}

static void fx_free(fixture *f)
{
    sitesim_free(f->sim);
    bacsc_site_close(f->site);
    simca_free(&f->ca);
    scc_rmrf(f->dir);
    free(f->dir);
    free(f);
}

static bacsc_site_summary run_job(fixture *f, int64_t id, unsigned stop_after)
{
    bacsc_site_run_opts o = {.concurrency = 8, .stop_after_steps = stop_after};
    bacsc_site_summary sum;
    memset(&sum, 0, sizeof sum);
    int rc = bacsc_site_job_run(f->site, id, sitesim_io(f->sim), &o, &sum);
    if (stop_after)
        assert_int_equal(rc, BACSC_ERR_AGAIN);
    else
        assert_int_equal(rc, BACSC_OK);
    return sum;
}

static int print_item(void *user, const bacsc_site_item *it)
{
    (void)user;
    fprintf(stderr, "  item %u step %s status %s: %s\n", (unsigned)it->instance, it->step_name,
            bacsc_site_item_status_name(it->status), it->error);
    return 0;
}

static void print_items(fixture *f, int64_t id)
{
    bacsc_site_job_items(f->site, id, print_item, NULL);
}

static void do_discover(fixture *f)
{
    bacsc_site_found found[600];
    size_t n = sitesim_discover(f->sim, found, 600);
    assert_int_equal(n, f->sim->n);
    int64_t id;
    assert_int_equal(bacsc_site_prepare_discover(f->site, found, n, &id), BACSC_OK);
    bacsc_site_summary s = run_job(f, id, 0);
    if (s.done != n)
        print_items(f, id);
    assert_int_equal(s.done, n);
    assert_int_equal(s.state, BACSC_SITE_JOB_DONE);
}

static void do_request(fixture *f, const char *devices, int rule, unsigned expect_done,
                       unsigned expect_skipped)
{
    bacsc_site_selection sel;
    assert_int_equal(bacsc_site_selection_parse(devices, &sel), BACSC_OK);
    int64_t id;
    assert_int_equal(bacsc_site_prepare_request(f->site, &sel, rule, &id), BACSC_OK);
    bacsc_site_summary s = run_job(f, id, 0);
    assert_int_equal(s.done, expect_done);
    assert_int_equal(s.skipped, expect_skipped);
    size_t count = 0;
    assert_int_equal(bacsc_site_write_request(f->site, &sel, f->req, &count), BACSC_OK);
    assert_int_equal(count, expect_done + expect_skipped);
}

static int64_t prepare_import(fixture *f, int expect_rc, bool *resumed)
{
    size_t len;
    unsigned char *data = scc_read_all(f->resp, &len);
    assert_non_null(data);
    bacsc_site_import_entry *e = NULL;
    size_t ne = 0;
    int64_t id = 0;
    bool res = false;
    char err[256];
    int rc = bacsc_site_prepare_import(f->site, data, len, false, &e, &ne, &id, &res, err,
                                       sizeof err);
    if (rc != expect_rc)
        fprintf(stderr, "prepare_import: %d %s\n", rc, err);
    assert_int_equal(rc, expect_rc);
    free(e);
    free(data);
    if (resumed)
        *resumed = res;
    return id;
}

static int count_status(fixture *f, int status)
{
    bacsc_site_settings st;
    assert_int_equal(bacsc_site_settings_get(f->site, &st), BACSC_OK);
    int n = 0;
    for (size_t i = 0; i < f->sim->n; i++) {
        bacsc_site_device d;
        assert_int_equal(bacsc_site_device_get(f->site, f->sim->devs[i].instance, &d), BACSC_OK);
        bacsc_site_cert_info ci;
        bacsc_site_cert_status(&st, &d, time(NULL), 30, &ci);
        if (ci.status == status)
            n++;
        bacsc_site_device_clear(&d);
    }
    bacsc_site_settings_clear(&st);
    return n;
}

/* ---- database ------------------------------------------------------------------------ */

static void test_db_basics(void **state)
{
    (void)state;
    fixture *f = fx_new(0, "wss://127.0.0.1:4443");
    bacsc_site_settings st;
    assert_int_equal(bacsc_site_settings_get(f->site, &st), BACSC_OK);
    assert_string_equal(st.name, "plant-a");
    assert_string_equal(st.domain, "plant-a.example");
    assert_string_equal(st.primary_hub, "wss://127.0.0.1:4443");
    assert_int_equal(st.ca_len, f->ca.der_len);
    bacsc_site_settings_clear(&st);

    /* a leaf certificate is not a site CA */
    assert_int_equal(bacsc_site_settings_set(f->site, "x", (const unsigned char *)"junk", 4, NULL,
                                             NULL, NULL),
                     BACSC_ERR_MALFORMED);

    bacsc_site_device d, g;
    bacsc_site_device_init(&d, 77);
    snprintf(d.name, sizeof d.name, "ahu-1");
    d.sc_port = 1;
    d.has_issuer[1] = true;
    memset(d.issuer_fp[1], 0xAB, 32);
    d.csr_der = malloc(3);
    memcpy(d.csr_der, "abc", 3);
    d.csr_len = 3;
    assert_int_equal(bacsc_site_device_put(f->site, &d), BACSC_OK);
    assert_int_equal(bacsc_site_device_get(f->site, 77, &g), BACSC_OK);
    assert_string_equal(g.name, "ahu-1");
    assert_int_equal(g.sc_port, 1);
    assert_int_equal(g.ip_port, BACSC_SITE_NONE);
    assert_false(g.has_issuer[0]);
    assert_true(g.has_issuer[1]);
    assert_int_equal(g.csr_len, 3);
    assert_int_equal(bacsc_site_cert_status_parse("csr-pending"), BACSC_SITE_CERT_CSR_PENDING);
    bacsc_site_device_clear(&d);
    bacsc_site_device_clear(&g);
    assert_int_equal(bacsc_site_device_get(f->site, 78, &g), BACSC_ERR_NOT_FOUND);
    bacsc_site_device_clear(&g);

    bacsc_site_selection sel;
    assert_int_equal(bacsc_site_selection_parse("1001-1010,1020", &sel), BACSC_OK);
    assert_true(bacsc_site_selection_has(&sel, 1005));
    assert_true(bacsc_site_selection_has(&sel, 1020));
    assert_false(bacsc_site_selection_has(&sel, 1011));
    assert_int_equal(bacsc_site_selection_parse("10-5", &sel), BACSC_ERR_MALFORMED);
    assert_int_equal(bacsc_site_selection_parse("1,x", &sel), BACSC_ERR_MALFORMED);
    assert_int_equal(bacsc_site_selection_parse("4194303", &sel), BACSC_ERR_MALFORMED);

    /* reopen: schema kept; a foreign SQLite file is refused */
    bacsc_site_close(f->site);
    char err[256];
    assert_int_equal(bacsc_site_open(f->db, false, &f->site, err, sizeof err), BACSC_OK);
    assert_int_equal(bacsc_site_device_count(f->site), 1);
    char other[600];
    snprintf(other, sizeof other, "%s/other.db", f->dir);
    bacsc_site *o = NULL;
    assert_int_equal(bacsc_site_open(other, false, &o, err, sizeof err), BACSC_ERR_NOT_FOUND);
    fx_free(f);
}

/* ---- end to end ------------------------------------------------------------------------ */

static void test_end_to_end(void **state)
{
    (void)state;
    fixture *f = fx_new(20, "wss://127.0.0.1:4443");
    do_discover(f);
    bacsc_site_device d;
    assert_int_equal(bacsc_site_device_get(f->site, 1005, &d), BACSC_OK);
    assert_string_equal(d.name, "dev-1005");
    assert_int_equal(d.sc_port, 1);
    assert_int_equal(d.ip_port, 2);
    assert_int_equal(d.csr_file, 4);
    assert_int_equal(d.issuer_file[1], 3);
    assert_int_equal(d.mode, BACSC_SITE_MODE_IP);
    assert_int_equal(strlen(d.uuid), 36);
    bacsc_site_device_clear(&d);
    assert_int_equal(count_status(f, BACSC_SITE_CERT_NONE), 20);

    do_request(f, "all", BACSC_SITE_CSR_KEEP, 20, 0);
    assert_int_equal(count_status(f, BACSC_SITE_CERT_CSR_PENDING), 20);
    assert_int_equal(simca_sign_file(&f->ca, f->req, f->resp, 365), 20);

    /* mode sc before certificates: refused for every device, nothing written */
    bacsc_site_selection all;
    bacsc_site_selection_parse("all", &all);
    int64_t id;
    assert_int_equal(bacsc_site_prepare_mode(f->site, BACSC_SITE_MODE_SC, &all, &id), BACSC_OK);
    bacsc_site_summary s = run_job(f, id, 0);
    assert_int_equal(s.failed, 20);
    assert_int_equal(s.state, BACSC_SITE_JOB_FAILED);
    assert_int_equal(f->sim->devs[0].activations, 0);

    id = prepare_import(f, BACSC_OK, NULL);
    s = run_job(f, id, 0);
    assert_int_equal(s.done, 20);
    assert_int_equal(s.state, BACSC_SITE_JOB_DONE);
    assert_int_equal(count_status(f, BACSC_SITE_CERT_VALID), 20);
    for (size_t i = 0; i < 20; i++) {
        simdev *sd = &f->sim->devs[i];
        assert_int_equal(sd->activations, 1);
        assert_non_null(sd->key);             /* the new key became the running key */
        assert_true(sd->act_len[0] > 0 && sd->act_len[1] > 0);
    }

    assert_int_equal(bacsc_site_prepare_mode(f->site, BACSC_SITE_MODE_SC, &all, &id), BACSC_OK);
    s = run_job(f, id, 0);
    assert_int_equal(s.done, 20);
    for (size_t i = 0; i < 20; i++)
        assert_int_equal(f->sim->devs[i].mode, BACSC_SITE_MODE_SC);
    assert_int_equal(bacsc_site_device_get(f->site, 1020, &d), BACSC_OK);
    assert_int_equal(d.mode, BACSC_SITE_MODE_SC);
    assert_string_equal(d.primary_hub, "wss://127.0.0.1:4443");
    bacsc_site_device_clear(&d);

    /* the same response again: already imported, nothing to do */
    assert_int_equal(prepare_import(f, BACSC_ERR_EXISTS, NULL), id - 1);
    fx_free(f);
}

static void test_request_rules(void **state)
{
    (void)state;
    fixture *f = fx_new(6, NULL);
    do_discover(f);
    do_request(f, "1001-1003", BACSC_SITE_CSR_KEEP, 3, 0);
    /* keep: the three pending ones take no action, the others generate */
    do_request(f, "all", BACSC_SITE_CSR_KEEP, 3, 3);
    simdev *d1 = sitesim_dev(f->sim, 1001);
    EVP_PKEY *before = d1->new_key;
    EVP_PKEY_up_ref(before);
    /* overwrite: all six regenerate */
    do_request(f, "all", BACSC_SITE_CSR_OVERWRITE, 6, 0);
    assert_true(EVP_PKEY_eq(before, d1->new_key) != 1);
    EVP_PKEY_free(before);
    /* CN carries the site domain */
    assert_non_null(strstr((const char *)d1->pend[3], "-----BEGIN CERTIFICATE REQUEST-----"));
    fx_free(f);
}

/* ---- resume and retry ---------------------------------------------------------------------- */

static void test_resume_after_kill(void **state)
{
    (void)state;
    fixture *f = fx_new(12, "wss://127.0.0.1:4443");
    do_discover(f);
    /* a request job killed after 7 committed steps, resumed by the next run */
    bacsc_site_selection all;
    bacsc_site_selection_parse("all", &all);
    int64_t id, again;
    assert_int_equal(bacsc_site_prepare_request(f->site, &all, BACSC_SITE_CSR_KEEP, &id), BACSC_OK);
    run_job(f, id, 7);
    assert_int_equal(bacsc_site_job_resumable(f->site, BACSC_SITE_JOB_REQUEST, NULL, &again),
                     BACSC_OK);
    assert_int_equal(again, id);
    /* the same command again resumes that job instead of making a new one */
    assert_int_equal(bacsc_site_prepare_request(f->site, &all, BACSC_SITE_CSR_KEEP, &again),
                     BACSC_OK);
    assert_int_equal(again, id);
    assert_true(bacsc_site_prepared_resumed(f->site));
    /* the tool restarts: new client state, same database */
    bacsc_site_close(f->site);
    char err[256];
    assert_int_equal(bacsc_site_open(f->db, false, &f->site, err, sizeof err), BACSC_OK);
    bacsc_site_summary s = run_job(f, id, 0);
    assert_int_equal(s.done, 12);
    assert_int_equal(s.state, BACSC_SITE_JOB_DONE);
    size_t count;
    assert_int_equal(bacsc_site_write_request(f->site, &all, f->req, &count), BACSC_OK);
    assert_int_equal(count, 12);
    assert_int_equal(simca_sign_file(&f->ca, f->req, f->resp, 365), 12);

    /* an import killed twice mid-way; each rerun of the same file resumes */
    bool resumed;
    id = prepare_import(f, BACSC_OK, &resumed);
    assert_false(resumed);
    run_job(f, id, 10);
    assert_int_equal(prepare_import(f, BACSC_OK, &resumed), id);
    assert_true(resumed);
    run_job(f, id, 25);
    assert_int_equal(prepare_import(f, BACSC_OK, &resumed), id);
    s = run_job(f, id, 0);
    if (s.done != 12)
        print_items(f, id);
    assert_int_equal(s.done, 12);
    assert_int_equal(count_status(f, BACSC_SITE_CERT_VALID), 12);
    for (size_t i = 0; i < 12; i++)
        assert_true(f->sim->devs[i].activations >= 1);
    fx_free(f);
}

typedef struct item_seen {
    unsigned n, failed;
    char first_error[256];
} item_seen;

static int seen_item(void *user, const bacsc_site_item *it)
{
    item_seen *s = user;
    s->n++;
    if (it->status == BACSC_SITE_ITEM_FAILED) {
        if (!s->failed)
            snprintf(s->first_error, sizeof s->first_error, "%s", it->error);
        s->failed++;
    }
    return 0;
}

static void test_rerun_retries_only_failures(void **state)
{
    (void)state;
    fixture *f = fx_new(10, "wss://127.0.0.1:4443");
    do_discover(f);
    do_request(f, "all", BACSC_SITE_CSR_KEEP, 10, 0);
    assert_int_equal(simca_sign_file(&f->ca, f->req, f->resp, 365), 10);
    /* 1003 dies in the middle of distribution (after the issuer write);
     * 1007 is unreachable from the start */
    sitesim_dev(f->sim, 1003)->offline_after_writes = 1;
    sitesim_dev(f->sim, 1007)->offline = true;
    int64_t id = prepare_import(f, BACSC_OK, NULL);
    bacsc_site_summary s = run_job(f, id, 0);
    assert_int_equal(s.done, 8);
    assert_int_equal(s.failed, 2);
    assert_int_equal(s.state, BACSC_SITE_JOB_PARTIAL);
    item_seen seen = {0};
    bacsc_site_job_items(f->site, id, seen_item, &seen);
    assert_int_equal(seen.failed, 2);
    assert_non_null(strstr(seen.first_error, "timeout"));

    /* the devices come back; the rerun holds only the two failures */
    unsigned act_before = sitesim_dev(f->sim, 1001)->activations;
    sitesim_dev(f->sim, 1003)->offline = false;
    sitesim_dev(f->sim, 1003)->offline_after_writes = 0;
    sitesim_dev(f->sim, 1007)->offline = false;
    int64_t id2 = prepare_import(f, BACSC_OK, NULL);
    assert_true(id2 != id);
    bacsc_site_job j;
    assert_int_equal(bacsc_site_job_get(f->site, id2, &j), BACSC_OK);
    assert_int_equal(j.total, 2);
    s = run_job(f, id2, 0);
    assert_int_equal(s.done, 2);
    assert_int_equal(s.state, BACSC_SITE_JOB_DONE);
    assert_int_equal(sitesim_dev(f->sim, 1001)->activations, act_before);
    assert_int_equal(count_status(f, BACSC_SITE_CERT_VALID), 10);
    /* 1003 ends with a consistent set: its active certificate verifies */
    simdev *d = sitesim_dev(f->sim, 1003);
    assert_int_equal(d->activations, 1);
    assert_true(d->act_len[0] > 0 && d->act_len[1] > 0);
    fx_free(f);
}

/* A device that activated new certificates does not answer while it
 * reconnects (over BACnet/SC: to its hub, slowly under load): confirm reads
 * again for longer than one request's retries (1.5 s here), up to the
 * confirm wait (30 s + 1 s per concurrent device); one that never comes
 * back fails with that said. */
static void test_confirm_waits_for_reconnect(void **state)
{
    (void)state;
    fixture *f = fx_new(4, "wss://127.0.0.1:4443");
    do_discover(f);
    do_request(f, "all", BACSC_SITE_CSR_KEEP, 4, 0);
    assert_int_equal(simca_sign_file(&f->ca, f->req, f->resp, 365), 4);
    sitesim_dev(f->sim, 1002)->silent_after_activation_us = 20000000;
    sitesim_dev(f->sim, 1003)->silent_after_activation_us = 600000000;
    int64_t id = prepare_import(f, BACSC_OK, NULL);
    bacsc_site_summary s = run_job(f, id, 0);
    item_seen seen = {0};
    bacsc_site_job_items(f->site, id, seen_item, &seen);
    if (s.done != 3)
        print_items(f, id);
    assert_int_equal(s.done, 3);
    assert_int_equal(s.failed, 1);
    assert_non_null(strstr(seen.first_error, "confirm: no answer for 3"));
    assert_int_equal(sitesim_dev(f->sim, 1002)->activations, 1);
    fx_free(f);
}

/* ---- refusals ------------------------------------------------------------------------------ */

static unsigned total_writes(fixture *f)
{
    unsigned n = 0;
    for (size_t i = 0; i < f->sim->n; i++)
        n += f->sim->devs[i].file_writes + f->sim->devs[i].activations;
    return n;
}

static void test_wrong_ca_refused(void **state)
{
    (void)state;
    fixture *f = fx_new(5, NULL);
    do_discover(f);
    do_request(f, "all", BACSC_SITE_CSR_KEEP, 5, 0);
    simca other;
    simca_init(&other, "Somebody Else's CA");
    assert_int_equal(simca_sign_file(&other, f->req, f->resp, 365), 5);
    size_t len;
    unsigned char *data = scc_read_all(f->resp, &len);
    bacsc_site_import_entry *e = NULL;
    size_t ne = 0;
    int64_t id = 0;
    bool res;
    char err[256];
    assert_int_equal(bacsc_site_prepare_import(f->site, data, len, false, &e, &ne, &id, &res, err,
                                               sizeof err),
                     BACSC_ERR_POLICY);
    assert_int_equal(ne, 5);
    for (size_t i = 0; i < ne; i++) {
        assert_true(e[i].refused);
        assert_non_null(strstr(e[i].why, "not the site CA"));
    }
    assert_non_null(strstr(err, "nothing was written"));
    free(e);
    /* even --accept-partial schedules nothing when all are refused */
    assert_int_equal(bacsc_site_prepare_import(f->site, data, len, true, &e, &ne, &id, &res, err,
                                               sizeof err),
                     BACSC_ERR_POLICY);
    free(e);
    free(data);
    assert_int_equal(total_writes(f), 0);
    assert_int_equal(count_status(f, BACSC_SITE_CERT_CSR_PENDING), 5);

    /* expired certificates from the right CA: refused too */
    assert_int_equal(simca_sign_file(&f->ca, f->req, f->resp, -1), 5);
    prepare_import(f, BACSC_ERR_POLICY, NULL);
    assert_int_equal(total_writes(f), 0);
    simca_free(&other);
    fx_free(f);
}

static void test_validation_failure_keeps_old(void **state)
{
    (void)state;
    fixture *f = fx_new(4, "wss://127.0.0.1:4443");
    do_discover(f);
    do_request(f, "all", BACSC_SITE_CSR_KEEP, 4, 0);
    assert_int_equal(simca_sign_file(&f->ca, f->req, f->resp, 365), 4);
    simdev *bad = sitesim_dev(f->sim, 1002);
    bad->corrupt_validation = true;
    int64_t id = prepare_import(f, BACSC_OK, NULL);
    bacsc_site_summary s = run_job(f, id, 0);
    assert_int_equal(s.done, 3);
    assert_int_equal(s.failed, 1);
    item_seen seen = {0};
    bacsc_site_job_items(f->site, id, seen_item, &seen);
    assert_non_null(strstr(seen.first_error, "validation failed"));
    assert_non_null(strstr(seen.first_error, "key-mismatch"));
    /* nothing activated on it: its running set is still empty, mode ip */
    assert_int_equal(bad->activations, 0);
    assert_int_equal(bad->act_len[0], 0);
    assert_int_equal(bad->mode, BACSC_SITE_MODE_IP);
    /* it still answers: a discover reads it fine */
    do_discover(f);
    /* the site still sees its CSR pending; the others valid */
    assert_int_equal(count_status(f, BACSC_SITE_CERT_VALID), 3);
    assert_int_equal(count_status(f, BACSC_SITE_CERT_CSR_PENDING), 1);
    /* mode sc refuses it but switches the rest */
    bacsc_site_selection all;
    bacsc_site_selection_parse("all", &all);
    assert_int_equal(bacsc_site_prepare_mode(f->site, BACSC_SITE_MODE_SC, &all, &id), BACSC_OK);
    s = run_job(f, id, 0);
    assert_int_equal(s.done, 3);
    assert_int_equal(s.failed, 1);
    assert_int_equal(s.state, BACSC_SITE_JOB_PARTIAL);
    assert_int_equal(bad->mode, BACSC_SITE_MODE_IP);
    /* the rerun leaves the switched devices alone */
    unsigned act = sitesim_dev(f->sim, 1001)->activations;
    assert_int_equal(bacsc_site_prepare_mode(f->site, BACSC_SITE_MODE_SC, &all, &id), BACSC_OK);
    s = run_job(f, id, 0);
    assert_int_equal(s.skipped, 3);
    assert_int_equal(s.failed, 1);
    assert_int_equal(sitesim_dev(f->sim, 1001)->activations, act);
    fx_free(f);
}

/* Someone else stages an issuer between this job's writes and its activation:
 * the job reads the pending set back and does not activate it. */
static void test_staged_by_others_not_activated(void **state)
{
    (void)state;
    fixture *f = fx_new(2, "wss://127.0.0.1:4443");
    do_discover(f);
    do_request(f, "all", BACSC_SITE_CSR_KEEP, 2, 0);
    assert_int_equal(simca_sign_file(&f->ca, f->req, f->resp, 365), 2);
    simca evil;
    simca_init(&evil, "Attacker CA");
    simdev *d = sitesim_dev(f->sim, 1002);
    d->stage_issuer2 = evil.der;
    d->stage_issuer2_len = evil.der_len;
    int64_t id = prepare_import(f, BACSC_OK, NULL);
    bacsc_site_summary s = run_job(f, id, 0);
    assert_int_equal(s.done, 1);
    assert_int_equal(s.failed, 1);
    item_seen seen = {0};
    bacsc_site_job_items(f->site, id, seen_item, &seen);
    assert_non_null(strstr(seen.first_error, "verify: issuer slot 2"));
    assert_int_equal(d->activations, 0);
    assert_int_equal(d->act_len[2], 0);
    d->stage_issuer2 = NULL;
    simca_free(&evil);
    fx_free(f);
}

/* The same for a hub URI staged by someone else during a mode switch. */
static void test_mode_staged_hub_not_activated(void **state)
{
    (void)state;
    fixture *f = fx_new(2, "wss://127.0.0.1:4443");
    do_discover(f);
    do_request(f, "all", BACSC_SITE_CSR_KEEP, 2, 0);
    assert_int_equal(simca_sign_file(&f->ca, f->req, f->resp, 365), 2);
    int64_t id = prepare_import(f, BACSC_OK, NULL);
    assert_int_equal(run_job(f, id, 0).done, 2);
    simdev *d = sitesim_dev(f->sim, 1002);
    unsigned act = d->activations;
    d->stage_failover = "wss://10.6.6.6:4443";
    bacsc_site_selection all;
    bacsc_site_selection_parse("all", &all);
    assert_int_equal(bacsc_site_prepare_mode(f->site, BACSC_SITE_MODE_SC, &all, &id), BACSC_OK);
    bacsc_site_summary s = run_job(f, id, 0);
    assert_int_equal(s.done, 1);
    assert_int_equal(s.failed, 1);
    item_seen seen = {0};
    bacsc_site_job_items(f->site, id, seen_item, &seen);
    assert_non_null(strstr(seen.first_error, "verify: the pending failover hub URI"));
    assert_int_equal(d->activations, act);
    d->stage_failover = NULL;
    fx_free(f);
}

static void test_trust_add_remove(void **state)
{
    (void)state;
    fixture *f = fx_new(3, NULL);
    do_discover(f);
    simca next;
    simca_init(&next, "Next Site CA");
    bacsc_site_selection sel;
    bacsc_site_selection_parse("1001-1002", &sel);
    int64_t id;
    assert_int_equal(bacsc_site_prepare_trust(f->site, true, next.der, next.der_len, &sel, &id),
                     BACSC_OK);
    bacsc_site_summary s = run_job(f, id, 0);
    assert_int_equal(s.done, 2);
    simdev *d = sitesim_dev(f->sim, 1001);
    assert_int_equal(d->act_len[1], next.der_len);
    assert_int_equal(sitesim_dev(f->sim, 1003)->act_len[1], 0);
    /* again: no action taken */
    assert_int_equal(bacsc_site_prepare_trust(f->site, true, next.der, next.der_len, &sel, &id),
                     BACSC_OK);
    s = run_job(f, id, 0);
    assert_int_equal(s.skipped, 2);
    /* remove */
    assert_int_equal(bacsc_site_prepare_trust(f->site, false, next.der, next.der_len, &sel, &id),
                     BACSC_OK);
    s = run_job(f, id, 0);
    assert_int_equal(s.done, 2);
    assert_int_equal(d->act_len[1], 0);
    bacsc_site_device dd;
    assert_int_equal(bacsc_site_device_get(f->site, 1001, &dd), BACSC_OK);
    assert_false(dd.has_issuer[0]);
    bacsc_site_device_clear(&dd);
    simca_free(&next);
    fx_free(f);
}

/* A plain zip of certificates (no manifest, PEM and DER mixed) is matched by
 * public key alone. */
static void test_plain_zip_import(void **state)
{
    (void)state;
    fixture *f = fx_new(3, NULL);
    do_discover(f);
    do_request(f, "all", BACSC_SITE_CSR_KEEP, 3, 0);
    assert_int_equal(simca_sign_file(&f->ca, f->req, f->resp, 365), 3);
    bacsc_cari *c = NULL;
    assert_int_equal(bacsc_cari_read_file(f->resp, NULL, &c), BACSC_OK);
    scc_zip_member m[8];
    char *pems[8] = {0};
    char names[8][32];
    size_t n = 0;
    memset(m, 0, sizeof m);
    for (size_t i = 0; i < c->n_entries && n < 8; i++) {
        bacsc_cari_entry *e = &c->entries[i];
        if (e->error || e->type != BACSC_CARI_ENTRY_CERTIFICATE)
            continue;
        snprintf(names[n], sizeof names[n], n % 2 ? "dev%zu.der" : "dev%zu.pem", n);
        m[n].name = names[n];
        if (n % 2) {
            m[n].data = e->der;
            m[n].len = e->der_len;
        } else {
            size_t pl;
            pems[n] = scc_pem("CERTIFICATE", e->der, e->der_len, &pl);
            m[n].data = pems[n];
            m[n].len = pl;
        }
        n++;
    }
    assert_int_equal(n, 3);
    assert_int_equal(scc_zip_write(f->resp, m, n), 0);
    int64_t id = prepare_import(f, BACSC_OK, NULL);
    bacsc_site_summary s = run_job(f, id, 0);
    assert_int_equal(s.done, 3);
    assert_int_equal(count_status(f, BACSC_SITE_CERT_VALID), 3);
    for (size_t i = 0; i < n; i++)
        free(pems[i]);
    bacsc_cari_free(c);
    fx_free(f);
}

/* Devices answering with junk: the tool records a clear failure per device
 * and carries on with the others; nothing crashes or is stored. */
static void test_hostile_devices(void **state)
{
    (void)state;
    fixture *f = fx_new(4, NULL);
    simdev *big = sitesim_dev(f->sim, 1001), *junk = sitesim_dev(f->sim, 1002);
    /* an "operational certificate" of 70,000 octets, and one of garbage */
    static uint8_t huge[70000];
    memset(huge, '-', sizeof huge);
    big->pend[0] = malloc(sizeof huge);
    memcpy(big->pend[0], huge, sizeof huge);
    big->pend_len[0] = sizeof huge;
    junk->pend[0] = malloc(5);
    memcpy(junk->pend[0], "\x30\x03" "abc", 5);
    junk->pend_len[0] = 5;
    bacsc_site_found found[8];
    size_t n = sitesim_discover(f->sim, found, 8);
    int64_t id;
    assert_int_equal(bacsc_site_prepare_discover(f->site, found, n, &id), BACSC_OK);
    bacsc_site_summary s = run_job(f, id, 0);
    assert_int_equal(s.done, 3);
    assert_int_equal(s.failed, 1);
    item_seen seen = {0};
    bacsc_site_job_items(f->site, id, seen_item, &seen);
    assert_non_null(strstr(seen.first_error, "larger than"));
    bacsc_site_device d;
    assert_int_equal(bacsc_site_device_get(f->site, 1002, &d), BACSC_OK);
    assert_null(d.cert_der); /* garbage is not kept as a certificate */
    bacsc_site_device_clear(&d);

    /* a CSR file holding no CSR */
    simdev *bad = sitesim_dev(f->sim, 1003);
    bad->csr_junk = (const uint8_t *)"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n";
    bad->csr_junk_len = strlen((const char *)bad->csr_junk);
    bacsc_site_selection sel;
    bacsc_site_selection_parse("1002-1004", &sel);
    assert_int_equal(bacsc_site_prepare_request(f->site, &sel, BACSC_SITE_CSR_KEEP, &id), BACSC_OK);
    s = run_job(f, id, 0);
    assert_int_equal(s.done, 2);
    assert_int_equal(s.failed, 1);
    memset(&seen, 0, sizeof seen);
    bacsc_site_job_items(f->site, id, seen_item, &seen);
    assert_non_null(strstr(seen.first_error, "does not hold a CSR"));
    assert_int_equal(count_status(f, BACSC_SITE_CERT_CSR_PENDING), 2);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_db_basics),
        cmocka_unit_test(test_end_to_end),
        cmocka_unit_test(test_request_rules),
        cmocka_unit_test(test_resume_after_kill),
        cmocka_unit_test(test_rerun_retries_only_failures),
        cmocka_unit_test(test_confirm_waits_for_reconnect),
        cmocka_unit_test(test_wrong_ca_refused),
        cmocka_unit_test(test_validation_failure_keeps_old),
        cmocka_unit_test(test_staged_by_others_not_activated),
        cmocka_unit_test(test_mode_staged_hub_not_activated),
        cmocka_unit_test(test_trust_add_remove),
        cmocka_unit_test(test_hostile_devices),
        cmocka_unit_test(test_plain_zip_import),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
