/*
 * site_cli.c — the start every `bacsc site` verb shares (site_cli.h):
 * parse the command line, check the operands, open the site database; the
 * device selection and the one-line database error.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/error.h"
#include "bacsc/site.h"
#include "cli.h"
#include "cli_opt.h"
#include "site_cli.h"

/* Parse a subcommand's command line with its table. Returns -1 to continue
 * (operands in o->pos), else an exit code (help / usage error). */
int site_parse_opts(opts *o, const cli_spec *spec, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->prog = spec->prog;
    o->db = getenv("BACSC_SITE_DB");
    if (!o->db || !*o->db)
        o->db = "site.db";
    o->expiring_days = BACSC_SITE_EXPIRING_DAYS_DEFAULT;
    o->wait_ms = 2000;
    o->job = -1;
    o->retries = UINT_MAX;
    int rc = cli_parse(spec, o, &argc, argv);
    if (rc >= 0)
        return rc;
    o->retries_set = o->retries != UINT_MAX;
    if (!o->retries_set)
        o->retries = 0;
    o->pos = argv + 1;
    o->npos = argc - 1;
    return -1;
}

bacsc_site *site_open_db(const opts *o, bool create)
{
    bacsc_site *s = NULL;
    char err[512];
    if (bacsc_site_open(o->db, create, &s, err, sizeof err) != BACSC_OK) {
        cli_error(o->prog, "%s", err);
        return NULL;
    }
    return s;
}

/* DEVICES positional (or --all) → selection. Returns false on error. */
bool site_get_selection(const opts *o, const char *text, bacsc_site_selection *sel)
{
    if (o->all && text) {
        cli_error(o->prog, "give either DEVICES or --all, not both");
        return false;
    }
    if (!o->all && !text) {
        cli_error(o->prog, "which devices? give DEVICES (e.g. 1001-1010,1020) or --all");
        return false;
    }
    if ((text && !*text) || bacsc_site_selection_parse(o->all ? "all" : text, sel) != BACSC_OK) {
        cli_error(o->prog, "bad device list '%s' (instances and ranges: 1001-1010,1020)", text);
        return false;
    }
    return true;
}

int site_cmd_begin(opts *o, const site_verb *v, int argc, char **argv, void *ctx, bacsc_site **s)
{
    *s = NULL;
    int ex = site_parse_opts(o, v->spec, argc, argv);
    if (ex >= 0)
        return ex;
    if (v->check) {
        if ((ex = v->check(o, ctx)) >= 0)
            return ex;
    } else if (o->npos) {
        cli_unexpected_arg(o->prog, o->pos[0], NULL);
        return EXIT_USAGE;
    }
    if (!(*s = site_open_db(o, v->create)))
        return EXIT_FAIL;
    return -1;
}

int site_cmd_fail(bacsc_site *s, const opts *o, int ex)
{
    cli_error(o->prog, "%s", bacsc_site_errmsg(s));
    return ex;
}

int site_run_job(bacsc_site *s, const opts *o, int64_t job, json_t **jout)
{
    bacsc_site_net *n;
    int ex = site_net_open(o, false, &n);
    if (ex >= 0)
        return ex;
    ex = site_run_and_report(s, o, n, job, jout);
    bacsc_site_net_close(n);
    return ex;
}
