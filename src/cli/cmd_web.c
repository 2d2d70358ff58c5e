/*
 * cmd_web.c — `bacsc web`: the web console (src/web, docs/web-api.md).
 *
 *   bacsc web --listen ADDR:PORT --cert FILE --key FILE [--web-db FILE]
 *             [--ca-dir DIR] [--site-db FILE] [--config FILE] [...]
 *   bacsc web user add NAME --role admin|installer|viewer --password-file F
 *   bacsc web user list | user remove NAME | user passwd NAME --password-file F
 *   bacsc web token create --user NAME [--expires DAYS]
 *   bacsc web token list | token revoke ID
 * Every form takes --web-db FILE (default $BACSC_WEB_DB, else ./web.db).
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "bacsc/error.h"
#include "bacsc/log.h"
#include "cli.h"
#include "cli_opt.h"
#include "web/web.h"

extern const char bacsc_cmd_web_summary[];
int bacsc_cmd_web(int argc, char **argv);

const char bacsc_cmd_web_summary[] =
    "web console: CA portal with approvals and site management over HTTPS";

static const char *default_db(const char *given)
{
    if (given)
        return given;
    const char *env = getenv("BACSC_WEB_DB");
    return env && *env ? env : "web.db";
}

/* First line of a file, without its newline. */
static char *read_secret(const char *prog, const char *path)
{
    unsigned char *data = NULL;
    size_t len = 0;
    if (cli_read_file(prog, path, WEB_PASSWORD_MAX + 2, &data, &len) != 0)
        return NULL;
    char *s = calloc(1, len + 1);
    if (s) {
        memcpy(s, data, len);
        s[strcspn(s, "\r\n")] = 0;
    }
    OPENSSL_cleanse(data, len);
    free(data);
    return s;
}

