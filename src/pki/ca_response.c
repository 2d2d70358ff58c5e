/*
 * ca_response.c — certificate sinks of a site CA (bacsc/ca_files.h): a
 * directory of PEM files with an index, or a CARI response zip.
 */
#include "bacsc/ca_files.h"
#include "ca_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "bacsc/cari.h"
#include "bacsc/error.h"
#include "bacsc/hex.h"
#include "bacsc/pool.h"

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int code,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

/* ---- responses ---------------------------------------------------------------- */

/* Request details a response entry needs, by request id. */
typedef struct req_meta {
    int64_t id, instance;
    char *ref, *name, *uuid, *entry;
} req_meta;

typedef struct meta_list {
    req_meta *meta;
    size_t n_meta, cap_meta;
    bool nomem;
} meta_list;

typedef struct dir_sink {
    const char *dir;
    EVP_MD_CTX *md;
    FILE *index;
    size_t n;
    int rc;
    char *err;
    size_t errlen;
    meta_list ml;
    json_t *names; /* file names used (set) */
} dir_sink;

/* Write PEM blocks of DER certificates to DIR/name and add them to the
 * digest. No fsync: a response is regenerated from the store at will. */
static int write_pem_file(dir_sink *k, const char *name, const uint8_t *const *ders,
                          const size_t *lens, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", k->dir, name);
    BIO *b = BIO_new(BIO_s_mem());
    int ok = b != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = PEM_write_bio(b, "CERTIFICATE", "", ders[i], (long)lens[i]) > 0;
    if (ok) {
        char *p;
        long len = BIO_get_mem_data(b, &p);
        EVP_DigestUpdate(k->md, p, (size_t)len);
        ok = bacsc_pki_write_file(path, p, (size_t)len, 0644) == BACSC_OK;
    }
    BIO_free(b);
    if (!ok)
        k->rc = fail(k->err, k->errlen, BACSC_ERR_IO, "cannot write %s: %s", path,
                     strerror(errno));
    return ok ? 0 : -1;
}

static int write_x509_file(dir_sink *k, const char *name, X509 *const *certs, size_t n)
{
    uint8_t *ders[16] = {NULL};
    size_t lens[16] = {0};
    size_t m = 0;
    for (size_t i = 0; i < n && m < 16; i++) {
        unsigned char *d = NULL;
        int l = i2d_X509(certs[i], &d);
        if (l <= 0)
            continue;
        ders[m] = d;
        lens[m++] = (size_t)l;
    }
    int rc = write_pem_file(k, name, (const uint8_t *const *)ders, lens, m);
    for (size_t i = 0; i < m; i++)
        OPENSSL_free(ders[i]);
    return rc;
}

static const req_meta *find_meta(const meta_list *z, int64_t id);
static void entry_stem(const req_meta *m, char hint[80]);
static void meta_free(meta_list *z);
static int collect_issued(bacsc_ca *ca, int64_t batch_id, meta_list *z);

/* The file of a certificate: named after its request's entry ("ahu-1.csr" →
 * "ahu-1.pem"), else (no entry, a clash, a reserved name) after its serial. */
