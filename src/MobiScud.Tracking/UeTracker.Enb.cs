using MobiScud.Control.Model;
using MobiScud.Protocols.Link;
using MobiScud.Protocols.S1ap;
using MobiScud.Protocols.Sctp;

namespace MobiScud.Tracking;

public static partial class UeTracker
{
    /// <summary>At most this many eNB ids named by the network are kept (a hostile peer cannot grow the state without bound).</summary>
    internal const int MaxNamedEnbs = 65_536;

    /// <summary>
    /// One identity per physical eNB, that is per SCTP association: S1 Setup's Global-eNB-ID; else the Target-ID of the
    /// handover whose HandoverRequest the MME sent on the association; else a reading of the cells seen on it; else an id
    /// derived from the association. A cell identity (28 bits) is a macro eNB's 20-bit id and an 8-bit cell, or a Home
    /// eNB's whole 28-bit id (TS 36.413 9.2.1.37), so the cells give a candidate: the macro reading unless the operator
    /// configured the home reading's id, the network named it (Target-ID, S1 Setup), or the network has named only Home
    /// eNBs so far; two cells on one association make it macro (a Home eNB has one cell). When an association's id
    /// changes, or two associations turn out to be one eNB, every UE record naming the old id is re-keyed, each
    /// announced UE gets <see cref="EnbIdentified"/> so the MC's facts follow, and a typed note says why.
    /// </summary>
    private sealed partial class Step
    {
        /// <summary>The association's eNB id now; an id derived from the association when nothing else is known yet.</summary>
        private EnbId EnbFor(SctpAssociationKey association, NetEndpoint enbEnd)
        {
            if (_maps.Enbs.TryGetValue(association, out var known))
            {
                return known.Id;
            }

            // Top bit set: cannot clash with a real (at most 28-bit) eNB id.
            var id = new EnbId(0x8000_0000u | (Fnv(enbEnd) & 0x7FFF_FFFFu));
            _maps = _maps with { Enbs = _maps.Enbs.SetItem(association, new EnbIdentity(id, EnbIdentitySource.Endpoint)) };
            return id;
        }

        /// <summary>An E-UTRAN CGI in a message the eNB on <paramref name="association"/> sent: one of its cells.</summary>
        private void ObserveCell(SctpAssociationKey association, EutranCgi cgi)
        {
            var cell = cgi.CellId & 0x0FFF_FFFFu;
            var known = _maps.Enbs.GetValueOrDefault(association);
            if (known is not null && (known.Cells.Contains(cell) || known.Cells.Count >= EnbIdentity.MaxCells))
            {
                return;
            }

            var cells = known is null ? [cell] : known.Cells.Add(cell);
            if (known is { Source: > EnbIdentitySource.Cells })
            {
                // Confirmed by a Global-eNB-ID or Target-ID: the cell is recorded, the id stays.
                _maps = _maps with { Enbs = _maps.Enbs.SetItem(association, known with { Cells = cells }) };
                return;
            }

            var (id, home) = Reading(cells);
            SetIdentity(association, new EnbIdentity(id, EnbIdentitySource.Cells) { Home = home, Cells = cells }, $"cell 0x{cell:X7} seen on {association}");
        }

        /// <summary>A Global-eNB-ID for the association: from its S1 Setup, or the Target-ID of a handover toward it.</summary>
        private void BindGlobal(SctpAssociationKey association, GlobalEnbId g, EnbIdentitySource source)
        {
            var id = new EnbId(g.EnbId);
            var home = g.Kind == EnbIdKind.Home;
            var why = source == EnbIdentitySource.S1Setup ? "its S1 Setup" : "the Target-ID of the HandoverRequest sent there";
            var known = _maps.Enbs.GetValueOrDefault(association);
            if (known is not null && known.Id == id && known.Source >= source)
            {
                NameEnb(id, home, why);
                return;
            }

            if (source == EnbIdentitySource.TargetId && known is not null)
            {
                if (known.Source >= EnbIdentitySource.TargetId)
                {
                    // One association, one eNB: a second Target-ID for it means this handover was linked wrongly (lost frames).
                    Note(TrackerNoteKind.EnbIdentity, $"{association} is {known}; a handover toward {id} linked to it is not taken as its identity");
                    NameEnb(id, home, why);
                    return;
                }

                if (!known.Cells.IsEmpty && !known.Cells.Any(c => Names(g.Kind, id, c)))
                {
                    Note(TrackerNoteKind.EnbIdentity, $"{association} is {known}; the Target-ID {id} of a handover linked to it names none of its cells: not taken");
                    NameEnb(id, home, why);
                    return;
                }
            }

            // The association first, so that other associations re-read by the name below see it as one eNB with them.
            SetIdentity(association, new EnbIdentity(id, source) { Home = home, Cells = known?.Cells ?? [] }, why);
            NameEnb(id, home, why);
        }

