#!/usr/bin/python3
"""A BACnet/SC network of real processes over real TLS 1.3 on 127.0.0.1:
`bacsc hub` + 3 x `bacsc device` + the client tools.

  - whois finds exactly the 3 devices (text and --json), --low/--high filters;
  - write analog-value present-value at priority 8, read it back, read
    priority-array[8], relinquish (null at 8) → relinquish default again;
  - readm of two objects with a bad property (per-property error);
  - Units read by name (no-units) in text, readm and --json (value 95 +
    value_name);
  - Network Port: SC_Hub_Connector_State 1, SC_Primary_Hub_URI = the hub,
    SC_Primary_Hub_Connection_Status connected (state 1), Device_UUID read
    back equals the UUID the device logged;
  - errors: unknown object → exit 1 "object/unknown-object"; absent device →
    exit 4; wrong hub port → exit 4 with error 194;
  - `bacsc status` (SIGUSR1 → status file) lists 3 peers with VMAC, UUID,
    address, since; SIGHUP reloads the TLS files (logged) and nobody is
    disconnected;
  - SIGTERM: the hub sends Disconnect-Request (devices log the loss with
    peer-disconnect, not an error), everything exits 0.
"""
import json
import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa


def main():
    d = tmpdir("bacsc-scnet-")
    pki = Pki(make_pki(d, nodes=4))
    port = free_port()
    hub = start_hub(pki, port, f"{d}/hub.log", ["--status-file", f"{d}/hub-status.json"])
    devs = []
    for i, inst in enumerate((1001, 1002, 1003), start=1):
        devs.append(start(["device", "--instance", str(inst), "--hub", f"wss://127.0.0.1:{port}",
                           "--av", "2", "--name", f"dev{inst}"] + pki.cert(f"node{i}"), f"{d}/dev{inst}.log"))
    for p in devs:
        check(wait_log(p, "connected-to-primary"), f"{os.path.basename(p.log)}: connected to the primary hub")
    prof = profile(d, "profile.json", pki, port)

    # whois
    r = tool(["whois", "--timeout", "2"], prof)
    found = sorted(int(m) for m in re.findall(r"device (\d+)", r.stdout))
    check(r.returncode == 0 and found == [1001, 1002, 1003], f"whois finds 1001, 1002, 1003 ({found})")
    r = tool(["whois", "--timeout", "2", "--json"], prof)
    js = json.loads(r.stdout) if r.returncode == 0 else []
    check(sorted(x["instance"] for x in js) == [1001, 1002, 1003] and
          all(re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", x["vmac"]) for x in js),
          "whois --json: instances and VMACs")
    r = tool(["whois", "--timeout", "1.5", "--low", "1002", "--high", "1002"], prof)
    check(r.returncode == 0 and re.findall(r"device (\d+)", r.stdout) == ["1002"], "whois --low/--high 1002")

    # write / read / relinquish
    r = tool(["write", "1002", "analog-value,2", "present-value", "42.25", "--priority", "8"], prof)
    check(r.returncode == 0 and r.stdout.strip() == "ok", f"write AV2 = 42.25 @8 ({r.stdout.strip()} {r.stderr.strip()})")
    v, r = read_value(prof, 1002, "analog-value,2", "present-value")
    check(v == 42.25, f"read back present-value 42.25 ({v})")
    r = tool(["read", "1002", "analog-value,2", "priority-array", "--index", "8"], prof)
    check(r.returncode == 0 and r.stdout.strip() == "42.25", f"priority-array[8] = 42.25 ({r.stdout.strip()})")
    r = tool(["write", "1002", "analog-value,2", "present-value", "null", "--priority", "8"], prof)
    check(r.returncode == 0, "relinquish priority 8")
    v, r = read_value(prof, 1002, "analog-value,2", "present-value")
    check(v == 0.0, f"present-value back to relinquish default 0 ({v})")
    v, r = read_value(prof, 1003, "analog-value,1", "present-value")
    check(v == 0.0, "other devices unaffected")

    # readm
    r = tool(["readm", "1001", "analog-value,1", "present-value,units,no-such-property",
              "device,1001", "object-name,device-uuid", "--json"], prof)
    check(r.returncode != 0 and "not a property" in r.stderr, "readm: unknown property name refused locally")
    r = tool(["readm", "1001", "analog-value,1", "present-value,units,9999",
              "device,1001", "object-name,device-uuid", "--json"], prof)
    rows = json.loads(r.stdout) if r.returncode == 0 else []
    by = {(x["object"], str(x["property"])): x for x in rows}
    check(len(rows) == 5, f"readm: 5 results ({len(rows)})")
    check(by.get(("analog-value,1", "units"), {}).get("value") == 95 and
          by.get(("analog-value,1", "units"), {}).get("value_name") == "no-units",
          "readm --json: units value 95, value_name no-units")
    check(by.get(("analog-value,1", "9999"), {}).get("error") == "property/unknown-property",
          "readm: per-property error for 9999")
    check(by.get(("device,1001", "object-name"), {}).get("value") == "dev1001", "readm: object-name dev1001")
    uuid_logged = re.search(r"device 1001: uuid ([0-9a-f-]{36})", open(devs[0].log).read())
    check(uuid_logged and by.get(("device,1001", "device-uuid"), {}).get("value") ==
          uuid_logged.group(1).replace("-", ""), "readm: Device_UUID matches the device's UUID")
    r = tool(["readm", "1001", "analog-value,1", "present-value,object-name"], prof)
    check(r.returncode == 0 and "analog-value,1 present-value = 0" in r.stdout and
          'analog-value,1 object-name = "AV-1"' in r.stdout, "readm text output")

    # Units (BACnetEngineeringUnits) printed by name; --json keeps the number
    r = tool(["read", "1001", "analog-value,1", "units"], prof)
    check(r.returncode == 0 and r.stdout.strip() == "no-units", f"read units = no-units ({r.stdout.strip()!r})")
    r = tool(["read", "1001", "analog-value,1", "units", "--json"], prof)
    js = json.loads(r.stdout) if r.returncode == 0 else {}
    check(js.get("value") == 95 and js.get("value_name") == "no-units",
          f"read units --json: value 95, value_name no-units ({r.stdout.strip()!r})")
    r = tool(["readm", "1001", "analog-value,1", "units"], prof)
    check(r.returncode == 0 and "analog-value,1 units = no-units" in r.stdout,
          f"readm units text: no-units ({r.stdout.strip()!r})")

    # Network Port reflects the connection
    v, _ = read_value(prof, 1001, "network-port,1", "sc-hub-connector-state")
    check(v == 1, f"SC_Hub_Connector_State = 1 connected-to-primary ({v})")
    v, _ = read_value(prof, 1001, "network-port,1", "sc-primary-hub-uri")
    check(v == f"wss://127.0.0.1:{port}", f"SC_Primary_Hub_URI = the hub ({v})")
    v, _ = read_value(prof, 1001, "network-port,1", "sc-primary-hub-connection-status")
    check(isinstance(v, list) and v[0].get("hex") == "01", f"SC_Primary_Hub_Connection_Status connected ({v})")
    v, _ = read_value(prof, 1001, "network-port,1", "network-type")
    check(v == 11, "Network_Type SECURE_CONNECT (11)")
    v, _ = read_value(prof, 1001, "network-port,1", "sc-failover-hub-connection-status")
    check(isinstance(v, list) and v[0].get("hex") == "00", f"no failover: not-connected ({v})")

    # errors
    r = tool(["read", "1001", "analog-value,77", "present-value"], prof)
    check(r.returncode == 1 and "object/unknown-object" in r.stderr, f"unknown object → exit 1 ({r.stderr.strip()})")
    r = tool(["read", "4242", "analog-value,1", "present-value", "--timeout", "2"], prof)
    check(r.returncode == 4 and "I-Am" in r.stderr, f"absent device → exit 4 ({r.stderr.strip()})")
    bad = profile(d, "bad.json", pki, free_port())
    r = tool(["whois", "--timeout", "2"], bad)
    check(r.returncode == 4 and "194" in r.stderr, f"no hub → exit 4, error 194 ({r.stderr.strip()})")
    r = tool(["read", "1001", "analog-value,1", "present-value", "--hub", "ws://127.0.0.1:1"], prof)
    check(r.returncode == 2 and "insecure-plaintext" in r.stderr, "ws:// refused without --insecure-plaintext")

    # status and signals
    r = tool(["status", "--status-file", f"{d}/hub-status.json", "--pid", str(hub.pid), "--json"])
    st = json.loads(r.stdout) if r.returncode == 0 else {}
    peers = [p for p in st.get("hub", {}).get("peers", []) if p.get("connected")]
    check(st.get("hub", {}).get("connected", 0) >= 3 and
          all(set(p) >= {"vmac", "uuid", "address", "since"} for p in peers),
          f"status: peers with vmac/uuid/address/since ({len(peers)})")
    uuids = {p["uuid"] for p in peers}
    check(uuid_logged and uuid_logged.group(1) in uuids, "status lists device 1001's UUID")
    r = tool(["status", "--status-file", f"{d}/hub-status.json"])
    check(r.returncode == 0 and "node(s) connected" in r.stdout and "127.0.0.1:" in r.stdout, "status text table")
    hub.send_signal(signal.SIGHUP)
    check(wait_log(hub, "SIGHUP: reloaded certificate, key, issuers; 0 node(s) disconnected"),
          "SIGHUP reloads and logs it; nobody disconnected")
    check(hub.poll() is None, "hub still running after SIGHUP")

    rc = stop(hub)
    check(rc == 0, f"hub exits 0 on SIGTERM ({rc})")
    log = open(hub.log).read()
    check("Disconnect-Request to 3 node(s)" in log, "hub sent Disconnect-Request to the 3 devices")
    after = log.split("SIGTERM")[1]
    check(after.count("node left") == 3 and after.count(": local (0") == 3,
          "the 3 devices answered Disconnect-ACK (clean close, no error)")
    for p in devs:
        check(wait_log(p, "no-hub-connection"), f"{os.path.basename(p.log)} saw the hub go")
    for p in devs:
        rc = stop(p)
        check(rc == 0, f"{os.path.basename(p.log)} exits 0 on SIGTERM ({rc})")

    # a device hosting the hub function, used by itself and by another device
    hport = free_port()
    ctl = start(["device", "--instance", "1", "--hub-listen", f"127.0.0.1:{hport}", "--hub",
                 f"wss://127.0.0.1:{hport}"] + pki.cert("node1"), f"{d}/ctl.log")
    other = start(["device", "--instance", "2", "--hub", f"wss://127.0.0.1:{hport}"] + pki.cert("node2"),
                  f"{d}/other.log")
    check(wait_log(ctl, "connected-to-primary") and wait_log(other, "connected-to-primary"),
          "--hub-listen: the controller and another device joined the controller's hub function")
    cprof = profile(d, "ctl.json", pki, hport)
    r = tool(["whois", "--timeout", "1.5"], cprof)
    check(sorted(re.findall(r"device (\d+)", r.stdout)) == ["1", "2"], "whois through the hosted hub finds 1 and 2")
    v, _ = read_value(cprof, 1, "network-port,1", "sc-hub-function-enable")
    check(v is True, f"SC_Hub_Function_Enable true ({v})")
    v, _ = read_value(cprof, 1, "network-port,1", "sc-hub-function-binding")
    check(v == f"127.0.0.1:{hport}", f"SC_Hub_Function_Binding ({v})")
    check(stop(other) == 0 and stop(ctl) == 0, "both exit 0")

    # plaintext only on request, and only with ws://
    r = tool(["device", "--instance", "9", "--hub", f"wss://127.0.0.1:{hport}", "--insecure-plaintext"])
    check(r.returncode == 2 and "only for ws://" in r.stderr, "--insecure-plaintext with wss:// refused")
    pport = free_port()
    ph = start(["hub", "--listen", f"127.0.0.1:{pport}", "--insecure-plaintext"], f"{d}/plainhub.log")
    check(wait_log(ph, "PLAINTEXT"), "plaintext hub warns that it is PLAINTEXT")
    pd = start(["device", "--instance", "77", "--hub", f"ws://127.0.0.1:{pport}", "--insecure-plaintext"],
               f"{d}/plaindev.log")
    check(wait_log(pd, "connected-to-primary"), "device joins over ws:// with --insecure-plaintext")
    r = tool(["read", "77", "device,77", "object-name", "--hub", f"ws://127.0.0.1:{pport}", "--insecure-plaintext"])
    check(r.returncode == 0 and r.stdout.strip() == '"bacsc-device-77"', f"read over ws:// ({r.stdout.strip()})")
    check(stop(pd) == 0 and stop(ph) == 0, "plaintext device and hub exit 0")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
