/*
 * site_rollover.c — `bacsc site rollover`: a CA rollover as four phases a
 * user runs one at a time, each refusing to start before the previous one
 * is complete on every device (docs/lifecycle.md "CA rollover"). The phases
 * run the existing workflows: trust add (1), renew + import (2), the hubs
 * (3, confirmed by the operator), trust remove (4).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "cli.h"
#include "site_cli.h"
#include "site_revoke.h"

static const cli_opt rollover_rows[] = {
    CLI_STR("new-ca", 0, "NEW_CA.pem", opts, new_ca,
            "the CA to move to (starts the rollover; later runs\\n"
            "may leave it out)"),
    CLI_UINT("phase", 0, "N", opts, phase, 1, 4, "run phase N (1..4); without it: show the phases"),
    CLI_STR("out", 0, "REQ.zip", opts, out, "phase 2: the CARI request of the renewals"),
    CLI_STR("response", 0, "RESP.zip", opts, response,
            "phase 2: the new CA's response to import"),
    CLI_FLAG("hubs-done", 0, opts, hubs_done,
             "phase 3: the hubs hold new-CA certificates and\\ntrust both CAs"),
    CLI_STR("force", 0, "DEVICES", opts, force,
            "start although these devices did not complete the\\n"
            "previous phase (they are left out)"),
    CLI_END};

static const cli_part rollover_help[] = {
    CLI_TEXT("usage: bacsc site rollover [--new-ca NEW_CA.pem] [--phase N [--out REQ.zip |\n"
             "                           --response RESP.zip | --hubs-done]] [--force DEVICES]\n"
             "                           [--password PW] [network options] [--json] [--quiet]\n"
             "\n"
             "Move the site from its CA to NEW_CA in four phases, one at a time:\n"
             "  1  install NEW_CA as the second issuer on every device;\n"
             "  2  --out: every device makes a new key and CSR (the site CA becomes NEW_CA);\n"
             "     sign it with the new CA; --response: install the new certificates;\n"
             "  3  renew the hubs' certificates from NEW_CA (by hand), then --hubs-done;\n"
             "  4  remove the old CA from every device.\n"
             "A phase refuses to start until the previous one is complete on every device\n"
             "(--force DEVICES: those are left out). Without --phase: the phase each device\n"
             "completed. Every phase can be rerun (killed and partial jobs resume).\n"
             "\n"),
    SITE_GROUPS_NET(rollover_rows),
    CLI_GROUP(NULL, site_password_rows, 0),
    CLI_TEXT("Exit status: 0 ok, 1 failed or a phase not ready, 5 some devices failed,\n"
             "3 bad CA certificate or response, 2 usage.\n"),
    CLI_END};
static const cli_spec site_rollover_spec = {"site rollover", rollover_help, .col = SITE_HELP_COL};
static const site_verb rollover_verb = {.spec = &site_rollover_spec};

/* The devices a phase works on: every device that completed `need`, except
 * the forced ones; the others are counted in *behind. */
typedef struct pick {
    const bacsc_site_rollover *r;
    int need, done;                        /* phase needed / that this phase reaches */
    bacsc_site_selection force;
    bool has_force;
    bacsc_site_selection sel;
    unsigned behind, first_behind, counts[5];
    bool overflow, print;
    json_t *rows;
} pick;

static void sel_add(pick *p, uint32_t inst)
{
    bacsc_site_selection *s = &p->sel;
    if (s->n && s->r[s->n - 1].hi + 1 == inst)
        s->r[s->n - 1].hi = inst;
    else if (s->n < sizeof s->r / sizeof s->r[0]) {
        s->r[s->n].lo = s->r[s->n].hi = inst;
        s->n++;
    } else {
        p->overflow = true;
    }
}

