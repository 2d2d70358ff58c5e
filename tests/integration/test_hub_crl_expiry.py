#!/usr/bin/python3
"""A hub whose CRL is past its nextUpdate fails closed, and says so.

  - --crl with nextUpdate one hour ago: the hub logs an error naming the file
    and the date; a node is refused (TLS; the hub's log names the expired
    CRL); /metrics: bacsc_hub_crl_expired 1, bacsc_hub_crl_expired_total 1,
    the nextUpdate timestamp; the status file has crl.expired true;
  - the file is replaced by a CRL whose nextUpdate is two days away: reloaded
    by itself, a warning (within 3 days of nextUpdate), the node joins,
    bacsc_hub_crl_expired 0; the node's CRL check reused the signature
    verification of the reload (bacsc_hub_tls_crl_checks_total, status tls).
"""
import datetime
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa: F401,F403
import sc_support

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization


def write_crl(d, path, next_update):
    ca_key = serialization.load_pem_private_key(open(os.path.join(d, "ca.key"), "rb").read(), None)
    ca = x509.load_pem_x509_certificate(open(os.path.join(d, "ca.pem"), "rb").read())
    now = datetime.datetime.utcnow()
    crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.subject)
           .last_update(now - datetime.timedelta(days=3)).next_update(next_update)
           .sign(ca_key, hashes.SHA256()))
    open(path + ".tmp", "wb").write(crl.public_bytes(serialization.Encoding.PEM))
    os.replace(path + ".tmp", path)
    return int(next_update.replace(tzinfo=datetime.timezone.utc).timestamp())


def metrics(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def main():
    d = tmpdir("bacsc-crlexp-")
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", os.path.join(d, "ca.key"), "-out", os.path.join(d, "ca.pem"), "-days", "30",
       "-subj", "/CN=ca", "-addext", "basicConstraints=critical,CA:TRUE",
       "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for n in ("hub", "node1"):
        sc_support._leaf(d, n, "ca")
    pki = Pki(d)
    crl = os.path.join(d, "crl.pem")
    past = datetime.datetime.utcnow().replace(microsecond=0) - datetime.timedelta(hours=1)
    nu = write_crl(d, crl, past)
    port, mport = free_port(), free_port()
    hub = start_hub(pki, port, f"{d}/hub.log", ["--crl", crl, "--metrics-listen", str(mport),
                                                "--status-file", f"{d}/hub-status.json"])
    check(wait_log(hub, "is past its nextUpdate", 5) and " error " in
          [x for x in open(hub.log) if "past its nextUpdate" in x][0],
          "expired CRL: error line naming the file and the date")
    m = metrics(mport)
    check(m.get("bacsc_hub_crl_expired") == 1 and m.get("bacsc_hub_crl_expired_total") == 1 and
          m.get("bacsc_hub_crl_next_update_timestamp_seconds") == nu,
          f"metrics: expired 1, total 1, nextUpdate {nu} ({m.get('bacsc_hub_crl_next_update_timestamp_seconds')})")
    st = json.load(open(f"{d}/hub-status.json"))
    check(st.get("crl", {}).get("expired") is True, f"status file: crl.expired ({st.get('crl')})")
    dev = start(["device", "--instance", "1401", "--hub", f"wss://127.0.0.1:{port}"] + pki.cert("node1"),
                f"{d}/dev.log")
    check(wait_log(dev, "next try in", 10), "the node is refused (fail closed)")
    check("node joined" not in open(hub.log).read(), "... and it did not join")
    dl = [x for x in open(dev.log) if "next try in" in x]
    check(dl and "certificate has expired" not in dl[0] and "internal error" in dl[0],
          f"... told internal_error, not that its certificate expired ({dl[0].strip() if dl else ''})")
    m = metrics(mport)
    refused = {k: v for k, v in m.items() if k.startswith("bacsc_hub_connections_refused_total") and v}
    check(sum(refused.values()) >= 1, f"... counted as a refusal ({refused})")
    nu2 = write_crl(d, crl, datetime.datetime.utcnow().replace(microsecond=0) + datetime.timedelta(days=2))
    check(wait_log(hub, "CRL file changed: reloaded", 10), "fresh CRL: reloaded by itself")
    check(wait_log(hub, "reaches its nextUpdate", 5), "... a warning: within 3 days of its nextUpdate")
    check(wait_log(hub, "node joined", 30), "the node joins")
    m = metrics(mport)
    check(m.get("bacsc_hub_crl_expired") == 0 and m.get("bacsc_hub_crl_next_update_timestamp_seconds") == nu2,
          "metrics: expired 0, the new nextUpdate")
    # the fresh CRL's signature is verified once (building the hub's own chain at the reload);
    # the node's check reuses that (the stale CRL was checked in full every time)
    full = m.get('bacsc_hub_tls_crl_checks_total{kind="full"}', 0)
    reused = m.get('bacsc_hub_tls_crl_checks_total{kind="reused"}', 0)
    check(full >= 2 and reused >= 1, f"metrics: CRL checks {full} full, {reused} reused")
    st = hub_status(hub, f"{d}/hub-status.json").get("tls", {})
    check(st.get("crl_checks_full") == full and st.get("crl_checks_reused") == reused,
          f"status file: the same counts ({st})")
    stop(dev)
    check(stop(hub) == 0, "hub exits 0")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
