/*
 * bacsc/device_runtime.h — the device runtime behind `bacsc device`: one or
 * more BACnet devices on one event loop, whatever their configuration.
 *
 * Two ways to give a device its identity, one runtime:
 *  - fixed files (cert/key/issuers from the command line or config): each
 *    device is a Device object, Analog Values and a SECURE_CONNECT Network
 *    Port on its own BACnet/SC node, optionally with the hub function and a
 *    direct-connect listener hosted by the first device;
 *  - a state directory (bacsc/device_host.h): commissionable devices on
 *    BACnet/IP whose BACnet/SC node starts when commissioning activates a
 *    certificate.
 * Both share the BACnet/SC side (nodes, Network Port live state, I-Am on
 * (re)connection), signal handling (TERM/INT graceful stop with
 * Disconnect-Requests, USR1 status, HUP reload) and the shutdown deadline.
 *
 * SIGHUP (devices on fixed files): certificate, key, issuers and CRL are
 * read again; new handshakes use them, connected peers stay, and a peer
 * whose certificate no longer verifies (revoked, other issuer, expired) is
 * disconnected with the reason logged. Unusable files: logged, nothing
 * changes. Commissionable devices get their certificates over BACnet:
 * nothing to reload.
 *
 * Threading: one thread, the runtime's loop. Not re-entrant.
 */
#ifndef BACSC_DEVICE_RUNTIME_H
#define BACSC_DEVICE_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/bip_link.h"
#include "bacsc/bvlc.h"
#include "bacsc/device.h"
#include "bacsc/loop.h"
#include "bacsc/sc_hubd.h"
#include "bacsc/sc_node.h"
#include "bacsc/tls.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bacsc_device_runtime bacsc_device_runtime;

typedef struct bacsc_device_runtime_config {
    uint32_t first_instance;         /* 0..4194302 */
    unsigned count;                  /* devices first_instance.. (0 = 1; at most 10000) */
    /* Fixed files: Object_Name (one device) or NAME-INSTANCE; NULL =
     * bacsc-device-INSTANCE. State directory: name prefix (NULL = "dev-"). */
    const char *name;
    unsigned av;                     /* Analog Value objects per device */
    /* Device object identification; NULL = the default ("bacsc", "bacsc
     * device", the bacsc version, ""); strings at most
     * BACSC_DEVICE_STRING_MAX octets. */
    uint16_t vendor_id;
    const char *vendor_name, *model_name, *firmware_revision, *application_software_version;
    const char *location, *description;

    /* BACnet/SC. Timers in µs, 0 = default (state directory: the Network
     * Port's saved values). Strings are used while the runtime lives. */
    const char *primary_hub_uri, *failover_hub_uri;
    bacsc_tls_ctx *tls;              /* fixed files: client context (not owned) */
    bacsc_tls_ctx *server_tls;       /* hub function and direct connections (not owned) */
    /* The files behind tls / server_tls: SIGHUP reloads them
     * (bacsc_tls_ctx_reload) without dropping peers. NULL = no reload. */
    const bacsc_tls_config *tls_config, *server_tls_config;
    bool insecure_plaintext;         /* ws:// (debugging only) */
    bool uuid_set;                   /* the first device's Device UUID is `uuid` */
    bacsc_uuid uuid;                 /* (others, and when unset: random) */
    bool vmac_set;                   /* fixed VMACs: device i uses vmac + i (last octet) */
    bacsc_vmac vmac;
    uint64_t connect_wait_us, disconnect_wait_us, heartbeat_us, reconnect_min_us,
        reconnect_max_us;
    unsigned max_bvlc_len, max_npdu_len; /* 0 = defaults */
    /* Direct connections (fixed files, first device only). */
    const char *dc_listen;           /* "ADDR:PORT" or NULL */
    const char *dc_uris;             /* space-separated advertised URIs, NULL = default */
    bool dc_auto;
    unsigned dc_max_conns, dc_auto_count;
    uint64_t dc_idle_us, dc_auto_window_us;
    int uuid_binding;                /* direct connections: enum bacsc_sc_uuid_binding */
    /* Host the hub function (fixed files): the hub server's configuration
     * (listen address, TLS, limits); NULL = none. */
    const bacsc_hubd_config *hub_function;

    /* Commissionable devices: a state directory turns this mode on. */
    const char *state_dir;
    bacsc_bip_addr bip;              /* first device's BACnet/IP address (+i per device) */
    bacsc_bip_addr broadcast;        /* bip_link.h (0 = default) */
    unsigned broadcast_port_count;
    int initial_mode;                /* BACSC_MODE_* of a fresh state */
    const char *domain;              /* site domain of a fresh state */
    const char *password;            /* ReinitializeDevice password, NULL = none */
    const char *crl_file;            /* PEM CRL(s) checked on the devices' TLS connections
                                      * (read whenever a device's BACnet/SC side starts);
                                      * NULL = none. Fixed files: put it in `tls` instead */

    /* Status hook: called once when the devices start (on_signal false:
     * SIGUSR1 is handled from then on) and on every SIGUSR1 (true); the front
     * end writes its status from the accessors below. NULL = log a line. */
    void (*status)(void *user, bacsc_device_runtime *rt, bool on_signal);
    /* State directory: device idx switched to a newly activated set (its
     * TLS files under STATE/tls/<instance>/ changed). NULL = nothing. */
    void (*activated)(void *user, bacsc_device_runtime *rt, unsigned idx);
    void *user;
} bacsc_device_runtime_config;

/* What a front end reads for status output. */
typedef struct bacsc_device_runtime_info {
    uint32_t instance;
    bacsc_uuid uuid;
    const bacsc_sc_node *node;       /* the running BACnet/SC node, NULL when SC is off */
    int mode;                        /* BACSC_MODE_* (state directory), -1 for fixed files */
    bacsc_bip_addr bip;              /* BACnet/IP address in use (port 0: off) */
} bacsc_device_runtime_info;

/*
 * Create the devices (nothing runs until bacsc_device_runtime_run()).
 * Returns 0, or BACSC_ERR_INVALID_ARG (bad configuration, e.g. a URI the
 * node refuses), BACSC_ERR_STATE (the state directory cannot start as asked,
 * e.g. --mode sc without an activated certificate), BACSC_ERR_IO (a socket
 * or the state directory) or another status, with `err` set.
 */
int bacsc_device_runtime_new(const bacsc_device_runtime_config *cfg, bacsc_device_runtime **out,
                             char *err, size_t errlen);

/* Start the devices and run the loop until SIGTERM/SIGINT (or
 * bacsc_device_runtime_stop()) and the graceful shutdown finished. Returns 0
 * or a negative status. */
int bacsc_device_runtime_run(bacsc_device_runtime *rt);

/* Begin the graceful stop (Disconnect-Request to the hubs, then exit the loop). */
void bacsc_device_runtime_stop(bacsc_device_runtime *rt);

void bacsc_device_runtime_free(bacsc_device_runtime *rt);

bacsc_loop *bacsc_device_runtime_loop(const bacsc_device_runtime *rt);
unsigned bacsc_device_runtime_count(const bacsc_device_runtime *rt);
int bacsc_device_runtime_info_get(const bacsc_device_runtime *rt, unsigned idx,
                                  bacsc_device_runtime_info *out);
/* The hosted hub server and its TLS context, or NULL. */
const bacsc_hubd *bacsc_device_runtime_hubd(const bacsc_device_runtime *rt);
/* The device object of device idx (NULL when out of range). */
bacsc_device *bacsc_device_runtime_device(bacsc_device_runtime *rt, unsigned idx);

#ifdef __cplusplus
}
#endif
#endif
