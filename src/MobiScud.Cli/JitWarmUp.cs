using System.Reflection;
using System.Runtime.CompilerServices;

namespace MobiScud.Cli;

/// <summary>
/// Compiles the live path's code (decoders, tracker, MC) before the capture starts. Measured (docs/capture.md, "Where
/// the full path spends its time"): without it the first frames of a live run waited ~2 s for the JIT (the CLI runs
/// without quick JIT, so each method's first call compiles it fully optimised), while the frames behind them filled the
/// handoff ring and the kernel's ring, a backlog the tracker then took tens of seconds to work off. Compiling up front
/// costs that time before "capturing on" instead of during the capture.
/// </summary>
internal static class JitWarmUp
{
    /// <summary>Prepares every non-generic method and constructor with a body declared by <paramref name="types"/> (closed generic types included).</summary>
    /// <returns>Methods compiled, methods the runtime refused to prepare (they compile on first call, as without warm-up), and the time taken.</returns>
    public static (int Prepared, int Refused, TimeSpan Elapsed) Prepare(IEnumerable<Type> types, TimeProvider time)
    {
        var start = time.GetTimestamp();
        var prepared = 0;
        var refused = 0;
        const BindingFlags All = BindingFlags.DeclaredOnly | BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic;
        foreach (var type in types.Distinct())
        {
            // Open generic types have no code until instantiated; interfaces have no bodies (default methods aside, not used here).
            if (type.ContainsGenericParameters || type.IsInterface)
            {
                continue;
            }

            foreach (var method in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
            {
                if (method.IsAbstract || method.ContainsGenericParameters || (method.MethodImplementationFlags & MethodImplAttributes.InternalCall) != 0 || method.GetMethodBody() is null)
                {
                    continue;
                }

                try
                {
                    RuntimeHelpers.PrepareMethod(method.MethodHandle);
                    prepared++;
                }
                catch (Exception e) when (e is ArgumentException or TypeLoadException or BadImageFormatException or InvalidProgramException or NotSupportedException)
                {
                    // Not fatal: such a method is compiled at its first call, as it would be without the warm-up.
                    refused++;
                }
            }
        }

        return (prepared, refused, time.GetElapsedTime(start));
    }
}
