/*
 * test_cari.c — CARI interchange files: round trips, tolerant import and
 * every kind of hostile archive, each built for real with libzip in a
 * temporary directory, with keys, CSRs and certificates made by OpenSSL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "bacsc/cari.h"
#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "support_cari_certs.h"

#define UUID_A "6f1e0a52-3c7d-4b8e-9f10-a1b2c3d4e5f6"
#define UUID_B "00112233-4455-4677-8899-aabbccddeeff"

/* ---- fixture: a CA, three device keys and their CSRs ---------------------- */

typedef struct fx {
    char *dir;
    scc_ca ca, other_ca;
    EVP_PKEY *key[3];
    unsigned char *csr[3];
    size_t csr_len[3];
    char *csr_pem[3];
    size_t csr_pem_len[3];
    unsigned char *cert[3];
    size_t cert_len[3];
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->dir = scc_tempdir();
    scc_ca_init(&f->ca, "Site CA");
    scc_ca_init(&f->other_ca, "Some Other CA");
    static const char *const cn[3] = {"AHU-1", "VAV-2", "Boiler 3"};
    static const char *const uuid[3] = {UUID_A, UUID_B, NULL};
    for (int i = 0; i < 3; i++) {
        f->key[i] = scc_key_p256();
        f->csr[i] = scc_csr_der(f->key[i], cn[i], uuid[i], &f->csr_len[i]);
        f->csr_pem[i] = scc_pem("CERTIFICATE REQUEST", f->csr[i], f->csr_len[i], &f->csr_pem_len[i]);
        f->cert[i] = scc_issue(&f->ca, f->csr[i], f->csr_len[i], 100 + i, &f->cert_len[i]);
    }
    *state = f;
    return f->dir ? 0 : -1;
}

static int teardown(void **state)
{
    fx *f = *state;
    for (int i = 0; i < 3; i++) {
        EVP_PKEY_free(f->key[i]);
        free(f->csr[i]);
        free(f->csr_pem[i]);
        free(f->cert[i]);
    }
    scc_ca_free(&f->ca);
    scc_ca_free(&f->other_ca);
    scc_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static char *path_in(const fx *f, const char *name)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s/%s", f->dir, name);
    return buf;
}

/* Build a zip from members, read it back with `lim` (NULL = defaults). */
static int read_members(const fx *f, const scc_zip_member *m, size_t n,
                        const bacsc_cari_limits *lim, bacsc_cari **out)
{
    char *p = path_in(f, "t.zip");
    assert_int_equal(scc_zip_write(p, m, n), 0);
    return bacsc_cari_read_file(p, lim, out);
}

static const bacsc_cari_entry *entry_named(const bacsc_cari *c, const char *name)
{
    for (size_t i = 0; i < c->n_entries; i++)
        if (strcmp(c->entries[i].name, name) == 0)
            return &c->entries[i];
    fail_msg("no entry named %s", name);
    return NULL;
}

static void spki_fp(EVP_PKEY *k, unsigned char fp[32])
{
    unsigned char *der = NULL;
    int l = i2d_PUBKEY(k, &der);
    unsigned int fl = 0;
    assert_true(l > 0);
    assert_int_equal(EVP_Digest(der, (size_t)l, fp, &fl, EVP_sha256(), NULL), 1);
    OPENSSL_free(der);
}

static unsigned char *build_request(fx *f, size_t *len, bacsc_cari_writer **keep)
{
    bacsc_cari_writer *w = NULL;
    assert_int_equal(bacsc_cari_writer_new(BACSC_CARI_REQUEST, "Building 7", "batch-1", &w), 0);
    bacsc_cari_writer_set_created(w, 1790000000);
    bacsc_cari_device d0 = {1001, "AHU-1", NULL};
    bacsc_cari_device d2 = {1003, "Boiler 3", NULL};
    char err[200];
    assert_int_equal(bacsc_cari_writer_add_csr(w, f->csr[0], f->csr_len[0], "ahu-1.csr", &d0,
                                               "req-0", err, sizeof err), 0);
    assert_int_equal(bacsc_cari_writer_add_csr(w, (unsigned char *)f->csr_pem[1], f->csr_pem_len[1],
                                               NULL, NULL, "req-1", err, sizeof err), 1);
    assert_int_equal(bacsc_cari_writer_add_csr(w, f->csr[2], f->csr_len[2], NULL, &d2, "req-2",
                                               err, sizeof err), 2);
    unsigned char *buf = NULL;
    assert_int_equal(bacsc_cari_writer_to_buffer(w, &buf, len), 0);
    if (keep)
        *keep = w;
    else
        bacsc_cari_writer_free(w);
    return buf;
}

/* A reader told which key types matter flags the others without verifying
 * their signatures (the CA's reads: docs/ca.md "CSR checks"). */
static void key_types_checked_before_signatures(void **state)
{
    fx *f = *state;
    size_t len;
    unsigned char *zip = build_request(f, &len, NULL);
    bacsc_cari_limits lim;
    memset(&lim, 0, sizeof lim);
    lim.csr_key_types = BACSC_KEY_BIT(BACSC_KEY_RSA_2048);
    bacsc_cari *c = NULL;
    assert_int_equal(bacsc_cari_read_buffer(zip, len, &lim, &c), BACSC_OK);
    size_t flagged = 0;
    for (size_t i = 0; i < c->n_entries; i++)
        if (c->entries[i].error && strstr(c->entries[i].error, "not allowed (signature not checked)"))
            flagged++;
    assert_int_equal(flagged, 3);
    bacsc_cari_free(c);
    lim.csr_key_types = BACSC_KEY_BIT(BACSC_KEY_EC_P256);
    assert_int_equal(bacsc_cari_read_buffer(zip, len, &lim, &c), BACSC_OK);
    for (size_t i = 0; i < c->n_entries; i++)
        assert_null(c->entries[i].error);
    bacsc_cari_free(c);
    free(zip);
}

/* ---- round trips ----------------------------------------------------------- */

