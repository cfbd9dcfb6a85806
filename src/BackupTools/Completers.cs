using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace BackupTools.Commands
{
    /// <summary>
    /// Completes provider names from the provider table. A word holding wildcards (Get-BackupProvider -Name *DB) is
    /// completed as the pattern it is, as PowerShell's own completers do: provider names hold no wildcard characters.
    /// </summary>
    public sealed class ProviderNameCompleter : IArgumentCompleter
    {
        /// <inheritdoc />
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters) =>
            Completion.Matching(BackupService.ProviderNames, wordToComplete, wildcards: true);
    }

    /// <summary>
    /// Completes provider names for a creating cmdlet: only the providers that offer the kind of backup it starts (the
    /// provider table says which), as the cmdlet refuses the others.
    /// </summary>
    public sealed class CreatingProviderCompleter : IArgumentCompleter
    {
        /// <inheritdoc />
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            var kind = NewBackupCommandBase.KindStartedBy(commandName);
            return Completion.Matching(kind is BackupKind k ? BackupService.ProviderNamesOffering(k) : BackupService.ProviderNames, wordToComplete);
        }
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
        public static IEnumerable<CompletionResult> Matching(IEnumerable<string> values, string word, bool wildcards = false)
        {
            var typed = word ?? string.Empty;
            var quoted = typed.Length > 0 && (typed[0] == '\'' || typed[0] == '"');
            var prefix = typed.Trim('\'', '"');
            Func<string, bool> matches = v => v.StartsWith(prefix, System.StringComparison.OrdinalIgnoreCase);
            if (wildcards && WildcardPattern.ContainsWildcardCharacters(prefix))
            {
                var pattern = new WildcardPattern(prefix + "*", WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant); // (as Get-BackupProvider matches)
                // (a pattern PowerShell cannot read, DDS[, completes to nothing, as the cmdlet refuses it)
                matches = v => { try { return pattern.IsMatch(v); } catch (WildcardPatternException) { return false; } };
            }
            return values
                .Where(matches)
                .OrderBy(v => v, System.StringComparer.OrdinalIgnoreCase)
                .Select(v => new CompletionResult(Quoted(v, quoted), v, CompletionResultType.ParameterValue, v));
        }

        /// <summary>
        /// The text a completion inserts: the value as it is where PowerShell reads it back as that very string (a bare
        /// word); otherwise, and where the user began with a quote, single-quoted with its quotes escaped. An ArcGIS
        /// store "My Store" split in two, "-daily" became a parameter, "007" the number 7 and "1kb" 1024.
        /// </summary>
        internal static string Quoted(string value, bool userQuoted)
        {
            if (!userQuoted && ReadsBackAsItself(value)) return value;
            return "'" + CodeGeneration.EscapeSingleQuotedStringContent(value) + "'";
        }

        private static bool ReadsBackAsItself(string value)
        {
            if (string.IsNullOrEmpty(value)) return false;
            var ast = Parser.ParseInput("x " + value, out _, out var errors);
            return errors.Length == 0 &&
                   ast.EndBlock != null && ast.EndBlock.Statements.Count == 1 &&
                   ast.EndBlock.Statements[0] is PipelineAst pipeline && pipeline.PipelineElements.Count == 1 &&
                   pipeline.PipelineElements[0] is CommandAst command && command.CommandElements.Count == 2 &&
                   command.CommandElements[1] is StringConstantExpressionAst word &&
                   word.StringConstantType == StringConstantType.BareWord && word.Value == value;
        }
    }
}