static int pick_one(void *user, const bacsc_site_device *d)
{
    pick *p = user;
    int ph = bacsc_site_rollover_phase(p->r, d);
    p->counts[ph]++;
    if (p->rows)
        json_array_append_new(p->rows, json_pack("{s:I,s:s,s:i}", "instance",
                                                 (json_int_t)d->instance, "name", d->name,
                                                 "phase", ph));
    if (p->print)
        printf("%-8u %-20.20s %d\n", (unsigned)d->instance, d->name[0] ? d->name : "-", ph);
    if (p->has_force && bacsc_site_selection_has(&p->force, d->instance))
        return 0;
    if (p->done && ph >= p->done)
        return 0; /* this phase is complete there */
    if (ph < p->need) {
        if (!p->behind++)
            p->first_behind = d->instance;
        return 0;
    }
    sel_add(p, d->instance);
    return 0;
}

static int show(bacsc_site *s, const opts *o, pick *p)
{
    if (o->json)
        p->rows = json_array();
    else
        printf("%-8s %-20s %s\n", "INSTANCE", "NAME", "PHASE COMPLETED");
    p->print = !o->json;
    int rc = bacsc_site_devices(s, pick_one, p);
    if (o->json) {
        cli_print_json(json_pack("{s:b,s:o,s:i,s:i,s:i,s:i}", "hubs_done", p->r->hubs_done,
                                 "devices", p->rows, "phase0", p->counts[0], "phase1",
                                 p->counts[1], "phase2", p->counts[2], "phase4", p->counts[4]));
        return rc == BACSC_OK ? EXIT_OK : EXIT_FAIL;
    }
    printf("%u devices: %u none, %u phase 1 (trust), %u phase 2 (new certificate), %u phase 4 "
           "(old CA removed); hubs (phase 3) %s\n",
           p->counts[0] + p->counts[1] + p->counts[2] + p->counts[4], p->counts[0], p->counts[1],
           p->counts[2], p->counts[4], p->r->hubs_done ? "done" : "not confirmed");
    return rc == BACSC_OK ? EXIT_OK : EXIT_FAIL;
}

/* Select the devices of phase `n` (that completed n-1, or 2 for phase 4). */
static int ready(bacsc_site *s, const opts *o, pick *p, int n)
{
    p->need = n == 4 ? 2 : n - 1;
    p->done = n;
    if (o->force && bacsc_site_selection_parse(o->force, &p->force) != BACSC_OK) {
        cli_error(o->prog, "bad --force list '%s'", o->force);
        return EXIT_USAGE;
    }
    p->has_force = o->force != NULL;
    if (bacsc_site_devices(s, pick_one, p) != BACSC_OK)
        return site_cmd_fail(s, o, EXIT_FAIL);
    if (p->behind) {
        cli_error(o->prog, "phase %d: %u device%s did not complete phase %d (first: %u); "
                           "finish it, or --force DEVICES",
                  n, p->behind, p->behind == 1 ? "" : "s", p->need, p->first_behind);
        return EXIT_FAIL;
    }
    if (p->overflow) {
        cli_error(o->prog, "too many device ranges; use fewer --force devices");
        return EXIT_FAIL;
    }
    if (p->sel.n == 0) {
        if (!o->json)
            printf("phase %d is complete on every device\n", n);
        return EXIT_OK;
    }
    return -1;
}

static int run_job(bacsc_site *s, const opts *o, int64_t job)
{
    site_note_resumed(s, o, job);
    return site_run_job(s, o, job, NULL);
}

static int phase2(bacsc_site *s, const opts *o, pick *p)
{
    int64_t job;
    if (o->response) {
        unsigned char *data = NULL;
        size_t len = 0;
        if (cli_read_file(o->prog, o->response, 512u << 20, &data, &len) != 0)
            return EXIT_FAIL;
        bacsc_site_import_entry *e = NULL;
        size_t ne = 0;
        bool resumed;
        char err[512];
        int rc = bacsc_site_prepare_import(s, data, len, false, &e, &ne, &job, &resumed, err,
                                           sizeof err);
        free(data);
        free(e);
        if (rc == BACSC_ERR_EXISTS)
            return EXIT_OK;
        if (rc != BACSC_OK) {
            cli_error(o->prog, "%s: %s", o->response, err);
            return EXIT_DATAERR;
        }
        int ex = run_job(s, o, job);
        /* the old certificates go with the old CA in phase 4 */
        site_revoke_superseded(s, o->prog, NULL, true, true, NULL);
        return ex;
    }
    if (bacsc_site_rollover_switch_ca(s) != BACSC_OK ||
        bacsc_site_prepare_renew(s, &p->sel, 0, BACSC_SITE_CSR_KEEP, &job) != BACSC_OK)
        return site_cmd_fail(s, o, EXIT_FAIL);
    int ex = run_job(s, o, job);
    size_t count = 0;
    if (bacsc_site_write_request_job(s, job, o->out, &count) != BACSC_OK)
        return site_cmd_fail(s, o, ex == EXIT_OK ? EXIT_FAIL : ex);
    if (!o->json)
        printf("wrote %s: %zu CSR%s; sign it with the new CA, then --phase 2 --response\n",
               o->out, count, count == 1 ? "" : "s");
    return ex;
}