static void request_round_trip(void **state)
{
    fx *f = *state;
    size_t len;
    unsigned char *zip = build_request(f, &len, NULL);
    bacsc_cari *c = NULL;
    assert_int_equal(bacsc_cari_read_buffer(zip, len, NULL, &c), BACSC_OK);
    assert_null(c->error);
    assert_int_equal(c->kind, BACSC_CARI_REQUEST);
    assert_true(c->has_manifest);
    assert_int_equal(c->version, 1);
    assert_string_equal(c->site, "Building 7");
    assert_string_equal(c->batch_id, "batch-1");
    assert_string_equal(c->created, "2026-09-21T14:13:20Z");
    assert_int_equal(c->n_entries, 4); /* manifest + 3 CSRs */
    assert_int_equal(bacsc_cari_invalid_count(c), 0);

    const bacsc_cari_entry *e = entry_named(c, "csr/ahu-1.csr");
    assert_int_equal(e->type, BACSC_CARI_ENTRY_CSR);
    assert_string_equal(e->request_id, "req-0");
    assert_int_equal(e->device.instance, 1001);
    assert_string_equal(e->device.name, "AHU-1");
    assert_string_equal(e->device.uuid, UUID_A);
    assert_string_equal(e->san_uuid, UUID_A);
    assert_string_equal(e->subject, "CN=AHU-1");
    assert_string_equal(e->key_type, "EC P-256");
    unsigned char fp[32];
    spki_fp(f->key[0], fp);
    assert_memory_equal(e->fingerprint, fp, 32);
    assert_int_equal(e->der_len, f->csr_len[0]);
    assert_memory_equal(e->der, f->csr[0], f->csr_len[0]);

    e = entry_named(c, "csr/" UUID_B ".csr"); /* no hint, no name: named by UUID */
    assert_string_equal(e->request_id, "req-1");
    assert_int_equal(e->device.instance, BACSC_CARI_DEVICE_INSTANCE_NONE);
    e = entry_named(c, "csr/Boiler_3.csr");
    assert_null(e->san_uuid);
    assert_null(e->device.uuid);
    assert_int_equal(entry_named(c, "manifest.json")->type, BACSC_CARI_ENTRY_MANIFEST);
    bacsc_cari_free(c);
    free(zip);
}

static unsigned char *build_response(fx *f, bool with_ids, size_t *len)
{
    bacsc_cari_writer *w = NULL;
    assert_int_equal(bacsc_cari_writer_new(BACSC_CARI_RESPONSE, "Building 7", NULL, &w), 0);
    assert_int_equal(bacsc_cari_writer_set_request_batch(w, "batch-1"), 0);
    size_t cal;
    unsigned char *ca = scc_ca_der(&f->ca, &cal);
    char err[200];
    assert_int_equal(bacsc_cari_writer_add_issuer(w, ca, cal, "site-ca", err, sizeof err), 0);
    for (int i = 0; i < 3; i++) {
        char rid[16];
        snprintf(rid, sizeof rid, "req-%d", i);
        assert_true(bacsc_cari_writer_add_certificate(w, f->cert[i], f->cert_len[i], NULL, NULL,
                                                      with_ids ? rid : NULL, err, sizeof err) > 0);
    }
    /* a CSR has no place in a response */
    assert_int_equal(bacsc_cari_writer_add_csr(w, f->csr[0], f->csr_len[0], NULL, NULL, NULL, err,
                                               sizeof err),
                     BACSC_ERR_INVALID_ARG);
    unsigned char *buf = NULL;
    assert_int_equal(bacsc_cari_writer_to_buffer(w, &buf, len), 0);
    bacsc_cari_writer_free(w);
    free(ca);
    return buf;
}

static void response_round_trip_and_match(void **state)
{
    fx *f = *state;
    size_t rl, sl;
    unsigned char *req = build_request(f, &rl, NULL);
    unsigned char *resp = build_response(f, true, &sl);
    bacsc_cari *rq = NULL, *rs = NULL;
    assert_int_equal(bacsc_cari_read_buffer(req, rl, NULL, &rq), 0);
    assert_int_equal(bacsc_cari_read_buffer(resp, sl, NULL, &rs), 0);
    assert_int_equal(rs->kind, BACSC_CARI_RESPONSE);
    assert_string_equal(rs->request_batch_id, "batch-1");
    assert_int_equal(bacsc_cari_invalid_count(rs), 0);
    assert_int_equal(entry_named(rs, "issuer/site-ca.pem")->type, BACSC_CARI_ENTRY_ISSUER);
    assert_int_equal(bacsc_cari_match_request(rs, rq), 3);
    for (size_t i = 0; i < rs->n_entries; i++) {
        const bacsc_cari_entry *e = &rs->entries[i];
        if (e->type != BACSC_CARI_ENTRY_CERTIFICATE)
            continue;
        assert_int_equal(e->match, BACSC_CARI_MATCH_CORRELATION);
        const bacsc_cari_entry *r = &rq->entries[e->match_index];
        assert_string_equal(r->request_id, e->request_id);
        assert_memory_equal(r->fingerprint, e->fingerprint, 32);
        assert_string_equal(r->subject, e->subject);
    }
    size_t cal;
    unsigned char *ca = scc_ca_der(&f->ca, &cal);
    const unsigned char *cas[1] = {ca};
    assert_int_equal(bacsc_cari_verify_issuer(rs, cas, &cal, 1), 0);
    for (size_t i = 0; i < rs->n_entries; i++)
        if (rs->entries[i].type == BACSC_CARI_ENTRY_CERTIFICATE ||
            rs->entries[i].type == BACSC_CARI_ENTRY_ISSUER)
            assert_true(rs->entries[i].issuer_verified);
    free(ca);
    bacsc_cari_free(rq);
    bacsc_cari_free(rs);
    free(req);
    free(resp);
}

static void response_without_ids_matches_by_key(void **state)
{
    fx *f = *state;
    size_t rl, sl;
    unsigned char *req = build_request(f, &rl, NULL);
    unsigned char *resp = build_response(f, false, &sl);
    bacsc_cari *rq = NULL, *rs = NULL;
    assert_int_equal(bacsc_cari_read_buffer(req, rl, NULL, &rq), 0);
    assert_int_equal(bacsc_cari_read_buffer(resp, sl, NULL, &rs), 0);
    assert_int_equal(bacsc_cari_match_request(rs, rq), 3);
    for (size_t i = 0; i < rs->n_entries; i++)
        if (rs->entries[i].type == BACSC_CARI_ENTRY_CERTIFICATE)
            assert_int_equal(rs->entries[i].match, BACSC_CARI_MATCH_KEY);
    bacsc_cari_free(rq);
    bacsc_cari_free(rs);
    free(req);
    free(resp);
}

static void issued_fast_path_round_trip(void **state)
{
    fx *f = *state;
    size_t rl;
    unsigned char *req = build_request(f, &rl, NULL);
    bacsc_cari *rq = NULL;
    assert_int_equal(bacsc_cari_read_buffer(req, rl, NULL, &rq), 0);
    bacsc_cari_writer *w = NULL;
    assert_int_equal(bacsc_cari_writer_new(BACSC_CARI_RESPONSE, rq->site, NULL, &w), 0);
    char err[200];
    for (size_t i = 0; i < rq->n_entries; i++) {
        const bacsc_cari_entry *e = &rq->entries[i];
        if (e->type != BACSC_CARI_ENTRY_CSR)
            continue;
        int k = strcmp(e->request_id, "req-0") == 0 ? 0 : strcmp(e->request_id, "req-1") == 0 ? 1 : 2;
        /* the third one lies about its key: the reader must notice */
        const unsigned char *fp = k == 2 ? rq->entries[1].fingerprint : e->fingerprint;
        assert_true(bacsc_cari_writer_add_issued(w, f->cert[k], f->cert_len[k], fp, e->name,
                                                 &e->device, e->request_id, err, sizeof err) >= 0);
    }
    assert_int_equal(bacsc_cari_writer_add_issued(w, f->cert[0], f->cert_len[0], NULL, NULL, NULL,
                                                  NULL, err, sizeof err),
                     BACSC_ERR_INVALID_ARG);
    unsigned char *buf;
    size_t len;
    assert_int_equal(bacsc_cari_writer_to_buffer(w, &buf, &len), 0);
    bacsc_cari_writer_free(w);
    bacsc_cari *rs = NULL;
    assert_int_equal(bacsc_cari_read_buffer(buf, len, NULL, &rs), 0);
    assert_int_equal(bacsc_cari_match_request(rs, rq), 2);
    const bacsc_cari_entry *e = entry_named(rs, "certs/ahu-1.pem");
    assert_int_equal(e->match, BACSC_CARI_MATCH_CORRELATION);
    assert_int_equal(e->device.instance, 1001);
    assert_string_equal(e->device.uuid, UUID_A);
    e = entry_named(rs, "certs/Boiler_3.pem");
    assert_non_null(strstr(e->error, "public key does not match the manifest"));
    bacsc_cari_free(rs);
    bacsc_cari_free(rq);
    free(buf);
    free(req);
}

