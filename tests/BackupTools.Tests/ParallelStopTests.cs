using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Text.RegularExpressions;
using System.Threading;
using BackupTools.Commands;
using BackupTools.Simulator;
using Xunit;
using Xunit.Abstractions;

namespace BackupTools.Tests
{
    /// <summary>
    /// Ctrl+C on backups started in ForEach-Object -Parallel. Its task runspaces are made without a host: their warnings
    /// go to the task's stream, which the stopping ForEach-Object drops (and closes, so a later one fails), and their
    /// $BackupToolsUnwrittenJobs goes with them. The started backups are named on the process's standard error, in a
    /// form Wait-BackupJob takes. (In the timing collection, which runs alone: these tests swap Console.Error.)
    /// </summary>
    [Collection(TimingCollection.Name)]
    public sealed class ParallelStopTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;
        private readonly CapturingHost _host = new CapturingHost(width: 400);
        private readonly PowerShellHost _ps;
        private readonly ITestOutputHelper _out;

        public ParallelStopTests(SimulatorFixture fixture, ITestOutputHelper output)
        {
            _out = output;
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromSeconds(60);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _ps = new PowerShellHost(_host);
            _ps.Set("tok", TestData.Secure(TestData.Token));
            _ps.Set("ep", _sim.EndpointFor("Dataverse").ToString());
            _ps.Set("module", PowerShellHost.ModuleManifest);
            Assert.Empty(_ps.Run("$conn = Connect-BackupService -Provider Dataverse -Endpoint $ep -AccessToken $tok;" +
                                 "$rows = 1..3 | ForEach-Object { [pscustomobject]@{ InstanceId = [guid]::NewGuid().ToString(); Name = \"par$_\" } }").Errors);
        }

        public void Dispose()
        {
            _ps.Dispose();
            _sim.Reset();
        }

        private int Started() => _sim.Counters.Requests.Count(q => q.Provider == "Dataverse" && q.Method == "POST" && q.Status == 202);

        /// <summary>Runs <paramref name="script"/>, presses Ctrl+C once <paramref name="ready"/> holds, and returns what went to standard error.</summary>
        private string StopWhen(string script, Func<bool> ready)
        {
            var error = new StringWriter();
            var saved = Console.Error;
            Console.SetError(error);
            try
            {
                using var ps = _ps.Pipeline(script);
                var pending = ps.BeginInvoke();
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (!ready() && DateTime.UtcNow < deadline) Thread.Sleep(20);
                Thread.Sleep(500); // the waits are under way
                ps.Stop();
                try { ps.EndInvoke(pending); } catch (PipelineStoppedException) { }
            }
            finally { Console.SetError(saved); }
            _out.WriteLine("host:\n" + _host.Text + "\nstandard error:\n" + error);
            return error.ToString();
        }

        private BackupJob[] Kept() =>
            _ps.Run("$BackupToolsUnwrittenJobs").Output.Where(o => o != null).Select(o => o.BaseObject).OfType<BackupJob>().ToArray();

        [Fact]
        public void Ctrl_C_on_creates_with_Wait_in_ForEach_Object_Parallel_names_each_job_on_standard_error_as_Wait_BackupJob_takes_it()
        {
            // Connect-BackupService example 3 as it was written: -Wait inside the block.
            var error = StopWhen("$rows | ForEach-Object -Parallel { Import-Module $using:module; " +
                                 "New-InstanceBackup -InstanceId $_.InstanceId -Name $_.Name -Connection $using:conn -Wait -Timeout 60 } -ThrottleLimit 3",
                () => Started() == 3);

            Assert.Equal(3, Started());
            Assert.Empty(Kept()); // (the caller's variable: the jobs were kept in the task runspaces, gone now)
            Assert.Contains("WARNING: BackupTools: 1 backup(s) New-InstanceBackup started were not written", error);
            Assert.Contains("Their jobs are in this runspace's $BackupToolsUnwrittenJobs, which goes with the runspace (PSTask:", error);
            var tables = Regex.Matches(error, @"@\{ Provider = 'Dataverse'[^}]*\}").Select(m => m.Value).ToArray();
            Assert.Equal(3, tables.Length);
            // What the warning names is enough to wait on the backups from the caller.
            var read = _ps.Run(string.Join(";", tables.Select(t => $"Get-BackupJob -Job {t}")));
            Assert.Empty(read.Errors);
            Assert.Equal(new[] { "par1", "par2", "par3" }, read.Objects<BackupJob>().Select(j => j.BackupName).OrderBy(n => n, StringComparer.Ordinal));
            Assert.All(read.Objects<BackupJob>(), j => Assert.Equal(BackupJobState.Running, j.State));
        }

