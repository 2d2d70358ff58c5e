/*
 * cmd_ca.c — `bacsc ca`: the site certificate authority (docs/ca.md).
 *
 * Every subcommand works on a CA directory (--dir DIR, else $BACSC_CA_DIR,
 * else ./ca) through the library API of bacsc/pki.h; this file only parses
 * options, reads and writes files and prints results.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "bacsc/ca_files.h"
#include "cli.h"
#include "cli_opt.h"

extern const char bacsc_cmd_ca_summary[];
int bacsc_cmd_ca(int argc, char **argv);

const char bacsc_cmd_ca_summary[] = "site certificate authority: init, policy, approve, sign, CRL";

/* ---- common options -------------------------------------------------------- */

typedef struct common {
    const char *prog; /* "ca init" … */
    const char *dir;
    const char *actor;
    const char *pass_file;
    bool json;
} common;

static const cli_opt common_rows[] = {
    CLI_STR("dir", 0, "DIR", common, dir, "CA directory (default $BACSC_CA_DIR, else ./ca)"),
    CLI_STR("actor", 0, "NAME", common, actor,
            "name shown in the audit log (default: the user)"),
    CLI_STR("passphrase-file", 0, "F", common, pass_file,
            "passphrase of an encrypted CA key (first line of F;\n"
            "default $BACSC_CA_PASSPHRASE_FILE)"),
    CLI_FLAG("json", 0, common, json, "machine-readable output"),
    CLI_LOGLEVEL("log-level", 0, "L", "error|warn|info|debug|trace"),
    CLI_HELP("help", 0, "this text"),
    CLI_END};

/* The help of a subcommand whose options struct T embeds `common c`: the
 * usage text, its own option rows (help column `col`), the common options. */
#define CA_SPEC(name, prog_, usage, rows, col_, T)                                                  \
    static const cli_part name##_help[] = {CLI_TEXT(usage), CLI_GROUP_COL(NULL, rows, 0, col_),    \
                                           CLI_GROUP("common options:", common_rows,              \
                                                     offsetof(T, c)),                             \
                                           CLI_END};                                              \
    static const cli_spec name##_spec = {prog_, name##_help, .col = 25}

/* Only the common options. */
typedef struct common_only {
    common c;
} common_only;
#define CA_SPEC_COMMON(name, prog_, usage)                                                          \
    static const cli_part name##_help[] = {CLI_TEXT(usage),                                        \
                                           CLI_GROUP("common options:", common_rows,              \
                                                     offsetof(common_only, c)),                   \
                                           CLI_END};                                              \
    static const cli_spec name##_spec = {prog_, name##_help, .col = 25}

/* Parse a subcommand's command line into `opts` (whose `common` is `c`),
 * with the common options' defaults from the environment. Returns -1 to go
 * on (operands in argv[1..*argc-1]) or the exit code. */
static int ca_parse(const cli_spec *spec, void *opts, common *c, int *argc, char **argv)
{
    c->prog = spec->prog;
    c->dir = getenv("BACSC_CA_DIR");
    if (!c->dir || !*c->dir)
        c->dir = "ca";
    c->pass_file = getenv("BACSC_CA_PASSPHRASE_FILE");
    if (c->pass_file && !*c->pass_file)
        c->pass_file = NULL;
    return cli_parse(spec, opts, argc, argv);
}

/* Read the passphrase (first line of the file). Returns malloc'd or NULL. */
static int read_passphrase(const common *c, char **out)
{
    *out = NULL;
    if (!c->pass_file)
        return 0;
    unsigned char *data;
    size_t len;
    if (cli_read_file(c->prog, c->pass_file, 4096, &data, &len) != 0)
        return -1;
    size_t n = 0;
    while (n < len && data[n] != '\n' && data[n] != '\r')
        n++;
    if (n == 0) {
        cli_error(c->prog, "passphrase file %s is empty", c->pass_file);
        free(data);
        return -1;
    }
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, data, n);
        p[n] = 0;
    }
    OPENSSL_cleanse(data, len);
    free(data);
    *out = p;
    return p ? 0 : -1;
}

static bacsc_ca *open_ca(const common *c)
{
    char *pass = NULL;
    if (read_passphrase(c, &pass) != 0)
        return NULL;
    bacsc_ca *ca = NULL;
    char err[600];
    int rc = bacsc_ca_open(c->dir, pass, &ca, err, sizeof err);
    if (pass) {
        OPENSSL_cleanse(pass, strlen(pass));
        free(pass);
    }
    if (rc != BACSC_OK) {
        cli_error(c->prog, "%s", err);
        return NULL;
    }
    if (c->actor)
        bacsc_ca_set_actor(ca, c->actor);
    const char *threads = getenv("BACSC_CA_THREADS");
    if (threads && *threads)
        bacsc_ca_set_threads(ca, atoi(threads));
    return ca;
}

static int ca_error(const common *c, bacsc_ca *ca, int rc)
{
    const char *m = bacsc_ca_errmsg(ca);
    cli_error(c->prog, "%s", m && *m ? m : bacsc_strerror(rc));
    switch (rc) {
    case BACSC_ERR_MALFORMED:
    case BACSC_ERR_POLICY:
    case BACSC_ERR_LIMIT:
    case BACSC_ERR_NOT_FOUND: return EXIT_DATAERR;
    default: return EXIT_FAIL;
    }
}

