using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Jobs;
using BackupTools.Simulator;
using Xunit;
using Xunit.Abstractions;

namespace BackupTools.Tests
{
    /// <summary>
    /// Get-BackupJob over many jobs of several endpoints: read at once within each endpoint's limit, a dead endpoint
    /// holding up no other, an endpoint's Retry-After held by all its jobs, Ctrl+C prompt, progress on a long read.
    /// Before: one job at a time, each with its own retries, so 3 jobs of a refused endpoint cost the healthy jobs after
    /// them some 30 s, and 20 jobs of an endpoint that answered 429 Retry-After: 120 sent 20 reads into the limit.
    /// </summary>
    [Collection(TimingCollection.Name)]
    public sealed class GetBackupJobReadsTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;
        private readonly PowerShellHost _ps;
        private readonly ITestOutputHelper _out;

        public GetBackupJobReadsTests(SimulatorFixture fixture, ITestOutputHelper output)
        {
            _sim = fixture.Sim;
            _out = output;
            _ps = TestData.HostedSession(_sim);
        }

        public void Dispose()
        {
            _sim.Faults.Clear();
            _ps.Dispose();
        }

        private const string ConnectBoth =
            "$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token;" +
            "$null = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token;";

        private const string ConnectDeadAndDds =
            "$null = Connect-BackupService -Provider TaurusDB -Endpoint $deadEp -ProjectId $project -AccessToken $token;" +
            "$null = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token;";

