#!/usr/bin/python3
"""Peers must be signed DIRECTLY by a configured issuer (docs/security.md).

A real `bacsc hub` trusting only an enterprise root (--ca root.pem). Python's
ssl module connects with a client certificate and sends a WebSocket upgrade:

  1. a leaf signed directly by the root → the hub answers (control)
  2. a leaf signed by sub-CA A, sent with A in the chain → refused (TLS alert)
  3. the same from sub-CA B → refused
  4. with a CRL of the root listing sub-CA A as revoked: the direct leaf still
     works, the chain is refused
  5. two configured issuers (root, other) and a CRL of the root only: a peer
     of `other` is accepted (one issuer's CRL never breaks the other's peers)
"""
import os
import socket
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa

d = tmpdir("test_security_tls.")
p = lambda n: os.path.join(d, n)


def ca_cert(name, issuer=None):
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", p(name + ".key"), "-out", p(name + ".csr"), "-subj", "/CN=" + name)
    ext = p(name + ".ext")
    open(ext, "w").write("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                         "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
    if issuer:
        sh("openssl", "x509", "-req", "-in", p(name + ".csr"), "-CA", p(issuer + ".pem"),
           "-CAkey", p(issuer + ".key"), "-CAcreateserial", "-days", "30", "-extfile", ext,
           "-out", p(name + ".pem"))
    else:
        sh("openssl", "x509", "-req", "-in", p(name + ".csr"), "-signkey", p(name + ".key"),
           "-days", "30", "-extfile", ext, "-out", p(name + ".pem"))


def leaf(name, issuer):
    ext = p(name + ".ext")
    open(ext, "w").write(LEAF_EXT.format(san=""))
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", p(name + ".key"), "-out", p(name + ".csr"), "-subj", "/CN=" + name)
    sh("openssl", "x509", "-req", "-in", p(name + ".csr"), "-CA", p(issuer + ".pem"),
       "-CAkey", p(issuer + ".key"), "-CAcreateserial", "-days", "30", "-extfile", ext,
       "-out", p(name + ".pem"))
    os.chmod(p(name + ".key"), 0o600)
    with open(p(name + ".chain.pem"), "w") as f:  # the leaf, then its issuer
        f.write(open(p(name + ".pem")).read())
        if issuer != "root":
            f.write(open(p(issuer + ".pem")).read())


ca_cert("root")
ca_cert("subA", "root")
ca_cert("subB", "root")
leaf("hub", "root")
leaf("direct", "root")
leaf("viaA", "subA")
leaf("viaB", "subB")
ca_cert("other")
leaf("ofother", "other")


def attempt(port, name):
    """'answered' when the hub spoke HTTP to us, else the TLS failure."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(p("root.pem"))
    ctx.check_hostname = False
    ctx.load_cert_chain(p(name + ".chain.pem"), p(name + ".key"))
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        t = ctx.wrap_socket(s)
        t.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                  b"Sec-WebSocket-Protocol: hub.bsc.bacnet.org\r\n\r\n")
        data = t.recv(200)
        return "answered" if data.startswith(b"HTTP/1.1") else f"closed ({data!r})"
    except ssl.SSLError as e:
        return f"refused: {e.reason}"
    except (ConnectionResetError, BrokenPipeError) as e:
        return f"refused: {e}"
    finally:
        s.close()


class HubPki:
    def cert(self, name):
        return ["--cert", p("hub.pem"), "--key", p("hub.key"), "--ca", p("root.pem"),
                "--ca", p("other.pem")]


port = free_port()
hub = start_hub(HubPki(), port, p("hub.log"))
r = attempt(port, "direct")
check(r == "answered", f"a leaf signed directly by the configured issuer is accepted ({r})")
for n in ("viaA", "viaB"):
    r = attempt(port, n)
    check(r.startswith("refused"), f"{n}: a chain through an unconfigured sub-CA is refused ({r})")
check(wait_log(hub, "certificate chain too long"), "the hub logs why it refused the chains")
stop(hub)

# a CRL of the root revoking sub-CA A
idx, srl = p("index.txt"), p("crlnumber")
open(idx, "w").close()
open(srl, "w").write("01\n")
open(p("ca.cnf"), "w").write(f"""[ca]
default_ca = c
[c]
database = {idx}
crlnumber = {srl}
default_md = sha256
default_crl_days = 7
""")
sh("openssl", "ca", "-config", p("ca.cnf"), "-keyfile", p("root.key"), "-cert", p("root.pem"),
   "-revoke", p("subA.pem"))
sh("openssl", "ca", "-config", p("ca.cnf"), "-keyfile", p("root.key"), "-cert", p("root.pem"),
   "-gencrl", "-out", p("root.crl"))
port = free_port()
hub = start_hub(HubPki(), port, p("hub2.log"), extra=["--crl", p("root.crl")])
r = attempt(port, "direct")
check(r == "answered", f"a direct leaf is accepted with the root's CRL configured ({r})")
r = attempt(port, "viaA")
check(r.startswith("refused"), f"a chain through the revoked sub-CA is refused ({r})")
r = attempt(port, "ofother")
check(r == "answered", f"a peer of the other issuer is accepted with only the root's CRL ({r})")
stop(hub)
sys.exit(finish())
