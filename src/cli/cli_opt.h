/*
 * cli_opt.h — the option tables of the bacsc commands.
 *
 * Every command describes its options once, as rows of a table
 *
 *     {name, short letter, ARGUMENT, kind, target field, help text}
 *
 * and everything else comes from those rows: the parser (cli_parse), the
 * option lines of --help, the man pages (`bacsc help --man`, installed as
 * bacsc-<command>.1) and the bash completion (`bacsc help --completion`).
 * They cannot disagree, as in Redis's standardConfig table.
 *
 * Values land in a small typed struct of the command's own; a row names its
 * field with offsetof(). Options that several commands share (the CA store,
 * the BACnet/SC identity, network, output) are a group: a table whose offsets
 * are relative to a struct the command embeds, listed in the command's help
 * with the offset of that member (see CLI_GROUP). The help of a command is a
 * list of parts, verbatim text and option groups in the order printed:
 *
 *     typedef struct { bool all; int64_t batch; cli_ca_store store; } pending_opts;
 *     static const cli_opt pending_rows[] = {
 *         CLI_ID("batch", 0, "B", pending_opts, batch, "only batch B"),
 *         CLI_FLAG("all-states", 0, pending_opts, all, "every request"),
 *         CLI_END};
 *     static const cli_part pending_help[] = {
 *         CLI_TEXT("usage: bacsc ca pending [--batch B] ...\n\nList ...\n\n"),
 *         CLI_GROUP(NULL, pending_rows, 0),
 *         CLI_GROUP("common options:", ca_store_rows, offsetof(pending_opts, store)),
 *         CLI_END};
 *     static const cli_spec pending_spec = {"ca pending", pending_help, .col = 25};
 *     ...
 *     pending_opts o = {0};
 *     int rc = cli_parse(&pending_spec, &o, &argc, argv);
 *     if (rc >= 0) return rc;      // --help printed (0) or a usage error (2)
 *     // argv[1] .. argv[argc-1] are now the operands, in order
 *
 * Parsing follows getopt_long: options and operands may be mixed, "--" ends
 * the options, "--name=value" and "--name value", "-x value", "-xvalue" and
 * bundled short flags ("-jq"), and an unambiguous prefix of a long name
 * ("--inst") all work. A refused command line is one line on stderr,
 * "bacsc <prog>: ...", exit status 2 (EXIT_USAGE).
 *
 * The smallest real user is src/cli/cmd_status.c.
 */
#ifndef BACSC_CLI_OPT_H
#define BACSC_CLI_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum cli_kind {
    CLI_K_FLAG,     /* bool: set to true (no argument) */
    CLI_K_STR,      /* const char *: the argument */
    CLI_K_STRS,     /* const char *[max]: append; int count at `aux` (repeatable) */
    CLI_K_ULONG,    /* unsigned long in [min, max] */
    CLI_K_UINT,     /* unsigned in [min, max] */
    CLI_K_INT,      /* int in [min, max] */
    CLI_K_LONG,     /* long in [min, max] */
    CLI_K_ID,       /* int64_t > 0 (a row id) */
    CLI_K_SECONDS,  /* double, 0..86400 ("2", "0.5") */
    CLI_K_DOUBLE,   /* double in [dmin, dmax] */
    CLI_K_LOGLEVEL, /* set the log level now (bacsc/log.h) */
    CLI_K_CALL,     /* fn(prog, arg, target) stores or refuses the value */
    CLI_K_HELP      /* print the help, exit 0 */
} cli_kind;

enum {
    CLI_UNLISTED = 1u << 0,   /* parsed, but no line of its own in --help (another row's
                                 label names it) */
    CLI_SIZE_COUNT = 1u << 1, /* CLI_K_STRS: the count at `aux` is a size_t, not an int */
};

/* A CLI_K_CALL handler: store `arg` (NULL for an option without argument) at
 * `target`. Returns 0, or -1 after printing a one-line message with
 * cli_error(prog, ...). */
typedef int (*cli_opt_fn)(const char *prog, const char *arg, void *target);

