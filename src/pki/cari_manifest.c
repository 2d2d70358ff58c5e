/*
 * cari_manifest.c — parse manifest.json (docs/cari.md, "bacsc-cari" v1).
 *
 * The manifest is outside input: every field is type-checked and bounded,
 * duplicate keys and duplicate file names are refused, unknown fields are
 * ignored (so version 1 readers accept additive extensions).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bacsc/error.h"
#include "cari_internal.h"

bacsc_cari_entry *cari_entry_push(bacsc_cari *c, size_t *cap)
{
    if (c->n_entries == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        bacsc_cari_entry *ne = realloc(c->entries, ncap * sizeof *ne);
        if (!ne)
            return NULL;
        c->entries = ne;
        *cap = ncap;
    }
    bacsc_cari_entry *e = &c->entries[c->n_entries++];
    memset(e, 0, sizeof *e);
    e->device.instance = BACSC_CARI_DEVICE_INSTANCE_NONE;
    e->match_index = SIZE_MAX;
    return e;
}

/* An optional string field: absent/null → NULL; else must be a string of at
 * most `max` octets with no control characters. Returns 0 or -1. */
static int opt_string(json_t *obj, const char *key, size_t max, char **out, char *err,
                      size_t errlen, const char *where)
{
    *out = NULL;
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        snprintf(err, errlen, "%s\"%s\" is not a string", where, key);
        return -1;
    }
    size_t l = json_string_length(v);
    const char *s = json_string_value(v);
    if (l > max || strlen(s) != l) {
        snprintf(err, errlen, "%s\"%s\" is too long or contains NUL", where, key);
        return -1;
    }
    for (size_t i = 0; i < l; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            snprintf(err, errlen, "%s\"%s\" contains control characters", where, key);
            return -1;
        }
    *out = strdup(s);
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

static int parse_device(json_t *dev, bacsc_cari_device *d, char *err, size_t errlen,
                        const char *where)
{
    d->instance = BACSC_CARI_DEVICE_INSTANCE_NONE;
    if (!dev || json_is_null(dev))
        return 0;
    if (!json_is_object(dev)) {
        snprintf(err, errlen, "%s\"device\" is not an object", where);
        return -1;
    }
    json_t *inst = json_object_get(dev, "instance");
    if (inst && !json_is_null(inst)) {
        if (!json_is_integer(inst) || json_integer_value(inst) < 0 ||
            json_integer_value(inst) > BACSC_CARI_DEVICE_INSTANCE_MAX) {
            snprintf(err, errlen, "%sdevice \"instance\" is not an integer 0..%d", where,
                     BACSC_CARI_DEVICE_INSTANCE_MAX);
            return -1;
        }
        d->instance = (int64_t)json_integer_value(inst);
    }
    if (opt_string(dev, "name", CARI_DEVNAME_MAX, &d->name, err, errlen, where) != 0)
        return -1;
    char *u = NULL;
    if (opt_string(dev, "uuid", 64, &u, err, errlen, where) != 0)
        return -1;
    if (u) {
        d->uuid = cari_uuid_normalize(u);
        free(u);
        if (!d->uuid) {
            snprintf(err, errlen, "%sdevice \"uuid\" is not a UUID", where);
            return -1;
        }
    }
    return 0;
}

static bacsc_cari_type type_from_string(const char *s)
{
    if (strcmp(s, "csr") == 0)
        return BACSC_CARI_ENTRY_CSR;
    if (strcmp(s, "certificate") == 0)
        return BACSC_CARI_ENTRY_CERTIFICATE;
    if (strcmp(s, "issuer") == 0)
        return BACSC_CARI_ENTRY_ISSUER;
    return BACSC_CARI_ENTRY_INVALID;
}

