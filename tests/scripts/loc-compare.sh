#!/usr/bin/env bash
# Line counts of src/ (*.cs, as `wc -l` counts them) at two commits, measured like for like for issue 17, and where
# the growth in between came from. Every figure is read from git; nothing is typed in by hand.
#   tests/scripts/loc-compare.sh [BASE [REV]]
# BASE defaults to 2b6f432, the main on which issue 17 was filed (it checks the sizes the issue names:
# QemuHypervisor.cs 1,757, UeTracker.cs 1,010, S1apIeCodec.cs 803); REV defaults to HEAD.
#
# Sections:
#  1. src/ per project at BASE and REV.
#  2. Like for like: the jobs issue 17 consolidated (host layers, hypervisor adapters, QEMU, steering, tracker, S1AP
#     codec, SCTP codecs, CLI hosts, benchmark code), each a set of paths that covers where that job's code lived at
#     BASE and lives at REV, with its change split by the issue whose commits made it.
#  3. Growth of src/ by issue and project, and the folders that did not exist at BASE.
# Attribution: each non-merge commit in BASE..REV counts its own diff against its first parent. A commit belongs to
# the branch whose merge brought it in (the issue is the number in the branch name: p12-policy, nr15b, house17, ...);
# commits made on main itself are named in MAIN_COMMITS below; commits of the checked-out branch not yet on main go to
# that branch. What merges changed themselves (conflict resolutions) is the "merges" column, so that every row adds up.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
base=${1:-2b6f432}
rev=${2:-HEAD}
cd "$root"
exec python3 - "$base" "$rev" <<'PY'
import collections, re, subprocess, sys

base, rev = sys.argv[1], sys.argv[2]

def git(*args):
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout

def resolve(r):
    return git("rev-parse", "--verify", "--quiet", r + "^{commit}").strip()

base, rev = resolve(base), resolve(rev)

# Commits made on main itself (not brought by a branch merge) that change src/*.cs: the issue each served.
# "main" is the lead's fixes that serve no one issue (flaky tests, review fixes, port ranges).
MAIN_COMMITS = {
    "f37db92": "14", "b03fb6c": "14",  # decode: one row per S1AP message (the per-message decoder)
    "5497478": "14", "a56f4ab": "14",  # eNB identity notes from S1 Setup
    "0acf796": "18", "7bd4c59": "18", "8e0024e": "18", "d4e4f9b": "18",  # bench-send, Ring tap, reaction
    "fa4f00a": "16", "602d533": "16", "4f88a0d": "16", "7d1f20c": "16",  # dashboard for testbed/serve, tiles
    "309154a": "12", "2ba1ee7": "12", "309fc32": "12",  # policy parameters, decision allocations, trajectory
    "c499a11": "15", "1a05e58": "15",  # replay --bench with NGAP through the tracker; gNB ids as EnbIdentity
    "855ffa6": "17", "72b70cb": "17", "60d2e92": "17", "eb70408": "17",  # dedup, house rules, no file > 700
    "ad6ab81": "main", "5393ab0": "main", "10ddc30": "main", "8277320": "main", "214ab18": "main",
    "a0c3960": "main",
    # dedup17b merged by fast-forward (no merge commit names it); the Simulator split on main (no file > 700)
    "86d28c7": "dedup17b", "18ee8df": "dedup17b", "c07734d": "dedup17b", "7d75e86": "dedup17b", "81e3a56": "dedup17b",
    "e7664ef": "17",
    # stop 25: one steering guard in MobiScudControl (no semantic duplicate); run's line with no completed moves
    "a3c96a2": "17", "1765a73": "12", "a7d9e46": "12",
    # stop 26: the core last on a tie in Ranked/Nearer (serve's default mesh)
    "9259aea": "12", "f01ee60": "main",  # f01ee60: QEMU progress at completion (a flaky Cloud test)
    "1285026": "12",  # reconciliation waits for MobilityLearner.Loaded (a CI failure)
    "aea897e": "12",  # review: one target loop for the 2-D plans, CellMdpIndex.For
}
# Merges whose subject names no branch.
MERGE_LABELS = {"49a4c4b": "house17"}  # Merge commit '5a1ecf3': the _camelCase field rename (house rules)

