#!/usr/bin/python3
"""What `bacsc hub` refuses, and that refusing never disturbs anyone else.

A hub with device 1001 connected. Each case below is attempted, its error
asserted, and then a ReadProperty through the hub to device 1001 must
still succeed and the device must not have lost its hub connection.

Independent client: Python `websockets` (Debian python3-websockets 10.4) and
the `ssl` module / openssl s_client, with BVLC-SC frames built by hand here.

  1. hand-built Connect-Request with subprotocol hub.bsc.bacnet.org →
     Connect-Accept (same Message-ID, 26-octet payload); then an unknown
     function → NAK 143; a must-understand unknown header option → NAK 146
     naming its marker; Heartbeat-Request → ACK; Disconnect-Request → ACK
  2. node certificate signed by another CA → refused (TLS; hub logs 180)
  3. expired certificate → refused (hub logs 184 client-certificate-expired)
  4. no client certificate (openssl s_client) → certificate required (182)
  5. TLS 1.2 (openssl s_client -tls1_2) → protocol version alert (188)
  6. text frame → close 1003
  7. missing subprotocol / dc.bsc.bacnet.org / unknown → HTTP 400
  8. oversized frame (70,000 octets) → close 1009
  9. Connect-Request with a short payload → NAK 147 (and close)
 10. an Encapsulated-NPDU before Connect-Request → closed, no Connect-Accept
 11. duplicate VMAC, other UUID: a second Python node → NAK 151; a bacsc
     device configured with the same VMAC → logs NAK 151, picks a new VMAC,
     joins and answers Who-Is; the first holder is still connected
"""
import asyncio
import os
import re
import ssl
import struct
import subprocess
import sys
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa

import websockets

HUBP = "hub.bsc.bacnet.org"


def connect_request(msgid, vmac, uid, max_bvlc=1600, max_npdu=1497):  # noqa: E302
    return struct.pack(">BBH", 6, 0, msgid) + vmac + uid + struct.pack(">HH", max_bvlc, max_npdu)


def parse_result(m):
    """BVLC-Result → (result_for, code, marker, class, error_code)."""
    fn, ctl, mid = struct.unpack(">BBH", m[:4])
    off = 4 + (6 if ctl & 8 else 0) + (6 if ctl & 4 else 0)
    p = m[off:]
    if fn != 0 or len(p) < 2:
        return None
    if p[1] == 0:
        return (p[0], 0, 0, 0, 0, mid)
    marker, ecls, ecode = struct.unpack(">BHH", p[2:7])
    return (p[0], 1, marker, ecls, ecode, mid)


class Env:
    pass


def ctx(e, name="node2", tls12=False):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.load_verify_locations(e.pki.path("ca.pem"))
    c.check_hostname = False
    if name:
        c.load_cert_chain(e.pki.path(name + ".pem"), e.pki.path(name + ".key"))
    if tls12:
        c.maximum_version = ssl.TLSVersion.TLSv1_2
    return c


def undisturbed(e, what):
    r = tool(["read", "1001", "analog-value,1", "object-name", "--timeout", "8"], e.prof, 20)
    ok = r.returncode == 0 and r.stdout.strip() == '"AV-1"'
    losses = log_count(e.dev, "no-hub-connection")
    check(ok and losses == 0, f"after {what}: read through the hub still works, device 1001 kept its connection"
          + ("" if ok else f" [{r.returncode} {r.stderr.strip()}]") + ("" if losses == 0 else " [device lost hub]"))


