/* ca_report.c — `bacsc ca pending/list/audit/batches`: what the CA holds
 * (see ca_cli.h, docs/ca.md). */
#include <errno.h>
#include <stddef.h>
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

/* ---- the listings: one column table each ------------------------------------ */

/* A column of a listing: a JSON member and/or a text column, read from a
 * field of the row (offsetof) or computed (COL_NAME). The JSON members come
 * in table order; the text columns in the order of `text` (1, 2, ...),
 * each printed with `fmt` (separators included) and the row ends with a
 * newline. */
typedef enum { COL_I64, COL_STR, COL_TIME, COL_NAME } col_kind;

typedef struct col {
    const char *key;                      /* JSON member; NULL: text only */
    col_kind kind;
    size_t off;                           /* the field (COL_I64 int64_t, COL_STR const char *,
                                             COL_TIME int64_t Unix seconds) */
    const char *(*name)(const void *row); /* COL_NAME: the value */
    bool (*when)(const void *row);        /* JSON member only when true (NULL: always) */
    int text;                             /* position in the text row; 0: JSON only */
    const char *fmt;                      /* text: printf format of the value */
    const char *none;                     /* text of a NULL string (NULL: as printf prints it) */
    unsigned flags;
} col;

#define COL_NULL_NEG 1u  /* JSON null when negative */
#define COL_OMIT_ZERO 2u /* no JSON member when 0 */
#define COL_GAP 4u       /* text: two spaces before a value, nothing for NULL */
#define COL_TEXT_MAX 16

#define FIELD(T, f) .off = offsetof(T, f)

static int64_t col_i64(const col *c, const void *row)
{
    int64_t v;
    memcpy(&v, (const char *)row + c->off, sizeof v);
    return v;
}

static const char *col_str(const col *c, const void *row)
{
    const char *v;
    if (c->kind == COL_NAME)
        return c->name(row);
    memcpy(&v, (const char *)row + c->off, sizeof v);
    return v;
}

static json_t *col_json(const col *c, const void *row)
{
    switch (c->kind) {
    case COL_I64: {
        int64_t v = col_i64(c, row);
        return (c->flags & COL_NULL_NEG) && v < 0 ? json_null() : json_integer(v);
    }
    case COL_TIME: return ca_json_time(col_i64(c, row));
    case COL_NAME: return json_string(col_str(c, row));
    default: return ca_json_str(col_str(c, row));
    }
}

static void col_text(const col *c, const void *row)
{
    if (c->kind == COL_I64) {
        printf(c->fmt, (long long)col_i64(c, row));
        return;
    }
    char t[32];
    const char *v = t;
    if (c->kind == COL_TIME)
        ca_fmt_time(col_i64(c, row), t, sizeof t);
    else
        v = col_str(c, row);
    if (c->flags & COL_GAP) {
        if (!v)
            return;
        fputs("  ", stdout);
    }
    printf(c->fmt, v || !c->none ? v : c->none);
}

typedef struct print_ctx {
    const col *cols;    /* ended by a column without key and text */
    bool json;
    json_t *arr;
    const char *header; /* column names, printed before the first text row */
} print_ctx;

static int print_row(const void *row, print_ctx *p)
{
    if (p->json) {
        json_t *o = json_object();
        for (const col *c = p->cols; c->key || c->text; c++) {
            if (!c->key || (c->when && !c->when(row)) ||
                ((c->flags & COL_OMIT_ZERO) && col_i64(c, row) == 0))
                continue;
            json_object_set_new(o, c->key, col_json(c, row));
        }
        json_array_append_new(p->arr, o);
        return 0;
    }
    if (p->header) {
        fputs(p->header, stdout);
        p->header = NULL;
    }
    const col *order[COL_TEXT_MAX] = {0};
    int n = 0;
    for (const col *c = p->cols; c->key || c->text; c++)
        if (c->text > 0 && c->text <= COL_TEXT_MAX) {
            order[c->text - 1] = c;
            if (c->text > n)
                n = c->text;
        }
    for (int i = 0; i < n; i++)
        if (order[i])
            col_text(order[i], row);
    fputc('\n', stdout);
    return 0;
}