static int parse_entry(json_t *je, size_t idx, bacsc_cari_entry *e, json_t *seen, char *err,
                       size_t errlen)
{
    char where[64];
    snprintf(where, sizeof where, "entries[%zu]: ", idx);
    if (!json_is_object(je)) {
        snprintf(err, errlen, "%snot an object", where);
        return -1;
    }
    json_t *f = json_object_get(je, "file");
    if (!json_is_string(f) || json_string_length(f) == 0 || json_string_length(f) > 1024 ||
        strlen(json_string_value(f)) != json_string_length(f)) {
        snprintf(err, errlen, "%s\"file\" missing or not a file name", where);
        return -1;
    }
    const char *fname = json_string_value(f);
    if (json_object_get(seen, fname)) {
        char *pn = cari_printable(fname, strlen(fname));
        snprintf(err, errlen, "%sfile \"%s\" listed twice", where, pn ? pn : "?");
        free(pn);
        return -1;
    }
    if (json_object_set_new(seen, fname, json_true()) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!(e->name = strdup(fname))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    json_t *t = json_object_get(je, "type");
    if (!json_is_string(t) || type_from_string(json_string_value(t)) == BACSC_CARI_ENTRY_INVALID) {
        snprintf(err, errlen, "%s\"type\" must be \"csr\", \"certificate\" or \"issuer\"", where);
        return -1;
    }
    e->type = type_from_string(json_string_value(t));
    e->in_manifest = true;
    if (opt_string(je, "request_id", CARI_ID_MAX, &e->request_id, err, errlen, where) != 0)
        return -1;
    if (parse_device(json_object_get(je, "device"), &e->device, err, errlen, where) != 0)
        return -1;
    json_t *fp = json_object_get(je, "public_key_sha256");
    if (fp && !json_is_null(fp)) {
        if (!json_is_string(fp) || cari_fp_parse(json_string_value(fp), e->fingerprint) != 0) {
            snprintf(err, errlen, "%s\"public_key_sha256\" is not 64 hex digits", where);
            return -1;
        }
        e->has_fingerprint = true;
    }
    return 0;
}

/* Response member "not_issued": requests that got no certificate. */
static int parse_not_issued(json_t *arr, uint64_t max_entries, bacsc_cari *out, char *err,
                            size_t errlen)
{
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr) || json_array_size(arr) > max_entries) {
        snprintf(err, errlen, "\"not_issued\" is not an array of at most %llu",
                 (unsigned long long)max_entries);
        return -1;
    }
    size_t n = json_array_size(arr);
    if (n && !(out->not_issued = calloc(n, sizeof *out->not_issued))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char where[64];
        snprintf(where, sizeof where, "not_issued[%zu]: ", i);
        json_t *je = json_array_get(arr, i);
        bacsc_cari_not_issued *r = &out->not_issued[i];
        out->n_not_issued = i + 1;
        r->device.instance = BACSC_CARI_DEVICE_INSTANCE_NONE;
        if (!json_is_object(je)) {
            snprintf(err, errlen, "%snot an object", where);
            return -1;
        }
        if (opt_string(je, "request_id", CARI_ID_MAX, &r->request_id, err, errlen, where) ||
            parse_device(json_object_get(je, "device"), &r->device, err, errlen, where) ||
            opt_string(je, "status", 32, &r->status, err, errlen, where) ||
            opt_string(je, "reason", 1024, &r->reason, err, errlen, where))
            return -1;
        if (!r->status) {
            snprintf(err, errlen, "%s\"status\" missing", where);
            return -1;
        }
        json_t *fp = json_object_get(je, "public_key_sha256");
        if (fp && !json_is_null(fp)) {
            if (!json_is_string(fp) || cari_fp_parse(json_string_value(fp), r->fingerprint) != 0) {
                snprintf(err, errlen, "%s\"public_key_sha256\" is not 64 hex digits", where);
                return -1;
            }
            r->has_fingerprint = true;
        }
    }
    return 0;
}

void cari_not_issued_free(bacsc_cari *c)
{
    for (size_t i = 0; i < c->n_not_issued; i++) {
        free(c->not_issued[i].request_id);
        free(c->not_issued[i].status);
        free(c->not_issued[i].reason);
        cari_device_clear(&c->not_issued[i].device);
    }
    free(c->not_issued);
    c->not_issued = NULL;
    c->n_not_issued = 0;
}

