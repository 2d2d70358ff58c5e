/*
 * support_sitesim.h — an in-process simulated site for `bacsc site` tests
 * and the commissioning benchmark: N commissionable devices and one client
 * on an in-memory network, all in one process.
 *
 * Each device follows docs/device-commissioning.md: network-port,1
 * (SECURE_CONNECT) with the certificate file references, Command
 * generate-csr-file / validate-changes, Command_Validation_Result and a
 * pending Out_Of_Service; network-port,2 (IPV4); file,1 operational
 * certificate, file,2/3 issuers, file,4 CSR (PEM, read-only). Certificate
 * files hold the pending set; ReinitializeDevice activate-changes checks
 * and applies it (with the ports' pending settings) or refuses with
 * device/invalid-configuration-data, changing nothing.
 *
 * The network delivers frames in simulated time: sitesim_poll() delivers
 * everything queued, and advances the clock by the timeout when nothing was
 * queued, so client retries play out instantly. A device can be taken
 * offline (frames to it are dropped) to model a device killed mid-job.
 */
#ifndef BACSC_TEST_SITESIM_H
#define BACSC_TEST_SITESIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "bacsc/client.h"
#include "bacsc/device.h"
#include "bacsc/site.h"

typedef struct sitesim sitesim;

typedef struct simdev {
    sitesim *sim;
    uint32_t instance;
    size_t index;
    uint8_t mac[6];
    char name[32];
    uint8_t uuid[16];
    bacsc_device *dev;
    bacsc_object *sc, *ip;
    EVP_PKEY *key, *new_key;          /* running key, key from the last generate-csr */
    /* file contents: [0] opcert [1] issuer1 [2] issuer2 [3] csr; pending and active */
    uint8_t *pend[4], *act[4];
    size_t pend_len[4], act_len[4];
    bool offline;                     /* frames to/from it are dropped */
    unsigned offline_after_writes;    /* go offline after this many file writes (0 = never) */
    unsigned file_writes;
    bool corrupt_validation;          /* validate-changes always fails (test hook) */
    const uint8_t *csr_junk;          /* generate-csr-file writes these octets instead */
    size_t csr_junk_len;
    const uint8_t *stage_issuer2;     /* when file,1 is written, someone else stages
                                         these octets as issuer 2 (test hook) */
    size_t stage_issuer2_len;
    const char *stage_failover;       /* when the SC port's Out_Of_Service is written, someone
                                         else stages this failover hub URI (test hook) */
    uint64_t silent_after_activation_us; /* after an activation, ignore requests this long
                                          (a device reconnecting to its hub; test hook) */
    uint64_t silent_until;
    unsigned activations;
    int mode;                         /* bacsc_site_mode: running mode */
} simdev;

struct sitesim {
    simdev *devs;
    size_t n;
    bacsc_client *cl;
    uint8_t client_mac[6];
    uint64_t now;                     /* µs */
    /* frame queue */
    struct simframe *q;
    size_t qhead, qlen, qcap;
    size_t delivered, dropped;
    bacsc_site_io io;
};

/* Create `n` devices with instances first..first+n-1 (names "dev-<inst>"),
 * on BACnet/IP only, no certificates, and a client. */
sitesim *sitesim_new(size_t n, uint32_t first);
void sitesim_free(sitesim *s);
simdev *sitesim_dev(sitesim *s, uint32_t instance);
/* The I/O for bacsc_site_job_run(). */
const bacsc_site_io *sitesim_io(sitesim *s);
/* Who-Is broadcast; fill found[] (cap entries) from the I-Am answers. */
size_t sitesim_discover(sitesim *s, bacsc_site_found *found, size_t cap);
/* Address text of a device (as stored in the site database). */
bacsc_address sitesim_addr(const simdev *d);

/* A test CA that signs CSRs. */
typedef struct simca {
    EVP_PKEY *key;
    void *cert;                       /* X509 * */
    void *signer;                     /* bacsc_signer * */
    unsigned char *der;
    size_t der_len;
} simca;
void simca_init(simca *ca, const char *name);
void simca_free(simca *ca);
/* Sign every CSR of a CARI request file into a CARI response file (with the
 * CA as issuer). validity_days < 0 makes already-expired certificates.
 * Returns the number of certificates. */
int simca_sign_file(simca *ca, const char *request, const char *response, int validity_days);

#endif
