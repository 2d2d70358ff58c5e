/*
 * ca_backup.c — CA directory backup and restore (bacsc/ca_backup.h).
 * SQLite's online backup API for the store, libzip for the archive,
 * OpenSSL CMS (password recipient) for the encryption.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <zip.h>

#include "bacsc/ca_backup.h"
#include "bacsc/error.h"
#include "bacsc/pki.h"

#define DB_NAME "ca.db"
#define MAX_FILES 64
#define PBKDF2_ITER 200000

typedef struct member {
    char name[128];
    unsigned char *data;
    size_t len;
    int mode;
} member;

typedef struct archive {
    member m[MAX_FILES];
    size_t n;
} archive;

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

static void archive_free(archive *a)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->m[i].data)
            OPENSSL_cleanse(a->m[i].data, a->m[i].len);
        free(a->m[i].data);
    }
    a->n = 0;
}

static void sha256_hex(const unsigned char *d, size_t n, char hex[65])
{
    unsigned char fp[32];
    unsigned int l = 0;
    EVP_Digest(d, n, fp, &l, EVP_sha256(), NULL);
    bacsc_pki_hex(fp, 32, hex);
}

/* ---- reading the directory --------------------------------------------------------- */

/* A consistent image of the store: online backup into memory, serialized. */
static int db_image(const char *path, member *m, char *err, size_t errlen)
{
    sqlite3 *src = NULL, *mem = NULL;
    int rc = BACSC_ERR_DB;
    if (sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_open(":memory:", &mem) != SQLITE_OK) {
        fail(err, errlen, rc, "%s: %s", path, src ? sqlite3_errmsg(src) : "cannot open");
        goto out;
    }
    sqlite3_busy_timeout(src, 15000);
    sqlite3_backup *b = sqlite3_backup_init(mem, "main", src, "main");
    int st = b ? sqlite3_backup_step(b, -1) : SQLITE_ERROR;
    sqlite3_backup_finish(b);
    if (st != SQLITE_DONE) {
        fail(err, errlen, rc, "%s: online backup: %s", path, sqlite3_errmsg(mem));
        goto out;
    }
    sqlite3_int64 size = 0;
    unsigned char *img = sqlite3_serialize(mem, "main", &size, 0);
    if (!img || size <= 0 || (m->data = malloc((size_t)size)) == NULL) {
        sqlite3_free(img);
        rc = fail(err, errlen, BACSC_ERR_NOMEM, "out of memory for the store image");
        goto out;
    }
    memcpy(m->data, img, (size_t)size);
    m->len = (size_t)size;
    /* File format version bytes (offsets 18, 19): 2 = WAL, 1 = rollback.
     * The copy is a rollback-journal file (what `PRAGMA journal_mode =
     * DELETE` writes); the CA switches it back to WAL when it opens it. */
    if (m->len > 19 && m->data[18] == 2 && m->data[19] == 2)
        m->data[18] = m->data[19] = 1;
    sqlite3_free(img);
    snprintf(m->name, sizeof m->name, "%s", DB_NAME);
    m->mode = 0600;
    rc = BACSC_OK;
out:
    sqlite3_close(mem);
    sqlite3_close(src);
    return rc;
}

static bool skipped(const char *name)
{
    return name[0] == '.' || strncmp(name, DB_NAME, strlen(DB_NAME)) == 0;
}

