/* cli_opt.c — the option-table parser and its help, man and completion
 * renderers (see cli_opt.h). */
#include "cli_opt.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static cli_help_mode help_mode = CLI_HELP_TEXT;
/* Set when a command printed its help through this layer (or a dispatcher
 * through cli_dispatch), so cli_capture_help() need not convert plain text. */
static bool help_rendered;
static const cli_spec *spec_seen; /* CLI_HELP_SPEC */

void cli_set_help_mode(cli_help_mode mode)
{
    help_mode = mode;
}

cli_help_mode cli_get_help_mode(void)
{
    return help_mode;
}

void cli_mark_help_rendered(void)
{
    help_rendered = true;
}

/* ---- lookup ----------------------------------------------------------------------- */

const cli_opt *cli_find_opt(const cli_spec *spec, const char *name, size_t len,
                            const cli_part **part)
{
    const cli_opt *prefix = NULL;
    const cli_part *prefix_part = NULL;
    int nprefix = 0;
    for (const cli_part *p = spec->help; p->text || p->opts; p++) {
        if (!p->opts)
            continue;
        for (const cli_opt *o = p->opts; o->name; o++) {
            if (strncmp(o->name, name, len) != 0)
                continue;
            if (o->name[len] == 0) {
                *part = p;
                return o;
            }
            /* the same row reached through two groups is one candidate */
            if (!prefix || strcmp(prefix->name, o->name) != 0)
                nprefix++;
            prefix = o;
            prefix_part = p;
        }
    }
    if (nprefix != 1)
        return NULL;
    *part = prefix_part;
    return prefix;
}

static const cli_opt *find_short(const cli_spec *spec, char c, const cli_part **part)
{
    for (const cli_part *p = spec->help; p->text || p->opts; p++)
        for (const cli_opt *o = p->opts; o && o->name; o++)
            if (o->shortc == c) {
                *part = p;
                return o;
            }
    return NULL;
}

/* Where the struct of group `p` is, within (or reached from) `opts`. */
static char *group_base(const cli_part *p, void *opts)
{
    char *at = (char *)opts + p->base;
    return p->indirect ? *(char **)at : at;
}

/* ---- values ----------------------------------------------------------------------- */

static int bad_number(const cli_spec *s, const cli_opt *o, const char *arg)
{
    cli_error(s->prog, "--%s: '%s' is not a number in %ld..%ld", o->name, arg, o->min, o->max);
    return -1;
}

/* Only what a person types as a decimal number: digits, a sign, a point, an
 * exponent ("5", "-3", "0.5", "1e3"); not " 5", "+5", "0x10", "inf" or "nan",
 * which strtol/strtod would take. */
static bool plain_number(const char *arg, bool fraction)
{
    if (!isdigit((unsigned char)arg[0]) && arg[0] != '-' && !(fraction && arg[0] == '.'))
        return false;
    for (const char *c = arg + 1; *c; c++)
        if (!isdigit((unsigned char)*c) &&
            !(fraction && (*c == '.' || *c == 'e' || *c == 'E' || *c == '-' || *c == '+')))
            return false;
    return true;
}

static int parse_long(const char *arg, long *out)
{
    if (!plain_number(arg, false))
        return -1;
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end)
        return -1;
    *out = v;
    return 0;
}

static int apply_number(const cli_spec *s, const cli_opt *o, const char *arg, void *t)
{
    long v;
    if (parse_long(arg, &v) != 0 || v < o->min || v > o->max || (o->min >= 0 && arg[0] == '-'))
        return bad_number(s, o, arg);
    switch (o->kind) {
    case CLI_K_ULONG: *(unsigned long *)t = (unsigned long)v; break;
    case CLI_K_UINT: *(unsigned *)t = (unsigned)v; break;
    case CLI_K_INT: *(int *)t = (int)v; break;
    default: *(long *)t = v; break;
    }
    return 0;
}

static int apply_id(const cli_spec *s, const cli_opt *o, const char *arg, void *t)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (!plain_number(arg, false) || *end || errno || v <= 0) {
        cli_error(s->prog, "bad value '%s' for --%s (see --help)", arg, o->name);
        return -1;
    }
    *(int64_t *)t = v;
    return 0;
}

