/*
 * bacsc/site.h — commissioning a site over BACnet: the site database and
 * the job engine behind `bacsc site` (docs/site.md).
 *
 * The site database (SQLite, WAL, schema version in PRAGMA user_version)
 * holds the site settings (name, site CA certificate, domain, hub URIs),
 * one row per device (identity, address, Network Port and File object
 * instances, communication mode, the certificate it holds, a pending CSR),
 * every job (kind, arguments, start, finish, state) and per-device job
 * items (step reached, status, error, attempts, payload).
 *
 * The job engine drives one small state machine per device through a
 * bacsc_client (client.h), at most `concurrency` devices at a time, and
 * commits every step in its own transaction, so a tool killed mid-job
 * resumes where it stopped (bacsc_site_job_resumable()) and a rerun after a
 * partial job retries only the devices that failed
 * (bacsc_site_job_create_retry()).
 *
 * The engine does no I/O itself: the caller supplies a bacsc_site_io with a
 * poll function that moves bytes between the datalink and the client (UDP
 * for BACnet/IP in the CLI, an in-memory network in tests).
 *
 * BACnet-visible sequence used per job kind (docs/site.md, "Workflows"):
 *   discover  RPM Device {Object_Name, Device_UUID, Object_List};
 *             RPM each Network Port {Network_Type, MAC_Address, Out_Of_Service,
 *             certificate file properties, hub URIs}; AtomicReadFile the
 *             operational certificate and both issuer certificate files.
 *   request   WP Command = generate-csr-file (8) on the SC port; AtomicReadFile
 *             the Certificate_Signing_Request_File in chunks; store.
 *   import    AtomicWriteFile the site CA into a free issuer slot where the
 *             device lacks it; truncate + AtomicWriteFile the operational
 *             certificate; WP Command = validate-changes (9); RP
 *             Command_Validation_Result; on failure WP Command =
 *             discard-changes (1) and stop; ReinitializeDevice
 *             activate-changes (7); RP Changes_Pending to confirm.
 *   trust     read both issuer slots; write/clear the one concerned;
 *             ReinitializeDevice activate-changes.
 *   renew     AtomicReadFile the operational certificate (what is renewed);
 *             then as request (the device signs its new CSR with its current
 *             key: bacsc/renewal.h).
 *   mode      WP hub URIs where missing; WP Out_Of_Service of the IP and SC
 *             Network Ports (ip: SC port out of service; sc: IP port out of
 *             service; dual: both in service); ReinitializeDevice
 *             activate-changes; RP Changes_Pending when the device stays
 *             reachable on the datalink in use.
 */
#ifndef BACSC_SITE_H
#define BACSC_SITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/client.h"
#include "bacsc/datalink.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bacsc_site bacsc_site;

#define BACSC_SITE_SCHEMA_VERSION 3
#define BACSC_SITE_FP_LEN 32               /* SHA-256 */
#define BACSC_SITE_NONE 0x3FFFFFu          /* "no such object instance" */
#define BACSC_SITE_CONCURRENCY_DEFAULT 32
#define BACSC_SITE_CONCURRENCY_MAX 1024
#define BACSC_SITE_EXPIRING_DAYS_DEFAULT 30

/* ---- database ------------------------------------------------------------- */

/*
 * Open (create = true: create if missing) the site database at `path`.
 * Sets WAL mode, a busy timeout and checks/creates the schema.
 * Returns BACSC_OK, BACSC_ERR_NOT_FOUND (missing and !create),
 * BACSC_ERR_MALFORMED (not a bacsc site database, or a newer schema),
 * BACSC_ERR_DB, BACSC_ERR_NOMEM; `err` gets a one-line reason.
 */
int bacsc_site_open(const char *path, bool create, bacsc_site **out, char *err, size_t errlen);
void bacsc_site_close(bacsc_site *s);
/* The last error message (never NULL). */
const char *bacsc_site_errmsg(const bacsc_site *s);
/* Fix "now" (Unix seconds) for tests; 0 = the wall clock. */
void bacsc_site_set_time(bacsc_site *s, int64_t unix_now);
int64_t bacsc_site_now(const bacsc_site *s);

