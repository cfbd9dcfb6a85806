using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation.Language;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// The PowerShell scripts these machines cannot run (Pester suite, build, demo, benchmark) at least parse with the
    /// real PowerShell 7.6 parser, and use no command that does not exist in the module.
    /// </summary>
    public sealed class ScriptSyntaxTests
    {
        public static IEnumerable<object[]> Scripts()
        {
            var root = ContractTests.RepoRoot();
            return new[] { "tests/Pester", "demo", "bench" }
                .SelectMany(d => Directory.GetFiles(Path.Combine(root, d), "*.ps1", SearchOption.AllDirectories))
                .Append(Path.Combine(root, "build.ps1"))
                .Select(f => new object[] { Path.GetRelativePath(root, f) });
        }

        [Theory]
        [MemberData(nameof(Scripts))]
        public void The_script_parses_and_calls_only_cmdlets_the_module_has(string relativePath)
        {
            var path = Path.Combine(ContractTests.RepoRoot(), relativePath);
            var ast = Parser.ParseFile(path, out _, out var errors);
            Assert.True(errors.Length == 0, string.Join("\n", errors.Select(e => $"{relativePath}:{e.Extent.StartLineNumber}: {e.Message}")));
            var ours = new HashSet<string>(ContractTests.CmdletTypes().Select(t =>
            {
                var a = (System.Management.Automation.CmdletAttribute)System.Attribute.GetCustomAttribute(t, typeof(System.Management.Automation.CmdletAttribute));
                return a.VerbName + "-" + a.NounName;
            }), System.StringComparer.OrdinalIgnoreCase);
            var invented = ast.FindAll(n => n is CommandAst, true).Cast<CommandAst>()
                .Select(c => c.GetCommandName())
                .Where(n => n != null && System.Text.RegularExpressions.Regex.IsMatch(n, @"^\w+-Backup\w*$|^\w+-\w*Backup$", System.Text.RegularExpressions.RegexOptions.IgnoreCase) && !ours.Contains(n))
                .Distinct().ToList();
            Assert.True(invented.Count == 0, $"{relativePath} calls {string.Join(", ", invented)}, which the module does not have");
        }
    }
}
