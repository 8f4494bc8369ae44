#!/usr/bin/env bash
# Renames every private field that breaks the _camelCase rule (.editorconfig, IDE1006) across MobiScud.slnx: src,
# tests and bench. Mechanical and re-runnable: run it on main after merging branches, then build and commit the result
# as "mechanical: tests/scripts/rename-private-fields.sh". Files are written only when the renamed solution compiles
# with no warning or error that the original did not have; fields it cannot rename safely are listed as "skipped".
#   bash tests/scripts/rename-private-fields.sh            rename, print each rename and skip
#   bash tests/scripts/rename-private-fields.sh --dry-run  print the plan, write nothing
set -euo pipefail
cd "$(dirname "$0")/../.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
dotnet build tools/FieldNaming/FieldNaming.csproj -c Release -nologo -clp:ErrorsOnly -v:q
dotnet tools/FieldNaming/bin/Release/net10.0/FieldNaming.dll "$@" MobiScud.slnx
