using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Jobs;
using BackupTools.Providers.ArcGIS;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>ArcGIS Enterprise disaster-recovery backups end to end against the simulator over loopback.</summary>
    public sealed class ArcGisTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const string Provider = "ArcGIS";
        private const string DefaultStore = "DefaultBackupStore";
        private const string PasscodeText = "Zq7-passcode-XYZ";
        private readonly BackupSimulator _sim;

        public ArcGisTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(400);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
        }

        public void Dispose()
        {
            _sim.Options.ArcGisUseJobsProperty = false;
            _sim.Options.ArcGisFailureInMessages = false;
            _sim.Reset();
        }

        private BackupConnection Connection(string token = TestData.Token) => TestData.Connect(_sim, Provider, token, scope: null);

        private static BackupRequest Request(string name = null, string store = null, string passcode = PasscodeText,
            string description = null, DateTimeOffset? retention = null) =>
            new BackupRequest
            {
                Kind = BackupKind.DisasterRecovery,
                Name = name ?? TestData.UniqueName("dr"),
                StoreName = store,
                Passcode = passcode == null ? null : TestData.Secure(passcode),
                Description = description,
                RetentionDate = retention,
            };

        private static Task<BackupJob> Start(BackupConnection c, BackupRequest r, IOperationLog log = null) =>
            BackupService.StartAsync(c, r, log ?? NullOperationLog.Instance, CancellationToken.None);

        [Fact]
        public async Task A_refusal_answered_200_whose_body_stalls_is_not_said_to_be_accepted()
        {
            // ArcGIS answers most refusals with HTTP 200 and an error body [V]: here the store does not exist, and the
            // body stalls past the request's timeout. The create may or may not have reached the deployment; it was
            // said to be accepted ("The service accepted the request"), which the 200 alone does not say.
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups/create", Kind = FaultKind.StalledBody });
            var retry = TestData.FastRetry();
            // 3 s for the 200 and its headers on 2 busy cores (after a 1 s timeout there was no status to judge); the body
            // stalls for good.
            retry.RequestTimeout = TimeSpan.FromSeconds(3);
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(Connection(), Request(store: "NoSuchStore"),
                NullOperationLog.Instance, CancellationToken.None, retry));
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            Assert.Equal(200, ex.HttpStatus);
            Assert.Contains("cut off", ex.Message);
            Assert.Contains("may have reached the service", ex.Message);
            Assert.DoesNotContain("accepted", ex.Message);
            Assert.Equal(0, _sim.Counters.BackupsFor(Provider, "NoSuchStore") + _sim.Counters.BackupsFor(Provider, DefaultStore));
        }

        [Fact]
        public async Task A_jobs_address_on_another_host_without_a_jobid_is_followed_on_the_connection_s_host()
        {
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups/create", StatusCode = 200, Times = 1,
                Body = "{\"status\":\"SUBMITTED\",\"jobs\":\"https://gis-internal.corp:7443/arcgis/admin/jobs/j123\"}" });
            var c = Connection();
            var job = await Start(c, Request());
            Assert.Equal("j123", job.JobId);
            Assert.Equal(c.Endpoint + "admin/jobs/j123", job.StatusUrl);
            // Followed: the simulator does not know j123, so the read says "not found" (within the grace), not "another host".
            var read = await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal("NotFound (starting)", read.RawStatus);
            Assert.Contains(_sim.Counters.Requests, r => r.Method == "GET" && r.Path == "/admin/jobs/j123");
        }

        [Fact]
        public async Task A_failed_job_s_result_code_is_the_error_s_service_code()
        {
            var c = Connection();
            var job = await Start(c, Request());
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/admin/jobs/", StatusCode = 200, Times = int.MaxValue,
                Body = "{\"jobid\":\"" + job.JobId + "\",\"status\":\"FAILED\",\"starttime\":1763913600000,\"endtime\":1763913700000," +
                       "\"result\":{\"status\":\"error\",\"code\":500,\"messages\":[\"Backup of relational store failed.\"]}}" });
            var read = await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None);
            var error = JobOutcome.ErrorFor(read);
            Assert.Equal("500", error.ServiceCode);
            Assert.Equal("Backup of relational store failed.", error.ServiceMessage);
        }

        [Fact]
        public async Task A_status_read_answered_with_a_server_error_in_a_200_body_is_read_again()
        {
            var c = Connection();
            var job = await Start(c, Request());
            // ArcGIS's way: HTTP 200, the error in the body. One such hiccup must not end the wait.
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/jobs/", StatusCode = 200, Times = 2,
                Body = "{\"status\":\"error\",\"code\":500,\"messages\":[\"Internal server error.\"]}" });
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
            Assert.Empty(events.Errors);
        }

        [Fact]
        public async Task An_unreadable_store_list_is_not_called_a_backup_that_may_have_started()
        {
            // The default store is looked up before the create: a login page instead of the list means nothing was sent.
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/disasterrecovery/stores", Kind = FaultKind.HtmlPage, Times = int.MaxValue });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), Request()));
            Assert.Equal(ErrorIds.BackupResponseInvalid, ex.ErrorId);
            Assert.DoesNotContain("may have started", ex.Message);
            Assert.DoesNotContain(_sim.Counters.Requests, r => r.Method == "POST");
        }

        [Fact]
        public async Task A_backup_in_the_default_store_is_created_and_followed_to_success()
        {
            var c = Connection();
            var job = await Start(c, Request("nightly-dr.01", description: "before upgrade"));

            Assert.Equal(Provider, job.Provider);
            Assert.Equal(BackupKind.DisasterRecovery, job.Kind);
            Assert.Equal(BackupJobState.Running, job.State);
            Assert.Equal("SUBMITTED", job.RawStatus);
            Assert.False(string.IsNullOrEmpty(job.JobId));
            Assert.EndsWith("/arcgis/admin/jobs/" + job.JobId, job.StatusUrl);
            Assert.Equal(DefaultStore, job.Scope);
            Assert.Equal("nightly-dr.01", job.BackupName);
            Assert.Equal(c.Endpoint.Authority + "/arcgis", job.InstanceId);
            Assert.Equal(1, _sim.Counters.CreatesFor(Provider, DefaultStore));
            Assert.Contains(_sim.Counters.Requests, r => r.Method == "GET" && r.Path.EndsWith("/disasterrecovery/stores", StringComparison.Ordinal));

            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            var done = Assert.Single(events.Finished);
            Assert.Equal(BackupJobState.Succeeded, done.State);
            Assert.Equal("COMPLETED", done.RawStatus);
            Assert.Equal(100, done.PercentComplete);
            Assert.NotNull(done.EndedAt);
            Assert.Null(JobOutcome.ErrorFor(done));
            Assert.Empty(events.Errors);
            Assert.Equal(1, _sim.Counters.BackupsFor(Provider, DefaultStore));
        }

        // The documented store list (stores.htm): {"backupStores":[{"default":true,"name":…,…},…]}.
        private const string DocumentedStores =
            "{\"backupStores\":[{\"default\":false,\"name\":\"secondary\",\"settings\":{\"type\":\"FILE_SYSTEM\"}}," +
            "{\"default\":true,\"name\":\"DefaultBackupStore\",\"settings\":{\"type\":\"FILE_SYSTEM\"}}]}";

        // Another shape some clients and deployments know: the same list under "stores".
        private const string LegacyStores =
            "{\"stores\":[{\"default\":false,\"name\":\"DefaultBackupStore\"},{\"default\":true,\"name\":\"secondary\"}]}";

        [Fact]
        public async Task A_backup_without_a_store_name_goes_to_the_default_of_the_documented_backupStores_list()
        {
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/disasterrecovery/stores", StatusCode = 200,
                Body = DocumentedStores, Times = int.MaxValue });
            var c = Connection();
            var job = await Start(c, Request());
            Assert.Equal(DefaultStore, job.Scope);
            Assert.Equal(1, _sim.Counters.CreatesFor(Provider, DefaultStore));
        }

        [Fact]
        public async Task A_backup_without_a_store_name_works_against_the_simulated_store_list()
        {
            var c = Connection();
            var job = await Start(c, Request());
            Assert.Equal(DefaultStore, job.Scope);
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
        }

        [Fact]
        public async Task A_backup_without_a_store_name_still_reads_a_stores_list()
        {
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/disasterrecovery/stores", StatusCode = 200,
                Body = LegacyStores, Times = int.MaxValue });
            var job = await Start(Connection(), Request());
            Assert.Equal("secondary", job.Scope);
            Assert.Equal(1, _sim.Counters.CreatesFor(Provider, "secondary"));
        }

        [Fact]
        public void Store_names_for_completion_come_from_backupStores_or_stores()
        {
            var c = Connection();
            Assert.Equal(new[] { DefaultStore, "secondary" }, BackupService.BackupStoreNames(c, TimeSpan.FromSeconds(10)));
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/disasterrecovery/stores", StatusCode = 200,
                Body = LegacyStores, Times = 1 });
            // (Another connection: a connection's names are kept a few minutes, so a second Tab does not ask again.)
            Assert.Equal(new[] { DefaultStore, "secondary" }, BackupService.BackupStoreNames(Connection(), TimeSpan.FromSeconds(10)));
            var reads = _sim.Counters.Requests.Count(r => r.Path.Contains("/disasterrecovery/stores", StringComparison.Ordinal));
            Assert.Equal(new[] { DefaultStore, "secondary" }, BackupService.BackupStoreNames(c, TimeSpan.FromSeconds(10)));
            Assert.Equal(reads, _sim.Counters.Requests.Count(r => r.Path.Contains("/disasterrecovery/stores", StringComparison.Ordinal)));
        }

        [Fact]
        public async Task A_named_store_is_used_without_listing_the_stores()
        {
            var c = Connection();
            var job = await Start(c, Request(store: "secondary"));
            Assert.Equal("secondary", job.Scope);
            Assert.Equal(1, _sim.Counters.CreatesFor(Provider, "secondary"));
            Assert.DoesNotContain(_sim.Counters.Requests, r => r.Path.EndsWith("/disasterrecovery/stores", StringComparison.Ordinal));
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
        }

        [Theory]
        [InlineData(false)] // in result, where Esri's Job page puts a failure's details
        [InlineData(true)]  // in messages, as older deployments answer
        public async Task A_failing_job_is_reported_failed_with_the_ArcGIS_messages(bool inMessages)
        {
            _sim.Options.ArcGisFailureInMessages = inMessages;
            var c = Connection();
            var job = await Start(c, Request("fail-" + TestData.UniqueName()));
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            var done = Assert.Single(events.Finished);
            Assert.Equal(BackupJobState.Failed, done.State);
            Assert.Equal("FAILED", done.RawStatus);
            var message = Assert.Single(done.Errors);
            Assert.Contains("simulated failure", message.Message);
            Assert.Equal(inMessages ? "SEVERE" : string.Empty, message.Code);
            var error = JobOutcome.ErrorFor(done);
            Assert.Equal(ErrorIds.BackupJobFailed, error.ErrorId);
            Assert.Contains("simulated failure", error.Message);
        }

        [Fact]
        public async Task A_token_in_the_jobsUrl_the_service_answers_is_not_kept_on_the_job()
        {
            // The job keeps, shows and serializes its status address: a token the service echoed into it must go.
            var c = Connection();
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups/create", StatusCode = 200,
                Body = $"{{\"status\":\"success\",\"jobid\":\"j123\",\"jobsUrl\":\"{c.Endpoint}admin/jobs/j123?f=json&token={TestData.Token}\"}}" });
            var job = await Start(c, Request());
            Assert.DoesNotContain(TestData.Token, job.StatusUrl);
            Assert.Equal($"{c.Endpoint}admin/jobs/j123?f=json", job.StatusUrl);
        }

        [Theory]
        [InlineData("token")]     // a secret's name, in an address resolved against the admin root (not through JobUrl.Answered)
        [InlineData("esriToken")] // a name no list knows: the connection's token is found by its value
        [InlineData("t")]
        public async Task A_token_in_a_relative_jobsUrl_without_a_jobid_is_not_kept_on_the_job(string name)
        {
            var c = Connection();
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups/create", StatusCode = 200,
                Body = $"{{\"jobsUrl\":\"jobs/jabc123?f=json&{name}={TestData.Token}\",\"status\":\"SUBMITTED\"}}" });
            var job = await Start(c, Request());
            Assert.Equal($"{c.Endpoint}admin/jobs/jabc123?f=json", job.StatusUrl);
            Assert.Equal("jabc123", job.JobId);
        }

        [Theory]
        [InlineData("token")]
        [InlineData("t")]
        public async Task A_jobsUrl_that_is_not_an_address_is_quoted_without_the_token(string name)
        {
            var c = Connection();
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups/create", StatusCode = 200,
                Body = $"{{\"jobsUrl\":\"https://bad host/arcgis/admin/jobs/x?{name}={TestData.Token}\",\"status\":\"SUBMITTED\"}}" });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(c, Request()));
            // The unreadable answer to a create the service accepted: the outcome is unknown; the answer is quoted.
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            Assert.Contains("'https://bad host/arcgis/admin/jobs/x?", ex.Message);
            Assert.DoesNotContain(TestData.Token, ex.ToString());
        }

        [Fact]
        public async Task A_passcode_a_later_status_read_quotes_is_masked()
        {
            // The create's call masks it; the status read is another call on the same connection, as a wait's and Get-BackupJob's are.
            const string passcode = "Pc0de-Echo-SECRETX";
            var c = Connection();
            var job = await Start(c, Request(passcode: passcode));
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/jobs/", StatusCode = 200, Times = int.MaxValue,
                Body = "{\"status\":\"FAILED\",\"result\":{\"status\":\"error\",\"code\":500,\"messages\":[\"Invalid passcode '" + passcode + "' for store.\"]}}" });
            var read = await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal(BackupJobState.Failed, read.State);
            Assert.Equal("Invalid passcode '***' for store.", Assert.Single(read.Errors).Message);
            Assert.DoesNotContain("SECRETX", JobOutcome.ErrorFor(read).ToString());
        }

        [Fact]
        public async Task A_passcode_echoed_as_the_form_body_wrote_it_is_masked()
        {
            // FormUrlEncodedContent writes "pass word!SECRETX" as pass+word%21SECRETX: neither UrlEncode's nor EscapeDataString's form.
            var c = Connection();
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups/create", StatusCode = 200,
                Body = "{\"status\":\"error\",\"code\":400,\"messages\":[\"Cannot read name=x&passcode=pass+word%21SECRETX&f=json\"]}" });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(c, Request(passcode: "pass word!SECRETX")));
            Assert.Equal("400", ex.ServiceCode);
            Assert.DoesNotContain("SECRETX", ex.ToString());
        }

        [Fact]
        public void A_job_built_with_a_token_in_its_status_address_does_not_keep_it()
        {
            // Whoever builds the job (a script's mock, Import-Csv): the constructor is the last stop before it is shown.
            var job = new BackupJob(Provider, "https://gis.example.com/arcgis/", null, "https://gis.example.com/arcgis/admin/jobs/j1?token=abc&f=json");
            Assert.Equal("https://gis.example.com/arcgis/admin/jobs/j1?f=json", job.StatusUrl);
            Assert.Equal("jobs x?token=***", new BackupJob(Provider, null, null, "jobs x?token=abc").StatusUrl);
        }

        [Theory]
        [InlineData("https://gis.example.com/arcgis/admin/jobs/j1?f=json&token=abc", "https://gis.example.com/arcgis/admin/jobs/j1?f=json")]
        [InlineData("https://gis.example.com/arcgis/admin/jobs/j1?TOKEN=abc&f=json", "https://gis.example.com/arcgis/admin/jobs/j1?f=json")]
        [InlineData("https://gis.example.com/arcgis/admin/jobs/j1?%74oken=abc", "https://gis.example.com/arcgis/admin/jobs/j1")]
        [InlineData("https://gis.example.com/v3/jobs/j1?access_token=abc&x=1", "https://gis.example.com/v3/jobs/j1?x=1")]
        [InlineData("https://gis.example.com/v3/jobs/j1?x=1", "https://gis.example.com/v3/jobs/j1?x=1")]
        public void Secret_parameters_are_taken_out_of_a_given_status_address(string given, string kept) =>
            Assert.Equal(new Uri(kept), BackupTools.Providers.JobUrl.WithoutSecrets(new Uri(given)));

        [Fact]
        public async Task A_failure_in_the_result_comes_before_progress_messages()
        {
            // messages may hold only progress lines; the reason is in result, and must not be lost behind them.
            var c = Connection();
            var job = await Start(c, Request());
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/jobs/", StatusCode = 200, Times = int.MaxValue,
                Body = "{\"status\":\"FAILED\",\"messages\":[{\"type\":\"INFO\",\"message\":\"Starting the backup.\"}],\"result\":{\"status\":\"error\",\"messages\":[\"Store is full.\"]}}" });
            var read = await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal(BackupJobState.Failed, read.State);
            Assert.Equal(new[] { "Store is full.", "Starting the backup." }, read.Errors.Select(e => e.Message));
        }

        [Theory]
        [InlineData("{\"status\":\"FAILED\",\"result\":\"Store is full.\"}", null, "Store is full.")]
        [InlineData("{\"status\":\"FAILED\",\"result\":{\"status\":\"error\",\"messages\":[\"Store is full.\"]}}", null, "Store is full.")]
        [InlineData("{\"status\":\"FAILED\",\"result\":{\"error\":{\"code\":500,\"message\":\"Store is full.\"}}}", "500", "Store is full.")]
        [InlineData("{\"status\":\"FAILED\",\"result\":{\"message\":\"Store is full.\",\"code\":\"E1\"}}", "E1", "Store is full.")]
        public void A_failure_in_the_result_is_read_in_each_shape(string json, string code, string text)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(json);
            var message = Assert.Single(BackupTools.Providers.ArcGIS.ArcGisProvider.FailureIn(doc.RootElement));
            Assert.Equal(code ?? string.Empty, message.Code);
            Assert.Equal(text, message.Message);
        }

        [Fact]
        public async Task The_jobs_property_is_read_when_jobsUrl_is_absent()
        {
            _sim.Options.ArcGisUseJobsProperty = true;
            var c = Connection();
            var job = await Start(c, Request());
            Assert.EndsWith("/admin/jobs/" + job.JobId, job.StatusUrl);
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
        }

        [Fact]
        public async Task Completed_jobs_without_a_result_do_not_crash()
        {
            var c = Connection();
            var jobs = new[] { await Start(c, Request()), await Start(c, Request()), await Start(c, Request()), await Start(c, Request()) };
            var events = await HuaweiFamilyTests.WaitAll(c, jobs);
            Assert.Empty(events.Errors);
            Assert.Equal(4, events.Finished.Count);
            Assert.All(events.Finished, j => Assert.Equal(BackupJobState.Succeeded, j.State));
        }

        [Fact]
        public async Task Progress_comes_from_the_disaster_recovery_stages_while_the_job_runs()
        {
            _sim.Options.JobDuration = TimeSpan.FromSeconds(3);
            var c = Connection();
            var job = await Start(c, Request());
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
            var percents = events.Updated.Where(j => j.State == BackupJobState.Running && j.PercentComplete != null).Select(j => j.PercentComplete.Value).ToList();
            Assert.NotEmpty(percents);
            Assert.All(percents, p => Assert.InRange(p, 0, 100));
            Assert.Contains(percents, p => p > 0 && p < 100);
        }

        [Theory]
        // Documented (status.htm): the stages nested under "status", with no job id.
        [InlineData("{\"status\":{\"code\":3,\"scheduleType\":\"MANUAL\",\"stages\":[{\"name\":\"Validation\",\"state\":\"completed\"}," +
                    "{\"name\":\"Stage Relational store\",\"state\":\"completed\"},{\"name\":\"Stage Object store\",\"state\":\"running\"}," +
                    "{\"name\":\"Stage system configuration\",\"state\":\"pending\"}],\"startTime\":1635285646935,\"state\":\"running\"," +
                    "\"backupStore\":\"secondary\",\"message\":\"\",\"operation\":\"Backup\"}}", 50)]
        [InlineData("{\"status\":{\"jobid\":\"{jobid}\",\"stages\":[{\"state\":\"completed\"},{\"state\":\"running\"}]}}", 50)]
        [InlineData("{\"status\":{\"jobid\":\"another\",\"stages\":[{\"state\":\"completed\"},{\"state\":\"running\"}]}}", null)]
        [InlineData("{\"status\":{\"code\":0,\"messages\":[],\"state\":\"no_op\"}}", null)]
        // The last operation is not this backup: a restore, or a backup of another name.
        [InlineData("{\"status\":{\"operation\":\"Restore\",\"stages\":[{\"state\":\"completed\"},{\"state\":\"running\"}]}}", null)]
        [InlineData("{\"status\":{\"operation\":\"Backup\",\"backupName\":\"someone-elses\",\"stages\":[{\"state\":\"completed\"},{\"state\":\"running\"}]}}", null)]
        [InlineData("{\"status\":{\"operation\":\"Backup\",\"backupName\":\"{name}\",\"stages\":[{\"state\":\"completed\"},{\"state\":\"running\"}]}}", 50)]
        // The top-level shape is still read.
        [InlineData("{\"jobid\":\"{jobid}\",\"stages\":[{\"state\":\"COMPLETED\"},{\"state\":\"COMPLETED\"},{\"state\":\"EXECUTING\"},{\"state\":\"PENDING\"}]}", 50)]
        [InlineData("{\"stages\":[{\"state\":\"COMPLETED\"},{\"state\":\"EXECUTING\"}]}", 50)]
        [InlineData("{\"jobid\":\"another\",\"stages\":[{\"state\":\"COMPLETED\"},{\"state\":\"EXECUTING\"}]}", null)]
        public async Task Stage_progress_is_read_from_the_nested_status_or_the_top_level(string body, int? expected)
        {
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            var c = Connection();
            var job = await Start(c, Request(store: "secondary"));
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/disasterrecovery/status", StatusCode = 200,
                Body = body.Replace("{jobid}", job.JobId).Replace("{name}", job.BackupName), Times = int.MaxValue });
            var read = await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal(BackupJobState.Running, read.State);
            Assert.Equal(expected, read.PercentComplete);
        }

        [Fact]
        public async Task Stage_progress_that_cannot_be_read_does_not_stop_the_job()
        {
            _sim.Faults.Add(new FaultRule { Provider = Provider, PathContains = "/disasterrecovery/status", Times = int.MaxValue, StatusCode = 200,
                Body = "{\"error\":{\"code\":403,\"message\":\"Forbidden\",\"details\":[]}}" });
            var c = Connection();
            var job = await Start(c, Request());
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
            Assert.Empty(events.Errors);
        }

        [Theory]
        [InlineData(200, "{\"status\":\"error\",\"code\":409,\"messages\":[\"Another operation is in progress.\"]}")]
        [InlineData(200, "{\"error\":{\"code\":409,\"message\":\"Another operation is in progress.\"}}")]
        [InlineData(409, null)]
        [InlineData(409, "{\"status\":\"error\",\"code\":500,\"messages\":[\"Busy.\"]}")]
        public async Task A_create_answered_409_in_the_body_or_as_the_status_is_repeated_as_BusyRetryCount_says(int status, string body)
        {
            // New-DisasterRecoveryBackup's help for -BusyRetryCount: ArcGIS code 409 in the body (usually with HTTP 200),
            // or HTTP 409 unless the body gives another 4xx code.
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups/create", StatusCode = status, Body = body });
            var job = await BackupService.StartAsync(Connection(), Request(), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            Assert.False(string.IsNullOrEmpty(job.JobId));
            Assert.Equal(2, _sim.Counters.Requests.Count(r => r.Method == "POST" && r.Path.Contains("/backups/create")));
            Assert.Equal(1, _sim.Counters.BackupsFor(Provider));
        }

        [Theory]
        [InlineData(409, "{\"status\":\"error\",\"code\":400,\"messages\":[\"Invalid request.\"]}", 5)]
        [InlineData(200, "{\"status\":\"error\",\"code\":409,\"messages\":[\"Another operation is in progress.\"]}", 0)]
        public async Task A_create_refused_otherwise_or_with_no_busy_retries_is_not_repeated(int status, string body, int busyRetries)
        {
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "POST", PathContains = "/backups/create", StatusCode = status, Body = body });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() =>
                BackupService.StartAsync(Connection(), Request(), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry(busy: busyRetries)));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal(1, _sim.Counters.Requests.Count(r => r.Method == "POST" && r.Path.Contains("/backups/create")));
            Assert.Equal(0, _sim.Counters.BackupsFor(Provider));
        }

        [Fact]
        public async Task A_job_reported_completed_at_once_is_a_finished_job()
        {
            _sim.Faults.Add(new FaultRule { Provider = Provider, PathContains = "/backups/create", StatusCode = 200,
                Body = "{\"jobid\":\"jdone\",\"status\":\"COMPLETED\"}" });
            var c = Connection();
            var job = await Start(c, Request(store: "secondary"));
            Assert.Equal(BackupJobState.Succeeded, job.State);
            Assert.Equal("jdone", job.JobId);
            Assert.EndsWith("/arcgis/admin/jobs/jdone", job.StatusUrl);
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
            Assert.Empty(events.Errors);
        }

        [Theory]
        [InlineData("SUBMITTED", BackupJobState.Running)]
        [InlineData("EXECUTING", BackupJobState.Running)]
        [InlineData("CANCELLING", BackupJobState.Running)]
        [InlineData("UNAVAILABLE", BackupJobState.Running)]
        [InlineData("COMPLETED", BackupJobState.Succeeded)]
        [InlineData("FAILED", BackupJobState.Failed)]
        [InlineData("TIMED OUT", BackupJobState.Failed)]
        [InlineData("CANCELLED", BackupJobState.Cancelled)]
        [InlineData("completed", BackupJobState.Succeeded)]
        [InlineData("Frobnicating", BackupJobState.Unknown)]
        [InlineData("", BackupJobState.Unknown)]
        [InlineData(null, BackupJobState.Unknown)]
        public void Every_status_is_mapped(string status, BackupJobState expected) =>
            Assert.Equal(expected, ArcGisProvider.MapState(status));

        [Theory]
        [InlineData("http://h/arcgis/admin/jobs/j1", "http://h/arcgis/admin/jobs/j1?f=json")]
        [InlineData("http://h/arcgis/admin/jobs/j1?a=1", "http://h/arcgis/admin/jobs/j1?a=1&f=json")]
        [InlineData("http://h/arcgis/admin/jobs/j1?f=html&a=1", "http://h/arcgis/admin/jobs/j1?a=1&f=json")]
        public void f_json_is_appended_whether_or_not_the_URL_has_a_query(string url, string expected) =>
            Assert.Equal(expected, ArcGisProvider.WithJsonFormat(new Uri(url)).ToString());

        [Fact]
        public async Task An_invalid_token_in_a_200_body_is_an_authentication_error_with_code_498()
        {
            var c = Connection("wrong-token");
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(c, Request()));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal("498", ex.ServiceCode);
            Assert.Equal(BackupErrorCategory.AuthenticationError, ex.Category);
            Assert.Contains("Invalid token.", ex.Message);
            Assert.Equal(200, ex.HttpStatus);
            Assert.Equal(0, _sim.Counters.BackupsFor(Provider));
        }

        [Fact]
        public async Task A_status_error_body_is_an_error_with_code_499()
        {
            _sim.Faults.Add(new FaultRule
            {
                Provider = Provider, PathContains = "/backups/create", StatusCode = 200,
                Body = "{\"status\":\"error\",\"messages\":[\"Token Required.\"],\"code\":499}",
            });
            var c = Connection();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(c, Request(store: "secondary")));
            Assert.Equal("499", ex.ServiceCode);
            Assert.Equal("Token Required.", ex.ServiceMessage);
            Assert.Equal(BackupErrorCategory.AuthenticationError, ex.Category);
            Assert.DoesNotContain(PasscodeText, ex.ToString());
        }

        [Fact]
        public async Task A_status_error_from_the_service_logic_keeps_its_code_and_message()
        {
            var c = Connection();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(c, Request(store: "no-such-store")));
            Assert.Equal("500", ex.ServiceCode);
            Assert.Contains("does not exist", ex.ServiceMessage);
            Assert.DoesNotContain(PasscodeText, ex.ToString());
        }

        [Theory]
        [InlineData("Qx9#k")]
        [InlineData("1234567")]
        [InlineData("")]
        public async Task A_short_passcode_is_refused_before_sending_and_not_quoted(string passcode)
        {
            var c = Connection();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(c, Request(passcode: passcode)));
            Assert.Equal(ErrorIds.BackupParameterInvalid, ex.ErrorId);
            Assert.Contains("Passcode", ex.Message);
            if (passcode.Length > 0) Assert.DoesNotContain(passcode, ex.ToString());
            Assert.Equal(0, _sim.Counters.TotalRequests);
        }

        [Theory]
        [InlineData("Name", "has space")]
        [InlineData("Name", "../up")]
        [InlineData("Name", "..")]
        [InlineData("StoreName", "a/b")]
        [InlineData("StoreName", "..")]
        [InlineData("StoreName", "a%2fb")]
        [InlineData("StoreName", "a?b")]
        [InlineData("Description", "bell\u0007")]
        [InlineData("Description", "escape\u001b[2J")]
        public async Task Rules_are_checked_before_sending(string parameter, string value)
        {
            var r = Request();
            if (parameter == "Name") r.Name = value;
            else if (parameter == "StoreName") r.StoreName = value;
            else r.Description = value;
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), r));
            Assert.Equal(ErrorIds.BackupParameterInvalid, ex.ErrorId);
            Assert.Contains(parameter, ex.Message);
            Assert.Equal(0, _sim.Counters.TotalRequests);
        }

        [Fact]
        public async Task A_retention_date_in_the_past_is_refused_and_a_future_one_is_sent_as_epoch_milliseconds()
        {
            var c = Connection();
            var past = await Assert.ThrowsAsync<BackupToolsException>(() => Start(c, Request(retention: DateTimeOffset.UtcNow.AddDays(-1))));
            Assert.Equal(ErrorIds.BackupParameterInvalid, past.ErrorId);
            Assert.Equal(0, _sim.Counters.TotalRequests);

            var when = new DateTimeOffset(2099, 1, 2, 3, 4, 5, TimeSpan.Zero);
            await Start(c, Request(store: DefaultStore, retention: when));
            var create = Assert.Single(_sim.Counters.Requests, r => r.Path.EndsWith("/backups/create", StringComparison.Ordinal));
            Assert.Contains("retentionDate=" + when.ToUnixTimeMilliseconds(), create.Body);
            Assert.Contains("f=json", create.Body);
        }

        [Fact]
        public async Task The_passcode_and_token_never_show_in_logs_errors_or_the_job()
        {
            var log = new ListLog();
            var c = Connection();
            var job = await Start(c, Request(), log);
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            var done = Assert.Single(events.Finished);
            await BackupService.RefreshAsync(c, done, log, CancellationToken.None);
            var failed = await Assert.ThrowsAsync<BackupToolsException>(() => Start(c, Request(store: "no-such-store"), log));

            // It did go over the wire, in the form body only.
            Assert.Contains(_sim.Counters.Requests, r => r.Body.Contains("passcode=" + Uri.EscapeDataString(PasscodeText)));
            Assert.DoesNotContain(_sim.Counters.Requests, r => r.Query.Contains(PasscodeText) || r.Query.Contains(TestData.Token));

            Assert.NotEmpty(log.Lines);
            var shown = string.Join("\n", log.Lines) + "\n" + failed + "\n" + job + "\n" + done + "\n" +
                        string.Join("\n", typeof(BackupJob).GetProperties().SelectMany(p => new[] { job, done }.Select(j => Convert.ToString(p.GetValue(j)))));
            Assert.DoesNotContain(PasscodeText, shown);
            Assert.DoesNotContain(TestData.Token, shown);
        }

        [Fact]
        public async Task An_instance_backup_request_is_refused()
        {
            var r = Request();
            r.Kind = BackupKind.Instance;
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), r));
            Assert.Equal(ErrorIds.ProviderOperationNotSupported, ex.ErrorId);
            Assert.Equal(0, _sim.Counters.TotalRequests);
        }

        [Fact]
        public void The_provider_is_registered_with_its_kind()
        {
            var info = Assert.Single(BackupService.Providers, p => p.Name == Provider);
            Assert.Equal(new[] { BackupKind.DisasterRecovery }, info.Kinds);
            Assert.Null(info.ScopeName);
            Assert.Empty(info.Regions);
            Assert.Equal(new[] { "AccessToken", "Credential" }, info.AuthenticationMethods);
        }
    }
}
