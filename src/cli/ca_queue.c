/* ca_queue.c — `bacsc ca submit/sign/respond/approve/reject`: requests in,
 * decisions, certificates out (see ca_cli.h, docs/ca.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "bacsc/ca_files.h"
#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "ca_cli.h"
#include "cli.h"

/* ---- approve / reject -------------------------------------------------------- */

typedef struct decide_ctx {
    const ca_common *c;
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

#define MAX_SELECTED_IDS 100000

/* Append the ids of one operand ("11", "11-14" or "11,12,20-22") to *ids.
 * Returns 0 or -1 (message printed). */
static int add_ids(const ca_common *c, const char *text, int64_t **ids, size_t *n, size_t *cap)
{
    size_t len = strlen(text);
    if (len == 0 || text[0] == ',' || text[len - 1] == ',' || strstr(text, ",,")) {
        cli_error(c->prog, "bad request id '%s' (ids and ranges: 11,12,14-16)", text);
        return -1;
    }
    char *copy = strdup(text);
    char *save = NULL;
    int rc = copy ? 0 : -1;
    for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && rc == 0;
         tok = strtok_r(NULL, ",", &save)) {
        int64_t lo, hi;
        char *dash = strchr(tok, '-');
        if (dash)
            *dash = 0;
        if (cli_parse_id(tok, &lo) != 0 || (dash && cli_parse_id(dash + 1, &hi) != 0) ||
            (dash && hi < lo)) {
            cli_error(c->prog, "bad request id '%s' (ids and ranges: 11,12,14-16)", text);
            rc = -1;
            break;
        }
        if (!dash)
            hi = lo;
        if ((uint64_t)(hi - lo) + *n >= MAX_SELECTED_IDS) {
            cli_error(c->prog, "at most %d request ids at once (use --batch or --all)",
                      MAX_SELECTED_IDS);
            rc = -1;
            break;
        }
        for (int64_t id = lo; id <= hi; id++) {
            if (*n == *cap) {
                size_t ncap = *cap ? *cap * 2 : 16;
                int64_t *nv = realloc(*ids, ncap * sizeof *nv);
                if (!nv) {
                    rc = -1;
                    break;
                }
                *ids = nv;
                *cap = ncap;
            }
            (*ids)[(*n)++] = id;
        }
    }
    free(copy);
    return rc;
}

/* Request ids (operands, each an id, a range or a list), or --batch, or
 * --all into *sel. Returns 0 or -1 (message printed). */
static int parse_selector(const ca_common *c, int argc, char **argv, bacsc_selector *sel,
                          int64_t **ids)
{
    size_t n = 0, cap = 0;
    if (argc > 1) {
        if (sel->batch_id > 0 || sel->all) {
            cli_error(c->prog, "give request ids, or --batch, or --all");
            return -1;
        }
        for (int i = 1; i < argc; i++)
            if (add_ids(c, argv[i], ids, &n, &cap) != 0)
                return -1;
        sel->ids = *ids;
        sel->n_ids = n;
    } else if (sel->batch_id <= 0 && !sel->all) {
        cli_error(c->prog, "nothing selected: give request ids, --batch B or --all");
        return -1;
    }
    return 0;
}

typedef struct decide_opts {
    ca_common c;
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
        "ID is a request id, a range (11-14) or a list (11,12,20-22).\n"
        "Approve pending requests and issue their certificates at once (also any\n"
        "approved request left unsigned by an interrupted run).\n\n",
        approve_rows, 0, decide_opts);

CA_SPEC(reject, "ca reject",
        "usage: bacsc ca reject [--dir DIR] ID...|--batch B|--all --reason TEXT [--json]\n\n"
        "ID is a request id, a range (11-14) or a list (11,12,20-22).\n"
        "Reject pending (or approved, not yet issued) requests with a reason.\n\n",
        reject_rows, 0, decide_opts);

