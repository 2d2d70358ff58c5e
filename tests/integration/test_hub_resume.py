#!/usr/bin/python3
"""TLS session resumption across hub restarts, with real processes:
`bacsc hub --ticket-key-file K` and three devices (`bacsc device --count 3`,
short reconnect timers).

  - the hub creates K with mode 0600 ("bacsc-ticket-keys 1" + one key) and
    logs its open file limit;
  - first connections are full handshakes (hub status: tls.resumed 0);
  - the hub is restarted (SIGTERM, same K): every device comes back with a
    resumed TLS session (status: tls.resumed 3, tls.handshakes 3), K unchanged;
    each ticket named the issuer certificate that verified its certificate,
    so none was verified in full again (tls.tickets_issuer_known 3);
  - a hub with another ticket key file (given through the JSON config key
    "ticket_key_file") forces full handshakes (resumed 0, handshakes 3);
  - a key file readable by group/others is refused (exit 3, message names
    0600); --ticket-lifetime out of range is a usage error (exit 2); a key
    file that is not one is refused and left untouched.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa

INSTANCES = (4101, 4102, 4103)


def main():
    d = tmpdir("bacsc-resume-")
    pki = Pki(make_pki(d, nodes=2))
    port = free_port()
    keys = os.path.join(d, "ticket.keys")
    st_path = os.path.join(d, "status.json")
    hub_args = ["--ticket-key-file", keys, "--status-file", st_path, "--log-level", "info"]
    hub = start_hub(pki, port, f"{d}/hub1.log", hub_args)
    check(os.path.exists(keys) and (os.stat(keys).st_mode & 0o777) == 0o600,
          f"ticket key file created with mode 0600 ({oct(os.stat(keys).st_mode & 0o777) if os.path.exists(keys) else 'missing'})")
    text = open(keys).read()
    lines = text.splitlines()
    check(lines[0] == "bacsc-ticket-keys 1" and len(lines) == 2 and len(lines[1].split()) == 4,
          "key file: header + one key line (created, name, AES key, HMAC key)")
    check("open file limit" in open(hub.log).read(), "hub logs its open file limit")
    check("TLS session resumption on" in open(hub.log).read(), "hub logs resumption on")

    cfg = os.path.join(d, "device.json")
    with open(cfg, "w") as f:
        json.dump({"instance": INSTANCES[0], "count": 3, "hub": f"wss://127.0.0.1:{port}",
                   "cert": pki.path("node1.pem"), "key": pki.path("node1.key"),
                   "ca": [pki.path("ca.pem")], "connect_wait": 2, "reconnect_min": 0.5,
                   "reconnect_max": 2, "disconnect_wait": 1, "log_level": "info"}, f)
    devs = start(["device", "--config", cfg], f"{d}/devices.log")
    check(wait_until(lambda: devices_connected(devs) >= 3, 10), "3 devices connected")
    s = hub_status(hub, st_path)
    tls = s.get("tls", {})
    check(tls.get("handshakes", 0) >= 3 and tls.get("resumed") == 0,
          f"first connections: full handshakes ({tls})")

    # restart with the same ticket keys: the devices resume
    check(stop(hub) == 0, "hub stops (SIGTERM)")
    hub = start_hub(pki, port, f"{d}/hub2.log", hub_args)
    check(wait_until(lambda: devices_connected(devs) >= 6, 15), "3 devices back after the restart")
    s = hub_status(hub, st_path)
    tls = s.get("tls", {})
    check(tls.get("resumed") == 3 and tls.get("handshakes") == 3,
          f"after the restart every device resumed its TLS session ({tls})")
    check(tls.get("tickets_issuer_known") == 3 and tls.get("tickets_full_verify") == 0,
          f"each ticket named the issuer that verified its certificate: no second signature "
          f"verification ({tls})")
    check(open(keys).read() == text, "key file unchanged by a restart within the rotation period")

    # another key file (from the JSON config): full handshakes
    other = os.path.join(d, "other.keys")
    hcfg = os.path.join(d, "hub.json")
    with open(hcfg, "w") as f:
        json.dump({"ticket_key_file": other, "ticket_lifetime": 3600}, f)
    check(stop(hub) == 0, "hub stops again")
    hub = start_hub(pki, port, f"{d}/hub3.log",
                    ["--config", hcfg, "--status-file", st_path, "--log-level", "info"])
    check(wait_until(lambda: devices_connected(devs) >= 9, 15), "3 devices back at the hub with other keys")
    s = hub_status(hub, st_path)
    tls = s.get("tls", {})
    check(tls.get("resumed") == 0 and tls.get("handshakes", 0) >= 3,
          f"other ticket keys: full handshakes, nothing resumed ({tls})")
    check(os.path.exists(other) and (os.stat(other).st_mode & 0o777) == 0o600,
          "config key ticket_key_file: created 0600")
    check(stop(devs) == 0, "devices exit 0")
    check(stop(hub) == 0, "hub exits 0")

    # refusals
    os.chmod(keys, 0o640)
    r = tool(["hub", "--listen", f"127.0.0.1:{free_port()}"] + pki.cert("hub") +
             ["--ticket-key-file", keys], timeout=10)
    check(r.returncode == 3 and "0600" in r.stderr, f"group-readable key file refused ({r.returncode}: {r.stderr.strip()})")
    bogus = os.path.join(d, "bogus.keys")
    with open(bogus, "w") as f:
        f.write("not a key file\n")
    os.chmod(bogus, 0o600)
    r = tool(["hub", "--listen", f"127.0.0.1:{free_port()}"] + pki.cert("hub") +
             ["--ticket-key-file", bogus], timeout=10)
    check(r.returncode == 3 and "not a ticket key file" in r.stderr and
          open(bogus).read() == "not a key file\n", f"a non-key file is refused and untouched ({r.stderr.strip()})")
    r = tool(["hub", "--listen", "127.0.0.1:1"] + pki.cert("hub") + ["--ticket-lifetime", "0"], timeout=10)
    check(r.returncode == 2, f"--ticket-lifetime 0 is a usage error ({r.returncode})")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
