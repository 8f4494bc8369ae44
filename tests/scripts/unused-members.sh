#!/usr/bin/env bash
# Lists the types and members declared under the given src/ folders that no code references (outside their own
# declaration) or that only tests reference (bench/ counts as product code): a dead-code scan for clean-ups, by Roslyn's reference search
# over MobiScud.slnx (tools/UnusedMembers). A row is a place to look, not a verdict: members reached by reflection
# (JSON, configuration binding, Orleans, DI constructors, middleware conventions) and extension classes look unused.
# Tuple elements and anonymous types are left out here. Takes minutes (one reference search per member).
#   bash tests/scripts/unused-members.sh src/MobiScud.Sdn src/MobiScud.Hosting ...
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ $# -eq 0 ]; then
  echo "usage: tests/scripts/unused-members.sh <src folder>..." >&2
  exit 2
fi
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
dotnet build tools/UnusedMembers/UnusedMembers.csproj -c Release -nologo -clp:ErrorsOnly -v:q >&2
dotnet tools/UnusedMembers/bin/Release/net10.0/UnusedMembers.dll MobiScud.slnx "$@" | awk -F'\t' '$3 !~ /^[(<]/'
