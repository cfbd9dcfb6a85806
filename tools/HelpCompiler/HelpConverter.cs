using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;

namespace BackupTools.HelpCompiler
{
    /// <summary>A help source that breaks the required layout; the message names the file and what is missing.</summary>
    public sealed class HelpFormatException : Exception
    {
        public HelpFormatException(string message) : base(message) { }
    }

    /// <summary>One cmdlet's help as read from its Markdown file.</summary>
    public sealed class CommandHelp
    {
        public string Name { get; set; }
        public string Verb => Name.Split('-')[0];
        public string Noun => Name.Substring(Name.IndexOf('-') + 1);
        public string SourceFile { get; set; }
        public string Synopsis { get; set; }
        public List<string> Description { get; } = new List<string>();
        public List<ExampleHelp> Examples { get; } = new List<ExampleHelp>();
        public List<ParameterHelp> Parameters { get; } = new List<ParameterHelp>();
        /// <summary>
        /// The parameter sets, from the <c>### SetName</c> headings of <c>## SYNTAX</c>, the default set
        /// (<c>### SetName (Default)</c>) first; empty when the cmdlet has one set (no headings).
        /// </summary>
        public List<string> ParameterSetNames { get; } = new List<string>();
        public string DefaultParameterSet { get; set; }
        public bool CommonParameters { get; set; }
        public List<TypeHelp> Inputs { get; } = new List<TypeHelp>();
        public List<TypeHelp> Outputs { get; } = new List<TypeHelp>();
        public List<string> Notes { get; } = new List<string>();
        public List<LinkHelp> RelatedLinks { get; } = new List<LinkHelp>();
    }

    public sealed class ExampleHelp
    {
        public string Title { get; set; }
        public string Code { get; set; }
        public List<string> Remarks { get; } = new List<string>();
    }

    public sealed class ParameterHelp
    {
        public string Name { get; set; }
        public List<string> Description { get; } = new List<string>();
        public string Type { get; set; }
        public List<string> ParameterSets { get; } = new List<string>();
        public List<string> Aliases { get; } = new List<string>();
        /// <summary>Whether the parameter is mandatory in any of its sets.</summary>
        public bool Required { get; set; }
        /// <summary>
        /// Written per set (<c>Required: True (AccessToken), False (TokenProvider)</c>): whether it is mandatory in each
        /// set; empty when one value holds in every set.
        /// </summary>
        public Dictionary<string, bool> RequiredBySet { get; } = new Dictionary<string, bool>(StringComparer.Ordinal);
        /// <summary>"0", "1", … or "named".</summary>
        public string Position { get; set; }
        public string DefaultValue { get; set; }
        /// <summary>As written: "False", "True (ByValue)", "True (ByPropertyName)", "True (ByPropertyName, ByValue)".</summary>
        public string PipelineInput { get; set; }
        public bool Globbing { get; set; }
        public bool IsSwitch => Type == "SwitchParameter";
        public bool InAllSets => ParameterSets.Count == 0 || ParameterSets.Any(s => s == "(All)");
        /// <summary>Whether the parameter is mandatory in the parameter set <paramref name="set"/>.</summary>
        public bool IsRequiredIn(string set) => set != null && RequiredBySet.TryGetValue(set, out var required) ? required : Required;
    }

    public sealed class TypeHelp
    {
        public string Name { get; set; }
        public List<string> Description { get; } = new List<string>();
    }

    public sealed class LinkHelp
    {
        public string Text { get; set; }
        public string Uri { get; set; }
    }

    /// <summary>The result of compiling a folder.</summary>
    public sealed class CompileResult
    {
        public IReadOnlyList<CommandHelp> Commands { get; set; }
        public string MamlPath { get; set; }
        public IReadOnlyList<string> AboutTopics { get; set; }
    }

