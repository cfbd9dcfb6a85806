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
                var headers = table.Descendants("TableColumnHeader").ToList();
                var widths = headers.Select(h => int.Parse(h.Element("Width")?.Value ?? "0")).ToList();
                Assert.True(widths.Sum() + widths.Count - 1 <= 80, $"table is {widths.Sum() + widths.Count - 1} columns wide");
                // Only the last column may be unsized: it takes what the console has left.
                Assert.All(headers.Take(headers.Count - 1), h => Assert.NotNull(h.Element("Width")));
            }
        }

        /// <summary>
        /// What an <paramref name="width"/>-column console shows for the script's output (Out-Default, the type's first
        /// view; Format-Table and Format-List are the engine's formatter, see <see cref="FormatCommands"/>).
        /// </summary>
        private static string[] Render(string script, int width) => Render(script, width, PSLanguageMode.FullLanguage, null);

        /// <summary>As <see cref="Render(string, int)"/>, in a runspace of <paramref name="mode"/>, with $items set to <paramref name="items"/>.</summary>
        private static string[] Render(string script, int width, PSLanguageMode mode, object items)
        {
            var host = new CapturingHost(width);
            var iss = System.Management.Automation.Runspaces.InitialSessionState.CreateDefault2();
            iss.LanguageMode = mode;
            iss.Commands.Add(new System.Management.Automation.Runspaces.SessionStateCmdletEntry("Format-Table", typeof(FormatTableStandIn), null));
            iss.Commands.Add(new System.Management.Automation.Runspaces.SessionStateCmdletEntry("Format-List", typeof(FormatListStandIn), null));
            iss.ImportPSModule(new[] { PowerShellHost.ModuleManifest });
            using var runspace = System.Management.Automation.Runspaces.RunspaceFactory.CreateRunspace(host, iss);
            runspace.Open();
            if (items != null) runspace.SessionStateProxy.SetVariable("items", items);
            using var ps = PowerShell.Create();
            ps.Runspace = runspace;
            ps.AddScript(script).AddCommand("Out-Default");
            ps.Invoke();
            Assert.True(ps.Streams.Error.Count == 0, string.Join("\n", ps.Streams.Error));
            return host.Text.Split('\n').Where(l => l.Trim().Length > 0).ToArray();
        }

        private static void AssertFits(string[] lines, int width) =>
            Assert.All(lines, l => Assert.True(l.Length <= width, $"{l.Length} columns: {l}"));

        /// <summary>The row that starts with <paramref name="first"/>, and that it shows each value whole.</summary>
        private static void AssertRowShows(string[] lines, string first, params string[] values)
        {
            var row = lines.FirstOrDefault(l => l.StartsWith(first + " ", StringComparison.Ordinal));
            Assert.True(row != null, $"no row for {first} in\n{string.Join("\n", lines)}");
            foreach (var v in values)
                Assert.True(Regex.IsMatch(row, $@"(^|\s){Regex.Escape(v)}(\s|$)"), $"'{v}' is not shown whole in: {row}");
        }

        // Realistic values: 36-character instance ids (TaurusDB ...in07, DDS ...in02, Dataverse and Cloud Foundry GUIDs),
        // 18-character backup names, jobs of more than a day.
        private const string Jobs = @"
