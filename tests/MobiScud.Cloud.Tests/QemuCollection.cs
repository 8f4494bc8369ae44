using MobiScud.Cloud.Qemu;
using MobiScud.TestSupport;

namespace MobiScud.Cloud.Tests;

/// <summary>All QEMU tests share one collection: they run one after another (2 shared cores) and build the guest once.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class QemuCollection : ICollectionFixture<GuestFixture>
{
    public const string Name = "qemu";
}

/// <summary>Builds (or finds in the cache) the guest image once per test run. Missing tools fail, never skip.</summary>
public sealed class GuestFixture : IAsyncLifetime
{
    private GuestImage? _image;
    private Exception? _failure;

    public string Qemu { get; private set; } = "";

    public GuestImage Image => _image ?? throw new InvalidOperationException("guest image could not be built", _failure);

    public async Task InitializeAsync()
    {
        try
        {
            Qemu = ExternalTool.Require("qemu-system-x86_64", "qemu-system-x86");
            ExternalTool.Require("busybox", "busybox-static");
            ExternalTool.Require("apt-get", "apt");
            ExternalTool.Require("dpkg-deb", "dpkg");
            _image = await GuestImageBuilder.EnsureAsync();
        }
        catch (Exception e)
        {
            // Reported by each test that needs the image, so the failure names the missing piece.
            _failure = e;
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;
}
