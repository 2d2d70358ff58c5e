/*
 * test_pki.c — issuing policy, CSR validation, the operational-certificate
 * profile and the CA store's transactions (real SQLite files in a temp dir).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>

#include "bacsc/error.h"
#include "bacsc/pki.h"

/* ---- helpers --------------------------------------------------------------- */

static char tmpdir[256];

static int make_tmp(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_pki.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int rm_tmp(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

typedef struct csr {
    uint8_t *der;
    size_t len;
    EVP_PKEY *key;
} csr;

static csr make_csr_k(EVP_PKEY *key, const char *cn, const char *uuid, bool ca)
{
    static const char *const dns[] = {"dev.example"};
    static const char *const ip[] = {"192.0.2.7"};
    bacsc_cert_spec spec = {.cn = cn, .device_uuid = uuid, .dns = dns, .n_dns = 1, .ip = ip,
                            .n_ip = 1};
    csr c = {.key = key};
    assert_int_equal(bacsc_pki_make_csr(key, &spec, ca, &c.der, &c.len), BACSC_OK);
    return c;
}

static csr make_csr(int type, const char *cn, const char *uuid, bool ca)
{
    EVP_PKEY *k = NULL;
    assert_int_equal(bacsc_pki_keygen(type, &k), BACSC_OK);
    return make_csr_k(k, cn, uuid, ca);
}

static void csr_free(csr *c)
{
    free(c->der);
    EVP_PKEY_free(c->key);
}

static bacsc_ca *new_ca(const char *sub, const char *pass)
{
    char dir[400], err[512];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, sub);
    bacsc_ca_init_params p = {.dir = dir, .name = "Test CA", .passphrase = pass,
                              .actor = "tester"};
    assert_int_equal(bacsc_ca_init(&p, err, sizeof err), BACSC_OK);
    bacsc_ca *ca = NULL;
    assert_int_equal(bacsc_ca_open(dir, pass, &ca, err, sizeof err), BACSC_OK);
    bacsc_ca_set_actor(ca, "tester");
    return ca;
}

static int submit1(bacsc_ca *ca, const csr *c, bacsc_request_result *res)
{
    bacsc_request_in in = {.csr = c->der, .csr_len = c->len, .entry = "e", .device_instance = -1};
    int64_t bid;
    return bacsc_ca_submit(ca, NULL, &in, 1, &bid, res);
}

typedef struct first_cert {
    X509 *x;
    char serial[64];
    int n;
} first_cert;

static int grab_cert(const bacsc_cert_row *r, void *user)
{
    first_cert *f = user;
    f->n++;
    if (!f->x) {
        const unsigned char *p = r->der;
        f->x = d2i_X509(NULL, &p, (long)r->der_len);
        snprintf(f->serial, sizeof f->serial, "%s", r->serial);
    }
    return 0;
}

static sqlite3 *raw_db(const char *sub)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s/ca.db", tmpdir, sub);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

static int64_t scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* ---- policy ------------------------------------------------------------------ */

static void policy_defaults_roundtrip(void **state)
{
    (void)state;
    bacsc_policy p, q;
    bacsc_policy_default(&p);
    assert_int_equal(p.key_types, BACSC_KEY_BIT(BACSC_KEY_EC_P256));
    assert_int_equal(p.auto_approve, BACSC_AUTO_OFF);
    assert_true(p.require_cn);
    char path[400], err[256];
    snprintf(path, sizeof path, "%s/policy.json", tmpdir);
    assert_int_equal(bacsc_policy_set(&p, "auto_approve_sites", "plant-a, plant-b", err,
                                      sizeof err),
                     BACSC_OK);
    assert_int_equal(bacsc_policy_save(path, &p, err, sizeof err), BACSC_OK);
    assert_int_equal(bacsc_policy_load(path, &q, err, sizeof err), BACSC_OK);
    assert_memory_equal(&p, &q, sizeof p);
    assert_int_equal(q.n_sites, 2);
    assert_string_equal(q.sites[1], "plant-b");
}

static void policy_set_validates(void **state)
{
    (void)state;
    bacsc_policy p;
    char err[256];
    bacsc_policy_default(&p);
    assert_int_equal(bacsc_policy_set(&p, "key_types", "ec-p256,ec-p384", err, sizeof err), 0);
    assert_int_equal(p.key_types, BACSC_KEY_BIT(BACSC_KEY_EC_P256) | BACSC_KEY_BIT(BACSC_KEY_EC_P384));
    assert_int_equal(bacsc_policy_set(&p, "key_types", "rsa-1024", err, sizeof err),
                     BACSC_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "key type"));
    assert_int_equal(bacsc_policy_set(&p, "key_types", "", err, sizeof err), BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_policy_set(&p, "validity_days", "abc", err, sizeof err),
                     BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_policy_set(&p, "validity_days", "0", err, sizeof err),
                     BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_policy_set(&p, "validity_days", "90", err, sizeof err), 0);
    assert_int_equal(p.validity_days, 90);
    assert_int_equal(bacsc_policy_set(&p, "carry_dns", "no", err, sizeof err), 0);
    assert_false(p.carry.dns);
    assert_int_equal(bacsc_policy_set(&p, "carry_dns", "maybe", err, sizeof err),
                     BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_policy_set(&p, "auto_approve", "sometimes", err, sizeof err),
                     BACSC_ERR_INVALID_ARG);
    assert_int_equal(bacsc_policy_set(&p, "no_such_key", "1", err, sizeof err),
                     BACSC_ERR_INVALID_ARG);
    assert_non_null(strstr(err, "no_such_key"));
    /* a failed set leaves the policy unchanged */
    assert_int_equal(p.validity_days, 90);
}

