using System.Diagnostics;
using System.Net;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Control.Policies;

namespace MobiScud.Bench;

/// <summary>
/// `dotnet run -c Release --project bench/MobiScud.Bench -- policy-walk [hours] [ues]`: every migration policy on the
/// same synthetic mobility, scored per UE and 60 s slot with Wang et al.'s cost model. Not the simulator (no backhaul
/// load, no queueing): a quick check of the policies against each other on a line of 40 sites (hops = distance), where
/// a third of the UEs move every 30 s on average, a third every 2 min, a third every 15 min, and 30% of moves bounce
/// straight back within 3-8 s (ping-pong). A migration takes 8 s + 2 s per hop; the MC learns mobility as it goes.
/// </summary>
internal static class PolicyWalk
{
    private const int Sites = 40;

    public static void Run(double hours, int ues)
    {
        var siteIds = Enumerable.Range(0, Sites).Select(i => new SiteId($"s{i}")).ToList();
        var core = new SiteId("core");
        var links = Enumerable.Range(0, Sites - 1).Select(i => new SiteLink(siteIds[i], siteIds[i + 1])).Append(new SiteLink(siteIds[Sites / 2], core));
        var graph = SiteGraph.FromLinks(siteIds.Append(core), links);
        var enbSite = Enumerable.Range(0, Sites).ToDictionary(i => new EnbId((uint)i), i => siteIds[i]);
        Console.WriteLine($"{hours} h, {ues} UEs, {Sites} sites in a line");
        Console.WriteLine("policy         cost/UE-slot  migrations  cancelled  events    us/event");
        foreach (var kind in Enum.GetValues<PolicyKind>())
        {
            var config = new McConfig(enbSite, core, migrationDeadline: TimeSpan.FromSeconds(60)) { Policy = new PolicyConfig { Kind = kind }, Sites = graph };
            var r = Walk(config, graph, hours, ues);
            Console.WriteLine($"{PolicyConfig.NameOf(kind),-14} {r.Cost,12:0.0000}  {r.Migrations,10}  {r.Cancelled,9}  {r.Events,8}  {r.MicrosPerEvent,8:0.00}");
        }
    }

    private static (double Cost, int Migrations, int Cancelled, long Events, double MicrosPerEvent) Walk(McConfig config, SiteGraph graph, double hours, int ues)
    {
        var mc = new SingleThreadedMc(config) { LearnMobility = true };
        var random = new Random(42);
        var queue = new PriorityQueue<(int Ue, UeEvent E), TimeSpan>();
        var userSite = new int[ues];
        var previousSite = new int[ues];
        var pvmAtSlotStart = new int[ues];
        var ueIds = Enumerable.Range(0, ues).Select(i => new UeId($"ue{i}")).ToArray();
        var bearer = new Bearer(5, new GtpEndpoint(IPAddress.Parse("10.0.0.1"), 1), new GtpEndpoint(IPAddress.Parse("10.0.1.1"), 2));
        var running = new HashSet<MigrationId>();
        double[] dwells = [30, 120, 900];
        for (var u = 0; u < ues; u++)
        {
            userSite[u] = previousSite[u] = random.Next(Sites);
            var at = TimeSpan.FromSeconds(random.NextDouble());
            queue.Enqueue((u, new UeAttached(at, ueIds[u], null, IPAddress.Parse("10.45.0.2"), new EnbId((uint)userSite[u]), null, [bearer])), at);
        }

        int SiteIndex(SiteId? s) => s is { } x && x != config.CoreSite ? int.Parse(x.Value.AsSpan(1)) : Sites / 2;
        var end = TimeSpan.FromHours(hours);
        var slot = TimeSpan.FromSeconds(60);
        var nextSlot = slot;
        var cost = 0.0;
        var slots = 0L;
        var migrations = 0;
        var cancelled = 0;
        var events = 0L;
        var decideTicks = 0L;
        while (queue.TryDequeue(out var item, out var now) && now < end)
        {
            for (; nextSlot <= now; nextSlot += slot)
            {
                for (var u = 0; u < ues; u++)
                {
                    var pvm = SiteIndex(mc[ueIds[u]]?.PvmSite);
                    cost += WangCostModel.Default.SlotCost(Math.Abs(pvm - pvmAtSlotStart[u]), Math.Abs(pvm - userSite[u]));
                    pvmAtSlotStart[u] = pvm;
                    slots++;
                }
            }

            var (ue, e) = item;
            if (e is PathSwitched moved)
            {
                previousSite[ue] = userSite[ue];
                userSite[ue] = (int)moved.Target.Value;
            }

            var started = Stopwatch.GetTimestamp();
            var commands = mc.Handle(e);
            decideTicks += Stopwatch.GetTimestamp() - started;
            events++;
            foreach (var c in commands)
            {
                switch (c)
                {
                    case CreatePvm create:
                        pvmAtSlotStart[ue] = SiteIndex(create.Site);
                        queue.Enqueue((ue, new PvmStarted(now + TimeSpan.FromSeconds(1), create.Ue, create.Pvm, create.Site, null)), now + TimeSpan.FromSeconds(1));
                        break;
                    case StartMigration start:
                        migrations++;
                        running.Add(start.Migration);
                        var done = now + TimeSpan.FromSeconds(8 + (2 * graph.Hops(start.From, start.To)));
                        queue.Enqueue((ue, new MigrationCompleted(done, start.Migration, new MigrationStats(done - now, TimeSpan.Zero, 0, 1))), done);
                        break;
                    case CancelMigration cancel when running.Remove(cancel.Migration):
                        cancelled++;
                        queue.Enqueue((ue, new MigrationFailed(now, cancel.Migration, "cancelled")), now);
                        break;
                    case ScheduleTimer timer:
                        queue.Enqueue((ue, new TimerFired(timer.Due, ueIds[ue], timer.Kind, timer.Token)), timer.Due);
                        break;
                }
            }

            if (e is MigrationCompleted completed)
            {
                running.Remove(completed.Migration);
            }

            if (e is UeAttached or PathSwitched)
            {
                double dwell;
                int target;
                if (e is PathSwitched && random.NextDouble() < 0.3 && previousSite[ue] != userSite[ue])
                {
                    dwell = 3 + (random.NextDouble() * 5);
                    target = previousSite[ue];
                }
                else
                {
                    dwell = -Math.Log(1 - random.NextDouble()) * dwells[ue % 3];
                    target = Math.Clamp(userSite[ue] + (random.Next(2) == 0 ? -1 : 1), 0, Sites - 1);
                    target = target == userSite[ue] ? (target == 0 ? 1 : target - 1) : target;
                }

                var when = now + TimeSpan.FromSeconds(dwell);
                queue.Enqueue((ue, new PathSwitched(when, ueIds[ue], new EnbId((uint)target), [])), when);
            }
        }

        return (cost / slots, migrations, cancelled, events, decideTicks * 1e6 / Stopwatch.Frequency / events);
    }
}
