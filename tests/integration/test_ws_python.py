#!/usr/bin/python3
"""Interoperability of bacsc's WebSocket/TLS layer with Python `websockets`
(an independent RFC 6455 implementation) over real TLS 1.3 with mutual
authentication on 127.0.0.1.

  1. Python client -> bacsc server (tests/tools/ws_peer serve):
     subprotocol hub.bsc.bacnet.org negotiated, binary echo (small, 1400,
     60000 octets, fragmented), ping; text frame -> close 1003; oversized
     message -> close 1009; missing / dc-only subprotocol -> HTTP 400;
     no client certificate -> refused; TLS 1.2 -> refused.
  2. bacsc client (ws_peer connect) -> Python server: exchange and clean close;
     the Python server saw our client certificate and the subprotocol.
Certificates are made with the openssl command (EC P-256).
"""
import asyncio
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile

import websockets

BUILD = os.environ.get("BACSC_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
PEER = os.path.join(BUILD, "tests", "ws_peer")
HUB = "hub.bsc.bacnet.org"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def sh(*args, **kw):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)


def make_pki(d):
    ext = os.path.join(d, "leaf.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n")
    p = lambda n: os.path.join(d, n)
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "30", "-subj", "/CN=py test CA",
       "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    for name in ("server", "client"):
        sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", p(name + ".key"), "-out", p(name + ".csr"), "-subj", "/CN=" + name)
        sh("openssl", "x509", "-req", "-in", p(name + ".csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
           "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", p(name + ".pem"))


def client_ctx(d, cert=True, tls12=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(d, "ca.pem"))
    ctx.check_hostname = True  # our test certificate carries IP:127.0.0.1
    if cert:
        ctx.load_cert_chain(os.path.join(d, "client.pem"), os.path.join(d, "client.key"))
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


async def python_client_tests(d, port):
    uri = f"wss://127.0.0.1:{port}/hub"
    # Default client settings: it offers permessage-deflate, which bacsc declines
    # by not answering it (so no RSV1-compressed frames may follow).
    async with websockets.connect(uri, ssl=client_ctx(d), subprotocols=[HUB], max_size=None) as ws:
        check(ws.subprotocol == HUB, "bacsc server selected hub.bsc.bacnet.org")
        check(not ws.extensions, "no WebSocket extension negotiated")
        for size in (1, 1400, 60000):
            data = bytes((i * 7 + size) & 0xFF for i in range(size))
            await ws.send(data)
            echo = await asyncio.wait_for(ws.recv(), 5)
            check(echo == data, f"binary echo of {size} octets")
        await ws.send([b"frag", b"mented", b"!"])  # one message in three frames
        echo = await asyncio.wait_for(ws.recv(), 5)
        check(echo == b"fragmented!", "fragmented message reassembled")
        pong = await ws.ping(b"p")
        await asyncio.wait_for(pong, 5)
        check(True, "ping answered with pong")

    # Text frame -> close 1003 (BACnet/SC is binary only).
    async with websockets.connect(uri, ssl=client_ctx(d), subprotocols=[HUB], compression=None) as ws:
        await ws.send("hello")
        try:
            await asyncio.wait_for(ws.recv(), 5)
            check(False, "text frame refused")
        except websockets.ConnectionClosed as e:
            check(e.rcvd is not None and e.rcvd.code == 1003, f"text frame refused with 1003 ({e})")

    # Oversized message (server runs with --max-message 65536) -> close 1009.
    async with websockets.connect(uri, ssl=client_ctx(d), subprotocols=[HUB], max_size=None,
                                  compression=None) as ws:
        await ws.send(bytes(70000))
        try:
            await asyncio.wait_for(ws.recv(), 5)
            check(False, "oversized message refused")
        except websockets.ConnectionClosed as e:
            check(e.rcvd is not None and e.rcvd.code == 1009, f"oversized message refused with 1009 ({e})")

    # Subprotocol missing / only dc offered -> HTTP 400.
    for protos, what in ((None, "missing subprotocol"), (["dc.bsc.bacnet.org"], "dc-only subprotocol at a hub")):
        try:
            async with websockets.connect(uri, ssl=client_ctx(d), subprotocols=protos):
                check(False, what + " refused")
        except websockets.InvalidStatusCode as e:
            check(e.status_code == 400, f"{what} refused with HTTP {e.status_code}")

    # No client certificate / TLS 1.2 -> the connection never opens.
    for ctx, what in ((client_ctx(d, cert=False), "client without certificate"),
                      (client_ctx(d, tls12=True), "TLS 1.2 client")):
        try:
            async with websockets.connect(uri, ssl=ctx, subprotocols=[HUB], open_timeout=5) as ws:
                await asyncio.wait_for(ws.recv(), 5)
            check(False, what + " refused")
        except (ssl.SSLError, websockets.ConnectionClosed, websockets.InvalidHandshake,
                ConnectionError, EOFError, OSError) as e:
            check(True, f"{what} refused ({type(e).__name__})")


async def python_server_tests(d):
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.minimum_version = ssl.TLSVersion.TLSv1_3
    sctx.load_cert_chain(os.path.join(d, "server.pem"), os.path.join(d, "server.key"))
    sctx.load_verify_locations(os.path.join(d, "ca.pem"))
    sctx.verify_mode = ssl.CERT_REQUIRED
    seen = {}

    async def handler(ws, path=None):
        seen["proto"] = ws.subprotocol
        seen["cert"] = ws.transport.get_extra_info("peercert")
        async for msg in ws:
            seen.setdefault("types", set()).add(type(msg).__name__)
            await ws.send(msg)

    async with websockets.serve(handler, "127.0.0.1", 0, ssl=sctx, subprotocols=[HUB],
                                max_size=None, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        args = [PEER, "connect", "--uri", f"wss://127.0.0.1:{port}/",
                "--cert", os.path.join(d, "client.pem"), "--key", os.path.join(d, "client.key"),
                "--ca", os.path.join(d, "ca.pem"), "--send", "0a0b0c", "--size", "1400",
                "--size", "50000", "--size", "0"]
        proc = await asyncio.create_subprocess_exec(*args, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), 20)
        except asyncio.TimeoutError:
            proc.kill()
            out, _ = await proc.communicate()
        text = out.decode(errors="replace")
        print(text, end="")
        check(proc.returncode == 0, "bacsc client exchanged 4 messages with the Python server and closed cleanly")
        check(text.count("RECV ") == 4, "bacsc client received 4 echoes")
        check(seen.get("proto") == HUB, "Python server saw subprotocol hub.bsc.bacnet.org")
        check(bool(seen.get("cert")), "Python server received the bacsc client certificate")
        check(seen.get("types") == {"bytes"}, "bacsc client sent binary frames only")


def main():
    if not os.access(PEER, os.X_OK):
        print("ws_peer not built:", PEER)
        return 1
    d = tempfile.mkdtemp(prefix="bacsc-wspy-")
    server = None
    try:
        make_pki(d)
        server = subprocess.Popen([PEER, "serve", "--listen", "127.0.0.1:0",
                                   "--cert", os.path.join(d, "server.pem"),
                                   "--key", os.path.join(d, "server.key"),
                                   "--ca", os.path.join(d, "ca.pem"), "--max-message", "65536"],
                                  stdout=subprocess.PIPE, text=True)
        line = server.stdout.readline()
        check(line.startswith("PORT "), "ws_peer server listening")
        port = int(line.split()[1])
        asyncio.run(python_client_tests(d, port))
        asyncio.run(python_server_tests(d))
    finally:
        if server:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(5)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(d, ignore_errors=True)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
