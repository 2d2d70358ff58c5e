#!/usr/bin/env bash
# bench/web.sh — the web console with a large site and a large request:
#  1. the Devices page with N devices (default 10,000): server time of the
#     first page of /api/site/devices (curl, median of 9), next to the floor
#     GET /api/session on the same server (TLS handshake + one request), and
#     the time to first render in Chromium (navigation start until the rows
#     are on screen, median of 7), next to the floor: the Users page (same
#     script and round trips, tiny data). Goal: under 300 ms.
#  2. a request of N CSRs uploaded through the API and auto-approved, until
#     its response zip is downloaded, next to the floor: `bacsc ca sign` of
#     the same zip in a fresh CA (the same library work, no HTTP). Goal:
#     under 5 s.
# usage: bench/web.sh [BUILD_DIR] [N]      (build, 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BUILD=${1:-build}; N=${2:-10000}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
B=$BUILD/bacsc
[ -x "$B" ] && [ -x "$BUILD/bench/bench_web_data" ] || { echo "bench/web.sh: build first" >&2; exit 1; }
D=$(mktemp -d /tmp/bench-web.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$D"; }
trap cleanup EXIT
cd "$D"
ms() { /usr/bin/python3 -c "import sys; v=sorted(float(x) for x in sys.stdin.read().split()); print('%.0f' % (1000*v[len(v)//2]))"; }

"$BUILD/bench/bench_web_data" "$D" "$N"
"$B" pki demo --out pki --nodes 0 >/dev/null
export BACSC_WEB_DB=$D/web.db
echo "bench-admin-pw" >pw
"$B" web user add admin --role admin --password-file pw >/dev/null
TOKEN=$("$B" web token create --user admin | tail -1)
"$B" ca policy set --dir ca auto_approve all >/dev/null
"$B" ca policy set --dir ca max_batch $((N > 20000 ? N : 20000)) >/dev/null
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$B" web --listen 127.0.0.1:$PORT --cert pki/hub.pem --key pki/hub.key --ca-dir ca --site-db site.db \
  --max-upload $((64 << 20)) --log-level warn >web.out 2>web.log &
PIDS+=($!)
for _ in $(seq 100); do grep -q "serving https" web.out && break; sleep 0.1; done
URL=https://127.0.0.1:$PORT
C=(curl -sk -H "Authorization: Bearer $TOKEN" -o /dev/null)

echo "== Devices page, $N devices"
for _ in 1 2 3 4 5 6 7 8 9; do "${C[@]}" -w '%{time_total}\n' "$URL/api/session"; done | ms >floor
for _ in 1 2 3 4 5 6 7 8 9; do "${C[@]}" -w '%{time_total}\n' "$URL/api/site/devices?limit=100"; done | ms >page
for _ in 1 2 3 4 5 6 7 8 9; do "${C[@]}" -w '%{time_total}\n' "$URL/api/site/devices?limit=100&status=valid&sort=expiry&order=desc"; done | ms >sorted
printf '  server: first page %s ms, filtered+sorted %s ms   (floor: GET /api/session %s ms)\n' \
  "$(cat page)" "$(cat sorted)" "$(cat floor)"
if [ -x "${CHROMIUM:-/usr/bin/chromium}" ] && [ -d "$SRC/tests/web/node_modules/playwright-core" ]; then
  node "$SRC/bench/web_render.js" "$URL" admin bench-admin-pw \
    '/devices=tr[data-instance]' '/users=table.grid tbody tr' >render
  printf '  Chromium, navigation start to rows painted: Devices %s ms   (floor: Users page %s ms)   goal < 300 ms\n' \
    "$(awk '$1=="/devices"{print $2}' render)" "$(awk '$1=="/users"{print $2}' render)"
else
  echo "  (Chromium or tests/web/node_modules missing: no render time)"
fi

echo "== $N CSRs uploaded and auto-approved through the API"
t0=$(date +%s.%N)
code=$(curl -sk -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/zip' \
  --data-binary @request.zip -o upload.json -w '%{http_code}' "$URL/api/ca/requests")
batch=$(/usr/bin/python3 -c 'import json; d=json.load(open("upload.json")); print(d["batch"]) if d.get("response_ready") else print("")')
[ "$code" = 201 ] && [ -n "$batch" ] || { echo "upload failed ($code): $(head -c 300 upload.json)" >&2; exit 1; }
t1=$(date +%s.%N)
curl -sk -H "Authorization: Bearer $TOKEN" -o response.zip "$URL/api/ca/batches/$batch/response"
t2=$(date +%s.%N)
issued=$(unzip -l response.zip | grep -c 'certs/')
"$B" ca init --dir ca2 --name "Floor CA" >/dev/null
"$B" ca policy set --dir ca2 max_batch $((N > 20000 ? N : 20000)) >/dev/null
t3=$(date +%s.%N)
"$B" ca sign --dir ca2 request.zip --out floor.zip >/dev/null
t4=$(date +%s.%N)
/usr/bin/python3 - "$t0" "$t1" "$t2" "$t3" "$t4" "$issued" <<'PY'
import sys
t0, t1, t2, t3, t4 = map(float, sys.argv[1:6])
print("  upload + auto-approve %.2f s, response download %.2f s: %.2f s to a downloadable response"
      " (%s certificates)   (floor: bacsc ca sign of the same zip %.2f s)   goal < 5 s"
      % (t1 - t0, t2 - t1, t2 - t0, sys.argv[6], t4 - t3))
PY
