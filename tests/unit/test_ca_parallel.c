/*
 * test_ca_parallel.c — the CA pipeline gives the same result on 1 thread
 * and on several: the CARI reader's entries (order, types, errors, key
 * fingerprints), and after submit + approve + issue the stored requests,
 * certificates (TBSCertificate with the random serial zeroed) and audit
 * rows (actions and objects in the same order; the certificate serial in
 * an object replaced by its request) are identical; the audit chain is
 * intact in both. Mixed batch: good CSRs, one with a broken signature,
 * one with a key type the policy refuses, one duplicate Device UUID, and
 * more than one signing chunk (1000) so the signing pipeline is used.
 * The CARI writer's archive (PEM texts made on a pool) is byte-identical
 * on 1 and 3 threads, in memory and in a file with its digest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sqlite3.h>
#include <zip.h>

#include "bacsc/ca_files.h"
#include "bacsc/cari.h"
#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "bacsc/pool.h"
#include "pki/cari_internal.h"

#define N_GOOD 1100
#define FIXED_NOW 1800000000

typedef struct fixture {
    char dir[64];
    uint8_t *zip;
    size_t zip_len;
} fixture;

static int add_csr(bacsc_cari_writer *w, int key_type, int i, const char *uuid, bool corrupt)
{
    static const char *const dns[] = {"device.local"};
    EVP_PKEY *k = NULL;
    char cn[32], u[BACSC_PKI_UUID_STR_LEN], err[256];
    snprintf(cn, sizeof cn, "device-%d", i);
    if (!uuid) {
        bacsc_pki_uuid_random(u);
        uuid = u;
    }
    bacsc_cert_spec spec = {.cn = cn, .device_uuid = uuid, .dns = dns, .n_dns = 1};
    uint8_t *der = NULL;
    size_t len = 0;
    if (bacsc_pki_keygen(key_type, &k) != BACSC_OK ||
        bacsc_pki_make_csr(k, &spec, false, &der, &len) != BACSC_OK)
        return -1;
    EVP_PKEY_free(k);
    if (corrupt)
        der[len - 3] ^= 0x55; /* inside the signature */
    int rc = bacsc_cari_writer_add_csr(w, der, len, NULL, NULL, NULL, err, sizeof err);
    free(der);
    return rc;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_ca_parallel.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    bacsc_cari_writer *w = NULL;
    assert_int_equal(bacsc_cari_writer_new(BACSC_CARI_REQUEST, "test", NULL, &w), BACSC_OK);
    char dup[BACSC_PKI_UUID_STR_LEN];
    bacsc_pki_uuid_random(dup);
    for (int i = 0; i < N_GOOD; i++)
        assert_true(add_csr(w, BACSC_KEY_EC_P256, i, i == 7 || i == 900 ? dup : NULL, false) >= 0);
    /* the writer checks signatures: a corrupt CSR is refused there, so the
     * broken one goes in through a second, unchecked route below */
    assert_true(add_csr(w, BACSC_KEY_EC_P384, N_GOOD, NULL, false) >= 0);
    bacsc_pool_set_default_size(1); /* the request as one thread writes it */
    assert_int_equal(bacsc_cari_writer_to_buffer(w, &f->zip, &f->zip_len), BACSC_OK);
    bacsc_pool_set_default_size(0);
    bacsc_cari_writer_free(w);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->dir);
    free(f->zip);
    free(f);
    return 0;
}

/* One line per entry of the archive as read with `jobs` threads. */
static char *read_entries(const fixture *f, int jobs, bacsc_cari **out)
{
    bacsc_pool_set_default_size(jobs);
    bacsc_cari *c = NULL;
    assert_int_equal(bacsc_cari_read_buffer(f->zip, f->zip_len, NULL, &c), BACSC_OK);
    bacsc_pool_set_default_size(0);
    size_t cap = 256 * (c->n_entries + 1), n = 0;
    char *s = malloc(cap);
    for (size_t i = 0; i < c->n_entries; i++) {
        const bacsc_cari_entry *e = &c->entries[i];
        char fp[2 * BACSC_CARI_FP_LEN + 1];
        bacsc_cari_fp_hex(e->fingerprint, fp);
        n += (size_t)snprintf(s + n, cap - n, "%s|%d|%s|%s\n", e->name, (int)e->type,
                              e->error ? e->error : "-", fp);
    }
    *out = c;
    return s;
}