static int read_member(const char *dir, const char *name, member *m, char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat sb;
    if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return BACSC_ERR_NOT_FOUND; /* not a regular file: not part of the CA */
    FILE *f = fopen(path, "rb");
    if (!f || sb.st_size > (off_t)BACSC_CA_BACKUP_MAX)
        return fail(err, errlen, BACSC_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    m->data = malloc((size_t)sb.st_size + 1);
    m->len = m->data ? fread(m->data, 1, (size_t)sb.st_size, f) : 0;
    fclose(f);
    if (!m->data || m->len != (size_t)sb.st_size)
        return fail(err, errlen, BACSC_ERR_IO, "cannot read %s", path);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->mode = (int)(sb.st_mode & 0777);
    return BACSC_OK;
}

static int collect(const char *dir, archive *a, char *err, size_t errlen)
{
    char dbpath[4200];
    snprintf(dbpath, sizeof dbpath, "%s/%s", dir, DB_NAME);
    struct stat sb;
    if (stat(dbpath, &sb) != 0)
        return fail(err, errlen, BACSC_ERR_NOT_FOUND, "no CA in %s (no %s)", dir, DB_NAME);
    int rc = db_image(dbpath, &a->m[a->n], err, errlen);
    if (rc != BACSC_OK)
        return rc;
    a->n++;
    DIR *d = opendir(dir);
    if (!d)
        return fail(err, errlen, BACSC_ERR_IO, "cannot list %s: %s", dir, strerror(errno));
    struct dirent *e;
    while (rc == BACSC_OK && (e = readdir(d)) != NULL) {
        if (skipped(e->d_name) || strlen(e->d_name) >= sizeof a->m[0].name)
            continue;
        if (a->n == MAX_FILES) {
            rc = fail(err, errlen, BACSC_ERR_LIMIT, "%s holds more than %d files", dir, MAX_FILES);
            break;
        }
        rc = read_member(dir, e->d_name, &a->m[a->n], err, errlen);
        if (rc == BACSC_OK)
            a->n++;
        else if (rc == BACSC_ERR_NOT_FOUND)
            rc = BACSC_OK;
    }
    closedir(d);
    return rc;
}

/* ---- the zip ------------------------------------------------------------------------ */

static char *manifest_text(const archive *a)
{
    json_t *files = json_array();
    for (size_t i = 0; i < a->n; i++) {
        char hex[65];
        sha256_hex(a->m[i].data, a->m[i].len, hex);
        json_array_append_new(files, json_pack("{s:s,s:I,s:s,s:i}", "name", a->m[i].name, "size",
                                               (json_int_t)a->m[i].len, "sha256", hex, "mode",
                                               a->m[i].mode));
    }
    json_t *m = json_pack("{s:s,s:i,s:I,s:o}", "format", "bacsc-ca-backup", "version", 1,
                          "created", (json_int_t)time(NULL), "files", files);
    char *text = m ? json_dumps(m, JSON_INDENT(2)) : NULL;
    json_decref(m);
    return text;
}

static int add_member(zip_t *za, const char *name, const void *data, size_t len)
{
    zip_source_t *s = zip_source_buffer(za, data, len, 0);
    if (!s)
        return -1;
    if (zip_file_add(za, name, s, ZIP_FL_ENC_UTF_8) < 0) {
        zip_source_free(s);
        return -1;
    }
    return 0;
}

static int source_bytes(zip_source_t *src, unsigned char **out, size_t *len)
{
    zip_int64_t size = -1;
    *out = NULL;
    if (zip_source_open(src) != 0)
        return BACSC_ERR_IO;
    if (zip_source_seek(src, 0, SEEK_END) == 0 && (size = zip_source_tell(src)) >= 0 &&
        zip_source_seek(src, 0, SEEK_SET) == 0 && (*out = malloc((size_t)size + 1)) != NULL &&
        zip_source_read(src, *out, (zip_uint64_t)size) != size) {
        free(*out);
        *out = NULL;
    }
    zip_source_close(src);
    *len = *out ? (size_t)size : 0;
    return *out ? BACSC_OK : BACSC_ERR_IO;
}

static int zip_build(const archive *a, unsigned char **out, size_t *len)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_TRUNCATE, &ze) : NULL;
    zip_error_fini(&ze);
    if (!za) {
        zip_source_free(src);
        return BACSC_ERR_NOMEM;
    }
    zip_source_keep(src);
    char *man = manifest_text(a);
    int rc = man && add_member(za, BACSC_CA_BACKUP_MANIFEST, man, strlen(man)) == 0 ? BACSC_OK
                                                                              : BACSC_ERR_NOMEM;
    for (size_t i = 0; i < a->n && rc == BACSC_OK; i++)
        if (add_member(za, a->m[i].name, a->m[i].data, a->m[i].len) != 0)
            rc = BACSC_ERR_NOMEM;
    if (rc == BACSC_OK && zip_close(za) != 0)
        rc = BACSC_ERR_IO;
    if (rc != BACSC_OK)
        zip_discard(za);
    else
        rc = source_bytes(src, out, len);
    zip_source_free(src);
    free(man);
    return rc;
}

/* ---- encryption (CMS, password recipient) -------------------------------------------- */