/* Site settings. Strings are "" when unset. */
typedef struct bacsc_site_settings {
    char name[128];
    char domain[128];
    char primary_hub[256];
    char failover_hub[256];
    unsigned char *ca_der;                 /* site CA certificate (DER), malloc'd */
    size_t ca_len;
    char ca_subject[256];
    unsigned char ca_fp[BACSC_SITE_FP_LEN]; /* SHA-256 of the CA certificate DER */
} bacsc_site_settings;

/*
 * Set the site settings (`site init`; may be repeated to change them).
 * `ca` is the site CA certificate, PEM or DER (must be a CA certificate).
 * Strings may be NULL (= ""). Returns BACSC_OK, BACSC_ERR_MALFORMED (CA not
 * a certificate / not CA:TRUE), BACSC_ERR_INVALID_ARG (empty name, too
 * long), BACSC_ERR_DB.
 */
int bacsc_site_settings_set(bacsc_site *s, const char *name, const unsigned char *ca,
                            size_t ca_len, const char *domain, const char *primary_hub,
                            const char *failover_hub);
/* Is `uri` a hub URI a device can be given: wss://HOST:PORT[/PATH] (HOST may
 * be [IPv6])? BACSC_OK, or BACSC_ERR_INVALID_ARG with a one-line reason in why
 * (naming the URI). bacsc_site_settings_set() checks both hubs with it. */
int bacsc_site_hub_uri_check(const char *uri, char *why, size_t whylen);
/* Read the settings. BACSC_ERR_STATE when `site init` has not run. Free
 * with bacsc_site_settings_clear(). */
int bacsc_site_settings_get(bacsc_site *s, bacsc_site_settings *out);
void bacsc_site_settings_clear(bacsc_site_settings *st);

/* Communication mode of a device. */
enum bacsc_site_mode {
    BACSC_SITE_MODE_UNKNOWN = 0,
    BACSC_SITE_MODE_IP = 1,
    BACSC_SITE_MODE_DUAL = 2,
    BACSC_SITE_MODE_SC = 3
};
const char *bacsc_site_mode_name(int mode);  /* "unknown", "ip", "dual", "sc" */
int bacsc_site_mode_parse(const char *s);    /* -1 if unknown */

/* Certificate status of a device (computed; see bacsc_site_cert_status()). */
enum bacsc_site_cert_status {
    BACSC_SITE_CERT_NONE = 0,
    BACSC_SITE_CERT_CSR_PENDING = 1,
    BACSC_SITE_CERT_VALID = 2,
    BACSC_SITE_CERT_EXPIRING = 3,
    BACSC_SITE_CERT_EXPIRED = 4,
    BACSC_SITE_CERT_OTHER_CA = 5
};
/* "none", "csr-pending", "valid", "expiring", "expired", "signed-by-another-CA" */
const char *bacsc_site_cert_status_name(int status);
int bacsc_site_cert_status_parse(const char *s);

/* One device. Blobs are malloc'd and owned (bacsc_site_device_clear()). */
typedef struct bacsc_site_device {
    uint32_t instance;
    char name[65];
    char uuid[37];                         /* 8-4-4-4-12 lower case, "" unknown */
    char address[48];                      /* datalink address (bacsc_address_format) */
    char vmac[18];                         /* SC VMAC "02:..", "" unknown */
    uint32_t ip_port;                      /* Network Port instances (NONE = absent) */
    uint32_t sc_port;
    uint32_t csr_file;                     /* File instances (NONE = not configured) */
    uint32_t cert_file;
    uint32_t issuer_file[2];
    int mode;                              /* enum bacsc_site_mode */
    char primary_hub[256];
    char failover_hub[256];
    unsigned char *cert_der;               /* operational certificate held, or NULL */
    size_t cert_len;
    bool has_issuer[2];                    /* issuer slot holds a certificate */
    unsigned char issuer_fp[2][BACSC_SITE_FP_LEN]; /* SHA-256 of its DER */
    unsigned char *csr_der;                /* pending CSR, or NULL */
    size_t csr_len;
    char csr_request_id[37];
    int64_t csr_created;
    int64_t last_seen;                     /* Unix seconds, 0 never */
} bacsc_site_device;