static void write_file_is_atomic_with_digest(void **state)
{
    fx *f = *state;
    bacsc_cari_writer *w = NULL;
    size_t len;
    unsigned char *buf = build_request(f, &len, &w);
    unsigned char sha[32], want[32];
    char *p = path_in(f, "out.zip");
    assert_int_equal(bacsc_cari_writer_write_file(w, p, sha), 0);
    size_t fl;
    unsigned char *file = scc_read_all(p, &fl);
    unsigned int dl;
    EVP_Digest(file, fl, want, &dl, EVP_sha256(), NULL);
    assert_memory_equal(sha, want, 32);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(bacsc_cari_writer_write_file(w, "/nonexistent-dir/x.zip", NULL), BACSC_ERR_IO);
    bacsc_cari *c = NULL;
    assert_int_equal(bacsc_cari_read_file(p, NULL, &c), 0);
    assert_memory_equal(c->file_sha256, want, 32);
    bacsc_cari_free(c);
    bacsc_cari_writer_free(w);
    free(buf);
    free(file);
}

/* ---- tolerant import ------------------------------------------------------- */

static void plain_zip_of_pem_and_der_certs(void **state)
{
    fx *f = *state;
    size_t p0l, cal;
    char *p0 = scc_pem("CERTIFICATE", f->cert[0], f->cert_len[0], &p0l);
    unsigned char *ca = scc_ca_der(&f->ca, &cal);
    char *chain = scc_pem("CERTIFICATE", ca, cal, NULL);
    scc_zip_member m[] = {
        {.name = "out/", .data = "", .len = 0},
        {.name = "out/ahu.crt", .data = p0, .len = p0l},
        {.name = "out/vav.der", .data = f->cert[1], .len = f->cert_len[1]},
        {.name = "ca-chain.pem", .data = chain, .len = strlen(chain)},
    };
    bacsc_cari *c = NULL;
    assert_int_equal(read_members(f, m, 4, NULL, &c), 0);
    assert_false(c->has_manifest);
    assert_int_equal(c->kind, BACSC_CARI_RESPONSE);
    assert_int_equal(c->n_entries, 3); /* the directory is not an entry */
    assert_int_equal(bacsc_cari_invalid_count(c), 0);
    assert_int_equal(entry_named(c, "ca-chain.pem")->type, BACSC_CARI_ENTRY_ISSUER);
    assert_string_equal(entry_named(c, "out/ahu.crt")->device.uuid, UUID_A);

    bacsc_cari_ref refs[3];
    memset(refs, 0, sizeof refs);
    for (int i = 0; i < 3; i++)
        spki_fp(f->key[i], refs[i].fingerprint);
    assert_int_equal(bacsc_cari_match(c, refs, 3), 2);
    assert_int_equal(entry_named(c, "out/ahu.crt")->match, BACSC_CARI_MATCH_KEY);
    assert_int_equal(entry_named(c, "out/ahu.crt")->match_index, 0);
    assert_int_equal(entry_named(c, "out/vav.der")->match_index, 1);
    bacsc_cari_free(c);
    free(p0);
    free(ca);
    free(chain);
}

static void plain_zip_of_csrs_is_a_request(void **state)
{
    fx *f = *state;
    scc_zip_member m[] = {
        {.name = "a.csr", .data = f->csr_pem[0], .len = f->csr_pem_len[0]},
        {.name = "b.der", .data = f->csr[1], .len = f->csr_len[1], .store = true},
    };
    bacsc_cari *c = NULL;
    assert_int_equal(read_members(f, m, 2, NULL, &c), 0);
    assert_int_equal(c->kind, BACSC_CARI_REQUEST);
    assert_int_equal(bacsc_cari_invalid_count(c), 0);
    assert_int_equal(entry_named(c, "b.der")->type, BACSC_CARI_ENTRY_CSR);
    assert_null(entry_named(c, "b.der")->request_id);
    bacsc_cari_free(c);
}

static void pem_bundle_splits_into_entries(void **state)
{
    fx *f = *state;
    size_t l0, l1;
    char *a = scc_pem("CERTIFICATE", f->cert[0], f->cert_len[0], &l0);
    char *b = scc_pem("CERTIFICATE", f->cert[1], f->cert_len[1], &l1);
    size_t bl = l0 + l1 + 40;
    char *bundle = malloc(bl);
    snprintf(bundle, bl, "%s%s\n# trailing comment\n", a, b);
    scc_zip_member m[] = {{.name = "all.pem", .data = bundle, .len = strlen(bundle)}};
    bacsc_cari *c = NULL;
    assert_int_equal(read_members(f, m, 1, NULL, &c), 0);
    assert_int_equal(c->n_entries, 2);
    assert_int_equal(bacsc_cari_invalid_count(c), 0);
    assert_string_equal(c->entries[1].name, "all.pem#2");
    assert_string_equal(c->entries[1].serial, "65");
    bacsc_cari_free(c);
    free(a);
    free(b);
    free(bundle);
}

static void certificate_matching_no_request(void **state)
{
    fx *f = *state;
    EVP_PKEY *stranger = scc_key_p256();
    size_t cl, xl;
    unsigned char *csr = scc_csr_der(stranger, "Stranger", NULL, &cl);
    unsigned char *x = scc_issue(&f->ca, csr, cl, 999, &xl);
    scc_zip_member m[] = {
        {.name = "ok.der", .data = f->cert[0], .len = f->cert_len[0]},
        {.name = "stranger.der", .data = x, .len = xl},
    };
    bacsc_cari *c = NULL;
    assert_int_equal(read_members(f, m, 2, NULL, &c), 0);
    bacsc_cari_ref ref;
    memset(&ref, 0, sizeof ref);
    spki_fp(f->key[0], ref.fingerprint);
    assert_int_equal(bacsc_cari_match(c, &ref, 1), 1);
    const bacsc_cari_entry *e = entry_named(c, "stranger.der");
    assert_int_equal(e->status, BACSC_ERR_NOT_FOUND);
    assert_non_null(strstr(e->error, "matches no request"));
    assert_int_equal(e->type, BACSC_CARI_ENTRY_CERTIFICATE);
    assert_null(entry_named(c, "ok.der")->error);
    bacsc_cari_free(c);
    EVP_PKEY_free(stranger);
    free(csr);
    free(x);
}