static int cms_encrypt(const unsigned char *in, size_t len, const char *pass, unsigned char **out,
                       size_t *outlen)
{
    BIO *bin = BIO_new_mem_buf(in, (int)len), *bout = BIO_new(BIO_s_mem());
    unsigned int flags = CMS_BINARY | CMS_PARTIAL;
    CMS_ContentInfo *cms = bin ? CMS_encrypt(NULL, bin, EVP_aes_256_cbc(), flags) : NULL;
    unsigned char *pw = (unsigned char *)OPENSSL_strdup(pass);
    int rc = BACSC_ERR_CRYPTO;
    /* PBKDF2 (HMAC-SHA256 by default in OpenSSL 3) → AES-256 KEK wrap */
    if (cms && pw &&
        CMS_add0_recipient_password(cms, PBKDF2_ITER, NID_undef, NID_undef, pw, -1,
                                    EVP_aes_256_cbc()) != NULL) {
        pw = NULL; /* owned by the CMS structure now */
        if (CMS_final(cms, bin, NULL, CMS_BINARY) == 1 && i2d_CMS_bio(bout, cms) == 1) {
            char *p;
            long n = BIO_get_mem_data(bout, &p);
            if (n > 0 && (*out = malloc((size_t)n)) != NULL) {
                memcpy(*out, p, (size_t)n);
                *outlen = (size_t)n;
                rc = BACSC_OK;
            }
        }
    }
    OPENSSL_free(pw);
    CMS_ContentInfo_free(cms);
    BIO_free(bin);
    BIO_free(bout);
    ERR_clear_error();
    return rc;
}

static int cms_decrypt(const unsigned char *in, size_t len, const char *pass, unsigned char **out,
                       size_t *outlen)
{
    BIO *bin = BIO_new_mem_buf(in, (int)len), *bout = BIO_new(BIO_s_mem());
    CMS_ContentInfo *cms = bin ? d2i_CMS_bio(bin, NULL) : NULL;
    int rc = cms ? BACSC_ERR_STATE : BACSC_ERR_MALFORMED;
    if (cms && bout &&
        CMS_decrypt_set1_password(cms, (unsigned char *)pass, (ossl_ssize_t)strlen(pass)) == 1 &&
        CMS_decrypt(cms, NULL, NULL, NULL, bout, CMS_BINARY) == 1) {
        char *p;
        long n = BIO_get_mem_data(bout, &p);
        rc = BACSC_ERR_NOMEM;
        if (n > 0 && (size_t)n <= BACSC_CA_BACKUP_MAX && (*out = malloc((size_t)n)) != NULL) {
            memcpy(*out, p, (size_t)n);
            *outlen = (size_t)n;
            rc = BACSC_OK;
        }
    }
    CMS_ContentInfo_free(cms);
    BIO_free(bin);
    BIO_free_all(bout);
    ERR_clear_error();
    return rc;
}

int bacsc_ca_backup(const char *dir, const char *out, const char *passphrase, char *err,
                    size_t errlen)
{
    if (!dir || !out || (passphrase && !*passphrase))
        return fail(err, errlen, BACSC_ERR_INVALID_ARG, "bad arguments");
    archive *a = calloc(1, sizeof *a);
    if (!a)
        return BACSC_ERR_NOMEM;
    unsigned char *zip = NULL, *enc = NULL;
    size_t zlen = 0, elen = 0;
    int rc = collect(dir, a, err, errlen);
    if (rc == BACSC_OK && (rc = zip_build(a, &zip, &zlen)) != BACSC_OK)
        fail(err, errlen, rc, "cannot build the archive");
    if (rc == BACSC_OK && passphrase &&
        (rc = cms_encrypt(zip, zlen, passphrase, &enc, &elen)) != BACSC_OK)
        fail(err, errlen, rc, "cannot encrypt the backup");
    if (rc == BACSC_OK &&
        (rc = bacsc_pki_write_file(out, enc ? enc : zip, enc ? elen : zlen, 0600)) != BACSC_OK)
        fail(err, errlen, rc, "cannot write %s: %s", out, strerror(errno));
    if (zip)
        OPENSSL_cleanse(zip, zlen);
    free(zip);
    free(enc);
    archive_free(a);
    free(a);
    return rc;
}

