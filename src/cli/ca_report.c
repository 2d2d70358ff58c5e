/* ca_report.c — `bacsc ca pending/list/audit/batches`: what the CA holds
 * (see ca_cli.h, docs/ca.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "bacsc/ca_files.h"
#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "ca_cli.h"
#include "cli.h"

/* ---- pending / list / audit -------------------------------------------------- */

typedef struct print_ctx {
    bool json;
    json_t *arr;
    const char *header; /* column names, printed before the first text row */
} print_ctx;

/* Print the header row once, before the first row of text output. */
static void heading(print_ctx *p)
{
    if (p->header) {
        fputs(p->header, stdout);
        p->header = NULL;
    }
}

#define PENDING_HEADER                                                                             \
    "ID     BATCH STATUS   DEVICE UUID                          SUBJECT                        "  \
    "KEY SHA-256      CREATED  [REASON]\n"
#define LIST_HEADER                                                                                \
    "SERIAL                           STATUS  NOT AFTER            DEVICE UUID                    "  \
    "      SUBJECT\n"
#define AUDIT_HEADER                                                                               \
    "ID     TIME                 ACTOR        ACTION       OBJECT                                   "\
    "DETAIL\n"
#define BATCHES_HEADER "ID    DIR CREATED              SITE                 COUNTS  FILE\n"

static int print_request(const bacsc_request_row *r, void *user)
{
    print_ctx *p = user;
    char created[32];
    ca_fmt_time(r->created, created, sizeof created);
    if (p->json) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(r->id));
        json_object_set_new(o, "batch", json_integer(r->batch_id));
        json_object_set_new(o, "status", json_string(bacsc_req_status_name(r->status)));
        json_object_set_new(o, "entry", ca_json_str(r->entry));
        json_object_set_new(o, "ref", ca_json_str(r->ref));
        json_object_set_new(o, "device_uuid", ca_json_str(r->device_uuid));
        json_object_set_new(o, "device_instance",
                            r->device_instance >= 0 ? json_integer(r->device_instance)
                                                    : json_null());
        json_object_set_new(o, "device_name", ca_json_str(r->device_name));
        json_object_set_new(o, "subject", ca_json_str(r->subject));
        json_object_set_new(o, "key_sha256", ca_json_str(r->key_fp));
        json_object_set_new(o, "created", ca_json_time(r->created));
        json_object_set_new(o, "decided", ca_json_time(r->decided));
        json_object_set_new(o, "decided_by", ca_json_str(r->decided_by));
        json_object_set_new(o, "reason", ca_json_str(r->reason));
        json_object_set_new(o, "serial", ca_json_str(r->serial));
        json_array_append_new(p->arr, o);
    } else {
        heading(p);
        printf("%-6lld %-5lld %-8s %-36s %-30s %.16s %s%s%s\n", (long long)r->id,
               (long long)r->batch_id, bacsc_req_status_name(r->status),
               r->device_uuid ? r->device_uuid : "-", r->subject ? r->subject : "-",
               r->key_fp ? r->key_fp : "-", created, r->reason ? "  " : "",
               r->reason ? r->reason : "");
    }
    return 0;
}

