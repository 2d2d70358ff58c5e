/*
 * bacsc/tls.h — TLS contexts for BACnet/SC (OpenSSL 3).
 *
 * Policy (Annex AB): TLS 1.3 only; mutual authentication; a peer is accepted
 * when its certificate chains to one of the configured issuer certificates
 * (at most two: the second serves CA rollover) — the system trust store and
 * default paths are never loaded; host names are not checked unless asked;
 * an optional CRL file enables revocation checks of the peer's certificate.
 * Groups: P-256 first (X25519, P-384 also offered); signature algorithms
 * include ecdsa_secp256r1_sha256.
 *
 * SSLKEYLOGFILE: when the environment variable (or the config field) names a
 * file, TLS secrets are appended to it in NSS key-log format so Wireshark
 * can decrypt captures. Debugging only — anyone who reads that file can
 * read the traffic.
 *
 * Certificate problems are reported as the standard's TLS error codes
 * 180..188, from the point of view of the side that reports them.
 */
#ifndef BACSC_TLS_H
#define BACSC_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ssl_st;
struct ssl_ctx_st;

#define BACSC_TLS_MAX_ISSUERS 2

typedef struct bacsc_tls_config {
    const char *cert_file;      /* PEM: operational certificate (optionally followed by a chain) */
    const char *key_file;       /* PEM private key */
    const char *issuer_files[BACSC_TLS_MAX_ISSUERS]; /* PEM issuer (CA) certificates; ≥ 1 */
    const char *crl_file;       /* optional PEM CRL(s) of the issuers: enables revocation checks */
    bool verify_hostname;       /* client: check the server's name against the URI host */
    const char *keylog_file;    /* NULL → $SSLKEYLOGFILE; "" → never */
} bacsc_tls_config;

typedef struct bacsc_tls_ctx bacsc_tls_ctx;

/*
 * Create a server (`server` true) or client context.
 * On failure writes a one-line message naming the problem (file, reason)
 * into err (may be NULL) and returns NULL.
 * Errors: a file that cannot be read, a key that does not match the
 * certificate, no issuer file.
 */
bacsc_tls_ctx *bacsc_tls_ctx_new(const bacsc_tls_config *cfg, bool server, char *err, size_t errlen);

/* Release a context (connections created from it keep their own reference). */
void bacsc_tls_ctx_free(bacsc_tls_ctx *ctx);

/* The OpenSSL context, for extra settings. */
struct ssl_ctx_st *bacsc_tls_ctx_ssl_ctx(bacsc_tls_ctx *ctx);
bool bacsc_tls_ctx_is_server(const bacsc_tls_ctx *ctx);
bool bacsc_tls_ctx_verify_hostname(const bacsc_tls_ctx *ctx);

/*
 * Create an SSL for one connection on socket fd (non-blocking use). A client
 * passes the URI host: it is sent as SNI when it is a name, and checked when
 * verify_hostname is set. Returns NULL on failure.
 */
struct ssl_st *bacsc_tls_new_ssl(bacsc_tls_ctx *ctx, int fd, const char *host);

/*
 * Classify a failed handshake/read/write on `ssl` (after SSL_get_error()
 * returned SSL_ERROR_SSL or SSL_ERROR_SYSCALL) into a BACnet error code,
 * from the reporting side's view (`server` true on the server):
 *   our verification of the peer failed:
 *     unknown issuer / bad signature / not yet valid → 180 (server) / 181 (client)
 *       (…-certificate-error: the peer's certificate is the problem)
 *     no certificate from the client → 182 client-authentication-failed
 *     expired → 184 / 185 (…-certificate-expired)
 *     revoked → 186 / 187 (…-certificate-revoked)
 *   the peer rejected us (alert received):
 *     unknown CA / bad certificate → 180 (we are the client) / 181 (server)
 *     certificate expired → 184 / 185, revoked → 186 / 187,
 *     certificate required → 182
 *   anything else (wrong version, handshake failure …) → 188 tls-error.
 * Writes a one-line description (incl. OpenSSL's reason) into text.
 * Drains the OpenSSL error queue.
 */
uint16_t bacsc_tls_classify_error(struct ssl_st *ssl, bool server, char *text, size_t textlen);

/* Name of a TLS error code 180..188 ("client-certificate-expired"), or NULL. */
const char *bacsc_tls_error_name(uint16_t code);

#ifdef __cplusplus
}
#endif
#endif
