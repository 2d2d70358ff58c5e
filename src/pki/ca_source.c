/*
 * ca_source.c — CSR sources of a site CA (bacsc/ca_files.h): a directory of
 * CSR files, or a CARI request zip through bacsc/cari.h.
 */
#include "bacsc/ca_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "bacsc/error.h"

#include "bacsc/cari.h"

#define MAX_FILE (256 * 1024) /* a CSR file larger than this is not read */

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int code,
                                                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

static const char *keep_str(bacsc_ca_source *s, const char *str)
{
    if (!str)
        return NULL;
    if (s->n_strings == s->cap_strings) {
        size_t cap = s->cap_strings ? s->cap_strings * 2 : 64;
        char **n = realloc(s->strings, cap * sizeof *n);
        if (!n)
            return NULL;
        s->strings = n;
        s->cap_strings = cap;
    }
    char *d = strdup(str);
    if (d)
        s->strings[s->n_strings++] = d;
    return d;
}

static void add_bad(bacsc_ca_source *s, const char *name, const char *reason)
{
    bacsc_ca_source_bad *b = realloc(s->bad, (s->n_bad + 1) * sizeof *b);
    if (!b)
        return;
    s->bad = b;
    snprintf(b[s->n_bad].name, sizeof b->name, "%s", name);
    snprintf(b[s->n_bad].reason, sizeof b->reason, "%s", reason);
    s->n_bad++;
}