static void policy_load_rejects_bad_files(void **state)
{
    (void)state;
    char path[400], err[256];
    bacsc_policy p;
    snprintf(path, sizeof path, "%s/bad.json", tmpdir);
    FILE *f = fopen(path, "w");
    fputs("{\"version\":1,\"key_typez\":[\"ec-p256\"]}", f);
    fclose(f);
    assert_int_equal(bacsc_policy_load(path, &p, err, sizeof err), BACSC_ERR_MALFORMED);
    assert_non_null(strstr(err, "key_typez"));
    f = fopen(path, "w");
    fputs("{\"version\":1, ", f);
    fclose(f);
    assert_int_equal(bacsc_policy_load(path, &p, err, sizeof err), BACSC_ERR_MALFORMED);
    f = fopen(path, "w");
    fputs("{\"version\":2}", f);
    fclose(f);
    assert_int_equal(bacsc_policy_load(path, &p, err, sizeof err), BACSC_ERR_MALFORMED);
}

/* ---- CSR validation ------------------------------------------------------------- */

static void csr_valid_p256(void **state)
{
    (void)state;
    bacsc_policy p;
    bacsc_policy_default(&p);
    csr c = make_csr(BACSC_KEY_EC_P256, "dev1", "0b7f2d1e-3c4a-4b5c-9d6e-7f8091a2b3c4", false);
    bacsc_csr_info info;
    char why[200] = "";
    assert_int_equal(bacsc_policy_check_csr(&p, c.der, c.len, &info, why, sizeof why), BACSC_OK);
    assert_string_equal(info.device_uuid, "0b7f2d1e-3c4a-4b5c-9d6e-7f8091a2b3c4");
    assert_string_equal(info.cn, "dev1");
    assert_int_equal(info.n_dns, 1);
    assert_int_equal(info.n_ip, 1);
    uint8_t fp[32];
    assert_int_equal(bacsc_pki_key_fingerprint(c.key, fp), BACSC_OK);
    assert_memory_equal(fp, info.key_fp, 32);
    assert_int_equal(bacsc_pki_csr_key_fingerprint(c.der, c.len, fp), BACSC_OK);
    assert_memory_equal(fp, info.key_fp, 32);
    csr_free(&c);
}

static void csr_bad_signature(void **state)
{
    (void)state;
    bacsc_policy p;
    bacsc_policy_default(&p);
    csr c = make_csr(BACSC_KEY_EC_P256, "dev1", NULL, false);
    c.der[c.len - 1] ^= 0x01; /* last octet of the signature's s */
    char why[200] = "";
    int rc = bacsc_policy_check_csr(&p, c.der, c.len, NULL, why, sizeof why);
    assert_int_not_equal(rc, BACSC_OK);
    assert_non_null(strstr(why, "signature"));
    csr_free(&c);
}

static void csr_ca_request_rejected(void **state)
{
    (void)state;
    bacsc_policy p;
    bacsc_policy_default(&p);
    csr c = make_csr(BACSC_KEY_EC_P256, "sub-ca", NULL, true);
    char why[200] = "";
    assert_int_equal(bacsc_policy_check_csr(&p, c.der, c.len, NULL, why, sizeof why),
                     BACSC_ERR_POLICY);
    assert_non_null(strstr(why, "CA:TRUE"));
    csr_free(&c);
}

static void csr_key_types(void **state)
{
    (void)state;
    bacsc_policy p;
    char why[200] = "", err[200];
    bacsc_policy_default(&p);
    csr r = make_csr(BACSC_KEY_RSA_2048, "rsa", NULL, false);
    csr e = make_csr(BACSC_KEY_EC_P384, "p384", NULL, false);
    assert_int_equal(bacsc_policy_check_csr(&p, r.der, r.len, NULL, why, sizeof why),
                     BACSC_ERR_POLICY);
    assert_non_null(strstr(why, "RSA-2048"));
    assert_int_equal(bacsc_policy_check_csr(&p, e.der, e.len, NULL, why, sizeof why),
                     BACSC_ERR_POLICY);
    assert_non_null(strstr(why, "P-384"));
    assert_int_equal(bacsc_policy_set(&p, "key_types", "ec-p256,ec-p384", err, sizeof err), 0);
    assert_int_equal(bacsc_policy_check_csr(&p, e.der, e.len, NULL, why, sizeof why), BACSC_OK);
    assert_int_equal(bacsc_policy_check_csr(&p, r.der, r.len, NULL, why, sizeof why),
                     BACSC_ERR_POLICY);
    csr_free(&r);
    csr_free(&e);
}

