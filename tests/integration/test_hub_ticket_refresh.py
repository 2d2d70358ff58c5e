#!/usr/bin/python3
"""Fresh session tickets for long-connected nodes, with real processes:
`bacsc hub --ticket-key-file K --ticket-lifetime 6` and three devices
(`bacsc device --count 3`) that stay connected, without reconnecting, for
longer than the ticket lifetime.

  - while they stay connected the hub sends each a new ticket on the open
    connection once its ticket is past half its lifetime (status:
    tls.tickets_refreshed >= 3, metric bacsc_hub_tls_tickets_refreshed_total),
    and not again before the new ticket is itself past half its lifetime;
  - connections stay up (no reconnect, nothing refused);
  - after a hub restart (same K), 9 s after the devices connected (the
    tickets of their handshakes expired 3 s earlier), every device resumes
    its TLS session (status: tls.resumed 3, tickets_refused 0). Without the
    fresh tickets this is 0 resumed: the nodes' only tickets are too old.
"""
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa

LIFETIME = 6


def main():
    d = tmpdir("bacsc-tktrefresh-")
    pki = Pki(make_pki(d, nodes=2))
    port, mport = free_port(), free_port()
    keys = os.path.join(d, "ticket.keys")
    st_path = os.path.join(d, "status.json")
    hub_args = ["--ticket-key-file", keys, "--ticket-lifetime", str(LIFETIME),
                "--status-file", st_path, "--log-level", "info"]
    hub = start_hub(pki, port, f"{d}/hub1.log",
                    hub_args + ["--metrics-listen", f"127.0.0.1:{mport}"])
    cfg = os.path.join(d, "device.json")
    with open(cfg, "w") as f:
        json.dump({"instance": 4201, "count": 3, "hub": f"wss://127.0.0.1:{port}",
                   "cert": pki.path("node1.pem"), "key": pki.path("node1.key"),
                   "ca": [pki.path("ca.pem")], "connect_wait": 2, "reconnect_min": 0.5,
                   "reconnect_max": 2, "disconnect_wait": 1, "log_level": "info"}, f)
    devs = start(["device", "--config", cfg], f"{d}/devices.log")
    check(wait_until(lambda: devices_connected(devs) >= 3, 10), "3 devices connected")
    t_connected = time.monotonic()
    s = hub_status(hub, st_path)
    tls = s.get("tls", {})
    check(tls.get("handshakes", 0) == 3 and tls.get("resumed") == 0,
          f"first connections: 3 full handshakes ({tls})")

    # stay connected for longer than the lifetime of the handshakes' tickets
    time.sleep(max(0.0, LIFETIME * 1.5 - (time.monotonic() - t_connected)))
    s = hub_status(hub, st_path)
    tls = s.get("tls", {})
    check(tls.get("tickets_refreshed", 0) >= 3,
          f"hub sent new tickets on the open connections ({tls})")
    # due again only when the new ticket is past half its life: at most one per
    # node per LIFETIME / 2 (not one per sweep, every 47 ms)
    check(tls.get("tickets_refreshed", 0) <= 3 * 4,
          f"at most one new ticket per node per half lifetime ({tls})")
    check(tls.get("handshakes") == 3 and devices_connected(devs) == 3,
          f"no reconnect meanwhile ({tls}, {devices_connected(devs)} connects)")
    try:
        m = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=5).read().decode()
    except OSError as e:
        m = str(e)
    line = [x for x in m.splitlines() if x.startswith("bacsc_hub_tls_tickets_refreshed_total ")]
    check(line and int(float(line[0].split()[1])) >= 3,
          f"metric bacsc_hub_tls_tickets_refreshed_total ({line})")

    # restart with the same ticket keys: the devices resume with the fresh tickets
    check(stop(hub) == 0, "hub stops (SIGTERM)")
    hub = start_hub(pki, port, f"{d}/hub2.log", hub_args)
    check(wait_until(lambda: devices_connected(devs) >= 6, 15), "3 devices back after the restart")
    s = hub_status(hub, st_path)
    tls = s.get("tls", {})
    check(tls.get("resumed") == 3 and tls.get("handshakes") == 3 and
          tls.get("tickets_refused") == 0,
          f"connected {LIFETIME * 1.5:.0f} s > ticket lifetime {LIFETIME} s, every device "
          f"resumed after the restart ({tls})")
    check(stop(devs) == 0, "devices exit 0")
    check(stop(hub) == 0, "hub exits 0")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
