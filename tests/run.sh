#!/usr/bin/env bash
# The test command: installs what the tests need (see tests/scripts/install-prereqs.sh), builds the
# solution once, runs every test project and prints one "N passed, N failed" line at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
bash tests/scripts/install-prereqs.sh
dotnet build MobiScud.slnx -c Release -nologo -clp:ErrorsOnly
results=$(mktemp -d)
status=0
# One test project at a time (-m:1): the QEMU suites of Cloud, Hosting and the testbed time guests under TCG, and run
# side by side on two cores they starve each other.
dotnet test MobiScud.slnx -c Release --no-build -m:1 --logger "trx" --results-directory "$results" "$@" || status=$?
# Sum the TRX counters so CI sees one plain closing line whatever the runner prints.
passed=0; failed=0; skipped=0
for f in "$results"/*.trx; do
  [ -e "$f" ] || continue
  line=$(grep -o '<Counters [^>]*>' "$f" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$line"); passed=$((passed + ${p:-0}))
  x=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$line"); failed=$((failed + ${x:-0}))
  n=$(sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p' <<<"$line"); skipped=$((skipped + ${n:-0}))
done
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
