using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Http;
using BackupTools.Jobs;
using BackupTools.Providers.Dataverse;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>Dataverse (Online Management API) end to end against the simulator: create, follow, fail, validate, map errors.</summary>
    public sealed class DataverseTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const string Provider = "Dataverse";
        private const string Instance = "6f0e2a7c-3b1d-4c55-9a1e-2d4b8f7c9e01";
        private readonly BackupSimulator _sim;

        public DataverseTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(400);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _sim.Options.DataverseUsePascalCase = false;
        }

        public void Dispose()
        {
            _sim.Options.DataverseUsePascalCase = false;
            _sim.Reset();
        }

        private BackupConnection Connection(string token = TestData.Token) => TestData.Connect(_sim, Provider, token, scope: null);

        private static BackupRequest Request(string instance = Instance, string label = null, string notes = null) =>
            new BackupRequest { InstanceId = instance, Name = label ?? TestData.UniqueName(), Description = notes };

        private static Task<BackupJob> Start(BackupConnection c, BackupRequest r, BackupTools.Http.CreateRetryOptions retry = null) =>
            BackupService.StartAsync(c, r, NullOperationLog.Instance, CancellationToken.None, retry ?? TestData.FastRetry());

        [Theory]
        [InlineData(202, true)]
        [InlineData(200, false)]
        public async Task An_unreadable_answer_naming_no_operation_is_said_to_be_accepted_only_when_it_is_202(int status, bool accepted)
        {
            // Dataverse documents 202 Accepted as "the backup started": an answer of 202 that cannot be read (and names
            // no Operation-Location) was accepted. Any other 2xx, as ArcGIS's 200 that may carry a refusal, only may
            // have reached the service.
            var request = Request(instance: Guid.NewGuid().ToString());
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "InstanceBackups", Kind = FaultKind.MalformedJson, StatusCode = status });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), request));
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            Assert.Equal(status, ex.HttpStatus);
            Assert.Contains("may have started", ex.Message);
            Assert.Equal(accepted, ex.Message.Contains("The service accepted the request", StringComparison.Ordinal));
            Assert.Equal(!accepted, ex.Message.Contains("may have reached the service", StringComparison.Ordinal));
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public async Task A_backup_is_created_and_followed_to_success_in_either_casing(bool pascalCase)
        {
            _sim.Options.DataverseUsePascalCase = pascalCase;
            var c = Connection();
            var job = await Start(c, Request(label: "nightly-01", notes: "before upgrade"));

            Assert.Equal(Provider, job.Provider);
            Assert.Equal(BackupJobState.Running, job.State);
            Assert.Equal("NotStarted", job.RawStatus);
            Assert.False(string.IsNullOrEmpty(job.JobId));
            Assert.Equal(c.Endpoint + "api/v1.2/Operation/" + job.JobId, job.StatusUrl);
            Assert.False(string.IsNullOrEmpty(job.BackupId));
            Assert.Equal("nightly-01", job.BackupName);
            Assert.Equal(Instance, job.InstanceId);
            Assert.Null(job.Scope);
            Assert.Equal(1, _sim.Counters.BackupsFor(Provider, Instance));

            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            var done = Assert.Single(events.Finished);
            Assert.Equal(BackupJobState.Succeeded, done.State);
            Assert.Equal("Succeeded", done.RawStatus);
            Assert.Null(JobOutcome.ErrorFor(done));
            Assert.Empty(done.Errors);
            Assert.Equal("BackupCompleted", Assert.Single(done.Warnings).Code);
            Assert.Equal(Instance, done.Warnings[0].Subject);
            Assert.True(_sim.Counters.StatusReadsFor(Provider, job.JobId) >= 1);
        }

        [Fact]
        public async Task The_create_request_is_the_documented_one_with_a_bearer_token()
        {
            await Start(Connection(), Request(label: "shape-check", notes: "n1"));
            var post = _sim.Counters.Requests.Last(r => r.Method == "POST");
            Assert.Equal("/api/v1.2/InstanceBackups", post.Path);
            Assert.Equal("{\"InstanceId\":\"" + Instance + "\",\"Label\":\"shape-check\",\"Notes\":\"n1\"}", post.Body);
            Assert.DoesNotContain("Azure", post.Body);
        }

        [Theory]
        [InlineData("")]
        [InlineData("<html><body>Accepted</body></html>")]
        public async Task An_accepted_backup_with_an_unreadable_body_is_followed_by_its_Operation_Location(string body)
        {
            var c = Connection();
            var operation = Guid.NewGuid().ToString();
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", StatusCode = 202, Body = body, ContentType = "text/html",
                OperationLocation = c.Endpoint + "api/v1.2/Operation/" + operation });
            var job = await Start(c, Request());
            Assert.Equal(operation, job.JobId);
            Assert.Equal(c.Endpoint + "api/v1.2/Operation/" + operation, job.StatusUrl);
            Assert.Equal(BackupJobState.Running, job.State);
        }

        [Fact]
        public async Task An_accepted_backup_whose_body_stalls_is_followed_by_its_Operation_Location()
        {
            // 202 and its Operation-Location arrive, then the body stalls past the request's timeout. The backup started
            // and its status address is known: it was reported BackupCreateOutcomeUnknown ("no answer within 1 s"), no
            // job written, and Dataverse has no lookup by name to find it again.
            var c = Connection();
            var request = Request(instance: Guid.NewGuid().ToString());
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "InstanceBackups", Kind = FaultKind.StalledBody });
            var retry = TestData.FastRetry();
            // 3 s for the 202 and its headers on 2 busy cores (with 1 s they could come after the timeout: no acceptance
            // to follow); the body stalls for good.
            retry.RequestTimeout = TimeSpan.FromSeconds(3);
            var job = await Start(c, request, retry);
            Assert.Equal(1, _sim.Counters.BackupsFor(Provider, request.InstanceId));
            Assert.Equal(1, _sim.Counters.Requests.Count(r => r.Method == "POST"));
            Assert.False(string.IsNullOrEmpty(job.JobId));
            Assert.Equal(c.Endpoint + "api/v1.2/Operation/" + job.JobId, job.StatusUrl);
            Assert.Equal(BackupJobState.Running, job.State);
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
        }

        [Fact]
        public async Task A_refusal_whose_body_stalls_is_still_an_unknown_outcome()
        {
            // Only an acceptance (and a 401, below) is kept without its body: a refusal's code is in its body, so one cut
            // off says nothing. (The simulator's handler ran: the 400 is the rule's, in place of its 202.)
            var request = Request(instance: Guid.NewGuid().ToString());
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "InstanceBackups", Kind = FaultKind.StalledBody, StatusCode = 400 });
            var retry = TestData.FastRetry();
            retry.RequestTimeout = TimeSpan.FromSeconds(1);
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), request, retry));
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            Assert.Equal(BackupErrorCategory.OperationTimeout, ex.Category);
            Assert.Contains("no answer within 1 s", ex.Message);
        }

        [Fact]
        public async Task A_401_whose_body_stalls_is_the_refusal_and_nothing_was_created()
        {
            // The status line refuses the token; its body is not needed to know that nothing was created. It was
            // BackupCreateOutcomeUnknown ("no answer within 1 s": the backup may have started).
            var request = Request(instance: Guid.NewGuid().ToString());
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "InstanceBackups", Kind = FaultKind.StalledBody });
            var retry = TestData.FastRetry();
            // 3 s for the 401 and its headers on 2 busy cores; the body stalls for good.
            retry.RequestTimeout = TimeSpan.FromSeconds(3);
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection("not-a-valid-token"), request, retry));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal(BackupErrorCategory.AuthenticationError, ex.Category);
            Assert.Equal(401, ex.HttpStatus);
            Assert.Contains("answered HTTP 401 (its body was cut off: no more of it within 3 s)", ex.Message);
            Assert.False(BackupService.CreateMayHaveStarted(ex), ex.Message);
            Assert.Equal(1, _sim.Counters.Requests.Count(r => r.Method == "POST"));
            Assert.Equal(0, _sim.Counters.BackupsFor(Provider, request.InstanceId));
        }

        [Fact]
        public async Task A_create_stopped_while_its_accepted_body_stalls_is_a_cancellation_that_may_have_started()
        {
            // Ctrl+C during the body read: a cancellation as before (the acceptance is kept only when the request's own
            // timeout cut the body off), which says the backup may have started.
            var request = Request(instance: Guid.NewGuid().ToString());
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "InstanceBackups", Kind = FaultKind.StalledBody });
            using var stop = new CancellationTokenSource();
            var start = BackupService.StartAsync(Connection(), request, NullOperationLog.Instance, stop.Token, TestData.FastRetry());
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (_sim.Counters.BackupsFor(Provider, request.InstanceId) < 1 && DateTime.UtcNow < deadline) await Task.Delay(20);
            await Task.Delay(200);
            stop.Cancel();
            var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => start);
            Assert.True(BackupService.CreateMayHaveStarted(ex), ex.Message);
            Assert.Equal(1, _sim.Counters.BackupsFor(Provider, request.InstanceId));
        }

        [Fact]
        public async Task An_answer_without_OperationId_and_an_Operation_Location_elsewhere_is_followed_on_the_endpoint()
        {
            var c = Connection();
            var operation = Guid.NewGuid().ToString();
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", StatusCode = 202, Body = "{\"Status\":\"Running\"}", ContentType = "application/json",
                OperationLocation = "https://dataverse-internal.corp/api/v1.2/Operation/" + operation });
            var job = await Start(c, Request());
            Assert.Equal(operation, job.JobId);
            Assert.Equal(c.Endpoint + "api/v1.2/Operation/" + operation, job.StatusUrl);
        }

        [Fact]
        public async Task Notes_are_left_out_when_not_given()
        {
            await Start(Connection(), Request(label: "no-notes"));
            var post = _sim.Counters.Requests.Last(r => r.Method == "POST");
            Assert.DoesNotContain("Notes", post.Body);
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public async Task A_failing_job_is_reported_failed_with_the_service_code(bool pascalCase)
        {
            _sim.Options.DataverseUsePascalCase = pascalCase;
            var c = Connection();
            var job = await Start(c, Request(label: "fail-" + TestData.UniqueName()));
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            var done = Assert.Single(events.Finished);
            Assert.Equal(BackupJobState.Failed, done.State);
            Assert.Equal("Failed", done.RawStatus);
            var reason = Assert.Single(done.Errors);
            Assert.Equal("BackupFailed", reason.Code);
            Assert.Equal(Instance, reason.Subject);
            var error = JobOutcome.ErrorFor(done);
            Assert.Equal(ErrorIds.BackupJobFailed, error.ErrorId);
            Assert.Equal("BackupFailed", error.ServiceCode);
            Assert.Contains("simulated failure", error.Message);
        }

        [Fact]
        public async Task An_unknown_status_is_kept_raw_and_followed_to_the_end()
        {
            _sim.Options.JobDuration = TimeSpan.FromSeconds(3);
            var c = Connection();
            var job = await Start(c, Request(label: "weird-" + TestData.UniqueName()));
            Assert.Equal(BackupJobState.Unknown, job.State);
            Assert.Equal("Frobnicating", job.RawStatus);
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
        }

        [Theory]
        [InlineData("None", BackupJobState.Running)]
        [InlineData("NotStarted", BackupJobState.Running)]
        [InlineData("Ready", BackupJobState.Running)]
        [InlineData("Pending", BackupJobState.Running)]
        [InlineData("Running", BackupJobState.Running)]
        [InlineData("Cancelling", BackupJobState.Running)]
        [InlineData("Aborting", BackupJobState.Running)]
        [InlineData("Deleting", BackupJobState.Running)]
        [InlineData("Succeeded", BackupJobState.Succeeded)]
        [InlineData("Cancelled", BackupJobState.Cancelled)]
        [InlineData("Aborted", BackupJobState.Cancelled)]
        [InlineData("FailedToCreate", BackupJobState.Failed)]
        [InlineData("Failed", BackupJobState.Failed)]
        [InlineData("NotFound", BackupJobState.Failed)]
        [InlineData("Conflict", BackupJobState.Failed)]
        [InlineData("Tombstone", BackupJobState.Failed)]
        [InlineData("Deleted", BackupJobState.Failed)]
        [InlineData("succeeded", BackupJobState.Succeeded)]
        [InlineData("Frobnicating", BackupJobState.Unknown)]
        [InlineData("", BackupJobState.Unknown)]
        public void Every_operation_state_is_mapped(string raw, BackupJobState expected) =>
            Assert.Equal(expected, DataverseProvider.MapState(raw));

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public async Task A_400_OperationStatus_is_an_error_with_the_first_items_code_and_all_items_listed(bool pascalCase)
        {
            var body = pascalCase
                ? "{\"OperationId\":\"x\",\"Status\":\"FailedToCreate\",\"Errors\":[{\"Code\":\"InstanceBusy\",\"Description\":\"Another operation is running.\",\"Subject\":\"InstanceId\"},{\"Code\":\"LabelTaken\",\"Description\":\"The label is in use.\",\"Subject\":\"Label\"}],\"Information\":[]}"
                : "{\"operationId\":\"x\",\"status\":\"FailedToCreate\",\"errors\":[{\"code\":\"InstanceBusy\",\"description\":\"Another operation is running.\",\"subject\":\"InstanceId\"},{\"code\":\"LabelTaken\",\"description\":\"The label is in use.\",\"subject\":\"Label\"}],\"information\":[]}";
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", StatusCode = 400, Body = body });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), Request()));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal(BackupErrorCategory.InvalidArgument, ex.Category);
            Assert.Equal(400, ex.HttpStatus);
            Assert.Equal("InstanceBusy", ex.ServiceCode);
            Assert.Equal("Another operation is running.", ex.ServiceMessage);
            Assert.Contains("InstanceBusy: Another operation is running.", ex.Message);
            Assert.Contains("LabelTaken: The label is in use.", ex.Message);
            Assert.Contains(Provider, ex.Message);
        }

        [Theory]
        [InlineData(200, "{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"Rate limit is exceeded.\"}}", "TooManyRequests", "Rate limit is exceeded.")]
        [InlineData(202, "{\"Status\":\"FailedToCreate\",\"Errors\":[{\"Code\":\"InstanceBusy\",\"Description\":\"Another operation is running.\",\"Subject\":\"InstanceId\"}]}",
            "InstanceBusy", "Another operation is running.")]
        [InlineData(200, "{\"code\":\"Forbidden\",\"message\":\"The caller may not back up this environment.\"}", "Forbidden", "The caller may not back up this environment.")]
        public async Task A_2xx_without_an_operation_carrying_an_error_body_is_the_services_refusal(int status, string body, string code, string message)
        {
            // A 2xx without its operation was "accepted, but the job cannot be read" (BackupCreateOutcomeUnknown, no code)
            // even when its body was the service's error: a refusal, with its code, as under a 4xx.
            var request = Request(instance: Guid.NewGuid().ToString());
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", StatusCode = status, Body = body, Times = int.MaxValue });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), request));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal(status, ex.HttpStatus);
            Assert.Equal(code, ex.ServiceCode);
            Assert.Equal(message, ex.ServiceMessage);
            Assert.DoesNotContain("accepted", ex.Message);
            // A refusal is not repeated (Dataverse documents no throttle code: a 429 is repeated by its status alone).
            Assert.Equal(1, _sim.Counters.Requests.Count(r => r.Method == "POST"));
            Assert.Equal(0, _sim.Counters.BackupsFor(Provider, request.InstanceId));
        }

        [Fact]
        public async Task The_simulators_own_400_carries_its_code()
        {
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", StatusCode = 400 });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), Request()));
            Assert.Equal("BadRequest", ex.ServiceCode);
        }

        [Fact]
        public async Task A_wrong_token_is_an_authentication_error_with_the_service_code()
        {
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection("not-a-valid-token"), Request()));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal(BackupErrorCategory.AuthenticationError, ex.Category);
            Assert.Equal("Unauthorized", ex.ServiceCode);
            Assert.DoesNotContain("not-a-valid-token", ex.Message);
            Assert.NotNull(ex.RecommendedAction);
            Assert.Equal(0, _sim.Counters.BackupsFor(Provider, Instance));
        }

        [Theory]
        [InlineData(429, "TooManyRequests", BackupErrorCategory.LimitsExceeded)]
        [InlineData(503, "ServiceUnavailable", BackupErrorCategory.ResourceUnavailable)]
        public async Task Other_errors_carry_whatever_code_the_body_has(int status, string code, BackupErrorCategory category)
        {
            // 429 and 503 mean "not processed": the create is repeated (3 times), then the service's code is reported.
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", StatusCode = status, Times = int.MaxValue });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), Request()));
            Assert.Equal(4, _sim.Counters.Requests.Count(r => r.Method == "POST"));
            Assert.Equal(code, ex.ServiceCode);
            Assert.Equal(category, ex.Category);
        }

        [Fact]
        public async Task An_unknown_operation_is_not_found_after_the_grace()
        {
            var c = Connection();
            var fresh = new BackupJob(Provider, c.Endpoint.ToString(), Guid.NewGuid().ToString());
            var starting = await BackupService.RefreshAsync(c, fresh, NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal(BackupJobState.Running, starting.State);
            Assert.Equal("NotFound (starting)", starting.RawStatus);

            var old = new BackupJob(Provider, c.Endpoint.ToString(), Guid.NewGuid().ToString(), createdAt: DateTimeOffset.UtcNow.AddMinutes(-5));
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.RefreshAsync(c, old, NullOperationLog.Instance, CancellationToken.None));
            Assert.Equal(ErrorIds.BackupJobNotFound, ex.ErrorId);
        }

        [Fact]
        public async Task Retry_after_is_passed_to_the_engine()
        {
            _sim.Options.JobDuration = TimeSpan.FromSeconds(30);
            var c = Connection();
            var job = await Start(c, Request());
            var provider = new DataverseProvider();
            var status = await provider.GetStatusAsync(new ServiceCall(c, NullOperationLog.Instance, CancellationToken.None), job);
            Assert.Equal(TimeSpan.FromSeconds(1), status.RetryAfter);
        }

        [Theory]
        [InlineData(0, false)]
        [InlineData(30, true)]
        public async Task The_simulators_create_asks_for_a_pause_only_while_the_operation_runs(int seconds, bool expected)
        {
            // The benchmark's jobs that are done at their first read must not be held back by a pause the service would
            // not ask for; a running operation's 202 does ask (and the engine honours it).
            _sim.Options.JobDuration = TimeSpan.FromSeconds(seconds);
            var c = Connection();
            using var http = new HttpClient();
            using var request = new HttpRequestMessage(HttpMethod.Post, c.Endpoint + "api/v1.2/InstanceBackups")
            {
                Content = new StringContent("{\"InstanceId\":\"" + Instance + "\",\"Label\":\"" + TestData.UniqueName() + "\"}", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", TestData.Token);
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.Equal(expected, response.Headers.RetryAfter != null);
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
        [InlineData("6f0e2a7c3b1d4c559a1e2d4b8f7c9e01")]
        [InlineData("{6f0e2a7c-3b1d-4c55-9a1e-2d4b8f7c9e01}")]
        [InlineData("6f0e2a7c-3b1d-4c55-9a1e-2d4b8f7c9e0")]
        [InlineData("../InstanceBackups")]
        public async Task The_instance_id_must_be_a_guid(string instance) =>
            await AssertRefusedBeforeSending(Request(instance), "InstanceId", "a GUID such as 00000000-0000-0000-0000-000000000000");

        [Fact]
        public async Task A_missing_label_is_refused() =>
            await AssertRefusedBeforeSending(new BackupRequest { InstanceId = Instance, Name = "" }, "Name", "required");

        [Theory]
        [InlineData("   ")]
        [InlineData("tab\there")]
        [InlineData("line\nbreak")]
        [InlineData("nul\0")]
        public async Task A_blank_label_or_one_with_control_characters_is_refused(string label) =>
            await AssertRefusedBeforeSending(Request(label: label), "Name", "without control characters");

        [Fact]
        public async Task A_label_of_100_characters_is_accepted_and_101_refused()
        {
            var ok = await Start(Connection(), Request(label: new string('l', 100)));
            Assert.Equal(100, ok.BackupName.Length);
            await AssertRefusedBeforeSending(Request(label: new string('l', 101)), "Name", "at most 100 characters");
        }

        [Fact]
        public async Task Notes_of_2000_characters_with_tabs_and_line_breaks_are_accepted_and_2001_refused()
        {
            var notes = "a\tb\r\nc\n" + new string('n', 1993);
            Assert.Equal(2000, notes.Length);
            var ok = await Start(Connection(), Request(notes: notes));
            Assert.NotNull(ok.JobId);
            await AssertRefusedBeforeSending(Request(notes: new string('n', 2001)), "Description", "at most 2000 characters");
        }

        [Theory]
        [InlineData("bell\a")]
        [InlineData("esc\u001b[31m")]
        [InlineData("nul\0")]
        public async Task Notes_with_other_control_characters_are_refused(string notes) =>
            await AssertRefusedBeforeSending(Request(notes: notes), "Description", "control characters other than tab and line breaks");

        [Fact]
        public void A_project_id_is_refused_when_connecting()
        {
            var ex = Assert.Throws<BackupToolsException>(() => TestData.Connect(_sim, Provider, scope: TestData.ProjectId));
            Assert.Equal(ErrorIds.ConnectionParameterInvalid, ex.ErrorId);
        }

        // ---- regions ----

        [Theory]
        [InlineData("crm", "https://admin.services.crm.dynamics.com/")]
        [InlineData("crm4", "https://admin.services.crm4.dynamics.com/")]
        [InlineData("EMEA", "https://admin.services.crm4.dynamics.com/")]
        [InlineData("emea", "https://admin.services.crm4.dynamics.com/")]
        [InlineData("NorthAmerica", "https://admin.services.crm.dynamics.com/")]
        [InlineData("NorthAmerica2", "https://admin.services.crm9.dynamics.com/")]
        [InlineData("UK", "https://admin.services.crm11.dynamics.com/")]
        [InlineData("France", "https://admin.services.crm12.dynamics.com/")]
        [InlineData("crm12", "https://admin.services.crm12.dynamics.com/")]
        public void Regions_map_to_the_documented_service_urls(string region, string endpoint)
        {
            var c = BackupService.Connect(new ConnectRequest { Provider = Provider, Region = region, AccessToken = TestData.Secure(TestData.Token) });
            Assert.Equal(new Uri(endpoint), c.Endpoint);
        }

        [Fact]
        public void Every_documented_region_and_friendly_name_is_offered()
        {
            var regions = BackupService.RegionsOf(Provider).ToList();
            foreach (var r in new[] { "crm", "crm2", "crm3", "crm4", "crm5", "crm6", "crm7", "crm8", "crm9", "crm11", "crm12",
                                      "NorthAmerica", "SouthAmerica", "Canada", "EMEA", "APAC", "Oceania", "Japan", "India", "NorthAmerica2", "UK", "France" })
                Assert.Contains(r, regions);
            Assert.Equal(22, regions.Count);
        }

        // ---- Operation-Location ----

        private sealed class StubHandler : HttpMessageHandler
        {
            private readonly Func<HttpRequestMessage, HttpResponseMessage> _answer;
            public StubHandler(Func<HttpRequestMessage, HttpResponseMessage> answer) => _answer = answer;
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
                Task.FromResult(_answer(request));
        }

        private static async Task<BackupJob> StartWithAnswer(string operationLocationHeader, string body)
        {
            var c = BackupService.Connect(new ConnectRequest { Provider = Provider, Region = "crm4", AccessToken = TestData.Secure(TestData.Token) });
            HttpRequestMessage sent = null;
            var client = new HttpClient(new StubHandler(req =>
            {
                sent = req;
                var answer = new HttpResponseMessage(HttpStatusCode.Accepted) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                if (operationLocationHeader != null) answer.Headers.TryAddWithoutValidation("Operation-Location", operationLocationHeader);
                return answer;
            }));
            var job = await new DataverseProvider().StartAsync(new ServiceCall(c, NullOperationLog.Instance, CancellationToken.None, client), Request());
            Assert.Equal("Bearer", sent.Headers.Authorization.Scheme);
            Assert.Equal(TestData.Token, sent.Headers.Authorization.Parameter);
            return job;
        }

        [Fact]
        public async Task The_operation_location_header_is_preferred()
        {
            var job = await StartWithAnswer("https://admin.services.crm4.dynamics.com/api/v1.2/Operation/from-header",
                "{\"OperationId\":\"op-1\",\"Status\":\"Pending\",\"OperationLocation\":\"https://admin.services.crm4.dynamics.com/api/v1.2/Operation/from-body\"}");
            Assert.Equal("https://admin.services.crm4.dynamics.com/api/v1.2/Operation/from-header", job.StatusUrl);
            Assert.Equal("op-1", job.JobId);
            Assert.Equal(BackupJobState.Running, job.State);
            Assert.Equal("Pending", job.RawStatus);
        }

        [Fact]
        public async Task Without_the_header_the_bodys_operation_location_is_used()
        {
            var job = await StartWithAnswer(null,
                "{\"operationId\":\"op-2\",\"status\":\"Running\",\"operationLocation\":\"https://admin.services.crm4.dynamics.com/api/v1.2/Operation/from-body\"}");
            Assert.Equal("https://admin.services.crm4.dynamics.com/api/v1.2/Operation/from-body", job.StatusUrl);
        }

        [Fact]
        public async Task Without_either_the_operation_url_is_built_from_the_id()
        {
            var job = await StartWithAnswer(null, "{\"OperationId\":\"op-3\",\"Status\":\"NotStarted\"}");
            Assert.Equal("https://admin.services.crm4.dynamics.com/api/v1.2/Operation/op-3", job.StatusUrl);
        }

        [Fact]
        public async Task An_accepted_answer_without_an_operation_is_an_invalid_response()
        {
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => StartWithAnswer(null, "{\"Status\":\"NotStarted\"}"));
            Assert.Equal(ErrorIds.BackupResponseInvalid, ex.ErrorId);
        }

        [Fact]
        public async Task The_operation_location_is_followed()
        {
            var c = Connection();
            var job = await Start(c, Request());
            // A job that only knows its status URL (as a job saved by another tool might) is followed there.
            var urlOnly = new BackupJob(Provider, job.Endpoint, null, job.StatusUrl, job.InstanceId, job.BackupName);
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { urlOnly });
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
            Assert.True(_sim.Counters.StatusReadsFor(Provider, job.JobId) >= 1);
            // Status reads go to the operation; the only other read is the list that confirms the success.
            Assert.All(_sim.Counters.Requests.Where(r => r.Method == "GET" && r.Path != ListPath),
                r => Assert.Equal("/api/v1.2/Operation/" + job.JobId, r.Path));
        }

        // ---- success confirmed by the backup list (dataverse.md: Succeeded may come before the backup is listed) ----

        private const string ListPath = "/api/v1.2/InstanceBackups";

        private int ListReads() => _sim.Counters.Requests.Count(r => r.Method == "GET" && r.Path == ListPath);

        [Fact]
        public async Task Success_waits_until_the_backup_is_listed_and_takes_its_id_from_the_list()
        {
            // The operation says Succeeded at 0.4 s; the list shows the backup 1.5 s later.
            _sim.Options.DataverseListDelay = TimeSpan.FromSeconds(1.5);
            try
            {
                var c = Connection();
                var job = await Start(c, Request(label: "listed-later"));
                var sinceStart = System.Diagnostics.Stopwatch.StartNew();
                var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
                var done = Assert.Single(events.Finished);
                Assert.Equal(BackupJobState.Succeeded, done.State);
                Assert.Equal("Succeeded", done.RawStatus);
                Assert.DoesNotContain(done.Warnings, w => w.Code == "BackupNotListed");
                Assert.Contains(events.Updated, u => u.State == BackupJobState.Running && u.RawStatus == DataverseProvider.ConfirmingStatus);
                Assert.True(sinceStart.Elapsed >= TimeSpan.FromSeconds(1.2), $"finished after {sinceStart.Elapsed} while the list did not show the backup");

                // One list read per status read that found the operation Succeeded (never more than the status reads),
                // and at least two: one that missed the backup and one that found it.
                var lists = ListReads();
                Assert.InRange(lists, 2, _sim.Counters.StatusReadsFor(Provider, job.JobId));
                Assert.Contains(_sim.Counters.Requests, r => r.Path == ListPath && r.Query.Contains("instanceId=" + Instance));

                // The BackupId is the listed item's Id.
                var listed = await ListedIds(c, "listed-later");
                Assert.Equal(Assert.Single(listed), done.BackupId);
                Assert.NotNull(done.EndedAt);
            }
            finally
            {
                _sim.Options.DataverseListDelay = TimeSpan.Zero;
            }
        }

        [Fact]
        public async Task A_backup_still_not_listed_after_the_grace_is_reported_succeeded_with_a_warning()
        {
            _sim.Options.DataverseListDelay = TimeSpan.FromHours(1);
            try
            {
                var c = Connection();
                var job = await Start(c, Request(label: "never-listed"));
                await Task.Delay(700); // the operation has ended

                var confirming = await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None);
                Assert.Equal(BackupJobState.Running, confirming.State);
                Assert.Equal(DataverseProvider.ConfirmingStatus, confirming.RawStatus);
                var seen = Assert.NotNull(confirming.EndedAt);
                Assert.Equal(1, ListReads());

                // Within the grace it stays confirming, and the time the operation was first seen to end is kept.
                var again = await BackupService.RefreshAsync(c, confirming, NullOperationLog.Instance, CancellationToken.None);
                Assert.Equal(BackupJobState.Running, again.State);
                Assert.Equal(seen, again.EndedAt);

                // The same job, first seen Succeeded longer ago than the grace (as a job saved and waited on later is).
                var old = new BackupJob(Provider, job.Endpoint, job.JobId, job.StatusUrl, job.InstanceId, job.BackupName, job.BackupId,
                    createdAt: job.CreatedAt, state: BackupJobState.Running, rawStatus: DataverseProvider.ConfirmingStatus,
                    endedAt: DateTimeOffset.UtcNow - DataverseProvider.ListingGrace - TimeSpan.FromSeconds(1));
                var done = await BackupService.RefreshAsync(c, old, NullOperationLog.Instance, CancellationToken.None);
                Assert.Equal(BackupJobState.Succeeded, done.State);
                Assert.Null(JobOutcome.ErrorFor(done));
                var warning = Assert.Single(done.Warnings, w => w.Code == "BackupNotListed");
                Assert.Contains("never-listed", warning.Message);
                Assert.Contains(Instance, warning.Message);
                Assert.Equal(old.EndedAt, done.EndedAt);
                Assert.Equal(3, ListReads());
            }
            finally
            {
                _sim.Options.DataverseListDelay = TimeSpan.Zero;
            }
        }

        [Fact]
        public async Task An_older_backup_of_the_same_label_does_not_confirm_a_new_one()
        {
            var c = Connection();
            var job = await Start(c, Request(label: "daily"));
            await Task.Delay(700);
            // The operation read answers without an id; the list holds only last week's "daily".
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/Operation/", StatusCode = 200, Times = int.MaxValue,
                Body = "{\"OperationId\":\"" + job.JobId + "\",\"Status\":\"Succeeded\",\"Errors\":[],\"Information\":[],\"Context\":{\"Items\":{}}}" });
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = ListPath, StatusCode = 200, Times = int.MaxValue,
                Body = "[{\"Id\":\"0b8f0f38-5a48-4a4e-9c8e-3a1b2c3d4e5f\",\"Status\":\"Succeeded\",\"Label\":\"daily\",\"CreatedOn\":\"" +
                       DateTimeOffset.UtcNow.AddDays(-7).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'") + "\"}]" });
            var unknownId = new BackupJob(Provider, job.Endpoint, job.JobId, job.StatusUrl, job.InstanceId, job.BackupName, createdAt: job.CreatedAt);
            var read = await BackupService.RefreshAsync(c, unknownId, NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal(BackupJobState.Running, read.State);
            Assert.Equal(DataverseProvider.ConfirmingStatus, read.RawStatus);
            Assert.Null(read.BackupId);
        }

        [Fact]
        public async Task The_backup_id_comes_from_the_documented_ResourceLocation()
        {
            var c = Connection();
            var job = await Start(c, Request(label: "by-location"));
            Assert.False(string.IsNullOrEmpty(job.BackupId));
            // The operation names its backup only by ResourceLocation (Context.Items' keys are not documented), and the
            // list cannot be read: the id still comes from the operation.
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/Operation/", StatusCode = 200, Times = int.MaxValue,
                Body = "{\"OperationId\":\"" + job.JobId + "\",\"Status\":\"Succeeded\",\"Errors\":[],\"Information\":[]," +
                       "\"ResourceLocation\":\"" + c.Endpoint + "api/v1.2/InstanceBackups/" + Instance + "/" + job.BackupId + "\",\"Context\":{\"Items\":{}}}" });
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = ListPath, StatusCode = 503, Times = int.MaxValue });
            var withoutId = new BackupJob(Provider, job.Endpoint, job.JobId, job.StatusUrl, job.InstanceId, job.BackupName, createdAt: job.CreatedAt);
            var read = await BackupService.RefreshAsync(c, withoutId, NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal(job.BackupId, read.BackupId);
            Assert.Equal(DataverseProvider.ConfirmingStatus, read.RawStatus);
        }

        /// <summary>The ids of the instance's listed backups with this label, read as a user would (one GET).</summary>
        private async Task<List<string>> ListedIds(BackupConnection c, string label)
        {
            using var http = new HttpClient();
            using var request = new HttpRequestMessage(HttpMethod.Get, c.Endpoint + "api/v1.2/InstanceBackups?instanceId=" + Instance);
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", TestData.Token);
            using var response = await http.SendAsync(request);
            using var doc = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return doc.RootElement.EnumerateArray().Where(e => e.GetProperty("label").GetString() == label)
                .Select(e => e.GetProperty("id").GetString()).ToList();
        }

        // ---- errors ----

        [Fact]
        public async Task A_400_OperationStatus_without_errors_keeps_its_status_as_the_code()
        {
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", StatusCode = 400, Times = int.MaxValue,
                Body = "{\"operationId\":\"x\",\"status\":\"Conflict\",\"errors\":[],\"information\":[]}" });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), Request()));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal("Conflict", ex.ServiceCode);
            Assert.Equal("operation status Conflict", ex.ServiceMessage);
            Assert.Contains("Conflict", ex.Message);
            Assert.DoesNotContain("not a service error body", ex.Message);
            // Conflict is a failure state on the page, not "another operation in progress": not repeated.
            Assert.Equal(BackupErrorCategory.InvalidArgument, ex.Category);
            Assert.Equal(1, _sim.Counters.Requests.Count(r => r.Method == "POST"));
        }

        [Fact]
        public async Task Service_text_repeating_the_token_is_masked_in_errors_and_in_a_creates_messages()
        {
            const string token = "tok-SECRET-123456";
            var c = Connection(token);
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", StatusCode = 400,
                Body = "{\"Status\":\"FailedToCreate\",\"Errors\":[{\"Code\":\"" + token + "\",\"Description\":\"bad token " + token + "\"}]}" });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(c, Request()));
            Assert.DoesNotContain(token, ex.Message);
            Assert.DoesNotContain(token, ex.ServiceCode);
            Assert.DoesNotContain(token, ex.ServiceMessage);
            Assert.Contains("bad token", ex.ServiceMessage);

            // A 202 whose own OperationStatus reports the failure, repeating the token.
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", StatusCode = 202, OperationLocation = c.Endpoint + "api/v1.2/Operation/op-echo",
                Body = "{\"OperationId\":\"op-echo\",\"Status\":\"FailedToCreate\",\"Errors\":[{\"Code\":\"E\",\"Description\":\"echo " + token + "\"}]," +
                       "\"Information\":[{\"Code\":\"" + token + "\",\"Description\":\"info " + token + "\"}]}" });
            var job = await Start(c, Request());
            Assert.Equal(BackupJobState.Failed, job.State);
            Assert.Contains("echo ", job.Errors[0].Message);
            Assert.DoesNotContain(token, job.Errors[0].Message);
            Assert.DoesNotContain(token, job.Warnings[0].Code);
            Assert.DoesNotContain(token, job.Warnings[0].Message);
            Assert.DoesNotContain(token, JobOutcome.ErrorFor(job).Message);
        }

        // ---- PowerShell ----

        [Fact]
        public void New_InstanceBackup_piped_to_Wait_BackupJob_succeeds_in_PowerShell()
        {
            using var ps = new PowerShellHost();
            ps.Set("token", TestData.Secure(TestData.Token));
            ps.Set("endpoint", _sim.EndpointFor(Provider).ToString());
            ps.Set("instance", Instance);
            var r = ps.Run("$null = Connect-BackupService -Provider Dataverse -Endpoint $endpoint -AccessToken $token;" +
                           "New-InstanceBackup -InstanceId $instance -Name 'ps-label' -Description 'from PowerShell' | Wait-BackupJob -PollingInterval 0.05 -Timeout 30");
            Assert.Null(r.Terminating);
            Assert.Empty(r.Errors);
            var job = Assert.Single(r.Objects<BackupJob>());
            Assert.Equal(BackupJobState.Succeeded, job.State);
            Assert.Equal("ps-label", job.BackupName);
            Assert.Equal(1, _sim.Counters.BackupsFor(Provider, Instance));
        }
    }

    /// <summary>Dataverse tests that bound elapsed time: in the timing collection.</summary>
    [Collection(TimingCollection.Name)]
    public sealed class DataverseTimingTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const string Provider = "Dataverse";
        private const string Instance = "6f0e2a7c-3b1d-4c55-9a1e-2d4b8f7c9e01";
        private readonly BackupSimulator _sim;

        public DataverseTimingTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromSeconds(60);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
        }

        public void Dispose() => _sim.Reset();

        [Fact]
        public async Task The_first_status_read_waits_for_the_creates_Retry_After()
        {
            // dataverse.md: the 202 carries Retry-After (seconds). Here 3 s, against a polling interval of 50 ms.
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", RetryAfter = "3" });
            var c = TestData.Connect(_sim, Provider, scope: null);
            var job = await BackupService.StartAsync(c, new BackupRequest { InstanceId = Instance, Name = TestData.UniqueName() },
                NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            var post = _sim.Counters.Requests.Single(r => r.Method == "POST");
            var options = new WaitOptions { PollingInterval = TimeSpan.FromMilliseconds(50), MaxPollingInterval = TimeSpan.FromMilliseconds(200), Timeout = TimeSpan.FromSeconds(6) };
            await BackupService.WaitAsync(new[] { job }, _ => c, options, new RecordingEvents(), NullOperationLog.Instance, CancellationToken.None);

            var reads = _sim.Counters.Requests.Where(r => r.Method == "GET" && r.Path.Contains("/Operation/")).ToList();
            Assert.NotEmpty(reads);
            var first = reads.Min(r => r.At) - post.At;
            Assert.True(first >= TimeSpan.FromSeconds(2.9), $"the first status read came {first.TotalSeconds:0.00} s after a 202 with Retry-After: 3");
        }
    }
}
