#!/usr/bin/python3
"""`bacsc readm DEVICE all`: every object of a 1,000-AV `bacsc device` read
by ReadPropertyMultiple, over BACnet/SC (through a `bacsc hub`) and over
BACnet/IP (with a tshark capture of the segmented answers, every segment
and Segment-ACK dissected, nothing malformed).

Checked for every object of the device's Object_List: it came back, with
exactly the properties of its Property_List plus Object_Identifier,
Object_Name, Object_Type and Property_List, none an error; the AVs'
Present_Value; the JSON and text forms agree.

Then a device that does not segment (a stand-in written here on a UDP
socket: Object_List only element by element, one object per RPM answer,
one object never readable): readm falls back to the elements, splits its
batches down to one object, reports the unreadable object and exits 5.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa
from test_device_conformance import (app_str, app_u, closing, ctx_u, oid, opening,  # noqa
                                     tag)

NAV = 1000
FIXED = {"object-identifier", "object-name", "object-type", "property-list"}


def by_object(rows):
    objs = {}
    for r in rows:
        objs.setdefault(r["object"], []).append(r)
    return objs


def oid_text(v):
    return f"{v['type']},{v['instance']}"


def check_device(rows, dev, where):
    """Every object of the Object_List, with its whole Property_List."""
    objs = by_object(rows)
    dev_rows = {r["property"]: r for r in objs.get(f"device,{dev}", [])}
    check("object-list" in dev_rows, f"{where}: the Device object's object-list came back")
    if "object-list" not in dev_rows:
        return
    listed = [oid_text(v) for v in dev_rows["object-list"]["value"]]
    check(len(listed) >= NAV + 2, f"{where}: Object_List has {len(listed)} entries")
    check(list(objs) == listed, f"{where}: answers in Object_List order, one block per object "
          f"({len(objs)} objects answered, {len(listed)} listed)")
    bad = []
    for o in listed:
        got = objs.get(o, [])
        props = {r["property"] for r in got}
        errors = [r for r in got if "error" in r]
        plist = {r["property"]: r for r in got}.get("property-list", {}).get("value", [])
        plist = plist if isinstance(plist, list) else [plist]
        if errors or not FIXED <= props or len(props) != len(plist) + 4 or len(got) != len(props):
            bad.append((o, len(got), len(plist), errors[:1]))
    check(not bad, f"{where}: {len(bad)} objects incomplete: {bad[:3]}")
    pv = [r for r in rows if r["object"].startswith("analog-value,") and
          r["property"] == "present-value"]
    check(len(pv) == NAV and all(isinstance(r["value"], (int, float)) for r in pv),
          f"{where}: {len(pv)} AV present-values")
    print(f"ok: {where}: {len(listed)} objects, {len(rows)} properties, all complete")


def readm_sc(prof, d):
    t0 = time.time()
    r = tool(["readm", "1001", "all", "--json", "--timeout", "20"], prof, 120)
    check(r.returncode == 0, f"SC readm all: rc {r.returncode}: {r.stderr[-500:]}")
    if r.returncode != 0:
        return
    print(f"ok: SC: readm 1001 all took {time.time() - t0:.2f} s")
    check_device(json.loads(r.stdout), 1001, "SC")
    # the text form: one line per property, same count
    r2 = tool(["readm", "1001", "all", "--timeout", "20"], prof, 120)
    n = len(json.loads(r.stdout))
    check(r2.returncode == 0 and len(r2.stdout.splitlines()) == n,
          f"SC text: {len(r2.stdout.splitlines())} lines, JSON {n} rows")
    # a property list for every object
    r3 = tool(["readm", "1001", "all", "object-name,present-value", "--json"], prof, 120)
    rows = json.loads(r3.stdout) if r3.returncode == 0 else []
    names = [x for x in rows if x["property"] == "object-name" and "value" in x]
    pvs = [x for x in rows if x["property"] == "present-value"]
    check(len(names) == NAV + 2 and len([x for x in pvs if "value" in x]) == NAV and
          all(x.get("error") == "property/unknown-property" for x in pvs if "value" not in x),
          f"SC readm all object-name,present-value: rc {r3.returncode}, {len(names)} names, "
          f"{len(pvs)} present-values {r3.stderr[-300:]}")


def tshark_start(d, port):
    if not shutil.which("tshark"):
        print("note: tshark missing, capture check skipped")
        return None, None
    cap = f"{d}/readm.pcapng"
    ts = subprocess.Popen(["tshark", "-i", "lo", "-f", f"udp port {port}", "-w", cap],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    import sc_support
    sc_support._procs.append(ts)
    if not wait_until(lambda: os.path.exists(cap) and os.path.getsize(cap) > 0, 10):
        ts.kill()
        print("note: capture did not start, skipped")
        return None, None
    time.sleep(0.5)
    return ts, cap


def tshark_check(ts, cap, port):
    time.sleep(1)
    ts.send_signal(signal.SIGINT)
    ts.wait(10)
    dec = ["-d", f"udp.port=={port},bvlc"]
    r = subprocess.run(["tshark", "-r", cap] + dec + ["-T", "fields", "-e", "bacapp.type",
                        "-e", "bacapp.confirmed_service", "-e", "bacapp.segmented_request",
                        "-e", "bacapp.sequence_number"], capture_output=True, text=True)
    rows = [ln.split("\t") for ln in r.stdout.splitlines() if ln.strip()]
    rpm = [x for x in rows if x[0] == "0" and x[1] == "14"]
    segs = [x for x in rows if x[0] == "3" and x[2] == "1"]
    acks = [x for x in rows if x[0] == "4"]
    check(len(rpm) >= 30 and len(segs) > 100 and acks,
          f"tshark: {len(rpm)} RPM requests, {len(segs)} ComplexACK segments, "
          f"{len(acks)} Segment-ACKs dissected")
    r2 = subprocess.run(["tshark", "-r", cap] + dec +
                        ["-Y", "_ws.malformed || _ws.expert.severity >= 8388608"],
                        capture_output=True, text=True)
    check(r2.stdout.strip() == "", f"tshark: malformed/error packets:\n{r2.stdout[:800]}")
    print(f"ok: tshark dissected {len(rpm)} RPM requests, {len(segs)} segments, "
          f"{len(acks)} Segment-ACKs, nothing malformed")


def readm_ip(d, bip_port):
    ts, cap = tshark_start(d, bip_port)
    local = f"127.0.0.1:{free_port()}"
    r = tool(["readm", f"127.0.0.1:{bip_port}", "all", "--json", "--bip-local", local,
              "--timeout", "20"], None, 120)
    check(r.returncode == 0, f"B/IP readm all: rc {r.returncode}: {r.stderr[-500:]}")
    if r.returncode == 0:
        check_device(json.loads(r.stdout), 2002, "B/IP")
    if ts:
        tshark_check(ts, cap, bip_port)


# ---- a device that does not segment ---------------------------------------------------

class NoSegDevice(threading.Thread):
    """Answers RP Object_List only by element (whole: Abort segmentation-not-
    supported), RPM for one object only (more: the same Abort), and never
    for analog-value,3."""

    def __init__(self, delay=0.0):
        super().__init__(daemon=True)
        self.delay = delay
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(0.2)
        self.port = self.s.getsockname()[1]
        self.objs = [(8, 77)] + [(2, i) for i in range(1, 8)]
        self.rpm_sizes = []
        self.stopping = False

    def answer(self, to, apdu):
        n = bytes([1, 0]) + apdu
        self.s.sendto(bytes([0x81, 0x0A]) + struct.pack(">H", 4 + len(n)) + n, to)

    def abort(self, to, inv):
        self.answer(to, bytes([0x71, inv, 4]))        # server, segmentation-not-supported

    def rp(self, to, inv, body):
        if len(body) == 7:
            return self.abort(to, inv)                 # Object_List whole
        idx = body[8]
        v = app_u(len(self.objs)) if idx == 0 else tag(12, False, oid(*self.objs[idx - 1]))
        ack = tag(0, True, body[1:5]) + ctx_u(1, 76) + ctx_u(2, idx) + opening(3) + v + closing(3)
        self.answer(to, bytes([0x30, inv, 12]) + ack)

    def rpm(self, to, inv, body):
        objs, i = [], 0
        while i < len(body) and body[i] == 0x0C:
            objs.append(body[i + 1:i + 5])
            i = body.index(0x1F, i + 5) + 1
        self.rpm_sizes.append(len(objs))
        if len(objs) > 1 or objs[0] == oid(2, 3):
            return self.abort(to, inv)
        t, i = struct.unpack(">I", objs[0])[0] >> 22, struct.unpack(">I", objs[0])[0] & 0x3FFFFF
        ack = (tag(0, True, objs[0]) + opening(1) + ctx_u(2, 77) + opening(4) +
               app_str(f"obj-{t}-{i}") + closing(4) + closing(1))
        self.answer(to, bytes([0x30, inv, 14]) + ack)

    def run(self):
        while not self.stopping:
            try:
                data, frm = self.s.recvfrom(2000)
            except socket.timeout:
                continue
            a = data[6:]                               # BVLL 4 + NPDU 2
            if len(a) < 4 or a[0] >> 4 != 0:
                continue
            time.sleep(self.delay)
            (self.rp if a[3] == 12 else self.rpm)(frm, a[2], a[4:])


def noseg():
    dev = NoSegDevice()
    dev.start()
    local = f"127.0.0.1:{free_port()}"
    r = tool(["readm", f"127.0.0.1:{dev.port}", "all", "object-name", "--json", "--bip-local",
              local, "--timeout", "10"], None, 60)
    dev.stopping = True
    rows = json.loads(r.stdout) if r.stdout.strip() else []
    names = [x["object"] for x in rows if "value" in x]
    failed = [x for x in rows if "error" in x]
    want = ["device,77"] + [f"analog-value,{i}" for i in range(1, 8) if i != 3]
    check(r.returncode == 5 and names == want and len(failed) == 1 and
          failed[0]["object"] == "analog-value,3" and
          failed[0]["error"] == "abort: segmentation-not-supported" and
          "1 of 8 objects could not be read" in r.stderr,
          f"no-segmentation device: rc {r.returncode}, {names}, {failed}, {r.stderr[-300:]}")
    check(dev.rpm_sizes[0] == 8 and 1 in dev.rpm_sizes,
          f"batches split down to one object: {dev.rpm_sizes}")
    print(f"ok: a device without segmentation: Object_List by element, RPM batches "
          f"{dev.rpm_sizes}, one unreadable object reported, exit 5")
    # a slow device: progress on stderr (at most once a second), same result
    slow = NoSegDevice(delay=0.1)
    slow.start()
    r = tool(["readm", f"127.0.0.1:{slow.port}", "all", "object-name", "--bip-local",
              f"127.0.0.1:{free_port()}", "--timeout", "10"], None, 60)
    slow.stopping = True
    prog = [ln for ln in r.stderr.splitlines() if "objects read:" in ln or "elements read:" in ln]
    check(r.returncode == 5 and len(r.stdout.splitlines()) == 8 and 1 <= len(prog) <= 4 and
          prog[-1].endswith("objects read: 8 of 8"),
          f"slow device: rc {r.returncode}, progress lines {prog}")


def main():
    d = tmpdir("bacsc-readm-device-")
    pki = Pki(make_pki(d, nodes=4))
    port = free_port()
    start_hub(pki, port, f"{d}/hub.log")
    dev = start(["device", "--instance", "1001", "--hub", f"wss://127.0.0.1:{port}",
                 "--av", str(NAV)] + pki.cert("node1"), f"{d}/dev.log")
    check(wait_log(dev, "connected-to-primary", 20), "SC device connected")
    bip_port = free_port()
    ipdev = start(["device", "--state-dir", f"{d}/state", "--instance", "2002", "--bip",
                   f"127.0.0.1:{bip_port}", "--bip-broadcast", f"127.0.0.1:{free_port()}",
                   "--av", str(NAV)], f"{d}/ip.log")
    check(wait_log(ipdev, "device 2002", 15), "IP device started")
    prof = profile(d, "prof.json", pki, port)
    readm_sc(prof, d)
    readm_ip(d, bip_port)
    noseg()
    stop(dev)
    stop(ipdev)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
