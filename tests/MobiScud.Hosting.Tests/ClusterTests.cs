using System.Collections.Concurrent;
using System.Text.Json;
using MobiScud.Control;
using MobiScud.Control.Model;
using MobiScud.Hosting.Adapters;
using MobiScud.Hosting.Config;
using MobiScud.Hosting.Grains;
using MobiScud.Hosting.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.TestingHost;
using static MobiScud.Hosting.Tests.ServeTestHost;

namespace MobiScud.Hosting.Tests;

/// <summary>Commands as the silos executed them (the adapters are not under test here: the grains' state is).</summary>
public sealed class RecordingExecutor : ICommandDispatcher
{
    public static readonly ConcurrentQueue<ControlCommand> Executed = new();

    public bool ReportsAtOnce(IReadOnlyList<ControlCommand> commands) => false;

    public Task<IReadOnlyList<UeEvent>> DispatchAsync(UeState? before, UeState? after, IReadOnlyList<ControlCommand> commands, CancellationToken ct = default)
    {
        foreach (var c in commands)
        {
            Executed.Enqueue(c);
        }

        return Task.FromResult<IReadOnlyList<UeEvent>>([]);
    }
}

public sealed class ClusterSiloConfigurator : ISiloConfigurator
{
    public void Configure(ISiloBuilder silo)
    {
        // The test passes its backend through the cluster's configuration (TestClusterBuilder.Properties).
        var kind = Enum.Parse<StorageKind>(silo.Configuration["TestStorage:Kind"]!);
        var connection = silo.Configuration["TestStorage:Connection"]!;
        TestStorage.AddGrainStorage(silo, kind, connection);
        if (kind == StorageKind.Postgres)
        {
            // Membership in the database too: the survivor writes its suspicion and the dead silo's death there.
            PostgresStorage.UseClustering(silo, connection);
        }
        silo.Services.AddSerializer(ServeHost.AddContractSerializer);
        silo.Services.AddOptions<MobiScudOptions>().Configure(o =>
        {
            o.Sites = [new SiteOptions { Name = A.Value, Enbs = [1, 2] }, new SiteOptions { Name = B.Value, Enbs = [3] }, new SiteOptions { Name = C.Value, Enbs = [4] }];
            o.Api.Token = Token;
            o.MigrationRetryAfter = TimeSpan.FromHours(1);
        });
        silo.Services.AddSingleton<HostingMetrics>();
        silo.Services.AddSingleton<Pipeline.ResilienceMetrics>();
        silo.Services.AddSingleton<McConfigProvider>();
        silo.Services.AddSingleton<SiteMembership>();
        silo.Services.AddSingleton<ICommandDispatcher, RecordingExecutor>();
        silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
        silo.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = TimeSpan.FromSeconds(1);
            o.NumMissedProbesLimit = 2;
            o.NumVotesForDeathDeclaration = 1;
        });
    }
}

public sealed class ClusterClientConfigurator : IClientBuilderConfigurator
{
    public void Configure(Microsoft.Extensions.Configuration.IConfiguration configuration, IClientBuilder client)
    {
        client.Services.AddSerializer(ServeHost.AddContractSerializer);
        if (configuration["TestStorage:Kind"] == nameof(StorageKind.Postgres))
        {
            client.UseAdoNetClustering(o =>
            {
                o.Invariant = PostgresStorage.Invariant;
                o.ConnectionString = configuration["TestStorage:Connection"];
            });
        }
        client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
    }
}

public sealed class ClusterTests
{
    /// <summary>
    /// A synthetic S1AP-derived stream (attach, X2 and S1 handovers, a cancel, ping-pong) with the outcomes a
    /// hypervisor would report, built by running the replay path (the single-threaded controller) over it.
    /// </summary>
    private static (List<UeEvent> Stream, SingleThreadedMc Reference) Synthetic(int ues, int rounds)
    {
        var map = new Dictionary<EnbId, SiteId> { [new(1)] = A, [new(2)] = A, [EnbB] = B, [EnbC] = C };
        var reference = new SingleThreadedMc(new McConfig(map, new SiteId("core"), migrationRetryAfter: TimeSpan.FromHours(1)));
        var stream = new List<UeEvent>();
        var t = Now;
        var pending = new List<UeEvent>();
        void Feed(UeEvent e)
        {
            stream.Add(e);
            foreach (var c in reference.Handle(e))
            {
                t += TimeSpan.FromMilliseconds(1);
                switch (c)
                {
                    case CreatePvm p:
                        pending.Add(new PvmStarted(t, p.Ue, p.Pvm, p.Site, System.Net.IPAddress.Parse("192.168.0.1")));
                        break;
                    case StartMigration m:
                        pending.Add(m.To == C
                            ? new MigrationFailed(t, m.Migration, "link down")
                            : new MigrationCompleted(t, m.Migration, new MigrationStats(TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(30), 1 << 27, 3)));
                        break;
                }
            }
        }

        EnbId[] path = [EnbA, EnbB, new(2), EnbC, EnbA];
        for (var i = 0; i < ues; i++)
        {
            t += TimeSpan.FromMilliseconds(1);
            Feed(Attach(i, EnbA, t));
        }

        for (var r = 0; r < rounds; r++)
        {
            var outcomes = pending.ToList();
            pending.Clear();
            for (var i = 0; i < ues; i++)
            {
                t += TimeSpan.FromMilliseconds(1);
                var ue = Ue(i);
                var from = path[(i + r) % path.Length];
                var to = path[(i + r + 1) % path.Length];
                if ((i + r) % 7 == 0)
                {
                    Feed(new HandoverPrepared(t, ue, from, to, HandoverKind.S1));
                    Feed(new HandoverCancelled(t, ue));
                }
                else if ((i + r) % 3 == 0)
                {
                    Feed(new HandoverPrepared(t, ue, from, to, HandoverKind.S1));
                    Feed(new HandoverCompleted(t, ue, to, [new BearerDownlink(5, new GtpEndpoint(EnbAddress(to), (uint)(r * 1000 + i)))]));
                }
                else
                {
                    Feed(Switched(i, to, t) with { Downlinks = [new BearerDownlink(5, new GtpEndpoint(EnbAddress(to), (uint)(r * 1000 + i)))] });
                }

                // Last round's outcomes arrive interleaved with this round's handovers, as they would live.
                foreach (var o in outcomes.Where(o => o.Ue == ue))
                {
                    Feed(o);
                }
            }
        }

        foreach (var o in pending.ToList())
        {
            Feed(o);
        }

        return (stream, reference);
    }

