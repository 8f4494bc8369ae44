using System.Net;
using System.Text;
using MobiScud.Control;
using MobiScud.Control.Model;

namespace MobiScud.Control.Tests;

/// <summary>
/// McText's lines, written by hand from the formats replay has printed (tests/scripts/replay-diff.sh holds whole
/// captures to main's output): the string and the UTF-8 form are one formatter, a buffer too small is refused, never
/// cut, and a line longer than the stack buffer still comes out whole.
/// </summary>
public sealed class McTextTests
{
    private static readonly UeId _ue = new("imsi-001010000000001");
    private static readonly GtpEndpoint _ul = new(IPAddress.Parse("192.168.0.6"), 1);
    private static readonly GtpEndpoint _dl = new(IPAddress.Parse("2001:db8::5"), 0xdeadbeef);
    private static readonly TimeSpan _at = TimeSpan.FromSeconds(3);
    private static readonly MigrationId _migration = new(_ue, 2);

    public static TheoryData<object, string> Lines() => new()
    {
        { new UeAttached(_at, _ue, "001010000000001", IPAddress.Parse("45.45.0.2"), new EnbId(348004), 0x1079baf, [new(5, _ul, _dl), new(6, _dl, _ul)]), "attach imsi 001010000000001 ip 45.45.0.2 at enb-348004 cell 0x1079baf; e-RAB 5 UL 192.168.0.6/0x00000001 DL 2001:db8::5/0xdeadbeef; e-RAB 6 UL 2001:db8::5/0xdeadbeef DL 192.168.0.6/0x00000001" },
        { new UeAttached(_at, _ue, null, IPAddress.Parse("45.45.0.2"), new EnbId(7, Rat.Nr), 0xA, []), "attach imsi ? ip 45.45.0.2 at gnb-7 cell 0x000000a; " },
        { new UeAttached(_at, _ue, "1", IPAddress.IPv6Loopback, new EnbId(0), null, []), "attach imsi 1 ip ::1 at enb-0; " },
        { new BearerAdded(_at, _ue, new(5, _ul, _dl)), "bearer added e-RAB 5 UL 192.168.0.6/0x00000001 DL 2001:db8::5/0xdeadbeef" },
        { new BearerModified(_at, _ue, new(255, _dl)), "bearer modified: e-RAB 255 DL 2001:db8::5/0xdeadbeef" },
        { new BearerReleased(_at, _ue, 5), "bearer released: e-RAB 5" },
        { new HandoverPrepared(_at, _ue, new EnbId(1), new EnbId(uint.MaxValue), HandoverKind.S1), "S1 handover prepared enb-1 -> enb-4294967295" },
        { new HandoverPrepared(_at, _ue, new EnbId(1, Rat.Nr), new EnbId(2, Rat.Nr), HandoverKind.X2), "Xn handover prepared gnb-1 -> gnb-2" },
        { new HandoverCompleted(_at, _ue, new EnbId(9, Rat.Nr), [new(5, _dl), new(6, _ul)]), "N2 handover completed at gnb-9: e-RAB 5 DL 2001:db8::5/0xdeadbeef; e-RAB 6 DL 192.168.0.6/0x00000001" },
        { new HandoverExecuting(_at, _ue, new EnbId(67)), "handover executing toward enb-67" },
        { new HandoverCancelled(_at, _ue), "handover cancelled" },
        { new PathSwitched(_at, _ue, new EnbId(348005), [new(5, _dl)]), "X2 path switch to enb-348005: e-RAB 5 DL 2001:db8::5/0xdeadbeef" },
        { new PathSwitched(_at, _ue, new EnbId(3, Rat.Nr), []), "Xn path switch to gnb-3: " },
        { new UeReleasedToIdle(_at, _ue), "released to idle" },
        { new ServiceRequested(_at, _ue, new EnbId(4), [new(5, _ul, _dl)]), "service request at enb-4; e-RAB 5 UL 192.168.0.6/0x00000001 DL 2001:db8::5/0xdeadbeef" },
        { new Detached(_at, _ue), "detached" },
        { new EnbIdentified(_at, _ue, new EnbId(5), new EnbId(1410), "S1 Setup"), "enb-5 is enb-1410 (S1 Setup)" },
        { new PvmStarted(_at, _ue, PvmId.For(_ue), new SiteId("site-a"), null), "pvm-imsi-001010000000001 started at site-a" },
        { new PvmFailed(_at, _ue, PvmId.For(_ue), new SiteId("site-a"), "no memory"), "pvm-imsi-001010000000001 failed at site-a: no memory" },
        { new MigrationCompleted(_at, _migration, new MigrationStats(TimeSpan.FromMilliseconds(1234.5), TimeSpan.Zero, 0, 1)), "migration imsi-001010000000001#2 completed in 1235 ms" },
        { new MigrationFailed(_at, _migration, "lost"), "migration imsi-001010000000001#2 failed: lost" },
        { new SteeringFailed(_at, _ue, new SiteId("site-b"), "switch down", 4), "steering v4 failed at site-b: switch down" },
        { new PvmObserved(_at, _ue, PvmId.For(_ue), null, false, null), "hypervisor holds pvm-imsi-001010000000001 at nowhere" },
        { new PvmObserved(_at, _ue, PvmId.For(_ue), new SiteId("site-c"), true, null), "hypervisor holds pvm-imsi-001010000000001 at site-c" },
        { new PinRequested(_at, _ue, new SiteId("site-c")), "pinned to site-c" },
        { new PinRequested(_at, _ue, null), "unpinned" },
        { new TimerFired(_at, _ue, TimerKind.IdleSuspend, -3), "timer IdleSuspend #-3" },
        { new ReconcileRequested(_at, _ue), "ReconcileRequested" },
        { new CreatePvm(_ue, PvmId.For(_ue), new SiteId("site-a")), "CreatePvm pvm-imsi-001010000000001 at site-a" },
        { new ResumePvm(_ue, PvmId.For(_ue), new SiteId("site-a")), "ResumePvm pvm-imsi-001010000000001 at site-a" },
        { new SuspendPvm(_ue, PvmId.For(_ue), new SiteId("site-a")), "SuspendPvm pvm-imsi-001010000000001 at site-a" },
        { new DestroyPvm(_ue, PvmId.For(_ue), new SiteId("site-a")), "DestroyPvm pvm-imsi-001010000000001 at site-a" },
        { new StartMigration(_ue, _migration, PvmId.For(_ue), new SiteId("a"), new SiteId("b"), MigrationReason.Prepared), "StartMigration imsi-001010000000001#2 a -> b" },
        { new CancelMigration(_ue, _migration, PvmId.For(_ue), new SiteId("a"), new SiteId("b")), "CancelMigration imsi-001010000000001#2 a -> b" },
        { new InstallSteering(_ue, new SteeringIntent(_ue, IPAddress.Parse("45.45.0.2"), new EnbId(9), [new(5, _ul, _dl), new(6, _ul, _ul)], new SiteId("sw"), new SiteId("pv"), null, 3)), "InstallSteering v3 switch sw pvm pv ue 45.45.0.2 via enb-9: 5 DL 2001:db8::5/0xdeadbeef, 6 DL 192.168.0.6/0x00000001" },
        { new InstallSteering(_ue, new SteeringIntent(_ue, IPAddress.Parse("45.45.0.2"), new EnbId(9, Rat.Nr), [], new SiteId("sw"), new SiteId("pv"), null, 0)), "InstallSteering v0 switch sw pvm pv ue 45.45.0.2 via gnb-9: " },
        { new RemoveSteering(_ue, new SiteId("site-enb-1")), "RemoveSteering at site-enb-1" },
        { new ScheduleTimer(_ue, new TimeSpan(1, 2, 3, 4, 5), TimerKind.IdleSuspend, 1), "ScheduleTimer IdleSuspend in 1.02:03:04.0050000" },
        { new Notify(_ue, _at, NotificationKind.PvmCreated, "at site-é <&>"), "Notify PvmCreated: at site-é <&>" },
        { new Notify(_ue, _at, (NotificationKind)99, "x"), "Notify 99: x" },
    };