static bool has_suffix(const char *name, const char *suf)
{
    size_t n = strlen(name), k = strlen(suf);
    return n > k && strcasecmp(name + n - k, suf) == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_small(const char *path, uint8_t **data, size_t *len, char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return fail(why, whylen, BACSC_ERR_IO, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fail(why, whylen, BACSC_ERR_IO, "not a regular file");
    }
    if (st.st_size > MAX_FILE) {
        close(fd);
        return fail(why, whylen, BACSC_ERR_LIMIT, "larger than %d KiB", MAX_FILE / 1024);
    }
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    size_t n = 0;
    while (buf && n < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (!buf || n != (size_t)st.st_size) {
        free(buf);
        return fail(why, whylen, BACSC_ERR_IO, "read error");
    }
    *data = buf;
    *len = n;
    return BACSC_OK;
}

static int load_dir(const char *path, unsigned max, bacsc_ca_source *s, char *err,
                    size_t errlen)
{
    DIR *d = opendir(path);
    if (!d)
        return fail(err, errlen, BACSC_ERR_IO, "cannot open directory %s: %s", path,
                    strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (!has_suffix(e->d_name, ".csr") && !has_suffix(e->d_name, ".pem") &&
            !has_suffix(e->d_name, ".der") && !has_suffix(e->d_name, ".req"))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        names[n] = strdup(e->d_name);
        if (names[n])
            n++;
    }
    closedir(d);
    int rc = BACSC_OK;
    if (n > max)
        rc = fail(err, errlen, BACSC_ERR_LIMIT,
                  "%s holds %zu CSR files; policy max_batch is %u (nothing submitted)", path, n,
                  max);
    if (rc == BACSC_OK && n) {
        qsort(names, n, sizeof *names, cmp_names);
        s->reqs = calloc(n, sizeof *s->reqs);
        s->blobs = calloc(n, sizeof *s->blobs);
        if (!s->reqs || !s->blobs)
            rc = fail(err, errlen, BACSC_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; rc == BACSC_OK && i < n; i++) {
        char full[4096], why[200];
        snprintf(full, sizeof full, "%s/%s", path, names[i]);
        uint8_t *data = NULL, *der = NULL;
        size_t len = 0, der_len = 0;
        if (read_small(full, &data, &len, why, sizeof why) != BACSC_OK) {
            add_bad(s, names[i], why);
            continue;
        }
        if (bacsc_pki_to_der(BACSC_PKI_CSR, data, len, &der, &der_len) == BACSC_OK) {
            free(data);
        } else {
            /* Keep the raw bytes: the store records the refusal with them. */
            der = data;
            der_len = len;
        }
        s->blobs[s->n_blobs++] = der;
        bacsc_request_in *r = &s->reqs[s->n++];
        r->csr = der;
        r->csr_len = der_len;
        r->entry = keep_str(s, names[i]);
        r->device_instance = -1;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    s->batch.file_name = keep_str(s, path);
    return rc;
}

void bacsc_ca_source_free(bacsc_ca_source *s)
{
    bacsc_cari_free(s->cari);
    for (size_t i = 0; i < s->n_strings; i++)
        free(s->strings[i]);
    free(s->strings);
    for (size_t i = 0; i < s->n_blobs; i++)
        free(s->blobs[i]);
    free(s->blobs);
    free(s->reqs);
    free(s->bad);
    memset(s, 0, sizeof *s);
}

static int load_zip(const char *path, unsigned max, unsigned key_types, bacsc_ca_source *s,
                    char *err,
                    size_t errlen)
{
    /* Limits from the policy before anything is parsed or verified: no more
     * entries than a batch may hold (plus manifest and issuer files), and no
     * more octets than that many CSRs of at most RSA-4096 can take. */
    bacsc_cari_limits lim;
    bacsc_cari_limits_default(&lim);
    lim.max_entries = (uint64_t)max + 16;
    lim.max_entry_size = 64u << 10;
    lim.csr_key_types = key_types;
    uint64_t cap = (uint64_t)max * (8u << 10) + (4u << 20);
    if (cap < lim.max_file_size)
        lim.max_file_size = cap;
    if (cap < lim.max_total_size)
        lim.max_total_size = cap;
    if ((uint64_t)max * 1024 + (1u << 20) < lim.max_manifest_size)
        lim.max_manifest_size = (uint64_t)max * 1024 + (1u << 20);
    bacsc_cari *c = NULL;
    int rc = bacsc_cari_read_file(path, &lim, &c);
    if (rc != BACSC_OK) {
        fail(err, errlen, rc, "%s: %s", path, c && c->error ? c->error : bacsc_strerror(rc));
        bacsc_cari_free(c);
        return rc == BACSC_ERR_NOMEM || rc == BACSC_ERR_IO ? rc : BACSC_ERR_MALFORMED;
    }
    s->cari = c;
    if (c->kind == BACSC_CARI_RESPONSE)
        return fail(err, errlen, BACSC_ERR_MALFORMED, "%s is a CARI response, not a request",
                    path);
    size_t n_csr = 0;
    for (size_t i = 0; i < c->n_entries; i++)
        n_csr += c->entries[i].type == BACSC_CARI_ENTRY_CSR || c->entries[i].der != NULL;
    if (n_csr > max)
        return fail(err, errlen, BACSC_ERR_LIMIT,
                    "%s holds %zu CSRs; policy max_batch is %u (nothing submitted)", path, n_csr,
                    max);
    s->reqs = calloc(c->n_entries ? c->n_entries : 1, sizeof *s->reqs);
    if (!s->reqs)
        return fail(err, errlen, BACSC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < c->n_entries; i++) {
        bacsc_cari_entry *e = &c->entries[i];
        const char *name = e->name ? e->name : "?";
        bool csr_bytes = e->der && e->type != BACSC_CARI_ENTRY_CERTIFICATE &&
                         e->type != BACSC_CARI_ENTRY_ISSUER;
        if (e->type == BACSC_CARI_ENTRY_SIGNATURE)
            continue; /* checked by the reader: bacsc_cari.sig_state */
        if (e->type == BACSC_CARI_ENTRY_MANIFEST) {
            if (e->error)
                add_bad(s, name, e->error);
            continue;
        }
        if (!csr_bytes) {
            /* Hostile or unreadable entries (traversal, symlink, bomb, too
             * large, not a CSR) are reported; they carry nothing to store. */
            add_bad(s, name, e->error ? e->error : "not a certificate request");
            continue;
        }
        /* A CSR the reader flagged (e.g. bad self-signature) is still
         * submitted: the store records it as rejected with the CA's reason. */
        bacsc_request_in *r = &s->reqs[s->n++];
        r->csr = e->der;
        r->csr_len = e->der_len;
        r->parsed = e->csr; /* parsed and verified once, by the reader */
        r->entry = name;
        r->ref = e->request_id;
        r->device_name = e->device.name;
        r->device_instance = e->device.instance;
    }
    s->batch.file_name = keep_str(s, path);
    s->batch.site = c->site;
    s->batch.origin = c->generator;
    s->batch.ref = c->batch_id;
    memcpy(s->sha256, c->file_sha256, sizeof s->sha256);
    s->batch.sha256 = s->sha256;
    return BACSC_OK;
}

static int load(const char *path, unsigned max, unsigned key_types, bacsc_ca_source *s,
                char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    struct stat st;
    if (stat(path, &st) != 0)
        return fail(err, errlen, BACSC_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    int rc = S_ISDIR(st.st_mode) ? load_dir(path, max, s, err, errlen)
                                 : load_zip(path, max, key_types, s, err, errlen);
    if (rc != BACSC_OK)
        bacsc_ca_source_free(s);
    return rc;
}

int bacsc_ca_source_load(const char *path, unsigned max, bacsc_ca_source *s, char *err,
                         size_t errlen)
{
    return load(path, max, 0, s, err, errlen);
}

int bacsc_ca_source_load_policy(const char *path, const bacsc_policy *policy,
                                bacsc_ca_source *s, char *err, size_t errlen)
{
    return load(path, policy->max_batch, policy->key_types, s, err, errlen);
}


int bacsc_ca_source_actor(bacsc_ca *ca, const bacsc_ca_source *src, const char *display,
                          int64_t now, char *what, size_t cap)
{
    const bacsc_cari *c = src->cari;
    what[0] = '\0';
    if (!c || c->sig_state == BACSC_CARI_UNSIGNED)
        return 0;
    char name[BACSC_POLICY_MAX_STR], fp[65];
    bacsc_pki_hex(c->signer_sha256, 32, fp);
    const char *subj = c->signer_subject ? c->signer_subject : "?";
    bacsc_actor a = {.kind = BACSC_ACTOR_NONE, .display = display};
    int rc = BACSC_ERR_POLICY;
    if (c->sig_state != BACSC_CARI_SIG_VALID)
        snprintf(what, cap, "%s", c->sig_error ? c->sig_error : "the signature is invalid");
    else if (!bacsc_policy_submitter(bacsc_ca_policy(ca), c->signer_sha256, name, sizeof name))
        snprintf(what, cap, "signed by %s (SHA-256 %s), not in the policy's submitter_keys",
                 subj, fp);
    else if (now < c->signer_not_before || now > c->signer_not_after)
        snprintf(what, cap, "signed by %s (%s), whose certificate is not valid now", name, subj);
    else {
        a.kind = BACSC_ACTOR_SIGNED;
        a.name = name;
        snprintf(what, cap, "signed by key:%s (%s)", name, subj);
        rc = 1;
    }
    if (a.kind == BACSC_ACTOR_NONE && !a.display)
        a.display = "unauthenticated";
    int r = bacsc_ca_set_actor_auth(ca, &a);
    return r < 0 ? r : rc;
}
