#!/usr/bin/python3
# Decisions at handovers, priced as the score prices them (docs/policies.md, "Deciding at handovers with a
# semi-Markov model"): a semi-Markov decision process embedded at handovers, scored offline exactly as sf-bound.py
# (and so the simulator) scores a lane. The score samples each UE at 60 s boundaries whose phase is unrelated to its
# handovers, so a stay of tau seconds in cell u with the PVM at site a costs tau/slot x T(rings(u, a)) in expectation,
# and a move M(x) once. The state at a decision is the cell (first order) or (cell before, cell) (second order) and the
# PVM's site; the sojourn tau is learned per state from the observed dwells (any function of tau is averaged over the
# state's samples, shrunk toward the pooled ones), the next cell from the handover counts.
#   V(x, s) = A0 T(u, s) + B0 EV(x, s) + D0 min_a [M(s, a) + G(x, a)]
# with the decision taken at age d in the cell (d = 0: at the handover; d > 0 a timer that filters quick crossings),
# A0 / B0 the stay's cost and discount when it ends before d, D0 = P(tau > d) gamma^(d/slot), and G the rest of the
# stay at the chosen site (re-decided at review points every `review` seconds since arrival if asked, each one a
# stage of its own), EV(x, a) = sum P(x'|x) V(x', a), gamma per slot.
# Input: the records of sf-bound.py (its header says how they are made): <sf prefix><w>.mobiscud_<lane> and
# <ho prefix><w>.mobiscud_never. Run (numpy via /usr/bin/python3):
#   /usr/bin/python3 bench/scripts/sf-smdp.py --ho /tmp/ho /tmp/sf <w> [--order 1|2] [--fit in|others|online|cold]
#       [--defer 0,10,20,30] [--review 0|60] [--cap 300] [--gamma 0.9] [--dwell pair|cell|pool] [--beta 2]
# --defer: decide only once the user has spent d s in its cell (one run per d); --review: re-decide every that many
# seconds since arrival, up to --cap s; --dwell: whose sojourn a pair uses (build()); --beta: a pair's smoothing.
# --fit in: the window's own handovers (in-sample); others: the other two windows; online: the other two windows plus
# this window's stays as they complete, re-solved every 10 slots (an MC with history); cold: this window's stays only,
# as they complete (what a simulator lane that starts with nothing learned knows).
import collections, importlib.util, math, os, sys, time
import numpy as np

_spec = importlib.util.spec_from_file_location('sfbound', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'sf-bound.py'))
sfb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sfb)

SLOT = 60.0
INF = sfb.INF


def stays(hos):
    """Every completed stay: (start s, end s, previous cell or -1, cell, next cell): the time between a handover into
    the cell and the next one out (a UE's last stay is censored and left out)."""
    out = []
    for ue, seq in hos.items():
        prev = -1
        for (t1, e1), (t2, e2) in zip(seq, seq[1:]):
            out.append((t1, t2, prev, e1, e2))
            prev = e1
    return out


class Model:
    """Learned statistics: next-cell counts (first and second order) and, per state, the samples of the sojourn."""

    def __init__(self, n):
        self.n = n
        self.C1 = np.zeros((n, n))
        self.C2 = collections.defaultdict(collections.Counter)
        self.tau1 = collections.defaultdict(list)
        self.tau2 = collections.defaultdict(list)
        self.pool = []

    def add(self, st):
        for t1, t2, p, u, v in st:
            if u == v:
                continue
            self.C1[u, v] += 1
            self.tau1[u].append(t2 - t1)
            self.pool.append(t2 - t1)
            if p >= 0 and p != u:
                self.C2[p, u][v] += 1
                self.tau2[p, u].append(t2 - t1)


