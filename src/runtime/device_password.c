/*
 * device_password.c — the ReinitializeDevice password of a state directory
 * and the commissioning lock (docs/security.md "Devices").
 *
 * STATE/password (mode 0600) holds "scrypt N r p SALT HASH" (hex), never the
 * password. At start-up: a password given (--password-file, --password)
 * replaces it; none given and none stored: a random one is generated,
 * stored and shown once for the installer's records. A device therefore
 * always has a password, and a wrong one is never accepted once set.
 * STATE/commissioning-lock, while it exists, refuses every change to the
 * devices' Network Port and File objects (created and removed locally).
 */
#include "runtime_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "bacsc/error.h"
#include "bacsc/pki.h"

#define PW_N 4096 /* scrypt cost: ~10 ms per check, lock-out does the rest */
#define PW_R 8
#define PW_P 1

static int derive(const uint8_t *pw, size_t len, const uint8_t salt[16], uint8_t out[32])
{
    return EVP_PBE_scrypt((const char *)pw, len, salt, 16, PW_N, PW_R, PW_P, 0, out, 32) == 1
               ? BACSC_OK
               : BACSC_ERR_CRYPTO;
}

static int hexval(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static int store(const char *path, const char *pw, rt_password *p)
{
    if (RAND_bytes(p->salt, sizeof p->salt) != 1 ||
        derive((const uint8_t *)pw, strlen(pw), p->salt, p->hash) != BACSC_OK)
        return BACSC_ERR_CRYPTO;
    char salt[33], hash[65], text[160];
    bacsc_pki_hex(p->salt, 16, salt);
    bacsc_pki_hex(p->hash, 32, hash);
    int n = snprintf(text, sizeof text, "scrypt %d %d %d %s %s\n", PW_N, PW_R, PW_P, salt, hash);
    p->set = true;
    return bacsc_pki_write_file(path, text, (size_t)n, 0600);
}

static int load(const char *path, rt_password *p)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? BACSC_ERR_NOT_FOUND : BACSC_ERR_IO;
    char salt[40] = "", hash[72] = "";
    int n = 0, r = 0, q = 0;
    int got = fscanf(f, "scrypt %d %d %d %39s %71s", &n, &r, &q, salt, hash);
    fclose(f);
    if (got != 5 || n != PW_N || r != PW_R || q != PW_P || strlen(salt) != 32 ||
        strlen(hash) != 64 || hexval(salt, p->salt, 16) || hexval(hash, p->hash, 32))
        return BACSC_ERR_MALFORMED;
    p->set = true;
    return BACSC_OK;
}

int rt_password_setup(const char *state_dir, const char *given, rt_password *p, char *shown,
                      size_t shownlen, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (shown && shownlen)
        shown[0] = 0;
    char path[4200];
    snprintf(path, sizeof path, "%s/password", state_dir);
    if (given && *given) {
        if (store(path, given, p) != BACSC_OK) {
            snprintf(err, errlen, "cannot store the password in %s: %s", path, strerror(errno));
            return BACSC_ERR_IO;
        }
        return BACSC_OK;
    }
    int rc = load(path, p);
    if (rc == BACSC_OK)
        return BACSC_OK;
    if (rc != BACSC_ERR_NOT_FOUND) {
        snprintf(err, errlen, "%s is unreadable or malformed (remove it and give --password-file)",
                 path);
        return rc;
    }
    /* Factory fresh: a random password of 16 characters (about 95 bits). */
    static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    uint8_t rnd[16];
    char pw[17];
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        return BACSC_ERR_CRYPTO;
    for (int i = 0; i < 16; i++)
        pw[i] = alphabet[rnd[i] % (sizeof alphabet - 1)];
    pw[16] = 0;
    rc = store(path, pw, p);
    if (rc == BACSC_OK && shown)
        snprintf(shown, shownlen, "%s", pw);
    OPENSSL_cleanse(pw, sizeof pw);
    if (rc != BACSC_OK)
        snprintf(err, errlen, "cannot store the password in %s: %s", path, strerror(errno));
    return rc;
}

int rt_password_check(const rt_password *p, const uint8_t *pw, size_t len)
{
    uint8_t h[32];
    if (!p->set || len == 0 || len > BACSC_REINIT_PASSWORD_MAX ||
        derive(pw, len, p->salt, h) != BACSC_OK)
        return 0;
    int ok = CRYPTO_memcmp(h, p->hash, 32) == 0;
    OPENSSL_cleanse(h, sizeof h);
    return ok;
}

bool rt_commissioning_locked(const char *state_dir)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/commissioning-lock", state_dir);
    return lstat(path, &st) == 0;
}
