using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MobiScud.Capture;
using MobiScud.Capture.Decode;

namespace MobiScud.Cli;

/// <summary>
/// `mobiscud decode FILE...`: one row per signalling message, through the same capture pipeline as `replay` (what
/// `tshark -T fields` gives, limited to the fields the MC reads).
/// </summary>
internal static class DecodeCommand
{
    /// <summary>Every field a row has, in the default order: name and how it prints (null = empty).</summary>
    internal static readonly IReadOnlyList<(string Name, Func<MessageRow, object?> Value)> Fields =
    [
        ("frame", r => r.Frame),
        ("time", r => decimal.Parse(r.Time, CultureInfo.InvariantCulture)),
        ("protocol", r => r.Protocol),
        ("src", r => r.Source.Address.ToString()),
        ("srcPort", r => r.Source.Port),
        ("dst", r => r.Destination.Address.ToString()),
        ("dstPort", r => r.Destination.Port),
        ("procedureCode", r => r.ProcedureCode),
        ("messageType", r => Camel(r.MessageType.ToString())),
        ("message", r => r.Message),
        ("mmeUeS1apId", r => r.MmeUeS1apId),
        ("enbUeS1apId", r => r.EnbUeS1apId),
        ("otherMmeUeS1apIds", r => r.OtherMmeUeS1apIds),
        ("otherEnbUeS1apIds", r => r.OtherEnbUeS1apIds),
        ("eRabIds", r => r.ERabIds),
        ("teids", r => r.Teids),
        ("transportAddresses", r => r.TransportAddresses),
        ("globalEnbId", r => r.GlobalEnbId),
        ("ecgi", r => r.Ecgi),
        ("targetId", r => r.TargetId),
        ("cause", r => r.Cause),
        ("nas", r => r.Nas),
        ("nasTypes", r => r.NasTypes),
        ("imsi", r => r.Imsi),
        ("guti", r => r.Guti),
        ("sTmsi", r => r.STmsi),
        ("ueIp", r => r.UeIp),

        // NGAP rows (S1AP rows leave these empty, and NGAP rows the S1AP ids, E-RABs and Global eNB id).
        ("amfUeNgapId", r => r.AmfUeNgapId),
        ("ranUeNgapId", r => r.RanUeNgapId),
        ("otherAmfUeNgapIds", r => r.OtherAmfUeNgapIds),
        ("otherRanUeNgapIds", r => r.OtherRanUeNgapIds),
        ("pduSessionIds", r => r.PduSessionIds),
        ("globalRanNodeId", r => r.GlobalRanNodeId),
        ("nrCgi", r => r.NrCgi),
    ];

    public static Command Create()
    {
        var files = new Argument<string[]>("files") { Description = "pcap or pcapng capture(s)", Arity = ArgumentArity.OneOrMore };
        var json = new Option<bool>("--json") { Description = "One JSON object per message and line" };
        var fields = new Option<string?>("--fields") { Description = "Comma-separated fields to print, tab-separated (see the list in docs); default: all" };
        var header = new Option<bool>("--header") { Description = "With --fields: print the field names first" };
        var sctpUdpPort = new Option<ushort>("--sctp-udp-port") { Description = "UDP port of UDP-encapsulated SCTP (RFC 6951)", DefaultValueFactory = _ => 9899 };
        var command = new Command("decode", "One row per S1AP or NGAP message of the captures: ids, E-RABs / PDU sessions, TEIDs, addresses, eNB / gNB ids, cells, NAS identities");
        command.Arguments.Add(files);
        foreach (var o in new Option[] { json, fields, header, sctpUdpPort })
        {
            command.Options.Add(o);
        }

        command.SetAction((parse, cancellation) =>
        {
            var selected = Fields.Select(f => f.Name).ToList();
            if (parse.GetValue(fields) is { } list)
            {
                selected = [.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
                var unknown = selected.Where(s => Fields.All(f => f.Name != s)).ToList();
                if (unknown.Count > 0 || selected.Count == 0)
                {
                    Console.Error.WriteLine($"--fields: unknown field(s) {string.Join(", ", unknown)}; known: {string.Join(", ", Fields.Select(f => f.Name))}");
                    return Task.FromResult(2);
                }
            }

            var format = parse.GetValue(json) ? Format.Json : parse.GetValue(fields) is not null ? Format.Fields : Format.Text;
            var options = PipelineOptions.Default with { SctpOverUdpPort = parse.GetValue(sctpUdpPort) };
            using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false };
            var code = Run(parse.GetValue(files)!, options, format, selected, parse.GetValue(header), stdout, Console.Error, cancellation);
            stdout.Flush();
            return Task.FromResult(code);
        });
        return command;
    }

    internal enum Format
    {
        Text,
        Fields,
        Json,
    }

