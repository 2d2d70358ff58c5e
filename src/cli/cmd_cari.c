/*
 * cmd_cari.c — `bacsc cari build|inspect`: make and check CARI files
 * (docs/cari.md, docs/cari-cli.md). The library does the work (bacsc/cari.h);
 * this file parses options and prints.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "bacsc/cari.h"
#include "bacsc/error.h"
#include "cli.h"
#include "cli_opt.h"

extern const char bacsc_cmd_cari_summary[];
int bacsc_cmd_cari(int argc, char **argv);

const char bacsc_cmd_cari_summary[] = "build and inspect CARI certificate request/response zips";

#define CARI_MAX_INPUT (1u << 20) /* one CSR file */
#define MAX_CAS 8

/* ---- build ----------------------------------------------------------------- */

static int verbose(const char *prog, const char *arg, void *target)
{
    (void)arg;
    (void)target;
    return cli_set_log_level(prog, "debug") ? 0 : -1;
}

#define CARI_TAIL_ROWS                                                                             \
    CLI_LOGLEVEL("log-level", 0, "L", "error|warn|info|debug|trace"),                              \
        {.name = "verbose", .shortc = 'v', .kind = CLI_K_CALL, .fn = verbose,                      \
         .flags = CLI_UNLISTED},                                                                   \
        {.name = "help", .shortc = 'h', .kind = CLI_K_HELP, .flags = CLI_UNLISTED}, CLI_END

typedef struct build_opts {
    const char *out, *site, *batch, *dir, *sign_cert, *sign_key;
    bool keep_going, json;
} build_opts;

static const cli_opt build_rows[] = {
    CLI_STR("out", 'o', "FILE", build_opts, out, "the request zip to write (atomically)"),
    CLI_STR("site", 's', "NAME", build_opts, site, "site name recorded in the manifest"),
    CLI_STR("batch-id", 'b', "ID", build_opts, batch, "batch id (default: a random UUID)"),
    CLI_STR("dir", 'd', "DIR", build_opts, dir, "take every regular file in DIR (sorted by name)"),
    CLI_FLAG("keep-going", 'k', build_opts, keep_going,
             "write the valid CSRs even if some are bad (exit 5)"),
    CLI_STR("sign-cert", 0, "F", build_opts, sign_cert,
            "sign the request with this certificate (PEM; docs/cari.md)"),
    CLI_STR("sign-key", 0, "F", build_opts, sign_key, "the signing certificate's private key (PEM)"),
    CLI_FLAG("json", 0, build_opts, json, "print the result as JSON"),
    CARI_TAIL_ROWS};

static const cli_part build_help[] = {
    CLI_TEXT("usage: bacsc cari build --out REQ.zip [--site NAME] [--batch-id ID] [--keep-going]\n"
             "                        [--sign-cert F --sign-key F] [--json] [--log-level L]\n"
             "                        (CSR_FILE... | --dir DIR)\n"
             "\n"
             "Build a CARI request: every CSR (PEM or DER) is checked (self-signature,\n"
             "encoding) and stored as csr/<name>.csr with a manifest.json naming its\n"
             "device (UUID from a urn:uuid: SAN, name from the subject CN) and key.\n"
             "With --sign-cert/--sign-key the request carries signature.p7s, a CMS signature\n"
             "over every entry: a CA that lists the certificate among its submitter_keys\n"
             "takes the signer as the batch's authenticated submitter.\n"
             "\n"),
    CLI_GROUP(NULL, build_rows, 0),
    CLI_TEXT("\n"
             "Exit status: 0 ok, 2 usage, 3 a CSR is invalid (nothing written),\n"
             "5 written with some CSRs skipped (--keep-going), 1 write failed.\n"),
    CLI_END};