static int run_phase(bacsc_site *s, const opts *o, const bacsc_site_rollover *r, pick *p)
{
    int n = (int)o->phase, ex;
    if (n == 2 && !o->out == !o->response) {
        cli_error(o->prog, "phase 2 takes --out REQ.zip (renew) or --response RESP.zip (import)");
        return EXIT_USAGE;
    }
    if (n == 4 && !r->hubs_done) {
        cli_error(o->prog, "phase 4: the hubs are not confirmed (phase 3 --hubs-done)");
        return EXIT_FAIL;
    }
    if (n == 3 && !o->hubs_done) {
        printf("phase 3: renew each hub's certificate from the new CA and restart it with\n"
               "both CAs as issuers (docs/lifecycle.md); then run --phase 3 --hubs-done\n");
        return EXIT_OK;
    }
    if (n == 2 && o->response)
        return phase2(s, o, p);
    if ((ex = ready(s, o, p, n)) >= 0)
        return ex;
    int64_t job;
    if (n == 1 || n == 4) {
        if (bacsc_site_prepare_trust(s, n == 1, n == 1 ? r->new_ca : r->old_ca,
                                     n == 1 ? r->new_len : r->old_len, &p->sel,
                                     &job) != BACSC_OK)
            return site_cmd_fail(s, o, EXIT_FAIL);
        ex = run_job(s, o, job);
        pick done = {.r = r};
        bacsc_site_devices(s, pick_one, &done);
        if (n == 4 && ex == EXIT_OK && done.counts[4] == done.counts[0] + done.counts[1] +
                                                             done.counts[2] + done.counts[4])
            bacsc_site_rollover_finish(s);
        return ex;
    }
    if (n == 3)
        return bacsc_site_rollover_hubs_done(s) == BACSC_OK ? EXIT_OK : EXIT_FAIL;
    return phase2(s, o, p);
}

int site_cmd_rollover(int argc, char **argv)
{
    opts o;
    bacsc_site *s;
    int ex = site_cmd_begin(&o, &rollover_verb, argc, argv, NULL, &s);
    if (ex >= 0)
        return ex;
    if (o.new_ca) {
        unsigned char *ca = NULL;
        size_t len = 0;
        if (cli_read_file(o.prog, o.new_ca, 1u << 20, &ca, &len) != 0) {
            bacsc_site_close(s);
            return EXIT_FAIL;
        }
        int rc = bacsc_site_rollover_start(s, ca, len);
        free(ca);
        if (rc != BACSC_OK) {
            ex = site_cmd_fail(s, &o, rc == BACSC_ERR_MALFORMED ? EXIT_DATAERR : EXIT_FAIL);
            bacsc_site_close(s);
            return ex;
        }
    }
    bacsc_site_rollover r;
    if (bacsc_site_rollover_get(s, &r) != BACSC_OK) {
        cli_error(o.prog, "no CA rollover in progress (start one with --new-ca)");
        bacsc_site_close(s);
        return EXIT_FAIL;
    }
    pick p = {.r = &r};
    ex = o.phase ? run_phase(s, &o, &r, &p) : show(s, &o, &p);
    bacsc_site_rollover_clear(&r);
    bacsc_site_close(s);
    return ex;
}
