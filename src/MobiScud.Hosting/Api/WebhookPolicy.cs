using System.Net;
using System.Net.Sockets;
using MobiScud.Hosting.Config;

namespace MobiScud.Hosting.Api;

/// <summary>
/// Decides whether a subscription callback may be stored and, at every connection, whether the address its host
/// resolves to may be reached (checked again when connecting, so a DNS answer changed after the POST cannot point a
/// webhook at a metadata service).
/// </summary>
internal sealed class WebhookPolicy
{
    private readonly List<(IPAddress Prefix, int Bits)> _networks = [];
    private readonly HashSet<string> _hosts = new(StringComparer.OrdinalIgnoreCase);

    public WebhookPolicy(WebhookOptions options)
    {
        Options = options;
        foreach (var entry in options.Allowed)
        {
            if (TryParseNetwork(entry, out var prefix, out var bits))
            {
                _networks.Add((prefix, bits));
            }
            else
            {
                _hosts.Add(entry.Trim());
            }
        }
    }

    public WebhookOptions Options { get; }

    /// <summary>Why the callback cannot be stored, or null.</summary>
    public string? Problem(string? callback)
    {
        if (!Uri.TryCreate(callback, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return "must be an absolute http(s) URI";
        }

        if (uri.UserInfo.Length > 0)
        {
            // It would be stored, returned by GET and logged: credentials belong in a header, not in the URI.
            return "must not carry credentials (user:password@)";
        }

        var host = uri.IdnHost.Trim('[', ']');
        if (IPAddress.TryParse(host, out var address))
        {
            return AddressProblem(address);
        }

        if (_hosts.Count + _networks.Count > 0 && !_hosts.Contains(host))
        {
            return $"host {host} is not in MobiScud:Api:Webhooks:Allowed";
        }

        // "localhost" and friends are loopback by name; other names are checked against what they resolve to when connecting.
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
            ? AddressProblem(IPAddress.Loopback)
            : null;
    }

    /// <summary>Why a webhook may not connect to this address, or null.</summary>
    public string? AddressProblem(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        var listed = _networks.Any(n => InNetwork(address, n.Prefix, n.Bits));
        if (listed)
        {
            return null;
        }

        if (IPAddress.IsLoopback(address))
        {
            return $"address {address} is loopback (allow it explicitly in MobiScud:Api:Webhooks:Allowed)";
        }

        if (IsLinkLocal(address))
        {
            return $"address {address} is link-local, where cloud metadata services answer (allow it explicitly in MobiScud:Api:Webhooks:Allowed)";
        }

        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || IsMulticast(address) || address.Equals(IPAddress.Broadcast))
        {
            return $"address {address} cannot receive a webhook";
        }

        return _networks.Count + _hosts.Count > 0 ? $"address {address} is not in MobiScud:Api:Webhooks:Allowed" : null;
    }

    /// <summary>Whether a name that the allow-list names explicitly may connect to any of its addresses but those refused above.</summary>
    public bool HostListed(string host) => _hosts.Contains(host);

    private static bool IsLinkLocal(IPAddress a) => a.AddressFamily == AddressFamily.InterNetwork
        ? a.GetAddressBytes() is [169, 254, ..]
        : a.IsIPv6LinkLocal || a.IsIPv6SiteLocal || a.Equals(IPAddress.Parse("fd00:ec2::254"));

    private static bool IsMulticast(IPAddress a) => a.AddressFamily == AddressFamily.InterNetwork ? a.GetAddressBytes()[0] is >= 224 and <= 239 : a.IsIPv6Multicast;

    private static bool TryParseNetwork(string entry, out IPAddress prefix, out int bits)
    {
        var parts = entry.Trim().Split('/');
        bits = 0;
        if (!IPAddress.TryParse(parts[0], out prefix!))
        {
            return false;
        }

        var max = prefix.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        bits = max;
        return parts.Length == 1 || (parts.Length == 2 && int.TryParse(parts[1], out bits) && bits >= 0 && bits <= max);
    }

    private static bool InNetwork(IPAddress a, IPAddress prefix, int bits)
    {
        if (a.AddressFamily != prefix.AddressFamily)
        {
            return false;
        }

        var x = a.GetAddressBytes();
        var y = prefix.GetAddressBytes();
        for (var i = 0; i < x.Length && bits > 0; i++, bits -= 8)
        {
            var mask = bits >= 8 ? 0xFF : (byte)(0xFF << (8 - bits));
            if ((x[i] & mask) != (y[i] & mask))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The HTTP handler webhooks go out through: no redirects (a 3xx is the subscriber's answer, not a new target), no
    /// proxy, and a connect step that refuses addresses the policy refuses whatever DNS says.
    /// </summary>
    public SocketsHttpHandler Handler() => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        ConnectCallback = async (context, ct) =>
        {
            var host = context.DnsEndPoint.Host;
            var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
            string? problem = null;
            foreach (var address in addresses)
            {
                problem = AddressProblem(address);
                if (problem is not null && !(HostListed(host) && !IPAddress.IsLoopback(address) && !IsLinkLocal(address)))
                {
                    continue;
                }

                var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            }

            throw new HttpRequestException($"webhook to {host} refused: {problem ?? "no address"}");
        },
    };
}