/* A fresh device record: everything empty, object instances NONE. */
void bacsc_site_device_init(bacsc_site_device *d, uint32_t instance);
void bacsc_site_device_clear(bacsc_site_device *d);
/* Deep copy. Returns BACSC_OK or BACSC_ERR_NOMEM. */
int bacsc_site_device_copy(bacsc_site_device *dst, const bacsc_site_device *src);

/* Insert or replace a device. Returns BACSC_OK or BACSC_ERR_DB. */
int bacsc_site_device_put(bacsc_site *s, const bacsc_site_device *d);
/* Load a device (`out` initialised here). BACSC_ERR_NOT_FOUND if absent. */
int bacsc_site_device_get(bacsc_site *s, uint32_t instance, bacsc_site_device *out);
/* Delete a device. */
int bacsc_site_device_delete(bacsc_site *s, uint32_t instance);
/* Call cb for every device in instance order; a non-zero return stops the
 * walk and is returned. Returns BACSC_OK, cb's value, or BACSC_ERR_DB. */
typedef int (*bacsc_site_device_fn)(void *user, const bacsc_site_device *d);
int bacsc_site_devices(bacsc_site *s, bacsc_site_device_fn cb, void *user);
/* Number of devices. */
int bacsc_site_device_count(bacsc_site *s);

/* What the status table shows for a device. */
typedef struct bacsc_site_cert_info {
    int status;                            /* enum bacsc_site_cert_status */
    int64_t not_before, not_after;         /* of the certificate held (0 = none) */
    char issuer[256];                      /* its issuer (RFC 2253), "" none */
    char subject[256];
    bool site_ca;                          /* signed by the site CA */
    bool key_matches_csr;                  /* cert key == pending CSR key */
    char serial[64];                       /* of the certificate held (lower-case hex) */
} bacsc_site_cert_info;

/*
 * Certificate status of `d` at `now` against the site CA in `st` (which
 * may be NULL: then no certificate counts as from the site CA).
 * csr-pending when a CSR is pending; none without certificate;
 * signed-by-another-CA when not signed by the site CA; expired after
 * notAfter (or before notBefore); expiring within `expiring_days`; else
 * valid. Returns BACSC_OK or BACSC_ERR_MALFORMED (unreadable certificate:
 * status none, issuer says why).
 */
int bacsc_site_cert_status(const bacsc_site_settings *st, const bacsc_site_device *d,
                           int64_t now, unsigned expiring_days, bacsc_site_cert_info *info);

/*
 * Parse a device selection: "all"/"" (everything), or instance numbers and
 * ranges separated by commas ("1001-1010,1020"). Returns BACSC_OK or
 * BACSC_ERR_MALFORMED. bacsc_site_selection_has() tests membership.
 */
typedef struct bacsc_site_selection {
    bool all;
    size_t n;
    struct { uint32_t lo, hi; } r[64];
    /* Optional: also every instance of this list (sorted ascending, owned by
     * the caller; e.g. the devices ticked in the web console). */
    const uint32_t *list;
    size_t n_list;
} bacsc_site_selection;
int bacsc_site_selection_parse(const char *text, bacsc_site_selection *sel);
bool bacsc_site_selection_has(const bacsc_site_selection *sel, uint32_t instance);

/* ---- jobs ----------------------------------------------------------------- */

enum bacsc_site_job_kind {
    BACSC_SITE_JOB_DISCOVER = 1,
    BACSC_SITE_JOB_REQUEST = 2,
    BACSC_SITE_JOB_IMPORT = 3,
    BACSC_SITE_JOB_TRUST_ADD = 4,
    BACSC_SITE_JOB_TRUST_REMOVE = 5,
    BACSC_SITE_JOB_MODE = 6,
    BACSC_SITE_JOB_RENEW = 7,
    BACSC_SITE_JOB_CRL_PUSH = 8
};
const char *bacsc_site_job_kind_name(int kind); /* "discover", "request", "import", ... */

enum bacsc_site_job_state {
    BACSC_SITE_JOB_RUNNING = 0,            /* started, not finished (or killed) */
    BACSC_SITE_JOB_DONE = 1,               /* every item done or skipped */
    BACSC_SITE_JOB_PARTIAL = 2,            /* some items failed */
    BACSC_SITE_JOB_FAILED = 3              /* every item failed */
};
const char *bacsc_site_job_state_name(int state);