static void free_secret(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

static web_db *open_db(const char *prog, const char *path)
{
    web_db *db = NULL;
    char err[300];
    if (web_db_open(default_db(path), &db, err, sizeof err) != BACSC_OK) {
        cli_error(prog, "%s", err);
        return NULL;
    }
    return db;
}

/* ---- user / token subcommands ------------------------------------------------------------ */

/* Who a change from the command line is audited as. */
static const char *cli_actor(void)
{
    return getenv("USER") ? getenv("USER") : "cli";
}

typedef struct sub_opts {
    const char *db, *role, *pwfile, *user;
    long expires;
    bool json;
    const char *pos[2];
    int npos;
    int64_t id; /* token revoke ID */
} sub_opts;

#define USER_USAGE                                                                                 \
    "usage: bacsc web user add NAME --role admin|installer|viewer --password-file F\n"            \
    "       bacsc web user list [--json]\n"                                                       \
    "       bacsc web user remove NAME\n"                                                         \
    "       bacsc web user passwd NAME --password-file F\n"                                       \
    "       bacsc web token create --user NAME [--expires DAYS]\n"                                \
    "       bacsc web token list [--json] | bacsc web token revoke ID\n"                          \
    "every form takes --web-db FILE (default $BACSC_WEB_DB, else ./web.db)\n"

static void user_usage(FILE *f)
{
    fputs(USER_USAGE, f);
}

static const cli_opt sub_rows[] = {
    CLI_STR("web-db", 0, "FILE", sub_opts, db, "the console database"),
    CLI_STR("role", 0, "ROLE", sub_opts, role, "user add: admin, installer or viewer"),
    CLI_STR("password-file", 0, "F", sub_opts, pwfile, "the password (first line of F)"),
    CLI_STR("user", 0, "NAME", sub_opts, user, "token create: the user the token acts as"),
    CLI_LONG("expires", 0, "DAYS", sub_opts, expires, 0, 3650,
             "token create: lifetime (0 = never)"),
    CLI_FLAG("json", 0, sub_opts, json, "list as JSON"),
    CLI_HELP("help", 'h', "this text"),
    CLI_END};

static const cli_part sub_help[] = {CLI_TEXT(USER_USAGE "\noptions:\n"),
                                    CLI_GROUP(NULL, sub_rows, 0), CLI_END};
static const cli_spec user_spec = {"web user", sub_help, .col = 24};
static const cli_spec token_spec = {"web token", sub_help, .col = 24};

/* Returns -1 to go on, else an exit code. */
static int sub_parse(const char *prog, int argc, char **argv, sub_opts *o)
{
    memset(o, 0, sizeof *o);
    int rc = cli_parse(strcmp(prog, "web user") == 0 ? &user_spec : &token_spec, o, &argc, argv);
    if (rc >= 0)
        return rc;
    for (int i = 1; i < argc; i++) {
        if (o->npos >= 2) {
            cli_unexpected_arg(prog, argv[i], NULL);
            return EXIT_USAGE;
        }
        o->pos[o->npos++] = argv[i];
    }
    return -1;
}

/* The verbs of `web user` and `web token`, and how many operands each takes. */
typedef struct sub_verb {
    const char *name;
    int operands;
    const char *operand;
} sub_verb;

static const sub_verb user_verbs[] = {
    {"add", 1, "NAME"}, {"list", 0, NULL}, {"remove", 1, "NAME"}, {"passwd", 1, "NAME"}, {0}};
static const sub_verb token_verbs[] = {
    {"create", 0, NULL}, {"list", 0, NULL}, {"revoke", 1, "ID"}, {0}};

/* Parse a `web user` / `web token` command line (a verb is required; its
 * operands are checked here, before anything is opened) and open the
 * database. Returns -1 with *db open, else an exit code. */
static int sub_begin(const char *prog, int argc, char **argv, sub_opts *o, web_db **db)
{
    int ex = sub_parse(prog, argc, argv, o);
    if (ex >= 0)
        return ex;
    if (o->npos < 1) {
        user_usage(stderr);
        return EXIT_USAGE;
    }
    const sub_verb *verbs = strcmp(prog, "web token") == 0 ? token_verbs : user_verbs;
    const sub_verb *v = verbs;
    while (v->name && strcmp(v->name, o->pos[0]) != 0)
        v++;
    if (!v->name)
        return cli_unknown_command(prog, o->pos[0], &verbs[0].name, SIZE_MAX, sizeof verbs[0]);
    if (o->npos - 1 > v->operands) {
        cli_unexpected_arg(prog, o->pos[v->operands + 1], NULL);
        return EXIT_USAGE;
    }
    if (o->npos - 1 < v->operands) {
        cli_error(prog, "%s: %s is required", v->name, v->operand);
        return EXIT_USAGE;
    }
    if (v->operand && strcmp(v->operand, "ID") == 0 && cli_parse_id(o->pos[1], &o->id) != 0) {
        cli_error(prog, "%s: '%s' is not a token id (a number, see 'bacsc %s list')", v->name,
                  o->pos[1], prog);
        return EXIT_USAGE;
    }
    *db = open_db(prog, o->db);
    return *db ? -1 : EXIT_FAIL;
}

static int print_user(void *user, const char *name, int role, int64_t created)
{
    json_t *arr = user;
    if (arr) {
        json_array_append_new(arr, json_pack("{s:s,s:s,s:I}", "name", name, "role",
                                             web_role_name(role), "created", (json_int_t)created));
        return 0;
    }
    printf("%-24s %s\n", name, web_role_name(role));
    return 0;
}

static int user_add_or_passwd(const char *prog, web_db *db, const sub_opts *o, bool add)
{
    if (o->npos != 2 || !o->pwfile || (add && !o->role)) {
        cli_error(prog, add ? "usage: user add NAME --role ROLE --password-file F"
                            : "usage: user passwd NAME --password-file F");
        return EXIT_USAGE;
    }
    int role = add ? web_role_parse(o->role) : 0;
    if (add && role == WEB_ROLE_NONE) {
        cli_error(prog, "--role is admin, installer or viewer, not '%s'", o->role);
        return EXIT_USAGE;
    }
    char *pw = read_secret(prog, o->pwfile);
    if (!pw)
        return EXIT_FAIL;
    int rc = add ? web_user_add(db, o->pos[1], role, pw) : web_user_passwd(db, o->pos[1], pw);
    free_secret(pw);
    if (rc != BACSC_OK) {
        cli_error(prog, "%s", web_db_errmsg(db));
        return rc == BACSC_ERR_INVALID_ARG || rc == BACSC_ERR_EXISTS || rc == BACSC_ERR_NOT_FOUND
                   ? EXIT_DATAERR
                   : EXIT_FAIL;
    }
    web_audit(db, (int64_t)time(NULL), cli_actor(), "local", add ? "user-add" : "user-passwd",
              o->pos[1], add ? o->role : "");
    printf("%s %s\n", add ? "added" : "password changed for", o->pos[1]);
    return EXIT_OK;
}

static int cmd_user(int argc, char **argv)
{
    const char *prog = "web user";
    sub_opts o;
    web_db *db;
    int ex = sub_begin(prog, argc, argv, &o, &db);
    if (ex >= 0)
        return ex;
    const char *verb = o.pos[0];
    if (!strcmp(verb, "add") || !strcmp(verb, "passwd"))
        ex = user_add_or_passwd(prog, db, &o, !strcmp(verb, "add"));
    else if (!strcmp(verb, "list")) {
        json_t *arr = o.json ? json_array() : NULL;
        web_users(db, print_user, arr);
        if (arr)
            cli_print_json(arr);
        ex = EXIT_OK;
    } else { /* remove NAME (sub_begin checked the verb and its operand) */
        if (web_user_remove(db, o.pos[1]) != BACSC_OK) {
            cli_error(prog, "%s", web_db_errmsg(db));
            ex = EXIT_DATAERR;
        } else {
            web_audit(db, (int64_t)time(NULL), cli_actor(), "local", "user-remove", o.pos[1], "");
            printf("removed %s\n", o.pos[1]);
            ex = EXIT_OK;
        }
    }
    web_db_close(db);
    return ex;
}

static int print_token(void *user, int64_t id, const char *owner, int64_t created,
                       int64_t expires, bool revoked)
{
    (void)user;
    (void)created;
    char when[32] = "never";
    if (expires) {
        time_t t = (time_t)expires;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%d", &tm);
    }
    printf("%-6lld %-24s expires %s%s\n", (long long)id, owner, when, revoked ? " (revoked)" : "");
    return 0;
}

static int cmd_token(int argc, char **argv)
{
    const char *prog = "web token";
    sub_opts o;
    web_db *db;
    int ex = sub_begin(prog, argc, argv, &o, &db);
    if (ex >= 0)
        return ex;
    int64_t now = (int64_t)time(NULL);
    if (!strcmp(o.pos[0], "create")) {
        char tok[128];
        int64_t id = 0;
        if (!o.user) {
            cli_error(prog, "usage: token create --user NAME [--expires DAYS]");
            ex = EXIT_USAGE;
        } else if (web_token_create(db, o.user, now, o.expires ? now + 86400 * o.expires : 0,
                                    tok, sizeof tok, &id) != BACSC_OK) {
            cli_error(prog, "%s", web_db_errmsg(db));
            ex = EXIT_DATAERR;
        } else {
            web_audit(db, now, cli_actor(), "local", "token-create", o.user, "");
            printf("token %lld for %s (shown once; keep it secret):\n%s\n", (long long)id, o.user,
                   tok);
            OPENSSL_cleanse(tok, sizeof tok);
            ex = EXIT_OK;
        }
    } else if (!strcmp(o.pos[0], "list")) {
        web_tokens(db, print_token, NULL);
        ex = EXIT_OK;
    } else { /* revoke ID (sub_begin checked the verb and parsed the id) */
        ex = web_token_revoke(db, o.id) == BACSC_OK ? EXIT_OK : EXIT_DATAERR;
        if (ex)
            cli_error(prog, "%s", web_db_errmsg(db));
    }
    web_db_close(db);
    return ex;
}

/* ---- serving ------------------------------------------------------------------------------ */

typedef struct serve_opts {
    web_config cfg;
    const char *capass_file, *devpw_file, *config_file;
    unsigned long max_upload; /* 0: not given */
    long session_ttl;         /* 0: not given */
    json_t *config;           /* keeps the config file's strings alive */
} serve_opts;

static int add_sc_ca(const char *prog, const char *arg, void *target)
{
    web_config *w = target;
    if (w->n_sc_ca >= 2) {
        cli_error(prog, "--sc-ca at most twice");
        return -1;
    }
    w->sc_ca[w->n_sc_ca++] = arg;
    return 0;
}

static const cli_opt serve_rows[] = {
    CLI_STR("listen", 0, "ADDR:PORT", serve_opts, cfg.listen,
            "address to serve (e.g. 127.0.0.1:8443, [::1]:8443)"),
    {CLI_ROW_("cert", 0, "FILE", CLI_K_STR, serve_opts, cfg.cert,
              "the server's certificate and key (PEM)"),
     .label = "--cert FILE, --key FILE"},
    {CLI_ROW_("key", 0, "FILE", CLI_K_STR, serve_opts, cfg.key, NULL), .flags = CLI_UNLISTED},
    CLI_STR("web-db", 0, "FILE", serve_opts, cfg.web_db, "users, sessions, tokens, console audit"),
    CLI_STR("ca-dir", 0, "DIR", serve_opts, cfg.ca_dir, "the CA directory (bacsc ca init)"),
    CLI_STR("ca-passphrase-file", 0, "F", serve_opts, capass_file,
            "passphrase of an encrypted CA key"),
    CLI_STR("site-db", 0, "FILE", serve_opts, cfg.site_db, "the site database (bacsc site init)"),
    CLI_STR("config", 0, "FILE", serve_opts, config_file,
            "JSON object of these options (\"listen\": ...)"),
    CLI_FLAG("allow-tls12", 0, serve_opts, cfg.allow_tls12, "also accept TLS 1.2 (old browsers)"),
    CLI_UINT("max-connections", 0, "N", serve_opts, cfg.max_connections, 1, 4096,
             "concurrent connections (default 64)"),
    CLI_ULONG("max-upload", 0, "BYTES", serve_opts, max_upload, 1024, 1L << 32,
              "largest request zip (default 33554432)"),
    CLI_UINT("timeout", 0, "SECONDS", serve_opts, cfg.timeout_s, 1, 3600,
             "idle connection timeout (default 30)"),
    CLI_LONG("session-ttl", 0, "SECONDS", serve_opts, session_ttl, 1, 30 * 86400,
             "session lifetime (default 28800)"),
    CLI_UINT("expiring-days", 0, "N", serve_opts, cfg.expiring_days, 1, 3650,
             "'expiring' certificate threshold (default 30)"),
    CLI_STR("bip-local", 0, "ADDR:PORT", serve_opts, cfg.bip_local,
            "site jobs: local BACnet/IP address"),
    {CLI_ROW_("hub", 0, "URI", CLI_K_STR, serve_opts, cfg.hub,
              "\nsite jobs over BACnet/SC instead, with this identity"),
     .label = "--hub URI [--failover URI] --sc-cert F --sc-key F --sc-ca F"},
    {CLI_ROW_("failover", 0, "URI", CLI_K_STR, serve_opts, cfg.failover, NULL),
     .flags = CLI_UNLISTED},
    {CLI_ROW_("sc-cert", 0, "F", CLI_K_STR, serve_opts, cfg.sc_cert, NULL), .flags = CLI_UNLISTED},
    {CLI_ROW_("sc-key", 0, "F", CLI_K_STR, serve_opts, cfg.sc_key, NULL), .flags = CLI_UNLISTED},
    {CLI_ROW_("sc-ca", 0, "F", CLI_K_CALL, serve_opts, cfg, NULL), .fn = add_sc_ca,
     .flags = CLI_UNLISTED},
    CLI_STR("broadcast", 0, "ADDR:PORT", serve_opts, cfg.broadcast,
            "site jobs: BACnet/IP broadcast address"),
    {CLI_ROW_("bip-timeout", 0, "MS", CLI_K_UINT, serve_opts, cfg.bip_timeout_ms,
              "site job network settings"),
     .min = 10, .max = 600000, .label = "--bip-timeout MS, --retries N, --concurrency N "},
    {CLI_ROW_("retries", 0, "N", CLI_K_UINT, serve_opts, cfg.bip_retries, NULL), .min = 0,
     .max = 20, .flags = CLI_UNLISTED},
    {CLI_ROW_("concurrency", 0, "N", CLI_K_UINT, serve_opts, cfg.concurrency, NULL), .min = 1,
     .max = BACSC_SITE_CONCURRENCY_MAX, .flags = CLI_UNLISTED},
    CLI_STR("device-password-file", 0, "F", serve_opts, devpw_file,
            "ReinitializeDevice password for site jobs"),
    CLI_LOGLEVEL("log-level", 0, "L", "error|warn|info|debug|trace"),
    {.name = "help", .shortc = 'h', .kind = CLI_K_HELP, .flags = CLI_UNLISTED},
    CLI_END};

static const cli_part serve_help[] = {
    CLI_TEXT("usage: bacsc web --listen ADDR:PORT --cert FILE --key FILE [--web-db FILE]\n"
             "                 [--ca-dir DIR] [--site-db FILE] [--config FILE] [options]\n"
             "       bacsc web user|token ...   (bacsc web user --help)\n\n"
             "Serve the web console over HTTPS (TLS 1.3): the CA portal of the `bacsc ca`\n"
             "store in DIR and/or the site of the `bacsc site` database, for the users of\n"
             "the console database (--web-db, default $BACSC_WEB_DB, else ./web.db).\n"
             "API: docs/web-api.md. SIGHUP serves --cert/--key anew; SIGTERM stops.\n\n"),
    CLI_GROUP("options:", serve_rows, 0),
    CLI_END};

static const cli_spec serve_spec = {"web", serve_help, .col = 29};

static bool load_config(serve_opts *o, const char *path)
{
    json_error_t e;
    o->config = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
    if (!o->config || !json_is_object(o->config)) {
        cli_error("web", "%s: not a JSON object: %s (line %d)", path, e.text, e.line);
        return false;
    }
    const char *key;
    json_t *v;
    json_object_foreach(o->config, key, v)
    {
        char num[32];
        const char *text = json_string_value(v);
        if (json_is_integer(v)) {
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            text = num;
        } else if (json_is_boolean(v))
            text = json_is_true(v) ? "true" : "false";
        if (!text) {
            cli_error("web", "%s: \"%s\" must be a string, number or boolean", path, key);
            return false;
        }
        /* the keys are the option names; numbers are parsed at once, strings
         * point into o->config */
        int rc = strcmp(key, "config") == 0 ? -2 : cli_set(&serve_spec, o, key, text);
        if (rc == -2)
            cli_error("web", "%s: unknown key \"%s\"", path, key);
        if (rc != 0)
            return false;
    }
    return true;
}

/* Returns -1 to go on, else an exit code. */
static int serve_parse(serve_opts *o, int argc, char **argv)
{
    web_config_default(&o->cfg);
    /* the config file first: the command line overrides it */
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--config") && !load_config(o, argv[i + 1]))
            return EXIT_USAGE;
    int rc = cli_parse(&serve_spec, o, &argc, argv);
    if (rc >= 0)
        return rc;
    if (argc > 1) {
        cli_unexpected_arg("web", argv[1], "subcommands: user, token");
        return EXIT_USAGE;
    }
    if (o->max_upload)
        o->cfg.max_upload = (size_t)o->max_upload;
    if (o->session_ttl)
        o->cfg.session_ttl = o->session_ttl;
    if (!o->cfg.listen || !o->cfg.cert || !o->cfg.key) {
        cli_error("web", "give --listen ADDR:PORT, --cert FILE and --key FILE");
        return EXIT_USAGE;
    }
    if (!o->cfg.ca_dir && !o->cfg.site_db) {
        cli_error("web", "give --ca-dir DIR and/or --site-db FILE: nothing to serve");
        return EXIT_USAGE;
    }
    o->cfg.web_db = default_db(o->cfg.web_db);
    return -1;
}

/* Open the databases and the CA. Returns -1 to go on, else an exit code. */
static int serve_open(web_app *app, serve_opts *o)
{
    char err[300];
    char *pass = NULL;
    if (o->capass_file && !(pass = read_secret("web", o->capass_file)))
        return EXIT_FAIL;
    if (o->devpw_file && !(app->cfg.device_password = read_secret("web", o->devpw_file))) {
        free_secret(pass);
        return EXIT_FAIL;
    }
    if (web_db_open(app->cfg.web_db, &app->db, err, sizeof err) != BACSC_OK) {
        free_secret(pass);
        cli_error("web", "%s", err);
        return EXIT_FAIL;
    }
    if (app->cfg.ca_dir) {
        int rc = bacsc_ca_open(app->cfg.ca_dir, pass, &app->ca, err, sizeof err);
        free_secret(pass);
        pass = NULL;
        if (rc != BACSC_OK) {
            cli_error("web", "%s", err);
            return EXIT_FAIL;
        }
    }
    free_secret(pass);
    if (app->cfg.site_db) {
        if (bacsc_site_open(app->cfg.site_db, false, &app->site, err, sizeof err) != BACSC_OK) {
            cli_error("web", "%s", err);
            return EXIT_FAIL;
        }
        if (web_jobs_start(app, err, sizeof err) != BACSC_OK) {
            cli_error("web", "%s", err);
            return EXIT_FAIL;
        }
    }
    return -1;
}

static void serve_close(web_app *app)
{
    web_jobs_set_closing(app, true); /* event streams end, so the server can stop */
    web_stop(app);
    web_jobs_stop(app);
    web_cert_cache_free(app->certs);
    web_dev_cache_free(app->devs);
    bacsc_site_close(app->site);
    bacsc_ca_close(app->ca);
    web_db_close(app->db);
    free_secret(app->cfg.device_password);
    pthread_mutex_destroy(&app->mu);
}

/* SIGHUP: serve the certificate and key files anew (e.g. renewed). They are
 * checked first; if they do not fit together the old ones stay in use.
 * Open connections are closed (browsers reconnect). */
static void reload_tls(web_app *app)
{
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    bool ok = bacsc_pki_cert_read(app->cfg.cert, &cert) == BACSC_OK &&
              bacsc_pki_key_read(app->cfg.key, NULL, &key) == BACSC_OK &&
              X509_check_private_key(cert, key) == 1;
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!ok) {
        BACSC_ERROR("web: SIGHUP: %s and %s are unreadable or do not match: still serving the "
                    "old certificate", app->cfg.cert, app->cfg.key);
        return;
    }
    web_jobs_set_closing(app, true);
    web_stop(app);
    web_jobs_set_closing(app, false);
    char err[300];
    if (web_start(app, err, sizeof err) != BACSC_OK) {
        BACSC_ERROR("web: SIGHUP: cannot serve again: %s", err);
        raise(SIGTERM);
        return;
    }
    BACSC_INFO("web: SIGHUP: serving %s again", app->cfg.cert);
}

