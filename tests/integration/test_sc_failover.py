#!/usr/bin/python3
"""Hub connector faults with real processes: primary and failover `bacsc hub`,
three devices (one `bacsc device --count 3` process) configured through a
JSON config file with short timers (connect wait 2 s, reconnect 1..4 s).

  - all three connect to the primary (SC_Hub_Connector_State 1, read over BACnet);
  - the primary is killed (SIGKILL): every device is connected to the failover
    within connect wait + one maximum reconnect wait (2 + 4 s; measured from
    the device logs), and `bacsc read` through the failover hub reads
    SC_Hub_Connector_State = 2 and SC_Failover_Hub_Connection_Status connected;
    the primary status reports the loss with an error code;
  - the primary is restarted: every device moves back (state 1, read through
    the primary) and its failover connection is closed cleanly;
  - a config file with an unknown key is refused (exit 3).
"""
import datetime
import json
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa

CONNECT_WAIT, RMIN, RMAX = 2, 1, 4
INSTANCES = (3001, 3002, 3003)


def log_times(path, pattern):
    """{instance: [epoch seconds of lines matching pattern (with (\\d+) = instance)]}"""
    out = {}
    for line in open(path):
        m = re.match(r"(\S+)Z \S+\s+" + pattern, line)
        if m:
            t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(
                tzinfo=datetime.timezone.utc).timestamp()
            out.setdefault(int(m.group(2)), []).append(t)
    return out


def states(prof, timeout=8):
    vals = []
    for inst in INSTANCES:
        v, r = read_value(prof, inst, "network-port,1", "sc-hub-connector-state", timeout)
        vals.append(v)
    return vals


def main():
    d = tmpdir("bacsc-scfo-")
    pki = Pki(make_pki(d, nodes=4))
    pport, fport = free_port(), free_port()
    primary = start_hub(pki, pport, f"{d}/primary.log")
    failover = start_hub(pki, fport, f"{d}/failover.log")
    cfg = os.path.join(d, "device.json")
    with open(cfg, "w") as f:
        json.dump({"instance": INSTANCES[0], "count": 3, "hub": f"wss://127.0.0.1:{pport}",
                   "failover": f"wss://127.0.0.1:{fport}", "cert": pki.path("node1.pem"),
                   "key": pki.path("node1.key"), "ca": [pki.path("ca.pem")], "connect_wait": CONNECT_WAIT,
                   "reconnect_min": RMIN, "reconnect_max": RMAX, "disconnect_wait": 1, "log_level": "info"}, f)
    bad = os.path.join(d, "bad.json")
    with open(bad, "w") as f:
        json.dump({"instance": 1, "hub": "wss://127.0.0.1:1", "conect_wait": 2}, f)
    r = tool(["device", "--config", bad])
    check(r.returncode == 3 and 'unknown key "conect_wait"' in r.stderr, f"unknown config key refused ({r.stderr.strip()})")

    devs = start(["device", "--config", cfg], f"{d}/devices.log")
    check(wait_until(lambda: log_count(devs, "connected-to-primary") >= 3, 10), "3 devices connected to the primary")
    pprof = profile(d, "primary.json", pki, pport)
    fprof = profile(d, "failover.json", pki, fport)
    st = states(pprof)
    check(st == [1, 1, 1], f"SC_Hub_Connector_State = 1 on all three ({st})")

    t_kill = time.time()
    primary.kill()
    primary.wait()
    bound = CONNECT_WAIT + RMAX
    ok = wait_until(lambda: log_count(devs, "connected-to-failover") >= 3, bound + 3)
    check(ok, "all three devices reached the failover hub")
    times = log_times(devs.log, r"device (\d+): hub connector state 2 connected-to-failover")
    delays = sorted(min(ts) - t_kill for ts in times.values())
    print("   failover delays (s):", ", ".join(f"{x:.2f}" for x in delays))
    check(len(delays) == 3 and max(delays) <= bound * SLOW + 0.3,
          f"on the failover within connect wait + one reconnect wait ({bound} s): max {max(delays or [99]):.2f} s")
    st = states(fprof)
    check(st == [2, 2, 2], f"read through the failover: SC_Hub_Connector_State = 2 ({st})")
    v, _ = read_value(fprof, INSTANCES[0], "network-port,1", "sc-failover-hub-connection-status")
    check(isinstance(v, list) and v[0].get("hex") == "01", f"SC_Failover_Hub_Connection_Status connected ({v})")
    v, _ = read_value(fprof, INSTANCES[0], "network-port,1", "sc-primary-hub-connection-status")
    check(isinstance(v, list) and v[0].get("hex") in ("02", "03") and any(
        isinstance(x, dict) and x.get("context") == 3 for x in v),
        f"SC_Primary_Hub_Connection_Status shows the failure with an error ({v})")

    primary = start_hub(pki, pport, f"{d}/primary2.log")
    t_back = time.time()
    ok = wait_until(lambda: log_count(devs, "connected-to-primary") >= 6, RMAX + CONNECT_WAIT + 3)
    check(ok, "all three devices moved back to the restarted primary")
    times = log_times(devs.log, r"device (\d+): hub connector state 1 connected-to-primary")
    back = sorted(max(ts) - t_back for ts in times.values())
    print("   return delays (s):", ", ".join(f"{x:.2f}" for x in back))
    check(len(back) == 3 and max(back) <= (RMAX + CONNECT_WAIT) * SLOW + 0.5,
          f"back on the primary within one probe wait ({max(back or [99]):.2f} s)")
    st = states(pprof)
    check(st == [1, 1, 1], f"read through the primary: SC_Hub_Connector_State = 1 again ({st})")
    check(wait_until(lambda: open(failover.log).read().count("node left") >= 3, 5),
          "the failover hub saw the three devices leave")
    flog = open(failover.log).read()
    check(flog.count(": peer-disconnect (0") >= 3, "... with a clean Disconnect-Request (no error)")

    check(stop(devs) == 0, "devices exit 0 on SIGTERM")
    check(stop(primary) == 0 and stop(failover) == 0, "hubs exit 0 on SIGTERM")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
