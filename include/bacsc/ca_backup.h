/*
 * bacsc/ca_backup.h — backing up and restoring a CA directory (docs/ca.md,
 * docs/lifecycle.md).
 *
 * A backup is a zip holding a consistent copy of ca.db (SQLite's online
 * backup API: taken while the CA may be in use, readers and writers are not
 * stopped), every other file of the directory (key, certificate, policy) and
 * a manifest (bacsc-ca-backup.json: format, time, SHA-256 of each file).
 * With a passphrase the zip is wrapped in CMS EnvelopedData with a password
 * recipient (RFC 3211 PWRI: PBKDF2-HMAC-SHA256 KEK, AES-256-CBC content), so
 * `openssl cms -decrypt -inform DER -pwri_password PASS` opens it too.
 */
#ifndef BACSC_CA_BACKUP_H
#define BACSC_CA_BACKUP_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BACSC_CA_BACKUP_MANIFEST "bacsc-ca-backup.json"
#define BACSC_CA_BACKUP_MAX (1024u * 1024u * 1024u) /* octets of a backup / restored files */

/*
 * Back up the CA directory `dir` into `out` (written atomically, mode 0600).
 * `passphrase` NULL writes a plain zip (the caller must have been told to:
 * the CA key is in it as it is in `dir`). Returns 0, BACSC_ERR_NOT_FOUND (no
 * CA there), BACSC_ERR_DB, BACSC_ERR_IO, BACSC_ERR_CRYPTO, BACSC_ERR_NOMEM,
 * with `err` set.
 */
int bacsc_ca_backup(const char *dir, const char *out, const char *passphrase, char *err,
                    size_t errlen);

/*
 * Restore backup `in` into `dir`, which must not exist or be empty (created
 * 0700). `passphrase` NULL accepts only a plain backup. Every file is checked
 * against the manifest and ca.db with PRAGMA integrity_check before anything
 * is written. Returns 0, BACSC_ERR_STATE (wrong or missing passphrase),
 * BACSC_ERR_MALFORMED (not a backup, damaged), BACSC_ERR_EXISTS (dir not
 * empty), BACSC_ERR_IO, BACSC_ERR_NOMEM, with `err` set.
 */
int bacsc_ca_restore(const char *in, const char *dir, const char *passphrase, char *err,
                     size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
