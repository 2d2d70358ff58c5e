#!/usr/bin/python3
"""The Device UUID is bound to the certificate's urn:uuid: SAN.

Certificates: nodeA carries urn:uuid:A, nodeB urn:uuid:B, nodeC urn:uuid:C,
plain carries none.

  - default policy (when-present): device B (instance 2002, certificate B)
    joins; a device with certificate A claiming UUID B is refused with a
    BVLC-Result NAK 180 (the hub logs one line naming both UUIDs); B stays
    connected (same `since`) and answers a read through the hub;
  - a certificate without a UUID may claim any UUID (when-present);
  - direct connection: device C accepts direct connections; `bacsc read
    --direct` with certificate A claiming UUID B is refused by C (C logs both
    UUIDs);
  - strict: the certificate without a UUID is refused;
  - off: certificate A claiming B is accepted (and replaces B — the hole the
    binding closes).
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa: F401,F403
import sc_support

A = "aaaaaaaa-0000-4000-8000-00000000000a"
B = "bbbbbbbb-0000-4000-8000-00000000000b"
C = "cccccccc-0000-4000-8000-00000000000c"


def hub_status(hub, d):
    r = tool(["status", "--status-file", f"{d}/hub-status.json", "--pid", str(hub.pid), "--json",
              "--timeout", "5"])
    return json.loads(r.stdout) if r.returncode == 0 else None


def peer(st, uuid):
    for p in (st or {}).get("hub", {}).get("peers", []):
        if p.get("uuid") == uuid:
            return p
    return None


def main():
    d = tmpdir("bacsc-uuidbind-")
    sc_support._ca(d, "ca")
    sc_support._leaf(d, "hub", "ca")
    sc_support._leaf(d, "nodeA", "ca", uuid=A)
    sc_support._leaf(d, "nodeB", "ca", uuid=B)
    sc_support._leaf(d, "nodeC", "ca", uuid=C)
    sc_support._leaf(d, "plain", "ca")
    pki = Pki(d)
    port = free_port()
    hub = start_hub(pki, port, f"{d}/hub.log", ["--status-file", f"{d}/hub-status.json"])
    check(wait_until(lambda: os.path.exists(f"{d}/hub-status.json"), 10), "hub wrote its status")
    uri = f"wss://127.0.0.1:{port}"
    devb = start(["device", "--instance", "2002", "--hub", uri, "--av", "1"] + pki.cert("nodeB"), f"{d}/b.log")
    st = wait_until(lambda: (lambda s: s if peer(s, B) else None)(hub_status(hub, d)), 20)
    check(st is not None, "device B joined with its certificate's UUID")
    since_b = peer(st, B)["since"] if st else None

    bad = start(["device", "--instance", "2003", "--hub", uri, "--uuid", B] + pki.cert("nodeA"), f"{d}/bad.log")
    check(wait_log(hub, f"does not match the certificate's urn:uuid:{A}", 15),
          "hub refused certificate A claiming UUID B and logged why")
    line = [x for x in open(hub.log) if "does not match" in x]
    check(bool(line) and B in line[0] and A in line[0] and " 180 " in line[0],
          f"the log line names both UUIDs and code 180 ({line[0].strip() if line else ''})")
    check(wait_log(bad, "tls-client-certificate-error", 10), "the refused node is told tls-client-certificate-error")
    time.sleep(1)
    st = hub_status(hub, d)
    check(peer(st, B) is not None and peer(st, B)["since"] == since_b, "B stays connected (same since)")
    prof = profile(d, "p.json", pki, port, node="plain")
    v, r = read_value(prof, 2002, "analog-value,1", "present-value")
    check(v is not None, f"read from B through the hub ({r.stderr.strip() if v is None else v})")
    check((st or {}).get("hub", {}).get("stats", {}).get("refused_uuid", 0) >= 1, "refused_uuid counted")
    stop(bad)

    check(stop(devb) == 0, "device B exits 0")
    check(stop(hub) == 0, "hub exits 0")

    # strict: a certificate without a UUID is refused
    port2 = free_port()
    cfg = os.path.join(d, "strict.json")
    json.dump({"uuid_binding": "strict"}, open(cfg, "w"))
    hub2 = start_hub(pki, port2, f"{d}/hub2.log", ["--config", cfg])
    profp = profile(d, "pp.json", pki, port2, node="plain")
    r = tool(["whois", "--timeout", "2"], profp, 20)
    check(r.returncode == 4 and wait_log(hub2, "carries no urn:uuid: (uuid-binding strict)", 5),
          f"strict: certificate without a UUID refused (exit {r.returncode})")
    profb = profile(d, "pb.json", pki, port2, node="nodeB")
    tool(["whois", "--timeout", "1"], profb, 20)
    check(wait_log(hub2, f"uuid {B}", 5), "strict: certificate B with its own UUID joined")
    check(stop(hub2) == 0, "strict hub exits 0")

    # off: no check
    port3 = free_port()
    cfg = os.path.join(d, "off.json")
    json.dump({"uuid_binding": "off"}, open(cfg, "w"))
    hub3 = start_hub(pki, port3, f"{d}/hub3.log", ["--config", cfg])
    profa3 = profile(d, "pa3.json", pki, port3, node="nodeA", extra={"uuid": B})
    tool(["whois", "--timeout", "1"], profa3, 20)
    check(wait_log(hub3, f"node joined: vmac", 5) and f"uuid {B}" in open(hub3.log).read(),
          "off: certificate A claiming B accepted")
    # Direct connection: C accepts; certificate A claiming B is refused by C.
    dport = free_port()
    devc = start(["device", "--instance", "2004", "--hub", f"wss://127.0.0.1:{port3}", "--av", "1", "--dc-listen",
                  f"127.0.0.1:{dport}"] + pki.cert("nodeC"), f"{d}/c.log")
    check(wait_until(lambda: f"uuid {C}" in open(hub3.log).read(), 20), "device C joined")
    profa = profile(d, "pa.json", pki, port3, node="nodeA", extra={"uuid": B})
    tool(["read", "2004", "analog-value,1", "present-value", "--direct", "--timeout", "3"], profa, 20)
    check(wait_log(devc, f"does not match the certificate's urn:uuid:{A}", 10),
          "C refused the direct connection of certificate A claiming B and logged both UUIDs")
    stop(devc)

    json.dump({"uuid_binding": "sometimes"}, open(os.path.join(d, "bad.json"), "w"))
    r = tool(["hub", "--listen", f"127.0.0.1:{free_port()}", "--config", os.path.join(d, "bad.json")]
             + pki.cert("hub"), timeout=10)
    check(r.returncode == 2 and "uuid-binding" in r.stderr, f"unknown policy refused ({r.returncode} {r.stderr.strip()})")
    check(stop(hub3) == 0, "off hub exits 0")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
