using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Unicode;
using MobiScud.Control.Model;

namespace MobiScud.Control;

/// <summary>
/// One line of text per event and per command: what `mobiscud replay` prints and the service's UE timeline shows.
/// The one formatter writes UTF-8 into a caller's buffer (<see cref="TryDescribe(UeEvent, Span{byte}, out int)"/>), so
/// a JSON writer takes the line with no string per entry; <see cref="Describe(UeEvent)"/> is that line as a string.
/// </summary>
public static class McText
{
    // Most lines fit (the longest in the bench captures is about 200 bytes); a longer one is retried in a pooled buffer.
    private const int StackBytes = 512;

    public static string Describe(UeEvent e)
    {
        Span<byte> line = stackalloc byte[StackBytes];
        return TryDescribe(e, line, out var written) ? Encoding.UTF8.GetString(line[..written]) : Pooled(e, null);
    }

    public static string Describe(ControlCommand c)
    {
        Span<byte> line = stackalloc byte[StackBytes];
        return TryDescribe(c, line, out var written) ? Encoding.UTF8.GetString(line[..written]) : Pooled(null, c);
    }

    /// <summary>
    /// Writes <see cref="Describe(UeEvent)"/>'s line as UTF-8 into <paramref name="destination"/>; false when it does not
    /// fit (what was written is then to be ignored: call again with a larger buffer).
    /// </summary>
    public static bool TryDescribe(UeEvent e, Span<byte> destination, out int bytesWritten)
    {
        var t = new Line(destination);
        int n;
        switch (e)
        {
            case UeAttached a:
                t.Text("attach imsi "u8);
                t.Text(a.Imsi ?? "?");
                t.Text(" ip "u8);
                t.Ip(a.UeAddress);
                t.Text(" at "u8);
                t.Enb(a.Enb);
                if (a.CellId is { } cell)
                {
                    t.Text(" cell 0x"u8);
                    t.Number(cell, "x7");
                }

                t.Text("; "u8);
                Bearers(ref t, a.Bearers);
                break;
            case BearerAdded b:
                t.Text("bearer added "u8);
                Bearer(ref t, b.Bearer);
                break;
            case BearerModified m:
                t.Text("bearer modified: e-RAB "u8);
                t.Number(m.Downlink.ERabId);
                t.Text(" DL "u8);
                t.Endpoint(m.Downlink.Downlink);
                break;
            case BearerReleased r:
                t.Text("bearer released: e-RAB "u8);
                t.Number(r.ERabId);
                break;
            case HandoverPrepared p:
                t.Text(HandoverNames.Name(p.Kind, p.Source));
                t.Text(" handover prepared "u8);
                t.Enb(p.Source);
                t.Text(" -> "u8);
                t.Enb(p.Target);
                break;
            case HandoverCompleted c:
                t.Text(HandoverNames.Name(HandoverKind.S1, c.Target));
                t.Text(" handover completed at "u8);
                t.Enb(c.Target);
                t.Text(": "u8);
                Downlinks(ref t, c.Downlinks);
                break;
            case HandoverExecuting x:
                t.Text("handover executing toward "u8);
                t.Enb(x.Target);
                break;
            case HandoverCancelled:
                t.Text("handover cancelled"u8);
                break;
            case PathSwitched p:
                t.Text(HandoverNames.Name(HandoverKind.X2, p.Target));
                t.Text(" path switch to "u8);
                t.Enb(p.Target);
                t.Text(": "u8);
                Downlinks(ref t, p.Downlinks);
                break;
            case UeReleasedToIdle:
                t.Text("released to idle"u8);
                break;
            case ServiceRequested s:
                t.Text("service request at "u8);
                t.Enb(s.Enb);
                t.Text("; "u8);
                Bearers(ref t, s.Bearers);
                break;
            case Detached:
                t.Text("detached"u8);
                break;
            case EnbIdentified i:
                t.Enb(i.Was);
                t.Text(" is "u8);
                t.Enb(i.Now);
                t.Add(Utf8.TryWrite(t.Rest, Inv, $" ({i.Reason})", out n), n);
                break;
            case PvmStarted s:
                t.Add(Utf8.TryWrite(t.Rest, Inv, $"{s.Pvm.Value} started at {s.Site.Value}", out n), n);
                break;
            case PvmFailed f:
                t.Add(Utf8.TryWrite(t.Rest, Inv, $"{f.Pvm.Value} failed at {f.Site.Value}: {f.Reason}", out n), n);
                break;
            case MigrationCompleted c:
                t.Text("migration "u8);
                t.Migration(c.Migration);
                t.Add(Utf8.TryWrite(t.Rest, Inv, $" completed in {c.Stats.TotalTime.TotalMilliseconds:0} ms", out n), n);
                break;
            case MigrationFailed f:
                t.Text("migration "u8);
                t.Migration(f.Migration);
                t.Add(Utf8.TryWrite(t.Rest, Inv, $" failed: {f.Reason}", out n), n);
                break;
            case SteeringFailed f:
                t.Add(Utf8.TryWrite(t.Rest, Inv, $"steering v{f.IntentVersion} failed at {f.SwitchSite.Value}: {f.Reason}", out n), n);
                break;
            case PvmObserved o:
                t.Add(Utf8.TryWrite(t.Rest, Inv, $"hypervisor holds {o.Pvm.Value} at {o.Site?.Value ?? "nowhere"}", out n), n);
                break;
            case PinRequested p:
                if (p.Site is { } site)
                {
                    t.Text("pinned to "u8);
                    t.Text(site.Value);
                }
                else
                {
                    t.Text("unpinned"u8);
                }

                break;
            case TimerFired f:
                t.Add(Utf8.TryWrite(t.Rest, Inv, $"timer {f.Kind} #{f.Token}", out n), n);
                break;
            default:
                t.Text(e.GetType().Name);
                break;
        }

        return t.Done(out bytesWritten);
    }