    /// <summary>
    /// Markdown help (the platyPS layout) to MAML, in one place: the command-line tool, the module's packaging and
    /// the tests all use this class, so what the tests check is what ships.
    /// </summary>
    public static class HelpConverter
    {
        public const string MamlFileName = "BackupTools.dll-Help.xml";

        public static readonly string[] RequiredSections =
        {
            "SYNOPSIS", "SYNTAX", "DESCRIPTION", "EXAMPLES", "PARAMETERS", "INPUTS", "OUTPUTS", "NOTES", "RELATED LINKS",
        };

        public static readonly string[] RequiredYamlKeys =
        {
            "Type", "Parameter Sets", "Aliases", "Required", "Position", "Default value", "Accept pipeline input", "Accept wildcard characters",
        };

        public const int MinimumExamples = 2;

        private static readonly XNamespace Msh = "http://msh";
        private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
        private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
        private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";
        private static readonly XNamespace MsHelp = "http://msdn.microsoft.com/mshelp";

        /// <summary>The cmdlet help sources of a folder: <c>Verb-Noun.md</c>.</summary>
        public static IEnumerable<string> SourceFiles(string sourceDir) =>
            Directory.GetFiles(sourceDir, "*-*.md").OrderBy(f => f, StringComparer.OrdinalIgnoreCase);

