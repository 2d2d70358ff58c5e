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
 *
 * Session resumption (TLS 1.3 tickets, psk_dhe_ke: every resumption still
 * does a fresh ECDHE exchange, so forward secrecy is kept):
 *   server  issues one ticket per handshake only when `ticket_key_file` is
 *           configured. The ticket keys (AES-256-CBC + HMAC-SHA-256, from
 *           RAND_bytes) live in that file (mode 0600), so tickets issued
 *           before a restart are still accepted after it. The current key is
 *           replaced after `ticket_rotate_s` (the previous one is still
 *           accepted for one more period). A ticket is accepted only if it
 *           is younger than `ticket_lifetime_s` AND the client certificate it
 *           carries still verifies against the issuers, CRL and clock of this
 *           context — so a certificate that expired, or is revoked in the
 *           configured CRL, can never resume.
 *           A resumed handshake brings a new ticket only when the one
 *           presented is past half its lifetime (or under the previous key).
 *   client  a bacsc_tls_resume holder (one per server, e.g. per hub URI)
 *           keeps the newest ticket received and offers (a copy of) it on
 *           every connection until a newer one arrives
 *           (bacsc_tls_ssl_set_resume()).
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
    const char *crl_file2;      /* optional second PEM CRL file (a device's CRLs received over
                                 * BACnet); one CRL per issuer across both files */
    bool verify_hostname;       /* client: check the server's name against the URI host */
    const char *keylog_file;    /* NULL → $SSLKEYLOGFILE; "" → never */
    /* server only: session tickets (see above); NULL → no tickets, no resumption */
    const char *ticket_key_file;
    uint32_t ticket_lifetime_s; /* 0 → BACSC_TLS_TICKET_LIFETIME_S; ≤ ticket_rotate_s */
    uint32_t ticket_rotate_s;   /* 0 → BACSC_TLS_TICKET_ROTATE_S */
} bacsc_tls_config;

#define BACSC_TLS_TICKET_LIFETIME_S 7200u /* 2 h */
#define BACSC_TLS_TICKET_ROTATE_S 86400u  /* 24 h */

typedef struct bacsc_tls_ctx bacsc_tls_ctx;

/*
 * Create a server (`server` true) or client context.
 * On failure writes a one-line message naming the problem (file, reason)
 * into err (may be NULL) and returns NULL.
 * Errors: a file that cannot be read, a key that does not match the
 * certificate, no issuer file.
 */
bacsc_tls_ctx *bacsc_tls_ctx_new(const bacsc_tls_config *cfg, bool server, char *err, size_t errlen);

/* Handshake counters of a context (see bacsc_tls_note_handshake()). */
typedef struct bacsc_tls_stats {
    uint64_t handshakes;       /* completed handshakes */
    uint64_t resumed;          /* of those, resumed from a ticket */
    uint64_t tickets_refused;  /* server: tickets that decrypted but were refused (too old,
                                  certificate no longer valid/revoked) → full handshake */
    uint64_t key_rotations;    /* server: ticket key rotations while running */
    /* server: how the client certificate inside a ticket was checked again
     * (both before accepting the ticket; see docs/hub.md SESSION RESUMPTION) */
    uint64_t tickets_issuer_known; /* the ticket named the configured issuer certificate that
                                      verified it: every check but its signature, which was
                                      verified when the ticket was issued */
    uint64_t tickets_full_verify;  /* verified in full (the ticket named no issuer, e.g. from an
                                      older bacsc, or not one now configured) */
    uint64_t tickets_refreshed; /* server: new tickets sent on open connections */
    /* how connected peers were checked again after reloads
     * (bacsc_tls_peer_recheck) */
    uint64_t rechecks_issuer_known; /* with the issuer certificate that verified the peer still
                                       configured: every check but its signature */
    uint64_t rechecks_full_verify;  /* verified in full */
    /* With a CRL: how certificates were checked against it (peers', and our
     * own when the context is built) */
    uint64_t crl_checks_full;   /* OpenSSL's check in full, the CRL's signature verified */
    uint64_t crl_checks_reused; /* every check but the CRL's signature, verified before with
                                   the same issuer certificate */
} bacsc_tls_stats;

void bacsc_tls_ctx_stats(const bacsc_tls_ctx *ctx, bacsc_tls_stats *out);

/* Count a completed handshake on `ssl` (full or resumed) in its context's
 * statistics. Called by the transport when SSL_do_handshake() succeeded. */
void bacsc_tls_note_handshake(struct ssl_st *ssl);

/* ---- client-side resumption ---- */

/* The newest session (ticket) received from one server. Zero-initialise;
 * release with bacsc_tls_resume_clear(). Must outlive every SSL it is
 * attached to. */
typedef struct bacsc_tls_resume {
    struct ssl_session_st *session; /* owned (a private copy); NULL = none */
} bacsc_tls_resume;