static void csr_subject_and_uuid_rules(void **state)
{
    (void)state;
    bacsc_policy p;
    char why[200] = "", err[200];
    bacsc_policy_default(&p);
    csr nocn = make_csr(BACSC_KEY_EC_P256, NULL, NULL, false);
    assert_int_equal(bacsc_policy_check_csr(&p, nocn.der, nocn.len, NULL, why, sizeof why),
                     BACSC_ERR_POLICY);
    assert_non_null(strstr(why, "commonName"));
    csr nouuid = make_csr(BACSC_KEY_EC_P256, "x", NULL, false);
    csr uuid = make_csr(BACSC_KEY_EC_P256, "x", "0b7f2d1e-3c4a-4b5c-9d6e-7f8091a2b3c4", false);
    assert_int_equal(bacsc_policy_set(&p, "device_uuid", "required", err, sizeof err), 0);
    assert_int_equal(bacsc_policy_check_csr(&p, nouuid.der, nouuid.len, NULL, why, sizeof why),
                     BACSC_ERR_POLICY);
    assert_non_null(strstr(why, "Device UUID"));
    assert_int_equal(bacsc_policy_check_csr(&p, uuid.der, uuid.len, NULL, why, sizeof why), 0);
    assert_int_equal(bacsc_policy_set(&p, "device_uuid", "forbidden", err, sizeof err), 0);
    assert_int_equal(bacsc_policy_check_csr(&p, uuid.der, uuid.len, NULL, why, sizeof why),
                     BACSC_ERR_POLICY);
    static const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    assert_int_equal(bacsc_policy_check_csr(&p, junk, sizeof junk, NULL, why, sizeof why),
                     BACSC_ERR_MALFORMED);
    csr_free(&nocn);
    csr_free(&nouuid);
    csr_free(&uuid);
}

static void to_der_accepts_pem_and_refuses_garbage(void **state)
{
    (void)state;
    csr c = make_csr(BACSC_KEY_EC_P256, "x", NULL, false);
    const unsigned char *p = c.der;
    X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)c.len);
    BIO *b = BIO_new(BIO_s_mem());
    BIO_puts(b, "junk before\n");
    PEM_write_bio_X509_REQ_NEW(b, r);
    char *pem;
    long n = BIO_get_mem_data(b, &pem);
    uint8_t *der;
    size_t len;
    assert_int_equal(bacsc_pki_to_der(BACSC_PKI_CSR, (uint8_t *)pem, (size_t)n, &der, &len), 0);
    assert_int_equal(len, c.len);
    assert_memory_equal(der, c.der, len);
    free(der);
    assert_int_equal(bacsc_pki_to_der(BACSC_PKI_CSR, c.der, c.len, &der, &len), 0);
    free(der);
    assert_int_equal(bacsc_pki_to_der(BACSC_PKI_CSR, (const uint8_t *)"hello", 5, &der, &len),
                     BACSC_ERR_MALFORMED);
    assert_int_equal(bacsc_pki_to_der(BACSC_PKI_CERT, c.der, c.len, &der, &len),
                     BACSC_ERR_MALFORMED);
    BIO_free(b);
    X509_REQ_free(r);
    csr_free(&c);
}

/* ---- the operational certificate profile ---------------------------------------- */

static void assert_profile(X509 *x, X509 *ca, const char *uuid, bool dns, bool ip)
{
    assert_int_equal(X509_get_version(x), 2);
    /* serial: 16 octets, positive */
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    assert_int_equal(ASN1_STRING_length(sn), 16);
    assert_int_equal(ASN1_STRING_type(sn), V_ASN1_INTEGER);
    assert_true((ASN1_STRING_get0_data(sn)[0] & 0x80) == 0);
    assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
    assert_int_equal(X509_verify(x, X509_get0_pubkey(ca)), 1);
    int crit = -1;
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
    assert_non_null(bc);
    assert_int_equal(crit, 1);
    assert_false(bc->ca);
    BASIC_CONSTRAINTS_free(bc);
    ASN1_BIT_STRING *ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
    assert_non_null(ku);
    assert_int_equal(crit, 1);
    assert_true(ASN1_BIT_STRING_get_bit(ku, 0));
    for (int b = 1; b < 9; b++)
        assert_false(ASN1_BIT_STRING_get_bit(ku, b));
    ASN1_BIT_STRING_free(ku);
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
    assert_non_null(eku);
    assert_int_equal(sk_ASN1_OBJECT_num(eku), 2);
    assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_server_auth);
    assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 1)), NID_client_auth);
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
    const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
    const ASN1_OCTET_STRING *ca_ski = X509_get0_subject_key_id(ca);
    assert_non_null(ski);
    assert_non_null(aki);
    assert_non_null(ca_ski);
    assert_int_equal(ASN1_OCTET_STRING_cmp(aki, ca_ski), 0);
    assert_int_equal(X509_check_issued(ca, x), X509_V_OK);
    bacsc_cert_info info;
    assert_int_equal(bacsc_pki_cert_inspect(x, &info), 0);
    assert_false(info.is_ca);
    assert_string_equal(info.device_uuid, uuid ? uuid : "");
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
    int ndns = 0, nip = 0;
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        int t = sk_GENERAL_NAME_value(gens, i)->type;
        ndns += t == GEN_DNS;
        nip += t == GEN_IPADD;
    }
    GENERAL_NAMES_free(gens);
    assert_int_equal(ndns, dns ? 1 : 0);
    assert_int_equal(nip, ip ? 1 : 0);
}

