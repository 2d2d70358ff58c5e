/*
 * runtime_internal.h — shared between the files of the device runtime
 * (device_runtime.c: lifecycle, signals, shutdown; device_runtime_sc.c: the
 * BACnet/SC side and the devices on fixed files). Never installed.
 */
#ifndef BACSC_RUNTIME_INTERNAL_H
#define BACSC_RUNTIME_INTERNAL_H

#include "bacsc/device_host.h"
#include "bacsc/device_runtime.h"

#define RT_DC_ROWS 64

typedef struct rinst {
    bacsc_device_runtime *rt;
    unsigned idx;
    uint32_t instance;
    bacsc_uuid uuid;
    char name[40];                   /* log prefix "device N" */
    bacsc_device *dev;               /* fixed files: owned; state directory: the host's */
    bacsc_object *port;              /* the SC Network Port (fixed files) */
    bacsc_sc_node *node;             /* running BACnet/SC node, NULL when off */
    bacsc_sc_node *trial;            /* fixed files: node on changed hub URIs, on trial */
    bacsc_timer trial_timer;         /* the trial's deadline */
    bool switch_deferred;
    uint8_t restart_state;           /* a cold/warm start queued (0xFF: none) */
    bool vmac_kept;                  /* use `vmac` (from the state, or the node replaced) */
    bacsc_vmac vmac;
    bool port_rules;                 /* fixed files: timers from the Network Port (after a
                                        change over BACnet) rather than the flags */
    bacsc_tls_ctx *tls;              /* the node's own TLS context (state directory) */
    bacsc_sc_direct_connection dc_rows[RT_DC_ROWS];
    bacsc_sc_direct_connection *hf_rows; /* hosted hub function peers */
    size_t hf_count, hf_cap;
} rinst;

struct bacsc_device_runtime {
    bacsc_device_runtime_config cfg;
    bacsc_loop *loop;
    rinst *insts;
    unsigned n;
    bacsc_device_host *host;         /* state directory mode */
    bacsc_hubd *hubd;                /* hosted hub function */
    /* stopped nodes waiting to be idle (never freed inside their callbacks) */
    struct rt_grave {
        bacsc_sc_node *node;
        bacsc_tls_ctx *tls;
    } *grave;
    unsigned ngrave, cap_grave;
    bacsc_timer reap_timer, deadline;
    bacsc_timer seg_timer;           /* segmented answers' timers (every 250 ms) */
    bool stopping;
};

/* device_password.c: the state directory's password (hashed) and lock. */
typedef struct rt_password {
    bool set;
    uint8_t salt[16], hash[32];
} rt_password;
/* `given` (may be NULL) replaces the stored password; without one the
 * stored one is loaded, or a random one generated, stored and copied to
 * `shown` (else shown is ""). Returns 0 or BACSC_ERR_* with err set. */
int rt_password_setup(const char *state_dir, const char *given, rt_password *p, char *shown,
                      size_t shownlen, char *err, size_t errlen);
/* 1 when `pw` is the password. */
int rt_password_check(const rt_password *p, const uint8_t *pw, size_t len);
/* STATE/commissioning-lock exists. */
bool rt_commissioning_locked(const char *state_dir);

/* device_runtime_sc.c */
int rt_node_new(rinst *in, const bacsc_sc_port_config *pc, bacsc_tls_ctx *tls,
                const bacsc_sc_node_callbacks *cb, bacsc_sc_node **out, char *err, size_t errlen);
void rt_on_state(void *user, int state);
void rt_retire(bacsc_device_runtime *rt, rinst *in);
void rt_free_grave(bacsc_device_runtime *rt, bool only_idle);
int rt_fixed_device_new(bacsc_device_runtime *rt, rinst *in, char *err, size_t errlen);
int rt_fixed_objects_new(rinst *in, const bacsc_sc_port_config *active, bacsc_device **dev,
                         bacsc_object **port, char *err, size_t errlen);
void rt_refresh_port(rinst *in, bacsc_sc_port_state *st);
bacsc_device_host_sc_ops rt_host_sc_ops(bacsc_device_runtime *rt);
bacsc_sc_node_callbacks rt_node_callbacks(rinst *in);

/* device_runtime_switch.c: Network Port changes of devices on fixed files */
int rt_fixed_reinit(void *user, bacsc_device *dev, uint8_t state, bacsc_error *err);
void rt_fixed_restart(void *user, bacsc_device *dev, uint8_t state);
int rt_link_send(void *user, const bacsc_address *dest, const uint8_t *npdu, size_t len);
void rt_switch_free(bacsc_device_runtime *rt, rinst *in);
int rt_fixed_check_write(void *user, bacsc_object *port, uint32_t property, const void *pending,
                         bacsc_error *err);

#endif
