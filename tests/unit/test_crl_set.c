/*
 * test_crl_set.c — the CRL set a device may activate (bacsc_pki_crl_set_check)
 * and the site tool's merge (bacsc_pki_crl_merge): CAs and CRLs made here
 * with OpenSSL, every rule of docs/security.md "Revocation over BACnet".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "bacsc/error.h"
#include "bacsc/pki.h"

#define NOW ((int64_t)1800000000)

typedef struct ca {
    X509 *x;
    EVP_PKEY *k;
} ca;

static ca make_ca(const char *cn, bool crl_sign)
{
    ca c;
    c.k = EVP_EC_gen("P-256");
    c.x = X509_new();
    X509_set_version(c.x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c.x), 1);
    X509_NAME *n = X509_get_subject_name(c.x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c.x, n);
    X509_time_adj_ex(X509_getm_notBefore(c.x), 0, -86400, (time_t[]){(time_t)NOW});
    X509_time_adj_ex(X509_getm_notAfter(c.x), 3650, 0, (time_t[]){(time_t)NOW});
    X509_set_pubkey(c.x, c.k);
    X509V3_CTX v;
    X509V3_set_ctx(&v, c.x, c.x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(c.x, e, -1);
    X509_EXTENSION_free(e);
    e = X509V3_EXT_conf_nid(NULL, &v, NID_key_usage,
                            crl_sign ? "critical,keyCertSign,cRLSign" : "critical,keyCertSign");
    X509_add_ext(c.x, e, -1);
    X509_EXTENSION_free(e);
    X509_sign(c.x, c.k, EVP_sha256());
    return c;
}

static void free_ca(ca *c)
{
    X509_free(c->x);
    EVP_PKEY_free(c->k);
}

/* A PEM CRL of `c`: crlNumber `num` (< 0: none), thisUpdate NOW + this_off,
 * nextUpdate NOW + next_off, revoking serial `revoked` (0: nothing). */
static char *make_crl(const ca *c, long num, long this_off, long next_off, long revoked)
{
    X509_CRL *crl = X509_CRL_new();
    X509_CRL_set_version(crl, 1);
    X509_CRL_set_issuer_name(crl, X509_get_subject_name(c->x));
    ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)(NOW + this_off));
    X509_CRL_set1_lastUpdate(crl, t);
    ASN1_TIME_set(t, (time_t)(NOW + next_off));
    X509_CRL_set1_nextUpdate(crl, t);
    ASN1_TIME_free(t);
    if (revoked) {
        X509_REVOKED *r = X509_REVOKED_new();
        ASN1_INTEGER *s = ASN1_INTEGER_new();
        ASN1_INTEGER_set(s, revoked);
        X509_REVOKED_set_serialNumber(r, s);
        ASN1_TIME *rt = ASN1_TIME_set(NULL, (time_t)NOW);
        X509_REVOKED_set_revocationDate(r, rt);
        X509_CRL_add0_revoked(crl, r);
        ASN1_INTEGER_free(s);
        ASN1_TIME_free(rt);
    }
    if (num >= 0) {
        ASN1_INTEGER *n = ASN1_INTEGER_new();
        ASN1_INTEGER_set(n, num);
        X509_CRL_add1_ext_i2d(crl, NID_crl_number, n, 0, 0);
        ASN1_INTEGER_free(n);
    }
    X509_CRL_sort(crl);
    X509_CRL_sign(crl, c->k, EVP_sha256());
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_CRL(b, crl);
    char *p;
    long l = BIO_get_mem_data(b, &p);
    char *out = calloc(1, (size_t)l + 1);
    memcpy(out, p, (size_t)l);
    BIO_free(b);
    X509_CRL_free(crl);
    return out;
}

static char *cat(const char *a, const char *b)
{
    char *r = malloc(strlen(a) + strlen(b) + 1);
    strcpy(r, a);
    strcat(r, b);
    return r;
}

/* Check `next` against `installed` with `issuers`; returns the code. */
static int check(STACK_OF(X509) *iss, const char *next, const char *installed, int *kept)
{
    uint8_t *out = NULL;
    size_t len = 0;
    char why[256];
    int rc = bacsc_pki_crl_set_check((const uint8_t *)next, next ? strlen(next) : 0, iss,
                                     (const uint8_t *)installed, installed ? strlen(installed) : 0,
                                     NOW, &out, &len, why, sizeof why);
    assert_null(strchr(why, '\n'));
    if (rc == BACSC_CRL_OK) {
        assert_true(why[0] == '\0');
        STACK_OF(X509_CRL) *sk = NULL;
        int n = len ? bacsc_pki_crls_parse(out, len, &sk) : 0;
        assert_true(n >= 0);
        if (n > 0)
            sk_X509_CRL_pop_free(sk, X509_CRL_free);
        if (kept)
            *kept = n;
    } else {
        assert_null(out);
        assert_true(why[0] != '\0');
    }
    free(out);
    return rc;
}