enum bacsc_site_item_status {
    BACSC_SITE_ITEM_PENDING = 0,           /* not finished */
    BACSC_SITE_ITEM_DONE = 1,
    BACSC_SITE_ITEM_FAILED = 2,
    BACSC_SITE_ITEM_SKIPPED = 3            /* no action taken (e.g. CSR kept) */
};
const char *bacsc_site_item_status_name(int status);

typedef struct bacsc_site_job {
    int64_t id;
    int kind;
    char args[512];                        /* JSON text of the arguments */
    char key[128];                         /* what identifies "the same job" for retries */
    int64_t started, finished;             /* Unix seconds; finished 0 = not finished */
    int state;
    unsigned total, done, failed, skipped, pending;
} bacsc_site_job;

typedef struct bacsc_site_item {
    int64_t job;
    uint32_t instance;
    int step;                              /* last step completed (kind-specific) */
    const char *step_name;
    int status;                            /* enum bacsc_site_item_status */
    char error[256];
    unsigned attempts;
    int64_t updated;
} bacsc_site_item;

/*
 * Create a job of `kind` with `args` (JSON text, may be NULL) and `key`
 * (identifies reruns of the same job, e.g. "import:<sha256>"; may be NULL).
 * Returns BACSC_OK with *job_id set, or BACSC_ERR_DB.
 */
int bacsc_site_job_create(bacsc_site *s, int kind, const char *args, const char *key,
                          int64_t *job_id);
/* Add an item for device `instance` with optional payload (e.g. the
 * certificate to install). `status` SKIPPED with `why` records a device for
 * which no action is taken. Returns BACSC_OK, BACSC_ERR_EXISTS, BACSC_ERR_DB. */
int bacsc_site_job_add_item(bacsc_site *s, int64_t job_id, uint32_t instance,
                            const unsigned char *data, size_t len, int status, const char *why);
/*
 * The newest unfinished (RUNNING) job of `kind` with `key` (NULL = any key):
 * a job left by a killed tool. Returns BACSC_OK with *job_id, or
 * BACSC_ERR_NOT_FOUND.
 */
int bacsc_site_job_resumable(bacsc_site *s, int kind, const char *key, int64_t *job_id);
/*
 * After a PARTIAL (or FAILED) job of `kind`/`key`, create a new job holding
 * only its failed items (attempt counts carried over). Returns BACSC_OK with
 * *job_id, BACSC_ERR_NOT_FOUND (the newest such job has no failed items or
 * none exists), BACSC_ERR_DB.
 */
int bacsc_site_job_create_retry(bacsc_site *s, int kind, const char *key, int64_t *job_id);
/* Load a job with its item counts. BACSC_ERR_NOT_FOUND if absent. */
int bacsc_site_job_get(bacsc_site *s, int64_t job_id, bacsc_site_job *out);
/* Walk jobs (newest first) / a job's items (by instance). */
typedef int (*bacsc_site_job_fn)(void *user, const bacsc_site_job *j);
typedef int (*bacsc_site_item_fn)(void *user, const bacsc_site_item *it);
int bacsc_site_jobs(bacsc_site *s, bacsc_site_job_fn cb, void *user);
int bacsc_site_job_items(bacsc_site *s, int64_t job_id, bacsc_site_item_fn cb, void *user);
/* Name of step `step` of a job kind ("generate-csr", "read-csr", ...). */
const char *bacsc_site_step_name(int kind, int step);

/* ---- the engine ------------------------------------------------------------- */

/* How the engine reaches the network. */
typedef struct bacsc_site_io {
    bacsc_client *client;
    /* Wait at most `timeout_us` for traffic, hand what arrives to the client
     * (bacsc_client_handle_npdu), return 0 or a negative BACSC_ERR_*. */
    int (*poll)(void *user, uint64_t timeout_us);
    /* Monotonic microseconds. */
    uint64_t (*now)(void *user);
    void *user;
    /* Which address of a device to use: BACSC_DATALINK_ANY/BIP = its
     * BACnet/IP address (`address`), BACSC_DATALINK_SC = its VMAC (`vmac`). */
    int datalink;
} bacsc_site_io;

