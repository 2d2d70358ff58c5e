"""Shared helpers of the BACnet/SC daemon integration tests (test_sc_*.py).

Real processes (`bacsc hub`, `bacsc device`, the client tools) on 127.0.0.1
with real TLS 1.3 and certificates made with the openssl command; every
process started here is killed at exit (atexit + SIGTERM/SIGINT handler).
"""
import atexit
import datetime
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BACSC = os.environ.get("BACSC") or os.path.join(
    os.environ.get("BACSC_BUILD", os.path.join(os.path.dirname(__file__), "../../build")), "bacsc")
# Slower under sanitizers: scale waits.
SLOW = float(os.environ.get("BACSC_TEST_SLOW", "1"))
def _sanitized():
    if "asan" in BACSC or os.environ.get("BACSC_SANITIZE"):
        return True
    cache = os.path.join(os.environ.get("BACSC_BUILD", ""), "CMakeCache.txt")
    try:
        return "BACSC_SANITIZE:BOOL=ON" in open(cache).read()
    except OSError:
        return False


if _sanitized():
    SLOW = max(SLOW, 3.0)

failures = []
_procs = []
_dirs = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


SAN_MARKS = ("Sanitizer", "runtime error:")


def _sanitizer_check(text, where):
    for mark in SAN_MARKS:
        if mark in text:
            i = text.index(mark)
            check(False, f"sanitizer report in {where}: {text[max(0, i - 100):i + 300]}")
            return


def finish():
    for p in _procs:
        if getattr(p, "log", None) and os.path.exists(p.log):
            _sanitizer_check(open(p.log, errors="replace").read(), os.path.basename(p.log))
    print(f"{len(failures)} failure(s)", flush=True)
    for f in failures:
        print("  FAILED:", f)
    return 1 if failures else 0


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(5)
            except Exception:
                pass
    if not os.environ.get("BACSC_TEST_KEEP"):
        for d in _dirs:
            shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def _on_signal(signo, frame):
    _cleanup()
    sys.exit(128 + signo)


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


def tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    _dirs.append(d)
    return d


_ports_given = set()


def free_port():
    """A port on 127.0.0.1 that nothing listens on now, for a process started
    later. Drawn at random below the kernel's ephemeral range (32768..), so the
    outgoing connections of this and other tests cannot take it meanwhile; never
    the same port twice in one test."""
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        if port in _ports_given:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        _ports_given.add(port)
        return port
    raise RuntimeError("no free port in 20000..31999")


def sh(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


LEAF_EXT = ("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1{san}\n")


def _ca(d, name):
    p = lambda n: os.path.join(d, n)
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", p(name + ".key"), "-out", p(name + ".pem"), "-days", "30", "-subj", "/CN=" + name,
       "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")


def _leaf(d, name, ca, uuid=None):
    p = lambda n: os.path.join(d, n)
    ext = p(name + ".ext")
    with open(ext, "w") as f:
        f.write(LEAF_EXT.format(san=(",URI:urn:uuid:" + uuid) if uuid else ""))
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", p(name + ".key"), "-out", p(name + ".csr"), "-subj", "/CN=" + name)
    sh("openssl", "x509", "-req", "-in", p(name + ".csr"), "-CA", p(ca + ".pem"), "-CAkey", p(ca + ".key"),
       "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", p(name + ".pem"))
    os.chmod(p(name + ".key"), 0o600)


def _expired_leaf(d, name, ca):
    """A certificate whose validity ended yesterday (python3-cryptography:
    OpenSSL 3.0's x509 command cannot set past dates)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    p = lambda n: os.path.join(d, n)
    ca_key = serialization.load_pem_private_key(open(p(ca + ".key"), "rb").read(), None)
    ca_cert = x509.load_pem_x509_certificate(open(p(ca + ".pem"), "rb").read())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=30))
            .not_valid_after(now - datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    open(p(name + ".pem"), "wb").write(cert.public_bytes(serialization.Encoding.PEM))
    open(p(name + ".key"), "wb").write(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    os.chmod(p(name + ".key"), 0o600)


def make_pki(d, nodes=4, extras=False):
    """ca.pem; hub.pem/key; node1..N.pem/key; with extras: othernode (signed
    by another CA) and expired (validity ended)."""
    _ca(d, "ca")
    _leaf(d, "hub", "ca")
    for i in range(1, nodes + 1):
        _leaf(d, f"node{i}", "ca")
    if extras:
        _ca(d, "otherca")
        _leaf(d, "othernode", "otherca")
        _expired_leaf(d, "expired", "ca")
    return d


class Pki:
    def __init__(self, d):
        self.d = d

    def cert(self, name):
        return ["--cert", os.path.join(self.d, name + ".pem"), "--key", os.path.join(self.d, name + ".key"),
                "--ca", os.path.join(self.d, "ca.pem")]

    def path(self, n):
        return os.path.join(self.d, n)


def start(args, log, env=None):
    f = open(log, "w")
    p = subprocess.Popen([BACSC] + args, stdout=f, stderr=subprocess.STDOUT,
                         env=dict(os.environ, **(env or {})))
    p.log = log
    _procs.append(p)
    return p


def wait_log(p, text, timeout=10):
    deadline = time.time() + timeout * SLOW
    while time.time() < deadline:
        if text in open(p.log).read():
            return True
        if p.poll() is not None:
            return text in open(p.log).read()
        time.sleep(0.05)
    return False


def log_count(p, text):
    return open(p.log).read().count(text)


def hub_status(hub, path):
    """The status file of a hub started with --status-file PATH, written on
    SIGUSR1 (waits for its "status written" log line); {} if none came."""
    before = log_count(hub, "status written")
    hub.send_signal(signal.SIGUSR1)
    if not wait_until(lambda: log_count(hub, "status written") > before, 5):
        return {}
    with open(path) as f:
        return json.load(f)


def devices_connected(devs):
    """How many devices of a `bacsc device` process reached their primary hub."""
    return log_count(devs, "connected-to-primary")


def start_hub(pki, port, log, extra=(), env=None):
    p = start(["hub", "--listen", f"127.0.0.1:{port}"] + pki.cert("hub") + list(extra), log, env)
    if not wait_log(p, "hub: listening on"):
        print(open(log).read())
        raise RuntimeError("hub did not start")
    return p


def tool(args, profile=None, timeout=30, env=None):
    e = dict(os.environ, **(env or {}))
    if profile:
        e["BACSC_PROFILE"] = profile
    r = subprocess.run([BACSC] + args, capture_output=True, text=True, timeout=timeout * SLOW, env=e)
    _sanitizer_check(r.stderr, "bacsc " + " ".join(args[:2]))
    return r


def profile(d, name, pki, port, node="node4", extra=None):
    prof = {"hub": f"wss://127.0.0.1:{port}", "cert": pki.path(node + ".pem"),
            "key": pki.path(node + ".key"), "ca": pki.path("ca.pem")}
    prof.update(extra or {})
    path = os.path.join(d, name)
    with open(path, "w") as f:
        json.dump(prof, f)
    return path


def read_value(prof, dev, obj, prop, timeout=10):
    r = tool(["read", str(dev), obj, prop, "--json", "--timeout", str(timeout)], prof, timeout + 10)
    if r.returncode != 0:
        return None, r
    return json.loads(r.stdout)["value"], r


def wait_until(fn, timeout, step=0.1):
    deadline = time.time() + timeout * SLOW
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def stop(p, sig=signal.SIGTERM, timeout=10):
    if p.poll() is None:
        p.send_signal(sig)
    try:
        return p.wait(timeout * SLOW)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return None
