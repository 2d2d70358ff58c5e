/* ca_cli.c — the common options and helpers of `bacsc ca` (see ca_cli.h). */
#include "ca_cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "bacsc/error.h"
#include "bacsc/pool.h"
#include "cli.h"

const cli_opt ca_common_rows[] = {
    CLI_STR("dir", 0, "DIR", ca_common, dir, "CA directory (default $BACSC_CA_DIR, else ./ca)"),
    CLI_STR("actor", 0, "NAME", ca_common, actor,
            "name shown in the audit log (default: the user)"),
    CLI_STR("passphrase-file", 0, "F", ca_common, pass_file,
            "passphrase of an encrypted CA key (first line of F;\n"
            "default $BACSC_CA_PASSPHRASE_FILE)"),
    CLI_FLAG("json", 0, ca_common, json, "machine-readable output"),
    CLI_INT("jobs", 0, "N", ca_common, jobs, 1, BACSC_POOL_MAX,
            "threads that parse, check and sign CSRs\n(default: one per online CPU)"),
    CLI_LOGLEVEL("log-level", 0, "L", "error|warn|info|debug|trace"),
    CLI_HELP("help", 0, "this text"),
    CLI_END};

/* Parse a subcommand's command line into `opts` (whose `ca_common` is `c`),
 * with the common options' defaults from the environment. Returns -1 to go
 * on (operands in argv[1..*argc-1]) or the exit code. */
int ca_parse(const cli_spec *spec, void *opts, ca_common *c, int *argc, char **argv)
{
    c->prog = spec->prog;
    c->dir = getenv("BACSC_CA_DIR");
    if (!c->dir || !*c->dir)
        c->dir = "ca";
    c->pass_file = getenv("BACSC_CA_PASSPHRASE_FILE");
    if (c->pass_file && !*c->pass_file)
        c->pass_file = NULL;
    int rc = cli_parse(spec, opts, argc, argv);
    if (rc < 0 && c->jobs > 0) /* the CARI reader and the CA use this many */
        bacsc_pool_set_default_size(c->jobs);
    return rc;
}

/* Read the passphrase (first line of the file). Returns malloc'd or NULL. */
int ca_read_passphrase(const ca_common *c, char **out)
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

bacsc_ca *ca_open(const ca_common *c)
{
    char *pass = NULL;
    if (ca_read_passphrase(c, &pass) != 0)
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
    if (c->jobs > 0)
        bacsc_ca_set_threads(ca, c->jobs);
    else if (threads && *threads)
        bacsc_ca_set_threads(ca, atoi(threads));
    return ca;
}

int ca_fail_rc(const ca_common *c, bacsc_ca *ca, int rc)
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

void ca_fmt_time(int64_t t, char *out, size_t outlen)
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

json_t *ca_json_time(int64_t t)
{
    char b[32];
    ca_fmt_time(t, b, sizeof b);
    return t > 0 ? json_string(b) : json_null();
}

json_t *ca_json_str(const char *s) { return s ? json_string(s) : json_null(); }

int ca_cli_begin(const cli_spec *spec, void *opts, ca_common *c, int argc, char **argv,
                 bacsc_ca **ca)
{
    int rc = ca_parse(spec, opts, c, &argc, argv);
    if (rc >= 0)
        return rc;
    if (cli_extra_args(c->prog, argc, argv, 0))
        return EXIT_USAGE;
    *ca = ca_open(c);
    return *ca ? -1 : EXIT_FAIL;
}

/* Can a response be written to `out` (a zip file, or a directory when it
 * ends in '/' or is one)? Its directory must exist and be writable. Checked
 * before anything is issued. Returns 0 or -1 (message printed). */
int ca_check_out_path(const ca_common *c, const char *out)
{
    struct stat st;
    if (stat(out, &st) == 0)
        return S_ISDIR(st.st_mode) || access(out, W_OK) == 0
                   ? 0
                   : (cli_error(c->prog, "cannot write %s: %s; nothing was issued", out,
                                strerror(errno)),
                      -1);
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", out);
    size_t n = strlen(parent);
    while (n > 1 && parent[n - 1] == '/')
        parent[--n] = 0;
    char *slash = strrchr(parent, '/');
    if (!slash)
        snprintf(parent, sizeof parent, ".");
    else if (slash == parent)
        parent[1] = 0;
    else
        *slash = 0;
    if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_error(c->prog, "cannot write %s: directory %s does not exist; nothing was issued", out,
                  parent);
        return -1;
    }
    if (access(parent, W_OK) != 0) {
        cli_error(c->prog, "cannot write %s: %s: %s; nothing was issued", out, parent,
                  strerror(errno));
        return -1;
    }
    return 0;
}
