using System.Linq;
using System.Management.Automation;

namespace BackupTools.Commands
{
    /// <summary>Lists the services BackupTools can back up, with their regions and authentication methods.</summary>
    [Cmdlet(VerbsCommon.Get, "BackupProvider")]
    [OutputType(typeof(BackupProviderInfo))]
    public sealed class GetBackupProviderCommand : BackupCmdletBase
    {
        /// <summary>Provider names; wildcards allowed. Also from a Provider property (a connection, a job, a CSV row).</summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Provider")]
        [ArgumentCompleter(typeof(ProviderNameCompleter))]
        [SupportsWildcards]
        public string[] Name { get; set; }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            var patterns = (Name == null || Name.Length == 0 ? new[] { "*" } : Name)
                .Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToArray();
            foreach (var name in Name ?? new string[0])
            {
                if (!WildcardPattern.ContainsWildcardCharacters(name) &&
                    !BackupService.ProviderNames.Any(p => string.Equals(p, name, System.StringComparison.OrdinalIgnoreCase)))
                    WriteError(new BackupToolsException(ErrorIds.ProviderNotFound, BackupErrorCategory.ObjectNotFound,
                        $"There is no provider named '{name}'. Known providers: {string.Join(", ", BackupService.ProviderNames)}.", name));
            }
            foreach (var info in BackupService.Providers.Where(p => patterns.Any(w => w.IsMatch(p.Name))))
                WriteObject(info);
        }
    }
}
