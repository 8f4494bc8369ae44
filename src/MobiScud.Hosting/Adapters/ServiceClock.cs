namespace MobiScud.Hosting.Adapters;

/// <summary>The service's time line: wall clock since the Unix epoch, so that it survives restarts.</summary>
public interface IServiceClock
{
    TimeSpan Now { get; }
}

public sealed class SystemServiceClock(TimeProvider time) : IServiceClock
{
    public TimeSpan Now => time.GetUtcNow() - DateTimeOffset.UnixEpoch;
}