        /// <summary>Reads every source, writes the MAML file and copies the about topics. Throws <see cref="HelpFormatException"/>.</summary>
        public static CompileResult Compile(string sourceDir, string outputDir)
        {
            if (!Directory.Exists(sourceDir)) throw new HelpFormatException($"The source folder '{sourceDir}' does not exist.");
            var files = SourceFiles(sourceDir).ToList();
            if (files.Count == 0) throw new HelpFormatException($"'{sourceDir}' has no Verb-Noun.md help files.");
            var commands = files.Select(ParseFile).ToList();
            var duplicate = commands.GroupBy(c => c.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
            if (duplicate != null) throw new HelpFormatException($"{duplicate.Key} is documented twice.");

            Directory.CreateDirectory(outputDir);
            var mamlPath = Path.Combine(outputDir, MamlFileName);
            File.WriteAllText(mamlPath, ToMamlText(commands), new UTF8Encoding(false));

            var abouts = new List<string>();
            foreach (var about in Directory.GetFiles(sourceDir, "about_*.help.txt"))
            {
                var target = Path.Combine(outputDir, Path.GetFileName(about));
                if (!string.Equals(Path.GetFullPath(about), Path.GetFullPath(target), StringComparison.OrdinalIgnoreCase))
                    File.Copy(about, target, overwrite: true);
                abouts.Add(target);
            }
            return new CompileResult { Commands = commands, MamlPath = mamlPath, AboutTopics = abouts };
        }

        public static CommandHelp ParseFile(string path) => Parse(File.ReadAllText(path), Path.GetFileName(path));

        /// <summary>Parses one Markdown help file; <paramref name="fileName"/> names it in error messages.</summary>
        public static CommandHelp Parse(string markdown, string fileName)
        {
            var lines = markdown.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n').ToList();
            var i = 0;
            if (lines.Count > 0 && lines[0].Trim() == "---")
            {
                var end = lines.FindIndex(1, l => l.Trim() == "---");
                if (end < 0) throw new HelpFormatException($"{fileName}: the metadata block opened by '---' is not closed.");
                i = end + 1;
            }

            var help = new CommandHelp { SourceFile = fileName };
            string section = null;
            var sections = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            var inFence = false;
            for (; i < lines.Count; i++)
            {
                var line = lines[i];
                if (line.TrimStart().StartsWith("```", StringComparison.Ordinal)) inFence = !inFence;
                if (!inFence && line.StartsWith("# ", StringComparison.Ordinal) && help.Name == null && section == null)
                {
                    help.Name = line.Substring(2).Trim();
                    continue;
                }
                if (!inFence && line.StartsWith("## ", StringComparison.Ordinal))
                {
                    section = line.Substring(3).Trim().ToUpperInvariant();
                    if (sections.ContainsKey(section)) throw new HelpFormatException($"{fileName}: section '## {section}' appears twice.");
                    sections[section] = new List<string>();
                    continue;
                }
                if (section != null) sections[section].Add(line);
            }
            if (inFence) throw new HelpFormatException($"{fileName}: a ``` code block is not closed.");
            if (help.Name == null || !Regex.IsMatch(help.Name, @"^[A-Za-z]+-[A-Za-z]+$"))
                throw new HelpFormatException($"{fileName}: the first heading must be '# Verb-Noun'.");
            var expectedFile = help.Name + ".md";
            if (!string.Equals(fileName, expectedFile, StringComparison.OrdinalIgnoreCase))
                throw new HelpFormatException($"{fileName}: documents {help.Name}, so it must be named {expectedFile}.");
            foreach (var required in RequiredSections)
                if (!sections.ContainsKey(required))
                    throw new HelpFormatException($"{fileName}: the required section '## {required}' is missing.");

            help.Synopsis = string.Join(" ", Paragraphs(sections["SYNOPSIS"]));
            if (string.IsNullOrWhiteSpace(help.Synopsis)) throw new HelpFormatException($"{fileName}: '## SYNOPSIS' is empty.");
            help.Description.AddRange(Paragraphs(sections["DESCRIPTION"]));
            if (help.Description.Count == 0) throw new HelpFormatException($"{fileName}: '## DESCRIPTION' is empty.");
            help.Notes.AddRange(Paragraphs(sections["NOTES"]));

            foreach (var (title, body) in SubSections(sections["EXAMPLES"], fileName, "EXAMPLES"))
                help.Examples.Add(ParseExample(title, body, fileName));
            if (help.Examples.Count < MinimumExamples)
                throw new HelpFormatException($"{fileName}: '## EXAMPLES' has {help.Examples.Count} example(s); at least {MinimumExamples} are required.");

            foreach (var (title, body) in SubSections(sections["PARAMETERS"], fileName, "PARAMETERS"))
            {
                if (title == "CommonParameters") { help.CommonParameters = true; continue; }
                if (!title.StartsWith("-", StringComparison.Ordinal) || title.Length < 2)
                    throw new HelpFormatException($"{fileName}: '### {title}' under PARAMETERS must be '### -Name' or '### CommonParameters'.");
                help.Parameters.Add(ParseParameter(title.Substring(1), body, fileName));
            }
            var twice = help.Parameters.GroupBy(p => p.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
            if (twice != null) throw new HelpFormatException($"{fileName}: parameter -{twice.Key} is documented twice.");
            ParseSyntaxSets(help, sections["SYNTAX"], fileName);

            help.Inputs.AddRange(Types(sections["INPUTS"], fileName, "INPUTS"));
            help.Outputs.AddRange(Types(sections["OUTPUTS"], fileName, "OUTPUTS"));

            foreach (var line in sections["RELATED LINKS"])
            {
                var m = Regex.Match(line, @"^\s*\[(?<text>[^\]]+)\]\((?<uri>[^)]*)\)");
                if (m.Success)
                {
                    var uri = m.Groups["uri"].Value.Trim();
                    help.RelatedLinks.Add(new LinkHelp
                    {
                        Text = m.Groups["text"].Value.Trim(),
                        Uri = Regex.IsMatch(uri, "^https?://", RegexOptions.IgnoreCase) ? uri : string.Empty,
                    });
                }
            }
            return help;
        }

        /// <summary>
        /// The parameter sets named by the <c>### SetName</c> / <c>### SetName (Default)</c> headings of <c>## SYNTAX</c>:
        /// they, not the sets the parameters list, make the syntax, because a default set may have no parameter of its
        /// own (every parameter in it is in all sets).
        /// </summary>
        private static void ParseSyntaxSets(CommandHelp help, List<string> lines, string fileName)
        {
            var names = new List<string>();
            var inFence = false;
            foreach (var line in lines)
            {
                if (line.TrimStart().StartsWith("```", StringComparison.Ordinal)) inFence = !inFence;
                if (inFence || !line.StartsWith("### ", StringComparison.Ordinal)) continue;
                var m = Regex.Match(line.Substring(4).Trim(), @"^(?<name>[^\s()]+)(?<default>\s+\(Default\))?$");
                if (!m.Success) throw new HelpFormatException($"{fileName}: '{line.Trim()}' under SYNTAX must be '### SetName' or '### SetName (Default)'.");
                var name = m.Groups["name"].Value;
                if (names.Contains(name)) throw new HelpFormatException($"{fileName}: parameter set '{name}' has two headings under SYNTAX.");
                if (m.Groups["default"].Success)
                {
                    if (help.DefaultParameterSet != null) throw new HelpFormatException($"{fileName}: SYNTAX marks two parameter sets '(Default)'.");
                    help.DefaultParameterSet = name;
                }
                names.Add(name);
            }
            // platyPS names the one set of a cmdlet without sets so.
            if (names.Count == 1 && names[0] == "__AllParameterSets") { names.Clear(); help.DefaultParameterSet = null; }

            var listed = help.Parameters.SelectMany(p => p.ParameterSets).Where(s => s != "(All)").Distinct().ToList();
            foreach (var set in listed)
                if (!names.Contains(set))
                    throw new HelpFormatException($"{fileName}: parameter set '{set}' (in a parameter's 'Parameter Sets:') has no '### {set}' heading under SYNTAX.");
            foreach (var set in names)
                if (!listed.Contains(set) && set != help.DefaultParameterSet)
                    throw new HelpFormatException($"{fileName}: '### {set}' under SYNTAX is no parameter's set and not the default set.");
            if (help.DefaultParameterSet != null) help.ParameterSetNames.Add(help.DefaultParameterSet);
            help.ParameterSetNames.AddRange(names.Where(n => n != help.DefaultParameterSet));
        }

        private static ExampleHelp ParseExample(string title, List<string> body, string fileName)
        {
            if (!Regex.IsMatch(title, @"^Example \d+: \S"))
                throw new HelpFormatException($"{fileName}: example heading '### {title}' must be '### Example N: title'.");
            var example = new ExampleHelp { Title = title };
            var start = body.FindIndex(l => l.Trim().StartsWith("```", StringComparison.Ordinal));
            if (start < 0 || !body[start].Trim().Equals("```powershell", StringComparison.OrdinalIgnoreCase))
                throw new HelpFormatException($"{fileName}: '{title}' needs a ```powershell code block.");
            var end = body.FindIndex(start + 1, l => l.Trim() == "```");
            example.Code = string.Join("\n", body.Skip(start + 1).Take(end - start - 1)).Trim('\n');
            if (string.IsNullOrWhiteSpace(example.Code)) throw new HelpFormatException($"{fileName}: '{title}' has an empty code block.");
            example.Remarks.AddRange(Paragraphs(body.Take(start).Concat(body.Skip(end + 1)).ToList()));
            if (example.Remarks.Count == 0) throw new HelpFormatException($"{fileName}: '{title}' needs an explanation after its code.");
            return example;
        }

        private static ParameterHelp ParseParameter(string name, List<string> body, string fileName)
        {
            var start = body.FindIndex(l => l.Trim().Equals("```yaml", StringComparison.OrdinalIgnoreCase));
            if (start < 0) throw new HelpFormatException($"{fileName}: parameter -{name} needs a ```yaml block.");
            var end = body.FindIndex(start + 1, l => l.Trim() == "```");
            var yaml = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var line in body.Skip(start + 1).Take(end - start - 1))
            {
                var colon = line.IndexOf(':');
                if (colon > 0) yaml[line.Substring(0, colon).Trim()] = line.Substring(colon + 1).Trim();
            }
            foreach (var key in RequiredYamlKeys)
                if (!yaml.ContainsKey(key)) throw new HelpFormatException($"{fileName}: parameter -{name}: the yaml block lacks '{key}:'.");
            var p = new ParameterHelp
            {
                Name = name,
                Type = yaml["Type"],
                Position = yaml["Position"].Equals("Named", StringComparison.OrdinalIgnoreCase) ? "named" : yaml["Position"],
                DefaultValue = yaml["Default value"],
                PipelineInput = yaml["Accept pipeline input"],
                Globbing = yaml["Accept wildcard characters"].StartsWith("True", StringComparison.OrdinalIgnoreCase),
            };
            if (string.IsNullOrEmpty(p.Type)) throw new HelpFormatException($"{fileName}: parameter -{name} has no Type.");
            if (p.Position != "named" && !int.TryParse(p.Position, out _))
                throw new HelpFormatException($"{fileName}: parameter -{name}: Position must be a number or Named.");
            p.ParameterSets.AddRange(List(yaml["Parameter Sets"]));
            p.Aliases.AddRange(List(yaml["Aliases"]));
            ParseRequired(p, yaml["Required"], fileName);
            p.Description.AddRange(Paragraphs(body.Take(start).ToList()));
            if (p.Description.Count == 0) throw new HelpFormatException($"{fileName}: parameter -{name} has no description.");
            return p;
        }

        /// <summary>
        /// <c>Required:</c> is <c>True</c> or <c>False</c> for every set, or per set as platyPS writes it:
        /// <c>True (AccessToken), False (TokenProvider)</c>, naming each of the parameter's sets once.
        /// </summary>
        private static void ParseRequired(ParameterHelp p, string value, string fileName)
        {
            var whole = Regex.Match(value, @"^(True|False)$", RegexOptions.IgnoreCase);
            if (whole.Success)
            {
                p.Required = whole.Value.Equals("True", StringComparison.OrdinalIgnoreCase);
                return;
            }
            var form = $"{fileName}: parameter -{p.Name}: 'Required: {value}' must be True, False, or per set as 'True (SetA), False (SetB)'";
            if (!Regex.IsMatch(value, @"^(True|False)\s*\([^()]+\)(\s*,\s*(True|False)\s*\([^()]+\))*$", RegexOptions.IgnoreCase))
                throw new HelpFormatException(form + ".");
            foreach (Match m in Regex.Matches(value, @"(?<value>True|False)\s*\((?<sets>[^()]+)\)", RegexOptions.IgnoreCase))
            {
                var required = m.Groups["value"].Value.Equals("True", StringComparison.OrdinalIgnoreCase);
                foreach (var set in List(m.Groups["sets"].Value))
                {
                    if (p.RequiredBySet.ContainsKey(set)) throw new HelpFormatException($"{form}: '{set}' is named twice.");
                    p.RequiredBySet[set] = required;
                }
            }
            var sets = p.ParameterSets.Where(s => s != "(All)").ToList();
            if (p.InAllSets || !p.RequiredBySet.Keys.OrderBy(k => k, StringComparer.Ordinal).SequenceEqual(sets.OrderBy(k => k, StringComparer.Ordinal)))
                throw new HelpFormatException($"{form}, naming each of its parameter sets ({string.Join(", ", p.ParameterSets)}) once.");
            p.Required = p.RequiredBySet.Values.Any(r => r);
        }

        private static IEnumerable<TypeHelp> Types(List<string> lines, string fileName, string section)
        {
            var found = false;
            foreach (var (title, body) in SubSections(lines, fileName, section))
            {
                found = true;
                var t = new TypeHelp { Name = title };
                t.Description.AddRange(Paragraphs(body));
                yield return t;
            }
            if (!found) throw new HelpFormatException($"{fileName}: '## {section}' needs at least one '### TypeName' (or '### None').");
        }

        private static IEnumerable<string> List(string value) =>
            value.Split(',').Select(s => s.Trim()).Where(s => s.Length > 0 && !s.Equals("None", StringComparison.OrdinalIgnoreCase));

        /// <summary>The <c>### title</c> subsections of a section; text before the first one is not allowed.</summary>
        private static List<(string Title, List<string> Body)> SubSections(List<string> lines, string fileName, string section)
        {
            var result = new List<(string, List<string>)>();
            var inFence = false;
            foreach (var line in lines)
            {
                if (line.TrimStart().StartsWith("```", StringComparison.Ordinal)) inFence = !inFence;
                if (!inFence && line.StartsWith("### ", StringComparison.Ordinal))
                {
                    result.Add((line.Substring(4).Trim(), new List<string>()));
                    continue;
                }
                if (result.Count == 0)
                {
                    if (line.Trim().Length > 0)
                        throw new HelpFormatException($"{fileName}: '## {section}' has text before its first '###' heading.");
                    continue;
                }
                result[result.Count - 1].Item2.Add(line);
            }
            return result;
        }

        /// <summary>Paragraphs of prose: lines joined, blank lines separate, fenced blocks kept verbatim as one paragraph.</summary>
        private static List<string> Paragraphs(List<string> lines)
        {
            var paragraphs = new List<string>();
            var current = new List<string>();
            void Flush()
            {
                if (current.Count > 0) paragraphs.Add(Inline(string.Join(" ", current.Select(l => l.Trim()))));
                current.Clear();
            }
            for (var i = 0; i < lines.Count; i++)
            {
                var line = lines[i];
                if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
                {
                    Flush();
                    var block = new List<string>();
                    for (i++; i < lines.Count && lines[i].Trim() != "```"; i++) block.Add(lines[i]);
                    paragraphs.Add(string.Join("\n", block));
                    continue;
                }
                if (line.Trim().Length == 0) Flush();
                else current.Add(line);
            }
            Flush();
            return paragraphs;
        }

        /// <summary>
        /// Markdown inline markup that reads badly in a console: links become their text, bold emphasis
        /// (<c>**text**</c>) loses its asterisks. Code spans are kept as written, so <c>`***`</c> (how secrets are
        /// masked) stays three asterisks.
        /// </summary>
        private static string Inline(string text)
        {
            var parts = Regex.Split(text, "(`[^`]*`)");
            for (var i = 0; i < parts.Length; i++)
            {
                if (parts[i].StartsWith("`", StringComparison.Ordinal) && parts[i].EndsWith("`", StringComparison.Ordinal) && parts[i].Length > 1) continue;
                parts[i] = Regex.Replace(parts[i], @"\[([^\]]+)\]\([^)]*\)", "$1");
                parts[i] = Regex.Replace(parts[i], @"\*\*(?=\S)(.+?)(?<=\S)\*\*", "$1");
            }
            return string.Concat(parts);
        }

        /// <summary>The MAML file's exact text.</summary>
        public static string ToMamlText(IEnumerable<CommandHelp> commands)
        {
            var settings = new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false) };
            using (var stream = new MemoryStream())
            {
                using (var writer = XmlWriter.Create(stream, settings))
                    ToMaml(commands).Save(writer);
                return new UTF8Encoding(false).GetString(stream.ToArray());
            }
        }

