/*
 * test_pki_csr.c — the parse-once CSR of the CA pipeline (src/pki/pki_csr.c):
 * the key it builds without OpenSSL's decoder is the key OpenSSL decodes,
 * bad keys and signatures are still refused, bacsc_ca_submit reuses a
 * parsed CSR only for the very octets it was parsed from, and the store's
 * certificate template gives the certificates bacsc_signer_issue_csr makes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "bacsc/cari.h"
#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "pki/pki_internal.h"

static char tmpdir[256];

static int make_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bacsc_pki_csr.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int rm_tmp(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

typedef struct csr {
    uint8_t *der;
    size_t len;
} csr;

static csr make_csr(int type, const char *cn, const char *uuid)
{
    EVP_PKEY *k = NULL;
    assert_int_equal(bacsc_pki_keygen(type, &k), BACSC_OK);
    static const char *const dns[] = {"dev.example"};
    bacsc_cert_spec spec = {.cn = cn, .device_uuid = uuid, .dns = dns, .n_dns = 1};
    csr c = {0};
    assert_int_equal(bacsc_pki_make_csr(k, &spec, false, &c.der, &c.len), BACSC_OK);
    EVP_PKEY_free(k);
    return c;
}

/* The key OpenSSL's own d2i_X509_REQ decodes from the same octets. */
static EVP_PKEY *reference_key(const csr *c)
{
    const unsigned char *p = c->der;
    X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)c->len);
    assert_non_null(r);
    EVP_PKEY *k = X509_REQ_get_pubkey(r);
    X509_REQ_free(r);
    return k;
}

static void key_equals_decoder_key_for_every_type(void **state)
{
    (void)state;
    static const int types[] = {BACSC_KEY_EC_P256, BACSC_KEY_EC_P384, BACSC_KEY_EC_P521,
                                BACSC_KEY_RSA_2048};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        csr c = make_csr(types[i], "dev", NULL);
        bacsc_csr *pc = NULL;
        assert_int_equal(pki_csr_parse(c.der, c.len, &pc), BACSC_OK);
        /* the structure is parsed without decoding the key ... */
        assert_null(X509_REQ_get0_pubkey(pki_csr_req(pc)));
        ERR_clear_error();
        /* ... which is then built to the same key OpenSSL decodes */
        assert_false(pki_csr_settled(pc));
        EVP_PKEY *ref = reference_key(&c);
        EVP_PKEY *k = pki_csr_key(pc);
        assert_non_null(k);
        assert_int_equal(EVP_PKEY_eq(k, ref), 1);
        assert_int_equal(bacsc_pki_key_type_of(k), types[i]);
        assert_true(pki_csr_verify(pc));
        assert_true(pki_csr_settled(pc));
        assert_true(pki_csr_verify(pc)); /* remembered */
        assert_true(pki_csr_is(pc, c.der, c.len));
        assert_false(pki_csr_is(pc, c.der, c.len - 1));
        EVP_PKEY_free(ref);
        pki_csr_free(pc);
        free(c.der);
    }
}

/* Find the encoded EC point (0x04 || X || Y, 65 octets for P-256) in the DER. */
static uint8_t *find_point(const csr *c)
{
    EVP_PKEY *ref = reference_key(c);
    uint8_t pt[65];
    unsigned char *enc = NULL;
    size_t n = EVP_PKEY_get1_encoded_public_key(ref, &enc);
    assert_int_equal(n, sizeof pt);
    memcpy(pt, enc, n);
    OPENSSL_free(enc);
    EVP_PKEY_free(ref);
    for (size_t i = 0; i + sizeof pt <= c->len; i++)
        if (memcmp(c->der + i, pt, sizeof pt) == 0)
            return c->der + i;
    fail_msg("point not found in the CSR");
    return NULL;
}

static void point_off_the_curve_is_refused(void **state)
{
    (void)state;
    csr c = make_csr(BACSC_KEY_EC_P256, "dev", NULL);
    uint8_t *pt = find_point(&c);
    pt[64] ^= 0x01; /* last octet of Y: no longer on the curve */
    bacsc_csr *pc = NULL;
    assert_int_equal(pki_csr_parse(c.der, c.len, &pc), BACSC_OK);
    assert_null(pki_csr_key(pc));
    assert_false(pki_csr_verify(pc));
    pki_csr_free(pc);
    /* the same through the policy check and the CARI parser */
    bacsc_policy p;
    bacsc_policy_default(&p);
    char why[200] = "";
    assert_int_equal(bacsc_policy_check_csr(&p, c.der, c.len, NULL, why, sizeof why),
                     BACSC_ERR_MALFORMED);
    assert_non_null(strstr(why, "public key"));
    bacsc_cari_entry e;
    memset(&e, 0, sizeof e);
    assert_int_not_equal(bacsc_cari_parse_object(c.der, c.len, &e, NULL), BACSC_OK);
    assert_non_null(e.error);
    assert_non_null(strstr(e.error, "public key"));
    assert_null(e.csr);
    bacsc_cari_entry_clear(&e);
    free(c.der);
}