typedef struct cli_opt {
    const char *name;   /* long name without "--"; NULL ends a table */
    char shortc;        /* short letter, or 0 */
    const char *arg;    /* argument placeholder ("FILE"); NULL: takes no argument */
    cli_kind kind;
    size_t off;         /* target field, relative to the group's struct */
    const char *help;   /* help text; '\n' continues at the help column */
    long min, max;      /* bounds of the number kinds; CLI_K_STRS: capacity in max */
    double dmin, dmax;  /* bounds of CLI_K_DOUBLE */
    size_t aux;         /* CLI_K_STRS: offset of its int count */
    cli_opt_fn fn;      /* CLI_K_CALL */
    const char *label;  /* left column instead of "--name ARG" */
    unsigned flags;     /* CLI_UNLISTED */
} cli_opt;

/* One part of a command's help: verbatim text, or an option table (under an
 * optional heading line) whose offsets are relative to `base`. */
typedef struct cli_part {
    const char *text;
    const char *title;
    const cli_opt *opts;
    size_t base;
    int col;            /* help column of this table's lines; 0: the spec's */
    bool indirect;      /* `base` is the offset of a pointer to the group's struct */
} cli_part;

typedef struct cli_spec {
    const char *prog;       /* "ca pending": messages read "bacsc ca pending: ..." */
    const cli_part *help;   /* ended by CLI_END */
    int col;                /* column where help text starts in option lines */
    bool short_col;         /* option lines keep room for "-x, " before "--name" */
} cli_spec;

#define CLI_END {0}
#define CLI_TEXT(t) {.text = (t)}
#define CLI_GROUP(title_, rows, base_) {.title = (title_), .opts = (rows), .base = (base_)}
/* A group whose struct is elsewhere: T's member `ptr` points to it. */
#define CLI_GROUP_PTR(title_, rows, T, ptr) \
    {.title = (title_), .opts = (rows), .base = offsetof(T, ptr), .indirect = true}
#define CLI_GROUP_COL(title_, rows, base_, col_) \
    {.title = (title_), .opts = (rows), .base = (base_), .col = (col_)}

#define CLI_ROW_(n, s, a, k, T, f, h) \
    .name = (n), .shortc = (s), .arg = (a), .kind = (k), .off = offsetof(T, f), .help = (h)
#define CLI_FLAG(n, s, T, f, h) {CLI_ROW_(n, s, NULL, CLI_K_FLAG, T, f, h)}
#define CLI_STR(n, s, a, T, f, h) {CLI_ROW_(n, s, a, CLI_K_STR, T, f, h)}
#define CLI_STRS(n, s, a, T, f, cnt, h) \
    {CLI_ROW_(n, s, a, CLI_K_STRS, T, f, h), .max = (long)(sizeof(((T *)0)->f) / sizeof(((T *)0)->f[0])), \
     .aux = offsetof(T, cnt)}
#define CLI_STRSZ(n, s, a, T, f, cnt, h) \
    {CLI_ROW_(n, s, a, CLI_K_STRS, T, f, h), .max = (long)(sizeof(((T *)0)->f) / sizeof(((T *)0)->f[0])), \
     .aux = offsetof(T, cnt), .flags = CLI_SIZE_COUNT}
#define CLI_ULONG(n, s, a, T, f, lo, hi, h) {CLI_ROW_(n, s, a, CLI_K_ULONG, T, f, h), .min = (lo), .max = (hi)}
#define CLI_UINT(n, s, a, T, f, lo, hi, h) {CLI_ROW_(n, s, a, CLI_K_UINT, T, f, h), .min = (lo), .max = (hi)}
#define CLI_INT(n, s, a, T, f, lo, hi, h) {CLI_ROW_(n, s, a, CLI_K_INT, T, f, h), .min = (lo), .max = (hi)}
#define CLI_LONG(n, s, a, T, f, lo, hi, h) {CLI_ROW_(n, s, a, CLI_K_LONG, T, f, h), .min = (lo), .max = (hi)}
#define CLI_DOUBLE(n, s, a, T, f, lo, hi, h) \
    {CLI_ROW_(n, s, a, CLI_K_DOUBLE, T, f, h), .dmin = (lo), .dmax = (hi)}
