/*
 * cari_read.c — read a CARI zip (request or response) safely.
 *
 * The archive is outside input and may be hostile. The reader never touches
 * the file system with entry names (everything stays in memory), and checks
 * each entry before and while reading it:
 *   - names: no absolute paths, drive letters, backslashes or ".." parts;
 *   - type: regular files only (Unix external attributes: no symlinks,
 *     devices, FIFOs); no encryption; store or deflate only;
 *   - duplicates: every entry sharing a name with another is refused, since
 *     which one "wins" differs between zip tools;
 *   - size: declared sizes against per-entry, total and ratio limits, then
 *     the octets actually inflated are counted against the same limits, so
 *     a lying header cannot get past them.
 * A bad entry gets a one-line error and the rest of the batch is processed.
 * manifest.json, when present and valid, adds device identity and request
 * correlation; when malformed it is reported as a bad entry and the archive
 * is read as a plain zip of PEM/DER objects.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <zip.h>

#include "bacsc/error.h"
#include "bacsc/pool.h"
#include "cari_internal.h"

#define READ_CHUNK 65536
#define RATIO_MIN_SIZE 4096 /* below this a high ratio is harmless */
/* parse blocks in flight: max_entries (at most 100000 by default) / PARSE_BLOCK */
#define CARI_MAX_PARSE_BLOCKS 1024

void bacsc_cari_limits_default(bacsc_cari_limits *lim)
{
    lim->max_file_size = 512ull << 20;
    lim->max_entries = 100000;
    lim->max_entry_size = 1ull << 20;
    lim->max_total_size = 256ull << 20;
    lim->max_ratio = 100;
    lim->max_manifest_size = 32ull << 20;
    lim->csr_key_types = 0; /* any */
}

static void effective_limits(const bacsc_cari_limits *in, bacsc_cari_limits *out)
{
    bacsc_cari_limits_default(out);
    if (!in)
        return;
    if (in->max_file_size)
        out->max_file_size = in->max_file_size;
    if (in->max_entries)
        out->max_entries = in->max_entries;
    if (in->max_entry_size)
        out->max_entry_size = in->max_entry_size;
    if (in->max_total_size)
        out->max_total_size = in->max_total_size;
    if (in->max_ratio)
        out->max_ratio = in->max_ratio;
    if (in->max_manifest_size)
        out->max_manifest_size = in->max_manifest_size;
    out->csr_key_types = in->csr_key_types;
}

void bacsc_cari_clear(bacsc_cari *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_entries; i++)
        bacsc_cari_entry_clear(&c->entries[i]);
    free(c->entries);
    cari_not_issued_free(c);
    free(c->site);
    free(c->batch_id);
    free(c->request_batch_id);
    free(c->created);
    free(c->generator);
    free(c->error);
    free(c->sig_error);
    free(c->signer_subject);
    memset(c, 0, sizeof *c);
}

void bacsc_cari_free(bacsc_cari *c)
{
    bacsc_cari_clear(c);
    free(c);
}

size_t bacsc_cari_invalid_count(const bacsc_cari *c)
{
    size_t n = 0;
    for (size_t i = 0; c && i < c->n_entries; i++)
        if (c->entries[i].error)
            n++;
    return n;
}

/* Why a raw entry name is unsafe, or NULL. */
static const char *unsafe_name(const char *name, size_t len)
{
    if (len == 0)
        return "empty entry name";
    if (strlen(name) != len)
        return "entry name contains a NUL octet";
    if (name[0] == '/')
        return "absolute path";
    if (len >= 2 && name[1] == ':')
        return "absolute path (drive letter)";
    if (strchr(name, '\\'))
        return "backslash in entry name";
    const char *p = name;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t seg = slash ? (size_t)(slash - p) : strlen(p);
        if (seg == 2 && p[0] == '.' && p[1] == '.')
            return "path traversal (\"..\" component)";
        if (!slash)
            break;
        p = slash + 1;
    }
    return NULL;
}

/* The file-type bits of a Unix-made entry, or 0 when unknown. */
static unsigned unix_file_type(zip_t *za, zip_uint64_t i)
{
    zip_uint8_t opsys = 0;
    zip_uint32_t attr = 0;
    if (zip_file_get_external_attributes(za, i, 0, &opsys, &attr) != 0)
        return 0;
    if (opsys != ZIP_OPSYS_UNIX)
        return 0;
    return (attr >> 16) & S_IFMT;
}

typedef struct read_state {
    bacsc_cari_limits lim;
    uint64_t declared_total;
    uint64_t actual_total;
} read_state;

/* Read entry i into a malloc'd buffer, counting octets against the limits.
 * Returns BACSC_OK or fails `e` and returns its status. */
