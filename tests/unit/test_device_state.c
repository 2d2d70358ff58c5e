/* test_device_state.c — the state directory: a restart keeps UUID, keys,
 * certificate sets, CSR, ports and mode; a kill -9 at each durable step
 * (bacsc_devstate_crash_at) while a process activates alternate certificate
 * sets leaves one complete set whose certificate matches the active key,
 * never a mix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "bacsc/error.h"
#include "bacsc/pki.h"
#include "support_cari_certs.h"
#include "support_commission.h"

#define NP BACSC_OBJ_NETWORK_PORT
#define SCP BACSC_COMMISSION_SC_PORT
#define IPP BACSC_COMMISSION_IP_PORT

static char *tmp;
static scc_ca ca1;

static int setup(void **state)
{
    (void)state;
    tmp = scc_tempdir();
    scc_ca_init(&ca1, "Site CA");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    scc_ca_free(&ca1);
    scc_rmrf(tmp);
    free(tmp);
    return 0;
}

static char *pem_of(const unsigned char *der, size_t dlen, size_t *n)
{
    return scc_pem("CERTIFICATE", der, dlen, n);
}

/* One commissioning round: CSR, sign, write issuer + cert, optionally mode,
 * activate. Returns the activate outcome. */
static int round_trip(sch *s, int mode, long serial)
{
    sch_res r = sch_write_enum(s, NP, SCP, BACSC_PROP_COMMAND, BACSC_NPC_GENERATE_CSR_FILE);
    if (r.outcome != BACSC_CLIENT_SIMPLE_ACK)
        return -1;
    size_t plen, dlen, clen, n, cn;
    uint8_t *pem = sch_read_file(s, BACSC_COMMISSION_FILE_CSR, 1400, &plen, NULL);
    uint8_t *der = NULL;
    if (pem == NULL || bacsc_pki_to_der(BACSC_PKI_CSR, pem, plen, &der, &dlen) != BACSC_OK)
        return -1;
    unsigned char *cder = scc_issue(&ca1, der, dlen, serial, &clen);
    char *cpem = pem_of(cder, clen, &n);
    size_t alen;
    unsigned char *ader = scc_ca_der(&ca1, &alen);
    char *apem = pem_of(ader, alen, &cn);
    sch_write_file(s, BACSC_COMMISSION_FILE_ISSUER1, 0, apem, cn);
    sch_write_file(s, BACSC_COMMISSION_FILE_OPCERT, 0, cpem, n);
    if (mode >= 0) {
        sch_write_string(s, NP, SCP, BACSC_PROP_SC_PRIMARY_HUB_URI, "wss://127.0.0.1:4443");
        sch_write_bool(s, NP, SCP, BACSC_PROP_OUT_OF_SERVICE, mode == BACSC_MODE_IP);
        sch_write_bool(s, NP, IPP, BACSC_PROP_OUT_OF_SERVICE, mode == BACSC_MODE_SC);
    }
    r = sch_reinit(s, BACSC_REINIT_ACTIVATE_CHANGES, NULL);
    free(pem);
    free(der);
    free(cder);
    free(cpem);
    free(ader);
    free(apem);
    return r.outcome;
}

static void key_fp_of_cert(const bacsc_blob *b, uint8_t fp[32])
{
    uint8_t *der;
    size_t dlen;
    assert_int_equal(bacsc_pki_to_der(BACSC_PKI_CERT, b->data, b->len, &der, &dlen), BACSC_OK);
    assert_int_equal(bacsc_pki_cert_key_fingerprint(der, dlen, fp), BACSC_OK);
    free(der);
}