    [Theory]
    [MemberData(nameof(Lines))]
    public void Each_event_and_command_has_its_line_as_text_and_as_utf8(object value, string line)
    {
        Assert.Equal(line, Describe(value));
        var utf8 = new byte[1024];
        Assert.True(TryDescribe(value, utf8, out var written));
        Assert.Equal(line, Encoding.UTF8.GetString(utf8, 0, written));
    }

    [Theory]
    [MemberData(nameof(Lines))]
    public void A_buffer_one_byte_short_is_refused_and_the_exact_size_fits(object value, string line)
    {
        var size = Encoding.UTF8.GetByteCount(line);
        for (var shorter = 0; shorter < size; shorter++)
        {
            Assert.False(TryDescribe(value, new byte[shorter], out var none), $"{shorter} of {size} bytes");
            Assert.Equal(0, none);
        }

        var exact = new byte[size];
        Assert.True(TryDescribe(value, exact, out var written));
        Assert.Equal(size, written);
        Assert.Equal(line, Encoding.UTF8.GetString(exact));
    }

    [Fact]
    public void A_line_longer_than_the_stack_buffer_comes_out_whole()
    {
        var detail = string.Concat(Enumerable.Repeat("é-détail ", 3_000));
        var notify = new Notify(_ue, _at, NotificationKind.PvmCreated, detail);
        Assert.Equal("Notify PvmCreated: " + detail, McText.Describe(notify));

        var bearers = Enumerable.Range(1, 200).Select(i => new Bearer((byte)i, _ul, _dl)).ToList();
        var attached = McText.Describe(new ServiceRequested(_at, _ue, new EnbId(4), bearers));
        Assert.StartsWith("service request at enb-4; e-RAB 1 UL 192.168.0.6/0x00000001 DL 2001:db8::5/0xdeadbeef; e-RAB 2 ", attached, StringComparison.Ordinal);
        Assert.EndsWith("; e-RAB 200 UL 192.168.0.6/0x00000001 DL 2001:db8::5/0xdeadbeef", attached, StringComparison.Ordinal);
    }