        /// <summary>The address of a loopback port nobody listens on: each connection is refused.</summary>
        private static string DeadEndpoint()
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            return $"http://127.0.0.1:{port}/taurus/";
        }

        private static BackupJob DeadJob(string endpoint, int i) => BackupJob.FromProperties(new Dictionary<string, object>
        {
            ["Provider"] = "TaurusDB", ["JobId"] = "dead-job-" + i, ["Endpoint"] = endpoint, ["Scope"] = TestData.ProjectId, ["State"] = "Running",
        });

        private async Task<BackupJob[]> Start(string provider, int n)
        {
            var c = TestData.Connect(_sim, provider);
            var instance = provider == "DDS" ? TestData.DdsInstance : TestData.TaurusInstance;
            return await Task.WhenAll(Enumerable.Range(0, n).Select(i => BackupService.StartAsync(c,
                new BackupRequest { InstanceId = instance, Name = TestData.UniqueName("rd") }, NullOperationLog.Instance, CancellationToken.None)));
        }

        private static BackupJob JobOf(object value) => Assert.IsType<BackupJob>(value is PSObject wrapped ? wrapped.BaseObject : value);

        private static string IdOf(ErrorRecord error) => error.FullyQualifiedErrorId.Split(',')[0];

        [Fact]
        public async Task A_dead_endpoint_does_not_hold_up_the_reads_of_a_healthy_one_and_its_errors_are_as_before()
        {
            var dead = DeadEndpoint();
            var healthy = await Start("DDS", 5);
            _ps.Set("jobs", Enumerable.Range(0, 3).Select(i => DeadJob(dead, i)).Concat(healthy).ToArray());
            _ps.Set("deadEp", dead);
            var r = _ps.Run(ConnectDeadAndDds + "$sw = [System.Diagnostics.Stopwatch]::StartNew();" +
                            "$jobs | Get-BackupJob | ForEach-Object { [pscustomobject]@{ Job = $_; At = $sw.ElapsedMilliseconds } }", TimeSpan.FromSeconds(120));
            var at = r.Output.Select(o => Convert.ToInt64(o.Properties["At"].Value)).ToList();
            _out.WriteLine($"written at {string.Join(", ", at)} ms; errors: {string.Join("; ", r.Errors.Select(IdOf))}");
            Assert.False(r.TimedOut);
            // The healthy jobs, each once, while the dead endpoint's reads are still being retried (9 to 14 s each).
            Assert.Equal(healthy.Select(j => j.JobId).OrderBy(x => x), r.Output.Select(o => JobOf(o.Properties["Job"].Value).JobId).OrderBy(x => x));
            Assert.All(at, ms => Assert.True(ms < 5000, $"a healthy job was written after {ms} ms"));
            // Each dead job's own error, as a read one at a time gave it.
            Assert.Equal(3, r.Errors.Count);
            Assert.All(r.Errors, e => Assert.Equal(ErrorIds.BackupServiceUnreachable, IdOf(e)));
            Assert.Equal(new[] { "dead-job-0", "dead-job-1", "dead-job-2" }, r.Errors.Select(e => Assert.IsType<BackupJob>(e.TargetObject).JobId).OrderBy(x => x));
        }

        [Fact]
        public async Task An_endpoints_Retry_After_beyond_a_reads_wait_answers_its_other_jobs_without_sending_their_reads()
        {
            _sim.Options.JobDuration = TimeSpan.FromMinutes(10);
            var jobs = await Start("TaurusDB", 20);
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", StatusCode = 429, RetryAfter = "120", Times = int.MaxValue });
            _ps.Set("jobs", jobs);
            var r = _ps.Run(ConnectBoth + "$jobs | Get-BackupJob", TimeSpan.FromSeconds(60));
            var limited = _sim.Counters.Requests.Count(q => q.Method == "GET" && q.Status == 429);
            _out.WriteLine($"429s: {limited}; first error: {r.Errors.FirstOrDefault()?.Exception.Message}; last: {r.Errors.LastOrDefault()?.Exception.Message}");
            Assert.False(r.TimedOut);
            Assert.Equal(1, limited);
            // One error per job, about that job, carrying the endpoint's answer (id, status, service code) as its own read had.
            Assert.Equal(20, r.Errors.Count);
            Assert.Equal(jobs.Select(j => j.JobId).OrderBy(x => x), r.Errors.Select(e => Assert.IsType<BackupJob>(e.TargetObject).JobId).OrderBy(x => x));
            Assert.All(r.Errors, e =>
            {
                Assert.Equal(ErrorIds.BackupServiceError, IdOf(e));
                var ex = Assert.IsType<BackupToolsException>(e.Exception);
                Assert.Equal(429, ex.HttpStatus);
                Assert.Equal("APIGW.0308", ex.ServiceCode);
                Assert.InRange(ex.RetryAfter.Value.TotalSeconds, 100, 120);
            });
            Assert.Equal(19, r.Errors.Count(e => e.Exception.Message.Contains("was not sent")));
        }

        [Fact]
        public async Task A_read_held_by_a_long_Retry_After_recommends_reading_again_after_the_pause()
        {
            // The held jobs' errors carried the 429's own action, "for 401 get a new token, for 403 check the account's
            // permissions": nothing to do with a read that was not sent because the endpoint asked for quiet.
            _sim.Options.JobDuration = TimeSpan.FromMinutes(10);
            var jobs = await Start("TaurusDB", 3);
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", StatusCode = 429, RetryAfter = "120", Times = int.MaxValue });
            _ps.Set("jobs", jobs);
            var r = _ps.Run(ConnectBoth + "$jobs | Get-BackupJob", TimeSpan.FromSeconds(60));
            var held = r.Errors.Where(e => e.Exception.Message.Contains("was not sent")).ToList();
            Assert.Equal(2, held.Count);
            Assert.All(held, e =>
            {
                Assert.Contains("after the pause", e.ErrorDetails.RecommendedAction);
                Assert.DoesNotContain("401", e.ErrorDetails.RecommendedAction);
            });
        }

        [Fact]
        public async Task An_endpoints_short_Retry_After_is_waited_out_by_every_job_before_its_read()
        {
            _sim.Options.JobDuration = TimeSpan.FromMinutes(10);
            var jobs = await Start("TaurusDB", 6);
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", StatusCode = 429, RetryAfter = "2", Times = 1 });
            _ps.Set("jobs", jobs);
            var r = _ps.Run(ConnectBoth + "$jobs | Get-BackupJob", TimeSpan.FromSeconds(60));
            var reads = _sim.Counters.Requests.Where(q => q.Provider == "TaurusDB" && q.Method == "GET").OrderBy(q => q.At).ToList();
            _out.WriteLine(string.Join(", ", reads.Select(q => $"{q.Status}@{(q.At - reads[0].At).TotalMilliseconds:0}")));
            Assert.Empty(r.Errors);
            Assert.Equal(6, r.Objects<BackupJob>().Count());
            Assert.Equal(429, reads[0].Status);
            Assert.Equal(7, reads.Count); // the 429, then one read per job: none sent into the pause
            Assert.All(reads.Skip(1), q => Assert.True((q.At - reads[0].At).TotalMilliseconds >= 1900, $"a read {(q.At - reads[0].At).TotalMilliseconds:0} ms after the 429"));
        }

        [Fact]
        public async Task Many_jobs_of_one_endpoint_are_read_at_once_within_its_limit()
        {
            _sim.Options.JobDuration = TimeSpan.FromMinutes(10);
            var jobs = await Start("TaurusDB", 40);
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", Delay = TimeSpan.FromMilliseconds(400), Times = int.MaxValue });
            _ps.Set("jobs", jobs);
            var watch = Stopwatch.StartNew();
            var r = _ps.Run(ConnectBoth + "$jobs | Get-BackupJob", TimeSpan.FromSeconds(60));
            var took = watch.Elapsed;
            var at = _sim.Counters.Requests.Where(q => q.Provider == "TaurusDB" && q.Method == "GET").Select(q => q.At).OrderBy(t => t).ToList();
            // Requests arriving within one answer's time of each other were in flight together.
            var mostAtOnce = at.Select(t => at.Count(u => u >= t && u < t + TimeSpan.FromMilliseconds(350))).Max();
            _out.WriteLine($"took {took}; {at.Count} reads, at most {mostAtOnce} within 350 ms");
            Assert.Empty(r.Errors);
            Assert.Equal(40, r.Objects<BackupJob>().Count());
            Assert.Equal(40, at.Count);
            Assert.InRange(mostAtOnce, 2, new WaitOptions().MaxConcurrentRequestsPerEndpoint);
            Assert.True(took < TimeSpan.FromSeconds(8), $"40 reads of 400 ms took {took}"); // one at a time: 16 s
        }

        [Fact]
        public async Task Ctrl_C_is_prompt_and_keeps_the_jobs_already_read()
        {
            var dead = DeadEndpoint();
            var healthy = await Start("DDS", 5);
            _ps.Set("jobs", healthy.Concat(Enumerable.Range(0, 3).Select(i => DeadJob(dead, i))).ToArray());
            _ps.Set("deadEp", dead);
            Assert.Empty(_ps.Run(ConnectDeadAndDds).Errors);
            for (var round = 0; round < 3; round++)
            {
                using var ps = _ps.Pipeline("$jobs | Get-BackupJob -ErrorAction SilentlyContinue");
                var output = new PSDataCollection<PSObject>();
                var pending = ps.BeginInvoke<PSObject, PSObject>(null, output);
                await Task.Delay(2500);
                var watch = Stopwatch.StartNew();
                ps.Stop();
                var stopMs = watch.ElapsedMilliseconds;
                try { ps.EndInvoke(pending); } catch (PipelineStoppedException) { }
                _out.WriteLine($"round {round}: stopped in {stopMs} ms; {output.Count} written");
                Assert.Equal(5, output.Count);
                Assert.True(stopMs < 200, $"stopping took {stopMs} ms");
            }
        }

        [Fact]
        public async Task A_long_read_shows_n_of_N_read_then_Completed_and_nothing_when_progress_is_off_or_the_read_is_short()
        {
            _sim.Options.JobDuration = TimeSpan.FromMinutes(10);
            var jobs = await Start("TaurusDB", 40);
            _ps.Set("jobs", jobs);
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", Delay = TimeSpan.FromMilliseconds(400), Times = int.MaxValue });
            var r = _ps.Run(ConnectBoth + "$ProgressPreference = 'Continue'; $jobs | Get-BackupJob", TimeSpan.FromSeconds(60));
            _out.WriteLine(string.Join(" | ", r.Progress.Select(p => $"{p.ActivityId} {p.RecordType} {p.StatusDescription} {p.PercentComplete}")));
            Assert.Equal(40, r.Objects<BackupJob>().Count());
            Assert.True(r.Progress.Count >= 2, $"{r.Progress.Count} progress records");
            Assert.Single(r.Progress.Select(p => p.ActivityId).Distinct());
            var last = r.Progress.Last();
            Assert.Equal(ProgressRecordType.Completed, last.RecordType);
            Assert.Single(r.Progress, p => p.RecordType == ProgressRecordType.Completed);
            var counts = r.Progress.Where(p => p.RecordType == ProgressRecordType.Processing).ToList();
            Assert.All(counts, p => Assert.Matches(@"^\d+ of \d+ read$", p.StatusDescription));
            Assert.Equal("40 of 40 read", counts.Last().StatusDescription);
            Assert.Equal(100, counts.Last().PercentComplete);
            // Throttled: at most one count per 250 ms of the read, and the last.
            Assert.True(counts.Count <= 60 / 0.25 + 2);

            var off = _ps.Run("$ProgressPreference = 'SilentlyContinue'; $jobs | Get-BackupJob", TimeSpan.FromSeconds(60));
            Assert.Equal(40, off.Objects<BackupJob>().Count());
            Assert.Empty(off.Progress);

            _sim.Faults.Clear();
            var quick = _ps.Run("$ProgressPreference = 'Continue'; $jobs[0..2] | Get-BackupJob");
            Assert.Equal(3, quick.Objects<BackupJob>().Count());
            Assert.Empty(quick.Progress); // a read over within the first 250 ms shows no bar
        }

        [Fact]
        public void Get_BackupJob_s_status_reads_have_a_wait_s_read_timeout_not_a_create_s()
        {
            // A read that hangs was abandoned after a create's 100 s, each of its four attempts: minutes per job.
            var c = TestData.Connect(_sim, "TaurusDB");
            using var reads = new JobReads(NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal(WaitOptions.DefaultReadTimeout, reads.CallFor(c).RequestTimeout);
            Assert.Equal(TimeSpan.FromSeconds(30), WaitOptions.DefaultReadTimeout);
            Assert.Equal(new WaitOptions().ReadTimeout, reads.CallFor(c).RequestTimeout);
        }

        [Fact]
        public async Task A_pause_a_wait_was_told_holds_Get_BackupJob_s_reads_of_that_endpoint()
        {
            // The endpoint's gate is the process's: a wait in another runspace was answered 429 Retry-After: 300.
            var c = TestData.Connect(_sim, "TaurusDB");
            var job = (await Start("TaurusDB", 1))[0];
            var gate = EndpointGate.Use(c.EndpointKey, new WaitOptions().MaxConcurrentRequestsPerEndpoint);
            try
            {
                gate.PauseFor(TimeSpan.FromSeconds(300));
                var before = _sim.Counters.Requests.Count(q => q.Method == "GET");
                using var reads = new JobReads(NullOperationLog.Instance, CancellationToken.None);
                var ex = await Assert.ThrowsAsync<BackupToolsException>(() => reads.ReadAsync(c, job));
                Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
                Assert.Equal(BackupErrorCategory.LimitsExceeded, ex.Category);
                Assert.Same(job, ex.Target);
                Assert.InRange(ex.RetryAfter.Value.TotalSeconds, 250, 300);
                Assert.Equal(before, _sim.Counters.Requests.Count(q => q.Method == "GET"));
            }
            finally
            {
                gate.Unuse(); // (the last user: the gate, and its pause, leave the process's table)
            }
        }
    }
}
