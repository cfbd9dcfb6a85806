using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Jobs;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// The fault matrix: every transient fault on the create and on the status reads, for each service, with the
    /// expected outcome (survived, or a clear error with the service's code) and the simulator's count of backups
    /// made for the instance, which is never more than one.
    /// </summary>
    public abstract class FaultMatrixTests : IClassFixture<SimulatorFixture>
    {
        protected FaultMatrixTests(SimulatorFixture fixture)
        {
            Sim = fixture.Sim;
            Sim.Reset();
            Sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            Sim.Options.NotFoundWindow = TimeSpan.Zero;
        }

        protected BackupSimulator Sim { get; }
        protected abstract string Provider { get; }
        protected abstract string InstanceId { get; }

        private static string HttpDate(TimeSpan ahead) => DateTimeOffset.UtcNow.Add(ahead).ToString("r");

        public static IEnumerable<object[]> SurvivedCreateFaults() => new[]
        {
            new object[] { "429 with Retry-After seconds", new FaultRule { Method = "POST", StatusCode = 429, RetryAfter = "1" } },
            new object[] { "429 with Retry-After as an HTTP date", new FaultRule { Method = "POST", StatusCode = 429, RetryAfter = "DATE+1" } },
            new object[] { "503 not processed", new FaultRule { Method = "POST", StatusCode = 503 } },
            new object[] { "connection reset after the request is read (backup made)", new FaultRule { Method = "POST", Kind = FaultKind.DropAfterRead } },
            new object[] { "truncated answer (backup made)", new FaultRule { Method = "POST", Kind = FaultKind.TruncatedBody } },
        };

        /// <summary>
        /// Faults after which the client cannot tell whether the backup was made, and the service has made none when
        /// the client looks: only a repeat survives them, and a create is repeated only where names are documented unique (DDS), so that the
        /// repeat answers "already exists" rather than making a second backup. Elsewhere (TaurusDB) the backup is looked
        /// for by name, not found, and the outcome reported unknown.
        /// </summary>
        public static IEnumerable<object[]> CreateFaultsOnlyARepeatSurvives() => new[]
        {
            new object[] { "connection reset before the request is read", new FaultRule { Method = "POST", Kind = FaultKind.DropBeforeRead } },
            new object[] { "malformed JSON", new FaultRule { Method = "POST", Kind = FaultKind.MalformedJson } },
            new object[] { "HTML page with 200", new FaultRule { Method = "POST", Kind = FaultKind.HtmlPage } },
            new object[] { "empty body", new FaultRule { Method = "POST", Kind = FaultKind.EmptyBody } },
            new object[] { "an answer that never comes (the backup made later)", new FaultRule { Method = "POST", Delay = TimeSpan.FromSeconds(3) } },
        };

        /// <summary>Whether the service documents unique backup names (and so a create may be repeated).</summary>
        protected abstract bool NamesAreUnique { get; }

        [Theory]
        [MemberData(nameof(CreateFaultsOnlyARepeatSurvives))]
        public async Task A_create_fault_that_leaves_the_outcome_unknown_is_repeated_only_where_names_are_unique(string fault, FaultRule rule)
        {
            rule.Provider = Provider;
            Sim.Faults.Add(rule);
            var retry = TestData.FastRetry();
            retry.RequestTimeout = TimeSpan.FromSeconds(1);
            var c = TestData.Connect(Sim, Provider);
            var request = new BackupRequest { InstanceId = InstanceId, Name = TestData.UniqueName() };
            if (NamesAreUnique)
            {
                var job = await BackupService.StartAsync(c, request, NullOperationLog.Instance, CancellationToken.None, retry);
                var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
                Assert.True(BackupJobState.Succeeded == Assert.Single(events.Finished).State, fault);
            }
            else
            {
                var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(c, request, NullOperationLog.Instance, CancellationToken.None, retry));
                Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
                Assert.Contains("may have started", ex.Message);
                // The backup was looked for by name before the outcome was called unknown.
                Assert.Contains(Sim.Counters.Requests, r => r.Method == "GET" && r.Path.EndsWith("/backups", StringComparison.Ordinal));
            }
            // The delayed request may still land on the service: give it the time to. Never a second backup.
            if (rule.Delay > TimeSpan.Zero) await Task.Delay(rule.Delay + TimeSpan.FromMilliseconds(500));
            Assert.InRange(Sim.Counters.BackupsFor(Provider, InstanceId), NamesAreUnique ? 1 : 0, 1);
            // Repeated where names are unique (once, or twice when a busy machine let the repeat time out too); never
            // where they are not.
            Assert.InRange(Sim.Counters.Requests.Count(r => r.Method == "POST"), NamesAreUnique ? 2 : 1, NamesAreUnique ? 3 : 1);
        }

        [Theory]
        [MemberData(nameof(SurvivedCreateFaults))]
        public async Task A_create_fault_once_is_survived_with_exactly_one_backup(string fault, FaultRule rule)
        {
            rule.Provider = Provider;
            if (rule.RetryAfter == "DATE+1") rule.RetryAfter = HttpDate(TimeSpan.FromSeconds(1));
            Sim.Faults.Add(rule);
            var retry = TestData.FastRetry();
            // 3 s: none of these faults holds an answer back, so the timeout only bounds answers that come (the repeat, a
            // lookup by name), which 1 s did not promise on 2 busy cores: a repeat cut off is not survived the same way.
            retry.RequestTimeout = TimeSpan.FromSeconds(3);
            var c = TestData.Connect(Sim, Provider);
            var name = TestData.UniqueName();
            var job = await BackupService.StartAsync(c, new BackupRequest { InstanceId = InstanceId, Name = name }, NullOperationLog.Instance,
                CancellationToken.None, retry);
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            Assert.True(BackupJobState.Succeeded == Assert.Single(events.Finished).State, fault);
            Assert.Equal(name, job.BackupName);
            // The delayed request may still land on the service after the repeat: give it the time to.
            if (rule.Delay > TimeSpan.Zero) await Task.Delay(rule.Delay + TimeSpan.FromMilliseconds(500));
            Assert.Equal(1, Sim.Counters.BackupsFor(Provider, InstanceId));
        }

        [Theory]
        [InlineData(500, ErrorIds.BackupServiceError)]
        // A gateway's 502 or 504: the service behind it may have made the backup. It is looked for by name, and when
        // it is not found the outcome is reported unknown, with the gateway's code, never as "nothing was made".
        [InlineData(502, ErrorIds.BackupCreateOutcomeUnknown)]
        [InlineData(504, ErrorIds.BackupCreateOutcomeUnknown)]
        public async Task A_server_error_on_create_is_a_clear_error_with_the_code_and_no_backup(int status, string errorId)
        {
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", StatusCode = status, Times = int.MaxValue });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(TestData.Connect(Sim, Provider),
                new BackupRequest { InstanceId = InstanceId, Name = TestData.UniqueName() }, NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            Assert.Equal(errorId, ex.ErrorId);
            if (status != 500)
            {
                Assert.Contains("may have started", ex.Message);
                Assert.Contains(Sim.Counters.Requests, r => r.Method == "GET" && r.Path.EndsWith("/backups", StringComparison.Ordinal));
            }
            Assert.Equal(status, ex.HttpStatus);
            Assert.False(string.IsNullOrEmpty(ex.ServiceCode));
            Assert.Contains(Provider, ex.Message);
            Assert.True(Sim.Counters.BackupsFor(Provider, InstanceId) <= 1);
        }

        [Fact]
        public async Task A_create_unanswered_then_refused_as_busy_reports_the_backup_it_made()
        {
            // The first create reaches the service (the backup is made) and its connection drops. DDS repeats it and is
            // told the instance is busy, because that very backup is running; TaurusDB does not repeat it. Either way
            // the backup is found by name and followed, instead of a "busy" failure that told the user to try again
            // (and make a second one), or an unknown outcome.
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", Kind = FaultKind.DropAfterRead });
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", StatusCode = 409, Times = int.MaxValue,
                Body = "{\"error_code\":\"DBS.201015\",\"error_msg\":\"Another operation is in progress.\"}" });
            var c = TestData.Connect(Sim, Provider);
            var name = TestData.UniqueName();
            var job = await BackupService.StartAsync(c, new BackupRequest { InstanceId = InstanceId, Name = name }, NullOperationLog.Instance,
                CancellationToken.None, TestData.FastRetry(busy: 2));
            Assert.Equal(name, job.BackupName);
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
            Assert.Equal(1, Sim.Counters.BackupsFor(Provider, InstanceId));
        }

        [Fact]
        public async Task A_create_whose_outcome_stays_unknown_says_so_and_how_to_check()
        {
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", Kind = FaultKind.DropBeforeRead, Times = int.MaxValue });
            var name = TestData.UniqueName();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(TestData.Connect(Sim, Provider),
                new BackupRequest { InstanceId = InstanceId, Name = name }, NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry(notProcessed: 2)));
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            Assert.Contains("may have started", ex.Message);
            Assert.Contains(name, ex.Message);
            Assert.Contains("List the instance's backups", ex.RecommendedAction);
            Assert.Equal(0, Sim.Counters.BackupsFor(Provider, InstanceId));
        }

        public static IEnumerable<object[]> SurvivedReadFaults() => new[]
        {
            new object[] { new FaultRule { Method = "GET", StatusCode = 429, RetryAfter = "1" } },
            new object[] { new FaultRule { Method = "GET", StatusCode = 500 } },
            new object[] { new FaultRule { Method = "GET", StatusCode = 502 } },
            new object[] { new FaultRule { Method = "GET", StatusCode = 503, RetryAfter = "DATE+1" } },
            new object[] { new FaultRule { Method = "GET", StatusCode = 504 } },
            new object[] { new FaultRule { Method = "GET", Kind = FaultKind.DropBeforeRead } },
            new object[] { new FaultRule { Method = "GET", Kind = FaultKind.MalformedJson } },
            new object[] { new FaultRule { Method = "GET", Kind = FaultKind.TruncatedBody } },
            new object[] { new FaultRule { Method = "GET", Kind = FaultKind.HtmlPage } },
            new object[] { new FaultRule { Method = "GET", Kind = FaultKind.EmptyBody } },
        };

        [Theory]
        [MemberData(nameof(SurvivedReadFaults))]
        public async Task A_status_read_fault_is_survived(FaultRule rule)
        {
            var c = TestData.Connect(Sim, Provider);
            var job = await BackupService.StartAsync(c, new BackupRequest { InstanceId = InstanceId, Name = TestData.UniqueName() }, NullOperationLog.Instance, CancellationToken.None);
            rule.Provider = Provider;
            rule.Times = 2;
            if (rule.RetryAfter == "DATE+1") rule.RetryAfter = HttpDate(TimeSpan.FromSeconds(1));
            Sim.Faults.Add(rule);
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
            Assert.Empty(events.Errors);
            Assert.Equal(1, Sim.Counters.BackupsFor(Provider, InstanceId));
        }

        [Fact]
        public async Task A_job_whose_state_goes_backwards_is_followed_to_its_true_end()
        {
            // (3 s: with 1.5 s a busy machine once let the job finish before the read 700 ms in)
            Sim.Options.JobDuration = TimeSpan.FromSeconds(3);
            var c = TestData.Connect(Sim, Provider);
            var job = await BackupService.StartAsync(c, new BackupRequest { InstanceId = InstanceId, Name = TestData.UniqueName() }, NullOperationLog.Instance, CancellationToken.None);
            await Task.Delay(700);
            var ahead = await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal("Running", ahead.RawStatus);
            // The service then reports the job as not started, twice, before telling the truth again.
            Sim.Faults.Add(new FaultRule
            {
                Provider = Provider, Method = "GET", PathContains = "jobs", StatusCode = 200, Times = 2,
                Body = "{\"job\":{\"id\":\"" + job.JobId + "\",\"status\":\"Pending\",\"progress\":\"0%\"}}",
            });
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { ahead });
            Assert.Contains(events.Updated, j => j.RawStatus == "Pending");
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
            Assert.Equal(1, Sim.Counters.BackupsFor(Provider, InstanceId));
        }

        [Fact]
        public async Task A_token_that_stops_working_mid_wait_is_reported_not_retried_forever()
        {
            lock (Sim.Options.Tokens) Sim.Options.Tokens.Add("short-lived");
            Sim.Options.JobDuration = TimeSpan.FromSeconds(5);
            var c = TestData.Connect(Sim, Provider, "short-lived");
            var job = await BackupService.StartAsync(c, new BackupRequest { InstanceId = InstanceId, Name = TestData.UniqueName() }, NullOperationLog.Instance, CancellationToken.None);
            var wait = HuaweiFamilyTests.WaitAll(c, new[] { job });
            await Task.Delay(300);
            lock (Sim.Options.Tokens) Sim.Options.Tokens.Remove("short-lived");
            var events = await wait;
            var error = Assert.Single(events.Errors);
            Assert.Equal(BackupErrorCategory.AuthenticationError, error.Category);
            Assert.Equal(401, error.HttpStatus);
            Assert.True(Sim.Counters.StatusReadsFor(Provider, job.JobId) < 20);
        }
    }

    public sealed class TaurusDbFaultMatrixTests : FaultMatrixTests
    {
        public TaurusDbFaultMatrixTests(SimulatorFixture f) : base(f) { }
        protected override string Provider => "TaurusDB";
        protected override string InstanceId => TestData.TaurusInstance;
        protected override bool NamesAreUnique => false;

        [Fact]
        public async Task An_unanswered_create_after_a_busy_refusal_is_never_said_to_be_safely_repeated()
        {
            // The first create is refused busy, the second goes unanswered; TaurusDB never repeats that one (names are
            // not unique). The words must not claim it was repeated where "a repeat cannot make a second backup".
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", StatusCode = 400, Body = "{\"error_code\":\"DBS.201202\",\"error_msg\":\"busy\"}" });
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", Kind = FaultKind.DropAfterRead });
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/backups", StatusCode = 200, Body = "{\"backups\":[],\"total_count\":0}", Times = int.MaxValue });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(TestData.Connect(Sim, Provider),
                new BackupRequest { InstanceId = InstanceId, Name = TestData.UniqueName() }, NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            Assert.Equal(2, Sim.Counters.Requests.Count(r => r.Method == "POST"));
            Assert.DoesNotContain("names are unique", ex.Message);
            Assert.Contains("not sent again", ex.Message);
        }

        [Theory]
        [InlineData(-90)]
        [InlineData(90)]
        public void A_begin_time_far_from_this_machines_clock_does_not_age_a_new_job(int minutes)
        {
            // The grace for "job not found" counts from CreatedAt: a service clock an hour and a half off must not make
            // a new job look old (or not yet begun).
            var created = Providers.HuaweiCloud.HuaweiCloudProvider.StartedOrNow(DateTimeOffset.UtcNow.AddMinutes(minutes));
            Assert.InRange(created, DateTimeOffset.UtcNow.AddSeconds(-5), DateTimeOffset.UtcNow.AddSeconds(1));
            var near = DateTimeOffset.UtcNow.AddSeconds(-20);
            Assert.Equal(near, Providers.HuaweiCloud.HuaweiCloudProvider.StartedOrNow(near));
        }

        [Fact]
        public async Task An_earlier_runs_backup_of_the_same_name_is_not_taken_for_a_create_whose_outcome_is_unknown()
        {
            // TaurusDB names may repeat: yesterday's "nightly" is not today's. The create is lost before the service
            // reads it; the backups list holds only an older backup of that name, which must not be reported as this one.
            var name = TestData.UniqueName();
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", Kind = FaultKind.DropBeforeRead });
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/backups", StatusCode = 200, Times = int.MaxValue,
                Body = "{\"backups\":[{\"id\":\"0123456789abcdef0123456789abcdefbr07\",\"name\":\"" + name + "\",\"status\":\"COMPLETED\"," +
                       "\"begin_time\":\"" + DateTimeOffset.UtcNow.AddDays(-1).ToString("yyyy-MM-ddTHH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + "+0000\"}]}" });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(TestData.Connect(Sim, Provider),
                new BackupRequest { InstanceId = InstanceId, Name = name }, NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            Assert.Contains(Sim.Counters.Requests, r => r.Method == "GET" && r.Path.EndsWith("/backups", StringComparison.Ordinal));
        }

        [Fact]
        public async Task Of_two_backups_of_the_same_name_the_one_that_began_with_this_create_is_taken()
        {
            // The positive side of the test above: the lookup does find a backup, and picks it by its begin time.
            var name = TestData.UniqueName();
            string Time(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + "+0000";
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", Kind = FaultKind.DropBeforeRead });
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/backups", StatusCode = 200, Times = 1,
                Body = "{\"backups\":[" +
                       "{\"id\":\"yesterday0000000000000000000000br07\",\"name\":\"" + name + "\",\"status\":\"COMPLETED\",\"begin_time\":\"" + Time(DateTimeOffset.UtcNow.AddDays(-1)) + "\"}," +
                       "{\"id\":\"justnow00000000000000000000000br07\",\"name\":\"" + name + "\",\"status\":\"BUILDING\",\"begin_time\":\"" + Time(DateTimeOffset.UtcNow) + "\"}]}" });
            var job = await BackupService.StartAsync(TestData.Connect(Sim, Provider), new BackupRequest { InstanceId = InstanceId, Name = name },
                NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            Assert.Equal("justnow00000000000000000000000br07", job.BackupId);
            Assert.Equal(name, job.BackupName);
        }
    }

    public sealed class DdsFaultMatrixTests : FaultMatrixTests
    {
        public DdsFaultMatrixTests(SimulatorFixture f) : base(f) { }
        protected override string Provider => "DDS";
        protected override string InstanceId => TestData.DdsInstance;
        protected override bool NamesAreUnique => true;

        /// <summary>
        /// The first create reaches DDS and its answer is lost; the repeat is told the name already exists (the first
        /// attempt's backup). When the lookup by name then fails or finds nothing, the backup may still be this
        /// create's: the outcome is reported unknown, never as someone else's name clash (which invites a second
        /// backup under another name) or as the lookup's own error.
        /// </summary>
        [Theory]
        [InlineData(500, "{\"error_code\":\"DBS.200001\",\"error_msg\":\"Internal error.\"}")]
        [InlineData(200, "{\"backups\":[],\"total_count\":0}")]
        public async Task Already_exists_after_an_unanswered_create_is_never_reported_as_a_name_clash(int listStatus, string listBody)
        {
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", Kind = FaultKind.DropAfterRead });
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/backups", StatusCode = listStatus, Body = listBody, Times = int.MaxValue });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(TestData.Connect(Sim, Provider),
                new BackupRequest { InstanceId = InstanceId, Name = TestData.UniqueName() }, NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            Assert.Contains("may have started", ex.Message);
            Assert.Equal("DBS.201201", ex.ServiceCode);
            Assert.Contains(Sim.Counters.Requests, r => r.Method == "GET" && r.Path.EndsWith("/backups", StringComparison.Ordinal));
            Assert.Equal(1, Sim.Counters.BackupsFor(Provider, InstanceId));
        }

        [Fact]
        public async Task A_create_repeated_without_an_answer_does_not_say_it_was_not_sent_again()
        {
            // DDS repeats an unanswered create (its names are unique): the transport's own words, "It was not sent
            // again.", were reported after three sends.
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", Kind = FaultKind.DropAfterRead, Times = int.MaxValue });
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/backups", StatusCode = 200, Body = "{\"backups\":[],\"total_count\":0}", Times = int.MaxValue });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(TestData.Connect(Sim, Provider),
                new BackupRequest { InstanceId = InstanceId, Name = TestData.UniqueName() }, NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            var sent = Sim.Counters.Requests.Count(r => r.Method == "POST");
            Assert.True(sent > 1, $"sent {sent} times");
            Assert.DoesNotContain("not sent again", ex.Message);
            Assert.Contains($"sent {sent} times in all", ex.Message);
        }

        [Fact]
        public async Task A_backup_seen_on_two_pages_is_one_backup()
        {
            // The list changed between the two pages (a backup was added at its start): this create's backup, last on
            // page 1, is first on page 2. It is one backup, followed, not two that cannot be told apart.
            var name = TestData.UniqueName();
            var now = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + "+0000";
            var ours = $"{{\"id\":\"shiftedbr02\",\"name\":\"{name}\",\"instance_id\":\"{InstanceId}\",\"begin_time\":\"{now}\",\"status\":\"BUILDING\"}}";
            var others = string.Join(",", Enumerable.Range(0, 99).Select(i =>
                $"{{\"id\":\"other{i:D3}br02\",\"name\":\"other-{i:D3}\",\"instance_id\":\"{InstanceId}\",\"begin_time\":\"{now}\",\"status\":\"COMPLETED\"}}"));
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", Kind = FaultKind.DropAfterRead });
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/backups", StatusCode = 200,
                Body = "{\"backups\":[" + others + "," + ours + "],\"total_count\":101}" });
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/backups", StatusCode = 200,
                Body = "{\"backups\":[" + ours + "],\"total_count\":101}" });
            var job = await BackupService.StartAsync(TestData.Connect(Sim, Provider), new BackupRequest { InstanceId = InstanceId, Name = name },
                NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            Assert.Equal("shiftedbr02", job.BackupId);
        }

        [Fact]
        public async Task The_lookup_by_name_reads_past_the_first_page_of_backups()
        {
            // An instance with more than 100 backups: the one this create made is on the second page.
            var name = TestData.UniqueName();
            var now = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + "+0000";
            var others = string.Join(",", Enumerable.Range(0, 100).Select(i =>
                $"{{\"id\":\"other{i:D3}br02\",\"name\":\"other-{i:D3}\",\"instance_id\":\"{InstanceId}\",\"begin_time\":\"{now}\",\"status\":\"COMPLETED\"}}"));
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", Kind = FaultKind.DropAfterRead });
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/backups", StatusCode = 200,
                Body = "{\"backups\":[" + others + "],\"total_count\":101}" });
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/backups", StatusCode = 200,
                Body = $"{{\"backups\":[{{\"id\":\"pagedbr02\",\"name\":\"{name}\",\"instance_id\":\"{InstanceId}\",\"begin_time\":\"{now}\",\"status\":\"BUILDING\"}}],\"total_count\":101}}" });
            var job = await BackupService.StartAsync(TestData.Connect(Sim, Provider), new BackupRequest { InstanceId = InstanceId, Name = name },
                NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            Assert.Equal("pagedbr02", job.BackupId);
            var lists = Sim.Counters.Requests.Where(r => r.Method == "GET" && r.Path.EndsWith("/backups", StringComparison.Ordinal)).Select(r => r.Query).ToList();
            Assert.Equal(2, lists.Count);
            Assert.Contains("offset=0", lists[0]);
            Assert.Contains("offset=100", lists[1]);
        }
    }
}