static void fmt_time(int64_t t, char *out, size_t outlen)
{
    if (t <= 0) {
        snprintf(out, outlen, "-");
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *json_time(int64_t t)
{
    char b[32];
    fmt_time(t, b, sizeof b);
    return t > 0 ? json_string(b) : json_null();
}

static json_t *json_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

static int parse_id(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v <= 0)
        return -1;
    *out = v;
    return 0;
}

/* ---- init ------------------------------------------------------------------ */

typedef struct init_opts {
    common c;
    const char *name, *org, *key;
    int years;
    bool issuing;
} init_opts;

static const cli_opt init_rows[] = {
    CLI_STR("name", 0, "NAME", init_opts, name, "CA subject common name (required)"),
    CLI_STR("org", 0, "ORG", init_opts, org, "CA subject organization"),
    CLI_STR("key", 0, "TYPE", init_opts, key, "ec-p256 (default), ec-p384 or rsa-3072"),
    CLI_INT("validity-years", 0, "Y", init_opts, years, 1, 50,
            "self-signed certificate validity (default 10)"),
    CLI_FLAG("issuing", 0, init_opts, issuing, "make an issuing CA: write ca.csr instead of ca.pem"),
    CLI_END};

CA_SPEC(init, "ca init",
        "usage: bacsc ca init [--dir DIR] --name NAME [--org ORG] [--key ec-p256|ec-p384|rsa-3072]\n"
        "                     [--validity-years Y] [--passphrase-file F] [--issuing]\n\n"
        "Create a site CA in DIR: ca.key (0600; AES-256 encrypted with\n"
        "--passphrase-file), ca.pem (self-signed, CA:TRUE pathlen:0), policy.json\n"
        "and ca.db. With --issuing no certificate is made: ca.csr is written for an\n"
        "enterprise root to sign; install the result with 'bacsc ca install-cert'.\n\n",
        init_rows, 0, init_opts);

static int cmd_init(int argc, char **argv)
{
    init_opts op = {.years = 10};
    common c = {0};
    int optrc = ca_parse(&init_spec, &op, &op.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    c = op.c;
    bacsc_ca_init_params p = {.key_type = BACSC_KEY_EC_P256, .validity_years = op.years,
                              .name = op.name, .org = op.org, .issuing = op.issuing};
    if (op.key) {
        p.key_type = bacsc_pki_key_type_parse(op.key);
        if (p.key_type != BACSC_KEY_EC_P256 && p.key_type != BACSC_KEY_EC_P384 &&
            p.key_type != BACSC_KEY_RSA_3072) {
            cli_error(c.prog, "--key must be ec-p256, ec-p384 or rsa-3072, not '%s'", op.key);
            return EXIT_USAGE;
        }
    }
    if (!p.name || argc != 1) {
        cli_error(c.prog, "%s", !p.name ? "--name NAME is required" : "unexpected argument");
        return EXIT_USAGE;
    }
    char *pass = NULL;
    if (read_passphrase(&c, &pass) != 0)
        return EXIT_FAIL;
    p.dir = c.dir;
    p.passphrase = pass;
    p.actor = c.actor;
    char err[600];
    int rc = bacsc_ca_init(&p, err, sizeof err);
    if (pass) {
        OPENSSL_cleanse(pass, strlen(pass));
        free(pass);
    }
    if (rc != BACSC_OK) {
        cli_error(c.prog, "%s", err);
        return EXIT_FAIL;
    }
    if (c.json) {
        json_t *o = json_object();
        json_object_set_new(o, "dir", json_string(c.dir));
        json_object_set_new(o, "issuing", json_boolean(p.issuing));
        json_object_set_new(o, p.issuing ? "csr" : "certificate",
                            json_string(p.issuing ? "ca.csr" : "ca.pem"));
        cli_print_json(o);
    } else if (p.issuing) {
        printf("issuing CA created in %s; send %s/ca.csr to the enterprise CA, then run\n"
               "  bacsc ca install-cert --dir %s SIGNED.pem\n",
               c.dir, c.dir, c.dir);
    } else {
        printf("CA '%s' created in %s (certificate %s/ca.pem)\n", p.name, c.dir, c.dir);
    }
    return EXIT_OK;
}

/* ---- csr / install-cert ---------------------------------------------------- */

typedef struct csr_opts {
    common c;
    const char *out;
} csr_opts;

static const cli_opt csr_rows[] = {
    CLI_STR("out", 0, "FILE", csr_opts, out, "write the CSR (PEM) to FILE instead of stdout"),
    CLI_END};

CA_SPEC(csr, "ca csr",
        "usage: bacsc ca csr [--dir DIR] [--out FILE]\n\n"
        "Write a CSR for this CA's key (CA:TRUE requested) for an enterprise root to\n"
        "sign; also kept as DIR/ca.csr. PEM to FILE, or to stdout without --out.\n\n",
        csr_rows, 0, csr_opts);

static int cmd_csr(int argc, char **argv)
{
    csr_opts o = {0};
    int optrc = ca_parse(&csr_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    common c = o.c;
    const char *out = o.out;
    bacsc_ca *ca = open_ca(&c);
    if (!ca)
        return EXIT_FAIL;
    uint8_t *der = NULL;
    size_t len = 0;
    int rc = bacsc_ca_make_csr(ca, &der, &len);
    int ex = EXIT_OK;
    if (rc != BACSC_OK) {
        ex = ca_error(&c, ca, rc);
    } else if (out) {
        if (bacsc_pki_csr_write(out, der, len) != BACSC_OK) {
            cli_error(c.prog, "cannot write %s: %s", out, strerror(errno));
            ex = EXIT_FAIL;
        }
    } else {
        const unsigned char *p = der;
        X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)len);
        if (!r || !PEM_write_X509_REQ(stdout, r))
            ex = EXIT_FAIL;
        X509_REQ_free(r);
    }
    free(der);
    bacsc_ca_close(ca);
    return ex;
}

CA_SPEC_COMMON(install, "ca install-cert",
               "usage: bacsc ca install-cert [--dir DIR] FILE\n\n"
               "Install the CA certificate signed by an enterprise CA. FILE is PEM (the\n"
               "certificate first, then optionally its issuer chain) or DER. It must match\n"
               "ca.key, have basicConstraints CA:TRUE and keyCertSign, and be valid now.\n"
               "BACnet/SC devices accept only certificates signed DIRECTLY by an installed\n"
               "issuer certificate: give the devices this CA's ca.pem, not the root.\n");

static int cmd_install_cert(int argc, char **argv)
{
    common_only o = {0};
    int optrc = ca_parse(&install_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    common c = o.c;
    if (argc != 2) {
        cli_error(c.prog, "exactly one certificate FILE expected");
        return EXIT_USAGE;
    }
    unsigned char *data;
    size_t len;
    if (cli_read_file(c.prog, argv[1], 1 << 20, &data, &len) != 0)
        return EXIT_DATAERR;
    bacsc_ca *ca = open_ca(&c);
    if (!ca) {
        free(data);
        return EXIT_FAIL;
    }
    int rc = bacsc_ca_install_cert(ca, data, len);
    free(data);
    int ex = EXIT_OK;
    if (rc != BACSC_OK)
        ex = ca_error(&c, ca, rc);
    else
        printf("CA certificate installed in %s/ca.pem%s\n", c.dir,
               sk_X509_num(bacsc_ca_chain(ca)) ? " (issuer chain in chain.pem)" : "");
    bacsc_ca_close(ca);
    return ex;
}

/* ---- policy ---------------------------------------------------------------- */

static const char policy_usage[] =
    "usage: bacsc ca policy show [--dir DIR] [--json]\n"
    "       bacsc ca policy set [--dir DIR] KEY VALUE\n\n"
    "Show or change the issuing policy (DIR/policy.json). Keys: key_types,\n"
    "validity_days, device_uuid, renewal, require_cn, subject, carry_uuid,\n"
    "carry_dns, carry_ip, carry_uri, san_domains, auto_approve,\n"
    "auto_approve_submitters, auto_approve_sites, auto_approve_origins,\n"
    "max_batch, crl_days (see docs/ca.md). Lists are comma-separated. 'set'\n"
    "needs the CA key (--passphrase-file): the policy is MACed with it.\n";

CA_SPEC_COMMON(policy, "ca policy", policy_usage);

static int cmd_policy(int argc, char **argv)
{
    common_only op = {0};
    int optrc = ca_parse(&policy_spec, &op, &op.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    common c = op.c;
    const char *verb = argc > 1 ? argv[1] : "show";
    bool show = strcmp(verb, "show") == 0;
    bool set = strcmp(verb, "set") == 0;
    if ((!show && !set) || (show && argc > 2) || (set && argc != 4)) {
        fputs(policy_usage, stderr);
        return EXIT_USAGE;
    }
    bacsc_ca *ca = open_ca(&c);
    if (!ca)
        return EXIT_FAIL;
    int ex = EXIT_OK;
    if (set) {
        int rc = bacsc_ca_policy_set(ca, argv[2], argv[3]);
        if (rc != BACSC_OK)
            ex = rc == BACSC_ERR_INVALID_ARG ? (cli_error(c.prog, "%s", bacsc_ca_errmsg(ca)),
                                                EXIT_USAGE)
                                             : ca_error(&c, ca, rc);
    }
    if (ex == EXIT_OK && (show || c.json)) {
        json_t *o = bacsc_policy_to_json(bacsc_ca_policy(ca));
        if (c.json) {
            cli_print_json(o);
        } else {
            const char *k;
            json_t *v;
            json_object_foreach(o, k, v)
            {
                char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
                printf("%-22s %s\n", k, t ? t : "?");
                free(t);
            }
            json_decref(o);
        }
    }
    bacsc_ca_close(ca);
    return ex;
}

/* ---- pending / list / audit -------------------------------------------------- */

typedef struct print_ctx {
    bool json;
    json_t *arr;
} print_ctx;

static int print_request(const bacsc_request_row *r, void *user)
{
    print_ctx *p = user;
    char created[32];
    fmt_time(r->created, created, sizeof created);
    if (p->json) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(r->id));
        json_object_set_new(o, "batch", json_integer(r->batch_id));
        json_object_set_new(o, "status", json_string(bacsc_req_status_name(r->status)));
        json_object_set_new(o, "entry", json_str(r->entry));
        json_object_set_new(o, "ref", json_str(r->ref));
        json_object_set_new(o, "device_uuid", json_str(r->device_uuid));
        json_object_set_new(o, "device_instance",
                            r->device_instance >= 0 ? json_integer(r->device_instance)
                                                    : json_null());
        json_object_set_new(o, "device_name", json_str(r->device_name));
        json_object_set_new(o, "subject", json_str(r->subject));
        json_object_set_new(o, "key_sha256", json_str(r->key_fp));
        json_object_set_new(o, "created", json_time(r->created));
        json_object_set_new(o, "decided", json_time(r->decided));
        json_object_set_new(o, "decided_by", json_str(r->decided_by));
        json_object_set_new(o, "reason", json_str(r->reason));
        json_object_set_new(o, "serial", json_str(r->serial));
        json_array_append_new(p->arr, o);
    } else {
        printf("%-6lld %-5lld %-8s %-36s %-30s %.16s %s%s%s\n", (long long)r->id,
               (long long)r->batch_id, bacsc_req_status_name(r->status),
               r->device_uuid ? r->device_uuid : "-", r->subject ? r->subject : "-",
               r->key_fp ? r->key_fp : "-", created, r->reason ? "  " : "",
               r->reason ? r->reason : "");
    }
    return 0;
}

typedef struct pending_opts {
    common c;
    int64_t batch;
    bool all;
} pending_opts;

static const cli_opt pending_rows[] = {
    CLI_ID("batch", 0, "B", pending_opts, batch, "only requests of batch B"),
    CLI_FLAG("all-states", 0, pending_opts, all, "every request, whatever its state"),
    CLI_END};

CA_SPEC(pending, "ca pending",
        "usage: bacsc ca pending [--dir DIR] [--batch B] [--all-states] [--json]\n\n"
        "List requests waiting for a decision (with --all-states: every request).\n"
        "Columns: id, batch, status, Device UUID, subject, key SHA-256 (prefix), created.\n\n",
        pending_rows, 0, pending_opts);

static int cmd_pending(int argc, char **argv)
{
    pending_opts o = {0};
    int optrc = ca_parse(&pending_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    common c = o.c;
    int64_t batch = o.batch;
    bool all = o.all;
    if (argc != 1) {
        cli_error(c.prog, "unexpected argument '%s'", argv[1]);
        return EXIT_USAGE;
    }
    bacsc_ca *ca = open_ca(&c);
    if (!ca)
        return EXIT_FAIL;
    print_ctx p = {.json = c.json, .arr = c.json ? json_array() : NULL};
    int rc = bacsc_ca_requests(ca, all ? -1 : BACSC_REQ_PENDING, batch, print_request, &p);
    int ex = rc < 0 ? ca_error(&c, ca, rc) : EXIT_OK;
    if (c.json)
        cli_print_json(p.arr);
    bacsc_ca_close(ca);
    return ex;
}

static int print_cert(const bacsc_cert_row *r, void *user)
{
    print_ctx *p = user;
    char na[32];
    fmt_time(r->not_after, na, sizeof na);
    const char *status = r->revoked                           ? "revoked"
                         : r->not_after <= (int64_t)time(NULL) ? "expired"
                                                               : "valid";
    if (p->json) {
        json_t *o = json_object();
        json_object_set_new(o, "serial", json_str(r->serial));
        json_object_set_new(o, "status", json_string(status));
        json_object_set_new(o, "subject", json_str(r->subject));
        json_object_set_new(o, "device_uuid", json_str(r->device_uuid));
        json_object_set_new(o, "key_sha256", json_str(r->key_fp));
        json_object_set_new(o, "not_before", json_time(r->not_before));
        json_object_set_new(o, "not_after", json_time(r->not_after));
        json_object_set_new(o, "issued", json_time(r->issued));
        json_object_set_new(o, "request", json_integer(r->request_id));
        json_object_set_new(o, "batch", json_integer(r->batch_id));
        if (r->revoked) {
            json_object_set_new(o, "revocation_reason",
                                json_string(bacsc_pki_crl_reason_name(r->revocation_reason)));
            json_object_set_new(o, "revoked_at", json_time(r->revoked_at));
        }
        json_array_append_new(p->arr, o);
    } else {
        printf("%-32s %-7s %s %-36s %s\n", r->serial, status, na,
               r->device_uuid ? r->device_uuid : "-", r->subject ? r->subject : "-");
    }
    return 0;
}

typedef struct list_opts {
    common c;
    int expiring;
    bool valid;
    int64_t batch;
} list_opts;

static const cli_opt list_rows[] = {
    CLI_INT("expiring", 0, "DAYS", list_opts, expiring, 1, 36500,
            "only valid certificates that expire within DAYS days"),
    CLI_FLAG("valid", 0, list_opts, valid, "only valid (not revoked, not expired) certificates"),
    CLI_ID("batch", 0, "B", list_opts, batch, "only certificates for requests of batch B"),
    CLI_END};

CA_SPEC(list, "ca list",
        "usage: bacsc ca list [--dir DIR] [--expiring DAYS] [--valid] [--batch B] [--json]\n\n"
        "List issued certificates: serial, status, notAfter, Device UUID, subject.\n",
        list_rows, 20, list_opts);

static int cmd_list(int argc, char **argv)
{
    list_opts o = {0};
    int optrc = ca_parse(&list_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    common c = o.c;
    bacsc_cert_filter f = {.expiring_within = (int64_t)o.expiring * 86400,
                           .valid_only = o.valid, .batch_id = o.batch};
    if (argc != 1) {
        cli_error(c.prog, "unexpected argument '%s'", argv[1]);
        return EXIT_USAGE;
    }
    bacsc_ca *ca = open_ca(&c);
    if (!ca)
        return EXIT_FAIL;
    print_ctx p = {.json = c.json, .arr = c.json ? json_array() : NULL};
    int rc = bacsc_ca_certs(ca, &f, print_cert, &p);
    int ex = rc < 0 ? ca_error(&c, ca, rc) : EXIT_OK;
    if (c.json)
        cli_print_json(p.arr);
    bacsc_ca_close(ca);
    return ex;
}

static int print_audit(const bacsc_audit_row *r, void *user)
{
    print_ctx *p = user;
    if (p->json) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(r->id));
        json_object_set_new(o, "time", json_time(r->time));
        json_object_set_new(o, "actor", json_str(r->actor));
        json_object_set_new(o, "auth", json_str(r->auth));
        json_object_set_new(o, "action", json_str(r->action));
        json_object_set_new(o, "object", json_str(r->object));
        json_object_set_new(o, "detail", json_str(r->detail));
        json_array_append_new(p->arr, o);
    } else {
        char t[32];
        fmt_time(r->time, t, sizeof t);
        printf("%-6lld %s %-12s %-12s %-40s %s\n", (long long)r->id, t, r->actor, r->action,
               r->object ? r->object : "-", r->detail ? r->detail : "");
    }
    return 0;
}

static int audit_verify(common *c, bacsc_ca *ca)
{
    bacsc_audit_check chk;
    int rc = bacsc_ca_audit_verify(ca, &chk);
    int ex = rc == BACSC_OK ? EXIT_OK : rc == BACSC_ERR_POLICY ? EXIT_FAIL : ca_error(c, ca, rc);
    if (c->json) {
        json_t *o = json_object();
        json_object_set_new(o, "intact", json_boolean(rc == BACSC_OK));
        json_object_set_new(o, "entries", json_integer(chk.entries));
        json_object_set_new(o, "chained", json_integer(chk.chained));
        json_object_set_new(o, "anchored", json_integer(chk.anchored));
        json_object_set_new(o, "anchor_checked", json_boolean(chk.anchor_checked));
        if (chk.first_bad)
            json_object_set_new(o, "first_bad", json_integer(chk.first_bad));
        if (chk.problem[0])
            json_object_set_new(o, "problem", json_string(chk.problem));
        cli_print_json(o);
    } else if (rc == BACSC_OK) {
        printf("audit log intact: %lld entries, %lld chained, anchored at %lld (%s)\n",
               (long long)chk.entries, (long long)chk.chained, (long long)chk.anchored,
               chk.anchor_checked ? "MAC verified" : "MAC not checked: CA key not readable");
    } else if (rc == BACSC_ERR_POLICY) {
        cli_error(c->prog, "audit log tampered: %s", chk.problem);
    }
    bacsc_ca_close(ca);
    return ex;
}

typedef struct audit_opts {
    common c;
    int64_t since;
    bool verify;
} audit_opts;

static const cli_opt audit_rows[] = {
    CLI_ID("since", 0, "ID", audit_opts, since, "only entries after entry ID"),
    CLI_FLAG("verify", 0, audit_opts, verify,
             "check the hash chain, the guard triggers and (with the CA key)\n"
             "the keyed anchor; exit status 1 when tampering is found"),
    CLI_END};

CA_SPEC(audit, "ca audit",
        "usage: bacsc ca audit [--dir DIR] [--since ID] [--json]\n"
        "       bacsc ca audit [--dir DIR] --verify [--passphrase-file F] [--json]\n\n"
        "Print the append-only audit log: id, time (UTC), actor, action, object, detail.\n\n",
        audit_rows, 0, audit_opts);

static int cmd_audit(int argc, char **argv)
{
    audit_opts o = {0};
    int optrc = ca_parse(&audit_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    common c = o.c;
    int64_t since = o.since;
    bool verify = o.verify;
    bacsc_ca *ca = open_ca(&c);
    if (!ca)
        return EXIT_FAIL;
    if (verify)
        return audit_verify(&c, ca);
    print_ctx p = {.json = c.json, .arr = c.json ? json_array() : NULL};
    int rc = bacsc_ca_audit(ca, since, print_audit, &p);
    int ex = rc < 0 ? ca_error(&c, ca, rc) : EXIT_OK;
    if (c.json)
        cli_print_json(p.arr);
    bacsc_ca_close(ca);
    return ex;
}

/* ---- approve / reject -------------------------------------------------------- */

typedef struct decide_ctx {
    const common *c;
    json_t *arr;
    int failed;
    int issued;
} decide_ctx;

static void print_result(const bacsc_request_result *r, void *user)
{
    decide_ctx *d = user;
    if (r->status == BACSC_REQ_ISSUED)
        d->issued++;
    if (r->status < 0)
        d->failed++;
    if (d->arr) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(r->id));
        json_object_set_new(o, "status", r->status < 0
                                             ? json_string("unchanged")
                                             : json_string(bacsc_req_status_name(r->status)));
        if (r->serial[0])
            json_object_set_new(o, "serial", json_string(r->serial));
        if (r->reason[0])
            json_object_set_new(o, "reason", json_string(r->reason));
        json_array_append_new(d->arr, o);
    } else if (r->status == BACSC_REQ_ISSUED) {
        printf("request %lld: issued %s\n", (long long)r->id, r->serial);
    } else if (r->status == BACSC_REQ_REJECTED) {
        printf("request %lld: rejected: %s\n", (long long)r->id, r->reason);
    } else {
        fprintf(stderr, "bacsc %s: %s\n", d->c->prog, r->reason);
    }
}

