/*
 * bacsc/commission.h — certificate management and mode switching through
 * standard BACnet objects (device side), sans-I/O.
 *
 * A bacsc_commission adds to a bacsc_device:
 *   - a Network Port SECURE_CONNECT (the SC port) and, optionally, a Network
 *     Port IPV4 (the IP port);
 *   - four File objects behind the SC port's certificate properties:
 *     Operational_Certificate_File, Issuer_Certificate_Files[1..2],
 *     Certificate_Signing_Request_File (read-only);
 *   - with ops.check_crl, a fifth File object holding the issuers' CRLs
 *     (a proprietary extension: the standard has no CRL property), named by
 *     the SC port's proprietary property BACSC_PROP_ID_CRL_FILE; pending
 *     like the certificates, checked by ops.check_crl at validate-changes
 *     and activate-changes (signed by an issuer, never older than the
 *     installed one);
 * and implements:
 *   - Command generate-csr-file (8): ops.generate_csr makes a fresh key and a
 *     CSR; the CSR (PEM) appears in the CSR File object;
 *   - AtomicWriteFile into the certificate files (PEM or DER) — they hold the
 *     *pending* certificate set; a write at offset 0 replaces the file, later
 *     offsets append; writing File_Size 0 empties a file (removes an issuer);
 *     bytes that cannot start a certificate are refused;
 *   - Command validate-changes (9): ops.validate checks the pending set;
 *     the outcome goes to Command_Validation_Result (510); a failing set
 *     makes the Command write answer Error;
 *   - ReinitializeDevice activate-changes (7): the pending certificate set,
 *     SC port settings (hub URIs…) and both ports' Out_Of_Service (the
 *     communication mode) are checked, then handed to ops.activate, which
 *     applies and persists them atomically; on any failure nothing changes
 *     and the request answers Error(device, invalid-configuration-data);
 *   - mode switching: Out_Of_Service of each Network Port, written as a
 *     pending change, applied by activate-changes. ip = IP in service, SC
 *     out; dual = both in service; sc = IP out, SC in service. Switching both
 *     off is refused at write time; putting the SC port in service needs a
 *     valid operational certificate, an issuer and a primary hub URI.
 *
 * Wiring: give the device config's cb.reinitialize a function that calls
 * bacsc_commission_reinitialize(). Randomness, keys, clocks and storage stay
 * in the runtime, behind bacsc_commission_ops. The library's own runtime
 * implementation is bacsc/device_state.h (SQLite state dir + OpenSSL).
 *
 * BACnet-visible behaviour, for commissioning tools: docs/device-commissioning.md.
 */
#ifndef BACSC_COMMISSION_H
#define BACSC_COMMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/device.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BACSC_CERT_FILE_MAX 16384        /* octets of one certificate file */
#define BACSC_EC_ID_INVALID_CONFIGURATION_DATA 46  /* BACnetErrorCode */
#define BACSC_COMMISSION_DETAIL_MAX 128

/* Default object instances. */
#define BACSC_COMMISSION_SC_PORT 1
#define BACSC_COMMISSION_IP_PORT 2
#define BACSC_COMMISSION_FILE_OPCERT 1
#define BACSC_COMMISSION_FILE_ISSUER1 2
#define BACSC_COMMISSION_FILE_ISSUER2 3
#define BACSC_COMMISSION_FILE_CSR 4
/* Proprietary extension (docs/device-commissioning.md "CRL"): the CRL(s) of
 * the issuers, named by the SC port's property BACSC_PROP_ID_CRL_FILE. */
#define BACSC_COMMISSION_FILE_CRL 5
#define BACSC_CRL_FILE_MAX (64u * 1024u) /* octets of the CRL file */

/* Communication modes. */
enum bacsc_comm_mode { BACSC_MODE_IP = 0, BACSC_MODE_DUAL = 1, BACSC_MODE_SC = 2 };
/* "ip" / "dual" / "sc"; parse returns the mode or BACSC_ERR_INVALID_ARG. */
const char *bacsc_comm_mode_name(int mode);
int bacsc_comm_mode_parse(const char *name);

/* Bytes owned by whoever holds the struct (malloc'd; len 0 = empty). */
typedef struct bacsc_blob {
    uint8_t *data;
    size_t len;
} bacsc_blob;

/* The contents of the certificate File objects. */
typedef struct bacsc_cert_files {
    bacsc_blob opcert;                          /* operational certificate */
    bacsc_blob issuer[BACSC_ISSUER_FILES_MAX];  /* issuer (CA) certificates */
    bacsc_blob crl;                             /* CRL(s) of the issuers (PEM or DER) */
} bacsc_cert_files;

