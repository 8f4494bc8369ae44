#!/usr/bin/env python3
# Offline check for predictive's timing (docs/policies.md, "When a taxi leaves its cell"): how well candidate predictors
# of the time a taxi has left in its cell say "still in this cell 1, 2, 3 slots from now". Uses the handover sequences
# that sf-next-cell.py writes (run it first for the window); every prediction uses only handovers seen before it.
# Judged at every 60 s slot boundary of every taxi with at least one handover behind it; "stays h slots" means no
# handover in the next 60 h s (judged only while the taxi is still in the trace then).
# Run: python3 bench/scripts/sf-next-cell.py 30 && python3 bench/scripts/sf-dwell.py 30
import bisect, collections, math, os, pickle, sys, tempfile
w = sys.argv[1] if len(sys.argv) > 1 else '30'
seqs, slots, pos, _, _ = pickle.load(open(f'{tempfile.gettempdir()}/sf-next-cell-seq{w}.pkl', 'rb'))
start = min(hs[0][0] for hs in seqs.values() if hs)
SLOT, PRIOR, K0 = 60.0, 120.0, 5  # the slot, PolicyConfig.PriorDwell and MinDepartures
# Log-spaced dwell bins (s), as a pure fold in the core would keep them.
EDGES = [15, 30, 60, 120, 240, 480, 960, 1920]

evs = [(t, 0, cab, k) for cab, hs in seqs.items() for k, (t, c) in enumerate(hs)]
evs += [(start + 60 * j, 1, cab, j) for cab in slots for j in slots[cab]]
evs.sort()

alld = []  # every dwell seen, sorted
bycell = collections.defaultdict(list)  # cell -> sorted dwells
cellsum = collections.defaultdict(lambda: [0.0, 0])
gbins = [0] * (len(EDGES) + 1)
cbins = collections.defaultdict(lambda: [0] * (len(EDGES) + 1))
own = collections.defaultdict(list)  # cab -> its dwells, in order
state = {}


def surv(sorted_d, x):
    """Count of dwells > x."""
    return len(sorted_d) - bisect.bisect_right(sorted_d, x)


def binned_surv(bins, x):
    """Count of dwells > x from log-spaced bins, linear within a bin (the last bin: exponential tail of its mean)."""
    n = 0.0
    lo = 0
    for i, c in enumerate(bins):
        hi = EDGES[i] if i < len(EDGES) else None
        if hi is None:
            n += c * (1.0 if x <= lo else math.exp(-(x - lo) / lo))
        elif x <= lo:
            n += c
        elif x < hi:
            n += c * (hi - x) / (hi - lo)
        lo = hi if hi is not None else lo
    return n


def bin_of(d):
    return bisect.bisect_right(EDGES, d)


def cond(num, den, fallback, k=0.0):
    """P(D > e + H | D > e) from counts, shrunk toward fallback with k pseudo-observations."""
    return (num + k * fallback) / (den + k) if den + k > 0 else fallback


P = collections.defaultdict(lambda: collections.defaultdict(float))  # (mode, h, model) -> metric sums
base = collections.Counter()


