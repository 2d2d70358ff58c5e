/*
 * ca_issue.c — `bacsc ca issue`: one certificate for infrastructure (a hub,
 * the site tool, the web console) outside a CARI batch. It goes through the
 * same policy checks, store and audit log as every request: a batch of one
 * CSR is submitted, approved and signed, and the certificate is written as
 * PEM. With --generate-key the key pair is made here (for machines without
 * their own key tooling); device keys never are — devices make their own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "ca_cli.h"
#include "cli.h"

#define MAX_SANS 16

typedef struct issue_opts {
    ca_common c;
    const char *csr, *out, *cn, *uuid, *key_type, *key_out;
    bool generate;
    const char *san[MAX_SANS];
    int n_san;
} issue_opts;

static const cli_opt issue_rows[] = {
    CLI_STR("csr", 0, "FILE", issue_opts, csr, "the CSR (PEM or DER) of the hub, tool or console"),
    CLI_STR("out", 0, "CERT.pem", issue_opts, out, "where to write the certificate (PEM; required)"),
    CLI_FLAG("generate-key", 0, issue_opts, generate,
             "make the key pair here instead (needs --cn, --key-out)"),
    CLI_STR("cn", 0, "NAME", issue_opts, cn, "with --generate-key: subject common name"),
    CLI_STRS("san", 0, "DNS:NAME|IP:ADDR", issue_opts, san, n_san,
             "with --generate-key: a subjectAltName (repeatable;\n"
             "carried when the policy's carry_dns/carry_ip allow it)"),
    CLI_STR("uuid", 0, "UUID", issue_opts, uuid,
            "with --generate-key: the Device UUID (default random)"),
    CLI_STR("key-type", 0, "T", issue_opts, key_type,
            "with --generate-key: ec-p256 (default), ec-p384, ..."),
    CLI_STR("key-out", 0, "KEY.pem", issue_opts, key_out,
            "with --generate-key: where the key goes (mode 0600;\n"
            "an existing file is never replaced)"),
    CLI_END};

CA_SPEC(issue, "ca issue",
        "usage: bacsc ca issue [--dir DIR] --csr FILE --out CERT.pem\n"
        "       bacsc ca issue [--dir DIR] --generate-key --cn NAME [--san DNS:NAME|IP:ADDR]...\n"
        "                      [--uuid UUID] [--key-type T] --key-out KEY.pem --out CERT.pem\n\n"
        "Issue one certificate for infrastructure — a hub, the site tool, the web\n"
        "console — through the same policy, store and audit log as every request.\n"
        "With --csr the requester keeps its key; with --generate-key the key is made\n"
        "here and written to --key-out. The certificate is written as PEM to --out;\n"
        "its issuer is DIR/ca.pem. Exit status: 0 issued, 2 usage, 3 the CSR is\n"
        "malformed or refused by the policy (the reason is printed), 1 other.\n\n",
        issue_rows, 0, issue_opts);

/* The CSR of --generate-key: subject CN, urn:uuid SAN, DNS/IP SANs. */
static int make_csr(const issue_opts *o, EVP_PKEY *key, uint8_t **der, size_t *len)
{
    const char *dns[MAX_SANS], *ip[MAX_SANS];
    size_t nd = 0, ni = 0;
    for (int i = 0; i < o->n_san; i++) {
        if (strncmp(o->san[i], "DNS:", 4) == 0)
            dns[nd++] = o->san[i] + 4;
        else if (strncmp(o->san[i], "IP:", 3) == 0)
            ip[ni++] = o->san[i] + 3;
        else {
            cli_error(o->c.prog, "--san %s: give DNS:NAME or IP:ADDRESS", o->san[i]);
            return EXIT_USAGE;
        }
    }
    char uuid[BACSC_PKI_UUID_STR_LEN];
    if (o->uuid)
        snprintf(uuid, sizeof uuid, "%s", o->uuid);
    else if (bacsc_pki_uuid_random(uuid) != BACSC_OK)
        return EXIT_FAIL;
    bacsc_cert_spec spec = {.cn = o->cn, .device_uuid = uuid, .dns = dns, .n_dns = nd,
                            .ip = ip, .n_ip = ni};
    int rc = bacsc_pki_make_csr(key, &spec, false, der, len);
    if (rc == BACSC_ERR_INVALID_ARG) {
        cli_error(o->c.prog, "--san or --uuid: not a valid address or UUID");
        return EXIT_USAGE;
    }
    return rc == BACSC_OK ? EXIT_OK : EXIT_FAIL;
}

