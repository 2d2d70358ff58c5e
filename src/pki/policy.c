/*
 * policy.c — the CA's issuing policy: DIR/policy.json (jansson), its
 * defaults, `policy set KEY VALUE`, and the static checks on a CSR.
 *
 * The JSON object is the single description of a policy: bacsc_policy_set()
 * edits that object and re-parses it, so text given on the command line goes
 * through exactly the validation a hand-edited file does.
 */
#include "pki_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>

#include "bacsc/error.h"

#define POLICY_VERSION 1

static const char *const uuid_rules[] = {"optional", "required", "forbidden"};
static const char *const auto_rules[] = {"off", "all", "match"};
static const char *const renew_rules[] = {"same-key", "manual", "off"};

void bacsc_policy_default(bacsc_policy *p)
{
    memset(p, 0, sizeof *p);
    p->key_types = BACSC_KEY_BIT(BACSC_KEY_EC_P256);
    p->validity_days = 730;
    p->uuid_rule = BACSC_UUID_OPTIONAL;
    p->renewal = BACSC_RENEW_SAME_KEY;
    p->require_cn = true;
    p->carry.subject_full = false;
    p->carry.uuid = true;
    p->carry.dns = true;
    p->carry.ip = true;
    p->carry.uri_other = false;
    p->auto_approve = BACSC_AUTO_OFF;
    p->max_batch = 20000;
    p->crl_days = 7;
}

static json_t *str_list(const char (*items)[BACSC_POLICY_MAX_STR], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(items[i]));
    return a;
}

json_t *bacsc_policy_to_json(const bacsc_policy *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "version", json_integer(POLICY_VERSION));
    json_t *kt = json_array();
    for (int t = 1; t < BACSC_KEY_TYPE_COUNT; t++)
        if (p->key_types & BACSC_KEY_BIT(t))
            json_array_append_new(kt, json_string(bacsc_pki_key_type_name(t)));
    json_object_set_new(o, "key_types", kt);
    json_object_set_new(o, "validity_days", json_integer(p->validity_days));
    json_object_set_new(o, "device_uuid", json_string(uuid_rules[p->uuid_rule]));
    json_object_set_new(o, "renewal", json_string(renew_rules[p->renewal]));
    json_object_set_new(o, "require_cn", json_boolean(p->require_cn));
    json_object_set_new(o, "subject", json_string(p->carry.subject_full ? "full" : "cn-only"));
    json_object_set_new(o, "carry_uuid", json_boolean(p->carry.uuid));
    json_object_set_new(o, "carry_dns", json_boolean(p->carry.dns));
    json_object_set_new(o, "carry_ip", json_boolean(p->carry.ip));
    json_object_set_new(o, "carry_uri", json_boolean(p->carry.uri_other));
    json_object_set_new(o, "auto_approve", json_string(auto_rules[p->auto_approve]));
    json_object_set_new(o, "auto_approve_sites", str_list(p->sites, p->n_sites));
    json_object_set_new(o, "auto_approve_origins", str_list(p->origins, p->n_origins));
    json_object_set_new(o, "max_batch", json_integer(p->max_batch));
    json_object_set_new(o, "crl_days", json_integer(p->crl_days));
    return o;
}

static int pick(const char *v, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    return -1;
}

static int get_list(const json_t *v, const char *key, char (*items)[BACSC_POLICY_MAX_STR],
                    size_t *n, char *err, size_t errlen)
{
    if (!json_is_array(v))
        return pki_fail(err, errlen, BACSC_ERR_MALFORMED, "policy: %s must be a list", key);
    if (json_array_size(v) > BACSC_POLICY_MAX_LIST)
        return pki_fail(err, errlen, BACSC_ERR_MALFORMED, "policy: %s has more than %d entries",
                        key, BACSC_POLICY_MAX_LIST);
    *n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        const char *s = json_string_value(e);
        if (!s || !*s || strlen(s) >= BACSC_POLICY_MAX_STR)
            return pki_fail(err, errlen, BACSC_ERR_MALFORMED,
                            "policy: %s entries must be non-empty strings under %d characters",
                            key, BACSC_POLICY_MAX_STR);
        snprintf(items[(*n)++], BACSC_POLICY_MAX_STR, "%s", s);
    }
    return BACSC_OK;
}