/* ---- restore ------------------------------------------------------------------------ */

static bool safe_name(const char *n)
{
    return n[0] && n[0] != '.' && !strchr(n, '/') && !strchr(n, '\\') && strlen(n) < 128 &&
           strcmp(n, BACSC_CA_BACKUP_MANIFEST) != 0;
}

static int read_entry(zip_t *za, const char *name, size_t max, unsigned char **out, size_t *len)
{
    zip_stat_t st;
    *out = NULL;
    if (zip_stat(za, name, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) || st.size > max)
        return BACSC_ERR_MALFORMED;
    zip_file_t *f = zip_fopen(za, name, 0);
    if (!f)
        return BACSC_ERR_MALFORMED;
    *out = malloc((size_t)st.size + 1);
    zip_int64_t got = *out ? zip_fread(f, *out, st.size) : -1;
    zip_fclose(f);
    if (got < 0 || (zip_uint64_t)got != st.size) {
        free(*out);
        *out = NULL;
        return BACSC_ERR_MALFORMED;
    }
    (*out)[st.size] = 0;
    *len = (size_t)st.size;
    return BACSC_OK;
}

/* One manifest row: read, check size and SHA-256. */
static int load_member(zip_t *za, json_t *row, member *m, size_t *total, char *err, size_t errlen)
{
    const char *name = json_string_value(json_object_get(row, "name"));
    const char *sha = json_string_value(json_object_get(row, "sha256"));
    json_int_t mode = json_integer_value(json_object_get(row, "mode"));
    if (!name || !sha || !safe_name(name))
        return fail(err, errlen, BACSC_ERR_MALFORMED, "manifest: bad file entry");
    if (read_entry(za, name, BACSC_CA_BACKUP_MAX - *total, &m->data, &m->len) != BACSC_OK)
        return fail(err, errlen, BACSC_ERR_MALFORMED, "%s: missing or too large", name);
    *total += m->len;
    char hex[65];
    sha256_hex(m->data, m->len, hex);
    if (strcmp(hex, sha) != 0)
        return fail(err, errlen, BACSC_ERR_MALFORMED, "%s: SHA-256 does not match the manifest",
                    name);
    snprintf(m->name, sizeof m->name, "%s", name);
    m->mode = (int)(mode & 0644); /* never executable, never group/other-writable */
    if (strcmp(name, "ca.pem") != 0 && strcmp(name, "ca.csr") != 0)
        m->mode &= 0600;
    return BACSC_OK;
}

static int unpack(const unsigned char *zip, size_t len, archive *a, char *err, size_t errlen)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(zip, len, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
    zip_error_fini(&ze);
    if (!za) {
        zip_source_free(src);
        return fail(err, errlen, BACSC_ERR_MALFORMED, "not a bacsc CA backup (no zip inside)");
    }
    unsigned char *mt = NULL;
    size_t ml = 0, total = 0;
    json_t *man = NULL, *files;
    int rc = read_entry(za, BACSC_CA_BACKUP_MANIFEST, 1u << 20, &mt, &ml);
    if (rc == BACSC_OK)
        man = json_loadb((const char *)mt, ml, 0, NULL);
    const char *format = json_string_value(json_object_get(man, "format"));
    files = json_object_get(man, "files");
    if (!format || strcmp(format, "bacsc-ca-backup") != 0 || !json_is_array(files) ||
        json_array_size(files) > MAX_FILES ||
        (zip_uint64_t)zip_get_num_entries(za, 0) != json_array_size(files) + 1)
        rc = fail(err, errlen, BACSC_ERR_MALFORMED, "not a bacsc CA backup (manifest)");
    for (size_t i = 0; rc == BACSC_OK && i < json_array_size(files); i++) {
        rc = load_member(za, json_array_get(files, i), &a->m[a->n], &total, err, errlen);
        a->n += a->m[a->n].data != NULL;
    }
    json_decref(man);
    free(mt);
    zip_close(za);
    return rc;
}

