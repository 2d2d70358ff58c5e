#!/usr/bin/python3
"""Attacks on the site CA (docs/security.md), each performed with the real
`bacsc ca` / `bacsc cari` processes and checked with the openssl CLI.

  auto-approve   a zip claiming `--site plant-a` (auto_approve=match, sites
                 plant-a) is not issued: only an authenticated submitter
                 listed in auto_approve_submitters is; the batch and every
                 audit row record the authenticated actor
  sans           DNS/IP SANs are not carried by default; with carry_dns, only
                 names under san_domains, never wildcards
  squatting      a CSR carrying a victim's Device UUID, issued first, does
                 not get the genuine device's request refused
  csr-dos        RSA-16384 CSRs are refused from the SubjectPublicKeyInfo
                 before any signature check (CPU time bounded); a zip with
                 more entries than max_batch is refused before parsing
  weak-input     explicit EC parameters, SHA-1 and MD5 signatures, control
                 and bidi characters, a 5,000-character OU, two CNs: refused;
                 the pending list shows the subject that will be issued
  files          `ca respond` into a world-writable directory is refused (a
                 planted ca.pem -> ca.key link stays untouched); `ca crl
                 --out LINK` replaces the link, never writes through it
  passphrase     ca.key is PBES2/scrypt; policy.json is 0600 and MACed: a
                 hand edit stops signing; audit rows edited with the triggers
                 dropped are found by `ca audit --verify`
"""
import json
import os
import pwd
import resource
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile

BACSC = os.environ["BACSC"]
T = tempfile.mkdtemp(prefix="test_security_ca.")
os.chmod(T, 0o700)
ME = pwd.getpwuid(os.geteuid()).pw_name


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)


def run(*args, want=None, cwd=T):
    p = subprocess.run([BACSC, *args], cwd=cwd, capture_output=True, text=True)
    if want is not None and p.returncode != want:
        fail(f"bacsc {' '.join(args)} exited {p.returncode}, wanted {want}\n{p.stdout}{p.stderr}")
    return p


def openssl(*args, **kw):
    return subprocess.run(["openssl", *args], cwd=T, capture_output=True, text=True, **kw)


def new_ca(name):
    d = os.path.join(T, "ca-" + name)
    run("ca", "init", "--dir", d, "--name", name, want=0)
    return d


def mkcsr(path, subj, *extra, key="ec", md="-sha256"):
    if key == "ec":
        kopt = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    elif key == "rsa":
        kopt = ["-newkey", "rsa:2048"]
    else:
        kopt = ["-key", key]
    p = openssl("req", "-new", *kopt, "-nodes", "-keyout", path + ".key", "-subj", subj,
                md, *extra, "-out", path)
    if p.returncode != 0:
        fail(f"openssl req {subj[:80]}: {p.stderr[-300:]}")
    return path


