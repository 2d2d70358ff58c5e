#!/usr/bin/python3
"""A plain `bacsc device` (certificate files, no state directory) applies a
Network Port hub change, or keeps it pending — never reports one it does not
use (real hubs, real device, changes written over BACnet/SC):

  - SC_Primary_Hub_URI written to hub B, ReinitializeDevice activate-changes:
    ACK, the device moves to hub B (reachable there, gone from hub A, the old
    hub logs its Disconnect-Request), Changes_Pending FALSE and the URI read
    back is the one in use;
  - a hub URI where nothing listens, activate-changes: ACK, the device stays on
    hub B after the trial time (still connected to its primary), the URI read
    back is the requested one with Changes_Pending TRUE, and the log says so;
  - ReinitializeDevice warmstart: ACK, then the objects are re-initialised
    from the configuration (a written Present_Value is back to 0, the pending
    change is gone, Last_Restart_Reason warmstart), the port keeps the hub in use;
  - a property the device cannot change at run time (SC_Hub_Function_Enable)
    is refused with write-access-denied instead of being stored.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa

REINIT = os.path.join(os.environ.get("BACSC_BUILD", ""), "tests", "sc_reinit")


def reinit(prof, dev, state="activate-changes"):
    e = dict(os.environ, BACSC_PROFILE=prof)
    r = subprocess.run([REINIT, str(dev), state, "--timeout", "10"], capture_output=True,
                       text=True, timeout=30 * SLOW, env=e)
    return r


def main():
    d = tmpdir("bacsc-hubchg-")
    pki = Pki(make_pki(d, nodes=4))
    pa, pb, dead = free_port(), free_port(), free_port()
    hub_a = start_hub(pki, pa, f"{d}/a.log")
    hub_b = start_hub(pki, pb, f"{d}/b.log")
    cfg = os.path.join(d, "device.json")
    with open(cfg, "w") as f:
        json.dump({"instance": 3002, "hub": f"wss://127.0.0.1:{pa}", "cert": pki.path("node1.pem"),
                   "key": pki.path("node1.key"), "ca": pki.path("ca.pem"), "connect_wait": 1,
                   "reconnect_min": 1, "reconnect_max": 2}, f)
    dev = start(["device", "--config", cfg], f"{d}/device.log")
    check(wait_log(dev, "connected-to-primary"), "device connected to hub A")
    prof_a = profile(d, "a.json", pki, pa)
    prof_b = profile(d, "b.json", pki, pb)

    # 1. move to hub B
    uri_b = f"wss://127.0.0.1:{pb}"
    r = tool(["write", "3002", "network-port,1", "sc-primary-hub-uri", uri_b], prof_a)
    check(r.returncode == 0, f"write the new primary hub URI ({r.stderr.strip()})")
    v, _ = read_value(prof_a, 3002, "network-port,1", "changes-pending")
    check(v is True, f"Changes_Pending TRUE before activation ({v})")
    r = reinit(prof_a, 3002)
    check(r.returncode == 0 and "ok" in r.stdout, f"activate-changes ACKed ({r.stdout}{r.stderr})")
    v = wait_until(lambda: read_value(prof_b, 3002, "device,3002", "object-name", 3)[0], 15)
    check(v == "bacsc-device-3002", f"device answers through hub B ({v})")
    v, _ = read_value(prof_b, 3002, "network-port,1", "sc-primary-hub-uri")
    check(v == uri_b, f"SC_Primary_Hub_URI reads the hub in use ({v})")
    v, _ = read_value(prof_b, 3002, "network-port,1", "changes-pending")
    check(v is False, f"Changes_Pending FALSE after the switch ({v})")
    check(wait_until(lambda: "node left" in open(hub_a.log).read(), 5), "hub A saw the device leave")
    v, r = read_value(prof_a, 3002, "device,3002", "object-name", 2)
    check(v is None, "device no longer reachable through hub A")

    # 2. a hub that does not answer: stays on B, change stays pending
    uri_dead = f"wss://127.0.0.1:{dead}"
    r = tool(["write", "3002", "network-port,1", "sc-primary-hub-uri", uri_dead], prof_b)
    check(r.returncode == 0, f"write an unreachable hub URI ({r.stderr.strip()})")
    r = reinit(prof_b, 3002)
    check(r.returncode == 0, f"activate-changes ACKed ({r.stdout}{r.stderr})")
    check(wait_log(dev, "did not connect within", 15), "device logs that the new hub did not connect")
    v, _ = read_value(prof_b, 3002, "device,3002", "object-name")
    check(v == "bacsc-device-3002", f"device still answers through hub B ({v})")
    v, _ = read_value(prof_b, 3002, "network-port,1", "sc-hub-connector-state")
    check(v in (1, "connected-to-primary"), f"still connected to its primary hub B ({v})")
    v, _ = read_value(prof_b, 3002, "network-port,1", "changes-pending")
    check(v is True, f"Changes_Pending TRUE: the change was not applied ({v})")

    # 3. warm start: the objects are re-initialised from the configuration (a
    # written value and the pending change are gone), the device stays on its hub
    r = tool(["write", "3002", "analog-value,1", "present-value", "42"], prof_b)
    check(r.returncode == 0, f"write AV-1 ({r.stderr.strip()})")
    r = reinit(prof_b, 3002, "warmstart")
    check(r.returncode == 0 and "ok" in r.stdout, f"warmstart ACKed ({r.stdout}{r.stderr})")
    check(wait_log(dev, "warmstart: objects re-initialised", 10), "device logs the re-initialisation")
    v, _ = read_value(prof_b, 3002, "analog-value,1", "present-value")
    check(v == 0, f"AV-1 back to its configured value ({v})")
    v, _ = read_value(prof_b, 3002, "device,3002", "last-restart-reason")
    check(v in (2, "warmstart"), f"Last_Restart_Reason warmstart ({v})")
    v, _ = read_value(prof_b, 3002, "network-port,1", "changes-pending")
    check(v is False, f"the pending change was dropped with the restart ({v})")
    v, _ = read_value(prof_b, 3002, "network-port,1", "sc-primary-hub-uri")
    check(v == uri_b, f"the port still reports the hub in use ({v})")

    # 4. not changeable at run time: refused
    r = tool(["write", "3002", "network-port,1", "sc-hub-function-enable", "true"], prof_b)
    check(r.returncode == 1 and "write-access-denied" in (r.stdout + r.stderr),
          f"SC_Hub_Function_Enable refused ({r.stdout.strip()} {r.stderr.strip()})")

    check(stop(dev) == 0, "device exits 0 on SIGTERM")
    stop(hub_a)
    stop(hub_b)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
