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
        private static readonly Lazy<IReadOnlyDictionary<string, IBackupProvider>> Table =
            new Lazy<IReadOnlyDictionary<string, IBackupProvider>>(() => new IBackupProvider[]
            {
                new TaurusDB.TaurusDbProvider(),
                new DDS.DdsProvider(),
                new Dataverse.DataverseProvider(),
                new ArcGIS.ArcGisProvider(),
                new CloudFoundry.CloudFoundryProvider(),
            }.ToDictionary(p => p.Info.Name, StringComparer.OrdinalIgnoreCase));

        public static IEnumerable<IBackupProvider> All => Table.Value.Values;

        public static IEnumerable<string> Names => Table.Value.Keys;

        public static IBackupProvider Get(string name)
        {
            if (name != null && Table.Value.TryGetValue(name, out var provider)) return provider;
            throw new BackupToolsException(ErrorIds.ProviderNotFound, BackupErrorCategory.InvalidArgument,
                $"There is no provider named '{name}'. Known providers: {string.Join(", ", Names)}.", name)
            {
                RecommendedAction = "Run Get-BackupProvider to list them.",
            };
        }
    }
}