def pycsr(path, cn, ou=None):
    """A CSR openssl req would not make (its OU length check): Python
    cryptography, which checks only the CN's length."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if ou is not None:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    req = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(attrs)).sign(
        key, hashes.SHA256())
    open(path, "wb").write(req.public_bytes(serialization.Encoding.PEM))
    return path


def pending(ca):
    return json.loads(run("ca", "pending", "--dir", ca, "--all-states", "--json", want=0).stdout)


def certs(ca):
    return json.loads(run("ca", "list", "--dir", ca, "--json", want=0).stdout)


# ---- auto-approval rests on the authenticated submitter -------------------------
def auto_approve():
    ca = new_ca("auto")
    run("ca", "policy", "set", "--dir", ca, "auto_approve", "match", want=0)
    run("ca", "policy", "set", "--dir", ca, "auto_approve_sites", "plant-a", want=0)
    os.makedirs(f"{T}/evil")
    mkcsr(f"{T}/evil/hub.csr", "/CN=hub", "-addext", "subjectAltName=DNS:*.corp.example.com")
    run("cari", "build", "--site", "plant-a", "--out", f"{T}/evil.zip", f"{T}/evil/hub.csr",
        want=0)
    p = run("ca", "submit", "--dir", ca, f"{T}/evil.zip")
    if any(c for c in certs(ca)):
        fail("a zip claiming an auto-approved site was issued")
    reqs = pending(ca)
    if [r["status"] for r in reqs] != ["pending"]:
        fail(f"request not left pending: {reqs}")
    batches = json.loads(run("ca", "batches", "--dir", ca, "--json", want=0).stdout)
    if batches[0].get("submitter") != f"local:{ME}":
        fail(f"batch does not record the authenticated submitter: {batches[0]}")
    # the authenticated submitter, once listed, is auto-approved
    run("ca", "policy", "set", "--dir", ca, "auto_approve_submitters", f"local:{ME}", want=0)
    os.makedirs(f"{T}/good")
    mkcsr(f"{T}/good/dev1.csr", "/CN=dev1")
    run("cari", "build", "--site", "plant-a", "--out", f"{T}/good.zip", f"{T}/good/dev1.csr",
        want=0)
    p = run("ca", "submit", "--dir", ca, "--actor", "someone-else", f"{T}/good.zip")
    if len(certs(ca)) != 1:
        fail(f"listed submitter not auto-approved: {p.stdout}{p.stderr}")
    audit = json.loads(run("ca", "audit", "--dir", ca, "--json", want=0).stdout)
    if not audit or any(a.get("auth") != f"local:{ME}" for a in audit):
        fail(f"audit rows lack the authenticated actor: {audit}")
    if not any(a["actor"] == "someone-else" for a in audit):
        fail("the claimed --actor is not kept as the display name")
    print("ok auto-approve")


# ---- DNS and IP names ------------------------------------------------------------
def sans():
    ca = new_ca("sans")
    os.makedirs(f"{T}/sans")
    mkcsr(f"{T}/sans/a.csr", "/CN=dev1", "-addext",
          "subjectAltName=DNS:*.corp.example.com,DNS:www.google.com,IP:10.0.0.1,"
          f"URI:urn:uuid:{uuid.uuid4()}")
    run("ca", "sign", "--dir", ca, f"{T}/sans", "--out", f"{T}/sans-out/", want=0)
    pem = [f for f in os.listdir(f"{T}/sans-out") if f not in ("ca.pem", "index.txt")][0]
    text = openssl("x509", "-in", f"{T}/sans-out/{pem}", "-noout", "-ext",
                   "subjectAltName").stdout
    if "DNS:" in text or "IP Address" in text or "urn:uuid:" not in text:
        fail(f"default policy carried DNS/IP names: {text}")
    run("ca", "policy", "set", "--dir", ca, "carry_dns", "true", want=0)
    run("ca", "policy", "set", "--dir", ca, "san_domains", "plant.example", want=0)
    for name, san in (("wild", "DNS:*.plant.example"), ("far", "DNS:www.google.com")):
        os.makedirs(f"{T}/sans-{name}")
        mkcsr(f"{T}/sans-{name}/x.csr", f"/CN={name}", "-addext", f"subjectAltName={san}")
        p = run("ca", "sign", "--dir", ca, f"{T}/sans-{name}", "--out", f"{T}/o-{name}/")
        want = "wildcard DNS name" if name == "wild" else "is not under the policy's san_domains"
        if p.returncode == 0 or want not in p.stderr:
            fail(f"{san} not refused: {p.stderr}")
    print("ok sans")


# ---- Device UUID squatting ---------------------------------------------------------
def squatting():
    ca = new_ca("squat")
    run("ca", "policy", "set", "--dir", ca, "auto_approve", "all", want=0)
    victim = str(uuid.uuid4())  # public: Device object property 507
    for who in ("attacker", "genuine"):
        os.makedirs(f"{T}/sq-{who}")
        mkcsr(f"{T}/sq-{who}/r.csr", f"/CN={who}", "-addext",
              f"subjectAltName=URI:urn:uuid:{victim}")
    run("ca", "submit", "--dir", ca, f"{T}/sq-attacker", want=0)  # first one wins a certificate
    p = run("ca", "submit", "--dir", ca, f"{T}/sq-genuine")
    rows = {r["subject"]: r for r in pending(ca)}
    g = rows.get("CN=genuine")
    if not g or g["status"] != "pending" or "needs an administrator" not in (g.get("reason") or ""):
        fail(f"the genuine device was refused or issued without an administrator: {g} {p.stderr}")
    run("ca", "approve", "--dir", ca, str(g["id"]), want=0)
    if sum(1 for c in certs(ca) if c.get("device_uuid") == victim) != 2:
        fail("the administrator could not issue the genuine device's certificate")
    print("ok squatting")


# ---- CSR CPU denial of service -----------------------------------------------------
def der(tag, body):
    n = len(body)
    if n < 128:
        ln = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        ln = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + ln + body


def der_int(v):
    b = v.to_bytes((v.bit_length() + 8) // 8, "big")
    return der(0x02, b)


def fake_rsa_csr(bits, i):
    """A CSR whose key is an RSA-`bits` modulus (random odd) and whose
    signature is random: verifying it costs a full modular exponentiation."""
    n = int.from_bytes(os.urandom(bits // 8), "big") | (1 << (bits - 1)) | 1
    rsakey = der(0x30, der_int(n) + der_int(65537))
    rsa_alg = der(0x30, der(0x06, bytes.fromhex("2a864886f70d010101")) + b"\x05\x00")
    spki = der(0x30, rsa_alg + der(0x03, b"\x00" + rsakey))
    cn = der(0x31, der(0x30, der(0x06, bytes.fromhex("550403")) + der(0x0c, f"d{i}".encode())))
    info = der(0x30, der_int(0) + der(0x30, cn) + spki + b"\xa0\x00")
    sig_alg = der(0x30, der(0x06, bytes.fromhex("2a864886f70d01010b")) + b"\x05\x00")
    return der(0x30, info + sig_alg + der(0x03, b"\x00" + os.urandom(bits // 8)))


def csr_dos():
    ca = new_ca("dos")
    run("ca", "policy", "set", "--dir", ca, "key_types", "ec-p256,rsa-2048,rsa-4096", want=0)
    os.makedirs(f"{T}/dos")
    for i in range(300):
        with open(f"{T}/dos/{i:04d}.der", "wb") as f:
            f.write(fake_rsa_csr(16384, i))
    with zipfile.ZipFile(f"{T}/dos.zip", "w") as z:
        for i in range(300):
            z.writestr(f"csr/{i:04d}.csr", fake_rsa_csr(16384, i))
    for src in (f"{T}/dos", f"{T}/dos.zip"):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = run("ca", "submit", "--dir", ca, src)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if "RSA key larger than 4096 bits" not in p.stderr:
            fail(f"{src}: RSA-16384 CSRs not refused from their SPKI: {p.stderr[:400]}")
        if cpu > 1.5:
            fail(f"{src}: 300 RSA-16384 CSRs cost {cpu:.2f} s of CPU (limits after verification)")
        print(f"  {os.path.basename(src)}: 300 RSA-16384 CSRs refused in {cpu:.2f} s CPU")
    # more entries than a batch may hold: refused before anything is parsed
    run("ca", "policy", "set", "--dir", ca, "max_batch", "10", want=0)
    with zipfile.ZipFile(f"{T}/many.zip", "w") as z:
        for i in range(40):
            z.writestr(f"csr/{i:04d}.csr", b"x")
    p = run("ca", "submit", "--dir", ca, f"{T}/many.zip", want=3)
    if "entries, limit 26" not in p.stderr:
        fail(f"entry count not checked before parsing: {p.stderr}")
    print("ok csr-dos")


# ---- weak or odd inputs ------------------------------------------------------------
def weak_input():
    ca = new_ca("weak")
    run("ca", "policy", "set", "--dir", ca, "key_types", "ec-p256,rsa-2048", want=0)
    run("ca", "policy", "set", "--dir", ca, "subject", "full", want=0)
    d = f"{T}/weak"
    os.makedirs(d)
    openssl("ecparam", "-name", "prime256v1", "-param_enc", "explicit", "-genkey", "-noout",
            "-out", f"{T}/explicit.key")
    cases = {
        "explicit": (mkcsr(f"{d}/explicit.csr", "/CN=explicit", key=f"{T}/explicit.key"),
                     "explicit curve parameters"),
        "sha1": (mkcsr(f"{d}/sha1.csr", "/CN=sha1", md="-sha1"),
                 "signature algorithm ecdsa-with-SHA1 not allowed"),
        "ctrl": (pycsr(f"{d}/ctrl.csr", "ctrl", ou="a\x07b\r\nCN=hub"), "control or formatting"),
        "long": (pycsr(f"{d}/long.csr", "long", ou="x" * 5000), "longer than 64"),
        "bidi": (pycsr(f"{d}/bidi.csr", "evil\u202egpj.exe"), "formatting"),
        "twocn": (mkcsr(f"{d}/twocn.csr", "/CN=dev12/CN=hub"), "more than one commonName"),
    }
    p = openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{d}/md5.key",
                "-subj", "/CN=md5", "-md5", "-out", f"{d}/md5.csr")
    if p.returncode == 0:
        cases["md5"] = (f"{d}/md5.csr", "signature algorithm md5WithRSAEncryption not allowed")
    p = run("ca", "submit", "--dir", ca, d)
    for name, (path, why) in cases.items():
        line = [ln for ln in p.stderr.splitlines() if os.path.basename(path) + ":" in ln]
        if not line or "rejected" not in line[0] or why not in line[0]:
            fail(f"{name}: not refused with '{why}': {line or p.stderr}")
    # what the listing shows is what the certificate will say
    run("ca", "policy", "set", "--dir", ca, "subject", "cn-only", want=0)
    os.makedirs(f"{T}/show")
    mkcsr(f"{T}/show/a.csr", "/O=Acme/OU=x/CN=dev7")
    run("ca", "submit", "--dir", ca, f"{T}/show", want=0)
    row = [r for r in pending(ca) if r["status"] == "pending"]
    if len(row) != 1 or row[0]["subject"] != "CN=dev7":
        fail(f"pending list does not show the subject to be issued: {row}")
    run("ca", "approve", "--dir", ca, str(row[0]["id"]), want=0)
    if certs(ca)[-1]["subject"] != row[0]["subject"]:
        fail(f"issued {certs(ca)[-1]['subject']} after listing {row[0]['subject']}")
    print("ok weak-input")


# ---- files --------------------------------------------------------------------------
def files():
    ca = new_ca("files")
    os.makedirs(f"{T}/f-in")
    mkcsr(f"{T}/f-in/a.csr", "/CN=a")
    run("ca", "sign", "--dir", ca, f"{T}/f-in", "--out", f"{T}/f-out/", want=0)
    key_before = open(f"{ca}/ca.key", "rb").read()
    ww = f"{T}/shared"
    os.makedirs(ww)
    os.chmod(ww, 0o777)  # like a shared drop directory
    os.symlink(f"{ca}/ca.key", f"{ww}/ca.pem")  # planted by another user
    p = run("ca", "respond", "--dir", ca, "--batch", "1", "--out", ww + "/")
    if open(f"{ca}/ca.key", "rb").read() != key_before:
        fail("ca respond wrote the CA certificate over ca.key through a planted symlink")
    if p.returncode == 0 or "writable by other users" not in p.stderr:
        fail(f"a world-writable output directory was not refused: {p.stderr}")
    # a symlink as --out is replaced, its target never written
    priv = f"{T}/priv"
    os.makedirs(priv, mode=0o700)
    victim = f"{T}/victim.txt"
    open(victim, "w").write("precious\n")
    os.symlink(victim, f"{priv}/crl.pem")
    run("ca", "crl", "--dir", ca, "--out", f"{priv}/crl.pem", want=0)
    if open(victim).read() != "precious\n":
        fail("ca crl --out wrote through a symlink")
    if os.path.islink(f"{priv}/crl.pem") or "BEGIN X509 CRL" not in open(f"{priv}/crl.pem").read():
        fail("the CRL did not replace the link")
    print("ok files")


# ---- what the passphrase protects ---------------------------------------------------
def passphrase():
    open(f"{T}/pass", "w").write("correct horse\n")
    d = f"{T}/enc"
    run("ca", "init", "--dir", d, "--name", "Enc", "--passphrase-file", f"{T}/pass", want=0)
    asn = openssl("asn1parse", "-in", f"{d}/ca.key").stdout
    if ":scrypt" not in asn:
        fail(f"ca.key is not protected with scrypt:\n{asn[:400]}")
    mode = stat.S_IMODE(os.stat(f"{d}/policy.json").st_mode)
    if mode != 0o600:
        fail(f"policy.json mode {mode:o}, wanted 600")
    # a hand edit of the policy stops signing
    pol = json.load(open(f"{d}/policy.json"))
    pol["auto_approve"] = "all"
    json.dump(pol, open(f"{d}/policy.json", "w"))
    os.makedirs(f"{T}/p-in")
    mkcsr(f"{T}/p-in/a.csr", "/CN=a")
    p = run("ca", "sign", "--dir", d, "--passphrase-file", f"{T}/pass", f"{T}/p-in",
            "--out", f"{T}/p-out/")
    if p.returncode == 0 or "does not match its MAC" not in p.stderr:
        fail(f"a hand-edited policy was acted on: {p.stdout}{p.stderr}")
    # the policy set command re-seals it
    run("ca", "policy", "set", "--dir", d, "--passphrase-file", f"{T}/pass", "auto_approve", "off",
        want=0)
    run("ca", "sign", "--dir", d, "--passphrase-file", f"{T}/pass", f"{T}/p-in", "--out",
        f"{T}/p-out/", want=0)
    run("ca", "audit", "--dir", d, "--passphrase-file", f"{T}/pass", "--verify", want=0)
    # rewrite an audit row with the triggers dropped
    db = sqlite3.connect(f"{d}/ca.db")
    db.execute("DROP TRIGGER audit_no_update")
    db.execute("UPDATE audit SET detail = 'nothing happened' WHERE action = 'issue'")
    db.commit()
    p = run("ca", "audit", "--dir", d, "--verify", want=1)
    if "trigger audit_no_update is missing" not in p.stderr:
        fail(f"dropped trigger not reported: {p.stderr}")
    db.execute("CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
               "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END")
    db.commit()
    db.close()
    p = run("ca", "audit", "--dir", d, "--verify", want=1)
    if "was changed (hash chain broken)" not in p.stderr:
        fail(f"edited audit row not found: {p.stderr}")
    print("ok passphrase")


SECTIONS = {"auto-approve": auto_approve, "sans": sans, "squatting": squatting,
            "csr-dos": csr_dos, "weak-input": weak_input, "files": files,
            "passphrase": passphrase}
try:
    for name in sys.argv[1:] or SECTIONS:  # a section name runs only that one
        SECTIONS[name]()
finally:
    shutil.rmtree(T, ignore_errors=True)
print("PASS")