/* The CSR as DER: read from --csr, or made for a new key (returned in *key). */
static int get_csr(const issue_opts *o, EVP_PKEY **key, uint8_t **der, size_t *len)
{
    if (!o->generate) {
        unsigned char *data;
        size_t dlen;
        if (cli_read_file(o->c.prog, o->csr, 1 << 20, &data, &dlen) != 0)
            return EXIT_FAIL;
        int rc = bacsc_pki_to_der(BACSC_PKI_CSR, data, dlen, der, len);
        free(data);
        if (rc != BACSC_OK)
            cli_error(o->c.prog, "%s is not a CSR (PEM or DER)", o->csr);
        return rc == BACSC_OK ? EXIT_OK : EXIT_DATAERR;
    }
    int type = o->key_type ? bacsc_pki_key_type_parse(o->key_type) : BACSC_KEY_EC_P256;
    if (type < 0 || bacsc_pki_keygen(type, key) != BACSC_OK) {
        cli_error(o->c.prog, "cannot make a key of type '%s'", o->key_type ? o->key_type : "?");
        return type < 0 ? EXIT_USAGE : EXIT_FAIL;
    }
    return make_csr(o, *key, der, len);
}

static int check_args(const issue_opts *o)
{
    const char *why = NULL;
    struct stat st;
    if (!o->out)
        why = "--out CERT.pem is required";
    else if (!o->generate == !o->csr)
        why = "give either --csr FILE or --generate-key";
    else if (o->generate && (!o->cn || !o->key_out))
        why = "--generate-key needs --cn NAME and --key-out KEY.pem";
    else if (!o->generate && (o->cn || o->key_out || o->n_san || o->uuid || o->key_type))
        why = "--cn, --san, --uuid, --key-type and --key-out go with --generate-key";
    if (why) {
        cli_error(o->c.prog, "%s", why);
        return EXIT_USAGE;
    }
    if (o->key_out && stat(o->key_out, &st) == 0) {
        cli_error(o->c.prog, "%s exists: a key is never replaced (remove it first)", o->key_out);
        return EXIT_USAGE;
    }
    return ca_check_out_path(&o->c, o->out) == 0 ? EXIT_OK : EXIT_FAIL;
}

typedef struct got_cert {
    uint8_t *der;
    size_t len;
    char serial[80], subject[256];
} got_cert;

static int take_cert(const bacsc_cert_row *r, void *user)
{
    got_cert *g = user;
    if (g->der || !r->der)
        return 0;
    g->der = malloc(r->der_len);
    if (g->der) {
        memcpy(g->der, r->der, r->der_len);
        g->len = r->der_len;
    }
    snprintf(g->serial, sizeof g->serial, "%s", r->serial ? r->serial : "?");
    snprintf(g->subject, sizeof g->subject, "%s", r->subject ? r->subject : "?");
    return 0;
}

static int write_pem_cert(const ca_common *c, const char *out, const got_cert *g)
{
    const unsigned char *p = g->der;
    X509 *x = d2i_X509(NULL, &p, (long)g->len);
    BIO *b = BIO_new(BIO_s_mem());
    char *pem = NULL;
    bool ok = x && b && PEM_write_bio_X509(b, x);
    long plen = ok ? BIO_get_mem_data(b, &pem) : 0;
    ok = ok && bacsc_pki_write_file(out, pem, (size_t)plen, 0644) == BACSC_OK;
    if (!ok)
        cli_error(c->prog, "cannot write %s: %s", out, bacsc_pki_write_errtext(errno));
    BIO_free(b);
    X509_free(x);
    return ok ? EXIT_OK : EXIT_FAIL;
}

