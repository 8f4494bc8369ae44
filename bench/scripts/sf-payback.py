#!/usr/bin/env python3
# Offline check for predictive's moves (docs/policies.md, "Moves that pay back"): of a lane's moves, how many pay back
# in Wang et al.'s cost, and which facts known when the move is decided separate those that do from those that do not.
# Input: the per-slot record a debug build writes (bench/scripts/sf-payback-record.patch, applied with `git apply`, not
# part of the product; with MOBISCUD_SLOTDUMP=<prefix> each lane writes <prefix>.<lane>: one line per attached UE and
# 60 s slot boundary, "U slot ue enb site handovers", plus "S" the site -> cell map and "R enb rings-to-each-site").
# The gates tried in the simulator (MOBISCUD_DBG_FAST, _FASTMODE, _GAP) were in the patch before it was refreshed
# against 12ec22b for sf-bound.py (git show 12ec22b:bench/scripts/sf-payback-record.patch); the refreshed one only
# records (it adds the H, N, O and X lines, which this script ignores).
# A move is a slot at which the PVM's site differs from the last boundary's (as the simulator's score counts it). It
# pays back when the transmission it saves over the PVM's stay at the target (slots until the next move, detach or
# the end), against leaving the PVM where it was, is at least its migration cost; Q/R per slot as the simulator's.
# Run: git apply bench/scripts/sf-payback-record.patch && dotnet build src/MobiScud.Cli -c Release, then on a copy of
# examples/san-francisco-policies.yaml in examples/ with strategies: [mobiscud], policies: [predictive]:
# MOBISCUD_SLOTDUMP=/tmp/sf30 mobiscud run <copy> --no-report && python3 bench/scripts/sf-payback.py /tmp/sf30.mobiscud_predictive
import bisect, collections, sys

MU = 0.8
path = sys.argv[1]
sites, rings, rows = None, {}, collections.defaultdict(list)
for line in open(path):
    f = line.split()
    if f[0] == 'S':
        sites = [int(x) for x in f[1:]]
    elif f[0] == 'R':
        rings[int(f[1])] = [int(x) for x in f[2:]]
    elif f[0] == 'U':
        slot, ue, enb, site, ho = map(int, f[1:])
        rows[ue].append((slot, enb, site, ho))

users = collections.Counter(s for r in rows.values() for s, *_ in r)
last_slot = max(users)
qmax = max(users.values())


def headroom(slot):
    return 1 - users[slot] / (1.5 * qmax)


def tx(y, slot):
    return 0 if y <= 0 else (1 - MU ** y) / headroom(slot)


def mig(x, slot):
    return 0 if x <= 0 else (1 + (1 - MU ** x)) / headroom(slot)


moves = []  # dicts of facts and outcome
for ue, r in rows.items():
    history = []  # this user's earlier moves: paid back or not, in order
    last_move = None
    for i in range(1, len(r)):
        slot, enb, site, ho = r[i]
        pslot, penb, psite, pho = r[i - 1]
        if pslot != slot - 1 or site == psite:
            continue
        # The stay at the target: this slot until the site changes or the record breaks.
        j = i
        saved = 0.0
        while j < len(r) and r[j][2] == site and (j == i or r[j][0] == r[j - 1][0] + 1):
            s2, e2, _, _ = r[j]
            saved += tx(rings[e2][psite], s2) - tx(rings[e2][site], s2)
            j += 1
        stay = j - i
        # Censored: the stay runs to the end of the record, so its payback is not known yet.
        censored = j == len(r) and r[-1][0] == last_slot
        cost = mig(rings[sites[psite]][site], slot)
        # Handovers in the 1/2/5 slots up to the last boundary: known when the move is decided (this boundary's count
        # is not: it includes handovers after the decision, within the slot).
        def hos(n):
            k = i - 1 - n
            return pho - r[k][3] if k >= 0 and r[k][0] == pslot - n else None
        # Slots the user has been in the cell it was in at the previous boundary (its dwell there so far).
        dwell = 0
        k = i - 1
        while k > 0 and r[k - 1][1] == penb and r[k - 1][0] == r[k][0] - 1:
            dwell += 1
            k -= 1
        moves.append(dict(
            ue=ue, slot=slot, censored=censored, paid=saved >= cost, net=saved - cost, stay=stay, x=rings[sites[psite]][site],
            gain=rings[enb][psite] - rings[enb][site], y_after=rings[enb][site],
            ho1=hos(1), ho2=hos(2), ho5=hos(5), dwell=dwell,
            since_move=(slot - last_move) if last_move is not None else None,
            own_n=len(history), own_paid=(sum(history) / len(history)) if history else None,
            own_last=history[-1] if history else None,
            own_last3=(sum(history[-3:]) / len(history[-3:])) if history else None,
        ))
        history.append(saved >= cost)
        last_move = slot