static const cli_spec build_spec = {"cari build", build_help, .col = 22, .short_col = true};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files of `dir`, sorted; hidden files skipped. */
static int list_dir(const char *dir, char ***out, size_t *n)
{
    DIR *d = opendir(dir);
    if (!d) {
        cli_error("cari build", "cannot open directory %s: %s", dir, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    *n = 0;
    *out = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t pl = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(pl);
        if (!p)
            break;
        snprintf(p, pl, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(p);
            continue;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nv = realloc(*out, cap * sizeof *nv);
            if (!nv) {
                free(p);
                break;
            }
            *out = nv;
        }
        (*out)[(*n)++] = p;
    }
    closedir(d);
    if (*n)
        qsort(*out, *n, sizeof **out, cmp_str);
    return 0;
}

/* True if another PEM block follows (text after the last block is ignored). */
static bool more_pem(const unsigned char *p, size_t n)
{
    static const char m[] = "-----BEGIN ";
    for (size_t i = 0; i + sizeof m - 1 <= n; i++)
        if (p[i] == '-' && memcmp(p + i, m, sizeof m - 1) == 0)
            return true;
    return false;
}

/* CN of a one-line RFC 2253 subject (first CN=), malloc'd, or NULL. */
static char *cn_of(const char *subject)
{
    if (!subject)
        return NULL;
    const char *p = subject;
    while ((p = strstr(p, "CN=")) != NULL) {
        if (p == subject || p[-1] == ',')
            break;
        p += 3;
    }
    if (!p)
        return NULL;
    p += 3;
    size_t l = 0;
    while (p[l] && !(p[l] == ',' && (l == 0 || p[l - 1] != '\\')))
        l++;
    return l ? strndup(p, l) : NULL;
}

/* Add every CSR of `file` (a file may hold several PEM CSRs: each becomes an
 * entry, none is dropped) to the request; count and describe each. */
static void add_file(bacsc_cari_writer *w, const char *file, json_t *jentries, size_t *good,
                     size_t *bad)
{
    unsigned char *data = NULL;
    size_t len = 0;
    if (cli_read_file("cari build", file, CARI_MAX_INPUT, &data, &len) != 0) {
        (*bad)++;
        json_array_append_new(jentries, json_pack("{s:s,s:s}", "input", file, "error",
                                                  "cannot read"));
        return;
    }
    /* A file may hold several PEM CSRs: each becomes an entry, none is dropped. */
    size_t off = 0;
    for (int k = 1; off < len; k++) {
        size_t used = 0;
        bacsc_cari_entry pe;
        memset(&pe, 0, sizeof pe);
        bacsc_cari_parse_object(data + off, len - off, &pe, &used);
        if (used == 0 || used > len - off)
            used = len - off;
        /* device name from the subject CN; the UUID comes from the SAN (library) */
        char *cn = cn_of(pe.subject);
        bacsc_cari_device dev = {BACSC_CARI_DEVICE_INSTANCE_NONE, cn, NULL};
        char err[300] = "", label[1100];
        if (k == 1)
            snprintf(label, sizeof label, "%s", file);
        else
            snprintf(label, sizeof label, "%s#%d", file, k);
        int idx = bacsc_cari_writer_add_csr(w, data + off, used, file, &dev, NULL, err,
                                            sizeof err);
        if (idx < 0) {
            (*bad)++;
            cli_error("cari build", "%s: %s", label, err);
            json_array_append_new(jentries,
                                  json_pack("{s:s,s:s}", "input", label, "error", err));
        } else {
            (*good)++;
            json_array_append_new(jentries,
                                  json_pack("{s:s,s:s}", "input", label, "entry",
                                            bacsc_cari_writer_entry_name(w, (size_t)idx)));
        }
        free(cn);
        bacsc_cari_entry_clear(&pe);
        off += used;
        if (!more_pem(data + off, len - off))
            break;
    }
    free(data);
}

/* Write the request (and sign it when asked); the file's SHA-256 into sha.
 * Prints what went wrong. */
static int write_request(bacsc_cari_writer *w, const build_opts *o,
                         unsigned char sha[BACSC_CARI_FP_LEN])
{
    int rc = bacsc_cari_writer_write_file(w, o->out, sha);
    if (rc != BACSC_OK) {
        cli_error("cari build", "cannot write %s: %s (%s)", o->out, bacsc_strerror(rc),
                  strerror(errno));
        return rc;
    }
    if (!o->sign_cert)
        return BACSC_OK;
    char serr[300] = "";
    rc = bacsc_cari_sign_file(o->out, o->sign_cert, o->sign_key, serr, sizeof serr);
    unsigned char *data = NULL;
    size_t len = 0;
    unsigned int hl = 0;
    if (rc == BACSC_OK && (cli_read_file("cari build", o->out, 1u << 30, &data, &len) != 0 ||
                           !EVP_Digest(data, len, sha, &hl, EVP_sha256(), NULL)))
        rc = BACSC_ERR_IO;
    free(data);
    if (rc != BACSC_OK) {
        cli_error("cari build", "%s; nothing written", serr[0] ? serr : "cannot sign");
        unlink(o->out); /* never an unsigned request when a signed one was asked for */
    }
    return rc;
}

static int cmd_build(int argc, char **argv)
{
    build_opts o = {0};
    int prc = cli_parse(&build_spec, &o, &argc, argv);
    if (prc >= 0)
        return prc;
    const char *out = o.out, *site = o.site, *batch = o.batch, *dir = o.dir;
    bool keep_going = o.keep_going, json = o.json;
    if (!out || (!dir && argc < 2) || (dir && argc > 1)) {
        cli_error("cari build", "need --out and either CSR files or --dir (see --help)");
        return EXIT_USAGE;
    }
    if (!o.sign_cert != !o.sign_key) {
        cli_error("cari build", "--sign-cert and --sign-key go together");
        return EXIT_USAGE;
    }
    char **files = NULL;
    size_t nfiles = 0;
    bool owned = false;
    if (dir) {
        if (list_dir(dir, &files, &nfiles) != 0)
            return EXIT_FAIL;
        owned = true;
        if (nfiles == 0) {
            cli_error("cari build", "no files in %s", dir);
            free(files);
            return EXIT_DATAERR;
        }
    } else {
        files = argv + 1;
        nfiles = (size_t)(argc - 1);
    }
    bacsc_cari_writer *w = NULL;
    int rc = bacsc_cari_writer_new(BACSC_CARI_REQUEST, site, batch, &w);
    if (rc != BACSC_OK) {
        cli_error("cari build", "cannot start a request: %s", bacsc_strerror(rc));
        if (owned) {
            for (size_t i = 0; i < nfiles; i++)
                free(files[i]);
            free(files);
        }
        return rc == BACSC_ERR_INVALID_ARG ? EXIT_USAGE : EXIT_FAIL;
    }
    json_t *jentries = json_array();
    size_t bad = 0, good = 0;
    for (size_t i = 0; i < nfiles; i++)
        add_file(w, files[i], jentries, &good, &bad);
    int exit_code = EXIT_OK;
    bool write = good > 0 && (bad == 0 || keep_going);
    if (write) {
        unsigned char sha[BACSC_CARI_FP_LEN];
        rc = write_request(w, &o, sha);
        if (rc != BACSC_OK) {
            exit_code = EXIT_FAIL;
            write = false;
        } else {
            exit_code = bad ? EXIT_PARTIAL : EXIT_OK;
            if (json) {
                char hex[65];
                json_t *r = json_pack("{s:s,s:s,s:s?,s:s,s:I,s:I,s:o}", "file", out, "batch_id",
                                      bacsc_cari_writer_batch_id(w), "site", site, "sha256",
                                      bacsc_cari_fp_hex(sha, hex), "csrs", (json_int_t)good,
                                      "refused", (json_int_t)bad, "entries", jentries);
                jentries = NULL;
                cli_print_json(r);
            } else {
                printf("%s: %zu CSR(s), batch %s%s\n", out, good, bacsc_cari_writer_batch_id(w),
                       bad ? " (some inputs refused)" : "");
            }
        }
    } else {
        if (good == 0 && bad == 0)
            cli_error("cari build", "no CSRs given");
        else
            cli_error("cari build", "%zu input(s) refused; nothing written (use --keep-going to "
                                    "write the valid ones)", bad);
        exit_code = EXIT_DATAERR;
    }
    json_decref(jentries);
    bacsc_cari_writer_free(w);
    if (owned) {
        for (size_t i = 0; i < nfiles; i++)
            free(files[i]);
        free(files);
    }
    return exit_code;
}

/* ---- inspect --------------------------------------------------------------- */

typedef struct inspect_opts {
    bool json;
    const char *ca[MAX_CAS];
    size_t n_cas;
    const char *request;
} inspect_opts;

static const cli_opt inspect_rows[] = {
    CLI_FLAG("json", 'j', inspect_opts, json, "print JSON instead of text"),
    CLI_STRSZ("ca", 'c', "FILE", inspect_opts, ca, n_cas,
              "expected issuer (repeatable): certificates signed by\n"
              "another CA are flagged \"signed by a different CA\""),
    CLI_STR("request", 'r', "FILE", inspect_opts, request,
            "match response certificates to this request\n"
            "(by request id, else by public key)"),
    CARI_TAIL_ROWS};

static const cli_part inspect_help[] = {
    CLI_TEXT("usage: bacsc cari inspect FILE [--json] [--ca CA.pem]... [--request REQ.zip]\n"
             "                          [--log-level L]\n"
             "\n"
             "List and validate every entry of a CARI request or response (or a plain zip\n"
             "of PEM/DER CSRs or certificates): type, subject, Device UUID SAN, key type,\n"
             "public key SHA-256, validity, and status or the reason it was refused.\n"
             "\n"),
    CLI_GROUP(NULL, inspect_rows, 0),
    CLI_TEXT("\n"
             "Exit status: 0 every entry valid, 3 the file or any entry is invalid,\n"
             "2 usage, 1 other failure.\n"),
    CLI_END};

static const cli_spec inspect_spec = {"cari inspect", inspect_help, .col = 22, .short_col = true};

static void iso_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, 32, "?");
}

