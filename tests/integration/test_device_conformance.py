#!/usr/bin/python3
"""Application-layer conformance of a running `bacsc device`, over BACnet/SC
(through a `bacsc hub`) and over BACnet/IP, with requests built and answers
parsed here, independently of bacsc's own codecs (Python `websockets` and a
UDP socket; BVLC-SC, BVLL, NPDU and APDU by hand).

Every check runs on both datalinks and asserts the exact answer: the error
class/code, the reject or abort reason, or silence.

Regression cases (the answers bacsc and bacnet-stack already agreed on):
unknown object / property, array errors, datatypes, read-only, priority
range, malformed Who-Is, RPM mixes, file offsets, segmentation aborts.
The conformance items:
  - confirmed requests received as a broadcast are ignored (B/IP
    Original-Broadcast-NPDU, SC broadcast VMAC, DNET 0xFFFF);
  - priority 6 refused (write-access-denied), Current_Command_Priority,
    REQUIRED/OPTIONAL groups agree with Property_List;
  - Protocol_Services_Supported claims the file services only with File
    objects; the SC port of a plain device has no certificate-file
    references; File_Type of a DER certificate;
  - Vendor_Identifier ... Description from flags (SC) and config file (IP);
  - 5,000 objects: Object_List read whole (segmented) and element by element;
  - DeviceCommunicationControl (password, duration, disable,
    disable-initiation, enable) and Who-Has/I-Have by name and identifier;
  - ReinitializeDevice cold/warm start: a device on certificate files (SC)
    re-initialises (ACK, Last_Restart_Reason warmstart), one that does not
    restart yet (IP, --state-dir) refuses;
    Last_Restart_Reason / Time_Of_Device_Restart present;
  - segmented requests: a WriteProperty in segments (window 3, a duplicate
    and an out-of-order segment NAKed, then completed intact), one larger
    than the device's max APDU answered by the service, 66 segments aborted
    with buffer-overflow after Max_Segments_Accepted (64);
  - segmented answers reassembled here (Segment-ACKs sent by this script,
    one segment NAKed on purpose), RPM ALL of a 1,000-object device by
    `bacsc readm`, and a tshark capture of a segmented answer on B/IP with
    every segment dissected and no malformed packet.
"""
import asyncio
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa

import websockets

# ---- encoding -------------------------------------------------------------------

OBJ_AV, OBJ_DEVICE, OBJ_FILE, OBJ_NP = 2, 8, 10, 56
P_DESCRIPTION, P_LOCATION, P_MODEL, P_NAME, P_OBJECT_LIST = 28, 58, 70, 77, 76
P_PV, P_PA, P_RD, P_PROP_LIST, P_CCP = 85, 87, 104, 371, 431
P_VENDOR_ID, P_VENDOR_NAME, P_FW, P_APP_SW, P_SERVICES = 120, 121, 44, 12, 97
P_ALL, P_REQUIRED, P_OPTIONAL, P_FILE_TYPE = 8, 105, 80, 43
P_LAST_RESTART, P_TIME_RESTART, P_OP_CERT_FILE = 196, 203, 4194306
P_SEGMENTATION, P_MAX_SEGS = 107, 167
SVC_RP, SVC_RPM, SVC_WP, SVC_ARF, SVC_DCC, SVC_REINIT = 12, 14, 15, 6, 17, 20


