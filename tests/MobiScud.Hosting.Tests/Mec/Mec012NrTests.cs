using System.Net;
using System.Text.Json.Nodes;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Mec;

namespace MobiScud.Hosting.Tests.Mec;

/// <summary>
/// A 5G UE's MEC 012 notifications: its NR cells (NCGI) in MEC 012's own NRcgi shape where an LTE UE's carry ECGIs,
/// valid against the official v2.1.1 file as published, and against the closed file with exactly the documented NR
/// fields added (docs/hosting.md, "5G cells in MEC 012").
/// </summary>
public sealed class Mec012NrTests
{
    private static readonly EnbId _gnb1 = new(0x4000, Rat.Nr);
    private static readonly EnbId _gnb2 = new(0x4001, Rat.Nr);

    // NR-CGIs as NGAP carries them: a 22-bit gNB id in the top bits of the 36-bit cell identity.
    private static readonly Ncgi _cellA = new("901", "70", 0x0_0400_0041);
    private static readonly Ncgi _cellB = new("901", "70", 0x0_0400_1042);
    private static readonly UeId _ue = new("imsi-901700000021309");
    private static readonly Bearer _session = new(5, new GtpEndpoint(IPAddress.Parse("127.0.0.7"), 1), new GtpEndpoint(IPAddress.Parse("127.0.0.2"), 1)) { Qci = 9 };

    [Fact]
    public void A_5G_UEs_cell_changes_name_its_NR_cells_and_are_valid_against_the_official_schema()
    {
        var facts = Facts(
            new UeAttached(T(1), _ue, "901700000021309", IPAddress.Parse("10.45.0.2"), _gnb1, _cellA.NrCellId, [_session]) { NrCell = _cellA },
            new HandoverPrepared(T(2), _ue, _gnb1, _gnb2, HandoverKind.S1) { NrCell = _cellA, NrTargetCell = _cellB },
            new HandoverExecuting(T(3), _ue, _gnb2) { NrCell = _cellA, NrTargetCell = _cellB },
            new HandoverCompleted(T(4), _ue, _gnb2, [new BearerDownlink(5, new GtpEndpoint(IPAddress.Parse("127.0.0.3"), 7))]) { NrCell = _cellB, NrSourceCell = _cellA },
            new HandoverPrepared(T(5), _ue, _gnb2, _gnb1, HandoverKind.S1) { NrCell = _cellB, NrTargetCell = _cellA },
            new HandoverCancelled(T(6), _ue) { NrCell = _cellB, NrTargetCell = _cellA },
            // Xn: the tracker names the source cell; without it the UE grain's last NR cell stands in.
            new PathSwitched(T(7), _ue, _gnb1, [new BearerDownlink(5, new GtpEndpoint(IPAddress.Parse("127.0.0.2"), 9))]) { NrCell = _cellA });

        var cellChanges = facts.SelectMany(f => MecNotifications.News(f, out var incomplete).Select(n => (n, incomplete)))
            .Where(x => x.n.Type == MecType.CellChange).ToList();
        Assert.All(cellChanges, x => Assert.Equal(0, x.incomplete));
        Assert.Equal([1L, 2, 3, 1, 5, 3], cellChanges.Select(x => x.n.Status));
        var expected = new[] { (_cellA, _cellB), (_cellA, _cellB), (_cellA, _cellB), (_cellB, _cellA), (_cellB, _cellA), (_cellB, _cellA) };
        foreach (var ((news, _), (source, target)) in cellChanges.Zip(expected))
        {
            var body = news.Body;
            MecSchemas.AssertValid(MecSpec.Mec012AsPublished, "CellChangeNotification", body);
            MecSchemas.AssertValid(MecSpec.Mec012Nr, "CellChangeNotification", body);
            Assert.Equal(Nrcgi(source), body["srcNrcgi"]!.ToJsonString());
            Assert.Equal(Nrcgi(target), Assert.Single(body["trgNrcgi"]!.AsArray())!.ToJsonString());

            // The required Ecgi fields name the PLMN and no E-UTRA cell; no LTE cell filter selects the news.
            Assert.Equal(string.Empty, body["srcEcgi"]!["cellId"]!.GetValue<string>());
            Assert.Equal("901", body["srcEcgi"]!["plmn"]!["mcc"]!.GetValue<string>());
            Assert.Equal(string.Empty, body["trgEcgi"]![0]!["cellId"]!.GetValue<string>());
            Assert.Empty(news.Cells);

            // The NR fields are MobiScud's addition: the closed v2.1.1 file refuses them, and accepts the rest as it is.
            Assert.Contains(MecSchemas.Validate(MecSpec.Mec012, "CellChangeNotification", body), e => e.Contains("srcNrcgi", StringComparison.Ordinal));
            var withoutNr = body.DeepClone().AsObject();
            withoutNr.Remove("srcNrcgi");
            withoutNr.Remove("trgNrcgi");
            MecSchemas.AssertValid(MecSpec.Mec012, "CellChangeNotification", withoutNr);
        }

        Assert.Equal("004000041", cellChanges[0].n.Body["srcNrcgi"]!["nrcellId"]!.GetValue<string>());
    }