JOBS = [
    ("host layer: contracts, dispatch, timers, models", [
        r"src/MobiScud\.Control/Host/", r"src/MobiScud\.Hosting/HostLayer\.cs$",
        r"src/MobiScud\.Hosting/Adapters/(Abstractions|CommandExecutor|TimerService|ReplayModelHypervisor"
        r"|InMemorySwitch|ServiceClock)\.cs$"]),
    ("serve host: grains, pipeline, wiring", [
        r"src/MobiScud\.Hosting/ServeHost\.cs$", r"src/MobiScud\.Hosting/(Grains|Pipeline)/",
        r"src/MobiScud\.Hosting/Adapters/(AdapterRegistration|McConfigProvider|SiteMembership|HostingMetrics)\.cs$"]),
    ("testbed host: McTap, LiveExecutor -> TestbedMc", [r"src/MobiScud\.Testbed/Control/"]),
    ("CLI hosts: replay, run, serve, testbed, pvm, sdn", [r"src/MobiScud\.Cli/"]),
    ("hypervisor adapters", [
        r"src/MobiScud\.Cloud/(IHypervisor|HypervisorBackend)\.cs$",
        r"src/MobiScud\.Hosting/Adapters/(QemuHypervisorAdapter|SimulatedHypervisor)\.cs$",
        r"src/MobiScud\.Testbed/Emulation/NetnsPvmHost\.cs$"]),
    ("QEMU and QMP", [r"src/MobiScud\.Cloud/(Qemu|Qmp)/", r"src/MobiScud\.Cloud/ToolProcess\.cs$"]),
    ("steering: Sdn, serve's OpenFlow adapter", [
        r"src/MobiScud\.Sdn/", r"src/MobiScud\.Hosting/Adapters/OpenFlowSteeringAdapter\.cs$"]),
    ("tracker, signal factories, feed", [
        r"src/MobiScud\.Control/Tracking/", r"src/MobiScud\.Tracking/", r"src/MobiScud\.Capture/TrackerFeed\.cs$"]),
    ("S1AP codec, APER, decode errors", [r"src/MobiScud\.Protocols/(S1ap|Aper|Codec)/"]),
    ("SCTP codecs: tap, testbed's second codec", [
        r"src/MobiScud\.Protocols/Sctp/", r"src/MobiScud\.Testbed/Emulation/SctpPacket\.cs$"]),
    ("benchmark code in product assemblies", [
        r"src/MobiScud\.Hosting/ServeBench\.cs$", r"src/MobiScud\.Capture/(BenchCaptureGenerator|FrameBlaster)\.cs$"]),
]
OTHER = "everything else in src/"
jobs = [(name, [re.compile("^" + p) for p in pats]) for name, pats in JOBS]

def job_of(path):
    for name, pats in jobs:
        if any(p.search(path) for p in pats):
            return name
    return OTHER

def is_src_cs(path):
    return path.startswith("src/") and path.endswith(".cs")

def counts(commit, prefix="src/"):
    files = [f for f in git("ls-tree", "-r", "--name-only", commit, "--", prefix).splitlines() if f.endswith(".cs")]
    out = {}
    if not files:
        return out
    # One cat-file process for all blobs: the size header tells where each blob ends.
    proc = subprocess.run(["git", "cat-file", "--batch"], input="".join(f"{commit}:{f}\n" for f in files).encode(),
                          check=True, capture_output=True)
    data, pos = proc.stdout, 0
    for f in files:
        header_end = data.index(b"\n", pos)
        size = int(data[pos:header_end].split()[2])
        blob = data[header_end + 1:header_end + 1 + size]
        out[f] = blob.count(b"\n")
        pos = header_end + 1 + size + 1
    return out

