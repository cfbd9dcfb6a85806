using System;
using System.Diagnostics;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Http;
using BackupTools.Jobs;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    public sealed class PollScheduleTests
    {
        private static readonly TimeSpan Floor = TimeSpan.FromSeconds(1);
        private static readonly TimeSpan Cap = TimeSpan.FromSeconds(30);

        [Fact]
        public void Without_progress_the_pause_is_a_fifth_of_the_jobs_age()
        {
            var d = PollSchedule.Next(TimeSpan.FromSeconds(50), null, null, Floor, Cap, TimeSpan.Zero, 0.5);
            Assert.Equal(10, d.TotalSeconds, 3);
        }

        [Fact]
        public void The_pause_never_goes_below_the_floor_or_above_the_cap()
        {
            Assert.Equal(Floor, PollSchedule.Next(TimeSpan.FromSeconds(1), null, null, Floor, Cap, TimeSpan.Zero, 0));
            Assert.Equal(Cap, PollSchedule.Next(TimeSpan.FromHours(5), null, null, Floor, Cap, TimeSpan.Zero, 1));
        }

        [Fact]
        public void With_progress_the_next_read_is_near_the_expected_end()
        {
            // 25 % after 10 s: about 30 s to go, capped at 30.
            var d = PollSchedule.Next(TimeSpan.FromSeconds(10), 25, null, Floor, Cap, TimeSpan.Zero, 0.5);
            Assert.Equal(30, d.TotalSeconds, 3);
            // 80 % after 20 s: about 5 s to go.
            d = PollSchedule.Next(TimeSpan.FromSeconds(20), 80, null, Floor, Cap, TimeSpan.Zero, 0.5);
            Assert.Equal(5, d.TotalSeconds, 3);
        }

        /// <summary>
        /// 12 % of an 8 s TaurusDB job read at a client age of 1.56 s (its whole-second start time made the age 0.6 s too
        /// long): the estimate said 11.4 s to go, where 7 remained, and the end was seen 4 s late. A pause from one
        /// extrapolation is at most three times the age.
        /// </summary>
        [Fact]
        public void An_extrapolation_from_a_small_percentage_waits_at_most_three_times_the_age()
        {
            var d = PollSchedule.Next(TimeSpan.FromSeconds(1.56), 12, null, TimeSpan.FromMilliseconds(50), Cap, TimeSpan.Zero, 0.5);
            Assert.Equal(3 * 1.56, d.TotalSeconds, 3);
        }

        [Fact]
        public void A_tiny_percentage_is_not_extrapolated()
        {
            // 1 % after 0.5 s would predict 50 s to go; the age rule applies instead.
            var d = PollSchedule.Next(TimeSpan.FromSeconds(0.5), 1, null, TimeSpan.FromMilliseconds(50), Cap, TimeSpan.Zero, 0.5);
            Assert.Equal(0.1, d.TotalSeconds, 3);
        }

        [Fact]
        public void Retry_after_is_a_minimum_even_above_the_cap()
        {
            var d = PollSchedule.Next(TimeSpan.FromSeconds(2), null, TimeSpan.FromSeconds(45), Floor, Cap, TimeSpan.Zero, 0.5);
            Assert.Equal(45, d.TotalSeconds, 3);
        }

        [Fact]
        public void A_providers_minimum_interval_holds()
        {
            var d = PollSchedule.Next(TimeSpan.FromSeconds(1), null, null, TimeSpan.FromMilliseconds(10), Cap, TimeSpan.FromSeconds(5), 0.5);
            Assert.Equal(5, d.TotalSeconds, 3);
        }

        [Theory]
        [InlineData(0.0)]
        [InlineData(1.0)]
        public void Jitter_stays_within_ten_percent(double random)
        {
            var d = PollSchedule.Next(TimeSpan.FromSeconds(50), null, null, Floor, Cap, TimeSpan.Zero, random);
            Assert.InRange(d.TotalSeconds, 9, 11);
            Assert.NotEqual(10, d.TotalSeconds, 3);
        }

        [Fact]
        public void Retry_after_in_seconds_and_as_an_http_date_are_both_read()
        {
            var now = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
            Assert.Equal(TimeSpan.FromSeconds(7), ServiceResponse.ParseRetryAfter(RetryConditionHeaderValue.Parse("7"), now));
            Assert.Equal(TimeSpan.FromSeconds(90), ServiceResponse.ParseRetryAfter(RetryConditionHeaderValue.Parse("Mon, 23 Nov 2026 12:01:30 GMT"), now));
            Assert.Equal(TimeSpan.Zero, ServiceResponse.ParseRetryAfter(RetryConditionHeaderValue.Parse("Mon, 23 Nov 2026 11:00:00 GMT"), now));
            Assert.Null(ServiceResponse.ParseRetryAfter(null, now));
        }

        [Fact]
        public void A_retry_after_date_is_read_on_the_services_clock()
        {
            // Cloud Foundry's broker limiter sends a date 30 to 90 s ahead: with this machine's clock 10 minutes fast,
            // measuring from the local clock gave no pause at all, and every retry hit the limit again.
            var serviceNow = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeSeconds());
            using var response = new System.Net.Http.HttpResponseMessage((System.Net.HttpStatusCode)429);
            response.Headers.Date = serviceNow;
            response.Headers.RetryAfter = new RetryConditionHeaderValue(serviceNow.AddSeconds(90));
            var read = new ServiceResponse("CloudFoundry", System.Net.Http.HttpMethod.Post, new Uri("https://api.example/v3/service_instances/x/backups"), response, string.Empty);
            Assert.Equal(TimeSpan.FromSeconds(90), read.RetryAfter);

            // Without a Date header, the local clock is all there is.
            response.Headers.Date = null;
            response.Headers.RetryAfter = new RetryConditionHeaderValue(DateTimeOffset.UtcNow.AddMinutes(5));
            var local = new ServiceResponse("CloudFoundry", System.Net.Http.HttpMethod.Post, new Uri("https://api.example/v3/service_instances/x/backups"), response, string.Empty);
            Assert.InRange(local.RetryAfter.Value, TimeSpan.FromMinutes(4), TimeSpan.FromMinutes(5));
        }

        [Fact]
        public void A_retry_after_beyond_a_day_is_taken_as_a_day()
        {
            // A timer takes at most 24.8 days (49.7 on .NET): 99999999 s or a date in 9999 crashed the wait before.
            var now = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
            Assert.Equal(TimeSpan.FromDays(1), ServiceResponse.ParseRetryAfter(RetryConditionHeaderValue.Parse("99999999"), now));
            Assert.Equal(TimeSpan.FromDays(1), ServiceResponse.ParseRetryAfter(RetryConditionHeaderValue.Parse("Fri, 31 Dec 9999 23:59:59 GMT"), now));
        }

        [Fact]
        public void A_429_without_retry_after_waits_for_the_rate_limit_reset()
        {
            // Cloud Foundry's 429 CF-RateLimitExceeded names the window's reset in epoch seconds, on the service's clock.
            var date = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
            using var response = new System.Net.Http.HttpResponseMessage((System.Net.HttpStatusCode)429);
            response.Headers.Date = date;
            response.Headers.TryAddWithoutValidation("X-RateLimit-Reset", date.AddMinutes(7).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(TimeSpan.FromMinutes(7), ServiceResponse.RateLimitReset(response.Headers, date.AddHours(-3)));
            var read = new ServiceResponse("CloudFoundry", System.Net.Http.HttpMethod.Get, new Uri("https://api.example/v3/jobs/x"), response, string.Empty);
            Assert.Equal(TimeSpan.FromMinutes(7), read.RetryAfter);

            // Requests left in the window: the 429 is not the window's, and its reset is no pause.
            response.Headers.TryAddWithoutValidation("X-RateLimit-Remaining", "17");
            Assert.Null(ServiceResponse.RateLimitReset(response.Headers, date));
            response.Headers.Remove("X-RateLimit-Remaining");
            response.Headers.TryAddWithoutValidation("X-RateLimit-Remaining", "0");
            Assert.Equal(TimeSpan.FromMinutes(7), ServiceResponse.RateLimitReset(response.Headers, date));

            // A reset already past is no pause (zero would repeat at once, without backoff); a small number is seconds to wait.
            response.Headers.Remove("X-RateLimit-Reset");
            response.Headers.TryAddWithoutValidation("X-RateLimit-Reset", date.AddMinutes(-1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Null(ServiceResponse.RateLimitReset(response.Headers, date));
            response.Headers.Remove("X-RateLimit-Reset");
            response.Headers.TryAddWithoutValidation("X-RateLimit-Reset", "45");
            Assert.Equal(TimeSpan.FromSeconds(45), ServiceResponse.RateLimitReset(response.Headers, date));

            response.Headers.Remove("X-RateLimit-Reset");
            response.Headers.TryAddWithoutValidation("X-RateLimit-Reset", "99999999999999");
            Assert.Null(ServiceResponse.RateLimitReset(response.Headers, date));
            response.Headers.Remove("X-RateLimit-Reset");
            Assert.Null(new ServiceResponse("CloudFoundry", System.Net.Http.HttpMethod.Get, new Uri("https://api.example/v3/jobs/x"), response, string.Empty).RetryAfter);
        }
    }

    [Collection(TimingCollection.Name)]
    public sealed class JobEngineTests : IClassFixture<SimulatorFixture>
    {
        private readonly BackupSimulator _sim;

        public JobEngineTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
        }

        private async Task<BackupJob> Start(BackupConnection c, string name = null) =>
            await BackupService.StartAsync(c, new BackupRequest { InstanceId = TestData.TaurusInstance, Name = name ?? TestData.UniqueName() },
                NullOperationLog.Instance, CancellationToken.None);

        [Fact]
        public async Task Two_connections_to_one_endpoint_each_read_their_own_jobs()
        {
            // Two DDS connections to one endpoint (two projects, two tokens), as New-*Backup -Wait rows carrying their
            // own -Connection give them: each job is read with its own connection's credential. One status-read
            // context per endpoint read B's job with A's token (refused once A's was revoked).
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(1500);
            lock (_sim.Options.Tokens) { _sim.Options.Tokens.Add("tok-a-engine"); _sim.Options.Tokens.Add("tok-b-engine"); }
            try
            {
                var a = TestData.Connect(_sim, "DDS", "tok-a-engine", TestData.ProjectId);
                var b = TestData.Connect(_sim, "DDS", "tok-b-engine", "fedcba9876543210fedcba9876543210");
                var jobA = await BackupService.StartAsync(a, new BackupRequest { InstanceId = TestData.DdsInstance, Name = TestData.UniqueName() }, NullOperationLog.Instance, CancellationToken.None);
                var jobB = await BackupService.StartAsync(b, new BackupRequest { InstanceId = TestData.DdsInstance, Name = TestData.UniqueName() }, NullOperationLog.Instance, CancellationToken.None);
                lock (_sim.Options.Tokens) _sim.Options.Tokens.Remove("tok-a-engine");
                var own = new Dictionary<BackupJob, BackupConnection> { [jobA] = a, [jobB] = b };
                var events = new RecordingEvents();
                await BackupService.WaitAsync(new[] { jobA, jobB }, job => own[job], HuaweiFamilyTests.Fast, events, NullOperationLog.Instance, CancellationToken.None);
                Assert.Equal(jobB.JobId, Assert.Single(events.Finished).JobId);
                Assert.Equal(BackupJobState.Succeeded, events.Finished[0].State);
                var refused = Assert.Single(events.Errors);
                Assert.Equal(401, refused.HttpStatus);
            }
            finally
            {
                lock (_sim.Options.Tokens) { _sim.Options.Tokens.Remove("tok-a-engine"); _sim.Options.Tokens.Remove("tok-b-engine"); }
            }
        }

        [Fact]
        public async Task Jobs_are_reported_in_completion_order()
        {
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(600);
            var c = TestData.Connect(_sim, "TaurusDB");
            var early = await Start(c, "early-job");
            await Task.Delay(1000);
            // The late job runs 3 s (a job keeps the duration it was created with) and the early one has ended before
            // the wait begins: only a 3 s stall of the early job's first read could swap them. With 600 ms for both,
            // a clean-clone CI run on this 2-core machine, busy with the other test classes, once did.
            _sim.Options.JobDuration = TimeSpan.FromSeconds(3);
            var late = await Start(c, "late-job");
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { late, early });
            Assert.Equal(new[] { "early-job", "late-job" }, events.Finished.Select(j => j.BackupName).ToArray());
        }

        [Fact]
        public async Task On_timeout_every_unfinished_job_is_reported_with_its_last_state()
        {
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            var c = TestData.Connect(_sim, "TaurusDB");
            var jobs = new[] { await Start(c), await Start(c), await Start(c) };
            // (2 s: long enough that every job has been read at least once on a busy machine, which LastCheckedAt checks)
            var options = new WaitOptions { Timeout = TimeSpan.FromSeconds(2), PollingInterval = TimeSpan.FromMilliseconds(50) };
            var events = await HuaweiFamilyTests.WaitAll(c, jobs, options);
            Assert.Empty(events.Finished);
            Assert.Equal(jobs.Select(j => j.JobId).OrderBy(x => x), events.TimedOut.Select(j => j.JobId).OrderBy(x => x));
            Assert.All(events.TimedOut, j => Assert.Equal(BackupJobState.Running, j.State));
            Assert.All(events.TimedOut, j => Assert.NotNull(j.LastCheckedAt));
            var error = JobOutcome.TimeoutFor(events.TimedOut[0]);
            Assert.Equal(ErrorIds.BackupJobTimeout, error.ErrorId);
            Assert.Equal(BackupErrorCategory.OperationTimeout, error.Category);
        }

        [Theory]
        [InlineData(3000, 1000)] // -PollingInterval longer than -Timeout: the pause ended at the deadline, not after it
        [InlineData(1000, 500)]  // -Timeout shorter than the default interval
        public async Task A_job_finished_before_the_deadline_is_reported_finished_not_timed_out(int pollingMs, int timeoutMs)
        {
            // The first pause was the polling interval, whatever the time left: the timeout came first, and a job that
            // had ended before the wait began was reported timed out, still Running, after no read at all.
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(200);
            var c = TestData.Connect(_sim, "TaurusDB");
            var job = await Start(c);
            await Task.Delay(600);
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job },
                new WaitOptions { PollingInterval = TimeSpan.FromMilliseconds(pollingMs), Timeout = TimeSpan.FromMilliseconds(timeoutMs) });
            Assert.Empty(events.TimedOut);
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
        }

        [Fact]
        public async Task A_timed_out_job_was_read_at_the_deadline()
        {
            // Pauses of up to 30 s: a job was reported with the state it had long before the deadline, unread since.
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            var c = TestData.Connect(_sim, "TaurusDB");
            var job = await Start(c);
            var watch = Stopwatch.StartNew();
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job },
                new WaitOptions { PollingInterval = TimeSpan.FromSeconds(20), MaxPollingInterval = TimeSpan.FromSeconds(30), Timeout = TimeSpan.FromSeconds(1) });
            var timedOut = Assert.Single(events.TimedOut);
            Assert.NotNull(timedOut.LastCheckedAt);
            Assert.Equal(1, _sim.Counters.Requests.Count(r => r.Method == "GET"));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), watch.Elapsed.ToString());
        }

        [Fact]
        public void A_timeout_beyond_a_timers_longest_delay_is_a_limit_and_only_the_largest_value_means_none()
        {
            // Beyond 24.8 days (int.MaxValue ms) the timer was not set at all: -Timeout (New-TimeSpan -Days 30) waited forever.
            Assert.Equal(TimeSpan.FromDays(30), JobEngine.DeadlineOf(TimeSpan.FromDays(30)));
            Assert.Equal(TimeSpan.FromSeconds(5), JobEngine.DeadlineOf(TimeSpan.FromSeconds(5)));
            Assert.Equal(TimeSpan.Zero, JobEngine.DeadlineOf(TimeSpan.Zero));
            Assert.Null(JobEngine.DeadlineOf(null));
            Assert.Null(JobEngine.DeadlineOf(Timeout.InfiniteTimeSpan));
            Assert.Null(JobEngine.DeadlineOf(TimeSpan.MaxValue));
        }

        [Fact]
        public async Task A_deadline_longer_than_one_timer_chunk_is_waited_in_chunks()
        {
            using var cts = new CancellationTokenSource();
            using (new LongCancelTimer(cts, TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(100)))
            {
                await Task.Delay(1000);
                Assert.False(cts.IsCancellationRequested); // not at the end of the first chunk
                var deadline = Stopwatch.StartNew();
                while (!cts.IsCancellationRequested && deadline.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(20);
                Assert.True(cts.IsCancellationRequested);
            }
        }

        [Fact]
        public async Task Cancelling_stops_the_wait_within_200_ms_and_leaves_the_backup_running()
        {
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            var c = TestData.Connect(_sim, "TaurusDB");
            var job = await Start(c);
            using var cts = new CancellationTokenSource();
            var events = new RecordingEvents();
            var wait = BackupService.WaitAsync(new[] { job }, _ => c, new WaitOptions { PollingInterval = TimeSpan.FromMilliseconds(50) },
                events, NullOperationLog.Instance, cts.Token);
            await Task.Delay(300);
            var watch = Stopwatch.StartNew();
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
            Assert.True(watch.ElapsedMilliseconds < 200, $"took {watch.ElapsedMilliseconds} ms");
            Assert.Empty(events.Finished);
            Assert.Empty(events.TimedOut);
            var still = await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal(BackupJobState.Running, still.State);
        }

        [Fact]
        public async Task Any_returns_when_the_first_job_is_final()
        {
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            var c = TestData.Connect(_sim, "TaurusDB");
            var quick = await Start(c, "quick-job");
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            var slow = await Start(c, "slow-job");
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { slow, quick },
                new WaitOptions { Any = true, PollingInterval = TimeSpan.FromMilliseconds(50), Timeout = TimeSpan.FromSeconds(20) });
            Assert.Equal("quick-job", Assert.Single(events.Finished).BackupName);
            Assert.Empty(events.TimedOut);
        }

        [Fact]
        public async Task Any_reports_one_job_even_when_several_are_final_at_once()
        {
            // Jobs already final when the wait starts (a re-waited batch): -Any writes the first, and only it.
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(100);
            var c = TestData.Connect(_sim, "TaurusDB");
            var jobs = new List<BackupJob>();
            for (var i = 0; i < 8; i++) jobs.Add(await Start(c, "done-" + i));
            var done = (await HuaweiFamilyTests.WaitAll(c, jobs)).Finished.ToList();
            Assert.Equal(8, done.Count);
            var events = await HuaweiFamilyTests.WaitAll(c, done,
                new WaitOptions { Any = true, PollingInterval = TimeSpan.FromMilliseconds(50), Timeout = TimeSpan.FromSeconds(20) });
            Assert.Single(events.Finished);
            Assert.Empty(events.TimedOut);
        }

        [Fact]
        public async Task Transient_status_failures_are_survived()
        {
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            var c = TestData.Connect(_sim, "TaurusDB");
            var job = await Start(c);
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", StatusCode = 503, Times = 2 });
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", StatusCode = 429, RetryAfter = "1", Times = 1 });
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
        }

        [Fact]
        public async Task A_status_read_that_hangs_is_abandoned_after_the_waits_read_timeout()
        {
            // An endpoint that takes requests and never answers: each read of a wait took a create's 100 s, so the 20
            // failed reads that give a job up took over 33 minutes.
            Assert.Equal(TimeSpan.FromSeconds(30), new WaitOptions().ReadTimeout);
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            var c = TestData.Connect(_sim, "TaurusDB");
            var job = await Start(c);
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", Delay = TimeSpan.FromMinutes(10), Times = int.MaxValue });
            var events = new RecordingEvents();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            var watch = Stopwatch.StartNew();
            await BackupService.WaitAsync(new[] { job }, _ => c,
                new WaitOptions { ReadTimeout = TimeSpan.FromMilliseconds(500), MaxConsecutiveReadFailures = 2, PollingInterval = TimeSpan.FromMilliseconds(50) },
                events, NullOperationLog.Instance, cts.Token);
            var error = Assert.Single(events.Errors);
            Assert.Equal(ErrorIds.BackupServiceUnreachable, error.ErrorId);
            Assert.Equal(BackupErrorCategory.OperationTimeout, error.Category);
            Assert.Contains("no answer within 0.5 s", error.Message);
            Assert.Same(job, error.Target);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(8), watch.Elapsed.ToString());
        }

        /// <summary>Options that give an endpoint up after 20 unanswered reads over 2 s, and never one job by its own count.</summary>
        private static WaitOptions OutageOptions(TimeSpan? outageTime = null, int slots = 4) => new WaitOptions
        {
            ReadTimeout = TimeSpan.FromMilliseconds(300),
            MaxConsecutiveReadFailures = 1000,
            EndpointOutageFailures = 20,
            EndpointOutageTime = outageTime ?? TimeSpan.FromSeconds(2),
            MaxConcurrentRequestsPerEndpoint = slots,
            PollingInterval = TimeSpan.FromMilliseconds(50),
            MaxPollingInterval = TimeSpan.FromMilliseconds(200),
            Timeout = TimeSpan.FromSeconds(30),
        };

        private static string ClosedPort()
        {
            var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start();
            var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            return $"http://127.0.0.1:{port}/taurusdb/";
        }

        [Fact]
        public async Task An_endpoint_that_stops_answering_has_all_its_jobs_given_up_at_once_and_the_others_go_on()
        {
            // 40 jobs on an endpoint that takes requests and never answers, 10 on one that refuses connections, 3 on a
            // healthy one. Each job had to earn its own 20 failed reads, one slot of 32 at a time: 1,000 jobs on a hung
            // endpoint took 17 hours. The endpoint's count is shared: each is given up whole once 20 reads in a row of
            // its jobs got no answer over at least EndpointOutageTime.
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            var hung = TestData.Connect(_sim, "TaurusDB");
            var hungJobs = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Start(hung)));
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(500);
            var dds = TestData.Connect(_sim, "DDS");
            var healthy = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => BackupService.StartAsync(dds,
                new BackupRequest { InstanceId = TestData.DdsInstance, Name = TestData.UniqueName() }, NullOperationLog.Instance, CancellationToken.None)));
            var closed = ClosedPort();
            var refusing = BackupService.Connect(new ConnectRequest { Provider = "TaurusDB", Endpoint = new Uri(closed), Scope = TestData.ProjectId, AccessToken = TestData.Secure(TestData.Token) });
            var refusedJobs = Enumerable.Range(0, 10).Select(i => new BackupJob("TaurusDB", closed, "refused-job-" + i, scope: TestData.ProjectId)).ToArray();
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", Delay = TimeSpan.FromMinutes(10), Times = int.MaxValue });

            var events = new RecordingEvents();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            var watch = Stopwatch.StartNew();
            await BackupService.WaitAsync(hungJobs.Concat(refusedJobs).Concat(healthy).ToArray(),
                job => job.Provider == "DDS" ? dds : job.Endpoint == closed ? refusing : hung, OutageOptions(), events, NullOperationLog.Instance, cts.Token);

            Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(2), watch.Elapsed.ToString()); // not before EndpointOutageTime
            Assert.Equal(healthy.Select(j => j.JobId).OrderBy(x => x), events.Finished.Select(j => j.JobId).OrderBy(x => x));
            Assert.All(events.Finished, j => Assert.Equal(BackupJobState.Succeeded, j.State));
            Assert.Empty(events.TimedOut);
            var errors = events.Errors.ToList();
            Assert.Equal(50, errors.Count);
            // Each job once, as the error's target, with the id and category its own 20th failed read would have given.
            Assert.Equal(hungJobs.Concat(refusedJobs).Select(j => j.JobId).OrderBy(x => x), errors.Select(e => ((BackupJob)e.Target).JobId).OrderBy(x => x));
            Assert.All(errors, e => Assert.Equal(ErrorIds.BackupServiceUnreachable, e.ErrorId));
            Assert.All(errors, e => Assert.Contains("stopped answering", e.Message));
            Assert.All(errors, e => Assert.IsType<BackupToolsException>(e.InnerException));
            Assert.All(errors.Where(e => ((BackupJob)e.Target).Endpoint == closed), e => Assert.Equal(BackupErrorCategory.ConnectionError, e.Category));
            var timedOut = errors.Where(e => ((BackupJob)e.Target).Endpoint != closed).ToList();
            Assert.All(timedOut, e => Assert.Equal(BackupErrorCategory.OperationTimeout, e.Category));
            Assert.All(timedOut, e => Assert.Contains("no answer within 0.3 s", e.Message));
            // Given up together: far fewer reads than 40 jobs each failing on its own (4 slots of 0.3 s each).
            Assert.InRange(_sim.Counters.Requests.Count(r => r.Provider == "TaurusDB" && r.Method == "GET"), 20, 200);
        }

        [Fact]
        public async Task A_brief_outage_gives_no_endpoint_up()
        {
            // 40 jobs, 32 slots: an endpoint silent for 1 s fails far more than 20 reads in a row (32 at once), in less
            // than the 3 s an outage must last; then it answers again, and every job is followed to its end.
            _sim.Options.JobDuration = TimeSpan.FromSeconds(3);
            var c = TestData.Connect(_sim, "TaurusDB");
            var jobs = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Start(c)));
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", Delay = TimeSpan.FromMinutes(10), Times = int.MaxValue });
            var events = new RecordingEvents();
            var wait = BackupService.WaitAsync(jobs, _ => c, OutageOptions(TimeSpan.FromSeconds(3), slots: 32), events, NullOperationLog.Instance, CancellationToken.None);
            await Task.Delay(1000);
            _sim.Faults.Clear();
            await wait;
            Assert.Empty(events.Errors);
            Assert.Equal(40, events.Finished.Count);
            Assert.True(_sim.Counters.Requests.Count(r => r.Method == "GET" && r.Status == 0) >= 20,
                "fewer than 20 reads went unanswered: the outage was not long enough to test anything");
        }

        [Fact]
        public void An_endpoint_is_given_up_only_after_enough_unanswered_reads_over_enough_time_with_no_answer_between()
        {
            var c = TestData.Connect(_sim, "TaurusDB");
            var job = new BackupJob("TaurusDB", c.Endpoint.ToString(), "j1", scope: TestData.ProjectId);
            var noAnswer = new BackupToolsException(ErrorIds.BackupServiceUnreachable, BackupErrorCategory.OperationTimeout, "TaurusDB GET …: no answer within 30 s.", job);
            var refused = new BackupToolsException(ErrorIds.BackupServiceUnreachable, BackupErrorCategory.ConnectionError, "TaurusDB GET …: Connection refused.", job);
            var http503 = new BackupToolsException(ErrorIds.BackupServiceError, BackupErrorCategory.ResourceUnavailable, "TaurusDB GET … answered HTTP 503.", job) { HttpStatus = 503 };
            var signIn = new BackupToolsException(ErrorIds.BackupServiceUnreachable, BackupErrorCategory.ConnectionError, "IAM POST …: Connection refused.", new Uri("https://iam.example/"));
            var options = new WaitOptions { EndpointOutageFailures = 5, EndpointOutageTime = TimeSpan.FromMilliseconds(600) };
            using var wait = new CancellationTokenSource();
            // A failure more than 1 s after the one before starts the run again (the test below is about that gap; here it
            // only has to be wider than the 200 ms pauses between failures however long a busy machine makes them: with
            // 250 ms against 110 ms pauses, one pause stretched by 140 ms would start the run again and fail the test).
            var endpoint = new JobEngine.Endpoint(EndpointGate.Use(c.EndpointKey + "|outage-test", 4), c, wait.Token, options) { QuietGap = TimeSpan.FromSeconds(1) };
            try
            {
                // Enough failures, not enough time.
                for (var i = 0; i < 10; i++) Assert.False(endpoint.Failed(noAnswer));
                // An answer (a success, or an HTTP error) starts the count again; a sign-in's failure is not the endpoint's.
                endpoint.Answered();
                Thread.Sleep(800); // (past the outage time, inside the gap: only the answer starts the count again)
                for (var i = 0; i < 4; i++) Assert.False(endpoint.Failed(noAnswer));
                Assert.False(endpoint.Failed(http503));
                Assert.False(endpoint.Failed(signIn));
                // Four more, spread (not two ends of a silence, which starts the run again: see the test below).
                for (var i = 0; i < 4; i++)
                {
                    Assert.False(endpoint.Failed(refused));
                    Thread.Sleep(200);
                }
                Assert.False(endpoint.Token.IsCancellationRequested);
                // Five in a row over 600 ms: down, its token cancelled (its jobs' pauses, queue places and reads end).
                Assert.True(endpoint.Failed(refused));
                Assert.True(endpoint.IsDown);
                Assert.True(endpoint.Token.IsCancellationRequested);
                Assert.True(endpoint.Failed(http503)); // and it stays down
                var error = endpoint.GaveUp(job);
                Assert.Equal(ErrorIds.BackupServiceUnreachable, error.ErrorId);
                Assert.Equal(BackupErrorCategory.ConnectionError, error.Category);
                Assert.Same(job, error.Target);
                Assert.Same(refused, error.InnerException);
                Assert.Equal("TaurusDB", error.Provider);
                Assert.Contains("5 status reads", error.Message);
                Assert.Contains("Connection refused.", error.Message);
                Assert.NotNull(error.RecommendedAction);
            }
            finally
            {
                endpoint.Dispose();
            }
        }

        [Fact]
        public void A_silence_between_failures_is_not_counted_as_outage_time()
        {
            // A laptop: one read fails as the Wi-Fi drops before it sleeps; on waking every overdue job reads at once
            // while the Wi-Fi reconnects, and 19 fail within a second. Measured from the first failure to the last, the
            // sleep counted as outage and every job of the endpoint was given up. Scaled: 20 over 600 ms stands for 20
            // over 5 minutes, and a silence of 1 s for one longer than any job's pause and read (2 s asleep is longer;
            // 300 ms, against 100 ms pauses between the failures that follow, left 200 ms for a busy machine to stretch
            // a pause by before it started the run again and failed the test).
            var c = TestData.Connect(_sim, "TaurusDB");
            var job = new BackupJob("TaurusDB", c.Endpoint.ToString(), "j1", scope: TestData.ProjectId);
            var refused = new BackupToolsException(ErrorIds.BackupServiceUnreachable, BackupErrorCategory.ConnectionError, "TaurusDB GET …: Network is unreachable.", job);
            var options = new WaitOptions { EndpointOutageFailures = 20, EndpointOutageTime = TimeSpan.FromMilliseconds(600) };
            using var wait = new CancellationTokenSource();
            var endpoint = new JobEngine.Endpoint(EndpointGate.Use(c.EndpointKey + "|quiet-gap", 4), c, wait.Token, options) { QuietGap = TimeSpan.FromSeconds(1) };
            try
            {
                Assert.False(endpoint.Failed(refused));
                Thread.Sleep(2000); // asleep: nothing is read
                for (var i = 0; i < 19; i++) Assert.False(endpoint.Failed(refused), $"given up at failure {i + 2} of a burst after a silence");
                Assert.False(endpoint.IsDown);
                // The burst started a run of its own: failures that go on, spread over the outage time, still give it up.
                var down = false;
                for (var i = 0; i < 8 && !down; i++)
                {
                    Thread.Sleep(100);
                    down = endpoint.Failed(refused);
                }
                Assert.True(down);
            }
            finally
            {
                endpoint.Dispose();
            }
        }

        [Fact]
        public void The_longest_silence_in_a_run_of_failures_is_a_jobs_longest_pause_and_its_reads_time()
        {
            // Defaults: the 30 s cap, then a read (and a sign-in before it) of 30 s each.
            Assert.Equal(TimeSpan.FromSeconds(90), JobEngine.Endpoint.QuietGapOf(new WaitOptions(), TimeSpan.Zero));
            // The backoff after failed reads (16 s) is a pause too, whatever the cap; the provider's minimum when longer.
            Assert.Equal(TimeSpan.FromSeconds(18), JobEngine.Endpoint.QuietGapOf(
                new WaitOptions { PollingInterval = TimeSpan.FromMilliseconds(50), MaxPollingInterval = TimeSpan.FromMilliseconds(200), ReadTimeout = TimeSpan.FromSeconds(1) }, TimeSpan.Zero));
            Assert.Equal(TimeSpan.FromSeconds(62), JobEngine.Endpoint.QuietGapOf(
                new WaitOptions { ReadTimeout = TimeSpan.FromSeconds(1) }, TimeSpan.FromMinutes(1)));
            // A read without a limit: no silence is too long.
            Assert.Equal(TimeSpan.MaxValue, JobEngine.Endpoint.QuietGapOf(new WaitOptions { ReadTimeout = Timeout.InfiniteTimeSpan }, TimeSpan.Zero));
        }

        [Fact]
        public async Task A_retry_after_of_zero_does_not_cut_the_backoff_after_failed_reads_short()
        {
            // 20 failed reads in a row give a job up; with Retry-After: 0 taken as the pause they came within seconds.
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            var c = TestData.Connect(_sim, "TaurusDB");
            var job = await Start(c);
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", StatusCode = 503, RetryAfter = "0", Times = int.MaxValue });
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job },
                new WaitOptions { PollingInterval = TimeSpan.FromMilliseconds(50), MaxPollingInterval = TimeSpan.FromMilliseconds(200), Timeout = TimeSpan.FromSeconds(6) });
            Assert.Empty(events.Errors);
            Assert.Single(events.TimedOut);
            Assert.InRange(_sim.Counters.Requests.Count(r => r.Method == "GET"), 1, 8);
        }

        [Fact]
        public async Task A_429_with_retry_after_quiets_the_whole_endpoint_not_only_the_job_that_was_told()
        {
            // 120 jobs waiting; the endpoint starts answering 429 Retry-After: 5. Before, each job sent its next read
            // into the limit and got its own 429 (120 within the 5 s), as if no job had been told.
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            var c = TestData.Connect(_sim, "TaurusDB");
            var jobs = await Task.WhenAll(Enumerable.Range(0, 120).Select(_ => Start(c)));
            using var cts = new CancellationTokenSource();
            var wait = BackupService.WaitAsync(jobs, _ => c,
                new WaitOptions { PollingInterval = TimeSpan.FromMilliseconds(200), MaxPollingInterval = TimeSpan.FromMilliseconds(400) },
                new RecordingEvents(), NullOperationLog.Instance, cts.Token);
            await Task.Delay(1500);
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", StatusCode = 429, RetryAfter = "5", Times = int.MaxValue });
            await Task.Delay(4000);
            var limited = _sim.Counters.Requests.Count(r => r.Method == "GET" && r.Status == 429);
            cts.Cancel();
            try { await wait; } catch (OperationCanceledException) { }
            // At most the reads already in flight when the first 429 came (32 per endpoint), each told once.
            Assert.InRange(limited, 1, new WaitOptions().MaxConcurrentRequestsPerEndpoint + 8);
        }

        /// <summary>
        /// Two waits of one session on one endpoint (ForEach-Object -Parallel): a 429 with Retry-After that one of them
        /// is told quiets the other as well, as they share the endpoint's gate (each wait had its own: the other went
        /// on reading every 200-400 ms, and four waits had 128 reads in flight to one endpoint).
        /// </summary>
        [Fact]
        public async Task Parallel_waits_on_one_endpoint_share_its_pause()
        {
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            var c = TestData.Connect(_sim, "TaurusDB");
            var jobs = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Start(c)));
            using var cts = new CancellationTokenSource();
            var options = new WaitOptions { PollingInterval = TimeSpan.FromMilliseconds(200), MaxPollingInterval = TimeSpan.FromMilliseconds(400) };
            var waits = new[] { jobs.Take(20), jobs.Skip(20) }.Select(half => Task.Run(() =>
                BackupService.WaitAsync(half.ToList(), _ => c, options, new RecordingEvents(), NullOperationLog.Instance, cts.Token))).ToList();
            await Task.Delay(1500);
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", StatusCode = 429, RetryAfter = "4", Times = 1 });
            await Task.Delay(3500);
            cts.Cancel();
            foreach (var wait in waits)
            {
                try { await wait; } catch (OperationCanceledException) { }
            }
            var told = Assert.Single(_sim.Counters.Requests, r => r.Method == "GET" && r.Status == 429).At;
            var during = _sim.Counters.Requests.Count(r => r.Method == "GET" && r.At > told && r.At < told + TimeSpan.FromSeconds(3));
            // At most the reads already in flight when the 429 came, one per job; the wait that was not told read
            // each of its 20 jobs every 200-400 ms.
            Assert.InRange(during, 0, jobs.Length);
        }

        [Fact]
        public async Task Reads_queued_for_a_slot_when_the_endpoint_asks_for_quiet_hold_too()
        {
            // 200 jobs, 32 slots: the 429s come slowly (300 ms), so most reads queue at the gate when the pause begins.
            // Checked only before queueing, they went from the queue straight into the limit: 200 429s in 5 s.
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            var c = TestData.Connect(_sim, "TaurusDB");
            var jobs = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Start(c)));
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", StatusCode = 429, RetryAfter = "10", Delay = TimeSpan.FromMilliseconds(300), Times = int.MaxValue });
            using var cts = new CancellationTokenSource();
            var wait = BackupService.WaitAsync(jobs, _ => c,
                new WaitOptions { PollingInterval = TimeSpan.FromMilliseconds(200), MaxPollingInterval = TimeSpan.FromMilliseconds(400) },
                new RecordingEvents(), NullOperationLog.Instance, cts.Token);
            await Task.Delay(5000);
            var limited = _sim.Counters.Requests.Count(q => q.Method == "GET" && q.Status == 429);
            cts.Cancel();
            try { await wait; } catch (OperationCanceledException) { }
            Assert.InRange(limited, 1, new WaitOptions().MaxConcurrentRequestsPerEndpoint + 8);
        }

        [Fact]
        public async Task A_job_that_disappears_after_the_grace_period_is_reported_not_found()
        {
            var c = TestData.Connect(_sim, "TaurusDB");
            var ghost = new BackupJob("TaurusDB", c.Endpoint.ToString(), "00000000000000000000000000000000",
                createdAt: DateTimeOffset.UtcNow.AddHours(-2), scope: TestData.ProjectId);
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { ghost });
            var error = Assert.Single(events.Errors);
            Assert.Equal(ErrorIds.BackupJobNotFound, error.ErrorId);
        }

        [Fact]
        public async Task A_job_without_a_connection_is_reported_not_silently_dropped()
        {
            var job = new BackupJob("DDS", "https://dds.eu-de.otc.t-systems.com/", "abc", scope: TestData.ProjectId);
            var events = new RecordingEvents();
            var store = new BackupTools.Session.ConnectionStore();
            await BackupService.WaitAsync(new[] { job }, store.ForJob, new WaitOptions(), events, NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal(ErrorIds.ConnectionNotFound, Assert.Single(events.Errors).ErrorId);
        }

        [Fact]
        public async Task A_job_without_an_endpoint_is_reported_as_such_with_the_way_out()
        {
            // A deserialized job without its Endpoint: "There is no connection to TaurusDB at  in this session".
            var job = new BackupJob("TaurusDB", null, "abc", scope: TestData.ProjectId);
            var events = new RecordingEvents();
            var store = new BackupTools.Session.ConnectionStore();
            await BackupService.WaitAsync(new[] { job }, store.ForJob, new WaitOptions(), events, NullOperationLog.Instance, CancellationToken.None);
            var error = Assert.Single(events.Errors);
            Assert.Equal(ErrorIds.ConnectionNotFound, error.ErrorId);
            Assert.Contains("carries no Endpoint", error.Message);
            Assert.Contains("-Connection", error.Message);
            Assert.DoesNotContain(" at  ", error.Message);
        }

        [Fact]
        public async Task A_job_without_an_endpoint_is_read_with_the_sessions_only_connection_to_its_service()
        {
            // A hand-made job (Provider, JobId and project from a CSV): the session's one TaurusDB connection reads it.
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(200);
            var c = TestData.Connect(_sim, "TaurusDB");
            var started = await Start(c);
            var store = new BackupTools.Session.ConnectionStore();
            store.SetDefault(c);
            var bare = new BackupJob("TaurusDB", null, started.JobId, scope: started.Scope);
            Assert.Same(c, store.ForJob(bare));
            var events = new RecordingEvents();
            await BackupService.WaitAsync(new[] { bare }, store.ForJob, new WaitOptions { PollingInterval = TimeSpan.FromMilliseconds(50), Timeout = TimeSpan.FromSeconds(30) },
                events, NullOperationLog.Instance, CancellationToken.None);
            Assert.Empty(events.Errors);
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);

            // With two TaurusDB connections (two regions), which one is not guessed: the job is told to give its Endpoint.
            var other = BackupService.Connect(new ConnectRequest { Provider = "TaurusDB", Endpoint = new Uri(_sim.EndpointFor("TaurusDB").ToString().Replace("127.0.0.1", "localhost")),
                Scope = TestData.ProjectId, AccessToken = TestData.Secure(TestData.Token) });
            store.SetDefault(other);
            var ambiguous = Assert.Throws<BackupToolsException>(() => store.ForJob(bare));
            Assert.Equal(ErrorIds.ConnectionNotFound, ambiguous.ErrorId);
            Assert.Contains("give the job its Endpoint.", ambiguous.Message);
        }

        [Fact]
        public async Task A_huge_retry_after_on_a_status_read_ends_in_the_timeout_not_a_crash()
        {
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            var c = TestData.Connect(_sim, "TaurusDB");
            var job = await Start(c);
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", StatusCode = 503, RetryAfter = "99999999", Times = int.MaxValue });
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job }, new WaitOptions { Timeout = TimeSpan.FromSeconds(2), PollingInterval = TimeSpan.FromMilliseconds(50) });
            Assert.Equal(job.JobId, Assert.Single(events.TimedOut).JobId);
            Assert.Empty(events.Errors);
            // (the huge pause was asked for, and taken as a day: not a wait that ended before its first read)
            Assert.Contains(_sim.Counters.Requests, r => r.Method == "GET" && r.Status == 503);
        }

        [Fact]
        public async Task A_single_status_read_does_not_wait_out_a_pause_beyond_its_longest()
        {
            // Get-BackupJob: a 429 asking for an hour is the answer, not an hour's wait.
            var c = TestData.Connect(_sim, "TaurusDB");
            var job = await Start(c);
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", StatusCode = 429, RetryAfter = "3600", Times = int.MaxValue });
            var watch = Stopwatch.StartNew();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None));
            Assert.Equal(429, ex.HttpStatus);
            Assert.Equal(TimeSpan.FromHours(1), ex.RetryAfter);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), watch.Elapsed.ToString());
            Assert.Equal(1, _sim.Counters.Requests.Count(r => r.Method == "GET"));
        }

        [Fact]
        public async Task A_create_is_not_repeated_after_a_pause_longer_than_its_budget()
        {
            var c = TestData.Connect(_sim, "TaurusDB");
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "POST", StatusCode = 429, RetryAfter = "3600", Times = int.MaxValue });
            var retry = TestData.FastRetry();
            retry.Budget = TimeSpan.FromMinutes(10);
            var watch = Stopwatch.StartNew();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(c,
                new BackupRequest { InstanceId = TestData.TaurusInstance, Name = TestData.UniqueName() }, NullOperationLog.Instance, CancellationToken.None, retry));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal(429, ex.HttpStatus);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), watch.Elapsed.ToString());
            Assert.Equal(1, _sim.Counters.Requests.Count(r => r.Method == "POST"));
        }

        [Fact]
        public async Task One_job_given_twice_is_followed_and_reported_once()
        {
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            var c = TestData.Connect(_sim, "TaurusDB");
            var job = await Start(c);
            var copy = new BackupJob(job.Provider, job.Endpoint, job.JobId, job.StatusUrl, scope: job.Scope);
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job, job, copy });
            Assert.Equal(job.JobId, Assert.Single(events.Finished).JobId);
            Assert.Equal(new[] { job }, JobIdentity.Distinct(new[] { job, copy }));
            var other = await Start(c);
            Assert.Equal(new[] { job, other }, JobIdentity.Distinct(new[] { job, other, copy }));
        }

        [Fact]
        public async Task An_unforeseen_failure_ends_that_jobs_wait_reported_and_not_the_others()
        {
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            var c = TestData.Connect(_sim, "TaurusDB");
            var good = await Start(c);
            var broken = new BackupJob("TaurusDB", c.Endpoint.ToString(), "broken-job", scope: TestData.ProjectId);
            var events = new RecordingEvents();
            // (a connection lookup that fails in a way no rule of ours foresaw)
            await BackupService.WaitAsync(new[] { broken, good }, job => job == broken ? throw new InvalidOperationException("no rule foresaw this") : c,
                new WaitOptions { Timeout = TimeSpan.FromSeconds(30) }, events, NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal(good.JobId, Assert.Single(events.Finished).JobId);
            var error = Assert.Single(events.Errors);
            Assert.Equal(ErrorIds.BackupJobInvalid, error.ErrorId);
            Assert.Contains("could not be followed", error.Message);
        }

        [Fact]
        public async Task A_status_url_on_another_host_is_never_followed()
        {
            var c = TestData.Connect(_sim, "TaurusDB");
            var job = new BackupJob("TaurusDB", c.Endpoint.ToString(), "j1", statusUrl: "https://evil.example/v3/x/jobs?id=j1");
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None));
            Assert.Equal(ErrorIds.BackupJobInvalid, ex.ErrorId);
            Assert.Equal(BackupErrorCategory.SecurityError, ex.Category);
        }
    }
}
