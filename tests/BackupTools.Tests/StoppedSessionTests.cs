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

        private static int Count(string text, string what) => text.Split(what).Length - 1;

        private const string ManyRows = "1..23 | ForEach-Object { [pscustomobject]@{ InstanceId = $ti; Name = \"many-$_\" } }";

        [Fact]
        public void Ctrl_C_on_many_jobs_names_the_first_20_in_the_warning_and_counts_the_rest()
        {
            // 10,000 jobs named one by one made a 4.6 MB warning: the first 20, and how many more are in the variable.
            _ps.Run("$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token; $BackupToolsUnwrittenJobs = $null");
            using var ps = _ps.Pipeline(ManyRows + " | New-InstanceBackup -Provider TaurusDB | Wait-BackupJob -PollingInterval 0.05");
            var pending = ps.BeginInvoke();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (_sim.Counters.Requests.Count(q => q.Method == "GET") < 23 && DateTime.UtcNow < deadline) Thread.Sleep(10);
            Thread.Sleep(300);
            ps.Stop();
            try { ps.EndInvoke(pending); } catch (PipelineStoppedException) { }
            var kept = _ps.Run("$BackupToolsUnwrittenJobs").Output.Select(o => o.BaseObject).OfType<BackupJob>().ToArray();
            Assert.Equal(23, kept.Length);
            var text = _host.Text.Replace("\n", string.Empty);
            Assert.Equal(20, Count(text, "JobId = '"));
            Assert.Contains("and 3 more: all are in $BackupToolsUnwrittenJobs", text);
        }

        [Fact]
        public void Select_Object_First_after_a_wait_keeps_the_other_jobs_and_names_at_most_20()
        {
            // The pipeline ended because it had enough, and the session goes on with the variable; but the wait sees the
            // same PipelineStoppedException as for an error that may end the session, so it names jobs: at most 20 (301
            // jobs named one by one made a 140 KB warning).
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            _ps.Set("opts", _sim.Options);
            _ps.Run("$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token; $BackupToolsUnwrittenJobs = $null; " +
                    "Import-Module -Assembly ([BackupTools.Tests.SelectFirstStandIn].Assembly) -Cmdlet Select-Object");
            var first = _ps.Run("& { [pscustomobject]@{ InstanceId = $ti; Name = 'enough-quick' }; $opts.JobDuration = [timespan]::FromSeconds(60); " + ManyRows + " } | " +
                                "New-InstanceBackup -Provider TaurusDB | Wait-BackupJob -PollingInterval 0.05 | Select-Object -First 1", TimeSpan.FromSeconds(60));
            Assert.False(first.TimedOut);
            Assert.Equal("enough-quick", Assert.IsType<BackupJob>(Assert.Single(first.Output).BaseObject).BackupName);
            var kept = _ps.Run("$BackupToolsUnwrittenJobs").Output.Select(o => o.BaseObject).OfType<BackupJob>().ToArray();
            Assert.Equal(23, kept.Count(j => j.BackupName.StartsWith("many-", StringComparison.Ordinal)));
            var text = _host.Text.Replace("\n", string.Empty);
            Assert.Contains("$BackupToolsUnwrittenJobs", text);
            Assert.Equal(20, Count(text, "JobId = '"));
            Assert.Contains("and 4 more: all are in $BackupToolsUnwrittenJobs", text);
        }

        [Fact]
        public void A_SIGTERM_trace_of_many_jobs_names_the_first_20_and_counts_the_rest()
        {
            _ps.Run("$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token");
            using var ps = _ps.Pipeline(ManyRows + " | New-InstanceBackup -Provider TaurusDB | Wait-BackupJob -PollingInterval 0.05");
            var pending = ps.BeginInvoke();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (_sim.Counters.Requests.Count(q => q.Method == "GET") < 23 && DateTime.UtcNow < deadline) Thread.Sleep(10);
            Thread.Sleep(300);
            var trace = Commands.BackupCmdletBase.LiveTrace();
            ps.Stop();
            try { ps.EndInvoke(pending); } catch (PipelineStoppedException) { }
            Assert.NotNull(trace);
            Assert.Contains("23 backup job(s) not yet final", trace);
            Assert.Equal(20, Count(trace, "JobId = '"));
            Assert.Contains("and 3 more, not named here", trace);
        }

        [Fact]
        public void The_SIGTERM_handler_gives_up_on_standard_error_that_nobody_reads_within_a_second()
        {
            // systemd and Kubernetes send SIGKILL after their grace: a write blocked on a full pipe must not hold the exit.
            using var blocked = new BlockingWriter();
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var written = Commands.BackupCmdletBase.WriteTermination(blocked, "the trace");
            watch.Stop();
            blocked.Release();
            Assert.False(written);
            Assert.InRange(watch.Elapsed.TotalSeconds, 0.5, 2.5);
        }

        [Fact]
        public void The_SIGTERM_handler_is_registered_off_the_pipeline_thread()
        {
            // The reflection and PosixSignalRegistration.Create cost the first create ~2 ms on the pipeline thread.
            using var started = new ManualResetEventSlim();
            using var release = new ManualResetEventSlim();
            var caller = Environment.CurrentManagedThreadId;
            var ranOn = 0;
            var hook = new Commands.BackupCmdletBase.TerminationHook(() =>
            {
                ranOn = Environment.CurrentManagedThreadId;
                started.Set();
                release.Wait(TimeSpan.FromSeconds(3));
                return new object();
            });
            var watch = System.Diagnostics.Stopwatch.StartNew();
            hook.Ensure();
            hook.Ensure(); // (once)
            watch.Stop();
            release.Set();
            Assert.True(started.Wait(TimeSpan.FromSeconds(5)));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"Ensure took {watch.Elapsed}");
            Assert.NotEqual(caller, ranOn);
            Assert.Equal(1, hook.Registrations);
        }

        [Fact]
        public void An_abandoned_steppable_pipeline_is_not_held_for_the_life_of_the_process()
        {
            // A proxy function without an end block, a steppable pipeline never disposed: its command holds its jobs
            // and its runspace's state; once nothing else refers to it, the signal's list must not keep it alive.
            _ps.Run("$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token");
            var before = Commands.BackupCmdletBase.LiveCommandCount();
            _ps.Run("function Step { $sp = { New-InstanceBackup -Provider TaurusDB }.GetSteppablePipeline(); $sp.Begin($true); " +
                    "$sp.Process([pscustomobject]@{ InstanceId = $ti; Name = 'abandoned-1' }) }; $null = Step");
            Assert.True(Commands.BackupCmdletBase.LiveCommandCount() > before);
            for (var i = 0; i < 3; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
            Assert.DoesNotContain("'abandoned-1'", Commands.BackupCmdletBase.LiveTrace() ?? string.Empty);
            Assert.Equal(before, Commands.BackupCmdletBase.LiveCommandCount());
        }

        private sealed class BlockingWriter : System.IO.TextWriter
        {
            private readonly ManualResetEventSlim _gate = new ManualResetEventSlim();
            public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;
            public override void Write(char value) => _gate.Wait(TimeSpan.FromSeconds(10));
            public override void Write(string value) => _gate.Wait(TimeSpan.FromSeconds(10));
            public override void WriteLine(string value) => _gate.Wait(TimeSpan.FromSeconds(10));
            public void Release() => _gate.Set();
            protected override void Dispose(bool disposing)
            {
                Release();
                base.Dispose(disposing);
            }
        }
    }

    /// <summary>
    /// Select-Object -First for the hosted engine, which lacks it (Microsoft.PowerShell.Utility): as the real one, once it
    /// has enough it ends the commands before it with the engine's StopUpstreamCommandsException.
    /// </summary>
    [Cmdlet(VerbsCommon.Select, "Object")]
    public sealed class SelectFirstStandIn : PSCmdlet
    {
        private int _selected;

        [Parameter(ValueFromPipeline = true)]
        public PSObject InputObject { get; set; }

        [Parameter]
        public int First { get; set; }

        protected override void ProcessRecord()
        {
            WriteObject(InputObject);
            if (++_selected < First) return;
            var stop = typeof(PSObject).Assembly.GetType("System.Management.Automation.StopUpstreamCommandsException", throwOnError: true);
            throw (Exception)Activator.CreateInstance(stop, System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public,
                null, new object[] { this }, null);
        }
    }
}
