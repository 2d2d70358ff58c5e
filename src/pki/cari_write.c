/*
 * cari_write.c — write CARI requests and responses (docs/cari.md).
 *
 * Entries are collected in memory as DER (each checked by the same parser
 * the reader uses, so a writer cannot produce a file its reader refuses),
 * then libzip writes the zip — to a file, or to a memory buffer —
 * manifest.json first, then the objects as PEM in the order they were
 * added, each PEM text made only while it is copied in. Files are written
 * atomically (temporary file, fsync, rename).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <zip.h>

#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "bacsc/uuid.h"
#include "cari_internal.h"

#define WRITER_MAX_ENTRIES 100000
#define STEM_MAX 64

typedef struct wentry {
    bacsc_cari_type type;
    char *name; /* zip path */
    unsigned char *der;
    size_t der_len;
    unsigned char fp[BACSC_CARI_FP_LEN];
    bacsc_cari_device device;
    char *request_id;
} wentry;

struct bacsc_cari_writer {
    bacsc_cari_kind kind;
    char *site;
    char *batch_id;
    char *request_batch_id;
    int64_t created;
    wentry *entries;
    size_t n, cap;
    json_t *names; /* set of zip paths in use (jansson object as a hash set) */
    json_t *not_issued; /* response: requests without a certificate (manifest array) */
};