static void bad_signature_and_trailing_data(void **state)
{
    (void)state;
    csr c = make_csr(BACSC_KEY_EC_P256, "dev", NULL);
    bacsc_csr *pc = NULL;
    uint8_t *longer = malloc(c.len + 1);
    memcpy(longer, c.der, c.len);
    longer[c.len] = 0;
    assert_int_equal(pki_csr_parse(longer, c.len + 1, &pc), BACSC_ERR_MALFORMED);
    assert_null(pc);
    assert_int_equal(pki_csr_parse(c.der, 0, &pc), BACSC_ERR_MALFORMED);
    free(longer);
    c.der[c.len - 1] ^= 0x01; /* last octet of the signature */
    assert_int_equal(pki_csr_parse(c.der, c.len, &pc), BACSC_OK);
    assert_non_null(pki_csr_key(pc));
    assert_false(pki_csr_verify(pc));
    pki_csr_free(pc);
    bacsc_cari_entry e;
    memset(&e, 0, sizeof e);
    assert_int_not_equal(bacsc_cari_parse_object(c.der, c.len, &e, NULL), BACSC_OK);
    assert_non_null(strstr(e.error, "self-signature"));
    bacsc_cari_entry_clear(&e);
    free(c.der);
}

static bacsc_ca *new_ca(const char *sub)
{
    char dir[400], err[512];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, sub);
    bacsc_ca_init_params p = {.dir = dir, .name = "Test CA", .actor = "tester"};
    assert_int_equal(bacsc_ca_init(&p, err, sizeof err), BACSC_OK);
    bacsc_ca *ca = NULL;
    assert_int_equal(bacsc_ca_open(dir, NULL, &ca, err, sizeof err), BACSC_OK);
    return ca;
}

/* bacsc_ca_submit takes a reader's parse only for identical octets: a parsed
 * CSR that verified cannot vouch for other bytes. */
static void submit_reuses_parse_only_for_same_octets(void **state)
{
    (void)state;
    bacsc_ca *ca = new_ca("ca1");
    csr good = make_csr(BACSC_KEY_EC_P256, "good", NULL);
    csr bad = make_csr(BACSC_KEY_EC_P256, "bad", NULL);
    bad.der[bad.len - 1] ^= 0x01;
    bacsc_cari_entry eg;
    memset(&eg, 0, sizeof eg);
    assert_int_equal(bacsc_cari_parse_object(good.der, good.len, &eg, NULL), BACSC_OK);
    assert_non_null(eg.csr);
    bacsc_request_in in[2] = {
        /* bad octets with the good CSR's (verified) parse attached */
        {.csr = bad.der, .csr_len = bad.len, .entry = "bad", .device_instance = -1,
         .parsed = eg.csr},
        /* good octets with their own parse */
        {.csr = eg.der, .csr_len = eg.der_len, .entry = "good", .device_instance = -1,
         .parsed = eg.csr},
    };
    bacsc_request_result res[2];
    int64_t bid = 0;
    assert_int_equal(bacsc_ca_submit(ca, NULL, in, 2, &bid, res), 1);
    assert_int_equal(res[0].status, BACSC_REQ_REJECTED);
    assert_non_null(strstr(res[0].reason, "signature"));
    assert_int_not_equal(res[1].status, BACSC_REQ_REJECTED);
    bacsc_cari_entry_clear(&eg);
    free(good.der);
    free(bad.der);
    bacsc_ca_close(ca);
}