/* Validation outcomes (the first word of Command_Validation_Result). */
enum bacsc_cert_check {
    BACSC_CERTCHK_OK = 0,            /* "valid" */
    BACSC_CERTCHK_NO_CERT,           /* "no-certificate": operational file empty */
    BACSC_CERTCHK_MALFORMED,         /* "malformed-certificate" */
    BACSC_CERTCHK_NO_KEY,            /* "no-key": the device has no key yet */
    BACSC_CERTCHK_KEY_MISMATCH,      /* "key-mismatch": not for this device's key */
    BACSC_CERTCHK_NOT_YET_VALID,     /* "not-yet-valid" */
    BACSC_CERTCHK_EXPIRED,           /* "expired" */
    BACSC_CERTCHK_NO_ISSUER,         /* "no-issuer": both issuer files empty */
    BACSC_CERTCHK_UNKNOWN_ISSUER,    /* "unknown-issuer": signed by neither issuer */
    BACSC_CERTCHK_NO_HUB,            /* "no-hub-uri" (mode checks) */
    BACSC_CERTCHK_NO_PORT,           /* "no-port-in-service" (mode checks) */
    BACSC_CERTCHK_RUNTIME,           /* "runtime-error": ops.activate failed */
    BACSC_CERTCHK_CRL_MALFORMED,     /* "malformed-crl": not CRLs, two of one issuer */
    BACSC_CERTCHK_CRL_UNKNOWN_ISSUER,/* "crl-unknown-issuer": not signed by an issuer */
    BACSC_CERTCHK_CRL_ROLLBACK,      /* "crl-rollback": older than (or drops) the installed */
    BACSC_CERTCHK_CRL_EXPIRED        /* "crl-expired": past its nextUpdate */
};
const char *bacsc_cert_check_name(int code);

/* What ops.validate reports. */
typedef struct bacsc_cert_verdict {
    int code;                        /* enum bacsc_cert_check */
    bool new_key;                    /* the certificate belongs to the key made by the
                                        last generate-csr-file (not yet active) */
    int64_t not_after;               /* Unix seconds, when code is OK/EXPIRED */
    char detail[BACSC_COMMISSION_DETAIL_MAX];  /* one line, e.g. the subject */
} bacsc_cert_verdict;

/*
 * Everything the commissioning state consists of, as persisted by the
 * runtime (device_state.h) and handed to ops.activate. Blobs are owned by
 * the struct (bacsc_commission_data_free).
 */
typedef struct bacsc_commission_data {
    bacsc_cert_files active;         /* what the SC datalink runs with */
    bacsc_cert_files pending;        /* what the File objects show / were written */
    bacsc_blob csr;                  /* the last CSR (PEM), "" = none */
    bool has_new_key;                /* generate-csr-file made a key not yet active */
    bool active_key_is_new;          /* (to ops.activate) the next set switches to that key */
    bacsc_sc_port_config sc_active, sc_pending;
    bacsc_ip_port_config ip_active, ip_pending;
    char validation[BACSC_COMMAND_RESULT_MAX + 1]; /* Command_Validation_Result ("" = none yet) */
} bacsc_commission_data;

void bacsc_commission_data_free(bacsc_commission_data *d);
/* Deep copy (BACSC_OK or BACSC_ERR_NOMEM; on failure *dst is empty). */
int bacsc_commission_data_copy(bacsc_commission_data *dst, const bacsc_commission_data *src);
/* The mode of a pair of port configurations (IP may be absent). */
int bacsc_commission_mode_of(const bacsc_sc_port_config *sc, const bacsc_ip_port_config *ip,
                             bool has_ip);

