using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation.Language;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// The PowerShell scripts (Pester suite, build, demo, benchmark; run by CI in pwsh, not by dotnet test) at least parse with the
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
            var ours = new HashSet<string>(ContractTests.CmdletTypes().Select(CmdletName), System.StringComparer.OrdinalIgnoreCase);
            var invented = ast.FindAll(n => n is CommandAst, true).Cast<CommandAst>()
                .Select(c => c.GetCommandName())
                .Where(n => n != null && System.Text.RegularExpressions.Regex.IsMatch(n, @"^\w+-Backup\w*$|^\w+-\w*Backup$", System.Text.RegularExpressions.RegexOptions.IgnoreCase) && !ours.Contains(n))
                .Distinct().ToList();
            Assert.True(invented.Count == 0, $"{relativePath} calls {string.Join(", ", invented)}, which the module does not have");
        }

        /// <summary>Every piece of PowerShell users are shown or run: help examples, the README's blocks, the scripts.</summary>
        public static IEnumerable<object[]> Snippets()
        {
            var root = ContractTests.RepoRoot();
            foreach (var file in BackupTools.HelpCompiler.HelpConverter.SourceFiles(Path.Combine(root, "en-US")))
            {
                var help = BackupTools.HelpCompiler.HelpConverter.ParseFile(file);
                for (var i = 0; i < help.Examples.Count; i++)
                    yield return new object[] { $"{Path.GetFileName(file)} example {i + 1}", help.Examples[i].Code };
            }
            var readme = File.ReadAllText(Path.Combine(root, "README.md"));
            var blocks = System.Text.RegularExpressions.Regex.Matches(readme, "```powershell\\r?\\n(.*?)```", System.Text.RegularExpressions.RegexOptions.Singleline);
            for (var i = 0; i < blocks.Count; i++) yield return new object[] { $"README.md powershell block {i + 1}", blocks[i].Groups[1].Value };
            foreach (var script in Scripts()) yield return new object[] { (string)script[0], File.ReadAllText(Path.Combine(root, (string)script[0])) };
            // about_BackupTools: its examples are the runs of lines indented eight spaces or more that parse as
            // PowerShell (its indented lists and tables of text do not).
            var block = new List<string>();
            var number = 0;
            foreach (var line in File.ReadAllLines(Path.Combine(root, "en-US", "about_BackupTools.help.txt")).Append(string.Empty))
            {
                if (line.StartsWith("        ", System.StringComparison.Ordinal)) { block.Add(line); continue; }
                if (block.Count > 0)
                {
                    var code = string.Join("\n", block);
                    Parser.ParseInput(code, out _, out var errors);
                    if (errors.Length == 0 && block.Any(l => l.TrimStart().StartsWith("$") || l.Contains(" -"))) yield return new object[] { $"about_BackupTools example {++number}", code };
                    block.Clear();
                }
            }
        }

        private static readonly string[] CommonParameters =
        {
            "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction", "ErrorVariable", "WarningVariable",
            "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable", "vb", "db", "ea", "wa", "infa", "proga", "ev", "wv", "iv", "ov", "ob", "pv",
        };

        private const string AllSets = "__AllParameterSets";

        /// <summary>
        /// A cmdlet's parameters by name and alias, each with its parameter sets; the common parameters, and -WhatIf and
        /// -Confirm where it supports them, are in all sets.
        /// </summary>
        private static Dictionary<string, HashSet<string>> ParameterSets(System.Type cmdlet)
        {
            var inAll = new HashSet<string> { AllSets };
            var setsOf = CommonParameters.ToDictionary(n => n, _ => inAll, System.StringComparer.OrdinalIgnoreCase);
            foreach (var p in cmdlet.GetProperties())
            {
                var attributes = p.GetCustomAttributes(typeof(System.Management.Automation.ParameterAttribute), true).Cast<System.Management.Automation.ParameterAttribute>().ToList();
                if (attributes.Count == 0) continue;
                var sets = new HashSet<string>(attributes.Select(a => a.ParameterSetName ?? AllSets));
                setsOf[p.Name] = sets;
                foreach (System.Management.Automation.AliasAttribute a in p.GetCustomAttributes(typeof(System.Management.Automation.AliasAttribute), true))
                    foreach (var alias in a.AliasNames) setsOf[alias] = sets;
            }
            var attribute = (System.Management.Automation.CmdletAttribute)System.Attribute.GetCustomAttribute(cmdlet, typeof(System.Management.Automation.CmdletAttribute));
            if (attribute.SupportsShouldProcess)
                foreach (var name in new[] { "WhatIf", "Confirm", "wi", "cf" }) setsOf[name] = inAll;
            return setsOf;
        }

        [Theory]
        [MemberData(nameof(Snippets))]
        public void Every_parameter_a_help_example_README_block_or_script_passes_to_a_BackupTools_cmdlet_exists(string where, string code)
        {
            var ast = Parser.ParseInput(code, out _, out var errors);
            Assert.True(errors.Length == 0, string.Join("\n", errors.Select(e => $"{where}:{e.Extent.StartLineNumber}: {e.Message}")));
            var cmdlets = ContractTests.CmdletTypes().ToDictionary(CmdletName, ParameterSets, System.StringComparer.OrdinalIgnoreCase);
            // Full names or aliases only (PowerShell would take an unambiguous prefix, but a prefix in documentation
            // breaks when a parameter is added); a parameter written inside a string is not a parameter.
            var unknown = ast.FindAll(n => n is CommandAst, true).Cast<CommandAst>()
                .Where(c => c.GetCommandName() is string name && cmdlets.ContainsKey(name))
                .SelectMany(c => c.CommandElements.OfType<CommandParameterAst>()
                    .Where(p => !cmdlets[c.GetCommandName()].ContainsKey(p.ParameterName))
                    .Select(p => $"{where}:{p.Extent.StartLineNumber}: {c.GetCommandName()} -{p.ParameterName}"))
                .ToList();
            Assert.True(unknown.Count == 0, "no such parameter: " + string.Join("; ", unknown));

            // And the named parameters of each call share a parameter set (positional arguments aside).
            var conflicts = ast.FindAll(n => n is CommandAst, true).Cast<CommandAst>()
                .Where(c => c.GetCommandName() is string name && cmdlets.ContainsKey(name))
                .Where(c => !SharesASet(cmdlets[c.GetCommandName()], c.CommandElements.OfType<CommandParameterAst>().Select(p => p.ParameterName)))
                .Select(c => $"{where}:{c.Extent.StartLineNumber}: {c.Extent.Text}")
                .ToList();
            Assert.True(conflicts.Count == 0, "parameters from different parameter sets: " + string.Join("; ", conflicts));
        }

        /// <summary>The scripts Windows PowerShell 5.1 must parse: the Pester suite (it runs there too) and its setup.</summary>
        public static IEnumerable<object[]> WindowsPowerShellScripts() =>
            Directory.GetFiles(Path.Combine(ContractTests.RepoRoot(), "tests", "Pester"), "*.ps1", SearchOption.AllDirectories)
                .Select(f => new object[] { Path.GetRelativePath(ContractTests.RepoRoot(), f) });

        /// <summary>
        /// The syntax PowerShell 7 added, which Windows PowerShell 5.1 cannot parse: one use anywhere in a file fails the
        /// whole file there, a branch that checks the version included.
        /// </summary>
        internal static IEnumerable<Ast> PowerShell7Syntax(Ast ast) => ast.FindAll(n =>
            n is TernaryExpressionAst
            || n is PipelineChainAst
            || (n is BinaryExpressionAst b && b.Operator == TokenKind.QuestionQuestion)
            || (n is AssignmentStatementAst a && a.Operator == TokenKind.QuestionQuestionEquals)
            || (n is MemberExpressionAst m && m.NullConditional)
            || (n is IndexExpressionAst i && i.NullConditional)
            || (n is ScriptBlockAst sb && sb.CleanBlock != null), true);

        [Theory]
        [MemberData(nameof(WindowsPowerShellScripts))]
        public void A_Pester_file_uses_no_syntax_Windows_PowerShell_cannot_parse(string relativePath)
        {
            var ast = Parser.ParseFile(Path.Combine(ContractTests.RepoRoot(), relativePath), out _, out _);
            var found = PowerShell7Syntax(ast).Select(n => $"{relativePath}:{n.Extent.StartLineNumber}: {n.Extent.Text}").ToList();
            Assert.True(found.Count == 0, "PowerShell 7 syntax: " + string.Join("; ", found));
        }

        [Fact]
        public void The_PowerShell_7_syntax_check_finds_each_form()
        {
            foreach (var code in new[] { "$a ? 1 : 2", "a && b", "a || b", "$a ?? 1", "$a ??= 1", "${a}?.B", "${a}?[0]", "function f { clean { } }" })
            {
                var ast = Parser.ParseInput(code, out _, out var errors);
                Assert.Empty(errors);
                Assert.True(PowerShell7Syntax(ast).Any(), code);
            }
            Assert.Empty(PowerShell7Syntax(Parser.ParseInput("if ($a) { 1 } else { 2 }; $a.B; $a[0]; a; b; $x = 1", out _, out _)));
        }

        private static string CmdletName(System.Type t)
        {
            var a = (System.Management.Automation.CmdletAttribute)System.Attribute.GetCustomAttribute(t, typeof(System.Management.Automation.CmdletAttribute));
            return a.VerbName + "-" + a.NounName;
        }

        /// <summary>Whether one parameter set holds every one of <paramref name="used"/>.</summary>
        private static bool SharesASet(Dictionary<string, HashSet<string>> setsOf, IEnumerable<string> used)
        {
            HashSet<string> candidates = null; // null: any set
            foreach (var name in used)
            {
                if (!setsOf.TryGetValue(name, out var sets) || sets.Contains(AllSets)) continue;
                if (candidates == null) candidates = new HashSet<string>(sets);
                else candidates.IntersectWith(sets);
                if (candidates.Count == 0) return false;
            }
            return true;
        }
    }
}
