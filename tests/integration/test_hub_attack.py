#!/usr/bin/python3
"""A hub under a connection flood still lets new nodes join (label `scale`).

An attacker process on 127.0.0.2..127.0.0.9 keeps 2,000 unauthenticated TCP
connections to a `bacsc hub` (default configuration) open: three in four stay
silent, one in four sends the first five octets of a TLS record and stalls.
Whatever the hub closes is re-opened at once. Meanwhile, from 127.0.0.1:

  - a device connected before the attack stays connected (same `since`);
  - 20 times in a row, `bacsc read` joins the hub as a new node and reads a
    property of that device through it: every read succeeds in under 1 s;
  - the hub's listener counters show the per-address refusals.

Printed: join latency p50/p99 (process start → the hub's "node joined"
line), read times, refusals per reason, hub RSS, attacker connection counts.
"""
import datetime
import json
import os
import re
import resource
import selectors
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

ATTACK_ADDRS = [f"127.0.0.{i}" for i in range(2, 10)]
TARGET = 2000
TRIES = 20


def attack(port, target, seconds):
    """Keep `target` connections open to 127.0.0.1:port; re-open closed ones.
    Prints one JSON line of counters per second."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    sel = selectors.DefaultSelector()
    socks = {}
    st = {"opened": 0, "closed_by_hub": 0, "connect_failed": 0, "established": 0}
    seq = 0

    def open_one():
        nonlocal seq
        src = ATTACK_ADDRS[seq % len(ATTACK_ADDRS)]
        stall = seq % 4 == 3
        seq += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((src, 0))
            s.connect_ex(("127.0.0.1", port))
        except OSError:
            s.close()
            st["connect_failed"] += 1
            return
        socks[s.fileno()] = [s, stall, False]
        sel.register(s, selectors.EVENT_WRITE | selectors.EVENT_READ)
        st["opened"] += 1

    def drop(s, by_hub):
        sel.unregister(s)
        socks.pop(s.fileno(), None)
        s.close()
        st["closed_by_hub" if by_hub else "connect_failed"] += 1

    end = time.time() + seconds
    last = 0
    while time.time() < end:
        n = 0
        while len(socks) < target and n < 400:
            open_one()
            n += 1
        for key, ev in sel.select(0.05):
            s = key.fileobj
            ent = socks.get(s.fileno())
            if not ent:
                continue
            if not ent[2] and ev & selectors.EVENT_WRITE:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    drop(s, False)
                    continue
                ent[2] = True
                st["established"] += 1
                if ent[1]:
                    try:
                        s.send(b"\x16\x03\x01\x02\x00")
                    except OSError:
                        pass
                sel.modify(s, selectors.EVENT_READ)
                continue
            if ev & selectors.EVENT_READ:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    drop(s, True)
        if time.time() - last >= 1:
            last = time.time()
            print(json.dumps(dict(st, open=len(socks))), flush=True)


if len(sys.argv) > 1 and sys.argv[1] == "--attack":
    attack(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
    sys.exit(0)

import sc_support  # noqa: E402
from sc_support import *  # noqa: E402,F401,F403


def iso_ts(line):
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)Z", line)
    if not m:
        return None
    return datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def hub_status(hub, d):
    r = tool(["status", "--status-file", f"{d}/hub-status.json", "--pid", str(hub.pid), "--json",
              "--timeout", "5"])
    return json.loads(r.stdout) if r.returncode == 0 else None


def rss_kb(pid, field="VmRSS"):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    try:
        socket.socket().bind(("127.0.0.9", 0))
    except OSError:
        print("127.0.0.9 not usable: skipped")
        return 77
    d = tmpdir("bacsc-attack-")
    pki = Pki(make_pki(d, nodes=2))
    port = free_port()
    hub = start_hub(pki, port, f"{d}/hub.log", ["--status-file", f"{d}/hub-status.json"])
    check(wait_until(lambda: os.path.exists(f"{d}/hub-status.json"), 10), "hub wrote its status")
    dev = start(["device", "--instance", "1001", "--hub", f"wss://127.0.0.1:{port}", "--av", "1"]
                + pki.cert("node1"), f"{d}/dev.log")
    st0 = wait_until(lambda: (lambda s: s if s and s["hub"]["connected"] == 1 else None)(hub_status(hub, d)), 20)
    check(st0 is not None, "hub shows the device")
    since0 = st0["hub"]["peers"][0].get("since") if st0 else None
    prof = profile(d, "p.json", pki, port, node="node2")
    v, r = read_value(prof, 1001, "analog-value,1", "present-value")
    check(v is not None, "read before the attack")

    duration = 120 * SLOW
    att = subprocess.Popen([sys.executable, __file__, "--attack", str(port), str(TARGET), str(duration)],
                           stdout=subprocess.PIPE, text=True)
    sc_support._procs.append(att)
    lines = []

    def att_stats():
        return json.loads(lines[-1]) if lines else {}

    # Let the attacker reach its target (2,000 held connections, re-opening).
    t_end = time.time() + 20 * SLOW
    while time.time() < t_end:
        line = att.stdout.readline()
        if not line:
            break
        lines.append(line)
        if att_stats().get("opened", 0) >= TARGET and time.time() - (t_end - 20 * SLOW) > 4:
            break
    print("   attacker:", att_stats(), flush=True)
    check(att_stats().get("opened", 0) >= TARGET, f"attacker opened >= {TARGET} connections")

    reads, joins, fails = [], [], 0
    hub_log_pos = os.path.getsize(hub.log)
    for i in range(TRIES):
        t0 = time.time()
        v, r = read_value(prof, 1001, "analog-value,1", "present-value", timeout=5)
        dt = time.time() - t0
        reads.append(dt)
        ok = v is not None
        if not ok:
            fails += 1
            print("   read failed:", r.returncode, r.stderr.strip()[:300], flush=True)
        # join latency: process start -> the hub's "node joined" line
        with open(hub.log) as f:
            f.seek(hub_log_pos)
            new = f.read()
            hub_log_pos = f.tell()
        for line in new.splitlines():
            if "node joined" in line:
                ts = iso_ts(line)
                if ts:
                    joins.append(ts - t0)
                break
        check(ok and dt < 1.0, f"try {i + 1}: read through the hub under attack in {dt:.3f} s")
        # drain the attacker's progress lines (non-blocking enough: one per second)
    os.set_blocking(att.stdout.fileno(), False)
    try:
        for line in att.stdout:
            lines.append(line)
    except (TypeError, OSError):
        pass
    st = wait_until(lambda: hub_status(hub, d), 10)
    rss = rss_kb(hub.pid)
    hwm = rss_kb(hub.pid, "VmHWM")
    dev_uuid = st0["hub"]["peers"][0].get("uuid") if st0 else None
    same = [p for p in (st or {}).get("hub", {}).get("peers", []) if p.get("uuid") == dev_uuid]
    check(len(same) == 1 and same[0].get("since") == since0,
          f"the device stayed connected through the attack (same since: {since0} vs {same})")
    v, r = read_value(prof, 1001, "analog-value,1", "present-value")
    check(v is not None, "read after the attack")
    lst = st["hub"].get("listener", {}) if st else {}
    print(f"   reads under attack: p50 {pct(reads, 50) * 1000:.0f} ms, p99 {pct(reads, 99) * 1000:.0f} ms, "
          f"max {max(reads) * 1000:.0f} ms, {fails} failed of {TRIES}")
    if joins:
        print(f"   join latency under attack: p50 {pct(joins, 50) * 1000:.0f} ms, "
              f"p99 {pct(joins, 99) * 1000:.0f} ms ({len(joins)} joins)")
    print(f"   hub listener: {json.dumps(lst)}")
    print(f"   hub RSS {rss} kB (peak {hwm} kB); attacker: {att_stats()}")
    check(lst.get("refused_addr_handshakes", 0) + lst.get("refused_addr_rate", 0) > 0,
          "per-address refusals counted")
    check(lst.get("first_octet_timeouts", 0) > 0, "first-octet timeouts counted")
    att.kill()
    att.wait()
    check(stop(dev) == 0, "device exits 0")
    check(stop(hub) == 0, "hub exits 0")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
