namespace MobiScud.Tools.FieldNaming;

/// <summary>The repository's private-field rule (.editorconfig, private_fields_underscore): <c>_camelCase</c>.</summary>
internal static class FieldNames
{
    /// <summary>
    /// True when IDE1006 accepts <paramref name="name"/>: one <c>_</c> prefix, then a lower-case first letter
    /// (Roslyn's camel_case checks the first character of the first word; there is no word separator).
    /// </summary>
    public static bool IsCompliant(string name) => name.Length > 1 && name[0] == '_' && char.IsLower(name[1]);

    /// <summary>
    /// The <c>_camelCase</c> form of <paramref name="name"/>, or null when the name has no letters to keep
    /// (e.g. <c>_</c> or <c>__1</c>). Drops leading underscores and the Hungarian prefixes <c>m_</c>, <c>s_</c>,
    /// <c>t_</c>; lower-cases a leading acronym except the capital that starts the next word (IPAddress -> ipAddress).
    /// </summary>
    public static string? ToUnderscoreCamel(string name)
    {
        var core = name.TrimStart('_');
        if (core.Length > 2 && core[1] == '_' && core[0] is 'm' or 's' or 't')
        {
            core = core[2..].TrimStart('_');
        }

        if (core.Length == 0 || !char.IsLetter(core[0]))
        {
            return null;
        }

        var upper = 0;
        while (upper < core.Length && char.IsUpper(core[upper]))
        {
            upper++;
        }

        // "IPAddress": the run is "IPA", but "A" starts "Address"; "URL" or "Id" lower-case wholly.
        var lower = upper > 1 && upper < core.Length && char.IsLower(core[upper]) ? upper - 1 : upper;
        return "_" + core[..lower].ToLowerInvariant() + core[lower..];
    }
}
