using System;
using System.Collections.Concurrent;
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
    /// TaurusDB and DDS end to end against the simulator over loopback: create, follow, fail, validate, map errors.
    /// The two services share a jobs API and error shape, so the same facts run for both; their rules differ.
    /// </summary>
    public abstract class HuaweiFamilyTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        protected HuaweiFamilyTests(SimulatorFixture fixture)
        {
            Sim = fixture.Sim;
            Sim.Reset();
            Sim.Options.JobDuration = TimeSpan.FromMilliseconds(400);
            Sim.Options.NotFoundWindow = TimeSpan.Zero;
            Sim.Options.HuaweiClaimsInstances = false;
        }

        protected BackupSimulator Sim { get; }
        protected abstract string Provider { get; }
        protected abstract string InstanceId { get; }

        public void Dispose()
        {
            Sim.Options.HuaweiClaimsInstances = false;
            Sim.Reset();
        }

        /// <summary>The service's documented "another operation in progress" answer.</summary>
        private (int Status, string Code) Busy => Provider == "DDS" ? (403, "DBS.201015") : (409, "DBS.200019");

        protected int Creates => Sim.Counters.Requests.Count(r => r.Method == "POST");

        protected BackupConnection Connection(string token = TestData.Token) => TestData.Connect(Sim, Provider, token);

        protected static BackupRequest Request(string instance, string name = null, string description = null) =>
            new BackupRequest { InstanceId = instance, Name = name ?? TestData.UniqueName(), Description = description };

        internal static readonly WaitOptions Fast = new WaitOptions
        {
            PollingInterval = TimeSpan.FromMilliseconds(50),
            MaxPollingInterval = TimeSpan.FromMilliseconds(200),
            Timeout = TimeSpan.FromSeconds(20),
        };

        internal static async Task<RecordingEvents> WaitAll(BackupConnection c, IReadOnlyList<BackupJob> jobs, WaitOptions options = null)
        {
            var events = new RecordingEvents();
            await BackupService.WaitAsync(jobs, _ => c, options ?? Fast, events, NullOperationLog.Instance, CancellationToken.None);
            return events;
        }

        [Fact]
        public async Task A_backup_is_created_and_followed_to_success()
        {
            var c = Connection();
            var job = await BackupService.StartAsync(c, Request(InstanceId, "nightly-01", "before upgrade"), NullOperationLog.Instance, CancellationToken.None);

            Assert.Equal(Provider, job.Provider);
            Assert.Equal(BackupJobState.Running, job.State);
            Assert.False(string.IsNullOrEmpty(job.JobId));
            Assert.False(string.IsNullOrEmpty(job.BackupId));
            Assert.Equal("nightly-01", job.BackupName);
            Assert.Equal(InstanceId, job.InstanceId);
            Assert.Equal(TestData.ProjectId, job.Scope);
            Assert.Equal(1, Sim.Counters.CreatesFor(Provider, InstanceId));

            var events = await WaitAll(c, new[] { job });
            var done = Assert.Single(events.Finished);
            Assert.Equal(BackupJobState.Succeeded, done.State);
            Assert.Equal("Completed", done.RawStatus);
            Assert.Equal(100, done.PercentComplete);
            Assert.Null(JobOutcome.ErrorFor(done));
            Assert.Empty(events.TimedOut);
            Assert.Equal(1, Sim.Counters.BackupsFor(Provider, InstanceId));
        }

        [Fact]
        public async Task A_failing_job_is_reported_failed_with_the_service_reason()
        {
            var c = Connection();
            var job = await BackupService.StartAsync(c, Request(InstanceId, "fail-" + TestData.UniqueName()), NullOperationLog.Instance, CancellationToken.None);
            var events = await WaitAll(c, new[] { job });
            var done = Assert.Single(events.Finished);
            Assert.Equal(BackupJobState.Failed, done.State);
            Assert.NotEmpty(done.Errors);
            var error = JobOutcome.ErrorFor(done);
            Assert.Equal(ErrorIds.BackupJobFailed, error.ErrorId);
            Assert.Equal(BackupErrorCategory.InvalidResult, error.Category);
            Assert.Contains(done.Errors[0].Message, error.Message);
            Assert.Same(done, error.Target);
        }

        [Fact]
        public async Task A_running_job_has_no_end_time_even_where_the_service_fills_one()
        {
            // DDS answers a running job with an "ended" time; the job has not ended, and its Elapsed keeps counting.
            Sim.Options.JobDuration = TimeSpan.FromSeconds(30);
            var c = Connection();
            var job = await BackupService.StartAsync(c, Request(InstanceId), NullOperationLog.Instance, CancellationToken.None);
            await Task.Delay(200);
            var running = await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal(BackupJobState.Running, running.State);
            Assert.Null(running.EndedAt);

            Sim.Options.JobDuration = TimeSpan.FromMilliseconds(400);
            var quick = await BackupService.StartAsync(c, Request(InstanceId), NullOperationLog.Instance, CancellationToken.None);
            var done = Assert.Single((await WaitAll(c, new[] { quick })).Finished);
            Assert.NotNull(done.EndedAt);
        }

        [Fact]
        public async Task A_job_not_found_at_first_is_treated_as_starting()
        {
            // Not found for its first 3 s (runs 4 s): the read right after the create must land inside the window, which
            // 300 ms did not promise on 2 busy cores (a later read finds the job, running, and proves nothing).
            Sim.Options.NotFoundWindow = TimeSpan.FromSeconds(3);
            Sim.Options.JobDuration = TimeSpan.FromSeconds(4);
            var c = Connection();
            var job = await BackupService.StartAsync(c, Request(InstanceId), NullOperationLog.Instance, CancellationToken.None);

            var first = await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal(BackupJobState.Running, first.State);
            Assert.Equal("NotFound (starting)", first.RawStatus);

            var events = await WaitAll(c, new[] { job });
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
            Assert.True(Sim.Counters.StatusReadsFor(Provider, job.JobId) >= 2);
        }

        /// <summary>
        /// Some gateways answer 200 with an error body: a throttle or "job not queryable yet" in one is what it is under
        /// 429 or 404 (tried again, still starting), and must not end the wait of a backup that runs on.
        /// </summary>
        [Theory]
        [InlineData("APIGW.0308", "The throttling threshold has been reached")]
        [InlineData("DBS.200823", "The job does not exist.")]
        public async Task A_status_read_answered_200_with_a_throttle_or_not_found_yet_body_goes_on_waiting(string code, string message)
        {
            var c = Connection();
            var job = await BackupService.StartAsync(c, Request(InstanceId), NullOperationLog.Instance, CancellationToken.None);
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/jobs", StatusCode = 200, Times = 1,
                Body = "{\"error_code\":\"" + code + "\",\"error_msg\":\"" + message + "\"}" });
            var events = await WaitAll(c, new[] { job });
            Assert.Empty(events.Errors);
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
            // The error answer, then at least one read of the job itself.
            Assert.True(Sim.Counters.Requests.Count(r => r.Provider == Provider && r.Method == "GET" && r.Path.Contains("/jobs") && r.Status == 200) >= 2);
        }

        /// <summary>
        /// A token pasted with its scheme (a header copied from a browser): Connect-BackupService takes it (it takes a
        /// leading "Bearer " off, as the help says), and so does the X-Auth-Token header these services read: every
        /// request was refused as holding a space, the working default connection already replaced.
        /// </summary>
        [Fact]
        public async Task A_token_pasted_as_Bearer_token_is_sent_without_the_scheme()
        {
            var c = TestData.Connect(Sim, Provider, "Bearer " + TestData.Token);
            var job = await BackupService.StartAsync(c, Request(InstanceId), NullOperationLog.Instance, CancellationToken.None);
            Assert.NotNull(job.JobId);
        }

        /// <summary>
        /// A create the gateway throttled with its own code in a 200 answer made nothing (the gateway kept it from the
        /// service): repeated as after a 429, where it ended the create with an error.
        /// </summary>
        [Fact]
        public async Task A_create_answered_200_with_the_gateway_s_throttle_body_is_repeated_as_after_a_429()
        {
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups", StatusCode = 200, Times = 1,
                Body = "{\"error_code\":\"APIGW.0308\",\"error_msg\":\"The throttling threshold has been reached\"}" });
            var c = Connection();
            var job = await BackupService.StartAsync(c, Request(InstanceId), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            Assert.NotNull(job.JobId);
            Assert.Equal(2, Sim.Counters.Requests.Count(r => r.Provider == Provider && r.Method == "POST"));
        }

        [Fact]
        public async Task An_error_in_the_errCode_shape_keeps_its_code_and_a_busy_one_is_repeated()
        {
            // The database services' v1/v2 shape: {"errCode", "externalMessage"}.
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups", StatusCode = 400, Times = 1,
                Body = "{\"errCode\":\"DBS.200001\",\"externalMessage\":\"Parameter error.\"}" });
            var c = Connection();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() =>
                BackupService.StartAsync(c, Request(InstanceId), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            Assert.Equal("DBS.200001", ex.ServiceCode);
            Assert.Equal("Parameter error.", ex.ServiceMessage);

            // "Another operation in progress" in that shape is busy, and repeated, not a permission error.
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups", StatusCode = 403, Times = 1,
                Body = "{\"errCode\":\"DBS.201015\",\"externalMessage\":\"Another operation is being performed on the DB instance.\"}" });
            var before = Creates;
            var job = await BackupService.StartAsync(c, Request(InstanceId), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            Assert.NotNull(job.JobId);
            Assert.Equal(2, Creates - before);

            // A refused signature's 401 in that shape keeps the code too (read where the credential's refusal is made).
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups", StatusCode = 401, Times = 1,
                Body = "{\"errCode\":\"DBS.280001\",\"externalMessage\":\"The signature is invalid.\"}" });
            // (A secret of its own: the refusal of a key and secret is remembered for the process, and other tests use the simulator's.)
            var signed = BackupService.Connect(new ConnectRequest { Provider = Provider, Endpoint = Sim.EndpointFor(Provider), Scope = TestData.ProjectId,
                AccessKeyId = "SIMAK000000000000000", SecretAccessKey = TestData.Secure("sim-secret-key-" + Guid.NewGuid().ToString("N")) });
            var refused = await Assert.ThrowsAsync<BackupToolsException>(() =>
                BackupService.StartAsync(signed, Request(InstanceId), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            Assert.Equal(ErrorIds.ConnectionAuthenticationFailed, refused.ErrorId);
            Assert.Equal("DBS.280001", refused.ServiceCode);
            Assert.Equal("The signature is invalid.", refused.ServiceMessage);
        }

        [Fact]
        public async Task A_create_answered_200_with_an_error_body_is_a_refusal_with_its_code_sent_once()
        {
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups", StatusCode = 200, Times = int.MaxValue,
                Body = "{\"error_code\":\"DBS.200001\",\"error_msg\":\"Parameter error.\"}" });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() =>
                BackupService.StartAsync(Connection(), Request(InstanceId), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal("DBS.200001", ex.ServiceCode);
            Assert.DoesNotContain("may have started", ex.Message);
            Assert.Equal(1, Creates);
        }

        [Fact]
        public async Task A_gateway_404_on_the_jobs_API_is_an_error_naming_the_address_not_a_starting_job()
        {
            var c = Connection();
            var job = await BackupService.StartAsync(c, Request(InstanceId), NullOperationLog.Instance, CancellationToken.None);
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/jobs", StatusCode = 404, Times = int.MaxValue,
                Body = "{\"error_code\":\"APIGW.0101\",\"error_msg\":\"The API does not exist or has not been published in the environment.\"}" });
            // A new job: a gateway's 404 is not "still starting".
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal("APIGW.0101", ex.ServiceCode);
            Assert.Equal(404, ex.HttpStatus);
            Assert.Contains($"/v3/{TestData.ProjectId}/jobs?id={job.JobId}", ex.Message);
        }

        [Fact]
        public async Task The_service_s_own_job_not_found_names_the_address_read()
        {
            var c = Connection();
            // A handle without its status address (a trimmed CSV), old enough that "not found" means gone.
            var job = new BackupJob(Provider, c.Endpoint.ToString(), "0c2fa2f3000040008000000000000001", null, InstanceId, "nightly", null,
                TestData.ProjectId, createdAt: DateTimeOffset.UtcNow.AddMinutes(-5));
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None));
            Assert.Equal(ErrorIds.BackupJobNotFound, ex.ErrorId);
            Assert.Contains($"{Provider} GET {c.Endpoint}v3/{TestData.ProjectId}/jobs?id={job.JobId}: the service does not know job", ex.Message);
        }

        [Fact]
        public async Task With_instances_claimed_a_backup_of_a_busy_instance_is_repeated_then_fails_with_the_service_code()
        {
            Sim.Options.HuaweiClaimsInstances = true;
            Sim.Options.JobDuration = TimeSpan.FromSeconds(30);
            var c = Connection();
            await BackupService.StartAsync(c, Request(InstanceId), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() =>
                BackupService.StartAsync(c, Request(InstanceId), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry(busy: 2)));
            Assert.Equal(BackupErrorCategory.ResourceBusy, ex.Category);
            Assert.Equal(Busy.Code, ex.ServiceCode);
            Assert.Equal(Busy.Status, ex.HttpStatus);
            Assert.Equal(1 + 3, Creates); // the first, then the busy one and its two repeats
            Assert.Equal(1, Sim.Counters.BackupsFor(Provider, InstanceId));
        }

        [Fact]
        public async Task An_unknown_status_is_kept_raw_and_followed_to_the_end()
        {
            // Long enough that a cold, busy test host still reads the job while it runs.
            Sim.Options.JobDuration = TimeSpan.FromSeconds(3);
            var c = Connection();
            var job = await BackupService.StartAsync(c, Request(InstanceId, "weird-" + TestData.UniqueName()), NullOperationLog.Instance, CancellationToken.None);
            var events = await WaitAll(c, new[] { job });
            Assert.True(events.Updated.Any(j => j.State == BackupJobState.Unknown && j.RawStatus == "Frobnicating"),
                "updates seen: " + string.Join(", ", events.Updated.Select(j => j.State + "/" + j.RawStatus)) + "; requests: " +
                string.Join(" | ", Sim.Counters.Requests.Select(r => r.Method + " " + r.Status)));
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
        }

        [Fact]
        public async Task A_wrong_token_is_an_authentication_error_with_the_gateway_code()
        {
            var c = Connection("not-a-valid-token");
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() =>
                BackupService.StartAsync(c, Request(InstanceId), NullOperationLog.Instance, CancellationToken.None));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal(BackupErrorCategory.AuthenticationError, ex.Category);
            Assert.Equal(401, ex.HttpStatus);
            Assert.StartsWith("APIG", ex.ServiceCode);
            Assert.DoesNotContain("not-a-valid-token", ex.Message);
            Assert.Equal(0, Sim.Counters.BackupsFor(Provider, InstanceId));
        }

        [Theory]
        [InlineData("error_code", "error_msg")]
        [InlineData("errorCode", "errorMessage")]
        public async Task Service_errors_in_either_spelling_carry_the_service_code(string codeField, string messageField)
        {
            Sim.Faults.Add(new FaultRule
            {
                Provider = Provider, Method = "POST", StatusCode = 400,
                Body = $"{{\"{codeField}\":\"DBS.200001\",\"{messageField}\":\"Invalid parameter: name.\"}}",
            });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() =>
                BackupService.StartAsync(Connection(), Request(InstanceId), NullOperationLog.Instance, CancellationToken.None));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal("DBS.200001", ex.ServiceCode);
            Assert.Equal("Invalid parameter: name.", ex.ServiceMessage);
            Assert.Equal(BackupErrorCategory.InvalidArgument, ex.Category);
            Assert.Contains("DBS.200001", ex.Message);
            Assert.Contains(Provider, ex.Message);
        }

        [Theory]
        [InlineData("DBS.200019", 409)]
        [InlineData("DBS.201014", 409)]
        [InlineData("DBS.201015", 409)]
        [InlineData("DBS.200047", 409)]
        [InlineData("DBS.05000084", 409)]
        // "Operation cannot be executed in the current state of the DB instance" (an automated backup running):
        // answered 400 or 403, busy by their code alone.
        [InlineData("DBS.201202", 400)]
        [InlineData("DBS.200011", 403)]
        [InlineData("DBS.216011", 400)]
        public async Task Another_operation_in_progress_is_retried_up_to_the_limit_then_a_busy_error(string code, int status)
        {
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", StatusCode = status, Times = int.MaxValue, Body = $"{{\"error_code\":\"{code}\",\"error_msg\":\"Another operation is in progress.\"}}" });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() =>
                BackupService.StartAsync(Connection(), Request(InstanceId), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry(busy: 2)));
            Assert.Equal(BackupErrorCategory.ResourceBusy, ex.Category);
            Assert.Equal(code, ex.ServiceCode);
            Assert.Equal(3, Sim.Counters.Requests.Count(r => r.Method == "POST"));
            Assert.Equal(0, Sim.Counters.BackupsFor(Provider, InstanceId));
        }

        [Fact]
        public async Task Another_operation_in_progress_once_then_free_makes_exactly_one_backup()
        {
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", StatusCode = 409, Times = 2, Body = "{\"error_code\":\"DBS.201015\",\"error_msg\":\"busy\"}" });
            var job = await BackupService.StartAsync(Connection(), Request(InstanceId), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            Assert.NotNull(job.JobId);
            Assert.Equal(1, Sim.Counters.BackupsFor(Provider, InstanceId));
        }

        [Fact]
        public async Task An_html_page_instead_of_json_is_a_clear_error_naming_the_service()
        {
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", Kind = FaultKind.HtmlPage, Times = int.MaxValue });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() =>
                BackupService.StartAsync(Connection(), Request(InstanceId), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            // A 200 the client cannot read: the service may have started the backup, and the error says so.
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            Assert.Equal(ErrorIds.BackupResponseInvalid, Assert.IsType<BackupToolsException>(ex.InnerException).ErrorId);
            Assert.Contains(Provider, ex.Message);
            Assert.Contains("not JSON", ex.Message);
            Assert.Contains("may have started", ex.Message);
        }

        [Fact]
        public async Task Verbose_shows_each_call_without_the_token()
        {
            var log = new ListLog();
            const string token = "sim-token";
            var job = await BackupService.StartAsync(Connection(token), Request(InstanceId), log, CancellationToken.None);
            Assert.Contains(log.Lines, l => l.Contains("HTTP POST") && l.Contains("/v3/" + TestData.ProjectId + "/backups"));
            Assert.Contains(log.Lines, l => l.Contains("-> 20"));
            Assert.DoesNotContain(log.Lines, l => l.Contains(token));
        }

        protected async Task AssertRefusedBeforeSending(BackupRequest request, string parameter, string ruleFragment, BackupConnection connection = null)
        {
            var c = connection ?? Connection();
            await TestData.AssertRefusedBeforeSending(Sim,
                () => BackupService.StartAsync(c, request, NullOperationLog.Instance, CancellationToken.None), parameter, ruleFragment);
        }

        public static IEnumerable<object[]> NameCases() => new[]
        {
            new object[] { "abcd", true }, new object[] { "a" + new string('b', 63), true }, new object[] { "A1_-", true },
            new object[] { "abc", false }, new object[] { "a" + new string('b', 64), false }, new object[] { "1abc", false },
            new object[] { "_abc", false }, new object[] { "ab c", false }, new object[] { "abc.d", false }, new object[] { "abc/../x", false },
            new object[] { "аbcd", false } /* Cyrillic а */, new object[] { "abcd\n", false }, new object[] { "abc%2F", false },
        };

        [Theory]
        [MemberData(nameof(NameCases))]
        public async Task The_name_rule_is_checked_before_sending(string name, bool accepted)
        {
            var request = Request(InstanceId, name);
            if (accepted)
            {
                var job = await BackupService.StartAsync(Connection(), request, NullOperationLog.Instance, CancellationToken.None);
                Assert.Equal(name, job.BackupName);
            }
            else
            {
                await AssertRefusedBeforeSending(request, "Name", "starting with a letter");
            }
        }

        [Fact]
        public async Task A_missing_name_is_refused_before_sending() =>
            await AssertRefusedBeforeSending(new BackupRequest { InstanceId = InstanceId, Name = "" }, "Name", "required");

        [Theory]
        [InlineData("0123456789abcdef0123456789abcde")]   // 31
        [InlineData("0123456789abcdef0123456789abcdef0")] // 33
        [InlineData("0123456789abcdef0123456789abcde-")]
        [InlineData("")]
        public void The_project_id_rule_is_checked_when_connecting(string projectId)
        {
            var ex = Assert.Throws<BackupToolsException>(() => TestData.Connect(Sim, Provider, scope: projectId));
            Assert.Equal(ErrorIds.ConnectionParameterInvalid, ex.ErrorId);
            Assert.Contains("ProjectId", ex.Message);
            Assert.Contains("32 characters", ex.Message);
        }

        [Fact]
        public async Task Description_at_256_characters_is_accepted_and_257_refused()
        {
            var ok = await BackupService.StartAsync(Connection(), Request(InstanceId, description: new string('d', 256)), NullOperationLog.Instance, CancellationToken.None);
            Assert.NotNull(ok.JobId);
            await AssertRefusedBeforeSending(Request(InstanceId, description: new string('d', 257)), "Description", "at most 256 characters");
        }

        private const string ProjectB = "fedcba9876543210fedcba9876543210";

        /// <summary>
        /// Connecting to a second project of one endpoint keeps the first project's connection: each job is read with
        /// its own project's connection and path (the job id is known only in its project), and new backups go to the
        /// project connected last.
        /// </summary>
        [Fact]
        public async Task Connections_to_two_projects_of_one_endpoint_are_both_kept_and_each_job_is_read_with_its_own()
        {
            Sim.Options.JobDuration = TimeSpan.FromMilliseconds(800);
            var store = new BackupTools.Session.ConnectionStore();
            var a = Connection();
            store.SetDefault(a);
            var jobA = await BackupService.StartAsync(store.ForNewBackup(Provider), Request(InstanceId), NullOperationLog.Instance, CancellationToken.None);
            var b = TestData.Connect(Sim, Provider, scope: ProjectB);
            store.SetDefault(b);
            Assert.Equal(2, store.All.Count);
            Assert.Same(b, store.ForNewBackup(Provider));
            Assert.Same(b, store.ForNewBackup(null));
            var jobB = await BackupService.StartAsync(store.ForNewBackup(Provider), Request(InstanceId), NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal(ProjectB, jobB.Scope);
            // A job as a trimmed CSV gives it back: no status URL, so the address is built from its project.
            var bareA = new BackupJob(jobA.Provider, jobA.Endpoint, jobA.JobId, null, jobA.InstanceId, jobA.BackupName, null, jobA.Scope, createdAt: jobA.CreatedAt);
            Assert.Same(a, store.ForJob(bareA));
            Assert.Same(b, store.ForJob(jobB));

            var events = new RecordingEvents();
            await BackupService.WaitAsync(new[] { bareA, jobB }, store.ForJob, Fast, events, NullOperationLog.Instance, CancellationToken.None);
            Assert.Empty(events.Errors);
            Assert.Equal(2, events.Finished.Count(j => j.State == BackupJobState.Succeeded));
            var reads = Sim.Counters.Requests.Where(r => r.Path.Contains("/jobs")).ToList();
            Assert.Contains(reads, r => r.Path.Contains(TestData.ProjectId) && r.Query.Contains(jobA.JobId));
            Assert.Contains(reads, r => r.Path.Contains(ProjectB) && r.Query.Contains(jobB.JobId));
            Assert.DoesNotContain(reads, r => r.Path.Contains(ProjectB) && r.Query.Contains(jobA.JobId));

            // Connecting to project A again replaces A's connection only.
            var a2 = Connection();
            store.SetDefault(a2);
            Assert.Equal(2, store.All.Count);
            Assert.Same(a2, store.ForJob(bareA));
            Assert.Same(a2, store.ForNewBackup(Provider));
        }

        /// <summary>
        /// A job that names no project, with connections to two projects of its endpoint: the project its status address
        /// names, else an error asking for -Connection; never the project connected last.
        /// </summary>
        [Fact]
        public async Task A_job_without_a_project_is_read_with_the_project_of_its_address_or_refused_as_ambiguous()
        {
            var store = new BackupTools.Session.ConnectionStore();
            var a = Connection();
            store.SetDefault(a);
            var jobA = await BackupService.StartAsync(a, Request(InstanceId), NullOperationLog.Instance, CancellationToken.None);
            var b = TestData.Connect(Sim, Provider, scope: ProjectB);
            store.SetDefault(b);

            var addressed = new BackupJob(jobA.Provider, jobA.Endpoint, jobA.JobId, jobA.StatusUrl, jobA.InstanceId, jobA.BackupName, createdAt: jobA.CreatedAt);
            Assert.Null(addressed.Scope);
            Assert.Same(a, store.ForJob(addressed));

            var bare = new BackupJob(jobA.Provider, jobA.Endpoint, jobA.JobId, null, jobA.InstanceId, jobA.BackupName, createdAt: jobA.CreatedAt);
            var ambiguous = Assert.Throws<BackupToolsException>(() => store.ForJob(bare));
            Assert.Equal(ErrorIds.ConnectionNotFound, ambiguous.ErrorId);
            Assert.Contains("-Connection", ambiguous.Message);
            Assert.Contains(ProjectB, ambiguous.Message);
        }

        /// <summary>A job whose project has no connection is not read with another project's credential and path.</summary>
        [Fact]
        public async Task A_job_of_a_project_without_a_connection_is_not_read_with_another_projects()
        {
            var jobA = await BackupService.StartAsync(Connection(), Request(InstanceId), NullOperationLog.Instance, CancellationToken.None);
            var b = TestData.Connect(Sim, Provider, scope: ProjectB);
            var store = new BackupTools.Session.ConnectionStore();
            store.SetDefault(b);
            Assert.Null(store.ForJob(jobA));
            var before = Sim.Counters.TotalRequests;

            var events = new RecordingEvents();
            await BackupService.WaitAsync(new[] { jobA }, store.ForJob, Fast, events, NullOperationLog.Instance, CancellationToken.None);
            var missing = Assert.Single(events.Errors);
            Assert.Equal(ErrorIds.ConnectionNotFound, missing.ErrorId);
            Assert.Contains(TestData.ProjectId, missing.Message);

            // Given that connection explicitly (Wait-BackupJob -Connection, Get-BackupJob -Connection): refused, naming both projects.
            var wrong = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.RefreshAsync(b, jobA, NullOperationLog.Instance, CancellationToken.None));
            Assert.Equal(ErrorIds.ConnectionNotFound, wrong.ErrorId);
            Assert.Contains(TestData.ProjectId, wrong.Message);
            Assert.Contains(ProjectB, wrong.Message);
            Assert.Contains("-ProjectId " + TestData.ProjectId, wrong.RecommendedAction);
            Assert.Equal(before, Sim.Counters.TotalRequests);
        }

        [Theory]
        [InlineData("!")] [InlineData("<")] [InlineData("\"")] [InlineData("=")] [InlineData("'")] [InlineData(">")] [InlineData("&")]
        public async Task Forbidden_description_characters_are_refused(string bad) =>
            await AssertRefusedBeforeSending(Request(InstanceId, description: "nightly " + bad + " run"), "Description", "without");
    }

    public sealed class TaurusDbTests : HuaweiFamilyTests
    {
        public TaurusDbTests(SimulatorFixture fixture) : base(fixture) { }
        protected override string Provider => "TaurusDB";
        protected override string InstanceId => TestData.TaurusInstance;

        [Theory]
        [InlineData("0123456789abcdef0123456789abcdefin02")] // DDS suffix
        [InlineData("0123456789abcdef0123456789abcdein07")]  // 35
        [InlineData("0123456789abcdef0123456789abcdef0in07")] // 37
        [InlineData("0123456789abcdef0123456789abcde-in07")]
        [InlineData("../../v3/other/backups/createin07xxxx")]
        public async Task The_instance_id_rule_is_checked_before_sending(string instance) =>
            await AssertRefusedBeforeSending(Request(instance), "InstanceId", "ending in 'in07'");

        [Fact]
        public async Task A_carriage_return_in_the_description_is_refused() =>
            await AssertRefusedBeforeSending(Request(InstanceId, description: "line\rbreak"), "Description", "carriage return");

        [Fact]
        public async Task The_create_request_is_the_documented_one()
        {
            await BackupService.StartAsync(Connection(), Request(InstanceId, "shape-check", "d1"), NullOperationLog.Instance, CancellationToken.None);
            var post = Sim.Counters.Requests.Last(r => r.Method == "POST");
            Assert.Equal($"/v3/{TestData.ProjectId}/backups/create", post.Path);
            Assert.Contains("\"instance_id\":\"" + TestData.TaurusInstance + "\"", post.Body);
            Assert.Contains("\"name\":\"shape-check\"", post.Body);
            Assert.Contains("\"description\":\"d1\"", post.Body);
        }

        [Fact]
        public async Task A_reused_name_makes_a_second_backup_as_TaurusDB_documents_no_unique_names()
        {
            // taurusdb.md states no uniqueness rule for names (dds.md does): the simulator makes both, and the client,
            // which never relies on a TaurusDB "already exists", reports two jobs.
            var c = Connection();
            var name = TestData.UniqueName();
            var first = await BackupService.StartAsync(c, Request(InstanceId, name), NullOperationLog.Instance, CancellationToken.None);
            var second = await BackupService.StartAsync(c, Request(InstanceId, name), NullOperationLog.Instance, CancellationToken.None);
            Assert.NotEqual(first.JobId, second.JobId);
            Assert.Equal(2, Sim.Counters.BackupsFor(Provider, InstanceId));
        }

        [Fact]
        public async Task Begin_time_with_a_compact_offset_becomes_the_jobs_start()
        {
            var before = DateTimeOffset.UtcNow.AddSeconds(-5);
            var job = await BackupService.StartAsync(Connection(), Request(InstanceId), NullOperationLog.Instance, CancellationToken.None);
            Assert.InRange(job.CreatedAt, before, DateTimeOffset.UtcNow.AddSeconds(5));
            Assert.Equal(new DateTimeOffset(2026, 11, 23, 7, 20, 1, TimeSpan.Zero), BackupTools.Json.JsonRead.ParseTime("2026-11-23T15:20:01+0800"));
        }
    }

    public sealed class DdsTests : HuaweiFamilyTests
    {
        public DdsTests(SimulatorFixture fixture) : base(fixture) { }
        protected override string Provider => "DDS";
        protected override string InstanceId => TestData.DdsInstance;

        [Theory]
        [InlineData("0123456789abcdef0123456789abcdefin07")] // TaurusDB suffix
        [InlineData("0123456789abcdef0123456789abcdein02")]
        [InlineData("0123456789abcdef0123456789abcde?in02")]
        public async Task The_instance_id_rule_is_checked_before_sending(string instance) =>
            await AssertRefusedBeforeSending(Request(instance), "InstanceId", "ending in 'in02'");

        [Fact]
        public async Task A_carriage_return_is_allowed_in_a_DDS_description()
        {
            // The DDS page forbids only > ! < " & ' = ; TaurusDB also forbids a carriage return.
            var job = await BackupService.StartAsync(Connection(), Request(InstanceId, description: "line\rbreak"), NullOperationLog.Instance, CancellationToken.None);
            Assert.NotNull(job.JobId);
        }

        [Fact]
        public async Task A_duplicate_name_is_refused_by_the_service_with_its_code()
        {
            var c = Connection();
            var name = TestData.UniqueName();
            await BackupService.StartAsync(c, Request(InstanceId, name), NullOperationLog.Instance, CancellationToken.None);
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() =>
                BackupService.StartAsync(c, Request(InstanceId, name), NullOperationLog.Instance, CancellationToken.None));
            Assert.Equal("DBS.201201", ex.ServiceCode);
            Assert.Equal(BackupErrorCategory.ResourceExists, ex.Category);
            Assert.Equal(1, Sim.Counters.BackupsFor(Provider, InstanceId));
            // A name reused by the user is not mistaken for an earlier attempt of ours: one create, refused.
            Assert.Equal(2, Sim.Counters.Requests.Count(r => r.Method == "POST"));
        }

        [Fact]
        public async Task A_repeat_answered_busy_after_a_lost_answer_looks_the_backup_up_at_once()
        {
            // The first create's answer is lost; its backup runs and holds the instance, so the repeat is "busy":
            // that backup is looked up by its name at once, not after every busy repeat.
            Sim.Options.HuaweiClaimsInstances = true;
            Sim.Options.JobDuration = TimeSpan.FromSeconds(30);
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups", Kind = FaultKind.DropAfterRead, Times = 1 });
            var name = TestData.UniqueName();
            var job = await BackupService.StartAsync(Connection(), Request(InstanceId, name), NullOperationLog.Instance, CancellationToken.None,
                TestData.FastRetry(busy: 5));
            Assert.Equal(name, job.BackupName);
            Assert.Equal(1, Sim.Counters.BackupsFor(Provider, InstanceId));
            Assert.Equal(2, Creates); // the lost one and one repeat answered busy
            Assert.Contains(Sim.Counters.Requests, r => r.Method == "GET" && r.Path.EndsWith("/backups", StringComparison.Ordinal));
        }

        [Fact]
        public async Task A_repeat_answered_busy_by_another_operation_after_a_lost_create_goes_on_repeating()
        {
            // The first create is cut off by its request timeout before the service acted on it; the repeat finds the
            // instance busy with another operation. The lookup by name finds nothing, so the busy repeats go on and
            // the backup starts (once), rather than ending in "outcome unknown".
            // Cut off after 3 s (held 6 s): the repeat, the lookup and the last repeat must each be answered within the
            // timeout, which 1 s (held 3 s) did not promise on 2 busy cores; one more cut off makes a fourth create.
            var retry = TestData.FastRetry(busy: 3);
            retry.RequestTimeout = TimeSpan.FromSeconds(3);
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups", Delay = TimeSpan.FromSeconds(6), StatusCode = 503, Times = 1 });
            Sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups", StatusCode = 403, Times = 1,
                Body = "{\"error_code\":\"DBS.201015\",\"error_msg\":\"Another operation is being performed on the instance.\"}" });
            var name = TestData.UniqueName();
            var job = await BackupService.StartAsync(Connection(), Request(InstanceId, name), NullOperationLog.Instance, CancellationToken.None, retry);
            Assert.Equal(name, job.BackupName);
            Assert.Equal(1, Sim.Counters.BackupsFor(Provider, InstanceId));
            // The cut-off create is logged once the simulator sees its connection go (status 0), which a busy machine
            // may do after the two creates that followed were answered: wait for it, then count.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (Creates < 3 && DateTime.UtcNow < deadline) await Task.Delay(10);
            Assert.Equal(3, Creates); // cut off, busy, then made
            Assert.Contains(Sim.Counters.Requests, r => r.Method == "GET" && r.Path.EndsWith("/backups", StringComparison.Ordinal));
        }

        [Fact]
        public async Task The_create_request_is_wrapped_in_backup()
        {
            await BackupService.StartAsync(Connection(), Request(InstanceId, "shape-check"), NullOperationLog.Instance, CancellationToken.None);
            var post = Sim.Counters.Requests.Last(r => r.Method == "POST");
            Assert.Equal($"/v3/{TestData.ProjectId}/backups", post.Path);
            Assert.StartsWith("{\"backup\":{", post.Body);
            Assert.Contains("\"instance_id\":\"" + TestData.DdsInstance + "\"", post.Body);
        }
    }

    /// <summary>Records engine events in order.</summary>
    internal sealed class RecordingEvents : IJobWaitEvents
    {
        private readonly ConcurrentQueue<(string Kind, BackupJob Job)> _all = new ConcurrentQueue<(string, BackupJob)>();
        public List<BackupJob> Finished => _all.Where(e => e.Kind == "finished").Select(e => e.Job).ToList();
        public List<BackupJob> Updated => _all.Where(e => e.Kind == "updated").Select(e => e.Job).ToList();
        public List<BackupJob> TimedOut => _all.Where(e => e.Kind == "timeout").Select(e => e.Job).ToList();
        public ConcurrentQueue<BackupToolsException> Errors { get; } = new ConcurrentQueue<BackupToolsException>();
        void IJobWaitEvents.Updated(BackupJob job) => _all.Enqueue(("updated", job));
        void IJobWaitEvents.Finished(BackupJob job) => _all.Enqueue(("finished", job));
        void IJobWaitEvents.TimedOut(BackupJob job) => _all.Enqueue(("timeout", job));
        void IJobWaitEvents.CouldNotFollow(BackupJob job, BackupToolsException error)
        {
            _all.Enqueue(("error", job));
            Errors.Enqueue(error);
        }
    }
}
