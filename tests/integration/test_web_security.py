#!/usr/bin/env python3
"""The web console's security at the HTTP level (real `bacsc web` over TLS
1.3, checked with Python's http.client/ssl and the openssl CLI): TLS 1.3
only, cookie flags, security headers, CSRF, roles on every endpoint,
expired sessions, upload bounds, hostile zips (nothing stored), login
rate limiting, API tokens, and the audit log naming who did what from
where."""
import io
import os
import ssl
import subprocess
import sys
import time
import zipfile

sys.path.insert(0, os.path.dirname(__file__))
from web_support import (Env, check, finish, make_csr, run, zip_of)  # noqa: E402

env = Env()
srv = env.start("--max-upload", "300000")
csrdir = env.path("csrs")
os.makedirs(csrdir)
good = make_csr(csrdir + "/good.csr", "good1")
good2 = make_csr(csrdir + "/good2.csr", "good2")

# ---- TLS --------------------------------------------------------------------------
try:
    import socket
    with socket.create_connection(("127.0.0.1", srv.port)) as s:
        with srv.ssl_context(max_version=ssl.TLSVersion.TLSv1_2).wrap_socket(
                s, server_hostname="127.0.0.1"):
            tls12 = True
except (ssl.SSLError, OSError):
    tls12 = False
check(not tls12, "a TLS 1.2 client is refused")
with socket.create_connection(("127.0.0.1", srv.port)) as s:
    with srv.ssl_context().wrap_socket(s, server_hostname="127.0.0.1") as t:
        check(t.version() == "TLSv1.3", "TLS 1.3 with the configured certificate (%s)" % t.version())

# ---- pages, headers ------------------------------------------------------------------
anon = srv.client()
r = anon.get("/")
csp = r.header("Content-Security-Policy") or ""
check(r.status == 200 and "script-src 'self'" in csp and "unsafe-inline" not in csp,
      "the page is served with a strict CSP (%s)" % csp)
check(r.header("X-Content-Type-Options") == "nosniff" and r.header("X-Frame-Options") == "DENY",
      "nosniff and frame denial")
check(b"<script>" not in r.body and b"<script src=\"/static/app.js\"" in r.body,
      "no inline script in the page")
r = anon.get("/api/ca/requests?state=pending")
check(r.status == 401 and r.json()["code"] == "unauthenticated", "no session -> 401 JSON error")
r = anon.get("/api/nonsense")
check(r.status == 404 and r.json().get("code") == "not-found", "unknown API path -> 404 JSON")
r = anon.request("DELETE", "/api/ca/requests")
check(r.status == 405, "wrong method -> 405")

# ---- login and cookies ---------------------------------------------------------------------
alice = srv.client()
r = alice.login("alice", "wrong-password")
check(r.status == 401 and r.json()["code"] == "bad-credentials", "wrong password -> 401")
r = alice.login("alice")
cookie = r.header("Set-Cookie") or ""
check(r.status == 200, "admin logs in")
for flag in ("Secure", "HttpOnly", "SameSite=Strict"):
    check(flag in cookie, "session cookie has %s" % flag)
tok = cookie.split(";")[0].split("=", 1)[1]
check(len(tok) == 43, "the session token is 256 random bits (43 base64url characters)")
import sqlite3  # noqa: E402
db = sqlite3.connect(env.webdb)
stored = [row[0] for row in db.execute("SELECT hash FROM sessions")]
check(all(len(h) == 32 and tok.encode() not in h for h in stored),
      "sessions are stored as SHA-256 hashes, not the token")
pw = db.execute("SELECT pw FROM users WHERE name='alice'").fetchone()[0]
check(pw.startswith("scrypt$15$8$1$") and "alice-admin-pw" not in pw,
      "passwords are stored as scrypt hashes")
db.close()
check(alice.get("/api/session").json().get("user") == "alice", "the session works")

ivan = srv.client()
check(ivan.login("ivan").status == 200, "installer logs in")
vera = srv.client()
check(vera.login("vera").status == 200, "viewer logs in")
ines = srv.client()
check(ines.login("ines").status == 200, "second installer logs in")

