namespace MobiScud.Simulation.Results;

/// <summary>Per-UE probe series for a few candidate UEs, so the report can plot one across its handovers.</summary>
public sealed class UeProbeSeries
{
    private readonly int _lanes;

    // Times are kept from the start of the scored window (the end of any warm-up), as every reported time is.
    private readonly TimeSpan _origin;

    public UeProbeSeries(int candidates, int lanes, TimeSpan origin = default)
    {
        _origin = origin;
        Candidates = candidates;
        _lanes = lanes;
        Series = Enumerable.Range(0, candidates * lanes).Select(_ => new List<(float T, float RttMs)>()).ToArray();
        Windows = Enumerable.Range(0, candidates * lanes).Select(_ => new List<(float Start, float Pause, float End)>()).ToArray();
        Handovers = Enumerable.Range(0, candidates).Select(_ => new List<(float T, string Kind)>()).ToArray();
    }

    public int Candidates { get; }

    public List<(float T, float RttMs)>[] Series { get; }

    public List<(float Start, float Pause, float End)>[] Windows { get; }

    public List<(float T, string Kind)>[] Handovers { get; }

    public void Probe(int lane, int ue, TimeSpan at, double rttSeconds)
    {
        if (ue < Candidates)
        {
            Series[(ue * _lanes) + lane].Add(((float)(at - _origin).TotalSeconds, (float)(rttSeconds * 1000)));
        }
    }

    public void MigrationWindow(int lane, int ue, TimeSpan start, TimeSpan pause, TimeSpan end)
    {
        if (ue < Candidates)
        {
            Windows[(ue * _lanes) + lane].Add(((float)(start - _origin).TotalSeconds, (float)(pause - _origin).TotalSeconds, (float)(end - _origin).TotalSeconds));
        }
    }

    public void Handover(int ue, TimeSpan at, string kind)
    {
        if (ue < Candidates)
        {
            Handovers[ue].Add(((float)(at - _origin).TotalSeconds, kind));
        }
    }

    public List<(float T, float RttMs)> SeriesOf(int ue, int lane) => Series[(ue * _lanes) + lane];

    public List<(float Start, float Pause, float End)> WindowsOf(int ue, int lane) => Windows[(ue * _lanes) + lane];
}