static json_t *device_json(const bacsc_cari_device *dev)
{
    json_t *d = json_object();
    if (dev->instance != BACSC_CARI_DEVICE_INSTANCE_NONE)
        json_object_set_new(d, "instance", json_integer(dev->instance));
    if (dev->name)
        json_object_set_new(d, "name", json_string(dev->name));
    if (dev->uuid)
        json_object_set_new(d, "uuid", json_string(dev->uuid));
    return d;
}

static json_t *entry_json(const bacsc_cari_entry *e, time_t now)
{
    json_t *j = json_object();
    char hex[65], t1[32], t2[32];
    json_object_set_new(j, "name", json_string(e->name));
    json_object_set_new(j, "type", json_string(bacsc_cari_type_name(e->type)));
    json_object_set_new(j, "status", json_string(e->error ? "invalid" : "ok"));
    if (e->error)
        json_object_set_new(j, "error", json_string(e->error));
    if (e->subject)
        json_object_set_new(j, "subject", json_string(e->subject));
    if (e->san_uuid)
        json_object_set_new(j, "uuid", json_string(e->san_uuid));
    if (e->key_type)
        json_object_set_new(j, "key_type", json_string(e->key_type));
    if (e->has_fingerprint)
        json_object_set_new(j, "public_key_sha256",
                            json_string(bacsc_cari_fp_hex(e->fingerprint, hex)));
    if (e->type == BACSC_CARI_ENTRY_CERTIFICATE || e->type == BACSC_CARI_ENTRY_ISSUER) {
        if (e->issuer)
            json_object_set_new(j, "issuer", json_string(e->issuer));
        if (e->serial)
            json_object_set_new(j, "serial", json_string(e->serial));
        iso_time(e->not_before, t1);
        iso_time(e->not_after, t2);
        json_object_set_new(j, "not_before", json_string(t1));
        json_object_set_new(j, "not_after", json_string(t2));
        json_object_set_new(j, "expired", json_boolean(e->not_after < (int64_t)now));
        json_object_set_new(j, "is_ca", json_boolean(e->is_ca));
    }
    if (e->request_id)
        json_object_set_new(j, "request_id", json_string(e->request_id));
    if (e->in_manifest || e->device.uuid || e->device.name)
        json_object_set_new(j, "device", device_json(&e->device));
    json_object_set_new(j, "in_manifest", json_boolean(e->in_manifest));
    if (e->match != BACSC_CARI_MATCH_NONE)
        json_object_set_new(j, "match", json_string(bacsc_cari_match_name(e->match)));
    return j;
}

