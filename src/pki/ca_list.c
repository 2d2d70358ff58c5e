/*
 * ca_list.c — reading the CA store: requests, certificates, batches and the
 * audit log; revocation and CRLs.
 */
#include "ca_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "bacsc/error.h"

/* ---- listings ------------------------------------------------------------- */

/* The request rows `where` selects (?1: a status or NULL, ?2: a batch or
 * NULL), in id order, to cb. */
static int list_requests(bacsc_ca *ca, const char *where, int status, int64_t batch_id,
                         bacsc_request_cb cb, void *user)
{
    char sql[700];
    snprintf(sql, sizeof sql,
             "SELECT r.id, r.batch_id, r.status, r.entry, r.device_uuid, "
             "r.device_name, r.subject, r.key_fp, r.reason, r.decided_by, "
             "r.device_instance, r.created, r.decided, c.serial, r.csr, r.ref "
             "FROM requests r LEFT JOIN certificates c ON c.request_id = r.id "
             "WHERE %s ORDER BY r.id",
             where);
    sqlite3_stmt *q = ca_prep(ca, sql);
    if (!q)
        return BACSC_ERR_DB;
    if (status >= 0 && status <= 3)
        sqlite3_bind_text(q, 1, bacsc_req_status_name(status), -1, SQLITE_STATIC);
    if (batch_id > 0)
        sqlite3_bind_int64(q, 2, batch_id);
    int n = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        bacsc_request_row r = {
            .id = sqlite3_column_int64(q, 0),
            .batch_id = sqlite3_column_int64(q, 1),
            .status = ca_status_parse(ca_col_text(q, 2)),
            .entry = ca_col_text(q, 3),
            .device_uuid = ca_col_text(q, 4),
            .device_name = ca_col_text(q, 5),
            .subject = ca_col_text(q, 6),
            .key_fp = ca_col_text(q, 7),
            .reason = ca_col_text(q, 8),
            .decided_by = ca_col_text(q, 9),
            .device_instance = sqlite3_column_type(q, 10) == SQLITE_NULL
                                   ? -1
                                   : sqlite3_column_int64(q, 10),
            .created = sqlite3_column_int64(q, 11),
            .decided = sqlite3_column_int64(q, 12),
            .serial = ca_col_text(q, 13),
            .csr = sqlite3_column_blob(q, 14),
            .csr_len = (size_t)sqlite3_column_bytes(q, 14),
            .ref = ca_col_text(q, 15),
        };
        n++;
        if (cb && cb(&r, user) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? n : ca_db_fail(ca, "list requests");
}

int bacsc_ca_requests(bacsc_ca *ca, int status, int64_t batch_id, bacsc_request_cb cb,
                      void *user)
{
    return list_requests(ca, "(?1 IS NULL OR r.status = ?1) AND (?2 IS NULL OR r.batch_id = ?2)",
                         status, batch_id, cb, user);
}

int ca_requests_not_issued(bacsc_ca *ca, int64_t batch_id, bacsc_request_cb cb, void *user)
{
    /* the status index finds them without reading the batch's issued rows */
    return list_requests(ca,
                         "r.status IN ('pending', 'approved', 'rejected') AND "
                         "(?2 IS NULL OR r.batch_id = ?2)",
                         -1, batch_id, cb, user);
}

/* Normalise a serial given by a user: drop ':' and leading zeros, lower-case. */
static void norm_serial(const char *in, char *out, size_t outlen)
{
    size_t j = 0;
    bool lead = true;
    for (const char *c = in; *c && j + 1 < outlen; c++) {
        if (*c == ':' || *c == ' ')
            continue;
        if (lead && *c == '0')
            continue;
        lead = false;
        out[j++] = (char)(*c >= 'A' && *c <= 'F' ? *c - 'A' + 'a' : *c);
    }
    out[j] = 0;
}

int bacsc_ca_certs(bacsc_ca *ca, const bacsc_cert_filter *f, bacsc_cert_cb cb, void *user)
{
    bacsc_cert_filter none = {0};
    if (!f)
        f = &none;
    /* Only the conditions in use go into the WHERE clause, so SQLite can use
     * the serial primary key and the batch/expiry indexes. */
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT c.serial, c.subject, c.device_uuid, c.key_fp, c.not_before, c.not_after, "
             "c.issued, c.status, c.revocation_reason, c.revoked_at, c.request_id, r.batch_id, "
             "c.der FROM certificates c LEFT JOIN requests r ON r.id = c.request_id "
             "WHERE ?4 IS NOT NULL%s%s%s%s ORDER BY c.rowid",
             f->batch_id > 0 ? " AND r.batch_id = ?1" : "",
             f->expiring_within > 0
                 ? " AND c.status = 'valid' AND c.not_after > ?4 AND c.not_after <= ?2"
                 : "",
             f->valid_only ? " AND c.status = 'valid' AND c.not_after > ?4" : "",
             f->serial ? " AND c.serial = ?5" : "");
    sqlite3_stmt *q = ca_prep(ca, sql);
    if (!q)
        return BACSC_ERR_DB;
    int64_t now = ca_now(ca);
    if (f->batch_id > 0)
        sqlite3_bind_int64(q, 1, f->batch_id);
    if (f->expiring_within > 0)
        sqlite3_bind_int64(q, 2, now + f->expiring_within);
    sqlite3_bind_int64(q, 4, now);
    char serial[80];
    if (f->serial) {
        norm_serial(f->serial, serial, sizeof serial);
        sqlite3_bind_text(q, 5, serial, -1, SQLITE_STATIC);
    }
    int n = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *st = ca_col_text(q, 7);
        bacsc_cert_row r = {
            .serial = ca_col_text(q, 0),
            .subject = ca_col_text(q, 1),
            .device_uuid = ca_col_text(q, 2),
            .key_fp = ca_col_text(q, 3),
            .not_before = sqlite3_column_int64(q, 4),
            .not_after = sqlite3_column_int64(q, 5),
            .issued = sqlite3_column_int64(q, 6),
            .revoked = st && strcmp(st, "revoked") == 0,
            .revocation_reason = sqlite3_column_int(q, 8),
            .revoked_at = sqlite3_column_int64(q, 9),
            .request_id = sqlite3_column_int64(q, 10),
            .batch_id = sqlite3_column_int64(q, 11),
            .der = sqlite3_column_blob(q, 12),
            .der_len = (size_t)sqlite3_column_bytes(q, 12),
        };
        n++;
        if (cb && cb(&r, user) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? n : ca_db_fail(ca, "list certificates");
}

/* ---- revocation and CRL --------------------------------------------------- */

int bacsc_ca_revoke(bacsc_ca *ca, const char *serial_in, int reason)
{
    ca->err[0] = 0;
    if (!serial_in || reason < 0 || reason > 10 || reason == 7 || reason == 8)
        return ca_fail(ca, BACSC_ERR_INVALID_ARG, "bad serial or revocation reason");
    char serial[80];
    norm_serial(serial_in, serial, sizeof serial);
    int rc = ca_begin(ca);
    if (rc != BACSC_OK)
        return rc;
    sqlite3_stmt *q = ca_prep(ca, "SELECT status FROM certificates WHERE serial = ?");
    sqlite3_stmt *u = ca_prep(ca, "UPDATE certificates SET status = 'revoked', "
                               "revocation_reason = ?1, revoked_at = ?2 "
                               "WHERE serial = ?3 AND status = 'valid'");
    if (!q || !u) {
        rc = BACSC_ERR_DB;
        goto out;
    }
    sqlite3_bind_text(q, 1, serial, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_ROW) {
        rc = ca_fail(ca, BACSC_ERR_NOT_FOUND, "no certificate with serial %s", serial_in);
        goto out;
    }
    if (strcmp(ca_col_text(q, 0), "valid") != 0) {
        rc = ca_fail(ca, BACSC_ERR_STATE, "certificate %s is already revoked", serial);
        goto out;
    }
    sqlite3_bind_int(u, 1, reason);
    sqlite3_bind_int64(u, 2, ca_now(ca));
    sqlite3_bind_text(u, 3, serial, -1, SQLITE_STATIC);
    if (sqlite3_step(u) != SQLITE_DONE) {
        rc = ca_db_fail(ca, "revoke");
        goto out;
    }
    char obj[128];
    snprintf(obj, sizeof obj, "certificate %s", serial);
    rc = ca_audit(ca, "revoke", obj, bacsc_pki_crl_reason_name(reason));
out:
    sqlite3_finalize(q);
    sqlite3_finalize(u);
    if (rc == BACSC_OK)
        rc = ca_commit(ca);
    if (rc != BACSC_OK)
        ca_rollback(ca);
    return rc;
}

static int crl_add_revoked(X509_CRL *crl, const char *serial_hex, int64_t when, int reason)
{
    BIGNUM *bn = NULL;
    X509_REVOKED *rv = X509_REVOKED_new();
    ASN1_INTEGER *sn = NULL;
    ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)when);
    int ok = rv && t && BN_hex2bn(&bn, serial_hex) && (sn = BN_to_ASN1_INTEGER(bn, NULL)) &&
             X509_REVOKED_set_serialNumber(rv, sn) && X509_REVOKED_set_revocationDate(rv, t);
    if (ok && reason > 0) { /* RFC 5280: omit reasonCode "unspecified" */
        ASN1_ENUMERATED *e = ASN1_ENUMERATED_new();
        ok = e && ASN1_ENUMERATED_set(e, reason) &&
             X509_REVOKED_add1_ext_i2d(rv, NID_crl_reason, e, 0, 0) == 1;
        ASN1_ENUMERATED_free(e);
    }
    if (ok)
        ok = X509_CRL_add0_revoked(crl, rv);
    if (!ok)
        X509_REVOKED_free(rv);
    BN_free(bn);
    ASN1_INTEGER_free(sn);
    ASN1_TIME_free(t);
    return ok;
}

