/*
 * main.c — the `bacsc` command: git-style dispatch to src/cli/cmd_<name>.c.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define BACSC_CMD(name)                                                                            \
    extern const char bacsc_cmd_##name##_summary[];                                                \
    int bacsc_cmd_##name(int argc, char **argv);
#include "commands.inc"
#undef BACSC_CMD

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
#define BACSC_CMD(name) {#name, bacsc_cmd_##name, bacsc_cmd_##name##_summary},
#include "commands.inc"
#undef BACSC_CMD
    {NULL, NULL, NULL}};

static void usage(FILE *out)
{
    fprintf(out, "usage: bacsc <command> [options]\n\n"
                 "bacsc — BACnet Secure Connect toolkit: BVLC-SC transport, hub, devices,\n"
                 "and the site certificate lifecycle.\n\ncommands:\n");
    for (const command *c = commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out, "\nRun 'bacsc <command> --help' (or 'bacsc help <command>') for details.\n"
                 "Documentation: docs/bacsc.md (overview) and docs/<command>.md.\n");
}

static const command *find_command(const char *name)
{
    for (const command *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("bacsc %s\n", BACSC_VERSION);
        return EXIT_OK;
    }
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        if (strcmp(name, "help") == 0 && argc > 2) {
            const command *c = find_command(argv[2]);
            if (!c) {
                fprintf(stderr, "bacsc: unknown command '%s'\n", argv[2]);
                return EXIT_USAGE;
            }
            char *hargv[] = {argv[2], "--help", NULL};
            return c->run(2, hargv);
        }
        usage(stdout);
        return EXIT_OK;
    }
    const command *c = find_command(name);
    if (!c) {
        fprintf(stderr, "bacsc: unknown command '%s' (see 'bacsc help')\n", name);
        return EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
