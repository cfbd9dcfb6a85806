using System;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// A pipeline that ends before a creating command has written everything (an upstream error, Ctrl+C,
    /// Select-Object -First) must not drop a backup that started without a word: the jobs it could not write are kept
    /// in $BackupToolsUnwrittenJobs, and creates cut off on their way are named in a warning to the host.
    /// </summary>
    public sealed class InterruptedCreatesTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;
        private readonly CapturingHost _host = new CapturingHost(width: 200);
        private readonly PowerShellHost _ps;

        public InterruptedCreatesTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _ps = TestData.TaurusSession(_sim, _host);
        }

        public void Dispose()
        {
            _ps.Dispose();
            _sim.Reset();
        }

        private System.Collections.Generic.List<PSObject> Run(string script) => _ps.Run(script).Output;

        private const string TwoRowsThenUpstreamError =
            "try { & { [pscustomobject]@{ InstanceId = $ti; Name = 'upstream-1' }; [pscustomobject]@{ InstanceId = $ti; Name = 'upstream-2' };" +
            " [System.Threading.Thread]::Sleep(1500); throw 'upstream failed' } | ";

        [Theory]
        [InlineData(1)]
        [InlineData(4)]
        public void Jobs_answered_before_an_upstream_error_are_kept(int throttle)
        {
            // With -ThrottleLimit 4 both creates were answered, and both jobs dropped with the pipeline: two backups
            // on the service and no handle, no word. (With 1, each job is written before the next row.)
            var written = Run("$BackupToolsUnwrittenJobs = $null; $out = [System.Collections.Generic.List[object]]::new(); " + TwoRowsThenUpstreamError +
                $"New-InstanceBackup -Provider TaurusDB -ThrottleLimit {throttle} | ForEach-Object {{ $out.Add($_) }} }} catch {{ }}; $out");
            var kept = Run("$BackupToolsUnwrittenJobs").Where(o => o != null).Select(o => o.BaseObject).OfType<BackupJob>().ToList();
            Assert.Equal(2, _sim.Counters.BackupsFor("TaurusDB", TestData.TaurusInstance));
            // Both kept, those written too: the command was stopped, and a statement stopped assigns nothing.
            Assert.Equal(new[] { "upstream-1", "upstream-2" }, kept.Select(j => j.BackupName).OrderBy(n => n, StringComparer.Ordinal));
            Assert.All(written.Where(o => o != null).Select(o => o.BaseObject).OfType<BackupJob>(),
                j => Assert.Contains(j.BackupName, new[] { "upstream-1", "upstream-2" }));
            Assert.Contains("$BackupToolsUnwrittenJobs", _host.Text);
        }

        [Fact]
        public void Creates_cut_off_by_Ctrl_C_are_named_as_maybe_started()
        {
            // The service takes the creates and their answers stall; Ctrl+C: nothing can be written any more, and the
            // backups did start. Before, nothing was said.
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "POST", Kind = FaultKind.StalledBody, Times = int.MaxValue });
            using var ps = _ps.Pipeline("[pscustomobject]@{ InstanceId = $ti; Name = 'cut-off-1' }, [pscustomobject]@{ InstanceId = $ti; Name = 'cut-off-2' } | " +
                         "New-InstanceBackup -Provider TaurusDB -ThrottleLimit 2");
            var pending = ps.BeginInvoke();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (_sim.Counters.BackupsFor("TaurusDB", TestData.TaurusInstance) < 2 && DateTime.UtcNow < deadline) Thread.Sleep(20);
            Assert.Equal(2, _sim.Counters.BackupsFor("TaurusDB", TestData.TaurusInstance));
            ps.Stop();
            try { ps.EndInvoke(pending); } catch (PipelineStoppedException) { }
            Assert.Contains("may have started", _host.Text);
            Assert.Contains("cut-off-1", _host.Text);
            Assert.Contains("cut-off-2", _host.Text);
        }

        [Fact]
        public void A_create_stopped_while_its_lost_answer_is_looked_up_is_named_as_maybe_started()
        {
            // The service makes the backup and the answer is lost; Ctrl+C while the backup is looked for by name.
            // Before, nothing was said (no warning, nothing kept), and the service held the backup.
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "POST", Kind = FaultKind.DropAfterRead, Times = 1 });
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", PathContains = "/backups", Delay = TimeSpan.FromSeconds(20), Times = 1 });
            using var ps = _ps.Pipeline("New-InstanceBackup -Provider TaurusDB -InstanceId $ti -Name stopped-in-lookup");
            var pending = ps.BeginInvoke();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (_sim.Faults.Count > 0 && DateTime.UtcNow < deadline) Thread.Sleep(20);
            Assert.Equal(0, _sim.Faults.Count);
            Thread.Sleep(500);
            ps.Stop();
            try { ps.EndInvoke(pending); } catch (PipelineStoppedException) { }
            Assert.Equal(1, _sim.Counters.BackupsFor("TaurusDB", TestData.TaurusInstance));
            Assert.Contains("may have started", _host.Text);
            Assert.Contains("stopped-in-lookup", _host.Text);
        }

        [Fact]
        public void A_row_never_sent_is_not_named_when_an_error_stops_the_command()
        {
            // -ErrorAction Stop on the first row's refusal while later rows wait for a throttle slot: those were never
            // sent, and must not be named as "may have started".
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "POST", StatusCode = 400, Body = "{\"error_code\":\"DBS.200001\",\"error_msg\":\"Invalid parameter.\"}" });
            Run("try { 'stop-row1', 'stop-row2', 'stop-row3', 'stop-row4' | ForEach-Object { [pscustomobject]@{ InstanceId = $ti; Name = $_ } } | " +
                "New-InstanceBackup -Provider TaurusDB -ThrottleLimit 2 -ErrorAction Stop } catch { }");
            // A row is named (as a create that may have started, or as a kept job) only if it was sent: a slot freed
            // before the error stopped the command may let row 3 through, whose job the stop's warning then names.
            foreach (var row in new[] { "stop-row2", "stop-row3", "stop-row4" })
                if (_host.Text.Contains(row))
                    Assert.True(_sim.Counters.Requests.Any(r => r.Method == "POST" && r.Body != null && r.Body.Contains(row)), $"{row} was never sent, but named: {_host.Text}");
        }

        [Fact]
        public void A_create_stopped_while_it_waits_out_a_busy_refusal_is_not_named()
        {
            // Every attempt is refused busy (nothing made); Ctrl+C during the pause before the next: nothing started.
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "POST", StatusCode = 400, Body = "{\"error_code\":\"DBS.201202\",\"error_msg\":\"busy\"}", Times = int.MaxValue });
            using var ps = _ps.Pipeline("New-InstanceBackup -Provider TaurusDB -InstanceId $ti -Name busy-then-stopped");
            var pending = ps.BeginInvoke();
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (_sim.Counters.Requests.Count(r => r.Method == "POST") < 1 && DateTime.UtcNow < deadline) Thread.Sleep(20);
            Thread.Sleep(200);
            ps.Stop();
            try { ps.EndInvoke(pending); } catch (PipelineStoppedException) { }
            Assert.Equal(0, _sim.Counters.BackupsFor("TaurusDB", TestData.TaurusInstance));
            Assert.DoesNotContain("may have started", _host.Text);
        }

        [Fact]
        public void A_command_that_wrote_everything_says_nothing()
        {
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(200);
            var r = Run("$BackupToolsUnwrittenJobs = $null; [pscustomobject]@{ InstanceId = $ti; Name = 'all-written-1' }, [pscustomobject]@{ InstanceId = $ti; Name = 'all-written-2' } | " +
                        "New-InstanceBackup -Provider TaurusDB -ThrottleLimit 2 -Wait -PollingInterval 0.05");
            Assert.Equal(2, r.Count);
            Assert.DoesNotContain(Run("$BackupToolsUnwrittenJobs"), o => o != null);
            Assert.DoesNotContain("were not written", _host.Text);
            Assert.DoesNotContain("may have started", _host.Text);
        }
    }
}
