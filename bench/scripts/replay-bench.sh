#!/usr/bin/env bash
# `mobiscud replay --bench` (whole process against tshark, docs/capture.md "Benchmarks") with the CLI built the way the
# benchmark figures are taken: self-contained, ReadyToRun composite (the framework and our assemblies in one version
# bubble, so the generic instantiations over our types are precompiled too) and tiered compilation off (the
# precompiled code is kept; nothing is re-jitted in the background). Measured (docs/capture.md): about a quarter less
# CPU for a whole `replay --json` than the plain build `dotnet run` uses, almost all of it JIT time.
# usage: replay-bench.sh [replay --bench options and capture files...]   e.g. replay-bench.sh --bench-runs 3
# env:   OUT      where the CLI is published (default /tmp/mobiscud-bench-cli; reused when newer than the sources)
#        PLAIN=1  run the plain Release build instead (what `dotnet run` runs), for the before/after comparison
#        ISA      crossgen2's --instruction-set for the precompiled code (default: x86-64-v3 or v2, the higher this
#                 machine's /proc/cpuinfo has; x86-64-v4 not measured; ISA=none: crossgen2's own default). Vectorised
#                 framework code (the JSON writer's indentation fill and escaping search) is precompiled only for a
#                 set named here, else left to the JIT. The binary still runs on a machine without the set: the runtime then rejects the
#                 precompiled code that needs it and JITs instead (same output, slower).
# Publishing the composite image compiles the whole framework: ~2-3 min of CPU on a quiet machine, 270 MB on disk.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
if [[ ${PLAIN:-} == 1 ]]; then
  dotnet build "$root/src/MobiScud.Cli" -c Release -nologo -clp:ErrorsOnly >&2
  cli=$(ls -d "$root"/src/MobiScud.Cli/bin/Release/*/ | head -1)mobiscud
else
  out=${OUT:-/tmp/mobiscud-bench-cli}
  if [[ -z ${ISA:-} ]]; then
    flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null) "
    has() { for f in "$@"; do [[ $flags == *" $f "* ]] || return 1; done; }
    ISA=none
    if has sse4_2 popcnt; then ISA=x86-64-v2; fi
    if [[ $ISA == x86-64-v2 ]] && has avx avx2 bmi1 bmi2 fma movbe abm; then ISA=x86-64-v3; fi
  fi
  isa_args=()
  if [[ $ISA != none ]]; then isa_args=(-p:PublishReadyToRunCrossgen2ExtraArgs=--instruction-set:$ISA); fi
  # Rebuilt when a source is newer than the binary or the instruction set differs from the one it was built for.
  newest=$(find "$root/src" "$root/bench/MobiScud.Bench.Support" -name '*.cs' -newer "$out/mobiscud" 2>/dev/null | head -1 || true)
  if [[ ! -x $out/mobiscud || -n $newest || $(cat "$out/isa" 2>/dev/null) != "$ISA" ]]; then
    dotnet publish "$root/src/MobiScud.Cli" -c Release -r linux-x64 --self-contained true -p:PublishReadyToRun=true \
      -p:PublishReadyToRunComposite=true -p:TieredCompilation=false "${isa_args[@]}" -o "$out" -nologo -clp:ErrorsOnly >&2
    echo "$ISA" > "$out/isa"
    touch "$out/mobiscud"
  fi
  cli=$out/mobiscud
fi
# Without files the bench takes the repository's captures (found through MOBISCUD_DATA, since the published CLI lives
# outside the checkout); files given are relative to the caller's directory, which is kept.
export MOBISCUD_DATA=${MOBISCUD_DATA:-$root/data}
exec "$cli" replay --bench "$@"