    /// <summary>The UTF-8 form is what `replay --json` writes per entry: the common lines allocate nothing.</summary>
    [Fact]
    public void Writing_the_common_lines_as_utf8_allocates_nothing()
    {
        object[] common =
        [
            new UeAttached(_at, _ue, "001010000000001", IPAddress.Parse("45.45.0.2"), new EnbId(348004), 0x1079baf, [new(5, _ul, _dl)]),
            new Detached(_at, _ue),
            new BearerAdded(_at, _ue, new(5, _ul, _dl)),
            new BearerModified(_at, _ue, new(5, _dl)),
            new BearerReleased(_at, _ue, 5),
            new HandoverExecuting(_at, _ue, new EnbId(67)),
            new ServiceRequested(_at, _ue, new EnbId(4), []),
            new UeAttached(_at, _ue, "001010000000001", IPAddress.Parse("45.45.0.2"), new EnbId(348004), null, []),
            new Notify(_ue, _at, NotificationKind.PvmCreated, "at site-enb-348004"),
            new InstallSteering(_ue, new SteeringIntent(_ue, IPAddress.Parse("45.45.0.2"), new EnbId(9), [new(5, _ul, _dl)], new SiteId("sw"), new SiteId("pv"), null, 3)),
            new RemoveSteering(_ue, new SiteId("site-enb-1")),
            new SuspendPvm(_ue, PvmId.For(_ue), new SiteId("site-a")),
        ];
        var buffer = new byte[512];
        var allocated = new List<string>();
        foreach (var value in common)
        {
            // The first call pays for static set-up; the second is what every later entry costs.
            Assert.True(TryDescribe(value, buffer, out _));
            var before = GC.GetAllocatedBytesForCurrentThread();
            Assert.True(TryDescribe(value, buffer, out _));
            var bytes = GC.GetAllocatedBytesForCurrentThread() - before;
            if (bytes != 0)
            {
                allocated.Add($"{value.GetType().Name}: {bytes} B");
            }
        }

        Assert.Empty(allocated);
    }

    /// <summary>
    /// A replay's addresses are mostly objects of their own (decoded from their message) written once or twice: the
    /// line formats each straight to UTF-8, with no string allocated, not even on an address's first use.
    /// </summary>
    [Fact]
    public void Addresses_never_formatted_before_are_written_without_allocating()
    {
        static UeAttached Attach() => new(_at, _ue, "1", IPAddress.Parse("45.45.0.2"), new EnbId(4), null,
            [new(5, new GtpEndpoint(IPAddress.Parse("10.0.0.2"), 1), new GtpEndpoint(IPAddress.Parse("2001:db8::5"), 2))]);
        var buffer = new byte[512];
        Assert.True(McText.TryDescribe(Attach(), buffer, out _));
        var fresh = Attach();
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.True(McText.TryDescribe(fresh, buffer, out var written));
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal("attach imsi 1 ip 45.45.0.2 at enb-4; e-RAB 5 UL 10.0.0.2/0x00000001 DL 2001:db8::5/0x00000002", Encoding.UTF8.GetString(buffer, 0, written));
    }

    private static string Describe(object value) => value is UeEvent e ? McText.Describe(e) : McText.Describe((ControlCommand)value);

    private static bool TryDescribe(object value, Span<byte> destination, out int written) =>
        value is UeEvent e ? McText.TryDescribe(e, destination, out written) : McText.TryDescribe((ControlCommand)value, destination, out written);
}
