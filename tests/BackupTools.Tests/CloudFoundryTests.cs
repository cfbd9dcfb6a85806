using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Http;
using BackupTools.Jobs;
using BackupTools.Providers.CloudFoundry;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>Cloud Foundry v3 service instance backups end to end against the simulator.</summary>
    public sealed class CloudFoundryTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const string Provider = "CloudFoundry";
        private readonly BackupSimulator _sim;

        public CloudFoundryTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(400);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
        }

        public void Dispose()
        {
            lock (_sim.Options.FailingInstances) _sim.Options.FailingInstances.Clear();
            _sim.Reset();
        }

        /// <summary>A fresh guid per test: the controller allows one operation per service instance at a time.</summary>
        private static string NewInstance() => Guid.NewGuid().ToString();

        private BackupConnection Connection(string token = TestData.Token) => TestData.Connect(_sim, Provider, token, scope: null);

        private static BackupRequest Request(string instance) => new BackupRequest { InstanceId = instance };

        /// <summary>Create requests for the instance that reached the simulator, faults' answers included.</summary>
        private int Posts(string instance) => _sim.Counters.Requests.Count(r => r.Method == "POST" && r.Path.Contains(instance));

        private static Task<BackupJob> Start(BackupConnection c, BackupRequest r, BackupTools.Http.CreateRetryOptions retry = null) =>
            BackupService.StartAsync(c, r, NullOperationLog.Instance, CancellationToken.None, retry ?? TestData.FastRetry());

        [Fact]
        public async Task A_backup_is_created_and_followed_to_success()
        {
            var instance = NewInstance();
            var c = Connection();
            var job = await Start(c, Request(instance));

            Assert.Equal(Provider, job.Provider);
            Assert.Equal(BackupJobState.Running, job.State);
            Assert.Equal(instance, job.InstanceId);
            Assert.Null(job.Scope);
            Assert.False(string.IsNullOrEmpty(job.JobId));
            Assert.Equal(c.Endpoint + "v3/jobs/" + job.JobId, job.StatusUrl);
            Assert.Equal(1, _sim.Counters.BackupsFor(Provider, instance));

            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            var done = Assert.Single(events.Finished);
            Assert.Equal(BackupJobState.Succeeded, done.State);
            Assert.Equal("COMPLETE", done.RawStatus);
            Assert.Empty(done.Errors);
            Assert.Null(JobOutcome.ErrorFor(done));
            Assert.True(_sim.Counters.StatusReadsFor(Provider, job.JobId) >= 1);
        }

        [Fact]
        public async Task The_create_request_is_the_documented_one()
        {
            var instance = NewInstance();
            await Start(Connection(), Request(instance));
            var post = _sim.Counters.Requests.Last(r => r.Method == "POST");
            Assert.Equal($"/v3/service_instances/{instance}/backups", post.Path);
            Assert.Equal(string.Empty, post.Body);
        }

        [Fact]
        public async Task A_failing_job_is_reported_failed_with_the_service_code()
        {
            var instance = NewInstance();
            lock (_sim.Options.FailingInstances) _sim.Options.FailingInstances.Add(instance);
            var c = Connection();
            var job = await Start(c, Request(instance));
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            var done = Assert.Single(events.Finished);
            Assert.Equal(BackupJobState.Failed, done.State);
            Assert.Equal("FAILED", done.RawStatus);
            var reason = Assert.Single(done.Errors);
            Assert.Equal("CF-UnableToPerform", reason.Code);
            Assert.Contains("simulated broker failure", reason.Message);
            var error = JobOutcome.ErrorFor(done);
            Assert.Equal(ErrorIds.BackupJobFailed, error.ErrorId);
            Assert.Equal("CF-UnableToPerform", error.ServiceCode);
            Assert.Contains("simulated broker failure", error.Message);
        }

        [Theory]
        [InlineData("PROCESSING", BackupJobState.Running)]
        [InlineData("POLLING", BackupJobState.Running)]
        [InlineData("COMPLETE", BackupJobState.Succeeded)]
        [InlineData("FAILED", BackupJobState.Failed)]
        [InlineData("complete", BackupJobState.Succeeded)]
        [InlineData("PAUSED", BackupJobState.Unknown)]
        [InlineData("", BackupJobState.Unknown)]
        public void Every_job_state_is_mapped(string raw, BackupJobState expected) =>
            Assert.Equal(expected, CloudFoundryProvider.MapState(raw));

        // ---- errors ----

        [Fact]
        public async Task A_wrong_token_is_401_with_the_cf_code()
        {
            var instance = NewInstance();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection("not-a-valid-token"), Request(instance)));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal(BackupErrorCategory.AuthenticationError, ex.Category);
            Assert.Equal(401, ex.HttpStatus);
            Assert.Equal("CF-InvalidAuthToken", ex.ServiceCode);
            Assert.Equal("Invalid Auth Token", ex.ServiceMessage);
            Assert.Contains("1000", ex.Message);
            Assert.DoesNotContain("not-a-valid-token", ex.Message);
            Assert.Contains("cf oauth-token", ex.RecommendedAction);
            Assert.Equal(0, _sim.Counters.BackupsFor(Provider, instance));
        }

        [Theory]
        [InlineData("bearer ")]   // what cf oauth-token prints, and our own 401 advice tells users to run
        [InlineData("Bearer  ")]  // a header value copied from a browser
        public async Task A_token_pasted_with_its_scheme_is_sent_once_with_it(string prefix)
        {
            var instance = NewInstance();
            var job = await Start(Connection(prefix + TestData.Token), Request(instance));
            Assert.Equal(BackupJobState.Running, job.State);
            Assert.Equal(1, _sim.Counters.BackupsFor(Provider, instance));
            Assert.Equal("eyJ.x", TokenPlacement.WithoutScheme("eyJ.x", "bearer"));
            Assert.Equal("bearerish", TokenPlacement.WithoutScheme("bearerish", "bearer"));
            Assert.Equal("bearer ", TokenPlacement.WithoutScheme("bearer ", "bearer"));
        }

        [Fact]
        public async Task An_unknown_service_instance_is_404_with_the_cf_code()
        {
            // The rules refuse a malformed guid before sending, so call the provider directly: the simulator's real
            // handler answers 404 CF-ResourceNotFound for an instance it cannot know.
            var c = Connection();
            var call = new ServiceCall(c, NullOperationLog.Instance, CancellationToken.None);
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() =>
                new CloudFoundryProvider().StartAsync(call, Request(Guid.NewGuid().ToString("N"))));
            Assert.Equal(404, ex.HttpStatus);
            Assert.Equal(BackupErrorCategory.ObjectNotFound, ex.Category);
            Assert.Equal("CF-ResourceNotFound", ex.ServiceCode);
            Assert.Equal("Service instance not found", ex.ServiceMessage);
            Assert.Contains("10010", ex.Message);
        }

        [Fact]
        public async Task A_second_backup_while_one_runs_is_409_busy_with_the_cf_code()
        {
            _sim.Options.JobDuration = TimeSpan.FromSeconds(30);
            var instance = NewInstance();
            var c = Connection();
            await Start(c, Request(instance));
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(c, Request(instance)));
            Assert.Equal(409, ex.HttpStatus);
            Assert.Equal(BackupErrorCategory.ResourceBusy, ex.Category);
            Assert.Equal("CF-AsyncServiceInstanceOperationInProgress", ex.ServiceCode);
            Assert.Contains("60016", ex.Message);
            Assert.Contains(instance, ex.ServiceMessage);
            Assert.Equal(1, _sim.Counters.BackupsFor(Provider, instance));
        }

        [Fact]
        public async Task The_v3_422_operation_in_progress_is_busy_and_retried()
        {
            // Cloud Controller v3 answers an operation in progress as 422 CF-UnprocessableEntity, code 10008.
            _sim.Faults.Add(new FaultRule
            {
                Provider = Provider, Method = "POST", StatusCode = 422, Times = 1,
                Body = "{\"errors\":[{\"code\":10008,\"title\":\"CF-UnprocessableEntity\",\"detail\":\"There is an operation in progress for the service instance.\"}]}",
            });
            var instance = NewInstance();
            var job = await Start(Connection(), Request(instance));
            Assert.Equal(BackupJobState.Running, job.State);
            Assert.Equal(2, Posts(instance));
            Assert.Equal(1, _sim.Counters.BackupsFor(Provider, instance));
        }

        [Fact]
        public async Task The_simulators_422_in_progress_answer_is_retried_up_to_the_busy_count()
        {
            _sim.Options.JobDuration = TimeSpan.FromSeconds(30);
            _sim.Options.CloudFoundryInProgressAs422 = true;
            try
            {
                var instance = NewInstance();
                var c = Connection();
                await Start(c, Request(instance));
                var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(c, Request(instance), TestData.FastRetry(busy: 2)));
                Assert.Equal(422, ex.HttpStatus);
                Assert.Equal(BackupErrorCategory.ResourceBusy, ex.Category);
                Assert.Equal("CF-UnprocessableEntity", ex.ServiceCode);
                Assert.Equal("There is an operation in progress for the service instance.", ex.ServiceMessage);
                Assert.Contains("10008", ex.Message);
                Assert.Contains("Another operation is running", ex.RecommendedAction);
                Assert.Equal(1 + 1 + 2, _sim.Counters.CreatesFor(Provider, instance)); // the first backup, then one create and two repeats
                Assert.Equal(1, _sim.Counters.BackupsFor(Provider, instance));
            }
            finally
            {
                _sim.Options.CloudFoundryInProgressAs422 = false;
            }
        }

        [Fact]
        public async Task Another_422_is_not_busy_and_not_repeated()
        {
            _sim.Faults.Add(new FaultRule
            {
                Provider = Provider, Method = "POST", StatusCode = 422, Times = int.MaxValue,
                Body = "{\"errors\":[{\"code\":10008,\"title\":\"CF-UnprocessableEntity\",\"detail\":\"The service instance does not support backups.\"}]}",
            });
            var instance = NewInstance();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), Request(instance)));
            Assert.Equal(BackupErrorCategory.InvalidArgument, ex.Category);
            Assert.Equal(1, Posts(instance));
        }

        [Fact]
        public async Task Service_text_repeating_the_token_is_masked_in_the_errors_service_message()
        {
            const string token = "tok-SECRET-123456";
            _sim.Faults.Add(new FaultRule
            {
                Provider = Provider, Method = "POST", StatusCode = 403,
                Body = "{\"errors\":[{\"code\":10003,\"title\":\"CF-NotAuthorized\",\"detail\":\"token " + token + " lacks scope\"}]}",
            });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(token), Request(NewInstance())));
            Assert.DoesNotContain(token, ex.Message);
            Assert.DoesNotContain(token, ex.ServiceMessage);
            Assert.Contains("lacks scope", ex.ServiceMessage);
        }

        [Theory]
        [InlineData(403, 10003, "CF-NotAuthorized", BackupErrorCategory.PermissionDenied)]
        [InlineData(422, 10008, "CF-UnprocessableEntity", BackupErrorCategory.InvalidArgument)]
        [InlineData(429, 10013, "CF-RateLimitExceeded", BackupErrorCategory.LimitsExceeded)]
        public async Task Other_documented_errors_carry_the_cf_code(int status, int code, string title, BackupErrorCategory category)
        {
            _sim.Faults.Add(new FaultRule
            {
                Provider = Provider, Method = "POST", StatusCode = status, Times = int.MaxValue,
                Body = $"{{\"errors\":[{{\"code\":{code},\"title\":\"{title}\",\"detail\":\"the detail of {title}\"}}]}}",
                // The 429's window resets in an hour, beyond the create's budget: reported at once, not waited for.
                Headers = new Dictionary<string, string> { ["X-RateLimit-Reset"] = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds().ToString() },
            });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), Request(NewInstance())));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal(category, ex.Category);
            Assert.Equal(status, ex.HttpStatus);
            Assert.Equal(title, ex.ServiceCode);
            Assert.Equal("the detail of " + title, ex.ServiceMessage);
            Assert.Contains(code.ToString(), ex.Message);
            Assert.Contains("the detail of " + title, ex.Message);
            Assert.Contains(Provider, ex.Message);
        }

        [Fact]
        public async Task A_202_without_a_location_or_a_readable_body_is_said_to_be_accepted()
        {
            // The controller's 202 is its acceptance, whatever its body: the backup may have started and its job cannot
            // be read. (Only Dataverse's and Cloud Foundry's 202 say so; ArcGIS's 200 may carry a refusal.)
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups", StatusCode = 202, Body = string.Empty, Times = int.MaxValue });
            var instance = NewInstance();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), Request(instance)));
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            Assert.Equal(202, ex.HttpStatus);
            Assert.Contains("The service accepted the request", ex.Message);
            Assert.Equal(1, Posts(instance));
        }

        [Fact]
        public async Task A_2xx_without_a_location_carrying_an_error_body_is_the_services_refusal()
        {
            // A 2xx without its job's Location was "accepted, but the job cannot be read" (BackupCreateOutcomeUnknown, no
            // code) even when its body was the controller's error: a refusal, with its code, as under a 4xx.
            _sim.Faults.Add(new FaultRule
            {
                Provider = Provider, Method = "POST", StatusCode = 200, Times = int.MaxValue,
                Body = "{\"errors\":[{\"code\":10003,\"title\":\"CF-NotAuthorized\",\"detail\":\"You are not authorized to perform the requested action\"}]}",
            });
            var instance = NewInstance();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), Request(instance)));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal(200, ex.HttpStatus);
            Assert.Equal("CF-NotAuthorized", ex.ServiceCode);
            Assert.Equal("You are not authorized to perform the requested action", ex.ServiceMessage);
            Assert.Contains("10003", ex.Message);
            Assert.DoesNotContain("accepted", ex.Message);
            Assert.Equal(1, Posts(instance));
            Assert.Equal(0, _sim.Counters.BackupsFor(Provider, instance));
        }

        [Theory]
        [InlineData(10013, "CF-RateLimitExceeded")]
        [InlineData(10016, "CF-ServiceBrokerRateLimitExceeded")]
        public async Task A_rate_limit_answered_with_a_2xx_is_a_throttle_and_the_create_is_sent_again(int code, string title)
        {
            // The limiters' codes [V] say the request was not processed, whatever status carries them: the create is sent
            // again as after a 429, and when they persist the error carries the code as a throttle.
            var body = $"{{\"errors\":[{{\"code\":{code},\"title\":\"{title}\",\"detail\":\"Rate Limit Exceeded\"}}]}}";
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", StatusCode = 200, Body = body, Times = int.MaxValue });
            var instance = NewInstance();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), Request(instance)));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal(BackupErrorCategory.LimitsExceeded, ex.Category);
            Assert.Equal(title, ex.ServiceCode);
            Assert.Contains("rate limiting", ex.RecommendedAction);
            Assert.Equal(4, Posts(instance));
            Assert.Equal(0, _sim.Counters.BackupsFor(Provider, instance));

            _sim.Faults.Clear();
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", StatusCode = 200, Body = body });
            var passed = NewInstance();
            var job = await Start(Connection(), Request(passed));
            Assert.False(string.IsNullOrEmpty(job.JobId));
            Assert.Equal(2, Posts(passed));
            Assert.Equal(1, _sim.Counters.BackupsFor(Provider, passed));
        }

        [Fact]
        public async Task The_simulators_own_403_and_422_bodies_carry_the_cf_code()
        {
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", StatusCode = 403 });
            var forbidden = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), Request(NewInstance())));
            Assert.Equal("CF-NotAuthorized", forbidden.ServiceCode);
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", StatusCode = 422 });
            var unprocessable = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), Request(NewInstance())));
            Assert.Equal("CF-UnprocessableEntity", unprocessable.ServiceCode);
        }

        [Fact]
        public async Task A_broker_rate_limit_answers_retry_after_as_a_date_and_it_is_read()
        {
            var at = DateTimeOffset.UtcNow.AddSeconds(45).ToString("r");
            _sim.Faults.Add(new FaultRule
            {
                Provider = Provider, Method = "POST", StatusCode = 429, RetryAfter = at, Times = int.MaxValue,
                Body = "{\"errors\":[{\"code\":10016,\"title\":\"CF-ServiceBrokerRateLimitExceeded\",\"detail\":\"Service broker concurrent request limit exceeded\"}]}",
            });
            // No repeats allowed here, so the test does not wait the 45 s the limiter asks for.
            var noRepeat = TestData.FastRetry(busy: 0, notProcessed: 0);
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), Request(NewInstance()), noRepeat));
            Assert.InRange(ex.RetryAfter.Value.TotalSeconds, 30, 46);
            Assert.Equal("CF-ServiceBrokerRateLimitExceeded", ex.ServiceCode);
            Assert.Equal(BackupErrorCategory.LimitsExceeded, ex.Category);
            Assert.Contains("wait", ex.RecommendedAction);
        }

        [Fact]
        public async Task Retry_after_on_a_job_read_is_passed_to_the_engine()
        {
            _sim.Options.JobDuration = TimeSpan.FromSeconds(30);
            var c = Connection();
            var job = await Start(c, Request(NewInstance()));
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/v3/jobs/", RetryAfter = "3" });
            var status = await new CloudFoundryProvider().GetStatusAsync(new ServiceCall(c, NullOperationLog.Instance, CancellationToken.None), job);
            Assert.Equal(BackupJobState.Running, status.State);
            Assert.Equal(TimeSpan.FromSeconds(3), status.RetryAfter);
        }

        [Fact]
        public async Task An_unknown_job_is_not_found()
        {
            var c = Connection();
            var job = new BackupJob(Provider, c.Endpoint.ToString(), Guid.NewGuid().ToString(), createdAt: DateTimeOffset.UtcNow.AddSeconds(-1));
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None));
            Assert.Equal(ErrorIds.BackupJobNotFound, ex.ErrorId);
        }

        // ---- Location ----

        private sealed class StubHandler : HttpMessageHandler
        {
            private readonly Func<HttpRequestMessage, HttpResponseMessage> _answer;
            public StubHandler(Func<HttpRequestMessage, HttpResponseMessage> answer) => _answer = answer;
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
                Task.FromResult(_answer(request));
        }

        private static Task<BackupJob> StartWithLocation(string location, Action<HttpRequestMessage> inspect = null)
        {
            var c = BackupService.Connect(new ConnectRequest { Provider = Provider, Endpoint = new Uri("https://api.sys.example.com"), AccessToken = TestData.Secure(TestData.Token) });
            var client = new HttpClient(new StubHandler(req =>
            {
                inspect?.Invoke(req);
                var answer = new HttpResponseMessage(HttpStatusCode.Accepted);
                if (location != null) answer.Headers.TryAddWithoutValidation("Location", location);
                return answer;
            }));
            return new CloudFoundryProvider().StartAsync(new ServiceCall(c, NullOperationLog.Instance, CancellationToken.None, client), Request("0d5f5c2e-8a8b-4f57-9d0a-3f4c1e2b7a66"));
        }

        [Fact]
        public async Task An_absolute_location_is_the_status_url_and_its_last_segment_the_job_id()
        {
            HttpRequestMessage sent = null;
            var job = await StartWithLocation("https://api.sys.example.com/v3/jobs/b3a2-job", r => sent = r);
            Assert.Equal("https://api.sys.example.com/v3/jobs/b3a2-job", job.StatusUrl);
            Assert.Equal("b3a2-job", job.JobId);
            Assert.Equal("bearer", sent.Headers.Authorization.Scheme);
            Assert.Equal(TestData.Token, sent.Headers.Authorization.Parameter);
            Assert.Null(sent.Content);
            Assert.Equal("https://api.sys.example.com/v3/service_instances/0d5f5c2e-8a8b-4f57-9d0a-3f4c1e2b7a66/backups", sent.RequestUri.ToString());
        }

        [Fact]
        public async Task A_relative_location_is_resolved_against_the_endpoint()
        {
            var job = await StartWithLocation("/v3/jobs/rel-job");
            Assert.Equal("https://api.sys.example.com/v3/jobs/rel-job", job.StatusUrl);
            Assert.Equal("rel-job", job.JobId);
        }

        [Fact]
        public async Task An_accepted_answer_without_location_is_an_invalid_response()
        {
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => StartWithLocation(null));
            Assert.Equal(ErrorIds.BackupResponseInvalid, ex.ErrorId);
            Assert.Contains("Location", ex.Message);
        }

        [Theory]
        [InlineData("access_token")] // a secret's name
        [InlineData("t")]            // a name no list knows: the connection's token is found by its value
        public async Task A_token_in_a_location_that_is_not_a_jobs_address_is_not_kept_on_the_job(string name)
        {
            var c = Connection();
            var instance = NewInstance();
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups", StatusCode = 202, Body = string.Empty,
                Location = $"{c.Endpoint}v3/service_instances/{instance}/backup_operation?{name}={TestData.Token}&x=1" });
            var job = await Start(c, Request(instance));
            Assert.Equal($"{c.Endpoint}v3/service_instances/{instance}/backup_operation?x=1", job.StatusUrl);
        }

        [Theory]
        [InlineData("access_token")]
        [InlineData("t")]
        public async Task A_location_that_is_not_an_address_is_quoted_without_the_token(string name)
        {
            var c = Connection();
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups", StatusCode = 202, Body = string.Empty,
                Location = $"https:?{name}={TestData.Token}" });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(c, Request(NewInstance())));
            // The unreadable answer to a create the service accepted: the outcome is unknown; the answer is quoted.
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            Assert.Contains("'https:?", ex.Message);
            Assert.DoesNotContain(TestData.Token, ex.ToString());
        }

        // ---- rules ----

        private async Task AssertRefusedBeforeSending(BackupRequest request, string parameter, string ruleFragment)
        {
            var c = Connection();
            await TestData.AssertRefusedBeforeSending(_sim, () => Start(c, request), parameter, ruleFragment);
        }

        [Theory]
        [InlineData("")]
        [InlineData("not-a-guid")]
        [InlineData("0d5f5c2e8a8b4f579d0a3f4c1e2b7a66")]
        [InlineData("0d5f5c2e-8a8b-4f57-9d0a-3f4c1e2b7a6")]
        [InlineData("../../v3/jobs")]
        public async Task The_instance_id_must_be_a_guid(string instance) =>
            await AssertRefusedBeforeSending(Request(instance), "InstanceId", "GUID such as 00000000-0000-0000-0000-000000000000");

        [Fact]
        public async Task A_name_is_refused_because_cf_names_backups_itself() =>
            await AssertRefusedBeforeSending(new BackupRequest { InstanceId = NewInstance(), Name = "nightly" }, "Name",
                "Cloud Foundry names backups itself; leave -Name and -Description out");

        [Fact]
        public async Task A_description_is_refused_because_cf_names_backups_itself() =>
            await AssertRefusedBeforeSending(new BackupRequest { InstanceId = NewInstance(), Description = "notes" }, "Description",
                "Cloud Foundry names backups itself; leave -Name and -Description out");

        [Fact]
        public void Cloud_Foundry_has_no_regions_and_no_project_id()
        {
            Assert.Empty(BackupService.RegionsOf(Provider));
            var ex = Assert.Throws<BackupToolsException>(() => TestData.Connect(_sim, Provider, scope: TestData.ProjectId));
            Assert.Equal(ErrorIds.ConnectionParameterInvalid, ex.ErrorId);
        }

        // ---- PowerShell ----

        [Fact]
        public void New_InstanceBackup_piped_to_Wait_BackupJob_succeeds_in_PowerShell()
        {
            var instance = NewInstance();
            using var ps = new PowerShellHost();
            ps.Set("token", TestData.Secure(TestData.Token));
            ps.Set("endpoint", _sim.EndpointFor(Provider).ToString());
            ps.Set("instance", instance);
            var r = ps.Run("$null = Connect-BackupService -Provider CloudFoundry -Endpoint $endpoint -AccessToken $token;" +
                           "New-InstanceBackup -InstanceId $instance | Wait-BackupJob -PollingInterval 0.05 -Timeout 30");
            Assert.Null(r.Terminating);
            Assert.Empty(r.Errors);
            var job = Assert.Single(r.Objects<BackupJob>());
            Assert.Equal(BackupJobState.Succeeded, job.State);
            Assert.Equal("COMPLETE", job.RawStatus);
            Assert.Equal(1, _sim.Counters.BackupsFor(Provider, instance));
        }
    }

    /// <summary>Cloud Foundry tests that bound elapsed time: in the timing collection.</summary>
    [Collection(TimingCollection.Name)]
    public sealed class CloudFoundryTimingTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const string Provider = "CloudFoundry";
        private readonly BackupSimulator _sim;

        public CloudFoundryTimingTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(400);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
        }

        public void Dispose() => _sim.Reset();

        private static FaultRule RateLimited(int times, DateTimeOffset reset) => new FaultRule
        {
            Provider = Provider, Method = "POST", StatusCode = 429, Times = times,
            Headers = new Dictionary<string, string> { ["X-RateLimit-Reset"] = reset.ToUnixTimeSeconds().ToString() },
        };

        [Fact]
        public async Task An_injected_429_is_the_spent_window_and_the_create_waits_for_its_reset()
        {
            // cloudfoundry.md: over the limit, 429 CF-RateLimitExceeded (10013), X-RateLimit-Remaining 0 and the reset in
            // epoch seconds; no Retry-After. The create waits for the reset (3 s here; the backoff alone is 20 ms).
            var c = TestData.Connect(_sim, Provider, scope: null);
            _sim.Faults.Add(RateLimited(1, DateTimeOffset.UtcNow.AddSeconds(3)));
            var instance = Guid.NewGuid().ToString();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var job = await BackupService.StartAsync(c, new BackupRequest { InstanceId = instance }, NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            Assert.Equal(BackupJobState.Running, job.State);
            Assert.Equal(2, _sim.Counters.Requests.Count(r => r.Method == "POST" && r.Path.Contains(instance)));
            Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.5), $"the create was repeated {clock.Elapsed.TotalSeconds:0.00} s after a 429 whose window resets in 3 s");
            Assert.Equal(429, _sim.Counters.Requests.First(r => r.Method == "POST").Status);
        }

        [Fact]
        public async Task A_reset_beyond_the_creates_budget_fails_at_once()
        {
            var c = TestData.Connect(_sim, Provider, scope: null);
            _sim.Faults.Add(RateLimited(int.MaxValue, DateTimeOffset.UtcNow.AddHours(1)));
            var instance = Guid.NewGuid().ToString();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() =>
                BackupService.StartAsync(c, new BackupRequest { InstanceId = instance }, NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed.TotalSeconds:0.0} s");
            Assert.Equal(429, ex.HttpStatus);
            Assert.Equal("CF-RateLimitExceeded", ex.ServiceCode);
            Assert.Equal(BackupErrorCategory.LimitsExceeded, ex.Category);
            Assert.InRange(ex.RetryAfter.Value.TotalMinutes, 55, 61);
            Assert.Equal(1, _sim.Counters.Requests.Count(r => r.Method == "POST" && r.Path.Contains(instance)));
        }

        [Fact]
        public async Task The_rate_limit_answer_is_also_available_through_the_control_api()
        {
            // Rehearsals drive the simulator over HTTP: a fault's headers come through POST /_sim/faults.
            var c = TestData.Connect(_sim, Provider, scope: null);
            using var http = new HttpClient();
            var reset = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
            using var added = await http.PostAsync(new Uri(c.Endpoint, "/_sim/faults"), new StringContent(
                "{\"provider\":\"CloudFoundry\",\"method\":\"POST\",\"statusCode\":429,\"headers\":{\"X-RateLimit-Reset\":\"" + reset + "\"}}",
                System.Text.Encoding.UTF8, "application/json"));
            Assert.True(added.IsSuccessStatusCode);
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() =>
                BackupService.StartAsync(c, new BackupRequest { InstanceId = Guid.NewGuid().ToString() }, NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry(notProcessed: 0)));
            Assert.InRange(ex.RetryAfter.Value.TotalMinutes, 55, 61);
        }
    }
}
