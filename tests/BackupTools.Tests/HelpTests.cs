using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using BackupTools.HelpCompiler;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// The help covers every cmdlet, exactly: Markdown sources against the cmdlets' reflected parameters, the compiled
    /// MAML the test output folder carries (the build compiles it with tools/HelpCompiler), Get-Help in the hosted
    /// engine, and the about topic against the error catalogue.
    /// </summary>
    public sealed class HelpTests
    {
        /// <summary>
        /// Help written ahead of its cmdlet, which is being built on another branch. Until the cmdlet exists its file is
        /// only required to compile; once it exists, it is checked like every other cmdlet's (through Cmdlets()), and
        /// its name should be removed from here.
        /// </summary>
        private static readonly HashSet<string> PendingCmdlets = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
        };

        private static string SourceDir => Path.Combine(ContractTests.RepoRoot(), "en-US");
        private static string OutputHelpDir => Path.Combine(AppContext.BaseDirectory, "en-US");

        private static string CommandName(Type t)
        {
            var a = t.GetCustomAttribute<CmdletAttribute>();
            return a.VerbName + "-" + a.NounName;
        }

        private static Type CmdletNamed(string typeName) => ContractTests.CmdletTypes().Single(t => t.Name == typeName);

        private static List<string> CmdletNames() => ContractTests.CmdletTypes().Select(CommandName).ToList();

        private static CommandHelp HelpFor(Type cmdlet)
        {
            var path = Path.Combine(SourceDir, CommandName(cmdlet) + ".md");
            Assert.True(File.Exists(path), $"{CommandName(cmdlet)} has no help file: {path}");
            return HelpConverter.ParseFile(path);
        }

        /// <summary>Parameters a cmdlet declares: [Parameter] properties, plus -WhatIf and -Confirm with SupportsShouldProcess.</summary>
        private static Dictionary<string, PropertyInfo> DeclaredParameters(Type cmdlet)
        {
            var declared = cmdlet.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.GetCustomAttributes<ParameterAttribute>().Any())
                .ToDictionary(p => p.Name, p => p, StringComparer.OrdinalIgnoreCase);
            if (cmdlet.GetCustomAttribute<CmdletAttribute>().SupportsShouldProcess)
            {
                declared["WhatIf"] = null;
                declared["Confirm"] = null;
            }
            return declared;
        }

        // (a) Markdown sources

        [Theory]
        [MemberData(nameof(ContractTests.Cmdlets), MemberType = typeof(ContractTests))]
        public void Every_cmdlet_has_Markdown_help_with_synopsis_description_examples_inputs_and_outputs(string typeName)
        {
            var help = HelpFor(CmdletNamed(typeName));
            Assert.False(string.IsNullOrWhiteSpace(help.Synopsis), "SYNOPSIS is empty");
            Assert.NotEmpty(help.Description);
            Assert.True(help.Examples.Count >= 2, $"{help.Name} has {help.Examples.Count} example(s); two are the minimum");
            Assert.All(help.Examples, e =>
            {
                Assert.Contains(help.Name, e.Code);
                Assert.NotEmpty(e.Remarks);
            });
            Assert.NotEmpty(help.Inputs);
            Assert.NotEmpty(help.Outputs);
            Assert.True(help.CommonParameters, "the CommonParameters section is missing");
        }

        [Theory]
        [MemberData(nameof(ContractTests.Cmdlets), MemberType = typeof(ContractTests))]
        public void Every_declared_parameter_is_documented_and_no_other(string typeName)
        {
            var cmdlet = CmdletNamed(typeName);
            var help = HelpFor(cmdlet);
            var declared = DeclaredParameters(cmdlet).Keys.OrderBy(n => n, StringComparer.OrdinalIgnoreCase).ToList();
            var documented = help.Parameters.Select(p => p.Name).OrderBy(n => n, StringComparer.OrdinalIgnoreCase).ToList();
            Assert.True(declared.SequenceEqual(documented, StringComparer.OrdinalIgnoreCase),
                $"{help.Name}: undocumented: [{string.Join(", ", declared.Except(documented, StringComparer.OrdinalIgnoreCase))}]; " +
                $"documented but not declared: [{string.Join(", ", documented.Except(declared, StringComparer.OrdinalIgnoreCase))}]");
        }

        [Theory]
        [MemberData(nameof(ContractTests.Cmdlets), MemberType = typeof(ContractTests))]
        public void The_documented_parameter_metadata_matches_the_attributes(string typeName)
        {
            var cmdlet = CmdletNamed(typeName);
            var help = HelpFor(cmdlet);
            var defaultSet = cmdlet.GetCustomAttribute<CmdletAttribute>().DefaultParameterSetName;
            foreach (var (name, property) in DeclaredParameters(cmdlet))
            {
                var doc = help.Parameters.SingleOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));
                if (doc == null || property == null) continue; // coverage is the other test's job; -WhatIf/-Confirm are the engine's
                var attrs = property.GetCustomAttributes<ParameterAttribute>().ToList();
                var where = $"{help.Name} -{name}";
                Assert.True(attrs.Any(a => a.Mandatory) == doc.Required, $"{where}: Required");
                foreach (var a in attrs.Where(a => a.ParameterSetName != ParameterAttribute.AllParameterSets))
                    Assert.True(a.Mandatory == doc.IsRequiredIn(a.ParameterSetName), $"{where}: Required in {a.ParameterSetName}");
                var position = attrs.Select(a => a.Position).Max();
                Assert.True((position < 0 ? "named" : position.ToString(CultureInfo.InvariantCulture)) == doc.Position, $"{where}: Position is {doc.Position}");
                var byValue = attrs.Any(a => a.ValueFromPipeline);
                var byName = attrs.Any(a => a.ValueFromPipelineByPropertyName);
                Assert.True(doc.PipelineInput.StartsWith(byValue || byName ? "True" : "False", StringComparison.Ordinal), $"{where}: Accept pipeline input");
                Assert.True(byValue == doc.PipelineInput.Contains("ByValue"), $"{where}: ByValue");
                Assert.True(byName == doc.PipelineInput.Contains("ByPropertyName"), $"{where}: ByPropertyName");
                var aliases = property.GetCustomAttributes<AliasAttribute>().SelectMany(a => a.AliasNames).OrderBy(a => a).ToList();
                Assert.True(aliases.SequenceEqual(doc.Aliases.OrderBy(a => a)), $"{where}: Aliases are [{string.Join(", ", doc.Aliases)}]");
                Assert.True(property.GetCustomAttribute<SupportsWildcardsAttribute>() != null == doc.Globbing, $"{where}: Accept wildcard characters");
                var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType; // DateTime? is documented as DateTime
                Assert.True(type.Name == doc.Type, $"{where}: Type is {doc.Type}, the property is {type.Name}");
                var sets = attrs.Select(a => a.ParameterSetName).Where(s => s != ParameterAttribute.AllParameterSets).OrderBy(s => s).ToList();
                if (sets.Count == 0) Assert.True(doc.InAllSets, $"{where}: Parameter Sets should be (All)");
                else Assert.True(sets.SequenceEqual(doc.ParameterSets.OrderBy(s => s)), $"{where}: Parameter Sets");
                if (defaultSet != null && sets.Contains(defaultSet)) Assert.Contains(defaultSet, doc.ParameterSets);
            }
            Assert.Equal(defaultSet == ParameterAttribute.AllParameterSets ? null : defaultSet, help.DefaultParameterSet);
        }

        [Fact]
        public void Every_Markdown_file_documents_a_cmdlet_or_is_listed_as_pending()
        {
            var cmdlets = CmdletNames();
            var files = HelpConverter.SourceFiles(SourceDir).Select(f => Path.GetFileNameWithoutExtension(f)).ToList();
            Assert.NotEmpty(files);
            var orphans = files.Where(f => !cmdlets.Contains(f, StringComparer.OrdinalIgnoreCase) && !PendingCmdlets.Contains(f)).ToList();
            Assert.True(orphans.Count == 0, $"Help without a cmdlet: {string.Join(", ", orphans)}");
            // A pending file must still be real help: it compiles (parses) with every required section.
            foreach (var pending in PendingCmdlets.Where(p => !cmdlets.Contains(p, StringComparer.OrdinalIgnoreCase)))
            {
                var help = HelpConverter.ParseFile(Path.Combine(SourceDir, pending + ".md"));
                Assert.True(help.Examples.Count >= 2);
            }
        }

        [Fact]
        public void The_compiler_refuses_a_file_without_a_required_section_or_with_one_example()
        {
            var good = File.ReadAllText(Path.Combine(SourceDir, "Get-BackupJob.md"));
            HelpConverter.Parse(good, "Get-BackupJob.md");

            var noNotes = Regex.Replace(good, @"## NOTES\n.*?(?=## RELATED LINKS)", string.Empty, RegexOptions.Singleline);
            var ex = Assert.Throws<HelpFormatException>(() => HelpConverter.Parse(noNotes, "Get-BackupJob.md"));
            Assert.Contains("## NOTES", ex.Message);
            Assert.Contains("Get-BackupJob.md", ex.Message);

            var oneExample = Regex.Replace(good, @"### Example 2:.*?(?=## PARAMETERS)", string.Empty, RegexOptions.Singleline);
            ex = Assert.Throws<HelpFormatException>(() => HelpConverter.Parse(oneExample, "Get-BackupJob.md"));
            Assert.Contains("at least 2", ex.Message);

            var dir = Directory.CreateTempSubdirectory("helpcompiler-");
            try
            {
                File.WriteAllText(Path.Combine(dir.FullName, "Get-BackupJob.md"), oneExample);
                var error = new StringWriter();
                var saved = Console.Error;
                Console.SetError(error);
                int rc;
                try { rc = Program.Main(new[] { dir.FullName, Path.Combine(dir.FullName, "out") }); }
                finally { Console.SetError(saved); }
                Assert.NotEqual(0, rc);
                Assert.Contains("at least 2", error.ToString());
            }
            finally
            {
                dir.Delete(recursive: true);
            }
        }

        [Fact]
        public void The_compiler_reads_Required_per_set_and_the_sets_from_the_SYNTAX_headings()
        {
            var good = File.ReadAllText(Path.Combine(SourceDir, "Connect-BackupService.md")).Replace("\r\n", "\n");
            var help = HelpConverter.Parse(good, "Connect-BackupService.md");
            Assert.Equal(new[] { "AccessToken", "AccessKey", "Credential", "ClientCredential", "TokenProvider" }, help.ParameterSetNames);
            var token = help.Parameters.Single(p => p.Name == "AccessToken");
            Assert.True(token.IsRequiredIn("AccessToken"));
            Assert.False(token.IsRequiredIn("TokenProvider"));

            // (New-DisasterRecoveryBackup's retention sets, once the example here, are one set now.)
            var maml = HelpConverter.ToMaml(new[] { help });
            XNamespace command = "http://schemas.microsoft.com/maml/dev/command/2004/10", maml2004 = "http://schemas.microsoft.com/maml/2004/10";
            var first = maml.Descendants(command + "syntaxItem").First().Elements(command + "parameter").Select(e => (string)e.Element(maml2004 + "name")).ToList();
            Assert.Contains("AccessToken", first);
            Assert.DoesNotContain("AccessKeyId", first);
            Assert.DoesNotContain("TokenProvider", first);

            var unnamedSet = good.Replace("Required: True (AccessToken), False (TokenProvider)", "Required: True (AccessToken), False (Tokens)");
            var ex = Assert.Throws<HelpFormatException>(() => HelpConverter.Parse(unnamedSet, "Connect-BackupService.md"));
            Assert.Contains("-AccessToken", ex.Message);
            var noHeading = good.Replace("### ClientCredential\n", string.Empty);
            ex = Assert.Throws<HelpFormatException>(() => HelpConverter.Parse(noHeading, "Connect-BackupService.md"));
            Assert.Contains("'ClientCredential'", ex.Message);
        }

        [Fact]
        public void The_compiler_drops_bold_markers_but_keeps_code_spans_as_written()
        {
            var good = File.ReadAllText(Path.Combine(SourceDir, "Get-BackupJob.md")).Replace("\r\n", "\n");
            var marked = good.Replace("## DESCRIPTION\n",
                "## DESCRIPTION\nSecrets are masked as `***`, **never** shown; `a ** b` and 2 ** 3 keep theirs, [links](https://example.com) lose the address.\n\n");
            var help = HelpConverter.Parse(marked, "Get-BackupJob.md");
            Assert.Equal("Secrets are masked as `***`, never shown; `a ** b` and 2 ** 3 keep theirs, links lose the address.", help.Description[0]);
        }

        [Fact]
        public void Get_Help_shows_the_mask_of_secrets_as_three_asterisks()
        {
            var result = RunInEnglish(@"
(Get-Help Connect-BackupService -Parameter AccessToken).description | ForEach-Object { $_.Text }
(Get-Help New-InstanceBackup).description | ForEach-Object { $_.Text }");
            Assert.Null(result.Terminating);
            Assert.Empty(result.Errors);
            var text = string.Join("\n", result.Output.Select(o => o.ToString()));
            Assert.Contains("masked as `***`", text);
            Assert.DoesNotContain("`*`", text);
        }

        // (b) compiled MAML

        [Fact]
        public void The_compiled_MAML_is_well_formed_with_one_command_per_cmdlet_and_current()
        {
            var path = Path.Combine(OutputHelpDir, HelpConverter.MamlFileName);
            Assert.True(File.Exists(path), $"{path} is missing: the test build compiles it (CompileHelpIntoOutput)");
            var doc = XDocument.Load(path);
            XNamespace msh = "http://msh", command = "http://schemas.microsoft.com/maml/dev/command/2004/10",
                maml = "http://schemas.microsoft.com/maml/2004/10", dev = "http://schemas.microsoft.com/maml/dev/2004/10";
            Assert.Equal(msh + "helpItems", doc.Root.Name);
            Assert.Equal("maml", (string)doc.Root.Attribute("schema"));
            var names = doc.Root.Elements(command + "command").Select(c => (string)c.Element(command + "details").Element(command + "name")).ToList();
            foreach (var cmdlet in CmdletNames())
                Assert.True(names.Count(n => n == cmdlet) == 1, $"{cmdlet} appears {names.Count(n => n == cmdlet)} times in the MAML");
            Assert.All(names, n => Assert.True(CmdletNames().Contains(n) || PendingCmdlets.Contains(n), $"{n} in the MAML is no cmdlet"));
            foreach (var c in doc.Root.Elements(command + "command"))
            {
                Assert.NotNull(c.Element(command + "details").Element(maml + "description"));
                Assert.NotNull(c.Element(maml + "description"));
                Assert.NotEmpty(c.Element(command + "syntax").Elements(command + "syntaxItem"));
                Assert.All(c.Element(command + "parameters").Elements(command + "parameter"), p =>
                {
                    Assert.NotNull(p.Element(maml + "name"));
                    Assert.NotNull(p.Element(dev + "type"));
                    Assert.NotNull(p.Attribute("pipelineInput"));
                });
                Assert.True(c.Element(command + "examples").Elements(command + "example").Count() >= 2);
                Assert.NotNull(c.Element(command + "inputTypes"));
                Assert.NotNull(c.Element(command + "returnValues"));
            }
            // The file in the output is what the sources compile to now (not a stale copy).
            var fresh = HelpConverter.ToMamlText(HelpConverter.SourceFiles(SourceDir).Select(HelpConverter.ParseFile));
            Assert.True(fresh == File.ReadAllText(path), "the compiled help is older than en-US/*.md: rebuild");
        }

        // (c) Get-Help in the hosted engine

        private static PowerShellHost.Result RunInEnglish(string script)
        {
            // Get-Help looks for help in the UI culture's folder; the host takes the culture when it is created.
            var saved = CultureInfo.CurrentUICulture;
            CultureInfo.CurrentUICulture = new CultureInfo("en-US");
            try
            {
                using var host = new PowerShellHost();
                return host.Run(script);
            }
            finally
            {
                CultureInfo.CurrentUICulture = saved;
            }
        }

        [Theory]
        [MemberData(nameof(ContractTests.Cmdlets), MemberType = typeof(ContractTests))]
        public void Get_Help_Full_shows_the_Markdown_synopsis_examples_and_parameters(string typeName)
        {
            var cmdlet = CmdletNamed(typeName);
            var help = HelpFor(cmdlet);
            var result = RunInEnglish($@"
$h = Get-Help {help.Name} -Full
[pscustomobject]@{{
    Synopsis = [string]$h.Synopsis
    Codes = @($h.examples.example | ForEach-Object {{ [string]$_.code }})
    Titles = @($h.examples.example | ForEach-Object {{ [string]$_.title }})
    Parameters = @($h.parameters.parameter | ForEach-Object {{ [string]$_.name }})
    Description = [string]($h.description | ForEach-Object {{ $_.Text }}) 
}}");
            Assert.Null(result.Terminating);
            Assert.Empty(result.Errors);
            var o = result.Output.Single();
            Assert.Equal(help.Synopsis, (string)o.Properties["Synopsis"].Value);
            var codes = ((object[])o.Properties["Codes"].Value).Select(x => ((string)(x is PSObject p ? p.BaseObject : x)).Replace("\r\n", "\n")).ToList();
            Assert.Equal(help.Examples.Select(e => e.Code), codes);
            var titles = ((object[])o.Properties["Titles"].Value).Select(x => x.ToString()).ToList();
            Assert.Equal(help.Examples.Count, titles.Count);
            for (var i = 0; i < titles.Count; i++) Assert.Contains(help.Examples[i].Title, titles[i]);
            var parameters = ((object[])o.Properties["Parameters"].Value).Select(x => x.ToString()).ToList();
            Assert.Equal(help.Parameters.Select(p => p.Name).OrderBy(n => n), parameters.OrderBy(n => n));
            Assert.Contains(help.Description[0], (string)o.Properties["Description"].Value);
        }

        [Theory]
        [MemberData(nameof(ContractTests.Cmdlets), MemberType = typeof(ContractTests))]
        public void Get_Help_shows_one_syntax_per_parameter_set_default_first_with_that_sets_mandatory_parameters(string typeName)
        {
            // Get-Command's parameter sets are the engine's reading of the [Parameter] attributes; Get-Help's syntax
            // items come from the compiled MAML. Each set must have its own item, with its parameters and exactly its
            // mandatory ones marked required, and the default set must come first, as PowerShell's own help does.
            var name = CommandName(CmdletNamed(typeName));
            var result = RunInEnglish($@"
$common = [System.Management.Automation.Cmdlet]::CommonParameters
$sets = @((Get-Command {name}).ParameterSets)
@($sets | Where-Object IsDefault) + @($sets | Where-Object {{ -not $_.IsDefault }}) | ForEach-Object {{
    $p = @($_.Parameters | Where-Object Name -notin $common)
    'set|' + ($p.Name -join ',') + '|' + (@($p | Where-Object IsMandatory | ForEach-Object Name) -join ',')
}}
(Get-Help {name}).syntax.syntaxItem | ForEach-Object {{
    $p = @($_.parameter)
    'help|' + ($p.name -join ',') + '|' + (@($p | Where-Object required -eq 'true' | ForEach-Object name) -join ',')
}}");
            Assert.Null(result.Terminating);
            Assert.Empty(result.Errors);
            static string Sorted(string names) => string.Join(",", names.Split(',', StringSplitOptions.RemoveEmptyEntries).OrderBy(n => n, StringComparer.OrdinalIgnoreCase));
            List<string> Rows(string kind) => result.Output.Select(o => o.ToString().Split('|')).Where(f => f[0] == kind)
                .Select(f => $"{Sorted(f[1])} | mandatory: {Sorted(f[2])}").ToList();
            var sets = Rows("set");
            var items = Rows("help");
            Assert.NotEmpty(sets);
            // The default set first; the others in the help's own order, which the engine's need not match.
            Assert.True(items.Count == sets.Count && items.FirstOrDefault() == sets[0]
                        && items.Skip(1).OrderBy(i => i, StringComparer.Ordinal).SequenceEqual(sets.Skip(1).OrderBy(i => i, StringComparer.Ordinal)),
                $"{name}: parameter sets, default first:\n  {string.Join("\n  ", sets)}\nGet-Help syntax items:\n  {string.Join("\n  ", items)}");
        }

        [Fact]
        public void Get_Help_about_BackupTools_finds_the_topic_in_the_hosted_engine()
        {
            // Only the Core cmdlets are hosted (no Out-String): the topic's text comes from the help object itself.
            var result = RunInEnglish("$h = Get-Help about_BackupTools; [string]$h.GetType().FullName; [string]$h");
            Assert.Null(result.Terminating);
            Assert.Empty(result.Errors);
            var text = string.Concat(result.Output.Select(o => o.ToString()));
            Assert.Contains("about_BackupTools", text);
            Assert.Contains("ERROR CATALOGUE", text);
            Assert.Contains(ErrorIds.BackupCreateOutcomeUnknown, text);
        }

        // (d) about_BackupTools

        private static string AboutText() => File.ReadAllText(Path.Combine(SourceDir, "about_BackupTools.help.txt"));

        public static IEnumerable<object[]> ErrorIdNames() =>
            typeof(ErrorIds).GetFields(BindingFlags.Public | BindingFlags.Static)
                .Where(f => f.IsLiteral).Select(f => new object[] { (string)f.GetRawConstantValue() });

        [Theory]
        [MemberData(nameof(ErrorIdNames))]
        public void About_BackupTools_documents_every_error_id_with_category_and_action(string errorId)
        {
            var text = AboutText().Replace("\r\n", "\n");
            // The catalogue entry: the id alone on an indented line, then its meaning, category and action.
            var entry = Regex.Match(text, $@"\n    {errorId}\n(?<body>(        .*\n)+)");
            Assert.True(entry.Success, $"about_BackupTools has no catalogue entry for {errorId}");
            Assert.Contains("Category:", entry.Groups["body"].Value);
            Assert.Contains("Action:", entry.Groups["body"].Value);
        }

        [Theory]
        [MemberData(nameof(ErrorIdNames))]
        public void Every_error_id_carries_the_catalogue_s_action_when_its_failure_names_none(string errorId)
        {
            var entry = Regex.Match(AboutText().Replace("\r\n", "\n"), $@"\n    {errorId}\n(?<body>(        .*\n)+)");
            var action = Regex.Match(entry.Groups["body"].Value, @"Action:(?<text>.*)", RegexOptions.Singleline).Groups["text"].Value;
            var documented = Regex.Replace(action, @"\s+", " ").Trim();
            var code = ErrorIds.DefaultAction(errorId);
            Assert.False(string.IsNullOrEmpty(code), $"{errorId} has no default action");
            Assert.Equal(documented, char.ToLowerInvariant(code[0]) + code.Substring(1));
            // An error record built from a failure that named no action shows the catalogue's.
            var record = Commands.BackupCmdletBase.ToErrorRecord(new BackupToolsException(errorId, BackupErrorCategory.NotSpecified, "m"));
            Assert.Equal(code, record.ErrorDetails.RecommendedAction);
            // One that named its own keeps it.
            Assert.Equal("Do this.", new BackupToolsException(errorId, BackupErrorCategory.NotSpecified, "m") { RecommendedAction = "Do this." }.RecommendedAction);
        }

        /// <summary>The categories the catalogue entry of <paramref name="errorId"/> names after "Category:".</summary>
        private static HashSet<string> DocumentedCategories(string errorId)
        {
            var entry = Regex.Match(AboutText().Replace("\r\n", "\n"), $@"\n    {errorId}\n(?<body>(        .*\n)+)");
            Assert.True(entry.Success, $"about_BackupTools has no catalogue entry for {errorId}");
            var category = Regex.Match(entry.Groups["body"].Value, @"Category:(?<text>.*?)Action:", RegexOptions.Singleline);
            Assert.True(category.Success, $"{errorId}: no 'Category: … Action:' in its entry");
            return new HashSet<string>(Regex.Matches(category.Groups["text"].Value, @"\b[A-Z][A-Za-z]+\b").Select(m => m.Value)
                .Where(w => Enum.IsDefined(typeof(BackupErrorCategory), w)));
        }

        /// <summary>
        /// The pairs the code raises with both halves literal (<c>ErrorIds.X, BackupErrorCategory.Y</c> side by side),
        /// read from the sources. Pairs built from variables (a transport failure's category, a job's outcome) are not
        /// seen here; the service errors' status categories are checked from <see cref="Http.ServiceResponse.CategoryFor"/>.
        /// </summary>
        public static IEnumerable<object[]> LiteralErrorPairs()
        {
            var src = Path.Combine(ContractTests.RepoRoot(), "src");
            var sep = Path.DirectorySeparatorChar;
            return Directory.GetFiles(src, "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains($"{sep}obj{sep}") && !f.Contains($"{sep}bin{sep}"))
                .SelectMany(f => Regex.Matches(File.ReadAllText(f), @"ErrorIds\.(\w+)\s*,\s*BackupErrorCategory\.(\w+)")
                    .Select(m => (Id: m.Groups[1].Value, Category: m.Groups[2].Value, File: Path.GetFileName(f))))
                // AkSkCredential.GetTokenAsync: no provider that takes an access key asks it for a token; a guard
                // against a provider defect, which users cannot meet.
                .Where(p => !(p.File == "AkSkCredential.cs" && p.Category == nameof(BackupErrorCategory.InvalidOperation)))
                .GroupBy(p => (p.Id, p.Category))
                .Select(g => new object[] { g.Key.Id, g.Key.Category, string.Join(", ", g.Select(p => p.File).Distinct()) });
        }

        [Theory]
        [MemberData(nameof(LiteralErrorPairs))]
        public void About_BackupTools_names_each_category_the_code_raises_an_error_id_with(string errorId, string category, string files)
        {
            Assert.True(DocumentedCategories(errorId).Contains(category),
                $"{errorId} is raised with the category {category} ({files}), which its about_BackupTools entry does not name");
        }

        [Fact]
        public void About_BackupTools_names_every_category_a_service_error_takes_from_its_status()
        {
            var documented = DocumentedCategories(ErrorIds.BackupServiceError);
            var missing = Enumerable.Range(200, 400).Select(s => (Status: s, Category: Http.ServiceResponse.CategoryFor(s).ToString()))
                .Where(x => !documented.Contains(x.Category)).GroupBy(x => x.Category)
                .Select(g => $"{g.Key} (HTTP {g.First().Status}…)").ToList();
            Assert.True(missing.Count == 0, "BackupServiceError's entry does not name: " + string.Join(", ", missing));
        }

        [Fact]
        public void About_BackupTools_has_its_sections_and_no_line_over_80_characters()
        {
            var lines = AboutText().Replace("\r\n", "\n").Split('\n');
            foreach (var section in new[] { "TOPIC", "SHORT DESCRIPTION", "LONG DESCRIPTION", "ERROR CATALOGUE", "THE SIMULATOR", "SEE ALSO" })
                Assert.Contains(section, lines);
            var idx = Array.IndexOf(lines, "TOPIC");
            Assert.Equal("about_BackupTools", lines[idx + 1].Trim());
            var longLines = lines.Select((l, i) => (l, i)).Where(x => x.l.Length > 80).Select(x => $"line {x.i + 1} ({x.l.Length})").ToList();
            Assert.True(longLines.Count == 0, "Lines over 80 characters: " + string.Join(", ", longLines));
            Assert.True(File.Exists(Path.Combine(OutputHelpDir, "about_BackupTools.help.txt")), "the about topic is not in the output's en-US");
        }

        [Fact]
        public void About_BackupTools_SEE_ALSO_names_every_cmdlet()
        {
            // Get-Help about_BackupTools ended with five of the six cmdlets: New-DisasterRecoveryBackup was missing.
            var text = AboutText().Replace("\r\n", "\n");
            var seeAlso = text.Substring(text.IndexOf("\nSEE ALSO\n", StringComparison.Ordinal));
            var named = seeAlso.Split('\n').Select(l => l.Trim()).ToList();
            Assert.All(CmdletNames(), c => Assert.Contains(c, named));
        }
    }
}