static int random_uuid(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return BACSC_ERR_CRYPTO;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    bacsc_uuid u;
    memcpy(u.b, b, sizeof u.b);
    bacsc_uuid_format(&u, out);
    return BACSC_OK;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

/* A name string the writer accepts: bounded, no control characters. */
static bool clean_text(const char *s, size_t max)
{
    if (!s)
        return true;
    size_t l = strlen(s);
    if (l > max)
        return false;
    for (size_t i = 0; i < l; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

int bacsc_cari_writer_new(bacsc_cari_kind kind, const char *site, const char *batch_id,
                          bacsc_cari_writer **out)
{
    if (!out || (kind != BACSC_CARI_REQUEST && kind != BACSC_CARI_RESPONSE) ||
        !clean_text(site, CARI_DEVNAME_MAX) || !clean_text(batch_id, CARI_ID_MAX) ||
        (batch_id && !*batch_id))
        return BACSC_ERR_INVALID_ARG;
    *out = NULL;
    bacsc_cari_writer *w = calloc(1, sizeof *w);
    if (!w)
        return BACSC_ERR_NOMEM;
    w->kind = kind;
    w->created = (int64_t)time(NULL);
    char uuid[37];
    if (!batch_id) {
        if (random_uuid(uuid) != BACSC_OK) {
            free(w);
            return BACSC_ERR_CRYPTO;
        }
        batch_id = uuid;
    }
    w->site = cari_strdup(site);
    w->batch_id = strdup(batch_id);
    w->names = json_object();
    if ((site && !w->site) || !w->batch_id || !w->names) {
        bacsc_cari_writer_free(w);
        return BACSC_ERR_NOMEM;
    }
    *out = w;
    return BACSC_OK;
}

int bacsc_cari_writer_set_request_batch(bacsc_cari_writer *w, const char *request_batch_id)
{
    if (!w || !clean_text(request_batch_id, CARI_ID_MAX))
        return BACSC_ERR_INVALID_ARG;
    char *d = cari_strdup(request_batch_id);
    if (request_batch_id && !d)
        return BACSC_ERR_NOMEM;
    free(w->request_batch_id);
    w->request_batch_id = d;
    return BACSC_OK;
}

void bacsc_cari_writer_set_created(bacsc_cari_writer *w, int64_t unix_time)
{
    if (w)
        w->created = unix_time;
}

const char *bacsc_cari_writer_entry_name(const bacsc_cari_writer *w, size_t index)
{
    return w && index < w->n ? w->entries[index].name : NULL;
}

const char *bacsc_cari_writer_batch_id(const bacsc_cari_writer *w)
{
    return w ? w->batch_id : NULL;
}

void bacsc_cari_writer_free(bacsc_cari_writer *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++) {
        free(w->entries[i].name);
        free(w->entries[i].der);
        free(w->entries[i].request_id);
        cari_device_clear(&w->entries[i].device);
    }
    free(w->entries);
    free(w->site);
    free(w->batch_id);
    free(w->request_batch_id);
    json_decref(w->names);
    json_decref(w->not_issued);
    free(w);
}

/* A copy of `s` cut to `max` octets with control characters replaced by '?'. */
static char *one_line(const char *s, size_t max)
{
    size_t l = strnlen(s, max);
    char *d = malloc(l + 1);
    if (!d)
        return NULL;
    for (size_t i = 0; i < l; i++)
        d[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    d[l] = 0;
    return d;
}

static json_t *device_json(const bacsc_cari_device *dev)
{
    json_t *d = json_object();
    int bad = d == NULL;
    if (d && dev && dev->instance != BACSC_CARI_DEVICE_INSTANCE_NONE)
        bad |= json_object_set_new(d, "instance", json_integer(dev->instance));
    if (d && dev && dev->name)
        bad |= json_object_set_new(d, "name", json_string(dev->name));
    if (d && dev && dev->uuid)
        bad |= json_object_set_new(d, "uuid", json_string(dev->uuid));
    if (bad) {
        json_decref(d);
        return NULL;
    }
    return d;
}

int bacsc_cari_writer_add_not_issued(bacsc_cari_writer *w, const bacsc_cari_device *device,
                                     const char *request_id,
                                     const unsigned char *fingerprint, const char *status,
                                     const char *reason)
{
    if (!w || w->kind != BACSC_CARI_RESPONSE || !status ||
        (strcmp(status, "rejected") != 0 && strcmp(status, "pending") != 0 &&
         strcmp(status, "approved") != 0) ||
        !clean_text(request_id, CARI_ID_MAX) ||
        (device && (!clean_text(device->name, CARI_DEVNAME_MAX) ||
                    !clean_text(device->uuid, 64))))
        return BACSC_ERR_INVALID_ARG;
    if (!w->not_issued && !(w->not_issued = json_array()))
        return BACSC_ERR_NOMEM;
    if (json_array_size(w->not_issued) >= WRITER_MAX_ENTRIES)
        return BACSC_ERR_LIMIT;
    json_t *e = json_object();
    if (!e)
        return BACSC_ERR_NOMEM;
    int bad = 0;
    if (request_id)
        bad |= json_object_set_new(e, "request_id", json_string(request_id));
    bad |= json_object_set_new(e, "device", device_json(device));
    if (fingerprint) {
        char hex[65];
        bad |= json_object_set_new(e, "public_key_sha256",
                                   json_string(bacsc_cari_fp_hex(fingerprint, hex)));
    }
    bad |= json_object_set_new(e, "status", json_string(status));
    if (reason && *reason) {
        char *r = one_line(reason, 1024);
        bad |= r ? json_object_set_new(e, "reason", json_string(r)) : 1;
        free(r);
    }
    if (bad || json_array_append_new(w->not_issued, e) != 0) {
        if (bad)
            json_decref(e);
        return BACSC_ERR_NOMEM;
    }
    return BACSC_OK;
}

/* File stem from a hint: basename, known extension dropped, [A-Za-z0-9._-] only. */
static void make_stem(const char *hint, char stem[STEM_MAX + 1])
{
    const char *base = strrchr(hint, '/');
    base = base ? base + 1 : hint;
    size_t l = strlen(base);
    static const char *const exts[] = {".csr", ".pem", ".der", ".req", ".crt", ".cer", NULL};
    for (int i = 0; exts[i]; i++) {
        size_t el = strlen(exts[i]);
        if (l > el && strcasecmp(base + l - el, exts[i]) == 0) {
            l -= el;
            break;
        }
    }
    size_t o = 0;
    for (size_t i = 0; i < l && o < STEM_MAX; i++) {
        char ch = base[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '-' || ch == '_' || (ch == '.' && o > 0);
        stem[o++] = ok ? ch : '_';
    }
    stem[o] = '\0';
}

/* A unique zip path "<dir>/<stem>[-N]<ext>" registered in w->names. */
static char *unique_name(bacsc_cari_writer *w, const char *dir, const char *stem, const char *ext)
{
    char buf[STEM_MAX + 64];
    for (unsigned k = 1; k < 1000000; k++) {
        if (k == 1)
            snprintf(buf, sizeof buf, "%s/%s%s", dir, stem, ext);
        else
            snprintf(buf, sizeof buf, "%s/%s-%u%s", dir, stem, k, ext);
        if (!json_object_get(w->names, buf)) {
            if (json_object_set_new(w->names, buf, json_true()) != 0)
                return NULL;
            return strdup(buf);
        }
    }
    return NULL;
}

/* Validate and append one object. With `trusted_fp` the DER is taken as the
 * caller's own freshly issued certificate and not parsed again. */
static int add_object(bacsc_cari_writer *w, bacsc_cari_type want, const unsigned char *data,
                      size_t len, const char *name_hint, const bacsc_cari_device *device,
                      const char *request_id, char *err, size_t errlen,
                      const unsigned char *trusted_fp)
{
    if (!w || !data || len == 0 || !clean_text(request_id, CARI_ID_MAX) ||
        (request_id && !*request_id) ||
        (device && (!clean_text(device->name, CARI_DEVNAME_MAX) ||
                    device->instance < BACSC_CARI_DEVICE_INSTANCE_NONE ||
                    device->instance > BACSC_CARI_DEVICE_INSTANCE_MAX))) {
        set_err(err, errlen, "invalid argument (request id, device name or instance)");
        return BACSC_ERR_INVALID_ARG;
    }
    if ((want == BACSC_CARI_ENTRY_CSR) != (w->kind == BACSC_CARI_REQUEST)) {
        set_err(err, errlen, want == BACSC_CARI_ENTRY_CSR ? "a CSR cannot go into a response"
                                                          : "a certificate cannot go into a request");
        return BACSC_ERR_INVALID_ARG;
    }
    if (w->n >= WRITER_MAX_ENTRIES) {
        set_err(err, errlen, "too many entries");
        return BACSC_ERR_LIMIT;
    }
    char *uuid = NULL;
    if (device && device->uuid && !(uuid = cari_uuid_normalize(device->uuid))) {
        set_err(err, errlen, "device uuid is not a UUID");
        return BACSC_ERR_INVALID_ARG;
    }
    bacsc_cari_entry pe;
    memset(&pe, 0, sizeof pe);
    int rc;
    if (trusted_fp) {
        pe.type = want;
        pe.has_fingerprint = true;
        memcpy(pe.fingerprint, trusted_fp, BACSC_CARI_FP_LEN);
        pe.der_len = len;
        rc = (pe.der = malloc(len)) != NULL ? BACSC_OK : BACSC_ERR_NOMEM;
        if (pe.der)
            memcpy(pe.der, data, len);
    } else {
        rc = bacsc_cari_parse_object(data, len, &pe, NULL);
    }
    bool is_cert = pe.type == BACSC_CARI_ENTRY_CERTIFICATE || pe.type == BACSC_CARI_ENTRY_ISSUER;
    if (rc == BACSC_OK && want == BACSC_CARI_ENTRY_CSR && pe.type != BACSC_CARI_ENTRY_CSR) {
        rc = BACSC_ERR_MALFORMED;
        set_err(err, errlen, "not a CSR");
    } else if (rc == BACSC_OK && want != BACSC_CARI_ENTRY_CSR && !is_cert) {
        rc = BACSC_ERR_MALFORMED;
        set_err(err, errlen, "not a certificate");
    } else if (rc == BACSC_OK && uuid && pe.san_uuid && strcmp(uuid, pe.san_uuid) != 0) {
        rc = BACSC_ERR_INVALID_ARG;
        set_err(err, errlen, "device uuid differs from the object's urn:uuid SAN");
    } else if (rc != BACSC_OK) {
        set_err(err, errlen, pe.error ? pe.error : "cannot parse");
    }
    if (rc != BACSC_OK) {
        free(uuid);
        bacsc_cari_entry_clear(&pe);
        return rc;
    }
    if (w->n == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 16;
        wentry *ne = realloc(w->entries, ncap * sizeof *ne);
        if (!ne) {
            free(uuid);
            bacsc_cari_entry_clear(&pe);
            return BACSC_ERR_NOMEM;
        }
        w->entries = ne;
        w->cap = ncap;
    }
    wentry *we = &w->entries[w->n];
    memset(we, 0, sizeof *we);
    we->type = want;
    we->der = pe.der, pe.der = NULL;
    we->der_len = pe.der_len;
    memcpy(we->fp, pe.fingerprint, BACSC_CARI_FP_LEN);
    rc = cari_device_copy(&we->device, device);
    if (rc == BACSC_OK) {
        free(we->device.uuid);
        we->device.uuid = uuid ? uuid : cari_strdup(pe.san_uuid);
        uuid = NULL;
    }
    char rid[37];
    if (rc == BACSC_OK && !request_id && want == BACSC_CARI_ENTRY_CSR) {
        rc = random_uuid(rid);
        request_id = rid;
    }
    if (rc == BACSC_OK && request_id && !(we->request_id = strdup(request_id)))
        rc = BACSC_ERR_NOMEM;
    char stem[STEM_MAX + 1] = "";
    if (name_hint)
        make_stem(name_hint, stem);
    if (!stem[0] && device && device->name)
        make_stem(device->name, stem);
    if (!stem[0] && we->device.uuid)
        make_stem(we->device.uuid, stem);
    if (!stem[0]) {
        char hex[65];
        snprintf(stem, sizeof stem, "key-%.16s", bacsc_cari_fp_hex(we->fp, hex));
    }
    if (rc == BACSC_OK) {
        const char *dir = want == BACSC_CARI_ENTRY_CSR           ? "csr"
                          : want == BACSC_CARI_ENTRY_CERTIFICATE ? "certs"
                                                                 : "issuer";
        we->name = unique_name(w, dir, stem, want == BACSC_CARI_ENTRY_CSR ? ".csr" : ".pem");
        if (!we->name)
            rc = BACSC_ERR_NOMEM;
    }
    free(uuid);
    bacsc_cari_entry_clear(&pe);
    if (rc != BACSC_OK) {
        free(we->der);
        free(we->request_id);
        free(we->name);
        cari_device_clear(&we->device);
        set_err(err, errlen, bacsc_strerror(rc));
        return rc;
    }
    return (int)w->n++;
}

int bacsc_cari_writer_add_csr(bacsc_cari_writer *w, const unsigned char *data, size_t len,
                              const char *name_hint, const bacsc_cari_device *device,
                              const char *request_id, char *err, size_t errlen)
{
    return add_object(w, BACSC_CARI_ENTRY_CSR, data, len, name_hint, device, request_id, err,
                      errlen, NULL);
}

int bacsc_cari_writer_add_certificate(bacsc_cari_writer *w, const unsigned char *data, size_t len,
                                      const char *name_hint, const bacsc_cari_device *device,
                                      const char *request_id, char *err, size_t errlen)
{
    return add_object(w, BACSC_CARI_ENTRY_CERTIFICATE, data, len, name_hint, device, request_id,
                      err, errlen, NULL);
}

int bacsc_cari_writer_add_issued(bacsc_cari_writer *w, const unsigned char *der, size_t len,
                                 const unsigned char fingerprint[BACSC_CARI_FP_LEN],
                                 const char *name_hint, const bacsc_cari_device *device,
                                 const char *request_id, char *err, size_t errlen)
{
    if (!fingerprint) {
        set_err(err, errlen, "no fingerprint");
        return BACSC_ERR_INVALID_ARG;
    }
    return add_object(w, BACSC_CARI_ENTRY_CERTIFICATE, der, len, name_hint, device, request_id,
                      err, errlen, fingerprint);
}

int bacsc_cari_writer_add_issuer(bacsc_cari_writer *w, const unsigned char *data, size_t len,
                                 const char *name_hint, char *err, size_t errlen)
{
    return add_object(w, BACSC_CARI_ENTRY_ISSUER, data, len, name_hint, NULL, NULL, err, errlen,
                      NULL);
}

static json_t *manifest_json(const bacsc_cari_writer *w)
{
    char created[32];
    time_t t = (time_t)w->created;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(created, sizeof created, "1970-01-01T00:00:00Z");
    json_t *root = json_object();
    json_t *entries = json_array();
    if (!root || !entries) {
        json_decref(root);
        json_decref(entries);
        return NULL;
    }
    int bad = 0;
    bad |= json_object_set_new(root, "format", json_string(BACSC_CARI_FORMAT));
    bad |= json_object_set_new(root, "version", json_integer(BACSC_CARI_VERSION));
    bad |= json_object_set_new(root, "kind", json_string(bacsc_cari_kind_name(w->kind)));
    if (w->site)
        bad |= json_object_set_new(root, "site", json_string(w->site));
    bad |= json_object_set_new(root, "batch_id", json_string(w->batch_id));
    if (w->request_batch_id)
        bad |= json_object_set_new(root, "request_batch_id", json_string(w->request_batch_id));
    bad |= json_object_set_new(root, "created", json_string(created));
    bad |= json_object_set_new(root, "generator", json_string("bacsc " BACSC_CARI_GENERATOR_VERSION));
    for (size_t i = 0; i < w->n && !bad; i++) {
        const wentry *we = &w->entries[i];
        char hex[65];
        json_t *e = json_object();
        if (!e) {
            bad = 1;
            break;
        }
        bad |= json_object_set_new(e, "file", json_string(we->name));
        bad |= json_object_set_new(e, "type", json_string(bacsc_cari_type_name(we->type)));
        if (we->request_id)
            bad |= json_object_set_new(e, "request_id", json_string(we->request_id));
        if (we->type != BACSC_CARI_ENTRY_ISSUER)
            bad |= json_object_set_new(e, "device", device_json(&we->device));
        bad |= json_object_set_new(e, "public_key_sha256", json_string(bacsc_cari_fp_hex(we->fp, hex)));
        bad |= json_array_append_new(entries, e);
    }
    bad |= json_object_set_new(root, "entries", entries);
    if (w->not_issued)
        bad |= json_object_set(root, "not_issued", w->not_issued);
    if (bad) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static const char *pem_label(const wentry *we)
{
    return we->type == BACSC_CARI_ENTRY_CSR ? "CERTIFICATE REQUEST" : "CERTIFICATE";
}

static char *der_to_pem(const wentry *we, size_t *out_len)
{
    *out_len = 0;
    const char *label = pem_label(we);
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return NULL;
    char *out = NULL;
    if (PEM_write_bio(b, label, "", we->der, (long)we->der_len) > 0) {
        char *p;
        long l = BIO_get_mem_data(b, &p);
        if (l > 0 && (out = malloc((size_t)l)) != NULL) {
            memcpy(out, p, (size_t)l);
            *out_len = (size_t)l;
        }
    }
    BIO_free(b);
    return out;
}

static char *entry_pem(const void *item, size_t *len)
{
    return der_to_pem(item, len);
}

/* The writer's PEM texts made ahead on a pool (cari_ahead.c), or NULL. */
static cari_ahead *writer_ahead(const bacsc_cari_writer *w)
{
    return cari_ahead_new(w->entries, sizeof *w->entries, w->n, entry_pem);
}

/* Entries smaller than this are stored, not deflated: a PEM object is
 * base64 and deflates by only ~25%, while each deflate stream costs zlib a
 * fresh 256 KiB state (~15 us per entry, the biggest cost of writing a
 * 10,000-certificate response). Larger entries (the manifest: JSON,
 * ~70% smaller) are deflated at level 1: twice as fast as the default
 * level for a few percent more octets. */
#define STORE_BELOW 4096
#define DEFLATE_LEVEL 1

/* Name, compression and attributes of the entry just added as `idx`. */
static int entry_setup(zip_t *za, zip_int64_t idx, size_t len, time_t mtime)
{
    if (idx < 0)
        return -1;
    if (zip_set_file_compression(za, (zip_uint64_t)idx,
                                 len < STORE_BELOW ? ZIP_CM_STORE : ZIP_CM_DEFLATE,
                                 len < STORE_BELOW ? 0 : DEFLATE_LEVEL) != 0)
        return -1;
    zip_file_set_mtime(za, (zip_uint64_t)idx, mtime, 0);
    zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
                                     (zip_uint32_t)(S_IFREG | 0644) << 16);
    return 0;
}

/* Add `data` (taken over: freed by libzip, or here on failure) as `name`. */
static int zip_add_owned(zip_t *za, const char *name, void *data, size_t len, time_t mtime)
{
    zip_source_t *s = zip_source_buffer(za, data, len, 1);
    if (!s) {
        free(data);
        return -1;
    }
    zip_int64_t idx = zip_file_add(za, name, s, ZIP_FL_ENC_UTF_8);
    if (idx < 0)
        zip_source_free(s);
    return entry_setup(za, idx, len, mtime);
}

/* The octets PEM_write_bio writes for `der_len` octets under `label` (no
 * headers): BEGIN line, base64 in lines of 64 characters, END line. */
static size_t pem_size(const char *label, size_t der_len)
{
    size_t full = der_len / 48, rem = der_len % 48, l = strlen(label);
    return (11 + l + 6) + full * 65 + (rem ? 4 * ((rem + 2) / 3) + 1 : 0) + (9 + l + 6);
}

/* A zip source that makes an entry's PEM text only while libzip copies it
 * into the archive: the writer holds the DER objects, and a response of any
 * size takes one PEM object of memory on top of them. */
typedef struct pem_src {
    const wentry *we;
    cari_ahead *ahead; /* texts made ahead on a pool, or NULL */
    size_t index;      /* of we in the writer */
    size_t size; /* pem_size(), what STAT announces */
    char *pem;
    size_t len, off;
    time_t mtime;
    zip_error_t error;
} pem_src;

static zip_int64_t pem_src_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
    pem_src *ps = ud;
    switch (cmd) {
    case ZIP_SOURCE_OPEN:
        free(ps->pem);
        ps->pem = cari_ahead_take(ps->ahead, ps->index, &ps->len);
        if (!ps->pem)
            ps->pem = der_to_pem(ps->we, &ps->len);
        ps->off = 0;
        if (!ps->pem || ps->len != ps->size) {
            zip_error_set(&ps->error, ps->pem ? ZIP_ER_INCONS : ZIP_ER_MEMORY, 0);
            return -1;
        }
        return 0;
    case ZIP_SOURCE_READ: {
        size_t n = ps->len - ps->off < len ? ps->len - ps->off : (size_t)len;
        memcpy(data, ps->pem + ps->off, n);
        ps->off += n;
        return (zip_int64_t)n;
    }
    case ZIP_SOURCE_CLOSE:
        free(ps->pem);
        ps->pem = NULL;
        return 0;
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = data;
        zip_stat_init(st);
        st->size = ps->size;
        st->mtime = ps->mtime;
        st->valid |= ZIP_STAT_SIZE | ZIP_STAT_MTIME;
        return sizeof *st;
    }
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&ps->error, data, len);
    case ZIP_SOURCE_FREE:
        free(ps->pem);
        zip_error_fini(&ps->error);
        free(ps);
        return 0;
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                              ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE,
                                              -1);
    default:
        zip_error_set(&ps->error, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
}

static int zip_add_pem(zip_t *za, const wentry *we, cari_ahead *ahead, size_t index,
                       time_t mtime)
{
    pem_src *ps = calloc(1, sizeof *ps);
    if (!ps)
        return -1;
    ps->we = we;
    ps->ahead = ahead;
    ps->index = index;
    ps->size = pem_size(pem_label(we), we->der_len);
    ps->mtime = mtime;
    zip_error_init(&ps->error);
    zip_source_t *s = zip_source_function(za, pem_src_cb, ps);
    if (!s) {
        zip_error_fini(&ps->error);
        free(ps);
        return -1;
    }
    zip_int64_t idx = zip_file_add(za, we->name, s, ZIP_FL_ENC_UTF_8);
    if (idx < 0)
        zip_source_free(s);
    return entry_setup(za, idx, ps->size, mtime);
}

/* Manifest first, then every object in the order added, into `za` (which
 * is then closed by the caller, and `ahead` freed after that). The pool
 * starts on the first PEM texts while the manifest is made. */
static int fill_zip(bacsc_cari_writer *w, zip_t *za, cari_ahead *ahead)
{
    cari_ahead_begin(ahead);
    json_t *m = manifest_json(w);
    char *mtext = m ? json_dumps(m, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(m);
    time_t mt = (time_t)w->created;
    if (!mtext || zip_add_owned(za, BACSC_CARI_MANIFEST, mtext, strlen(mtext), mt) != 0)
        return BACSC_ERR_NOMEM;
    for (size_t i = 0; i < w->n; i++)
        if (zip_add_pem(za, &w->entries[i], ahead, i, mt) != 0)
            return BACSC_ERR_NOMEM;
    return BACSC_OK;
}

int bacsc_cari_writer_to_buffer(bacsc_cari_writer *w, unsigned char **out, size_t *out_len)
{
    if (!w || !out || !out_len)
        return BACSC_ERR_INVALID_ARG;
    *out = NULL;
    *out_len = 0;
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_TRUNCATE, &ze) : NULL;
    zip_error_fini(&ze);
    if (!za) {
        if (src)
            zip_source_free(src);
        return BACSC_ERR_NOMEM;
    }
    zip_source_keep(src);
    cari_ahead *ahead = writer_ahead(w);
    int rc = fill_zip(w, za, ahead);
    if (rc == BACSC_OK && zip_close(za) != 0)
        rc = BACSC_ERR_IO;
    if (rc != BACSC_OK)
        zip_discard(za);
    cari_ahead_free(ahead);
    if (rc != BACSC_OK) {
        zip_source_free(src);
        return rc;
    }
    unsigned char *buf = NULL;
    zip_int64_t size = -1;
    if (zip_source_open(src) == 0) {
        if (zip_source_seek(src, 0, SEEK_END) == 0 && (size = zip_source_tell(src)) >= 0 &&
            zip_source_seek(src, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1)) != NULL) {
            zip_int64_t got = zip_source_read(src, buf, (zip_uint64_t)size);
            if (got != size) {
                free(buf);
                buf = NULL;
            }
        }
        zip_source_close(src);
    }
    zip_source_free(src);
    if (!buf)
        return BACSC_ERR_IO;
    *out = buf;
    *out_len = (size_t)size;
    return BACSC_OK;
}

/* SHA-256 of the file open as `fd`, read from its start in blocks. */
static int fd_sha256(int fd, unsigned char out[BACSC_CARI_FP_LEN])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *buf = malloc(1 << 16);
    int ok = md && buf && lseek(fd, 0, SEEK_SET) == 0 &&
             EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    for (;;) {
        ssize_t r = ok ? read(fd, buf, 1 << 16) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            ok = ok && r == 0 && EVP_DigestFinal_ex(md, out, NULL) == 1;
            break;
        }
        ok = EVP_DigestUpdate(md, buf, (size_t)r) == 1;
    }
    free(buf);
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

