using System.Globalization;

namespace MobiScud.Testbed.Control;

/// <summary>
/// Something that went wrong on the testbed MC's way, as a record (tests match its fields, not log text):
/// <paramref name="Source"/> is "tracker" (a note on a frame, at <paramref name="At"/> from the run's epoch) or "tap"
/// (the frame loop failed, with <paramref name="Error"/>).
/// </summary>
internal sealed record TestbedProblem(string Source, string Message, TimeSpan? At = null, long? Frame = null, Exception? Error = null)
{
    public override string ToString() => At is { } at
        ? string.Create(CultureInfo.InvariantCulture, $"{Source}: {at.TotalSeconds:0.000000} frame {Frame}: {Message}")
        : $"{Source}: {Message}";
}