    [Theory]
    [InlineData(StorageKind.Redis)]
    [InlineData(StorageKind.Postgres)]
    public async Task Two_silo_cluster_matches_the_replay_path_per_ue_and_killing_a_silo_mid_stream_loses_no_state(StorageKind storage)
    {
        await using var backend = await TestStorage.StartAsync(storage);
        var builder = new TestClusterBuilder(2);
        builder.Properties["TestStorage:Kind"] = backend.Kind.ToString();
        builder.Properties["TestStorage:Connection"] = backend.Connection;
        builder.Options.UseTestClusterMembership = storage != StorageKind.Postgres;
        builder.AddSiloBuilderConfigurator<ClusterSiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClusterClientConfigurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        try
        {
            var (stream, reference) = Synthetic(ues: 120, rounds: 5);
            var pipeline = new EventPipeline(cluster.Client, new EventPipelineOptions { Partitions = 8, Capacity = 64, MaxBatch = 16 }, NullLogger<EventPipeline>.Instance);
            await pipeline.StartAsync(CancellationToken.None);
            var killAt = stream.Count / 3;
            for (var n = 0; n < stream.Count; n++)
            {
                if (n == killAt)
                {
                    await pipeline.FlushAsync();
                    var stats = await cluster.Client.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
                    var victim = cluster.SecondarySilos[0].SiloAddress;
                    var doomed = stats.Where(s => s.SiloAddress.Equals(victim) && s.GrainType.Contains(nameof(UeGrain))).Sum(s => s.ActivationCount);
                    Assert.True(doomed > 0, "the silo to kill must host some UE grains, or the test proves nothing");

                    // Mid-stream, with deliveries in flight: grains on the dead silo come back on the survivor from storage.
                    await cluster.KillSiloAsync(cluster.SecondarySilos[0]);
                    if (storage == StorageKind.Postgres)
                    {
                        // The survivor found the death and wrote it to the database's membership table (Dead = 6).
                        var row = $"SELECT status::text FROM orleansmembershiptable WHERE port = {victim.Endpoint.Port} AND generation = {victim.Generation}";
                        await Wait.Until(async () => await PostgresServer.QueryAsync(backend.Connection, row) is ["6"], "the killed silo declared dead in PostgreSQL");
                    }
                }

                await pipeline.PostAsync(stream[n]);

                // Backpressure: never more than partitions x (capacity + one batch in delivery) events held.
                Assert.True(pipeline.Pending <= 8 * (64 + 16), $"pending {pipeline.Pending}");
            }

            await pipeline.FlushAsync().WaitAsync(TimeSpan.FromMinutes(2));
            await pipeline.StopAsync(CancellationToken.None);
            Console.Error.WriteLine($"cluster test ({storage}): {stream.Count} events, {pipeline.Retries} deliveries retried after the kill");

            var migrated = 0;
            foreach (var (ue, expected) in reference.Ues)
            {
                var snapshot = await cluster.Client.GetGrain<IUeGrain>(ue.Value).Get();
                Assert.Equal(JsonSerializer.Serialize(expected, McJson.Options), JsonSerializer.Serialize(snapshot.State, McJson.Options));
                Assert.Equal(stream.Count(e => e.Ue == ue && reference.Ues.ContainsKey(ue)), snapshot.Applied);
                migrated += expected.MigrationSequence;
            }

            Assert.Equal(120, (await UePartitions.AllAsync(cluster.Client)).Count);
            Assert.True(migrated > 120, $"the stream should migrate PVMs many times (was {migrated})");
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }
}