static void correlation_with_wrong_key_is_refused(void **state)
{
    fx *f = *state;
    /* response claims request id "req-0" but carries device 1's key */
    bacsc_cari_writer *w = NULL;
    assert_int_equal(bacsc_cari_writer_new(BACSC_CARI_RESPONSE, NULL, NULL, &w), 0);
    assert_true(bacsc_cari_writer_add_certificate(w, f->cert[1], f->cert_len[1], NULL, NULL,
                                                  "req-0", NULL, 0) >= 0);
    unsigned char *buf;
    size_t len;
    assert_int_equal(bacsc_cari_writer_to_buffer(w, &buf, &len), 0);
    bacsc_cari_writer_free(w);
    bacsc_cari *c = NULL;
    assert_int_equal(bacsc_cari_read_buffer(buf, len, NULL, &c), 0);
    bacsc_cari_ref refs[2] = {{.request_id = "req-0"}, {.request_id = "req-1"}};
    spki_fp(f->key[0], refs[0].fingerprint);
    spki_fp(f->key[1], refs[1].fingerprint);
    assert_int_equal(bacsc_cari_match(c, refs, 2), 0);
    assert_int_equal(c->entries[1].status, BACSC_ERR_POLICY);
    assert_non_null(strstr(c->entries[1].error, "does not match the key of request req-0"));
    bacsc_cari_free(c);
    free(buf);
}

static void certificate_from_a_different_ca(void **state)
{
    fx *f = *state;
    unsigned char *foreign;
    size_t fl, cal;
    foreign = scc_issue(&f->other_ca, f->csr[2], f->csr_len[2], 7, &fl);
    scc_zip_member m[] = {
        {.name = "a.der", .data = f->cert[0], .len = f->cert_len[0]},
        {.name = "c.der", .data = foreign, .len = fl},
    };
    bacsc_cari *c = NULL;
    assert_int_equal(read_members(f, m, 2, NULL, &c), 0);
    unsigned char *ca = scc_ca_der(&f->ca, &cal);
    const unsigned char *cas[1] = {ca};
    assert_int_equal(bacsc_cari_verify_issuer(c, cas, &cal, 1), 1);
    assert_true(entry_named(c, "a.der")->issuer_verified);
    const bacsc_cari_entry *e = entry_named(c, "c.der");
    assert_false(e->issuer_verified);
    assert_int_equal(e->status, BACSC_ERR_POLICY);
    assert_non_null(strstr(e->error, "signed by a different CA (issuer CN=Some Other CA)"));
    /* PEM CA accepted as well; a garbage CA is an argument error */
    size_t pl;
    char *pem = scc_pem("CERTIFICATE", ca, cal, &pl);
    const unsigned char *cas2[2] = {(unsigned char *)pem, (const unsigned char *)"junk"};
    size_t lens2[2] = {pl, 4};
    assert_int_equal(bacsc_cari_verify_issuer(c, cas2, lens2, 2), BACSC_ERR_MALFORMED);
    bacsc_cari_free(c);
    free(foreign);
    free(ca);
    free(pem);
}

/* ---- hostile archives -------------------------------------------------------- */

static void zip_bomb_is_refused_rest_processed(void **state)
{
    fx *f = *state;
    char zeros[1024];
    snprintf(zeros, sizeof zeros, "%s/zeros", f->dir);
    FILE *z = fopen(zeros, "wb");
    assert_non_null(z);
    assert_int_equal(ftruncate(fileno(z), 200L << 20), 0); /* 200 MB of zeros, sparse */
    fclose(z);
    scc_zip_member m[] = {
        {.name = "bomb.csr", .path = zeros},
        {.name = "good.csr", .data = f->csr_pem[0], .len = f->csr_pem_len[0]},
    };
    bacsc_cari *c = NULL;
    char *p = path_in(f, "bomb.zip");
    assert_int_equal(scc_zip_write(p, m, 2), 0);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_true(st.st_size < (1 << 20)); /* really a bomb: < 1 MB on disk */
    assert_int_equal(bacsc_cari_read_file(p, NULL, &c), 0);
    const bacsc_cari_entry *e = entry_named(c, "bomb.csr");
    assert_int_equal(e->status, BACSC_ERR_LIMIT);
    assert_non_null(strstr(e->error, "exceeds"));
    assert_null(entry_named(c, "good.csr")->error);
    bacsc_cari_free(c);

    /* with the size limits raised, the ratio limit still catches it */
    bacsc_cari_limits lim = {.max_entry_size = 1ull << 30, .max_total_size = 1ull << 31};
    assert_int_equal(bacsc_cari_read_file(p, &lim, &c), 0);
    e = entry_named(c, "bomb.csr");
    assert_int_equal(e->status, BACSC_ERR_LIMIT);
    assert_non_null(strstr(e->error, "ratio"));
    bacsc_cari_free(c);
    unlink(zeros);
}

/* Rewrite the uncompressed-size fields of every header for `name` to `size`:
 * the archive then lies, and the reader must count what it inflates. */
static void patch_declared_size(unsigned char *buf, size_t len, const char *name, uint32_t size)
{
    size_t nl = strlen(name);
    for (size_t off = 0; off + 46 + nl <= len; off++) {
        if (memcmp(buf + off, "PK\003\004", 4) == 0 && buf[off + 26] == nl && memcmp(buf + off + 30, name, nl) == 0)
            memcpy(buf + off + 22, &size, 4); /* little-endian hosts */
        if (memcmp(buf + off, "PK\001\002", 4) == 0 && buf[off + 28] == nl && memcmp(buf + off + 46, name, nl) == 0)
            memcpy(buf + off + 24, &size, 4);
    }
}

static void lying_declared_size_is_caught_while_reading(void **state)
{
    fx *f = *state;
    char zeros[1024];
    snprintf(zeros, sizeof zeros, "%s/zeros8m", f->dir);
    FILE *z = fopen(zeros, "wb");
    assert_int_equal(ftruncate(fileno(z), 8L << 20), 0);
    fclose(z);
    scc_zip_member m[] = {
        {.name = "liar.csr", .path = zeros},
        {.name = "good.csr", .data = f->csr_pem[0], .len = f->csr_pem_len[0]},
    };
    char *p = path_in(f, "liar.zip");
    assert_int_equal(scc_zip_write(p, m, 2), 0);
    size_t len;
    unsigned char *buf = scc_read_all(p, &len);
    patch_declared_size(buf, len, "liar.csr", 100);
    bacsc_cari *c = NULL;
    bacsc_cari_limits lim = {.max_ratio = 1000000}; /* only the counting can catch it */
    assert_int_equal(bacsc_cari_read_buffer(buf, len, &lim, &c), 0);
    const bacsc_cari_entry *e = entry_named(c, "liar.csr");
    assert_non_null(e->error);
    assert_null(entry_named(c, "good.csr")->error);
    bacsc_cari_free(c);
    free(buf);
    unlink(zeros);
}