/* The store image must be a sound bacsc CA database. */
static int check_db(const member *m, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    unsigned char *copy = sqlite3_malloc64(m->len);
    if (!copy || sqlite3_open(":memory:", &db) != SQLITE_OK) {
        sqlite3_free(copy);
        sqlite3_close(db);
        return fail(err, errlen, BACSC_ERR_NOMEM, "out of memory");
    }
    memcpy(copy, m->data, m->len);
    int rc = BACSC_ERR_MALFORMED;
    sqlite3_stmt *st = NULL;
    if (sqlite3_deserialize(db, "main", copy, (sqlite3_int64)m->len, (sqlite3_int64)m->len,
                            SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY) ==
            SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW &&
        strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0)
        rc = BACSC_OK;
    sqlite3_finalize(st);
    if (rc == BACSC_OK &&
        (sqlite3_prepare_v2(db, "SELECT count(*) FROM certificates", -1, &st, NULL) != SQLITE_OK ||
         sqlite3_step(st) != SQLITE_ROW))
        rc = BACSC_ERR_MALFORMED;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc == BACSC_OK ? rc
                          : fail(err, errlen, rc, "%s in the backup is not a sound CA store", DB_NAME);
}

static int prepare_dir(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) == 0)
        return BACSC_OK;
    if (errno != EEXIST)
        return fail(err, errlen, BACSC_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    DIR *d = opendir(dir);
    if (!d)
        return fail(err, errlen, BACSC_ERR_IO, "cannot open %s: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = BACSC_OK;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            rc = fail(err, errlen, BACSC_ERR_EXISTS, "%s is not empty: restore into a new directory",
                      dir);
    closedir(d);
    return rc;
}

static int decode_backup(const unsigned char *data, size_t len, const char *pass, archive *a,
                         char *err, size_t errlen)
{
    unsigned char *zip = NULL;
    size_t zlen = 0;
    bool plain = len >= 4 && memcmp(data, "PK\x03\x04", 4) == 0;
    int rc = BACSC_OK;
    if (!plain && !pass)
        return fail(err, errlen, BACSC_ERR_STATE, "the backup is encrypted: a passphrase is needed");
    if (!plain && (rc = cms_decrypt(data, len, pass, &zip, &zlen)) != BACSC_OK)
        return fail(err, errlen, rc,
                    rc == BACSC_ERR_STATE ? "wrong passphrase (or a damaged backup)"
                                          : "not a bacsc CA backup");
    rc = unpack(plain ? data : zip, plain ? len : zlen, a, err, errlen);
    if (zip)
        OPENSSL_cleanse(zip, zlen);
    free(zip);
    return rc;
}

int bacsc_ca_restore(const char *in, const char *dir, const char *passphrase, char *err,
                     size_t errlen)
{
    if (!in || !dir)
        return fail(err, errlen, BACSC_ERR_INVALID_ARG, "bad arguments");
    FILE *f = fopen(in, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (f)
            fclose(f);
        return fail(err, errlen, BACSC_ERR_IO, "cannot read %s: %s", in, strerror(errno));
    }
    if (sb.st_size > (off_t)BACSC_CA_BACKUP_MAX) {
        fclose(f);
        return fail(err, errlen, BACSC_ERR_LIMIT, "%s is too large", in);
    }
    unsigned char *data = malloc((size_t)sb.st_size + 1);
    size_t len = data ? fread(data, 1, (size_t)sb.st_size, f) : 0;
    fclose(f);
    archive *a = calloc(1, sizeof *a);
    int rc = !data || !a ? BACSC_ERR_NOMEM : decode_backup(data, len, passphrase, a, err, errlen);
    const member *db = NULL;
    for (size_t i = 0; rc == BACSC_OK && i < a->n; i++)
        if (strcmp(a->m[i].name, DB_NAME) == 0)
            db = &a->m[i];
    if (rc == BACSC_OK && !db)
        rc = fail(err, errlen, BACSC_ERR_MALFORMED, "the backup holds no %s", DB_NAME);
    if (rc == BACSC_OK)
        rc = check_db(db, err, errlen);
    if (rc == BACSC_OK)
        rc = prepare_dir(dir, err, errlen);
    for (size_t i = 0; rc == BACSC_OK && i < a->n; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, a->m[i].name);
        if (bacsc_pki_write_file(path, a->m[i].data, a->m[i].len, a->m[i].mode) != BACSC_OK)
            rc = fail(err, errlen, BACSC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    }
    free(data);
    if (a)
        archive_free(a);
    free(a);
    return rc;
}
