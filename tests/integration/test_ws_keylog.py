#!/usr/bin/python3
"""SSLKEYLOGFILE lets an independent tool decrypt bacsc's TLS traffic.

ws_peer (bacsc's WebSocket/TLS layer) serves with SSLKEYLOGFILE set; ws_peer
connects and sends a hand-built BVLC-SC Connect-Request that the server
echoes. tshark captures loopback traffic on the server port, then decrypts
it with the key log and must see: TLS 1.3, the WebSocket upgrade with
Sec-WebSocket-Protocol hub.bsc.bacnet.org, binary frames masked from the
client and unmasked from the server, the BVLC-SC Connect-Request dissected
(function 6, VMAC, UUID), a close with status 1000, and no malformed packet.
Skipped (exit 0 with a note) only if the capture cannot start.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get("BACSC_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
PEER = os.path.join(BUILD, "tests", "ws_peer")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def sh(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_pki(d):
    ext = os.path.join(d, "leaf.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n")
    p = lambda n: os.path.join(d, n)
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", p("ca.key"), "-out", p("ca.pem"), "-days", "2", "-subj", "/CN=keylog CA",
       "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    for n in ("server", "client"):
        sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", p(n + ".key"), "-out", p(n + ".csr"), "-subj", "/CN=" + n)
        sh("openssl", "x509", "-req", "-in", p(n + ".csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
           "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", p(n + ".pem"))


def main():
    if not shutil.which("tshark"):
        print("tshark missing")
        return 1
    d = tempfile.mkdtemp(prefix="bacsc-keylog-")
    procs = []
    try:
        make_pki(d)
        keys = os.path.join(d, "keys.log")
        cap = os.path.join(d, "cap.pcapng")
        env = dict(os.environ, SSLKEYLOGFILE=keys)
        server = subprocess.Popen([PEER, "serve", "--listen", "127.0.0.1:0", "--cert", f"{d}/server.pem",
                                   "--key", f"{d}/server.key", "--ca", f"{d}/ca.pem"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        procs.append(server)
        port = int(server.stdout.readline().split()[1])
        tshark = subprocess.Popen(["tshark", "-i", "lo", "-f", f"tcp port {port}", "-w", cap],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(tshark)
        started = False
        deadline = time.time() + 15
        while time.time() < deadline:
            line = tshark.stderr.readline()
            if not line:
                break
            if "Capturing on" in line:
                started = True
                break
        if not started:
            print("SKIP: cannot capture on lo (not permitted here)")
            return 0
        time.sleep(0.5)
        # Connect-Request: function 6, control 0, message id 0x1234, VMAC, UUID, 1600, 1497.
        connect_request = ("06001234" + "020000000001" + "00112233445566778899aabbccddeeff" +
                           "0640" + "05d9")
        out = subprocess.run([PEER, "connect", "--uri", f"wss://127.0.0.1:{port}/", "--cert", f"{d}/client.pem",
                              "--key", f"{d}/client.key", "--ca", f"{d}/ca.pem", "--send", connect_request],
                             capture_output=True, text=True, timeout=20)
        check(out.returncode == 0, "bacsc client and server exchanged the Connect-Request")
        time.sleep(1.0)
        tshark.send_signal(signal.SIGINT)
        tshark.wait(10)
        st = os.stat(keys)
        check(st.st_mode & 0o777 == 0o600, "key log file is mode 0600")
        klog = open(keys).read()
        check("CLIENT_TRAFFIC_SECRET_0" in klog and "SERVER_HANDSHAKE_TRAFFIC_SECRET" in klog,
              "key log has TLS 1.3 secrets in NSS format")

        def fields(filt, *names):
            args = ["tshark", "-r", cap, "-o", f"tls.keylog_file:{keys}", "-d", f"tcp.port=={port},tls",
                    "-Y", filt, "-T", "fields"]
            for n in names:
                args += ["-e", n]
            r = subprocess.run(args, capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                check(False, f"tshark -Y '{filt}' failed: {r.stderr.strip()[:200]}")
            print("   tshark", filt, "->", r.stdout.strip().replace("\n", " | ")[:300])
            return [l.split("\t") for l in r.stdout.splitlines() if l.strip()]

        check(any("0x0304" in r[0] for r in fields("tls.handshake.type == 2", "tls.handshake.extensions.supported_version")),
              "TLS 1.3 negotiated")
        up = fields("http.request", "http.request.method", "http.upgrade")
        check(len(up) == 1 and up[0][0] == "GET" and up[0][1].lower() == "websocket",
              "decrypted HTTP upgrade request seen")
        proto = fields("http.response.code == 101", "http.response.code")
        check(len(proto) == 1, "decrypted 101 Switching Protocols seen")
        frames = fields("websocket.opcode == 2", "websocket.mask", "tcp.srcport")
        client_frames = [f for f in frames if f[1] != str(port)]
        server_frames = [f for f in frames if f[1] == str(port)]
        check(len(client_frames) == 1 and client_frames[0][0] in ("1", "True"), "client binary frame masked")
        check(len(server_frames) == 1 and server_frames[0][0] in ("0", "False"), "server binary frame unmasked")
        bv = fields("bscvlc", "bscvlc.function", "bscvlc.msgid", "bscvlc.connect_uuid", "bscvlc.max_npdu_length")
        check(len(bv) == 2, f"tshark dissected 2 BVLC-SC messages ({len(bv)})")
        check(all(r[0] in ("0x06", "6") and r[1] in ("0x1234", "4660") for r in bv),
              f"BVLC-SC Connect-Request with message id 0x1234 ({bv})")
        close = fields("websocket.opcode == 8", "websocket.payload.close.status_code")
        check(len(close) == 2 and all(c[0] == "1000" for c in close), f"close handshake with 1000 ({close})")
        bad = fields("_ws.malformed || _ws.expert.severity == error", "frame.number")
        check(not bad, f"no malformed or error-marked packets ({bad})")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(d, ignore_errors=True)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
