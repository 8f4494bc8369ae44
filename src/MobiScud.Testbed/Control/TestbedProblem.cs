using System.Globalization;
using MobiScud.Control.Model;
using MobiScud.Tracking;

namespace MobiScud.Testbed.Control;

/// <summary>Where a testbed run's problem came from.</summary>
public enum TestbedProblemSource
{
    /// <summary>The UE tracker noted a frame (<see cref="TestbedProblem.Note"/> has its kind).</summary>
    Tracker,

    /// <summary>The MC's frame loop on the tap failed (<see cref="TestbedProblem.Error"/>).</summary>
    Tap,

    /// <summary>A steering change was not confirmed, or a dispatch to the backends failed (<see cref="TestbedProblem.Ue"/>).</summary>
    Steering,

    /// <summary>An emulated RAN or core node could not read or place a message (<see cref="TestbedProblem.Node"/>).</summary>
    Emulator,

    /// <summary>The real-time priority the scenario asked for the tap's thread (`tapRealtimePriority`) was not granted.</summary>
    TapPriority,

    /// <summary>The real-time priority the scenario asked for the switches (`switchRealtimePriority`) was not granted.</summary>
    SwitchPriority,
}

/// <summary>
/// Something that went wrong on a testbed run, as a record: tests match <see cref="Source"/>, the tracker's
/// <see cref="Note"/> kind, the frame or the UE; <paramref name="Message"/> is for display only.
/// <paramref name="At"/> is from the run's epoch (tracker notes), <paramref name="Frame"/> the tap's frame number.
/// </summary>
public sealed record TestbedProblem(TestbedProblemSource Source, string Message, TimeSpan? At = null, long? Frame = null, Exception? Error = null)
{
    /// <summary>The tracker's note, for <see cref="TestbedProblemSource.Tracker"/>.</summary>
    public TrackerNote? Note { get; init; }

    /// <summary>The UE concerned, where one is (steering).</summary>
    public UeId? Ue { get; init; }

    /// <summary>The emulated node that reported it, for <see cref="TestbedProblemSource.Emulator"/>.</summary>
    public string? Node { get; init; }

    /// <summary>A problem from the UE tracker's note on a frame.</summary>
    public static TestbedProblem FromNote(TrackerNote note, TimeSpan at, long frame) =>
        new(TestbedProblemSource.Tracker, note.Text, at, frame) { Note = note };

    public override string ToString()
    {
        var source = Source.ToString().ToLowerInvariant();
        var head = Node is { } node ? $"{source} {node}" : Ue is { } ue ? $"{source} for {ue}" : source;
        var text = At is { } at
            ? string.Create(CultureInfo.InvariantCulture, $"{head}: {at.TotalSeconds:0.000000} frame {Frame}: {Message}")
            : $"{head}: {Message}";
        return Error is { } e ? $"{text}: {e}" : text;
    }
}
