#!/usr/bin/python3
"""Timers driven by the daemons' event loops, with a hub configured through
its JSON config file (heartbeat 1 s, connect wait 1 s, disconnect wait 1 s):

  - a `bacsc device` with heartbeat 1 s stays connected for 5 s (it sends
    Heartbeat-Requests; the hub, which drops nodes silent for 2 x heartbeat,
    keeps it);
  - a Python node that joins and then stays silent is dropped by the hub
    after about 2 x heartbeat (logged as heartbeat-timeout);
  - a Python WebSocket that never sends Connect-Request is closed after the
    connect wait;
  - SIGTERM with a node that never answers Disconnect-Request: the hub still
    exits 0 within disconnect wait + 1 s (+ slack).
"""
import asyncio
import json
import os
import ssl
import struct
import sys
import time
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa

import websockets

HUBP = "hub.bsc.bacnet.org"


def ctx(pki):
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.load_verify_locations(pki.path("ca.pem"))
    c.check_hostname = False
    c.load_cert_chain(pki.path("node2.pem"), pki.path("node2.key"))
    return c


async def silent_node(pki, port):
    ws = await websockets.connect(f"wss://127.0.0.1:{port}/", ssl=ctx(pki), subprotocols=[HUBP])
    await ws.send(struct.pack(">BBH", 6, 0, 1) + bytes.fromhex("02e1e2e3e4e5") + uuidlib.uuid4().bytes
                  + struct.pack(">HH", 1600, 1497))
    m = await asyncio.wait_for(ws.recv(), 5)
    check(m[0] == 7, "silent Python node joined")
    t0 = time.time()
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 10 * SLOW)
    except websockets.exceptions.ConnectionClosed:
        pass
    except asyncio.TimeoutError:
        pass
    dt = time.time() - t0
    check(ws.closed and 1.5 <= dt <= 4 * SLOW, f"the hub dropped the silent node after {dt:.1f} s (2 x heartbeat = 2 s)")


async def no_connect_request(pki, port):
    ws = await websockets.connect(f"wss://127.0.0.1:{port}/", ssl=ctx(pki), subprotocols=[HUBP])
    t0 = time.time()
    try:
        await asyncio.wait_for(ws.recv(), 10 * SLOW)
    except websockets.exceptions.ConnectionClosed:
        pass
    except asyncio.TimeoutError:
        pass
    dt = time.time() - t0
    check(ws.closed and 0.8 <= dt <= 3 * SLOW, f"no Connect-Request: closed after the connect wait ({dt:.1f} s)")


async def deaf_node(pki, port):
    ws = await websockets.connect(f"wss://127.0.0.1:{port}/", ssl=ctx(pki), subprotocols=[HUBP])
    await ws.send(struct.pack(">BBH", 6, 0, 1) + bytes.fromhex("02f1f2f3f4f5") + uuidlib.uuid4().bytes
                  + struct.pack(">HH", 1600, 1497))
    await asyncio.wait_for(ws.recv(), 5)
    return ws


def main():
    d = tmpdir("bacsc-sctimers-")
    pki = Pki(make_pki(d, nodes=2))
    port = free_port()
    cfg = os.path.join(d, "hub.json")
    with open(cfg, "w") as f:
        json.dump({"listen": f"127.0.0.1:{port}", "cert": pki.path("hub.pem"), "key": pki.path("hub.key"),
                   "ca": pki.path("ca.pem"), "heartbeat": 1, "connect_wait": 1, "disconnect_wait": 1,
                   "log_level": "info"}, f)
    hub = start(["hub", "--config", cfg], f"{d}/hub.log")
    check(wait_log(hub, "hub: listening on"), "hub started from its config file")
    dcfg = os.path.join(d, "dev.json")
    with open(dcfg, "w") as f:
        json.dump({"heartbeat": 1}, f)
    dev = start(["device", "--instance", "11", "--hub", f"wss://127.0.0.1:{port}", "--config", dcfg]
                + pki.cert("node1"), f"{d}/dev.log")
    check(wait_log(dev, "connected-to-primary"), "device with heartbeat 1 s connected")
    asyncio.run(silent_node(pki, port))
    asyncio.run(no_connect_request(pki, port))
    time.sleep(1)
    check(log_count(dev, "no-hub-connection") == 0 and log_count(dev, "connecting to") == 1,
          "the heartbeating device kept its one connection")
    check("heartbeat-timeout" in open(hub.log).read(), "hub logged the heartbeat timeout")
    check(stop(dev) == 0, "device exits 0")

    async def term_with_deaf():
        ws = await deaf_node(pki, port)
        t0 = time.time()
        hub.send_signal(15)
        while hub.poll() is None and time.time() - t0 < 10 * SLOW:
            await asyncio.sleep(0.05)
        dt = time.time() - t0
        check(hub.poll() == 0 and dt <= 2.5 * SLOW, f"SIGTERM with a node that never ACKs: exit 0 after {dt:.1f} s")
        await ws.close()
    asyncio.run(term_with_deaf())
    return finish()


if __name__ == "__main__":
    sys.exit(main())