int bacsc_cari_manifest_parse(const char *json, size_t len, uint64_t max_entries, bacsc_cari *out,
                              char *err, size_t errlen)
{
    char dummy[8];
    if (!err) {
        err = dummy;
        errlen = sizeof dummy;
    }
    if (!out || (!json && len))
        return BACSC_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    err[0] = '\0';
    if (max_entries == 0)
        max_entries = 100000;

    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(err, errlen, "not valid JSON: %s (line %d, column %d)", je.text, je.line,
                 je.column);
        for (char *p = err; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
        return BACSC_ERR_MALFORMED;
    }
    int rc = BACSC_ERR_MALFORMED;
    json_t *seen = json_object();
    if (!seen) {
        snprintf(err, errlen, "out of memory");
        rc = BACSC_ERR_NOMEM;
        goto done;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "top level is not an object");
        goto done;
    }
    json_t *fmt = json_object_get(root, "format");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), BACSC_CARI_FORMAT) != 0) {
        snprintf(err, errlen, "\"format\" is not \"%s\"", BACSC_CARI_FORMAT);
        goto done;
    }
    json_t *ver = json_object_get(root, "version");
    if (!json_is_integer(ver)) {
        snprintf(err, errlen, "\"version\" missing or not an integer");
        goto done;
    }
    if (json_integer_value(ver) != BACSC_CARI_VERSION) {
        snprintf(err, errlen, "unsupported version %lld (this reader knows %d)",
                 (long long)json_integer_value(ver), BACSC_CARI_VERSION);
        rc = BACSC_ERR_UNSUPPORTED;
        goto done;
    }
    out->version = BACSC_CARI_VERSION;
    json_t *kind = json_object_get(root, "kind");
    if (json_is_string(kind) && strcmp(json_string_value(kind), "request") == 0)
        out->kind = BACSC_CARI_REQUEST;
    else if (json_is_string(kind) && strcmp(json_string_value(kind), "response") == 0)
        out->kind = BACSC_CARI_RESPONSE;
    else {
        snprintf(err, errlen, "\"kind\" must be \"request\" or \"response\"");
        goto done;
    }
    if (opt_string(root, "site", CARI_DEVNAME_MAX, &out->site, err, errlen, "") ||
        opt_string(root, "batch_id", CARI_ID_MAX, &out->batch_id, err, errlen, "") ||
        opt_string(root, "request_batch_id", CARI_ID_MAX, &out->request_batch_id, err, errlen,
                   "") ||
        opt_string(root, "created", 64, &out->created, err, errlen, "") ||
        opt_string(root, "generator", CARI_DEVNAME_MAX, &out->generator, err, errlen, ""))
        goto done;
    json_t *entries = json_object_get(root, "entries");
    if (!json_is_array(entries)) {
        snprintf(err, errlen, "\"entries\" missing or not an array");
        goto done;
    }
    size_t n = json_array_size(entries);
    if (n > max_entries) {
        snprintf(err, errlen, "%zu entries listed, limit %llu", n, (unsigned long long)max_entries);
        rc = BACSC_ERR_LIMIT;
        goto done;
    }
    if (n) {
        out->entries = calloc(n, sizeof *out->entries);
        if (!out->entries) {
            snprintf(err, errlen, "out of memory");
            rc = BACSC_ERR_NOMEM;
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++) {
        bacsc_cari_entry *e = &out->entries[i];
        e->match_index = SIZE_MAX;
        out->n_entries = i + 1;
        if (parse_entry(json_array_get(entries, i), i, e, seen, err, errlen) != 0)
            goto done;
    }
    if (out->kind == BACSC_CARI_RESPONSE &&
        parse_not_issued(json_object_get(root, "not_issued"), max_entries, out, err, errlen) != 0)
        goto done;
    rc = BACSC_OK;
done:
    /* jansson quotes the offending input: keep the message one printable line */
    for (char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    json_decref(seen);
    json_decref(root);
    return rc;
}
