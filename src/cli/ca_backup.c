/*
 * ca_backup.c — `bacsc ca backup` and `bacsc ca restore` (bacsc/ca_backup.h,
 * docs/lifecycle.md "CA backup").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "bacsc/ca_backup.h"
#include "bacsc/error.h"
#include "ca_cli.h"
#include "cli.h"

typedef struct backup_opts {
    ca_common c;
    const char *out, *bpass_file;
    bool unencrypted;
} backup_opts;

static const cli_opt backup_rows[] = {
    CLI_STR("out", 0, "FILE", backup_opts, out, "the backup to write (required; mode 0600)"),
    CLI_STR("backup-passphrase-file", 0, "F", backup_opts, bpass_file,
            "encrypt with the passphrase on the first line of F\n"
            "(default $BACSC_BACKUP_PASSPHRASE_FILE)"),
    CLI_FLAG("unencrypted", 0, backup_opts, unencrypted,
             "write a plain zip: the CA key as it is in DIR"),
    CLI_END};

CA_SPEC(backup, "ca backup",
        "usage: bacsc ca backup [--dir DIR] --out FILE (--backup-passphrase-file F | --unencrypted)\n\n"
        "Back up the CA directory while the CA may be in use: a consistent copy of the\n"
        "store (SQLite online backup), the key, the certificate and the policy, with a\n"
        "manifest of SHA-256 sums. Encrypted with a passphrase (CMS, password recipient:\n"
        "`openssl cms -decrypt -inform DER -pwri_password PASS` opens it too); without a\n"
        "passphrase the backup is refused unless --unencrypted is given.\n\n",
        backup_rows, 0, backup_opts);

typedef struct restore_opts {
    ca_common c;
    const char *bpass_file;
} restore_opts;

static const cli_opt restore_rows[] = {
    CLI_STR("backup-passphrase-file", 0, "F", restore_opts, bpass_file,
            "the backup's passphrase (first line of F;\n"
            "default $BACSC_BACKUP_PASSPHRASE_FILE)"),
    CLI_END};

CA_SPEC(restore, "ca restore",
        "usage: bacsc ca restore [--dir DIR] BACKUP [--backup-passphrase-file F]\n\n"
        "Restore a backup made by 'bacsc ca backup' into DIR, which must not exist or\n"
        "be empty. Every file is checked against the manifest and the store with\n"
        "SQLite's integrity check before anything is written. The restored CA knows\n"
        "every certificate it issued (serials stay unique) and signs as before.\n"
        "Exit status: 0 ok, 3 not a backup, damaged or wrong passphrase, 1 failed.\n\n",
        restore_rows, 0, restore_opts);

/* The first line of the passphrase file (option, else environment). */
static int read_backup_pass(const char *prog, const char *file, char **out)
{
    *out = NULL;
    if (!file) {
        file = getenv("BACSC_BACKUP_PASSPHRASE_FILE");
        if (!file || !*file)
            return 0;
    }
    ca_common c = {.prog = prog, .pass_file = file};
    return ca_read_passphrase(&c, out);
}

static void forget(char *pass)
{
    if (pass) {
        OPENSSL_cleanse(pass, strlen(pass));
        free(pass);
    }
}

int ca_cmd_backup(int argc, char **argv)
{
    backup_opts o = {0};
    int ex = ca_parse(&backup_spec, &o, &o.c, &argc, argv);
    if (ex >= 0)
        return ex;
    if (cli_extra_args(o.c.prog, argc, argv, 0))
        return EXIT_USAGE;
    if (!o.out) {
        cli_error(o.c.prog, "--out FILE is required");
        return EXIT_USAGE;
    }
    char *pass = NULL;
    if (read_backup_pass(o.c.prog, o.bpass_file, &pass) != 0)
        return EXIT_USAGE;
    if (!pass && !o.unencrypted) {
        cli_error(o.c.prog, "refusing to write the CA key unencrypted: give "
                            "--backup-passphrase-file F (or --unencrypted)");
        return EXIT_USAGE;
    }
    if (pass && o.unencrypted) {
        forget(pass);
        cli_error(o.c.prog, "--unencrypted and a backup passphrase exclude each other");
        return EXIT_USAGE;
    }
    char err[600];
    int rc = bacsc_ca_backup(o.c.dir, o.out, pass, err, sizeof err);
    forget(pass);
    if (rc != BACSC_OK) {
        cli_error(o.c.prog, "%s", err);
        return EXIT_FAIL;
    }
    if (o.c.json)
        cli_print_json(json_pack("{s:s,s:s,s:b}", "dir", o.c.dir, "backup", o.out, "encrypted",
                                 !o.unencrypted));
    else
        printf("backed up %s to %s (%s)\n", o.c.dir, o.out,
               o.unencrypted ? "NOT encrypted: keep it as safe as the CA key" : "encrypted");
    return EXIT_OK;
}

static int count_cert(const bacsc_cert_row *r, void *user)
{
    (void)r;
    (void)user;
    return 0;
}

int ca_cmd_restore(int argc, char **argv)
{
    restore_opts o = {0};
    int ex = ca_parse(&restore_spec, &o, &o.c, &argc, argv);
    if (ex >= 0)
        return ex;
    if (cli_extra_args(o.c.prog, argc, argv, 1))
        return EXIT_USAGE;
    if (argc != 2) {
        cli_error(o.c.prog, "give exactly one backup file (see --help)");
        return EXIT_USAGE;
    }
    if (cli_empty_operand(o.c.prog, "backup FILE", argv[1]))
        return EXIT_USAGE;
    char *pass = NULL;
    if (read_backup_pass(o.c.prog, o.bpass_file, &pass) != 0)
        return EXIT_USAGE;
    char err[600];
    int rc = bacsc_ca_restore(argv[1], o.c.dir, pass, err, sizeof err);
    forget(pass);
    if (rc != BACSC_OK) {
        cli_error(o.c.prog, "%s: %s", argv[1], err);
        return rc == BACSC_ERR_MALFORMED || rc == BACSC_ERR_STATE || rc == BACSC_ERR_LIMIT
                   ? EXIT_DATAERR
                   : EXIT_FAIL;
    }
    bacsc_ca *ca = ca_open(&o.c);
    if (!ca)
        return EXIT_FAIL;
    int n = bacsc_ca_certs(ca, NULL, count_cert, NULL);
    bacsc_ca_close(ca);
    if (o.c.json)
        cli_print_json(json_pack("{s:s,s:s,s:i}", "dir", o.c.dir, "backup", argv[1],
                                 "certificates", n));
    else
        printf("restored %s into %s: %d certificate%s\n", argv[1], o.c.dir, n, n == 1 ? "" : "s");
    return EXIT_OK;
}