static int cmd_decide(int argc, char **argv, bool approve)
{
    decide_opts o = {0};
    int optrc = ca_parse(approve ? &approve_spec : &reject_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    ca_common c = o.c;
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
    bacsc_ca *ca = ca_open(&c);
    if (!ca) {
        free(ids);
        return EXIT_FAIL;
    }
    decide_ctx d = {.c = &c, .arr = c.json ? json_array() : NULL};
    int rc = approve ? bacsc_ca_approve(ca, &sel, print_result, &d)
                     : bacsc_ca_reject(ca, &sel, reason, print_result, &d);
    int ex = EXIT_OK;
    if (rc < 0)
        ex = ca_fail_rc(&c, ca, rc);
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

int ca_cmd_approve(int argc, char **argv)
{
    return cmd_decide(argc, argv, true);
}

int ca_cmd_reject(int argc, char **argv)
{
    return cmd_decide(argc, argv, false);
}


/* ---- submit / sign / respond --------------------------------------------------- */

static void print_submit(const ca_common *c, const bacsc_ca_source *src,
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

static int source_errors(const ca_common *c, const bacsc_ca_source *src, json_t *arr)
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
typedef struct same_file {
    char hex[65];
    int64_t batch;
    char created[32];
} same_file;

static int find_same_file(const bacsc_batch_row *r, void *user)
{
    same_file *f = user;
    if (!f->batch && r->direction && strcmp(r->direction, "in") == 0 && r->sha256 &&
        strcmp(r->sha256, f->hex) == 0) {
        f->batch = r->id;
        ca_fmt_time(r->created, f->created, sizeof f->created);
    }
    return 0;
}

/* The batch an earlier run made from a request file with this SHA-256, or 0. */
static int64_t batch_of_file(bacsc_ca *ca, const uint8_t sha[32], char created[32])
{
    same_file f = {.batch = 0};
    for (int i = 0; i < 32; i++)
        snprintf(f.hex + 2 * i, 3, "%02x", sha[i]);
    bacsc_ca_batches(ca, 0, find_same_file, &f);
    memcpy(created, f.created, sizeof f.created);
    return f.batch;
}

/* The response of batch `bid` into `out`; `ahead`: read while the batch
 * was issued (bacsc_ca_response_begin), or NULL. */
static int respond(const ca_common *c, bacsc_ca *ca, int64_t bid, const char *out, size_t *n_certs,
                   bacsc_ca_response_ahead *ahead)
{
    char err[512] = "";
    uint8_t sha[32];
    int rc = bacsc_ca_response_end(ca, ahead, bid, out, n_certs, sha, err, sizeof err);
    if (rc != BACSC_OK) {
        cli_error(c->prog, "%s", err[0] ? err : bacsc_strerror(rc));
        return rc;
    }
    rc = bacsc_ca_record_output(ca, bid, out, sha, NULL);
    if (rc != BACSC_OK)
        cli_error(c->prog, "%s", bacsc_ca_errmsg(ca));
    if (rc == BACSC_OK && *n_certs == 0)
        fprintf(stderr,
                "bacsc %s: warning: no certificate was issued for batch %lld; %s holds only "
                "the CA certificate and why (bacsc cari inspect %s)\n",
                c->prog, (long long)bid, out, out);
    return rc;
}

/* Say how many requests of batch `bid` still wait for a decision. */
static void note_pending(bacsc_ca *ca, int64_t bid)
{
    int pending = 0;
    bacsc_ca_batches(ca, bid, batch_pending, &pending);
    if (pending)
        printf("%d request(s) of batch %lld still pending: decide them ('bacsc ca pending "
               "--batch %lld'), then run respond again\n",
               pending, (long long)bid, (long long)bid);
}

typedef struct submit_opts {
    ca_common c;
    const char *site, *origin, *out;
    int64_t batch;
    bool reissue;
} submit_opts;

static const cli_opt submit_rows[] = {
    CLI_STR("site", 0, "NAME", submit_opts, site, "site name recorded with the batch"),
    CLI_STR("origin", 0, "NAME", submit_opts, origin, "where the batch came from (audit, auto-approve)"),
    CLI_END};

static const cli_opt sign_rows[] = {
    CLI_STR("site", 0, "NAME", submit_opts, site, "site name recorded with the batch"),
    CLI_STR("origin", 0, "NAME", submit_opts, origin, "where the batch came from (audit, auto-approve)"),
    CLI_STR("out", 0, "RESPONSE", submit_opts, out, "the response zip or directory (required)"),
    CLI_FLAG("reissue", 0, submit_opts, reissue,
             "sign a request file again although an earlier run did\n"
             "(without it, that run's response is written again)"),
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
        "usage: bacsc ca sign [--dir DIR] [--site NAME] [--origin NAME] SOURCE --out RESPONSE\n"
        "                     [--reissue]\n\n"
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

/* `ca sign` of a request file an earlier run already signed as batch `bid`:
 * write that batch's response again, issue nothing. */
static int sign_again(const ca_common *c, bacsc_ca *ca, int64_t bid, const char *when,
                      const char *source, const char *out)
{
    size_t n = 0;
    fprintf(stderr,
            "bacsc %s: %s was already signed as batch %lld on %s: writing that response again "
            "(--reissue signs it anew)\n",
            c->prog, source, (long long)bid, when);
    if (respond(c, ca, bid, out, &n, NULL) != BACSC_OK)
        return EXIT_FAIL;
    if (c->json)
        cli_print_json(json_pack("{s:I,s:b,s:s,s:I}", "batch", (json_int_t)bid,
                                 "already_signed", 1, "response", out, "certificates",
                                 (json_int_t)n));
    else
        printf("response for batch %lld written to %s (%zu certificates)\n", (long long)bid, out,
               n);
    return EXIT_OK;
}

/* A response is a CARI zip or a directory: an --out named like a single
 * certificate (.pem, .crt, .cer, .der) would get a zip under that name.
 * Returns 0 or EXIT_USAGE (message printed). */
static int response_name_ok(const ca_common *c, const char *out)
{
    struct stat st;
    const char *dot = strrchr(out, '.');
    if (!dot || strchr(dot, '/') || (stat(out, &st) == 0 && S_ISDIR(st.st_mode)))
        return 0;
    if (strcasecmp(dot, ".pem") && strcasecmp(dot, ".crt") && strcasecmp(dot, ".cer") &&
        strcasecmp(dot, ".der"))
        return 0;
    cli_error(c->prog,
              "--out %s: a response is a CARI zip (name it .zip) or a directory (end it with "
              "/); one certificate as PEM: bacsc ca issue --csr FILE --out %s",
              out, out);
    return EXIT_USAGE;
}

/* A SOURCE that is one CSR file, not a zip or directory: say what to use. */
static void hint_single_csr(const ca_common *c, const char *source)
{
    FILE *f = fopen(source, "rb");
    char head[4096] = "";
    size_t n = f ? fread(head, 1, sizeof head - 1, f) : 0;
    if (f)
        fclose(f);
    head[n] = 0;
    bool pem = strstr(head, "-----BEGIN CERTIFICATE REQUEST-----") ||
               strstr(head, "-----BEGIN NEW CERTIFICATE REQUEST-----");
    const unsigned char *p = (const unsigned char *)head;
    X509_REQ *der = pem ? NULL : d2i_X509_REQ(NULL, &p, (long)n);
    if (pem || der)
        fprintf(stderr,
                "bacsc %s: %s is a single CSR: issue it with bacsc ca issue --csr %s --out "
                "CERT.pem (ca sign takes a CARI request zip or a directory of CSRs)\n",
                c->prog, source, source);
    X509_REQ_free(der);
}

/* The summary of a submitted (and, with `out`, signed) batch; `arr` (the
 * entries, with --json) is consumed. */
static void report_batch(bacsc_ca *ca, int64_t bid, const bacsc_ca_source *src, int issued,
                         int rejected, int bad, const char *out, size_t n_out, json_t *arr)
{
    if (arr) {
        json_t *o = json_object();
        json_object_set_new(o, "batch", json_integer(bid));
        json_object_set_new(o, "entries", arr);
        json_object_set_new(o, "issued", json_integer(issued));
        json_object_set_new(o, "rejected", json_integer(rejected));
        json_object_set_new(o, "unreadable", json_integer(bad));
        if (out)
            json_object_set_new(o, "response", json_string(out));
        cli_print_json(o);
        return;
    }
    int pending = 0;
    bacsc_ca_batches(ca, bid, batch_pending, &pending);
    printf("batch %lld: %zu entries, %d issued, %d pending, %d rejected, %d unreadable\n",
           (long long)bid, src->n + src->n_bad, issued, pending, rejected, bad);
    if (out)
        printf("response written to %s (%zu certificates)\n", out, n_out);
}

static int cmd_submit_or_sign(int argc, char **argv, int mode /* 0 submit, 1 sign */)
{
    submit_opts op = {0};
    int optrc = ca_parse(mode ? &sign_spec : &submit_spec, &op, &op.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    ca_common c = op.c;
    const char *site = op.site, *origin = op.origin, *out = op.out;
    if (cli_extra_args(c.prog, argc, argv, 1))
        return EXIT_USAGE;
    if (argc != 2 || (mode && !out)) {
        cli_error(c.prog, "%s", mode && !out ? "--out RESPONSE is required"
                                             : "exactly one SOURCE (zip or directory) expected");
        return EXIT_USAGE;
    }
    if (cli_empty_operand(c.prog, "SOURCE", argv[1]))
        return EXIT_USAGE;
    if (mode && response_name_ok(&c, out) != 0)
        return EXIT_USAGE;
    if (mode && ca_check_out_path(&c, out) != 0)
        return EXIT_FAIL;
    bacsc_ca *ca = ca_open(&c);
    if (!ca)
        return EXIT_FAIL;
    if (mode) {
        /* Refuse before storing anything if this run could not sign. */
        int crc = bacsc_ca_check_signing(ca);
        if (crc != BACSC_OK) {
            int e = ca_fail_rc(&c, ca, crc);
            bacsc_ca_close(ca);
            return e;
        }
    }
    bacsc_ca_source src;
    char err[512] = "";
    int rc = bacsc_ca_source_load_policy(argv[1], bacsc_ca_policy(ca), &src, err, sizeof err);
    if (rc != BACSC_OK) {
        cli_error(c.prog, "%s", err);
        hint_single_csr(&c, argv[1]);
        bacsc_ca_close(ca);
        return rc == BACSC_ERR_IO ? EXIT_FAIL : EXIT_DATAERR;
    }
    if (site)
        src.batch.site = site;
    if (origin)
        src.batch.origin = origin;
    /* A signed batch: its signer is who submitted it (or nobody, if the
     * signature is not one the policy trusts). */
    char signer[400];
    int sr = bacsc_ca_source_actor(ca, &src, c.actor, (int64_t)time(NULL), signer,
                                   sizeof signer);
    if (sr == 1 && !c.json)
        fprintf(stderr, "%s: %s\n", argv[1], signer);
    else if (sr < 0)
        fprintf(stderr,
                "%s: warning: %s; the batch is treated as unauthenticated (never "
                "auto-approved)\n",
                argv[1], signer);
    char when[32];
    int64_t done = mode && !op.reissue && src.batch.sha256
                       ? batch_of_file(ca, src.batch.sha256, when)
                       : 0;
    if (done) {
        int e = sign_again(&c, ca, done, when, argv[1], out);
        bacsc_ca_source_free(&src);
        bacsc_ca_close(ca);
        return e;
    }
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
        ex = ca_fail_rc(&c, ca, rc);
        goto out;
    }
    print_submit(&c, &src, res, arr);
    int rejected = count_status(res, src.n, BACSC_REQ_REJECTED);
    int issued = 0;
    /* sign: the response is read from the store while the batch is issued */
    bacsc_ca_response_ahead *ahead = mode ? bacsc_ca_response_begin(ca, bid) : NULL;
    if (mode) {
        /* Installer is the administrator: approve what passed policy. */
        bacsc_selector sel = {.batch_id = bid};
        decide_ctx d = {.c = &c};
        rc = bacsc_ca_approve(ca, &sel, NULL, &d);
    } else {
        rc = bacsc_ca_issue_approved(ca, bid, NULL, NULL);
    }
    if (rc < 0) {
        bacsc_ca_response_cancel(ahead);
        ex = ca_fail_rc(&c, ca, rc);
        goto out;
    }
    issued = rc;
    size_t n_out = 0;
    if (mode && respond(&c, ca, bid, out, &n_out, ahead) != BACSC_OK) {
        ex = EXIT_FAIL;
        goto out;
    }
    report_batch(ca, bid, &src, issued, rejected, bad, mode ? out : NULL, n_out, arr);
    arr = NULL;
    if (rejected || bad)
        ex = EXIT_PARTIAL;
out:
    json_decref(arr);
    free(res);
    bacsc_ca_source_free(&src);
    bacsc_ca_close(ca);
    return ex;
}

int ca_cmd_submit(int argc, char **argv)
{
    return cmd_submit_or_sign(argc, argv, 0);
}

int ca_cmd_sign(int argc, char **argv)
{
    return cmd_submit_or_sign(argc, argv, 1);
}

int ca_cmd_respond(int argc, char **argv)
{
    submit_opts o = {0};
    int optrc = ca_parse(&respond_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    ca_common c = o.c;
    int64_t bid = o.batch;
    const char *out = o.out;
    if (cli_extra_args(c.prog, argc, argv, 0))
        return EXIT_USAGE;
    if (!bid || !out) {
        cli_error(c.prog, "--batch B and --out RESPONSE are required");
        return EXIT_USAGE;
    }
    if (response_name_ok(&c, out) != 0)
        return EXIT_USAGE;
    bacsc_ca *ca = ca_open(&c);
    if (!ca)
        return EXIT_FAIL;
    size_t n = 0;
    int ex = respond(&c, ca, bid, out, &n, NULL) == BACSC_OK ? EXIT_OK : EXIT_FAIL;
    if (ex == EXIT_OK) {
        printf("response for batch %lld written to %s (%zu certificates)\n", (long long)bid, out,
               n);
        note_pending(ca, bid);
    }
    bacsc_ca_close(ca);
    return ex;
}