typedef struct fd_sync {
    int fd, rc;
    pthread_t tid;
} fd_sync;

static void *fsync_run(void *arg)
{
    fd_sync *s = arg;
    s->rc = fsync(s->fd);
    return NULL;
}

/* libzip writes the archive into `fd` (the temporary file, empty; through
 * cari_fd_sink); then it is made 0644 and durable and its SHA-256 is read
 * back. Returns 0 or -1 (errno set); closes `fd`. */
static int write_zip_file(bacsc_cari_writer *w, int fd, unsigned char sha256[BACSC_CARI_FP_LEN],
                          int *rc)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = cari_fd_sink(fd, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_TRUNCATE, &ze) : NULL;
    int zerr = zip_error_code_zip(&ze);
    zip_error_fini(&ze);
    if (!za) {
        if (src)
            zip_source_free(src);
        close(fd);
        *rc = zerr == ZIP_ER_MEMORY ? BACSC_ERR_NOMEM : BACSC_ERR_IO;
        return -1;
    }
    cari_ahead *ahead = writer_ahead(w);
    *rc = fill_zip(w, za, ahead);
    int sys = 0;
    if (*rc == BACSC_OK && zip_close(za) != 0) {
        zerr = zip_error_code_zip(zip_get_error(za));
        sys = zip_error_code_system(zip_get_error(za));
        *rc = zerr == ZIP_ER_MEMORY ? BACSC_ERR_NOMEM : BACSC_ERR_IO;
    }
    if (*rc != BACSC_OK)
        zip_discard(za);
    cari_ahead_free(ahead);
    if (*rc != BACSC_OK) {
        close(fd);
        errno = sys ? sys : EIO; /* for the caller's message */
        return -1;
    }
    *rc = BACSC_ERR_IO;
    int ok = fchmod(fd, 0644) == 0;
    /* the digest is read back while the disk makes the file durable */
    fd_sync sy = {.fd = fd};
    bool threaded = ok && sha256 && pthread_create(&sy.tid, NULL, fsync_run, &sy) == 0;
    if (ok && !threaded)
        fsync_run(&sy);
    bool sha_ok = !ok || !sha256 || fd_sha256(fd, sha256) == 0;
    if (threaded)
        pthread_join(sy.tid, NULL);
    ok = ok && sy.rc == 0;
    if (ok && !sha_ok) {
        ok = 0;
        *rc = BACSC_ERR_CRYPTO;
    }
    if (fd >= 0)
        ok = (close(fd) == 0) && ok;
    if (ok)
        *rc = BACSC_OK;
    return ok ? 0 : -1;
}

