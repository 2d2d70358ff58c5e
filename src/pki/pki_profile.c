/*
 * pki_profile.c — the certificate profiles bacsc issues: the CA certificate
 * and the BACnet/SC operational certificate (bacsc_signer), plus the demo PKI.
 *
 * The signer prepares everything that is the same for every certificate once
 * (issuer name with its DER cached, basicConstraints, keyUsage, EKU and AKI
 * extensions), so issuing costs one X509 build + one ECDSA signature. After
 * bacsc_signer_new() the signer is only read (but for the spare templates of
 * pki_signer_issue_parts, under a lock), so several threads may issue with
 * it at once.
 */
#include "pki_internal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "bacsc/error.h"

/* Spare certificate templates kept by a signer (one per issuing thread). */
#define MAX_SPARE 64

struct bacsc_signer {
    X509 *ca;
    EVP_PKEY *key;
    X509_NAME *issuer;
    X509_EXTENSION *bc, *ku, *eku, *aki;
    /* DigestSign context initialised once; each certificate signs with a
     * copy (OpenSSL 3.0 spends more time fetching algorithms in
     * EVP_DigestSignInit than signing a P-256 certificate). */
    EVP_MD_CTX *tmpl;
    /* pki_signer_issue_parts: certificates with the fields every
     * certificate shares already set, reused (see "signing from stored
     * parts" below); the only state issuing threads share, under `lock`. */
    pthread_mutex_t lock;
    X509 *spare[MAX_SPARE];
    int n_spare;
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
    pthread_mutex_init(&s->lock, NULL);
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
    for (int i = 0; i < s->n_spare; i++)
        X509_free(s->spare[i]);
    pthread_mutex_destroy(&s->lock);
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

/* A certificate with what every certificate of this signer shares already
 * set (version, issuer, basicConstraints, keyUsage, EKU, AKI and the
 * signature algorithm, which signing it once records in both places), and
 * placeholders where each certificate puts its own (serial, validity,
 * subject, key, SKI). Made on first use with the first request's key. */
static X509 *template_new(bacsc_signer *s, const pki_parts *parts)
{
    X509 *x = X509_new();
    X509_NAME *empty = X509_NAME_new();
    int ok = x && empty && X509_set_version(x, 2) && set_serial(x, NULL) &&
             X509_set_issuer_name(x, s->issuer) && set_validity(x, wall_now(), 1) &&
             X509_set_subject_name(x, empty) && set_pubkey_parts(x, parts) &&
             X509_add_ext(x, s->bc, -1) && X509_add_ext(x, s->ku, -1) &&
             X509_add_ext(x, s->eku, -1) && add_ski(x) && X509_add_ext(x, s->aki, -1) &&
             sign_cert(s, x);
    X509_NAME_free(empty);
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static X509 *template_get(bacsc_signer *s, const pki_parts *parts)
{
    X509 *x = NULL;
    pthread_mutex_lock(&s->lock);
    if (s->n_spare > 0)
        x = s->spare[--s->n_spare];
    pthread_mutex_unlock(&s->lock);
    return x ? x : template_new(s, parts);
}

static void template_put(bacsc_signer *s, X509 *x)
{
    pthread_mutex_lock(&s->lock);
    if (x && s->n_spare < MAX_SPARE) {
        s->spare[s->n_spare++] = x;
        x = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    X509_free(x);
}

/* The subject: the CSR's whole name, or only its CN (as pki_spec_name
 * makes it: one UTF8String CN, none when the CSR has no CN). Entries are
 * changed through X509_NAME_delete_entry/add_entry, which mark the name
 * for re-encoding. */
static int template_subject(X509 *x, const X509_NAME *csr_subject, bool full)
{
    if (full)
        return X509_set_subject_name(x, csr_subject);
    char cn[128];
    pki_name_cn(csr_subject, cn, sizeof cn);
    X509_NAME *n = X509_get_subject_name(x);
    while (X509_NAME_entry_count(n) > 0)
        X509_NAME_ENTRY_free(X509_NAME_delete_entry(n, 0));
    return !cn[0] || X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
                                                (const unsigned char *)cn, -1, -1, 0);
}

/* SKI of the new key in place; the SAN extension replaced (kept last, as
 * issue() adds it), or removed when this certificate has none. */
static int template_exts(X509 *x, GENERAL_NAMES *sans)
{
    ASN1_OCTET_STRING *o = key_id(x);
    int ok = o && X509_add1_ext_i2d(x, NID_subject_key_identifier, o, 0,
                                X509V3_ADD_REPLACE_EXISTING) == 1;
    ASN1_OCTET_STRING_free(o);
    if (!ok)
        return 0;
    if (sans && sk_GENERAL_NAME_num(sans) > 0)
        return X509_add1_ext_i2d(x, NID_subject_alt_name, sans, 0, X509V3_ADD_REPLACE) == 1;
    if (X509_get_ext_by_NID(x, NID_subject_alt_name, -1) < 0)
        return 1;
    return X509_add1_ext_i2d(x, NID_subject_alt_name, NULL, 0, X509V3_ADD_DELETE) == 1;
}

/* Sign the TBSCertificate DER and make the Certificate: SEQUENCE { tbs,
 * signatureAlgorithm, signature }, encoded by OpenSSL as a SEQUENCE of
 * three ANY values (the first two already DER, from i2d). The TBS is
 * encoded once: X509_sign_ctx followed by i2d_X509 encodes it twice. */
static int sign_tbs(bacsc_signer *s, X509 *x, unsigned char **der, int *der_len)
{
    unsigned char *tbs = NULL, *sig = NULL, *alg = NULL;
    const X509_ALGOR *sig_alg = NULL;
    X509_get0_signature(NULL, &sig_alg, x);
    int tbs_len = i2d_re_X509_tbs(x, &tbs), alg_len = i2d_X509_ALGOR(sig_alg, &alg);
    int max = EVP_PKEY_get_size(s->key);
    size_t sig_len = max > 0 ? (size_t)max : 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = tbs_len > 0 && alg_len > 0 && sig_len > 0 && c && EVP_MD_CTX_copy_ex(c, s->tmpl) &&
             (sig = OPENSSL_malloc(sig_len)) != NULL &&
             EVP_DigestSign(c, sig, &sig_len, tbs, (size_t)tbs_len) == 1 && sig_len <= INT_MAX;
    EVP_MD_CTX_free(c);
    ASN1_SEQUENCE_ANY *seq = ok ? sk_ASN1_TYPE_new_null() : NULL;
    ASN1_TYPE *t[3] = {ASN1_TYPE_new(), ASN1_TYPE_new(), ASN1_TYPE_new()};
    ASN1_STRING *v_tbs = ASN1_STRING_new(), *v_alg = ASN1_STRING_new();
    ASN1_BIT_STRING *v_sig = ASN1_BIT_STRING_new();
    ok = seq && t[0] && t[1] && t[2] && v_tbs && v_alg && v_sig;
    if (ok) {
        ASN1_STRING_set0(v_tbs, tbs, tbs_len);
        ASN1_STRING_set0(v_alg, alg, alg_len);
        ASN1_STRING_set0(v_sig, sig, (int)sig_len);
        tbs = alg = sig = NULL;
        /* all bits of the last octet are used: no trailing-zero trimming */
        v_sig->flags = (v_sig->flags & ~0x07L) | ASN1_STRING_FLAG_BITS_LEFT;
        ASN1_TYPE_set(t[0], V_ASN1_SEQUENCE, v_tbs);
        ASN1_TYPE_set(t[1], V_ASN1_SEQUENCE, v_alg);
        ASN1_TYPE_set(t[2], V_ASN1_BIT_STRING, v_sig);
        v_tbs = v_alg = v_sig = NULL;
        for (int i = 0; ok && i < 3; i++)
            if ((ok = sk_ASN1_TYPE_push(seq, t[i]) > 0))
                t[i] = NULL;
    }
    *der = NULL;
    *der_len = ok ? i2d_ASN1_SEQUENCE_ANY(seq, der) : 0;
    sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
    for (int i = 0; i < 3; i++)
        ASN1_TYPE_free(t[i]);
    ASN1_STRING_free(v_tbs);
    ASN1_STRING_free(v_alg);
    ASN1_BIT_STRING_free(v_sig);
    OPENSSL_free(tbs);
    OPENSSL_free(alg);
    OPENSSL_free(sig);
    return *der_len > 0;
}

int pki_signer_issue_parts(bacsc_signer *s, const pki_parts *parts, const bacsc_carry *carry,
                           int validity_days, int64_t now, const uint8_t *serial,
                           unsigned char **der, int *der_len, char *subject_out,
                           size_t subject_len)
{
    if (!s || !parts || !parts->alg || !parts->bits || !parts->subject || !carry || !der ||
        !der_len)
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
    X509 *x = NULL;
    int rc = BACSC_ERR_MALFORMED;
    if (!subject || (parts->sans && !sans))
        goto out;
    if (sans)
        filter_sans(sans, carry);
    rc = BACSC_ERR_CRYPTO;
    x = template_get(s, parts);
    if (!x || !set_serial(x, serial) || !set_validity(x, now - 3600, validity_days) ||
        !template_subject(x, subject, carry->subject_full) || !set_pubkey_parts(x, parts) ||
        !template_exts(x, sans) || !sign_tbs(s, x, der, der_len))
        goto out;
    if (subject_out)
        pki_name_oneline(X509_get_subject_name(x), subject_out, subject_len);
    rc = BACSC_OK;
out:
    if (rc == BACSC_OK)
        template_put(s, x);
    else
        X509_free(x); /* maybe half changed: never reused */
    X509_NAME_free(subject);
    GENERAL_NAMES_free(sans);
    ERR_clear_error();
    return rc;
}
