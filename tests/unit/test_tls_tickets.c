/*
 * test_tls_tickets.c — the hub's TLS session ticket key file (tls.h):
 * creation (0600, random keys), reload, rotation by age (current + previous,
 * older keys dropped), refusal of files open to group/others and of files
 * that are not key files (left untouched), and the server context refusing a
 * ticket lifetime longer than the rotation period.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bacsc/tls.h"
#include "support_pki.h"

#define DAY 86400

static char dir[256], path[300];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/bacsc-test-tickets-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/ticket.keys", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    rmdir(dir);
    return 0;
}

static void write_file(const char *text, mode_t mode)
{
    unlink(path);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static char *read_all(void)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

static void same_key(const bacsc_tls_ticket_key *a, const bacsc_tls_ticket_key *b)
{
    assert_memory_equal(a->name, b->name, 16);
    assert_memory_equal(a->aes, b->aes, 32);
    assert_memory_equal(a->hmac, b->hmac, 32);
    assert_int_equal(a->created, b->created);
}

static void create_then_reload(void **state)
{
    (void)state;
    bacsc_tls_ticket_keys k, k2;
    bool rotated = true;
    char err[256] = "";
    int64_t t0 = 1700000000;
    assert_int_equal(bacsc_tls_ticket_keys_load(path, t0, DAY, &k, &rotated, err, sizeof err), 0);
    assert_false(rotated);
    assert_int_equal(k.n, 1);
    assert_int_equal(k.key[0].created, t0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_non_null(strstr(read_all(), "bacsc-ticket-keys 1\n1700000000 "));
    /* keys are random: not all zero, name differs from the AES key */
    static const uint8_t zero[32];
    assert_memory_not_equal(k.key[0].aes, zero, 32);
    assert_memory_not_equal(k.key[0].hmac, zero, 32);

    /* reload just before the rotation age: the same key, no rewrite */
    assert_int_equal(
        bacsc_tls_ticket_keys_load(path, t0 + DAY - 1, DAY, &k2, &rotated, err, sizeof err), 0);
    assert_false(rotated);
    assert_int_equal(k2.n, 1);
    same_key(&k.key[0], &k2.key[0]);
}

static void rotation_keeps_previous_drops_older(void **state)
{
    (void)state;
    bacsc_tls_ticket_keys k1, k2, k3, again;
    bool rotated;
    char err[256] = "";
    int64_t t0 = 1700000000;
    assert_int_equal(bacsc_tls_ticket_keys_load(path, t0, DAY, &k1, &rotated, err, sizeof err), 0);
    /* one period later: new current, old current becomes previous, file rewritten */
    assert_int_equal(
        bacsc_tls_ticket_keys_load(path, t0 + DAY, DAY, &k2, &rotated, err, sizeof err), 0);
    assert_true(rotated);
    assert_int_equal(k2.n, 2);
    assert_int_equal(k2.key[0].created, t0 + DAY);
    assert_memory_not_equal(k2.key[0].name, k1.key[0].name, 16);
    same_key(&k2.key[1], &k1.key[0]);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(
        bacsc_tls_ticket_keys_load(path, t0 + DAY + 5, DAY, &again, &rotated, err, sizeof err), 0);
    assert_false(rotated);
    assert_int_equal(again.n, 2);
    same_key(&again.key[0], &k2.key[0]);
    same_key(&again.key[1], &k2.key[1]);
    /* another period (here: long after): the first key is gone */
    assert_int_equal(
        bacsc_tls_ticket_keys_load(path, t0 + 10 * DAY, DAY, &k3, &rotated, err, sizeof err), 0);
    assert_true(rotated);
    assert_int_equal(k3.n, 2);
    same_key(&k3.key[1], &k2.key[0]);
    assert_memory_not_equal(k3.key[0].name, k1.key[0].name, 16);
    assert_memory_not_equal(k3.key[1].name, k1.key[0].name, 16);

    /* in-memory rotation does the same */
    bacsc_tls_ticket_keys m = k3;
    assert_int_equal(bacsc_tls_ticket_keys_rotate(&m, t0 + 11 * DAY), 0);
    assert_int_equal(m.n, 2);
    same_key(&m.key[1], &k3.key[0]);
    assert_int_equal(m.key[0].created, t0 + 11 * DAY);
}

static void open_permissions_refused(void **state)
{
    (void)state;
    bacsc_tls_ticket_keys k;
    char err[256] = "";
    assert_int_equal(bacsc_tls_ticket_keys_load(path, 1700000000, DAY, &k, NULL, err, sizeof err),
                     0);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(bacsc_tls_ticket_keys_load(path, 1700000000, DAY, &k, NULL, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "0600"));
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(bacsc_tls_ticket_keys_load(path, 1700000000, DAY, &k, NULL, err, sizeof err),
                     -1);
}