static int parse_selector(const common *c, int argc, char **argv, bacsc_selector *sel,
                          int64_t **ids)
{
    size_t n = (size_t)(argc - 1);
    if (n > 0) {
        if (sel->batch_id > 0 || sel->all) {
            cli_error(c->prog, "give request ids, or --batch, or --all");
            return -1;
        }
        *ids = calloc(n, sizeof **ids);
        if (!*ids)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (parse_id(argv[1 + (int)i], &(*ids)[i]) != 0) {
                cli_error(c->prog, "bad request id '%s'", argv[1 + (int)i]);
                return -1;
            }
        sel->ids = *ids;
        sel->n_ids = n;
    } else if (sel->batch_id <= 0 && !sel->all) {
        cli_error(c->prog, "nothing selected: give request ids, --batch B or --all");
        return -1;
    }
    return 0;
}

typedef struct decide_opts {
    common c;
    int64_t batch;
    bool all;
    const char *reason;
} decide_opts;

static const cli_opt approve_rows[] = {
    CLI_ID("batch", 0, "B", decide_opts, batch, "every pending request of batch B"),
    CLI_FLAG("all", 0, decide_opts, all, "every pending request"),
    CLI_END};

static const cli_opt reject_rows[] = {
    CLI_ID("batch", 0, "B", decide_opts, batch, "every pending request of batch B"),
    CLI_FLAG("all", 0, decide_opts, all, "every pending request"),
    CLI_STR("reason", 0, "TEXT", decide_opts, reason, "why (required; recorded and reported)"),
    CLI_END};