def stay_stats(samples, pool_stats, ages, gamma, alpha):
    """For decisions at `ages` (seconds since arrival, ascending), the expectations the Bellman equation needs, each
    averaged over the samples and shrunk toward the pooled figure with weight alpha:
      a0, b0: E[min(tau, d)/slot], E[gamma^(tau/slot); tau <= d] (before the first decision, d = ages[0]);
      per stage k (age e_k, next e_{k+1} or none): p_k = P(tau > e_k), a_k = E[(min(tau, e_{k+1}) - e_k)/slot; tau > e_k],
      b_k = E[gamma^((tau - e_k)/slot); e_k < tau <= e_{k+1}], all unconditional (divided by p_k later)."""
    tau = np.asarray(samples, float)
    g = lambda x: gamma ** (x / SLOT)
    d = ages[0]
    f = [np.minimum(tau, d) / SLOT, np.where(tau <= d, g(tau), 0.0)]
    for k, e in enumerate(ages):
        nxt = ages[k + 1] if k + 1 < len(ages) else np.inf
        alive = tau > e
        f.append(alive.astype(float))
        f.append(np.where(alive, (np.minimum(tau, nxt) - e) / SLOT, 0.0))
        f.append(np.where(alive & (tau <= nxt), g(tau - e), 0.0))
    vals = np.array([x.sum() for x in f]) if len(tau) else np.zeros(len(f))
    if pool_stats is None:
        return vals / max(1, len(tau))
    return (vals + alpha * pool_stats) / (len(tau) + alpha)


def build(model, win, order, ages, gamma, alpha=1.0, beta=2.0, dwell='pair'):
    """The states, their cells, sparse next-state shares and stay statistics. States 0..n-1: first order (cell);
    n..: pairs (previous cell, cell) seen in the counts (second order). A first-order state is smoothed toward
    sf-bound's prior (stay share 0: a handover always changes cell) with weight alpha; a pair toward its cell's
    first-order shares with weight beta. The sojourn: dwell 'pair' a pair's own samples shrunk toward its cell's;
    'cell' every state its cell's (what DwellStats, per eNB, gives today); 'pool' every state the pooled one (no
    semi-Markov pricing: a Markov chain embedded at handovers with one mean sojourn)."""
    n = model.n
    P1 = sfb.transitions(model.C1, win, alpha=alpha, stay_share=0.0, K=_kernel(win))
    pool = stay_stats(model.pool, None, ages, gamma, 0)
    st1 = np.array([stay_stats(model.tau1.get(u, []) if dwell != 'pool' else [], pool, ages, gamma, alpha) for u in range(n)])
    pairs = sorted(model.C2) if order == 2 else []
    index = {p: i + n for i, p in enumerate(pairs)}
    N = n + len(pairs)
    cell = np.concatenate([np.arange(n), np.array([u for _, u in pairs], int)])
    stats = np.concatenate([st1, np.array([stay_stats(model.tau2[p], st1[p[1]], ages, gamma, beta) if dwell == 'pair' else st1[p[1]] for p in pairs])]) \
        if pairs else st1
    rows, cols, vals = [], [], []
    for u in range(n):
        for v in np.nonzero(P1[u])[0]:
            rows.append(u)
            cols.append(index.get((u, v), v))
            vals.append(P1[u, v])
    for (p, u), cnt in (model.C2.items() if order == 2 else []):
        tot = sum(cnt.values())
        mix = collections.Counter({v: beta * P1[u, v] for v in np.nonzero(P1[u])[0]})
        for v, m in cnt.items():
            mix[v] += m
        for v, m in mix.items():
            rows.append(index[p, u])
            cols.append(index.get((u, v), v))
            vals.append(m / (tot + beta))
    rows, cols, vals = map(np.array, (rows, cols, vals))
    o = np.argsort(rows, kind='stable')
    rows, cols, vals = rows[o], cols[o], vals[o]
    starts = np.concatenate([[0], np.nonzero(np.diff(rows))[0] + 1])
    assert len(starts) == N  # every state has next states
    return dict(N=N, cell=cell, index=index, stats=stats, starts=starts, cols=cols, vals=vals, ages=ages, gamma=gamma)


_K = {}


def _kernel(win):
    if id(win) not in _K:
        _K[id(win)] = sfb.neighbour_kernel(win)
    return _K[id(win)]


