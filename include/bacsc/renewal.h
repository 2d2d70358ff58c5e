/*
 * bacsc/renewal.h — renewal proofs: a CSR that renews a certificate with a
 * new key carries a signature, made with the key of the certificate it
 * renews, over that certificate and the new public key (docs/ca.md,
 * "Device UUID uniqueness and renewal").
 *
 * The proof is one CSR attribute (OID BACSC_RENEWAL_OID, an OCTET STRING
 * holding the signature) over the message
 *     "bacsc-renewal-v1" || SHA-256(old certificate DER) || SHA-256(new SPKI DER)
 * signed with the old key (SHA-256; ECDSA or RSA PKCS#1 v1.5). The CSR's own
 * self-signature (new key) covers the attribute. A stranger who knows a
 * device's UUID and certificate cannot make one; a proof cannot be moved to
 * another key.
 */
#ifndef BACSC_RENEWAL_H
#define BACSC_RENEWAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 2.25.<UUID 661d9d1e-edb4-4d5d-84d4-aede8fbd3299> (ITU-T X.667 arc). */
#define BACSC_RENEWAL_OID "2.25.135735018967677497100129653802789581465"

/*
 * Add a renewal proof to a CSR: `csr` (DER, made for `new_key`) gains the
 * attribute signed with `old_key` over `old_cert` (DER, the certificate of
 * `old_key`) and is signed again with `new_key`. *out: malloc'd DER.
 * Returns BACSC_OK, BACSC_ERR_MALFORMED (CSR or certificate unreadable),
 * BACSC_ERR_POLICY (old_key is not old_cert's key), BACSC_ERR_CRYPTO.
 */
int bacsc_renewal_add_proof(const uint8_t *csr, size_t csr_len, EVP_PKEY *new_key,
                            EVP_PKEY *old_key, const uint8_t *old_cert, size_t old_len,
                            uint8_t **out, size_t *out_len);

/*
 * Does the CSR (DER) carry a proof that verifies with `old_cert` (DER)?
 * Returns BACSC_OK, BACSC_ERR_NOT_FOUND (no proof), BACSC_ERR_POLICY (a
 * proof that does not verify with this certificate), BACSC_ERR_MALFORMED.
 */
int bacsc_renewal_verify(const uint8_t *csr, size_t csr_len, const uint8_t *old_cert,
                         size_t old_len);

#ifdef __cplusplus
}
#endif
#endif
