/*
 * ossl_keyless_internal.h — a window in which OpenSSL decodes certificates
 * without decoding their public keys. Private to src/io.
 *
 * Why: OpenSSL 3.0 decodes the public key of every certificate it parses
 * through its provider decoder framework and builds a new decoder context
 * each time (OSSL_DECODER_CTX_new_for_pkey, about 1.2 M instructions, more
 * than an ECDH). A server decodes the client's certificate inside a session
 * twice where its key is not needed:
 *  - making a session ticket, OpenSSL encodes the session, decodes that
 *    encoding into a private copy and encodes the copy again; the copy is
 *    then freed (a sixth of a full handshake);
 *  - opening a ticket, OpenSSL decodes the session out of it; bacsc then
 *    checks the certificate by names, times, CRL and its issuer's key
 *    (tls_verify.c), never with its own key: the handshake is authenticated
 *    by the ticket's secret (a quarter of a resumed handshake). A check that
 *    needs the key (the full verification, a reload's re-check) decodes a
 *    copy with it (bacsc_tls_keyed_cert()).
 *
 * d2i_SSL_SESSION() has no library-context argument: it decodes with the
 * calling thread's default library context. Inside the window that default
 * is a context holding only OpenSSL's "null" provider, which offers no
 * algorithm: the certificate is decoded as usual (names, extensions,
 * signature, the encoded key) except the key itself, whose opportunistic
 * decode finds no decoder and is skipped. Everything else keeps working
 * because bacsc's SSL_CTXs are made with an explicit library context (the
 * global default, bacsc_keyless_ssl_libctx()), which the window does not
 * touch. The window is per thread.
 *
 * The window must not contain anything that uses the default library
 * context implicitly (EVP_sha256(), EVP_Digest(), X509_verify_cert() with
 * a store context made by X509_STORE_CTX_new() ...). Making a ticket, it is
 * opened at the end of the ticket-generation callback and closed at the
 * start of the ticket-key callback, which OpenSSL calls right after the
 * re-encode; opening one, it is opened at the end of the ticket-key
 * callback (the ticket's MAC and cipher contexts are set up by then) and
 * closed at the start of the ticket-decrypted callback. If a failure in
 * between skips the second callback, the next bacsc_keyless_leave() closes
 * it: every place in src/io that calls into OpenSSL's handshake or record
 * layer calls it afterwards.
 */
#ifndef BACSC_IO_OSSL_KEYLESS_INTERNAL_H
#define BACSC_IO_OSSL_KEYLESS_INTERNAL_H

#include <stdbool.h>

#include <openssl/crypto.h>

/* The library context to make SSL_CTXs with: the global default, named
 * explicitly so that the window does not apply to them. */
OSSL_LIB_CTX *bacsc_keyless_ssl_libctx(void);

/* Open the window on this thread (no effect when it is open, or when the
 * keyless context could not be made: then decoding is as usual). */
void bacsc_keyless_enter(void);

/* Close it (no effect when it is not open). Drops the errors the keyless
 * decodes left when `drop_errors`; otherwise leaves the error queue as it
 * is (after a failure its errors say what failed). */
void bacsc_keyless_leave_ex(bool drop_errors);

/* How many windows this thread has opened (for tests). */
unsigned long bacsc_keyless_windows(void);

/* Whether the window is open on this thread (read it through the
 * functions here). */
extern _Thread_local bool bacsc_keyless_open;

/* The guard after a call into OpenSSL: close a window left open. */
static inline void bacsc_keyless_leave(void)
{
    if (bacsc_keyless_open)
        bacsc_keyless_leave_ex(false);
}

/* `r` (an SSL call's result), after the guard: `int r =
 * bacsc_keyless_after(SSL_read(...));`. */
static inline int bacsc_keyless_after(int r)
{
    bacsc_keyless_leave();
    return r;
}

#endif