/* The end of every listing: the JSON array printed, the CA closed. */
static int list_finish(ca_common *c, bacsc_ca *ca, print_ctx *p, int rc)
{
    int ex = rc < 0 ? ca_fail_rc(c, ca, rc) : EXIT_OK;
    if (c->json)
        cli_print_json(p->arr);
    bacsc_ca_close(ca);
    return ex;
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

/* ---- pending ------------------------------------------------------------------- */

static const char *request_status(const void *row)
{
    return bacsc_req_status_name(((const bacsc_request_row *)row)->status);
}

#define RQ(f) FIELD(bacsc_request_row, f)
static const col request_cols[] = {
    {"id", COL_I64, RQ(id), .text = 1, .fmt = "%-6lld "},
    {"batch", COL_I64, RQ(batch_id), .text = 2, .fmt = "%-5lld "},
    {"status", COL_NAME, .name = request_status, .text = 3, .fmt = "%-8s "},
    {"entry", COL_STR, RQ(entry)},
    {"ref", COL_STR, RQ(ref)},
    {"device_uuid", COL_STR, RQ(device_uuid), .text = 4, .fmt = "%-36s ", .none = "-"},
    {"device_instance", COL_I64, RQ(device_instance), .flags = COL_NULL_NEG},
    {"device_name", COL_STR, RQ(device_name)},
    {"subject", COL_STR, RQ(subject), .text = 5, .fmt = "%-30s ", .none = "-"},
    {"key_sha256", COL_STR, RQ(key_fp), .text = 6, .fmt = "%.16s ", .none = "-"},
    {"created", COL_TIME, RQ(created), .text = 7, .fmt = "%s"},
    {"decided", COL_TIME, RQ(decided)},
    {"decided_by", COL_STR, RQ(decided_by)},
    {"reason", COL_STR, RQ(reason), .text = 8, .fmt = "%s", .flags = COL_GAP},
    {"serial", COL_STR, RQ(serial)},
    {0}};

static int print_request(const bacsc_request_row *r, void *user)
{
    return print_row(r, user);
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
    bacsc_ca *ca;
    int ex = ca_cli_begin(&pending_spec, &o, &o.c, argc, argv, &ca);
    if (ex >= 0)
        return ex;
    ca_common c = o.c;
    int64_t batch = o.batch;
    bool all = o.all;
    print_ctx p = {request_cols, c.json, c.json ? json_array() : NULL, PENDING_HEADER};
    return list_finish(&c, ca, &p,
                       bacsc_ca_requests(ca, all ? -1 : BACSC_REQ_PENDING, batch, print_request,
                                         &p));
}

/* ---- list ----------------------------------------------------------------------- */

static const char *cert_status(const void *row)
{
    const bacsc_cert_row *r = row;
    return r->revoked                            ? "revoked"
           : r->not_after <= (int64_t)time(NULL) ? "expired"
                                                 : "valid";
}

static const char *cert_revocation_reason(const void *row)
{
    return bacsc_pki_crl_reason_name(((const bacsc_cert_row *)row)->revocation_reason);
}

static bool cert_revoked(const void *row)
{
    return ((const bacsc_cert_row *)row)->revoked;
}

#define CR(f) FIELD(bacsc_cert_row, f)
static const col cert_cols[] = {
    {"serial", COL_STR, CR(serial), .text = 1, .fmt = "%-32s "},
    {"status", COL_NAME, .name = cert_status, .text = 2, .fmt = "%-7s "},
    {"subject", COL_STR, CR(subject), .text = 5, .fmt = "%s", .none = "-"},
    {"device_uuid", COL_STR, CR(device_uuid), .text = 4, .fmt = "%-36s ", .none = "-"},
    {"key_sha256", COL_STR, CR(key_fp)},
    {"not_before", COL_TIME, CR(not_before)},
    {"not_after", COL_TIME, CR(not_after), .text = 3, .fmt = "%-20s "},
    {"issued", COL_TIME, CR(issued)},
    {"request", COL_I64, CR(request_id)},
    {"batch", COL_I64, CR(batch_id)},
    {"revocation_reason", COL_NAME, .name = cert_revocation_reason, .when = cert_revoked},
    {"revoked_at", COL_TIME, CR(revoked_at), .when = cert_revoked},
    {0}};

static int print_cert(const bacsc_cert_row *r, void *user)
{
    return print_row(r, user);
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
    bacsc_ca *ca;
    int ex = ca_cli_begin(&list_spec, &o, &o.c, argc, argv, &ca);
    if (ex >= 0)
        return ex;
    ca_common c = o.c;
    bacsc_cert_filter f = {.expiring_within = (int64_t)o.expiring * 86400,
                           .valid_only = o.valid, .batch_id = o.batch};
    print_ctx p = {cert_cols, c.json, c.json ? json_array() : NULL, LIST_HEADER};
    return list_finish(&c, ca, &p, bacsc_ca_certs(ca, &f, print_cert, &p));
}

/* ---- audit ---------------------------------------------------------------------- */

#define AU(f) FIELD(bacsc_audit_row, f)
static const col audit_cols[] = {
    {"id", COL_I64, AU(id), .text = 1, .fmt = "%-6lld "},
    {"time", COL_TIME, AU(time), .text = 2, .fmt = "%s "},
    {"actor", COL_STR, AU(actor), .text = 3, .fmt = "%-12s "},
    {"auth", COL_STR, AU(auth)},
    {"action", COL_STR, AU(action), .text = 4, .fmt = "%-12s "},
    {"object", COL_STR, AU(object), .text = 5, .fmt = "%-40s ", .none = "-"},
    {"detail", COL_STR, AU(detail), .text = 6, .fmt = "%s", .none = ""},
    {0}};

static int print_audit(const bacsc_audit_row *r, void *user)
{
    return print_row(r, user);
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
    bacsc_ca *ca;
    int ex = ca_cli_begin(&audit_spec, &o, &o.c, argc, argv, &ca);
    if (ex >= 0)
        return ex;
    ca_common c = o.c;
    int64_t since = o.since;
    bool verify = o.verify;
    if (verify)
        return audit_verify(&c, ca);
    print_ctx p = {audit_cols, c.json, c.json ? json_array() : NULL, AUDIT_HEADER};
    return list_finish(&c, ca, &p, bacsc_ca_audit(ca, since, print_audit, &p));
}

/* ---- batches ------------------------------------------------------------------- */

#define BA(f) FIELD(bacsc_batch_row, f)
static const col batch_cols[] = {
    {"id", COL_I64, BA(id), .text = 1, .fmt = "%-5lld "},
    {"direction", COL_STR, BA(direction), .text = 2, .fmt = "%-3s "},
    {"file", COL_STR, BA(file_name), .text = 9, .fmt = "%s", .none = ""},
    {"sha256", COL_STR, BA(sha256)},
    {"site", COL_STR, BA(site), .text = 4, .fmt = "%-20s ", .none = "-"},
    {"origin", COL_STR, BA(origin)},
    {"ref", COL_STR, BA(ref)},
    {"submitter", COL_STR, BA(submitter)},
    {"created", COL_TIME, BA(created), .text = 3, .fmt = "%s "},
    {"for_batch", COL_I64, BA(for_batch), .flags = COL_OMIT_ZERO},
    {"requests", COL_I64, BA(n_requests), .text = 5, .fmt = "req %lld "},
    {"pending", COL_I64, BA(n_pending), .text = 6, .fmt = "pending %lld "},
    {"issued", COL_I64, BA(n_issued), .text = 7, .fmt = "issued %lld "},
    {"rejected", COL_I64, BA(n_rejected), .text = 8, .fmt = "rejected %lld  "},
    {0}};

static int print_batch(const bacsc_batch_row *r, void *user)
{
    return print_row(r, user);
}

CA_SPEC_COMMON(batches, "ca batches",
               "usage: bacsc ca batches [--dir DIR] [--json]\n\n"
               "List batches received (in) and responses written (out), with counts.\n");

int ca_cmd_batches(int argc, char **argv)
{
    ca_common_only o = {0};
    bacsc_ca *ca;
    int ex = ca_cli_begin(&batches_spec, &o, &o.c, argc, argv, &ca);
    if (ex >= 0)
        return ex;
    ca_common c = o.c;
    print_ctx p = {batch_cols, c.json, c.json ? json_array() : NULL, BATCHES_HEADER};
    return list_finish(&c, ca, &p, bacsc_ca_batches(ca, 0, print_batch, &p));
}

