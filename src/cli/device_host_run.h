/*
 * device_host_run.h — `bacsc device --state-dir DIR`: commissionable devices
 * (BACnet/IP + BACnet/SC, certificates managed over BACnet; see
 * docs/device-commissioning.md), built on bacsc/device_host.h with
 * bacsc_sc_node as the BACnet/SC side.
 */
#ifndef BACSC_CLI_DEVICE_HOST_RUN_H
#define BACSC_CLI_DEVICE_HOST_RUN_H

#include "sc_cli.h"

/* The options only this mode has. */
typedef struct devhost_opts {
    const char *state_dir;
    const char *bip;                 /* "ADDR:PORT" (default 127.0.0.1:47808) */
    const char *bip_broadcast;       /* "ADDR:PORT" or NULL */
    unsigned long bip_broadcast_count;
    const char *mode;                /* "ip" | "dual" (fresh state) — NULL = ip */
    const char *domain;
    const char *password;
} devhost_opts;

/* Run until SIGTERM/SIGINT. Returns an EXIT_* code (cli.h). */
int devhost_run(const char *prog, sc_opts *o, const devhost_opts *d);

#endif