static void test_restart_keeps_state(void **state)
{
    (void)state;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/restart", tmp);
    sch s;
    sch_open(&s, dir, 7, NULL);
    uint8_t uuid1[16];
    assert_int_equal(bacsc_devstate_uuid(s.st, 7, uuid1), BACSC_OK);
    assert_int_equal(round_trip(&s, BACSC_MODE_SC, 1), BACSC_CLIENT_SIMPLE_ACK);
    assert_int_equal(bacsc_commission_mode(s.cm), BACSC_MODE_SC);
    /* leave something pending too: a fresh CSR and a pending domain */
    assert_int_equal(sch_write_string(&s, NP, SCP, BACSC_PROP_ID_SITE_DOMAIN, "b.example").outcome,
                     BACSC_CLIENT_SIMPLE_ACK);
    assert_int_equal(sch_write_enum(&s, NP, SCP, BACSC_PROP_COMMAND, BACSC_NPC_GENERATE_CSR_FILE).outcome,
                     BACSC_CLIENT_SIMPLE_ACK);
    size_t csr_len;
    uint8_t *csr = sch_read_file(&s, BACSC_COMMISSION_FILE_CSR, 1400, &csr_len, NULL);
    uint8_t fp1[32];
    bacsc_pki_key_fingerprint(bacsc_devrt_key(s.rt), fp1);
    bacsc_commission_data before;
    assert_int_equal(bacsc_commission_data_copy(&before, bacsc_commission_state(s.cm)), BACSC_OK);
    sch_close(&s);

    sch_open(&s, dir, 7, NULL);
    uint8_t uuid2[16];
    assert_int_equal(bacsc_devstate_uuid(s.st, 7, uuid2), BACSC_OK);
    assert_memory_equal(uuid1, uuid2, 16);
    assert_int_equal(bacsc_commission_mode(s.cm), BACSC_MODE_SC);
    const bacsc_commission_data *d = bacsc_commission_state(s.cm);
    assert_int_equal(d->active.opcert.len, before.active.opcert.len);
    assert_memory_equal(d->active.opcert.data, before.active.opcert.data, d->active.opcert.len);
    assert_string_equal(d->sc_active.primary_hub_uri, "wss://127.0.0.1:4443");
    assert_string_equal(d->sc_pending.site_domain, "b.example");
    assert_true(d->has_new_key);
    uint8_t fp2[32];
    assert_non_null(bacsc_devrt_key(s.rt));
    bacsc_pki_key_fingerprint(bacsc_devrt_key(s.rt), fp2);
    assert_memory_equal(fp1, fp2, 32);
    size_t csr2_len;
    uint8_t *csr2 = sch_read_file(&s, BACSC_COMMISSION_FILE_CSR, 1400, &csr2_len, NULL);
    assert_int_equal(csr_len, csr2_len);
    assert_memory_equal(csr, csr2, csr_len);
    /* Changes_Pending survives (the domain) */
    sch_res r = sch_read(&s, NP, SCP, BACSC_PROP_CHANGES_PENDING);
    assert_int_equal(r.data[0], 0x11);
    /* and the new key still works: sign + activate after the restart */
    assert_int_equal(round_trip(&s, -1, 2), BACSC_CLIENT_SIMPLE_ACK);
    bacsc_pki_key_fingerprint(bacsc_devrt_key(s.rt), fp2);
    assert_memory_not_equal(fp1, fp2, 32);
    free(csr);
    free(csr2);
    bacsc_commission_data_free(&before);
    sch_close(&s);
}

/* Child: die (SIGKILL) at durable step `n` while activating new sets. */
static void child_loop(const char *dir, unsigned n)
{
    sch s;
    sch_open(&s, dir, 9, NULL);
    bacsc_devstate_crash_at(s.st, n);
    for (long i = 10; i < 13; i++)
        if (round_trip(&s, (i % 2) ? BACSC_MODE_SC : BACSC_MODE_DUAL, 100 * (long)n + i) !=
            BACSC_CLIENT_SIMPLE_ACK)
            _exit(3);
    _exit(4); /* three rounds without reaching step n */
}

/* The state after a crash: one complete, valid set whose certificate matches
 * the active key — always (a complete set exists before the first crash). */
static void check_recovered(const char *dir, unsigned n)
{
    sch s;
    sch_open(&s, dir, 9, NULL);
    const bacsc_commission_data *d = bacsc_commission_state(s.cm);
    assert_true(d->active.opcert.len > 0);
    uint8_t fpc[32], fpk[32];
    key_fp_of_cert(&d->active.opcert, fpc);
    assert_non_null(bacsc_devrt_key(s.rt));
    bacsc_pki_key_fingerprint(bacsc_devrt_key(s.rt), fpk);
    assert_memory_equal(fpc, fpk, 32);
    assert_true(d->active.issuer[0].len > 0);
    assert_string_equal(d->sc_active.primary_hub_uri, "wss://127.0.0.1:4443");
    /* what validated at activation still validates */
    bacsc_cert_verdict v;
    assert_int_equal(bacsc_devcert_validate(&d->active, bacsc_devrt_key(s.rt), NULL,
                                            (int64_t)time(NULL), &v),
                     BACSC_OK);
    assert_int_equal(v.code, BACSC_CERTCHK_OK);
    int mode = bacsc_commission_mode(s.cm);
    assert_true(mode == BACSC_MODE_SC || mode == BACSC_MODE_DUAL);
    /* one more round works on the recovered state */
    assert_int_equal(round_trip(&s, BACSC_MODE_SC, 100000 + (long)n), BACSC_CLIENT_SIMPLE_ACK);
    sch_close(&s);
}

static void test_kill9_during_activation(void **state)
{
    (void)state;
    char dir[600];
    snprintf(dir, sizeof dir, "%s/kill9", tmp);
    sch s;
    sch_open(&s, dir, 9, NULL);
    assert_int_equal(round_trip(&s, BACSC_MODE_SC, 5), BACSC_CLIENT_SIMPLE_ACK);
    sch_close(&s);
    /* Every durable step of a round (and of the next one) is a crash point. */
    unsigned crashes = 0;
    for (unsigned n = 1; n <= 60; n++) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            child_loop(dir, n);
        int st;
        waitpid(pid, &st, 0);
        assert_true(WIFSIGNALED(st));
        assert_int_equal(WTERMSIG(st), SIGKILL);
        crashes++;
        check_recovered(dir, n);
    }
    assert_int_equal(crashes, 60);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_keeps_state),
        cmocka_unit_test(test_kill9_during_activation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
