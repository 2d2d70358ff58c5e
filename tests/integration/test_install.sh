#!/usr/bin/env bash
# The install target and pkg-config file work: install into a temporary prefix,
# then build and run a program against the installed headers and libbacsc
# (shared and static) using only `pkg-config bacsc`.
set -euo pipefail
: "${BACSC_BUILD:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cmake --install "$BACSC_BUILD" --prefix "$tmp/prefix" >/dev/null
libdir=$(ls -d "$tmp"/prefix/lib*/ | head -1)
# The OpenSSL the tree was built against (its own prefix or the system's):
# the consumer links and runs with that one too.
ossl_libdir=$(sed -n 's/^OPENSSL_LIBDIR:INTERNAL=//p' "$BACSC_BUILD/CMakeCache.txt")
export PKG_CONFIG_PATH="$libdir/pkgconfig${ossl_libdir:+:$ossl_libdir/pkgconfig}"
ossl_rpath=${ossl_libdir:+-Wl,-rpath,$ossl_libdir}
test -x "$tmp/prefix/bin/bacsc"
# Build the consumer like the library was built (a sanitized libbacsc needs the
# sanitizer runtimes of the same compiler).
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BACSC_BUILD/CMakeCache.txt"); cc=${cc:-cc}
san=""; grep -q '^BACSC_SANITIZE:BOOL=ON' "$BACSC_BUILD/CMakeCache.txt" && san="-fsanitize=address,undefined"
test -f "$tmp/prefix/include/bacsc/bvlc.h"
cat > "$tmp/use.c" <<'C'
#include <bacsc/bvlc.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    bacsc_bvlc_msg m;
    bacsc_bvlc_init(&m, BACSC_BVLC_HEARTBEAT_REQUEST, 7);
    unsigned char buf[16];
    int n = bacsc_bvlc_encode(&m, buf, sizeof buf);
    bacsc_bvlc_msg d;
    if (n != 4 || bacsc_bvlc_decode(buf, (size_t)n, &d, NULL) != 0 || d.message_id != 7)
        return 1;
    printf("%s\n", bacsc_bvlc_function_name(d.function));
    return 0;
}
C
"$cc" $san -std=c11 -Wall -Werror "$tmp/use.c" -o "$tmp/use-shared" $(pkg-config --cflags --libs bacsc) -Wl,-rpath,"$libdir" $ossl_rpath
out=$("$tmp/use-shared")
[ "$out" = "Heartbeat-Request" ] || { echo "shared: unexpected output '$out'"; exit 1; }
"$cc" $san -std=c11 -Wall -Werror "$tmp/use.c" -o "$tmp/use-static" $(pkg-config --cflags bacsc) \
   "$libdir/libbacsc.a" $(pkg-config --libs --static openssl sqlite3 libzip jansson) $ossl_rpath -lm -lpthread
out=$("$tmp/use-static")
[ "$out" = "Heartbeat-Request" ] || { echo "static: unexpected output '$out'"; exit 1; }
"$tmp/prefix/bin/bacsc" --version | grep -q '^bacsc '
echo "install: ok (shared and static, pkg-config)"