# ---- uploads ------------------------------------------------------------------------------
r = ivan.upload(zip_of({"csr/good.csr": good}), "good.zip")
check(r.status == 201 and r.json()["pending"] == 1, "installer uploads a request (201, pending)")
batch = r.json()["batch"]
req_id = r.json()["requests"][0]["id"]

# CSRF
r = ivan.upload(zip_of({"csr/x.csr": good2}), "x.zip") if False else None
r = alice.post("/api/ca/requests/%d/approve" % req_id, csrf=False)
check(r.status == 403 and r.json()["code"] == "csrf", "approve without the CSRF token -> 403 csrf")
r = alice.post("/api/ca/requests/%d/approve" % req_id, headers={"X-CSRF-Token": "x" * 43})
check(r.status == 403 and r.json()["code"] == "csrf", "approve with a wrong CSRF token -> 403")
r = ivan.request("POST", "/api/ca/requests", zip_of({"a.csr": good2}), csrf=False,
                 ctype="application/zip")
check(r.status == 403, "upload without the CSRF token -> 403")

# roles
r = vera.post("/api/ca/requests/%d/approve" % req_id)
check(r.status == 403 and r.json()["code"] == "forbidden", "viewer approve -> 403 forbidden")
r = ivan.post("/api/ca/requests/%d/approve" % req_id)
check(r.status == 403, "installer approve -> 403")
r = vera.upload(zip_of({"csr/good2.csr": good2}))
check(r.status == 403, "viewer upload -> 403")
r = ivan.post("/api/ca/requests/decide", {"action": "approve", "ids": [req_id]})
check(r.status == 403, "installer bulk approve -> 403")
for path in ("/api/users", "/api/audit", "/api/ca/audit", "/api/ca/crl", "/api/tokens"):
    check(vera.get(path).status == 403 and ivan.get(path).status == 403,
          "viewer and installer get 403 on %s" % path)
r = vera.request("PUT", "/api/ca/policy", {"auto_approve": "all"})
check(r.status == 403, "viewer cannot change the approval mode")
r = ines.get("/api/ca/batches/%d" % batch)
check(r.status == 404, "an installer cannot see another installer's batch")
check(all(b["id"] != batch for b in ines.get("/api/ca/batches").json()["batches"]),
      "another installer's batch is not listed")
check(ivan.get("/api/ca/batches/%d/response" % batch).status == 409,
      "the response is not downloadable while requests are pending (409)")

# the viewer with an API token cannot approve either
out = run("web", "token", "create", "--user", "vera", "--web-db", env.webdb).stdout
vtok = out.strip().splitlines()[-1]
check(vtok.startswith("bct_"), "token create prints the token alone on its last line")
tv = srv.client()
tv.bearer = vtok
check(tv.get("/api/ca/requests?state=pending").status == 200, "viewer token reads the queue")
r = tv.post("/api/ca/requests/%d/approve" % req_id)
check(r.status == 403, "viewer token approve -> 403 (Bearer needs no CSRF, still the role)")

r = alice.post("/api/ca/requests/%d/approve" % req_id)
check(r.status == 200 and r.json()["results"][0]["state"] == "issued", "admin approves")
r = ivan.get("/api/ca/batches/%d/response" % batch)
check(r.status == 200 and r.header("Content-Type") == "application/zip" and
      r.body[:2] == b"PK", "the installer downloads the response zip")
resp_zip = zipfile.ZipFile(io.BytesIO(r.body))
check("manifest.json" in resp_zip.namelist() and resp_zip.testzip() is None and
      any(n.startswith("certs/") for n in resp_zip.namelist()),
      "the response zip holds the manifest and the certificate, CRCs intact")

# admin API token works without CSRF; a revoked one is refused
out = run("web", "token", "create", "--user", "alice", "--expires", "1",
          "--web-db", env.webdb).stdout