static int apply_seconds(const cli_spec *s, const cli_opt *o, const char *arg, void *t)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (!plain_number(arg, true) || errno || end == arg || *end || !(v >= 0) || v > 86400) {
        cli_error(s->prog, "--%s: '%s' is not a number of seconds (0..86400)", o->name, arg);
        return -1;
    }
    *(double *)t = v;
    return 0;
}

static int apply_double(const cli_spec *s, const cli_opt *o, const char *arg, void *t)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (!plain_number(arg, true) || errno || end == arg || *end ||
        !(v >= o->dmin && v <= o->dmax)) {
        cli_error(s->prog, "--%s: '%s' is not a number in %g..%g", o->name, arg, o->dmin,
                  o->dmax);
        return -1;
    }
    *(double *)t = v;
    return 0;
}

static int apply_strs(const cli_spec *s, const cli_opt *o, const char *arg, char *base)
{
    void *count = base + o->aux;
    size_t n = o->flags & CLI_SIZE_COUNT ? *(size_t *)count : (size_t) * (int *)count;
    if (n >= (size_t)o->max) {
        cli_error(s->prog, "at most %ld --%s options", o->max, o->name);
        return -1;
    }
    ((const char **)(base + o->off))[n++] = arg;
    if (o->flags & CLI_SIZE_COUNT)
        *(size_t *)count = n;
    else
        *(int *)count = (int)n;
    return 0;
}

/* Store one option. Returns 0, -1 (message printed) or 1 (--help printed). */
static int apply(const cli_spec *s, void *opts, const cli_opt *o, const cli_part *part,
                 const char *arg)
{
    char *base = group_base(part, opts);
    void *t = base + o->off;
    switch (o->kind) {
    case CLI_K_FLAG: *(bool *)t = true; return 0;
    case CLI_K_STR: *(const char **)t = arg; return 0;
    case CLI_K_STRS: return apply_strs(s, o, arg, base);
    case CLI_K_ULONG:
    case CLI_K_UINT:
    case CLI_K_INT:
    case CLI_K_LONG: return apply_number(s, o, arg, t);
    case CLI_K_ID: return apply_id(s, o, arg, t);
    case CLI_K_SECONDS: return apply_seconds(s, o, arg, t);
    case CLI_K_DOUBLE: return apply_double(s, o, arg, t);
    case CLI_K_LOGLEVEL: return cli_set_log_level(s->prog, arg) ? 0 : -1;
    case CLI_K_CALL: return o->fn(s->prog, arg, t);
    case CLI_K_HELP: cli_print_help(s, stdout); return 1;
    }
    return -1;
}

/* ---- parsing ---------------------------------------------------------------------- */

/* Does the row's argument name a file or directory ("FILE", "DIR", "CERT.pem")
 * or a socket address ("ADDR:PORT")? */
