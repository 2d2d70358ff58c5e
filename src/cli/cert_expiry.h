/*
 * cert_expiry.h — warnings before a daemon's own certificate or its issuer
 * expires: from 30 days before the earlier of the two notAfter dates, one
 * warning line a day (and at once after a reload); past it an error line a
 * day. A status field with both dates and the days left.
 *
 * At start-up the files are read once, by the start-up check
 * (bacsc_pki_check_node_files, from sc_tls_ctx), which hands its dates here
 * (cert_expiry_startup): one warning per certificate per start. A daemon
 * that watches its certificate (cert_expiry_watch) says it in its own words
 * with the days left; any other program gets the check's line, once however
 * many TLS contexts it makes from the same files.
 */
#ifndef BACSC_CLI_CERT_EXPIRY_H
#define BACSC_CLI_CERT_EXPIRY_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#define CERT_EXPIRY_WARN_DAYS 30

typedef struct cert_expiry {
    const char *who;          /* log prefix ("hub") */
    const char *cert_file, *issuer_file;
    int64_t cert_not_after;   /* 0: unknown */
    int64_t issuer_not_after; /* 0: unknown */
    int64_t logged;           /* when the last line was logged (0: never) */
    bool loaded;              /* the first load took the start-up check's dates */
} cert_expiry;

/* This process reports expiry with cert_expiry_check (a daemon): the
 * start-up check logs no expiry warning of its own. Call before the TLS
 * contexts are made. */
void cert_expiry_watch(void);
/* The start-up check of `file` found notAfter `not_after` (0: unknown) and,
 * for the own certificate, the warning `warn` ("" or NULL: none). Logs
 * "<prog>: <warn>" unless a daemon watches or it was logged before. */
void cert_expiry_startup(const char *prog, const char *file, int64_t not_after, const char *warn);

/* (Re)read both notAfter dates (start from a zeroed struct; the first load
 * takes the dates of the start-up check where it read the same files); when
 * they changed, the next check logs at once if due. */
void cert_expiry_load(cert_expiry *e, const char *who, const char *cert_file,
                      const char *issuer_file);
/* Log the warning/error when due at `now` (Unix seconds). Returns true while
 * within CERT_EXPIRY_WARN_DAYS of (or past) the earlier notAfter. */
bool cert_expiry_check(cert_expiry *e, int64_t now);
/* {"not_after", "issuer_not_after", "days_left", "expiring", "expired"}; NULL
 * when neither date is known. */
json_t *cert_expiry_json(const cert_expiry *e, int64_t now);

#endif