/* Submit the one CSR, approve and sign it, fetch the certificate. */
static int issue_one(const issue_opts *o, bacsc_ca *ca, const uint8_t *der, size_t len,
                     got_cert *g)
{
    const char *base = strrchr(o->out, '/');
    bacsc_batch_in batch = {.file_name = o->generate ? "ca issue --generate-key" : o->csr,
                            .origin = "ca issue"};
    bacsc_request_in req = {.csr = der, .csr_len = len, .entry = base ? base + 1 : o->out,
                            .device_name = o->cn, .device_instance = -1};
    bacsc_request_result res;
    memset(&res, 0, sizeof res);
    int64_t bid = 0;
    int rc = bacsc_ca_submit(ca, &batch, &req, 1, &bid, &res);
    if (rc < 0)
        return ca_fail_rc(&o->c, ca, rc);
    if (res.status == BACSC_REQ_REJECTED) {
        cli_error(o->c.prog, "refused by the policy: %s", res.reason);
        return EXIT_DATAERR;
    }
    bacsc_selector sel = {.batch_id = bid};
    rc = bacsc_ca_approve(ca, &sel, NULL, NULL);
    if (rc < 0)
        return ca_fail_rc(&o->c, ca, rc);
    bacsc_cert_filter f = {.batch_id = bid};
    bacsc_ca_certs(ca, &f, take_cert, g);
    if (!g->der) {
        cli_error(o->c.prog, "no certificate was issued for batch %lld", (long long)bid);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

int ca_cmd_issue(int argc, char **argv)
{
    issue_opts o;
    memset(&o, 0, sizeof o);
    int ex = ca_parse(&issue_spec, &o, &o.c, &argc, argv);
    if (ex >= 0)
        return ex;
    if (cli_extra_args(o.c.prog, argc, argv, 0))
        return EXIT_USAGE;
    if ((ex = check_args(&o)) != EXIT_OK)
        return ex;
    bacsc_ca *ca = ca_open(&o.c);
    if (!ca)
        return EXIT_FAIL;
    EVP_PKEY *key = NULL;
    uint8_t *der = NULL;
    size_t len = 0;
    got_cert g = {0};
    int crc = bacsc_ca_check_signing(ca);
    ex = crc != BACSC_OK ? ca_fail_rc(&o.c, ca, crc) : get_csr(&o, &key, &der, &len);
    /* the key first: a certificate must never exist without its key */
    if (ex == EXIT_OK && key && bacsc_pki_key_write(o.key_out, key, NULL) != BACSC_OK) {
        cli_error(o.c.prog, "cannot write %s: %s", o.key_out, bacsc_pki_write_errtext(errno));
        ex = EXIT_FAIL;
    }
    if (ex == EXIT_OK) {
        ex = issue_one(&o, ca, der, len, &g);
        if (ex != EXIT_OK && key)
            unlink(o.key_out);
    }
    if (ex == EXIT_OK)
        ex = write_pem_cert(&o.c, o.out, &g);
    if (ex == EXIT_OK && o.c.json)
        cli_print_json(json_pack("{s:s,s:s,s:s,s:s?}", "serial", g.serial, "subject", g.subject,
                                 "certificate", o.out, "key", o.key_out));
    else if (ex == EXIT_OK)
        printf("certificate %s (%s) written to %s%s%s\n", g.serial, g.subject, o.out,
               key ? "; key in " : "", key ? o.key_out : "");
    free(g.der);
    free(der);
    EVP_PKEY_free(key);
    bacsc_ca_close(ca);
    return ex;
}
