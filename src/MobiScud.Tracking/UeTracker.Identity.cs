using MobiScud.Control.Model;

namespace MobiScud.Tracking;

public static partial class UeTracker
{
    /// <summary>Identity: NAS facts, IMSI and M-TMSI, S11 session hints, announcing, and merging two records of one UE.</summary>
    private sealed partial class Step
    {
        private static NasFacts? ReadNas(S1apSignal s, bool nullCiphering)
        {
            if (s.NasPdus.Count == 0)
            {
                return s.Nas;
            }

            // One NAS-PDU (nearly every message that has one): its facts, as ReadAll would merge them, without a closure.
            return s.NasPdus.Count == 1
                ? NasFactsReader.Read(s.NasPdus[0], nullCiphering)
                : NasFacts.ReadAll(s.NasPdus, pdu => NasFactsReader.Read(pdu, nullCiphering));
        }

        private UeKey ApplyNas(UeKey key, NasFacts? nas)
        {
            if (nas is null)
            {
                return key;
            }

            var ue = Ue(key);
            (key, ue) = AdoptImsi(key, ue, nas.Imsi);

            var mtmsi = nas.MTmsi ?? ue.MTmsi;
            var address = ue.Address ?? nas.PdnAddress;
            var nullCiphering = nas.SelectedCipheringAlgorithm is { } alg ? alg == 0 : ue.NullCiphering;

            // Most NAS (ciphered, or facts already known) changes nothing: no record copy and no index update then.
            if (mtmsi != ue.MTmsi || !ReferenceEquals(address, ue.Address) || nullCiphering != ue.NullCiphering || !ReferenceEquals(ue, _index.Get(key)))
            {
                Put(ue with { MTmsi = mtmsi, Address = address, NullCiphering = nullCiphering });
            }

            if (nas.Kind == NasKind.DetachRequest)
            {
                Detach(key);
            }
            else
            {
                AnnounceIfReady(key);
            }

            return key;
        }

        private void AnnounceIfReady(UeKey key)
        {
            var ue = Ue(key);
            if (ue.Announced || !ue.AwaitingAddress || ue.Status != TrackedUeStatus.Connected || ue.Enb is not { } enb)
            {
                return;
            }

            if (ue.Address is null)
            {
                return;
            }

            var id = ue.Id ?? new UeId(ue.Imsi is { } imsi ? $"imsi-{imsi}" : ue.Key.ToString());
            ue = ue with { Id = id, Announced = true, AwaitingAddress = false };
            Put(ue);
            DetachSuperseded(ue);
            Emit(new UeAttached(_at, id, ue.Imsi, ue.Address, enb, ue.CellId, ue.ActiveBearers()), ue.Cgi);
        }

        /// <summary>
        /// Records of no connection that hold this UE's M-TMSI and PDN address (both: one MME's GUTI and one PDN's
        /// address name one UE at a time) are this UE's earlier context, not linked (no IMSI seen): they are gone,
        /// detached and forgotten now. Without this rule a tap that sees the same UE re-attach without an IMSI keeps
        /// one record per attach for the 2 h of <see cref="_idleExpiry"/>, and the lookups of that M-TMSI, address
        /// and MME-UE id grow with each (issue 18: the tracker's cost per input rose over a long live run).
        /// </summary>
        private void DetachSuperseded(TrackedUe ue)
        {
            if (ue.MTmsi is not { } mtmsi || ue.Address is not { } address)
            {
                return;
            }

            List<UeKey>? gone = null;
            foreach (var other in _index.AllByMTmsi(mtmsi))
            {
                if (other.Key != ue.Key && other.Imsi is null && other.Connections.IsEmpty && other.Handover is null
                    && other.Status != TrackedUeStatus.Detached && address.Equals(other.Address))
                {
                    (gone ??= []).Add(other.Key);
                }
            }

            if (gone is null)
            {
                return;
            }

            gone.Sort();
            foreach (var key in gone)
            {
                Note(TrackerNoteKind.Superseded, $"M-TMSI {mtmsi} and address {address} now belong to {ue.Key}, no longer to {key}: detached");
                Detach(key);
            }
        }

        /// <summary>A first IMSI for this UE either names it, or shows it is a UE we already know under another key.</summary>
        private (UeKey Key, TrackedUe Ue) AdoptImsi(UeKey key, TrackedUe ue, string? imsi)
        {
            if (imsi is null || ue.Imsi is not null)
            {
                return (key, ue);
            }

            if (_index.ByImsi(imsi) is not { } other || other.Key == key)
            {
                return (key, ue with { Imsi = imsi });
            }

            key = Merge(key, other.Key);
            return (key, Ue(key));
        }

        private UeKey LearnFromSession(UeKey key, SessionHint hint, bool announce = true)
        {
            var ue = Ue(key);
            (key, ue) = AdoptImsi(key, ue, hint.Imsi);

            Put(ue with { Address = ue.Address ?? hint.PdnAddress });
            if (announce)
            {
                AnnounceIfReady(key);
            }

            return key;
        }

        /// <summary>A new context reuses a known UE's S-GW uplink tunnel: it is that UE (service request after idle).</summary>
        private UeKey LinkByUplinks(UeKey key, IEnumerable<GtpEndpoint> uplinks)
        {
            foreach (var tunnel in uplinks)
            {
                if (_index.AllByUplink(tunnel).LastOrDefault(u => u.Key != key) is { } other)
                {
                    return Merge(key, other.Key);
                }
            }

            return key;
        }

        /// <summary>Folds the fresh record <paramref name="from"/> into the known UE <paramref name="into"/>.</summary>
        private UeKey Merge(UeKey from, UeKey into)
        {
            var a = Ue(from);
            var b = Ue(into);
            if ((b.Announced && a.Announced) || (a.Imsi is not null && b.Imsi is not null && a.Imsi != b.Imsi))
            {
                // Two announced UEs (their ids already went to the MC) or two different IMSIs never merge.
                return from;
            }

            // The fresh record's connections (the one it arrived on) go with it; its other facts only fill gaps.
            RemoveUe(from);
            Put(b with
            {
                Imsi = b.Imsi ?? a.Imsi,
                MTmsi = a.MTmsi ?? b.MTmsi,
                Address = b.Address ?? a.Address,
                Serving = a.Serving ?? b.Serving,
                Connections = b.Connections.Union(a.Connections),
                CellId = a.CellId ?? b.CellId,
                Cgi = a.Cgi ?? b.Cgi,
                Qcis = b.Qcis.SetItems(a.Qcis),
                MmeUeS1apId = a.MmeUeS1apId ?? b.MmeUeS1apId,
            });
            Note(TrackerNoteKind.Learnt, $"{from} is {into}");
            return into;
        }
    }
}