static int get_int(const json_t *v, const char *key, long lo, long hi, long *out, char *err,
                   size_t errlen)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return pki_fail(err, errlen, BACSC_ERR_MALFORMED, "policy: %s must be an integer %ld..%ld",
                        key, lo, hi);
    *out = (long)json_integer_value(v);
    return BACSC_OK;
}

static int get_bool(const json_t *v, const char *key, bool *out, char *err, size_t errlen)
{
    if (!json_is_boolean(v))
        return pki_fail(err, errlen, BACSC_ERR_MALFORMED, "policy: %s must be true or false", key);
    *out = json_is_true(v);
    return BACSC_OK;
}

static int get_enum(const json_t *v, const char *key, const char *const *names, int n, int *out,
                    char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    int i = s ? pick(s, names, n) : -1;
    if (i < 0) {
        char all[128] = "";
        for (int k = 0; k < n; k++)
            snprintf(all + strlen(all), sizeof all - strlen(all), "%s%s", k ? ", " : "", names[k]);
        return pki_fail(err, errlen, BACSC_ERR_MALFORMED, "policy: %s must be one of %s", key,
                        all);
    }
    *out = i;
    return BACSC_OK;
}

int bacsc_policy_from_json(const json_t *obj, bacsc_policy *p, char *err, size_t errlen)
{
    bacsc_policy_default(p);
    if (!json_is_object(obj))
        return pki_fail(err, errlen, BACSC_ERR_MALFORMED, "policy: not a JSON object");
    const char *key;
    json_t *v;
    int rc = BACSC_OK;
    long l = 0;
    json_object_foreach((json_t *)obj, key, v)
    {
        if (strcmp(key, "version") == 0) {
            rc = get_int(v, key, POLICY_VERSION, POLICY_VERSION, &l, err, errlen);
        } else if (strcmp(key, "key_types") == 0) {
            if (!json_is_array(v) || json_array_size(v) == 0)
                return pki_fail(err, errlen, BACSC_ERR_MALFORMED,
                                "policy: key_types must be a non-empty list");
            p->key_types = 0;
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
            {
                int t = bacsc_pki_key_type_parse(json_string_value(e));
                if (t < 0)
                    return pki_fail(err, errlen, BACSC_ERR_MALFORMED,
                                    "policy: unknown key type in key_types (ec-p256, ec-p384, "
                                    "ec-p521, rsa-2048, rsa-3072, rsa-4096)");
                p->key_types |= BACSC_KEY_BIT(t);
            }
        } else if (strcmp(key, "validity_days") == 0) {
            rc = get_int(v, key, 1, 36500, &l, err, errlen);
            p->validity_days = (int)l;
        } else if (strcmp(key, "device_uuid") == 0) {
            rc = get_enum(v, key, uuid_rules, 3, &p->uuid_rule, err, errlen);
        } else if (strcmp(key, "renewal") == 0) {
            rc = get_enum(v, key, renew_rules, 3, &p->renewal, err, errlen);
        } else if (strcmp(key, "require_cn") == 0) {
            rc = get_bool(v, key, &p->require_cn, err, errlen);
        } else if (strcmp(key, "subject") == 0) {
            static const char *const subj[] = {"cn-only", "full"};
            int i = 0;
            rc = get_enum(v, key, subj, 2, &i, err, errlen);
            p->carry.subject_full = i == 1;
        } else if (strcmp(key, "carry_uuid") == 0) {
            rc = get_bool(v, key, &p->carry.uuid, err, errlen);
        } else if (strcmp(key, "carry_dns") == 0) {
            rc = get_bool(v, key, &p->carry.dns, err, errlen);
        } else if (strcmp(key, "carry_ip") == 0) {
            rc = get_bool(v, key, &p->carry.ip, err, errlen);
        } else if (strcmp(key, "carry_uri") == 0) {
            rc = get_bool(v, key, &p->carry.uri_other, err, errlen);
        } else if (strcmp(key, "auto_approve") == 0) {
            rc = get_enum(v, key, auto_rules, 3, &p->auto_approve, err, errlen);
        } else if (strcmp(key, "auto_approve_sites") == 0) {
            rc = get_list(v, key, p->sites, &p->n_sites, err, errlen);
        } else if (strcmp(key, "auto_approve_origins") == 0) {
            rc = get_list(v, key, p->origins, &p->n_origins, err, errlen);
        } else if (strcmp(key, "max_batch") == 0) {
            rc = get_int(v, key, 1, 1000000, &l, err, errlen);
            p->max_batch = (unsigned)l;
        } else if (strcmp(key, "crl_days") == 0) {
            rc = get_int(v, key, 1, 3650, &l, err, errlen);
            p->crl_days = (int)l;
        } else {
            return pki_fail(err, errlen, BACSC_ERR_MALFORMED, "policy: unknown key '%s'", key);
        }
        if (rc != BACSC_OK)
            return rc;
    }
    return BACSC_OK;
}

