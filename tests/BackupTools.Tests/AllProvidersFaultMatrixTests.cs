using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Simulator;
using Xunit;
using Xunit.Abstractions;

namespace BackupTools.Tests
{
    /// <summary>
    /// The create-side fault matrix for all five services. Services whose backup names are unique (TaurusDB, DDS)
    /// survive every fault (FaultMatrixTests proves it in detail); for the others a fault after which the backup may
    /// exist cannot be repeated safely, so it must end in a clear error that says so. Either way the simulator never
    /// counts more than one backup for the request. Also on all five: a proxy's "origin unreachable" answer to a status
    /// read, which is read again.
    /// </summary>
    public sealed class AllProvidersFaultMatrixTests : IClassFixture<SimulatorFixture>
    {
        private readonly BackupSimulator _sim;
        private readonly ITestOutputHelper _output;

        public AllProvidersFaultMatrixTests(SimulatorFixture fixture, ITestOutputHelper output)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _output = output;
        }

        public static readonly string[] Providers = { "TaurusDB", "DDS", "Dataverse", "CloudFoundry", "ArcGIS" };

        public static IEnumerable<object[]> Cases() =>
            from provider in Providers
            from fault in new[] { "429", "503", "reset-before-read", "reset-after-read", "truncated", "malformed", "html-200", "empty", "no-answer" }
            select new object[] { provider, fault };

        private static FaultRule Rule(string fault) => fault switch
        {
            "429" => new FaultRule { StatusCode = 429, RetryAfter = "1" },
            "503" => new FaultRule { StatusCode = 503, RetryAfter = DateTimeOffset.UtcNow.AddSeconds(1).ToString("r") },
            "reset-before-read" => new FaultRule { Kind = FaultKind.DropBeforeRead },
            "reset-after-read" => new FaultRule { Kind = FaultKind.DropAfterRead },
            "truncated" => new FaultRule { Kind = FaultKind.TruncatedBody },
            "malformed" => new FaultRule { Kind = FaultKind.MalformedJson },
            "html-200" => new FaultRule { Kind = FaultKind.HtmlPage },
            "empty" => new FaultRule { Kind = FaultKind.EmptyBody },
            "no-answer" => new FaultRule { Delay = TimeSpan.FromSeconds(3) },
            _ => throw new ArgumentOutOfRangeException(nameof(fault)),
        };

        private (BackupConnection Connection, BackupRequest Request, string CountedAs) Setup(string provider)
        {
            switch (provider)
            {
                case "TaurusDB":
                    return (TestData.Connect(_sim, provider), new BackupRequest { InstanceId = TestData.TaurusInstance, Name = TestData.UniqueName() }, TestData.TaurusInstance);
                case "DDS":
                    return (TestData.Connect(_sim, provider), new BackupRequest { InstanceId = TestData.DdsInstance, Name = TestData.UniqueName() }, TestData.DdsInstance);
                case "Dataverse":
                    var environment = Guid.NewGuid().ToString();
                    return (TestData.Connect(_sim, provider, scope: null), new BackupRequest { InstanceId = environment, Name = TestData.UniqueName() }, environment);
                case "CloudFoundry":
                    var instance = Guid.NewGuid().ToString();
                    return (TestData.Connect(_sim, provider, scope: null), new BackupRequest { InstanceId = instance }, instance);
                case "ArcGIS":
                    return (TestData.Connect(_sim, provider, scope: null),
                        new BackupRequest { Kind = BackupKind.DisasterRecovery, Name = TestData.UniqueName(), Passcode = TestData.Secure("passcode-1234") },
                        "DefaultBackupStore");
                default:
                    throw new ArgumentOutOfRangeException(nameof(provider), provider, "No fault-matrix setup for this provider: add one.");
            }
        }

        /// <summary>A sixth provider must join the matrix: without this, it would simply not be covered.</summary>
        [Fact]
        public void The_matrix_covers_every_registered_provider()
        {
            Assert.Equal(BackupService.Providers.Select(p => p.Name).OrderBy(n => n, StringComparer.Ordinal),
                Providers.OrderBy(n => n, StringComparer.Ordinal));
        }

