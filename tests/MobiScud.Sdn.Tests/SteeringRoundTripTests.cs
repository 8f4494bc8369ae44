using System.Globalization;
using System.Net;
using MobiScud.Control.Model;
using MobiScud.Sdn.Steering;

namespace MobiScud.Sdn.Tests;

/// <summary>
/// The decompiler inverts the compiler: for random intents on the two-site topology, the flows each intent compiles to,
/// in any order, read back into that intent's steering (what flows carry; the eNB id, E-RAB ids and version they do not
/// carry come back as 0), and into the very intent when it is the one the caller installed.
/// Cases: 300 in CI; MOBISCUD_ROUNDTRIP_CASES=100000 for a long run.
/// </summary>
public sealed class SteeringRoundTripTests
{
    private static readonly SdnTopology _topology = OvsHarness.TwoSites;

    private static int Cases => int.TryParse(Environment.GetEnvironmentVariable("MOBISCUD_ROUNDTRIP_CASES"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 300;

    [Fact]
    public void Decompile_of_compile_gives_back_the_intent()
    {
        var random = new Random(17);
        for (var i = 0; i < Cases; i++)
        {
            var intent = RandomIntent(random, i);
            var compiled = SteeringCompiler.TryCompile(intent, _topology);
            Assert.Null(compiled.Error);
            var site = _topology[intent.SwitchSite];
            var flows = compiled.Flows![intent.SwitchSite].OrderBy(_ => random.Next()).ToList();

            var decompiled = SteeringDecompiler.Decompile(_topology, site, intent.Ue, null, flows);
            AssertSame(Carried(intent), decompiled, i);

            // With the intent the caller installed, whose flows these exactly are: that intent itself.
            Assert.Same(intent, SteeringDecompiler.Decompile(_topology, site, intent.Ue, intent, flows));

            // A remote PVM site holds only relay flows; it is not where the UE is steered from.
            if (intent.PvmSite != intent.SwitchSite)
            {
                Assert.DoesNotContain(compiled.Flows[intent.PvmSite], f => f.TableId == SteeringTables.Uplink);
            }
        }
    }

    [Fact]
    public void An_intent_the_topology_cannot_carry_is_an_error_value()
    {
        var intent = RandomIntent(new Random(3), 0) with { PvmSite = new SiteId("site-z") };
        var compiled = SteeringCompiler.TryCompile(intent, _topology);
        Assert.Null(compiled.Flows);
        Assert.Contains("'site-z'", compiled.Error, StringComparison.Ordinal);
        Assert.Contains(intent.Ue.ToString(), compiled.Error, StringComparison.Ordinal);
    }

    /// <summary>What the flows of an intent carry: see <see cref="SteeringDecompiler"/>.</summary>
    private static SteeringIntent Carried(SteeringIntent x)
    {
        var bearers = x.Bearers.OrderBy(b => b.Uplink.Teid).Select(b => b with { ERabId = 0, Downlink = b.Downlink with { Teid = 0 } }).ToList();
        var dl = x.Bearers.OrderBy(b => b.ERabId).First().Downlink;
        var first = bearers.FindIndex(b => b.Downlink.Address.Equals(dl.Address));
        bearers[first] = bearers[first] with { Downlink = dl };
        return new SteeringIntent(x.Ue, x.UeAddress, new EnbId(0), bearers, x.SwitchSite, x.PvmSite, x.PvmAddress, 0);
    }

    private static void AssertSame(SteeringIntent expected, SteeringIntent actual, int n)
    {
        var what = $"case {n}: expected {Show(expected)}\n got {Show(actual)}";
        Assert.True(
            expected.Ue == actual.Ue && expected.UeAddress.Equals(actual.UeAddress) && expected.Enb == actual.Enb && expected.SwitchSite == actual.SwitchSite
            && expected.PvmSite == actual.PvmSite && Equals(expected.PvmAddress, actual.PvmAddress) && expected.Version == actual.Version
            && expected.Bearers.SequenceEqual(actual.Bearers),
            what);
    }

    private static string Show(SteeringIntent s) =>
        $"{s.Ue} {s.UeAddress} {s.Enb} {s.SwitchSite}->{s.PvmSite} pvm {s.PvmAddress} v{s.Version} [{string.Join(", ", s.Bearers.Select(b => $"{b.ERabId}: ul {b.Uplink} dl {b.Downlink}"))}]";

    private static SteeringIntent RandomIntent(Random r, int n)
    {
        var sites = _topology.Sites.Select(s => s.Site).ToArray();
        var switchSite = sites[r.Next(sites.Length)];
        var pvmSite = r.Next(2) == 0 ? switchSite : sites.First(s => s != switchSite);
        var enb = Address(r, 10, 60);
        var erabs = Enumerable.Range(5, 11).OrderBy(_ => r.Next()).Take(r.Next(1, 5)).ToList();
        var teids = new HashSet<uint>();
        while (teids.Count < erabs.Count)
        {
            teids.Add((uint)r.Next(1, int.MaxValue));
        }

        var bearers = erabs.Zip(teids, (erab, teid) => new Bearer(
            (byte)erab,
            new GtpEndpoint(Address(r, 10, 70), teid),

            // Mostly the serving eNB; sometimes a bearer whose downlink ends elsewhere (another eNB address).
            new GtpEndpoint(r.Next(4) == 0 ? Address(r, 10, 61) : enb, (uint)r.Next(1, int.MaxValue)))).ToList();
        return new SteeringIntent(new UeId($"ue-{n}"), Address(r, 172, 16), new EnbId((uint)r.Next(1, 1 << 20)), bearers, switchSite, pvmSite, Address(r, 10, 45), r.Next(1, 1000));
    }

    private static IPAddress Address(Random r, byte a, byte b) => new([a, b, (byte)r.Next(0, 256), (byte)r.Next(1, 255)]);
}