static int read_entry_data(zip_t *za, zip_uint64_t i, const zip_stat_t *st, uint64_t max,
                           read_state *rs, bacsc_cari_entry *e, unsigned char **out,
                           size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    zip_file_t *zf = zip_fopen_index(za, i, 0);
    if (!zf) {
        cari_entry_fail(e, BACSC_ERR_MALFORMED, "cannot open entry: %s", zip_strerror(za));
        return e->status;
    }
    uint64_t declared = (st->valid & ZIP_STAT_SIZE) ? st->size : max;
    size_t cap = (size_t)(declared < max ? declared : max) + 1;
    if (cap > READ_CHUNK * 16)
        cap = READ_CHUNK * 16;
    unsigned char *buf = malloc(cap);
    size_t n = 0;
    int rc = BACSC_OK;
    if (!buf) {
        cari_entry_fail(e, BACSC_ERR_NOMEM, "out of memory");
        rc = e->status;
    }
    while (rc == BACSC_OK) {
        if (n == cap) {
            size_t ncap = cap * 2;
            if (ncap > max + 1)
                ncap = (size_t)max + 1;
            unsigned char *nb = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!nb) {
                cari_entry_fail(e, ncap > cap ? BACSC_ERR_NOMEM : BACSC_ERR_LIMIT,
                                ncap > cap ? "out of memory" : "entry exceeds the size limit");
                rc = e->status;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        zip_int64_t r = zip_fread(zf, buf + n, cap - n);
        if (r < 0) {
            cari_entry_fail(e, BACSC_ERR_MALFORMED, "corrupt entry data: %s", zip_file_strerror(zf));
            rc = e->status;
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        rs->actual_total += (uint64_t)r;
        if (n > max) {
            cari_entry_fail(e, BACSC_ERR_LIMIT, "entry inflates past the %llu-octet limit",
                            (unsigned long long)max);
            rc = e->status;
        } else if (n > declared) {
            cari_entry_fail(e, BACSC_ERR_MALFORMED,
                            "entry inflates past its declared size of %llu octets",
                            (unsigned long long)declared);
            rc = e->status;
        } else if (rs->actual_total > rs->lim.max_total_size) {
            cari_entry_fail(e, BACSC_ERR_LIMIT, "archive total uncompressed size limit (%llu) reached",
                            (unsigned long long)rs->lim.max_total_size);
            rc = e->status;
        } else if ((st->valid & ZIP_STAT_COMP_SIZE) && n >= RATIO_MIN_SIZE &&
                   n / (st->comp_size ? st->comp_size : 1) > rs->lim.max_ratio) {
            cari_entry_fail(e, BACSC_ERR_LIMIT, "compression ratio above %llu:1 (zip bomb?)",
                            (unsigned long long)rs->lim.max_ratio);
            rc = e->status;
        }
    }
    zip_fclose(zf);
    if (rc == BACSC_OK && (st->valid & ZIP_STAT_SIZE) && n != st->size) {
        cari_entry_fail(e, BACSC_ERR_MALFORMED, "entry has %zu octets, %llu declared", n,
                        (unsigned long long)st->size);
        rc = e->status;
    }
    if (rc != BACSC_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *out_len = n;
    return BACSC_OK;
}

/* Checks that need no data: name, file type, encryption, method, declared sizes. */
static int precheck_entry(zip_t *za, zip_uint64_t i, const zip_stat_t *st, const char *raw,
                          read_state *rs, bacsc_cari_entry *e)
{
    const char *why = unsafe_name(raw, strlen(raw));
    if (why) {
        cari_entry_fail(e, BACSC_ERR_MALFORMED, "%s (refused)", why);
        return e->status;
    }
    unsigned ft = unix_file_type(za, i);
    if (ft == S_IFLNK) {
        cari_entry_fail(e, BACSC_ERR_POLICY, "symbolic link (refused)");
        return e->status;
    }
    if (ft != 0 && ft != S_IFREG && ft != S_IFDIR) {
        cari_entry_fail(e, BACSC_ERR_POLICY, "not a regular file (refused)");
        return e->status;
    }
    if ((st->valid & ZIP_STAT_ENCRYPTION_METHOD) && st->encryption_method != ZIP_EM_NONE) {
        cari_entry_fail(e, BACSC_ERR_UNSUPPORTED, "encrypted entries are not supported");
        return e->status;
    }
    if ((st->valid & ZIP_STAT_COMP_METHOD) && st->comp_method != ZIP_CM_STORE &&
        st->comp_method != ZIP_CM_DEFLATE) {
        cari_entry_fail(e, BACSC_ERR_UNSUPPORTED, "compression method %u is not supported",
                        (unsigned)st->comp_method);
        return e->status;
    }
    if (!(st->valid & ZIP_STAT_SIZE))
        return BACSC_OK;
    uint64_t max = strcmp(raw, BACSC_CARI_MANIFEST) == 0 ? rs->lim.max_manifest_size
                                                          : rs->lim.max_entry_size;
    if (st->size > max) {
        cari_entry_fail(e, BACSC_ERR_LIMIT, "declared size %llu octets exceeds the %llu-octet limit",
                        (unsigned long long)st->size, (unsigned long long)max);
        return e->status;
    }
    if ((st->valid & ZIP_STAT_COMP_SIZE) && st->size >= RATIO_MIN_SIZE &&
        st->size / (st->comp_size ? st->comp_size : 1) > rs->lim.max_ratio) {
        cari_entry_fail(e, BACSC_ERR_LIMIT, "declared compression ratio above %llu:1 (zip bomb?)",
                        (unsigned long long)rs->lim.max_ratio);
        return e->status;
    }
    if (rs->declared_total + st->size > rs->lim.max_total_size) {
        cari_entry_fail(e, BACSC_ERR_LIMIT, "archive total uncompressed size limit (%llu) reached",
                        (unsigned long long)rs->lim.max_total_size);
        return e->status;
    }
    rs->declared_total += st->size;
    return BACSC_OK;
}

static int cmp_name_ptr(const void *a, const void *b)
{
    const bacsc_cari_entry *x = *(bacsc_cari_entry *const *)a;
    const bacsc_cari_entry *y = *(bacsc_cari_entry *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x < y ? -1 : x > y);
}

/* Refuse every entry whose name another entry also has. Works on the printable
 * names, which are injective for names shorter than the cut. */
static int flag_duplicates(bacsc_cari *c, size_t first)
{
    size_t n = c->n_entries - first;
    if (n < 2)
        return BACSC_OK;
    bacsc_cari_entry **v = malloc(n * sizeof *v);
    if (!v)
        return BACSC_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        v[i] = &c->entries[first + i];
    qsort(v, n, sizeof *v, cmp_name_ptr);
    for (size_t i = 0; i + 1 < n; i++) {
        if (strcmp(v[i]->name, v[i + 1]->name) != 0)
            continue;
        for (size_t k = i; k < n && strcmp(v[k]->name, v[i]->name) == 0; k++)
            if (v[k]->status != BACSC_ERR_EXISTS)
                cari_entry_fail(v[k], BACSC_ERR_EXISTS,
                                "duplicate entry name (refused: zip tools disagree on which copy "
                                "counts)");
    }
    free(v);
    return BACSC_OK;
}

typedef struct raw_data {
    unsigned char *data;
    size_t len;
} raw_data;

/* Result of parsing the first object of a member (pass 3a). */
typedef struct first_parse {
    bool done; /* parsed (not skipped) */
    int rc;
    size_t used;
    bool has_sha256; /* sha256: of the member's whole octets, for the signature check */
    unsigned char sha256[32];
} first_parse;

/* Further PEM blocks of member `idx` after its first object (pass 3b):
 * each becomes an entry "<name>#N". */
static int classify_rest(bacsc_cari *c, size_t *cap, size_t idx, const raw_data *rd,
                         const read_state *rs, const first_parse *fp)
{
    if (!fp->done || fp->rc != BACSC_OK || fp->used == 0)
        return fp->done && fp->rc == BACSC_ERR_NOMEM ? BACSC_ERR_NOMEM : BACSC_OK;
    size_t off = fp->used;
    for (int k = 1; k < CARI_OBJECTS_PER_ENTRY; k++) {
        /* only PEM input holds more than one object; text around blocks is ignored */
        if (off >= rd->len || !cari_has_pem_marker(rd->data + off, rd->len - off))
            return BACSC_OK;
        if (c->n_entries >= rs->lim.max_entries)
            return BACSC_OK;
        char nm[CARI_NAME_MAX + 16];
        snprintf(nm, sizeof nm, "%s#%d", c->entries[idx].name, k + 1);
        bacsc_cari_entry *e = cari_entry_push(c, cap);
        if (!e || !(e->name = strdup(nm)))
            return BACSC_ERR_NOMEM;
        size_t used = 0;
        int rc = cari_parse_object_keys(rd->data + off, rd->len - off, e, &used,
                                        rs->lim.csr_key_types);
        if (rc == BACSC_ERR_NOMEM)
            return rc;
        if (rc != BACSC_OK || used == 0)
            return BACSC_OK;
        off += used;
    }
    return BACSC_OK;
}

typedef struct parse_job {
    bacsc_cari *c;
    unsigned key_types;
    const raw_data *raws;
    first_parse *fp;
    size_t begin;      /* first member of the block */
    const EVP_MD *md;  /* SHA-256, or NULL: the signature check hashes later */
} parse_job;

/* One member: its SHA-256 (the signature check's list), then parse its
 * first object and verify a CSR's signature. Each member writes only its
 * own entry and first_parse slot. */
static void parse_one(void *arg, size_t i)
{
    parse_job *j = arg;
    size_t k = j->begin + i;
    bacsc_cari_entry *e = &j->c->entries[k];
    if (j->md && j->raws[k].data && e->type != BACSC_CARI_ENTRY_SIGNATURE)
        j->fp[k].has_sha256 = EVP_Digest(j->raws[k].data, j->raws[k].len, j->fp[k].sha256, NULL,
                                         j->md, NULL) == 1;
    if (e->error || !j->raws[k].data || e->type == BACSC_CARI_ENTRY_MANIFEST ||
        e->type == BACSC_CARI_ENTRY_SIGNATURE)
        return;
    j->fp[k].rc = cari_parse_object_keys(j->raws[k].data, j->raws[k].len, e, &j->fp[k].used,
                                         j->key_types);
    j->fp[k].done = true;
}

/* Pool size for pass 3a (and the writer's PEM texts, cari_ahead.c):
 * BACSC_CARI_THREADS (1..BACSC_POOL_MAX) or the process default (--jobs,
 * else the online CPUs); 1 for small archives. */
#define PARSE_THREADS_MIN_MEMBERS 64
#define PARSE_BLOCK 256 /* members read before their parse is handed over */
int cari_threads(size_t members)
{
    if (members < PARSE_THREADS_MIN_MEMBERS)
        return 1;
    const char *env = getenv("BACSC_CARI_THREADS");
    long n = env && *env ? strtol(env, NULL, 10) : bacsc_pool_default_size();
    return n < 1 ? 1 : n > BACSC_POOL_MAX ? BACSC_POOL_MAX : (int)n;
}

/* Pass 2 + 3a, streamed: the data of every entry still valid is read on
 * this thread, block by block, and each block's parse and CSR signature
 * checks go to the pool as soon as it is read, so inflating and checking
 * overlap. The manifest is parsed here while the pool works (into *m).
 * Blocks' members, their raws and fp slots are disjoint. */
typedef struct stream_state {
    bacsc_pool *pool;
    EVP_MD *md;
    parse_job jobs[CARI_MAX_PARSE_BLOCKS];
    bacsc_pool_job *running[CARI_MAX_PARSE_BLOCKS];
    size_t n_jobs;
} stream_state;

static void stream_flush(stream_state *ss, bacsc_cari *c, const raw_data *raws, first_parse *fp,
                         unsigned key_types, size_t begin, size_t end)
{
    if (end <= begin)
        return;
    if (ss->n_jobs == CARI_MAX_PARSE_BLOCKS) { /* cannot happen within max_entries */
        parse_job j = {c, key_types, raws, fp, begin, ss->md};
        bacsc_pool_for(ss->pool, end - begin, parse_one, &j);
        return;
    }
    parse_job *j = &ss->jobs[ss->n_jobs];
    *j = (parse_job){c, key_types, raws, fp, begin, ss->md};
    ss->running[ss->n_jobs++] = bacsc_pool_start(ss->pool, end - begin, parse_one, j);
}

/* The manifest member parsed (not yet applied to the entries). */
typedef struct manifest_parsed {
    size_t member; /* index of the first manifest member; SIZE_MAX: none */
    bacsc_cari *m; /* parsed, or NULL */
    int mrc;       /* bacsc_cari_manifest_parse's result */
    char err[300];
} manifest_parsed;

static int parse_manifest(const raw_data *raw, const read_state *rs, manifest_parsed *mf)
{
    mf->m = calloc(1, sizeof *mf->m);
    if (!mf->m)
        return BACSC_ERR_NOMEM;
    mf->mrc = bacsc_cari_manifest_parse((const char *)raw->data, raw->len, rs->lim.max_entries,
                                        mf->m, mf->err, sizeof mf->err);
    return mf->mrc == BACSC_ERR_NOMEM ? BACSC_ERR_NOMEM : BACSC_OK;
}

static int read_and_parse(zip_t *za, read_state *rs, bacsc_cari *c, raw_data *raws,
                          const size_t *zindex, size_t members, first_parse *fp,
                          manifest_parsed *mf)
{
    size_t mk = members; /* the first manifest member */
    int rc = BACSC_OK;
    stream_state *ss = calloc(1, sizeof *ss);
    if (!ss)
        return BACSC_ERR_NOMEM;
    int nt = cari_threads(members);
    ss->pool = nt > 1 ? bacsc_pool_new(nt) : NULL;
    ss->md = EVP_MD_fetch(NULL, "SHA256", NULL); /* NULL: hashed later, on this thread */
    size_t block_begin = 0;
    for (size_t k = 0; k < members && rc == BACSC_OK; k++) {
        bacsc_cari_entry *e = &c->entries[k];
        if (!e->error) {
            zip_stat_t st;
            zip_stat_init(&st);
            if (zip_stat_index(za, zindex[k], 0, &st) != 0) {
                cari_entry_fail(e, BACSC_ERR_MALFORMED, "unreadable entry: %s", zip_strerror(za));
            } else {
                bool manifest = strcmp(e->name, BACSC_CARI_MANIFEST) == 0;
                uint64_t max = manifest ? rs->lim.max_manifest_size : rs->lim.max_entry_size;
                if (read_entry_data(za, zindex[k], &st, max, rs, e, &raws[k].data,
                                    &raws[k].len) == BACSC_ERR_NOMEM)
                    rc = BACSC_ERR_NOMEM;
                if (manifest && !e->error) {
                    e->type = BACSC_CARI_ENTRY_MANIFEST;
                    if (mk == members)
                        mk = k;
                }
                if (!e->error && strcmp(e->name, BACSC_CARI_SIGNATURE) == 0)
                    e->type = BACSC_CARI_ENTRY_SIGNATURE;
            }
        }
        if (k + 1 - block_begin == PARSE_BLOCK || k + 1 == members) {
            stream_flush(ss, c, raws, fp, rs->lim.csr_key_types, block_begin, k + 1);
            block_begin = k + 1;
        }
    }
    if (rc == BACSC_OK && mk < members) /* meanwhile the pool checks CSRs */
        rc = parse_manifest(&raws[mk], rs, mf);
    for (size_t i = 0; i < ss->n_jobs; i++)
        bacsc_pool_wait(ss->running[i]);
    bacsc_pool_free(ss->pool);
    EVP_MD_free(ss->md);
    free(ss);
    mf->member = mk < members ? mk : SIZE_MAX;
    return rc;
}

static bacsc_cari_entry *find_by_name(bacsc_cari_entry **sorted, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(sorted[mid]->name, name);
        if (cmp == 0) {
            while (mid > 0 && strcmp(sorted[mid - 1]->name, name) == 0)
                mid--;
            return sorted[mid];
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Attach manifest metadata (m) to the zip's entries; list missing files. */
static int apply_manifest(bacsc_cari *c, size_t *cap, bacsc_cari *m)
{
    c->kind = m->kind;
    c->version = m->version;
    c->has_manifest = true;
    c->site = m->site, m->site = NULL;
    c->batch_id = m->batch_id, m->batch_id = NULL;
    c->request_batch_id = m->request_batch_id, m->request_batch_id = NULL;
    c->created = m->created, m->created = NULL;
    c->generator = m->generator, m->generator = NULL;
    c->not_issued = m->not_issued, m->not_issued = NULL;
    c->n_not_issued = m->n_not_issued, m->n_not_issued = 0;

    size_t n = c->n_entries;
    bacsc_cari_entry **sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted)
        return BACSC_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        sorted[i] = &c->entries[i];
    qsort(sorted, n, sizeof *sorted, cmp_name_ptr);

    size_t missing_from = c->n_entries;
    for (size_t i = 0; i < m->n_entries; i++) {
        bacsc_cari_entry *me = &m->entries[i];
        bacsc_cari_entry *e = find_by_name(sorted, n, me->name);
        if (!e) {
            /* pushing may move c->entries: remember names, add below */
            continue;
        }
        e->in_manifest = true;
        e->request_id = me->request_id, me->request_id = NULL;
        cari_device_clear(&e->device);
        e->device = me->device;
        memset(&me->device, 0, sizeof me->device);
        if (e->error)
            continue;
        bool content_cert = e->type == BACSC_CARI_ENTRY_CERTIFICATE || e->type == BACSC_CARI_ENTRY_ISSUER;
        if ((me->type == BACSC_CARI_ENTRY_CSR && e->type != BACSC_CARI_ENTRY_CSR) ||
            (me->type != BACSC_CARI_ENTRY_CSR && !content_cert))
            cari_entry_fail(e, BACSC_ERR_MALFORMED, "manifest says %s but the entry is a %s",
                            bacsc_cari_type_name(me->type), bacsc_cari_type_name(e->type));
        else if (me->has_fingerprint &&
                 memcmp(me->fingerprint, e->fingerprint, BACSC_CARI_FP_LEN) != 0)
            cari_entry_fail(e, BACSC_ERR_MALFORMED,
                            "public key does not match the manifest's public_key_sha256");
        else if (e->device.uuid && e->san_uuid && strcmp(e->device.uuid, e->san_uuid) != 0)
            cari_entry_fail(e, BACSC_ERR_MALFORMED,
                            "manifest device uuid %s differs from the urn:uuid SAN %s",
                            e->device.uuid, e->san_uuid);
        else if (me->type == BACSC_CARI_ENTRY_ISSUER)
            e->type = BACSC_CARI_ENTRY_ISSUER;
        else if (me->type == BACSC_CARI_ENTRY_CERTIFICATE)
            e->type = BACSC_CARI_ENTRY_CERTIFICATE;
    }
    for (size_t i = 0; i < m->n_entries; i++) {
        bacsc_cari_entry *me = &m->entries[i];
        if (find_by_name(sorted, n, me->name))
            continue;
        if (c->n_entries - missing_from >= 1000) /* a hostile manifest cannot blow up the list */
            break;
        bacsc_cari_entry *e = cari_entry_push(c, cap);
        if (!e) {
            free(sorted);
            return BACSC_ERR_NOMEM;
        }
        e->name = cari_printable(me->name, strlen(me->name));
        e->in_manifest = true;
        e->request_id = me->request_id, me->request_id = NULL;
        e->device = me->device;
        memset(&me->device, 0, sizeof me->device);
        cari_entry_fail(e, BACSC_ERR_NOT_FOUND, "listed in manifest.json but missing from the archive");
    }
    free(sorted);
    return BACSC_OK;
}

/* Without a manifest: request if it holds CSRs only, response if certificates only. */
static void infer_kind(bacsc_cari *c)
{
    size_t csr = 0, cert = 0;
    for (size_t i = 0; i < c->n_entries; i++) {
        if (c->entries[i].type == BACSC_CARI_ENTRY_CSR)
            csr++;
        else if (c->entries[i].type == BACSC_CARI_ENTRY_CERTIFICATE ||
                 c->entries[i].type == BACSC_CARI_ENTRY_ISSUER)
            cert++;
    }
    if (csr && !cert)
        c->kind = BACSC_CARI_REQUEST;
    else if (cert && !csr)
        c->kind = BACSC_CARI_RESPONSE;
    else if (csr && cert)
        cari_set_error(c, "archive mixes CSRs and certificates and has no manifest saying which "
                          "it is");
}

static void check_kind_consistency(bacsc_cari *c)
{
    for (size_t i = 0; i < c->n_entries; i++) {
        bacsc_cari_entry *e = &c->entries[i];
        if (c->kind == BACSC_CARI_REQUEST &&
            (e->type == BACSC_CARI_ENTRY_CERTIFICATE || e->type == BACSC_CARI_ENTRY_ISSUER))
            cari_entry_fail(e, BACSC_ERR_MALFORMED, "a certificate in a request file");
        else if (c->kind == BACSC_CARI_RESPONSE && e->type == BACSC_CARI_ENTRY_CSR)
            cari_entry_fail(e, BACSC_ERR_MALFORMED, "a CSR in a response file");
        if (!e->device.uuid && e->san_uuid)
            e->device.uuid = strdup(e->san_uuid);
    }
}

/* Pass 4 of read_archive: the manifest parsed in pass 2, applied to the
 * entries. A malformed manifest fails its entry, not the archive. */
static int apply_parsed_manifest(bacsc_cari *c, size_t *cap, manifest_parsed *mf)
{
    if (mf->member == SIZE_MAX || !mf->m)
        return BACSC_OK;
    if (mf->mrc != BACSC_OK) {
        cari_entry_fail(&c->entries[mf->member], mf->mrc, "malformed manifest: %s", mf->err);
        return BACSC_OK;
    }
    return apply_manifest(c, cap, mf->m);
}

/* The signature check, given the octets of every member read in pass 2
 * (raws[k] is zip member zindex[k]) and the SHA-256 the workers made of
 * them (fp[k]). */
static int check_signature(zip_t *za, read_state *rs, bacsc_cari *c, const raw_data *raws,
                           const first_parse *fp, const size_t *zindex, size_t members,
                           size_t total)
{
    cari_pre *pre = calloc(total ? total : 1, sizeof *pre);
    if (!pre)
        return BACSC_ERR_NOMEM;
    for (size_t k = 0; k < members; k++)
        if (raws[k].data && zindex[k] < total) {
            cari_pre *p = &pre[zindex[k]];
            *p = (cari_pre){.data = raws[k].data, .len = raws[k].len,
                            .has_sha256 = fp[k].has_sha256};
            if (p->has_sha256)
                memcpy(p->sha256, fp[k].sha256, sizeof p->sha256);
        }
    cari_check_signature(za, rs->lim.max_total_size, pre, c);
    free(pre);
    return BACSC_OK;
}

static int read_archive(zip_t *za, read_state *rs, bacsc_cari *c)
{
    zip_int64_t total = zip_get_num_entries(za, 0);
    if (total < 0) {
        cari_set_error(c, "cannot read the zip central directory");
        return BACSC_ERR_MALFORMED;
    }
    if ((uint64_t)total > rs->lim.max_entries) {
        cari_set_error(c, "archive has %lld entries, limit %llu (refused)", (long long)total,
                       (unsigned long long)rs->lim.max_entries);
        return BACSC_ERR_LIMIT;
    }
    size_t cap = 0;
    raw_data *raws = calloc((size_t)total + 1, sizeof *raws);
    size_t *zindex = calloc((size_t)total + 1, sizeof *zindex);
    if (!raws || !zindex) {
        free(raws);
        free(zindex);
        return BACSC_ERR_NOMEM;
    }
    int rc = BACSC_OK;
    /* Pass 1: names and pre-checks; one entry per zip member (directories skipped). */
    for (zip_uint64_t i = 0; i < (zip_uint64_t)total && rc == BACSC_OK; i++) {
        zip_stat_t st;
        zip_stat_init(&st);
        const char *raw = zip_get_name(za, i, ZIP_FL_ENC_RAW);
        bacsc_cari_entry *e = cari_entry_push(c, &cap);
        if (!e) {
            rc = BACSC_ERR_NOMEM;
            break;
        }
        zindex[c->n_entries - 1] = i;
        if (!raw || zip_stat_index(za, i, ZIP_FL_ENC_RAW, &st) != 0) {
            char nm[32];
            snprintf(nm, sizeof nm, "#%llu", (unsigned long long)i);
            e->name = strdup(nm);
            cari_entry_fail(e, BACSC_ERR_MALFORMED, "unreadable central directory entry: %s",
                            zip_strerror(za));
            continue;
        }
        e->name = cari_printable(raw, strlen(raw));
        if (!e->name) {
            rc = BACSC_ERR_NOMEM;
            break;
        }
        size_t rl = strlen(raw);
        bool is_dir = rl > 0 && raw[rl - 1] == '/';
        if (precheck_entry(za, i, &st, raw, rs, e) != BACSC_OK)
            continue;
        if (is_dir) {
            if ((st.valid & ZIP_STAT_SIZE) && st.size != 0) {
                cari_entry_fail(e, BACSC_ERR_MALFORMED, "directory entry with data");
            } else { /* harmless directory: not an entry */
                bacsc_cari_entry_clear(e);
                c->n_entries--;
            }
            continue;
        }
        if (unix_file_type(za, i) == S_IFDIR) {
            cari_entry_fail(e, BACSC_ERR_POLICY, "directory attribute on a file name (refused)");
            continue;
        }
    }
    size_t members = c->n_entries;
    if (rc == BACSC_OK)
        rc = flag_duplicates(c, 0);
    /* Pass 2 + 3a: data of every entry still valid, the first object of
     * each member parsed on the pool while the next ones are read; then
     * further PEM blocks (which append entries) in order. */
    first_parse *fp = rc == BACSC_OK ? calloc(members + 1, sizeof *fp) : NULL;
    if (rc == BACSC_OK && !fp)
        rc = BACSC_ERR_NOMEM;
    manifest_parsed mf = {.member = SIZE_MAX};
    if (rc == BACSC_OK)
        rc = read_and_parse(za, rs, c, raws, zindex, members, fp, &mf);
    for (size_t k = 0; k < members && rc == BACSC_OK; k++)
        rc = classify_rest(c, &cap, k, &raws[k], rs, &fp[k]);
    /* Pass 4: the manifest; the signature over everything. */
    if (rc == BACSC_OK)
        rc = apply_parsed_manifest(c, &cap, &mf);
    bacsc_cari_free(mf.m);
    if (rc == BACSC_OK) /* hashing what was read rather than inflating it again */
        rc = check_signature(za, rs, c, raws, fp, zindex, members, (size_t)total);
    free(fp);
    for (size_t k = 0; k <= (size_t)total; k++)
        free(raws[k].data);
    free(raws);
    free(zindex);
    if (rc != BACSC_OK)
        return rc;
    if (!c->has_manifest)
        infer_kind(c);
    check_kind_consistency(c);
    return BACSC_OK;
}

static bacsc_cari *cari_new(void)
{
    return calloc(1, sizeof(bacsc_cari));
}

/* The SHA-256 of the whole file, made on a thread of its own for a large
 * archive while this one reads the zip (it is only needed at the end). */
#define FILE_SHA_THREAD_MIN (256u << 10)
typedef struct file_sha {
    const void *data;
    size_t len;
    unsigned char *out;
    int ok;
    bool threaded;
    pthread_t tid;
} file_sha;

static void *file_sha_run(void *arg)
{
    file_sha *f = arg;
    unsigned int dl = 0;
    f->ok = EVP_Digest(f->data, f->len, f->out, &dl, EVP_sha256(), NULL);
    return NULL;
}

static void file_sha_start(file_sha *f)
{
    f->threaded = f->len >= FILE_SHA_THREAD_MIN &&
                  pthread_create(&f->tid, NULL, file_sha_run, f) == 0;
    if (!f->threaded)
        file_sha_run(f);
}

/* 1: the digest is in place. */
static int file_sha_done(file_sha *f)
{
    if (f->threaded)
        pthread_join(f->tid, NULL);
    f->threaded = false;
    return f->ok;
}

/* Everything of bacsc_cari_read_buffer but the file's digest. *drop: the
 * result is to be freed (out of memory). */
static int read_zip(const void *data, size_t len, read_state *rs, bacsc_cari *c, bool *drop)
{
    *drop = false;
    if (len > rs->lim.max_file_size) {
        cari_set_error(c, "archive of %zu octets exceeds the %llu-octet limit", len,
                       (unsigned long long)rs->lim.max_file_size);
        return BACSC_ERR_LIMIT;
    }
    if (len < 22) { /* smaller than an end-of-central-directory record */
        cari_set_error(c, "not a zip archive (%zu octets, too short)", len);
        return BACSC_ERR_MALFORMED;
    }
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(data, len, 0, &ze);
    if (!src) {
        zip_error_fini(&ze);
        *drop = true;
        return BACSC_ERR_NOMEM;
    }
    zip_t *za = zip_open_from_source(src, ZIP_RDONLY, &ze);
    if (!za) {
        int code = zip_error_code_zip(&ze);
        if (code == ZIP_ER_NOZIP)
            cari_set_error(c, "not a zip archive (no end-of-central-directory record; "
                              "not zip data or truncated)");
        else if (code == ZIP_ER_INCONS || code == ZIP_ER_READ || code == ZIP_ER_SEEK)
            cari_set_error(c, "zip archive is truncated or corrupt (%s)", zip_error_strerror(&ze));
        else
            cari_set_error(c, "cannot open the zip archive: %s", zip_error_strerror(&ze));
        zip_source_free(src);
        zip_error_fini(&ze);
        return code == ZIP_ER_MEMORY ? BACSC_ERR_NOMEM : BACSC_ERR_MALFORMED;
    }
    zip_error_fini(&ze);
    int rc = read_archive(za, rs, c);
    zip_discard(za);
    *drop = rc == BACSC_ERR_NOMEM;
    return rc;
}

int bacsc_cari_read_buffer(const void *data, size_t len, const bacsc_cari_limits *lim,
                           bacsc_cari **out)
{
    if (!out || (!data && len))
        return BACSC_ERR_INVALID_ARG;
    *out = NULL;
    bacsc_cari *c = cari_new();
    if (!c)
        return BACSC_ERR_NOMEM;
    read_state rs;
    memset(&rs, 0, sizeof rs);
    effective_limits(lim, &rs.lim);
    file_sha fs = {.data = data, .len = len, .out = c->file_sha256};
    file_sha_start(&fs);
    bool drop = false;
    int rc = read_zip(data, len, &rs, c, &drop);
    if (!file_sha_done(&fs)) {
        drop = true;
        rc = BACSC_ERR_NOMEM;
    }
    if (drop) {
        bacsc_cari_free(c);
        return rc;
    }
    *out = c;
    return rc;
}

int bacsc_cari_read_file(const char *path, const bacsc_cari_limits *lim, bacsc_cari **out)
{
    if (!path || !out)
        return BACSC_ERR_INVALID_ARG;
    *out = NULL;
    bacsc_cari_limits l;
    effective_limits(lim, &l);
    FILE *f = fopen(path, "rb");
    struct stat st;
    int rc = BACSC_OK;
    unsigned char *buf = NULL;
    size_t n = 0;
    char msg[600];
    if (!f) {
        snprintf(msg, sizeof msg, "cannot open %s: %s", path, strerror(errno));
        rc = BACSC_ERR_IO;
    } else if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(msg, sizeof msg, "%s is not a regular file", path);
        rc = BACSC_ERR_IO;
    } else if ((uint64_t)st.st_size > l.max_file_size) {
        snprintf(msg, sizeof msg, "%s: %lld octets exceeds the %llu-octet limit", path,
                 (long long)st.st_size, (unsigned long long)l.max_file_size);
        rc = BACSC_ERR_LIMIT;
    } else {
        buf = malloc((size_t)st.st_size + 1);
        if (!buf)
            return fclose(f), BACSC_ERR_NOMEM;
        n = fread(buf, 1, (size_t)st.st_size + 1, f);
        if (ferror(f) || n > (size_t)st.st_size) {
            snprintf(msg, sizeof msg, "error reading %s (changed while reading?)", path);
            rc = BACSC_ERR_IO;
        }
    }
    if (f)
        fclose(f);
    if (rc != BACSC_OK) {
        free(buf);
        bacsc_cari *c = cari_new();
        if (!c)
            return BACSC_ERR_NOMEM;
        c->error = strdup(msg);
        *out = c;
        return rc;
    }
    rc = bacsc_cari_read_buffer(buf, n, lim, out);
    free(buf);
    return rc;
}