        /// <summary>The MAML document for the commands (the schema Get-Help reads).</summary>
        public static XDocument ToMaml(IEnumerable<CommandHelp> commands)
        {
            var root = new XElement(Msh + "helpItems", new XAttribute("schema", "maml"));
            foreach (var c in commands) root.Add(CommandElement(c));
            return new XDocument(new XDeclaration("1.0", "utf-8", null), root);
        }

        private static XElement Paras(XName name, IEnumerable<string> paragraphs) =>
            new XElement(name, paragraphs.Select(p => new XElement(Maml + "para", p)));

        private static XElement CommandElement(CommandHelp c)
        {
            // One syntax item per parameter set, the default first (Get-Help shows them in this order).
            var sets = c.ParameterSetNames.Count > 0 ? c.ParameterSetNames.ToList() : new List<string> { null };
            var syntax = new XElement(Command + "syntax");
            foreach (var set in sets)
            {
                var members = c.Parameters.Where(p => set == null || p.InAllSets || p.ParameterSets.Contains(set))
                    .OrderBy(p => p.Position == "named" ? int.MaxValue : int.Parse(p.Position)).ToList();
                syntax.Add(new XElement(Command + "syntaxItem",
                    new XElement(Maml + "name", c.Name),
                    members.Select(p => ParameterElement(p, p.IsRequiredIn(set), inSyntax: true))));
            }

            return new XElement(Command + "command",
                new XAttribute(XNamespace.Xmlns + "maml", Maml),
                new XAttribute(XNamespace.Xmlns + "command", Command),
                new XAttribute(XNamespace.Xmlns + "dev", Dev),
                new XAttribute(XNamespace.Xmlns + "MSHelp", MsHelp),
                new XElement(Command + "details",
                    new XElement(Command + "name", c.Name),
                    new XElement(Command + "verb", c.Verb),
                    new XElement(Command + "noun", c.Noun),
                    Paras(Maml + "description", new[] { c.Synopsis })),
                Paras(Maml + "description", c.Description),
                syntax,
                new XElement(Command + "parameters", c.Parameters.Select(p => ParameterElement(p, p.Required, inSyntax: false))),
                new XElement(Command + "inputTypes", c.Inputs.Select(t => new XElement(Command + "inputType",
                    new XElement(Dev + "type", new XElement(Maml + "name", t.Name)),
                    Paras(Maml + "description", t.Description)))),
                new XElement(Command + "returnValues", c.Outputs.Select(t => new XElement(Command + "returnValue",
                    new XElement(Dev + "type", new XElement(Maml + "name", t.Name)),
                    Paras(Maml + "description", t.Description)))),
                new XElement(Maml + "alertSet", new XElement(Maml + "alert", c.Notes.Select(n => new XElement(Maml + "para", n)))),
                new XElement(Command + "examples", c.Examples.Select(e => new XElement(Command + "example",
                    new XElement(Maml + "title", $"--------- {e.Title} ---------"),
                    new XElement(Dev + "code", e.Code),
                    Paras(Dev + "remarks", e.Remarks)))),
                new XElement(Command + "relatedLinks", c.RelatedLinks.Select(l => new XElement(Maml + "navigationLink",
                    new XElement(Maml + "linkText", l.Text),
                    new XElement(Maml + "uri", l.Uri)))));
        }