        /// <summary>The network named this eNB id: a cell reading elsewhere may now be this id, or a Home eNB id.</summary>
        private void NameEnb(EnbId id, bool home, string why)
        {
            if (_maps.NamedEnbs.TryGetValue(id, out var was) ? was == home : _maps.NamedEnbs.Count >= MaxNamedEnbs)
            {
                return;
            }

            _maps = _maps with { NamedMacroEnbs = _maps.NamedMacroEnbs + (home ? 0 : 1) - (_maps.NamedEnbs.TryGetValue(id, out var before) && !before ? 1 : 0) };
            _maps = _maps with { NamedEnbs = _maps.NamedEnbs.SetItem(id, home) };
            foreach (var (association, identity) in _maps.Enbs.Where(p => p.Value.Source == EnbIdentitySource.Cells).OrderBy(p => p.Key.ToString(), StringComparer.Ordinal).ToList())
            {
                var (readId, readHome) = Reading(identity.Cells);
                if (readId != identity.Id)
                {
                    SetIdentity(association, identity with { Id = readId, Home = readHome }, $"{(home ? "Home eNB" : "eNB")} id {id} named by {why}");
                }
            }
        }

        /// <summary>Which eNB id the cells of one association name, and whether it is a Home eNB id.</summary>
        private (EnbId Id, bool Home) Reading(IReadOnlyCollection<uint> cells)
        {
            var cell = cells.Min();
            var macro = new EnbId(cell >> 8);
            var home = new EnbId(cell);
            if (cells.Count > 1)
            {
                return (macro, false);
            }

            var configured = _maps.ConfiguredEnbs;
            if (configured.Contains(home) != configured.Contains(macro))
            {
                return configured.Contains(home) ? (home, true) : (macro, false);
            }

            if (_maps.NamedEnbs.TryGetValue(home, out var isHome) && isHome)
            {
                return (home, true);
            }

            if (_maps.NamedEnbs.TryGetValue(macro, out var macroIsHome) && !macroIsHome)
            {
                return (macro, false);
            }

            return !_maps.NamedEnbs.IsEmpty && _maps.NamedMacroEnbs == 0 ? (home, true) : (macro, false);
        }

        /// <summary>Whether a cell identity belongs to the eNB with this id and kind (TS 36.413 9.2.1.37-38).</summary>
        private static bool Names(EnbIdKind kind, EnbId id, uint cell) => kind switch
        {
            EnbIdKind.Home => cell == id.Value,
            EnbIdKind.ShortMacro => cell >> 10 == id.Value,
            EnbIdKind.LongMacro => cell >> 7 == id.Value,
            _ => cell >> 8 == id.Value,
        };

        private void SetIdentity(SctpAssociationKey association, EnbIdentity next, string why)
        {
            var old = _maps.Enbs.GetValueOrDefault(association);
            _maps = _maps with { Enbs = _maps.Enbs.SetItem(association, next) };
            if (old is null || old.Source == EnbIdentitySource.Endpoint && old.Id == next.Id)
            {
                Note(TrackerNoteKind.EnbIdentity, $"{association} is eNB {next}");
                return;
            }

            if (old.Id == next.Id)
            {
                return;
            }

            var merged = _maps.Enbs.Any(p => p.Key != association && p.Value.Id == next.Id);
            Note(TrackerNoteKind.EnbIdentity, $"{association}: eNB {old} is {next}: {why}{(merged ? $" (one eNB with another association's {next.Id})" : "")}");
            Rename(association, old.Id, next.Id, why);
        }

        /// <summary>Every UE record that names <paramref name="was"/> for this association now names <paramref name="now"/>.</summary>
        private void Rename(SctpAssociationKey association, EnbId was, EnbId now, string why)
        {
            // Another association still called `was` (two cells read alike): only what is tied to this association moves.
            // A handover's target came from a Target-ID (a real id): it moves only with the association it was bound to.
            var shared = _maps.Enbs.Any(p => p.Key != association && p.Value.Id == was);
            bool Here(ConnectionKey? c) => !shared || (c is { } k && k.Association == association);
            EnbId Renamed(EnbId id, bool here) => id == was && here ? now : id;
            foreach (var ue in _index.Ues.OrderBy(u => u.Key).ToList())
            {
                var enb = ue.Enb is { } e ? Renamed(e, Here(ue.Serving)) : (EnbId?)null;
                var handover = ue.Handover is { } h
                    ? h with { Source = Renamed(h.Source, Here(ue.Serving)), Target = Renamed(h.Target, h.TargetAssociation == association) }
                    : null;
                var pathSwitch = ue.PathSwitch is { } p ? p with { Target = Renamed(p.Target, Here(p.Connection)) } : null;
                var factsChanged = enb != ue.Enb || handover != ue.Handover;
                if (!factsChanged && pathSwitch == ue.PathSwitch)
                {
                    continue;
                }

                Put(ue with { Enb = enb, Handover = handover, PathSwitch = pathSwitch });
                if (factsChanged && ue.Announced && ue.Status != TrackedUeStatus.Detached)
                {
                    Emit(new EnbIdentified(_at, ue.Id!.Value, was, now, why), ue.Cgi);
                }
            }
        }

        private static uint Fnv(NetEndpoint endpoint)
        {
            var h = 2166136261u;
            Span<ulong> values = [endpoint.Address.High, endpoint.Address.Low, endpoint.Port];
            foreach (var v in values)
            {
                for (var i = 0; i < 8; i++)
                {
                    h = (h ^ (byte)(v >> (i * 8))) * 16777619u;
                }
            }

            return h;
        }
    }
}
