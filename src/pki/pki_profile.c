/*
 * pki_profile.c — the certificate profiles bacsc issues: the CA certificate
 * and the BACnet/SC operational certificate (bacsc_signer), plus the demo PKI.
 *
 * The signer prepares everything that is the same for every certificate once
 * (issuer name with its DER cached, basicConstraints, keyUsage, EKU and AKI
 * extensions), so issuing costs one X509 build + one ECDSA signature. After
 * bacsc_signer_new() the signer is only read, so several threads may issue
 * with it at once.
 */
#include "pki_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "bacsc/error.h"

struct bacsc_signer {
    X509 *ca;
    EVP_PKEY *key;
    X509_NAME *issuer;
    X509_EXTENSION *bc, *ku, *eku, *aki;
    /* DigestSign context initialised once; each certificate signs with a
     * copy (OpenSSL 3.0 spends more time fetching algorithms in
     * EVP_DigestSignInit than signing a P-256 certificate). */
    EVP_MD_CTX *tmpl;
};

/* Sign `x` with a copy of the signer's template context. */
static int sign_cert(bacsc_signer *s, X509 *x)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_MD_CTX_copy_ex(c, s->tmpl) && X509_sign_ctx(x, c) > 0;
    EVP_MD_CTX_free(c);
    return ok;
}

/* ---- extension builders -------------------------------------------------- */

static X509_EXTENSION *ext_basic_constraints(bool ca, long pathlen)
{
    BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
    X509_EXTENSION *e = NULL;
    if (!bc)
        return NULL;
    bc->ca = ca ? 0xff : 0;
    if (ca && pathlen >= 0) {
        bc->pathlen = ASN1_INTEGER_new();
        if (!bc->pathlen || !ASN1_INTEGER_set(bc->pathlen, pathlen))
            goto out;
    }
    e = X509V3_EXT_i2d(NID_basic_constraints, 1, bc);
out:
    BASIC_CONSTRAINTS_free(bc);
    return e;
}

static X509_EXTENSION *ext_key_usage(const int *bits, int n)
{
    ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
    X509_EXTENSION *e = NULL;
    if (!ku)
        return NULL;
    for (int i = 0; i < n; i++)
        if (!ASN1_BIT_STRING_set_bit(ku, bits[i], 1))
            goto out;
    e = X509V3_EXT_i2d(NID_key_usage, 1, ku);
out:
    ASN1_BIT_STRING_free(ku);
    return e;
}

static X509_EXTENSION *ext_eku(void)
{
    EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
    X509_EXTENSION *e = NULL;
    if (!eku)
        return NULL;
    if (sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)) &&
        sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)))
        e = X509V3_EXT_i2d(NID_ext_key_usage, 0, eku);
    sk_ASN1_OBJECT_free(eku); /* static objects: do not free them */
    return e;
}

static ASN1_OCTET_STRING *key_id(X509 *x)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!X509_pubkey_digest(x, EVP_sha1(), md, &len))
        return NULL;
    ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();
    if (o && !ASN1_OCTET_STRING_set(o, md, (int)len)) {
        ASN1_OCTET_STRING_free(o);
        o = NULL;
    }
    return o;
}

static X509_EXTENSION *ext_aki(X509 *issuer)
{
    AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
    X509_EXTENSION *e = NULL;
    if (!aki)
        return NULL;
    int crit = 0;
    /* Use the issuer's own SKI when it has one, else hash its key. */
    ASN1_OCTET_STRING *ski = X509_get_ext_d2i(issuer, NID_subject_key_identifier, &crit, NULL);
    aki->keyid = ski ? ski : key_id(issuer);
    if (aki->keyid)
        e = X509V3_EXT_i2d(NID_authority_key_identifier, 0, aki);
    AUTHORITY_KEYID_free(aki);
    return e;
}