static void fifty_megabyte_entry(void **state)
{
    fx *f = *state;
    char big[1024];
    snprintf(big, sizeof big, "%s/big", f->dir);
    FILE *z = fopen(big, "wb");
    assert_int_equal(ftruncate(fileno(z), 50L << 20), 0);
    fclose(z);
    scc_zip_member m[] = {
        {.name = "big.pem", .path = big, .store = true},
        {.name = "good.csr", .data = f->csr[0], .len = f->csr_len[0]},
    };
    bacsc_cari *c = NULL;
    assert_int_equal(read_members(f, m, 2, NULL, &c), 0);
    const bacsc_cari_entry *e = entry_named(c, "big.pem");
    assert_int_equal(e->status, BACSC_ERR_LIMIT);
    assert_non_null(strstr(e->error, "declared size 52428800 octets exceeds"));
    assert_null(entry_named(c, "good.csr")->error);
    bacsc_cari_free(c);
    unlink(big);
    unlink(path_in(f, "t.zip"));
}

static void traversal_and_absolute_names(void **state)
{
    fx *f = *state;
    const char *bad[] = {"../x.csr", "/etc/x.csr", "a/../../b.csr", "C:/x.csr", "a\\b.csr", ".."};
    scc_zip_member m[7];
    for (int i = 0; i < 6; i++)
        m[i] = (scc_zip_member){.name = bad[i], .data = f->csr_pem[0], .len = f->csr_pem_len[0]};
    m[6] = (scc_zip_member){.name = "ok/fine..csr", .data = f->csr_pem[1], .len = f->csr_pem_len[1]};
    bacsc_cari *c = NULL;
    assert_int_equal(read_members(f, m, 7, NULL, &c), 0);
    assert_int_equal(c->n_entries, 7);
    assert_int_equal(bacsc_cari_invalid_count(c), 6);
    assert_non_null(strstr(entry_named(c, "../x.csr")->error, "path traversal"));
    assert_non_null(strstr(entry_named(c, "/etc/x.csr")->error, "absolute path"));
    assert_non_null(strstr(entry_named(c, "a/../../b.csr")->error, "path traversal"));
    assert_non_null(strstr(entry_named(c, "C:/x.csr")->error, "drive letter"));
    assert_non_null(strstr(entry_named(c, "a\\x5cb.csr")->error, "backslash"));
    assert_null(entry_named(c, "ok/fine..csr")->error);
    bacsc_cari_free(c);
}

static void symlink_entries_are_refused(void **state)
{
    fx *f = *state;
    scc_zip_member m[] = {
        {.name = "link.csr", .data = "/etc/passwd", .len = 11, .unix_mode = S_IFLNK | 0777},
        {.name = "fifo.csr", .data = f->csr_pem[0], .len = f->csr_pem_len[0], .unix_mode = S_IFIFO | 0644},
        {.name = "good.csr", .data = f->csr_pem[0], .len = f->csr_pem_len[0], .unix_mode = S_IFREG | 0644},
    };
    bacsc_cari *c = NULL;
    assert_int_equal(read_members(f, m, 3, NULL, &c), 0);
    assert_non_null(strstr(entry_named(c, "link.csr")->error, "symbolic link"));
    assert_non_null(strstr(entry_named(c, "fifo.csr")->error, "not a regular file"));
    assert_null(entry_named(c, "good.csr")->error);
    bacsc_cari_free(c);
}

static void duplicate_names_are_refused(void **state)
{
    fx *f = *state;
    scc_zip_member m[] = {
        {.name = "csr/dev.csr", .data = f->csr_pem[0], .len = f->csr_pem_len[0]},
        {.name = "csr/other.csr", .data = f->csr_pem[2], .len = f->csr_pem_len[2]},
        {.name = "csr/dev.csr", .data = f->csr_pem[1], .len = f->csr_pem_len[1]},
    };
    bacsc_cari *c = NULL;
    assert_int_equal(read_members(f, m, 3, NULL, &c), 0);
    assert_int_equal(c->n_entries, 3);
    int dups = 0;
    for (size_t i = 0; i < c->n_entries; i++)
        if (c->entries[i].status == BACSC_ERR_EXISTS) {
            assert_string_equal(c->entries[i].name, "csr/dev.csr");
            assert_non_null(strstr(c->entries[i].error, "duplicate entry name"));
            dups++;
        }
    assert_int_equal(dups, 2);
    assert_null(entry_named(c, "csr/other.csr")->error);
    bacsc_cari_free(c);
}

static void truncated_and_non_zip_data(void **state)
{
    fx *f = *state;
    size_t len;
    unsigned char *zip = build_request(f, &len, NULL);
    bacsc_cari *c = NULL;
    assert_int_equal(bacsc_cari_read_buffer(zip, len / 2, NULL, &c), BACSC_ERR_MALFORMED);
    assert_non_null(c->error);
    assert_non_null(strstr(c->error, "truncated"));
    assert_int_equal(c->n_entries, 0);
    bacsc_cari_free(c);
    /* cut just before the end: central directory present but incomplete */
    assert_int_equal(bacsc_cari_read_buffer(zip, len - 10, NULL, &c), BACSC_ERR_MALFORMED);
    assert_non_null(c->error);
    bacsc_cari_free(c);

    unsigned char rnd[4096];
    RAND_bytes(rnd, sizeof rnd);
    assert_int_equal(bacsc_cari_read_buffer(rnd, sizeof rnd, NULL, &c), BACSC_ERR_MALFORMED);
    assert_non_null(strstr(c->error, "not a zip archive"));
    bacsc_cari_free(c);
    assert_int_equal(bacsc_cari_read_buffer("", 0, NULL, &c), BACSC_ERR_MALFORMED);
    assert_non_null(strstr(c->error, "too short"));
    bacsc_cari_free(c);
    assert_int_equal(bacsc_cari_read_file(path_in(f, "missing.zip"), NULL, &c), BACSC_ERR_IO);
    assert_non_null(strstr(c->error, "missing.zip"));
    bacsc_cari_free(c);

    /* corrupt data inside a member (CRC) */
    unsigned char *copy = malloc(len);
    memcpy(copy, zip, len);
    for (size_t off = 0; off + 4 < len; off++)
        if (memcmp(copy + off, "PK\003\004", 4) == 0 && off > 0) { /* second member's data */
            copy[off + 30 + copy[off + 26] + 10] ^= 0x55;
            break;
        }
    assert_int_equal(bacsc_cari_read_buffer(copy, len, NULL, &c), 0);
    assert_true(bacsc_cari_invalid_count(c) >= 1);
    bacsc_cari_free(c);
    free(copy);
    free(zip);
}