/* Attach `r` to a client SSL before its handshake: offers r->session (when
 * present and not expired) and stores every ticket the server sends later
 * into r. NULL detaches. Returns 0, or -1 (not a client SSL). */
int bacsc_tls_ssl_set_resume(struct ssl_st *ssl, bacsc_tls_resume *r);

/* Forget the stored session. */
void bacsc_tls_resume_clear(bacsc_tls_resume *r);

/* ---- server ticket keys (exposed for tests) ---- */

#define BACSC_TLS_TICKET_KEYS 2
typedef struct bacsc_tls_ticket_key {
    uint8_t name[16];
    uint8_t aes[32];
    uint8_t hmac[32];
    int64_t created; /* Unix seconds */
} bacsc_tls_ticket_key;

typedef struct bacsc_tls_ticket_keys {
    bacsc_tls_ticket_key key[BACSC_TLS_TICKET_KEYS]; /* [0] current (issues), [1] previous */
    unsigned n;                                      /* 1 or 2 */
} bacsc_tls_ticket_keys;

/*
 * Load the ticket key file `path`; if it does not exist, create it (mode
 * 0600, O_EXCL) with a new random key. If the current key is `rotate_s` or
 * more seconds old at `now` (Unix seconds), rotate (see below) and rewrite
 * the file atomically (temporary file 0600 + rename); *rotated (may be NULL)
 * tells. Returns 0, or -1 with a one-line message in err: the file is
 * readable or writable by group/others, is not a key file (it is then left
 * untouched), or cannot be read/written.
 * File format: text, first line "bacsc-ticket-keys 1", then one line per
 * key, current first: "CREATED NAME-HEX AES-HEX HMAC-HEX".
 */
int bacsc_tls_ticket_keys_load(const char *path, int64_t now, uint32_t rotate_s,
                               bacsc_tls_ticket_keys *k, bool *rotated, char *err, size_t errlen);

/* Rotate in memory: a new random current key created at `now`; the old
 * current key becomes the previous one; an older previous key is dropped.
 * Returns 0 or -1 (no randomness). */
int bacsc_tls_ticket_keys_rotate(bacsc_tls_ticket_keys *k, int64_t now);

/* Write the keys to `path` atomically (0600). Returns 0 or -1 (message in err). */
int bacsc_tls_ticket_keys_save(const char *path, const bacsc_tls_ticket_keys *k, char *err,
                               size_t errlen);

/* Release a context (connections created from it keep their own reference). */
void bacsc_tls_ctx_free(bacsc_tls_ctx *ctx);

/* The OpenSSL context, for extra settings. */
/*
 * Reload (SIGHUP): read the certificate, key, issuers and CRL again from
 * the files `cfg` names, with every check of bacsc_tls_ctx_new(), and use
 * them for every new handshake of `ctx`. Connections already established
 * keep their session (nothing is dropped); session ticket keys in memory are
 * kept. On any error `ctx` is unchanged and `err` says why. Returns 0 or
 * BACSC_ERR_CRYPTO.
 */
int bacsc_tls_ctx_reload(bacsc_tls_ctx *ctx, const bacsc_tls_config *cfg, char *err,
                         size_t errlen);

/*
 * Does the peer of an established connection `ssl` still verify against the
 * current issuers, CRL and clock of `ctx` (after a reload)? Returns 0, or
 * BACSC_ERR_POLICY with `why` (e.g. "certificate revoked") — the caller
 * disconnects it.
 */
int bacsc_tls_peer_recheck(bacsc_tls_ctx *ctx, struct ssl_st *ssl, char *why, size_t cap);

/*
 * Server, TLS 1.3, session tickets on: when the ticket of the open connection
 * `ssl` is due for renewal (past half the ticket lifetime, plus up to a
 * quarter drawn per session), send the node a new ticket (NewSessionTicket),
 * so that a node connected for longer than the lifetime still resumes after
 * a hub restart. Call only between records (nothing of an SSL_write pending,
 * e.g. the connection's output queue empty). Returns 1 sent (or handed to
 * OpenSSL, which sends it before the next record), 0 not due, -1 error.
 */
int bacsc_tls_ticket_refresh(struct ssl_st *ssl);

/* The ticket lifetime of a server context issuing tickets, else 0. */
uint32_t bacsc_tls_ctx_ticket_lifetime(const bacsc_tls_ctx *ctx);

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

/*
 * The Device UUID of a certificate's `urn:uuid:` URI SAN (the first one
 * that parses). bacsc_tls_peer_uuid() reads the peer's certificate of an
 * established connection. Return 1 (found, *out set), 0 (none).
 */
struct x509_st;
int bacsc_tls_cert_uuid(struct x509_st *cert, uint8_t out[16]);
int bacsc_tls_peer_uuid(struct ssl_st *ssl, uint8_t out[16]);

/* "subject CN=node1, serial 5A72…" of the peer's certificate of an
 * established connection into buf. Returns 1, or 0 (no certificate; buf ""). */
int bacsc_tls_peer_ident(struct ssl_st *ssl, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