def uint(v):
    n = max(1, (v.bit_length() + 7) // 8)
    return v.to_bytes(n, "big")


def tag(num, ctx, data):
    first = (num << 4) | (0x08 if ctx else 0)
    n = len(data)
    if n < 5:
        return bytes([first | n]) + data
    if n < 254:
        return bytes([first | 5, n]) + data
    return bytes([first | 5, 254]) + struct.pack(">H", n) + data


def ctx_u(num, v):
    return tag(num, True, uint(v))


def oid(t, i):
    return struct.pack(">I", (t << 22) | i)


def app_u(v):
    return tag(2, False, uint(v))


def app_real(f):
    return tag(4, False, struct.pack(">f", f))


def app_str(s):
    return tag(7, False, b"\x00" + s.encode())


def app_null():
    return b"\x00"


def opening(n):
    return bytes([(n << 4) | 0x0E])


def closing(n):
    return bytes([(n << 4) | 0x0F])


def rp_body(t, i, p, idx=None):
    b = tag(0, True, oid(t, i)) + ctx_u(1, p)
    return b + (ctx_u(2, idx) if idx is not None else b"")


def wp_body(t, i, p, value, prio=None):
    b = tag(0, True, oid(t, i)) + ctx_u(1, p) + opening(3) + value + closing(3)
    return b + (ctx_u(4, prio) if prio is not None else b"")


def rpm_body(specs):
    b = b""
    for (t, i, props) in specs:
        b += tag(0, True, oid(t, i)) + opening(1)
        for p in props:
            b += ctx_u(0, p)
        b += closing(1)
    return b


def arf_body(t, i, start, count=100):
    return (tag(12, False, oid(t, i)) + opening(0) + tag(3, False, start.to_bytes(4, "big",
            signed=True)) + app_u(count) + closing(0))


def arf(t, i, start):
    return arf_body(t, i, start)


def dcc_body(state, minutes=None, pw=None):
    b = ctx_u(0, minutes) if minutes is not None else b""
    b += ctx_u(1, state)
    return b + (tag(2, True, b"\x00" + pw.encode()) if pw is not None else b"")


def reinit_body(state, pw=None):
    return ctx_u(0, state) + (tag(1, True, b"\x00" + pw.encode()) if pw is not None else b"")


def confirmed(svc, body, invoke, max_apdu=5, sa=False, max_segs=0):
    return bytes([0x02 if sa else 0x00, (max_segs << 4) | max_apdu, invoke, svc]) + body


def unconfirmed(svc, body):
    return bytes([0x10, svc]) + body


def npdu(apdu, reply=True, dnet=None):
    ctl = 0x04 if reply else 0
    if dnet is None:
        return bytes([1, ctl]) + apdu
    return bytes([1, ctl | 0x20]) + struct.pack(">H", dnet) + b"\x00\xff" + apdu


def npdu_apdu(b):
    """The APDU of an NPDU (None for network-layer messages)."""
    ctl = b[1]
    pos = 2
    if ctl & 0x80:
        return None
    if ctl & 0x20:
        pos += 2
        dlen = b[pos]
        pos += 1 + dlen
    if ctl & 0x08:
        pos += 2
        slen = b[pos]
        pos += 1 + slen
    if ctl & 0x20:
        pos += 1
    return b[pos:]


def app_values(d):
    """Application-tagged values → list of (tag, raw content)."""
    out, pos = [], 0
    while pos < len(d):
        t = d[pos]
        num, lvt = t >> 4, t & 7
        pos += 1
        if t & 0x08:        # context tag (opening/closing or primitive): keep raw
            if lvt in (6, 7):
                out.append(("ctx" + ("open" if lvt == 6 else "close"), num))
                continue
        n = lvt
        if num == 1 and not (t & 0x08):     # Boolean: value in L/V/T
            out.append((1, lvt))
            continue
        if lvt == 5:
            n = d[pos]
            pos += 1
            if n == 254:
                n = struct.unpack(">H", d[pos:pos + 2])[0]
                pos += 2
        out.append((num, d[pos:pos + n]))
        pos += n
    return out


def rp_ack_value(data):
    """The raw value between [3] and its closing tag of a ReadProperty-ACK."""
    pos = 0
    while data[pos] != 0x3E:             # [0] object, [1] property, [2] index
        pos += 1 + (data[pos] & 7)
    return data[pos + 1:-1]


class Answer:
    def __init__(self, kind, **kw):
        self.kind = kind
        self.__dict__.update(kw)

    def __repr__(self):
        d = {k: (v[:24].hex() + ("..." if len(v) > 24 else "")) if isinstance(v, bytes) else v
             for k, v in self.__dict__.items()}
        return f"{d}"


def parse_answer(a):
    t = a[0] >> 4
    if t == 2:
        return Answer("ack", service=a[2])
    if t == 3:
        if a[0] & 0x08:
            return Answer("segment", invoke=a[1], seq=a[2], window=a[3], more=bool(a[0] & 4),
                          service=a[4], data=a[5:])
        return Answer("complex", invoke=a[1], service=a[2], data=a[3:])
    if t == 4:
        return Answer("segack", invoke=a[1], seq=a[2], window=a[3], nak=bool(a[0] & 2),
                      server=bool(a[0] & 1))
    if t == 5:
        v = app_values(a[3:])
        return Answer("error", service=a[2], cls=int.from_bytes(v[0][1], "big"),
                      code=int.from_bytes(v[1][1], "big"))
    if t == 6:
        return Answer("reject", reason=a[2])
    if t == 7:
        return Answer("abort", reason=a[2], server=bool(a[0] & 1))
    if t == 1:
        return Answer("unconfirmed", service=a[1], data=a[2:])
    return Answer("other", raw=a)


# ---- transports ---------------------------------------------------------------------


class Bip:
    """A BACnet/IP station on a UDP socket."""
    name = "B/IP"

    def __init__(self, dev_port, sock):
        self.dev = ("127.0.0.1", dev_port)
        self.s = sock
        self.s.setblocking(False)

    async def send(self, n, broadcast=False, to_all=False):
        fn = 0x0B if broadcast else 0x0A
        self.s.sendto(bytes([0x81, fn]) + struct.pack(">H", 4 + len(n)) + n, self.dev)

    async def recv(self, timeout):
        loop = asyncio.get_running_loop()
        try:
            data = await asyncio.wait_for(loop.sock_recv(self.s, 2000), timeout)
        except asyncio.TimeoutError:
            return None
        if data[0] != 0x81 or data[1] not in (0x0A, 0x0B):
            return await self.recv(timeout)
        return data[4:]

    async def close(self):
        pass


class Sc:
    """A BACnet/SC node connected to the hub, talking to the device's VMAC."""
    name = "SC"

    def __init__(self, ws, vmac):
        self.ws = ws
        self.vmac = vmac
        self.dev_vmac = None
        self.msgid = 100

    @classmethod
    async def connect(cls, uri, ctx):
        ws = await websockets.connect(uri, ssl=ctx, subprotocols=["hub.bsc.bacnet.org"],
                                      open_timeout=10, max_size=None)
        vmac = bytes([0x02, 0x77, 0x66, 0x55, 0x44, 0x33])
        uid = bytes(range(16))
        await ws.send(struct.pack(">BBH", 6, 0, 1) + vmac + uid + struct.pack(">HH", 1600, 1497))
        m = await asyncio.wait_for(ws.recv(), 10)
        assert m[0] == 7, "no Connect-Accept"
        return cls(ws, vmac)

    async def send(self, n, broadcast=False, to_all=False):
        self.msgid += 1
        dest = b"\xff" * 6 if broadcast or to_all else self.dev_vmac
        await self.ws.send(struct.pack(">BBH", 1, 0x04, self.msgid) + dest + n)

    async def recv(self, timeout):
        end = time.time() + timeout
        while True:
            left = end - time.time()
            if left <= 0:
                return None
            try:
                m = await asyncio.wait_for(self.ws.recv(), left)
            except asyncio.TimeoutError:
                return None
            fn, ctl = m[0], m[1]
            orig = None
            if fn == 0x0A:      # Heartbeat-Request: answer it
                await self.ws.send(struct.pack(">BBH", 0x0B, 0, struct.unpack(">H", m[2:4])[0]))
                continue
            if fn != 1:
                continue
            off = 4
            if ctl & 0x08:
                orig = m[off:off + 6]
                off += 6
            if ctl & 0x04:
                off += 6
            if ctl & 0x01:      # header options: skip
                while True:
                    o = m[off]
                    off += 1
                    if o & 0x20:
                        ln = struct.unpack(">H", m[off:off + 2])[0]
                        off += 2 + ln
                    if not o & 0x80:
                        break
            if self.dev_vmac and orig != self.dev_vmac:
                continue
            return m[off:]

    async def close(self):
        await self.ws.close()


# ---- a client over either transport -----------------------------------------------


class Client:
    def __init__(self, link):
        self.link = link
        self.invoke = 0

    def next_id(self):
        self.invoke = (self.invoke + 1) % 256
        return self.invoke

    async def raw(self, apdu, broadcast=False, dnet=None, timeout=3.0, reply=True):
        """Send one APDU; the first answer to it (same invoke id, parsed), or
        None after `timeout`."""
        await self.link.send(npdu(apdu, reply, dnet), broadcast)
        while True:
            n = await self.link.recv(timeout)
            if n is None:
                return None
            a = npdu_apdu(n)
            if a and a[0] >> 4 != 1 and len(a) > 1 and a[1] == apdu[2]:
                return parse_answer(a)

    async def call(self, svc, body, sa=False, max_segs=0, max_apdu=5, nak_once=False):
        """A confirmed request; segmented answers are reassembled here."""
        inv = self.next_id()
        ans = await self.raw(confirmed(svc, body, inv, max_apdu, sa, max_segs))
        if ans is None or ans.kind != "segment":
            return ans
        data, last, window, nakked = ans.data, ans.seq, min(ans.window, 4), False
        segments = 1
        await self.segack(inv, 0, window)
        first_of_window = 0
        while ans.more:
            n = await self.link.recv(5)
            if n is None:
                return Answer("timeout-in-segments", got=segments)
            ans = parse_answer(npdu_apdu(n))
            if ans.kind != "segment" or ans.invoke != inv:
                continue
            if nak_once and not nakked and ans.seq == 2:
                nakked = True       # pretend segment 2 was lost: it must come again
                continue
            if ans.seq != (last + 1) % 256:
                await self.segack(inv, last, window, nak=True)
                continue
            data += ans.data
            last = ans.seq
            segments += 1
            if not ans.more or ans.seq == (first_of_window + window) % 256:
                await self.segack(inv, last, window)
                first_of_window = ans.seq
        return Answer("complex", service=ans.service, data=data, segments=segments,
                      nakked=nakked)

    async def segmented(self, svc, body, seg_len, window, order):
        """Send a confirmed request in segments of `seg_len` octets, in the
        order given (sequence numbers: duplicates and gaps on purpose); the
        answers to it (Segment-ACKs, then the final one) in arrival order."""
        inv = self.next_id()
        segs = [body[i:i + seg_len] for i in range(0, len(body), seg_len)]
        for s in order:
            flags = 0x08 | 0x02 | (0x04 if s + 1 < len(segs) else 0)
            await self.link.send(npdu(bytes([flags, 0x75, inv, s % 256, window, svc]) + segs[s]))
            await asyncio.sleep(0.02)
        got = []
        while True:
            n = await self.link.recv(3)
            if n is None:
                return got
            a = npdu_apdu(n)
            if a and a[0] >> 4 != 1 and len(a) > 1 and a[1] == inv:
                got.append(parse_answer(a))
                if got[-1].kind != "segack":
                    return got

    async def segack(self, inv, seq, window, nak=False):
        await self.link.send(npdu(bytes([0x40 | (0x02 if nak else 0), inv, seq, window]), False))

    async def rp(self, t, i, p, idx=None, **kw):
        return await self.call(SVC_RP, rp_body(t, i, p, idx), **kw)

    async def value(self, t, i, p, idx=None):
        a = await self.rp(t, i, p, idx, sa=True)
        check(a is not None and a.kind == "complex", f"read {t},{i} {p}: {a}")
        return rp_ack_value(a.data) if a and a.kind == "complex" else b""

    async def unconfirmed_answers(self, apdu, timeout=1.5):
        await self.link.send(npdu(apdu, False), broadcast=True)
        got = []
        while True:
            n = await self.link.recv(timeout)
            if n is None:
                return got
            a = npdu_apdu(n)
            if a and a[0] >> 4 == 1:
                got.append(parse_answer(a))


def is_error(a, cls, code):
    return a is not None and a.kind == "error" and (a.cls, a.code) == (cls, code)


def is_reject(a, reason):
    return a is not None and a.kind == "reject" and a.reason == reason


def is_abort(a, reason):
    return a is not None and a.kind == "abort" and a.reason == reason


# ---- the checks ----------------------------------------------------------------------


async def regression(c, dev, has_files):
    n = c.link.name
    check(is_error(await c.rp(OBJ_AV, 99999, P_PV), 1, 31), f"{n}: unknown object")
    check(is_error(await c.rp(OBJ_DEVICE, dev, 4000000), 2, 32), f"{n}: unknown property")
    check(is_error(await c.rp(OBJ_DEVICE, dev, P_ALL), 2, 32), f"{n}: RP ALL → unknown-property")
    check(is_error(await c.rp(OBJ_DEVICE, dev, P_NAME, 1), 2, 50), f"{n}: not an array")
    check(is_error(await c.rp(OBJ_AV, 1, P_PA, 17), 2, 42), f"{n}: invalid array index")
    a = await c.call(SVC_WP, wp_body(OBJ_AV, 1, P_PV, app_str("x")))
    check(is_error(a, 2, 9), f"{n}: invalid datatype: {a}")
    a = await c.call(SVC_WP, wp_body(OBJ_DEVICE, dev, P_VENDOR_ID, app_u(7)))
    check(is_error(a, 2, 40), f"{n}: read-only: {a}")
    for prio in (0, 17):
        a = await c.call(SVC_WP, wp_body(OBJ_AV, 1, P_PV, app_real(1.0), prio))
        check(is_reject(a, 6), f"{n}: priority {prio} → reject parameter-out-of-range: {a}")
    # malformed Who-Is (low limit only): dropped; a good one is answered
    got = await c.unconfirmed_answers(unconfirmed(8, ctx_u(0, dev)))
    check(not got, f"{n}: malformed Who-Is answered: {got}")
    got = await c.unconfirmed_answers(unconfirmed(8, ctx_u(0, dev) + ctx_u(1, dev)))
    check(any(g.service == 0 for g in got), f"{n}: Who-Is {dev}..{dev} unanswered")
    # RPM mix: a value, an unknown property, an unknown object
    a = await c.call(SVC_RPM, rpm_body([(OBJ_AV, 1, [P_PV, 4000000]), (OBJ_AV, 99999, [P_PV])]))
    ok = a is not None and a.kind == "complex"
    if ok:
        d = a.data
        ok = (b"\x5e\x91\x02\x91\x20\x5f" in d and            # [5] property/unknown-property
              b"\x5e\x91\x01\x91\x1f\x5f" in d and            # [5] object/unknown-object
              b"\x4e\x44" in d)                               # [4] a REAL
    check(ok, f"{n}: RPM mix: {a}")
    a = await c.call(SVC_RPM, rpm_body([(OBJ_AV, 1, [])]))
    check(a is not None and a.kind == "reject", f"{n}: RPM with an empty list: {a}")
    # file offsets: not a file → inconsistent-parameters; unknown file; start beyond the end
    a = await c.call(SVC_ARF, arf(OBJ_AV, 1, 0))
    check(is_error(a, 5, 7), f"{n}: ARF of an AV: {a}")
    a = await c.call(SVC_ARF, arf(OBJ_FILE, 999, 0))
    check(is_error(a, 1, 31), f"{n}: ARF of an unknown file: {a}")
    if has_files:
        a = await c.call(SVC_ARF, arf(OBJ_FILE, 4, 30000))
        check(is_error(a, 5, 11), f"{n}: ARF beyond the end: {a}")
    # segmentation aborts: no SA and a 50-octet max-APDU; SA with 2 segments
    a = await c.rp(OBJ_DEVICE, dev, P_OBJECT_LIST, max_apdu=0)
    check(is_abort(a, 4), f"{n}: too long without SA → segmentation-not-supported: {a}")
    a = await c.rp(OBJ_DEVICE, dev, P_OBJECT_LIST, max_apdu=0, sa=True, max_segs=1)
    check(is_abort(a, 1), f"{n}: more than 2 segments → buffer-overflow: {a}")
    a = await c.call(SVC_RP, rp_body(OBJ_DEVICE, dev, P_NAME)[:-1])
    check(a is not None and a.kind == "reject", f"{n}: truncated request → reject: {a}")
    a = await c.call(19, b"")
    check(is_reject(a, 9), f"{n}: unknown service → unrecognized-service: {a}")


async def segmented_requests(c, dev):
    """Segmented requests to the device (clause 5.4.5.2)."""
    n = c.link.name
    check(await c.value(OBJ_DEVICE, dev, P_SEGMENTATION) == tag(9, False, b"\x00"),
          f"{n}: Segmentation_Supported segmented-both")
    check(await c.value(OBJ_DEVICE, dev, P_MAX_SEGS) == app_u(64), f"{n}: Max_Segments_Accepted")
    orig = await c.value(OBJ_DEVICE, dev, P_DESCRIPTION)
    text = "".join(chr(97 + i % 26) for i in range(120))
    body = wp_body(OBJ_DEVICE, dev, P_DESCRIPTION, app_str(text))     # 132 octets: 7 x 20
    got = await c.segmented(SVC_WP, body, 20, 3, [0, 1, 1, 3, 2, 3, 4, 5, 6])
    seen = [(g.kind, g.seq, g.nak) if g.kind == "segack" else (g.kind,) for g in got]
    want = [("segack", 0, False), ("segack", 1, True), ("segack", 1, True),
            ("segack", 3, False), ("segack", 6, False), ("ack",)]
    check(seen == want and all(g.server and g.window == 3 for g in got if g.kind == "segack"),
          f"{n}: segmented WriteProperty, window 3, a duplicate and an out-of-order segment: "
          f"{seen}")
    check(await c.value(OBJ_DEVICE, dev, P_DESCRIPTION) == app_str(text),
          f"{n}: the segmented write took effect, intact")
    # larger than the device's max APDU: reassembled, answered by the service
    big = wp_body(OBJ_DEVICE, dev, P_DESCRIPTION, app_str("x" * 3000))
    got = await c.segmented(SVC_WP, big, 1400, 16, [0, 1, 2])
    check(got and is_error(got[-1], 2, 134) and [g.seq for g in got[:-1]] == [0, 2],
          f"{n}: 3,014-octet request in 3 segments → value-too-long: {got}")
    # more than Max_Segments_Accepted (64): Abort buffer-overflow
    got = await c.segmented(SVC_WP, body, 2, 127, list(range(66)))
    check(got and is_abort(got[-1], 1) and got[-1].server and
          [g.seq for g in got[:-1]] == [0, 16, 32, 48],
          f"{n}: 66 segments → buffer-overflow after 64: {got[-2:]}")
    a = await c.call(SVC_WP, wp_body(OBJ_DEVICE, dev, P_DESCRIPTION, orig))
    check(a is not None and a.kind == "ack", f"{n}: Description restored: {a}")


async def broadcasts(c, dev):
    n = c.link.name
    body = rp_body(OBJ_DEVICE, dev, P_NAME)
    a = await c.raw(confirmed(SVC_RP, body, c.next_id()), broadcast=True, timeout=1.5)
    check(a is None, f"{n}: confirmed request as a datalink broadcast answered: {a}")
    a = await c.raw(confirmed(SVC_RP, body, c.next_id()), dnet=0xFFFF, timeout=1.5)
    check(a is None, f"{n}: confirmed request with DNET 0xFFFF answered: {a}")
    a = await c.raw(confirmed(SVC_RP, body, c.next_id()))
    check(a is not None and a.kind == "complex", f"{n}: the same request unicast: {a}")


async def command_priority(c):
    n = c.link.name
    a = await c.call(SVC_WP, wp_body(OBJ_AV, 1, P_PV, app_real(5.0), 6))
    check(is_error(a, 2, 40), f"{n}: priority 6 → write-access-denied: {a}")
    check(await c.value(OBJ_AV, 1, P_CCP) == app_null(), f"{n}: CCP Null")
    a = await c.call(SVC_WP, wp_body(OBJ_AV, 1, P_PV, app_real(5.0), 9))
    check(a is not None and a.kind == "ack", f"{n}: write at 9: {a}")
    check(await c.value(OBJ_AV, 1, P_CCP) == app_u(9), f"{n}: CCP 9")
    await c.call(SVC_WP, wp_body(OBJ_AV, 1, P_PV, app_null(), 9))
    plist = await c.value(OBJ_AV, 1, P_PROP_LIST)
    for p in (P_PA, P_RD, P_CCP):
        check(tag(9, False, uint(p)) in plist, f"{n}: {p} in Property_List")
    req = await c.call(SVC_RPM, rpm_body([(OBJ_AV, 1, [P_REQUIRED])]), sa=True)
    opt = await c.call(SVC_RPM, rpm_body([(OBJ_AV, 1, [P_OPTIONAL])]), sa=True)
    for p in (P_PA, P_RD, P_CCP):
        check(ctx_u(2, p) in req.data, f"{n}: {p} in REQUIRED")
        check(ctx_u(2, p) not in opt.data, f"{n}: {p} not in OPTIONAL")


async def claims(c, dev, has_files):
    n = c.link.name
    bits = await c.value(OBJ_DEVICE, dev, P_SERVICES)
    bitstr = app_values(bits)[0][1][1:]      # after the unused-bits octet
    has = lambda b: bool(bitstr[b // 8] & (0x80 >> (b % 8)))  # noqa: E731
    check(has(6) == has_files and has(7) == has_files,
          f"{n}: atomicRead/WriteFile claimed {has(6)} with files {has_files}")
    for b in (12, 14, 15, 17, 20, 33, 34):
        check(has(b), f"{n}: service bit {b} claimed")
    plist = await c.value(OBJ_NP, 1, P_PROP_LIST)
    ref = tag(9, False, uint(P_OP_CERT_FILE)) in plist
    check(ref == has_files, f"{n}: Operational_Certificate_File listed {ref}, files {has_files}")


async def identity(c, dev, want):
    n = c.link.name
    check(await c.value(OBJ_DEVICE, dev, P_VENDOR_ID) == app_u(want["vendor_id"]),
          f"{n}: Vendor_Identifier")
    for p, k in ((P_VENDOR_NAME, "vendor_name"), (P_MODEL, "model_name"), (P_FW,
                 "firmware_revision"), (P_APP_SW, "application_software_version"),
                 (P_LOCATION, "location"), (P_DESCRIPTION, "description")):
        check(await c.value(OBJ_DEVICE, dev, p) == app_str(want[k]), f"{n}: {k}")


async def dcc_whohas_reinit(c, dev, pw, restarts=False):
    n = c.link.name
    if pw:
        a = await c.call(SVC_DCC, dcc_body(1, 1, "wrong"))
        check(is_error(a, 4, 26), f"{n}: DCC wrong password: {a}")
    a = await c.call(SVC_DCC, dcc_body(1, 1, pw))
    check(a is not None and a.kind == "ack", f"{n}: DCC disable 1 min: {a}")
    a = await c.rp(OBJ_DEVICE, dev, P_NAME)
    check(a is None, f"{n}: answered while disabled: {a}")
    got = await c.unconfirmed_answers(unconfirmed(8, b""))
    check(not got, f"{n}: I-Am while disabled")
    a = await c.call(SVC_DCC, dcc_body(2, None, pw))
    check(a is not None and a.kind == "ack", f"{n}: DCC disable-initiation: {a}")
    a = await c.rp(OBJ_DEVICE, dev, P_NAME)
    check(a is not None and a.kind == "complex", f"{n}: answers under disable-initiation: {a}")
    a = await c.call(SVC_DCC, dcc_body(0, None, pw))
    check(a is not None and a.kind == "ack", f"{n}: DCC enable: {a}")
    a = await c.call(SVC_DCC, dcc_body(3, None, pw))
    check(is_reject(a, 8), f"{n}: DCC undefined state → undefined-enumeration: {a}")
    got = await c.unconfirmed_answers(unconfirmed(7, tag(3, True, b"\x00AV-1")))
    ok = [g for g in got if g.service == 1]
    check(ok and oid(OBJ_AV, 1) in ok[0].data and b"AV-1" in ok[0].data,
          f"{n}: Who-Has by name: {got}")
    got = await c.unconfirmed_answers(unconfirmed(7, tag(2, True, oid(OBJ_NP, 1))))
    check(any(g.service == 1 and oid(OBJ_NP, 1) in g.data for g in got),
          f"{n}: Who-Has by identifier: {got}")
    got = await c.unconfirmed_answers(unconfirmed(7, tag(3, True, b"\x00nothing")))
    check(not got, f"{n}: Who-Has of an unknown name answered")
    for st in (0, 1):
        a = await c.call(SVC_REINIT, reinit_body(st, pw))
        if restarts:  # the device re-initialises (a device on certificate files)
            check(a is not None and a.kind == "ack", f"{n}: ReinitializeDevice {st} ACKed: {a}")
            await asyncio.sleep(0.5)
            for _ in range(10):      # until the re-initialised device answers (slow under ASan)
                r = await c.rp(OBJ_DEVICE, dev, P_NAME)
                if r is not None and r.kind == "complex":
                    break
        else:
            check(is_error(a, 5, 45), f"{n}: ReinitializeDevice {st} refused: {a}")
    reason = b"\x02" if restarts else b"\x00"  # warmstart (the last one) / unknown
    check(await c.value(OBJ_DEVICE, dev, P_LAST_RESTART) == tag(9, False, reason),
          f"{n}: Last_Restart_Reason")
    v = await c.value(OBJ_DEVICE, dev, P_TIME_RESTART)
    check(v[:1] == b"\x2e" and v[-1:] == b"\x2f", f"{n}: Time_Of_Device_Restart {v.hex()}")


async def segmentation(c, dev, nobj):
    n = c.link.name
    a = await c.rp(OBJ_DEVICE, dev, P_OBJECT_LIST, sa=True, max_segs=7, nak_once=True)
    check(a is not None and a.kind == "complex", f"{n}: Object_List in segments: {a}")
    if a and a.kind == "complex":
        v = rp_ack_value(a.data)
        check(len(v) == 5 * nobj, f"{n}: Object_List has {len(v) // 5} entries, want {nobj}")
        check(a.segments > 1 and a.nakked, f"{n}: {a.segments} segments, NAK path {a.nakked}")


async def element_by_element(c, dev, nobj):
    n = c.link.name
    check(await c.value(OBJ_DEVICE, dev, P_OBJECT_LIST, 0) == app_u(nobj), f"{n}: count")
    bad = []
    for i in range(1, nobj + 1):
        a = await c.rp(OBJ_DEVICE, dev, P_OBJECT_LIST, i)
        if a is None or a.kind != "complex" or len(rp_ack_value(a.data)) != 5:
            bad.append((i, a))
    check(not bad, f"{n}: {len(bad)} of {nobj} elements unreadable: {bad[:3]}")
    check(is_error(await c.rp(OBJ_DEVICE, dev, P_OBJECT_LIST, nobj + 1), 2, 42),
          f"{n}: element {nobj + 1}")


def ctx_for(pki, node):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.load_verify_locations(pki.path("ca.pem"))
    c.check_hostname = False
    c.load_cert_chain(pki.path(node + ".pem"), pki.path(node + ".key"))
    return c


async def sc_part(pki, port, dev, want, prof, d):
    link = await Sc.connect(f"wss://127.0.0.1:{port}/", ctx_for(pki, "node3"))
    c = Client(link)
    got = await c.unconfirmed_answers(unconfirmed(8, ctx_u(0, dev) + ctx_u(1, dev)), 3)
    check(got, "SC: device found by Who-Is")
    # the VMAC the I-Am came from
    link.dev_vmac = None
    await link.send(npdu(unconfirmed(8, ctx_u(0, dev) + ctx_u(1, dev)), False), broadcast=True)
    while True:
        m = await asyncio.wait_for(link.ws.recv(), 5)
        if m[0] == 1 and m[1] & 0x08:
            link.dev_vmac = m[4:10]
            break
    await regression(c, dev, False)
    await broadcasts(c, dev)
    await command_priority(c)
    await claims(c, dev, False)
    await identity(c, dev, want)
    await segmented_requests(c, dev)
    await dcc_whohas_reinit(c, dev, None, restarts=True)
    await segmentation(c, dev, 5002)
    await link.close()


async def ip_part(bip_port, sock, dev, want):
    link = Bip(bip_port, sock)
    c = Client(link)
    await regression(c, dev, True)
    await broadcasts(c, dev)
    await command_priority(c)
    await claims(c, dev, True)
    await identity(c, dev, want)
    await segmented_requests(c, dev)
    await dcc_whohas_reinit(c, dev, "pw123")
    # Device, 5000 AVs, 2 Network Ports, 5 File objects (4 certificate files + the CRL)
    await element_by_element(c, dev, 5008)
    await segmentation(c, dev, 5008)
    await link.close()


def tshark_segments(d, bip_port, sock, dev):
    """Capture a segmented answer on B/IP and dissect it with tshark."""
    if not shutil.which("tshark"):
        print("note: tshark missing, capture check skipped")
        return
    cap = f"{d}/seg.pcapng"
    ts = subprocess.Popen(["tshark", "-i", "lo", "-f", f"udp port {bip_port}", "-w", cap],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    import sc_support
    sc_support._procs.append(ts)
    if not wait_until(lambda: os.path.exists(cap) and os.path.getsize(cap) > 0, 10):
        print("note: capture did not start, skipped")
        ts.kill()
        return
    time.sleep(0.5)

    async def go():
        c = Client(Bip(bip_port, sock))
        a = await c.rp(OBJ_DEVICE, dev, P_OBJECT_LIST, sa=True, max_segs=7)
        check(a is not None and a.kind == "complex", f"capture read: {a}")
        # a segmented request too: its segments and the device's Segment-ACKs
        orig = await c.value(OBJ_DEVICE, dev, P_DESCRIPTION)
        body = wp_body(OBJ_DEVICE, dev, P_DESCRIPTION, orig)
        got = await c.segmented(SVC_WP, body, 8, 2, list(range((len(body) + 7) // 8)))
        check(got and got[-1].kind == "ack", f"capture: segmented request: {got}")
        return a.segments if a else 0
    segs = asyncio.run(go())
    time.sleep(1)
    ts.send_signal(signal.SIGINT)
    ts.wait(10)
    dec = ["-d", f"udp.port=={bip_port},bvlc"]
    r = subprocess.run(["tshark", "-r", cap] + dec + ["-T", "fields", "-e", "bacapp.type",
                        "-e", "bacapp.sequence_number", "-e", "bacapp.segmented_request",
                        "-e", "bacapp.SRV"], capture_output=True, text=True)
    rows = [ln.split("\t") for ln in r.stdout.splitlines() if ln.strip()]
    req_segs = [x for x in rows if x[0] == "0" and x[2] in ("1", "True")]
    srv_acks = [x for x in rows if x[0] == "4" and x[3] in ("1", "True")]
    check(len(req_segs) >= 3 and srv_acks,
          f"tshark: {len(req_segs)} Confirmed-Request segments, {len(srv_acks)} Segment-ACKs "
          f"from the device dissected")
    seg_rows = [x for x in rows if x[0] == "3" and x[2] in ("1", "True")]
    ack_rows = [x for x in rows if x[0] == "4" and x[3] not in ("1", "True")]
    seqs = {x[1] for x in seg_rows}      # a slow run may see a window sent again
    check(len(seqs) == segs and segs > 1,
          f"tshark: {len(seqs)} distinct ComplexACK segments dissected "
          f"({len(seg_rows)} in all), {segs} received")
    check(ack_rows, "tshark: Segment-ACKs dissected")
    r2 = subprocess.run(["tshark", "-r", cap] + dec + ["-Y", "_ws.malformed || _ws.expert.severity >= 8388608"],
                        capture_output=True, text=True)
    check(r2.stdout.strip() == "", f"tshark: malformed/error packets:\n{r2.stdout[:800]}")
    print(f"ok: tshark dissected {len(seg_rows)} segments and {len(ack_rows)} Segment-ACKs")


def main():
    d = tmpdir("bacsc-conformance-")
    pki = Pki(make_pki(d, nodes=4))
    port = free_port()
    start_hub(pki, port, f"{d}/hub.log")
    want_sc = {"vendor_id": 555, "vendor_name": "Acme Controls", "model_name": "AC-1",
               "firmware_revision": "9.8.7", "application_software_version": "app-3",
               "location": "plant room 2", "description": "air handler 4"}
    dev = start(["device", "--instance", "1001", "--hub", f"wss://127.0.0.1:{port}",
                 "--av", "5000", "--vendor-id", "555", "--vendor-name", "Acme Controls",
                 "--model-name", "AC-1", "--firmware-revision", "9.8.7",
                 "--application-software-version", "app-3", "--location", "plant room 2",
                 "--description", "air handler 4"] + pki.cert("node1"), f"{d}/dev.log")
    check(wait_log(dev, "connected-to-primary", 20),
          "SC device connected")
    prof = profile(d, "prof.json", pki, port)
    # IP: a commissionable device in ip mode, identity from its config file
    want_ip = dict(want_sc, vendor_id=777, vendor_name="Config Vendor")
    cfg = f"{d}/ip.json"
    with open(cfg, "w") as f:
        json.dump(dict(want_ip, av=5000), f)
    bip_port = free_port()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    # the device's broadcasts (I-Am, I-Have) come to this script's socket
    ipdev = start(["device", "--state-dir", f"{d}/state", "--instance", "2002", "--bip",
                   f"127.0.0.1:{bip_port}", "--bip-broadcast",
                   f"127.0.0.1:{sock.getsockname()[1]}", "--password", "pw123",
                   "--config", cfg], f"{d}/ip.log")
    check(wait_log(ipdev, "device 2002", 15), "IP device started")
    time.sleep(0.5)

    asyncio.run(sc_part(pki, port, 1001, want_sc, prof, d))
    print("ok: BACnet/SC checks done")
    asyncio.run(ip_part(bip_port, sock, 2002, want_ip))
    print("ok: BACnet/IP checks done")

    # bacsc's own tools: Object_List read whole, RPM ALL of many objects
    r = tool(["read", "1001", "device,1001", "object-list", "--json", "--timeout", "10"], prof, 30)
    check(r.returncode == 0, f"bacsc read object-list: {r.stderr}")
    if r.returncode == 0:
        n = len(json.loads(r.stdout)["value"])
        check(n == 5002, f"bacsc read object-list: {n} entries")
    # the text form is the whole list too (it was cut at 8,191 characters)
    r = tool(["read", "1001", "device,1001", "object-list", "--timeout", "10"], prof, 30)
    n = r.stdout.count("analog-value,")
    check(r.returncode == 0 and n == 5000 and r.stdout.rstrip().endswith("network-port,1"),
          f"bacsc read object-list as text: rc {r.returncode}, {n} analog values, "
          f"ends {r.stdout.rstrip()[-30:]!r}")
    r = tool(["readm", "1001", "device,1001", "object-list", "--timeout", "10"], prof, 30)
    n = r.stdout.count("analog-value,")
    check(r.returncode == 0 and n == 5000 and r.stdout.rstrip().endswith("network-port,1"),
          f"bacsc readm object-list as text: rc {r.returncode}, {n} analog values, "
          f"ends {r.stdout.rstrip()[-30:]!r}")
    args = ["readm", "1001", "device,1001", "all"]
    for i in range(1, 150):
        args += [f"analog-value,{i}", "all"]
    r = tool(args + ["--timeout", "10"], prof, 60)
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and len(lines) == 28 + 149 * 13,
          f"bacsc readm ALL of 150 objects: rc {r.returncode}, {len(lines)} lines {r.stderr}")
    # bacsc write: a request larger than the device's max APDU goes out in
    # segments (the device takes them: segmented-both); the service answers
    r = tool(["write", "1001", "device,1001", "description", "y" * 3000, "--timeout", "10"],
             prof, 30)
    check(r.returncode == 1 and "error: property/value-too-long" in r.stderr,
          f"bacsc write of 3,000 characters, in segments: rc {r.returncode} {r.stderr}")
    r = tool(["write", "1001", "device,1001", "description", "z" * 128], prof, 30)
    check(r.returncode == 0, f"bacsc write of 128 characters: {r.stderr}")
    tshark_segments(d, bip_port, sock, 2002)
    stop(dev)
    stop(ipdev)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