/* A CSR with an O and a CN, SANs only when uuid/dns are given. */
static csr make_csr_names(const char *cn, const char *uuid, const char *dns)
{
    EVP_PKEY *k = NULL;
    assert_int_equal(bacsc_pki_keygen(BACSC_KEY_EC_P256, &k), BACSC_OK);
    const char *const d[] = {dns};
    bacsc_cert_spec spec = {.cn = cn, .org = "Site Org", .device_uuid = uuid,
                            .dns = dns ? d : NULL, .n_dns = dns ? 1 : 0};
    csr c = {0};
    assert_int_equal(bacsc_pki_make_csr(k, &spec, false, &c.der, &c.len), BACSC_OK);
    EVP_PKEY_free(k);
    return c;
}

static uint8_t *tbs_of(X509 *x, int *len)
{
    unsigned char *t = NULL;
    *len = i2d_re_X509_tbs(x, &t);
    assert_true(*len > 0);
    return t;
}

/* The CA store's fast path (a reused certificate template, the TBS encoded
 * once) gives, certificate after certificate, the very TBSCertificate that
 * bacsc_signer_issue_csr builds from scratch: no field of one certificate
 * (SANs, subject entries, key, SKI) is left over in the next. */
static void issue_parts_equals_issue_csr(void **state)
{
    (void)state;
    EVP_PKEY *cak = NULL;
    X509 *cacert = NULL;
    bacsc_signer *s = NULL;
    assert_int_equal(bacsc_pki_keygen(BACSC_KEY_EC_P256, &cak), BACSC_OK);
    assert_int_equal(bacsc_pki_make_ca_cert(cak, "Parts CA", NULL, 3650, &cacert), BACSC_OK);
    assert_int_equal(bacsc_signer_new(cacert, cak, &s), BACSC_OK);
    const char *uuid = "0b7f2d1e-3c4a-4b5c-9d6e-7f8091a2b3c4";
    csr csrs[] = {make_csr_names("with-sans", uuid, "a.example"),
                  make_csr_names("no-sans", NULL, NULL),
                  make_csr_names("dns-only", NULL, "b.example"),
                  make_csr_names(NULL, uuid, NULL)}; /* no CN at all */
    const bacsc_carry carries[] = {{.uuid = true},
                                   {.subject_full = true, .uuid = true, .dns = true},
                                   {.subject_full = false, .dns = true},
                                   {0}};
    const size_t n_csr = sizeof csrs / sizeof csrs[0];
    const size_t n_carry = sizeof carries / sizeof carries[0];
    for (size_t round = 0; round < 3 * n_csr * n_carry; round++) {
        const csr *c = &csrs[round % n_csr];
        const bacsc_carry *carry = &carries[(round / n_csr) % n_carry];
        const unsigned char *p = c->der;
        X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)c->len);
        assert_non_null(req);
        pki_parts parts = {0};
        assert_int_equal(pki_parts_from_req(req, &parts), BACSC_OK);
        uint8_t serial[BACSC_PKI_SERIAL_LEN];
        memset(serial, (int)(round + 1), sizeof serial);
        serial[0] &= 0x7f;
        int64_t now = 1700000000 + (int64_t)round * 86400;
        unsigned char *der = NULL;
        int der_len = 0;
        char subject[256];
        assert_int_equal(pki_signer_issue_parts(s, &parts, carry, 30, now, serial, &der, &der_len,
                                                subject, sizeof subject),
                         BACSC_OK);
        X509 *ref = NULL;
        assert_int_equal(bacsc_signer_issue_csr(s, req, carry, 30, now, serial, &ref), BACSC_OK);
        /* a well-formed certificate, DER that OpenSSL re-encodes unchanged,
         * signed by the CA */
        p = der;
        X509 *x = d2i_X509(NULL, &p, der_len);
        assert_non_null(x);
        assert_ptr_equal(p, der + der_len);
        unsigned char *again = NULL;
        int again_len = i2d_X509(x, &again);
        assert_int_equal(again_len, der_len);
        assert_memory_equal(again, der, (size_t)der_len);
        assert_int_equal(X509_verify(x, cak), 1);
        /* the same TBSCertificate as the reference */
        int l1 = 0, l2 = 0;
        uint8_t *t1 = tbs_of(x, &l1), *t2 = tbs_of(ref, &l2);
        assert_int_equal(l1, l2);
        assert_memory_equal(t1, t2, (size_t)l1);
        char ref_subject[256];
        pki_name_oneline(X509_get_subject_name(ref), ref_subject, sizeof ref_subject);
        assert_string_equal(subject, ref_subject);
        OPENSSL_free(t1);
        OPENSSL_free(t2);
        OPENSSL_free(again);
        OPENSSL_free(der);
        X509_free(x);
        X509_free(ref);
        pki_parts_free(&parts);
        X509_REQ_free(req);
    }
    for (size_t i = 0; i < n_csr; i++)
        free(csrs[i].der);
    bacsc_signer_free(s);
    X509_free(cacert);
    EVP_PKEY_free(cak);
}