        [Fact]
        public void Ctrl_C_in_one_runspace_warns_the_host_and_keeps_the_jobs_as_before_with_nothing_on_standard_error()
        {
            var error = StopWhen("$rows | New-InstanceBackup -Connection $conn -Wait -Timeout 60 -ThrottleLimit 3", () => Started() == 3);

            Assert.Equal(3, Started());
            Assert.Equal(3, Kept().Length);
            Assert.Contains("Their jobs are in $BackupToolsUnwrittenJobs", _host.Text);
            Assert.DoesNotContain("no host of its own", _host.Text);
            Assert.DoesNotContain("BackupTools", error);
        }

        [Fact]
        public void Ctrl_C_on_the_recommended_pattern_creates_in_parallel_then_waits_in_the_caller_keeps_the_jobs_in_the_callers_variable()
        {
            // Connect-BackupService example 3 as it is now.
            var error = StopWhen("$jobs = $rows | ForEach-Object -Parallel { Import-Module $using:module; " +
                                 "New-InstanceBackup -InstanceId $_.InstanceId -Name $_.Name -Connection $using:conn } -ThrottleLimit 3;" +
                                 "$jobs | Wait-BackupJob -Timeout 60",
                () => Started() == 3 && _sim.Counters.Requests.Any(q => q.Provider == "Dataverse" && q.Method == "GET"));

            Assert.Equal(new[] { "par1", "par2", "par3" }, Kept().Select(j => j.BackupName).OrderBy(n => n, StringComparer.Ordinal));
            Assert.Contains("Their jobs are in $BackupToolsUnwrittenJobs", _host.Text);
            Assert.DoesNotContain("BackupTools", error);
        }

        [Theory]
        [InlineData("it's-nightly \u2019{x}", BackupKind.Instance, null)]
        [InlineData("dr-01", BackupKind.DisasterRecovery, "0123456789abcdef0123456789abcdef")]
        public void A_job_named_as_a_hashtable_reads_back_as_the_same_job(string name, BackupKind kind, string scope)
        {
            var job = new BackupJob("DDS", "https://dds.eu-de.otc.t-systems.com/", "job-'7'", statusUrl: "https://dds.eu-de.otc.t-systems.com/v3/jobs?id=7",
                instanceId: "0123456789abcdef0123456789abcdefin02", backupName: name, scope: scope, kind: kind,
                createdAt: new DateTimeOffset(2026, 11, 24, 1, 2, 3, TimeSpan.FromHours(1)).AddTicks(4567));
            var text = BackupCmdletBase.JobAsHashtable(job);
            var r = _ps.Run($"[BackupTools.BackupJob]::FromProperties({text})");
            Assert.Empty(r.Errors);
            var back = Assert.Single(r.Objects<BackupJob>());
            Assert.Equal((job.Provider, job.Endpoint, job.JobId, job.StatusUrl, job.InstanceId, job.BackupName, job.Scope, job.Kind, job.CreatedAt),
                (back.Provider, back.Endpoint, back.JobId, back.StatusUrl, back.InstanceId, back.BackupName, back.Scope, back.Kind, back.CreatedAt));
        }
    }
}