static void profile_of_issued_certificate(void **state)
{
    (void)state;
    bacsc_ca *ca = new_ca("profile", NULL);
    const char *uuid = "0b7f2d1e-3c4a-4b5c-9d6e-7f8091a2b3c4";
    csr c = make_csr(BACSC_KEY_EC_P256, "dev1", uuid, false);
    bacsc_request_result res;
    /* DNS names only under configured domains, IPs only when asked for */
    assert_int_equal(bacsc_ca_policy_set(ca, "carry_dns", "true"), 0);
    assert_int_equal(bacsc_ca_policy_set(ca, "san_domains", "example"), 0);
    assert_int_equal(bacsc_ca_policy_set(ca, "carry_ip", "true"), 0);
    assert_int_equal(submit1(ca, &c, &res), 1);
    assert_int_equal(res.status, BACSC_REQ_PENDING);
    bacsc_selector sel = {.all = true};
    assert_int_equal(bacsc_ca_approve(ca, &sel, NULL, NULL), 1);
    first_cert f = {0};
    assert_int_equal(bacsc_ca_certs(ca, NULL, grab_cert, &f), 1);
    assert_profile(f.x, bacsc_ca_cert(ca), uuid, true, true);
    /* validity = policy validity_days, starting 1 h back */
    bacsc_cert_info info;
    bacsc_pki_cert_inspect(f.x, &info);
    assert_int_equal(info.not_after - info.not_before, 730 * 86400);
    assert_string_equal(info.subject, "CN=dev1");
    assert_string_equal(info.serial, f.serial);
    uint8_t fp[32];
    bacsc_pki_key_fingerprint(c.key, fp);
    assert_memory_equal(fp, info.key_fp, 32);
    X509_free(f.x);

    /* carry rules: no DNS, no IP */
    assert_int_equal(bacsc_ca_policy_set(ca, "carry_dns", "false"), 0);
    assert_int_equal(bacsc_ca_policy_set(ca, "carry_ip", "false"), 0);
    assert_int_equal(bacsc_ca_policy_set(ca, "validity_days", "30"), 0);
    csr d = make_csr(BACSC_KEY_EC_P256, "dev2", NULL, false);
    assert_int_equal(submit1(ca, &d, &res), 1);
    sel.all = true;
    assert_int_equal(bacsc_ca_approve(ca, &sel, NULL, NULL), 1);
    bacsc_cert_filter flt = {.serial = NULL};
    first_cert g = {0};
    assert_int_equal(bacsc_ca_certs(ca, &flt, grab_cert, &g), 2);
    X509_free(g.x);
    /* the second certificate: look it up by request */
    bacsc_cert_filter by = {.batch_id = 2};
    first_cert h = {0};
    assert_int_equal(bacsc_ca_certs(ca, &by, grab_cert, &h), 1);
    assert_profile(h.x, bacsc_ca_cert(ca), NULL, false, false);
    bacsc_pki_cert_inspect(h.x, &info);
    assert_int_equal(info.not_after - info.not_before, 30 * 86400);
    X509_free(h.x);
    csr_free(&c);
    csr_free(&d);
    bacsc_ca_close(ca);
}

