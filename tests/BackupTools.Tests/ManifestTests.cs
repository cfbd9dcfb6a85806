using System;
using System.Collections;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>The manifest, format and type files agree with the assembly and with the one version source.</summary>
    public sealed class ManifestTests
    {
        private static Hashtable Manifest()
        {
            var text = File.ReadAllText(Path.Combine(ContractTests.RepoRoot(), "module", "BackupTools.psd1"));
            using var ps = PowerShell.Create(System.Management.Automation.Runspaces.InitialSessionState.CreateDefault2());
            // Restricted language, as Import-PowerShellDataFile reads it.
            ps.AddScript("param($t) $sb = [scriptblock]::Create($t); $sb.CheckRestrictedLanguage([string[]]@(), [string[]]@(), $false); & $sb").AddArgument(text);
            return (Hashtable)ps.Invoke().Single().BaseObject;
        }

        [Fact]
        public void Exports_are_exactly_the_cmdlets_in_the_assembly()
        {
            var manifest = Manifest();
            var exported = ((object[])manifest["CmdletsToExport"]).Cast<string>().OrderBy(x => x).ToArray();
            var actual = ContractTests.CmdletTypes().Select(t => { var a = t.GetCustomAttribute<CmdletAttribute>(); return a.VerbName + "-" + a.NounName; })
                .OrderBy(x => x).ToArray();
            Assert.Equal(actual, exported);
            Assert.Empty((object[])manifest["FunctionsToExport"]);
            Assert.Empty((object[])manifest["VariablesToExport"]);
            Assert.Empty((object[])manifest["AliasesToExport"]);
            Assert.DoesNotContain(exported, e => e.Contains("*"));
        }

        [Fact]
        public void The_manifest_version_is_the_one_in_Directory_Build_props()
        {
            var props = File.ReadAllText(Path.Combine(ContractTests.RepoRoot(), "Directory.Build.props"));
            var version = Regex.Match(props, "<ModuleVersion>([^<]+)</ModuleVersion>").Groups[1].Value;
            Assert.Equal(version, (string)Manifest()["ModuleVersion"]);
            Assert.Equal(version, typeof(BackupJob).Assembly.GetName().Version.ToString(3));
        }

        [Fact]
        public void The_manifest_targets_both_editions()
        {
            var manifest = Manifest();
            Assert.Equal(new[] { "Desktop", "Core" }, ((object[])manifest["CompatiblePSEditions"]).Cast<string>());
            Assert.Equal("5.1", manifest["PowerShellVersion"]);
            Assert.NotNull(manifest["DotNetFrameworkVersion"]);
            Assert.Equal("BackupTools.dll", manifest["RootModule"]);
        }

        [Fact]
        public void The_module_imports_and_exports_what_the_manifest_says()
        {
            using var host = new PowerShellHost();
            var r = host.Run("(Get-Module BackupTools).ExportedCmdlets.Keys");
            var exported = ((object[])Manifest()["CmdletsToExport"]).Cast<string>().OrderBy(x => x);
            Assert.Equal(exported, r.Output.Select(o => o.ToString()).OrderBy(x => x));
        }

        [Theory]
        [InlineData(typeof(BackupJob))]
        [InlineData(typeof(BackupConnection))]
        [InlineData(typeof(BackupProviderInfo))]
        public void Every_output_type_has_a_table_view_and_a_default_display_set(Type type)
        {
            var root = ContractTests.RepoRoot();
            var format = XDocument.Load(Path.Combine(root, "module", "BackupTools.Format.ps1xml"));
            var views = format.Descendants("View").Where(v => v.Element("ViewSelectedBy")?.Element("TypeName")?.Value == type.FullName).ToList();
            Assert.Contains(views, v => v.Element("TableControl") != null);
            var types = XDocument.Load(Path.Combine(root, "module", "BackupTools.Types.ps1xml"));
            var entry = types.Descendants("Type").Single(t => t.Element("Name")?.Value == type.FullName);
            var shown = entry.Descendants("ReferencedProperties").Single().Elements("Name").Select(e => e.Value).ToList();
            Assert.NotEmpty(shown);
            foreach (var name in shown) Assert.NotNull(type.GetProperty(name));
            // Every property a view names exists on the type (a renamed property breaks the view silently otherwise).
            foreach (var property in views.SelectMany(v => v.Descendants("PropertyName")).Select(e => e.Value))
                Assert.NotNull(type.GetProperty(property));
        }

        [Fact]
        public void The_table_view_of_a_job_fits_80_columns()
        {
            var format = XDocument.Load(Path.Combine(ContractTests.RepoRoot(), "module", "BackupTools.Format.ps1xml"));
            foreach (var table in format.Descendants("TableControl"))
            {
                var widths = table.Descendants("TableColumnHeader").Select(h => int.Parse(h.Element("Width")?.Value ?? "0")).ToList();
                Assert.True(widths.Sum() + widths.Count - 1 <= 80, $"table is {widths.Sum() + widths.Count - 1} columns wide");
            }
        }
    }
}
