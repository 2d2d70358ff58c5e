/*
 * bacsc/device_state.h — persistent device state and the commissioning
 * runtime (the I/O side of commission.h).
 *
 * A state directory (created 0700) holds:
 *   DIR/state.db          SQLite (WAL): one row per device instance —
 *                         UUID (generated once, kept), the active and pending
 *                         certificate files, the last CSR, both Network
 *                         Ports' active and pending settings, the
 *                         Command_Validation_Result, and the names of the
 *                         active and new key files, the active and
 *                         pending CRLs of the issuers;
 *   DIR/keys/dev-<instance>-<n>.pem   private keys, PKCS#8 PEM, mode 0600.
 * Many device instances (bacsc device --count N) share one directory.
 *
 * Crash safety: a save is one SQLite transaction; key files are written
 * (tmp + rename, 0600) before the transaction that names them. Activation
 * (the new certificate set + the key switch + port settings) is a single
 * save, so a kill -9 leaves either the old or the new set, never a mix.
 * Key files no row names are removed on open.
 *
 * One process at a time: DIR/lock is locked (flock) while the state is open
 * and records the owner's PID; opening a directory another process holds
 * fails with BACSC_ERR_EXISTS and "state directory DIR is in use by process
 * PID".
 *
 * The runtime (bacsc_devrt) implements bacsc_commission_ops for one device
 * instance with OpenSSL: EC P-256 keys, CSRs with urn:uuid SAN, validation
 * against the current or new key and the issuer files at the wall clock.
 */
#ifndef BACSC_DEVICE_STATE_H
#define BACSC_DEVICE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "bacsc/commission.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bacsc_devstate bacsc_devstate;

/*
 * Open (creating if needed) the state directory `dir`. Returns BACSC_OK,
 * BACSC_ERR_IO (cannot create/open), BACSC_ERR_DB; `err` gets a one-line
 * message.
 */
int bacsc_devstate_open(const char *dir, bacsc_devstate **out, char *err, size_t errlen);
void bacsc_devstate_close(bacsc_devstate *st);
const char *bacsc_devstate_dir(const bacsc_devstate *st);

/* Testing crash safety: from now on, count the durable steps (key file
 * written, transaction begun or committed, key file removed) and kill the
 * process with SIGKILL when it reaches step `n` (0 = never). Deterministic
 * replacement for a kill -9 at a random moment. */
void bacsc_devstate_crash_at(bacsc_devstate *st, unsigned n);

/*
 * The Device_UUID of `instance`: read, or generated (random v4) and stored
 * on first use. Returns BACSC_OK, BACSC_ERR_DB, BACSC_ERR_CRYPTO.
 */
int bacsc_devstate_uuid(bacsc_devstate *st, uint32_t instance, uint8_t uuid[16]);

/*
 * Load the commissioning data of `instance` into *out (owned by the caller:
 * bacsc_commission_data_free). Returns BACSC_OK, BACSC_ERR_NOT_FOUND (never
 * saved), BACSC_ERR_DB, BACSC_ERR_MALFORMED (a corrupt row).
 */
/* The device's BACnet/SC VMAC: generated once (random, locally
 * administered unicast) and kept, so the device keeps its address across
 * activations and restarts (a hub still asks it to pick another when the
 * VMAC is in use by a different device). */
int bacsc_devstate_vmac(bacsc_devstate *st, uint32_t instance, uint8_t vmac[6]);

int bacsc_devstate_load(bacsc_devstate *st, uint32_t instance, bacsc_commission_data *out);
/* Save it, in one transaction. Returns BACSC_OK or BACSC_ERR_DB. */
int bacsc_devstate_save(bacsc_devstate *st, uint32_t instance, const bacsc_commission_data *d);

/* ---- the commissioning runtime ------------------------------------------------ */

typedef struct bacsc_devrt bacsc_devrt;

/*
 * Hook called by ops.activate after the new set validated and before it is
 * persisted: build the TLS context from `next->active` and `key` (the key
 * the new set runs with; NULL when no key) and arm the datalink switch.
 * Return 0, or negative with a reason in `detail` (nothing is persisted
 * then). Optional.
 */
typedef int (*bacsc_devrt_apply_fn)(void *user, const bacsc_commission_data *next, EVP_PKEY *key,
                                    char *detail, size_t cap);

/* Wall clock source (Unix seconds) for validity checks; tests inject one. */
typedef int64_t (*bacsc_devrt_clock_fn)(void *user);

/*
 * The runtime of one device instance on `st` (which must outlive it): loads
 * the instance's key files. Returns BACSC_OK, BACSC_ERR_NOMEM, BACSC_ERR_IO
 * (a key file named in the state is unreadable).
 */
int bacsc_devrt_new(bacsc_devstate *st, uint32_t instance, bacsc_devrt **out);
void bacsc_devrt_free(bacsc_devrt *rt);
/* The ops for bacsc_commission_config.ops (user = rt). */
bacsc_commission_ops bacsc_devrt_ops(bacsc_devrt *rt);
void bacsc_devrt_set_apply(bacsc_devrt *rt, bacsc_devrt_apply_fn fn, void *user);
void bacsc_devrt_set_clock(bacsc_devrt *rt, bacsc_devrt_clock_fn fn, void *user);
/* The key the device runs with (NULL before the first activation). */
EVP_PKEY *bacsc_devrt_key(const bacsc_devrt *rt);
/* Path of the active key file ("" when none). */
const char *bacsc_devrt_key_path(const bacsc_devrt *rt);

/* ---- OpenSSL helpers (src/pki/device_cert.c) ------------------------------------ */

/* A CSR (PEM, malloc'd) for `key`: CN = cn, SAN URI urn:uuid:<uuid>,
 * SHA-256. Returns BACSC_OK or BACSC_ERR_CRYPTO. */
int bacsc_devcert_make_csr(EVP_PKEY *key, const char *cn, const uint8_t uuid[16], uint8_t **pem,
                           size_t *len);
/* Is data one certificate (PEM or DER)? BACSC_OK or BACSC_ERR_MALFORMED. */
int bacsc_devcert_check(const uint8_t *data, size_t len);
/*
 * Validate `files` at `now` (Unix seconds) against `key` (current, may be
 * NULL) and `new_key` (from generate-csr-file, may be NULL). Fills *v.
 * Returns BACSC_OK.
 */
int bacsc_devcert_validate(const bacsc_cert_files *files, EVP_PKEY *key, EVP_PKEY *new_key,
                           int64_t now, bacsc_cert_verdict *v);
/*
 * May files->crl replace `installed` (ops.check_crl): every CRL signed by
 * one of files->issuer, at most one per issuer, not expired at `now`, never
 * older than (or dropping) the installed CRL of an issuer still trusted
 * (bacsc_pki_crl_set_check). Returns a BACSC_CERTCHK_* code with `detail`;
 * on OK *out holds the set to keep (PEM, malloc'd; empty for none).
 */
int bacsc_devcert_check_crl(const bacsc_cert_files *files, const bacsc_blob *installed,
                            int64_t now, bacsc_blob *out, char *detail, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