static void signer_direct_and_demo(void **state)
{
    (void)state;
    char dir[400], err[256], path[500];
    snprintf(dir, sizeof dir, "%s/demo", tmpdir);
    assert_int_equal(bacsc_pki_demo(dir, 2, err, sizeof err), 0);
    X509 *ca = NULL, *node = NULL;
    snprintf(path, sizeof path, "%s/ca.pem", dir);
    assert_int_equal(bacsc_pki_cert_read(path, &ca), 0);
    snprintf(path, sizeof path, "%s/node2.pem", dir);
    assert_int_equal(bacsc_pki_cert_read(path, &node), 0);
    bacsc_cert_info info;
    bacsc_pki_cert_inspect(node, &info);
    assert_profile(node, ca, info.device_uuid, true, true);
    assert_int_equal(strlen(info.device_uuid), 36);
    bacsc_pki_cert_inspect(ca, &info);
    assert_true(info.is_ca);
    struct stat st;
    snprintf(path, sizeof path, "%s/node2.key", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    EVP_PKEY *k = NULL;
    assert_int_equal(bacsc_pki_key_read(path, NULL, &k), 0);
    assert_int_equal(X509_check_private_key(node, k), 1);
    EVP_PKEY_free(k);
    X509_free(ca);
    X509_free(node);
}

/* ---- store ---------------------------------------------------------------------- */

static void duplicate_uuid_and_renewal(void **state)
{
    (void)state;
    bacsc_ca *ca = new_ca("dup", NULL);
    const char *u = "11111111-2222-4333-8444-555555555555";
    csr a = make_csr(BACSC_KEY_EC_P256, "a", u, false);
    csr b = make_csr(BACSC_KEY_EC_P256, "b", u, false);
    bacsc_request_result res[2];
    /* two keys asking for one UUID in one batch: the second waits for an
     * administrator (UUIDs are public: the first to ask must not win) */
    bacsc_request_in in[2] = {{.csr = a.der, .csr_len = a.len, .entry = "a.csr",
                               .device_instance = -1},
                              {.csr = b.der, .csr_len = b.len, .entry = "b.csr",
                               .device_instance = -1}};
    int64_t bid;
    assert_int_equal(bacsc_ca_submit(ca, NULL, in, 2, &bid, res), 2);
    assert_int_equal(res[0].status, BACSC_REQ_PENDING);
    assert_int_equal(res[1].status, BACSC_REQ_PENDING);
    assert_non_null(strstr(res[1].reason, "needs an administrator"));
    /* the same key asking twice is a duplicate */
    assert_int_equal(submit1(ca, &a, res), 0);
    assert_non_null(strstr(res[0].reason, "duplicate Device UUID"));
    int64_t idb = res[0].id - 1;
    bacsc_selector sb = {.ids = &idb, .n_ids = 1};
    assert_int_equal(bacsc_ca_reject(ca, &sb, "not this device", NULL, NULL), 1);
    bacsc_selector sel = {.all = true};
    assert_int_equal(bacsc_ca_approve(ca, &sel, NULL, NULL), 1);
    /* another key for the UUID of a valid certificate: pending, never auto-approved */
    assert_int_equal(bacsc_ca_policy_set(ca, "auto_approve", "all"), 0);
    assert_int_equal(submit1(ca, &b, res), 1);
    assert_int_equal(res[0].status, BACSC_REQ_PENDING);
    assert_non_null(strstr(res[0].reason, "held by valid certificate"));
    idb = res[0].id;
    assert_int_equal(bacsc_ca_reject(ca, &sb, "not this device", NULL, NULL), 1);
    /* renewal: same UUID, same key: auto-approved */
    csr a2 = make_csr_k(a.key, "a", u, false);
    a.key = NULL;
    assert_int_equal(submit1(ca, &a2, res), 1);
    assert_int_equal(res[0].status, BACSC_REQ_APPROVED);
    assert_int_equal(bacsc_ca_issue_approved(ca, 0, NULL, NULL), 1);
    assert_int_equal(bacsc_ca_policy_set(ca, "auto_approve", "off"), 0);
    /* revoke both: the UUID is free of valid certificates */
    first_cert f = {0};
    assert_int_equal(bacsc_ca_certs(ca, NULL, grab_cert, &f), 2);
    X509_free(f.x);
    bacsc_cert_filter valid = {.valid_only = true};
    assert_int_equal(bacsc_ca_certs(ca, &valid, NULL, NULL), 2);
    assert_int_equal(bacsc_ca_revoke(ca, f.serial, 1), 0);
    assert_int_equal(bacsc_ca_revoke(ca, f.serial, 1), BACSC_ERR_STATE);
    assert_int_equal(bacsc_ca_revoke(ca, "00:de:ad", 1), BACSC_ERR_NOT_FOUND);
    assert_int_equal(bacsc_ca_certs(ca, &valid, NULL, NULL), 1);
    /* manual renewal: a new key is accepted but never auto-approved */
    assert_int_equal(bacsc_ca_policy_set(ca, "renewal", "manual"), 0);
    assert_int_equal(bacsc_ca_policy_set(ca, "auto_approve", "all"), 0);
    assert_int_equal(submit1(ca, &b, res), 1);
    assert_int_equal(res[0].status, BACSC_REQ_PENDING);
    assert_non_null(strstr(res[0].reason, "administrator"));
    /* renewal off: a new key still waits for the administrator (b is pending) */
    bacsc_ca_policy_set(ca, "renewal", "off");
    csr c = make_csr(BACSC_KEY_EC_P256, "c", u, false);
    assert_int_equal(submit1(ca, &c, res), 1);
    assert_int_equal(res[0].status, BACSC_REQ_PENDING);
    assert_non_null(strstr(res[0].reason, "request")); /* b is pending for it */
    csr_free(&a);
    csr_free(&a2);
    csr_free(&b);
    csr_free(&c);
    bacsc_ca_close(ca);
}

typedef struct results {
    int issued, rejected, other;
    char last_reason[200];
} results;

static void count_result(const bacsc_request_result *r, void *user)
{
    results *x = user;
    if (r->status == BACSC_REQ_ISSUED)
        x->issued++;
    else if (r->status == BACSC_REQ_REJECTED)
        x->rejected++;
    else
        x->other++;
    snprintf(x->last_reason, sizeof x->last_reason, "%s", r->reason);
}

static void approve_reject_auto_and_limits(void **state)
{
    (void)state;
    bacsc_ca *ca = new_ca("flow", NULL);
    csr c[4];
    bacsc_request_in in[4];
    for (int i = 0; i < 4; i++) {
        char cn[8];
        snprintf(cn, sizeof cn, "d%d", i);
        c[i] = make_csr(BACSC_KEY_EC_P256, cn, NULL, false);
        in[i] = (bacsc_request_in){.csr = c[i].der, .csr_len = c[i].len, .device_instance = i};
    }
    bacsc_request_result res[4];
    int64_t b1, b2, b3;
    bacsc_batch_in batch = {.file_name = "x.zip", .site = "plant-a", .origin = "tool"};
    assert_int_equal(bacsc_ca_submit(ca, &batch, in, 2, &b1, res), 2);
    /* reject one, approve the other by id; a decided id is reported */
    int64_t id0 = res[0].id, id1 = res[1].id;
    bacsc_selector s0 = {.ids = &id0, .n_ids = 1};
    results r = {0};
    assert_int_equal(bacsc_ca_reject(ca, &s0, "not ours", count_result, &r), 1);
    assert_int_equal(r.rejected, 1);
    assert_int_equal(bacsc_ca_reject(ca, &s0, "", NULL, NULL), BACSC_ERR_INVALID_ARG);
    int64_t ids[2] = {id1, id0};
    bacsc_selector s1 = {.ids = ids, .n_ids = 2};
    memset(&r, 0, sizeof r);
    assert_int_equal(bacsc_ca_approve(ca, &s1, count_result, &r), 1);
    assert_int_equal(r.issued, 1);
    assert_int_equal(r.other, 1); /* id0 is rejected, not pending: reported, unchanged */
    int64_t none = 9999;
    bacsc_selector s2 = {.ids = &none, .n_ids = 1};
    memset(&r, 0, sizeof r);
    assert_int_equal(bacsc_ca_approve(ca, &s2, count_result, &r), 0);
    assert_non_null(strstr(r.last_reason, "no request"));

    /* auto-approve: the authenticated submitter decides; a site claim alone never does */
    assert_int_equal(bacsc_ca_policy_set(ca, "auto_approve", "match"), 0);
    assert_int_equal(bacsc_ca_policy_set(ca, "auto_approve_sites", "plant-b"), 0);
    assert_int_equal(bacsc_ca_policy_set(ca, "auto_approve_submitters", "token:installer-b"), 0);
    batch.site = "plant-b";
    assert_int_equal(bacsc_ca_submit(ca, &batch, in + 2, 1, &b2, res), 1);
    assert_int_equal(res[0].status, BACSC_REQ_PENDING);
    bacsc_actor tok = {.kind = BACSC_ACTOR_TOKEN, .name = "installer-b", .address = "192.0.2.7"};
    assert_int_equal(bacsc_ca_set_actor_auth(ca, &tok), 0);
    assert_string_equal(bacsc_ca_actor_auth(ca), "token:installer-b@192.0.2.7");
    assert_int_equal(bacsc_ca_submit(ca, &batch, in + 3, 1, &b3, res), 1);
    assert_int_equal(res[0].status, BACSC_REQ_APPROVED);
    assert_int_equal(bacsc_ca_issue_approved(ca, 0, NULL, NULL), 1);
    assert_int_equal(bacsc_ca_issue_approved(ca, 0, NULL, NULL), 0);
    /* batch approve */
    bacsc_selector sb = {.batch_id = b2};
    assert_int_equal(bacsc_ca_approve(ca, &sb, NULL, NULL), 1);

    /* max_batch: nothing stored */
    assert_int_equal(bacsc_ca_policy_set(ca, "max_batch", "3"), 0);
    int before = bacsc_ca_requests(ca, -1, 0, NULL, NULL);
    assert_int_equal(bacsc_ca_submit(ca, NULL, in, 4, NULL, NULL), BACSC_ERR_LIMIT);
    assert_int_equal(bacsc_ca_requests(ca, -1, 0, NULL, NULL), before);

    /* expiring: with the clock 729 days ahead, 3 certs expire within 2 days */
    bacsc_cert_filter exp = {.expiring_within = 2 * 86400};
    assert_int_equal(bacsc_ca_certs(ca, &exp, NULL, NULL), 0);
    bacsc_ca_set_time(ca, (int64_t)time(NULL) + 729 * 86400);
    assert_int_equal(bacsc_ca_certs(ca, &exp, NULL, NULL), 3);
    bacsc_ca_set_time(ca, 0);
    for (int i = 0; i < 4; i++)
        csr_free(&c[i]);
    bacsc_ca_close(ca);
}

static void store_invariants_enforced(void **state)
{
    (void)state;
    bacsc_ca *ca = new_ca("inv", NULL);
    csr c = make_csr(BACSC_KEY_EC_P256, "x", NULL, false);
    bacsc_request_result res;
    assert_int_equal(submit1(ca, &c, &res), 1);
    bacsc_selector sel = {.all = true};
    assert_int_equal(bacsc_ca_approve(ca, &sel, NULL, NULL), 1);
    bacsc_ca_close(ca);
    sqlite3 *db = raw_db("inv");
    assert_string_equal((const char *)"wal", "wal");
    assert_int_equal(scalar(db, "PRAGMA user_version"), 3);
    char *msg = NULL;
    assert_int_not_equal(sqlite3_exec(db, "UPDATE audit SET actor = 'mallory'", NULL, NULL, &msg),
                         SQLITE_OK);
    assert_non_null(strstr(msg, "append-only"));
    sqlite3_free(msg);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM audit", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM certificates", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(
        sqlite3_exec(db, "UPDATE requests SET status = 'pending'", NULL, NULL, NULL), SQLITE_OK);
    /* a certificate row for a request that is not issued */
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO requests(csr, key_fp, status, created) "
                                  "VALUES (x'00', '', 'pending', 0)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db,
                                      "INSERT INTO certificates(serial, request_id, key_fp, "
                                      "not_before, not_after, der, issued) VALUES "
                                      "('aa', last_insert_rowid(), '', 0, 0, x'00', 0)",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    /* a serial cannot be recorded twice */
    assert_int_not_equal(sqlite3_exec(db,
                                      "INSERT INTO certificates(serial, key_fp, not_before, "
                                      "not_after, der, issued) SELECT serial, key_fp, 0, 0, "
                                      "der, 0 FROM certificates",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    assert_int_equal(scalar(db, "SELECT count(*) FROM audit WHERE action = 'issue'"), 1);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    csr_free(&c);
}

static void crl_lists_revoked(void **state)
{
    (void)state;
    bacsc_ca *ca = new_ca("crl", NULL);
    csr c = make_csr(BACSC_KEY_EC_P256, "x", NULL, false);
    bacsc_request_result res;
    submit1(ca, &c, &res);
    bacsc_selector sel = {.all = true};
    assert_int_equal(bacsc_ca_approve(ca, &sel, NULL, NULL), 1);
    first_cert f = {0};
    bacsc_ca_certs(ca, NULL, grab_cert, &f);
    assert_int_equal(bacsc_ca_revoke(ca, f.serial, bacsc_pki_crl_reason_parse("key-compromise")),
                     0);
    uint8_t *der;
    size_t len;
    assert_int_equal(bacsc_ca_crl(ca, &der, &len), 0);
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
    assert_non_null(crl);
    assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(bacsc_ca_cert(ca))), 1);
    STACK_OF(X509_REVOKED) *rv = X509_CRL_get_REVOKED(crl);
    assert_int_equal(sk_X509_REVOKED_num(rv), 1);
    X509_REVOKED *r0 = sk_X509_REVOKED_value(rv, 0);
    assert_int_equal(ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(r0),
                                      X509_get0_serialNumber(f.x)),
                     0);
    ASN1_ENUMERATED *reason = X509_REVOKED_get_ext_d2i(r0, NID_crl_reason, NULL, NULL);
    assert_non_null(reason);
    assert_int_equal(ASN1_ENUMERATED_get(reason), 1);
    ASN1_ENUMERATED_free(reason);
    ASN1_INTEGER *num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    assert_int_equal(ASN1_INTEGER_get(num), 1);
    ASN1_INTEGER_free(num);
    X509_CRL_free(crl);
    free(der);
    assert_int_equal(bacsc_ca_crl(ca, &der, &len), 0); /* crlNumber 2 */
    p = der;
    crl = d2i_X509_CRL(NULL, &p, (long)len);
    num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
    assert_int_equal(ASN1_INTEGER_get(num), 2);
    ASN1_INTEGER_free(num);
    X509_CRL_free(crl);
    free(der);
    X509_free(f.x);
    csr_free(&c);
    bacsc_ca_close(ca);
}

