#!/usr/bin/env python3
# Offline check for predictive's learned road (docs/policies.md, "A learned road for San Francisco"): how well the
# second-order next-cell model, the first-order one and the heading guess each taxi's next cell, and how far off each
# guess of its cell 2-3 slots ahead is. An approximation of the simulator: eNB = cell >> 8 at its cells' centroid,
# positions interpolated every 2 s between fixes (gaps over 10 min skipped), the serving eNB the nearest with a 1.22x
# distance hysteresis (about a 3 dB A3 offset). Online: every guess uses only handovers seen before it.
# Run: python3 bench/scripts/sf-next-cell.py 30   (traceStart in minutes: 30, 90, 150; about 2 CPU minutes)
import csv, math, sys, collections, os, tempfile
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
OUT = tempfile.gettempdir()
T0 = 1211983200  # 07:00 PDT
start = T0 + int(sys.argv[1]) * 60 if len(sys.argv) > 1 else T0 + 1800
end = start + 3600
lat0 = 37.77
kx = 111320 * math.cos(math.radians(lat0)); ky = 110540
def proj(lat, lon): return (lon + 122.42) * kx, (lat - lat0) * ky
g = {}
for r in csv.DictReader(open(ROOT + '/data/datasets/san-francisco/cell_towers_san_francisco.csv')):
    e = int(r['cell']) >> 8
    x, y = proj(float(r['lat']), float(r['lon']))
    a = g.get(e, (0, 0, 0)); g[e] = (a[0] + x, a[1] + y, a[2] + 1)