    /// <summary>
    /// Writes <see cref="Describe(ControlCommand)"/>'s line as UTF-8 into <paramref name="destination"/>; false when it
    /// does not fit (call again with a larger buffer).
    /// </summary>
    public static bool TryDescribe(ControlCommand c, Span<byte> destination, out int bytesWritten)
    {
        var t = new Line(destination);
        switch (c)
        {
            case CreatePvm p:
                PvmAt(ref t, "CreatePvm "u8, p.Pvm, p.Site);
                break;
            case ResumePvm p:
                PvmAt(ref t, "ResumePvm "u8, p.Pvm, p.Site);
                break;
            case SuspendPvm p:
                PvmAt(ref t, "SuspendPvm "u8, p.Pvm, p.Site);
                break;
            case DestroyPvm p:
                PvmAt(ref t, "DestroyPvm "u8, p.Pvm, p.Site);
                break;
            case StartMigration m:
                Migration(ref t, "StartMigration "u8, m.Migration, m.From, m.To);
                break;
            case CancelMigration m:
                Migration(ref t, "CancelMigration "u8, m.Migration, m.From, m.To);
                break;
            case InstallSteering s:
                var i = s.Intent;
                t.Text("InstallSteering v"u8);
                t.Number(i.Version);
                t.Text(" switch "u8);
                t.Text(i.SwitchSite.Value);
                t.Text(" pvm "u8);
                t.Text(i.PvmSite.Value);
                t.Text(" ue "u8);
                t.Ip(i.UeAddress);
                t.Text(" via "u8);
                t.Enb(i.Enb);
                t.Text(": "u8);
                for (var b = 0; b < i.Bearers.Count; b++)
                {
                    if (b > 0)
                    {
                        t.Text(", "u8);
                    }

                    t.Number(i.Bearers[b].ERabId);
                    t.Text(" DL "u8);
                    t.Endpoint(i.Bearers[b].Downlink);
                }

                break;
            case RemoveSteering r:
                t.Text("RemoveSteering at "u8);
                t.Text(r.SwitchSite.Value);
                break;
            case ScheduleTimer s:
                t.Text("ScheduleTimer "u8);
                t.Name(s.Kind);
                t.Text(" in "u8);
                t.Number(s.Due);
                break;
            case Notify o:
                t.Text("Notify "u8);
                t.Name(o.Kind);
                t.Text(": "u8);
                t.Text(o.Detail);
                break;
            default:
                t.Text(c.GetType().Name);
                break;
        }

        return t.Done(out bytesWritten);
    }

    // The culture a string interpolation used (the process runs with invariant globalization).
    private static CultureInfo Inv => CultureInfo.InvariantCulture;

