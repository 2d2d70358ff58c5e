/*
 * tls_verify_internal.h — checking a peer certificate again after the
 * handshake: the client certificate inside a session ticket (on
 * resumption) and a connected peer's certificate after a reload. Private
 * to src/io (tls.c).
 */
#ifndef BACSC_IO_TLS_VERIFY_INTERNAL_H
#define BACSC_IO_TLS_VERIFY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

/* The SHA-256 of a certificate's DER (kept with the issuer certificates of
 * a trust store). */
bool bacsc_tls_cert_sha256(X509 *x, uint8_t out[32]);

/* `x` itself (a new reference) when its public key is decoded, else a copy
 * decoded again with its key (a certificate out of a ticket is decoded
 * without it: ossl_keyless_internal.h). NULL: out of memory or undecodable. */
X509 *bacsc_tls_keyed_cert(X509 *x);

/* Does `peer` verify now, in full (X509_verify_cert), against the issuers,
 * CRL and clock of `ctx`, with the verification parameters `param` (as a
 * client certificate when `client`, else as a server's)? Else `why`.
 * `used` (may be NULL) gets the SHA-256 of the issuer certificate that
 * verified it, all zero if the chain was not [peer, issuer]. */
bool bacsc_tls_cert_verifies(SSL_CTX *ctx, const X509_VERIFY_PARAM *param, X509 *peer, bool client,
                             uint8_t used[32], char *why, size_t cap);

/* Is `leaf` (a client certificate when `client`, else a server's), once
 * verified in full with the issuer certificate whose SHA-256 is `known`,
 * still good against the store, CRL and clock of `ctx` — without verifying
 * the issuer's signature on it again, and without its own public key
 * (which a certificate out of a ticket lacks)? See tls_verify.c. false: not
 * shown here (the caller then verifies in full); never a refusal by
 * itself. */
bool bacsc_tls_cert_current(SSL_CTX *ctx, const X509_VERIFY_PARAM *param, X509 *leaf, bool client,
                            const uint8_t known[32]);

#endif