static void print_entry_text(const bacsc_cari_entry *e, time_t now)
{
    char hex[65], t1[32], t2[32];
    printf("%s\n  type:    %s\n  status:  %s%s\n", e->name, bacsc_cari_type_name(e->type),
           e->error ? "INVALID: " : "ok", e->error ? e->error : "");
    if (e->subject)
        printf("  subject: %s\n", e->subject);
    if (e->san_uuid)
        printf("  uuid:    %s\n", e->san_uuid);
    if (e->device.name)
        printf("  device:  %s\n", e->device.name);
    if (e->device.instance != BACSC_CARI_DEVICE_INSTANCE_NONE)
        printf("  instance: %lld\n", (long long)e->device.instance);
    if (e->key_type)
        printf("  key:     %s\n", e->key_type);
    if (e->has_fingerprint)
        printf("  key sha256: %s\n", bacsc_cari_fp_hex(e->fingerprint, hex));
    if (e->type == BACSC_CARI_ENTRY_CERTIFICATE || e->type == BACSC_CARI_ENTRY_ISSUER) {
        iso_time(e->not_before, t1);
        iso_time(e->not_after, t2);
        printf("  issuer:  %s\n  serial:  %s\n  valid:   %s .. %s%s\n", e->issuer ? e->issuer : "?",
               e->serial ? e->serial : "?", t1, t2, e->not_after < (int64_t)now ? " (EXPIRED)" : "");
    }
    if (e->request_id)
        printf("  request: %s\n", e->request_id);
    if (e->match != BACSC_CARI_MATCH_NONE)
        printf("  matched: by %s\n", bacsc_cari_match_name(e->match));
}

