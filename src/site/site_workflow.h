/*
 * site_workflow.h — what a site workflow is, for the job engine
 * (site_engine.c) and the workflow files (wf_*.c). Not installed.
 *
 * A workflow is a table of steps run in order for every device of a job.
 * Each step has an `issue` function (send the step's request, or decide
 * without one) and a `result` function (read the answer, update the device
 * record, say what comes next). The engine does the rest: at most
 * `concurrency` devices at once, each step's outcome committed in its own
 * transaction, resume from the recorded step after a kill, retry of the
 * failed devices. See docs/design.md, "How to add a workflow".
 */
#ifndef BACSC_SITE_WORKFLOW_H
#define BACSC_SITE_WORKFLOW_H

#include "bacsc/client.h"
#include "bacsc/services.h"
#include "bacsc/site.h"
#include "bacsc/value.h"
#include "site_internal.h"

#define SITE_MAX_PORTS 8
#define SITE_MAX_FILE (64u * 1024u)

/* What a step function tells the engine. */
enum site_verdict {
    H_AGAIN, /* issue: a request is in flight; result: issue the step again */
    H_NEXT,  /* the step is complete (issue: nothing to do): go to the next */
    H_DONE,  /* the device is finished (a message starting "no action" = skipped) */
    H_FAIL,  /* the device failed (it->error says why, or the answer is described) */
    H_LOCAL  /* issue only: no request needed, call result now */
};

typedef struct site_run site_run;

/* One device of a running job. */
typedef struct site_item {
    site_run *r;
    uint32_t instance;
    int step, status;                      /* step = the next step to run */
    unsigned attempts;
    bacsc_address addr;
    bacsc_site_device dev;                 /* its record; saved with the step (save rule) */
    unsigned char *data;                   /* job payload (certificate / CA), may be NULL */
    size_t data_len;
    /* the request in flight and its copied result */
    bool busy, completed;
    bacsc_client_result res;
    uint8_t ack[1500];
    size_t ack_len;
    /* transfer state within a step: reset when a step completes */
    int sub;
    size_t offset;
    unsigned char *buf;
    size_t buf_len, buf_cap;
    /* scratch of the workflow's steps, reset when the device starts */
    uint32_t ports[SITE_MAX_PORTS];
    size_t nports;
    bool slot_has[2];
    unsigned char slot_fp[2][BACSC_SITE_FP_LEN];
    int slot;
    /* verify-issuers: what both slots must hold before activation */
    bool want_set, want_has[2];
    unsigned char want_fp[2][BACSC_SITE_FP_LEN];
    uint64_t wait_since;                   /* confirm: when its first read was sent */
    /* crl-push: the CRL file and the set this job stages there */
    uint32_t crl_file;
    unsigned char *stage;
    size_t stage_len;
    char error[256];
    /* re-finding the device by instance after a timeout (its address changed) */
    bool refinding, refound;
    uint64_t refind_sent, refind_until;
} site_item;

typedef struct site_step {
    const char *name;                      /* shown by `site jobs` */
    int (*issue)(site_item *it);           /* H_AGAIN, H_NEXT, H_LOCAL, H_DONE, H_FAIL */
    int (*result)(site_item *it);          /* H_AGAIN, H_NEXT, H_DONE, H_FAIL */
} site_step;

/* When a device's record is written back with a step's commit. */
enum site_save_rule {
    SITE_SAVE_ALWAYS,                      /* with every commit (discover) */
    SITE_SAVE_ON_STEP,                     /* when a step completes or the device is done */
    SITE_SAVE_ON_DONE                      /* only when the device is done */
};

typedef struct site_workflow {
    int kind;                              /* enum bacsc_site_job_kind */
    const char *name;                      /* bacsc_site_job_kind_name() */
    const site_step *steps;
    int nsteps;
    int save;                              /* enum site_save_rule */
    bool without_settings;                 /* may run before `site init` */
    /* Optional: a device resumed (after a kill) at a step before the one
     * of this name starts over from the first step: what the earlier steps
     * set up lives in the run (the login session with the device, what was
     * read back), and they are safe to repeat. */
    const char *restart_before;
    /* Optional: parse the job's arguments into r->target before the run. */
    void (*begin)(site_run *r);
    /* Optional: checked before each step is issued; H_FAIL (with it->error)
     * stops the device, anything else goes on. */
    int (*check)(site_item *it);
} site_workflow;

/* `.steps` and `.nsteps` of a workflow from a step array. */
#define SITE_STEPS(a) .steps = (a), .nsteps = (int)(sizeof(a) / sizeof((a)[0]))

/* A running job, as the step functions see it. */
struct site_run {
    bacsc_site *s;
    const bacsc_site_io *io;
    bacsc_site_run_opts o;
    bacsc_site_job job;
    bacsc_site_settings st;
    const site_workflow *wf;
    int target;                            /* set by wf->begin (e.g. the target mode) */
};