int bacsc_policy_load(const char *path, bacsc_policy *p, char *err, size_t errlen)
{
    json_error_t je;
    json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        bacsc_policy_default(p);
        if (errno == ENOENT && je.line == -1)
            return pki_fail(err, errlen, BACSC_ERR_IO, "cannot read %s: %s", path, je.text);
        return pki_fail(err, errlen, BACSC_ERR_MALFORMED, "%s:%d: %s", path, je.line, je.text);
    }
    int rc = bacsc_policy_from_json(o, p, err, errlen);
    json_decref(o);
    return rc;
}

int bacsc_policy_save(const char *path, const bacsc_policy *p, char *err, size_t errlen)
{
    json_t *o = bacsc_policy_to_json(p);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text)
        return pki_fail(err, errlen, BACSC_ERR_NOMEM, "out of memory");
    size_t n = strlen(text);
    char *withnl = realloc(text, n + 2);
    if (!withnl) {
        free(text);
        return pki_fail(err, errlen, BACSC_ERR_NOMEM, "out of memory");
    }
    withnl[n] = '\n';
    withnl[n + 1] = 0;
    int rc = pki_write_file(path, withnl, n + 1, 0644);
    free(withnl);
    if (rc != BACSC_OK)
        return pki_fail(err, errlen, rc, "cannot write %s: %s", path, strerror(errno));
    return BACSC_OK;
}

static json_t *parse_bool_text(const char *v)
{
    if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1"))
        return json_true();
    if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
        !strcmp(v, "0"))
        return json_false();
    return NULL;
}

/* "a,b, c" → ["a","b","c"]; "" → []. */
static json_t *parse_list_text(const char *v)
{
    json_t *a = json_array();
    const char *s = v;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        while (n && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        json_array_append_new(a, json_stringn(s, n));
        if (!e)
            break;
        s = e + 1;
    }
    return a;
}

int bacsc_policy_set(bacsc_policy *p, const char *key, const char *value, char *err,
                     size_t errlen)
{
    static const char *const bools[] = {"require_cn", "carry_uuid", "carry_dns", "carry_ip",
                                        "carry_uri", NULL};
    static const char *const ints[] = {"validity_days", "max_batch", "crl_days", NULL};
    static const char *const lists[] = {"key_types", "auto_approve_sites", "auto_approve_origins",
                                        NULL};
    static const char *const strs[] = {"device_uuid", "renewal", "subject", "auto_approve", NULL};
    if (!key || !value)
        return pki_fail(err, errlen, BACSC_ERR_INVALID_ARG, "policy: key and value required");
    json_t *v = NULL;
    for (int i = 0; !v && bools[i]; i++)
        if (strcmp(key, bools[i]) == 0) {
            v = parse_bool_text(value);
            if (!v)
                return pki_fail(err, errlen, BACSC_ERR_INVALID_ARG,
                                "policy: %s must be true or false, not '%s'", key, value);
        }
    for (int i = 0; !v && ints[i]; i++)
        if (strcmp(key, ints[i]) == 0) {
            char *end;
            errno = 0;
            long long n = strtoll(value, &end, 10);
            if (!*value || *end || errno)
                return pki_fail(err, errlen, BACSC_ERR_INVALID_ARG,
                                "policy: %s must be an integer, not '%s'", key, value);
            v = json_integer(n);
        }
    for (int i = 0; !v && lists[i]; i++)
        if (strcmp(key, lists[i]) == 0)
            v = parse_list_text(value);
    for (int i = 0; !v && strs[i]; i++)
        if (strcmp(key, strs[i]) == 0)
            v = json_string(value);
    if (!v)
        return pki_fail(err, errlen, BACSC_ERR_INVALID_ARG,
                        "policy: unknown key '%s' (see 'bacsc ca policy show')", key);
    json_t *o = bacsc_policy_to_json(p);
    json_object_set_new(o, key, v);
    bacsc_policy np;
    int rc = bacsc_policy_from_json(o, &np, err, errlen);
    json_decref(o);
    if (rc != BACSC_OK)
        return BACSC_ERR_INVALID_ARG;
    *p = np;
    return BACSC_OK;
}

