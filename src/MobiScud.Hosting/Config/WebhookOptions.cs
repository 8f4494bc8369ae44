namespace MobiScud.Hosting.Config;

/// <summary>
/// Where MEC subscription callbacks may point (MobiScud:Api:Webhooks). By default any public http(s) address, never
/// loopback, link-local (which holds cloud metadata services, 169.254.169.254), unspecified or multicast addresses,
/// nor a URI carrying credentials. <see cref="Allowed"/> lists the hosts (names or CIDR prefixes) allowed; when it is
/// not empty, nothing else is, and a loopback or link-local prefix listed there is allowed explicitly.
/// </summary>
public sealed class WebhookOptions
{
    /// <summary>Host names (exact, case-insensitive) or CIDR prefixes such as 10.0.0.0/8 or 127.0.0.1/32.</summary>
    public List<string> Allowed { get; set; } = [];

    /// <summary>Attempts per notification (the first and the retries); a failed one waits a little longer each time.</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 10)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Time one attempt may take.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);
}
