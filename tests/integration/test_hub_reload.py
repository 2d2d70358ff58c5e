#!/usr/bin/python3
"""`bacsc hub` reloads certificate, key, issuers and CRL without dropping nodes.

  - the hub starts with --crl (an empty CRL); devices 1301 (node1) and 1302
    (node2) join;
  - the CRL file is replaced by one revoking node1: within a few seconds
    (file change, no signal) node1's connection is closed with a logged reason
    naming the revocation, node2 stays connected (same `since`);
  - SIGHUP with a CRL that also revokes node2: node2 is disconnected, the
    hub keeps running;
  - SIGHUP with an unreadable CRL: an error line, configuration unchanged,
    the hub keeps running and still accepts node3;
  - the hub certificate is replaced (same key, new serial) and SIGHUP'd: a
    new TLS connection gets the new certificate.
"""
import datetime
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa: F401,F403
import sc_support

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization


def write_crl(pki, path, revoked):
    ca_key = serialization.load_pem_private_key(open(pki.path("ca.key"), "rb").read(), None)
    ca = x509.load_pem_x509_certificate(open(pki.path("ca.pem"), "rb").read())
    now = datetime.datetime.utcnow()
    b = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)
         .last_update(now - datetime.timedelta(minutes=1)).next_update(now + datetime.timedelta(days=1)))
    for name in revoked:
        cert = x509.load_pem_x509_certificate(open(pki.path(name + ".pem"), "rb").read())
        b = b.add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(cert.serial_number)
                                      .revocation_date(now - datetime.timedelta(minutes=1)).build())
    crl = b.sign(ca_key, hashes.SHA256())
    tmp = path + ".tmp"
    open(tmp, "wb").write(crl.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp, path)


def hub_peers(hub, d):
    r = tool(["status", "--status-file", f"{d}/hub-status.json", "--pid", str(hub.pid), "--json",
              "--timeout", "5"])
    if r.returncode != 0:
        return {}
    return {p.get("uuid"): p for p in json.loads(r.stdout)["hub"]["peers"] if p.get("connected")}


def server_serial(port):
    pem = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_3"],
                         input="", capture_output=True, text=True, timeout=10).stdout
    c = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem, capture_output=True,
                       text=True).stdout
    return c.strip()


def main():
    d = tmpdir("bacsc-reload-")
    # a CA that may sign CRLs (keyCertSign, cRLSign)
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", os.path.join(d, "ca.key"), "-out", os.path.join(d, "ca.pem"), "-days", "30",
       "-subj", "/CN=ca", "-addext", "basicConstraints=critical,CA:TRUE",
       "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for n in ("hub", "node1", "node2", "node3"):
        sc_support._leaf(d, n, "ca")
    pki = Pki(d)
    crl = os.path.join(d, "crl.pem")
    write_crl(pki, crl, [])
    port = free_port()
    hub = start_hub(pki, port, f"{d}/hub.log", ["--crl", crl, "--status-file", f"{d}/hub-status.json"])
    check(wait_until(lambda: os.path.exists(f"{d}/hub-status.json"), 10), "hub started")
    uri = f"wss://127.0.0.1:{port}"
    d1 = start(["device", "--instance", "1301", "--hub", uri, "--uuid", "13010000-0000-4000-8000-000000000001"]
               + pki.cert("node1"), f"{d}/d1.log")
    d2 = start(["device", "--instance", "1302", "--hub", uri, "--uuid", "13020000-0000-4000-8000-000000000002"]
               + pki.cert("node2"), f"{d}/d2.log")
    u1, u2 = "13010000-0000-4000-8000-000000000001", "13020000-0000-4000-8000-000000000002"
    peers = wait_until(lambda: (lambda p: p if u1 in p and u2 in p else None)(hub_peers(hub, d)), 20)
    check(peers is not None, "both devices joined")
    since2 = peers[u2]["since"] if peers else None

    write_crl(pki, crl, ["node1"])
    t0 = time.time()
    ok = wait_log(hub, "its certificate is no longer accepted", 10)
    check(ok, f"CRL file changed: node1 disconnected ({time.time() - t0:.1f} s), reason logged")
    line = [x for x in open(hub.log) if "no longer accepted" in x]
    check(bool(line) and "revoked" in line[0], f"... the reason names the revocation ({line[0].strip() if line else ''})")
    check(wait_log(hub, "CRL file changed: reloaded", 5), "the reload is logged")
    time.sleep(1)
    peers = hub_peers(hub, d)
    check(u1 not in peers, "node1 is not connected")
    check(u2 in peers and peers[u2]["since"] == since2, "node2 stayed connected (same since)")

    write_crl(pki, crl, ["node1", "node2"])
    hub.send_signal(signal.SIGHUP)
    check(wait_until(lambda: open(hub.log).read().count("no longer accepted") >= 2, 10),
          "SIGHUP with node2 revoked: node2 disconnected")
    check(wait_log(hub, "SIGHUP: reloaded", 5), "... logged")

    shutil.copy(crl, crl + ".good")
    open(crl, "w").write("not a CRL\n")
    hub.send_signal(signal.SIGHUP)
    check(wait_log(hub, "reload failed, configuration unchanged", 5), "a bad CRL: reload refused and logged")
    check(hub.poll() is None, "... the hub keeps running")
    prof = profile(d, "p.json", pki, port, node="node3")
    r = tool(["whois", "--timeout", "1"], prof)
    check(wait_log(hub, "node joined", 5) and hub.poll() is None, "... and still accepts node3")
    shutil.copy(crl + ".good", crl)

    before = server_serial(port)
    sh("openssl", "x509", "-req", "-in", pki.path("hub.csr"), "-CA", pki.path("ca.pem"), "-CAkey",
       pki.path("ca.key"), "-CAcreateserial", "-days", "30", "-extfile", pki.path("hub.ext"),
       "-out", pki.path("hub.pem"))
    hub.send_signal(signal.SIGHUP)
    wait_until(lambda: open(hub.log).read().count("SIGHUP: reloaded") >= 2, 10)
    after = server_serial(port)
    check(before and after and before != after, f"new hub certificate served after SIGHUP ({before} -> {after})")
    for p in (d1, d2):
        stop(p)
    check(stop(hub) == 0, "hub exits 0")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
