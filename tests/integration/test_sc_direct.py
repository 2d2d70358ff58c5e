#!/usr/bin/python3
"""Direct connections (node switch) with real processes over real TLS 1.3 on
127.0.0.1: `bacsc hub` + `bacsc device` x 3 + the client tools.

  - dev1001 --dc-listen: its Network Port reports SC_Direct_Connect_Accept_
    Enable true, Accept_URIs = wss://127.0.0.1:PORT, the binding, and
    Initiate_Enable false; dev1002 --dc-initiate auto reports true;
  - `bacsc read --direct` resolves dev1001 (Address-Resolution through the
    hub → ACK with its URI), opens a dc.bsc.bacnet.org connection and reads
    over it ("direct": true); the device's status shows the accepted
    connection and Address-Resolution answered;
  - a long-running `bacsc read --direct --repeat` with a fixed VMAC: while it
    runs, dev1001's SC_Direct_Connect_Connection_Status (read over BACnet by
    another client) lists a connected entry for that VMAC with its UUID-sized
    fields, and the hub's relayed-unicast counter stays flat;
  - dev1003 without --dc-listen answers Address-Resolution with a NAK: the
    read falls back to the hub ("direct": false, a warning) and still works;
  - kill -9 the hub: the directly connected pair keeps talking (every
    repeated read succeeds, several after the hub died).
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa


def hub_status(hub, path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    hub.send_signal(signal.SIGUSR1)
    wait_until(lambda: os.path.exists(path), 5)
    return json.load(open(path))


def dev_status(p, path):
    mtime = os.path.getmtime(path) if os.path.exists(path) else 0
    p.send_signal(signal.SIGUSR1)
    wait_until(lambda: os.path.exists(path) and os.path.getmtime(path) != mtime, 5, 0.02)
    time.sleep(0.05)
    return json.load(open(path))


def main():
    d = tmpdir("bacsc-scdc-")
    pki = Pki(make_pki(d, nodes=6))
    port = free_port()
    dcport = free_port()
    hub = start_hub(pki, port, f"{d}/hub.log", ["--status-file", f"{d}/hub-status.json"])
    hub_uri = f"wss://127.0.0.1:{port}"
    dev1 = start(["device", "--instance", "1001", "--hub", hub_uri, "--dc-listen", f"127.0.0.1:{dcport}",
                  "--status-file", f"{d}/dev1.json"] + pki.cert("node1"), f"{d}/dev1001.log")
    dev2 = start(["device", "--instance", "1002", "--hub", hub_uri, "--dc-listen", "127.0.0.1:0",
                  "--dc-initiate", "auto", "--status-file", f"{d}/dev2.json"] + pki.cert("node2"),
                 f"{d}/dev1002.log")
    dev3 = start(["device", "--instance", "1003", "--hub", hub_uri, "--status-file", f"{d}/dev3.json"]
                 + pki.cert("node3"), f"{d}/dev1003.log")
    for p in (dev1, dev2, dev3):
        check(wait_log(p, "connected-to-primary"), f"{os.path.basename(p.log)}: connected to the hub")
    check(wait_log(dev1, "accepting direct connections"), "dev1001 logs its dc listener")
    prof = profile(d, "profile.json", pki, port)

    # Network Port configuration properties
    v, r = read_value(prof, 1001, "network-port,1", "sc-direct-connect-accept-enable")
    check(v is True, f"1001 SC_Direct_Connect_Accept_Enable true ({v} {r.stderr.strip()})")
    v, r = read_value(prof, 1001, "network-port,1", "sc-direct-connect-accept-uris")
    # (a one-element list prints as its element)
    aslist = lambda x: x if isinstance(x, list) else [x]
    check(aslist(v) == [f"wss://127.0.0.1:{dcport}"], f"1001 SC_Direct_Connect_Accept_URIs ({v})")
    v, r = read_value(prof, 1001, "network-port,1", "sc-direct-connect-binding")
    check(v == f"127.0.0.1:{dcport}", f"1001 SC_Direct_Connect_Binding ({v})")
    v, r = read_value(prof, 1001, "network-port,1", "sc-direct-connect-initiate-enable")
    check(v is False, f"1001 SC_Direct_Connect_Initiate_Enable false ({v})")
    v, r = read_value(prof, 1002, "network-port,1", "sc-direct-connect-initiate-enable")
    check(v is True, f"1002 (--dc-initiate auto) SC_Direct_Connect_Initiate_Enable true ({v})")
    v, r = read_value(prof, 1002, "network-port,1", "sc-direct-connect-accept-uris")
    v = aslist(v)
    check(len(v) == 1 and isinstance(v[0], str) and v[0].startswith("wss://127.0.0.1:") and
          not v[0].endswith(":0"), f"1002 on port 0 advertises the bound port ({v})")
    v, r = read_value(prof, 1003, "network-port,1", "sc-direct-connect-accept-enable")
    check(v is False, f"1003 SC_Direct_Connect_Accept_Enable false ({v})")
    v, r = read_value(prof, 1003, "network-port,1", "sc-direct-connect-connection-status")
    check(r.returncode == 0 and v == [], f"1003 SC_Direct_Connect_Connection_Status empty ({v})")

    # one read over a direct connection
    r = tool(["read", "1001", "device,1001", "object-name", "--direct", "--json", "--timeout", "15"], prof, 30)
    js = json.loads(r.stdout) if r.returncode == 0 else {}
    check(js.get("value") == "bacsc-device-1001" and js.get("direct") is True,
          f"read --direct 1001 over a direct connection ({r.stdout.strip()} {r.stderr.strip()})")
    st = dev_status(dev1, f"{d}/dev1.json")["devices"][0]["node"]["direct"]
    check(st["stats"]["ar_answered"] >= 1 and st["stats"]["dc_accepted"] >= 1 and
          st["stats"]["rx_direct"] >= 1 and st["stats"]["tx_direct"] >= 1,
          f"1001 answered Address-Resolution, accepted, talked directly ({st['stats']})")

    # no --dc-listen: NAK, and the read goes through the hub
    r = tool(["read", "1003", "device,1003", "object-name", "--direct", "--json", "--timeout", "15"], prof, 30)
    js = json.loads(r.stdout) if r.returncode == 0 else {}
    check(js.get("value") == "bacsc-device-1003" and js.get("direct") is False,
          f"read --direct 1003 falls back to the hub ({r.stdout.strip()})")
    check("using the hub" in r.stderr, f"the fallback is reported ({r.stderr.strip()})")
    st3 = dev_status(dev3, f"{d}/dev3.json")["devices"][0]["node"]["direct"]
    check(st3["stats"]["ar_refused"] >= 1 and st3["stats"]["dc_accepted"] == 0,
          f"1003 answered Address-Resolution with a NAK ({st3['stats']})")

    # a device hosting the hub function lists the hub's connections
    hport = free_port()
    dev4 = start(["device", "--instance", "1004", "--hub", f"wss://127.0.0.1:{hport}",
                  "--hub-listen", f"127.0.0.1:{hport}"] + pki.cert("node6"), f"{d}/dev1004.log")
    check(wait_log(dev4, "connected-to-primary"), "dev1004 joined its own hub function")
    prof4 = profile(d, "profile4.json", pki, hport)
    cvmac = "02:00:00:00:4f:01"
    r = tool(["read", "1004", "network-port,1", "sc-hub-function-connection-status", "--json",
              "--timeout", "15", "--vmac", cvmac], prof4, 30)
    v = json.loads(r.stdout)["value"] if r.returncode == 0 else None
    hrows, row = [], None
    for item in aslist(v or []):
        if isinstance(item, dict) and item.get("context") == 0:
            row = {}
            hrows.append(row)
        if row is not None and isinstance(item, dict):
            row[item.get("context")] = item
    me = [x for x in hrows if x.get(4, {}).get("hex") == cvmac.replace(":", "")]
    check(len(hrows) == 2 and len(me) == 1 and me[0][0].get("hex") == "01" and
          me[0][3]["value"][0]["value"]["hex"] == "7f000001" and len(me[0][5].get("hex", "")) == 32,
          f"1004 SC_Hub_Function_Connection_Status: itself and this client, connected ({str(v)[:400]})")
    v, r = read_value(prof, 1003, "network-port,1", "sc-hub-function-connection-status")
    check(r.returncode == 0 and v == [], f"1003 (no hub function) SC_Hub_Function_Connection_Status empty ({v})")
    check(stop(dev4) == 0, "dev1004 exits 0 on SIGTERM")

    # automatic direct connect on dev1002: unicasts from the client make it
    # resolve the client, which does not accept direct connections (NAK)
    r = tool(["read", "1002", "analog-value,1", "present-value", "--json", "--repeat", "4",
              "--interval", "0.1", "--timeout", "15"], prof, 30)
    check(r.returncode == 0 and r.stdout.count("\n") == 4, f"4 reads of 1002 through the hub ({r.stderr.strip()})")
    st2 = wait_until(lambda: (lambda s: s if s["stats"]["ar_naks"] >= 1 else None)(
        dev_status(dev2, f"{d}/dev2.json")["devices"][0]["node"]["direct"]), 5)
    check(st2 and st2["stats"]["auto_triggers"] >= 1 and st2["stats"]["ar_sent"] >= 1 and
          st2["stats"]["dc_initiated"] == 0,
          f"1002 (auto) resolved the busy peer, got a NAK, stayed on the hub ({st2 and st2['stats']})")

    # a long-running directly connected pair
    vmac = "02:00:00:00:dc:01"
    prof5 = profile(d, "profile5.json", pki, port, node="node5")
    env = dict(os.environ, BACSC_PROFILE=prof5)
    out = open(f"{d}/pair.out", "w")
    pair = subprocess.Popen([BACSC, "read", "1001", "analog-value,1", "present-value", "--direct", "--json",
                             "--repeat", "60", "--interval", "0.25", "--timeout", "60", "--vmac", vmac],
                            stdout=out, stderr=open(f"{d}/pair.err", "w"), env=env)
    lines = lambda: [json.loads(x) for x in open(f"{d}/pair.out").read().splitlines() if x.strip()]
    check(wait_until(lambda: len(lines()) >= 4, 20), "the pair is reading")
    check(all(x["direct"] for x in lines()), "every read of the pair goes direct")
    before = hub_status(hub, f"{d}/hub-status.json")
    time.sleep(1.5)
    after = hub_status(hub, f"{d}/hub-status.json")
    bs, as_ = before["hub"]["stats"]["unicast_forwarded"], after["hub"]["stats"]["unicast_forwarded"]
    check(as_ == bs, f"the hub relays no unicast while the pair talks ({bs} -> {as_})")
    v, r = read_value(prof, 1001, "network-port,1", "sc-direct-connect-connection-status")
    check(r.returncode == 0 and isinstance(v, list) and len(v) >= 1,
          f"1001 SC_Direct_Connect_Connection_Status lists connections ({str(v)[:300]})")
    # BACnetSCDirectConnection entries, flat: split at context tag 0 (uri)
    rows, row = [], None
    for item in aslist(v):
        if isinstance(item, dict) and item.get("context") == 0:
            row = {}
            rows.append(row)
        if row is not None and isinstance(item, dict):
            row[item.get("context")] = item
    mine = [x for x in rows if x.get(5, {}).get("hex") == vmac.replace(":", "")]
    check(len(mine) == 1 and mine[0][1].get("hex") == "01" and len(mine[0][6].get("hex", "")) == 32
          and mine[0][4]["value"][0]["value"]["hex"] == "7f000001",
          f"... a connected entry (state 1) for the pair's VMAC {vmac} with UUID and 127.0.0.1 ({mine})")

    # kill the hub: the pair keeps talking
    n_before = len(lines())
    hub.kill()
    hub.wait()
    rc = pair.wait(90 * SLOW)
    out.close()
    res = lines()
    after_kill = len(res) - n_before
    check(rc == 0 and len(res) == 60, f"all 60 reads succeeded (rc {rc}, {len(res)} results: "
          f"{open(f'{d}/pair.err').read().strip()[-300:]})")
    check(after_kill >= 20 and all(x["direct"] for x in res), f"{after_kill} reads over the direct connection after the hub died")
    check(wait_log(dev1, "no-hub-connection"), "1001 noticed the hub is gone")
    for p in (dev1, dev2, dev3):
        check(stop(p) == 0, f"{os.path.basename(p.log)} exits 0 on SIGTERM")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
