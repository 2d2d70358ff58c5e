#!/usr/bin/python3
"""The Network Port's SC properties equal the node's effective configuration.

Three `bacsc device` processes; every SC property of network-port,1 is read
over BACnet/SC and compared with what the node runs with:

  - defaults: the connector's and connection's defaults (reconnect 2..600 s,
    connect wait 10 s, disconnect wait 5 s, heartbeat 60 s, Max-BVLC 1600,
    Max-NPDU 1497), no failover, hub function and direct connections off;
  - a configuration file setting every timer, both lengths, the failover hub
    and direct connections;
  - the same file with flags on top (flags win: --failover, --dc-initiate).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa: F401,F403

PROPS = ["sc-connect-wait-timeout", "sc-disconnect-wait-timeout", "sc-heartbeat-timeout",
         "sc-minimum-reconnect-time", "sc-maximum-reconnect-time", "max-bvlc-length-accepted",
         "max-npdu-length-accepted", "sc-primary-hub-uri", "sc-failover-hub-uri",
         "sc-hub-function-enable", "sc-direct-connect-accept-enable",
         "sc-direct-connect-initiate-enable"]


def read_all(prof, inst):
    out = {}
    for p in PROPS:
        v, r = read_value(prof, inst, "network-port,1", p)
        out[p] = v
    return out


def compare(label, got, want):
    for p in PROPS:
        check(got.get(p) == want[p], f"{label}: {p} = {got.get(p)!r} (effective {want[p]!r})")


def main():
    d = tmpdir("bacsc-npcfg-")
    pki = Pki(make_pki(d, nodes=4))
    port, port2 = free_port(), free_port()
    hub = start_hub(pki, port, f"{d}/hub.log")
    uri, uri2 = f"wss://127.0.0.1:{port}", f"wss://127.0.0.1:{port2}"
    prof = profile(d, "p.json", pki, port, node="node4")

    dev = start(["device", "--instance", "1201", "--hub", uri] + pki.cert("node1"), f"{d}/d1.log")
    check(wait_log(dev, "connected-to-primary", 20), "defaults: connected")
    compare("defaults", read_all(prof, 1201), {
        "sc-connect-wait-timeout": 10, "sc-disconnect-wait-timeout": 5, "sc-heartbeat-timeout": 60,
        "sc-minimum-reconnect-time": 2, "sc-maximum-reconnect-time": 600,
        "max-bvlc-length-accepted": 1600, "max-npdu-length-accepted": 1497,
        "sc-primary-hub-uri": uri, "sc-failover-hub-uri": "", "sc-hub-function-enable": False,
        "sc-direct-connect-accept-enable": False, "sc-direct-connect-initiate-enable": False})
    stop(dev)

    dl = free_port()
    cfg = os.path.join(d, "dev.json")
    json.dump({"instance": 1202, "hub": uri, "failover": uri2, "cert": pki.path("node2.pem"),
               "key": pki.path("node2.key"), "ca": pki.path("ca.pem"), "connect_wait": 7,
               "disconnect_wait": 3, "heartbeat": 45, "reconnect_min": 4, "reconnect_max": 120,
               "max_bvlc": 2000, "max_npdu": 1800, "dc_listen": f"127.0.0.1:{dl}",
               "dc_initiate": "off"}, open(cfg, "w"))
    want = {"sc-connect-wait-timeout": 7, "sc-disconnect-wait-timeout": 3, "sc-heartbeat-timeout": 45,
            "sc-minimum-reconnect-time": 4, "sc-maximum-reconnect-time": 120,
            "max-bvlc-length-accepted": 2000, "max-npdu-length-accepted": 1800,
            "sc-primary-hub-uri": uri, "sc-failover-hub-uri": uri2, "sc-hub-function-enable": False,
            "sc-direct-connect-accept-enable": True, "sc-direct-connect-initiate-enable": False}
    dev = start(["device", "--config", cfg], f"{d}/d2.log")
    check(wait_log(dev, "connected-to-primary", 20), "config file: connected")
    compare("config file", read_all(prof, 1202), want)
    stop(dev)

    port3 = free_port()
    uri3 = f"wss://127.0.0.1:{port3}"
    dev = start(["device", "--config", cfg, "--failover", uri3, "--dc-initiate", "auto"], f"{d}/d3.log")
    check(wait_log(dev, "connected-to-primary", 20), "config + flags: connected")
    want.update({"sc-failover-hub-uri": uri3, "sc-direct-connect-initiate-enable": True})
    compare("config + flags", read_all(prof, 1202), want)
    stop(dev)
    check(stop(hub) == 0, "hub exits 0")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
