/*
 * fuzz_ca_backup.c — a CA backup as `bacsc ca restore` reads it: CMS
 * (password recipient), the zip, the manifest, the store image. The input
 * is restored (passphrase "pw", then none) into a fresh directory, which is
 * emptied afterwards.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bacsc/ca_backup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void empty_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[600];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static char base[256];

static void remove_base(void)
{
    rmdir(base);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!base[0]) {
        snprintf(base, sizeof base, "/tmp/fuzz_ca_backup.XXXXXX");
        if (!mkdtemp(base))
            return 0;
        atexit(remove_base);
    }
    char in[300], out[300], err[256];
    snprintf(in, sizeof in, "%s/in", base);
    snprintf(out, sizeof out, "%s/out", base);
    FILE *f = fopen(in, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    bacsc_ca_restore(in, out, "pw", err, sizeof err);
    empty_dir(out);
    bacsc_ca_restore(in, out, NULL, err, sizeof err);
    empty_dir(out);
    unlink(in);
    return 0;
}