atok = out.strip().splitlines()[-1]
ta = srv.client()
ta.bearer = atok
r = ta.upload(zip_of({"csr/good2.csr": good2}), "api.zip")
check(r.status == 201, "an admin API token uploads without a CSRF token")
tid = [t for t in alice.get("/api/tokens").json()["tokens"] if t["user"] == "alice"][0]["id"]
check(alice.request("DELETE", "/api/tokens/%d" % tid).status == 200, "admin revokes the token")
check(ta.get("/api/ca/requests").status == 401, "a revoked token -> 401")

# ---- automatic approval rests on the authenticated submitter ------------------------------
r = alice.request("PUT", "/api/ca/policy", {"auto_approve": "match",
                                            "auto_approve_submitters": "account:ivan",
                                            "auto_approve_sites": "plant-a"})
check(r.status == 200 and r.json()["approval"] == "automatic", "admin sets auto_approve=match")
sitezip = env.path("site-a.zip")
run("cari", "build", "--out", sitezip, "--site", "plant-a", make_csr(csrdir + "/m1.csr", "m1") and
    csrdir + "/m1.csr")
r = ines.upload(open(sitezip, "rb").read(), "claims-plant-a.zip")
check(r.status == 201 and r.json()["pending"] == 1,
      "a zip claiming a listed site from an unlisted account waits for approval")
r = ivan.upload(zip_of({"csr/m2.csr": make_csr(csrdir + "/m2.csr", "m2")}), "ivan.zip")
check(r.status == 201 and r.json()["pending"] == 1,
      "the listed account's upload without the site claim waits (sites narrow)")
run("cari", "build", "--out", sitezip, "--site", "plant-a", make_csr(csrdir + "/m3.csr", "m3") and
    csrdir + "/m3.csr")
r = ivan.upload(open(sitezip, "rb").read(), "ivan-plant-a.zip")
check(r.status == 201 and r.json()["issued"] == 1 and r.json()["response_ready"],
      "the listed account's upload is issued at once")
ca_audit = alice.get("/api/ca/audit?limit=1000").json()["entries"]
import sqlite3 as _sq  # noqa: E402
cadb = _sq.connect(env.path("ca/ca.db"))
subs = [row[0] for row in cadb.execute("SELECT submitter FROM batches WHERE direction='in'")]
cadb.close()
check(any(x and x.startswith("account:ivan@127.0.0.1") for x in subs) and
      any(x and x.startswith("account:ines@127.0.0.1") for x in subs),
      "the CA stores the authenticated submitter with each batch (%s)" % subs[-2:])
alice.request("PUT", "/api/ca/policy", {"auto_approve": "off"})

# ---- the CLI works on the same files while the console runs -----------------------------------
r = ivan.upload(zip_of({"csr/cli.csr": make_csr(csrdir + "/cli.csr", "cli1")}), "cli.zip")
cli_req = r.json()["requests"][0]["id"]
cli_batch = r.json()["batch"]
out = run("ca", "approve", "--dir", env.path("ca"), str(cli_req))
r = ivan.get("/api/ca/batches/%d" % cli_batch)
check(r.status == 200 and r.json()["issued"] == 1 and r.json()["response_ready"],
      "a request approved with `bacsc ca approve` meanwhile is seen issued by the console")
check(ivan.get("/api/ca/batches/%d/response" % cli_batch).status == 200,
      "and its response downloads")

# ---- hostile uploads: nothing stored -------------------------------------------------------
def n_requests():
    return alice.get("/api/ca/requests?state=all&limit=1").json()["total"]


before = n_requests()
r = ivan.upload(zip_of({"csr/ok.csr": good2, "../evil.csr": good}), "trav.zip")
e = r.json() or {}
check(r.status == 422 and e.get("code") == "bad-entry" and "../evil.csr" in e.get("error", "")
      and "traversal" in e.get("error", ""), "traversal in a zip -> 422 naming the entry (%s)"
      % e.get("error"))
check(n_requests() == before, "nothing stored after the traversal upload")
bomb = zip_of({"csr/dev7.csr": b"\0" * (900 << 10)})
r = ivan.upload(bomb, "bomb.zip")
e = r.json() or {}
check(r.status == 422 and "csr/dev7.csr" in e.get("error", "") and "zip bomb" in e.get("error", ""),
      "a zip bomb -> 422 naming the entry (%d %s)" % (r.status, e.get("error")))
