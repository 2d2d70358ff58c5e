#!/usr/bin/python3
"""`bacsc hub --metrics-listen` and `bacsc device --hub-listen … --metrics-listen`:
Prometheus text at /metrics, /health, scraped over real HTTP and parsed by an
independent parser (python3-prometheus-client's text parser).

  - every family has HELP and TYPE, every name starts with bacsc_hub_,
    counters end in _total, no duplicate samples;
  - counters move with traffic: unicast (a read) and broadcast (a whois)
    messages and octets, full TLS handshakes, accepted connections;
  - and with refusals: a certificate from another CA (tls-client-certificate-error),
    a certificate claiming another UUID (nak-uuid-not-certified), silent
    sockets from 127.0.0.5 past the per-address limit (source-handshakes-limit,
    first-octet-timeout);
  - gauges: connected nodes, the hub certificate's expiry timestamp (equal
    to openssl's notAfter);
  - /health is 200 "ok…"; other paths 404, POST 405; the endpoint binds
    127.0.0.1 when given a bare port.
"""
import datetime
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from sc_support import *  # noqa: F401,F403
import sc_support

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("python3-prometheus-client missing: skipped")
    sys.exit(77)


def scrape(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    fams = list(text_string_to_metric_families(text))
    samples = {}
    for f in fams:
        for s in f.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            samples[key] = s.value
    return text, fams, samples


def val(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), None)


def conventions(text, fams):
    ok = True
    for f in fams:
        ok &= f.name.startswith("bacsc_hub_")
        ok &= f"# HELP {f.name}" in text or f"# HELP {f.name}_total" in text
        if f.type == "counter":
            ok &= all(s.name.endswith("_total") for s in f.samples)
    return ok