/* The workflow of a job kind, or NULL (site_registry.c). */
const site_workflow *site_workflow_of(int kind);

/* ---- requests (site_requests.c): each returns H_AGAIN when sent, else H_FAIL ---- */

void site_fail_msg(site_item *it, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int site_req_rp(site_item *it, uint16_t type, uint32_t inst, uint32_t prop);
int site_req_rpm(site_item *it, const bacsc_rpm_spec *specs, size_t n);
int site_req_wp(site_item *it, uint16_t type, uint32_t inst, uint32_t prop, const uint8_t *val,
                size_t len);
int site_req_wp_enum(site_item *it, uint16_t type, uint32_t inst, uint32_t prop, uint32_t v);
int site_req_wp_string(site_item *it, uint16_t type, uint32_t inst, uint32_t prop,
                       const char *text);
/* DeviceCommunicationControl(enable, the job's password): opens the
 * commissioning session the device requires before any change. */
int site_req_login(site_item *it);
/* Network Port Command on the device's SC port. */
int site_req_port_command(site_item *it, uint32_t command);
/* AtomicReadFile of File `file` from it->offset. */
int site_req_read_file(site_item *it, uint32_t file);
/* Write `data` into File `file`: sub 0 truncates (File_Size 0), then chunks. */
int site_req_write_file(site_item *it, uint32_t file, const unsigned char *data, size_t len);
/* ReinitializeDevice activate-changes (with the run's password). */
int site_req_activate(site_item *it);

/* After an AtomicReadFile answer: append to it->buf; H_AGAIN until the end. */
int site_read_file_result(site_item *it);
/* After a file-write answer: H_AGAIN until everything is written, then H_NEXT. */
int site_write_file_result(site_item *it, size_t len);
/* Forget the transfer state of the current step. */
void site_reset_transfer(site_item *it);

/* The value of a ReadProperty-ACK, false if the answer is not one. */
bool site_rp_value(const site_item *it, const uint8_t **val, size_t *len);
/* The first application value of an encoded property value. */
bool site_first_value(const uint8_t *enc, size_t len, bacsc_value *v);
/* A ReadProperty-ACK holding Boolean `want`. */
bool site_rp_is_boolean(const site_item *it, bool want);
/* Command_Validation_Result says success (else `why` says what it says). */
bool site_validation_ok(const uint8_t *enc, size_t len, char *why, size_t cap);
/* Fail with the reason the device gives in Command_Validation_Result. */
void site_validation_reason(site_item *it, const char *what);
/* SHA-256 of the certificate in it->buf into slot `slot` (none if empty). */
void site_fp_of_buf(site_item *it, int slot);

/* ---- steps shared by the certificate workflows (wf_import.c) ---- */

int site_issuers_read_issue(site_item *it);
/* verify-issuers / verify-certificate: read back what was staged; anything
 * but what this job wrote (and what the other slot held) stops the device
 * before activation. */
int site_issuers_verify_issue(site_item *it);
int site_issuers_verify_result(site_item *it);
int site_issuers_read_result(site_item *it);
int site_issuer_write_issue(site_item *it);
int site_issuer_write_result(site_item *it);
int site_activate_issue(site_item *it);
int site_activate_result(site_item *it);
/* confirm: read Changes_Pending; while the device does not answer (over
 * BACnet/SC it is reconnecting to its hubs with the new certificate) read
 * again, until site_confirm_wait_us() after the first read. */
int site_confirm_issue(site_item *it);
int site_confirm_result(site_item *it);
/* How long confirm keeps reading: 30 s plus 1 s per concurrent device (the
 * devices activated together reconnect together), at most 300 s. */
uint64_t site_confirm_wait_us(const site_run *r);
int site_cert_files_check(site_item *it);

/* ---- steps every changing workflow starts with (wf_common.c) ---- */

/* "login": DeviceCommunicationControl(enable, password) when the job has a
 * password (devices refuse changes from a source without a session). */
int site_login_issue(site_item *it);
int site_login_result(site_item *it);
/* "discard": discard-changes on the SC port first, so that nothing staged
 * by anyone else is activated with this job's changes. */
int site_discard_issue(site_item *it);
int site_discard_result(site_item *it);
/* A refused password as the device said it, and which option supplies it. */
bool site_password_refused(site_item *it, const char *what);

/* ---- steps shared by the CSR workflows (wf_request.c) ---- */

int site_csr_check(site_item *it);
int site_csr_domain_issue(site_item *it);
int site_csr_domain_result(site_item *it);
int site_csr_generate_issue(site_item *it);
int site_csr_generate_result(site_item *it);
int site_csr_read_issue(site_item *it);
int site_csr_read_result(site_item *it);

/* ---- discover's certificate read (wf_discover.c) ---- */

int site_cert_read_issue(site_item *it);
int site_cert_read_result(site_item *it);

#endif