big = zip_of({"csr/dev8.csr": b"\0" * (40 << 20)})
r = ivan.upload(big, "big-entry.zip")
e = r.json() or {}
check(r.status == 422 and "csr/dev8.csr" in e.get("error", "") and "limit" in e.get("error", ""),
      "an entry inflating to 40 MiB -> 422 naming it (%s)" % e.get("error"))
check(n_requests() == before, "nothing stored after the zip bomb")
bad = bytearray(subprocess.run(["openssl", "req", "-in", csrdir + "/good2.csr", "-outform", "DER"],
                               capture_output=True, check=True).stdout)
bad[-1] ^= 1
r = ivan.upload(zip_of({"csr/badsig.der": bytes(bad)}), "badsig.zip")
check(r.status == 422 and "badsig" in (r.json() or {}).get("error", ""),
      "a CSR with a bad signature -> 422 naming it")
check(n_requests() == before, "nothing stored after the bad CSR")
import base64  # noqa: E402
folder = [{"name": "f/a.csr", "data": base64.b64encode(make_csr(csrdir + "/fa.csr", "folder-a")).decode()},
          {"name": "f/b.der", "data": base64.b64encode(bytes(bad)).decode()}]
r = ivan.post("/api/ca/requests", {"files": folder})
check(r.status == 422 and "f/b.der" in (r.json() or {}).get("error", ""),
      "a folder of CSRs with a bad one -> 422 naming it (%s)" % (r.json() or {}).get("error"))
check(n_requests() == before, "nothing stored after the bad folder")
r = ivan.post("/api/ca/requests", {"files": folder[:1]})
check(r.status == 201 and len(r.json()["requests"]) == 1, "a folder of CSR files is accepted")
before = n_requests()
r = ivan.upload(b"this is not a zip", "junk.zip")
check(r.status == 422 and (r.json() or {}).get("code") == "bad-zip", "not a zip -> 422 bad-zip")
r = ivan.upload(os.urandom(400000), "big.zip")
check(r.status == 413 and (r.json() or {}).get("code") == "too-large",
      "an upload above --max-upload -> 413 (Content-Length)")
r = ivan.request("POST", "/api/ca/requests", os.urandom(400000), ctype="application/zip",
                 chunked=True)
check(r.status == 413, "a chunked upload above --max-upload -> 413")
r = alice.post("/api/users", {"name": "x", "role": "viewer", "password": "p" * (2 << 20)})
check(r.status == 413, "a JSON body above 1 MiB -> 413")
check(n_requests() == before, "nothing stored after the oversized uploads")

# ---- expired session -------------------------------------------------------------------------
short = env.start("--session-ttl", "3")
c = short.client()
check(c.login("ivan").status == 200, "login on a console with 3 s sessions")
check(c.get("/api/ca/batches").status == 200, "the fresh session works")
time.sleep(4.2)
r = c.get("/api/ca/batches")
check(r.status == 401 and r.json()["code"] == "unauthenticated", "an expired session -> 401")
c2 = srv.client()
c2.cookie = c.cookie
check(c2.get("/api/ca/batches").status == 401, "the expired session is refused by every server")
short.stop()

# logout revokes the session on the server
c = srv.client()
c.login("vera")
saved = c.cookie
c.csrf and c.post("/api/logout", {})
c.cookie = saved
check(c.get("/api/ca/requests").status == 401, "a logged-out session cannot be replayed")

# ---- login rate limiting ----------------------------------------------------------------------
m = srv.client()
codes = [m.login("ines", "guess-%d" % i).status for i in range(5)]
check(codes == [401] * 5, "five wrong passwords -> 401 each")
r = m.login("ines")
check(r.status == 429 and r.json()["code"] == "locked", "the right password is refused while "
      "the user is locked out (429)")
check(srv.client().login("ivan").status == 200, "other users still log in")
for i in range(20):
    srv.client().login("nobody%d" % i, "x")