static int add_ski(X509 *x)
{
    ASN1_OCTET_STRING *o = key_id(x);
    int ok = o && X509_add1_ext_i2d(x, NID_subject_key_identifier, o, 0, X509V3_ADD_DEFAULT) == 1;
    ASN1_OCTET_STRING_free(o);
    return ok;
}

static int set_validity(X509 *x, int64_t not_before, int64_t days)
{
    return ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before) &&
           ASN1_TIME_set(X509_getm_notAfter(x), (time_t)(not_before + days * 86400));
}

static int set_serial(X509 *x, const uint8_t *given)
{
    uint8_t s[BACSC_PKI_SERIAL_LEN];
    if (given)
        memcpy(s, given, sizeof s);
    else if (pki_random_serial(s) != BACSC_OK)
        return 0;
    return ASN1_STRING_set(X509_get_serialNumber(x), s, sizeof s);
}

static int64_t wall_now(void)
{
    return (int64_t)time(NULL);
}

/* ---- CA certificate ------------------------------------------------------- */

int bacsc_pki_make_ca_cert(EVP_PKEY *key, const char *name, const char *org, int validity_days,
                           X509 **out)
{
    if (!key || !name || !*name || !out)
        return BACSC_ERR_INVALID_ARG;
    if (validity_days <= 0)
        validity_days = 3650;
    bacsc_cert_spec spec = {.cn = name, .org = org};
    X509_NAME *n = pki_spec_name(&spec);
    X509 *x = X509_new();
    static const int ca_bits[] = {5, 6}; /* keyCertSign, cRLSign */
    X509_EXTENSION *bc = ext_basic_constraints(true, 0);
    X509_EXTENSION *ku = ext_key_usage(ca_bits, 2);
    int rc = BACSC_ERR_CRYPTO;
    if (!n || !x || !bc || !ku)
        goto out;
    if (!X509_set_version(x, 2) || !set_serial(x, NULL) || !X509_set_subject_name(x, n) ||
        !X509_set_issuer_name(x, n) || !set_validity(x, wall_now() - 3600, validity_days) ||
        !X509_set_pubkey(x, key) || !X509_add_ext(x, bc, -1) || !X509_add_ext(x, ku, -1) ||
        !add_ski(x))
        goto out;
    X509_EXTENSION *aki = ext_aki(x);
    int ok = aki && X509_add_ext(x, aki, -1);
    X509_EXTENSION_free(aki);
    if (!ok || X509_sign(x, key, EVP_sha256()) <= 0)
        goto out;
    *out = x;
    x = NULL;
    rc = BACSC_OK;
out:
    X509_NAME_free(n);
    X509_free(x);
    X509_EXTENSION_free(bc);
    X509_EXTENSION_free(ku);
    ERR_clear_error();
    return rc;
}

/* ---- signer --------------------------------------------------------------- */

int bacsc_signer_new(X509 *ca_cert, EVP_PKEY *ca_key, bacsc_signer **out)
{
    if (!ca_cert || !ca_key || !out)
        return BACSC_ERR_INVALID_ARG;
    if (X509_check_private_key(ca_cert, ca_key) != 1) {
        ERR_clear_error();
        return BACSC_ERR_INVALID_ARG;
    }
    bacsc_signer *s = calloc(1, sizeof *s);
    if (!s)
        return BACSC_ERR_NOMEM;
    static const int ds[] = {0}; /* digitalSignature */
    s->ca = ca_cert;
    X509_up_ref(ca_cert);
    s->key = ca_key;
    EVP_PKEY_up_ref(ca_key);
    s->issuer = X509_NAME_dup(X509_get_subject_name(ca_cert));
    s->bc = ext_basic_constraints(false, -1);
    s->ku = ext_key_usage(ds, 1);
    s->eku = ext_eku();
    s->aki = ext_aki(ca_cert);
    s->tmpl = EVP_MD_CTX_new();
    if (s->tmpl && EVP_DigestSignInit(s->tmpl, NULL, EVP_sha256(), NULL, ca_key) != 1) {
        EVP_MD_CTX_free(s->tmpl);
        s->tmpl = NULL;
    }
    /* Cache the issuer name's encoding now so concurrent X509_set_issuer_name
     * (which duplicates via i2d) only ever reads it. */
    if (!s->issuer || i2d_X509_NAME(s->issuer, NULL) <= 0 || !s->bc || !s->ku || !s->eku ||
        !s->aki || !s->tmpl) {
        bacsc_signer_free(s);
        ERR_clear_error();
        return BACSC_ERR_CRYPTO;
    }
    *out = s;
    return BACSC_OK;
}