static void bad_files_refused_and_untouched(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "hello\n",
        "bacsc-ticket-keys 1\n",
        "bacsc-ticket-keys 2\n1 00112233445566778899aabbccddeeff "
        "0000000000000000000000000000000000000000000000000000000000000000 "
        "0000000000000000000000000000000000000000000000000000000000000000\n",
        /* short AES key */
        "bacsc-ticket-keys 1\n1 00112233445566778899aabbccddeeff "
        "00000000000000000000000000000000000000000000000000000000000000 "
        "0000000000000000000000000000000000000000000000000000000000000000\n",
        /* not hex */
        "bacsc-ticket-keys 1\n1 00112233445566778899aabbccddeefg "
        "0000000000000000000000000000000000000000000000000000000000000000 "
        "0000000000000000000000000000000000000000000000000000000000000000\n",
        /* trailing junk */
        "bacsc-ticket-keys 1\n1 00112233445566778899aabbccddeeff "
        "0000000000000000000000000000000000000000000000000000000000000000 "
        "0000000000000000000000000000000000000000000000000000000000000000 x\n",
        /* negative time */
        "bacsc-ticket-keys 1\n-1 00112233445566778899aabbccddeeff "
        "0000000000000000000000000000000000000000000000000000000000000000 "
        "0000000000000000000000000000000000000000000000000000000000000000\n",
        /* three keys */
        "bacsc-ticket-keys 1\n"
        "3 00112233445566778899aabbccddeeff "
        "0000000000000000000000000000000000000000000000000000000000000000 "
        "0000000000000000000000000000000000000000000000000000000000000000\n"
        "2 00112233445566778899aabbccddeef0 "
        "0000000000000000000000000000000000000000000000000000000000000000 "
        "0000000000000000000000000000000000000000000000000000000000000000\n"
        "1 00112233445566778899aabbccddeef1 "
        "0000000000000000000000000000000000000000000000000000000000000000 "
        "0000000000000000000000000000000000000000000000000000000000000000\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bacsc_tls_ticket_keys k;
        char err[256] = "";
        write_file(bad[i], 0600);
        /* even when the (bogus) key would be due for rotation */
        assert_int_equal(bacsc_tls_ticket_keys_load(path, 1700000000, DAY, &k, NULL, err,
                                                    sizeof err),
                         -1);
        assert_true(err[0] != 0);
        assert_string_equal(read_all(), bad[i]);
    }
    /* a valid hand-written file loads */
    bacsc_tls_ticket_keys k;
    char err[256] = "";
    write_file("bacsc-ticket-keys 1\n"
               "100 00112233445566778899aabbccddeeff "
               "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
               "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\n"
               "50 ffeeddccbbaa99887766554433221100 "
               "0000000000000000000000000000000000000000000000000000000000000000 "
               "0000000000000000000000000000000000000000000000000000000000000000\n",
               0600);
    assert_int_equal(bacsc_tls_ticket_keys_load(path, 200, DAY, &k, NULL, err, sizeof err), 0);
    assert_int_equal(k.n, 2);
    assert_int_equal(k.key[0].created, 100);
    assert_int_equal(k.key[0].name[0], 0x00);
    assert_int_equal(k.key[0].name[15], 0xff);
    assert_int_equal(k.key[0].aes[31], 0x1f);
    assert_int_equal(k.key[0].hmac[0], 0xff);
    assert_int_equal(k.key[1].created, 50);
}

static void symlink_refused(void **state)
{
    (void)state;
    char target[320];
    snprintf(target, sizeof target, "%s/elsewhere", dir);
    assert_int_equal(symlink(target, path), 0);
    bacsc_tls_ticket_keys k;
    char err[256] = "";
    assert_int_equal(bacsc_tls_ticket_keys_load(path, 1700000000, DAY, &k, NULL, err, sizeof err),
                     -1);
    assert_int_equal(access(target, F_OK), -1); /* nothing created through the link */
    unlink(path);
}

static void lifetime_longer_than_rotation_refused(void **state)
{
    (void)state;
    char cert[512], key[512], ca[512];
    assert_int_equal(support_pki_make(dir), 0);
    support_pki_path(cert, sizeof cert, dir, "server", "pem");
    support_pki_path(key, sizeof key, dir, "server", "key");
    support_pki_path(ca, sizeof ca, dir, "ca1", "pem");
    bacsc_tls_config cfg = {.cert_file = cert, .key_file = key, .issuer_files = {ca, NULL},
                            .keylog_file = "", .ticket_key_file = path,
                            .ticket_lifetime_s = 3600, .ticket_rotate_s = 600};
    char err[256] = "";
    bacsc_tls_ctx *t = bacsc_tls_ctx_new(&cfg, true, err, sizeof err);
    assert_null(t);
    assert_non_null(strstr(err, "lifetime"));
    cfg.ticket_rotate_s = 0; /* default 24 h */
    t = bacsc_tls_ctx_new(&cfg, true, err, sizeof err);
    assert_non_null(t);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    bacsc_tls_stats s;
    bacsc_tls_ctx_stats(t, &s);
    assert_int_equal(s.handshakes, 0);
    bacsc_tls_ctx_free(t);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -f %s/*", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_then_reload, setup, teardown),
        cmocka_unit_test_setup_teardown(rotation_keeps_previous_drops_older, setup, teardown),
        cmocka_unit_test_setup_teardown(open_permissions_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_files_refused_and_untouched, setup, teardown),
        cmocka_unit_test_setup_teardown(symlink_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(lifetime_longer_than_rotation_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
