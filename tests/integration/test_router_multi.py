#!/usr/bin/python3
"""Routing among more than two networks, with real processes on 127.0.0.1:

  router A (config file): B/IP network 1, SC network 2 whose hub function it
           hosts itself (hub_listen), SC network 3 (a `bacsc hub`);
  router B (flags):       B/IP network 1, SC network 4 (another `bacsc hub`).
  devices 1002, 1003, 1004 on networks 2, 3, 4.

  - router A learns network 4 from router B's I-Am-Router-To-Network on the
    B/IP network (its status lists the route with router B as next hop);
  - a B/IP client reads devices on 2, 3 (through A) and 4 (through B);
  - an SC client on network 3 reads device 1002 on network 2 (SC -> SC
    through A) and device 1004 on network 4 (SC 3 -> A -> B/IP -> B -> SC 4:
    two routers, DNET kept across the middle network);
  - a global Who-Is from network 3 finds the devices of networks 1..4 with
    their network numbers (and both routers);
  - size translation: network 4's hub accepts NPDUs of at most 600 octets;
    a 1000-octet NPDU from B/IP to network 4 gets Reject-Message-To-Network
    reason 4 (message too long) from router B, a 500-octet one is forwarded;
  - network 4's hub dies: router B answers a request for network 4 with
    Reject-Message-To-Network reason 2 (router busy) instead of losing it;
  - a config file with an unknown key or a repeated network number is refused.
"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa
from test_router_bip_sc import bip_ports, bip, whois, router_status, NBCAST, Raw  # noqa


def main():
    d = tmpdir("bacsc-router-multi-")
    pki = Pki(make_pki(d, nodes=6))
    ha, h3, h4 = free_port(), free_port(), free_port()
    base = bip_ports()
    hub3 = start_hub(pki, h3, f"{d}/hub3.log")
    with open(f"{d}/hub4.json", "w") as f:
        json.dump({"max_npdu": 600}, f)
    hub4 = start_hub(pki, h4, f"{d}/hub4.log", extra=["--config", f"{d}/hub4.json"])
    status_a = f"{d}/a-status.json"
    cfg = f"{d}/a.json"
    with open(cfg, "w") as f:
        json.dump({"bip": f"127.0.0.1:{base + 1}", "bip_net": 1, "bip_broadcast": f"127.0.0.1:{base}",
                   "bip_broadcast_count": NBCAST, "instance": 901, "name": "router-a",
                   "cert": pki.path("node5.pem"), "key": pki.path("node5.key"), "ca": [pki.path("ca.pem")],
                   "status_file": status_a, "log_level": "info",
                   "networks": [{"sc_net": 2, "hub": f"wss://127.0.0.1:{ha}", "hub_listen": f"127.0.0.1:{ha}"},
                                {"sc_net": 3, "hub": f"wss://127.0.0.1:{h3}"}]}, f)
    ra = start(["router", "--config", cfg], f"{d}/a.log")
    check(wait_log(ra, "hub function of network 2 listening"), "router A hosts the hub of network 2")
    status_b = f"{d}/b-status.json"
    rb = start(["router", "--bip", f"127.0.0.1:{base + 2}", "--bip-net", "1", "--bip-broadcast",
                f"127.0.0.1:{base}", "--bip-broadcast-count", str(NBCAST), "--sc-net", "4", "--hub",
                f"wss://127.0.0.1:{h4}", "--instance", "902", "--status-file", status_b] + pki.cert("node6"),
               f"{d}/b.log")
    devs = []
    for inst, hub, node in ((1002, ha, "node1"), (1003, h3, "node2"), (1004, h4, "node3")):
        devs.append(start(["device", "--instance", str(inst), "--hub", f"wss://127.0.0.1:{hub}"] +
                          pki.cert(node), f"{d}/dev{inst}.log"))
    for p in devs:
        check(wait_log(p, "connected-to-primary"), f"device {' '.join(p.args[2:4])} connected")
    check(wait_log(rb, "connected to the primary hub"), "router B joined network 4")
    check(wait_until(lambda: log_count(ra, "connected to the primary hub") >= 2, 10),
          "router A joined networks 2 and 3")

    # router A learns network 4 (router B announces it on B/IP when its SC port connects)
    def learned():
        st = router_status(ra, status_a)
        return [r for r in st["routes"] if r["network"] == 4]
    r4 = wait_until(learned, 10)
    check(r4 and not r4[0]["direct"] and r4[0]["port"] == 0 and r4[0]["next_hop"] == f"127.0.0.1:{base + 2}",
          f"router A: route to 4 through router B ({r4})")

    for inst, net, k in ((1002, 2, 3), (1003, 3, 4), (1004, 4, 5)):
        r = tool(["read", str(inst), f"device,{inst}", "object-name", "--dnet", str(net), "--timeout", "8"]
                 + bip(base, k))
        check(r.returncode == 0 and r.stdout.strip() == f'"bacsc-device-{inst}"',
              f"B/IP client reads {inst} on network {net} ({r.stdout.strip()!r} {r.stderr.strip()!r})")
    prof3 = profile(d, "p3.json", pki, h3, node="node4")
    r = tool(["read", "1002", "device,1002", "object-name", "--dnet", "2", "--timeout", "8"], prof3)
    check(r.returncode == 0 and r.stdout.strip() == '"bacsc-device-1002"',
          f"SC client on 3 reads 1002 on 2 through router A ({r.stdout.strip()!r} {r.stderr.strip()!r})")
    r = tool(["read", "1004", "device,1004", "object-name", "--dnet", "4", "--timeout", "8"], prof3)
    check(r.returncode == 0 and r.stdout.strip() == '"bacsc-device-1004"',
          f"SC client on 3 reads 1004 on 4 through routers A and B ({r.stdout.strip()!r} {r.stderr.strip()!r})")
    found, r = whois(["--global", "--timeout", "3"], prof3)
    nets = {i: found[i].get("network") for i in found}
    check(nets.get(1002) == 2 and nets.get(1004) == 4 and nets.get(1003, 0) is None
          and nets.get(902) == 1 and 901 in nets, f"global Who-Is from network 3: {nets}")
    st = router_status(ra, status_a)
    check(st["stats"]["forwarded"] > 0 and st["stats"]["rejects_sent"] == 0, f"router A counters {st['stats']}")

    # size translation at router B: network 4 takes at most 600 octets
    found, r = whois(["--dnet", "4"] + bip(base, 3))
    v4 = found.get(1004, {}).get("mac", "00:00:00:00:00:00").replace(":", "")
    raw = Raw(base + 6, ("127.0.0.1", base + 2))
    before = router_status(rb, status_b)["stats"]
    raw.send("0124 0004 06 " + v4 + " ff 1008" + "00" * (1000 - 14))
    got = [h for a, h in raw.recv_all(2.0)]
    check("018003040004" in got, f"1000 octets to network 4: Reject-Message-To-Network reason 4 ({got})")
    raw.send("0124 0004 06 " + v4 + " ff 1008" + "00" * (500 - 14))
    raw.recv_all(1.0)
    after = router_status(rb, status_b)["stats"]
    check(after["rejects_too_long"] == before["rejects_too_long"] + 1 and
          after["forwarded"] >= before["forwarded"] + 1,
          f"router B: one refused as too long, the 500-octet one forwarded ({before} -> {after})")

    # network 4 loses its hub: router B answers traffic for it with "router busy"
    hub4.kill()
    hub4.wait()
    check(wait_log(rb, "no hub connection", 10), "router B: network 4 without hub")
    raw.send("0124 0004 06 " + v4 + " ff 1008")
    got = [h for a, h in raw.recv_all(2.0)]
    check("018003020004" in got, f"DNET 4 while its port is down: Reject-Message-To-Network reason 2 ({got})")

    for p in devs + [ra, rb, hub3]:
        check(stop(p) == 0, f"{' '.join(p.args[1:3])} stops cleanly")

    bad = f"{d}/bad.json"
    with open(bad, "w") as f:
        json.dump({"bip_net": 1, "networks": [{"sc_net": 2, "hub": "wss://127.0.0.1:1", "hubb": "x"}]}, f)
    r = tool(["router", "--config", bad] + pki.cert("node5"))
    check(r.returncode == 3 and "hubb" in r.stderr, f"unknown key refused (exit {r.returncode}: {r.stderr.strip()})")
    r = tool(["router", "--bip-net", "1", "--sc-net", "1", "--hub", "wss://127.0.0.1:1"] + pki.cert("node5"))
    check(r.returncode == 2 and "same number" in r.stderr, f"B/IP and SC network equal refused ({r.stderr.strip()})")
    r = tool(["router", "--bip-net", "1", "--sc-net", "2", "--hub", "wss://127.0.0.1:1", "--sc-net", "2",
              "--hub", "wss://127.0.0.1:2"] + pki.cert("node5"))
    check(r.returncode == 2 and "twice" in r.stderr, f"repeated SC network refused ({r.stderr.strip()})")
    r = tool(["router", "--bip-net", "1", "--sc-net", "2", "--hub", "wss://127.0.0.1:1", "--hub",
              "wss://127.0.0.1:2"] + pki.cert("node5"))
    check(r.returncode == 2 and "--hub given twice" in r.stderr, f"two --hub for one network refused ({r.stderr.strip()})")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