void bacsc_signer_free(bacsc_signer *s)
{
    if (!s)
        return;
    X509_free(s->ca);
    EVP_PKEY_free(s->key);
    X509_NAME_free(s->issuer);
    X509_EXTENSION_free(s->bc);
    X509_EXTENSION_free(s->ku);
    X509_EXTENSION_free(s->eku);
    X509_EXTENSION_free(s->aki);
    EVP_MD_CTX_free(s->tmpl);
    free(s);
}

/* Build and sign one operational certificate. `subject` and `sans` are only
 * read (sans may be NULL). */
static int issue(bacsc_signer *s, EVP_PKEY *pubkey, const X509_NAME *subject,
                 GENERAL_NAMES *sans, int validity_days, int64_t now, const uint8_t *serial,
                 X509 **out)
{
    if (validity_days <= 0)
        validity_days = 365;
    if (now <= 0)
        now = wall_now();
    X509 *x = X509_new();
    if (!x)
        return BACSC_ERR_NOMEM;
    int ok = X509_set_version(x, 2) && set_serial(x, serial) &&
             X509_set_issuer_name(x, s->issuer) && set_validity(x, now - 3600, validity_days) &&
             X509_set_subject_name(x, subject) && X509_set_pubkey(x, pubkey) &&
             X509_add_ext(x, s->bc, -1) && X509_add_ext(x, s->ku, -1) &&
             X509_add_ext(x, s->eku, -1) && add_ski(x) && X509_add_ext(x, s->aki, -1) &&
             (!sans || sk_GENERAL_NAME_num(sans) == 0 ||
              X509_add1_ext_i2d(x, NID_subject_alt_name, sans, 0, X509V3_ADD_DEFAULT) == 1) &&
             sign_cert(s, x);
    if (!ok) {
        X509_free(x);
        ERR_clear_error();
        return BACSC_ERR_CRYPTO;
    }
    *out = x;
    return BACSC_OK;
}

int bacsc_signer_issue(bacsc_signer *s, EVP_PKEY *pubkey, const bacsc_cert_spec *spec,
                       int64_t now, X509 **out)
{
    if (!s || !pubkey || !spec || !out)
        return BACSC_ERR_INVALID_ARG;
    int bad = 0;
    GENERAL_NAMES *sans = pki_spec_sans(spec, &bad);
    if (bad)
        return bad == -2 ? BACSC_ERR_INVALID_ARG : BACSC_ERR_NOMEM;
    X509_NAME *name = pki_spec_name(spec);
    int rc = name ? issue(s, pubkey, name, sans, spec->validity_days, now, NULL, out)
                  : BACSC_ERR_NOMEM;
    X509_NAME_free(name);
    GENERAL_NAMES_free(sans);
    return rc;
}