static int serve(int argc, char **argv)
{
    serve_opts o;
    memset(&o, 0, sizeof o);
    int ex = serve_parse(&o, argc, argv);
    if (ex >= 0) {
        json_decref(o.config);
        return ex;
    }
    web_app app;
    memset(&app, 0, sizeof app);
    app.cfg = o.cfg;
    pthread_mutex_init(&app.mu, NULL);
    /* block the stop signals in every thread; the main thread waits for them */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    ex = serve_open(&app, &o);
    char err[300];
    if (ex < 0 && web_start(&app, err, sizeof err) != BACSC_OK) {
        cli_error("web", "%s", err);
        ex = EXIT_UNAVAILABLE;
    }
    if (ex < 0) {
        const char *colon = strrchr(app.cfg.listen, ':');
        printf("bacsc web: serving https://%.*s:%u/ (CA %s, site %s, users %s)\n",
               (int)(colon - app.cfg.listen), app.cfg.listen, (unsigned)app.port,
               app.cfg.ca_dir ? app.cfg.ca_dir : "-", app.cfg.site_db ? app.cfg.site_db : "-",
               app.cfg.web_db);
        fflush(stdout);
        int sig = 0;
        for (;;) {
            sigwait(&set, &sig);
            if (sig != SIGHUP)
                break;
            reload_tls(&app);
        }
        BACSC_INFO("web: stopping on signal %d", sig);
        ex = EXIT_OK;
    }
    serve_close(&app);
    json_decref(o.config);
    return ex;
}

int bacsc_cmd_web(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "user"))
        return cmd_user(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "token"))
        return cmd_token(argc - 1, argv + 1);
    return serve(argc, argv);
}
