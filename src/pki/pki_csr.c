/*
 * pki_csr.c — a CSR parsed once, cheaply, with its self-signature verified
 * once (the bacsc_csr of pki_internal.h).
 *
 * Why: OpenSSL 3.0 decodes the public key of every X509_PUBKEY it parses
 * through the provider decoder framework (OSSL_DECODER_CTX_new_for_pkey),
 * which costs ~80 us of CPU per CSR on the dev VM — more than the ECDSA
 * verification itself. The CA pipeline (CARI reader, submit, signing) only
 * needs the key once, to verify the self-signature, so:
 *
 *  - the CSR is parsed with a library context that holds only the "null"
 *    provider: the structure (subject, SPKI algorithm and bits, attributes,
 *    signature) is decoded as usual, the opportunistic key decode finds no
 *    decoder and is skipped (~4 us instead of ~80 us);
 *  - the key is built from the SPKI directly: for a named-curve EC key by
 *    copying a parameters-only key of that curve made once per process and
 *    setting the encoded point (~4 us; EVP_PKEY_fromdata would rebuild the
 *    curve group each time, ~15 us); the point is checked to be on the curve
 *    as with the decoder; any other key type (RSA, EdDSA, explicit curve
 *    parameters) goes through d2i_PUBKEY as before;
 *  - the result of X509_REQ_verify is kept, so a CSR checked by the CARI
 *    reader is not verified again by bacsc_ca_submit;
 *  - when it is kept, what the reader, the policy check and the store each
 *    read from the request again is read once and kept too: the SHA-256 of
 *    the SubjectPublicKeyInfo and the decoded extensions (basicConstraints,
 *    subjectAltName).
 *
 * Nothing here parses ASN.1 by hand: OpenSSL's d2i/i2d do all of it.
 */
#include "pki_internal.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/x509v3.h>

#include "bacsc/error.h"

struct bacsc_csr {
    uint8_t *der; /* copy of the DER this was parsed from */
    size_t len;
    X509_REQ *req; /* public key not decoded: use pki_csr_key() */
    EVP_PKEY *key; /* built on first use */
    int key_state; /* 0 not tried, 1 built, -1 unusable */
    const char *key_problem; /* why unusable, when known (static text) */
    int sig_state; /* 0 not checked, 1 verifies, -1 does not */
    /* Set with sig_state (then only read): see pki_csr_spki_fp/_exts. */
    bool derived, fp_ok;
    uint8_t fp[32];
    pki_csr_exts exts; /* sans owned by c */
};

static OSSL_LIB_CTX *nokey_ctx;
static pthread_once_t nokey_once = PTHREAD_ONCE_INIT;

static void nokey_init(void)
{
    /* The "null" provider offers no algorithm at all, and having a provider
     * loaded stops the default one from being loaded into this context. */
    OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
    if (ctx && !OSSL_PROVIDER_load(ctx, "null")) {
        OSSL_LIB_CTX_free(ctx);
        ctx = NULL;
    }
    nokey_ctx = ctx; /* NULL: fall back to the ordinary (slower) parse */
    ERR_clear_error();
}

int pki_csr_parse(const uint8_t *der, size_t len, bacsc_csr **out)
{
    *out = NULL;
    if (!der || len == 0 || len > LONG_MAX)
        return BACSC_ERR_MALFORMED;
    pthread_once(&nokey_once, nokey_init);
    const unsigned char *p = der;
    X509_REQ *req = (X509_REQ *)ASN1_item_d2i_ex(NULL, &p, (long)len, ASN1_ITEM_rptr(X509_REQ),
                                                 nokey_ctx, NULL);
    if (!req || p != der + len) {
        X509_REQ_free(req);
        ERR_clear_error();
        return BACSC_ERR_MALFORMED;
    }
    bacsc_csr *c = calloc(1, sizeof *c);
    if (c)
        c->der = malloc(len);
    if (!c || !c->der) {
        free(c);
        X509_REQ_free(req);
        return BACSC_ERR_NOMEM;
    }
    memcpy(c->der, der, len);
    c->len = len;
    c->req = req;
    *out = c;
    return BACSC_OK;
}

void pki_csr_free(bacsc_csr *c)
{
    if (!c)
        return;
    X509_REQ_free(c->req);
    EVP_PKEY_free(c->key);
    GENERAL_NAMES_free(c->exts.sans);
    free(c->der);
    free(c);
}

X509_REQ *pki_csr_req(const bacsc_csr *c)
{
    return c->req;
}

