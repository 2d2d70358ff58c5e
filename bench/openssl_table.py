"""The table of bench/openssl.sh: reads the raw outputs it left in OUT and
prints every figure of both builds next to its floor from the same run
(medians and ranges over the alternating pairs), or JSON with --json.
Not meant to be run by hand: bench/openssl.sh passes the context in the
environment."""
import glob
import json
import os
import re
import statistics
import sys

OUT = sys.argv[1]
ENV = os.environ
LIBS = ("A", "B")


def read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""


def runs(name, ab):
    """(index, out, err, meta) of every run of `name` with build `ab`."""
    found = []
    for meta in glob.glob(f"{OUT}/{name}.{ab}.*.meta"):
        base = meta[: -len(".meta")]
        found.append((int(base.rsplit(".", 1)[1]), read(base + ".out"), read(base + ".err"),
                      read(meta)))
    return sorted(found)


def loads(meta):
    return [float(x) for x in re.findall(r"^load-(?:start|end) ([\d.]+)", meta, re.M)]


HS = r"^  {label}\s+([\d.]+) µs\s+floor\s+([\d.]+) µs\s+ratio"


def handshake(label):
    rx = re.compile(HS.format(label=re.escape(label)) + r"", re.M)

    def get(out, err):
        m = rx.search(out)
        return (float(m[1]), float(m[2])) if m else None
    return get


def jget(*path):
    def get(out, err):
        try:
            d = json.loads(out[out.index("{"):])
            vals = []
            for p in path:
                v = d
                for k in p.split("."):
                    v = v[k]
                vals.append(float(v))
            return tuple(vals)
        except (ValueError, KeyError, TypeError):
            return None
    return get


def ca_cpu(out, err):
    v = jget("stages.total.cpu_us_per_cert", "floor.verify_us", "floor.sign_us")(out, err)
    return (v[0], v[1] + v[2]) if v else None


# name, unit, source runs, getter, rate (ratio = floor / value)
FIGURES = [
    ("server CPU per full TLS 1.3 handshake", "µs", "hsfull", handshake("full handshake"), False),
    ("server CPU per resumed handshake", "µs", "hsres", handshake("resumed handshake"), False),
    ("node CPU per full handshake", "µs", "hsfull", handshake("full handshake, client"), False),
    ("node CPU per resumed handshake", "µs", "hsres", handshake("resumed handshake, client"), False),
    ("round trip through the hub, p50 (floor: 2 TCP round trips)", "µs", "rtt",
     jget("rtt.p50_us", "floors.tcp_2rtt.p50_us"), False),
    ("round trip through the hub, p99", "µs", "rtt", jget("rtt.p99_us", "floors.tcp_2rtt.p99_us"),
     False),
    ("hub CPU per relayed message, rtt mode", "µs", "rtt",
     jget("hub_cpu_us_per_msg", "floors.hub_cpu_us_per_msg.floor"), False),
    ("hub CPU per relayed 64-octet message at 5,000 msg/s", "µs", "steady",
     jget("hub_cpu_us_per_msg", "floors.hub_cpu_us_per_msg.floor"), False),
    ("CA CPU per certificate, request to response (bench_ca %s 2)" % ENV.get("CA"), "µs", "ca",
     ca_cpu, False),
    ("CA certificates per second (wall)", "/s", "ca",
     jget("stages.total.per_s", "stages.total.floor_per_s"), True),
]


def collected(err):
    m = re.search(r"Collected : (\d+)", err)
    return int(m[1]) if m else None


def instructions(ab):
    """(name, value, floor) of the callgrind runs, per handshake."""
    def one(name, n):
        r = runs(name, ab)
        c = collected(r[0][2]) if r else None
        return c / n if c else None
    rows = []
    full, res = one("cgfull", 50), one("cgres", 48)
    ecdhe, sign, verify = one("cgfloorecdhe", 50), one("cgfloorsign", 50), one("cgfloorverify", 100)
    ffull = ecdhe + sign + 2 * verify if ecdhe and sign and verify else None
    if full and ffull:
        rows.append(("server instructions per full handshake (callgrind; floor: P-256 keygen + "
                     "ECDH derive + 1 ECDSA sign + 2 verify)", full, ffull))
    if res and ecdhe:
        rows.append(("server instructions per resumed handshake (callgrind; floor: keygen + "
                     "derive)", res, ecdhe))
    ca, csr = one("cgca", 1000), one("cgcsr", 1000)
    if ca and sign and verify:
        rows.append(("CA instructions per certificate, request to response (callgrind, "
                     "bench_ca 1000 2, all threads; floor: 1 verify + 1 sign)", ca, sign + verify))
    if csr and sign:
        rows.append(("device instructions to make one CSR (bacsc_pki_make_csr; floor: 1 sign)",
                     csr, sign))
    relay = hub_instructions(f"{OUT}/cghub.{ab}.1.cg")
    if relay:
        rows.append(("hub instructions per relayed 64-octet message, rtt mode (callgrind; "
                     "no floor)", relay, None))
    return rows


def hub_instructions(path):
    """Instructions of the hub while the nodes relayed / calls of bacsc_sc_hub_recv."""
    total, calls, callee = None, 0, None
    for line in read(path).splitlines():
        if line.startswith(("summary:", "totals:")):
            total = int(line.split()[1])
        elif line.startswith("cfn="):
            callee = line[4:].split()[-1]
        elif line.startswith("calls=") and callee == "bacsc_sc_hub_recv":
            calls += int(line[6:].split()[0])
    return total / calls if total and calls else None


