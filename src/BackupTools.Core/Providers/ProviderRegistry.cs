using System;
using System.Collections.Generic;
using System.Linq;

namespace BackupTools.Providers
{
    /// <summary>
    /// The one explicit table of providers. Adding a service means one folder under Providers/ and one line here.
    /// The table is immutable: several runspaces read it at once.
    /// </summary>
    internal static class ProviderRegistry
    {
        // Each provider is built on first use, so a session that backs up one service pays only for that one (its
        // rule patterns, JSON contexts, tables): a runbook's first call stays cheap.
        private static readonly IReadOnlyDictionary<string, Lazy<IBackupProvider>> Table =
            new Dictionary<string, Lazy<IBackupProvider>>(StringComparer.OrdinalIgnoreCase)
            {
                ["TaurusDB"] = new Lazy<IBackupProvider>(() => new TaurusDB.TaurusDbProvider()),
                ["DDS"] = new Lazy<IBackupProvider>(() => new DDS.DdsProvider()),
                ["Dataverse"] = new Lazy<IBackupProvider>(() => new Dataverse.DataverseProvider()),
                ["ArcGIS"] = new Lazy<IBackupProvider>(() => new ArcGIS.ArcGisProvider()),
                ["CloudFoundry"] = new Lazy<IBackupProvider>(() => new CloudFoundry.CloudFoundryProvider()),
            };

        public static IEnumerable<IBackupProvider> All => Table.Values.Select(p => p.Value);

        public static IEnumerable<string> Names => Table.Keys;

        /// <summary>The provider of that name, or null when there is none (a job from a file may name anything).</summary>
        public static IBackupProvider Find(string name) =>
            name != null && Table.TryGetValue(name, out var provider) ? provider.Value : null;

        public static IBackupProvider Get(string name)
        {
            if (name != null && Table.TryGetValue(name, out var provider)) return provider.Value;
            throw new BackupToolsException(ErrorIds.ProviderNotFound, BackupErrorCategory.InvalidArgument,
                $"There is no provider named '{name}'. Known providers: {string.Join(", ", Names)}.", name)
            {
                RecommendedAction = "Run Get-BackupProvider to list them.",
            };
        }
    }
}