int bacsc_ca_crl(bacsc_ca *ca, uint8_t **der, size_t *len)
{
    ca->err[0] = 0;
    int rc = ca_need_signer(ca);
    if (rc != BACSC_OK)
        return rc;
    rc = ca_begin(ca);
    if (rc != BACSC_OK)
        return rc;
    char num[32];
    ca_meta_get(ca, "crl_number", num, sizeof num);
    long long crl_number = atoll(num) + 1;
    snprintf(num, sizeof num, "%lld", crl_number);
    rc = ca_meta_set(ca, "crl_number", num);
    int64_t now = ca_now(ca);
    X509_CRL *crl = X509_CRL_new();
    ASN1_TIME *t1 = ASN1_TIME_set(NULL, (time_t)now);
    ASN1_TIME *t2 = ASN1_TIME_set(NULL, (time_t)(now + (int64_t)ca->policy.crl_days * 86400));
    ASN1_INTEGER *cn = ASN1_INTEGER_new();
    sqlite3_stmt *q = ca_prep(ca, "SELECT serial, revoked_at, revocation_reason FROM certificates "
                               "WHERE status = 'revoked' ORDER BY serial");
    int count = 0;
    if (rc == BACSC_OK &&
        (!crl || !t1 || !t2 || !cn || !q || !X509_CRL_set_version(crl, 1) ||
         !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca->cert)) ||
         !X509_CRL_set1_lastUpdate(crl, t1) || !X509_CRL_set1_nextUpdate(crl, t2) ||
         !ASN1_INTEGER_set_int64(cn, crl_number) ||
         X509_CRL_add1_ext_i2d(crl, NID_crl_number, cn, 0, 0) != 1))
        rc = ca_fail(ca, BACSC_ERR_CRYPTO, "cannot build the CRL");
    if (rc == BACSC_OK) {
        int crit = 0;
        ASN1_OCTET_STRING *ski =
            X509_get_ext_d2i(ca->cert, NID_subject_key_identifier, &crit, NULL);
        if (ski) {
            AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
            if (aki) {
                aki->keyid = ski;
                ski = NULL;
                X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, aki, 0, 0);
                AUTHORITY_KEYID_free(aki);
            }
            ASN1_OCTET_STRING_free(ski);
        }
    }
    while (rc == BACSC_OK && sqlite3_step(q) == SQLITE_ROW) {
        if (!crl_add_revoked(crl, ca_col_text(q, 0), sqlite3_column_int64(q, 1),
                             sqlite3_column_int(q, 2)))
            rc = ca_fail(ca, BACSC_ERR_CRYPTO, "cannot add %s to the CRL", ca_col_text(q, 0));
        count++;
    }
    if (rc == BACSC_OK) {
        X509_CRL_sort(crl);
        if (X509_CRL_sign(crl, ca->key, EVP_sha256()) <= 0)
            rc = ca_fail(ca, BACSC_ERR_CRYPTO, "cannot sign the CRL");
    }
    if (rc == BACSC_OK) {
        unsigned char *buf = NULL;
        int n = i2d_X509_CRL(crl, &buf);
        *der = n > 0 ? malloc((size_t)n) : NULL;
        if (*der) {
            memcpy(*der, buf, (size_t)n);
            *len = (size_t)n;
        } else {
            rc = ca_fail(ca, BACSC_ERR_NOMEM, "out of memory");
        }
        OPENSSL_free(buf);
    }
    sqlite3_finalize(q);
    if (rc == BACSC_OK) {
        char detail[128];
        snprintf(detail, sizeof detail, "CRL number %lld, %d revoked", crl_number, count);
        rc = ca_audit(ca, "crl", "crl", detail);
    }
    bool have_der = rc == BACSC_OK;
    if (rc == BACSC_OK)
        rc = ca_commit(ca);
    if (rc != BACSC_OK) {
        ca_rollback(ca);
        if (have_der) {
            free(*der);
            *der = NULL;
        }
    }
    X509_CRL_free(crl);
    ASN1_TIME_free(t1);
    ASN1_TIME_free(t2);
    ASN1_INTEGER_free(cn);
    ERR_clear_error();
    return rc;
}