$now = [DateTimeOffset]::UtcNow
$jobs = @(
    ,@('TaurusDB', '0123456789abcdef0123456789abcdefin07', 'orders-nightly-001', 'Succeeded', 100, 1)
    ,@('DDS', '1123456789abcdef0123456789abcdefin02', 'catalog-nightly-01', 'Running', 42, 26)
    ,@('Dataverse', '6f1c2b9e-3f5d-4a7b-9c2e-8d4b1a0e7c31', 'crm-prod-before-up', 'Cancelled', 7, 2)
    ,@('CloudFoundry', '0b4f2c1a-9d3e-4f5a-8b7c-6d5e4f3a2b1c', 'postgres-nightly-1', 'Failed', $null, 3)
)
foreach ($j in $jobs) {
    [BackupTools.BackupJob]::new($j[0], 'https://example.invalid/', 'job-1', $null, $j[1], $j[2], $null, $null, 'Instance',
        $j[3], $null, $j[4], $now.AddHours(-$j[5]).AddSeconds(-3), $now)
}";

        [Fact]
        public void The_job_table_shows_provider_name_state_percent_and_elapsed_whole_at_80_columns_and_the_instance_from_93()
        {
            var lines = Render(Jobs, 80);
            AssertFits(lines, 80);
            Assert.Equal(new[] { "Provider", "BackupName", "State", "%", "Elapsed", "InstanceId" }, lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            AssertRowShows(lines, "TaurusDB", "orders-nightly-001", "Succeeded", "100", "01:00:03");
            AssertRowShows(lines, "DDS", "catalog-nightly-01", "Running", "42", "26:00:03");
            AssertRowShows(lines, "Dataverse", "crm-prod-before-up", "Cancelled", "7", "02:00:03");
            AssertRowShows(lines, "CloudFoundry", "postgres-nightly-1", "Failed", "03:00:03");
            // The instance id is last and takes what is left: whole from 93 columns on (the engine leaves the last one empty).
            lines = Render(Jobs, 93);
            AssertFits(lines, 93);
            AssertRowShows(lines, "TaurusDB", "0123456789abcdef0123456789abcdefin07");
            AssertRowShows(lines, "DDS", "1123456789abcdef0123456789abcdefin02");
            AssertRowShows(lines, "Dataverse", "6f1c2b9e-3f5d-4a7b-9c2e-8d4b1a0e7c31");
            AssertRowShows(lines, "CloudFoundry", "0b4f2c1a-9d3e-4f5a-8b7c-6d5e4f3a2b1c");
        }

        [Fact]
        public void The_job_table_keeps_the_end_of_a_long_name_and_shows_days_from_100_hours()
        {
            // Nightly names differ at their end; a job imported weeks later may still be running.
            var lines = Render(@"
$now = [DateTimeOffset]::UtcNow
foreach ($d in 24, 25) {
    [BackupTools.BackupJob]::new('DDS', 'https://example.invalid/', ""job-$d"", $null, '0123456789abcdef0123456789abcdefin02',
        ""orders-nightly-2026-11-$d"", $null, $null, 'Instance', 'Running', $null, 5, $now.AddDays(-45 + $d - 24), $null)
}", 80);
            AssertFits(lines, 80);
            var rows = lines.Where(l => l.StartsWith("DDS ", StringComparison.Ordinal)).ToArray();
            Assert.Equal(2, rows.Length);
            Assert.Matches(@"^DDS\s+orders-n\u2026026-11-24\s+Running\s+5\s+45d 00:00\s", rows[0]);
            Assert.Matches(@"^DDS\s+orders-n\u2026026-11-25\s+Running\s+5\s+44d 00:00\s", rows[1]);
        }

        private const string Connections = @"
$secret = [System.Security.SecureString]::new(); 'x'.ToCharArray() | ForEach-Object { $secret.AppendChar($_) }
@(
    Connect-BackupService -Provider Dataverse -Region crm12 -TokenProvider { 'token' }
    Connect-BackupService -Provider CloudFoundry -Endpoint https://api.sys.example.com -ClientId backup-bot -ClientSecret $secret
    Connect-BackupService -Provider DDS -Region eu-de -ProjectId 0123456789abcdef0123456789abcdef -AccessKeyId AK -SecretAccessKey $secret
    Connect-BackupService -Provider TaurusDB -Region ap-southeast-1 -ProjectId fedcba9876543210fedcba9876543210 -AccessToken $secret
)";

        /// <summary>
        /// What a user checks after connecting fits 80 columns: the provider, the endpoint (without its https://, every
        /// DDS and Dataverse endpoint whole, a longer TaurusDB one cut after its region) and the project id whole; the
        /// method follows from 97 columns on. Before, the endpoint (42) and the method (16) came first and the project
        /// id was cut to 6 characters at 80 columns.
        /// </summary>
        [Fact]
        public void The_connection_table_shows_provider_endpoint_and_project_id_whole_at_80_columns_and_the_method_from_97()
        {
            var lines = Render(Connections, 80);
            AssertFits(lines, 80);
            Assert.Equal(new[] { "Provider", "Endpoint", "Scope" }, lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            AssertRowShows(lines, "Dataverse", "admin.services.crm12.dynamics.com");
            AssertRowShows(lines, "CloudFoundry", "api.sys.example.com");
            AssertRowShows(lines, "DDS", "dds.eu-de.otc.t-systems.com", "0123456789abcdef0123456789abcdef");
            AssertRowShows(lines, "TaurusDB", "fedcba9876543210fedcba9876543210");
            Assert.Contains(lines, l => l.StartsWith("TaurusDB     gaussdbformysql.ap-southeast-1.", StringComparison.Ordinal));
            // The method is last: whole from 97 columns on.
            lines = Render(Connections, 97);
            AssertFits(lines, 97);
            Assert.Equal(new[] { "Provider", "Endpoint", "Scope", "Auth" }, lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            AssertRowShows(lines, "Dataverse", "admin.services.crm12.dynamics.com", "TokenProvider");
            AssertRowShows(lines, "CloudFoundry", "api.sys.example.com", "ClientCredential");
            AssertRowShows(lines, "DDS", "dds.eu-de.otc.t-systems.com", "0123456789abcdef0123456789abcdef", "AccessKey");
            AssertRowShows(lines, "TaurusDB", "fedcba9876543210fedcba9876543210", "AccessToken");
            // Only https:// is left out: a local simulator's http:// endpoint shows its scheme and path.
            lines = Render("$secret = [System.Security.SecureString]::new(); $secret.AppendChar('x');" +
                "Connect-BackupService -Provider DDS -Endpoint http://127.0.0.1:5123/dds/ -ProjectId 0123456789abcdef0123456789abcdef -AccessToken $secret", 80);
            AssertRowShows(lines, "DDS", "http://127.0.0.1:5123/dds/", "0123456789abcdef0123456789abcdef");
        }

        [Fact]
        public void The_provider_list_shows_regions_with_their_endpoints_within_80_columns()
        {
            var lines = Render("Get-BackupProvider DDS, ArcGIS, TaurusDB | Format-List", 80);
            AssertFits(lines, 80);
            var text = string.Join("\n", lines);
            Assert.Matches(@"Regions\s+: eu-de: dds\.eu-de\.otc\.t-systems\.com\n\s+eu-nl: dds\.eu-nl\.otc\.t-systems\.com\n\s+eu-ch2: dds\.eu-ch2\.sc\.otc\.t-systems\.com", text);
            Assert.Contains("(none: Connect-BackupService -Endpoint)", text);
            Assert.Matches(@"ScopeName\s+: ProjectId", text);
            Assert.Matches(@"Auth\s+: AccessToken, AccessKey, Credential", text);
            // Every region of every provider on a line of its own, with its endpoint's host whole.
            lines = Render("Get-BackupProvider | Format-List", 80);
            AssertFits(lines, 80);
            foreach (var info in BackupService.Providers)
                foreach (var region in info.Regions)
                    Assert.Contains(lines, l => l.EndsWith($" {region}: {info.RegionEndpoints[region].Host}", StringComparison.Ordinal));
        }

        [Fact]
        public void The_provider_table_shows_every_providers_service_and_kinds_whole_at_80_columns()
        {
            var lines = Render("Get-BackupProvider", 80);
            AssertFits(lines, 80);
            foreach (var info in BackupService.Providers)
                AssertRowShows(lines, info.Name, info.Service, string.Join(", ", info.Kinds));
        }

        /// <summary>What <paramref name="script"/> outputs, made in a FullLanguage runspace with the module.</summary>
        private static object[] Made(string script)
        {
            using var session = new PowerShellHost();
            var r = session.Run(script);
            Assert.Empty(r.Errors);
            return r.Output.Cast<object>().ToArray();
        }

        [Fact]
        public void Every_view_shows_the_same_in_ConstrainedLanguage()
        {
            // Device Guard and AppLocker run scripts, and a module's .ps1xml files they do not trust, in ConstrainedLanguage:
            // a view's script block that calls a method it refuses ([math]::Floor) shows an empty cell, without an error.
            var jobs = Made(Jobs + @"
foreach ($h in 150, 1080, 3600) {
    [BackupTools.BackupJob]::new('DDS', 'https://example.invalid/', ""job-$h"", $null, '0123456789abcdef0123456789abcdefin02',
        ""orders-nightly-2026-11-$h"", $null, $null, 'Instance', 'Succeeded', $null, 100, $now.AddHours(-$h), $now)
}");
            var views = new (object[] Items, string Script)[]
            {
                (jobs, "$items"), (jobs, "$items | Format-List"),
                (Made(Connections), "$items"), (Made(Connections), "$items | Format-List"),
                (Made("Get-BackupProvider"), "$items"), (Made("Get-BackupProvider"), "$items | Format-List"),
            };
            foreach (var (items, script) in views)
            {
                var full = Render(script, 120, PSLanguageMode.FullLanguage, items);
                Assert.Equal(full, Render(script, 120, PSLanguageMode.ConstrainedLanguage, items));
            }
            var table = Render("$items", 120, PSLanguageMode.ConstrainedLanguage, jobs);
            AssertRowShows(table, "DDS", "catalog-nightly-01", "26:00:03");
            Assert.Contains(table, l => Regex.IsMatch(l, @"^DDS\s+orders-n\u202626-11-150\s+Succeeded\s+100\s+6d 06:00\s"));
            Assert.Contains(table, l => Regex.IsMatch(l, @"^DDS\s+orders-n\u20266-11-1080\s+Succeeded\s+100\s+45d 00:00\s"));
            Assert.Contains(table, l => Regex.IsMatch(l, @"^DDS\s+orders-n\u20266-11-3600\s+Succeeded\s+100\s+150d\s"));
        }
    }
}