/* What the runtime provides. All required except `changed` and `restart`. */
typedef struct bacsc_commission_ops {
    /*
     * Make a fresh EC P-256 key (kept by the runtime as the *new* key, 0600,
     * never exposed) and a CSR for it with subject CN `common_name` and the
     * SAN URI urn:uuid:<uuid>. *csr: malloc'd PEM (the commission frees it).
     * Returns 0 or negative BACSC_ERR_* (the Command write then answers
     * Error(device, other)). Replaces any earlier new key.
     */
    int (*generate_csr)(void *user, const char *common_name, const uint8_t uuid[16],
                        uint8_t **csr, size_t *csr_len);
    /*
     * Check `files` (operational certificate vs. the device's current key or
     * new key, validity at the runtime's wall clock, signed by one of the
     * issuers). Fill *v. Returns 0 (the verdict is in v->code) or negative
     * on an internal failure.
     */
    int (*validate)(void *user, const bacsc_cert_files *files, bacsc_cert_verdict *v);
    /*
     * Is `data` one complete certificate (PEM or DER)? Returns 0, or
     * BACSC_ERR_MALFORMED. Used for writes that complete a file.
     */
    int (*check_cert)(void *user, const uint8_t *data, size_t len);
    /*
     * Make `next` the running configuration: next->active holds the new
     * certificate set and port configurations (sc_active/ip_active), and
     * active_key_is_new says whether the new key becomes the device key.
     * The runtime builds what it needs (TLS context…), persists `next` in one
     * transaction, and only then switches (after the ReinitializeDevice ACK
     * went out: defer the datalink change). Return 0, or negative with a
     * one-line reason in `detail` — then nothing may have changed.
     */
    int (*activate)(void *user, const bacsc_commission_data *next, char *detail, size_t cap);
    /* The pending state changed (a file write, a CSR, a port write): persist
     * `data` (optional; failures are logged by the runtime). */
    void (*changed)(void *user, const bacsc_commission_data *data);
    /* ReinitializeDevice coldstart (0) / warmstart (1) was accepted (optional;
     * without it they are acknowledged and nothing happens). */
    void (*restart)(void *user, uint8_t state);
    /*
     * Optional (without it there is no CRL file): may `files->crl` replace
     * `installed` (the active CRLs) with `files->issuer` as the issuers?
     * Returns a BACSC_CERTCHK_* code (OK or a CRL_* one) with `detail`, and
     * on OK the set to keep in *out (malloc'd, the commission frees it;
     * empty for none), or negative on an internal failure.
     */
    int (*check_crl)(void *user, const bacsc_cert_files *files, const bacsc_blob *installed,
                     bacsc_blob *out, char *detail, size_t cap);
    void *user;
} bacsc_commission_ops;

typedef struct bacsc_commission_config {
    bacsc_device *dev;
    const char *device_name;         /* for the CSR common name */
    const uint8_t *uuid;             /* 16 octets: the Device_UUID */
    bool has_ip_port;                /* add the BACnet/IP Network Port */
    /* Initial state (a restored one, or NULL = no certificates, defaults:
     * sc/ip from the fields below). Copied. */
    const bacsc_commission_data *initial;
    bacsc_sc_port_config sc;         /* used when initial == NULL */
    bacsc_ip_port_config ip;
    const bacsc_netport_callbacks *sc_cb;  /* refresh for the SC live state (optional;
                                              command/check_write are taken over) */
    bacsc_commission_ops ops;
} bacsc_commission_config;

typedef struct bacsc_commission bacsc_commission;

/*
 * Add the ports and files to cfg->dev (instances BACSC_COMMISSION_*) and
 * return the commission. The file instances are written into the SC port
 * configuration. Returns BACSC_OK, BACSC_ERR_INVALID_ARG (no device, missing
 * ops), BACSC_ERR_NOMEM, or bacsc_device_add_object()'s errors.
 */
int bacsc_commission_new(const bacsc_commission_config *cfg, bacsc_commission **out);
/* Free the commission (the objects stay in the device: free it first or
 * after, the objects never call back once the commission is gone… so free
 * the device first). */
void bacsc_commission_free(bacsc_commission *c);

/*
 * Handle ReinitializeDevice (call from bacsc_device_callbacks.reinitialize).
 * activate-changes (7): check and apply the pending set (see above);
 * coldstart/warmstart: ops.restart; backup/restore states:
 * services/optional-functionality-not-supported. Returns 0 or negative with
 * *err set.
 */
int bacsc_commission_reinitialize(bacsc_commission *c, uint8_t state, bacsc_error *err);

/* The running state (read-only view; valid until the next call into the
 * commission or the device). */
const bacsc_commission_data *bacsc_commission_state(const bacsc_commission *c);
/* Current / pending communication mode. */
int bacsc_commission_mode(const bacsc_commission *c);
int bacsc_commission_pending_mode(const bacsc_commission *c);
/* The SC / IP Network Port objects (IP NULL when absent). */
bacsc_object *bacsc_commission_sc_port(bacsc_commission *c);
bacsc_object *bacsc_commission_ip_port(bacsc_commission *c);

/* Set the pending mode programmatically (as the Out_Of_Service writes
 * would), with the same checks. Returns BACSC_OK or BACSC_ERR_POLICY. */
int bacsc_commission_set_pending_mode(bacsc_commission *c, int mode);

#ifdef __cplusplus
}
#endif
#endif