ue_slots = sum(users.values())
censored = [m for m in moves if m['censored']]
moves = [m for m in moves if not m['censored']]
n = len(moves)
paid = sum(m['paid'] for m in moves)
loss = sum(m['net'] for m in moves if not m['paid'])
print(f'{path}: {n + len(censored)} moves (slot boundaries where the site changed), {len(censored)} still at their target '
      f'at the end (left out); of {n}, {paid} pay back ({paid / n:.1%}); net saved {sum(m["net"] for m in moves):.1f}, '
      f'the non-paying lose {-loss:.1f} = {-loss / ue_slots:.4f} per UE-slot ({ue_slots} UE-slots)')
stays = collections.Counter(min(m['stay'], 6) for m in moves)
print('stay at target (slots, 6 = 6+):', dict(sorted(stays.items())))


def auc(key):
    """Chance that a paying move has a larger fact than a non-paying one (ties half): 0.5 = no separation."""
    ms = [m for m in moves if key(m) is not None]
    pos = sorted(key(m) for m in ms if m['paid'])
    neg = sorted(key(m) for m in ms if not m['paid'])
    total = sum(bisect.bisect_left(neg, v) + 0.5 * (bisect.bisect_right(neg, v) - bisect.bisect_left(neg, v)) for v in pos)
    return total / (len(pos) * len(neg)) if pos and neg else float('nan')


print('\nseparation (AUC of the fact for paying against non-paying moves; 0.5 none, 0 or 1 perfect):')
for name, key in [('ring gain', lambda m: m['gain']), ('x', lambda m: m['x']), ('handovers last slot', lambda m: m['ho1']),
                  ('handovers last 2 slots', lambda m: m['ho2']), ('handovers last 5 slots', lambda m: m['ho5']),
                  ('dwell in previous cell', lambda m: m['dwell']), ('slots since last move', lambda m: m['since_move']),
                  ('earlier moves', lambda m: m['own_n']), ('share of earlier moves paid', lambda m: m['own_paid']),
                  ('share of last 3 paid', lambda m: m['own_last3']), ('slot of the hour', lambda m: m['slot'])]:
    print(f'  {name:28s} {auc(key):.3f}')


def table(name, key):
    groups = collections.defaultdict(list)
    for m in moves:
        groups[key(m)].append(m)
    print(f'\n{name}: value | moves | pay back | mean net | sum net of the non-paying')
    for v in sorted(groups, key=lambda x: (x is None, str(x)[0] == '>', float(str(x).lstrip('<=>')) if x is not None and not isinstance(x, bool) else 0)):
        g = groups[v]
        print(f'  {v!s:>8} | {len(g):5d} | {sum(m["paid"] for m in g) / len(g):6.1%} | {sum(m["net"] for m in g) / len(g):+.3f}'
              f' | {sum(m["net"] for m in g if not m["paid"]):+.1f}')


def bucket(v, edges):
    """The label of v's bin: '<=e' for the first edge e at or above v, '>last' beyond."""
    if v is None:
        return None
    for e in edges:
        if v <= e:
            return f'<={e}'
    return f'>{edges[-1]}'


table('ring gain at the move (rings nearer the user\'s cell)', lambda m: bucket(m['gain'], [-1, 0, 1, 2, 3, 4]))
table('x, rings moved', lambda m: bucket(m['x'], [1, 2, 3, 4, 6]))
table('handovers in the last slot', lambda m: bucket(m['ho1'], [0, 1, 2, 3, 4]))
table('handovers in the last 2 slots', lambda m: bucket(m['ho2'], [0, 1, 2, 3, 4, 6]))
table('handovers in the last 5 slots', lambda m: bucket(m['ho5'], [0, 1, 2, 4, 6, 10]))
table('dwell in the previous cell, slots', lambda m: bucket(m['dwell'], [0, 1, 2, 4, 8]))
table('slots since the user\'s last move', lambda m: bucket(m['since_move'], [1, 2, 3, 5, 10]))
table('the user\'s earlier moves', lambda m: bucket(m['own_n'], [0, 1, 2, 4, 8, 16]))
table('share of the user\'s earlier moves that paid back', lambda m: None if m['own_paid'] is None else round(m['own_paid'] * 4) / 4)
table('the user\'s last move paid back', lambda m: m['own_last'])
table('share of the user\'s last 3 moves that paid back', lambda m: None if m['own_last3'] is None else round(m['own_last3'], 2))
table('time (slot, in 10s)', lambda m: m['slot'] // 10 * 10)