    /// <summary>Decodes the files in order and writes one row per message; exit 3 if a file cannot be read.</summary>
    internal static int Run(
        IReadOnlyList<string> files, PipelineOptions options, Format format, IReadOnlyList<string> fields, bool header,
        TextWriter output, TextWriter errors, CancellationToken cancellation = default)
    {
        var columns = fields.Select(n => Fields.First(f => f.Name == n)).ToList();
        if (format == Format.Fields && header)
        {
            output.WriteLine(string.Join('\t', fields));
        }

        var json = format == Format.Json ? new Utf8JsonWriter(Stream.Null) : null;
        var buffer = format == Format.Json ? new MemoryStream() : null;

        // The command's own stdout writer: rows go to its stream as UTF-8, with no string per row.
        BufferedStream? direct = null;
        if (json is not null && output is StreamWriter { BaseStream: { } stream } writer)
        {
            writer.Flush();
            direct = new BufferedStream(stream, 1 << 16);
            json.Reset(direct);
        }

        void Write(MessageRow row)
        {
            switch (format)
            {
                case Format.Json when direct is not null:
                    WriteJson(json!, row, columns);
                    json!.Flush();
                    json.Reset();
                    direct.WriteByte((byte)'\n');
                    break;
                case Format.Json:
                    buffer!.SetLength(0);
                    json!.Reset(buffer);
                    WriteJson(json, row, columns);
                    json.Flush();
                    output.WriteLine(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
                    break;
                case Format.Fields:
                    output.WriteLine(string.Join('\t', columns.Select(c => Text(c.Value(row)))));
                    break;
                default:
                    output.WriteLine(Line(row));
                    break;
            }
        }

        var status = 0;
        foreach (var file in files)
        {
            var pipeline = new SignallingPipeline(new MessageRowReader(Write), options);
            try
            {
                using var source = CaptureFile.Open(file);
                pipeline.Run(source, cancellation);
            }
            catch (Exception e) when (e is CaptureFormatException or IOException or UnauthorizedAccessException)
            {
                errors.WriteLine(e.Message);
                status = 3;
            }

            var dropped = pipeline.Statistics.Undecodable;
            if (dropped > 0)
            {
                errors.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{file}: {dropped} packet(s) or message(s) could not be decoded: ") +
                    string.Join(", ", pipeline.Statistics.Dropped.Where(d => d.Key.Layer != DropLayer.Ignored).Select(d => $"{d.Key} x{d.Value}")));
            }
        }

        json?.Dispose();
        direct?.Flush();
        return status;
    }

    private static string Line(MessageRow r)
    {
        var b = new StringBuilder(160);
        b.Append(CultureInfo.InvariantCulture, $"{r.Frame,6} {r.Time} {r.Source} -> {r.Destination} {r.Message}");
        if (r.MmeUeS1apId is { } m)
        {
            b.Append(CultureInfo.InvariantCulture, $" mme={m}");
        }

        if (r.EnbUeS1apId is { } e)
        {
            b.Append(CultureInfo.InvariantCulture, $" enb={e}");
        }

        if (r.AmfUeNgapId is { } amf)
        {
            b.Append(CultureInfo.InvariantCulture, $" amf={amf}");
        }

        if (r.RanUeNgapId is { } ran)
        {
            b.Append(CultureInfo.InvariantCulture, $" ran={ran}");
        }

        for (var i = 0; i < r.Teids.Count; i++)
        {
            b.Append(i == 0 ? " teids=" : ",").Append(CultureInfo.InvariantCulture, $"0x{r.Teids[i]:x8}");
        }

        Optional(b, " e-rabs=", r.ERabIds.Count == 0 ? null : string.Join(',', r.ERabIds));
        Optional(b, " addrs=", r.TransportAddresses.Count == 0 ? null : string.Join(',', r.TransportAddresses));
        Optional(b, " pdu-sessions=", r.PduSessionIds.Count == 0 ? null : string.Join(',', r.PduSessionIds));
        Optional(b, " enb-id=", r.GlobalEnbId);
        Optional(b, " ran-node=", r.GlobalRanNodeId);
        Optional(b, " nrcgi=", r.NrCgi);
        Optional(b, " ecgi=", r.Ecgi);
        Optional(b, " target=", r.TargetId);
        Optional(b, " cause=", r.Cause);
        Optional(b, " nas=", r.Nas.Count == 0 ? null : string.Join(',', r.Nas));
        Optional(b, " imsi=", r.Imsi);
        Optional(b, " ", r.Guti);
        Optional(b, " s-tmsi=", r.STmsi);
        Optional(b, " ue-ip=", r.UeIp);
        return b.ToString();
    }

    private static void Optional(StringBuilder b, string label, string? value)
    {
        if (value is not null)
        {
            b.Append(label).Append(value);
        }
    }

    /// <summary>Lists print comma-separated, as tshark's `-E aggregator=,`.</summary>
    private static string Text(object? value) => value switch
    {
        null => string.Empty,
        string s => s,
        System.Collections.IEnumerable list => string.Join(',', list.Cast<object>().Select(v => Convert.ToString(v, CultureInfo.InvariantCulture))),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty,
    };

    private static void WriteJson(Utf8JsonWriter w, MessageRow row, IReadOnlyList<(string Name, Func<MessageRow, object?> Value)> columns)
    {
        w.WriteStartObject();
        foreach (var (name, get) in columns)
        {
            if (get(row) is { } value)
            {
                w.WritePropertyName(name);
                WriteValue(w, value);
            }
        }

        w.WriteEndObject();
    }

    /// <summary>Numbers stay numbers and lists become arrays; anything else is written as its invariant text.</summary>
    private static void WriteValue(Utf8JsonWriter w, object value)
    {
        switch (value)
        {
            case string s:
                w.WriteStringValue(s);
                break;
            case long l:
                w.WriteNumberValue(l);
                break;
            case int i:
                w.WriteNumberValue(i);
                break;
            case uint u:
                w.WriteNumberValue(u);
                break;
            case ulong ul:
                w.WriteNumberValue(ul);
                break;
            case ushort p:
                w.WriteNumberValue(p);
                break;
            case decimal d:
                w.WriteNumberValue(d);
                break;
            case System.Collections.IEnumerable list:
                w.WriteStartArray();
                foreach (var item in list)
                {
                    WriteValue(w, item);
                }

                w.WriteEndArray();
                break;
            default:
                w.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static string Camel(string s) => char.ToLowerInvariant(s[0]) + s[1..];
}
