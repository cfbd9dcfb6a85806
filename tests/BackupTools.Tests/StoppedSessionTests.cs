using System;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// A command stopped by Ctrl+C (SIGINT) in a session that ends with the stop: `pwsh -File runbook.ps1` stops the
    /// pipeline and exits at once, without running the script's finally blocks, so $BackupToolsUnwrittenJobs goes with
    /// the process and the warning is the only trace left in the log. It names each job in a form Wait-BackupJob takes.
    /// SIGTERM ends pwsh without even stopping the pipeline: what live commands hold is named on standard error.
    /// </summary>
    [Collection(TimingCollection.Name)]
    public sealed class StoppedSessionTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;
        private readonly CapturingHost _host = new CapturingHost(width: 200);
        private readonly PowerShellHost _ps;

        public StoppedSessionTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromSeconds(60);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _ps = new PowerShellHost(_host);
            _ps.Set("token", TestData.Secure(TestData.Token));
            _ps.Set("taurus", _sim.EndpointFor("TaurusDB").ToString());
            _ps.Set("project", TestData.ProjectId);
            _ps.Set("ti", TestData.TaurusInstance);
        }

        public void Dispose()
        {
            _ps.Dispose();
            _sim.Reset();
        }

        [Fact]
        public void Ctrl_C_names_each_job_in_the_warning_as_a_hashtable_Wait_BackupJob_takes()
        {
            _ps.Run("$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token; $BackupToolsUnwrittenJobs = $null");
            using var ps = _ps.Pipeline("'sig-1', 'sig-2' | ForEach-Object { [pscustomobject]@{ InstanceId = $ti; Name = $_ } } | " +
                                        "New-InstanceBackup -Provider TaurusDB | Wait-BackupJob -PollingInterval 0.05");
            var pending = ps.BeginInvoke();
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (_sim.Counters.Requests.Count(q => q.Method == "GET") < 2 && DateTime.UtcNow < deadline) Thread.Sleep(10);
            Thread.Sleep(300);
            ps.Stop();
            try { ps.EndInvoke(pending); } catch (PipelineStoppedException) { }
            var kept = _ps.Run("$BackupToolsUnwrittenJobs").Output.Select(o => o.BaseObject).OfType<BackupJob>().ToArray();
            Assert.Equal(2, kept.Length);
            // Still the variable for a session that goes on, and each job by what Wait-BackupJob -Job needs, for one
            // that does not.
            Assert.Contains("$BackupToolsUnwrittenJobs", _host.Text);
            foreach (var job in kept)
                Assert.Contains($"Provider = 'TaurusDB'; Endpoint = '{job.Endpoint}'; Scope = '{job.Scope}'", _host.Text.Replace("\n", string.Empty));
            foreach (var job in kept)
                Assert.Contains($"JobId = '{job.JobId}'", _host.Text.Replace("\n", string.Empty));
        }

        [Fact]
        public void An_error_that_stops_the_wait_names_each_kept_job_in_the_warning()
        {
            // The runbook of the help ($ErrorActionPreference = 'Stop'), without a catch: in pwsh -File the failed job's
            // error ends the process, and the warning is all its log keeps of the backup still running.
            _sim.Options.FailNamePrefix = "fails";
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            _ps.Set("opts", _sim.Options);
            _ps.Run("$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token; $BackupToolsUnwrittenJobs = $null;" +
                    "$ErrorActionPreference = 'Stop'; try { $done = & { [pscustomobject]@{ InstanceId = $ti; Name = 'fails-e1' }; " +
                    "$opts.JobDuration = [timespan]::FromSeconds(60); [pscustomobject]@{ InstanceId = $ti; Name = 'slowe-2' } } | " +
                    "New-InstanceBackup -Provider TaurusDB | Wait-BackupJob -PollingInterval 0.05 } catch { }");
            var kept = _ps.Run("$BackupToolsUnwrittenJobs").Output.Select(o => o.BaseObject).OfType<BackupJob>().ToArray();
            Assert.Equal(new[] { "slowe-2" }, kept.Select(j => j.BackupName));
            var text = _host.Text.Replace("\n", string.Empty);
            Assert.Contains("$BackupToolsUnwrittenJobs", text);
            Assert.Contains($"JobId = '{kept[0].JobId}'", text);
            Assert.DoesNotContain("BackupName = 'fails-e1'", text); // (the caught error's target)
        }

        [Fact]
        public void A_SIGTERM_trace_names_the_jobs_of_live_commands_and_none_once_they_ended()
        {
            // SIGTERM ends pwsh without stopping its pipeline (no Dispose, no warning): the handler the module registers
            // names what the live commands hold, from its own thread, as this test reads it while the wait runs.
            _ps.Run("$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token");
            using var ps = _ps.Pipeline("'term-1', 'term-2' | ForEach-Object { [pscustomobject]@{ InstanceId = $ti; Name = $_ } } | " +
                                        "New-InstanceBackup -Provider TaurusDB | Wait-BackupJob -PollingInterval 0.05");
            var pending = ps.BeginInvoke();
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (_sim.Counters.Requests.Count(q => q.Method == "GET") < 2 && DateTime.UtcNow < deadline) Thread.Sleep(10);
            Thread.Sleep(300);
            var trace = Commands.BackupCmdletBase.LiveTrace();
            ps.Stop();
            try { ps.EndInvoke(pending); } catch (PipelineStoppedException) { }
            Assert.NotNull(trace);
            Assert.Contains("(SIGTERM)", trace);
            Assert.Contains("BackupName = 'term-1'", trace);
            Assert.Contains("BackupName = 'term-2'", trace);
            Assert.Contains("Wait-BackupJob -Job takes each of them as: @{ Provider = 'TaurusDB'", trace);
            Assert.DoesNotContain(TestData.Token, trace);
            // Ended (stopped and disposed), the commands hold nothing a signal should name.
            var after = Commands.BackupCmdletBase.LiveTrace() ?? string.Empty;
            Assert.DoesNotContain("'term-1'", after);
            Assert.DoesNotContain("'term-2'", after);
        }

        [Fact]
        public void A_SIGTERM_trace_leaves_out_a_job_the_wait_saw_final_that_the_creating_command_wrote_running()
        {
            // New-InstanceBackup still holds each job as it wrote it (running); the wait after it has seen the first
            // one succeed: that one is not named.
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            _ps.Set("opts", _sim.Options);
            _ps.Run("$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token");
            using var ps = _ps.Pipeline("& { [pscustomobject]@{ InstanceId = $ti; Name = 'term-quick' }; $opts.JobDuration = [timespan]::FromSeconds(60); " +
                                        "[pscustomobject]@{ InstanceId = $ti; Name = 'term-slow' } } | " +
                                        "New-InstanceBackup -Provider TaurusDB | Wait-BackupJob -PollingInterval 0.05");
            var pending = ps.BeginInvoke();
            string trace = null;
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
                if (ps.Streams.Error.Count > 0) break;
                trace = Commands.BackupCmdletBase.LiveTrace();
                if (trace != null && trace.Contains("'term-slow'") && !trace.Contains("'term-quick'")) break;
            }
            ps.Stop();
            try { ps.EndInvoke(pending); } catch (PipelineStoppedException) { }
            Assert.NotNull(trace);
            Assert.Contains("BackupName = 'term-slow'", trace);
            Assert.DoesNotContain("'term-quick'", trace);
        }
    }
}