        [Theory]
        [MemberData(nameof(Cases))]
        public async Task A_create_fault_never_makes_a_second_backup_and_never_ends_silently(string provider, string fault)
        {
            var (connection, request, countedAs) = Setup(provider);
            var rule = Rule(fault);
            rule.Provider = provider;
            rule.Method = "POST";
            rule.PathContains = "backups";
            _sim.Faults.Add(rule);
            var retry = TestData.FastRetry();
            retry.RequestTimeout = TimeSpan.FromSeconds(1);

            string outcome;
            try
            {
                var job = await BackupService.StartAsync(connection, request, NullOperationLog.Instance, CancellationToken.None, retry);
                var events = await HuaweiFamilyTests.WaitAll(connection, new[] { job });
                Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
                outcome = "survived";
            }
            catch (BackupToolsException ex)
            {
                // Not survived: a clear error, naming the service, that says whether the backup may exist.
                Assert.Contains(provider, ex.Message);
                Assert.Contains(ex.ErrorId, new[] { ErrorIds.BackupCreateOutcomeUnknown, ErrorIds.BackupResponseInvalid, ErrorIds.BackupServiceError, ErrorIds.BackupServiceUnreachable });
                if (ex.ErrorId == ErrorIds.BackupCreateOutcomeUnknown) Assert.Contains("may have started", ex.Message);
                Assert.False(provider == "DDS", $"{provider} has unique names and must survive {fault}: {ex.Message}");
                outcome = ex.ErrorId + (ex.ServiceCode != null ? " " + ex.ServiceCode : string.Empty);
            }
            if (rule.Delay > TimeSpan.Zero) await Task.Delay(rule.Delay + TimeSpan.FromMilliseconds(500));
            var backups = _sim.Counters.BackupsFor(provider, countedAs);
            _output.WriteLine($"{provider,-12} {fault,-18} {outcome,-40} backups made: {backups}");
            Assert.InRange(backups, outcome == "survived" ? 1 : 0, 1);
        }