static void malformed_manifest_falls_back_to_plain(void **state)
{
    fx *f = *state;
    const char *bad = "{\"format\": \"bacsc-cari\", \"version\": 1, \"kind\": ";
    scc_zip_member m[] = {
        {.name = "manifest.json", .data = bad, .len = strlen(bad)},
        {.name = "csr/a.csr", .data = f->csr_pem[0], .len = f->csr_pem_len[0]},
    };
    bacsc_cari *c = NULL;
    assert_int_equal(read_members(f, m, 2, NULL, &c), 0);
    assert_false(c->has_manifest);
    assert_int_equal(c->kind, BACSC_CARI_REQUEST);
    const bacsc_cari_entry *e = entry_named(c, "manifest.json");
    assert_int_equal(e->status, BACSC_ERR_MALFORMED);
    assert_non_null(strstr(e->error, "malformed manifest: not valid JSON"));
    assert_null(entry_named(c, "csr/a.csr")->error);
    bacsc_cari_free(c);
}

static void manifest_checks(void **state)
{
    fx *f = *state;
    char hex[65];
    unsigned char fp[32];
    spki_fp(f->key[1], fp); /* the wrong key for a.csr */
    bacsc_cari_fp_hex(fp, hex);
    char man[2048];
    snprintf(man, sizeof man,
             "{\"format\":\"bacsc-cari\",\"version\":1,\"kind\":\"request\",\"site\":\"S\","
             "\"entries\":["
             "{\"file\":\"csr/a.csr\",\"type\":\"csr\",\"public_key_sha256\":\"%s\"},"
             "{\"file\":\"csr/b.csr\",\"type\":\"certificate\"},"
             "{\"file\":\"csr/c.csr\",\"type\":\"csr\",\"device\":{\"uuid\":\"%s\"}},"
             "{\"file\":\"csr/gone.csr\",\"type\":\"csr\",\"request_id\":\"r9\"}]}",
             hex, UUID_B);
    scc_zip_member m[] = {
        {.name = "manifest.json", .data = man, .len = strlen(man)},
        {.name = "csr/a.csr", .data = f->csr_pem[0], .len = f->csr_pem_len[0]},
        {.name = "csr/b.csr", .data = f->csr_pem[2], .len = f->csr_pem_len[2]},
        {.name = "csr/c.csr", .data = f->csr_pem[0], .len = f->csr_pem_len[0]},
        {.name = "csr/unlisted.csr", .data = f->csr_pem[2], .len = f->csr_pem_len[2]},
    };
    bacsc_cari *c = NULL;
    assert_int_equal(read_members(f, m, 5, NULL, &c), 0);
    assert_true(c->has_manifest);
    assert_string_equal(c->site, "S");
    assert_non_null(strstr(entry_named(c, "csr/a.csr")->error, "public_key_sha256"));
    assert_non_null(strstr(entry_named(c, "csr/b.csr")->error, "manifest says certificate"));
    assert_non_null(strstr(entry_named(c, "csr/c.csr")->error, "differs from the urn:uuid SAN"));
    const bacsc_cari_entry *g = entry_named(c, "csr/gone.csr");
    assert_int_equal(g->status, BACSC_ERR_NOT_FOUND);
    assert_string_equal(g->request_id, "r9");
    assert_null(entry_named(c, "csr/unlisted.csr")->error);
    assert_false(entry_named(c, "csr/unlisted.csr")->in_manifest);
    bacsc_cari_free(c);
}

static void manifest_parser_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int rc;
        const char *msg;
    } cases[] = {
        {"[]", BACSC_ERR_MALFORMED, "not an object"},
        {"{\"format\":\"x\",\"version\":1}", BACSC_ERR_MALFORMED, "format"},
        {"{\"format\":\"bacsc-cari\",\"version\":2,\"kind\":\"request\",\"entries\":[]}",
         BACSC_ERR_UNSUPPORTED, "version 2"},
        {"{\"format\":\"bacsc-cari\",\"version\":1,\"kind\":\"other\",\"entries\":[]}",
         BACSC_ERR_MALFORMED, "kind"},
        {"{\"format\":\"bacsc-cari\",\"version\":1,\"kind\":\"request\"}", BACSC_ERR_MALFORMED,
         "entries"},
        {"{\"format\":\"bacsc-cari\",\"format\":\"bacsc-cari\"}", BACSC_ERR_MALFORMED, "JSON"},
        {"{\"format\":\"bacsc-cari\",\"version\":1,\"kind\":\"request\",\"entries\":["
         "{\"file\":\"a\",\"type\":\"csr\"},{\"file\":\"a\",\"type\":\"csr\"}]}",
         BACSC_ERR_MALFORMED, "listed twice"},
        {"{\"format\":\"bacsc-cari\",\"version\":1,\"kind\":\"request\",\"entries\":["
         "{\"file\":\"a\",\"type\":\"csr\",\"device\":{\"instance\":4194303}}]}",
         BACSC_ERR_MALFORMED, "instance"},
        {"{\"format\":\"bacsc-cari\",\"version\":1,\"kind\":\"request\",\"entries\":["
         "{\"file\":\"a\",\"type\":\"csr\",\"device\":{\"uuid\":\"nope\"}}]}",
         BACSC_ERR_MALFORMED, "uuid"},
        {"{\"format\":\"bacsc-cari\",\"version\":1,\"kind\":\"request\",\"entries\":["
         "{\"file\":\"a\",\"type\":\"csr\",\"public_key_sha256\":\"abc\"}]}",
         BACSC_ERR_MALFORMED, "64 hex"},
        {"{\"format\":\"bacsc-cari\",\"version\":1,\"kind\":\"request\",\"site\":\"a\\nb\","
         "\"entries\":[]}",
         BACSC_ERR_MALFORMED, "control"},
        {"{\"format\":\"bacsc-cari\",\"version\":1,\"kind\":\"request\",\"entries\":["
         "{\"file\":\"a\",\"type\":\"csr\"},{\"file\":\"b\",\"type\":\"csr\"},"
         "{\"file\":\"c\",\"type\":\"csr\"}]}",
         BACSC_ERR_LIMIT, "limit 2"},
        {"{\"format\":\"bacsc-cari\",\"version\":1,\"kind\":\"response\",\"entries\":[],"
         "\"not_issued\":[{\"status\":\"rejected\",\"reason\":3}]}",
         BACSC_ERR_MALFORMED, "not_issued[0]: \"reason\" is not a string"},
        {"{\"format\":\"bacsc-cari\",\"version\":1,\"kind\":\"response\",\"entries\":[],"
         "\"not_issued\":[{\"device\":{\"instance\":5}}]}",
         BACSC_ERR_MALFORMED, "\"status\" missing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bacsc_cari m;
        char err[300];
        int rc = bacsc_cari_manifest_parse(cases[i].json, strlen(cases[i].json), 2, &m, err, sizeof err);
        if (rc != cases[i].rc || !strstr(err, cases[i].msg))
            fail_msg("case %zu: rc %d err '%s'", i, rc, err);
        bacsc_cari_clear(&m);
    }
}

/* A response says which requests got no certificate and why; a reader that
 * knows nothing of it still reads the file (additive member). */