/* Whether a thread of this process is named `name` (/proc/self/task). */
static bool thread_named(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    bool found = false;
    struct dirent *e;
    while (d && !found && (e = readdir(d)) != NULL) {
        char path[300], comm[64] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *fp = fopen(path, "r");
        if (fp && fgets(comm, sizeof comm, fp))
            found = strncmp(comm, name, strlen(name)) == 0 && comm[strlen(name)] == '\n';
        if (fp)
            fclose(fp);
    }
    if (d)
        closedir(d);
    return found;
}

static void run_ca(const fixture *f, int jobs, const char *name, char **dump)
{
    char cadir[128], err[512];
    snprintf(cadir, sizeof cadir, "%s/%s", f->dir, name);
    bacsc_cari *c = NULL;
    char *entries = read_entries(f, jobs, &c);
    free(entries);
    bacsc_ca *ca = NULL;
    assert_int_equal(bacsc_ca_open(cadir, NULL, &ca, err, sizeof err), BACSC_OK);
    bacsc_ca_set_time(ca, FIXED_NOW);
    bacsc_ca_set_actor(ca, "tester");
    bacsc_ca_set_threads(ca, jobs);
    assert_int_equal(bacsc_ca_policy_set(ca, "max_batch", "100000"), BACSC_OK);
    bacsc_request_in *reqs = calloc(c->n_entries, sizeof *reqs);
    size_t n = 0;
    for (size_t i = 0; i < c->n_entries; i++) {
        if (!c->entries[i].der || c->entries[i].type != BACSC_CARI_ENTRY_CSR)
            continue;
        reqs[n].csr = c->entries[i].der;
        reqs[n].csr_len = c->entries[i].der_len;
        reqs[n].entry = c->entries[i].name;
        reqs[n].parsed = c->entries[i].csr;
        reqs[n].device_instance = -1;
        n++;
    }
    /* plus one CSR with a broken self-signature, parsed here (not by the reader) */
    uint8_t *bad = malloc(reqs[0].csr_len);
    memcpy(bad, reqs[0].csr, reqs[0].csr_len);
    bad[reqs[0].csr_len - 3] ^= 0x55;
    reqs[n++] = (bacsc_request_in){.csr = bad, .csr_len = reqs[0].csr_len, .entry = "bad.csr",
                                   .device_instance = -1};
    bacsc_batch_in b = {.file_name = "request.zip"};
    int64_t bid = 0;
    assert_true(bacsc_ca_submit(ca, &b, reqs, n, &bid, NULL) > 0);
    bacsc_selector sel = {.batch_id = bid};
    assert_true(bacsc_ca_approve(ca, &sel, NULL, NULL) > 1000);
    bacsc_audit_check chk;
    assert_int_equal(bacsc_ca_audit_verify(ca, &chk), BACSC_OK);
    /* the WAL passed 1,000 pages: checkpoints went to their own thread,
     * which stops with the store; closing still checkpoints and removes
     * the WAL (the store below is read from ca.db alone) */
    bool named = false; /* the thread names itself once it runs */
    for (int i = 0; i < 500 && !(named = thread_named("bacsc-ckpt")); i++)
        usleep(10000);
    assert_true(named);
    bacsc_ca_close(ca);
    assert_false(thread_named("bacsc-ckpt"));
    char wal[160];
    snprintf(wal, sizeof wal, "%s/ca.db-wal", cadir);
    assert_int_not_equal(access(wal, F_OK), 0);
    free(bad);
    free(reqs);
    bacsc_cari_free(c);
    /* dump the store */
    char db[160];
    snprintf(db, sizeof db, "%s/ca.db", cadir);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    size_t cap = 8u << 20, len = 0;
    char *s = malloc(cap);
    static const char *const q[] = {
        "SELECT id, entry, status, IFNULL(reason,''), IFNULL(subject,''), key_fp, "
        "IFNULL(device_uuid,''), created, IFNULL(decided,0) FROM requests ORDER BY id",
        "SELECT request_id, subject, IFNULL(device_uuid,''), key_fp, not_before, not_after, "
        "status, issued, der, serial FROM certificates ORDER BY request_id",
        "SELECT a.id, time, actor, action, IFNULL(replace(object, 'certificate ' || c.serial, "
        "'certificate of request ' || c.request_id), object), IFNULL(detail,'') FROM audit a "
        "LEFT JOIN certificates c ON a.object = 'certificate ' || c.serial ORDER BY a.id"};
    for (int k = 0; k < 3; k++) {
        sqlite3_stmt *st = NULL;
        assert_int_equal(sqlite3_prepare_v2(h, q[k], -1, &st, NULL), SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW) {
            int nc = sqlite3_column_count(st) - (k == 1 ? 2 : 0);
            for (int col = 0; col < nc; col++)
                len += (size_t)snprintf(s + len, cap - len, "%s|", sqlite3_column_text(st, col));
            if (k == 1) { /* the TBSCertificate with the serial zeroed */
                const unsigned char *p = sqlite3_column_blob(st, 8);
                X509 *x = d2i_X509(NULL, &p, sqlite3_column_bytes(st, 8));
                assert_non_null(x);
                ASN1_INTEGER *zero = ASN1_INTEGER_new();
                ASN1_INTEGER_set(zero, 0);
                X509_set_serialNumber(x, zero);
                unsigned char *tbs = NULL;
                int tl = i2d_re_X509_tbs(x, &tbs);
                assert_true(tl > 0);
                for (int i = 0; i < tl; i++)
                    len += (size_t)snprintf(s + len, cap - len, "%02x", tbs[i]);
                OPENSSL_free(tbs);
                ASN1_INTEGER_free(zero);
                X509_free(x);
            }
            len += (size_t)snprintf(s + len, cap - len, "\n");
            assert_true(len < cap - 4096);
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    *dump = s;
}

static void test_reader_same_on_any_thread_count(void **state)
{
    fixture *f = *state;
    bacsc_cari *c1 = NULL, *c4 = NULL;
    char *one = read_entries(f, 1, &c1), *four = read_entries(f, 4, &c4);
    assert_int_equal(c1->n_entries, N_GOOD + 2); /* + the P-384 CSR + manifest */
    assert_string_equal(one, four);
    free(one);
    free(four);
    bacsc_cari_free(c1);
    bacsc_cari_free(c4);
}

static void test_store_same_on_any_thread_count(void **state)
{
    fixture *f = *state;
    char cadir[128], err[512];
    snprintf(cadir, sizeof cadir, "%s/ca1", f->dir);
    bacsc_ca_init_params p = {.dir = cadir, .name = "parallel CA", .actor = "tester"};
    assert_int_equal(bacsc_ca_init(&p, err, sizeof err), BACSC_OK);
    bacsc_ca *ca = NULL;
    assert_int_equal(bacsc_ca_open(cadir, NULL, &ca, err, sizeof err), BACSC_OK);
    bacsc_ca_set_time(ca, FIXED_NOW);
    bacsc_ca_set_actor(ca, "tester");
    bacsc_ca_close(ca);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "cp -a '%s/ca1' '%s/ca3'", f->dir, f->dir);
    assert_int_equal(system(cmd), 0);
    char *d1 = NULL, *d3 = NULL;
    run_ca(f, 1, "ca1", &d1);
    run_ca(f, 3, "ca3", &d3);
    assert_non_null(strstr(d1, "|rejected|")); /* the bad ones are in the comparison */
    assert_string_equal(d1, d3);
    free(d1);
    free(d3);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    uint8_t *b = malloc(32u << 20);
    *len = fread(b, 1, 32u << 20, fp);
    fclose(fp);
    return b;
}

/* A writer's archive into memory and into a file, with `jobs` threads
 * making the PEM texts. */
static void write_with(const fixture *f, bacsc_cari_writer *w, int jobs, const char *name,
                       uint8_t **buf, size_t *buf_len, uint8_t **file, size_t *file_len,
                       uint8_t sha[32])
{
    char path[160];
    bacsc_pool_set_default_size(jobs);
    assert_int_equal(bacsc_cari_writer_to_buffer(w, buf, buf_len), BACSC_OK);
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    assert_int_equal(bacsc_cari_writer_write_file(w, path, sha), BACSC_OK);
    bacsc_pool_set_default_size(0);
    *file = slurp(path, file_len);
}

/* The writer makes the PEM texts of a large archive on a pool while libzip
 * copies the earlier ones in, and reads the file's digest back while it is
 * synced: the octets and the digest are those of one thread. */
static void test_writer_same_on_any_thread_count(void **state)
{
    fixture *f = *state;
    bacsc_cari *c = NULL;
    free(read_entries(f, 1, &c));
    bacsc_cari_writer *w = NULL; /* the request's CSRs again, fixed batch id and time */
    char err[256];
    assert_int_equal(bacsc_cari_writer_new(BACSC_CARI_REQUEST, "test", "batch-1", &w), BACSC_OK);
    bacsc_cari_writer_set_created(w, FIXED_NOW);
    for (size_t i = 0; i < c->n_entries; i++)
        if (c->entries[i].type == BACSC_CARI_ENTRY_CSR && c->entries[i].der)
            assert_true(bacsc_cari_writer_add_csr(w, c->entries[i].der, c->entries[i].der_len,
                                                  NULL, NULL, NULL, err, sizeof err) >= 0);
    uint8_t *b1, *b3, *f1, *f3, s1[32], s3[32], d[32];
    size_t lb1, lb3, lf1, lf3;
    write_with(f, w, 1, "w1.zip", &b1, &lb1, &f1, &lf1, s1);
    write_with(f, w, 3, "w3.zip", &b3, &lb3, &f3, &lf3, s3);
    assert_true(lb1 > 1000u * 500);
    assert_int_equal(lb1, lb3);
    assert_memory_equal(b1, b3, lb1);
    assert_int_equal(lf1, lf3);
    assert_memory_equal(f1, f3, lf1);
    assert_memory_equal(s1, s3, 32);
    /* the file (libzip through cari_fd_sink) holds the octets libzip makes
     * in memory; also with a window smaller than one entry, so that the
     * window fills mid-entry and libzip seeks back outside it */
    assert_int_equal(lb1, lf1);
    assert_memory_equal(b1, f1, lb1);
    size_t saved = cari_sink_window;
    cari_sink_window = 61;
    char path[160];
    snprintf(path, sizeof path, "%s/small-window.zip", f->dir);
    uint8_t ss[32];
    assert_int_equal(bacsc_cari_writer_write_file(w, path, ss), BACSC_OK);
    cari_sink_window = saved;
    size_t lsw;
    uint8_t *sw = slurp(path, &lsw);
    assert_int_equal(lsw, lb1);
    assert_memory_equal(sw, b1, lb1);
    assert_memory_equal(ss, s1, 32);
    free(sw);
    bacsc_cari_writer_free(w);
    unsigned int dl = 0;
    assert_true(EVP_Digest(f3, lf3, d, &dl, EVP_sha256(), NULL));
    assert_memory_equal(d, s3, 32);
    /* and it reads back: every CSR, in the order written */
    bacsc_cari *back = NULL;
    assert_int_equal(bacsc_cari_read_buffer(b3, lb3, NULL, &back), BACSC_OK);
    assert_int_equal(back->n_entries, c->n_entries);
    assert_int_equal(bacsc_cari_invalid_count(back), 0);
    for (size_t i = 0; i < c->n_entries; i++)
        assert_string_equal(back->entries[i].name, c->entries[i].name);
    bacsc_cari_free(back);
    free(b1);
    free(b3);
    free(f1);
    free(f3);
    bacsc_cari_free(c);
}


/* Member `i` of a zip in memory (malloc'd; *name set), or NULL past the end. */
static char *zip_member(zip_t *z, zip_uint64_t i, const char **name, size_t *len)
{
    zip_stat_t st;
    if (i >= (zip_uint64_t)zip_get_num_entries(z, 0) || zip_stat_index(z, i, 0, &st) != 0)
        return NULL;
    *name = st.name;
    char *b = malloc(st.size + 1);
    zip_file_t *zf = zip_fopen_index(z, i, 0);
    assert_non_null(zf);
    assert_int_equal(zip_fread(zf, b, st.size), (zip_int64_t)st.size);
    zip_fclose(zf);
    b[st.size] = 0;
    *len = st.size;
    return b;
}

/* The manifest without its two lines that differ per response written. */
static void drop_per_response(char *m)
{
    static const char *const keys[] = {"\n  \"batch_id\": ", "\n  \"created\": "};
    for (int k = 0; k < 2; k++) {
        char *p = strstr(m, keys[k]);
        assert_non_null(p);
        char *e = strchr(p + 1, '\n');
        memmove(p, e, strlen(e) + 1);
    }
}

/* The response read while the batch is issued (bacsc_ca_response_begin /
 * end) holds what bacsc_ca_response_write makes from the store afterwards:
 * the same members in the same order with the same octets; the manifest
 * differs only in the response's own batch id and time. The batch had
 * certificates before (issued by id), a rejected request, and more than one
 * signing chunk. */
static void test_response_read_ahead_same_as_afterwards(void **state)
{
    fixture *f = *state;
    char cadir[128], err[512], out_a[160], out_b[160];
    snprintf(cadir, sizeof cadir, "%s/ca_ahead", f->dir);
    bacsc_ca_init_params p = {.dir = cadir, .name = "ahead CA", .actor = "tester"};
    assert_int_equal(bacsc_ca_init(&p, err, sizeof err), BACSC_OK);
    bacsc_cari *c = NULL;
    free(read_entries(f, 1, &c));
    bacsc_ca *ca = NULL;
    assert_int_equal(bacsc_ca_open(cadir, NULL, &ca, err, sizeof err), BACSC_OK);
    bacsc_ca_set_threads(ca, 2);
    assert_int_equal(bacsc_ca_policy_set(ca, "max_batch", "100000"), BACSC_OK);
    bacsc_request_in *reqs = calloc(c->n_entries, sizeof *reqs);
    size_t n = 0;
    for (size_t i = 0; i < c->n_entries; i++)
        if (c->entries[i].der && c->entries[i].type == BACSC_CARI_ENTRY_CSR)
            reqs[n++] = (bacsc_request_in){.csr = c->entries[i].der,
                                           .csr_len = c->entries[i].der_len,
                                           .entry = c->entries[i].name,
                                           .parsed = c->entries[i].csr,
                                           .device_name = i % 3 ? c->entries[i].name : NULL,
                                           .ref = c->entries[i].request_id,
                                           .device_instance = (int64_t)i % 7 ? (int64_t)i : -1};
    bacsc_batch_in b = {.file_name = "request.zip", .site = "ahead", .ref = "req-batch-1"};
    int64_t bid = 0;
    assert_true(bacsc_ca_submit(ca, &b, reqs, n, &bid, NULL) > 1000);
    int64_t first[] = {3, 5, 8};
    bacsc_selector some = {.ids = first, .n_ids = 3};
    assert_int_equal(bacsc_ca_approve(ca, &some, NULL, NULL), 3);
    bacsc_ca_set_threads(ca, 1); /* --jobs 1: no reader thread, the usual way */
    assert_null(bacsc_ca_response_begin(ca, bid));
    bacsc_ca_set_threads(ca, 2);
    bacsc_ca_response_ahead *ahead = bacsc_ca_response_begin(ca, bid);
    assert_non_null(ahead);
    bacsc_selector sel = {.batch_id = bid};
    assert_true(bacsc_ca_approve(ca, &sel, NULL, NULL) > 1000);
    snprintf(out_a, sizeof out_a, "%s/ahead.zip", f->dir);
    snprintf(out_b, sizeof out_b, "%s/after.zip", f->dir);
    size_t na = 0, nb = 0;
    uint8_t sa[32], sb[32];
    assert_int_equal(bacsc_ca_response_end(ca, ahead, bid, out_a, &na, sa, err, sizeof err),
                     BACSC_OK);
    assert_int_equal(bacsc_ca_response_write(ca, bid, out_b, &nb, sb, err, sizeof err), BACSC_OK);
    assert_int_equal(na, nb);
    assert_true(na > 1000);
    bacsc_ca_close(ca);
    free(reqs);
    bacsc_cari_free(c);
    int ze = 0;
    zip_t *za = zip_open(out_a, ZIP_RDONLY, &ze), *zb = zip_open(out_b, ZIP_RDONLY, &ze);
    assert_non_null(za);
    assert_non_null(zb);
    assert_int_equal(zip_get_num_entries(za, 0), zip_get_num_entries(zb, 0));
    const char *name_a, *name_b;
    size_t la, lb;
    char *ma, *mb;
    for (zip_uint64_t i = 0; (ma = zip_member(za, i, &name_a, &la)) != NULL; i++) {
        mb = zip_member(zb, i, &name_b, &lb);
        assert_non_null(mb);
        assert_string_equal(name_a, name_b);
        if (i == 0) { /* manifest.json */
            assert_string_equal(name_a, "manifest.json");
            assert_non_null(strstr(ma, "\"not_issued\""));
            assert_non_null(strstr(ma, "\"request_batch_id\": \"req-batch-1\""));
            drop_per_response(ma);
            drop_per_response(mb);
            assert_string_equal(ma, mb);
        } else {
            assert_int_equal(la, lb);
            assert_memory_equal(ma, mb, la);
        }
        free(ma);
        free(mb);
    }
    zip_close(za);
    zip_close(zb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_same_on_any_thread_count),
        cmocka_unit_test(test_store_same_on_any_thread_count),
        cmocka_unit_test(test_writer_same_on_any_thread_count),
        cmocka_unit_test(test_response_read_ahead_same_as_afterwards),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