/* The CSR's SANs that `carry` allows, as a new GENERAL_NAMES (maybe empty). */
static GENERAL_NAMES *carried_sans(X509_REQ *req, const bacsc_carry *carry, int *bad)
{
    *bad = 0;
    GENERAL_NAMES *out = sk_GENERAL_NAME_new_null();
    if (!out) {
        *bad = 1;
        return NULL;
    }
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    if (!exts)
        return out;
    int crit = 0;
    GENERAL_NAMES *in = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
    if (!in && crit != -1)
        *bad = 1;
    for (int i = 0; in && i < sk_GENERAL_NAME_num(in); i++) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(in, i);
        bool keep = false;
        if (g->type == GEN_URI) {
            char u[BACSC_PKI_UUID_STR_LEN];
            const ASN1_IA5STRING *s = g->d.uniformResourceIdentifier;
            bool is_uuid = pki_parse_urn_uuid((const char *)ASN1_STRING_get0_data(s),
                                              (size_t)ASN1_STRING_length(s), u);
            keep = is_uuid ? carry->uuid : carry->uri_other;
        } else if (g->type == GEN_DNS) {
            keep = carry->dns;
        } else if (g->type == GEN_IPADD) {
            keep = carry->ip;
        }
        if (keep) {
            GENERAL_NAME *d = GENERAL_NAME_dup(g);
            if (!d || !sk_GENERAL_NAME_push(out, d)) {
                GENERAL_NAME_free(d);
                *bad = 1;
            }
        }
    }
    GENERAL_NAMES_free(in);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return out;
}

int bacsc_signer_issue_csr(bacsc_signer *s, X509_REQ *req, const bacsc_carry *carry,
                           int validity_days, int64_t now, const uint8_t *serial, X509 **out)
{
    if (!s || !req || !carry || !out)
        return BACSC_ERR_INVALID_ARG;
    EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
    if (!pub) {
        ERR_clear_error();
        return BACSC_ERR_MALFORMED;
    }
    int bad = 0;
    GENERAL_NAMES *sans = carried_sans(req, carry, &bad);
    X509_NAME *name = NULL;
    const X509_NAME *subject = X509_REQ_get_subject_name(req);
    if (!carry->subject_full) {
        char cn[128];
        pki_name_cn(subject, cn, sizeof cn);
        bacsc_cert_spec spec = {.cn = cn};
        name = pki_spec_name(&spec);
        subject = name;
    }
    int rc = BACSC_ERR_MALFORMED;
    if (!bad && subject)
        rc = issue(s, pub, subject, sans, validity_days, now, serial, out);
    X509_NAME_free(name);
    GENERAL_NAMES_free(sans);
    ERR_clear_error();
    return rc;
}

/* ---- demo PKI --------------------------------------------------------------- */

static int demo_node(bacsc_signer *s, const char *dir, const char *name, FILE *uuids, char *err,
                     size_t errlen)
{
    char uuid[BACSC_PKI_UUID_STR_LEN], path[4096];
    static const char *const dns[] = {"localhost"};
    static const char *const ip[] = {"127.0.0.1"};
    EVP_PKEY *k = NULL;
    X509 *x = NULL;
    int rc = bacsc_pki_uuid_random(uuid);
    if (rc == BACSC_OK)
        rc = bacsc_pki_keygen(BACSC_KEY_EC_P256, &k);
    if (rc == BACSC_OK) {
        bacsc_cert_spec spec = {.cn = name, .device_uuid = uuid, .dns = dns, .n_dns = 1,
                                .ip = ip, .n_ip = 1, .validity_days = 365};
        rc = bacsc_signer_issue(s, k, &spec, 0, &x);
    }
    if (rc != BACSC_OK) {
        EVP_PKEY_free(k);
        return pki_fail(err, errlen, rc, "cannot create the %s key and certificate", name);
    }
    snprintf(path, sizeof path, "%s/%s.key", dir, name);
    rc = bacsc_pki_key_write(path, k, NULL);
    if (rc == BACSC_OK) {
        snprintf(path, sizeof path, "%s/%s.pem", dir, name);
        rc = bacsc_pki_cert_write(path, &x, 1);
    }
    if (rc != BACSC_OK)
        pki_fail(err, errlen, rc, "cannot write %s: %s", path, strerror(errno));
    else
        fprintf(uuids, "%s %s\n", name, uuid);
    EVP_PKEY_free(k);
    X509_free(x);
    return rc;
}