async def hand_built(e):
    uri = f"wss://127.0.0.1:{e.port}/"
    vmac = bytes.fromhex("02a1a2a3a4a5")
    uid = uuidlib.uuid4().bytes
    async with websockets.connect(uri, ssl=ctx(e), subprotocols=[HUBP], open_timeout=10) as ws:
        check(ws.subprotocol == HUBP, "Python websockets: hub.bsc.bacnet.org negotiated")
        await ws.send(connect_request(0x1234, vmac, uid))
        m = await asyncio.wait_for(ws.recv(), 10)
        fn, ctl, mid = struct.unpack(">BBH", m[:4])
        check(fn == 7 and mid == 0x1234 and len(m) == 4 + 26,
              f"hand-built Connect-Request answered by Connect-Accept (fn {fn}, id {mid:#x}, {len(m)} octets)")
        # unknown function 0x1F
        await ws.send(struct.pack(">BBH", 0x1F, 0, 0x2001))
        res = parse_result(await asyncio.wait_for(ws.recv(), 10))
        check(res and res[0] == 0x1F and res[1] == 1 and res[3] == 7 and res[4] == 143 and res[5] == 0x2001,
              f"unknown function → NAK 143 ({res})")
        # must-understand unknown destination option (type 7, marker 0x47) on a message for the hub
        await ws.send(struct.pack(">BBH", 0x05, 0x02, 0x2002) + bytes([0x47]))
        res = parse_result(await asyncio.wait_for(ws.recv(), 10))
        check(res and res[0] == 0x05 and res[1] == 1 and res[2] == 0x47 and res[4] == 146,
              f"must-understand unknown option → NAK 146 naming marker 0x47 ({res})")
        await ws.send(struct.pack(">BBH", 0x0A, 0, 0x2003))
        m = await asyncio.wait_for(ws.recv(), 10)
        check(m[0] == 0x0B and struct.unpack(">H", m[2:4])[0] == 0x2003, "Heartbeat-Request → Heartbeat-ACK")
        await ws.send(struct.pack(">BBH", 0x08, 0, 0x2004))
        m = await asyncio.wait_for(ws.recv(), 10)
        check(m[0] == 0x09 and struct.unpack(">H", m[2:4])[0] == 0x2004, "Disconnect-Request → Disconnect-ACK")


async def joined(e, vmac, uid):
    ws = await websockets.connect(f"wss://127.0.0.1:{e.port}/", ssl=ctx(e), subprotocols=[HUBP], open_timeout=10)
    await ws.send(connect_request(1, vmac, uid))
    return ws, await asyncio.wait_for(ws.recv(), 10)


async def closed_code(ws, timeout=10):
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except websockets.exceptions.ConnectionClosed:
        return ws.close_code
    except asyncio.TimeoutError:
        return None


async def text_frame(e):
    ws, m = await joined(e, bytes.fromhex("02b1b2b3b4b5"), uuidlib.uuid4().bytes)
    await ws.send("this is text")
    code = await closed_code(ws)
    check(code == 1003, f"text frame → WebSocket close 1003 ({code})")


async def subprotocols(e):
    for offer, label in ((None, "missing"), (["dc.bsc.bacnet.org"], "dc.bsc.bacnet.org"), (["chat"], "unknown")):
        status = None
        try:
            kw = {"subprotocols": offer} if offer else {}
            async with websockets.connect(f"wss://127.0.0.1:{e.port}/", ssl=ctx(e), open_timeout=10, **kw) as ws:
                status = f"opened with {ws.subprotocol}"
        except websockets.exceptions.InvalidStatusCode as x:
            status = x.status_code
        except Exception as x:  # noqa
            status = repr(x)
        check(status == 400, f"{label} subprotocol → HTTP 400 ({status})")


async def oversized(e):
    ws, m = await joined(e, bytes.fromhex("02c1c2c3c4c5"), uuidlib.uuid4().bytes)
    await ws.send(b"\x01\x00\x00\x01" + bytes(70000))
    code = await closed_code(ws)
    check(code == 1009, f"oversized frame (70,004 octets) → close 1009 ({code})")


async def npdu_over_limit(e):
    """An NPDU over the hub's Max-NPDU-Length (8000) inside a message under its
    Max-BVLC-Length (9000): close 1009 (message too big), which a peer can act on."""
    ws, m = await joined(e, bytes.fromhex("02e1e2e3e4e5"), uuidlib.uuid4().bytes)
    await ws.send(struct.pack(">BBH", 1, 0, 0x4001) + bytes(8001))
    code = await closed_code(ws)
    check(code == 1009, f"NPDU of 8,001 octets in a 8,005-octet message → close 1009 ({code})")


