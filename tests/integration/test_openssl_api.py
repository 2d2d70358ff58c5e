#!/usr/bin/env python3
"""OpenSSL calls that later 3.x releases deprecate go through one place.

The project builds against OpenSSL 3.0 (Debian 12, CI) and must keep building
with -Werror against current releases (3.5 LTS and later), where these calls
are deprecated. CI has only 3.0, whose headers do not mark them, so a new use
would pass CI and break every build against a newer OpenSSL. Each of them may
appear only in src/io/ossl_compat_internal.h, which picks the old or the new
spelling by OPENSSL_VERSION_NUMBER; everything else calls the wrapper.

The list: OSSL_DEPRECATEDIN_3_1 .. 3_5 in the 3.5 headers (BIO_meth_get_*,
the LHASH statistics, TS_VERIFY_CTX_set_*, SSL_SESSION_get_time/set_time,
SSL_CTX_flush_sessions). The scanner checks itself on a synthetic text first.
"""
import os
import re
import sys

SRC = os.environ.get("BACSC_SRC") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
COMPAT = os.path.join("src", "io", "ossl_compat_internal.h")
DEPRECATED = re.compile(
    r"\b(SSL_SESSION_get_time|SSL_SESSION_set_time|SSL_CTX_flush_sessions|"
    r"BIO_meth_get_[a-z_]+|OPENSSL_LH_(?:node_)?(?:usage_)?stats(?:_bio)?|"
    r"TS_VERIFY_CTX_set_(?:certs|data|imprint|store))\s*\(")
DIRS = ("src", "include", "tests", "bench", "fuzz")


def uses(text):
    """(line, name) of each call of a listed function; comments do not count."""
    text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in DEPRECATED.finditer(text)]


def main():
    probe = ("/* SSL_SESSION_get_time(s) in a comment */\n"
             "long t = SSL_SESSION_get_time(s); SSL_SESSION_get_time_ex(s);\n"
             "BIO_meth_get_write (m); OPENSSL_LH_node_usage_stats_bio(h, b);\n")
    if [n for _, n in uses(probe)] != ["SSL_SESSION_get_time", "BIO_meth_get_write",
                                       "OPENSSL_LH_node_usage_stats_bio"]:
        print("FAIL scanner self-check:", uses(probe))
        return 1
    bad = []
    for top in DIRS:
        for root, _, files in os.walk(os.path.join(SRC, top)):
            for f in files:
                if not f.endswith((".c", ".h")):
                    continue
                path = os.path.join(root, f)
                rel = os.path.relpath(path, SRC)
                if rel == COMPAT:
                    continue
                with open(path, encoding="utf-8", errors="replace") as fh:
                    for line, name in uses(fh.read()):
                        bad.append(f"{rel}:{line}: {name}() is deprecated in later OpenSSL 3.x "
                                   f"releases: call its wrapper in {COMPAT}")
    for b in bad:
        print("FAIL", b)
    if not bad:
        print(f"ok   no OpenSSL call deprecated since 3.1 outside {COMPAT}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
