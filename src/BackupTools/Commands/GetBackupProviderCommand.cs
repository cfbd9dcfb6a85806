using System.Collections.Generic;
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
            var errors = Select(Name, out var selected);
            foreach (var error in errors) WriteError(error);
            foreach (var info in selected) WriteObject(info);
        }

        /// <summary>
        /// The providers <paramref name="names"/> select (all for none), and an error for each name that selects none by
        /// rule: a plain name no provider has, or a pattern PowerShell cannot read ('DDS['), which stopped the command
        /// with the engine's WildcardPatternException (RuntimeException, NotSpecified) instead of the catalogue's id.
        /// </summary>
        internal static List<BackupToolsException> Select(string[] names, out List<BackupProviderInfo> selected)
        {
            var errors = new List<BackupToolsException>();
            var known = string.Join(", ", BackupService.ProviderNames);
            var patterns = new List<WildcardPattern>();
            foreach (var name in names == null || names.Length == 0 ? new[] { "*" } : names)
            {
                var pattern = new WildcardPattern(name ?? string.Empty, WildcardOptions.IgnoreCase);
                try
                {
                    pattern.IsMatch(string.Empty); // the pattern is parsed on its first use
                }
                catch (WildcardPatternException)
                {
                    errors.Add(new BackupToolsException(ErrorIds.ProviderNotFound, BackupErrorCategory.InvalidArgument,
                        $"'{Validation.Rule.Printable(name)}' is not a wildcard pattern PowerShell can read (a [ needs its ], or write `[ for the character itself). Known providers: {known}.", name));
                    continue;
                }
                patterns.Add(pattern);
                if (!WildcardPattern.ContainsWildcardCharacters(name) &&
                    !BackupService.ProviderNames.Any(p => string.Equals(p, name, System.StringComparison.OrdinalIgnoreCase)))
                    errors.Add(new BackupToolsException(ErrorIds.ProviderNotFound, BackupErrorCategory.ObjectNotFound,
                        $"There is no provider named '{name}'. Known providers: {known}.", name));
            }
            selected = BackupService.Providers.Where(p => patterns.Any(w => w.IsMatch(p.Name))).ToList();
            return errors;
        }
    }
}