bool pki_csr_is(const bacsc_csr *c, const uint8_t *der, size_t len)
{
    return c && der && c->len == len && memcmp(c->der, der, len) == 0;
}

bool pki_csr_settled(const bacsc_csr *c)
{
    return c && c->key_state != 0 && c->sig_state != 0;
}

/* Parameters-only keys of the common curves, made once, copied per CSR. */
static const char *const tmpl_group[] = {"prime256v1", "secp384r1", "secp521r1"};
#define N_TMPL (sizeof tmpl_group / sizeof tmpl_group[0])
static EVP_PKEY *tmpl_key[N_TMPL];
static pthread_once_t tmpl_once = PTHREAD_ONCE_INIT;

static void tmpl_init(void)
{
    for (size_t i = 0; i < N_TMPL; i++) {
        EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        OSSL_PARAM gp[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                            (char *)tmpl_group[i], 0),
                           OSSL_PARAM_construct_end()};
        if (!pc || EVP_PKEY_paramgen_init(pc) != 1 || EVP_PKEY_CTX_set_params(pc, gp) != 1 ||
            EVP_PKEY_paramgen(pc, &tmpl_key[i]) != 1)
            tmpl_key[i] = NULL; /* that curve takes the EVP_PKEY_fromdata path */
        EVP_PKEY_CTX_free(pc);
    }
    ERR_clear_error();
}

/* A named-curve EC public key from its curve OID and encoded point, without
 * the decoder framework. NULL when this is not such a key or it is invalid. */
static EVP_PKEY *ec_key_from_spki(X509_PUBKEY *xpk)
{
    ASN1_OBJECT *oid = NULL;
    const unsigned char *point = NULL;
    int point_len = 0;
    X509_ALGOR *alg = NULL;
    if (!X509_PUBKEY_get0_param(&oid, &point, &point_len, &alg, xpk) || !alg ||
        OBJ_obj2nid(oid) != NID_X9_62_id_ecPublicKey || point_len <= 0)
        return NULL;
    int ptype = 0;
    const void *pval = NULL;
    X509_ALGOR_get0(NULL, &ptype, &pval, alg);
    if (ptype != V_ASN1_OBJECT)
        return NULL; /* explicit parameters: leave them to the decoder */
    const char *group = OBJ_nid2sn(OBJ_obj2nid(pval));
    if (!group)
        return NULL;
    pthread_once(&tmpl_once, tmpl_init);
    for (size_t i = 0; i < N_TMPL; i++) {
        if (!tmpl_key[i] || strcmp(group, tmpl_group[i]) != 0)
            continue;
        EVP_PKEY *key = EVP_PKEY_dup(tmpl_key[i]);
        if (key && EVP_PKEY_set1_encoded_public_key(key, point, (size_t)point_len) != 1) {
            EVP_PKEY_free(key);
            key = NULL;
        }
        return key;
    }
    EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;
    OSSL_PARAM prm[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point,
                                          (size_t)point_len),
        OSSL_PARAM_construct_end()};
    if (!kc || EVP_PKEY_fromdata_init(kc) != 1 ||
        EVP_PKEY_fromdata(kc, &key, EVP_PKEY_PUBLIC_KEY, prm) != 1) {
        EVP_PKEY_free(key);
        key = NULL;
    }
    EVP_PKEY_CTX_free(kc);
    return key;
}

EVP_PKEY *pki_spki_key(X509_PUBKEY *xpk)
{
    EVP_PKEY *key = ec_key_from_spki(xpk);
    if (!key) {
        /* Any other key type: the general decoder, as d2i_X509_REQ would. */
        unsigned char *der = NULL;
        int n = i2d_X509_PUBKEY(xpk, &der);
        const unsigned char *p = der;
        key = n > 0 ? d2i_PUBKEY(NULL, &p, n) : NULL;
        OPENSSL_free(der);
    }
    ERR_clear_error();
    return key;
}

/* What the SubjectPublicKeyInfo says, checked before any key is built or
 * signature verified: the cost of both grows with the key, and nothing
 * outside these limits is ever issued. NULL when acceptable. */