static void allowed_list(unsigned types, char *out, size_t outlen)
{
    out[0] = 0;
    for (int t = 1; t < BACSC_KEY_TYPE_COUNT; t++)
        if (types & BACSC_KEY_BIT(t))
            snprintf(out + strlen(out), outlen - strlen(out), "%s%s", out[0] ? ", " : "",
                     bacsc_pki_key_type_name(t));
}

int pki_policy_check_parsed(const bacsc_policy *p, bacsc_csr *c, bacsc_csr_info *info, char *why,
                            size_t whylen)
{
    int rc = pki_csr_inspect_parsed(c, info, why, whylen);
    if (rc != BACSC_OK)
        return rc;
    if (!info->signature_ok)
        return pki_fail(why, whylen, BACSC_ERR_POLICY, "CSR signature does not verify");
    if (info->requests_ca)
        return pki_fail(why, whylen, BACSC_ERR_POLICY,
                        "CSR requests a CA certificate (basicConstraints CA:TRUE)");
    if (info->key_type == BACSC_KEY_UNKNOWN || !(p->key_types & BACSC_KEY_BIT(info->key_type))) {
        char allowed[128];
        allowed_list(p->key_types, allowed, sizeof allowed);
        return pki_fail(why, whylen, BACSC_ERR_POLICY, "key type %s not allowed (policy: %s)",
                        info->key_desc, allowed);
    }
    if (p->require_cn && !info->cn[0])
        return pki_fail(why, whylen, BACSC_ERR_POLICY, "subject has no commonName");
    if (info->n_uuid > 1)
        return pki_fail(why, whylen, BACSC_ERR_POLICY, "more than one urn:uuid: SAN");
    if (p->uuid_rule == BACSC_UUID_REQUIRED && !info->device_uuid[0])
        return pki_fail(why, whylen, BACSC_ERR_POLICY,
                        "no Device UUID (urn:uuid: SAN); policy requires one");
    if (p->uuid_rule == BACSC_UUID_FORBIDDEN && info->device_uuid[0])
        return pki_fail(why, whylen, BACSC_ERR_POLICY,
                        "Device UUID SAN present; policy forbids it");
    return BACSC_OK;
}

int bacsc_policy_check_csr(const bacsc_policy *p, const uint8_t *der, size_t len,
                           bacsc_csr_info *info, char *why, size_t whylen)
{
    bacsc_csr_info local;
    if (!info)
        info = &local;
    memset(info, 0, sizeof *info);
    bacsc_csr *c = NULL;
    int rc = len > BACSC_PKI_MAX_CSR_DER ? BACSC_ERR_MALFORMED : pki_csr_parse(der, len, &c);
    if (rc != BACSC_OK)
        return pki_fail(why, whylen, rc,
                        rc == BACSC_ERR_NOMEM            ? "out of memory"
                        : len > BACSC_PKI_MAX_CSR_DER ? "CSR larger than 64 KiB"
                                                      : "not a DER PKCS#10 certificate request");
    rc = pki_policy_check_parsed(p, c, info, why, whylen);
    pki_csr_free(c);
    return rc;
}
