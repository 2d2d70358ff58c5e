/*
 * tls_crl_internal.h — the CRL check of bacsc's trust stores: OpenSSL's own,
 * with each CRL's signature verified once per issuer certificate instead of
 * in every certificate verification. Private to src/io (tls.c).
 *
 * OpenSSL 3 verifies the signature of the CRL (one ECDSA verification) in
 * every X509_verify_cert with X509_V_FLAG_CRL_CHECK: every full handshake
 * and every resumption, for a CRL that cannot change until the next reload
 * (which builds a new store). See tls_crl.c for why skipping it is sound.
 */
#ifndef BACSC_TLS_CRL_INTERNAL_H
#define BACSC_TLS_CRL_INTERNAL_H

#include <stdint.h>

#include <openssl/x509_vfy.h>

/* Install the check on `st`, whose CRLs have all been added (CRLs added
 * later are checked by OpenSSL's check alone). The store's issuer
 * certificates carry their SHA-256 (32 octets) as X509 ex_data at
 * `sha_index`; an issuer without it gets OpenSSL's check alone. Returns 0,
 * or -1 (out of memory: the store is unchanged). */
int bacsc_tls_crl_install(X509_STORE *st, int sha_index);

/* Counts of the CRL checks of `st` since it was built: `full`, OpenSSL's own
 * check (which verifies the CRL's signature); `reused`, checks that reused
 * an earlier verification of that CRL's signature by that issuer. Zero for
 * a store without the check. */
void bacsc_tls_crl_counts(const X509_STORE *st, uint64_t *full, uint64_t *reused);

#endif