async def peer_limits(e):
    """bacnet-stack quirks: zero limits refused (NAK 150); byte-swapped limits
    read as the smaller value and logged once; small limits honoured (relays
    above them dropped, counted, logged once per peer)."""
    ws = await websockets.connect(f"wss://127.0.0.1:{e.port}/", ssl=ctx(e), subprotocols=[HUBP], open_timeout=10)
    await ws.send(connect_request(0x4101, bytes.fromhex("02f0f0f0f0f0"), uuidlib.uuid4().bytes, 0, 0))
    res = parse_result(await asyncio.wait_for(ws.recv(), 10))
    check(res and res[0] == 6 and res[1] == 1 and res[4] == 150,
          f"Connect-Request with Max-BVLC/NPDU-Length 0 → NAK 150 ({res})")
    check(await closed_code(ws) is not None, "... and closed")
    check(wait_log(e.hub, "Max-BVLC-Length 0 / Max-NPDU-Length 0: too small", 5), "... and logged")
    swv, smv = bytes.fromhex("02f1f1f1f1f1"), bytes.fromhex("02f2f2f2f2f2")
    sw = await websockets.connect(f"wss://127.0.0.1:{e.port}/", ssl=ctx(e), subprotocols=[HUBP], open_timeout=10)
    await sw.send(connect_request(0x4102, swv, uuidlib.uuid4().bytes, 0xDC05, 0xD905))  # 1500/1497 LE
    m = await asyncio.wait_for(sw.recv(), 10)
    check(m[0] == 7, "byte-swapped limits (56,325 / 55,557) accepted")
    check(wait_log(e.hub, "Max-BVLC-Length 56325 / Max-NPDU-Length 55557, which look byte-swapped", 5)
          and "using 1500 / 1497" in open(e.hub.log).read(), "... logged naming the suspected byte order")
    small = await websockets.connect(f"wss://127.0.0.1:{e.port}/", ssl=ctx(e), subprotocols=[HUBP], open_timeout=10)
    await small.send(connect_request(0x4103, smv, uuidlib.uuid4().bytes, 600, 501))
    m = await asyncio.wait_for(small.recv(), 10)
    check(m[0] == 7, "small but valid limits (600 / 501) accepted")
    src, _ = await joined(e, bytes.fromhex("02f3f3f3f3f3"), uuidlib.uuid4().bytes)

    async def relay(dest, n, ident):
        await src.send(struct.pack(">BBH", 1, 0x04, ident) + dest + bytes(n))

    async def got(ws):
        try:
            return await asyncio.wait_for(ws.recv(), 1.5)
        except asyncio.TimeoutError:
            return None

    await relay(swv, 1600, 0x4201)
    check(await got(sw) is None, "1,600-octet NPDU not relayed to the byte-swapped peer (1,497)")
    await relay(swv, 1400, 0x4202)
    r = await got(sw)
    check(r is not None and len(r) == 4 + 6 + 1400, f"1,400-octet NPDU relayed to it ({r and len(r)})")
    await relay(smv, 502, 0x4203)
    await relay(smv, 520, 0x4204)
    check(await got(small) is None, "NPDUs over 501 not relayed to the small peer")
    await relay(smv, 480, 0x4205)
    r = await got(small)
    check(r is not None and len(r) == 490, f"a 480-octet NPDU relayed to it ({r and len(r)})")
    log = open(e.hub.log).read()
    check(log.count("accepts at most 600 octets (NPDU 501)") == 1,
          "the drops for the small peer logged once")
    for w in (sw, small, src):
        await w.close()


async def control_flood(e):
    """500 Heartbeat-Requests at once: only the burst (40) and the rate (20/s)
    are answered; the node stays connected (a flood that goes on for 10 s
    closes it: unit test sc_conn control_flood_limited_then_closed)."""
    ws, m = await joined(e, bytes.fromhex("02a9a9a9a9a9"), uuidlib.uuid4().bytes)
    for i in range(500):
        await ws.send(struct.pack(">BBH", 0x0A, 0, 0x5000 + i))
    acks = 0
    try:
        while True:
            r = await asyncio.wait_for(ws.recv(), 1.0)
            acks += r[0] == 0x0B
    except asyncio.TimeoutError:
        pass
    check(40 <= acks <= 100, f"500 Heartbeat-Requests at once: {acks} answered (burst 40 + 20/s)")
    await ws.send(struct.pack(">BBH", 0x0A, 0, 0x5999))
    r = await asyncio.wait_for(ws.recv(), 5)
    check(r[0] == 0x0B, "after a pause the node is answered again")
    await ws.close()