    /// <summary>The line that did not fit on the stack, in ever larger pooled buffers (a long Notify detail).</summary>
    private static string Pooled(UeEvent? e, ControlCommand? c)
    {
        for (var size = StackBytes * 8; ; size *= 8)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(size);
            try
            {
                if (e is not null ? TryDescribe(e, buffer, out var written) : TryDescribe(c!, buffer, out written))
                {
                    return Encoding.UTF8.GetString(buffer, 0, written);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            if (size > Array.MaxLength / 8)
            {
                throw new InvalidOperationException($"McText: the description of {(object?)e ?? c} does not fit in {size} bytes");
            }
        }
    }

    private static void PvmAt(ref Line t, ReadOnlySpan<byte> verb, PvmId pvm, SiteId site)
    {
        t.Text(verb);
        t.Text(pvm.Value);
        t.Text(" at "u8);
        t.Text(site.Value);
    }

    private static void Migration(ref Line t, ReadOnlySpan<byte> verb, MigrationId migration, SiteId from, SiteId to)
    {
        t.Text(verb);
        t.Migration(migration);
        t.Text(" "u8);
        t.Text(from.Value);
        t.Text(" -> "u8);
        t.Text(to.Value);
    }

    private static void Bearers(ref Line t, IReadOnlyList<Bearer> bearers)
    {
        for (var i = 0; i < bearers.Count; i++)
        {
            if (i > 0)
            {
                t.Text("; "u8);
            }

            Bearer(ref t, bearers[i]);
        }
    }

    private static void Bearer(ref Line t, Bearer b)
    {
        t.Text("e-RAB "u8);
        t.Number(b.ERabId);
        t.Text(" UL "u8);
        t.Endpoint(b.Uplink);
        t.Text(" DL "u8);
        t.Endpoint(b.Downlink);
    }

    private static void Downlinks(ref Line t, IReadOnlyList<BearerDownlink> downlinks)
    {
        for (var i = 0; i < downlinks.Count; i++)
        {
            if (i > 0)
            {
                t.Text("; "u8);
            }

            t.Text("e-RAB "u8);
            t.Number(downlinks[i].ERabId);
            t.Text(" DL "u8);
            t.Endpoint(downlinks[i].Downlink);
        }
    }

    /// <summary>A UTF-8 line being written into a fixed buffer; once a piece does not fit, the line is failed.</summary>
    private ref struct Line(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;
        private int _length;
        private bool _full;

        /// <summary>What is left of the buffer (empty once full, so every later write fails too).</summary>
        public readonly Span<byte> Rest => _full ? default : _buffer[_length..];

        public void Add(bool fitted, int written)
        {
            if (fitted)
            {
                _length += written;
            }
            else
            {
                _full = true;
            }
        }

        public void Text(ReadOnlySpan<byte> utf8) => Add(utf8.TryCopyTo(Rest), utf8.Length);

        public void Text(string? text)
        {
            var status = Utf8.FromUtf16(text, Rest, out _, out var written);
            Add(status == OperationStatus.Done, written);
        }

        /// <summary>As <see cref="EnbId.ToString()"/> ("enb-N", "gnb-N"), without its UTF-16 text.</summary>
        public void Enb(EnbId enb)
        {
            Text(enb.IsGnb ? "gnb-"u8 : "enb-"u8);
            Number(enb.Value);
        }

        /// <summary>
        /// An address as interpolation writes it (nothing for null), formatted straight to UTF-8: most addresses of a
        /// replay are objects of their own, decoded from their message, whose first ToString would allocate a string
        /// (a new line of memory) to be read once or twice.
        /// </summary>
        public void Ip(IPAddress? address)
        {
            if (address is not null)
            {
                Add(address.TryFormat(Rest, out var written), written);
            }
        }

        /// <summary>As <see cref="GtpEndpoint.ToString()"/> ("address/0xTEID").</summary>
        public void Endpoint(GtpEndpoint e)
        {
            Ip(e.Address);
            Text("/0x"u8);
            Number(e.Teid, "x8");
        }

        /// <summary>
        /// A number (or time span) as interpolation formats it, called directly: an interpolation hole boxes a value
        /// type in code the JIT has not optimised yet.
        /// </summary>
        public void Number<T>(T value, ReadOnlySpan<char> format = default)
            where T : IUtf8SpanFormattable => Add(value.TryFormat(Rest, out var written, format, CultureInfo.InvariantCulture), written);

        /// <summary>An enum value as interpolation writes it: its name (cached, no box), else its number.</summary>
        public void Name<T>(T value)
            where T : struct, Enum => Text(Enum.GetName(value) ?? value.ToString());

        /// <summary>As <see cref="MigrationId.ToString()"/> ("ue#sequence").</summary>
        public void Migration(MigrationId m)
        {
            Text(m.Ue.Value);
            Text("#"u8);
            Number(m.Sequence);
        }

        public readonly bool Done(out int written)
        {
            written = _full ? 0 : _length;
            return !_full;
        }
    }
}