static void test_rules(void **state)
{
    (void)state;
    ca a = make_ca("CA A", true), b = make_ca("CA B", true), nosign = make_ca("CA C", false);
    STACK_OF(X509) *iss = sk_X509_new_null();
    sk_X509_push(iss, a.x);
    sk_X509_push(iss, b.x);
    sk_X509_push(iss, nosign.x);
    char *a1 = make_crl(&a, 1, -3600, 86400, 0), *a2 = make_crl(&a, 2, -60, 86400, 7);
    char *a2b = make_crl(&a, 2, -60, 86400, 8), *b1 = make_crl(&b, 1, -60, 86400, 0);
    char *aold = make_crl(&a, -1, -7200, 86400, 0), *anew = make_crl(&a, -1, -10, 86400, 0);
    char *aexp = make_crl(&a, 3, -7200, -3600, 0), *c1 = make_crl(&nosign, 1, -60, 86400, 0);
    ca f = make_ca("Foreign", true);
    char *f1 = make_crl(&f, 1, -60, 86400, 0);
    int kept = 0;

    assert_int_equal(check(iss, a1, NULL, &kept), BACSC_CRL_OK);              /* first */
    assert_int_equal(kept, 1);
    assert_int_equal(check(iss, a2, a1, NULL), BACSC_CRL_OK);                  /* newer */
    assert_int_equal(check(iss, a1, a2, NULL), BACSC_CRL_ROLLBACK);            /* older */
    assert_int_equal(check(iss, a2, a2, NULL), BACSC_CRL_OK);                  /* same */
    assert_int_equal(check(iss, a2b, a2, NULL), BACSC_CRL_ROLLBACK);           /* same no., other */
    assert_int_equal(check(iss, anew, aold, NULL), BACSC_CRL_OK);              /* no numbers */
    assert_int_equal(check(iss, aold, anew, NULL), BACSC_CRL_ROLLBACK);
    assert_int_equal(check(iss, "", a1, NULL), BACSC_CRL_ROLLBACK);            /* removed */
    assert_int_equal(check(iss, f1, NULL, NULL), BACSC_CRL_UNKNOWN_ISSUER);    /* foreign */
    assert_int_equal(check(iss, c1, NULL, NULL), BACSC_CRL_UNKNOWN_ISSUER);    /* no cRLSign */
    assert_int_equal(check(iss, aexp, NULL, NULL), BACSC_CRL_EXPIRED);
    char *two = cat(a1, a2);
    assert_int_equal(check(iss, two, NULL, NULL), BACSC_CRL_MALFORMED);        /* two of A */
    char *junk = cat(a1, "trailing junk\n");
    assert_int_equal(check(iss, junk, NULL, NULL), BACSC_CRL_MALFORMED);
    assert_int_equal(check(iss, "not a CRL", NULL, NULL), BACSC_CRL_MALFORMED);
    char *ab = cat(a2, b1);
    assert_int_equal(check(iss, ab, a1, &kept), BACSC_CRL_OK);                 /* one per issuer */
    assert_int_equal(kept, 2);
    /* the set still names B's CRL after B was removed from the issuers: dropped */
    STACK_OF(X509) *only_a = sk_X509_new_null();
    sk_X509_push(only_a, a.x);
    assert_int_equal(check(only_a, ab, ab, &kept), BACSC_CRL_OK);
    assert_int_equal(kept, 1);
    /* ... but a new CRL of an issuer it does not have is refused */
    char *a2b1 = cat(a2, b1);
    assert_int_equal(check(only_a, a2b1, a1, NULL), BACSC_CRL_UNKNOWN_ISSUER);

    /* the site tool's merge: in place of the same issuer, else added */
    uint8_t *m = NULL;
    size_t ml = 0;
    bool already = true;
    assert_int_equal(bacsc_pki_crl_merge((const uint8_t *)ab, strlen(ab), (const uint8_t *)a1,
                                         strlen(a1), &m, &ml, &already),
                     0);
    assert_false(already);
    STACK_OF(X509_CRL) *sk = NULL;
    assert_int_equal(bacsc_pki_crls_parse(m, ml, &sk), 2);
    sk_X509_CRL_pop_free(sk, X509_CRL_free);
    free(m);
    assert_int_equal(bacsc_pki_crl_merge((const uint8_t *)ab, strlen(ab), (const uint8_t *)b1,
                                         strlen(b1), &m, &ml, &already),
                     0);
    assert_true(already);
    free(m);
    assert_int_equal(bacsc_pki_crl_merge(NULL, 0, (const uint8_t *)two, strlen(two), &m, &ml,
                                         &already),
                     BACSC_ERR_MALFORMED); /* one CRL at a time */
    bacsc_crl_info ci;
    assert_int_equal(bacsc_pki_crl_info((const uint8_t *)a2, strlen(a2), &ci), 0);
    assert_int_equal(ci.number, 2);
    assert_int_equal(ci.revoked, 1);
    assert_int_equal(ci.this_update, NOW - 60);
    assert_non_null(strstr(ci.issuer, "CA A"));

    char *all[] = {a1, a2, a2b, b1, aold, anew, aexp, c1, f1, two, junk, ab, a2b1};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]);
    sk_X509_free(iss);
    sk_X509_free(only_a);
    free_ca(&a);
    free_ca(&b);
    free_ca(&nosign);
    free_ca(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_rules)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