static bool names_a_path(const cli_opt *o)
{
    static const char *const paths[] = {"FILE", "F", "DIR", "RESPONSE", "CA_CERT", "ADDR:PORT"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (strcmp(o->arg, paths[i]) == 0)
            return true;
    size_t n = strlen(o->arg);
    return n > 4 && (strcmp(o->arg + n - 4, ".pem") == 0 || strcmp(o->arg + n - 4, ".zip") == 0);
}

/* apply() for an option of the command line, where an empty path or address
 * ("--dir ''") is refused: no file has an empty name. (cli_set, for
 * configuration files, is not affected.) */
static int apply_arg(const cli_spec *s, void *opts, const cli_opt *o, const cli_part *part,
                     const char *arg)
{
    if (arg && !*arg && names_a_path(o)) {
        cli_error(s->prog, "--%s: empty %s", o->name, o->arg);
        return -1;
    }
    return apply(s, opts, o, part, arg);
}

static int refuse(const cli_spec *s, const char *word)
{
    cli_error(s->prog, "unknown option or missing argument: %s (see --help)", word);
    return EXIT_USAGE;
}

static int result_of(int r)
{
    return r == 1 ? EXIT_OK : r < 0 ? EXIT_USAGE : -1;
}

/* "--name", "--name=value" or "--name value" at argv[*i]. */
static int parse_long_opt(const cli_spec *s, void *opts, int argc, char **argv, int *i)
{
    const char *word = argv[*i] + 2;
    const char *eq = strchr(word, '=');
    size_t len = eq ? (size_t)(eq - word) : strlen(word);
    const cli_part *part = NULL;
    const cli_opt *o = cli_find_opt(s, word, len, &part);
    if (!o || (eq && !o->arg))
        return refuse(s, argv[*i]);
    const char *arg = NULL;
    if (o->arg) {
        if (eq)
            arg = eq + 1;
        else if (*i + 1 < argc)
            arg = argv[++*i];
        else
            return refuse(s, argv[*i]);
    }
    return result_of(apply_arg(s, opts, o, part, arg));
}

/* "-x", "-xVALUE", "-x VALUE" or bundled flags "-jq" at argv[*i]. */
static int parse_short_opts(const cli_spec *s, void *opts, int argc, char **argv, int *i)
{
    const char *w = argv[*i];
    for (size_t k = 1; w[k]; k++) {
        const cli_part *part = NULL;
        const cli_opt *o = find_short(s, w[k], &part);
        if (!o) {
            char shown[3] = {'-', w[k], 0};
            return refuse(s, k == 1 ? w : shown);
        }
        const char *arg = NULL;
        if (o->arg) {
            if (w[k + 1])
                arg = w + k + 1;
            else if (*i + 1 < argc)
                arg = argv[++*i];
            else
                return refuse(s, w);
        }
        int r = result_of(apply_arg(s, opts, o, part, arg));
        if (r >= 0 || o->arg)
            return r;
    }
    return -1;
}

static bool is_negative_number(const cli_spec *s, const char *w)
{
    const cli_part *part;
    return (isdigit((unsigned char)w[1]) || w[1] == '.') && !find_short(s, w[1], &part);
}

int cli_parse(const cli_spec *spec, void *opts, int *argc, char **argv)
{
    int n = *argc, nout = 1;
    bool only_operands = false;
    for (int i = 1; i < n; i++) {
        const char *w = argv[i];
        if (only_operands || w[0] != '-' || w[1] == 0 || is_negative_number(spec, w)) {
            argv[nout++] = argv[i];
            continue;
        }
        if (strcmp(w, "--") == 0) {
            only_operands = true;
            continue;
        }
        int r = w[1] == '-' ? parse_long_opt(spec, opts, n, argv, &i)
                            : parse_short_opts(spec, opts, n, argv, &i);
        if (r >= 0)
            return r;
    }
    *argc = nout;
    argv[nout] = NULL;
    return -1;
}

int cli_set(const cli_spec *spec, void *opts, const char *name, const char *value)
{
    const cli_part *part = NULL;
    const cli_opt *o = cli_find_opt(spec, name, strlen(name), &part);
    if (!o || strcmp(o->name, name) != 0 || o->kind == CLI_K_HELP)
        return -2;
    if (!o->arg) {
        if (value && strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
            cli_error(spec->prog, "%s: true or false, not '%s'", name, value);
            return -1;
        }
        if (value && strcmp(value, "false") == 0)
            return 0;
        value = NULL;
    }
    return apply(spec, opts, o, part, value) < 0 ? -1 : 0;
}

bool cli_opts_span(const cli_spec *spec, char **argv, int from, int to)
{
    for (int i = from; i < to; i++) {
        const char *w = argv[i];
        const cli_part *base;
        const cli_opt *o = NULL;
        if (w[0] != '-' || w[1] == 0 || strcmp(w, "--") == 0)
            return false;
        if (w[1] == '-') {
            const char *eq = strchr(w + 2, '=');
            o = cli_find_opt(spec, w + 2, eq ? (size_t)(eq - w - 2) : strlen(w + 2), &base);
            if (!o || (eq && !o->arg))
                return false;
            if (eq)
                continue;
        } else {
            o = find_short(spec, w[1], &base);
            if (!o)
                return false;
            if (o->arg && w[2])
                continue;
        }
        if (o && o->arg && ++i >= to)
            return false;
    }
    return true;
}

/* ---- text help -------------------------------------------------------------------- */

static int left_column(const cli_spec *s, const cli_opt *o, char *buf, size_t cap)
{
    const char *prefix = "  ";
    char shortp[8];
    if (s->short_col) {
        if (o->shortc)
            snprintf(shortp, sizeof shortp, "  -%c, ", o->shortc);
        prefix = o->shortc ? shortp : "      ";
    }
    if (o->label)
        return snprintf(buf, cap, "%s%s", prefix, o->label);
    return snprintf(buf, cap, "%s--%s%s%s", prefix, o->name, o->arg ? " " : "",
                    o->arg ? o->arg : "");
}

static void print_row_text(const cli_spec *s, const cli_opt *o, int col, FILE *out)
{
    char left[256];
    int n = left_column(s, o, left, sizeof left);
    const char *h = o->help ? o->help : "";
    fputs(left, out);
    if (*h == '\n') {
        /* the text starts on the next line */
    } else if (*h) {
        fprintf(out, "%*s", n < col ? col - n : 2, "");
    }
    for (; *h; h++) {
        fputc(*h, out);
        if (*h == '\n' && h[1])
            fprintf(out, "%*s", col, "");
    }
    fputc('\n', out);
}

static void print_text(const cli_spec *spec, FILE *out)
{
    for (const cli_part *p = spec->help; p->text || p->opts; p++) {
        if (p->text) {
            fputs(p->text, out);
            continue;
        }
        if (p->title)
            fprintf(out, "%s\n", p->title);
        for (const cli_opt *o = p->opts; o->name; o++)
            if (!(o->flags & CLI_UNLISTED))
                print_row_text(spec, o, p->col ? p->col : spec->col, out);
    }
}

/* ---- man page and completion ------------------------------------------------------ */

static void roff_escaped(FILE *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\')
            fputs("\\e", out);
        else if (s[i] == '-')
            fputs("\\-", out);
        else
            fputc(s[i], out);
    }
}