/* The response goes straight from the writer's DER objects into the file
 * (bounded memory: see pem_src), atomically: a temporary file next to
 * `path`, fsync, rename, fsync of the directory. */
int bacsc_cari_writer_write_file(bacsc_cari_writer *w, const char *path,
                                 unsigned char sha256[BACSC_CARI_FP_LEN])
{
    if (!w || !path || !*path)
        return BACSC_ERR_INVALID_ARG;
    if (bacsc_pki_check_out_dir(path) != BACSC_OK)
        return BACSC_ERR_IO;
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    if (!tmp)
        return BACSC_ERR_NOMEM;
    snprintf(tmp, pl + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return BACSC_ERR_IO;
    }
    int rc = BACSC_OK;
    int ok = write_zip_file(w, fd, sha256, &rc) == 0;
    if (ok)
        ok = rename(tmp, path) == 0;
    int saved = errno;
    if (!ok)
        unlink(tmp);
    if (ok) { /* make the rename durable */
        char *dir = strdup(path);
        if (dir) {
            char *slash = strrchr(dir, '/');
            const char *d = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
            int dfd = open(d, O_RDONLY | O_DIRECTORY);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
            free(dir);
        }
    }
    free(tmp);
    errno = saved;
    return ok ? BACSC_OK : rc != BACSC_OK ? rc : BACSC_ERR_IO;
}