/* What pki_csr_verify keeps (SPKI fingerprint, extensions) reads as a fresh
 * parse reads it: the inspection and the store's parts are the same
 * before and after the CSR is settled, for a CSR with SANs, one asking for
 * a CA certificate and one with no extensions at all. */
static void settled_reads_equal_fresh_reads(void **state)
{
    (void)state;
    EVP_PKEY *k = NULL;
    assert_int_equal(bacsc_pki_keygen(BACSC_KEY_EC_P256, &k), BACSC_OK);
    const char *const dns[] = {"d.example"};
    bacsc_cert_spec with_sans = {.cn = "s", .device_uuid = "0b7f2d1e-3c4a-4b5c-9d6e-7f8091a2b3c4",
                                 .dns = dns, .n_dns = 1};
    bacsc_cert_spec plain = {.cn = "p"};
    struct {
        const bacsc_cert_spec *spec;
        bool ca;
    } cases[] = {{&with_sans, false}, {&plain, true}, {&plain, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        csr c = {0};
        assert_int_equal(bacsc_pki_make_csr(k, cases[i].spec, cases[i].ca, &c.der, &c.len),
                         BACSC_OK);
        bacsc_csr *fresh = NULL, *settled = NULL;
        assert_int_equal(pki_csr_parse(c.der, c.len, &fresh), BACSC_OK);
        assert_int_equal(pki_csr_parse(c.der, c.len, &settled), BACSC_OK);
        assert_true(pki_csr_verify(settled));
        assert_true(pki_csr_settled(settled));
        bacsc_csr_info a, b;
        char wa[200] = "", wb[200] = "";
        assert_int_equal(pki_csr_inspect_unverified(fresh, &a, wa, sizeof wa),
                         pki_csr_inspect_unverified(settled, &b, wb, sizeof wb));
        assert_memory_equal(&a, &b, sizeof a);
        assert_string_equal(wa, wb);
        assert_int_equal(a.requests_ca, cases[i].ca);
        assert_int_equal(a.n_uuid + a.n_dns, cases[i].spec == &with_sans ? 2 : 0);
        uint8_t fa[32], fb[32];
        assert_true(pki_csr_spki_fp(fresh, fa));
        assert_true(pki_csr_spki_fp(settled, fb));
        assert_memory_equal(fa, fb, 32);
        pki_parts pa, pb;
        assert_int_equal(pki_parts_from_req(pki_csr_req(fresh), &pa), BACSC_OK);
        assert_int_equal(pki_parts_from_csr(settled, &pb), BACSC_OK);
        assert_int_equal(pa.sans_len, pb.sans_len);
        assert_true((pa.sans == NULL) == (pb.sans == NULL));
        if (pa.sans)
            assert_memory_equal(pa.sans, pb.sans, (size_t)pa.sans_len);
        assert_int_equal(pa.subject_len, pb.subject_len);
        assert_memory_equal(pa.subject, pb.subject, (size_t)pa.subject_len);
        pki_parts_free(&pa);
        pki_parts_free(&pb);
        /* the reader's entry carries the same fingerprint */
        bacsc_cari_entry e;
        memset(&e, 0, sizeof e);
        assert_int_equal(bacsc_cari_parse_object(c.der, c.len, &e, NULL), BACSC_OK);
        assert_true(e.has_fingerprint);
        assert_memory_equal(e.fingerprint, fa, 32);
        if (cases[i].spec == &with_sans)
            assert_string_equal(e.san_uuid, with_sans.device_uuid);
        else
            assert_null(e.san_uuid);
        bacsc_cari_entry_clear(&e);
        pki_csr_free(fresh);
        pki_csr_free(settled);
        free(c.der);
    }
    EVP_PKEY_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(key_equals_decoder_key_for_every_type),
        cmocka_unit_test(point_off_the_curve_is_refused),
        cmocka_unit_test(bad_signature_and_trailing_data),
        cmocka_unit_test(submit_reuses_parse_only_for_same_octets),
        cmocka_unit_test(issue_parts_equals_issue_csr),
        cmocka_unit_test(settled_reads_equal_fresh_reads),
    };
    return cmocka_run_group_tests(tests, make_tmp, rm_tmp);
}
