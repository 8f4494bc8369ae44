using System.Reflection;
using System.Runtime.CompilerServices;

namespace MobiScud.Testbed.Control;

/// <summary>What <see cref="CodeWarmup.Prepare"/> compiled, what it could not, and how long it took.</summary>
internal sealed record CodeWarmupResult(int Methods, int Failed, TimeSpan Elapsed);

/// <summary>
/// Compiles the MC's path ahead of its first use: every non-generic method of the assemblies a tap frame goes through
/// (capture, protocol decoders, tracker, MC, steering). Without it the first handover compiles the handover path on
/// the tap's thread, and on a loaded host that took hundreds of ms; the frames behind it waited as long
/// (docs/testbed.md, Reaction times). Generic methods are compiled per instantiation and are left to their first call.
/// </summary>
internal static class CodeWarmup
{
    private const BindingFlags All = BindingFlags.DeclaredOnly | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static;

    public static CodeWarmupResult Prepare(IEnumerable<Assembly> assemblies, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var started = time.GetTimestamp();
        var methods = 0;
        var failed = 0;
        foreach (var assembly in assemblies.Distinct())
        {
            foreach (var type in LoadableTypes(assembly))
            {
                if (type.ContainsGenericParameters)
                {
                    continue;
                }

                foreach (var method in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
                {
                    if (method.IsAbstract || method.ContainsGenericParameters || (method.Attributes & MethodAttributes.PinvokeImpl) != 0
                        || (method.MethodImplementationFlags & (MethodImplAttributes.InternalCall | MethodImplAttributes.Runtime)) != 0)
                    {
                        continue;
                    }

                    try
                    {
                        RuntimeHelpers.PrepareMethod(method.MethodHandle);
                        methods++;
                    }
                    catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException or BadImageFormatException or TypeLoadException or MissingMethodException)
                    {
                        // A method the runtime cannot compile out of context (e.g. one needing a type that fails to load)
                        // is compiled at its first call, as without the warm-up.
                        failed++;
                    }
                }
            }
        }

        return new CodeWarmupResult(methods, failed, time.GetElapsedTime(started));
    }

    private static IEnumerable<Type> LoadableTypes(Assembly assembly)
    {
        try
        {
            return assembly.GetTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            return e.Types.OfType<Type>();
        }
    }
}