int bacsc_pki_demo(const char *dir, unsigned nodes, char *err, size_t errlen)
{
    if (!dir || nodes > 10000)
        return pki_fail(err, errlen, BACSC_ERR_INVALID_ARG, "node count must be 0..10000");
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return pki_fail(err, errlen, BACSC_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    char path[4096];
    EVP_PKEY *cak = NULL;
    X509 *ca = NULL;
    bacsc_signer *s = NULL;
    FILE *uuids = NULL;
    int rc = bacsc_pki_keygen(BACSC_KEY_EC_P256, &cak);
    if (rc == BACSC_OK)
        rc = bacsc_pki_make_ca_cert(cak, "bacsc demo CA", NULL, 3650, &ca);
    if (rc == BACSC_OK)
        rc = bacsc_signer_new(ca, cak, &s);
    if (rc != BACSC_OK) {
        pki_fail(err, errlen, rc, "cannot create the demo CA");
        goto out;
    }
    snprintf(path, sizeof path, "%s/ca.key", dir);
    rc = bacsc_pki_key_write(path, cak, NULL);
    if (rc == BACSC_OK) {
        snprintf(path, sizeof path, "%s/ca.pem", dir);
        rc = bacsc_pki_cert_write(path, &ca, 1);
    }
    if (rc != BACSC_OK) {
        pki_fail(err, errlen, rc, "cannot write %s: %s", path, strerror(errno));
        goto out;
    }
    snprintf(path, sizeof path, "%s/uuids.txt", dir);
    uuids = fopen(path, "w");
    if (!uuids) {
        rc = pki_fail(err, errlen, BACSC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        goto out;
    }
    rc = demo_node(s, dir, "hub", uuids, err, errlen);
    for (unsigned i = 1; rc == BACSC_OK && i <= nodes; i++) {
        char name[32];
        snprintf(name, sizeof name, "node%u", i);
        rc = demo_node(s, dir, name, uuids, err, errlen);
    }
    if (fclose(uuids) != 0 && rc == BACSC_OK)
        rc = pki_fail(err, errlen, BACSC_ERR_IO, "cannot write %s/uuids.txt", dir);
out:
    bacsc_signer_free(s);
    X509_free(ca);
    EVP_PKEY_free(cak);
    return rc;
}

/* ---- signing from stored parts (the fast path of the CA store) ---------------- */

/* Put the stored SPKI pieces into the certificate without decoding the key. */
static int set_pubkey_parts(X509 *x, const pki_parts *parts)
{
    const unsigned char *p = parts->alg;
    X509_ALGOR *alg = d2i_X509_ALGOR(NULL, &p, parts->alg_len);
    if (!alg)
        return 0;
    const ASN1_OBJECT *obj = NULL;
    const void *pval = NULL;
    int ptype = V_ASN1_UNDEF;
    X509_ALGOR_get0(&obj, &ptype, &pval, alg);
    void *pv = NULL;
    if (ptype == V_ASN1_OBJECT)
        pv = OBJ_dup(pval);
    else if (ptype != V_ASN1_UNDEF && ptype != V_ASN1_NULL && pval)
        pv = ASN1_STRING_dup(pval);
    ASN1_OBJECT *o = OBJ_dup(obj);
    unsigned char *bits = OPENSSL_malloc((size_t)parts->bits_len + 1);
    int ok = o && bits && (pv || ptype == V_ASN1_UNDEF || ptype == V_ASN1_NULL);
    if (ok) {
        memcpy(bits, parts->bits, (size_t)parts->bits_len);
        ok = X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x), o, ptype, pv, bits,
                                    parts->bits_len);
    }
    if (!ok) {
        ASN1_OBJECT_free(o);
        OPENSSL_free(bits);
        if (ptype == V_ASN1_OBJECT)
            ASN1_OBJECT_free(pv);
        else
            ASN1_STRING_free(pv);
    }
    X509_ALGOR_free(alg);
    return ok;
}