def _min_over_targets(M, W):
    """min_a M[s, a] + W[x, a] for every (x, s), ties to staying; returns (value, argmin)."""
    N, S = W.shape
    val = np.empty((N, S))
    act = np.empty((N, S), int)
    for lo in range(0, N, 256):
        tot = M[None, :, :] + W[lo:lo + 256, None, :]
        a = np.argmin(tot, axis=2)
        v = np.take_along_axis(tot, a[:, :, None], axis=2)[:, :, 0]
        stay = tot[:, np.arange(S), np.arange(S)]
        act[lo:lo + 256] = np.where(stay <= v + 1e-12, np.arange(S)[None, :], a)
        val[lo:lo + 256] = np.minimum(v, stay)
    return val, act


def solve(m, win, tol=1e-5, warm=None, max_iter=2000):
    """Value iteration; returns per stage k the table act_k[x, s] (the site chosen at decision age ages[k])."""
    N, S, st = m['N'], win.n_sites, m['stats']
    T = win.T[m['cell']]
    K = len(m['ages'])
    a0, b0 = st[:, 0:1], st[:, 1:2]
    p = [st[:, 2 + 3 * k:3 + 3 * k] for k in range(K)]
    a = [st[:, 3 + 3 * k:4 + 3 * k] for k in range(K)]
    b = [st[:, 4 + 3 * k:5 + 3 * k] for k in range(K)]
    g = m['gamma']
    steps = [g ** ((m['ages'][k + 1] - m['ages'][k]) / SLOT) for k in range(K - 1)]
    V = warm if warm is not None else np.zeros((N, S))
    for it in range(max_iter):
        EV = np.add.reduceat(m['vals'][:, None] * V[m['cols']], m['starts'], axis=0)
        # Backwards over the stages: U_k(x, s) = value at age e_k, still in the cell, PVM at s (unconditional weights).
        U = None
        acts = [None] * K
        for k in range(K - 1, -1, -1):
            W = a[k] * T + b[k] * EV
            if U is not None:
                W = W + steps[k] * U
            pk = p[k]
            # A move is paid only when the stage is reached: weight p_k; W already carries it.
            val, act = _min_over_targets(win.M_allowed, W / np.maximum(pk, 1e-12))
            acts[k] = act
            U = val * pk
        # Discount to the first decision age is inside the stage weights: U_0 is at age ages[0], so discount it.
        nv = a0 * T + b0 * EV + (g ** (m['ages'][0] / SLOT)) * U
        diff = np.abs(nv - V).max()
        V = nv
        if diff < tol:
            break
    m['V'] = V
    m['iters'] = it + 1
    return acts