void cli_roff_verbatim(FILE *out, const char *text)
{
    fputs(".nf\n", out);
    while (*text) {
        const char *nl = strchr(text, '\n');
        size_t len = nl ? (size_t)(nl - text) : strlen(text);
        if (*text == '.' || *text == '\'')
            fputs("\\&", out);
        roff_escaped(out, text, len);
        fputc('\n', out);
        text += len + (nl ? 1 : 0);
    }
    fputs(".fi\n", out);
}

static void print_row_man(const cli_opt *o, FILE *out)
{
    fputs(".TP\n", out);
    if (o->label) {
        fputs("\\fB", out);
        roff_escaped(out, o->label, strlen(o->label));
        fputs("\\fR", out);
    } else {
        if (o->shortc)
            fprintf(out, "\\fB\\-%c\\fR, ", o->shortc);
        fputs("\\fB\\-\\-", out);
        roff_escaped(out, o->name, strlen(o->name));
        fputs("\\fR", out);
        if (o->arg) {
            fputs(" \\fI", out);
            roff_escaped(out, o->arg, strlen(o->arg));
            fputs("\\fR", out);
        }
    }
    fputc('\n', out);
    const char *h = o->help ? o->help : "";
    while (*h == '\n')
        h++;
    for (const char *l = h; *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        if (*l == '.' || *l == '\'')
            fputs("\\&", out);
        roff_escaped(out, l, len);
        fputc('\n', out);
        l += len + (nl ? 1 : 0);
    }
}

static void print_man(const cli_spec *spec, FILE *out)
{
    for (const cli_part *p = spec->help; p->text || p->opts; p++) {
        if (p->text) {
            fputs(".PP\n", out); /* back to the left margin after option rows */
            cli_roff_verbatim(out, p->text);
            continue;
        }
        fputs(".PP\n", out);
        if (p->title) {
            fputs("\\fB", out);
            roff_escaped(out, p->title, strlen(p->title));
            fputs("\\fR\n", out);
        }
        for (const cli_opt *o = p->opts; o->name; o++)
            print_row_man(o, out);
    }
}

static void print_complete(const cli_spec *spec, FILE *out)
{
    fputs("opts:", out);
    for (const cli_part *p = spec->help; p->text || p->opts; p++)
        for (const cli_opt *o = p->opts; o && o->name; o++)
            fprintf(out, " --%s%s", o->name, o->arg ? "=" : "");
    fputc('\n', out);
}

