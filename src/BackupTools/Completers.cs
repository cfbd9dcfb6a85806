using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace BackupTools.Commands
{
    /// <summary>Completes provider names from the provider table.</summary>
    public sealed class ProviderNameCompleter : IArgumentCompleter
    {
        /// <inheritdoc />
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters) =>
            Completion.Matching(BackupService.ProviderNames, wordToComplete);
    }

    /// <summary>Completes region names of the provider already named on the command line.</summary>
    public sealed class RegionCompleter : IArgumentCompleter
    {
        /// <inheritdoc />
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var provider = fakeBoundParameters?["Provider"]?.ToString();
            var regions = provider == null
                ? BackupService.Providers.SelectMany(p => p.Regions)
                : BackupService.RegionsOf(provider);
            return Completion.Matching(regions.Distinct(), wordToComplete);
        }
    }

    /// <summary>
    /// Completes backup-store names by asking the service of the connection the command would use (one cheap read;
    /// nothing when there is no such connection or the service does not answer quickly).
    /// </summary>
    public sealed class BackupStoreCompleter : IArgumentCompleter
    {
        /// <inheritdoc />
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var connection = Unwrap(fakeBoundParameters?["Connection"]) as BackupConnection;
            if (connection == null)
            {
                try
                {
                    // Completers run on the pipeline thread of the runspace being completed in, so a script block reads its session state.
                    var store = Unwrap(ScriptBlock.Create("$" + BackupCmdletBase.StoreVariable).InvokeReturnAsIs()) as Session.ConnectionStore;
                    connection = store?.ForNewBackup(Unwrap(fakeBoundParameters?["Provider"])?.ToString(), BackupKind.DisasterRecovery);
                }
                catch (Exception ex) when (ex is BackupToolsException || ex is RuntimeException)
                {
                    return Enumerable.Empty<CompletionResult>();
                }
            }
            return Completion.Matching(BackupService.BackupStoreNames(connection, System.TimeSpan.FromSeconds(5)), wordToComplete);
        }

        private static object Unwrap(object value) => value is PSObject p ? p.BaseObject : value;
    }

    internal static class Completion
    {
        public static IEnumerable<CompletionResult> Matching(IEnumerable<string> values, string word)
        {
            var prefix = (word ?? string.Empty).Trim('\'', '"');
            return values
                .Where(v => v.StartsWith(prefix, System.StringComparison.OrdinalIgnoreCase))
                .OrderBy(v => v, System.StringComparer.OrdinalIgnoreCase)
                .Select(v => new CompletionResult(v, v, CompletionResultType.ParameterValue, v));
        }
    }
}