def judge(mode, t, cab, ki):
    """Every model's P(still in the cell h slots from t) for a taxi that entered its cell with handover ki."""
    hs = seqs[cab]
    c, tin = hs[ki][1], hs[ki][0]
    e = t - tin
    nxt = hs[ki + 1][0] if ki + 1 < len(hs) else None
    crossing = tin - hs[ki - 1][0]
    m = (cellsum[c][0] + PRIOR * K0) / (cellsum[c][1] + K0)  # the forecast's shrunk cell mean
    prevcell = hs[ki - 1][1]
    mp = (cellsum[prevcell][0] + PRIOR * K0) / (cellsum[prevcell][1] + K0)
    pace = min(4, max(0.25, crossing / mp))
    raw = cellsum[c][0] / cellsum[c][1] if cellsum[c][1] >= K0 else None
    sl = slots[cab]
    for h in (1, 2, 3):
        # Judged only while the taxi is still in the trace at the end of the h slots.
        if mode == 'slot' and (t - start) // 60 + h not in sl:
            continue
        if mode == 'handover' and not any(t + 60 * h <= start + 60 * j for j in sl):
            continue
        H = SLOT * h
        y = 1.0 if nxt is None or nxt > t + H else 0.0
        base[mode, h, 'n'] += 1; base[mode, h, 'y'] += y
        preds = {}
        preds['memoryless cell mean'] = math.exp(-H / m)
        preds['forecast now (pace x mean + elapsed)'] = math.exp(-H / (pace * m + e))
        pc = max(raw or 0, crossing)
        preds['path now (max(cell mean, crossing) - elapsed)'] = 1.0 if pc - e > H else 0.0
        ga, gb = surv(alld, e + H), surv(alld, e)
        g = cond(ga, gb, math.exp(-H / m), 1)
        preds['hazard, all cells'] = g
        ca, cb = surv(bycell[c], e + H), surv(bycell[c], e)
        preds['hazard, cell shrunk to all (k=5)'] = cond(ca, cb, g, K0)
        preds['hazard, cell shrunk to all (k=20)'] = cond(ca, cb, g, 20)
        gba, gbb = binned_surv(gbins, e + H), binned_surv(gbins, e)
        gbn = cond(gba, gbb, math.exp(-H / m), 1)
        preds['hazard, all cells, binned'] = gbn
        cba, cbb = binned_surv(cbins[c], e + H), binned_surv(cbins[c], e)
        cbh = cond(cba, cbb, gbn, K0)
        preds['hazard, cell binned shrunk (k=5)'] = cbh
        # The same on a time axis stretched by the user's pace (its last crossing against that cell's mean).
        pa = cond(binned_surv(cbins[c], (e + H) / pace), binned_surv(cbins[c], e / pace),
                  cond(binned_surv(gbins, (e + H) / pace), binned_surv(gbins, e / pace), gbn, 1), K0)
        preds['hazard, cell binned shrunk, time / pace'] = pa
        # Half way: time / sqrt(pace).
        sp = math.sqrt(pace)
        preds['hazard, cell binned shrunk, time / sqrt(pace)'] = cond(binned_surv(cbins[c], (e + H) / sp), binned_surv(cbins[c], e / sp),
                  cond(binned_surv(gbins, (e + H) / sp), binned_surv(gbins, e / sp), gbn, 1), K0)
        od = own[cab][-3:]
        om = (sum(od) + PRIOR) / (len(od) + 1)
        preds['own last 3 dwells, memoryless'] = math.exp(-H / om)
        sa, sb = surv(alld, (e + H) / pace), surv(alld, e / pace)
        preds['hazard, all cells, time / pace'] = cond(sa, sb, g, 1)
        gm = sum(alld) / len(alld)
        sc = m / gm
        preds['hazard, all cells, time / (cell mean / all mean)'] = cond(surv(alld, (e + H) / sc), surv(alld, e / sc), g, 1)
        preds['constant (base rate so far)'] = None
        for name, p in preds.items():
            if p is None:
                p = base[mode, h, 'prev_y'] / base[mode, h, 'prev_n'] if base[mode, h, 'prev_n'] else 0.5
            p = min(max(p, 1e-3), 1 - 1e-3)
            P[mode, h, name]['brier'] += (p - y) ** 2
            P[mode, h, name]['logloss'] += -(y * math.log(p) + (1 - y) * math.log(1 - p))
            P[mode, h, name]['right'] += (p >= 0.5) == (y == 1.0)
            P[mode, h, name]['mean'] += p
        base[mode, h, 'prev_n'] += 1; base[mode, h, 'prev_y'] += y


for t, kind, cab, k in evs:
    hs = seqs[cab]
    if kind == 0:
        if k >= 1:
            p = hs[k - 1][1]
            d = t - hs[k - 1][0]
            bisect.insort(alld, d); bisect.insort(bycell[p], d)
            cellsum[p][0] += d; cellsum[p][1] += 1
            gbins[bin_of(d)] += 1; cbins[p][bin_of(d)] += 1
            own[cab].append(d)
        state[cab] = k
        # At the handover itself (what predictive sees when it decides): nothing spent in the new cell yet.
        if k >= 2 and len(alld) >= 50:
            judge('handover', t, cab, k)
        continue
    if cab not in state or len(alld) < 50 or state[cab] < 1:
        continue
    judge('slot', t, cab, state[cab])

print(f"window {w} min: {len(alld)} dwells learned by the end; median {alld[len(alld) // 2]} s, mean {sum(alld) / len(alld):.0f} s")
for mode, what in (('slot', 'at every slot boundary'), ('handover', 'at each handover (0 s spent in the new cell)')):
    print(f"\n#### {what}")
    for h in (1, 2, 3):
        n = base[mode, h, 'n']
        print(f"\n{h} slot(s) ahead: {n} judged, still in the cell {base[mode, h, 'y'] / n:.3f}")
        print(f"  {'model':52s} {'Brier':>6s} {'logloss':>7s} {'right':>6s} {'mean p':>6s}")
        rows = sorted({m for (md, hh, m) in P if md == mode and hh == h}, key=lambda m: P[mode, h, m]['brier'])
        for mname in rows:
            s = P[mode, h, mname]
            print(f"  {mname:52s} {s['brier'] / n:6.4f} {s['logloss'] / n:7.4f} {s['right'] / n:6.3f} {s['mean'] / n:6.3f}")