enbs = [(k, v[0] / v[2], v[1] / v[2]) for k, v in sorted(g.items())]
pos = {k: (x, y) for k, x, y in enbs}
# grid for nearest
G = 400
grid = collections.defaultdict(list)
for k, x, y in enbs: grid[(int(x // G), int(y // G))].append(k)
def near(x, y, r=1):
    best = []
    while not best:
        cx, cy = int(x // G), int(y // G)
        cand = [k for i in range(-r, r + 1) for j in range(-r, r + 1) for k in grid.get((cx + i, cy + j), [])]
        best = cand; r += 1
    return cand
def serving(x, y, cur):
    cand = near(x, y)
    d = lambda k: math.hypot(pos[k][0] - x, pos[k][1] - y)
    b = min(cand, key=d)
    if cur is None: return b
    if b != cur and d(b) * 1.22 < d(cur): return b
    return cur
fixes = collections.defaultdict(list)
for r in csv.DictReader(open(ROOT + '/data/datasets/san-francisco/cabspotting_2008-05-28_0700-1100_PDT.csv')):
    fixes[r['cab_id']].append((int(r['unix_time']), float(r['lat']), float(r['lon'])))
STEP = 2
seqs = {}  # cab -> list of (t, cell) at each change
slots = {}  # cab -> cell at each 60s boundary
for cab, fs in fixes.items():
    fs.sort()
    pts = [(t,) + proj(la, lo) for t, la, lo in fs]
    cur = None; hs = []; sl = {}
    i = 0
    for t in range(start, end, STEP):
        while i + 1 < len(pts) and pts[i + 1][0] <= t: i += 1
        if pts[i][0] > t or i + 1 >= len(pts):
            if pts[i][0] != t: continue
            x, y = pts[i][1], pts[i][2]
        else:
            a, b = pts[i], pts[i + 1]
            if b[0] - a[0] > 600: continue  # long gap: not moving/unknown
            f = (t - a[0]) / (b[0] - a[0]); x, y = a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])
        c = serving(x, y, cur)
        if c != cur: hs.append((t, c)); cur = c
        if (t - start) % 60 == 0: sl[(t - start) // 60] = c
    seqs[cab] = hs; slots[cab] = sl
events = sorted((t, cab, k) for cab, hs in seqs.items() for k, (t, c) in enumerate(hs))
first = collections.defaultdict(collections.Counter)
second = collections.defaultdict(collections.Counter)
def turn(a, b, c):
    (ax, ay), (bx, by), (cx, cy) = pos[a], pos[b], pos[c]
    d1 = (bx - ax, by - ay); d2 = (cx - bx, cy - by)
    n = math.hypot(*d1) * math.hypot(*d2)
    if n == 0: return None
    return math.degrees(math.acos(max(-1, min(1, (d1[0] * d2[0] + d1[1] * d2[1]) / n))))
st = collections.Counter()
for t, cab, k in events:
    hs = seqs[cab]
    if k < 1: continue
    prev, cur = hs[k - 1][1], hs[k][1]
    earlier = hs[k - 2][1] if k >= 2 else None
    if k + 1 < len(hs):
        nxt = hs[k + 1][1]
        st['n'] += 1
        f1 = first[cur]; f2 = second[(prev, cur)]
        g1 = f1.most_common(1)[0][0] if f1 else None
        if sum(f2.values()) >= 1:
            g2 = f2.most_common(1)[0][0]; st['2nd_known'] += 1; st['2nd_known_hit'] += g2 == nxt; st['1st_on_known_hit'] += g1 == nxt
        else:
            g2 = g1
        # second-order excluding back-to-prev when fallback
        st['1st_hit'] += g1 == nxt
        st['2nd_hit'] += g2 == nxt
        st['1st_has'] += g1 is not None
        # heading: among cells seen leaving cur (first-order support) + nxt-agnostic: pick the smallest turn from chord
        ch = earlier if earlier is not None and earlier != cur else prev
        cands = [c for c in f1 if c != cur]
        if cands and ch != cur:
            gh = min(cands, key=lambda c: turn(ch, cur, c) if turn(ch, cur, c) is not None else 999)
            st['head_has'] += 1; st['head_hit'] += gh == nxt
            st['2nd_on_head_hit'] += g2 == nxt
        tn = turn(ch, cur, nxt) if ch != cur else None
        if tn is not None: st['turn_known'] += 1; st['right45'] += tn <= 45
        st['pingpong'] += nxt == prev
    # learn this handover (prev -> cur, with earlier)
    first[prev][cur] += 1
    if earlier is not None: second[(earlier, prev)][cur] += 1
n = st['n']
print(f"window start {(start-T0)//60} min; handovers judged {n}; cells {len(pos)}; taxis {len(seqs)}")
print(f"first-order top guess right {st['1st_hit']/n:.3f} (had a guess {st['1st_has']/n:.3f})")
print(f"second-order (fallback first) right {st['2nd_hit']/n:.3f}; second-order known {st['2nd_known']/n:.3f}, right there {st['2nd_known_hit']/max(1,st['2nd_known']):.3f} vs first-order there {st['1st_on_known_hit']/max(1,st['2nd_known']):.3f}")
print(f"heading (smallest turn among learned next cells) right {st['head_hit']/max(1,st['head_has']):.3f} on {st['head_has']/n:.3f}; second-order on the same {st['2nd_on_head_hit']/max(1,st['head_has']):.3f}")
print(f"turn<=45 share {st['right45']/max(1,st['turn_known']):.3f}; ping-pong back {st['pingpong']/n:.3f}")
import pickle; pickle.dump((seqs, slots, pos, dict(first), dict(second)), open(f'{OUT}/sf-next-cell-seq{(start-T0)//60}.pkl', 'wb'))

# ---- cells 2-3 slots ahead ----
import pickle, tempfile
w = str((start - T0) // 60)
seqs, slots, pos, _, _ = pickle.load(open(f'{tempfile.gettempdir()}/sf-next-cell-seq{w}.pkl', 'rb'))
start = min(hs[0][0] for hs in seqs.values() if hs)
evs = [(t, 0, cab, k) for cab, hs in seqs.items() for k, (t, c) in enumerate(hs)]
evs += [(start + 60 * j, 1, cab, j) for cab in slots for j in slots[cab]]
evs.sort()
first = collections.defaultdict(collections.Counter); second = collections.defaultdict(collections.Counter)
def turn(a, b, c):
    (ax, ay), (bx, by), (cx, cy) = pos[a], pos[b], pos[c]
    d1 = (bx - ax, by - ay); d2 = (cx - bx, cy - by)
    n = math.hypot(*d1) * math.hypot(*d2)
    return None if n == 0 else math.degrees(math.acos(max(-1, min(1, (d1[0] * d2[0] + d1[1] * d2[1]) / n))))
def top(p, c):
    f = second.get((p, c)) if p is not None else None
    if not f: f = first.get(c)
    return max(f, key=f.get) if f else None
steady = {}
dw = collections.defaultdict(lambda: [0.0, 0])
st = collections.Counter(); err = collections.Counter()
state = {}
TAU = 600.0
for t, kind, cab, k in evs:
    hs = seqs[cab]
    if kind == 0:
        if k >= 1:
            p = hs[k - 1][1]; c = hs[k][1]
            first[p][c] += 1
            if k >= 2: second[(hs[k - 2][1], p)][c] += 1
            dw[p][0] += t - hs[k - 1][0]; dw[p][1] += 1
        tn = turn(hs[k - 2][1], hs[k - 1][1], hs[k][1]) if k >= 2 and hs[k-2][1] != hs[k-1][1] else None
        steady[cab] = steady.get(cab, 0) + 1 if tn is not None and tn <= 45 else 0
        state[cab] = k
        continue
    j = k; sl = slots[cab]
    if cab not in state: continue
    ki = state[cab]
    if ki < 2: continue
    e, p, c = hs[ki - 2][1], hs[ki - 1][1], hs[ki][1]
    if sl.get(j) != c or e == p: continue
    crossing = hs[ki][0] - hs[ki - 1][0]; stayed = t - hs[ki][0]
    if crossing <= 0: continue
    gated = steady[cab] >= 3
    for K in (2, 3):
        if j + K not in sl: continue
        actual = sl[j + K]; ax, ay = pos[actual]
        for grp in (('all',) + (('gated',) if gated else ())):
            st[K, grp, 'n'] += 1
            err[K, grp, 'stay'] += math.hypot(pos[c][0] - ax, pos[c][1] - ay)
            # straight line (MigrationPolicies.TrajectoryOf, TrajectoryPoints)
            secs = max(crossing, stayed)
            vx, vy = (pos[c][0] - pos[e][0]) / 2 / secs, (pos[c][1] - pos[e][1]) / 2 / secs
            ox, oy = (pos[p][0] + pos[c][0]) / 2 + vx * stayed, (pos[p][1] + pos[c][1]) / 2 + vy * stayed
            reach = TAU * (1 - math.exp(-K * 60 / TAU))
            err[K, grp, 'line'] += math.hypot(ox + vx * reach - ax, oy + vy * reach - ay)
            # second-order top path at the taxi's own pace
            h = K * 60
            md = dw[c][0] / dw[c][1] if dw[c][1] else 1e9
            for name, order, pace in (('path2', 2, crossing), ('path1', 1, crossing), ('cellpace', 2, md), ('maxpace', 2, max(md, crossing)), ('slow', 2, 2 * max(md, crossing))):
                remaining = max(0, pace - stayed)
                m = 0 if h < remaining else 1 + int((h - remaining) // pace)
                pp, cc = p, c
                for _ in range(min(m, 10)):
                    nx = top(pp if order == 2 else None, cc)
                    if nx is None: break
                    pp, cc = cc, nx
                st[K, grp, name] += cc == actual
                err[K, grp, name] += math.hypot(pos[cc][0] - ax, pos[cc][1] - ay)
            st[K, grp, 'stayhit'] += c == actual
for K in (2, 3):
    for grp in ('all', 'gated'):
        n = st[K, grp, 'n']
        print(f"window {w} K={K} {grp} ({n}): off m stay {err[K,grp,'stay']/n:.0f} (right {st[K,grp,'stayhit']/n:.3f}), straight line {err[K,grp,'line']/n:.0f}, "
              f"1st-order path {err[K,grp,'path1']/n:.0f} (right {st[K,grp,'path1']/n:.3f}), 2nd-order path {err[K,grp,'path2']/n:.0f} (right {st[K,grp,'path2']/n:.3f}); cell mean dwell pace {err[K,grp,'cellpace']/n:.0f} ({st[K,grp,'cellpace']/n:.3f}), max of both {err[K,grp,'maxpace']/n:.0f} ({st[K,grp,'maxpace']/n:.3f}), twice that {err[K,grp,'slow']/n:.0f} ({st[K,grp,'slow']/n:.3f})")

# ---- the second-order chain rolled into a distribution over cells (slot / mean dwell per slot), and the path with the number of handovers known ----
seqs, slots, pos, _, _ = pickle.load(open(f'{tempfile.gettempdir()}/sf-next-cell-seq{w}.pkl', 'rb'))
start = 0
# time origin: slot j at offset 60*j from window start; handover times absolute -> find start
tmin = min(t for hs in seqs.values() for t, c in hs)
start = tmin - (tmin % 60) if False else None
# recover window start from slots: first handover of any cab occurs at window start exactly
start = min(hs[0][0] for hs in seqs.values() if hs)
evs = []
for cab, hs in seqs.items():
    for k, (t, c) in enumerate(hs):
        evs.append((t, 0, cab, k))
for cab in slots:
    for j in slots[cab]:
        evs.append((start + 60 * j, 1, cab, j))
evs.sort()
first = collections.defaultdict(collections.Counter); second = collections.defaultdict(collections.Counter)
dwell = collections.defaultdict(lambda: [0.0, 0])
def nextdist(prev, cur, order):
    if order == 2 and prev is not None and sum(second[(prev, cur)].values()) > 0:
        f = second[(prev, cur)]
    else:
        f = first[cur]
    n = sum(f.values())
    return {c: v / n for c, v in f.items()} if n else {}
def roll(prev, cur, K, order, own=None):
    d = dwell[cur]
    dist = {(prev, cur): 1.0}
    for _ in range(K):
        nd = collections.defaultdict(float)
        for (p, c), pr in dist.items():
            dd = dwell[c]; md = dd[0] / dd[1] if dd[1] else 120.0
            leave = min(1.0, 60.0 / max(md if own is None else own, 1.0))
            nx = nextdist(p, c, order)
            if not nx: leave = 0
            nd[(p, c)] += pr * (1 - leave)
            for c2, q in nx.items(): nd[(c, c2)] += pr * leave * q
        dist = nd
    out = collections.defaultdict(float)
    for (p, c), pr in dist.items(): out[c] += pr
    return out
def dist(a, b): return math.hypot(pos[a][0] - pos[b][0], pos[a][1] - pos[b][1])
st = collections.Counter(); err = collections.Counter()
state = {}  # cab -> k index of current handover
for t, kind, cab, k in evs:
    hs = seqs[cab]
    if kind == 0:
        if k >= 1:
            p = hs[k - 1][1]; c = hs[k][1]
            first[p][c] += 1
            if k >= 2: second[(hs[k - 2][1], p)][c] += 1
            dwell[p][0] += t - hs[k - 1][0]; dwell[p][1] += 1
        state[cab] = k
        continue
    j = k; sl = slots[cab]
    if cab not in state: continue
    ki = state[cab]; cur = hs[ki][1]; prev = hs[ki - 1][1] if ki >= 1 else None
    if sl.get(j) != cur: continue
    for K in (2, 3):
        if j + K not in sl: continue
        actual = sl[j + K]
        st[K, 'n'] += 1
        st[K, 'stay'] += actual == cur
        err[K, 'stay'] += dist(cur, actual)
        # own pace: the time the taxi stayed in its previous cell (None before two handovers)
        own = (hs[ki][0] - hs[ki - 1][0]) if ki >= 1 else None
        r = roll(prev, cur, K, 2, own if own else 1e9)
        top = max(r, key=r.get); st[K, 'own'] += top == actual; err[K, 'own'] += sum(pr * dist(c, actual) for c, pr in r.items()); err[K, 'owntop'] += dist(top, actual)
        # oracle count: how many handovers happen by slot j+K is known; the path is the top-guess roll
        tj = start + 60 * (j + K)
        m = sum(1 for (tt, cc) in hs[ki + 1:] if tt <= tj)
        if m >= 1:
            st[K, 'mov'] += 1; st[K, 'movstay'] += actual == cur; err[K, 'movstay'] += dist(cur, actual)
            p, c = prev, cur
            for _ in range(m):
                nx = nextdist(p, c, 2)
                if not nx: break
                p, c = c, max(nx, key=nx.get)
            st[K, 'oc2'] += c == actual; err[K, 'oc2'] += dist(c, actual)
            p, c = prev, cur
            for _ in range(m):
                nx = nextdist(None, c, 1)
                if not nx: break
                p, c = c, max(nx, key=nx.get)
            st[K, 'oc1'] += c == actual; err[K, 'oc1'] += dist(c, actual)
        for order in (1, 2):
            r = roll(prev, cur, K, order)
            top = max(r, key=r.get)
            st[K, order] += top == actual
            st[K, order, 'p'] += r.get(actual, 0)
            # expected distance from actual to the distribution (how far off the placement-relevant guess is)
            err[K, order] += sum(pr * dist(c, actual) for c, pr in r.items())
            err[K, order, 'top'] += dist(top, actual)
for K in (2, 3):
    n = st[K, 'n']; mv = st[K, 'mov']
    print(f"  own pace, order 2: top right {st[K,'own']/n:.3f}, top off {err[K,'owntop']/n:.0f} m, E off {err[K,'own']/n:.0f} m")
    print(f"  taxis that do hand over in the {K} slots ({mv}): stay right {st[K,'movstay']/mv:.3f} off {err[K,'movstay']/mv:.0f} m; known count, top path order 1 right {st[K,'oc1']/mv:.3f} off {err[K,'oc1']/mv:.0f} m, order 2 right {st[K,'oc2']/mv:.3f} off {err[K,'oc2']/mv:.0f} m")
    print(f"window {w}, {K} slots ahead ({n} samples): stay right {st[K,'stay']/n:.3f} off {err[K,'stay']/n:.0f} m; "
          + "; ".join(f"order {o}: top right {st[K,o]/n:.3f}, P(actual) {st[K,o,'p']/n:.3f}, top off {err[K,o,'top']/n:.0f} m, E off {err[K,o]/n:.0f} m" for o in (1, 2)))