CA_SPEC(approve, "ca approve",
        "usage: bacsc ca approve [--dir DIR] ID...|--batch B|--all [--json]\n\n"
        "Approve pending requests and issue their certificates at once (also any\n"
        "approved request left unsigned by an interrupted run).\n\n",
        approve_rows, 0, decide_opts);

CA_SPEC(reject, "ca reject",
        "usage: bacsc ca reject [--dir DIR] ID...|--batch B|--all --reason TEXT [--json]\n\n"
        "Reject pending (or approved, not yet issued) requests with a reason.\n\n",
        reject_rows, 0, decide_opts);

static int cmd_decide(int argc, char **argv, bool approve)
{
    decide_opts o = {0};
    int optrc = ca_parse(approve ? &approve_spec : &reject_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    common c = o.c;
    bacsc_selector sel = {.batch_id = o.batch, .all = o.all};
    const char *reason = o.reason;
    if (!approve && (!reason || !*reason)) {
        cli_error(c.prog, "--reason TEXT is required");
        return EXIT_USAGE;
    }
    int64_t *ids = NULL;
    if (parse_selector(&c, argc, argv, &sel, &ids) != 0) {
        free(ids);
        return EXIT_USAGE;
    }
    bacsc_ca *ca = open_ca(&c);
    if (!ca) {
        free(ids);
        return EXIT_FAIL;
    }
    decide_ctx d = {.c = &c, .arr = c.json ? json_array() : NULL};
    int rc = approve ? bacsc_ca_approve(ca, &sel, print_result, &d)
                     : bacsc_ca_reject(ca, &sel, reason, print_result, &d);
    int ex = EXIT_OK;
    if (rc < 0)
        ex = ca_error(&c, ca, rc);
    else if (d.failed)
        ex = EXIT_PARTIAL;
    if (c.json)
        cli_print_json(d.arr);
    else if (rc >= 0)
        printf("%d request(s) %s\n", rc, approve ? "issued" : "rejected");
    free(ids);
    bacsc_ca_close(ca);
    return ex;
}

static int cmd_approve(int argc, char **argv)
{
    return cmd_decide(argc, argv, true);
}

static int cmd_reject(int argc, char **argv)
{
    return cmd_decide(argc, argv, false);
}

/* ---- revoke / crl ------------------------------------------------------------ */

typedef struct revoke_opts {
    common c;
    const char *reason;
} revoke_opts;

static const cli_opt revoke_rows[] = {
    CLI_STR("reason", 0, "R", revoke_opts, reason, "revocation reason (default unspecified)"),
    CLI_END};

CA_SPEC(revoke, "ca revoke",
        "usage: bacsc ca revoke [--dir DIR] SERIAL [--reason R]\n\n"
        "Revoke a certificate (serial in hex, colons allowed). Reasons: unspecified\n"
        "(default), keyCompromise, cACompromise, affiliationChanged, superseded,\n"
        "cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise.\n"
        "Publish the change with 'bacsc ca crl'.\n\n",
        revoke_rows, 0, revoke_opts);

static int cmd_revoke(int argc, char **argv)
{
    revoke_opts o = {0};
    int optrc = ca_parse(&revoke_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    common c = o.c;
    int reason = 0;
    if (o.reason && (reason = bacsc_pki_crl_reason_parse(o.reason)) < 0) {
        cli_error(c.prog, "unknown revocation reason '%s'", o.reason);
        return EXIT_USAGE;
    }
    if (argc != 2) {
        cli_error(c.prog, "exactly one SERIAL expected");
        return EXIT_USAGE;
    }
    bacsc_ca *ca = open_ca(&c);
    if (!ca)
        return EXIT_FAIL;
    int rc = bacsc_ca_revoke(ca, argv[1], reason);
    int ex = EXIT_OK;
    if (rc != BACSC_OK)
        ex = rc == BACSC_ERR_STATE ? (cli_error(c.prog, "%s", bacsc_ca_errmsg(ca)), EXIT_FAIL)
                                   : ca_error(&c, ca, rc);
    else
        printf("certificate %s revoked (%s)\n", argv[1], bacsc_pki_crl_reason_name(reason));
    bacsc_ca_close(ca);
    return ex;
}

typedef struct crl_opts {
    common c;
    const char *out;
    bool der;
} crl_opts;

static const cli_opt crl_rows[] = {
    CLI_STR("out", 0, "FILE", crl_opts, out, "where to write the CRL (required)"),
    CLI_FLAG("der", 0, crl_opts, der, "DER instead of PEM"),
    CLI_END};

CA_SPEC(crl, "ca crl",
        "usage: bacsc ca crl [--dir DIR] --out FILE [--der]\n\n"
        "Write a CRL signed by the CA (PEM, or DER with --der): every revoked\n"
        "certificate with its reason, a new crlNumber, nextUpdate = now + policy\n"
        "crl_days.\n\n",
        crl_rows, 0, crl_opts);

static int cmd_crl(int argc, char **argv)
{
    crl_opts o = {0};
    int optrc = ca_parse(&crl_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    common c = o.c;
    const char *out = o.out;
    bool der_out = o.der;
    if (!out || argc != 1) {
        cli_error(c.prog, "--out FILE is required");
        return EXIT_USAGE;
    }
    bacsc_ca *ca = open_ca(&c);
    if (!ca)
        return EXIT_FAIL;
    uint8_t *der = NULL;
    size_t len = 0;
    int rc = bacsc_ca_crl(ca, &der, &len);
    int ex = EXIT_OK;
    if (rc != BACSC_OK) {
        ex = ca_error(&c, ca, rc);
    } else {
        bool ok = true;
        if (der_out) {
            ok = bacsc_pki_write_file(out, der, len, 0644) == BACSC_OK;
        } else {
            const unsigned char *p = der;
            X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
            BIO *b = BIO_new(BIO_s_mem());
            char *pem = NULL;
            ok = crl && b && PEM_write_bio_X509_CRL(b, crl);
            long plen = ok ? BIO_get_mem_data(b, &pem) : 0;
            ok = ok && bacsc_pki_write_file(out, pem, (size_t)plen, 0644) == BACSC_OK;
            BIO_free(b);
            X509_CRL_free(crl);
        }
        if (!ok) {
            cli_error(c.prog, "cannot write %s: %s", out, strerror(errno));
            ex = EXIT_FAIL;
        }
    }
    free(der);
    bacsc_ca_close(ca);
    return ex;
}

/* ---- submit / sign / respond --------------------------------------------------- */

static void print_submit(const common *c, const bacsc_ca_source *src,
                         const bacsc_request_result *res, json_t *arr)
{
    for (size_t i = 0; i < src->n; i++) {
        const bacsc_request_result *r = &res[i];
        const char *name = src->reqs[i].entry ? src->reqs[i].entry : "?";
        if (arr) {
            json_t *o = json_object();
            json_object_set_new(o, "entry", json_string(name));
            json_object_set_new(o, "id", json_integer(r->id));
            json_object_set_new(o, "status", json_string(bacsc_req_status_name(r->status)));
            if (r->reason[0])
                json_object_set_new(o, "reason", json_string(r->reason));
            json_array_append_new(arr, o);
        } else if (r->status == BACSC_REQ_REJECTED) {
            fprintf(stderr, "bacsc %s: %s: rejected: %s\n", c->prog, name, r->reason);
        }
    }
}

static int source_errors(const common *c, const bacsc_ca_source *src, json_t *arr)
{
    for (size_t i = 0; i < src->n_bad; i++) {
        if (arr) {
            json_t *o = json_object();
            json_object_set_new(o, "entry", json_string(src->bad[i].name));
            json_object_set_new(o, "status", json_string("unreadable"));
            json_object_set_new(o, "reason", json_string(src->bad[i].reason));
            json_array_append_new(arr, o);
        } else {
            fprintf(stderr, "bacsc %s: %s: %s\n", c->prog, src->bad[i].name, src->bad[i].reason);
        }
    }
    return (int)src->n_bad;
}

static int batch_pending(const bacsc_batch_row *r, void *user)
{
    *(int *)user = (int)r->n_pending;
    return 0;
}

static int count_status(const bacsc_request_result *res, size_t n, int status)
{
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += res[i].status == status;
    return k;
}

/* Write the response for batch `bid` to `out` (zip, or a directory). */
static int respond(const common *c, bacsc_ca *ca, int64_t bid, const char *out, size_t *n_certs)
{
    char err[512] = "";
    uint8_t sha[32];
    int rc = bacsc_ca_response_write(ca, bid, out, n_certs, sha, err, sizeof err);
    if (rc != BACSC_OK) {
        cli_error(c->prog, "%s", err[0] ? err : bacsc_strerror(rc));
        return rc;
    }
    rc = bacsc_ca_record_output(ca, bid, out, sha, NULL);
    if (rc != BACSC_OK)
        cli_error(c->prog, "%s", bacsc_ca_errmsg(ca));
    return rc;
}

typedef struct submit_opts {
    common c;
    const char *site, *origin, *out;
    int64_t batch;
} submit_opts;

static const cli_opt submit_rows[] = {
    CLI_STR("site", 0, "NAME", submit_opts, site, "site name recorded with the batch"),
    CLI_STR("origin", 0, "NAME", submit_opts, origin, "where the batch came from (audit, auto-approve)"),
    CLI_END};

static const cli_opt sign_rows[] = {
    CLI_STR("site", 0, "NAME", submit_opts, site, "site name recorded with the batch"),
    CLI_STR("origin", 0, "NAME", submit_opts, origin, "where the batch came from (audit, auto-approve)"),
    CLI_STR("out", 0, "RESPONSE", submit_opts, out, "the response zip or directory (required)"),
    CLI_END};

static const cli_opt respond_rows[] = {
    CLI_ID("batch", 0, "B", submit_opts, batch, "the batch to answer (required)"),
    CLI_STR("out", 0, "RESPONSE", submit_opts, out, "the response zip or directory (required)"),
    CLI_END};

CA_SPEC(submit, "ca submit",
        "usage: bacsc ca submit [--dir DIR] [--site NAME] [--origin NAME] SOURCE [--json]\n\n"
        "Receive a batch of CSRs: SOURCE is a CARI request zip (docs/cari.md) or a\n"
        "directory of CSR files (*.csr, *.pem, *.der; PEM or DER). Each CSR is\n"
        "checked against the policy and stored: rejected (with the reason), pending,\n"
        "or approved by the auto-approve rule and then signed at once.\n"
        "Exit status 5 when some entries were rejected or unreadable.\n\n",
        submit_rows, 0, submit_opts);

CA_SPEC(sign, "ca sign",
        "usage: bacsc ca sign [--dir DIR] [--site NAME] [--origin NAME] SOURCE --out RESPONSE\n\n"
        "Installer-as-administrator in one step: submit SOURCE (CARI zip or CSR\n"
        "directory), approve every request that passes policy, sign, and write the\n"
        "response (a CARI zip, or a directory when RESPONSE ends in '/' or is one).\n"
        "Exit status 5 when some entries were rejected or unreadable.\n\n",
        sign_rows, 0, submit_opts);

CA_SPEC(respond, "ca respond",
        "usage: bacsc ca respond [--dir DIR] --batch B --out RESPONSE\n\n"
        "Write the response for batch B: every certificate issued for it, plus the\n"
        "CA certificate and chain. RESPONSE is a CARI zip, or a directory when it\n"
        "ends in '/' or already is one. Can be re-run: the store is the source.\n\n",
        respond_rows, 0, submit_opts);

static int cmd_submit_or_sign(int argc, char **argv, int mode /* 0 submit, 1 sign */)
{
    submit_opts op = {0};
    int optrc = ca_parse(mode ? &sign_spec : &submit_spec, &op, &op.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    common c = op.c;
    const char *site = op.site, *origin = op.origin, *out = op.out;
    if (argc != 2 || (mode && !out)) {
        cli_error(c.prog, "%s", mode && !out ? "--out RESPONSE is required"
                                             : "exactly one SOURCE (zip or directory) expected");
        return EXIT_USAGE;
    }
    bacsc_ca *ca = open_ca(&c);
    if (!ca)
        return EXIT_FAIL;
    if (mode) {
        /* Refuse before storing anything if this run could not sign. */
        int crc = bacsc_ca_check_signing(ca);
        if (crc != BACSC_OK) {
            int e = ca_error(&c, ca, crc);
            bacsc_ca_close(ca);
            return e;
        }
    }
    bacsc_ca_source src;
    char err[512] = "";
    int rc = bacsc_ca_source_load(argv[1], bacsc_ca_policy(ca)->max_batch, &src, err,
                                  sizeof err);
    if (rc != BACSC_OK) {
        cli_error(c.prog, "%s", err);
        bacsc_ca_close(ca);
        return rc == BACSC_ERR_IO ? EXIT_FAIL : EXIT_DATAERR;
    }
    if (site)
        src.batch.site = site;
    if (origin)
        src.batch.origin = origin;
    json_t *arr = c.json ? json_array() : NULL;
    int ex = EXIT_OK;
    int bad = source_errors(&c, &src, arr);
    if (src.n == 0) {
        cli_error(c.prog, "%s holds no certificate request to submit%s", argv[1],
                  bad ? " (every entry was unreadable)" : "");
        json_decref(arr);
        bacsc_ca_source_free(&src);
        bacsc_ca_close(ca);
        return EXIT_DATAERR;
    }
    bacsc_request_result *res = calloc(src.n ? src.n : 1, sizeof *res);
    int64_t bid = 0;
    rc = res ? bacsc_ca_submit(ca, &src.batch, src.reqs, src.n, &bid, res) : BACSC_ERR_NOMEM;
    if (rc < 0) {
        ex = ca_error(&c, ca, rc);
        goto out;
    }
    print_submit(&c, &src, res, arr);
    int rejected = count_status(res, src.n, BACSC_REQ_REJECTED);
    int issued = 0;
    if (mode) {
        /* Installer is the administrator: approve what passed policy. */
        bacsc_selector sel = {.batch_id = bid};
        decide_ctx d = {.c = &c};
        rc = bacsc_ca_approve(ca, &sel, NULL, &d);
    } else {
        rc = bacsc_ca_issue_approved(ca, bid, NULL, NULL);
    }
    if (rc < 0) {
        ex = ca_error(&c, ca, rc);
        goto out;
    }
    issued = rc;
    size_t n_out = 0;
    if (mode && respond(&c, ca, bid, out, &n_out) != BACSC_OK) {
        ex = EXIT_FAIL;
        goto out;
    }
    if (arr) {
        json_t *o = json_object();
        json_object_set_new(o, "batch", json_integer(bid));
        json_object_set_new(o, "entries", arr);
        json_object_set_new(o, "issued", json_integer(issued));
        json_object_set_new(o, "rejected", json_integer(rejected));
        json_object_set_new(o, "unreadable", json_integer(bad));
        if (mode)
            json_object_set_new(o, "response", json_string(out));
        arr = NULL;
        cli_print_json(o);
    } else {
        int pending = 0;
        bacsc_ca_batches(ca, bid, batch_pending, &pending);
        printf("batch %lld: %zu entries, %d issued, %d pending, %d rejected, %d unreadable\n",
               (long long)bid, src.n + src.n_bad, issued, pending, rejected, bad);
        if (mode)
            printf("response written to %s (%zu certificates)\n", out, n_out);
    }
    if (rejected || bad)
        ex = EXIT_PARTIAL;
out:
    json_decref(arr);
    free(res);
    bacsc_ca_source_free(&src);
    bacsc_ca_close(ca);
    return ex;
}

static int cmd_submit(int argc, char **argv)
{
    return cmd_submit_or_sign(argc, argv, 0);
}

static int cmd_sign(int argc, char **argv)
{
    return cmd_submit_or_sign(argc, argv, 1);
}

static int cmd_respond(int argc, char **argv)
{
    submit_opts o = {0};
    int optrc = ca_parse(&respond_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    common c = o.c;
    int64_t bid = o.batch;
    const char *out = o.out;
    if (!bid || !out || argc != 1) {
        cli_error(c.prog, "--batch B and --out RESPONSE are required");
        return EXIT_USAGE;
    }
    bacsc_ca *ca = open_ca(&c);
    if (!ca)
        return EXIT_FAIL;
    size_t n = 0;
    int ex = respond(&c, ca, bid, out, &n) == BACSC_OK ? EXIT_OK : EXIT_FAIL;
    if (ex == EXIT_OK)
        printf("response for batch %lld written to %s (%zu certificates)\n", (long long)bid, out,
               n);
    bacsc_ca_close(ca);
    return ex;
}

/* ---- batches ------------------------------------------------------------------- */

static int print_batch(const bacsc_batch_row *r, void *user)
{
    print_ctx *p = user;
    if (p->json) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(r->id));
        json_object_set_new(o, "direction", json_str(r->direction));
        json_object_set_new(o, "file", json_str(r->file_name));
        json_object_set_new(o, "sha256", json_str(r->sha256));
        json_object_set_new(o, "site", json_str(r->site));
        json_object_set_new(o, "origin", json_str(r->origin));
        json_object_set_new(o, "ref", json_str(r->ref));
        json_object_set_new(o, "submitter", json_str(r->submitter));
        json_object_set_new(o, "created", json_time(r->created));
        if (r->for_batch)
            json_object_set_new(o, "for_batch", json_integer(r->for_batch));
        json_object_set_new(o, "requests", json_integer(r->n_requests));
        json_object_set_new(o, "pending", json_integer(r->n_pending));
        json_object_set_new(o, "issued", json_integer(r->n_issued));
        json_object_set_new(o, "rejected", json_integer(r->n_rejected));
        json_array_append_new(p->arr, o);
    } else {
        char t[32];
        fmt_time(r->created, t, sizeof t);
        printf("%-5lld %-3s %s %-20s req %lld pending %lld issued %lld rejected %lld  %s\n",
               (long long)r->id, r->direction, t, r->site ? r->site : "-",
               (long long)r->n_requests, (long long)r->n_pending, (long long)r->n_issued,
               (long long)r->n_rejected, r->file_name ? r->file_name : "");
    }
    return 0;
}

CA_SPEC_COMMON(batches, "ca batches",
               "usage: bacsc ca batches [--dir DIR] [--json]\n\n"
               "List batches received (in) and responses written (out), with counts.\n");

static int cmd_batches(int argc, char **argv)
{
    common_only o = {0};
    int optrc = ca_parse(&batches_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    common c = o.c;
    bacsc_ca *ca = open_ca(&c);
    if (!ca)
        return EXIT_FAIL;
    print_ctx p = {.json = c.json, .arr = c.json ? json_array() : NULL};
    int rc = bacsc_ca_batches(ca, 0, print_batch, &p);
    int ex = rc < 0 ? ca_error(&c, ca, rc) : EXIT_OK;
    if (c.json)
        cli_print_json(p.arr);
    bacsc_ca_close(ca);
    return ex;
}

static const cli_subcommand ca_subs[] = {
    {"init", cmd_init, "create a CA directory (key, certificate or CSR, policy, store)"},
    {"csr", cmd_csr, "write a CSR for this CA's key (issuing CA under an enterprise root)"},
    {"install-cert", cmd_install_cert, "install the CA certificate signed by an enterprise CA"},
    {"policy", cmd_policy, "show or set the issuing policy"},
    {"submit", cmd_submit, "receive a batch of CSRs (CARI zip or directory)"},
    {"pending", cmd_pending, "list requests waiting for a decision"},
    {"approve", cmd_approve, "approve requests and issue their certificates"},
    {"reject", cmd_reject, "reject requests with a reason"},
    {"sign", cmd_sign, "submit, approve and respond in one step"},
    {"respond", cmd_respond, "write the response (certificates) for a batch"},
    {"list", cmd_list, "list issued certificates"},
    {"revoke", cmd_revoke, "revoke a certificate"},
    {"crl", cmd_crl, "write a CRL"},
    {"batches", cmd_batches, "list batches in and out"},
    {"audit", cmd_audit, "print the audit log"},
    {NULL, NULL, NULL}};

int bacsc_cmd_ca(int argc, char **argv)
{
    return cli_dispatch("ca", ca_subs, argc, argv);
}