def project(path):
    parts = path.split("/")
    return parts[1] if len(parts) > 2 else "(src root)"

def folder(path):
    return path.rsplit("/", 1)[0]

def issue_of(label):
    m = re.search(r"(\d\d)", label)
    return m.group(1) if m else label

# Show that BASE is what issue 17 describes (for issue 17's base).
before, after = counts(base), counts(rev)
named = {"src/MobiScud.Cloud/Qemu/QemuHypervisor.cs": 1757, "src/MobiScud.Control/Tracking/UeTracker.cs": 1010,
         "src/MobiScud.Protocols/S1ap/S1apIeCodec.cs": 803}
print(f"BASE {base[:7]} ({git('log', '-1', '--format=%ad %s', '--date=short', base).strip()[:90]})")
print(f"REV  {rev[:7]} ({git('log', '-1', '--format=%ad %s', '--date=short', rev).strip()[:90]})")
if base.startswith("2b6f432"):
    print("files issue 17 names, at BASE: " + ", ".join(f"{p.rsplit('/', 1)[1]} {before.get(p, 0):,}" for p in named))
print()

# --- attribution of every commit in BASE..REV ---
label = {}
merges = git("rev-list", "--topo-order", "--reverse", "--merges", f"{base}..{rev}").split()
for m in merges:  # oldest first, so a branch merged into another branch claims its own commits first
    subject = git("log", "-1", "--format=%s", m).strip()
    if re.match(r"(?i)merge main into", subject):
        continue  # brings main's commits into a branch: they belong to whoever brought them into main
    name = MERGE_LABELS.get(m[:7])
    if name is None:
        mm = re.match(r"Merge (?:branch |commit )?'?([\w.-]+)'?", subject)
        if not mm:
            sys.exit(f"loc-compare: merge {m[:7]} names no branch ({subject!r}); add it to MERGE_LABELS")
        name = mm.group(1)
    p1, p2 = git("log", "-1", "--format=%P", m).split()[:2]
    for c in git("rev-list", "--no-merges", f"{p1}..{p2}", f"^{base}").split():
        label.setdefault(c, name)
branch = git("rev-parse", "--abbrev-ref", "HEAD").strip()
on_main = set()
if subprocess.run(["git", "rev-parse", "--verify", "--quiet", "main"], capture_output=True).returncode == 0:
    on_main = set(git("rev-list", f"{base}..main").split())
unmapped = []
delta = collections.defaultdict(lambda: collections.Counter())  # issue -> path -> net lines
by_branch = collections.Counter()  # branch (or main's label) -> net lines
for c in git("rev-list", "--no-merges", f"{base}..{rev}").split():
    numstat = git("diff", "--numstat", "--no-renames", f"{c}^", c, "--", "src/")
    rows = [r.split("\t") for r in numstat.splitlines()]
    rows = [(int(a), int(d), p) for a, d, p in rows if a != "-" and is_src_cs(p)]
    if not rows:
        continue
    name = label.get(c) or MAIN_COMMITS.get(c[:7])
    if name is None and c not in on_main and re.search(r"\d\d", branch):
        name = branch  # this branch's own commits, not merged yet
    if name is None:
        name = "unmapped"
        unmapped.append(c)
    for a, d, p in rows:
        delta[issue_of(name)][p] += a - d
        by_branch[name] += a - d

issues = sorted(delta, key=lambda i: (not i.isdigit(), i))
cols = issues + ["merges"]

def split(paths_filter):
    out = {}
    for i in issues:
        out[i] = sum(v for p, v in delta[i].items() if paths_filter(p))
    return out

