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
            return Completion.Matching(BackupService.BackupStoreNames(connection, System.TimeSpan.FromSeconds(2)), wordToComplete);
        }

        private static object Unwrap(object value) => value is PSObject p ? p.BaseObject : value;
    }

    internal static class Completion
    {
        public static IEnumerable<CompletionResult> Matching(IEnumerable<string> values, string word)
        {
            var typed = word ?? string.Empty;
            var quoted = typed.Length > 0 && (typed[0] == '\'' || typed[0] == '"');
            var prefix = typed.Trim('\'', '"');
            return values
                .Where(v => v.StartsWith(prefix, System.StringComparison.OrdinalIgnoreCase))
                .OrderBy(v => v, System.StringComparer.OrdinalIgnoreCase)
                .Select(v => new CompletionResult(Quoted(v, quoted), v, CompletionResultType.ParameterValue, v));
        }

        /// <summary>
        /// The text a completion inserts: a value PowerShell would split or read as code (an ArcGIS store "My Store",
        /// "a;b", "$x") single-quoted, quotes doubled, as is one the user began with a quote; other values as they are.
        /// </summary>
        internal static string Quoted(string value, bool userQuoted)
        {
            var needs = userQuoted || value.Length == 0;
            foreach (var c in value)
                if (char.IsWhiteSpace(c) || "$`'\"();{}@#,|&<>[]".IndexOf(c) >= 0 || c == '\u2018' || c == '\u2019' || c == '\u201C' || c == '\u201D')
                {
                    needs = true;
                    break;
                }
            if (!needs) return value;
            return "'" + value.Replace("'", "''").Replace("\u2018", "\u2018\u2018").Replace("\u2019", "\u2019\u2019") + "'";
        }
    }
}
