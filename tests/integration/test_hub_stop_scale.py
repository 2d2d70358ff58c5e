#!/usr/bin/python3
"""The hub's graceful stop with 2,000 connected nodes (real `bacsc hub`, the
nodes simulated by `bacsc bench hub --mode connect`, real TLS 1.3):

  - nodes that answer: SIGTERM → the listener is closed at once (a new TCP
    connection is refused while the hub still runs), every node gets its
    Disconnect-Request and acknowledges it (the hub's stop line: "2000
    acknowledged"), and the hub exits 0 as soon as the last one left — well
    before the disconnect wait (5 s);
  - nodes that do not answer (the generator stopped with SIGSTOP), disconnect
    wait 2 s: the hub exits 0 within the disconnect wait plus the time to
    close 2,000 connections (bound 2.9 s; it used to wait 1 s longer), its
    stop line saying none acknowledged.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa

N = 2000


def hub_with_nodes(d, pki, name, dw):
    port = free_port()
    cfg = os.path.join(d, f"{name}.json")
    with open(cfg, "w") as f:
        f.write('{"max_handshakes_per_address": 0, "accept_rate_per_address": 0, '
                f'"uuid_binding": "off", "disconnect_wait": {dw}}}')
    hub = start_hub(pki, port, f"{d}/{name}-hub.log", ["--config", cfg, "--log-level", "info"])
    err = open(f"{d}/{name}-gen.err", "w")
    gen = subprocess.Popen([BACSC, "bench", "hub", "--hub", f"wss://127.0.0.1:{port}"] +
                           pki.cert("node1") +
                           ["--mode", "connect", "--connections", str(N), "--duration", "1",
                            "--restart-wait", "--restart-timeout", "60", "--connect-timeout", "240"],
                           stdout=subprocess.DEVNULL, stderr=err)
    ok = wait_until(lambda: "waiting for the hub to restart" in open(f"{d}/{name}-gen.err").read(),
                    300, 0.5)
    check(ok, f"{name}: {N} nodes connected ({open(f'{d}/{name}-gen.err').read().strip()[-200:]})")
    return hub, gen, port


def refused(port):
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect(("127.0.0.1", port))
        return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    finally:
        s.close()


def stop_line(hub):
    m = re.search(r"hub: stopped in ([\d.]+) s \(CPU [\d.]+ s\): Disconnect-Request to (\d+) node\(s\): (\d+) "
                  r"acknowledged, (\d+) without Disconnect-ACK within the disconnect wait, (\d+) "
                  r"lost, (\d+) closed at the deadline", open(hub.log).read())
    return [float(m.group(1))] + [int(x) for x in m.groups()[1:]] if m else None


def main():
    d = tmpdir("bacsc-hubstop-")
    pki = Pki(make_pki(d, nodes=2))

    # nodes that answer
    hub, gen, port = hub_with_nodes(d, pki, "answer", 5)
    t0 = time.monotonic()
    hub.send_signal(signal.SIGTERM)
    closed_first = wait_until(lambda: refused(port) or hub.poll() is not None, 2, 0.01)
    rc = hub.wait(30)
    took = time.monotonic() - t0
    check(rc == 0, f"hub exits 0 ({rc})")
    check(closed_first, "listener closed at once (a new connection refused)")
    st = stop_line(hub)
    check(st and st[1] == N and st[2] == N,
          f"every node got its Disconnect-Request and acknowledged it ({st})")
    check(took < 5.0, f"stopped as soon as the last node left: {took:.2f} s (< the 5 s disconnect wait)")
    gen.kill()
    gen.wait()

    # nodes that do not answer
    hub, gen, port = hub_with_nodes(d, pki, "silent", 2)
    gen.send_signal(signal.SIGSTOP)
    t0 = time.monotonic()
    hub.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    check(refused(port) and hub.poll() is None, "listener closed while the hub waits for the ACKs")
    rc = hub.wait(30)
    took = time.monotonic() - t0
    gen.send_signal(signal.SIGCONT)
    gen.kill()
    gen.wait()
    check(rc == 0, f"hub exits 0 ({rc})")
    st = stop_line(hub)
    check(st and st[1] == N and st[2] == 0 and st[3] + st[4] + st[5] == N,
          f"stop line: none acknowledged, all {N} closed by the hub ({st})")
    check(2.0 <= took <= 2.9, f"stopped within the 2 s disconnect wait + closing: {took:.2f} s "
                              "(bound 2.9 s)")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
