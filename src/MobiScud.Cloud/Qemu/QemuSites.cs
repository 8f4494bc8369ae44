using System.Net;
using System.Net.Sockets;
using MobiScud.Control.Model;

namespace MobiScud.Cloud.Qemu;

/// <summary>
/// The registered sites and the blocks of loopback ports their QEMU instances hold, plus the generation counter that
/// names instance directories. Thread-safe (its own lock; never held while the <see cref="PvmTable"/>'s gate is
/// taken, so the order is always table, then sites).
/// </summary>
internal sealed class QemuSites
{
    private readonly Lock _gate = new();
    private readonly Dictionary<SiteId, SiteState> _sites = [];
    private int _generation;

    /// <summary>Registers <paramref name="site"/> (its directory already made absolute and created).</summary>
    public void Add(QemuSite site)
    {
        lock (_gate)
        {
            // New instance directories must not reuse the names of ones a previous run left (adoptable or not).
            foreach (var d in Directory.EnumerateDirectories(site.Directory))
            {
                var dot = d.LastIndexOf('.');
                if (dot > 0 && int.TryParse(d.AsSpan(dot + 1), out var g) && g > _generation)
                {
                    _generation = g;
                }
            }

            if (!_sites.TryAdd(site.Id, new SiteState(site)))
            {
                throw new ArgumentException($"site {site.Id} is already registered", nameof(site));
            }
        }
    }

    public bool Contains(SiteId site)
    {
        lock (_gate)
        {
            return _sites.ContainsKey(site);
        }
    }

    public IReadOnlyList<QemuSite> All()
    {
        lock (_gate)
        {
            return [.. _sites.Values.Select(s => s.Site)];
        }
    }

    /// <summary>A block of ports and a directory name no other instance uses, for a new instance of <paramref name="pvm"/>.</summary>
    public (QemuSite Site, QemuPorts Ports, string Directory) Reserve(SiteId siteId, PvmId pvm)
    {
        lock (_gate)
        {
            var site = _sites[siteId];
            var first = site.Allocate();
            return (site.Site, QemuPorts.From(first), Path.Combine(site.Site.Directory, $"{pvm.Value}.{++_generation}"));
        }
    }

    /// <summary>Gives back an instance's port block.</summary>
    public void Free(SiteId siteId, QemuPorts ports)
    {
        lock (_gate)
        {
            if (_sites.TryGetValue(siteId, out var s))
            {
                s.Free(ports.Echo);
            }
        }
    }

    /// <summary>An adopted instance's ports; false when its site is not registered.</summary>
    public bool MarkUsed(SiteId siteId, QemuPorts ports)
    {
        lock (_gate)
        {
            if (!_sites.TryGetValue(siteId, out var s))
            {
                return false;
            }

            s.MarkUsed(ports.Echo);
            return true;
        }
    }

    private sealed class SiteState(QemuSite site)
    {
        private readonly HashSet<int> _used = [];

        public QemuSite Site { get; } = site;

        /// <summary>First port of a free block of <see cref="QemuPorts.Count"/>, skipping ports something else holds.</summary>
        public int Allocate()
        {
            for (var p = Site.FirstPort; p + QemuPorts.Count <= Site.FirstPort + Site.PortCount; p += QemuPorts.Count)
            {
                if (!_used.Contains(p) && Enumerable.Range(p, QemuPorts.Count).All(IsFree))
                {
                    _used.Add(p);
                    return p;
                }
            }

            throw new InvalidOperationException($"site {Site.Id}: no free ports left in {Site.FirstPort}..{Site.FirstPort + Site.PortCount - 1}");
        }

        public void Free(int first) => _used.Remove(first);

        /// <summary>An adopted instance's ports (a block outside this site's range, after a change of configuration, is simply not tracked).</summary>
        public void MarkUsed(int first) => _used.Add(first);

        private static bool IsFree(int port)
        {
            try
            {
                using var l = new TcpListener(IPAddress.Loopback, port);
                l.Start();
                l.Stop();
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }
    }
}