async def short_connect(e):
    ws = await websockets.connect(f"wss://127.0.0.1:{e.port}/", ssl=ctx(e), subprotocols=[HUBP], open_timeout=10)
    await ws.send(struct.pack(">BBH", 6, 0, 0x3001) + bytes(10))
    res = None
    try:
        res = parse_result(await asyncio.wait_for(ws.recv(), 10))
    except websockets.exceptions.ConnectionClosed:
        pass
    code = await closed_code(ws)
    check(res and res[0] == 6 and res[1] == 1 and res[4] == 147 and res[5] == 0x3001,
          f"short Connect-Request → NAK 147 ({res})")
    check(code is not None, f"... and the connection is closed ({code})")


async def npdu_first(e):
    ws = await websockets.connect(f"wss://127.0.0.1:{e.port}/", ssl=ctx(e), subprotocols=[HUBP], open_timeout=10)
    await ws.send(struct.pack(">BBH", 1, 0x04, 0x3002) + b"\xff" * 6 + b"\x01\x20\xff\xff\x00\xff\x10\x08")
    got = []
    try:
        while True:
            got.append(await asyncio.wait_for(ws.recv(), 10))
    except websockets.exceptions.ConnectionClosed:
        pass
    except asyncio.TimeoutError:
        got.append("timeout")
    check(ws.close_code is not None and not any(isinstance(g, bytes) and g[:1] == b"\x07" for g in got),
          f"NPDU before Connect-Request → closed ({ws.close_code}), no Connect-Accept")


async def duplicate(e):
    vmac = bytes.fromhex("02d1d2d3d4d5")
    holder, m = await joined(e, vmac, uuidlib.uuid4().bytes)
    check(m[0] == 7, "first node holds VMAC 02:d1:d2:d3:d4:d5")
    other, m2 = await joined(e, vmac, uuidlib.uuid4().bytes)
    res = parse_result(m2)
    check(res and res[0] == 6 and res[1] == 1 and res[4] == 151, f"same VMAC, other UUID → NAK 151 ({res})")
    await closed_code(other, 5)
    dev = start(["device", "--instance", "2001", "--hub", f"wss://127.0.0.1:{e.port}", "--vmac", "02:d1:d2:d3:d4:d5"]
                + e.pki.cert("node3"), f"{e.d}/dev2001.log")
    check(wait_log(dev, "NAK 151"), "bacsc device with the same VMAC is told NAK 151")
    check(wait_log(dev, "connected-to-primary"), "... picks a new VMAC and joins")
    newv = re.search(r"new VMAC ([0-9a-f:]{17})", open(dev.log).read())
    check(newv and newv.group(1) != "02:d1:d2:d3:d4:d5", f"... with a different VMAC ({newv and newv.group(1)})")
    r = tool(["whois", "--low", "2001", "--high", "2001", "--timeout", "2"], e.prof)
    check(r.returncode == 0 and "device 2001" in r.stdout and newv and newv.group(1) in r.stdout,
          "device 2001 answers Who-Is from its new VMAC")
    await holder.send(struct.pack(">BBH", 0x0A, 0, 0x4001))
    acked = False
    try:
        for _ in range(50):  # skip relayed broadcasts (Who-Is, I-Am)
            m = await asyncio.wait_for(holder.recv(), 10)
            if m[0] == 0x0B and struct.unpack(">H", m[2:4])[0] == 0x4001:
                acked = True
                break
    except Exception:
        pass
    check(acked, "the original VMAC holder is still connected (Heartbeat-ACK)")
    await holder.close()
    stop(dev)


