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
#include <ctype.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

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
    p->carry.dns = false; /* names and addresses are not the CA's to vouch for */
    p->carry.ip = false;
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
    json_object_set_new(o, "auto_approve_submitters", str_list(p->submitters, p->n_submitters));
    json_object_set_new(o, "san_domains", str_list(p->san_domains, p->n_san_domains));
    json_object_set_new(o, "submitter_keys", str_list(p->submitter_keys, p->n_submitter_keys));
    json_object_set_new(o, "max_batch", json_integer(p->max_batch));
    json_object_set_new(o, "crl_days", json_integer(p->crl_days));
    return o;
}

/* "NAME=HEX" with 32 octets of hex (colons allowed) into the digest;
 * NAME: letters, digits, . _ - (1..40). */
static bool submitter_key_parse(const char *s, size_t *name_len, unsigned char fp[32])
{
    const char *eq = strchr(s, '=');
    if (!eq || eq == s || eq - s > 40)
        return false;
    for (const char *c = s; c < eq; c++)
        if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-')
            return false;
    size_t n = 0;
    for (const char *c = eq + 1; *c; c++) {
        if (*c == ':')
            continue;
        int v = isdigit((unsigned char)*c) ? *c - '0'
                : isxdigit((unsigned char)*c) ? (tolower((unsigned char)*c) - 'a' + 10)
                                              : -1;
        if (v < 0 || n >= 64)
            return false;
        if (n % 2 == 0)
            fp[n / 2] = (unsigned char)(v << 4);
        else
            fp[n / 2] |= (unsigned char)v;
        n++;
    }
    *name_len = (size_t)(eq - s);
    return n == 64;
}

static bool submitter_key_ok(const char *s)
{
    size_t nl;
    unsigned char fp[32];
    return submitter_key_parse(s, &nl, fp);
}

bool bacsc_policy_submitter(const bacsc_policy *p, const unsigned char fp[32], char *name,
                            size_t cap)
{
    for (size_t i = 0; i < p->n_submitter_keys; i++) {
        size_t nl;
        unsigned char k[32];
        if (submitter_key_parse(p->submitter_keys[i], &nl, k) && memcmp(k, fp, 32) == 0) {
            snprintf(name, cap, "%.*s", (int)nl, p->submitter_keys[i]);
            return true;
        }
    }
    return false;
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
        } else if (strcmp(key, "auto_approve_submitters") == 0) {
            rc = get_list(v, key, p->submitters, &p->n_submitters, err, errlen);
        } else if (strcmp(key, "san_domains") == 0) {
            rc = get_list(v, key, p->san_domains, &p->n_san_domains, err, errlen);
            for (size_t i = 0; rc == BACSC_OK && i < p->n_san_domains; i++)
                if (strchr(p->san_domains[i], '*') || p->san_domains[i][0] == '.')
                    rc = pki_fail(err, errlen, BACSC_ERR_MALFORMED,
                                  "policy: san_domains entries are plain domain names "
                                  "(no '*', no leading '.'): '%s'",
                                  p->san_domains[i]);
        } else if (strcmp(key, "submitter_keys") == 0) {
            rc = get_list(v, key, p->submitter_keys, &p->n_submitter_keys, err, errlen);
            for (size_t i = 0; rc == BACSC_OK && i < p->n_submitter_keys; i++)
                if (!submitter_key_ok(p->submitter_keys[i]))
                    rc = pki_fail(err, errlen, BACSC_ERR_MALFORMED,
                                  "policy: submitter_keys entries are NAME=SHA256 (the "
                                  "certificate's SHA-256 fingerprint, 64 hex digits, colons "
                                  "allowed): '%s'",
                                  p->submitter_keys[i]);
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
    int rc = pki_write_file(path, withnl, n + 1, 0600);
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
                                        "auto_approve_submitters", "san_domains",
                                        "submitter_keys", NULL};
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

/* SHA-256 or better: MD5, SHA-1 and SHA-224 signatures are refused. */
static int check_sig_alg(X509_REQ *req, char *why, size_t whylen)
{
    const ASN1_BIT_STRING *sig = NULL;
    const X509_ALGOR *alg = NULL;
    X509_REQ_get0_signature(req, &sig, &alg);
    int nid = alg ? OBJ_obj2nid(alg->algorithm) : NID_undef, md = NID_undef, pk = NID_undef;
    if (nid != NID_undef)
        OBJ_find_sigid_algs(nid, &md, &pk);
    if (md == NID_sha256 || md == NID_sha384 || md == NID_sha512 || md == NID_sha3_256 ||
        md == NID_sha3_384 || md == NID_sha3_512)
        return BACSC_OK;
    char name[80] = "unknown";
    if (alg)
        OBJ_obj2txt(name, sizeof name, alg->algorithm, 0);
    return pki_fail(why, whylen, BACSC_ERR_POLICY,
                    "CSR signature algorithm %s not allowed (SHA-256 or better)", name);
}

/* Code points a subject must never carry: controls, and the invisible
 * formatting characters that make text display as something else. */
static bool bad_code_point(unsigned long cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0xad || cp == 0x061c ||
           (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb);
}

/* Every subject attribute: valid UTF-8, at most 64 characters (the X.520
 * upper bound of CN, O, OU…), no control or formatting characters; exactly
 * one commonName when there is one. */
