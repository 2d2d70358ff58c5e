/* cli.c — helpers shared by the bacsc commands (see cli.h). */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/log.h"
#include "cli_opt.h"

void cli_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "bacsc %s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_unexpected_arg(const char *prog, const char *arg, const char *hint)
{
    if (hint)
        cli_error(prog, "unexpected argument '%s' (%s)", arg, hint);
    else
        cli_error(prog, "unexpected argument '%s'", arg);
}

bool cli_empty_operand(const char *prog, const char *what, const char *arg)
{
    if (!arg || *arg)
        return false;
    cli_error(prog, "empty %s", what);
    return true;
}

int cli_parse_id(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!isdigit((unsigned char)*s) || *end || errno || v <= 0)
        return -1;
    *out = v;
    return 0;
}

bool cli_extra_args(const char *prog, int argc, char **argv, int max)
{
    if (argc <= max + 1)
        return false;
    cli_unexpected_arg(prog, argv[max + 1], NULL);
    return true;
}

static void list_subcommands(FILE *out, const char *prog, const cli_subcommand *subs)
{
    fprintf(out, "usage: bacsc %s <command> [options]\n\ncommands:\n", prog);
    for (const cli_subcommand *s = subs; s->name; s++)
        fprintf(out, "  %-14s %s\n", s->name, s->summary);
    fprintf(out, "\nRun 'bacsc %s <command> --help' for the options of each.\n", prog);
}

/* `bacsc help --man` / `--completion`: the list, then every subcommand. */
static void render_subcommands(const char *prog, const cli_subcommand *subs)
{
    cli_help_mode mode = cli_get_help_mode();
    if (mode == CLI_HELP_MAN) {
        fputs(".SH COMMANDS\n", stdout);
        for (const cli_subcommand *s = subs; s->name; s++)
            printf(".TP\n\\fB%s\\fR\n%s\n", s->name, s->summary);
    } else {
        fputs("subs:", stdout);
        for (const cli_subcommand *s = subs; s->name; s++)
            printf(" %s", s->name);
        fputc('\n', stdout);
    }
    for (const cli_subcommand *s = subs; s->name; s++) {
        char *text = cli_capture_help(s->run, s->name);
        if (mode == CLI_HELP_MAN) {
            fputs(".SH \"BACSC ", stdout);
            for (const char *c = prog; *c; c++)
                putchar(toupper((unsigned char)*c));
            putchar(' ');
            for (const char *c = s->name; *c; c++)
                putchar(toupper((unsigned char)*c));
            fputs("\"\n", stdout);
        }
        else
            printf("sub %s\n", s->name);
        fputs(text ? text : "", stdout);
        if (mode == CLI_HELP_COMPLETE)
            fputs("end\n", stdout);
        free(text);
    }
    cli_mark_help_rendered();
}

static const cli_subcommand *find_sub(const cli_subcommand *subs, const char *name)
{
    for (const cli_subcommand *s = subs; s->name; s++)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

/* "bacsc ca --dir X pending ...": the index of the subcommand's name when
 * only options (of that subcommand, when it has a spec) come before it, else 0. */
static int sub_after_options(const cli_subcommand *subs, int argc, char **argv)
{
    for (int k = 2; k < argc; k++) {
        const cli_subcommand *s = find_sub(subs, argv[k]);
        if (!s || argv[1][0] != '-')
            continue;
        const cli_spec *spec = cli_spec_of(s->run, s->name);
        if (!spec || cli_opts_span(spec, argv, 1, k))
            return k;
    }
    return 0;
}

int cli_dispatch(const char *prog, const cli_subcommand *subs, int argc, char **argv)
{
    if (argc < 2) {
        list_subcommands(stderr, prog, subs);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        if (strcmp(name, "help") == 0 && argc > 2) {
            const cli_subcommand *s = find_sub(subs, argv[2]);
            if (s) {
                char *hargv[] = {(char *)s->name, "--help", NULL};
                return s->run(2, hargv);
            }
            /* "bacsc ca help pendng": not the list, exit 0 */
            return cli_unknown_command(prog, argv[2], &subs[0].name, SIZE_MAX, sizeof subs[0]);
        }
        if (cli_get_help_mode() == CLI_HELP_MAN || cli_get_help_mode() == CLI_HELP_COMPLETE)
            render_subcommands(prog, subs);
        else if (cli_get_help_mode() == CLI_HELP_SPEC)
            ; /* a dispatcher has no option table of its own */
        else
            list_subcommands(stdout, prog, subs);
        return EXIT_OK;
    }
    const cli_subcommand *s = find_sub(subs, name);
    if (s)
        return s->run(argc - 1, argv + 1);
    int k = sub_after_options(subs, argc, argv);
    if (k > 0) {
        /* move the name first: argv[1..k] = name, options... */
        char *sub = argv[k];
        memmove(argv + 2, argv + 1, (size_t)(k - 1) * sizeof *argv);
        argv[1] = sub;
        return find_sub(subs, sub)->run(argc - 1, argv + 1);
    }
    return cli_unknown_command(prog, name, &subs[0].name, SIZE_MAX, sizeof subs[0]);
}

int cli_unknown_command(const char *prog, const char *word, const char *const *names, size_t n,
                        size_t stride)
{
    const char *hint = word[0] != '-' ? cli_suggest(word, names, n, stride) : NULL;
    if (hint)
        cli_error(prog, "unknown command '%s'; did you mean '%s'? (see 'bacsc %s --help')", word,
                  hint, prog);
    else
        cli_error(prog, "unknown command '%s' (see 'bacsc %s --help')", word, prog);
    return EXIT_USAGE;
}

void cli_print_json(json_t *value)
{
    if (!value)
        return;
    json_dumpf(value, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(value);
}

bool cli_set_log_level(const char *prog, const char *level)
{
    int l = bacsc_log_level_parse(level);
    if (l < 0) {
        cli_error(prog, "unknown log level '%s' (error, warn, info, debug, trace)", level);
        return false;
    }
    bacsc_log_set_level(l);
    return true;
}

int cli_read_file(const char *prog, const char *path, size_t max, unsigned char **data,
                  size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        cli_error(prog, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            if (cap >= max + 1)
                break;
            cap *= 2;
            unsigned char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    int err = ferror(f);
    if (f != stdin)
        fclose(f);
    if (!buf) {
        cli_error(prog, "out of memory reading %s", path);
        return -1;
    }
    if (err) {
        cli_error(prog, "error reading %s", path);
        free(buf);
        return -1;
    }
    if (n > max) {
        cli_error(prog, "%s is larger than the limit of %zu octets", path, max);
        free(buf);
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}
