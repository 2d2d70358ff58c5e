/*
 * support_sc.h — helpers shared by the BACnet/SC tests: a repeatable random
 * source and message builders on top of the codec (state-machine tests);
 * the test PKI, event loop, TLS contexts and listener of the tests over real
 * TLS/WebSocket connections on 127.0.0.1 (tls, wsconn, sc_node tests).
 */
#ifndef BACSC_SUPPORT_SC_H
#define BACSC_SUPPORT_SC_H

#include <stddef.h>
#include <stdint.h>

#include <stdbool.h>

#include "bacsc/bvlc.h"
#include "bacsc/loop.h"
#include "bacsc/tls.h"
#include "bacsc/wsconn.h"

/* Deterministic random source (xorshift64*); `user` is ignored. */
int sct_random(void *user, uint8_t *buf, size_t len);
void sct_seed(uint64_t seed);
uint64_t sct_rand64(void);

bacsc_vmac sct_vmac(uint8_t a, uint8_t b);
bacsc_uuid sct_uuid(uint8_t a, uint8_t b);

/* Encode `m` into out; returns the length, or 0 if it cannot be encoded. */
size_t sct_encode(const bacsc_bvlc_msg *m, uint8_t *out, size_t cap);

/* Builders: return the encoded length. */
size_t sct_connect_request(uint8_t *out, size_t cap, uint16_t id, const bacsc_vmac *vmac,
                           const bacsc_uuid *uuid, uint16_t max_bvlc, uint16_t max_npdu);
size_t sct_connect_accept(uint8_t *out, size_t cap, uint16_t id, const bacsc_vmac *vmac,
                          const bacsc_uuid *uuid, uint16_t max_bvlc, uint16_t max_npdu);
size_t sct_simple(uint8_t *out, size_t cap, uint8_t function, uint16_t id);
size_t sct_npdu(uint8_t *out, size_t cap, uint16_t id, const bacsc_vmac *orig,
                const bacsc_vmac *dest, const uint8_t *npdu, size_t len);
size_t sct_nak(uint8_t *out, size_t cap, uint8_t function, uint16_t id, uint16_t code);

/* ---- real TLS / WebSocket connections on 127.0.0.1 ---------------------------- */

/* The test PKI (support_pki.h) in a fresh /tmp/bacsc-<tag>-XXXXXX and an
 * event loop; logging at error level (debug with $BACSC_TEST_VERBOSE). */
typedef struct sct_env {
    char pki[256];
    bacsc_loop *loop;
} sct_env;

/* Returns 0 or -1 (for a cmocka group setup / teardown). */
int sct_env_setup(sct_env *e, const char *tag);
int sct_env_teardown(sct_env *e);
/* dir/name.ext of the test PKI into out (512 bytes). */
void sct_env_path(const sct_env *e, char *out, const char *name, const char *ext);

/* A TLS configuration on the test PKI: `leaf`.pem with `key`.key (NULL:
 * the leaf's), issuers ca1 [, ca2] (NULL: none), CRL crl.crl (NULL: none),
 * no key log. Set more fields of f->cfg before use (tickets, keylog). */
typedef struct sct_tls_files {
    char cert[512], key[512], ca[2][512], crl[512];
    bacsc_tls_config cfg;
} sct_tls_files;
bacsc_tls_config *sct_tls_files_set(sct_tls_files *f, const sct_env *e, const char *leaf,
                                    const char *key, const char *ca1, const char *ca2,
                                    const char *crl);
/* bacsc_tls_ctx_new(cfg); fails the test with the reason when it cannot. */
bacsc_tls_ctx *sct_tls_new(const bacsc_tls_config *cfg, bool server);
/* sct_tls_files_set + sct_tls_new. */
bacsc_tls_ctx *sct_tls(const sct_env *e, bool server, const char *leaf, const char *ca1,
                       const char *ca2, const char *crl);

/* Run the loop until *flag >= want, at most ms milliseconds. */
void sct_run_until(bacsc_loop *loop, const int *flag, int want, int ms);
/* Run the loop for ms milliseconds. */
void sct_run_for(bacsc_loop *loop, int ms);
/* A WebSocket/TLS listener on 127.0.0.1:0 (asserts it opens); its URI
 * wss://127.0.0.1:PORT into uri. */
bacsc_ws_listener *sct_listen(bacsc_loop *loop, bacsc_tls_ctx *tls, const bacsc_ws_callbacks *cb,
                              void *user, char *uri, size_t cap);

/* ---- TLS handshakes through memory BIOs (no sockets) ------------------------- */

/* How the server end of one handshake ended. */
typedef struct sct_hs {
    bool ok;          /* the server completed the handshake */
    bool reused;      /* … by resuming a ticket */
    uint16_t code;    /* else the server's BACnet/SC TLS error code */
    char why[300];    /* … and its text */
    char client[300]; /* … and what the client was told (the alert it read) */
} sct_hs;

/* One handshake between a client of `ct` (offering/keeping r's ticket; r may
 * be NULL) and the server `st`; on success the client then reads the ticket
 * the server sent. With keep_c/keep_s and success, both ends stay open (memory
 * BIOs between them) for the caller to SSL_free; otherwise both are freed. */
sct_hs sct_mem_handshake(bacsc_tls_ctx *st, bacsc_tls_ctx *ct, bacsc_tls_resume *r,
                         struct ssl_st **keep_c, struct ssl_st **keep_s);
/* A fresh ticket key file's path (e's PKI directory, tickets-N, not existing). */
void sct_ticket_key_file(const sct_env *e, char *out, size_t cap);

#endif