def main():
    d = tmpdir("bacsc-metrics-")
    pki = Pki(make_pki(d, nodes=3, extras=True))
    sc_support._leaf(d, "nodeA", "ca", uuid="aaaaaaaa-0000-4000-8000-00000000000a")
    port, mport = free_port(), free_port()
    cfg = os.path.join(d, "hub.json")
    json.dump({"max_handshakes": 8, "max_handshakes_per_address": 2, "first_octet_timeout": 1}, open(cfg, "w"))
    hub = start_hub(pki, port, f"{d}/hub.log", ["--metrics-listen", str(mport), "--config", cfg])
    check(wait_log(hub, "metrics on http://", 5), "hub logs its metrics endpoint")
    text, fams, s0 = scrape(mport)
    check(conventions(text, fams), "names, HELP/TYPE and _total follow the Prometheus conventions")
    check(len(s0) >= 30, f"{len(s0)} samples")
    end = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", pki.path("hub.pem")],
                         capture_output=True, text=True).stdout.strip().split("=", 1)[1]
    not_after = datetime.datetime.strptime(end, "%b %d %H:%M:%S %Y %Z").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    check(val(s0, "bacsc_hub_certificate_expiry_timestamp_seconds") == not_after,
          "certificate expiry timestamp = openssl's notAfter")
    check(val(s0, "bacsc_hub_connected_nodes") == 0, "no node connected yet")
    # TLS handshakes on worker threads, one per CPU by default
    check(val(s0, "bacsc_hub_handshake_threads") == (os.cpu_count() or 1),
          f"handshake worker threads: {val(s0, 'bacsc_hub_handshake_threads')}")
    check(val(s0, "bacsc_hub_handshake_queue") == 0, "no handshake on the workers yet")

    uri = f"wss://127.0.0.1:{port}"
    devs = [start(["device", "--instance", str(7000 + i), "--hub", uri, "--av", "1"] + pki.cert(f"node{i}"),
                  f"{d}/dev{i}.log") for i in (1, 2)]
    wait_until(lambda: val(scrape(mport)[2], "bacsc_hub_connected_nodes") == 2, 20)
    prof = profile(d, "p.json", pki, port, node="node3")
    v, r = read_value(prof, 7001, "analog-value,1", "present-value")
    check(v is not None, "read through the hub")
    r = tool(["whois", "--timeout", "1"], prof)
    # refusals: another CA, a UUID its certificate does not carry, silent sockets
    tool(["whois", "--timeout", "1"], profile(d, "o.json", pki, port, node="othernode"))
    tool(["whois", "--timeout", "1"], profile(d, "a.json", pki, port, node="nodeA",
                                             extra={"uuid": "bbbbbbbb-0000-4000-8000-00000000000b"}))
    socks = []
    for _ in range(6):
        s = socket.socket()
        s.bind(("127.0.0.5", 0))
        s.connect(("127.0.0.1", port))
        socks.append(s)
    time.sleep(2.5)
    for s in socks:
        s.close()
    text, fams, s1 = scrape(mport)
    check(conventions(text, fams), "still conventional after traffic")
    check(val(s1, "bacsc_hub_connected_nodes") == 2, "2 nodes connected (gauge)")

    def moved(name, **labels):
        a, b = val(s0, name, **labels) or 0, val(s1, name, **labels) or 0
        ok = b > a
        check(ok, f"{name}{labels or ''}: {a:g} -> {b:g}")

    moved("bacsc_hub_relayed_messages_total", kind="unicast")
    moved("bacsc_hub_relayed_messages_total", kind="broadcast")
    moved("bacsc_hub_relayed_octets_total", kind="unicast")
    moved("bacsc_hub_relayed_octets_total", kind="broadcast")
    moved("bacsc_hub_connections_accepted_total")
    moved("bacsc_hub_tls_handshakes_total", kind="full")
    moved("bacsc_hub_tcp_accepted_total")
    moved("bacsc_hub_connections_refused_total", reason="tls-client-certificate-error")
    moved("bacsc_hub_connections_refused_total", reason="nak-uuid-not-certified")
    moved("bacsc_hub_connections_refused_total", reason="source-handshakes-limit")
    moved("bacsc_hub_connections_refused_total", reason="first-octet-timeout")
    moved("bacsc_hub_source_limit_hits_total", limit="handshakes")

    h = urllib.request.urlopen(f"http://127.0.0.1:{mport}/health", timeout=5)
    body = h.read().decode()
    check(h.status == 200 and body.startswith("ok"), f"/health 200: {body.strip()}")
    for path, method, want in (("/nope", "GET", 404), ("/metrics", "POST", 405)):
        try:
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{mport}{path}", method=method,
                                                          data=b"x" if method == "POST" else None), timeout=5)
            code = 200
        except urllib.error.HTTPError as e:
            code = e.code
        check(code == want, f"{method} {path}: {code}")
    for p in devs:
        stop(p)
    check(stop(hub) == 0, "hub exits 0")

    # the hub function of a device
    hport, mport2 = free_port(), free_port()
    dev = start(["device", "--instance", "7100", "--hub", f"wss://127.0.0.1:{hport}", "--hub-listen",
                 f"127.0.0.1:{hport}", "--metrics-listen", f"127.0.0.1:{mport2}"] + pki.cert("node1"),
                f"{d}/devhub.log")
    ok = wait_until(lambda: (lambda s: val(s, "bacsc_hub_connected_nodes") == 1)(scrape(mport2)[2])
                    if wait_log(dev, "metrics on http://", 5) else False, 20)
    check(ok, "device --hub-listen --metrics-listen: /metrics shows its own node connected")
    r = tool(["device", "--instance", "1", "--hub", "wss://127.0.0.1:1", "--metrics-listen", "9"] + pki.cert("node1"))
    check(r.returncode == 2 and "--metrics-listen needs --hub-listen" in r.stderr,
          f"--metrics-listen without --hub-listen: exit 2 ({r.returncode})")
    check(stop(dev) == 0, "device exits 0")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
