using System.Runtime.CompilerServices;
using MobiScud.Control.Model;

namespace MobiScud.Control;

/// <summary>
/// The commands of one decision, gathered on the stack (a decision issues at most a handful) and handed out as an array
/// of exact size: one allocation instead of a list and its backing array, and nothing the caller gets aliases a buffer
/// that a later decision reuses.
/// </summary>
internal struct CommandBuffer
{
    private Inline _inline;
    private List<ControlCommand>? _overflow;

    public int Count { get; private set; }

    public void Add(ControlCommand command)
    {
        if (Count < Inline.Length)
        {
            _inline[Count] = command;
        }
        else
        {
            (_overflow ??= []).Add(command);
        }

        Count++;
    }

    public readonly ControlCommand[] ToArray()
    {
        if (Count == 0)
        {
            return [];
        }

        var result = new ControlCommand[Count];
        var n = Math.Min(Count, Inline.Length);
        for (var i = 0; i < n; i++)
        {
            result[i] = _inline[i];
        }

        _overflow?.CopyTo(result, Inline.Length);
        return result;
    }

    [InlineArray(Length)]
    private struct Inline
    {
        public const int Length = 8;

        private ControlCommand _element;
    }
}