/* The SANs `carry` allows out of a GENERAL_NAMES list (consumed). */
static GENERAL_NAMES *filter_sans(GENERAL_NAMES *in, const bacsc_carry *carry)
{
    for (int i = sk_GENERAL_NAME_num(in) - 1; i >= 0; i--) {
        GENERAL_NAME *g = sk_GENERAL_NAME_value(in, i);
        bool keep = false;
        if (g->type == GEN_URI) {
            char u[BACSC_PKI_UUID_STR_LEN];
            const ASN1_IA5STRING *s = g->d.uniformResourceIdentifier;
            keep = pki_parse_urn_uuid((const char *)ASN1_STRING_get0_data(s),
                                      (size_t)ASN1_STRING_length(s), u)
                       ? carry->uuid
                       : carry->uri_other;
        } else if (g->type == GEN_DNS) {
            keep = carry->dns;
        } else if (g->type == GEN_IPADD) {
            keep = carry->ip;
        }
        if (!keep)
            GENERAL_NAME_free(sk_GENERAL_NAME_delete(in, i));
    }
    return in;
}

int pki_signer_issue_parts(bacsc_signer *s, const pki_parts *parts, const bacsc_carry *carry,
                           int validity_days, int64_t now, const uint8_t *serial,
                           unsigned char **der, int *der_len, char *subject_out,
                           size_t subject_len)
{
    if (!s || !parts || !parts->alg || !parts->bits || !parts->subject || !carry || !der)
        return BACSC_ERR_INVALID_ARG;
    if (validity_days <= 0)
        validity_days = 365;
    if (now <= 0)
        now = wall_now();
    const unsigned char *p = parts->subject;
    X509_NAME *subject = d2i_X509_NAME(NULL, &p, parts->subject_len);
    GENERAL_NAMES *sans = NULL;
    if (parts->sans) {
        p = parts->sans;
        sans = d2i_GENERAL_NAMES(NULL, &p, parts->sans_len);
    }
    if (subject && !carry->subject_full) {
        char cn[128];
        pki_name_cn(subject, cn, sizeof cn);
        bacsc_cert_spec spec = {.cn = cn};
        X509_NAME_free(subject);
        subject = pki_spec_name(&spec);
    }
    X509 *x = X509_new();
    int rc = BACSC_ERR_MALFORMED;
    if (!subject || (parts->sans && !sans) || !x)
        goto out;
    if (sans)
        filter_sans(sans, carry);
    rc = BACSC_ERR_CRYPTO;
    if (!X509_set_version(x, 2) || !set_serial(x, serial) || !X509_set_issuer_name(x, s->issuer) ||
        !set_validity(x, now - 3600, validity_days) || !X509_set_subject_name(x, subject) ||
        !set_pubkey_parts(x, parts) || !X509_add_ext(x, s->bc, -1) || !X509_add_ext(x, s->ku, -1) ||
        !X509_add_ext(x, s->eku, -1) || !add_ski(x) || !X509_add_ext(x, s->aki, -1))
        goto out;
    if (sans && sk_GENERAL_NAME_num(sans) > 0 &&
        X509_add1_ext_i2d(x, NID_subject_alt_name, sans, 0, X509V3_ADD_DEFAULT) != 1)
        goto out;
    if (!sign_cert(s, x))
        goto out;
    *der = NULL;
    *der_len = i2d_X509(x, der);
    if (*der_len <= 0)
        goto out;
    if (subject_out)
        pki_name_oneline(subject, subject_out, subject_len);
    rc = BACSC_OK;
out:
    X509_free(x);
    X509_NAME_free(subject);
    GENERAL_NAMES_free(sans);
    ERR_clear_error();
    return rc;
}