def stats(v):
    return {"median": statistics.median(v), "min": min(v), "max": max(v)}


def collect():
    figures = []
    for name, unit, src, get, rate in FIGURES:
        fig = {"figure": name, "unit": unit}
        for ab in LIBS:
            vals, ld = [], []
            for i, out, err, meta in runs(src, ab):
                v = get(out, err)
                if v:
                    ratio = (v[1] / v[0] if rate else v[0] / v[1]) if v[0] and v[1] else None
                    vals.append({"pair": i, "value": v[0], "floor": v[1], "ratio": ratio})
                    ld += loads(meta)
            if vals:
                fig[ab] = {
                    "value": stats([x["value"] for x in vals]),
                    "floor": stats([x["floor"] for x in vals]),
                    "ratio": stats([x["ratio"] for x in vals if x["ratio"] is not None]),
                    "load": stats(ld) if ld else None,
                    "runs": vals,
                }
        if "A" in fig or "B" in fig:
            figures.append(fig)
    cg = {ab: instructions(ab) for ab in LIBS}
    names = [r[0] for r in cg["A"]] + [r[0] for r in cg["B"] if r[0] not in [x[0] for x in cg["A"]]]
    for name in names:
        fig = {"figure": name, "unit": "instr"}
        for ab in LIBS:
            for n, v, f in cg[ab]:
                if n != name:
                    continue
                one = {"median": v, "min": v, "max": v}
                fig[ab] = {"value": one, "floor": dict((x, f) for x in one) if f else None,
                           "ratio": dict((x, v / f) for x in one) if f else None, "load": None,
                           "runs": [{"pair": 1, "value": v, "floor": f,
                                     "ratio": v / f if f else None}]}
        figures.append(fig)
    return figures


def num(v, unit):
    if unit == "instr":
        return "%.2f M" % (v / 1e6) if v >= 1e5 else "{:,.0f}".format(v)
    if v >= 1000:
        return "{:,.0f}".format(v)
    return "%.1f" % v if v >= 10 else "%.2f" % v


def span(s, unit, fmt=num, mark=""):
    if s["min"] == s["max"]:
        return fmt(s["median"], unit) + mark
    return "%s%s (%s–%s)" % (fmt(s["median"], unit), mark, fmt(s["min"], unit),
                              fmt(s["max"], unit))


def ratio_fmt(v, unit):
    return "%.2f" % v


def main():
    figures = collect()
    load = {}
    for line in read(f"{OUT}/load").splitlines():
        k, when, *avg = line.split()
        load[k] = {"utc": when, "loadavg_1_5_15": [float(x) for x in avg]}
    head = {
        "tree": ENV.get("REV"), "pairs": int(ENV.get("PAIRS", 0)),
        "handshakes": int(ENV.get("HS", 0)), "nodes": int(ENV.get("NODES", 0)),
        "A": {"openssl": ENV.get("A_RUN"), "build": ENV.get("BUILD_A"), "from": "system"},
        "B": {"openssl": ENV.get("B_RUN"), "build": ENV.get("BUILD_B"), "from": ENV.get("PREFIX")},
        "load": load, "raw": OUT,
    }
    if ENV.get("JSON") == "1":
        head["figures"] = figures
        print(json.dumps(head, indent=2, ensure_ascii=False))
        return 0
    st, en = load.get("start", {}), load.get("end", {})
    print("OpenSSL comparison: tree %s, %d alternating pairs A B (bench_handshake %s %s)"
          % (head["tree"], head["pairs"], head["handshakes"], head["nodes"]))
    print("  A: %s (system; %s)" % (head["A"]["openssl"], head["A"]["build"]))
    print("  B: %s (%s; %s)" % (head["B"]["openssl"], head["B"]["from"], head["B"]["build"]))
    print("  %s → %s, load average (1, 5, 15 min) at start %s, at end %s"
          % (st.get("utc"), en.get("utc"), st.get("loadavg_1_5_15"), en.get("loadavg_1_5_15")))
    print("  each figure next to its floor from the same run and library; median (range)")
    print()
    print("| figure | OpenSSL | value | floor (same run) | ratio | load (1 min) | B vs A |")
    print("|---|---|---|---|---|---|---|")
    for fig in figures:
        for ab in LIBS:
            if ab not in fig:
                continue
            r = fig[ab]
            unit = fig["unit"]
            change = ""
            if ab == "B" and "A" in fig and fig["A"]["value"]["median"]:
                change = "%+.0f %%" % (100 * (r["value"]["median"] / fig["A"]["value"]["median"] - 1))
            ld = r["load"]
            u = "" if unit in ("", "instr") else " " + unit
            print("| %s | %s | %s%s | %s%s | %s | %s | %s |" % (
                fig["figure"] if ab == "A" or "A" not in fig else "″", ab + ": " + version(ab, head),
                span(r["value"], unit), u, span(r["floor"], unit) if r["floor"] else "—",
                u if r["floor"] else "", span(r["ratio"], unit, ratio_fmt, "×") if r["ratio"] else "—",
                ("%.1f–%.1f" % (ld["min"], ld["max"])) if ld else "—", change))
    print()
    print("raw outputs: %s" % OUT)
    return 0


def version(ab, head):
    m = re.match(r"OpenSSL (\S+)", head[ab]["openssl"] or "")
    return m[1] if m else "?"


sys.exit(main())