static void response_lists_requests_not_issued(void **state)
{
    (void)state;
    bacsc_cari_writer *w = NULL;
    assert_int_equal(bacsc_cari_writer_new(BACSC_CARI_RESPONSE, NULL, NULL, &w), 0);
    unsigned char fp[32];
    memset(fp, 0xab, sizeof fp);
    bacsc_cari_device d = {.instance = 1002, .name = "AHU-2", .uuid = UUID_A};
    assert_int_equal(bacsc_cari_writer_add_not_issued(w, &d, "req-2", fp, "rejected",
                                                      "not on the\ndelivery note"),
                     0);
    assert_int_equal(bacsc_cari_writer_add_not_issued(w, NULL, "req-3", NULL, "pending", NULL), 0);
    assert_int_equal(bacsc_cari_writer_add_not_issued(w, NULL, NULL, NULL, "issued", NULL),
                     BACSC_ERR_INVALID_ARG);
    unsigned char *buf = NULL;
    size_t len = 0;
    assert_int_equal(bacsc_cari_writer_to_buffer(w, &buf, &len), 0);
    bacsc_cari_writer_free(w);
    bacsc_cari *c = NULL;
    assert_int_equal(bacsc_cari_read_buffer(buf, len, NULL, &c), 0);
    assert_true(c->has_manifest);
    assert_int_equal(c->n_not_issued, 2);
    const bacsc_cari_not_issued *r = &c->not_issued[0];
    assert_int_equal(r->device.instance, 1002);
    assert_string_equal(r->device.name, "AHU-2");
    assert_string_equal(r->device.uuid, UUID_A);
    assert_string_equal(r->request_id, "req-2");
    assert_true(r->has_fingerprint);
    assert_memory_equal(r->fingerprint, fp, 32);
    assert_string_equal(r->status, "rejected");
    assert_string_equal(r->reason, "not on the?delivery note"); /* one line */
    r = &c->not_issued[1];
    assert_int_equal(r->device.instance, BACSC_CARI_DEVICE_INSTANCE_NONE);
    assert_string_equal(r->status, "pending");
    assert_null(r->reason);
    assert_false(r->has_fingerprint);
    bacsc_cari_free(c);
    free(buf);
    /* not for a request */
    assert_int_equal(bacsc_cari_writer_new(BACSC_CARI_REQUEST, NULL, NULL, &w), 0);
    assert_int_equal(bacsc_cari_writer_add_not_issued(w, NULL, NULL, NULL, "rejected", "x"),
                     BACSC_ERR_INVALID_ARG);
    bacsc_cari_writer_free(w);
}

static void bad_objects_are_named(void **state)
{
    fx *f = *state;
    /* CSR with a broken self-signature: flip a bit in the signature's last octet */
    unsigned char *badsig = malloc(f->csr_len[0]);
    memcpy(badsig, f->csr[0], f->csr_len[0]);
    badsig[f->csr_len[0] - 1] ^= 0x01;
    char *keypem = NULL;
    {
        BIO *b = BIO_new(BIO_s_mem());
        PEM_write_bio_PrivateKey(b, f->key[0], NULL, NULL, 0, NULL, NULL);
        char *p;
        long l = BIO_get_mem_data(b, &p);
        keypem = strndup(p, (size_t)l);
        BIO_free(b);
    }
    const char *junk_pem = "-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n";
    const char *pubpem = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    scc_zip_member m[] = {
        {.name = "badsig.der", .data = badsig, .len = f->csr_len[0]},
        {.name = "readme.txt", .data = "hello installer", .len = 15},
        {.name = "key.pem", .data = keypem, .len = strlen(keypem)},
        {.name = "junk.pem", .data = junk_pem, .len = strlen(junk_pem)},
        {.name = "pub.pem", .data = pubpem, .len = strlen(pubpem)},
        {.name = "empty.csr", .data = "", .len = 0},
        {.name = "good.csr", .data = f->csr_pem[0], .len = f->csr_pem_len[0]},
    };
    bacsc_cari *c = NULL;
    assert_int_equal(read_members(f, m, 7, NULL, &c), 0);
    assert_int_equal(bacsc_cari_invalid_count(c), 6);
    const bacsc_cari_entry *e = entry_named(c, "badsig.der");
    assert_int_equal(e->status, BACSC_ERR_CRYPTO);
    assert_string_equal(e->error, "CSR self-signature does not verify");
    assert_non_null(strstr(entry_named(c, "readme.txt")->error, "neither a CSR nor a certificate"));
    assert_int_equal(entry_named(c, "key.pem")->status, BACSC_ERR_POLICY);
    assert_non_null(strstr(entry_named(c, "key.pem")->error, "private key"));
    assert_non_null(entry_named(c, "junk.pem")->error);
    assert_non_null(strstr(entry_named(c, "pub.pem")->error, "PUBLIC KEY"));
    assert_string_equal(entry_named(c, "empty.csr")->error, "empty");
    assert_null(entry_named(c, "good.csr")->error);
    for (size_t i = 0; i < c->n_entries; i++)
        if (c->entries[i].error)
            assert_null(strchr(c->entries[i].error, '\n'));
    bacsc_cari_free(c);
    free(badsig);
    free(keypem);
}

static void file_level_limits(void **state)
{
    fx *f = *state;
    scc_zip_member m[] = {
        {.name = "a.csr", .data = f->csr_pem[0], .len = f->csr_pem_len[0]},
        {.name = "b.csr", .data = f->csr_pem[1], .len = f->csr_pem_len[1]},
        {.name = "c.csr", .data = f->csr_pem[2], .len = f->csr_pem_len[2]},
    };
    bacsc_cari *c = NULL;
    bacsc_cari_limits lim = {.max_entries = 2};
    assert_int_equal(read_members(f, m, 3, &lim, &c), BACSC_ERR_LIMIT);
    assert_non_null(strstr(c->error, "3 entries, limit 2"));
    bacsc_cari_free(c);
    /* total: the third entry crosses the limit, the first two are fine */
    lim = (bacsc_cari_limits){.max_total_size = f->csr_pem_len[0] + f->csr_pem_len[1] + 10};
    assert_int_equal(read_members(f, m, 3, &lim, &c), 0);
    assert_non_null(strstr(entry_named(c, "c.csr")->error, "total uncompressed size"));
    assert_null(entry_named(c, "a.csr")->error);
    bacsc_cari_free(c);
    lim = (bacsc_cari_limits){.max_file_size = 100};
    assert_int_equal(read_members(f, m, 3, &lim, &c), BACSC_ERR_LIMIT);
    bacsc_cari_free(c);
}

static void kind_consistency(void **state)
{
    fx *f = *state;
    /* a plain zip mixing CSRs and certificates has no clear kind */
    scc_zip_member m[] = {
        {.name = "a.csr", .data = f->csr_pem[0], .len = f->csr_pem_len[0]},
        {.name = "b.der", .data = f->cert[1], .len = f->cert_len[1]},
    };
    bacsc_cari *c = NULL;
    assert_int_equal(read_members(f, m, 2, NULL, &c), 0);
    assert_int_equal(c->kind, BACSC_CARI_KIND_UNKNOWN);
    assert_non_null(strstr(c->error, "mixes"));
    bacsc_cari_free(c);
}