static void encrypted_key_needs_passphrase(void **state)
{
    (void)state;
    bacsc_ca *ca = new_ca("enc", "s3cret");
    bacsc_ca_close(ca);
    char dir[400], err[256], path[500];
    snprintf(dir, sizeof dir, "%s/enc", tmpdir);
    snprintf(path, sizeof path, "%s/ca.key", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    EVP_PKEY *k = NULL;
    assert_int_equal(bacsc_pki_key_read(path, NULL, &k), BACSC_ERR_STATE);
    assert_int_equal(bacsc_pki_key_read(path, "wrong", &k), BACSC_ERR_STATE);
    assert_int_equal(bacsc_pki_key_read(path, "s3cret", &k), 0);
    EVP_PKEY_free(k);
    assert_int_equal(bacsc_ca_open(dir, NULL, &ca, err, sizeof err), 0);
    csr c = make_csr(BACSC_KEY_EC_P256, "x", NULL, false);
    bacsc_request_result res;
    assert_int_equal(submit1(ca, &c, &res), 1);
    bacsc_selector sel = {.all = true};
    assert_int_equal(bacsc_ca_approve(ca, &sel, NULL, NULL), BACSC_ERR_STATE);
    assert_non_null(strstr(bacsc_ca_errmsg(ca), "passphrase"));
    assert_int_equal(bacsc_ca_requests(ca, BACSC_REQ_PENDING, 0, NULL, NULL), 1);
    bacsc_ca_close(ca);
    assert_int_equal(bacsc_ca_open(dir, "s3cret", &ca, err, sizeof err), 0);
    assert_int_equal(bacsc_ca_approve(ca, &sel, NULL, NULL), 1);
    bacsc_ca_close(ca);
    csr_free(&c);
}

/* Sign `req` as a CA certificate with `root` (the enterprise side). */
static X509 *enterprise_sign(const uint8_t *der, size_t len, X509 *root, EVP_PKEY *rootkey,
                             bool ca)
{
    const unsigned char *p = der;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
    X509_set_issuer_name(x, X509_get_subject_name(root));
    X509_set_subject_name(x, X509_REQ_get_subject_name(req));
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400 * 365);
    X509_set_pubkey(x, X509_REQ_get0_pubkey(req));
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, root, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
                                            ca ? "critical,CA:TRUE,pathlen:0" : "CA:FALSE");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    e = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage,
                            ca ? "critical,keyCertSign,cRLSign" : "digitalSignature");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    e = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    X509_sign(x, rootkey, EVP_sha256());
    X509_REQ_free(req);
    return x;
}

