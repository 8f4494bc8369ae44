using System.CommandLine;
using System.Globalization;
using MobiScud.Capture;

namespace MobiScud.Cli;

/// <summary>
/// `mobiscud bench-send --interface IF --rate PPS --seconds S FILES...` (hidden): the traffic source for the tap's rate
/// measurements (docs/capture.md), faster than tcpreplay: AF_PACKET with PACKET_QDISC_BYPASS and sendmmsg, paced,
/// fresh SCTP TSNs on every loop over the files.
/// </summary>
internal static class BenchSendCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("files") { Description = "pcap or pcapng capture(s), sent in order, looped", Arity = ArgumentArity.OneOrMore };
        var iface = new Option<string>("--interface") { Description = "Interface to send on (a veth of your own: the frames are real)", Required = true };
        var rate = new Option<double>("--rate") { Description = "Frames per second; 0: as fast as the interface takes them", DefaultValueFactory = _ => 0 };
        var seconds = new Option<double>("--seconds") { Description = "How long to send", DefaultValueFactory = _ => 10 };
        var count = new Option<long>("--count") { Description = "Stop after this many frames (0: no limit)", DefaultValueFactory = _ => 0 };
        var command = new Command("bench-send", "Blast capture frames into an interface at a paced rate (AF_PACKET, sendmmsg, qdisc bypass; fresh SCTP TSNs per loop)") { Hidden = true };
        command.Arguments.Add(files);
        foreach (var o in new Option[] { iface, rate, seconds, count })
        {
            command.Options.Add(o);
        }

        command.SetAction((parse, cancellation) =>
        {
            var r = parse.GetValue(rate);
            var s = parse.GetValue(seconds);
            var n = parse.GetValue(count);
            if (r < 0 || s <= 0 || n < 0)
            {
                Console.Error.WriteLine("mobiscud bench-send: --rate must be >= 0, --seconds > 0, --count >= 0");
                return Task.FromResult(2);
            }

            FrameBlaster blaster;
            try
            {
                blaster = new FrameBlaster(parse.GetValue(iface)!, parse.GetValue(files)!);
            }
            catch (Exception e) when (e is IOException or CaptureFormatException or InvalidOperationException)
            {
                Console.Error.WriteLine($"mobiscud bench-send: {e.Message}");
                return Task.FromResult(2);
            }

            using (blaster)
            {
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{blaster.Frames} frames per loop ({blaster.Bytes} bytes, {blaster.TsnFields} TSNs moved on per loop, {blaster.S1apPerLoop} S1AP messages per loop; left out: {blaster.NotIp} not IP, {blaster.OverMtu} over the MTU)"));
                BlastResult result;
                try
                {
                    result = blaster.Run(r, TimeSpan.FromSeconds(s), n == 0 ? long.MaxValue : n, cancellation);
                }
                catch (IOException e)
                {
                    Console.Error.WriteLine($"mobiscud bench-send: {e.Message}");
                    return Task.FromResult(3);
                }

                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sent {result.Sent} frames in {result.Elapsed.TotalSeconds:0.000} s ({result.Rate:0} frames/s, {result.Loops} full loops), {result.S1apMessages} S1AP messages ({result.S1apMessages / Math.Max(1e-9, result.Elapsed.TotalSeconds):0} /s), {result.SendErrors} refused by the kernel{(result.LastError is null ? string.Empty : $" ({result.LastError})")}"));
            }

            return Task.FromResult(0);
        });
        return command;
    }
}