r = srv.client().login("ivan")
check(r.status == 429, "too many failures from one address lock the address (429)")

# ---- audit: who did what from where ---------------------------------------------------------
c = srv.client()
c.bearer = run("web", "token", "create", "--user", "alice", "--web-db",
               env.webdb).stdout.strip().splitlines()[-1]
entries = c.get("/api/audit?limit=1000").json()["entries"]
check(any(e["action"] == "login-failed" and e["actor"] == "ines" and e["address"] == "127.0.0.1"
          for e in entries), "console audit: failed logins with user and address")
check(any(e["action"] == "login-locked" for e in entries), "console audit: lock-outs")
check(any(e["action"] == "denied" and e["actor"] == "vera" for e in entries),
      "console audit: refused requests with the user")
check(any(e["action"] == "upload-refused" and "traversal" in e["detail"] for e in entries),
      "console audit: refused uploads")
ca_audit = c.get("/api/ca/audit?limit=1000").json()["entries"]
check(any("alice from 127.0.0.1 (web)" == e["actor"] and e["action"] in ("approve", "issue")
          for e in ca_audit) or any("alice from 127.0.0.1" in e["actor"] for e in ca_audit),
      "CA audit: decisions carry the console user and address")
check(any("ivan from 127.0.0.1" in e["actor"] for e in ca_audit),
      "CA audit: the upload carries the installer and address")

# ---- SIGHUP serves a renewed certificate; a mismatched pair is refused ----------------------
import shutil  # noqa: E402
import signal  # noqa: E402
run("pki", "demo", "--out", env.path("pki2"), "--nodes", "0")
hub_pem, hub_key = env.path("pki/hub.pem"), env.path("pki/hub.key")
shutil.copy(hub_pem, env.path("old.pem"))
shutil.copy(hub_key, env.path("old.key"))


def served_by(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname="127.0.0.1"):
                return True
    except (ssl.SSLError, OSError):
        return False


shutil.copy(env.path("pki2/hub.pem"), hub_pem)  # a certificate without its key
srv.proc.send_signal(signal.SIGHUP)
time.sleep(1.0)
check(srv.proc.poll() is None and served_by(env.path("pki/ca.pem")),
      "SIGHUP with a certificate that does not match the key keeps the old one")
shutil.copy(env.path("pki2/hub.key"), hub_key)
srv.proc.send_signal(signal.SIGHUP)
ok = False
for _ in range(50):
    time.sleep(0.2)
    if served_by(env.path("pki2/ca.pem")):
        ok = True
        break
check(ok, "SIGHUP serves the renewed certificate")
shutil.copy(env.path("old.pem"), hub_pem)
shutil.copy(env.path("old.key"), hub_key)
srv.proc.send_signal(signal.SIGHUP)
for _ in range(50):
    time.sleep(0.2)
    if served_by(env.path("pki/ca.pem")):
        break

# ---- the CLI side ---------------------------------------------------------------------------
r = run("web", "user", "list", "--web-db", env.webdb)
check("alice" in r.stdout and "installer" in r.stdout, "user list")
with open(env.path("short"), "w") as f:
    f.write("short\n")
r = run("web", "user", "add", "bob", "--role", "viewer", "--password-file", env.path("short"),
        "--web-db", env.webdb, check_rc=False)
check(r.returncode == 3 and "8 to" in r.stderr, "a too short password is refused (exit 3)")
r = run("web", "user", "add", "bob", "--role", "boss", "--password-file", env.path("pw-vera"),
        "--web-db", env.webdb, check_rc=False)
check(r.returncode == 2, "an unknown role is a usage error")
run("web", "user", "passwd", "vera", "--password-file", env.path("pw-alice"), "--web-db",
    env.webdb)
check(srv.client().login("vera", "alice-admin-pw").status in (200, 429),
      "user passwd changes the password")
run("web", "user", "remove", "vera", "--web-db", env.webdb)
check(tv.get("/api/ca/requests").status == 401, "removing a user revokes their tokens")
check(os.stat(env.webdb).st_mode & 0o777 == 0o600, "the console database is 0600")
finish()