static void issuing_ca_install(void **state)
{
    (void)state;
    char dir[400], err[256], path[500];
    snprintf(dir, sizeof dir, "%s/issuing", tmpdir);
    bacsc_ca_init_params ip = {.dir = dir, .name = "Issuing CA", .issuing = true};
    assert_int_equal(bacsc_ca_init(&ip, err, sizeof err), 0);
    assert_int_equal(bacsc_ca_init(&ip, err, sizeof err), BACSC_ERR_EXISTS);
    snprintf(path, sizeof path, "%s/ca.csr", dir);
    uint8_t *pem;
    size_t plen;
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    pem = malloc(8192);
    plen = fread(pem, 1, 8192, f);
    fclose(f);
    uint8_t *der;
    size_t len;
    assert_int_equal(bacsc_pki_to_der(BACSC_PKI_CSR, pem, plen, &der, &len), 0);
    free(pem);
    bacsc_csr_info info;
    assert_int_equal(bacsc_pki_csr_inspect(der, len, &info, err, sizeof err), 0);
    assert_true(info.requests_ca);
    assert_true(info.signature_ok);
    assert_string_equal(info.cn, "Issuing CA");

    bacsc_ca *ca;
    assert_int_equal(bacsc_ca_open(dir, NULL, &ca, err, sizeof err), 0);
    assert_null(bacsc_ca_cert(ca));
    csr c = make_csr(BACSC_KEY_EC_P256, "x", NULL, false);
    bacsc_request_result res;
    assert_int_equal(submit1(ca, &c, &res), 1);
    bacsc_selector sel = {.all = true};
    assert_int_equal(bacsc_ca_approve(ca, &sel, NULL, NULL), BACSC_ERR_STATE);

    EVP_PKEY *rootkey;
    X509 *root;
    bacsc_pki_keygen(BACSC_KEY_EC_P256, &rootkey);
    bacsc_pki_make_ca_cert(rootkey, "Enterprise Root", NULL, 3650, &root);
    /* refused: not a CA certificate; refused: another key */
    X509 *notca = enterprise_sign(der, len, root, rootkey, false);
    unsigned char *xd = NULL;
    int xl = i2d_X509(notca, &xd);
    assert_int_equal(bacsc_ca_install_cert(ca, xd, (size_t)xl), BACSC_ERR_POLICY);
    assert_non_null(strstr(bacsc_ca_errmsg(ca), "CA:TRUE"));
    OPENSSL_free(xd);
    X509_free(notca);
    csr other = make_csr(BACSC_KEY_EC_P256, "Issuing CA", NULL, true);
    X509 *wrong = enterprise_sign(other.der, other.len, root, rootkey, true);
    xd = NULL;
    xl = i2d_X509(wrong, &xd);
    assert_int_equal(bacsc_ca_install_cert(ca, xd, (size_t)xl), BACSC_ERR_POLICY);
    assert_non_null(strstr(bacsc_ca_errmsg(ca), "key"));
    OPENSSL_free(xd);
    X509_free(wrong);
    csr_free(&other);
    /* accepted: signed CA certificate + chain (PEM) */
    X509 *good = enterprise_sign(der, len, root, rootkey, true);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, good);
    PEM_write_bio_X509(b, root);
    char *bp;
    long bl = BIO_get_mem_data(b, &bp);
    assert_int_equal(bacsc_ca_install_cert(ca, (uint8_t *)bp, (size_t)bl), 0);
    BIO_free(b);
    assert_non_null(bacsc_ca_cert(ca));
    assert_int_equal(sk_X509_num(bacsc_ca_chain(ca)), 1);
    assert_int_equal(bacsc_ca_approve(ca, &sel, NULL, NULL), 1);
    first_cert fc = {0};
    bacsc_ca_certs(ca, NULL, grab_cert, &fc);
    assert_int_equal(bacsc_pki_cert_issued_by(fc.x, good), 1);
    assert_int_equal(bacsc_pki_cert_issued_by(fc.x, root), 0);
    X509_free(fc.x);
    bacsc_ca_close(ca);
    /* reopened: the installed certificate and chain are loaded */
    assert_int_equal(bacsc_ca_open(dir, NULL, &ca, err, sizeof err), 0);
    assert_int_equal(X509_cmp(bacsc_ca_cert(ca), good), 0);
    assert_int_equal(sk_X509_num(bacsc_ca_chain(ca)), 1);
    bacsc_ca_close(ca);
    X509_free(good);
    X509_free(root);
    EVP_PKEY_free(rootkey);
    free(der);
    csr_free(&c);
}