const char *pki_spki_precheck(X509_PUBKEY *xpk)
{
    ASN1_OBJECT *oid = NULL;
    const unsigned char *bits = NULL;
    int bits_len = 0;
    X509_ALGOR *alg = NULL;
    if (!X509_PUBKEY_get0_param(&oid, &bits, &bits_len, &alg, xpk) || !alg)
        return "malformed public key";
    int nid = OBJ_obj2nid(oid);
    if (nid == NID_X9_62_id_ecPublicKey) {
        int ptype = 0;
        const void *pval = NULL;
        X509_ALGOR_get0(NULL, &ptype, &pval, alg);
        if (ptype != V_ASN1_OBJECT)
            return "EC key with explicit curve parameters (only named curves are accepted)";
        int cnid = OBJ_obj2nid(pval);
        if (cnid != NID_X9_62_prime256v1 && cnid != NID_secp384r1 && cnid != NID_secp521r1)
            return "EC curve not supported (P-256, P-384 or P-521)";
        return bits_len <= 1 + 2 * 66 ? NULL : "malformed EC public key";
    }
    if (nid == NID_rsaEncryption || nid == NID_rsassaPss) {
        /* RSAPublicKey: SEQUENCE { modulus, exponent } — a 4096-bit modulus
         * and a 32-bit exponent take at most 4096/8 + 1 + 5 + 12 octets */
        if (bits_len > 4096 / 8 + 32)
            return "RSA key larger than 4096 bits";
        return NULL;
    }
    return NULL; /* other algorithms: the policy's key types decide */
}

EVP_PKEY *pki_csr_key(bacsc_csr *c)
{
    if (c->key_state == 0) {
        X509_PUBKEY *xpk = X509_REQ_get_X509_PUBKEY(c->req);
        c->key_problem = pki_spki_precheck(xpk);
        c->key = c->key_problem ? NULL : pki_spki_key(xpk);
        if (c->key && EVP_PKEY_is_a(c->key, "RSA")) {
            BIGNUM *e = NULL;
            if (!EVP_PKEY_get_bn_param(c->key, "e", &e) || BN_num_bits(e) > 32 ||
                EVP_PKEY_get_bits(c->key) > 4096) {
                c->key_problem = "RSA public exponent above 2^32 or modulus above 4096 bits";
                EVP_PKEY_free(c->key);
                c->key = NULL;
            }
            BN_free(e);
            ERR_clear_error();
        }
        c->key_state = c->key ? 1 : -1;
    }
    return c->key;
}

const char *pki_csr_key_problem(const bacsc_csr *c)
{
    return c->key_problem;
}

static bool spki_fp(X509_REQ *req, uint8_t fp[32])
{
    unsigned char *spki = NULL;
    int n = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &spki);
    unsigned int mdlen = 0;
    bool ok = n > 0 && EVP_Digest(spki, (size_t)n, fp, &mdlen, EVP_sha256(), NULL) && mdlen == 32;
    OPENSSL_free(spki);
    return ok;
}

/* The extensions, decoded as X509_REQ_get_extensions + X509V3_get_d2i do. */
static void exts_decode(X509_REQ *req, pki_csr_exts *e)
{
    memset(e, 0, sizeof *e);
    e->san_crit = -1;
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    if (!exts)
        return;
    e->has = true;
    int crit = 0;
    BASIC_CONSTRAINTS *bc = X509V3_get_d2i(exts, NID_basic_constraints, &crit, NULL);
    /* CA:TRUE, or a duplicate basicConstraints (treated as hostile) */
    e->requests_ca = (bc && bc->ca) || (!bc && crit == -2);
    BASIC_CONSTRAINTS_free(bc);
    e->sans = X509V3_get_d2i(exts, NID_subject_alt_name, &e->san_crit, NULL);
    e->owned = true;
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

bool pki_csr_spki_fp(const bacsc_csr *c, uint8_t fp[32])
{
    if (c->derived) {
        memcpy(fp, c->fp, 32);
        return c->fp_ok;
    }
    bool ok = spki_fp(c->req, fp);
    ERR_clear_error();
    return ok;
}

void pki_csr_exts_get(const bacsc_csr *c, pki_csr_exts *e)
{
    if (c->derived) {
        *e = c->exts;
        e->owned = false;
    } else {
        exts_decode(c->req, e);
        ERR_clear_error();
    }
}

void pki_csr_exts_done(pki_csr_exts *e)
{
    if (e->owned)
        GENERAL_NAMES_free(e->sans);
    memset(e, 0, sizeof *e);
}

bool pki_csr_verify(bacsc_csr *c)
{
    if (c->sig_state == 0) {
        EVP_PKEY *k = pki_csr_key(c);
        c->sig_state = k && X509_REQ_verify(c->req, k) == 1 ? 1 : -1;
        /* settled from here on: what is read again later is read now */
        c->fp_ok = spki_fp(c->req, c->fp);
        exts_decode(c->req, &c->exts);
        c->derived = true;
        ERR_clear_error();
    }
    return c->sig_state == 1;
}
