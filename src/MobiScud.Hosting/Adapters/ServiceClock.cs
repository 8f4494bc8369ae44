namespace MobiScud.Hosting.Adapters;

/// <summary>The service's time line on the one clock (<see cref="TimeProvider"/>): wall clock since the Unix epoch, so that it survives restarts.</summary>
internal static class ServiceClock
{
    public static TimeSpan ServiceNow(this TimeProvider time) => time.GetUtcNow() - DateTimeOffset.UnixEpoch;
}