/* ---- batches and audit ---------------------------------------------------- */

int bacsc_ca_record_output(bacsc_ca *ca, int64_t for_batch, const char *file_name,
                           const uint8_t sha256[32], int64_t *out_id)
{
    ca->err[0] = 0;
    int rc = ca_begin(ca);
    if (rc != BACSC_OK)
        return rc;
    sqlite3_stmt *st = ca_prep(ca, "INSERT INTO batches(direction, file_name, sha256, site, origin, "
                                "for_batch, created) SELECT 'out', ?1, ?2, site, NULL, ?3, ?4 "
                                "FROM batches WHERE id = ?3");
    char hex[65] = "";
    if (sha256)
        bacsc_pki_hex(sha256, 32, hex);
    if (!st) {
        rc = BACSC_ERR_DB;
    } else {
        ca_bind_text(st, 1, file_name);
        ca_bind_text(st, 2, hex);
        sqlite3_bind_int64(st, 3, for_batch);
        sqlite3_bind_int64(st, 4, ca_now(ca));
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = ca_db_fail(ca, "record output");
        else if (sqlite3_changes(ca->db) != 1)
            rc = ca_fail(ca, BACSC_ERR_NOT_FOUND, "no batch %lld", (long long)for_batch);
    }
    sqlite3_finalize(st);
    int64_t id = sqlite3_last_insert_rowid(ca->db);
    if (rc == BACSC_OK) {
        char obj[64], detail[600];
        snprintf(obj, sizeof obj, "batch %lld", (long long)id);
        snprintf(detail, sizeof detail, "response to batch %lld: %s sha256 %s",
                 (long long)for_batch, file_name ? file_name : "-", hex);
        rc = ca_audit(ca, "respond", obj, detail);
    }
    if (rc == BACSC_OK)
        rc = ca_commit(ca);
    if (rc != BACSC_OK) {
        ca_rollback(ca);
        return rc;
    }
    if (out_id)
        *out_id = id;
    return BACSC_OK;
}

