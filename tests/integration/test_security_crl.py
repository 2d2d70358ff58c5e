#!/usr/bin/python3
"""Devices check revocation (docs/security.md): real `bacsc hub` and `bacsc
device` processes.

  1. a hub whose certificate was revoked (CRL of the site CA): a device given
     that CRL refuses it and never connects; a device without it connects
     (control)
  2. two issuers (site CA, other CA), a CRL of the site CA only: a device
     still connects to a hub certified by the other CA — one issuer's CRL
     never breaks the other issuer's peers
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa
from sc_support import _leaf  # noqa

d = tmpdir("test_security_crl.")
p = lambda n: os.path.join(d, n)


def crl_ca(name):
    """A CA certificate allowed to sign CRLs (keyUsage keyCertSign, cRLSign)."""
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", p(name + ".key"), "-out", p(name + ".pem"), "-days", "30", "-subj", "/CN=" + name,
       "-addext", "basicConstraints=critical,CA:TRUE",
       "-addext", "keyUsage=critical,keyCertSign,cRLSign")


crl_ca("ca")
crl_ca("other")
for n in ("hub", "node1", "node2", "node3"):
    _leaf(d, n, "ca")
_leaf(d, "otherhub", "other")
pki = Pki(d)

# the site CA revokes the hub's certificate
open(p("index.txt"), "w").close()
open(p("crlnumber"), "w").write("01\n")
open(p("ca.cnf"), "w").write(f"""[ca]
default_ca = c
[c]
database = {p("index.txt")}
crlnumber = {p("crlnumber")}
default_md = sha256
default_crl_days = 7
""")
sh("openssl", "ca", "-config", p("ca.cnf"), "-keyfile", p("ca.key"), "-cert", p("ca.pem"),
   "-revoke", p("hub.pem"))
sh("openssl", "ca", "-config", p("ca.cnf"), "-keyfile", p("ca.key"), "-cert", p("ca.pem"),
   "-gencrl", "-out", p("ca.crl"))

port = free_port()
hub = start_hub(pki, port, p("hub.log"))
uri = f"wss://127.0.0.1:{port}"
with_crl = start(["device", "--instance", "101", "--hub", uri, "--crl", p("ca.crl")] +
                 pki.cert("node1"), p("dev101.log"))
without = start(["device", "--instance", "102", "--hub", uri] + pki.cert("node2"),
                p("dev102.log"))
check(wait_log(without, "connected-to-primary"), "control: a device without the CRL connects")
check(not wait_log(with_crl, "connected-to-primary", timeout=4),
      "a device with the CRL does not connect to the revoked hub")
check(wait_log(with_crl, "revoked"), "the device says the hub's certificate is revoked")
stop(with_crl)
stop(without)
stop(hub)

# a hub of the other issuer; the device trusts both, holds the site CA's CRL only
port2 = free_port()
hub2 = start(["hub", "--listen", f"127.0.0.1:{port2}", "--cert", p("otherhub.pem"), "--key",
              p("otherhub.key"), "--ca", p("ca.pem"), "--ca", p("other.pem")], p("hub2.log"))
check(wait_log(hub2, "hub: listening on"), "second hub started")
dev = start(["device", "--instance", "103", "--hub", f"wss://127.0.0.1:{port2}", "--cert",
             p("node3.pem"), "--key", p("node3.key"), "--ca", p("ca.pem"), "--ca", p("other.pem"),
             "--crl", p("ca.crl")], p("dev103.log"))
check(wait_log(dev, "connected-to-primary"),
      "a CRL of one issuer does not stop connections certified by the other")
stop(dev)
stop(hub2)
sys.exit(finish())