def run(win, hos, pieces, count):
    """Decide at each handover's cell at its decision ages (seconds since arrival) while the user is still there,
    with the tables (model, acts) of the piece whose 600 s period holds the decision (one piece: always it); the
    segment's first boundary decides on its first-order cell. Counts the slots whose site changed more than once
    (the score charges one move of the net distance there: M is subadditive, a move and back costs nothing)."""
    out = []
    moves_per_slot = collections.Counter()
    merged = [0, 0.0, 0.0]
    for ue, t0, cells, never_sites in win.segments:
        mine = hos.get(ue, [])
        tend = (t0 + len(cells) - 1) * SLOT
        m0, a0 = pieces[min(len(pieces) - 1, int(t0 * SLOT // 600))]
        here = a0[0][cells[0], never_sites[0]]
        dec = []
        cur = cells[0]
        inside = [(t, e) for t, e in mine if t0 * SLOT < t <= tend]
        for i, (t, e) in enumerate(inside):
            end = inside[i + 1][0] if i + 1 < len(inside) else math.inf
            for k, age in enumerate(m0['ages']):
                if t + age < end and t + age <= tend:
                    dec.append((t + age, cur, e, k))
            cur = e
        sites = np.empty(len(cells), int)
        sites[0] = here
        j = 0
        for i in range(1, len(cells)):
            before = here
            path = [here]
            while j < len(dec) and dec[j][0] <= (t0 + i) * SLOT:
                tt, p, e, k = dec[j]
                m, acts = pieces[min(len(pieces) - 1, int(tt // 600))]
                x = m['index'].get((p, e), e)
                nh = acts[k][x, here]
                if nh != here:
                    path.append(nh)
                here = nh
                j += 1
            sites[i] = here
            if len(path) > 2:
                merged[0] += 1
                merged[1] += sum(win.M[u, v] for u, v in zip(path, path[1:]))
                merged[2] += win.M[before, here]
            moves_per_slot[len(path) - 1] += 1
        out.append(sites)
    count.update(moves=moves_per_slot, merged=merged)
    return out


def main():
    args = sys.argv[1:]
    opt = {'--ho': None, '--order': '1', '--fit': 'in', '--defer': '0', '--review': '0', '--gamma': '0.9', '--cap': '300', '--dwell': 'pair', '--beta': '2'}
    for k in list(opt):
        if k in args:
            i = args.index(k)
            opt[k] = args[i + 1]
            del args[i:i + 2]
    prefix, names = args[0], args[1:] or ['30', '90', '150']
    sim_myopic = {'30': 2.1426, '90': 2.3220, '150': 2.3200}
    target = {'30': 1.8212, '90': 1.9737, '150': 1.9720}
    gamma, order, review, cap = float(opt['--gamma']), int(opt['--order']), float(opt['--review']), float(opt['--cap'])
    wins = {w: sfb.Window(prefix, w) for w in ['30', '90', '150']}
    hos = {w: sfb.load_handovers(f'{opt["--ho"]}{w}.mobiscud_never') for w in wins}
    st = {w: stays(hos[w]) for w in wins}
    for w in names:
        win = wins[w]
        for d in [float(x) for x in opt['--defer'].split(',')]:
            ages = [d] + ([d + review * k for k in range(1, int((cap - d) // review) + 1)] if review > 0 else [])
            t_start = time.time()
            model = Model(len(win.rings))
            if opt['--fit'] == 'in':
                model.add(st[w])
            elif opt['--fit'] == 'cold':
                pass
            else:
                for o in wins:
                    if o != w:
                        model.add(st[o])
            if opt['--fit'] not in ('online', 'cold'):
                m = build(model, win, order, ages, gamma, beta=float(opt['--beta']), dwell=opt['--dwell'])
                count = {}
                sites = run(win, hos[w], [(m, solve(m, win))], count)
            else:
                # The other windows, then this window's stays added as they complete; re-solved every 10 slots, each
                # table used until the next (decisions in [600 k, 600 (k + 1)) use the stays ended by 600 k).
                mine = sorted(st[w], key=lambda s: s[1])
                pieces = []
                j = 0
                count = {}
                for k in range(0, win.slots // 10 + 1):
                    while j < len(mine) and mine[j][1] <= k * 600:
                        model.add([mine[j]])
                        j += 1
                    m = build(model, win, order, ages, gamma, beta=float(opt['--beta']), dwell=opt['--dwell'])
                    acts = solve(m, win)
                    pieces.append((m, acts))
                sites = run(win, hos[w], pieces, count)
            c, mg = win.score(sites)
            moves = count.get('moves', collections.Counter())
            merged = count.get('merged', [0, 0, 0])
            nslots = sum(moves.values())
            print(f'{w:>4s} order {order} dwell {opt["--dwell"]} beta {opt["--beta"]} fit {opt["--fit"]:6s} gamma {gamma} defer {d:4.0f} s review {review:3.0f} s (cap {cap:.0f}):'
                  f' {c:.4f} (mig {mg:.4f}) vs myopic(sim) {c / sim_myopic[w] - 1:+.1%}'
                  f' {"meets" if c <= target[w] else "misses"} {target[w]:.4f}; slots with 2+ moves'
                  f' {merged[0]} ({merged[0] / max(1, nslots):.2%} of UE-slots, {merged[0] / max(1, nslots - moves[0]):.1%} of slots'
                  f' with a move), M per move {merged[1]:.1f} vs net {merged[2]:.1f}; {time.time() - t_start:.0f} s', flush=True)


if __name__ == '__main__':
    main()
