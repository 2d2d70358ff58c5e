#!/usr/bin/python3
"""SIGHUP reloads a `bacsc device`'s certificate, key, issuers and CRL
without dropping its peers (real hub, real device, checked from outside
with the openssl CLI on the device's direct-connect listener):

  - the certificate and key files are replaced, SIGHUP: the hub connection
    stays up (no reconnect in the device log, the hub saw nobody leave) and
    the next TLS handshake (openssl s_client) presents the new certificate;
  - a certificate that does not match the key, SIGHUP: refused with a logged
    reason, the previous certificate stays in use;
  - a CRL revoking the hub's certificate and that of a node on the device's
    hosted hub function, SIGHUP: the device disconnects from the hub and the
    hub function drops the node, each logging "certificate revoked"; the
    device cannot rejoin the revoked hub.
"""
import datetime
import json
import re
import os
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa
from sc_support import _leaf  # noqa


def make_ca(d, name):
    p = lambda n: os.path.join(d, n)
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", p(name + ".key"), "-out", p(name + ".pem"), "-days", "30", "-subj", "/CN=" + name,
       "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def write_crl(d, revoked_serials):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    p = lambda n: os.path.join(d, n)
    key = serialization.load_pem_private_key(open(p("ca.key"), "rb").read(), None)
    ca = x509.load_pem_x509_certificate(open(p("ca.pem"), "rb").read())
    now = datetime.datetime.utcnow()
    b = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)
         .last_update(now - datetime.timedelta(minutes=1)).next_update(now + datetime.timedelta(days=7)))
    for s in revoked_serials:
        b = b.add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(s)
                                      .revocation_date(now - datetime.timedelta(minutes=1)).build())
    crl = b.sign(key, hashes.SHA256())
    tmp = p("crl.pem.tmp")
    open(tmp, "wb").write(crl.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp, p("crl.pem"))


def serial_of(path):
    out = subprocess.run(["openssl", "x509", "-in", path, "-noout", "-serial"], capture_output=True,
                         text=True).stdout
    return out.strip().split("=")[1].upper()


def presented_serial(d, port):
    """Serial of the certificate the device's listener presents now."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_3",
                        "-cert", f"{d}/node4.pem", "-key", f"{d}/node4.key", "-CAfile", f"{d}/ca.pem"],
                       input="", capture_output=True, text=True, timeout=10)
    x = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=r.stdout, capture_output=True,
                       text=True)
    return x.stdout.strip().split("=")[1].upper() if "=" in x.stdout else None


def main():
    d = tmpdir("bacsc-reload-")
    make_ca(d, "ca")
    for n in ("hub", "node1", "node2", "node3", "node4"):
        _leaf(d, n, "ca")
    pki = Pki(d)
    write_crl(d, [])
    shutil.copy(f"{d}/node1.pem", f"{d}/live.pem")
    shutil.copy(f"{d}/node1.key", f"{d}/live.key")
    port, dc, hf = free_port(), free_port(), free_port()
    hub = start_hub(pki, port, f"{d}/hub.log")
    cfg = os.path.join(d, "device.json")
    with open(cfg, "w") as f:
        json.dump({"instance": 3101, "hub": f"wss://127.0.0.1:{port}", "cert": f"{d}/live.pem",
                   "key": f"{d}/live.key", "ca": f"{d}/ca.pem", "crl": f"{d}/crl.pem",
                   "dc_listen": f"127.0.0.1:{dc}", "hub_listen": f"127.0.0.1:{hf}",
                   "reconnect_min": 1, "reconnect_max": 2}, f)
    dev = start(["device", "--config", cfg], f"{d}/device.log")
    check(wait_log(dev, "connected-to-primary"), "device connected to the hub")
    # a second device joins the first one's hosted hub function
    cfg2 = os.path.join(d, "device2.json")
    with open(cfg2, "w") as f:
        json.dump({"instance": 3102, "hub": f"wss://127.0.0.1:{hf}", "cert": f"{d}/node3.pem",
                   "key": f"{d}/node3.key", "ca": f"{d}/ca.pem", "reconnect_min": 1,
                   "reconnect_max": 2}, f)
    dev2 = start(["device", "--config", cfg2], f"{d}/device2.log")
    check(wait_log(dev2, "connected-to-primary"), "second device joined the hosted hub function")
    check(presented_serial(d, dc) == serial_of(f"{d}/node1.pem"), "listener presents node1's certificate")

    # 1. new certificate and key: peers stay, new handshakes use them
    shutil.copy(f"{d}/node2.pem", f"{d}/live.pem")
    shutil.copy(f"{d}/node2.key", f"{d}/live.key")
    dev.send_signal(signal.SIGHUP)
    check(wait_log(dev, "SIGHUP: reloaded certificate"), "reload logged")
    check(presented_serial(d, dc) == serial_of(f"{d}/node2.pem"), "the next handshake presents node2's certificate")
    check(log_count(dev, "no-hub-connection") == 0, "the hub connection was not dropped")
    check("node left" not in open(hub.log).read(), "the hub saw nobody leave")

    # 2. unusable files: refused, nothing changes
    shutil.copy(f"{d}/node3.pem", f"{d}/live.pem")  # with node2's key: mismatch
    dev.send_signal(signal.SIGHUP)
    check(wait_log(dev, "reload failed, keeping the current certificates"), "bad files refused with a reason")
    check("does not match" in open(dev.log).read(), "... naming the mismatch")
    check(presented_serial(d, dc) == serial_of(f"{d}/node2.pem"), "still node2's certificate")

    # 3. the hub's certificate revoked: disconnected with the reason, no rejoin
    shutil.copy(f"{d}/node2.pem", f"{d}/live.pem")
    write_crl(d, [int(serial_of(f"{d}/hub.pem"), 16), int(serial_of(f"{d}/node3.pem"), 16)])
    dev.send_signal(signal.SIGHUP)
    check(wait_log(dev, "(certificate revoked): disconnecting") and wait_until(
          lambda: re.search(r"device 3101: primary hub \S+: its certificate is no longer accepted "
                            r"\(certificate revoked\): disconnecting", open(dev.log).read()), 5),
          "device disconnects the revoked hub with the reason")
    check(wait_log(dev, "(certificate revoked): disconnecting") and
          "hub function: node" in open(dev.log).read(),
          "the hosted hub function disconnects the revoked node with the reason")
    check(wait_log(dev2, "no-hub-connection"), "the revoked node lost the hosted hub")
    check(wait_until(lambda: log_count(dev, "no-hub-connection") >= 1, 5), "device left the hub")
    time.sleep(3)
    v, r = read_value(profile(d, "p.json", pki, port, node="node3"), 3101, "device,3101", "object-name", 3)
    check(v is None, "the device cannot rejoin a hub whose certificate is revoked")
    stop(dev2)
    check(stop(dev) == 0, "device exits 0 on SIGTERM")
    stop(hub)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
