using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Net.Http;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// Help examples run as written, in the hosted PowerShell 7.6 engine against the simulator: the code is read from
    /// the help files (as ScriptSyntaxTests finds it), and only the address of a real service is replaced by the
    /// simulator's. The module is imported by path, as from a clone's out folder, and is not on PSModulePath.
    /// </summary>
    public sealed class DocExamplesTests : IClassFixture<SimulatorFixture>
    {
        /// <summary>
        /// STAND-INS for cmdlets the engine package lacks (DemoTests checks that it lacks ConvertTo-SecureString and
        /// Join-Path; Import-Csv is Microsoft.PowerShell.Utility): each does only what the examples ask of it.
        /// </summary>
        private static readonly (string Name, string Body)[] StandIns =
            DemoTests.StandIns.Where(s => s.Name == "ConvertTo-SecureString" || s.Name == "Join-Path").Select(s => (s.Name, s.Body))
                .Append(("Import-Csv", @"
    # Stand-in: the rows the test put in $CsvRows, whatever the file name.
    [CmdletBinding()]
    param([Parameter(Mandatory, Position = 0)] [string] $Path)
    $global:CsvRows"))
                .ToArray();

        private const string ProjectId = TestData.ProjectId;
        private readonly BackupSimulator _sim;

        public DocExamplesTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
        }

        private static string Example(string where, string contains) =>
            Assert.Single(ScriptSyntaxTests.Snippets().Select(s => ((string)s[0], (string)s[1])),
                s => s.Item1.StartsWith(where, StringComparison.Ordinal) && s.Item2.Contains(contains, StringComparison.Ordinal)).Item2;

        private static string Replace(string code, string what, string with)
        {
            Assert.Contains(what, code);
            return code.Replace(what, with, StringComparison.Ordinal);
        }

        private static Runspace OpenRunspace()
        {
            var iss = InitialSessionState.CreateDefault2();
            foreach (var (name, body) in StandIns) iss.Commands.Add(new SessionStateFunctionEntry(name, body));
            iss.ImportPSModule(new[] { PowerShellHost.ModuleManifest });
            var runspace = RunspaceFactory.CreateRunspace(iss);
            runspace.Open();
            runspace.SessionStateProxy.SetVariable("projectId", ProjectId);
            runspace.SessionStateProxy.SetVariable("token", TestData.Secure(TestData.Token));
            runspace.SessionStateProxy.SetVariable("ProgressPreference", ActionPreference.SilentlyContinue);
            return runspace;
        }

        private static (List<PSObject> Output, List<ErrorRecord> Errors) Run(Runspace runspace, string code)
        {
            using var ps = PowerShell.Create();
            ps.Runspace = runspace;
            var output = ps.AddScript(code).Invoke().ToList();
            return (output, ps.Streams.Error.ToList());
        }

        private static PSObject Row(string instanceId, string name)
        {
            var row = new PSObject();
            row.Properties.Add(new PSNoteProperty("InstanceId", instanceId));
            row.Properties.Add(new PSNoteProperty("Name", name));
            return row;
        }

        [Theory]
        [InlineData("Connect-BackupService.md example", "Import-Csv instances.csv | ForEach-Object -Parallel")]
        [InlineData("about_BackupTools example", "$rows | ForEach-Object -Parallel")]
        public void The_parallel_examples_work_with_a_module_imported_by_path(string where, string contains)
        {
            var code = Replace(Example(where, contains), "-Region eu-de", $"-Endpoint '{_sim.EndpointFor("DDS")}'");
            using var runspace = OpenRunspace();
            // The case the examples are written for: the parallel runspaces cannot find the module by name.
            Assert.Empty(Run(runspace, "Get-Module -ListAvailable -Name BackupTools").Output);
            var rows = new[] { Row("2f1c4a8e9b7d4c6fa1e3b5d7c9f0a2b4in02", "par-one"), Row("3f1c4a8e9b7d4c6fa1e3b5d7c9f0a2b4in02", "par-two") };
            runspace.SessionStateProxy.SetVariable("CsvRows", rows);
            runspace.SessionStateProxy.SetVariable("rows", rows);

            var (output, errors) = Run(runspace, code);

            Assert.Empty(errors);
            var jobs = output.Select(o => o.BaseObject).OfType<BackupJob>().ToList();
            Assert.Equal(new[] { "par-one", "par-two" }, jobs.Select(j => j.BackupName).OrderBy(n => n));
            Assert.Equal(2, _sim.Counters.BackupsFor("DDS"));
        }

        [Fact]
        public void The_mock_jobs_of_about_BackupTools_are_built_as_written()
        {
            using var runspace = OpenRunspace();
            // The constructor with a plain PowerShell array of messages (object[]).
            var built = Run(runspace, Example("about_BackupTools example", "@($m)"));
            Assert.Empty(built.Errors);
            var job = Assert.IsType<BackupJob>(Assert.Single(built.Output).BaseObject);
            Assert.Equal(BackupJobState.Failed, job.State);
            Assert.Equal("DBS.200410", Assert.Single(job.Errors).Code);
            Assert.Equal("disk full", job.Errors[0].Message);

            // FromProperties with a hashtable, its messages hashtables too.
            var fromBag = Run(runspace, Example("about_BackupTools example", "FromProperties(@{") + "\n$job");
            Assert.Empty(fromBag.Errors);
            job = Assert.IsType<BackupJob>(Assert.Single(fromBag.Output).BaseObject);
            Assert.Equal(("DDS", "job-3", BackupJobState.Failed), (job.Provider, job.JobId, job.State));
            Assert.Equal(("DBS.200410", "disk full"), (Assert.Single(job.Errors).Code, job.Errors[0].Message));
        }

        [Fact]
        public void The_simulator_example_runs_again_once_the_simulator_is_reset()
        {
            var about = System.IO.File.ReadAllText(System.IO.Path.Combine(ContractTests.RepoRoot(), "en-US", "about_BackupTools.help.txt"));
            const string reset = "Invoke-RestMethod -Method Post http://127.0.0.1:5099/_sim/reset";
            Assert.Contains(reset, about);
            var code = Replace(Example("about_BackupTools example", "-Name rehearsal-01 -Wait"), "http://127.0.0.1:5099/", _sim.BaseAddress.ToString());
            using var runspace = OpenRunspace();

            var first = Run(runspace, code);
            Assert.Empty(first.Errors);
            Assert.Equal(BackupJobState.Succeeded, Assert.IsType<BackupJob>(Assert.Single(first.Output, o => o.BaseObject is BackupJob).BaseObject).State);

            // As the help says: DDS refuses the name a second time.
            var again = Run(runspace, code);
            Assert.Contains(again.Errors, e => e.ToString().Contains("DBS.201201", StringComparison.Ordinal));

            // The reset the help shows (Invoke-RestMethod is not in the hosted engine: the same POST from here).
            using (var http = new HttpClient())
                http.PostAsync(new Uri(reset.Substring(reset.IndexOf("http", StringComparison.Ordinal)).Replace("http://127.0.0.1:5099/", _sim.BaseAddress.ToString())), null)
                    .GetAwaiter().GetResult().EnsureSuccessStatusCode();
            var afterReset = Run(runspace, code);
            Assert.Empty(afterReset.Errors);
            Assert.Equal(BackupJobState.Succeeded, Assert.IsType<BackupJob>(Assert.Single(afterReset.Output, o => o.BaseObject is BackupJob).BaseObject).State);
        }

        [Fact]
        public void The_any_example_names_the_first_job_by_provider_and_job_id_which_a_Cloud_Foundry_job_has()
        {
            var code = Example("Wait-BackupJob.md example", "Wait-BackupJob -Any");
            using var runspace = OpenRunspace();
            Assert.Empty(Run(runspace, $"$null = Connect-BackupService -Provider CloudFoundry -Endpoint '{_sim.EndpointFor("CloudFoundry")}' -AccessToken $token").Errors);
            var started = Run(runspace, "$jobs = New-InstanceBackup -Provider CloudFoundry -InstanceId 0b4f2c1a-9d3e-4f5a-8b7c-6d5e4f3a2b1c; $jobs");
            Assert.Empty(started.Errors);
            var job = Assert.IsType<BackupJob>(Assert.Single(started.Output).BaseObject);
            Assert.Null(job.BackupName);
            Assert.False(string.IsNullOrEmpty(job.JobId));

            var (output, errors) = Run(runspace, code);

            Assert.Empty(errors);
            Assert.Equal($"CloudFoundry job {job.JobId} finished first: Succeeded", Assert.Single(output).ToString());
        }
    }
}
