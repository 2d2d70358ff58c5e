/*
 * cmd_ca.c — `bacsc ca`: the site certificate authority (docs/ca.md).
 *
 * Every subcommand works on a CA directory (--dir DIR, else $BACSC_CA_DIR,
 * else ./ca) through the library API of bacsc/pki.h; this file only parses
 * options, reads and writes files and prints results.
 */
#include <ctype.h>
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
#include "ca_cli.h"
#include "cli.h"

extern const char bacsc_cmd_ca_summary[];
int bacsc_cmd_ca(int argc, char **argv);

const char bacsc_cmd_ca_summary[] = "site certificate authority: init, policy, approve, sign, CRL";

/* ---- init ------------------------------------------------------------------ */

typedef struct init_opts {
    ca_common c;
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
    ca_common c = {0};
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
    if (cli_extra_args(c.prog, argc, argv, 0))
        return EXIT_USAGE;
    if (!p.name || !*p.name) {
        cli_error(c.prog, p.name ? "--name: empty NAME" : "--name NAME is required");
        return EXIT_USAGE;
    }
    char *pass = NULL;
    if (ca_read_passphrase(&c, &pass) != 0)
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
    ca_common c;
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
    bacsc_ca *ca;
    int optrc = ca_cli_begin(&csr_spec, &o, &o.c, argc, argv, &ca);
    if (optrc >= 0)
        return optrc;
    ca_common c = o.c;
    const char *out = o.out;
    uint8_t *der = NULL;
    size_t len = 0;
    int rc = bacsc_ca_make_csr(ca, &der, &len);
    int ex = EXIT_OK;
    if (rc != BACSC_OK) {
        ex = ca_fail_rc(&c, ca, rc);
    } else if (out) {
        if (bacsc_pki_csr_write(out, der, len) != BACSC_OK) {
            cli_error(c.prog, "cannot write %s: %s", out, bacsc_pki_write_errtext(errno));
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
    ca_common_only o = {0};
    int optrc = ca_parse(&install_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    ca_common c = o.c;
    if (cli_extra_args(c.prog, argc, argv, 1))
        return EXIT_USAGE;
    if (argc != 2) {
        cli_error(c.prog, "exactly one certificate FILE expected");
        return EXIT_USAGE;
    }
    if (cli_empty_operand(c.prog, "certificate FILE", argv[1]))
        return EXIT_USAGE;
    unsigned char *data;
    size_t len;
    if (cli_read_file(c.prog, argv[1], 1 << 20, &data, &len) != 0)
        return EXIT_DATAERR;
    bacsc_ca *ca = ca_open(&c);
    if (!ca) {
        free(data);
        return EXIT_FAIL;
    }
    int rc = bacsc_ca_install_cert(ca, data, len);
    free(data);
    int ex = EXIT_OK;
    if (rc != BACSC_OK)
        ex = ca_fail_rc(&c, ca, rc);
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

/* A refused `policy set`: the library's reason, and for an unknown key the
 * closest known one. Returns EXIT_USAGE. */
static int policy_key_error(const ca_common *c, bacsc_ca *ca, const char *key)
{
    json_t *o = bacsc_policy_to_json(bacsc_ca_policy(ca));
    const char *names[64];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (n < 64)
            names[n++] = k;
    }
    const char *hint = json_object_get(o, key) ? NULL : cli_suggest(key, names, n, sizeof names[0]);
    if (hint)
        cli_error(c->prog, "%s; did you mean '%s'?", bacsc_ca_errmsg(ca), hint);
    else
        cli_error(c->prog, "%s", bacsc_ca_errmsg(ca));
    json_decref(o);
    return EXIT_USAGE;
}

/* After `policy set KEY VALUE`: the value now in force. */
static void policy_confirm(bacsc_ca *ca, const char *key)
{
    json_t *o = bacsc_policy_to_json(bacsc_ca_policy(ca));
    char *t = json_dumps(json_object_get(o, key), JSON_ENCODE_ANY | JSON_COMPACT);
    printf("policy %s set to %s\n", key, t ? t : "?");
    free(t);
    json_decref(o);
}

static int cmd_policy(int argc, char **argv)
{
    ca_common_only op = {0};
    int optrc = ca_parse(&policy_spec, &op, &op.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    ca_common c = op.c;
    const char *verb = argc > 1 ? argv[1] : "show";
    bool show = strcmp(verb, "show") == 0;
    bool set = strcmp(verb, "set") == 0;
    if (!show && !set) {
        static const char *const verbs[] = {"show", "set"};
        return cli_unknown_command(c.prog, verb, verbs, 2, sizeof verbs[0]);
    }
    if (cli_extra_args(c.prog, argc, argv, show ? 1 : 3))
        return EXIT_USAGE;
    if (set && argc != 4) {
        cli_error(c.prog, "set: KEY and VALUE are required");
        return EXIT_USAGE;
    }
    bacsc_ca *ca = ca_open(&c);
    if (!ca)
        return EXIT_FAIL;
    int ex = EXIT_OK;
    if (set) {
        int rc = bacsc_ca_policy_set(ca, argv[2], argv[3]);
        if (rc != BACSC_OK)
            ex = rc == BACSC_ERR_INVALID_ARG ? policy_key_error(&c, ca, argv[2])
                                             : ca_fail_rc(&c, ca, rc);
        else if (!c.json)
            policy_confirm(ca, argv[2]);
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

/* ---- revoke / crl ------------------------------------------------------------ */

typedef struct revoke_opts {
    ca_common c;
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

/* A certificate serial as `ca list` prints it: hex digits, maybe split by ':'
 * or ' ' ("4f:3a:..."); at most 20 octets (RFC 5280). */
static bool serial_ok(const char *s)
{
    size_t digits = 0;
    for (; *s; s++) {
        if (isxdigit((unsigned char)*s))
            digits++;
        else if (*s != ':' && *s != ' ')
            return false;
    }
    return digits > 0 && digits <= 40;
}

static int cmd_revoke(int argc, char **argv)
{
    revoke_opts o = {0};
    int optrc = ca_parse(&revoke_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    ca_common c = o.c;
    int reason = 0;
    if (o.reason && (reason = bacsc_pki_crl_reason_parse(o.reason)) < 0) {
        cli_error(c.prog, "unknown revocation reason '%s'", o.reason);
        return EXIT_USAGE;
    }
    if (cli_extra_args(c.prog, argc, argv, 1))
        return EXIT_USAGE;
    if (argc != 2) {
        cli_error(c.prog, "exactly one SERIAL expected");
        return EXIT_USAGE;
    }
    if (!serial_ok(argv[1])) {
        cli_error(c.prog, "'%s' is not a serial number (hex, as 'bacsc ca list' shows it)",
                  argv[1]);
        return EXIT_USAGE;
    }
    bacsc_ca *ca = ca_open(&c);
    if (!ca)
        return EXIT_FAIL;
    int rc = bacsc_ca_revoke(ca, argv[1], reason);
    int ex = EXIT_OK;
    if (rc != BACSC_OK)
        ex = rc == BACSC_ERR_STATE ? (cli_error(c.prog, "%s", bacsc_ca_errmsg(ca)), EXIT_FAIL)
                                   : ca_fail_rc(&c, ca, rc);
    else
        printf("certificate %s revoked (%s)\n", argv[1], bacsc_pki_crl_reason_name(reason));
    bacsc_ca_close(ca);
    return ex;
}

typedef struct crl_opts {
    ca_common c;
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

/* After `crl --out FILE`: what was written. */
static void crl_confirm(const char *out, const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)len);
    STACK_OF(X509_REVOKED) *rev = crl ? X509_CRL_get_REVOKED(crl) : NULL;
    const ASN1_TIME *next = crl ? X509_CRL_get0_nextUpdate(crl) : NULL;
    struct tm tm;
    char when[32] = "-";
    if (next && ASN1_TIME_to_tm(next, &tm) == 1)
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("CRL written to %s (%d revoked certificate(s), next update %s)\n", out,
           rev ? sk_X509_REVOKED_num(rev) : 0, when);
    X509_CRL_free(crl);
}

static int cmd_crl(int argc, char **argv)
{
    crl_opts o = {0};
    int optrc = ca_parse(&crl_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    ca_common c = o.c;
    const char *out = o.out;
    bool der_out = o.der;
    if (cli_extra_args(c.prog, argc, argv, 0))
        return EXIT_USAGE;
    if (!out) {
        cli_error(c.prog, "--out FILE is required");
        return EXIT_USAGE;
    }
    bacsc_ca *ca = ca_open(&c);
    if (!ca)
        return EXIT_FAIL;
    uint8_t *der = NULL;
    size_t len = 0;
    int rc = bacsc_ca_crl(ca, &der, &len);
    int ex = EXIT_OK;
    if (rc != BACSC_OK) {
        ex = ca_fail_rc(&c, ca, rc);
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
            cli_error(c.prog, "cannot write %s: %s", out, bacsc_pki_write_errtext(errno));
            ex = EXIT_FAIL;
        } else if (!c.json) {
            crl_confirm(out, der, len);
        }
    }
    free(der);
    bacsc_ca_close(ca);
    return ex;
}

static const cli_subcommand ca_subs[] = {
    {"init", cmd_init, "create a CA directory (key, certificate or CSR, policy, store)"},
    {"csr", cmd_csr, "write a CSR for this CA's key (issuing CA under an enterprise root)"},
    {"install-cert", cmd_install_cert, "install the CA certificate signed by an enterprise CA"},
    {"policy", cmd_policy, "show or set the issuing policy"},
    {"submit", ca_cmd_submit, "receive a batch of CSRs (CARI zip or directory)"},
    {"pending", ca_cmd_pending, "list requests waiting for a decision"},
    {"approve", ca_cmd_approve, "approve requests and issue their certificates"},
    {"reject", ca_cmd_reject, "reject requests with a reason"},
    {"sign", ca_cmd_sign, "submit, approve and respond in one step"},
    {"issue", ca_cmd_issue, "issue one certificate (hub, tool, console) from a CSR or a new key"},
    {"respond", ca_cmd_respond, "write the response (certificates) for a batch"},
    {"list", ca_cmd_list, "list issued certificates"},
    {"revoke", cmd_revoke, "revoke a certificate"},
    {"crl", cmd_crl, "write a CRL"},
    {"batches", ca_cmd_batches, "list batches in and out"},
    {"audit", ca_cmd_audit, "print the audit log"},
    {"backup", ca_cmd_backup, "back up the CA directory (online, encrypted)"},
    {"restore", ca_cmd_restore, "restore a CA directory from a backup"},
    {NULL, NULL, NULL}};

int bacsc_cmd_ca(int argc, char **argv)
{
    return cli_dispatch("ca", ca_subs, argc, argv);
}