#define CLI_ID(n, s, a, T, f, h) {CLI_ROW_(n, s, a, CLI_K_ID, T, f, h)}
#define CLI_SECONDS(n, s, a, T, f, h) {CLI_ROW_(n, s, a, CLI_K_SECONDS, T, f, h)}
#define CLI_CALL(n, s, a, T, f, fn_, h) {CLI_ROW_(n, s, a, CLI_K_CALL, T, f, h), .fn = (fn_)}
/* A CLI_K_CALL row whose handler gets the whole struct of its group. */
#define CLI_CALL_STRUCT(n, s, a, fn_, h) \
    {.name = (n), .shortc = (s), .arg = (a), .kind = CLI_K_CALL, .off = 0, .fn = (fn_), .help = (h)}
#define CLI_LOGLEVEL(n, s, a, h) {.name = (n), .shortc = (s), .arg = (a), .kind = CLI_K_LOGLEVEL, .help = (h)}
#define CLI_HELP(n, s, h) {.name = (n), .shortc = (s), .kind = CLI_K_HELP, .help = (h)}

/* Parse the options of argv (argv[0] is the command's name) into `opts`.
 * On success the operands are moved to argv[1..*argc-1] in order (argv[0]
 * stays), *argc is their number plus one, and the result is -1 (go on).
 * Otherwise the result is the exit code the command returns: EXIT_OK after
 * --help (printed to stdout), EXIT_USAGE after a one-line message. */
int cli_parse(const cli_spec *spec, void *opts, int *argc, char **argv);

/* Apply the option named exactly `name` with `value` as if it had been given
 * on the command line — for configuration files whose keys are the option
 * names (flags take "true"/"false"). Returns 0, -1 (bad value; message
 * printed) or -2 (no such option, or --help; nothing printed). */
int cli_set(const cli_spec *spec, void *opts, const char *name, const char *value);

/* Print the help of `spec` (text, man page or completion words, see
 * cli_set_help_mode) to `out`. */
void cli_print_help(const cli_spec *spec, FILE *out);

/* Look a long option up in `spec` as the parser does (exact name, else an
 * unambiguous prefix). Returns the row or NULL; *part gets its group. */
const cli_opt *cli_find_opt(const cli_spec *spec, const char *name, size_t len,
                            const cli_part **part);

/* Are argv[from..to) complete options of `spec` (each with its argument)? */
bool cli_opts_span(const cli_spec *spec, char **argv, int from, int to);

/* ---- help formats ---------------------------------------------------------------- */

typedef enum cli_help_mode {
    CLI_HELP_TEXT,      /* --help: the text */
    CLI_HELP_MAN,       /* roff for a man page section */
    CLI_HELP_COMPLETE,  /* "opts: --a --b=" words for the completion generator */
    CLI_HELP_SPEC       /* print nothing; record the spec (cli_spec_of) */
} cli_help_mode;

/* How --help prints (set by `bacsc help --man/--completion`; TEXT otherwise). */
void cli_set_help_mode(cli_help_mode mode);
cli_help_mode cli_get_help_mode(void);
/* Note that the help just printed in the current mode was rendered by the
 * caller (a dispatcher), not plain text to convert. */
void cli_mark_help_rendered(void);

/* Run `run` with argv {name, "--help"} and return what it printed on stdout
 * in the current help mode: when the command renders its help through this
 * layer the result is already in that mode; when it prints plain text, the
 * text is converted (roff verbatim block, or the --options found in it).
 * Returns a malloc'd string, or NULL. */
char *cli_capture_help(int (*run)(int argc, char **argv), const char *name);

/* The spec a command parses with, found by running it with --help in a
 * mode that records the spec instead of printing; NULL when the command
 * prints its own help. */
const cli_spec *cli_spec_of(int (*run)(int argc, char **argv), const char *name);

/* Write `text` as roff: escaped, one line per line, in a no-fill block. */
void cli_roff_verbatim(FILE *out, const char *text);

/* ---- suggestions -------------------------------------------------------------------- */

/* The candidate closest to `word` (edit distance at most 2, or a prefix),
 * or NULL. `names` is an array of `n` strings at a stride of `stride` octets
 * (e.g. &table[0].name, count, sizeof table[0]). */
const char *cli_suggest(const char *word, const char *const *names, size_t n, size_t stride);

#endif