/* signature.p7s as `cari inspect` shows it (docs/cari.md "Signed requests"). */
static json_t *sig_json(const bacsc_cari *c)
{
    if (c->sig_state == BACSC_CARI_UNSIGNED)
        return json_null();
    char hex[65];
    if (c->sig_state != BACSC_CARI_SIG_VALID)
        return json_pack("{s:s,s:s?}", "state", "invalid", "error", c->sig_error);
    return json_pack("{s:s,s:s?,s:s}", "state", "valid", "signer", c->signer_subject,
                     "signer_sha256", bacsc_cari_fp_hex(c->signer_sha256, hex));
}

static void print_sig_text(const bacsc_cari *c)
{
    char hex[65];
    if (c->sig_state == BACSC_CARI_SIG_VALID)
        printf("signed:   by %s (certificate SHA-256 %s)\n",
               c->signer_subject ? c->signer_subject : "?",
               bacsc_cari_fp_hex(c->signer_sha256, hex));
    else if (c->sig_state == BACSC_CARI_SIG_INVALID)
        printf("signed:   INVALID: %s\n", c->sig_error ? c->sig_error : "?");
}

/* A response's requests that got no certificate, with the CA's reason. */
static json_t *not_issued_json(const bacsc_cari *cari)
{
    json_t *arr = json_array();
    char hex[65];
    for (size_t i = 0; i < cari->n_not_issued; i++) {
        const bacsc_cari_not_issued *r = &cari->not_issued[i];
        json_t *j = json_object();
        json_object_set_new(j, "device", device_json(&r->device));
        if (r->request_id)
            json_object_set_new(j, "request_id", json_string(r->request_id));
        if (r->has_fingerprint)
            json_object_set_new(j, "public_key_sha256",
                                json_string(bacsc_cari_fp_hex(r->fingerprint, hex)));
        json_object_set_new(j, "status", json_string(r->status));
        if (r->reason)
            json_object_set_new(j, "reason", json_string(r->reason));
        json_array_append_new(arr, j);
    }
    return arr;
}

