using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using BackupTools.Simulator;
using Xunit;
using Xunit.Abstractions;

namespace BackupTools.Tests
{
    /// <summary>
    /// Runs the real demo/Demo.ps1 in the hosted PowerShell 7.6 engine against the simulator, as
    /// <c>./build.ps1 -Task Demo</c> would in pwsh (simulator jobs of 3 s, output sent to Out-Default), with an
    /// 80-column host that records what a console would show. The captured text is written to demo-output.txt in the
    /// test output folder: the README's demo section is a copy of it.
    /// </summary>
    public sealed class DemoTests : IClassFixture<SimulatorFixture>
    {
        /// <summary>
        /// STAND-INS, not the real cmdlets. The System.Management.Automation package carries only the engine and the
        /// Core cmdlets; the demo also calls four cmdlets of modules that ship with pwsh and not in that package.
        /// Each stand-in does only what the demo asks of it, and refuses any other use.
        /// </summary>
        internal static readonly (string Name, string Module, string Body)[] StandIns =
        {
            ("ConvertTo-SecureString", "Microsoft.PowerShell.Security", @"
    # Stand-in: only -AsPlainText -Force, as the demo calls it.
    [CmdletBinding()]
    param([Parameter(Mandatory, Position = 0)] [string] $String, [Parameter(Mandatory)] [switch] $AsPlainText, [Parameter(Mandatory)] [switch] $Force)
    $secure = [System.Security.SecureString]::new()
    foreach ($c in $String.ToCharArray()) { $secure.AppendChar($c) }
    $secure.MakeReadOnly()
    $secure"),
            ("Join-Path", "Microsoft.PowerShell.Management", @"
    # Stand-in: one path and one child path.
    [CmdletBinding()]
    param([Parameter(Mandatory, Position = 0)] [string] $Path, [Parameter(Mandatory, Position = 1)] [string] $ChildPath)
    [System.IO.Path]::Combine($Path, $ChildPath)"),
            ("Write-Host", "Microsoft.PowerShell.Utility", @"
    # Stand-in: what the real one does with plain arguments: an information record tagged PSHOST, which the host shows.
    [CmdletBinding()]
    param([Parameter(Position = 0, ValueFromRemainingArguments)] [object[]] $Object)
    $InformationPreference = 'Continue'
    $PSCmdlet.WriteInformation([System.Management.Automation.HostInformationMessage]@{ Message = ($Object -join ' ') }, [string[]] 'PSHOST')"),
            ("Format-Table", "Microsoft.PowerShell.Utility", @"
    # Stand-in: Format-Table with no arguments, rendered by the engine's Out-Host with the type's default view,
    # which for every type the demo formats is its table view (DemoTests checks that in the format data).
    [CmdletBinding()]
    param([Parameter(ValueFromPipeline)] [psobject] $InputObject)
    begin { $out = { Out-Host }.GetSteppablePipeline(); $out.Begin($PSCmdlet) }
    process { $out.Process($InputObject) }
    end { $out.End() }"),
        };

        private static readonly string[] Secrets = { "sim-token", "demo-passcode-1" };

        private readonly BackupSimulator _sim;
        private readonly ITestOutputHelper _output;

        public DemoTests(SimulatorFixture fixture, ITestOutputHelper output)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            // As ./build.ps1 -Task Demo starts it: --job-seconds 3, every other option at the program's default (TaurusDB
            // and DDS jobs not found for their first 2 s).
            _sim.Options.JobDuration = TimeSpan.FromSeconds(3);
            _sim.Options.NotFoundWindow = SimulatorOptions.ProgramNotFoundWindow;
            _output = output;
        }

        internal sealed class DemoRun
        {
            public string Text { get; set; }
            public IReadOnlyList<ProgressRecord> Progress { get; set; }
            public List<ErrorRecord> Errors { get; set; }
            public Exception Terminating { get; set; }
            public string Transcript { get; set; }
        }

        private DemoRun RunDemo()
        {
            var demo = Path.Combine(ContractTests.RepoRoot(), "demo", "Demo.ps1");
            var host = new CapturingHost(width: 80);
            var iss = InitialSessionState.CreateDefault2();
            foreach (var (name, _, body) in StandIns) iss.Commands.Add(new SessionStateFunctionEntry(name, body));
            var run = new DemoRun();
            using (var runspace = RunspaceFactory.CreateRunspace(host, iss))
            {
                runspace.Open();
                using var ps = PowerShell.Create();
                ps.Runspace = runspace;
                // pwsh -File Demo.ps1: the script's output goes to Out-Default, which renders it through the host.
                ps.AddCommand(demo).AddParameter("ModulePath", AppContext.BaseDirectory).AddParameter("SimulatorUri", _sim.BaseAddress.ToString())
                    .AddCommand("Out-Default");
                try
                {
                    ps.Invoke();
                }
                catch (RuntimeException ex)
                {
                    run.Terminating = ex;
                }
                run.Errors = ps.Streams.Error.ToList();
            }
            run.Text = host.Text;
            run.Progress = host.Progress;
            run.Transcript = Transcript(run.Text, run.Progress);
            var file = Path.Combine(AppContext.BaseDirectory, "demo-output.txt");
            File.WriteAllText(file, run.Transcript);
            _output.WriteLine($"Captured console text written to {file}");
            _output.WriteLine(run.Transcript);
            return run;
        }

        /// <summary>The console text, then a summary of the progress the console would have drawn and erased.</summary>
        private static string Transcript(string text, IReadOnlyList<ProgressRecord> progress)
        {
            var sb = new StringBuilder(text.TrimEnd('\n')).Append("\n\n");
            var parents = progress.Where(p => p.ParentActivityId < 0 && p.RecordType == ProgressRecordType.Processing).ToList();
            var children = progress.Where(p => p.ParentActivityId >= 0).ToList();
            sb.Append($"--- progress: {progress.Count} records, drawn as a bar above the output while waiting, then erased ---\n");
            foreach (var p in parents.GroupBy(p => p.StatusDescription).Select(g => g.First()))
                sb.Append($"{p.Activity}: {p.StatusDescription} ({p.PercentComplete} %)\n");
            foreach (var p in children.Where(c => c.RecordType == ProgressRecordType.Processing && c.PercentComplete > 0).GroupBy(c => c.Activity).Select(g => g.Last()))
                sb.Append($"  {p.Activity}: {p.StatusDescription} ({p.PercentComplete} %)\n");
            return sb.ToString();
        }

        [Fact]
        public void The_demo_backs_up_on_all_five_services_waits_with_progress_and_catches_one_failure()
        {
            var run = RunDemo();
            Assert.True(run.Terminating == null, run.Terminating + "\n" + run.Text);
            Assert.True(run.Errors.Count == 0, string.Join("\n", run.Errors) + "\n" + run.Text);
            var lines = run.Text.Split('\n');

            // The providers table, in its table view.
            var providerHeader = Array.FindIndex(lines, l => l.StartsWith("Name ") && l.Contains("Service") && l.Contains("Kinds"));
            Assert.True(providerHeader >= 0, run.Text);
            var providers = lines.Skip(providerHeader + 2).TakeWhile(l => l.Trim().Length > 0).Select(l => l.Split(' ')[0]).ToList();
            Assert.Equal(new[] { "ArcGIS", "CloudFoundry", "DDS", "Dataverse", "TaurusDB" }, providers.OrderBy(p => p, StringComparer.Ordinal));

            // Six backups started and every one succeeded, in the job table (the table view's columns).
            Assert.Contains("Starting 6 backups on five services and waiting for them...", lines);
            var jobHeader = Array.FindIndex(lines, l => l.StartsWith("Provider "));
            Assert.True(jobHeader >= 0, run.Text);
            Assert.Equal(new[] { "Provider", "BackupName", "State", "%", "Elapsed", "InstanceId" },
                lines[jobHeader].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            var rows = lines.Skip(jobHeader + 2).TakeWhile(l => l.Trim().Length > 0).ToList();
            Assert.Equal(6, rows.Count);
            Assert.All(rows, r => Assert.Contains(" Succeeded ", r));
            Assert.Equal(new[] { "ArcGIS", "CloudFoundry", "DDS", "Dataverse", "TaurusDB", "TaurusDB" },
                rows.Select(r => r.Split(' ')[0]).OrderBy(p => p, StringComparer.Ordinal));
            Assert.Equal(7, _sim.Counters.TotalCreates); // the six and the one that fails

            // The failure, caught with its error id.
            var caught = lines.Single(l => l.StartsWith("Caught "));
            Assert.StartsWith("Caught BackupJobFailed,BackupTools.Commands.WaitBackupJobCommand: ", caught);
            Assert.Contains("fail-demo", caught);

            // Both tables fit an 80-column console; the engine's only escape sequences are colours (dropped from the text).
            var tableLines = lines.Skip(providerHeader).Take(providers.Count + 2).Concat(lines.Skip(jobHeader).Take(rows.Count + 2));
            Assert.All(tableLines, l => Assert.True(l.Length <= 80, $"{l.Length} columns: {l}"));
            Assert.DoesNotContain('\u001b', run.Text);

            // It waited with progress: a parent record counting jobs, per-job children with the service's percent, completed at the end.
            var parent = run.Progress.Where(p => p.Activity == "Waiting for backup jobs").ToList();
            Assert.Contains(parent, p => p.StatusDescription == "0 of 6 finished");
            Assert.Contains(parent, p => p.StatusDescription == "6 of 6 finished");
            Assert.Contains(run.Progress, p => p.ParentActivityId >= 0 && p.PercentComplete > 0 && p.PercentComplete < 100);
            Assert.Equal(ProgressRecordType.Completed, run.Progress.Last().RecordType);

            // No secret anywhere the console or the progress bar could show it.
            foreach (var secret in Secrets)
            {
                Assert.DoesNotContain(secret, run.Transcript);
                Assert.DoesNotContain(run.Progress, p => (p.Activity + p.StatusDescription + p.CurrentOperation).Contains(secret));
            }

            // The caught failure is the whole story: no warning that a job "may not have reached you" (it is the error's target).
            Assert.DoesNotContain(lines, l => l.StartsWith("WARNING", StringComparison.Ordinal));

            AssertReadmeShows(run.Transcript);
        }

        /// <summary>
        /// The README's demo block is this capture: the same console text once job ids, ports, elapsed times and the
        /// order of the job rows (completion order) are set aside; of the progress summary, which depends on when each
        /// poll fell, the first and last count of each wait and no job line the run could not have shown.
        /// </summary>
        private static void AssertReadmeShows(string transcript)
        {
            var readme = File.ReadAllText(Path.Combine(ContractTests.RepoRoot(), "README.md")).Replace("\r\n", "\n").Split('\n');
            var start = Array.IndexOf(readme, "```text", Array.FindIndex(readme, l => l.StartsWith("### What the demo shows", StringComparison.Ordinal)));
            Assert.True(start >= 0, "README.md: no ```text block after '### What the demo shows'");
            var block = readme.Skip(start + 1).TakeWhile(l => l != "```").ToArray();
            var (readmeText, readmeProgress) = Normalized(block);
            var (capturedText, capturedProgress) = Normalized(transcript.Split('\n'));
            Assert.Equal(capturedText, readmeText);
            Assert.Equal(capturedProgress.Header, readmeProgress.Header);
            Assert.Equal(capturedProgress.Counts, readmeProgress.Counts);
            Assert.NotEmpty(readmeProgress.Jobs);
            Assert.All(capturedProgress.Jobs, j => Assert.Contains(j, readmeProgress.Jobs));
        }

        private static (List<string> Text, (string Header, List<string> Counts, List<string> Jobs) Progress) Normalized(IEnumerable<string> lines)
        {
            string Clean(string l) => Regex.Replace(
                Regex.Replace(
                    Regex.Replace(l.TrimEnd(), "\\b[0-9a-f]{32}\\b", "<job id>"),
                    "127\\.0\\.0\\.1:[0-9]+", "127.0.0.1:<port>"),
                " [0-9]{2}:[0-9]{2}:[0-9]{2} ", " hh:mm:ss ");
            var all = lines.Select(Clean).ToList();
            var cut = all.FindIndex(l => l.StartsWith("--- progress:", StringComparison.Ordinal));
            Assert.True(cut >= 0, "no progress summary");
            var text = all.Take(cut).SkipWhile(l => l.Length == 0).Reverse().SkipWhile(l => l.Length == 0).Reverse().ToList();
            // The job table's rows come in completion order.
            var header = text.FindIndex(l => l.StartsWith("Provider ", StringComparison.Ordinal));
            if (header >= 0)
            {
                var rows = text.Skip(header + 2).TakeWhile(l => l.Length > 0).ToList();
                rows.Sort(StringComparer.Ordinal);
                text.RemoveRange(header + 2, rows.Count);
                text.InsertRange(header + 2, rows);
            }
            var progress = all.Skip(cut).Where(l => l.Length > 0).ToList();
            var count = Regex.Replace(progress[0], "[0-9]+ records", "<n> records");
            // Only each wait's first and last count: which come between depends on when the polls fell.
            var counts = progress.Skip(1).Where(l => !l.StartsWith("  ", StringComparison.Ordinal))
                .Where(l => Regex.IsMatch(l, ": 0 of [0-9]+ finished|: ([0-9]+) of \\1 finished")).ToList();
            var jobs = progress.Where(l => l.StartsWith("  ", StringComparison.Ordinal))
                .Select(l => Regex.Replace(l, "\\([0-9]+ %\\)$", "(<p> %)")).ToList();
            return (text, (count, counts, jobs));
        }

        [Fact]
        public void The_types_the_demo_formats_have_a_table_as_their_default_view()
        {
            // Out-Host (and so the Format-Table stand-in) uses the first view the format data defines for a type.
            var format = XDocument.Load(Path.Combine(ContractTests.RepoRoot(), "module", "BackupTools.Format.ps1xml"));
            foreach (var type in new[] { "BackupTools.BackupProviderInfo", "BackupTools.BackupJob" })
            {
                var first = format.Descendants("View").First(v => v.Element("ViewSelectedBy")?.Element("TypeName")?.Value == type);
                Assert.NotNull(first.Element("TableControl"));
            }
        }

        [Theory]
        [InlineData(0, 0, 42, "00:00:42")]
        [InlineData(0, 5, 0, "05:00:00")]
        [InlineData(1, 2, 3, "26:00:03")] // a job of more than a day shows all its hours (hh alone showed 02:00:03)
        [InlineData(4, 3, 59, "99:00:59")]
        [InlineData(4, 4, 0, "4d 04:00")] // from 100 hours on, days: 1080:00:00 did not fit and showed …80:00:00
        [InlineData(45, 0, 0, "45d 00:00")]
        [InlineData(150, 7, 0, "150d")]
        public void The_table_shows_a_jobs_elapsed_time_in_hours_minutes_and_seconds(int days, int hours, int seconds, string shown)
        {
            var format = XDocument.Load(Path.Combine(ContractTests.RepoRoot(), "module", "BackupTools.Format.ps1xml"));
            var view = format.Descendants("View").First(v => v.Element("ViewSelectedBy")?.Element("TypeName")?.Value == "BackupTools.BackupJob");
            var script = view.Descendants("TableColumnItem").Select(i => i.Element("ScriptBlock")?.Value).Single(t => t != null && t.Contains("Elapsed"));
            var created = DateTimeOffset.UtcNow.AddDays(-200);
            var job = new BackupJob("DDS", "https://dds.eu-de.otc.t-systems.com/", "j1", state: BackupJobState.Succeeded, createdAt: created,
                endedAt: created + new TimeSpan(days, hours, 0, seconds));
            using var ps = PowerShell.Create(InitialSessionState.CreateDefault2());
            ps.AddScript("param($job) $_ = $job; " + script).AddArgument(job);
            Assert.Equal(shown, Assert.Single(ps.Invoke()).BaseObject);
        }

        [Fact]
        public void The_stand_ins_replace_only_cmdlets_the_hosted_engine_lacks()
        {
            using var ps = PowerShell.Create(InitialSessionState.CreateDefault2());
            foreach (var (name, _, _) in StandIns)
            {
                ps.Commands.Clear();
                Assert.Empty(ps.AddCommand("Get-Command").AddParameter("Name", name).AddParameter("ErrorAction", "SilentlyContinue").Invoke());
            }
            ps.Commands.Clear();
            Assert.NotEmpty(ps.AddCommand("Get-Command").AddParameter("Name", "Out-Host").Invoke());
        }
    }
}
