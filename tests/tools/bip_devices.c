/*
 * bip_devices — test helper: run N commissionable devices on BACnet/IP
 * (bacsc/device_host.h) until SIGTERM/SIGINT. Used by integration tests
 * until `bacsc device` grows the same options.
 *
 *   bip_devices --state-dir DIR --bip ADDR:PORT [--count N] [--first INSTANCE]
 *               [--domain D] [--password P] [--mode ip|dual] [--hub URI]
 *               [--broadcast ADDR:PORT --broadcast-count N]
 *
 * Prints "ready PORT" (the first UDP port) on stdout once every device is up.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bacsc/device_host.h"
#include "bacsc/error.h"
#include "bacsc/log.h"

static void on_signal(bacsc_loop *loop, int signo, void *user)
{
    (void)signo;
    (void)user;
    bacsc_loop_stop(loop);
}

int main(int argc, char **argv)
{
    bacsc_device_host_config c;
    memset(&c, 0, sizeof c);
    c.count = 1;
    c.first_instance = 1001;
    const char *bip = "127.0.0.1:0";
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--state-dir") == 0)
            c.state_dir = v;
        else if (strcmp(k, "--bip") == 0)
            bip = v;
        else if (strcmp(k, "--count") == 0)
            c.count = (unsigned)atoi(v);
        else if (strcmp(k, "--first") == 0)
            c.first_instance = (uint32_t)atol(v);
        else if (strcmp(k, "--domain") == 0)
            c.domain = v;
        else if (strcmp(k, "--password") == 0)
            c.password = v;
        else if (strcmp(k, "--mode") == 0)
            c.initial_mode = bacsc_comm_mode_parse(v);
        else if (strcmp(k, "--hub") == 0)
            c.primary_hub_uri = v;
        else if (strcmp(k, "--broadcast") == 0) {
            if (bacsc_bip_addr_parse(v, 47808, &c.broadcast) != BACSC_OK)
                return 2;
        } else if (strcmp(k, "--broadcast-count") == 0)
            c.broadcast_port_count = (unsigned)atoi(v);
        else if (strcmp(k, "--log-level") == 0)
            bacsc_log_set_level(bacsc_log_level_parse(v));
        else {
            fprintf(stderr, "bip_devices: unknown option %s\n", k);
            return 2;
        }
    }
    if (c.state_dir == NULL || bacsc_bip_addr_parse(bip, 47808, &c.bip) != BACSC_OK ||
        c.initial_mode < 0) {
        fprintf(stderr, "bip_devices: need --state-dir and a valid --bip/--mode\n");
        return 2;
    }
    c.loop = bacsc_loop_new();
    bacsc_loop_signal(c.loop, SIGTERM, on_signal, NULL);
    bacsc_loop_signal(c.loop, SIGINT, on_signal, NULL);
    bacsc_device_host *h;
    char err[300];
    if (bacsc_device_host_new(&c, &h, err, sizeof err) != BACSC_OK) {
        fprintf(stderr, "bip_devices: %s\n", err);
        return 1;
    }
    bacsc_bip_addr a = bacsc_device_host_bip(h, 0);
    printf("ready %u\n", a.port);
    fflush(stdout);
    bacsc_loop_run(c.loop);
    bacsc_device_host_free(h);
    bacsc_loop_free(c.loop);
    return 0;
}
