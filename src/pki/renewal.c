/*
 * renewal.c — renewal proofs in CSRs (bacsc/renewal.h). All encoding is
 * OpenSSL's: the proof is a CSR attribute holding an OCTET STRING.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "bacsc/error.h"
#include "bacsc/renewal.h"

#define TAG "bacsc-renewal-v1"
#define TAG_LEN 16
#define MSG_LEN (TAG_LEN + 2 * 32)

/* The signed message for `old_der` and the public key `newpub`. */
static int proof_message(const uint8_t *old_der, size_t old_len, EVP_PKEY *newpub,
                         uint8_t msg[MSG_LEN])
{
    unsigned char *spki = NULL;
    int n = i2d_PUBKEY(newpub, &spki);
    if (n <= 0)
        return BACSC_ERR_CRYPTO;
    unsigned int dl = 0;
    memcpy(msg, TAG, TAG_LEN);
    int ok = EVP_Digest(old_der, old_len, msg + TAG_LEN, &dl, EVP_sha256(), NULL) == 1 &&
             EVP_Digest(spki, (size_t)n, msg + TAG_LEN + 32, &dl, EVP_sha256(), NULL) == 1;
    OPENSSL_free(spki);
    return ok ? BACSC_OK : BACSC_ERR_CRYPTO;
}

static ASN1_OBJECT *proof_oid(void)
{
    return OBJ_txt2obj(BACSC_RENEWAL_OID, 1);
}

static int sign_message(EVP_PKEY *key, const uint8_t *msg, uint8_t **sig, size_t *siglen)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = BACSC_ERR_CRYPTO;
    *sig = NULL;
    if (md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestSign(md, NULL, siglen, msg, MSG_LEN) == 1 && (*sig = malloc(*siglen)) &&
        EVP_DigestSign(md, *sig, siglen, msg, MSG_LEN) == 1)
        rc = BACSC_OK;
    EVP_MD_CTX_free(md);
    if (rc != BACSC_OK) {
        free(*sig);
        *sig = NULL;
    }
    return rc;
}

/* Replace any proof in `req` by `sig` and sign it again with `new_key`. */
static int attach(X509_REQ *req, EVP_PKEY *new_key, const uint8_t *sig, size_t siglen)
{
    ASN1_OBJECT *oid = proof_oid();
    if (!oid)
        return BACSC_ERR_CRYPTO;
    int idx;
    while ((idx = X509_REQ_get_attr_by_OBJ(req, oid, -1)) >= 0)
        X509_ATTRIBUTE_free(X509_REQ_delete_attr(req, idx));
    int ok = X509_REQ_add1_attr_by_OBJ(req, oid, V_ASN1_OCTET_STRING, sig, (int)siglen) == 1 &&
             X509_REQ_sign(req, new_key, EVP_sha256()) > 0;
    ASN1_OBJECT_free(oid);
    return ok ? BACSC_OK : BACSC_ERR_CRYPTO;
}

int bacsc_renewal_add_proof(const uint8_t *csr, size_t csr_len, EVP_PKEY *new_key,
                            EVP_PKEY *old_key, const uint8_t *old_cert, size_t old_len,
                            uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    const unsigned char *p = csr, *q = old_cert;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)csr_len);
    X509 *old = d2i_X509(NULL, &q, (long)old_len);
    uint8_t msg[MSG_LEN], *sig = NULL;
    size_t siglen = 0;
    int rc = BACSC_ERR_MALFORMED;
    if (!req || !old)
        goto out;
    rc = BACSC_ERR_POLICY;
    if (X509_check_private_key(old, old_key) != 1)
        goto out;
    if ((rc = proof_message(old_cert, old_len, new_key, msg)) != BACSC_OK ||
        (rc = sign_message(old_key, msg, &sig, &siglen)) != BACSC_OK ||
        (rc = attach(req, new_key, sig, siglen)) != BACSC_OK)
        goto out;
    unsigned char *der = NULL;
    int n = i2d_X509_REQ(req, &der);
    rc = BACSC_ERR_CRYPTO;
    if (n > 0 && (*out = malloc((size_t)n))) {
        memcpy(*out, der, (size_t)n);
        *out_len = (size_t)n;
        rc = BACSC_OK;
    }
    OPENSSL_free(der);
out:
    ERR_clear_error();
    free(sig);
    X509_REQ_free(req);
    X509_free(old);
    return rc;
}

/* The proof's signature in `req`, or NULL. */
static const ASN1_OCTET_STRING *find_proof(X509_REQ *req)
{
    ASN1_OBJECT *oid = proof_oid();
    int idx = oid ? X509_REQ_get_attr_by_OBJ(req, oid, -1) : -1;
    ASN1_OBJECT_free(oid);
    if (idx < 0)
        return NULL;
    X509_ATTRIBUTE *attr = X509_REQ_get_attr(req, idx);
    ASN1_TYPE *t = attr && X509_ATTRIBUTE_count(attr) == 1 ? X509_ATTRIBUTE_get0_type(attr, 0)
                                                          : NULL;
    return t && t->type == V_ASN1_OCTET_STRING ? t->value.octet_string : NULL;
}

int bacsc_renewal_verify(const uint8_t *csr, size_t csr_len, const uint8_t *old_cert,
                         size_t old_len)
{
    const unsigned char *p = csr, *q = old_cert;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)csr_len);
    X509 *old = d2i_X509(NULL, &q, (long)old_len);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc = BACSC_ERR_MALFORMED;
    EVP_PKEY *newpub = req ? X509_REQ_get0_pubkey(req) : NULL;
    EVP_PKEY *oldpub = old ? X509_get0_pubkey(old) : NULL;
    const ASN1_OCTET_STRING *sig = req ? find_proof(req) : NULL;
    uint8_t msg[MSG_LEN];
    if (!md || !newpub || !oldpub)
        goto out;
    rc = BACSC_ERR_NOT_FOUND;
    if (!sig)
        goto out;
    rc = BACSC_ERR_POLICY;
    if (X509_REQ_verify(req, newpub) != 1 ||
        proof_message(old_cert, old_len, newpub, msg) != BACSC_OK)
        goto out;
    if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, oldpub) == 1 &&
        EVP_DigestVerify(md, ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig), msg,
                         MSG_LEN) == 1)
        rc = BACSC_OK;
out:
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    X509_REQ_free(req);
    X509_free(old);
    return rc;
}