static int check_subject(const X509_NAME *name, char *why, size_t whylen)
{
    int n_cn = 0;
    for (int i = 0; i < X509_NAME_entry_count(name); i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
        n_cn += nid == NID_commonName;
        unsigned char *u = NULL;
        int len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e));
        if (len < 0) {
            ERR_clear_error();
            return pki_fail(why, whylen, BACSC_ERR_POLICY, "subject attribute %d is not text",
                            i + 1);
        }
        int chars = 0, bad = 0;
        for (int k = 0; k < len && !bad; chars++) {
            unsigned long cp = 0;
            int used = UTF8_getc(u + k, len - k, &cp);
            if (used <= 0 || bad_code_point(cp))
                bad = 1;
            else
                k += used;
        }
        OPENSSL_free(u);
        const char *sn = OBJ_nid2sn(nid);
        if (bad)
            return pki_fail(why, whylen, BACSC_ERR_POLICY,
                            "subject %s holds control or formatting characters", sn ? sn : "?");
        if (chars > 64)
            return pki_fail(why, whylen, BACSC_ERR_POLICY,
                            "subject %s is longer than 64 characters", sn ? sn : "?");
    }
    if (n_cn > 1)
        return pki_fail(why, whylen, BACSC_ERR_POLICY, "subject has more than one commonName");
    return BACSC_OK;
}

/* dNSName SANs, when carried: letters, digits, '-' and '.', no wildcard, equal
 * to or under one of san_domains. */
static int check_dns(const bacsc_policy *p, const ASN1_IA5STRING *s, char *why, size_t whylen)
{
    const char *d = (const char *)ASN1_STRING_get0_data(s);
    size_t n = (size_t)ASN1_STRING_length(s);
    char shown[80];
    pki_printable(d, n, shown, sizeof shown);
    if (memchr(d, '*', n))
        return pki_fail(why, whylen, BACSC_ERR_POLICY, "wildcard DNS name %s refused", shown);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)d[i];
        if (!(isalnum(ch) || ch == '-' || ch == '.'))
            return pki_fail(why, whylen, BACSC_ERR_POLICY, "DNS name %s is not a host name",
                            shown);
    }
    for (size_t i = 0; i < p->n_san_domains; i++) {
        const char *dom = p->san_domains[i];
        size_t dl = strlen(dom);
        if ((n == dl && strncasecmp(d, dom, n) == 0) ||
            (n > dl + 1 && d[n - dl - 1] == '.' && strncasecmp(d + n - dl, dom, dl) == 0))
            return BACSC_OK;
    }
    return pki_fail(why, whylen, BACSC_ERR_POLICY,
                    "DNS name %s is not under the policy's san_domains%s", shown,
                    p->n_san_domains ? "" : " (none configured)");
}

static int check_sans(const bacsc_policy *p, X509_REQ *req, char *why, size_t whylen)
{
    if (!p->carry.dns)
        return BACSC_OK; /* not carried: nothing to vouch for */
    STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
    int crit = 0;
    GENERAL_NAMES *gens = exts ? X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL) : NULL;
    int rc = BACSC_OK;
    for (int i = 0; rc == BACSC_OK && gens && i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS)
            rc = check_dns(p, g->d.dNSName, why, whylen);
    }
    GENERAL_NAMES_free(gens);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    ERR_clear_error();
    return rc;
}

/* The one-line subject of a cn-only certificate (escaped like any other). */
static void issued_cn_subject(const X509_NAME *name, char *out, size_t outlen)
{
    X509_NAME *n = X509_NAME_new();
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (n && i >= 0 && X509_NAME_add_entry(n, X509_NAME_get_entry(name, i), -1, 0))
        pki_name_oneline(n, out, outlen);
    X509_NAME_free(n);
    ERR_clear_error();
}

/* Order matters: everything that can be read from the CSR's structure is
 * checked before the signature, whose cost grows with the key. */
int pki_policy_check_parsed(const bacsc_policy *p, bacsc_csr *c, bacsc_csr_info *info, char *why,
                            size_t whylen)
{
    int rc = pki_csr_inspect_unverified(c, info, why, whylen);
    if (rc != BACSC_OK)
        return rc;
    if (info->key_type == BACSC_KEY_UNKNOWN || !(p->key_types & BACSC_KEY_BIT(info->key_type))) {
        char allowed[128];
        allowed_list(p->key_types, allowed, sizeof allowed);
        return pki_fail(why, whylen, BACSC_ERR_POLICY, "key type %s not allowed (policy: %s)",
                        info->key_desc, allowed);
    }
    X509_REQ *req = pki_csr_req(c);
    rc = check_sig_alg(req, why, whylen);
    if (rc != BACSC_OK)
        return rc;
    info->signature_ok = pki_csr_verify(c);
    if (!info->signature_ok)
        return pki_fail(why, whylen, BACSC_ERR_POLICY, "CSR signature does not verify");
    if (info->requests_ca)
        return pki_fail(why, whylen, BACSC_ERR_POLICY,
                        "CSR requests a CA certificate (basicConstraints CA:TRUE)");
    rc = check_subject(X509_REQ_get_subject_name(req), why, whylen);
    if (rc != BACSC_OK)
        return rc;
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
    rc = check_sans(p, req, why, whylen);
    if (rc != BACSC_OK)
        return rc;
    /* What will be issued, not what was asked for. */
    if (!p->carry.subject_full)
        issued_cn_subject(X509_REQ_get_subject_name(req), info->subject, sizeof info->subject);
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
