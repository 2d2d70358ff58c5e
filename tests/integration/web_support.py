"""Shared helpers of the web console tests (test_web_*.py).

Starts real `bacsc web` processes on 127.0.0.1 over TLS 1.3 with a demo PKI
(the server certificate is verified against the demo CA), a real CA
directory, an optional site database and the three roles; an HTTP client on
http.client that keeps the session cookie and the CSRF token.
"""
import atexit
import http.client
import io
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import zipfile

BACSC = os.environ.get("BACSC") or os.path.join(
    os.environ.get("BACSC_BUILD", os.path.join(os.path.dirname(__file__), "../../build")), "bacsc")
SLOW = float(os.environ.get("BACSC_TEST_SLOW", "1"))
failures = []
_procs = []
_dirs = []

PASSWORDS = {"alice": "alice-admin-pw", "ivan": "ivan-installer-pw", "ines": "ines-installer-pw",
             "vera": "vera-viewer-pw"}
ROLES = {"alice": "admin", "ivan": "installer", "ines": "installer", "vera": "viewer"}


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


_servers = []


def finish():
    # every console stops cleanly on SIGTERM, and no sanitizer reported
    for srv in _servers:
        if srv.proc.poll() is None:
            srv.proc.send_signal(signal.SIGTERM)
            try:
                srv.proc.wait(20 * SLOW)
            except subprocess.TimeoutExpired:
                srv.proc.kill()
                srv.proc.wait()
        log = open(srv.log).read()
        check(srv.proc.returncode == 0 and "Sanitizer" not in log and "runtime error:" not in log,
              "bacsc web on port %d exits cleanly (%s)%s" % (
                  srv.port, srv.proc.returncode,
                  "" if "Sanitizer" not in log else ": " + log[log.find("Sanitizer") - 20:][:400]))
    if failures:
        print("%d check(s) failed:" % len(failures))
        for f in failures:
            print("  - " + f)
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
    for d in _dirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))


def run(*args, check_rc=True, input=None, env=None):
    r = subprocess.run([BACSC, *args], capture_output=True, text=True, input=input, env=env)
    if check_rc and r.returncode != 0:
        raise RuntimeError("bacsc %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr))
    return r


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_csr(path, cn, san=None, key_args=("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256")):
    cmd = ["openssl", "req", "-new", *key_args, "-nodes", "-keyout", path + ".key",
           "-subj", "/CN=" + cn, "-out", path]
    if san:
        cmd += ["-addext", "subjectAltName=" + san]
    subprocess.run(cmd, check=True, capture_output=True)
    return open(path, "rb").read()


def zip_of(entries):
    """A zip (bytes) of {name: bytes}."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


class Env:
    """A temporary directory with a demo PKI, a CA and the console users."""

    def __init__(self, site=False, devices=0):
        self.dir = tempfile.mkdtemp(prefix="bacsc-web-")
        _dirs.append(self.dir)
        d = self.dir
        run("pki", "demo", "--out", d + "/pki", "--nodes", "0")
        run("ca", "init", "--dir", d + "/ca", "--name", "Web Test CA")
        self.webdb = d + "/web.db"
        for u, pw in PASSWORDS.items():
            f = d + "/pw-" + u
            with open(f, "w") as fh:
                fh.write(pw + "\n")
            run("web", "user", "add", u, "--role", ROLES[u], "--password-file", f,
                "--web-db", self.webdb)
        self.site_db = None
        if site:
            self.site_db = d + "/site.db"
            run("site", "init", "--db", self.site_db, "--name", "plant-a", "--ca", d + "/ca/ca.pem")
        self.servers = []

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def start(self, *extra, ca=True, site=None):
        port = free_port()
        args = [BACSC, "web", "--listen", "127.0.0.1:%d" % port, "--cert", self.path("pki/hub.pem"),
                "--key", self.path("pki/hub.key"), "--web-db", self.webdb, "--log-level", "info"]
        if ca:
            args += ["--ca-dir", self.path("ca")]
        if site or (site is None and self.site_db):
            args += ["--site-db", self.site_db]
        args += list(extra)
        log = open(self.path("web-%d.log" % port), "w")
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True)
        _procs.append(p)
        line = p.stdout.readline()
        if "serving https://" not in line:
            raise RuntimeError("bacsc web did not start: %r (see %s)" % (line, log.name))
        self.servers.append(p)
        srv = Server(self, port, p)
        srv.log = log.name
        _servers.append(srv)
        return srv


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def all_headers(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]


class Server:
    def __init__(self, env, port, proc):
        self.env = env
        self.port = port
        self.proc = proc
        self.url = "https://127.0.0.1:%d" % port

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(20 * SLOW)

    def ssl_context(self, max_version=None):
        ctx = ssl.create_default_context(cafile=self.env.path("pki/ca.pem"))
        if max_version:
            ctx.maximum_version = max_version
        return ctx

    def client(self):
        return Client(self)


class Client:
    """One browser-like user: keeps the session cookie and CSRF token."""

    def __init__(self, server):
        self.server = server
        self.cookie = None
        self.csrf = None
        self.bearer = None

    def request(self, method, path, body=None, headers=None, csrf=True, ctype=None, chunked=False):
        conn = http.client.HTTPSConnection("127.0.0.1", self.server.port,
                                           context=self.server.ssl_context(), timeout=60 * SLOW)
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.bearer:
            h["Authorization"] = "Bearer " + self.bearer
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            h.setdefault("X-CSRF-Token", self.csrf)
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif ctype:
            h["Content-Type"] = ctype
        if chunked:
            conn.putrequest(method, path)
            for k, v in h.items():
                conn.putheader(k, v)
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            try:
                for i in range(0, len(body), 65536):
                    part = body[i:i + 65536]
                    conn.send(b"%x\r\n" % len(part) + part + b"\r\n")
                conn.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass
        else:
            try:
                conn.request(method, path, body=body, headers=h)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass
        r = conn.getresponse()
        res = Response(r.status, r.getheaders(), r.read())
        conn.close()
        return res

    def login(self, user, password=None):
        r = self.request("POST", "/api/login", {"user": user, "password": password or PASSWORDS[user]})
        if r.status == 200:
            c = r.header("Set-Cookie")
            self.cookie = c.split(";")[0]
            self.csrf = r.json()["csrf"]
        return r

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def upload(self, data, name="req.zip"):
        return self.request("POST", "/api/ca/requests", data, ctype="application/zip",
                            headers={"X-File-Name": name})