/* Progress of a running job, for displays. */
typedef struct bacsc_site_progress {
    int64_t job;
    int kind;
    unsigned total, done, failed, skipped, running;
    bool final;                            /* last call for this run */
} bacsc_site_progress;
typedef void (*bacsc_site_progress_fn)(void *user, const bacsc_site_progress *p);

typedef struct bacsc_site_run_opts {
    unsigned concurrency;                  /* devices at a time; 0 = 32 */
    const char *password;                  /* ReinitializeDevice password, or NULL */
    bacsc_site_progress_fn progress;       /* optional */
    void *progress_user;
    uint64_t progress_interval_us;         /* 0 = 200 ms */
    unsigned stop_after_steps;             /* test hook: return BACSC_ERR_AGAIN after
                                              this many committed steps (0 = never) */
    unsigned chunk;                        /* AtomicRead/WriteFile chunk; 0 = 1024 */
} bacsc_site_run_opts;

/* Outcome of bacsc_site_job_run(). */
typedef struct bacsc_site_summary {
    unsigned total, done, failed, skipped;
    int state;                             /* enum bacsc_site_job_state */
} bacsc_site_summary;

/*
 * Run (or resume) job `job_id` until every item is finished: pending items
 * continue from their recorded step. Each device's steps run in order, up
 * to `concurrency` devices at once; each step's result is committed before
 * the next starts. Returns BACSC_OK (job finished; see sum->state),
 * BACSC_ERR_AGAIN (stop_after_steps reached: the job stays RUNNING; requests
 * in flight are waited for and their results dropped, as after a kill),
 * BACSC_ERR_STATE (site not initialised), BACSC_ERR_DB, or io->poll's error.
 */
int bacsc_site_job_run(bacsc_site *s, int64_t job_id, const bacsc_site_io *io,
                       const bacsc_site_run_opts *opts, bacsc_site_summary *sum);

/* ---- job preparation (what the CLI commands do before running) ---------------- */

/*
 * request, trust and mode: when a job of the same kind with the same
 * arguments is still RUNNING (the tool was killed), bacsc_site_prepare_*()
 * returns that job (to be resumed by bacsc_site_job_run()) instead of
 * creating a new one; bacsc_site_prepared_resumed() then returns true.
 */
bool bacsc_site_prepared_resumed(const bacsc_site *s);

/* Rule for devices that already hold a pending CSR. */
enum bacsc_site_csr_rule {
    BACSC_SITE_CSR_KEEP = 0,               /* keep it: no action taken */
    BACSC_SITE_CSR_OVERWRITE = 1,          /* generate a fresh one */
    /* renew only: no new key; the CSR the device holds for the key it runs
     * on is read again (a pending CSR record is replaced by it) */
    BACSC_SITE_CSR_SAME_KEY = 2
};

/*
 * Add discovered devices (instance + address) to the database, creating or
 * updating their rows (a BACSC_DATALINK_SC address is stored as the VMAC,
 * any other as the BACnet/IP address), and create a discover job reading
 * each one.
 * Returns BACSC_OK with *job_id, BACSC_ERR_DB.
 */
typedef struct bacsc_site_found {
    uint32_t instance;
    bacsc_address address;
    int kind;                              /* enum bacsc_datalink_kind, for formatting */
} bacsc_site_found;
int bacsc_site_prepare_discover(bacsc_site *s, const bacsc_site_found *found, size_t n,
                                int64_t *job_id);

/*
 * Create a request job for the selected devices. Devices with a pending
 * CSR are SKIPPED ("no action taken") under KEEP. Devices without an SC
 * Network Port or CSR file are FAILED at once with a message.
 * Returns BACSC_OK with *job_id, BACSC_ERR_NOT_FOUND (no device selected),
 * BACSC_ERR_DB.
 */
int bacsc_site_prepare_request(bacsc_site *s, const bacsc_site_selection *sel, int rule,
                               int64_t *job_id);

/*
 * Write a CARI request holding the pending CSR of every selected device
 * (all of them, not only those of the last job) to `path`. *count receives
 * the number of CSRs. Returns BACSC_OK, BACSC_ERR_NOT_FOUND (none pending),
 * BACSC_ERR_IO, BACSC_ERR_NOMEM.
 */
