/*
 * test_renewal.c — renewal proofs (bacsc/renewal.h) and the CA rule built on
 * them: a new key for a Device UUID that holds a valid certificate is a
 * renewal only when the CSR is signed for by that certificate's key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "bacsc/renewal.h"
#include "support_cari_certs.h"

static const char *const UUID = "5d7e0c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6";

typedef struct fixture {
    char *dir;
    bacsc_ca *ca;
    EVP_PKEY *old_key;
    uint8_t *old_cert;                     /* issued by the CA for old_key */
    size_t old_len;
} fixture;

static int grab_der(const bacsc_cert_row *r, void *user)
{
    fixture *f = user;
    free(f->old_cert);
    f->old_cert = malloc(r->der_len);
    memcpy(f->old_cert, r->der, r->der_len);
    f->old_len = r->der_len;
    return 0;
}

static int submit(bacsc_ca *ca, const uint8_t *der, size_t len, bacsc_request_result *res)
{
    bacsc_request_in in = {.csr = der, .csr_len = len, .entry = "e", .device_instance = -1};
    int64_t bid;
    return bacsc_ca_submit(ca, NULL, &in, 1, &bid, res);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = scc_tempdir();
    char dir[512], err[256];
    snprintf(dir, sizeof dir, "%s/ca", f->dir);
    bacsc_ca_init_params p = {.dir = dir, .name = "Renewal CA", .actor = "tester"};
    assert_int_equal(bacsc_ca_init(&p, err, sizeof err), BACSC_OK);
    assert_int_equal(bacsc_ca_open(dir, NULL, &f->ca, err, sizeof err), BACSC_OK);
    assert_int_equal(bacsc_ca_policy_set(f->ca, "auto_approve", "all"), 0);
    f->old_key = scc_key_p256();
    size_t len;
    uint8_t *csr = scc_csr_der(f->old_key, "dev1", UUID, &len);
    bacsc_request_result res;
    assert_int_equal(submit(f->ca, csr, len, &res), 1);
    assert_int_equal(res.status, BACSC_REQ_APPROVED);
    assert_int_equal(bacsc_ca_issue_approved(f->ca, 0, NULL, NULL), 1);
    assert_int_equal(bacsc_ca_certs(f->ca, NULL, grab_der, f), 1);
    free(csr);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    bacsc_ca_close(f->ca);
    EVP_PKEY_free(f->old_key);
    free(f->old_cert);
    scc_rmrf(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* A CSR for a new key with a proof made by `signer` over the old certificate. */
static uint8_t *proven_csr(fixture *f, EVP_PKEY *new_key, EVP_PKEY *signer, size_t *len, int *rc)
{
    size_t clen;
    uint8_t *csr = scc_csr_der(new_key, "dev1", UUID, &clen), *out = NULL;
    *rc = bacsc_renewal_add_proof(csr, clen, new_key, signer, f->old_cert, f->old_len, &out,
                                  len);
    free(csr);
    return out;
}

static void proof_verifies_only_with_its_certificate(void **state)
{
    fixture *f = *state;
    EVP_PKEY *k2 = scc_key_p256();
    size_t len;
    int rc;
    uint8_t *csr = proven_csr(f, k2, f->old_key, &len, &rc);
    assert_int_equal(rc, BACSC_OK);
    assert_int_equal(bacsc_renewal_verify(csr, len, f->old_cert, f->old_len), BACSC_OK);
    /* another certificate (same subject, another key) */
    scc_ca other;
    scc_ca_init(&other, "Other");
    size_t olen, plen;
    uint8_t *ocsr = scc_csr_der(k2, "dev1", UUID, &plen);
    uint8_t *ocert = scc_issue(&other, ocsr, plen, 7, &olen);
    assert_int_equal(bacsc_renewal_verify(csr, len, ocert, olen), BACSC_ERR_POLICY);
    /* a CSR without a proof */
    assert_int_equal(bacsc_renewal_verify(ocsr, plen, f->old_cert, f->old_len),
                     BACSC_ERR_NOT_FOUND);
    free(ocsr);
    free(ocert);
    scc_ca_free(&other);
    free(csr);
    EVP_PKEY_free(k2);
}

static void stranger_cannot_make_a_proof(void **state)
{
    fixture *f = *state;
    EVP_PKEY *k2 = scc_key_p256(), *thief = scc_key_p256();
    size_t len;
    int rc;
    uint8_t *csr = proven_csr(f, k2, thief, &len, &rc);
    assert_int_equal(rc, BACSC_ERR_POLICY);
    assert_null(csr);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(thief);
}

/* Copy the proof attribute of `from` into a CSR for `key` (re-signed). */
static uint8_t *move_proof(const uint8_t *from, size_t from_len, EVP_PKEY *key, size_t *len)
{
    const unsigned char *p = from;
    X509_REQ *src = d2i_X509_REQ(NULL, &p, (long)from_len);
    size_t clen;
    uint8_t *csr = scc_csr_der(key, "dev1", UUID, &clen);
    p = csr;
    X509_REQ *dst = d2i_X509_REQ(NULL, &p, (long)clen);
    ASN1_OBJECT *oid = OBJ_txt2obj(BACSC_RENEWAL_OID, 1);
    int idx = X509_REQ_get_attr_by_OBJ(src, oid, -1);
    assert_true(idx >= 0);
    assert_int_equal(X509_REQ_add1_attr(dst, X509_REQ_get_attr(src, idx)), 1);
    assert_true(X509_REQ_sign(dst, key, EVP_sha256()) > 0);
    unsigned char *der = NULL;
    int n = i2d_X509_REQ(dst, &der);
    uint8_t *out = malloc((size_t)n);
    memcpy(out, der, (size_t)n);
    *len = (size_t)n;
    OPENSSL_free(der);
    ASN1_OBJECT_free(oid);
    X509_REQ_free(src);
    X509_REQ_free(dst);
    free(csr);
    return out;
}

static void ca_accepts_a_proven_renewal_only(void **state)
{
    fixture *f = *state;
    /* a copied proof on another key: not a renewal */
    EVP_PKEY *k2 = scc_key_p256(), *k3 = scc_key_p256();
    size_t len, mlen;
    int rc;
    uint8_t *good = proven_csr(f, k2, f->old_key, &len, &rc);
    uint8_t *moved = move_proof(good, len, k3, &mlen);
    assert_int_equal(bacsc_renewal_verify(moved, mlen, f->old_cert, f->old_len),
                     BACSC_ERR_POLICY);
    bacsc_request_result res;
    assert_true(submit(f->ca, moved, mlen, &res) >= 0);
    assert_int_not_equal(res.status, BACSC_REQ_APPROVED);
    /* the device's own renewal: approved like any request */
    bacsc_selector sel = {.all = true};
    assert_true(bacsc_ca_reject(f->ca, &sel, "test", NULL, NULL) >= 0); /* if pending */
    assert_int_equal(submit(f->ca, good, len, &res), 1);
    assert_int_equal(res.status, BACSC_REQ_APPROVED);
    /* with renewal off, not even that */
    assert_int_equal(bacsc_ca_policy_set(f->ca, "renewal", "off"), 0);
    EVP_PKEY *k4 = scc_key_p256();
    uint8_t *again = proven_csr(f, k4, f->old_key, &len, &rc);
    assert_int_equal(submit(f->ca, again, len, &res), 0);
    assert_int_equal(res.status, BACSC_REQ_REJECTED);
    free(again);
    free(good);
    free(moved);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(k3);
    EVP_PKEY_free(k4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(proof_verifies_only_with_its_certificate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(stranger_cannot_make_a_proof, setup, teardown),
        cmocka_unit_test_setup_teardown(ca_accepts_a_proven_renewal_only, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
