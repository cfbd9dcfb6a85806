namespace BackupTools.Simulator;

/// <summary>The five providers' canonical names and URL prefixes.</summary>
internal static class ProviderNames
{
    public const string TaurusDB = "TaurusDB";
    public const string DDS = "DDS";
    public const string Dataverse = "Dataverse";
    public const string ArcGIS = "ArcGIS";
    public const string CloudFoundry = "CloudFoundry";

    public static readonly (string Name, string Prefix)[] All =
    {
        (TaurusDB, "taurusdb"), (DDS, "dds"), (Dataverse, "dataverse"), (ArcGIS, "arcgis"), (CloudFoundry, "cf"),
    };

    /// <summary>The canonical name for a provider name or URL prefix (case-insensitive); null when unknown.</summary>
    public static string Canonical(string provider)
    {
        if (string.IsNullOrEmpty(provider)) return null;
        foreach (var (name, prefix) in All)
            if (provider.Equals(name, StringComparison.OrdinalIgnoreCase) || provider.Equals(prefix, StringComparison.OrdinalIgnoreCase))
                return name;
        return null;
    }

    public static string PrefixOf(string provider)
    {
        var name = Canonical(provider) ?? throw new ArgumentException(
            $"Unknown provider '{provider}'. Known: TaurusDB, DDS, Dataverse, ArcGIS, CloudFoundry.", nameof(provider));
        foreach (var (n, prefix) in All) if (n == name) return prefix;
        throw new InvalidOperationException();
    }
}