int bacsc_site_write_request(bacsc_site *s, const bacsc_site_selection *sel, const char *path,
                             size_t *count);

/* One certificate of an import, as checked by bacsc_site_prepare_import(). */
typedef struct bacsc_site_import_entry {
    char name[128];                        /* zip entry */
    uint32_t instance;                     /* matched device, NONE if none */
    bool refused;
    char why[400];                         /* reason refused */
    bool not_issued;                       /* no certificate: a request the CA rejected or
                                            * has not decided (response manifest
                                            * "not_issued"); `name` is "device N" (or the
                                            * request id), `why` says "rejected by the CA:
                                            * REASON" or "pending at the CA" */
} bacsc_site_import_entry;

/*
 * Check a CARI response (or plain zip of PEM/DER certificates) in
 * data/len against the site: every certificate must be signed by the site
 * CA, inside its validity period and match a pending CSR (by public key).
 * Entries are reported through `entries` (malloc'd, *n_entries; free()).
 * When any certificate is refused and !accept_partial nothing is scheduled:
 * returns BACSC_ERR_POLICY. Otherwise creates (or, for the same file after
 * a partial run, retries / resumes) an import job and returns BACSC_OK with
 * *job_id; *resumed tells whether an existing job is continued.
 * BACSC_ERR_MALFORMED when the archive is unreadable, BACSC_ERR_NOT_FOUND
 * when it holds no certificates, BACSC_ERR_STATE when not initialised,
 * BACSC_ERR_EXISTS (with *job_id) when the same file (by SHA-256) was
 * already imported completely — nothing to do.
 * Requests the CA rejected or left pending (listed in the response's
 * manifest) come after the certificates as entries with `not_issued` set;
 * they are not `refused` (they do not stop the other certificates).
 */
int bacsc_site_prepare_import(bacsc_site *s, const void *data, size_t len, bool accept_partial,
                              bacsc_site_import_entry **entries, size_t *n_entries,
                              int64_t *job_id, bool *resumed, char *err, size_t errlen);

/*
 * Create a trust add/remove job for `ca` (PEM or DER CA certificate) on the
 * selected devices. Returns BACSC_OK with *job_id, BACSC_ERR_MALFORMED,
 * BACSC_ERR_NOT_FOUND (no device selected), BACSC_ERR_DB.
 */
int bacsc_site_prepare_trust(bacsc_site *s, bool add, const unsigned char *ca, size_t ca_len,
                             const bacsc_site_selection *sel, int64_t *job_id);

/*
 * Create a mode job. For BACSC_SITE_MODE_SC, devices that do not hold a
 * valid certificate from the site CA, the site CA as an issuer, and a hub
 * URI (site or device) are FAILED at once with the reason (nothing is
 * written to them). Returns BACSC_OK with *job_id, BACSC_ERR_NOT_FOUND,
 * BACSC_ERR_DB.
 */
int bacsc_site_prepare_mode(bacsc_site *s, int mode, const bacsc_site_selection *sel,
                            int64_t *job_id);

/*
 * Create a CRL push job: `crl` (one CRL, PEM or DER) goes into the selected
 * devices' CRL file (the proprietary File object their SC port names),
 * in place of the CRL of the same issuer, then is activated. Each device
 * refuses a CRL not signed by one of its issuers, or older than the one it
 * has. Returns BACSC_OK with *job_id, BACSC_ERR_MALFORMED (not one CRL, or
 * past its nextUpdate), BACSC_ERR_NOT_FOUND (no device selected),
 * BACSC_ERR_DB.
 */
int bacsc_site_prepare_crl(bacsc_site *s, const unsigned char *crl, size_t crl_len,
                           const bacsc_site_selection *sel, int64_t *job_id);

/* ---- renewal ------------------------------------------------------------------ */

