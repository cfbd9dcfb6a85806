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
