using System;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Commands;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// Ctrl+C on a throttled command: the creates cut off on their way are named as "may have started", and only
    /// those; a row still waiting for a slot is not sent, nor named.
    /// </summary>
    [Collection(TimingCollection.Name)]
    public sealed class StoppedStartsTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;
        private readonly CapturingHost _host = new CapturingHost(width: 400);
        private readonly PowerShellHost _ps;

        public StoppedStartsTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _ps = TestData.TaurusSession(_sim, _host);
        }

        public void Dispose()
        {
            _ps.Dispose();
            _sim.Reset();
        }

        // (Counted as they arrive: the request log has a request once it is answered.)
        private int Arrived() => _sim.Counters.TotalRequests;

        [Fact]
        public void Ctrl_C_names_the_creates_cut_off_and_not_the_row_that_waited_for_a_slot()
        {
            // Rows 1 and 2 sent and held by the service; row 3 waits for a slot. Ctrl+C cut off rows 1 and 2, which
            // freed a slot: row 3 was started with the cancelled token and named "may have started" too.
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "POST", PathContains = "backups/create", Delay = TimeSpan.FromSeconds(20), Times = int.MaxValue });
            using var ps = _ps.Pipeline("'slot-1', 'slot-2', 'slot-3', 'slot-4' | ForEach-Object { [pscustomobject]@{ InstanceId = $ti; Name = $_ } } | " +
                                        "New-InstanceBackup -Provider TaurusDB -ThrottleLimit 2");
            var pending = ps.BeginInvoke();
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (Arrived() < 2 && DateTime.UtcNow < deadline) Thread.Sleep(10);
            Thread.Sleep(200);
            ps.Stop();
            try { ps.EndInvoke(pending); } catch (PipelineStoppedException) { }
            Assert.Equal(2, Arrived()); // the two creates, nothing else sent
            Assert.Contains("2 create request(s) were cut off", _host.Text);
            Assert.Contains("slot-1", _host.Text);
            Assert.Contains("slot-2", _host.Text);
            Assert.DoesNotContain("slot-3", _host.Text);
        }

        [Fact]
        public void Ctrl_C_on_a_throttled_command_leaves_no_unobserved_task_exception()
        {
            // Each cut-off create's failure was read only in an action posted to the command's lane, which the
            // stopped command closed before running it: one TaskScheduler.UnobservedTaskException per create, at a GC.
            var unobserved = 0;
            EventHandler<UnobservedTaskExceptionEventArgs> count = (_, e) =>
            {
                if (e.Exception.ToString().Contains("unobserved-")) Interlocked.Increment(ref unobserved);
            };
            TaskScheduler.UnobservedTaskException += count;
            try
            {
                _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "POST", PathContains = "backups/create", Delay = TimeSpan.FromSeconds(20), Times = int.MaxValue });
                // Stopped while the pipeline thread is upstream: the command's lane is closed before it runs again.
                using (var ps = _ps.Pipeline("& { [pscustomobject]@{ InstanceId = $ti; Name = 'unobserved-1' }; [pscustomobject]@{ InstanceId = $ti; Name = 'unobserved-2' }; " +
                                             "[System.Threading.Thread]::Sleep(1500) } | New-InstanceBackup -Provider TaurusDB -ThrottleLimit 2"))
                {
                    var pending = ps.BeginInvoke();
                    var deadline = DateTime.UtcNow.AddSeconds(15);
                    while (Arrived() < 2 && DateTime.UtcNow < deadline) Thread.Sleep(10);
                    Thread.Sleep(200);
                    ps.Stop();
                    try { ps.EndInvoke(pending); } catch (PipelineStoppedException) { }
                }
                Assert.Contains("unobserved-1", _host.Text); // cut off, as the test means
                Thread.Sleep(500); // the cancelled creates' continuations have run
                for (var i = 0; i < 3; i++)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                }
                Assert.Equal(0, Volatile.Read(ref unobserved));
            }
            finally
            {
                TaskScheduler.UnobservedTaskException -= count;
            }
        }

        [Fact]
        public async Task A_create_whose_caller_stopped_before_it_left_sends_nothing_and_did_not_maybe_start()
        {
            // The create was counted as sent before HttpClient refused the cancelled token: it ended "cut off, may have
            // started" for a request that never left.
            using var stopped = new CancellationTokenSource();
            stopped.Cancel();
            var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => BackupService.StartAsync(TestData.Connect(_sim, "TaurusDB"),
                new BackupRequest { InstanceId = TestData.TaurusInstance, Name = TestData.UniqueName() }, null, stopped.Token));
            Assert.False(BackupService.CreateMayHaveStarted(ex), ex.Message);
            Assert.Equal(0, _sim.Counters.TotalRequests);
        }

        [Fact]
        public void A_start_that_waited_for_a_slot_is_not_dispatched_once_the_command_is_stopped()
        {
            // ConcurrentStarts waited for a slot, then started the work whatever the token said.
            using var stopping = new CancellationTokenSource();
            using var starts = new ConcurrentStarts();
            var sink = starts.CreateSink(_ => { }, _ => { });
            var first = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var dispatched = 0;
            starts.Start(1, sink, stopping.Token, _ => { Interlocked.Increment(ref dispatched); return first.Task; }, _ => { });
            _ = Task.Run(async () =>
            {
                await Task.Delay(100);
                stopping.Cancel(); // Ctrl+C: the first one ends cancelled, which frees the slot
                first.SetCanceled();
            });
            starts.Start(1, sink, stopping.Token, _ => { Interlocked.Increment(ref dispatched); return Task.CompletedTask; }, _ => { });
            starts.DrainAll();
            Assert.Equal(1, Volatile.Read(ref dispatched));
        }
    }
}