/*
 * Create a renew job: the selected devices that hold a certificate make a
 * new key pair and CSR (the CSR carries a renewal proof made with the
 * current key). With expiring_days > 0 only devices whose certificate
 * expires within that many days (and has not expired: the set `bacsc ca
 * list --expiring DAYS` shows) are selected. Devices without a certificate
 * are SKIPPED ("no action taken"); a pending CSR is kept or overwritten as
 * for request. With rule BACSC_SITE_CSR_SAME_KEY no device makes a key:
 * the CSR in its CSR file is read, and it must be for the public key of
 * the certificate it runs on (else that device fails). Returns BACSC_OK with *job_id, BACSC_ERR_NOT_FOUND (no
 * device selected), BACSC_ERR_DB.
 */
int bacsc_site_prepare_renew(bacsc_site *s, const bacsc_site_selection *sel,
                             unsigned expiring_days, int rule, int64_t *job_id);
/* Write a CARI request holding the pending CSRs of the devices of job
 * `job_id` (as bacsc_site_write_request()). */
int bacsc_site_write_request_job(bacsc_site *s, int64_t job_id, const char *path,
                                 size_t *count);

/*
 * Certificates replaced on a device by an import (the previous certificate
 * once the new one is confirmed active). They are to be revoked (reason
 * superseded) at the CA, or kept (`site import --keep-old`).
 */
enum bacsc_site_superseded_state {
    BACSC_SITE_SUPERSEDED_PENDING = 0,     /* to be revoked */
    BACSC_SITE_SUPERSEDED_REVOKED = 1,
    BACSC_SITE_SUPERSEDED_KEPT = 2
};
typedef struct bacsc_site_superseded {
    char serial[64];                       /* lower-case hex */
    uint32_t instance;
    char issuer[256];
    int64_t not_after, recorded;
    int state;
    char note[128];
} bacsc_site_superseded;
typedef int (*bacsc_site_superseded_fn)(void *user, const bacsc_site_superseded *r);
/* Walk the superseded certificates in `state` (< 0: any), oldest first. */
int bacsc_site_superseded_list(bacsc_site *s, int state, bacsc_site_superseded_fn cb,
                               void *user);
/* Record the outcome for `serial`. BACSC_ERR_NOT_FOUND if unknown. */
int bacsc_site_superseded_mark(bacsc_site *s, const char *serial, int state, const char *note);

/* ---- CA rollover (docs/lifecycle.md) --------------------------------------------------- */

/*
 * A CA rollover in progress: from the site CA at its start (old) to `new`.
 * Phases: 1 every device trusts the new CA as a second issuer; 2 every
 * device holds a certificate from the new CA (the site CA is then the new
 * one); 3 the hubs hold new-CA certificates (confirmed by the operator);
 * 4 the old CA is removed from every device.
 */
typedef struct bacsc_site_rollover {
    unsigned char *old_ca, *new_ca;        /* DER, malloc'd */
    size_t old_len, new_len;
    unsigned char old_fp[BACSC_SITE_FP_LEN], new_fp[BACSC_SITE_FP_LEN];
    bool hubs_done;                        /* phase 3 confirmed */
    int64_t started;
} bacsc_site_rollover;

/* The rollover in progress: BACSC_OK, or BACSC_ERR_NOT_FOUND. */
int bacsc_site_rollover_get(bacsc_site *s, bacsc_site_rollover *r);
void bacsc_site_rollover_clear(bacsc_site_rollover *r);
/* Start one to `new_ca` (PEM or DER CA certificate) from the current site CA;
 * the same new CA again is a no-op. BACSC_ERR_EXISTS: another rollover is in
 * progress; BACSC_ERR_MALFORMED: not a CA certificate / the site CA itself. */
int bacsc_site_rollover_start(bacsc_site *s, const unsigned char *new_ca, size_t len);
/* Phase 3: the operator confirms the hubs are done. */
int bacsc_site_rollover_hubs_done(bacsc_site *s);
/* Make the new CA the site CA (start of phase 2). */
int bacsc_site_rollover_switch_ca(bacsc_site *s);
/* End the rollover record (after phase 4). */
int bacsc_site_rollover_finish(bacsc_site *s);
/*
 * The last phase `d` has completed: 0 none, 1 trusts the new CA, 2 also
 * holds a certificate from the new CA, 4 also no longer trusts the old CA
 * (phase 3 is the hubs', not a device's).
 */
int bacsc_site_rollover_phase(const bacsc_site_rollover *r, const bacsc_site_device *d);

#ifdef __cplusplus
}
#endif
#endif