def tls_rejections(e):
    hublog = lambda: open(e.hub.log).read()
    for name, code, label in (("othernode", "180", "certificate signed by another CA"),
                              ("expired", "184", "expired certificate")):
        before = hublog().count(f" {code} ")
        r = tool(["read", "1001", "device,1001", "object-name", "--timeout", "3", "--cert", e.pki.path(name + ".pem"),
                  "--key", e.pki.path(name + ".key")], e.prof, 20)
        if name == "expired":
            # bacsc checks its own files at start-up (exit 3, one line) and never
            # connects: the hub's refusal is driven with openssl s_client instead.
            check(r.returncode == 3 and "expired.pem: certificate expired on" in r.stderr,
                  f"{label}: bacsc read refuses it at start-up ({r.stderr.strip()[:160]})")
            subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{e.port}", "-cert",
                            e.pki.path("expired.pem"), "-key", e.pki.path("expired.key"), "-ign_eof"],
                           input="", capture_output=True, text=True, timeout=20)
        else:
            check(r.returncode == 4 and re.search(r"hub .* refused our certificate .*: unknown issuer \(180 ", r.stderr),
                  f"{label}: client refused with a TLS error ({r.stderr.strip()[:160]})")
        check(wait_until(lambda: hublog().count(f" {code} ") > before, 5), f"{label}: hub logged error {code}")
        undisturbed(e, label)
    # no client certificate
    before = hublog().count(" 182 ")
    req = (f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
           f"Sec-WebSocket-Protocol: {HUBP}\r\n\r\n")
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{e.port}", "-CAfile", e.pki.path("ca.pem"),
                        "-ign_eof"], input=req, capture_output=True, text=True, timeout=20)
    out = r.stdout + r.stderr
    check("101 Switching" not in out and re.search(r"certificate required|alert number 116", out),
          "no client certificate → alert certificate required, no upgrade")
    check(wait_until(lambda: hublog().count(" 182 ") > before, 5), "no client certificate: hub logged 182")
    undisturbed(e, "a client without a certificate")
    before = hublog().count(" 188 ")
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{e.port}", "-tls1_2",
                        "-cert", e.pki.path("node2.pem"), "-key", e.pki.path("node2.key")],
                       input="", capture_output=True, text=True, timeout=20)
    out = r.stdout + r.stderr
    check(r.returncode != 0 and re.search(r"protocol version|alert number 70", out),
          "TLS 1.2 → protocol version alert")
    check(wait_until(lambda: hublog().count(" 188 ") > before, 5), "TLS 1.2: hub logged 188 tls-error")
    undisturbed(e, "a TLS 1.2 client")


def main():
    e = Env()
    e.d = tmpdir("bacsc-screj-")
    e.pki = Pki(make_pki(e.d, nodes=4, extras=True))
    e.port = free_port()
    e.hub = start_hub(e.pki, e.port, f"{e.d}/hub.log", ["--log-level", "info"])
    e.dev = start(["device", "--instance", "1001", "--hub", f"wss://127.0.0.1:{e.port}"] + e.pki.cert("node1"),
                  f"{e.d}/dev1001.log")
    check(wait_log(e.dev, "connected-to-primary"), "device 1001 connected")
    e.prof = profile(e.d, "profile.json", e.pki, e.port)
    undisturbed(e, "start-up")

    asyncio.run(hand_built(e))
    undisturbed(e, "the hand-built session, NAK 143 and NAK 146")
    tls_rejections(e)
    for fn, label in ((text_frame, "a text frame"), (subprotocols, "bad subprotocols"),
                      (oversized, "an oversized frame"), (npdu_over_limit, "an NPDU over the limit"),
                      (peer_limits, "odd peer limits"), (control_flood, "a heartbeat flood"),
                      (short_connect, "a short Connect-Request"),
                      (npdu_first, "an NPDU before Connect-Request"), (duplicate, "a duplicate VMAC")):
        asyncio.run(fn(e))
        undisturbed(e, label)
    check(e.hub.poll() is None, "hub still running")
    check(stop(e.dev) == 0 and stop(e.hub) == 0, "device and hub exit 0")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
