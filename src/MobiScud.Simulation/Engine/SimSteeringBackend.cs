using System.Threading.Channels;
using MobiScud.Control.Host;
using MobiScud.Control.Model;

namespace MobiScud.Simulation.Engine;

/// <summary>What a switch's steering entry for one UE says, as much as a probe needs (Site -1: none), and the intent itself.</summary>
internal readonly record struct SteerSlot(int Site, int PvmSite, uint Enb, uint Teid, bool HasBearer, SteeringIntent? Intent)
{
    public static readonly SteerSlot Empty = new(-1, -1, 0, 0, false, null);

    public static SteerSlot Of(int site, SteeringIntent intent, int pvmSite) =>
        intent.Bearers.Count > 0
            ? new(site, pvmSite, intent.Enb.Value, intent.Bearers[0].Downlink.Teid, true, intent)
            : new(site, pvmSite, intent.Enb.Value, 0, false, intent);
}

/// <summary>
/// A lane's edge switches behind the host layer's one steering contract: the intent each site's switch holds per UE.
/// Its switches cannot refuse, so <see cref="Outcomes"/> stays empty. A UE has an intent at one site (rarely two), so
/// the first sits in a struct array the probe sweep reads in order, the rest in a small overflow array: chasing a
/// dictionary bucket and the intent's bearer list per probe cost a cache miss each, which grew with the UEs.
/// </summary>
internal sealed class SimSteeringBackend : ISteeringBackend
{
    private readonly StrategyLane _lane;
    private readonly SteerSlot[] _steering;
    private readonly SteerSlot[]?[] _moreSteering;

    public SimSteeringBackend(StrategyLane lane, int ues)
    {
        _lane = lane;
        _steering = new SteerSlot[ues];
        Array.Fill(_steering, SteerSlot.Empty);
        _moreSteering = new SteerSlot[]?[ues];
    }

    public ChannelReader<UeEvent> Outcomes { get; } = OutcomeChannel.None();

    public Task InstallAsync(SteeringIntent intent, CancellationToken ct = default)
    {
        Set(_lane.UeOf(intent.Ue), _lane.SiteIndex(intent.SwitchSite), intent);
        _lane.Stats.SteeringInstalls++;
        return Task.CompletedTask;
    }

    public Task RemoveAsync(UeId ue, SiteId switchSite, CancellationToken ct = default)
    {
        Set(_lane.UeOf(ue), _lane.SiteIndex(switchSite), null);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<SteeringIntent>> InventoryAsync(CancellationToken ct = default)
    {
        var intents = new List<SteeringIntent>();
        for (var ue = 0; ue < _steering.Length; ue++)
        {
            if (_steering[ue].Intent is { } first)
            {
                intents.Add(first);
            }

            foreach (var slot in _moreSteering[ue] ?? [])
            {
                intents.Add(slot.Intent!);
            }
        }

        return Task.FromResult<IReadOnlyList<SteeringIntent>>(intents);
    }

    /// <summary>The entry the switch at <paramref name="site"/> holds for the UE, or <see cref="SteerSlot.Empty"/>.</summary>
    public SteerSlot Find(int ue, int site)
    {
        var first = _steering[ue];
        if (first.Site == site)
        {
            return first;
        }

        if (_moreSteering[ue] is { } more)
        {
            foreach (var slot in more)
            {
                if (slot.Site == site)
                {
                    return slot;
                }
            }
        }

        return SteerSlot.Empty;
    }

    private void Set(int ue, int site, SteeringIntent? intent)
    {
        var more = _moreSteering[ue];
        var i = more is null ? -1 : Array.FindIndex(more, x => x.Site == site);
        if (intent is null)
        {
            if (_steering[ue].Site == site)
            {
                // The next one, if any, takes the first place.
                _steering[ue] = more is null ? SteerSlot.Empty : more[0];
                _moreSteering[ue] = more is null || more.Length == 1 ? null : more[1..];
            }
            else if (i >= 0)
            {
                _moreSteering[ue] = more!.Length == 1 ? null : [.. more[..i], .. more[(i + 1)..]];
            }

            return;
        }

        var slot = SteerSlot.Of(site, intent, _lane.SiteIndex(intent.PvmSite));
        if (_steering[ue].Site == site || (_steering[ue].Site < 0 && i < 0))
        {
            _steering[ue] = slot;
        }
        else if (i >= 0)
        {
            more![i] = slot;
        }
        else
        {
            _moreSteering[ue] = more is null ? [slot] : [.. more, slot];
        }
    }
}