static void stored_garbage_is_rejected_not_lost(void **state)
{
    (void)state;
    bacsc_ca *ca = new_ca("garbage", NULL);
    static const uint8_t junk[] = "not a csr at all";
    bacsc_request_in in = {.csr = junk, .csr_len = sizeof junk, .entry = "junk.csr",
                           .device_instance = -1};
    bacsc_request_result res;
    assert_int_equal(bacsc_ca_submit(ca, NULL, &in, 1, NULL, &res), 0);
    assert_int_equal(res.status, BACSC_REQ_REJECTED);
    assert_true(res.id > 0);
    assert_int_equal(bacsc_ca_requests(ca, BACSC_REQ_REJECTED, 0, NULL, NULL), 1);
    bacsc_ca_close(ca);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(policy_defaults_roundtrip),
        cmocka_unit_test(policy_set_validates),
        cmocka_unit_test(policy_load_rejects_bad_files),
        cmocka_unit_test(csr_valid_p256),
        cmocka_unit_test(csr_bad_signature),
        cmocka_unit_test(csr_ca_request_rejected),
        cmocka_unit_test(csr_key_types),
        cmocka_unit_test(csr_subject_and_uuid_rules),
        cmocka_unit_test(to_der_accepts_pem_and_refuses_garbage),
        cmocka_unit_test(profile_of_issued_certificate),
        cmocka_unit_test(signer_direct_and_demo),
        cmocka_unit_test(duplicate_uuid_and_renewal),
        cmocka_unit_test(approve_reject_auto_and_limits),
        cmocka_unit_test(store_invariants_enforced),
        cmocka_unit_test(crl_lists_revoked),
        cmocka_unit_test(encrypted_key_needs_passphrase),
        cmocka_unit_test(issuing_ca_install),
        cmocka_unit_test(stored_garbage_is_rejected_not_lost),
    };
    return cmocka_run_group_tests(tests, make_tmp, rm_tmp);
}
