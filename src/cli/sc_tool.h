/*
 * sc_tool.h — the shared runner of the BACnet/SC client tools (whois, read,
 * readm, write): option handling (flags, --profile / $BACSC_PROFILE), joining
 * the network as a node (sc_node.h) with a bacsc_client on top, finding a
 * device's address with a Who-Is for its instance, deadlines, and a clean
 * Disconnect-Request before exit.
 */
#ifndef BACSC_CLI_SC_TOOL_H
#define BACSC_CLI_SC_TOOL_H

#include <stdbool.h>

#include "bacsc/bip_link.h"
#include "bacsc/client.h"
#include "bacsc/loop.h"
#include "bacsc/sc_node.h"
#include "cli_opt.h"
#include "sc_cli.h"

/* The options every client tool takes, as option-table rows (cli_opt.h)
 * relative to the sc_tool struct: the connection (or profile), --timeout
 * (default 2 s or 10 s), --direct, --vmac and the output options. A tool
 * lists them with SC_TOOL_GROUPS(timeout_rows, T, ptr), T being the tool's
 * own options struct whose member `ptr` points to its sc_tool. */
extern const cli_opt sc_tool_conn_rows[];
extern const cli_opt sc_tool_timeout2_rows[];
extern const cli_opt sc_tool_timeout10_rows[];
extern const cli_opt sc_tool_out_rows[];
/* BACnet/IP instead of BACnet/SC, and devices behind routers: --bip-local,
 * --bip-broadcast(-count), --dnet, --dadr (docs/router.md). */
extern const cli_opt sc_tool_route_rows[];
#define SC_TOOL_GROUPS(timeout_rows, T, ptr)                                                       \
    CLI_GROUP_PTR("connection (or a profile, see docs/client.md):", sc_tool_conn_rows, T, ptr),   \
        CLI_GROUP_PTR(NULL, timeout_rows, T, ptr), CLI_GROUP_PTR(NULL, sc_tool_out_rows, T, ptr), \
        CLI_GROUP_PTR("BACnet/IP instead of BACnet/SC, devices behind routers (docs/router.md):", \
                      sc_tool_route_rows, T, ptr)
/* The help column of the client tools. */
#define SC_TOOL_HELP_COL 28

typedef struct sc_tool sc_tool;
typedef void (*sc_tool_fn)(sc_tool *t);
typedef void (*sc_tool_found_fn)(sc_tool *t, const bacsc_client_device *d);

struct sc_tool {
    const char *prog;
    sc_opts o;
    const char *profile; /* --profile FILE (else $BACSC_PROFILE) */
    bool json;
    double default_timeout;
    bacsc_loop *loop;
    bacsc_tls_ctx *tls;
    bacsc_sc_node *node;
    bacsc_client *cl;
    bacsc_timer tick, deadline, stop_wait, whois_retry;
    int rc;
    bool joined, finishing;
    uint64_t stop_started;
    sc_tool_fn ready;            /* called once the hub connection is up */
    sc_tool_fn on_deadline;      /* NULL: "timed out" error, EXIT_UNAVAILABLE */
    const char *waiting_for;     /* for the timeout message */
    /* device lookup */
    uint32_t want_instance;
    bool resolving;
    sc_tool_found_fn found;
    /* --direct: wait for the direct connection before `found` */
    bool direct;
    bacsc_client_device direct_dev;
    uint64_t direct_until;
    bacsc_timer direct_wait;
    /* BACnet/IP (--bip-local) and routed devices (--dnet/--dadr) */
    bacsc_bip_link *bip;
    const char *bip_local, *bip_broadcast;
    unsigned long bip_broadcast_count;
    long dnet;                   /* -1: none */
    const char *dadr;
    bool has_target;             /* DEVICE was ADDR:PORT */
    bacsc_address target;
    /* I-Am hook (whois) */
    void (*on_iam)(sc_tool *t, const bacsc_client_device *d);
    void *user;
};

/* Initialise; `default_timeout` in seconds. */
void sc_tool_init(sc_tool *t, const char *prog, double default_timeout);
/* After flags: load the profile (--profile or $BACSC_PROFILE) and check.
 * Returns 0 or an exit code. */
int sc_tool_prepare(sc_tool *t);
/* Parse the DEVICE positional: an instance into t->want_instance, or with
 * --bip-local a target A.B.C.D:PORT (the device, or with --dnet/--dadr the
 * router in front of it). Returns 0 or EXIT_USAGE (message printed). */
int sc_tool_parse_device(sc_tool *t, const char *arg);
/* Parse an OBJECT positional (TYPE,INSTANCE). Returns 0 or EXIT_USAGE
 * (message printed). */
int sc_tool_parse_object(const sc_tool *t, const char *arg, bacsc_object_id *oid);
/* The common tail of a client tool: sc_tool_prepare(), then run with `user`
 * and `ready`, then clean up. Returns the exit code. */
int sc_tool_main(sc_tool *t, void *user, sc_tool_fn ready);
/* Join, call t->ready when connected, run until sc_tool_finish(). Returns
 * the exit code. */
int sc_tool_run(sc_tool *t);
/* End with exit code rc (disconnects from the hub first). */
void sc_tool_finish(sc_tool *t, int rc);
/* Find device `instance` (Who-Is, repeated each second; a remote broadcast
 * with --dnet) and call found; with a target ADDR:PORT call found at once. */
void sc_tool_resolve(sc_tool *t, uint32_t instance, sc_tool_found_fn found);
/* One-line text of a failed request result; exit code for it. */
int sc_tool_result_error(sc_tool *t, const bacsc_client_result *r);
/* A confirmed request could not be sent (rc from bacsc_client_*): print one
 * line — naming both sizes when the request is larger than the device
 * accepts — and return the exit code (3 for that case, else 1). */
int sc_tool_request_failed(sc_tool *t, const char *service, int rc, uint32_t instance);
/* Where a Who-Is goes: NULL (local broadcast) or the remote/global
 * broadcast of --dnet, into *buf. */
const bacsc_address *sc_tool_whois_dest(const sc_tool *t, bacsc_address *buf);
/* Is traffic to `vmac` going over a direct connection now? */
bool sc_tool_is_direct(const sc_tool *t, const uint8_t *vmac);
/* Current loop time. */
uint64_t sc_tool_now(const sc_tool *t);
void sc_tool_cleanup(sc_tool *t);

#endif