    [Fact]
    public void A_5G_UEs_PDU_sessions_are_RAB_establishments_and_releases_in_its_NR_cell_with_no_S1_bearer_news()
    {
        var facts = Facts(
            new UeAttached(T(1), _ue, "901700000021309", IPAddress.Parse("10.45.0.2"), _gnb1, _cellA.NrCellId, [_session]) { NrCell = _cellA },
            new UeReleasedToIdle(T(2), _ue) { NrCell = _cellA },
            new ServiceRequested(T(3), _ue, _gnb1, [_session]) { NrCell = _cellA },
            // A release whose message named no cell: the UE grain's last NR cell.
            new UeReleasedToIdle(T(4), _ue));

        var news = facts.SelectMany(f => MecNotifications.News(f, out var incomplete).Select(n => (n, incomplete))).ToList();
        Assert.All(news, x => Assert.Equal(0, x.incomplete));
        Assert.DoesNotContain(news, x => x.n.Type == MecType.S1Bearer);
        Assert.Equal([MecType.RabEst, MecType.RabRel, MecType.RabEst, MecType.RabRel], news.Select(x => x.n.Type));
        foreach (var (n, _) in news)
        {
            var schema = n.Type == MecType.RabEst ? "RabEstNotification" : "RabRelNotification";
            MecSchemas.AssertValid(MecSpec.Mec012AsPublished, schema, n.Body);
            MecSchemas.AssertValid(MecSpec.Mec012Nr, schema, n.Body);
            Assert.Equal(Nrcgi(_cellA), n.Body["nrcgi"]!.ToJsonString());
            Assert.Equal(string.Empty, n.Body["ecgi"]!["cellId"]!.GetValue<string>());
            Assert.Equal(9, n.Qci);
            Assert.Equal(5, n.ERabId);
        }

        Assert.Equal("5", news[0].n.Body["erabId"]!.ToJsonString());
        Assert.Equal("5", news[1].n.Body["erabReleaseInfo"]!["erabId"]!.ToJsonString());
    }

    [Fact]
    public void An_LTE_UEs_notifications_are_unchanged_and_carry_no_NR_field()
    {
        var cell = new Ecgi("001", "01", 0x001F20A);
        var target = new Ecgi("001", "01", 0x00043A0);
        var enb = new EnbId(498);
        var facts = Facts(
            new UeAttached(T(1), _ue, "001010123456815", IPAddress.Parse("45.45.0.11"), enb, cell.CellId, [_session]) { Cell = cell },
            new HandoverPrepared(T(2), _ue, enb, new EnbId(67), HandoverKind.S1) { Cell = cell, TargetCell = target });
        var news = facts.SelectMany(f => MecNotifications.News(f, out _)).ToList();
        Assert.Equal([MecType.RabEst, MecType.S1Bearer, MecType.CellChange], news.Select(n => n.Type));
        MecSchemas.AssertValid(MecSpec.Mec012, "RabEstNotification", news[0].Body);
        MecSchemas.AssertValid(MecSpec.Mec012, "S1BearerNotification", news[1].Body);
        MecSchemas.AssertValid(MecSpec.Mec012, "CellChangeNotification", news[2].Body);
        Assert.All(news, n => Assert.DoesNotContain("nrcgi", n.Body.ToJsonString(), StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void A_5G_event_without_any_NR_cell_is_incomplete_news_as_an_LTE_one_without_a_cell()
    {
        var facts = Facts(
            new UeAttached(T(1), _ue, "901700000021309", IPAddress.Parse("10.45.0.2"), _gnb1, null, [_session]),
            new HandoverPrepared(T(2), _ue, _gnb1, _gnb2, HandoverKind.S1) { NrCell = _cellA });
        var incomplete = facts.Sum(f => MecNotifications.News(f, out var n).Count == 0 ? n : 0);
        Assert.Equal(2, incomplete);
    }

    private static TimeSpan T(int seconds) => TimeSpan.FromSeconds(1_767_600_000 + seconds);

    private static string Nrcgi(Ncgi c) =>
        new JsonObject { ["nrcellId"] = c.NrCellId.ToString("X9", System.Globalization.CultureInfo.InvariantCulture), ["plmn"] = new JsonObject { ["mcc"] = c.Mcc, ["mnc"] = c.Mnc } }.ToJsonString();

    /// <summary>The events as a UE grain applies them: the MC's state around each, and the cells the UE was in before.</summary>
    private static List<RanFact> Facts(params UeEvent[] events)
    {
        var config = new McConfig(new Dictionary<EnbId, SiteId> { [_gnb1] = new("site-a"), [_gnb2] = new("site-b"), [new EnbId(498)] = new("site-a"), [new EnbId(67)] = new("site-b") }, new SiteId("core"));
        UeState? state = null;
        Ecgi? cell = null;
        Ncgi? nr = null;
        var facts = new List<RanFact>();
        foreach (var e in events)
        {
            var after = MobiScudControl.Decide(config, state, e).State;
            facts.Add(new RanFact(e, state, after, cell, nr));
            state = after;
            cell = e.Cell ?? cell;
            nr = e.NrCell ?? nr;
        }

        return facts;
    }
}