typedef struct pending_opts {
    ca_common c;
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

int ca_cmd_pending(int argc, char **argv)
{
    pending_opts o = {0};
    int optrc = ca_parse(&pending_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    ca_common c = o.c;
    int64_t batch = o.batch;
    bool all = o.all;
    if (argc != 1) {
        cli_error(c.prog, "unexpected argument '%s'", argv[1]);
        return EXIT_USAGE;
    }
    bacsc_ca *ca = ca_open(&c);
    if (!ca)
        return EXIT_FAIL;
    print_ctx p = {.json = c.json, .arr = c.json ? json_array() : NULL, .header = PENDING_HEADER};
    int rc = bacsc_ca_requests(ca, all ? -1 : BACSC_REQ_PENDING, batch, print_request, &p);
    int ex = rc < 0 ? ca_fail_rc(&c, ca, rc) : EXIT_OK;
    if (c.json)
        cli_print_json(p.arr);
    bacsc_ca_close(ca);
    return ex;
}

static int print_cert(const bacsc_cert_row *r, void *user)
{
    print_ctx *p = user;
    char na[32];
    ca_fmt_time(r->not_after, na, sizeof na);
    const char *status = r->revoked                           ? "revoked"
                         : r->not_after <= (int64_t)time(NULL) ? "expired"
                                                               : "valid";
    if (p->json) {
        json_t *o = json_object();
        json_object_set_new(o, "serial", ca_json_str(r->serial));
        json_object_set_new(o, "status", json_string(status));
        json_object_set_new(o, "subject", ca_json_str(r->subject));
        json_object_set_new(o, "device_uuid", ca_json_str(r->device_uuid));
        json_object_set_new(o, "key_sha256", ca_json_str(r->key_fp));
        json_object_set_new(o, "not_before", ca_json_time(r->not_before));
        json_object_set_new(o, "not_after", ca_json_time(r->not_after));
        json_object_set_new(o, "issued", ca_json_time(r->issued));
        json_object_set_new(o, "request", json_integer(r->request_id));
        json_object_set_new(o, "batch", json_integer(r->batch_id));
        if (r->revoked) {
            json_object_set_new(o, "revocation_reason",
                                json_string(bacsc_pki_crl_reason_name(r->revocation_reason)));
            json_object_set_new(o, "revoked_at", ca_json_time(r->revoked_at));
        }
        json_array_append_new(p->arr, o);
    } else {
        heading(p);
        printf("%-32s %-7s %-20s %-36s %s\n", r->serial, status, na,
               r->device_uuid ? r->device_uuid : "-", r->subject ? r->subject : "-");
    }
    return 0;
}

typedef struct list_opts {
    ca_common c;
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

int ca_cmd_list(int argc, char **argv)
{
    list_opts o = {0};
    int optrc = ca_parse(&list_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    ca_common c = o.c;
    bacsc_cert_filter f = {.expiring_within = (int64_t)o.expiring * 86400,
                           .valid_only = o.valid, .batch_id = o.batch};
    if (argc != 1) {
        cli_error(c.prog, "unexpected argument '%s'", argv[1]);
        return EXIT_USAGE;
    }
    bacsc_ca *ca = ca_open(&c);
    if (!ca)
        return EXIT_FAIL;
    print_ctx p = {.json = c.json, .arr = c.json ? json_array() : NULL, .header = LIST_HEADER};
    int rc = bacsc_ca_certs(ca, &f, print_cert, &p);
    int ex = rc < 0 ? ca_fail_rc(&c, ca, rc) : EXIT_OK;
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
        json_object_set_new(o, "time", ca_json_time(r->time));
        json_object_set_new(o, "actor", ca_json_str(r->actor));
        json_object_set_new(o, "auth", ca_json_str(r->auth));
        json_object_set_new(o, "action", ca_json_str(r->action));
        json_object_set_new(o, "object", ca_json_str(r->object));
        json_object_set_new(o, "detail", ca_json_str(r->detail));
        json_array_append_new(p->arr, o);
    } else {
        char t[32];
        ca_fmt_time(r->time, t, sizeof t);
        heading(p);
        printf("%-6lld %s %-12s %-12s %-40s %s\n", (long long)r->id, t, r->actor, r->action,
               r->object ? r->object : "-", r->detail ? r->detail : "");
    }
    return 0;
}

static int audit_verify(ca_common *c, bacsc_ca *ca)
{
    bacsc_audit_check chk;
    int rc = bacsc_ca_audit_verify(ca, &chk);
    int ex = rc == BACSC_OK ? EXIT_OK : rc == BACSC_ERR_POLICY ? EXIT_FAIL : ca_fail_rc(c, ca, rc);
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
    ca_common c;
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

int ca_cmd_audit(int argc, char **argv)
{
    audit_opts o = {0};
    int optrc = ca_parse(&audit_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    ca_common c = o.c;
    int64_t since = o.since;
    bool verify = o.verify;
    bacsc_ca *ca = ca_open(&c);
    if (!ca)
        return EXIT_FAIL;
    if (verify)
        return audit_verify(&c, ca);
    print_ctx p = {.json = c.json, .arr = c.json ? json_array() : NULL, .header = AUDIT_HEADER};
    int rc = bacsc_ca_audit(ca, since, print_audit, &p);
    int ex = rc < 0 ? ca_fail_rc(&c, ca, rc) : EXIT_OK;
    if (c.json)
        cli_print_json(p.arr);
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
        json_object_set_new(o, "direction", ca_json_str(r->direction));
        json_object_set_new(o, "file", ca_json_str(r->file_name));
        json_object_set_new(o, "sha256", ca_json_str(r->sha256));
        json_object_set_new(o, "site", ca_json_str(r->site));
        json_object_set_new(o, "origin", ca_json_str(r->origin));
        json_object_set_new(o, "ref", ca_json_str(r->ref));
        json_object_set_new(o, "submitter", ca_json_str(r->submitter));
        json_object_set_new(o, "created", ca_json_time(r->created));
        if (r->for_batch)
            json_object_set_new(o, "for_batch", json_integer(r->for_batch));
        json_object_set_new(o, "requests", json_integer(r->n_requests));
        json_object_set_new(o, "pending", json_integer(r->n_pending));
        json_object_set_new(o, "issued", json_integer(r->n_issued));
        json_object_set_new(o, "rejected", json_integer(r->n_rejected));
        json_array_append_new(p->arr, o);
    } else {
        char t[32];
        ca_fmt_time(r->created, t, sizeof t);
        heading(p);
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

int ca_cmd_batches(int argc, char **argv)
{
    ca_common_only o = {0};
    int optrc = ca_parse(&batches_spec, &o, &o.c, &argc, argv);
    if (optrc >= 0)
        return optrc;
    ca_common c = o.c;
    bacsc_ca *ca = ca_open(&c);
    if (!ca)
        return EXIT_FAIL;
    print_ctx p = {.json = c.json, .arr = c.json ? json_array() : NULL, .header = BATCHES_HEADER};
    int rc = bacsc_ca_batches(ca, 0, print_batch, &p);
    int ex = rc < 0 ? ca_fail_rc(&c, ca, rc) : EXIT_OK;
    if (c.json)
        cli_print_json(p.arr);
    bacsc_ca_close(ca);
    return ex;
}

