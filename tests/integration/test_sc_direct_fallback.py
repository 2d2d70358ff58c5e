#!/usr/bin/python3
"""`--direct` falls back to the hub as soon as the answer is final.

dev1103 accepts no direct connections (it NAKs Address-Resolution);
dev1104 advertises a direct-connect URI on which nothing listens (the
connection is refused). `bacsc read --direct` (connect wait 10 s) to each
must print the documented warning, fall back to the hub and finish in well
under the connect wait — the fall-back itself within 100 ms of the NAK or the
refused connection (log timestamps at debug level: the Address-Resolution
NAK / the failed WebSocket, then the warning).
"""
import datetime
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa: F401,F403


def ts(line):
    m = re.match(r"(\S+)Z ", line)
    return datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").timestamp() if m else None


def main():
    d = tmpdir("bacsc-dcfb-")
    pki = Pki(make_pki(d, nodes=4))
    port = free_port()
    hub = start_hub(pki, port, f"{d}/hub.log")
    uri = f"wss://127.0.0.1:{port}"
    closed = free_port()
    dl = free_port()
    devs = [start(["device", "--instance", "1103", "--hub", uri] + pki.cert("node1"), f"{d}/d3.log"),
            start(["device", "--instance", "1104", "--hub", uri, "--dc-listen", f"127.0.0.1:{dl}",
                   "--dc-uri", f"wss://127.0.0.1:{closed}"] + pki.cert("node2"), f"{d}/d4.log")]
    for p in devs:
        check(wait_log(p, "connected-to-primary", 20), f"{os.path.basename(p.log)} connected")
    prof = profile(d, "p.json", pki, port, node="node3", extra={"connect_wait": 10})
    for inst, what in ((1103, "NAK to Address-Resolution"), (1104, "refused connection")):
        t0 = time.time()
        r = tool(["read", str(inst), "analog-value,1", "present-value", "--direct", "--json",
                  "--log-level", "debug", "--timeout", "10"], prof, 30)
        dt = time.time() - t0
        check(r.returncode == 0, f"{what}: the read succeeds through the hub ({r.stderr.strip()[-200:]})")
        check(f"no direct connection to device {inst}; using the hub" in r.stderr,
              f"{what}: the documented warning is printed")
        check(dt < 3, f"{what}: done in {dt:.2f} s (connect wait 10 s)")
        lines = r.stderr.splitlines()
        warn = [ts(x) for x in lines if "using the hub" in x]
        cause = [ts(x) for x in lines if ("NAK" in x and "Address-Resolution" in x)
                 or "direct connection WebSocket closed" in x or "connect failed" in x]
        if warn and cause:
            gap = warn[0] - cause[-1] if cause[-1] <= warn[0] else warn[0] - cause[0]
            check(0 <= gap < 0.1, f"{what}: fell back {gap * 1000:.0f} ms after the final answer")
        else:
            print(f"   (no timestamped cause line for {what}; total {dt:.2f} s)")
    for p in devs:
        stop(p)
    check(stop(hub) == 0, "hub exits 0")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
