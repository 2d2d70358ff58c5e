#!/usr/bin/python3
"""`bacsc router` with real processes: BACnet/IP network 1 (a `bacsc device`
on B/IP, the client tools with --bip-local, raw datagrams from this script)
and BACnet/SC network 2 (primary and failover `bacsc hub`, two `bacsc device`
on SC, an SC client), all on 127.0.0.1, captured by tshark.

  - a B/IP client reads and writes an SC device through the router (found
    by a remote-broadcast Who-Is, and addressed as router ADDR:PORT + DNET/DADR);
    an SC client reads the B/IP device through it (--dnet 1);
  - a global Who-Is (--global) from either side lists the devices of both
    networks with the network each answered from; a remote broadcast to
    network 2 is answered only by network 2's devices (and the router);
  - network layer messages from raw datagrams: Who-Is-Router-To-Network →
    I-Am-Router-To-Network(2), What-Is-Network-Number → Network-Number-Is(1),
    Initialize-Routing-Table → Ack, an unknown DNET → Reject-Message-To-Network
    reason 1, hop count 1 → dropped (hop count 255: answered);
  - the router's own Device object and its two Network Ports (numbers 1, 2);
  - the primary hub is killed: the router's SC port moves to the failover
    hub and a B/IP client still reads the SC device through the router; the
    primary comes back: the router returns to it and still routes;
  - every routed frame in the capture (B/IP datagrams and BVLC-SC messages,
    decrypted with the hubs' key logs) dissects without a malformed mark,
    with the intended DNET/SNET/SADR/hop count.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa
import sc_support

ROUTER = 900
NBCAST = 10
RP_DEVICE_NAME = "0c020003e9194d"  # ReadProperty device,1001 object-name: service data


def bip_ports():
    """NBCAST consecutive free UDP ports on 127.0.0.1."""
    for _ in range(100):
        base = free_port()
        socks = []
        try:
            for i in range(NBCAST):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("127.0.0.1", base + i))
                socks.append(s)
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
        return base
    raise RuntimeError("no free port range")


def start_capture(d, filt):
    cap = f"{d}/router.pcapng"
    ts = subprocess.Popen(["tshark", "-i", "lo", "-f", filt, "-w", cap],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sc_support._procs.append(ts)
    deadline = time.time() + 15
    while time.time() < deadline:
        line = ts.stderr.readline()
        if not line:
            break
        if "Capturing on" in line:
            return ts, cap
    return None, None


class Raw:
    """A bare B/IP socket: NPDUs in Original-Unicast-NPDUs to the router."""

    def __init__(self, port, router):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", port))
        self.router = router

    def send(self, npdu_hex):
        npdu = bytes.fromhex(npdu_hex.replace(" ", ""))
        self.s.sendto(b"\x81\x0a" + struct.pack(">H", 4 + len(npdu)) + npdu, self.router)

    def recv_all(self, wait=1.5):
        out = []
        self.s.settimeout(0.2)
        end = time.time() + wait * SLOW
        while time.time() < end:
            try:
                data, a = self.s.recvfrom(2000)
            except socket.timeout:
                continue
            if len(data) > 4 and data[0] == 0x81:
                out.append((a, data[4:].hex()))
        return out


def bip(base, k):
    return ["--bip-local", f"127.0.0.1:{base + k}", "--bip-broadcast", f"127.0.0.1:{base}",
            "--bip-broadcast-count", str(NBCAST)]


def whois(args, prof=None):
    r = tool(["whois", "--json", "--timeout", "2"] + args, prof)
    try:
        return {d["instance"]: d for d in json.loads(r.stdout)}, r
    except ValueError:
        return {}, r


def router_status(router, status):
    before = os.path.getmtime(status) if os.path.exists(status) else 0
    router.send_signal(signal.SIGUSR1)
    wait_until(lambda: os.path.exists(status) and os.path.getmtime(status) != before, 5)
    return json.load(open(status))


def main():
    have_tshark = shutil.which("tshark") is not None
    d = tmpdir("bacsc-router-")
    pki = Pki(make_pki(d, nodes=5))
    pport, fport = free_port(), free_port()
    base = bip_ports()
    ts = cap = None
    if have_tshark:
        ts, cap = start_capture(d, f"udp portrange {base}-{base + NBCAST - 1} or tcp port {pport} "
                                   f"or tcp port {fport}")
    keys_p, keys_f = f"{d}/keys_p.log", f"{d}/keys_f.log"
    primary = start_hub(pki, pport, f"{d}/primary.log", env={"SSLKEYLOGFILE": keys_p})
    failover = start_hub(pki, fport, f"{d}/failover.log", env={"SSLKEYLOGFILE": keys_f})
    hubs = ["--hub", f"wss://127.0.0.1:{pport}", "--failover", f"wss://127.0.0.1:{fport}"]
    devcfg = f"{d}/dev.json"
    with open(devcfg, "w") as f:
        json.dump({"connect_wait": 2, "reconnect_min": 1, "reconnect_max": 3}, f)
    devs = [start(["device", "--instance", str(i), "--config", devcfg] + hubs + pki.cert(f"node{k}"),
                  f"{d}/dev{i}.log") for i, k in ((1001, 1), (1002, 2))]
    ipdev = start(["device", "--state-dir", f"{d}/ipstate", "--instance", "2001", "--bip",
                   f"127.0.0.1:{base}", "--bip-broadcast", f"127.0.0.1:{base}",
                   "--bip-broadcast-count", str(NBCAST)], f"{d}/ipdev.log")
    rcfg, status = f"{d}/router.json", f"{d}/router-status.json"
    mport = free_port()
    with open(rcfg, "w") as f:
        json.dump({"connect_wait": 2, "reconnect_min": 1, "reconnect_max": 3,
                   "status_file": status}, f)
    router = start(["router", "--bip", f"127.0.0.1:{base + 1}", "--bip-net", "1", "--bip-broadcast",
                    f"127.0.0.1:{base}", "--bip-broadcast-count", str(NBCAST), "--sc-net", "2"] + hubs +
                   pki.cert("node3") + ["--instance", str(ROUTER), "--config", rcfg,
                                        "--metrics-listen", f"127.0.0.1:{mport}"], f"{d}/router.log")
    check(wait_log(router, "connected to the primary hub"), "router joined network 2 (primary hub)")
    for p in devs:
        check(wait_log(p, "connected-to-primary"), "SC device connected")
    prof = profile(d, "p.json", pki, pport, node="node4", extra={"failover": f"wss://127.0.0.1:{fport}"})

    # -- B/IP client -> SC device through the router
    r = tool(["read", "1001", "device,1001", "object-name", "--dnet", "2", "--timeout", "8"] + bip(base, 2))
    check(r.returncode == 0 and r.stdout.strip() == '"bacsc-device-1001"',
          f"B/IP read of SC device 1001 through the router ({r.stdout.strip()!r} {r.stderr.strip()!r})")
    r = tool(["write", "1001", "analog-value,1", "present-value", "42.5", "--dnet", "2"] + bip(base, 3))
    check(r.returncode == 0, f"B/IP write to SC device 1001 through the router ({r.stderr.strip()})")
    v, r = read_value(prof, 1001, "analog-value,1", "present-value")
    check(v == 42.5, f"the write arrived: read over SC gives {v}")
    found, r = whois(["--low", "1001", "--high", "1001"], prof)
    vmac = found.get(1001, {}).get("vmac")
    r = tool(["read", f"127.0.0.1:{base + 1}", "analog-value,1", "present-value", "--dnet", "2",
              "--dadr", vmac or "00", "--timeout", "5"] + bip(base, 4))
    check(r.returncode == 0 and r.stdout.strip() == "42.5",
          f"B/IP read addressed to router ADDR:PORT + DNET 2 + DADR {vmac} ({r.stdout.strip()!r})")
    r = tool(["readm", "1001", "device,1001", "object-name,vendor-name", "--dnet", "2"] + bip(base, 5))
    check(r.returncode == 0 and "bacsc-device-1001" in r.stdout, "B/IP readm through the router")

    # -- SC client -> B/IP device through the router
    r = tool(["read", "2001", "device,2001", "object-name", "--dnet", "1", "--timeout", "8"], prof)
    check(r.returncode == 0 and "2001" in r.stdout,
          f"SC read of B/IP device 2001 through the router ({r.stdout.strip()!r} {r.stderr.strip()!r})")

    # -- Who-Is: global from both sides, remote broadcast to network 2
    found, r = whois(["--global"] + bip(base, 2))
    nets = {i: found[i].get("network") for i in found}
    check(nets.get(1001) == 2 and nets.get(1002) == 2 and 2001 in nets and nets[2001] is None
          and nets.get(ROUTER, 0) is None, f"global Who-Is over B/IP: {nets}")
    check(found.get(1001, {}).get("mac") == vmac and found.get(1001, {}).get("via") == f"127.0.0.1:{base + 1}",
          f"device 1001 listed with its VMAC on network 2 via the router ({found.get(1001)})")
    found, r = whois(["--global"], prof)
    nets = {i: found[i].get("network") for i in found}
    check(nets.get(2001) == 1 and nets.get(1001, 0) is None and nets.get(1002, 0) is None,
          f"global Who-Is over SC: {nets}")
    r = tool(["whois", "--global", "--timeout", "2"] + bip(base, 3))
    check("network 2  mac" in r.stdout and "via 127.0.0.1" in r.stdout,
          f"text output names network and MAC:\n{r.stdout}")
    found, r = whois(["--dnet", "2"] + bip(base, 2))
    check(set(found) - {ROUTER} == {1001, 1002}, f"remote broadcast to network 2 reaches only it: {sorted(found)}")
    found, r = whois(["--dnet", "1"], prof)
    check(set(found) - {ROUTER} == {2001}, f"remote broadcast to network 1 reaches only it: {sorted(found)}")

    # -- raw network layer messages and routing rules
    raw = Raw(base + 6, ("127.0.0.1", base + 1))
    raw.send("0180 00")
    got = [h for a, h in raw.recv_all() if h.startswith("018001")]
    check(got and got[0] == "0180010002", f"Who-Is-Router-To-Network -> I-Am-Router-To-Network(2): {got}")
    raw.send("0180 12")
    got = [h for a, h in raw.recv_all() if h.startswith("018013")]
    check(got == ["018013000101"], f"What-Is-Network-Number -> Network-Number-Is(1, configured): {got}")
    raw.send("0180 06 00")
    got = [h for a, h in raw.recv_all() if h.startswith("018007")]
    check(got == ["018007020001010000020200"], f"Initialize-Routing-Table -> Ack (1 on port 1, 2 on port 2): {got}")
    raw.send("0124 004d 06 " + (vmac or "00").replace(":", "") + " ff 0005010c" + RP_DEVICE_NAME)
    got = [h for a, h in raw.recv_all()]
    check("01800301004d" in got, f"unknown DNET 77 -> Reject-Message-To-Network reason 1: {got}")
    raw.send("0124 0002 06 " + (vmac or "00").replace(":", "") + " 01 0005020c" + RP_DEVICE_NAME)
    got = [h for a, h in raw.recv_all(2.0)]
    check(not got, f"hop count 1: dropped, no answer ({got})")
    raw.send("0124 0002 06 " + (vmac or "00").replace(":", "") + " ff 0005030c" + RP_DEVICE_NAME)
    got = [h for a, h in raw.recv_all(2.0)]
    check(any(h.startswith("01080002 06".replace(" ", "") + (vmac or "").replace(":", "") + "3003")
              for h in got), f"hop count 255: answered, SNET 2 SADR = device VMAC ({got})")
    st = router_status(router, status)
    check(st["stats"]["hop_exhausted"] >= 1 and st["stats"]["rejects_unknown_net"] >= 1,
          f"router counters: {st['stats']}")
    metrics_check(mport, st["stats"])

    # -- the router's own Device object and Network Ports
    for obj, prop, want in (("device,900", "object-name", '"bacsc-router-900"'),
                            ("network-port,1", "network-number", "1"),
                            ("network-port,1", "network-type", "ipv4"),
                            ("network-port,2", "network-number", "2"),
                            ("network-port,2", "network-type", "secure-connect")):
        r = tool(["read", str(ROUTER), obj, prop, "--timeout", "5"] + bip(base, 7))
        check(r.returncode == 0 and r.stdout.strip() == want,
              f"router {obj} {prop} = {r.stdout.strip()!r} (over B/IP)")
    r = tool(["read", str(ROUTER), "network-port,2", "sc-hub-connector-state", "--timeout", "5"], prof)
    check(r.returncode == 0 and r.stdout.strip() == "connected-to-primary",
          f"router SC port connector state over SC: {r.stdout.strip()!r}")

    # -- failover of the router's SC port
    primary.kill()
    primary.wait()
    check(wait_log(router, "connected to the failover hub", 20), "router SC port moved to the failover hub")
    for p in devs:
        check(wait_log(p, "connected-to-failover", 20), "SC device moved to the failover hub")
    r = tool(["read", "1002", "device,1002", "object-name", "--dnet", "2", "--timeout", "10"] + bip(base, 2))
    check(r.returncode == 0 and r.stdout.strip() == '"bacsc-device-1002"',
          f"B/IP read through the router after failover ({r.stdout.strip()!r} {r.stderr.strip()!r})")

    # ... and return: the primary comes back, the router's SC port moves back to it
    primary = start_hub(pki, pport, f"{d}/primary2.log", env={"SSLKEYLOGFILE": keys_p})
    check(wait_until(lambda: log_count(router, "connected to the primary hub") >= 2, 30),
          "router SC port returned to the primary hub")
    r = tool(["read", "1001", "analog-value,1", "present-value", "--dnet", "2", "--timeout", "10"] + bip(base, 3))
    check(r.returncode == 0 and r.stdout.strip() == "42.5",
          f"B/IP read through the router after the return ({r.stdout.strip()!r} {r.stderr.strip()!r})")

    for p in devs + [ipdev, router, failover, primary]:
        check(stop(p) == 0, f"{' '.join(p.args[1:3])} stops cleanly")
    if ts:
        time.sleep(1.0)
        ts.send_signal(signal.SIGINT)
        ts.wait(15)
        dissect(d, cap, base, pport, fport, keys_p, keys_f, vmac)
    else:
        print("note: tshark missing or cannot capture: dissection checks skipped")
    return finish()


def metrics_check(mport, stats):
    """/metrics parsed by an independent Prometheus text parser; /health."""
    import urllib.request
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        print("note: python3-prometheus-client missing: metrics parse skipped")
        return
    text = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=5).read().decode()
    vals = {}
    for fam in text_string_to_metric_families(text):
        for smp in fam.samples:
            vals[(smp.name, tuple(sorted(smp.labels.items())))] = smp.value
    fw = vals.get(("bacsc_router_forwarded_total", ()))
    check(fw is not None and fw >= stats["forwarded"], f"/metrics forwarded_total {fw}")
    check(vals.get(("bacsc_router_hop_exhausted_total", ())) == stats["hop_exhausted"],
          "/metrics hop_exhausted_total matches the status")
    check(vals.get(("bacsc_router_sc_hub_connector_state", (("network", "2"),))) == 1,
          "/metrics: network 2 connected to its primary hub")
    h = urllib.request.urlopen(f"http://127.0.0.1:{mport}/health", timeout=5)
    check(h.status == 200, f"/health {h.status}")


def dissect(d, cap, base, pport, fport, keys_p, keys_f, vmac):
    keys = f"{d}/keys.log"
    with open(keys, "w") as out:
        for k in (keys_p, keys_f):
            if os.path.exists(k):
                out.write(open(k).read())
    decode = []
    for i in range(NBCAST):
        decode += ["-d", f"udp.port=={base + i},bvlc"]
    for p in (pport, fport):
        decode += ["-d", f"tcp.port=={p},tls"]

    def fields(filt, *names):
        args = ["tshark", "-r", cap, "-o", f"tls.keylog_file:{keys}"] + decode + [
            "-Y", filt, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-E", "separator=|"]
        for n in names:
            args += ["-e", n]
        r = subprocess.run(args, capture_output=True, text=True, timeout=180)
        if r.returncode != 0:
            check(False, f"tshark -Y '{filt}' failed: {r.stderr.strip()[:200]}")
        return [l.split("|") for l in r.stdout.splitlines() if l.strip()]

    rport = base + 1

    def pdus(filt, *names):
        """Per BACnet PDU (a TCP segment may hold several): tuples of `names`,
        which must be fields present together (e.g. dnet, dlen, hopc)."""
        out = []
        for row in fields(filt, *names):
            cols = [c.split(",") if c else [] for c in row]
            out += list(zip(*cols))
        return out

    # B/IP side: what the router sent (routed from SC) and what it received for network 2
    src = pdus(f"udp.srcport=={rport} && bacnet.control_net == 0", "bacnet.snet", "bacnet.sadr_eth")
    routed = [r for r in src if r[0] == "2"]
    check(len(routed) >= 5, f"B/IP frames from the router with SNET 2: {len(routed)}")
    v = (vmac or "").lower()
    check(any(r[1] == v for r in routed), f"SADR = device 1001's VMAC {v} seen")
    dst = pdus(f"udp.srcport=={rport} && bacnet.control_net == 0", "bacnet.dnet", "bacnet.hopc")
    check(all(r[0] == "65535" and r[1] == "254" for r in dst),
          f"on B/IP, routed frames carry no DNET but a global one, hop count 254 ({set(dst)})")
    inb = pdus(f"udp.dstport=={rport}", "bacnet.dnet", "bacnet.dlen", "bacnet.hopc")
    check(sum(1 for r in inb if r[0] == "2") >= 3 and ("2", "6", "1") in inb and ("2", "6", "255") in inb,
          f"B/IP frames to the router for DNET 2 (hop 255, and the hop-1 one): {len(inb)}")
    # SC side: Encapsulated-NPDUs the router forwarded from B/IP carry SNET 1
    sc = [r for r in pdus("bscvlc", "bacnet.snet", "bacnet.slen") if r[0] == "1"]
    check(len(sc) >= 5 and all(r[1] == "6" for r in sc), f"BVLC-SC PDUs with SNET 1 (SLEN 6): {len(sc)}")
    scd = pdus("bscvlc", "bacnet.dnet", "bacnet.dlen", "bacnet.hopc")
    check(all(r[0] in ("1", "65535") for r in scd), f"on SC, DNET only 1 (to the router) or global: {set(scd)}")
    to1 = [r for r in scd if r[0] == "1"]
    check(any(r[1] == "6" for r in to1) and all(r[2] == "255" for r in to1),
          f"BVLC-SC PDUs for DNET 1 with DLEN 6 and hop count 255: {len(to1)}")
    nl = fields(f"udp.port=={rport} && bacnet.control_net == 1", "bacnet.mesgtyp")
    types = {r[0] for r in nl}
    check({"0x00", "0x01", "0x03", "0x06", "0x07", "0x12", "0x13"} <= types or
          {"0", "1", "3", "6", "7", "18", "19"} <= types, f"network layer messages dissected: {sorted(types)}")
    bad = fields("_ws.malformed || _ws.expert.severity == error", "frame.number", "_ws.col.Protocol")
    check(not bad, f"no malformed or error-marked frames ({bad[:5]})")


if __name__ == "__main__":
    sys.exit(main())