        /// <param name="required">In a syntax item, whether it is mandatory in that item's set; in the parameter list,
        /// whether it is mandatory in any set (MAML has one value there).</param>
        private static XElement ParameterElement(ParameterHelp p, bool required, bool inSyntax)
        {
            var e = new XElement(Command + "parameter",
                new XAttribute("required", required ? "true" : "false"),
                new XAttribute("variableLength", p.Type.EndsWith("[]", StringComparison.Ordinal) ? "true" : "false"),
                new XAttribute("globbing", p.Globbing ? "true" : "false"),
                new XAttribute("pipelineInput", p.PipelineInput),
                new XAttribute("position", p.Position),
                new XAttribute("aliases", p.Aliases.Count == 0 ? "none" : string.Join(", ", p.Aliases)),
                new XElement(Maml + "name", p.Name),
                Paras(Maml + "description", p.Description));
            // Get-Help shows a switch in the syntax without a value.
            if (!(inSyntax && p.IsSwitch))
                e.Add(new XElement(Command + "parameterValue",
                    new XAttribute("required", p.IsSwitch ? "false" : "true"),
                    new XAttribute("variableLength", "false"), p.Type));
            e.Add(new XElement(Dev + "type", new XElement(Maml + "name", p.Type), new XElement(Maml + "uri")));
            e.Add(new XElement(Dev + "defaultValue", p.DefaultValue));
            return e;
        }
    }
}