        /// <summary>
        /// A create the service accepted (its 2xx status and headers arrived) whose body then stalls past the request's
        /// timeout: the acceptance is not thrown away with the body. Dataverse follows its Operation-Location and Cloud
        /// Foundry its Location (neither can look a backup up by name); TaurusDB finds the backup by its name and DDS by
        /// a repeat answered "already exists"; ArcGIS, whose job is named only in the body and which has no lookup, says
        /// the backup may have started, not that the deployment accepted it: its 200 may carry a refusal.
        /// </summary>
        [Theory]
        [InlineData("TaurusDB", true)]
        [InlineData("DDS", true)]
        [InlineData("Dataverse", true)]
        [InlineData("CloudFoundry", true)]
        [InlineData("ArcGIS", false)]
        public async Task An_accepted_create_whose_body_stalls_is_followed_where_its_job_can_be_found(string provider, bool followed)
        {
            var (connection, request, countedAs) = Setup(provider);
            _sim.Faults.Add(new FaultRule
            {
                Provider = provider, Method = "POST", PathContains = "backups", Kind = FaultKind.StalledBody,
                // Cloud Foundry's 202 has no body to stall: one is given (a gateway's, say), its Location the handler's.
                Body = provider == "CloudFoundry" ? "{\"note\":\"The backup job was created.\"}" : null,
            });
            var retry = TestData.FastRetry();
            // Long enough for the status and headers on 2 busy cores (1 s once timed out before they came: no acceptance
            // to keep); the body stalls for good.
            retry.RequestTimeout = TimeSpan.FromSeconds(3);
            if (followed)
            {
                var job = await BackupService.StartAsync(connection, request, NullOperationLog.Instance, CancellationToken.None, retry);
                var events = await HuaweiFamilyTests.WaitAll(connection, new[] { job });
                Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
            }
            else
            {
                var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(connection, request, NullOperationLog.Instance, CancellationToken.None, retry));
                Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
                Assert.Contains("may have started", ex.Message);
                Assert.Contains("cut off", ex.Message);
                Assert.DoesNotContain("accepted", ex.Message);
                Assert.Equal(200, ex.HttpStatus);
            }
            Assert.Equal(1, _sim.Counters.BackupsFor(provider, countedAs));
        }

        /// <summary>
        /// A gateway's 502 or 504 (or a CDN's 520 or 524) to a create: the service behind it may have made the backup, so the error says so
        /// (BackupCreateOutcomeUnknown, with the gateway's status), on every service; DDS repeats it, as its names are
        /// unique, and survives a single one with exactly one backup.
        /// </summary>
        [Theory]
        [InlineData("TaurusDB", 504)]
        [InlineData("DDS", 504)]
        [InlineData("Dataverse", 504)]
        [InlineData("CloudFoundry", 502)]
        [InlineData("ArcGIS", 504)]
        // A CDN in front of the service (Cloudflare): 520, the origin's answer was unusable; 524, the origin took the
        // request and did not answer in time.
        [InlineData("ArcGIS", 524)]
        [InlineData("CloudFoundry", 520)]
        [InlineData("Dataverse", 524)]
        [InlineData("TaurusDB", 520)]
        [InlineData("DDS", 524)]
        public async Task A_gateway_error_on_create_says_the_backup_may_have_started(string provider, int status)
        {
            var (connection, request, countedAs) = Setup(provider);
            _sim.Faults.Add(new FaultRule { Provider = provider, Method = "POST", PathContains = "backups", StatusCode = status, Times = int.MaxValue });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(connection, request, NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            Assert.Equal(status, ex.HttpStatus);
            Assert.Contains("may have started", ex.Message);
            Assert.Contains(provider, ex.Message);
            // Repeated only where names are unique.
            var posts = _sim.Counters.Requests.Count(r => r.Method == "POST" && r.Path.Contains("backups", StringComparison.OrdinalIgnoreCase));
            if (provider == "DDS") Assert.True(posts > 1, $"{posts} creates");
            else Assert.Equal(1, posts);

            _sim.Faults.Clear();
            if (provider != "DDS") return;
            _sim.Faults.Add(new FaultRule { Provider = provider, Method = "POST", PathContains = "backups", StatusCode = status });
            var job = await BackupService.StartAsync(connection, new BackupRequest { InstanceId = request.InstanceId, Name = TestData.UniqueName() },
                NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            Assert.NotNull(job.JobId);
            Assert.Equal(1, _sim.Counters.BackupsFor(provider, countedAs));
        }

        [Fact]
        public async Task A_create_that_outlives_its_budget_while_unanswered_says_the_backup_may_exist()
        {
            _sim.Faults.Add(new FaultRule { Provider = "Dataverse", Method = "POST", Delay = TimeSpan.FromSeconds(5) });
            var retry = TestData.FastRetry();
            retry.Budget = TimeSpan.FromSeconds(1);
            var (connection, request, _) = Setup("Dataverse");
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(connection, request, NullOperationLog.Instance, CancellationToken.None, retry));
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            Assert.Equal(BackupErrorCategory.OperationTimeout, ex.Category);
            Assert.Contains("overall budget of 1 s", ex.Message);
            Assert.Contains("may have started", ex.Message);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(4), $"gave up after {watch.Elapsed.TotalSeconds:0.0} s");
        }

        [Fact]
        public async Task A_create_refused_as_not_processed_until_the_budget_ends_says_nothing_was_created()
        {
            _sim.Faults.Add(new FaultRule { Provider = "DDS", Method = "POST", StatusCode = 429, RetryAfter = "3", Times = int.MaxValue });
            var retry = TestData.FastRetry(notProcessed: 50);
            // The budget must end in the pause after the second refusal, never while an attempt is unanswered (that
            // outcome is rightly "may have started"): attempts at 0 and 3 s, the budget's end at 4.5 s. That holds
            // while the two attempts take under 1.5 s together, on a machine as busy as CI's. (Retry-After 1 with a
            // 2.5 s budget put a third attempt near the budget's end, and a machine with both cores busy had it in flight.)
            retry.Budget = TimeSpan.FromSeconds(4.5);
            var (connection, request, countedAs) = Setup("DDS");
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(connection, request, NullOperationLog.Instance, CancellationToken.None, retry));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal(429, ex.HttpStatus);
            Assert.Contains("nothing was created", ex.Message);
            Assert.Equal(0, _sim.Counters.BackupsFor("DDS", countedAs));
            Assert.Equal(2, _sim.Counters.Requests.Count(r => r.Method == "POST"));
        }

        /// <summary>What Cloudflare answers when it cannot reach the origin: its own HTML page, not the service's error shape.</summary>
        private static FaultRule OriginError(string provider, int status) => new FaultRule
        {
            Provider = provider, Method = "GET", StatusCode = status, ContentType = "text/html; charset=UTF-8",
            Body = $"<!DOCTYPE html><html><head><title>example.com | {status}: Connection timed out</title></head><body>Cloudflare</body></html>",
        };

        /// <summary>
        /// Before: a status read answered 520 to 524 (Cloudflare in front of a self-hosted ArcGIS or Cloud Foundry: the
        /// origin was down, unreachable or slow) ended the job's wait with BackupServiceError, though the help said 5xx
        /// answers to a status read are read again. Each status once, and each service once (522 on the two most often
        /// behind such a proxy).
        /// </summary>
        [Theory]
        [InlineData("TaurusDB", 520)]
        [InlineData("DDS", 521)]
        [InlineData("ArcGIS", 522)]
        [InlineData("CloudFoundry", 522)]
        [InlineData("Dataverse", 523)]
        [InlineData("CloudFoundry", 524)]
        public async Task A_proxy_s_origin_error_to_a_status_read_is_read_again_by_a_wait_and_by_a_single_read(string provider, int status)
        {
            var (connection, request, _) = Setup(provider);
            var job = await BackupService.StartAsync(connection, request, NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            _sim.Faults.Add(OriginError(provider, status));
            var events = await HuaweiFamilyTests.WaitAll(connection, new[] { job });
            Assert.Empty(events.Errors);
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
            Assert.Contains(_sim.Counters.Requests, q => q.Provider == provider && q.Status == status);

            // Get-BackupJob's one read (the read rules of the HTTP pipeline): repeated too, and the job read.
            _sim.Faults.Add(OriginError(provider, status));
            var read = await BackupService.RefreshAsync(connection, job, NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            Assert.Equal(job.JobId, read.JobId);
            Assert.Equal(2, _sim.Counters.Requests.Count(q => q.Provider == provider && q.Status == status));
        }

        /// <summary>Other 5xx statuses a proxy or service may answer (not implemented, the origin's TLS) are no passing failure: the wait says so at once.</summary>
        [Theory]
        [InlineData("ArcGIS", 501)]
        [InlineData("CloudFoundry", 505)]
        [InlineData("DDS", 525)]
        [InlineData("Dataverse", 526)]
        public async Task Other_5xx_answers_to_a_status_read_still_end_the_wait_with_the_service_s_error(string provider, int status)
        {
            var (connection, request, _) = Setup(provider);
            var job = await BackupService.StartAsync(connection, request, NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            _sim.Faults.Add(OriginError(provider, status));
            var events = await HuaweiFamilyTests.WaitAll(connection, new[] { job });
            Assert.Empty(events.Finished);
            var error = Assert.Single(events.Errors);
            Assert.Equal(ErrorIds.BackupServiceError, error.ErrorId);
            Assert.Equal(status, error.HttpStatus);
            Assert.Equal(1, _sim.Counters.Requests.Count(q => q.Provider == provider && q.Status == status));
        }
    }
}