static void cert_file_name(dir_sink *k, const bacsc_cert_row *r, char name[96])
{
    char stem[80] = "";
    entry_stem(find_meta(&k->ml, r->request_id), stem);
    bool ok = stem[0] && strcmp(stem, "ca") && strcmp(stem, "chain") && strcmp(stem, "index");
    for (const char *p = stem; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             *p == '-' || *p == '_' || (*p == '.' && p != stem);
    snprintf(name, 96, "%s.pem", ok ? stem : r->serial);
    if (ok && json_object_get(k->names, name))
        snprintf(name, 96, "%s.pem", r->serial);
    json_object_set_new(k->names, name, json_true());
}

static int sink_cert(const bacsc_cert_row *r, void *user)
{
    dir_sink *k = user;
    char name[96];
    cert_file_name(k, r, name);
    if (write_pem_file(k, name, &r->der, &r->der_len, 1) != 0)
        return 1;
    fprintf(k->index, "%s %s %s %lld\n", name, r->device_uuid ? r->device_uuid : "-",
            r->key_fp ? r->key_fp : "-", (long long)r->request_id);
    k->n++;
    return 0;
}

static int respond_dir(bacsc_ca *ca, int64_t batch_id, const char *out, size_t *n_certs,
                       uint8_t sha256[32], char *err, size_t errlen)
{
    if (mkdir(out, 0755) != 0 && errno != EEXIST)
        return fail(err, errlen, BACSC_ERR_IO, "cannot create %s: %s", out, strerror(errno));
    X509 *cacert = bacsc_ca_cert(ca);
    if (!cacert)
        return fail(err, errlen, BACSC_ERR_STATE, "no CA certificate installed");
    char ipath[4096];
    snprintf(ipath, sizeof ipath, "%s/index.txt", out);
    if (bacsc_pki_check_out_dir(ipath) != BACSC_OK)
        return fail(err, errlen, BACSC_ERR_IO, "refusing to write into %s: %s", out,
                    errno == EPERM ? "it is writable by other users" : strerror(errno));
    char *itext = NULL;
    size_t ilen = 0;
    dir_sink k = {.dir = out, .md = EVP_MD_CTX_new(), .index = open_memstream(&itext, &ilen),
                  .err = err, .errlen = errlen, .names = json_object()};
    if (!k.md || !k.index || !k.names || !EVP_DigestInit_ex(k.md, EVP_sha256(), NULL) ||
        collect_issued(ca, batch_id, &k.ml) != BACSC_OK) {
        if (k.index)
            fclose(k.index);
        free(itext);
        EVP_MD_CTX_free(k.md);
        json_decref(k.names);
        meta_free(&k.ml);
        return fail(err, errlen, BACSC_ERR_IO, "cannot write %s: %s", ipath,
                    bacsc_pki_write_errtext(errno));
    }
    fprintf(k.index, "# file device-uuid key-sha256 request-id (batch %lld)\n",
            (long long)batch_id);
    write_x509_file(&k, "ca.pem", &cacert, 1);
    STACK_OF(X509) *chain = bacsc_ca_chain(ca);
    if (k.rc == BACSC_OK && sk_X509_num(chain) > 0) {
        X509 *arr[16];
        size_t m = 0;
        for (int i = 0; i < sk_X509_num(chain) && m < 16; i++)
            arr[m++] = sk_X509_value(chain, i);
        write_x509_file(&k, "chain.pem", arr, m);
    }
    bacsc_cert_filter f = {.batch_id = batch_id};
    if (k.rc == BACSC_OK) {
        int rc = bacsc_ca_certs(ca, &f, sink_cert, &k);
        if (rc < 0 && k.rc == BACSC_OK)
            k.rc = fail(err, errlen, rc, "%s", bacsc_ca_errmsg(ca));
    }
    if (fclose(k.index) != 0 && k.rc == BACSC_OK)
        k.rc = fail(err, errlen, BACSC_ERR_IO, "cannot write %s", ipath);
    if (k.rc == BACSC_OK && bacsc_pki_write_file(ipath, itext, ilen, 0644) != BACSC_OK)
        k.rc = fail(err, errlen, BACSC_ERR_IO, "cannot write %s: %s", ipath, bacsc_pki_write_errtext(errno));
    free(itext);
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(k.md, sha256, &mdlen);
    EVP_MD_CTX_free(k.md);
    json_decref(k.names);
    meta_free(&k.ml);
    *n_certs = k.n;
    return k.rc;
}

typedef struct zip_sink {
    bacsc_ca *ca;
    bacsc_cari_writer *w;
    meta_list ml;
    size_t n;
    int rc;
    char *err;
    size_t errlen;
} zip_sink;

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* bacsc_ca_requests callback: remember a request's details (meta_list). */
static int collect_request(const bacsc_request_row *r, void *user)
{
    meta_list *z = user;
    if (z->n_meta == z->cap_meta) {
        size_t cap = z->cap_meta ? z->cap_meta * 2 : 1024;
        req_meta *m = realloc(z->meta, cap * sizeof *m);
        if (!m) {
            z->nomem = true;
            return 1;
        }
        z->meta = m;
        z->cap_meta = cap;
    }
    req_meta *m = &z->meta[z->n_meta++];
    m->id = r->id; /* rows come in id order */
    m->instance = r->device_instance;
    m->ref = dup_or_null(r->ref);
    m->name = dup_or_null(r->device_name);
    m->uuid = dup_or_null(r->device_uuid);
    m->entry = dup_or_null(r->entry);
    return 0;
}

static void meta_free(meta_list *z)
{
    for (size_t i = 0; i < z->n_meta; i++) {
        free(z->meta[i].ref);
        free(z->meta[i].name);
        free(z->meta[i].uuid);
        free(z->meta[i].entry);
    }
    free(z->meta);
}

/* The issued requests of a batch. Returns 0 or a BACSC_ERR_*. */
static int collect_issued(bacsc_ca *ca, int64_t batch_id, meta_list *z)
{
    int rc = bacsc_ca_requests(ca, BACSC_REQ_ISSUED, batch_id, collect_request, z);
    return z->nomem ? BACSC_ERR_NOMEM : rc < 0 ? rc : BACSC_OK;
}

/* The file stem of a request's entry ("csr/ahu-1.csr" → "ahu-1"), "" if none. */
static void entry_stem(const req_meta *m, char hint[80])
{
    hint[0] = 0;
    if (!m || !m->entry)
        return;
    const char *b = strrchr(m->entry, '/');
    snprintf(hint, 80, "%s", b ? b + 1 : m->entry);
    char *dot = strrchr(hint, '.');
    if (dot && dot != hint)
        *dot = 0;
}

static const req_meta *find_meta(const meta_list *z, int64_t id)
{
    size_t lo = 0, hi = z->n_meta;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->meta[mid].id == id)
            return &z->meta[mid];
        if (z->meta[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* 64 hex digits (the store's key_fp) into 32 octets; false if not that. */
static bool fp_from_hex(const char *hex, uint8_t fp[32])
{
    return hex && strlen(hex) == 64 && bacsc_hex_decode(hex, 64, fp, 32, NULL) == 32;
}

/* Add the certificate `der` (the store's row: serial, key_fp) with its
 * request's details `m` (NULL: none). Returns 0 or 1 (z->rc set). */
static int zip_add(zip_sink *z, const char *serial, const uint8_t *der, size_t der_len,
                   const char *key_fp, const req_meta *m)
{
    bacsc_cari_device dev = {.instance = m ? m->instance : BACSC_CARI_DEVICE_INSTANCE_NONE,
                             .name = m ? m->name : NULL,
                             .uuid = m ? m->uuid : NULL};
    /* name the file after the request's entry (its stem) */
    char hint[80];
    entry_stem(m, hint);
    char why[256] = "";
    /* The store wrote this certificate for the key it recorded (key_fp):
     * add it without parsing it again (~100 us per certificate in OpenSSL
     * 3.0); without a recorded key, parse it. */
    uint8_t fp[32];
    int rc = fp_from_hex(key_fp, fp)
                 ? bacsc_cari_writer_add_issued(z->w, der, der_len, fp, hint[0] ? hint : NULL,
                                                &dev, m ? m->ref : NULL, why, sizeof why)
                 : bacsc_cari_writer_add_certificate(z->w, der, der_len, hint[0] ? hint : NULL,
                                                     &dev, m ? m->ref : NULL, why, sizeof why);
    if (rc < 0) {
        z->rc = fail(z->err, z->errlen, rc, "certificate %s: %s", serial, why);
        return 1;
    }
    z->n++;
    return 0;
}

static int zip_cert(const bacsc_cert_row *r, void *user)
{
    zip_sink *z = user;
    return zip_add(z, r->serial, r->der, r->der_len, r->key_fp, find_meta(&z->ml, r->request_id));
}

/* A request of the batch that got no certificate: say so, with the reason. */
static int zip_not_issued(const bacsc_request_row *r, void *user)
{
    zip_sink *z = user;
    if (r->status == BACSC_REQ_ISSUED)
        return 0;
    bacsc_cari_device dev = {.instance = r->device_instance >= 0 ? r->device_instance
                                                                 : BACSC_CARI_DEVICE_INSTANCE_NONE,
                             .name = r->device_name && *r->device_name ? (char *)r->device_name
                                                                       : NULL,
                             .uuid = r->device_uuid && strlen(r->device_uuid) == 36
                                         ? (char *)r->device_uuid
                                         : NULL};
    uint8_t fp[32];
    bool has_fp = fp_from_hex(r->key_fp, fp);
    int rc = bacsc_cari_writer_add_not_issued(z->w, &dev, r->ref, has_fp ? fp : NULL,
                                              bacsc_req_status_name(r->status), r->reason);
    if (rc < 0) {
        z->rc = fail(z->err, z->errlen, rc, "request %lld: %s", (long long)r->id,
                     bacsc_strerror(rc));
        return 1;
    }
    return 0;
}

typedef struct batch_info {
    char site[256], ref[256];
    bool found;
} batch_info;

static int grab_batch(const bacsc_batch_row *r, void *user)
{
    batch_info *b = user;
    b->found = true;
    snprintf(b->site, sizeof b->site, "%s", r->site ? r->site : "");
    snprintf(b->ref, sizeof b->ref, "%s", r->ref ? r->ref : "");
    return 1;
}

static int add_issuer(zip_sink *z, X509 *x, const char *hint)
{
    unsigned char *d = NULL;
    int l = i2d_X509(x, &d);
    char why[256] = "";
    int rc = l > 0 ? bacsc_cari_writer_add_issuer(z->w, d, (size_t)l, hint, why, sizeof why)
                   : BACSC_ERR_CRYPTO;
    OPENSSL_free(d);
    if (rc < 0)
        z->rc = fail(z->err, z->errlen, rc, "issuer certificate: %s", why[0] ? why : "unusable");
    return rc < 0 ? rc : 0;
}

/* A response writer for the batch: its site and request batch id, the CA
 * certificate and chain. Returns 0 or a BACSC_ERR_* with z->rc set. */
static int zip_begin(bacsc_ca *ca, int64_t batch_id, zip_sink *z)
{
    X509 *cacert = bacsc_ca_cert(ca);
    if (!cacert)
        return z->rc = fail(z->err, z->errlen, BACSC_ERR_STATE, "no CA certificate installed");
    batch_info bi = {0};
    bacsc_ca_batches(ca, batch_id, grab_batch, &bi);
    int rc = bacsc_cari_writer_new(BACSC_CARI_RESPONSE, bi.site[0] ? bi.site : NULL, NULL, &z->w);
    if (rc != BACSC_OK)
        return z->rc = fail(z->err, z->errlen, rc, "cannot start the response: %s",
                            bacsc_strerror(rc));
    if (bi.ref[0])
        bacsc_cari_writer_set_request_batch(z->w, bi.ref);
    if (add_issuer(z, cacert, "ca") == 0) {
        STACK_OF(X509) *chain = bacsc_ca_chain(ca);
        for (int i = 0; z->rc == BACSC_OK && i < sk_X509_num(chain); i++)
            add_issuer(z, sk_X509_value(chain, i), NULL);
    }
    return z->rc;
}

/* After the certificates: the batch's requests without one, then the zip
 * into the file `out` (sha256: its digest) or, out == NULL, into *data /
 * *len. Frees the writer. */
static int zip_end(bacsc_ca *ca, int64_t batch_id, zip_sink *z, const char *out,
                   uint8_t sha256[32], uint8_t **data, size_t *len)
{
    int rc;
    if (z->rc == BACSC_OK) {
        rc = ca_requests_not_issued(ca, batch_id, zip_not_issued, z);
        if (rc < 0 && z->rc == BACSC_OK)
            z->rc = fail(z->err, z->errlen, rc, "%s", bacsc_ca_errmsg(ca));
    }
    if (z->rc == BACSC_OK && out) {
        rc = bacsc_cari_writer_write_file(z->w, out, sha256);
        if (rc != BACSC_OK)
            z->rc = fail(z->err, z->errlen, rc, "cannot write %s: %s", out,
                         bacsc_pki_write_errtext(errno));
    } else if (z->rc == BACSC_OK) {
        rc = bacsc_cari_writer_to_buffer(z->w, data, len);
        if (rc != BACSC_OK)
            z->rc = fail(z->err, z->errlen, rc, "cannot make the response: %s",
                         bacsc_strerror(rc));
    }
    bacsc_cari_writer_free(z->w);
    z->w = NULL;
    return z->rc;
}

/* The CARI response zip of a batch, into the file `out` (sha256: its
 * digest), or with out == NULL into *data / *len. */
static int respond_zip(bacsc_ca *ca, int64_t batch_id, const char *out, size_t *n_certs,
                       uint8_t sha256[32], char *err, size_t errlen, uint8_t **data,
                       size_t *len)
{
    zip_sink z = {.ca = ca, .err = err, .errlen = errlen};
    int rc;
    if (zip_begin(ca, batch_id, &z) == BACSC_OK &&
        (rc = collect_issued(ca, batch_id, &z.ml)) != BACSC_OK)
        z.rc = fail(err, errlen, rc, "%s",
                    rc == BACSC_ERR_NOMEM ? "out of memory" : bacsc_ca_errmsg(ca));
    if (z.rc == BACSC_OK) {
        bacsc_cert_filter f = {.batch_id = batch_id};
        rc = bacsc_ca_certs(ca, &f, zip_cert, &z);
        if (rc < 0 && z.rc == BACSC_OK)
            z.rc = fail(err, errlen, rc, "%s", bacsc_ca_errmsg(ca));
    }
    if (z.w)
        zip_end(ca, batch_id, &z, out, sha256, data, len);
    meta_free(&z.ml);
    *n_certs = z.n;
    return z.rc;
}

/* The response goes into a directory (PEM files + index), not a zip: `out`
 * ends with '/' or is an existing directory. */
static bool out_is_dir(const char *out)
{
    struct stat st;
    size_t len = strlen(out);
    return (len && out[len - 1] == '/') || (stat(out, &st) == 0 && S_ISDIR(st.st_mode));
}

int bacsc_ca_response_write(bacsc_ca *ca, int64_t batch_id, const char *out, size_t *n_certs,
                      uint8_t sha256[32], char *err, size_t errlen)
{
    *n_certs = 0;
    int n = bacsc_ca_batches(ca, batch_id, NULL, NULL);
    if (n <= 0)
        return fail(err, errlen, BACSC_ERR_NOT_FOUND, "no batch %lld", (long long)batch_id);
    return out_is_dir(out) ? respond_dir(ca, batch_id, out, n_certs, sha256, err, errlen)
               : respond_zip(ca, batch_id, out, n_certs, sha256, err, errlen, NULL, NULL);
}

int bacsc_ca_response_buffer(bacsc_ca *ca, int64_t batch_id, uint8_t **data, size_t *len,
                             size_t *n_certs, char *err, size_t errlen)
{
    *data = NULL;
    *len = 0;
    *n_certs = 0;
    if (bacsc_ca_batches(ca, batch_id, NULL, NULL) <= 0)
        return fail(err, errlen, BACSC_ERR_NOT_FOUND, "no batch %lld", (long long)batch_id);
    return respond_zip(ca, batch_id, NULL, n_certs, NULL, err, errlen, data, len);
}

/* ---- the response read while the batch is issued -------------------------------- */

/* bacsc_ca_response_begin: a thread of a one-worker pool reads the batch's
 * certificates from the store with a connection of its own, as each chunk
 * of them commits, in the order bacsc_ca_certs lists them (rowid), into the
 * response writer; bacsc_ca_response_end reads what is left once issuing
 * is over and writes the zip. The rows it reads never change once written
 * (a certificate's serial, DER and key, its request's details; an issued
 * request stays issued, certificate rows are never deleted) and new ones
 * get higher rowids, so the zip is the one bacsc_ca_response_write makes
 * afterwards, octet for octet. */
struct bacsc_ca_response_ahead {
    int64_t batch_id;
    zip_sink z;
    char err[512];
    char path[4096];
    int64_t last; /* rowid of the last certificate read */
    bacsc_pool *pool;
    bacsc_pool_job *job;
    pthread_t owner;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool finish; /* (mu) issuing is over */
    bool ran;    /* the reader ran on the worker, to the end */
};

#define AHEAD_POLL_NS 10000000L /* between reads while the chunks commit */

/* Read the certificates committed since the last pass. */
static int ahead_pass(bacsc_ca_response_ahead *a, sqlite3_stmt *q)
{
    sqlite3_reset(q);
    sqlite3_bind_int64(q, 1, a->batch_id);
    sqlite3_bind_int64(q, 2, a->last);
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *st = ca_col_text(q, 5);
        req_meta m = {
            .id = sqlite3_column_int64(q, 4),
            .instance = sqlite3_column_type(q, 10) == SQLITE_NULL ? -1
                                                                 : sqlite3_column_int64(q, 10),
            .ref = (char *)ca_col_text(q, 6),
            .name = (char *)ca_col_text(q, 7),
            .uuid = (char *)ca_col_text(q, 8),
            .entry = (char *)ca_col_text(q, 9),
        };
        /* respond_zip finds the details of issued requests only */
        bool issued = st && strcmp(st, "issued") == 0;
        if (zip_add(&a->z, ca_col_text(q, 1), sqlite3_column_blob(q, 3),
                    (size_t)sqlite3_column_bytes(q, 3), ca_col_text(q, 2),
                    issued ? &m : NULL) != 0)
            break;
        a->last = sqlite3_column_int64(q, 0);
    }
    sqlite3_reset(q); /* ends the read transaction */
    if (a->z.rc == BACSC_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
        return BACSC_ERR_DB;
    return a->z.rc;
}

#define AHEAD_COLS                                                                          \
    "SELECT c.rowid, c.serial, c.key_fp, c.der, c.request_id, r.status, r.ref, "          \
    "r.device_name, r.device_uuid, r.entry, r.device_instance FROM certificates c "

/* The first pass: the batch's certificates so far (through its requests),
 * and in the same read transaction the store's last certificate, after
 * which the later passes read the new rows only (by rowid). */
static int ahead_first(bacsc_ca_response_ahead *a, sqlite3 *db)
{
    sqlite3_stmt *q = NULL, *mx = NULL;
    int rc = BACSC_ERR_DB;
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db,
                           AHEAD_COLS "JOIN requests r ON r.id = c.request_id WHERE "
                                      "r.batch_id = ?1 AND c.rowid > ?2 ORDER BY c.rowid",
                           -1, &q, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT max(rowid) FROM certificates", -1, &mx, NULL) ==
            SQLITE_OK &&
        (rc = ahead_pass(a, q)) == BACSC_OK) {
        rc = sqlite3_step(mx) == SQLITE_ROW ? BACSC_OK : BACSC_ERR_DB;
        if (rc == BACSC_OK && sqlite3_column_int64(mx, 0) > a->last)
            a->last = sqlite3_column_int64(mx, 0);
    }
    sqlite3_finalize(q);
    sqlite3_finalize(mx);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    return rc;
}

static void ahead_run(void *ctx, size_t i)
{
    bacsc_ca_response_ahead *a = ctx;
    if (i != 0 || pthread_equal(pthread_self(), a->owner))
        return; /* no worker: bacsc_ca_response_end writes it the usual way */
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    /* CROSS JOIN: certificates outside, from the last rowid read */
    if (sqlite3_open_v2(a->path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL) !=
            SQLITE_OK ||
        sqlite3_busy_timeout(db, 15000) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           AHEAD_COLS "CROSS JOIN requests r ON r.id = c.request_id WHERE "
                                      "r.batch_id = ?1 AND c.rowid > ?2 ORDER BY c.rowid",
                           -1, &q, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return;
    }
    int rc = ahead_first(a, db);
    while (rc == BACSC_OK) {
        pthread_mutex_lock(&a->mu);
        if (!a->finish) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += AHEAD_POLL_NS;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&a->cv, &a->mu, &ts);
        }
        bool fin = a->finish; /* a pass begun after this sees every commit */
        pthread_mutex_unlock(&a->mu);
        rc = ahead_pass(a, q);
        if (fin)
            break;
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    a->ran = rc == BACSC_OK; /* else the usual way, which reports the error */
}

static void ahead_free(bacsc_ca_response_ahead *a)
{
    if (!a)
        return;
    bacsc_pool_free(a->pool);
    bacsc_cari_writer_free(a->z.w);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
}

bacsc_ca_response_ahead *bacsc_ca_response_begin(bacsc_ca *ca, int64_t batch_id)
{
    /* one thread asked for (--jobs 1): no reader thread either */
    if (!ca || ca->threads < 2 || bacsc_ca_batches(ca, batch_id, NULL, NULL) <= 0)
        return NULL;
    bacsc_ca_response_ahead *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->batch_id = batch_id;
    a->z = (zip_sink){.ca = ca, .err = a->err, .errlen = sizeof a->err};
    ca_path_in(bacsc_ca_dir(ca), "ca.db", a->path, sizeof a->path);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    a->owner = pthread_self();
    if (zip_begin(ca, batch_id, &a->z) != BACSC_OK || !(a->pool = bacsc_pool_new(1))) {
        ahead_free(a);
        return NULL;
    }
    /* two items, so the pool runs them on its worker (item 1 does nothing) */
    a->job = bacsc_pool_start(a->pool, 2, ahead_run, a);
    return a;
}

/* Issuing is over: let the reader finish and wait for it. */
static void ahead_stop(bacsc_ca_response_ahead *a)
{
    pthread_mutex_lock(&a->mu);
    a->finish = true;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    bacsc_pool_wait(a->job);
    a->job = NULL;
}

void bacsc_ca_response_cancel(bacsc_ca_response_ahead *a)
{
    if (!a)
        return;
    ahead_stop(a);
    ahead_free(a);
}

int bacsc_ca_response_end(bacsc_ca *ca, bacsc_ca_response_ahead *a, int64_t batch_id,
                          const char *out, size_t *n_certs, uint8_t sha256[32], char *err,
                          size_t errlen)
{
    if (!a)
        return bacsc_ca_response_write(ca, batch_id, out, n_certs, sha256, err, errlen);
    ahead_stop(a);
    if (!a->ran || out_is_dir(out) || a->batch_id != batch_id) {
        ahead_free(a);
        return bacsc_ca_response_write(ca, batch_id, out, n_certs, sha256, err, errlen);
    }
    zip_end(ca, batch_id, &a->z, out, sha256, NULL, NULL);
    int rc = a->z.rc;
    if (rc != BACSC_OK)
        snprintf(err, errlen, "%s", a->err);
    *n_certs = a->z.n;
    ahead_free(a);
    return rc;
}
