#!/usr/bin/python3
"""Independent check with Wireshark's dissectors: tshark captures the hub's
loopback traffic (hub + device + whois/read/write/readm + clean shutdown),
decrypts it with the hub's SSLKEYLOGFILE and dissects every BVLC-SC message.

  - the key log is written (mode 0600) and holds TLS 1.3 secrets;
  - every binary WebSocket frame is dissected as BVLC-SC (bscvlc): the
    number of bscvlc messages equals the number of binary frames;
  - Connect-Request/Accept, Encapsulated-NPDU (with the BACnet APDUs of
    Who-Is, I-Am, ReadProperty, WriteProperty, RPM dissected by bacapp),
    Disconnect-Request/ACK are all seen;
  - no packet carries a malformed or error-severity expert mark.
Skipped (exit 0 with a note) only if the capture cannot start.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa


def main():
    if not shutil.which("tshark"):
        print("SKIP: tshark missing")
        return 0
    d = tmpdir("bacsc-sctshark-")
    pki = Pki(make_pki(d, nodes=4))
    port = free_port()
    keys, cap = f"{d}/keys.log", f"{d}/hub.pcapng"
    ts = subprocess.Popen(["tshark", "-i", "lo", "-f", f"tcp port {port}", "-w", cap],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    import sc_support
    sc_support._procs.append(ts)
    started = False
    deadline = time.time() + 15
    while time.time() < deadline:
        line = ts.stderr.readline()
        if not line:
            break
        if "Capturing on" in line:
            started = True
            break
    if not started:
        print("SKIP: cannot capture on lo here")
        return 0
    hub = start_hub(pki, port, f"{d}/hub.log", env={"SSLKEYLOGFILE": keys})
    dev = start(["device", "--instance", "1001", "--hub", f"wss://127.0.0.1:{port}"] + pki.cert("node1"),
                f"{d}/dev.log")
    check(wait_log(dev, "connected-to-primary"), "device connected")
    prof = profile(d, "p.json", pki, port)
    check(tool(["whois", "--timeout", "1"], prof).returncode == 0, "whois")
    check(tool(["write", "1001", "analog-value,1", "present-value", "7.5", "--priority", "9"], prof).returncode == 0,
          "write")
    check(tool(["read", "1001", "analog-value,1", "present-value"], prof).stdout.strip() == "7.5", "read")
    check(tool(["readm", "1001", "device,1001", "object-name,device-uuid"], prof).returncode == 0, "readm")
    check(stop(dev) == 0 and stop(hub) == 0, "device and hub stop cleanly")
    time.sleep(1.0)
    ts.send_signal(signal.SIGINT)
    ts.wait(15)
    st = os.stat(keys)
    check(st.st_mode & 0o777 == 0o600, "key log file is mode 0600")
    check("CLIENT_TRAFFIC_SECRET_0" in open(keys).read(), "key log has TLS 1.3 traffic secrets")

    def fields(filt, *names):
        args = ["tshark", "-r", cap, "-o", f"tls.keylog_file:{keys}", "-d", f"tcp.port=={port},tls",
                "-Y", filt, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]
        for n in names:
            args += ["-e", n]
        r = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            check(False, f"tshark -Y '{filt}' failed: {r.stderr.strip()[:200]}")
        return [l.split("\t") for l in r.stdout.splitlines() if l.strip()]

    def values(rows, i=0):
        out = []
        for r in rows:
            if len(r) > i and r[i]:
                out += r[i].split(",")
        return out

    binary = [v for v in values(fields("websocket", "websocket.opcode")) if v == "2"]
    funcs = values(fields("bscvlc", "bscvlc.function"))
    norm = [int(f, 16) if f.startswith("0x") else int(f) for f in funcs]
    print(f"   {len(binary)} binary WebSocket frames, {len(norm)} BVLC-SC messages dissected")
    check(len(binary) > 20 and len(norm) == len(binary), "every binary frame dissected as BVLC-SC")
    for fn, name in ((6, "Connect-Request"), (7, "Connect-Accept"), (1, "Encapsulated-NPDU"),
                     (8, "Disconnect-Request"), (9, "Disconnect-ACK")):
        check(fn in norm, f"{name} seen ({norm.count(fn)})")
    svc = fields("bacapp", "bacapp.type", "bacapp.confirmed_service", "bacapp.unconfirmed_service")
    conf = values(svc, 1)
    unconf = values(svc, 2)
    check("8" in unconf and "0" in unconf, "bacapp dissected Who-Is and I-Am")
    check("12" in conf and "15" in conf and "14" in conf, f"bacapp dissected ReadProperty, WriteProperty, RPM ({sorted(set(conf))})")
    bad = fields("_ws.malformed || _ws.expert.severity == error", "frame.number")
    check(not bad, f"no malformed or error-marked packets ({bad[:5]})")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