static void print_not_issued_text(const bacsc_cari *cari)
{
    if (cari->n_not_issued == 0)
        return;
    printf("\nnot issued: %zu\n", cari->n_not_issued);
    for (size_t i = 0; i < cari->n_not_issued; i++) {
        const bacsc_cari_not_issued *r = &cari->not_issued[i];
        printf("  ");
        if (r->device.instance != BACSC_CARI_DEVICE_INSTANCE_NONE)
            printf("device %lld ", (long long)r->device.instance);
        if (r->device.name)
            printf("%s ", r->device.name);
        if (r->device.uuid)
            printf("(%s) ", r->device.uuid);
        if (r->device.instance == BACSC_CARI_DEVICE_INSTANCE_NONE && !r->device.name &&
            !r->device.uuid)
            printf("request %s ", r->request_id ? r->request_id : "?");
        if (strcmp(r->status, "rejected") == 0)
            printf("rejected by the CA: %s\n", r->reason ? r->reason : "no reason given");
        else
            printf("%s at the CA (not yet issued)\n", r->status);
    }
}

static int cmd_inspect(int argc, char **argv)
{
    inspect_opts o = {0};
    int prc = cli_parse(&inspect_spec, &o, &argc, argv);
    if (prc >= 0)
        return prc;
    bool json = o.json;
    const char *const *ca_paths = o.ca;
    size_t n_cas = o.n_cas;
    const char *request = o.request;
    if (argc != 2 || cli_empty_operand("cari inspect", "FILE", argv[1])) {
        if (argc != 2 && !cli_extra_args("cari inspect", argc, argv, 1))
            cli_error("cari inspect", "need exactly one FILE (see --help)");
        return EXIT_USAGE;
    }
    const char *path = argv[1];
    bacsc_cari *cari = NULL;
    int rc = bacsc_cari_read_file(path, NULL, &cari);
    if (!cari) {
        cli_error("cari inspect", "%s: %s", path, bacsc_strerror(rc));
        return EXIT_FAIL;
    }
    int exit_code = EXIT_OK;
    if (rc == BACSC_ERR_IO) {
        cli_error("cari inspect", "%s", cari->error);
        bacsc_cari_free(cari);
        return EXIT_FAIL;
    }
    /* optional checks */
    unsigned char *ca_data[MAX_CAS] = {NULL};
    size_t ca_len[MAX_CAS] = {0};
    for (size_t i = 0; i < n_cas && exit_code == EXIT_OK; i++)
        if (cli_read_file("cari inspect", ca_paths[i], CARI_MAX_INPUT, &ca_data[i], &ca_len[i]) != 0)
            exit_code = EXIT_FAIL;
    if (exit_code == EXIT_OK && n_cas &&
        bacsc_cari_verify_issuer(cari, (const unsigned char *const *)ca_data, ca_len, n_cas) ==
            BACSC_ERR_MALFORMED) {
        cli_error("cari inspect", "a --ca file is not a PEM or DER certificate");
        exit_code = EXIT_USAGE;
    }
    if (exit_code == EXIT_OK && request) {
        bacsc_cari *req = NULL;
        int rrc = bacsc_cari_read_file(request, NULL, &req);
        if (rrc != BACSC_OK) {
            cli_error("cari inspect", "%s: %s", request,
                      req && req->error ? req->error : bacsc_strerror(rrc));
            exit_code = EXIT_DATAERR;
        } else {
            bacsc_cari_match_request(cari, req);
        }
        bacsc_cari_free(req);
    }
    for (size_t i = 0; i < n_cas; i++)
        free(ca_data[i]);
    if (exit_code != EXIT_OK) {
        bacsc_cari_free(cari);
        return exit_code;
    }

    time_t now = time(NULL);
    size_t invalid = bacsc_cari_invalid_count(cari);
    if (json) {
        json_t *j = json_object();
        json_object_set_new(j, "file", json_string(path));
        char fhex[65];
        json_object_set_new(j, "sha256", json_string(bacsc_cari_fp_hex(cari->file_sha256, fhex)));
        json_object_set_new(j, "kind", json_string(bacsc_cari_kind_name(cari->kind)));
        json_object_set_new(j, "has_manifest", json_boolean(cari->has_manifest));
        json_object_set_new(j, "signature", sig_json(cari));
        if (cari->has_manifest) {
            json_object_set_new(j, "format", json_string(BACSC_CARI_FORMAT));
            json_object_set_new(j, "version", json_integer(cari->version));
        }
        if (cari->site)
            json_object_set_new(j, "site", json_string(cari->site));
        if (cari->batch_id)
            json_object_set_new(j, "batch_id", json_string(cari->batch_id));
        if (cari->request_batch_id)
            json_object_set_new(j, "request_batch_id", json_string(cari->request_batch_id));
        if (cari->created)
            json_object_set_new(j, "created", json_string(cari->created));
        if (cari->generator)
            json_object_set_new(j, "generator", json_string(cari->generator));
        if (cari->error)
            json_object_set_new(j, "error", json_string(cari->error));
        json_t *arr = json_array();
        for (size_t i = 0; i < cari->n_entries; i++)
            json_array_append_new(arr, entry_json(&cari->entries[i], now));
        json_object_set_new(j, "entries", arr);
        if (cari->kind == BACSC_CARI_RESPONSE)
            json_object_set_new(j, "not_issued", not_issued_json(cari));
        json_object_set_new(j, "valid", json_integer((json_int_t)(cari->n_entries - invalid)));
        json_object_set_new(j, "invalid", json_integer((json_int_t)invalid));
        cli_print_json(j);
    } else {
        printf("file:     %s\nkind:     %s%s\n", path, bacsc_cari_kind_name(cari->kind),
               cari->has_manifest ? " (bacsc-cari manifest)" : " (no manifest)");
        if (cari->site)
            printf("site:     %s\n", cari->site);
        if (cari->batch_id)
            printf("batch:    %s\n", cari->batch_id);
        if (cari->request_batch_id)
            printf("answers:  %s\n", cari->request_batch_id);
        if (cari->created)
            printf("created:  %s by %s\n", cari->created, cari->generator ? cari->generator : "?");
        print_sig_text(cari);
        printf("entries:  %zu (%zu invalid)\n\n", cari->n_entries, invalid);
        for (size_t i = 0; i < cari->n_entries; i++)
            print_entry_text(&cari->entries[i], now);
        print_not_issued_text(cari);
    }
    if (cari->error)
        cli_error("cari inspect", "%s: %s", path, cari->error);
    for (size_t i = 0; i < cari->n_entries; i++)
        if (cari->entries[i].error)
            cli_error("cari inspect", "%s: %s", cari->entries[i].name, cari->entries[i].error);
    if (rc != BACSC_OK || cari->error || invalid)
        exit_code = EXIT_DATAERR;
    bacsc_cari_free(cari);
    return exit_code;
}

static const cli_subcommand subs[] = {
    {"build", cmd_build, "build a CARI request zip from CSR files"},
    {"inspect", cmd_inspect, "list and validate every entry of a request or response"},
    {NULL, NULL, NULL}};

int bacsc_cmd_cari(int argc, char **argv)
{
    return cli_dispatch("cari", subs, argc, argv);
}