void cli_print_help(const cli_spec *spec, FILE *out)
{
    switch (help_mode) {
    case CLI_HELP_TEXT: print_text(spec, out); return;
    case CLI_HELP_MAN: print_man(spec, out); break;
    case CLI_HELP_COMPLETE: print_complete(spec, out); break;
    case CLI_HELP_SPEC: spec_seen = spec; break;
    }
    help_rendered = true;
}

/* ---- capture ------------------------------------------------------------------------ */

/* The long options named in a plain help text, as completion words: those
 * followed by an upper-case placeholder take an argument ("--dir DIR"). */
static void complete_from_text(FILE *out, const char *text)
{
    char seen[4096] = "opts:";
    for (const char *p = text; (p = strstr(p, "--")) != NULL;) {
        const char *q = p + 2;
        bool word_start = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '-');
        if (!word_start || !islower((unsigned char)*q)) {
            p = q;
            continue;
        }
        while (islower((unsigned char)*q) || isdigit((unsigned char)*q) || *q == '-')
            q++;
        bool arg = (*q == ' ' || *q == '=') && isupper((unsigned char)q[1]);
        char bare[96], word[100];
        snprintf(bare, sizeof bare, " %.*s", (int)(q - p), p);
        snprintf(word, sizeof word, "%s%s", bare, arg ? "=" : "");
        size_t bl = strlen(bare);
        bool dup = false;
        for (const char *f = seen; (f = strstr(f, bare)) != NULL; f += bl)
            if (f[bl] == 0 || f[bl] == ' ' || f[bl] == '=')
                dup = true;
        if (!dup && strlen(seen) + strlen(word) < sizeof seen)
            strcat(seen, word);
        p = q;
    }
    fprintf(out, "%s\n", seen);
}

static char *read_all(FILE *f)
{
    long len = ftell(f);
    if (len < 0)
        return NULL;
    char *buf = malloc((size_t)len + 1);
    rewind(f);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        return NULL;
    }
    if (buf)
        buf[len] = 0;
    return buf;
}

char *cli_capture_help(int (*run)(int argc, char **argv), const char *name)
{
    fflush(stdout);
    FILE *tmp = tmpfile();
    int saved = dup(STDOUT_FILENO);
    if (!tmp || saved < 0 || dup2(fileno(tmp), STDOUT_FILENO) < 0) {
        if (tmp)
            fclose(tmp);
        if (saved >= 0)
            close(saved);
        return NULL;
    }
    bool outer = help_rendered;
    help_rendered = false;
    char *argv[] = {(char *)name, "--help", NULL};
    run(2, argv);
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    bool rendered = help_rendered;
    help_rendered = outer;
    char *text = read_all(tmp);
    fclose(tmp);
    if (!text || rendered || help_mode == CLI_HELP_TEXT || help_mode == CLI_HELP_SPEC)
        return text;
    /* plain text from a command that prints its own help: convert it */
    char *conv = NULL;
    size_t clen = 0;
    FILE *m = open_memstream(&conv, &clen);
    if (m) {
        if (help_mode == CLI_HELP_MAN)
            cli_roff_verbatim(m, text);
        else
            complete_from_text(m, text);
        fclose(m);
    }
    free(text);
    return conv;
}

const cli_spec *cli_spec_of(int (*run)(int argc, char **argv), const char *name)
{
    cli_help_mode saved = help_mode;
    help_mode = CLI_HELP_SPEC;
    spec_seen = NULL;
    free(cli_capture_help(run, name));
    help_mode = saved;
    return spec_seen;
}

/* ---- suggestions ---------------------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *cli_suggest(const char *word, const char *const *names, size_t n, size_t stride)
{
    const char *best = NULL;
    size_t best_d = 3;
    size_t wl = strlen(word);
    for (size_t i = 0; i < n; i++) {
        const char *name = *(const char *const *)((const char *)names + i * stride);
        if (!name)
            break;
        size_t d = edit_distance(word, name);
        if (wl >= 2 && strncmp(name, word, wl) == 0 && d > 1)
            d = 1; /* a prefix: "pend" → "pending" */
        if (d < best_d && d < strlen(name)) {
            best = name;
            best_d = d;
        }
    }
    return best;
}
