using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MobiScud.Control.Model;

namespace MobiScud.Cli;

/// <summary>
/// The model's lists as spans, for the JSON writers' loops: no interface call per item. By exact type, not type
/// patterns: a pattern over an array of a class type is a covariant cast, which the precompiled code made a call to a
/// cast helper per list (3 % of `replay --json`'s render).
/// </summary>
internal static class Items
{
    public static bool TryAsSpan(IReadOnlyList<ControlCommand> list, out ReadOnlySpan<ControlCommand> span)
    {
        var type = list.GetType();
        span = type == typeof(ControlCommand[]) ? Unsafe.As<ControlCommand[]>(list)
            : type == typeof(List<ControlCommand>) ? CollectionsMarshal.AsSpan(Unsafe.As<List<ControlCommand>>(list))
            : type == typeof(ImmutableArray<ControlCommand>) ? ((ImmutableArray<ControlCommand>)list).AsSpan()
            : default;
        return span.Length > 0 || list.Count == 0;
    }

    public static bool TryAsSpan(IReadOnlyList<Bearer> list, out ReadOnlySpan<Bearer> span)
    {
        var type = list.GetType();
        span = type == typeof(Bearer[]) ? Unsafe.As<Bearer[]>(list)
            : type == typeof(List<Bearer>) ? CollectionsMarshal.AsSpan(Unsafe.As<List<Bearer>>(list))
            : type == typeof(ImmutableArray<Bearer>) ? ((ImmutableArray<Bearer>)list).AsSpan()
            : default;
        return span.Length > 0 || list.Count == 0;
    }

    public static bool TryAsSpan(IReadOnlyList<BearerDownlink> list, out ReadOnlySpan<BearerDownlink> span)
    {
        var type = list.GetType();
        span = type == typeof(BearerDownlink[]) ? Unsafe.As<BearerDownlink[]>(list)
            : type == typeof(List<BearerDownlink>) ? CollectionsMarshal.AsSpan(Unsafe.As<List<BearerDownlink>>(list))
            : type == typeof(ImmutableArray<BearerDownlink>) ? ((ImmutableArray<BearerDownlink>)list).AsSpan()
            : default;
        return span.Length > 0 || list.Count == 0;
    }
}
