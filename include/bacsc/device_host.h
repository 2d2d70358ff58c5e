/*
 * bacsc/device_host.h — many commissionable device instances in one process
 * on the event loop: each with its own BACnet/IP port (consecutive UDP
 * ports), its state in a shared state directory (device_state.h), the
 * commissioning objects (commission.h), and an optional BACnet/SC side that
 * the embedding program provides (the `bacsc device` command plugs its
 * BACnet/SC node in through bacsc_device_host_sc_ops).
 *
 * Instance i (0-based) is device `first_instance + i`, named
 * `name_prefix` + instance (e.g. "dev-1001"), on UDP port `bip.port + i`.
 * A fresh instance starts in `initial_mode` (normally ip) without
 * certificates; a restored one in its saved mode with its saved sets.
 *
 * Datalink selection: a device answers on the port the request came in on
 * (answers are synchronous); its unsolicited sends (I-Am at start and after
 * a mode switch) go out on every port in service.
 *
 * Activation (ReinitializeDevice activate-changes): the new set is written
 * as PEM files under DIR/tls/<instance>.next/, a TLS client context is built
 * from them (the key must match the certificate, the issuers must load),
 * the state is saved in one transaction, the directory becomes
 * DIR/tls/<instance>/, and after the ACK the B/IP socket is opened or
 * closed and the SC side (re)started or stopped — or, when only the CRLs
 * changed, the running TLS context reloaded and the peers it now refuses
 * disconnected (sc.reload). The TLS files are a cache
 * of the database: they are rewritten from it at every start.
 */
#ifndef BACSC_DEVICE_HOST_H
#define BACSC_DEVICE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bacsc/bip_link.h"
#include "bacsc/commission.h"
#include "bacsc/device.h"
#include "bacsc/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bacsc_device_host bacsc_device_host;

/* What the SC side of one instance runs with. */
typedef struct bacsc_device_host_sc {
    const char *cert_file;           /* PEM operational certificate */
    const char *key_file;            /* PEM private key (0600) */
    const char *issuer_files[2];     /* PEM issuers; NULL when the slot is empty */
    const char *crl_file;            /* PEM CRLs received over BACnet; NULL when none */
    const bacsc_sc_port_config *port; /* active SC port settings (hub URIs, timers) */
    bacsc_object *port_obj;          /* the SC Network Port (live state: bacsc_netport_sc_state) */
    uint32_t instance;               /* the device instance */
    uint8_t uuid[16];                /* its Device_UUID */
    uint8_t vmac[6];                 /* its VMAC, kept in the state directory */
} bacsc_device_host_sc;

/* The embedding program's BACnet/SC side (all optional; without it SC mode
 * is accepted but nothing connects). */
typedef struct bacsc_device_host_sc_ops {
    /* Start (or restart with new settings) the SC side of instance idx.
     * Return 0 or negative (logged; the port's Reliability shows it). */
    int (*start)(void *user, bacsc_device_host *h, unsigned idx, const bacsc_device_host_sc *sc);
    /* Stop it (mode ip). */
    void (*stop)(void *user, bacsc_device_host *h, unsigned idx);
    /* Optional: an activation changed only the CRLs (same certificate, key,
     * issuers and settings): read the TLS files again and disconnect the
     * peers (hubs included) that no longer verify, keeping the others.
     * Return 0, or negative to have the SC side restarted instead. */
    int (*reload)(void *user, bacsc_device_host *h, unsigned idx, const bacsc_device_host_sc *sc);
    /* Send an NPDU on it (dest->mac: a VMAC or broadcast). */
    int (*send)(void *user, bacsc_device_host *h, unsigned idx, const bacsc_address *dest,
                const uint8_t *npdu, size_t len);
    /* Fill the SC port's live state right before it is read (e.g. with
     * bacsc_sc_node_port_state()). Called only while the SC side runs. */
    void (*refresh)(void *user, bacsc_device_host *h, unsigned idx, bacsc_sc_port_state *st);
    /* Instance idx switched to a newly activated set (its TLS files under
     * DIR/tls/<instance>/ changed), after its answer went out. */
    void (*activated)(void *user, bacsc_device_host *h, unsigned idx);
    void *user;
} bacsc_device_host_sc_ops;

typedef struct bacsc_device_host_config {
    bacsc_loop *loop;
    const char *state_dir;           /* required */
    uint32_t first_instance;
    unsigned count;                  /* 1..10000 */
    const char *name_prefix;         /* NULL = "dev-" */
    bacsc_bip_addr bip;              /* first B/IP address (port + i per instance) */
    bacsc_bip_addr broadcast;        /* see bip_link.h (0 = default) */
    unsigned broadcast_port_count;
    const char *domain;              /* initial site domain for CSR names (fresh state) */
    const char *password;            /* ReinitializeDevice password, NULL = none */
    int initial_mode;                /* BACSC_MODE_* for a fresh state (sc needs certificates:
                                        a fresh device can only start ip or dual) */
    const char *primary_hub_uri;     /* initial hub URIs (fresh state), may be NULL */
    const char *failover_hub_uri;
    uint16_t vendor_id;
    const char *vendor_name;
    const char *model_name;
    const char *firmware_revision;   /* NULL = "0.1" */
    const char *application_software_version; /* NULL = "bacsc" */
    const char *location;            /* NULL = "" */
    const char *description;         /* NULL = "" */
    bacsc_device_host_sc_ops sc;
} bacsc_device_host_config;

/*
 * Open the state directory, create and start every instance (B/IP sockets
 * bound, SC started where the mode says so, I-Am sent). On failure `err`
 * names the problem (e.g. "127.0.0.1:47809: Address already in use").
 * Returns BACSC_OK, BACSC_ERR_INVALID_ARG, BACSC_ERR_IO, BACSC_ERR_DB,
 * BACSC_ERR_NOMEM.
 */
int bacsc_device_host_new(const bacsc_device_host_config *cfg, bacsc_device_host **out,
                          char *err, size_t errlen);
void bacsc_device_host_free(bacsc_device_host *h);

unsigned bacsc_device_host_count(const bacsc_device_host *h);
bacsc_device *bacsc_device_host_device(bacsc_device_host *h, unsigned idx);
bacsc_commission *bacsc_device_host_commission(bacsc_device_host *h, unsigned idx);
/* The B/IP address of instance idx (port 0 when its IP port is out of service). */
bacsc_bip_addr bacsc_device_host_bip(const bacsc_device_host *h, unsigned idx);

/* Device idx's Device_UUID (kept in the state directory). */
int bacsc_device_host_uuid(const bacsc_device_host *h, unsigned idx, uint8_t uuid[16]);

/*
 * Hand an NPDU received on the SC side of instance idx to its device (the
 * embedding program's SC receive path). Returns as bacsc_device_handle_npdu().
 */
int bacsc_device_host_sc_input(bacsc_device_host *h, unsigned idx, const bacsc_address *src,
                               const uint8_t *npdu, size_t len, bool broadcast, uint64_t now);

#ifdef __cplusplus
}
#endif
#endif
