using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;

namespace BackupTools.Commands
{
    /// <summary>Lists the services BackupTools can back up, with their regions and authentication methods.</summary>
    // The Provider set is the default so that PowerShell, which tries the default set's parameters first when it binds
    // by property name, binds a piped object's Provider before its Name: a row of New-InstanceBackup's instances.csv
    // (Provider, InstanceId, Name, Description) has both, and its Name is a backup's. With -Provider an alias of -Name,
    // the Name property won. Strings piped bind to -Name all the same (the Provider set takes nothing by value), as
    // does a Get-BackupProvider result, which has a Name and no Provider.
    [Cmdlet(VerbsCommon.Get, "BackupProvider", DefaultParameterSetName = ProviderSet)]
    [OutputType(typeof(BackupProviderInfo))]
    public sealed class GetBackupProviderCommand : BackupCmdletBase
    {
        /// <summary>Names and positional or piped strings.</summary>
        public const string NameSet = "Name";
        /// <summary>A Provider property (a connection, a job, a CSV row), or -Provider; also no parameter at all.</summary>
        public const string ProviderSet = "Provider";

        /// <summary>Provider names; wildcards allowed. By value, or from a Name property (a provider piped back).</summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = NameSet)]
        [ArgumentCompleter(typeof(ProviderNameCompleter))]
        [SupportsWildcards]
        public string[] Name { get; set; }

        /// <summary>Provider names as -Name takes them, from a Provider property (a connection, a job, a CSV row) before its Name.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true, ParameterSetName = ProviderSet)]
        [ArgumentCompleter(typeof(ProviderNameCompleter))]
        [SupportsWildcards]
        public string[] Provider { get; set; }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            var errors = Select(ParameterSetName == ProviderSet ? Provider : Name, out var selected);
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
                // CultureInvariant: names are identifiers, and in tr-TR 'i' is not the lower case of 'I' ('arcgis' matched nothing).
                var pattern = new WildcardPattern(name ?? string.Empty, WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant);
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
