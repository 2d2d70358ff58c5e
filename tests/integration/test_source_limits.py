#!/usr/bin/env python3
"""The tree's size rules, checked on every run (docs/design.md, "Size rules"):

- no function in src/ longer than 120 lines (from the line that opens its
  body to the line that closes it),
- no source file in src/ longer than 1,500 lines,
- no `#include` of a `.c` file anywhere (src, include, tests, bench, fuzz),
- every public header (include/bacsc/*.h) and every src/ layer is named in
  docs/design.md, so the layer table cannot drift from the tree,
- no layer but the command layer (src/cli, the top) includes another
  layer's private headers ("web/...", "cli/...", ...): the others reach each
  other only through include/bacsc/ (design.md: arrows point down only).

Functions are found by a small scanner that skips comments, strings and
character constants and treats a top-level `{` that follows `)` as a function
body.  The scanner checks itself first on a synthetic file, so a broken
scanner fails the test instead of passing everything.
"""
import os
import re
import sys

MAX_FUNCTION_LINES = 120
MAX_FILE_LINES = 1500
SRC = os.environ.get("BACSC_SRC") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))


def strip_code(text):
    """Text with comments, strings and char constants blanked (newlines kept)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "#" and (i == 0 or text[i - 1] == "\n"):
            # preprocessor line (with continuations): braces there are not code
            j = i
            while True:
                k = text.find("\n", j)
                if k < 0:
                    k = n
                    break
                if text[k - 1] != "\\":
                    break
                j = k + 1
            out.append(re.sub(r"[^\n]", " ", text[i:k]))
            i = k
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(text):
    """Yield (name, first_line, line_count) for each function body."""
    code = strip_code(text)
    depth, start, name = 0, None, None
    line = 1
    for i, c in enumerate(code):
        if c == "\n":
            line += 1
        elif c == "{":
            if depth == 0:
                before = code[:i].rstrip()
                if before.endswith(")"):
                    m = re.search(r"(\w+)\s*\([^;{}]*\)\s*$", before, re.S)
                    name = m.group(1) if m else "?"
                    start = line
                else:
                    start = None
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0 and start is not None:
                yield name, start, line - start + 1
                start = None


def self_check():
    long_body = "\n".join("    x += %d;" % k for k in range(130))
    sample = ("static const char *s = \"{ not a brace\";\n"
              "/* { } */\n"
              "static int short_one(int a)\n{\n    return a; /* } */\n}\n"
              "int long_one(int x)\n{\n" + long_body + "\n    return x;\n}\n"
              "struct s { int a; };\n")
    found = {n: c for n, _, c in functions(sample)}
    assert found.get("short_one") == 3, found
    assert found.get("long_one", 0) > MAX_FUNCTION_LINES, found
    assert "s" not in found, found


def main():
    self_check()
    failures = []
    for top in ("src",):
        for root, _, files in os.walk(os.path.join(SRC, top)):
            for f in sorted(files):
                if not f.endswith((".c", ".h")):
                    continue
                path = os.path.join(root, f)
                rel = os.path.relpath(path, SRC)
                text = open(path, encoding="utf-8", errors="replace").read()
                nlines = text.count("\n")
                if nlines > MAX_FILE_LINES:
                    failures.append("%s: %d lines (limit %d)" % (rel, nlines, MAX_FILE_LINES))
                for name, first, count in functions(text):
                    if count > MAX_FUNCTION_LINES:
                        failures.append("%s:%d: function %s is %d lines (limit %d)"
                                        % (rel, first, name, count, MAX_FUNCTION_LINES))
    inc_c = re.compile(r'^\s*#\s*include\s*[<"][^>"]+\.c[>"]', re.M)
    for top in ("src", "include", "tests", "bench", "fuzz"):
        for root, _, files in os.walk(os.path.join(SRC, top)):
            for f in files:
                if f.endswith((".c", ".h")):
                    path = os.path.join(root, f)
                    if inc_c.search(open(path, encoding="utf-8", errors="replace").read()):
                        failures.append("%s: #includes a .c file" % os.path.relpath(path, SRC))
    design = open(os.path.join(SRC, "docs", "design.md"), encoding="utf-8").read()
    for h in sorted(os.listdir(os.path.join(SRC, "include", "bacsc"))):
        if h.endswith(".h") and "`%s`" % h not in design:
            failures.append("include/bacsc/%s: not in docs/design.md's header table" % h)
    for layer in sorted(os.listdir(os.path.join(SRC, "src"))):
        if os.path.isdir(os.path.join(SRC, "src", layer)) and "src/%s" % layer not in design:
            failures.append("src/%s: not in docs/design.md's layer diagram" % layer)
    layers = [d for d in os.listdir(os.path.join(SRC, "src"))
              if os.path.isdir(os.path.join(SRC, "src", d))]
    private = re.compile(r'^\s*#\s*include\s*"(%s)/' % "|".join(map(re.escape, layers)), re.M)
    for layer in layers:
        if layer == "cli":
            continue
        for root, _, files in os.walk(os.path.join(SRC, "src", layer)):
            for f in files:
                if f.endswith((".c", ".h")):
                    path = os.path.join(root, f)
                    text = open(path, encoding="utf-8", errors="replace").read()
                    for m in private.finditer(text):
                        if m.group(1) != layer:
                            failures.append("%s: includes a private header of src/%s"
                                            % (os.path.relpath(path, SRC), m.group(1)))
    for f in failures:
        print("FAIL", f)
    print("%d passed, %d failed" % (1 if not failures else 0, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
