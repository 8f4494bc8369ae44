#!/usr/bin/env bash
# Runs the San Francisco scenario live (`mobiscud run --live`) and saves a screenshot of its dashboard, taken by
# headless chromium (apt-get install chromium), to docs/images/dashboard.png or the file given.
#   SPEED=60x   simulated seconds per second
#   WAIT=40     wall seconds before the shot (40 s at 60x: 40 simulated minutes of the hour)
#   PORT=18080  the dashboard's port on 127.0.0.1
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/images/dashboard.png}
port=${PORT:-18080}
speed=${SPEED:-60x}
wait=${WAIT:-40}
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  echo "chromium is not installed: apt-get install -y chromium" >&2
  exit 1
fi
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
dotnet build src/MobiScud.Cli -c Release -nologo -clp:ErrorsOnly
dll=$(ls src/MobiScud.Cli/bin/Release/net*/mobiscud.dll | head -1)
work=$(mktemp -d)
dotnet "$dll" run examples/san-francisco.yaml --live --speed "$speed" --port "$port" --token "$token" --no-report --out "$work" >"$work/run.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 120); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/" && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/run.log" >&2; exit 1; }
  sleep 1
done
sleep "$wait"
mkdir -p "$(dirname "$out")"
# The token goes in the address's fragment, which the page keeps for the session and the browser never sends.
"$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1600,1250 --virtual-time-budget=4000 \
  --screenshot="$out" "http://127.0.0.1:$port/#token=$token" 2>/dev/null
echo "saved $out"