static void writer_refuses_bad_input(void **state)
{
    fx *f = *state;
    bacsc_cari_writer *w = NULL;
    char err[200];
    assert_int_equal(bacsc_cari_writer_new(BACSC_CARI_KIND_UNKNOWN, NULL, NULL, &w), BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_cari_writer_new(BACSC_CARI_REQUEST, "bad\nsite", NULL, &w), BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_cari_writer_new(BACSC_CARI_REQUEST, NULL, NULL, &w), 0);
    assert_int_equal(strlen(bacsc_cari_writer_batch_id(w)), 36);
    unsigned char *badsig = malloc(f->csr_len[0]);
    memcpy(badsig, f->csr[0], f->csr_len[0]);
    badsig[f->csr_len[0] - 1] ^= 1;
    assert_int_equal(bacsc_cari_writer_add_csr(w, badsig, f->csr_len[0], NULL, NULL, NULL, err, sizeof err),
                     BACSC_ERR_CRYPTO);
    assert_string_equal(err, "CSR self-signature does not verify");
    assert_int_equal(bacsc_cari_writer_add_certificate(w, f->cert[0], f->cert_len[0], NULL, NULL, NULL, err, sizeof err),
                     BACSC_ERR_INVALID_ARG);
    bacsc_cari_device d = {.instance = 5, .uuid = UUID_B};
    assert_int_equal(bacsc_cari_writer_add_csr(w, f->csr[0], f->csr_len[0], NULL, &d, NULL, err, sizeof err),
                     BACSC_ERR_INVALID_ARG); /* UUID differs from the SAN */
    d = (bacsc_cari_device){.instance = 4194303};
    assert_int_equal(bacsc_cari_writer_add_csr(w, f->csr[0], f->csr_len[0], NULL, &d, NULL, err, sizeof err),
                     BACSC_ERR_INVALID_ARG);
    /* same hint twice: names made unique */
    assert_int_equal(bacsc_cari_writer_add_csr(w, f->csr[0], f->csr_len[0], "../../x y.csr", NULL, NULL, err, sizeof err), 0);
    assert_int_equal(bacsc_cari_writer_add_csr(w, f->csr[1], f->csr_len[1], "x y", NULL, NULL, err, sizeof err), 1);
    assert_string_equal(bacsc_cari_writer_entry_name(w, 0), "csr/x_y.csr");
    assert_string_equal(bacsc_cari_writer_entry_name(w, 1), "csr/x_y-2.csr");
    assert_null(bacsc_cari_writer_entry_name(w, 2));
    /* generated request ids are unique UUIDs */
    unsigned char *buf;
    size_t len;
    assert_int_equal(bacsc_cari_writer_to_buffer(w, &buf, &len), 0);
    bacsc_cari *c = NULL;
    assert_int_equal(bacsc_cari_read_buffer(buf, len, NULL, &c), 0);
    assert_int_equal(bacsc_cari_invalid_count(c), 0);
    assert_int_equal(strlen(entry_named(c, "csr/x_y.csr")->request_id), 36);
    assert_string_not_equal(entry_named(c, "csr/x_y.csr")->request_id,
                            entry_named(c, "csr/x_y-2.csr")->request_id);
    bacsc_cari_free(c);
    free(buf);
    free(badsig);
    bacsc_cari_writer_free(w);
}

static void parse_object_direct(void **state)
{
    fx *f = *state;
    bacsc_cari_entry e;
    memset(&e, 0, sizeof e);
    size_t used = 0;
    size_t l0;
    char *p0 = scc_pem("CERTIFICATE", f->cert[0], f->cert_len[0], &l0);
    size_t total = l0 + f->csr_pem_len[1];
    char *two = malloc(total + 1);
    memcpy(two, p0, l0);
    memcpy(two + l0, f->csr_pem[1], f->csr_pem_len[1]);
    assert_int_equal(bacsc_cari_parse_object((unsigned char *)two, total, &e, &used), 0);
    assert_int_equal(used, l0);
    assert_int_equal(e.type, BACSC_CARI_ENTRY_CERTIFICATE);
    assert_string_equal(e.serial, "64");
    assert_string_equal(e.issuer, "CN=Site CA");
    assert_false(e.is_ca);
    assert_true(e.not_after > e.not_before);
    bacsc_cari_entry_clear(&e);
    assert_int_equal(bacsc_cari_parse_object((unsigned char *)two + used, total - used, &e, &used), 0);
    assert_int_equal(e.type, BACSC_CARI_ENTRY_CSR);
    bacsc_cari_entry_clear(&e);
    /* DER with trailing garbage is not DER */
    unsigned char *t = malloc(f->cert_len[0] + 1);
    memcpy(t, f->cert[0], f->cert_len[0]);
    t[f->cert_len[0]] = 0;
    assert_int_equal(bacsc_cari_parse_object(t, f->cert_len[0] + 1, &e, NULL), BACSC_ERR_MALFORMED);
    assert_int_equal(e.type, BACSC_CARI_ENTRY_INVALID);
    bacsc_cari_entry_clear(&e);
    free(t);
    free(p0);
    free(two);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(request_round_trip),
        cmocka_unit_test(key_types_checked_before_signatures),
        cmocka_unit_test(response_round_trip_and_match),
        cmocka_unit_test(response_without_ids_matches_by_key),
        cmocka_unit_test(issued_fast_path_round_trip),
        cmocka_unit_test(write_file_is_atomic_with_digest),
        cmocka_unit_test(plain_zip_of_pem_and_der_certs),
        cmocka_unit_test(plain_zip_of_csrs_is_a_request),
        cmocka_unit_test(pem_bundle_splits_into_entries),
        cmocka_unit_test(certificate_matching_no_request),
        cmocka_unit_test(correlation_with_wrong_key_is_refused),
        cmocka_unit_test(certificate_from_a_different_ca),
        cmocka_unit_test(zip_bomb_is_refused_rest_processed),
        cmocka_unit_test(lying_declared_size_is_caught_while_reading),
        cmocka_unit_test(fifty_megabyte_entry),
        cmocka_unit_test(traversal_and_absolute_names),
        cmocka_unit_test(symlink_entries_are_refused),
        cmocka_unit_test(duplicate_names_are_refused),
        cmocka_unit_test(truncated_and_non_zip_data),
        cmocka_unit_test(malformed_manifest_falls_back_to_plain),
        cmocka_unit_test(manifest_checks),
        cmocka_unit_test(manifest_parser_rejects),
        cmocka_unit_test(response_lists_requests_not_issued),
        cmocka_unit_test(bad_objects_are_named),
        cmocka_unit_test(file_level_limits),
        cmocka_unit_test(kind_consistency),
        cmocka_unit_test(writer_refuses_bad_input),
        cmocka_unit_test(parse_object_direct),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