int bacsc_ca_batches(bacsc_ca *ca, int64_t id, bacsc_batch_cb cb, void *user)
{
    sqlite3_stmt *q = ca_prep(
        ca, "SELECT b.id, b.direction, b.file_name, b.sha256, b.site, b.origin, b.created, "
            "b.for_batch, b.ref, "
            "(SELECT count(*) FROM requests r WHERE r.batch_id = b.id), "
            "(SELECT count(*) FROM requests r WHERE r.batch_id = b.id AND r.status IN "
            "('pending','approved')), "
            "(SELECT count(*) FROM requests r WHERE r.batch_id = b.id AND r.status = 'issued'), "
            "(SELECT count(*) FROM requests r WHERE r.batch_id = b.id AND r.status = 'rejected'), "
            "b.submitter FROM batches b WHERE (?1 IS NULL OR b.id = ?1) ORDER BY b.id");
    if (!q)
        return BACSC_ERR_DB;
    if (id > 0)
        sqlite3_bind_int64(q, 1, id);
    int n = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        bacsc_batch_row r = {
            .id = sqlite3_column_int64(q, 0),
            .direction = ca_col_text(q, 1),
            .file_name = ca_col_text(q, 2),
            .sha256 = ca_col_text(q, 3),
            .site = ca_col_text(q, 4),
            .origin = ca_col_text(q, 5),
            .created = sqlite3_column_int64(q, 6),
            .for_batch = sqlite3_column_int64(q, 7),
            .ref = ca_col_text(q, 8),
            .n_requests = sqlite3_column_int64(q, 9),
            .n_pending = sqlite3_column_int64(q, 10),
            .n_issued = sqlite3_column_int64(q, 11),
            .n_rejected = sqlite3_column_int64(q, 12),
            .submitter = ca_col_text(q, 13),
        };
        n++;
        if (cb && cb(&r, user) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? n : ca_db_fail(ca, "list batches");
}

int bacsc_ca_audit(bacsc_ca *ca, int64_t since_id, bacsc_audit_cb cb, void *user)
{
    sqlite3_stmt *q = ca_prep(ca, "SELECT a.id, a.time, a.actor, a.action, a.object, a.detail, "
                                  "c.auth FROM audit a LEFT JOIN audit_chain c ON c.id = a.id "
                                  "WHERE a.id > ? ORDER BY a.id");
    if (!q)
        return BACSC_ERR_DB;
    sqlite3_bind_int64(q, 1, since_id);
    int n = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        bacsc_audit_row r = {
            .id = sqlite3_column_int64(q, 0),
            .time = sqlite3_column_int64(q, 1),
            .actor = ca_col_text(q, 2),
            .action = ca_col_text(q, 3),
            .object = ca_col_text(q, 4),
            .detail = ca_col_text(q, 5),
            .auth = ca_col_text(q, 6),
        };
        n++;
        if (cb && cb(&r, user) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? n : ca_db_fail(ca, "list audit");
}