def table(title, keys, key_of, width):
    print(title)
    head = f"{'':<{width}} {'BASE':>7} {'REV':>7} {'change':>7} |" + "".join(f" {'#' + c if c.isdigit() else c:>6}" for c in cols)
    print(head)
    print("-" * len(head))
    tot_b = tot_a = 0
    tot = collections.Counter()
    for k in keys:
        b = sum(v for p, v in before.items() if key_of(p) == k)
        a = sum(v for p, v in after.items() if key_of(p) == k)
        s = split(lambda p: key_of(p) == k)
        s["merges"] = (a - b) - sum(s.values())
        tot_b += b; tot_a += a; tot.update(s)
        print(f"{k:<{width}} {b:>7,} {a:>7,} {a - b:>+7,} |" + "".join(f" {s[c]:>+6,}" for c in cols))
    print("-" * len(head))
    print(f"{'total':<{width}} {tot_b:>7,} {tot_a:>7,} {tot_a - tot_b:>+7,} |" + "".join(f" {tot[c]:>+6,}" for c in cols))
    print()
    return tot_b, tot_a, tot

projects = sorted({project(p) for p in list(before) + list(after)})
table("1. src/*.cs lines per project, and the change by issue (#N: commits of issue N's branches; main: the lead's "
      "fixes; merges: conflict resolutions)", projects, project, 22)

names = [n for n, _ in JOBS] + [OTHER]
b, a, t = table("2. Like for like: the jobs issue 17 consolidated (paths where each lived at BASE and lives at REV)",
                names, job_of, 46)
jb = sum(v for p, v in before.items() if job_of(p) != OTHER)
ja = sum(v for p, v in after.items() if job_of(p) != OTHER)
j17 = sum(v for p, v in delta.get("17", {}).items() if job_of(p) != OTHER)
print(f"   the consolidated jobs: {jb:,} lines at BASE, {ja:,} at REV; issue 17's own commits changed them by {j17:+,} "
      f"({j17 / jb:+.1%}); the rest of the change ({ja - jb - j17:+,}) is other issues' features and fixes in the same "
      "code, per column above.")
bench = sum(counts(rev, "bench/MobiScud.Bench.Support").values())
print(f"   benchmark code moved out of src/ lives in bench/MobiScud.Bench.Support at REV: {bench:,} lines.")
print()

if "17" in delta:
    rest = collections.Counter()
    for path, v in delta["17"].items():
        if job_of(path) == OTHER:
            rest[folder(path)] += v
    print("   issue 17's change to everything else, by folder: " + ", ".join(
        f"{f.removeprefix('src/MobiScud.')} {v:+,}" for f, v in sorted(rest.items(), key=lambda kv: kv[1]) if v != 0))
    print()

new_folders = sorted({folder(p) for p in after} - {folder(p) for p in before})
print("3. Folders of src/ that did not exist at BASE (lines at REV, and the issue whose commits added the most there)")
for f in new_folders:
    lines = sum(v for p, v in after.items() if folder(p) == f)
    by = {i: sum(v for p, v in delta[i].items() if folder(p) == f) for i in issues}
    top = max(by, key=by.get)
    print(f"   {f:<40} {lines:>6,}  mostly #{top} ({by[top]:+,})" if top.isdigit() else
          f"   {f:<40} {lines:>6,}  mostly {top} ({by[top]:+,})")
print()
new_files = [p for p in after if p not in before]
gone = [p for p in before if p not in after]
print(f"files: {len(before)} at BASE, {len(after)} at REV ({len(new_files)} new, {len(gone)} gone or moved); "
      f"largest at REV: " + ", ".join(f"{p.rsplit('/', 1)[1]} {n}" for p, n in sorted(after.items(), key=lambda kv: -kv[1])[:3]))
print("net src/*.cs lines per branch (main's own commits as #N/main): " + ", ".join(
    f"{n} {v:+,}" for n, v in sorted(by_branch.items(), key=lambda kv: (issue_of(kv[0]), kv[0]))))
if unmapped:
    print("commits not attributed (add them to MAIN_COMMITS): " + " ".join(c[:7] for c in unmapped))
PY
