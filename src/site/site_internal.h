/*
 * site_internal.h — shared between the site database, the job engine and
 * job preparation (src/site). Not installed.
 */
#ifndef BACSC_SITE_INTERNAL_H
#define BACSC_SITE_INTERNAL_H

#include <sqlite3.h>

#include "bacsc/site.h"

struct bacsc_site {
    sqlite3 *db;
    int64_t fixed_now;
    bool resumed;                          /* the last prepare_* resumed a job */
    char err[512];
};

int site_fail(bacsc_site *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int site_dbfail(bacsc_site *s, const char *what);
int site_exec(bacsc_site *s, const char *sql);
sqlite3_stmt *site_prep(bacsc_site *s, const char *sql);
int site_begin(bacsc_site *s);
int site_commit(bacsc_site *s);
void site_rollback(bacsc_site *s);
void site_sha256(const unsigned char *data, size_t len, unsigned char fp[BACSC_SITE_FP_LEN]);
/* A CA certificate (PEM or DER) to DER; checks CA:TRUE. */
int site_ca_from_bytes(const unsigned char *data, size_t len, unsigned char **der,
                       size_t *der_len, char *why, size_t whylen);
/* A certificate or CSR file's content (PEM or DER) to DER; kind 0 cert, 1 CSR.
 * Returns BACSC_OK or BACSC_ERR_MALFORMED. */
int site_object_to_der(int kind, const unsigned char *data, size_t len, unsigned char **der,
                       size_t *der_len);

/* Steps of each job kind (item.step = the next step to run). */
enum { D_DEVICE, D_PORTS, D_CERT, D_ISSUER1, D_ISSUER2, D_END };
enum { R_DOMAIN, R_GENERATE, R_READ, R_END };
enum { I_READ_ISSUERS, I_WRITE_ISSUER, I_WRITE_CERT, I_VALIDATE, I_RESULT, I_ACTIVATE,
       I_CONFIRM, I_END };
enum { T_READ, T_WRITE, T_ACTIVATE, T_CONFIRM, T_END };
enum { M_HUBS, M_PORTS, M_ACTIVATE, M_CONFIRM, M_END };

#endif
