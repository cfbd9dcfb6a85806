using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Http;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// A refusal of the credential whose status line arrives and whose body then stalls (a 401 to a signature or a token,
    /// a sign-in's 400, 401 or 403) is that refusal: kept with its body cut off, remembered where the credential
    /// remembers refusals, never a passing "no answer within" that is repeated with the refused secret.
    /// </summary>
    [Collection(TimingCollection.Name)]
    public sealed class StalledBodyRefusalTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const string Sk = "sim-secret-key";
        private readonly BackupSimulator _sim;

        public StalledBodyRefusalTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _sim.Options.TokenLifetime = null;
        }

        public void Dispose()
        {
            _sim.Options.AkSkLockout = TimeSpan.FromMinutes(5);
            _sim.Reset();
        }

        /// <summary>
        /// 3 s: the refusals' status and headers, and the plain answers after a renewal, must come within the timeout on
        /// 2 busy cores too (1 s is not always enough: a sibling test once timed out before its headers came); the
        /// stalled bodies never come, so each is still cut off by it.
        /// </summary>
        private static CreateRetryOptions Retry()
        {
            var r = TestData.FastRetry();
            r.RequestTimeout = TimeSpan.FromSeconds(3);
            return r;
        }

        private static BackupRequest Backup(string provider) => provider switch
        {
            "TaurusDB" => new BackupRequest { InstanceId = TestData.TaurusInstance, Name = TestData.UniqueName() },
            "DDS" => new BackupRequest { InstanceId = TestData.DdsInstance, Name = TestData.UniqueName() },
            "ArcGIS" => new BackupRequest { Kind = BackupKind.DisasterRecovery, Name = TestData.UniqueName("dr"), Passcode = TestData.Secure("Zq7-passcode-XYZ") },
            _ => new BackupRequest { InstanceId = Guid.NewGuid().ToString() },
        };

        /// <summary>
        /// A wrong secret key's signature refused (401 APIG.0301) with a body that stalls, on a status read and on a
        /// create (DDS repeats a create whose outcome is unknown): one refused signature, the error is the refusal, and
        /// it is remembered: the next request is not signed.
        /// </summary>
        [Theory]
        [InlineData("read")]
        [InlineData("create")]
        public async Task An_access_keys_401_whose_body_stalls_is_signed_once_and_remembered(string what)
        {
            var key = "SIMAKSTALLED401" + (what == "read" ? "00001" : "00002");
            lock (_sim.Options.AccessKeys) _sim.Options.AccessKeys[key] = Sk;
            try
            {
                var job = await BackupService.StartAsync(TestData.Connect(_sim, "DDS"), Backup("DDS"), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
                _sim.Faults.Add(new FaultRule { Provider = "DDS", Method = what == "read" ? "GET" : "POST", Kind = FaultKind.StalledBody, Times = int.MaxValue });
                var bad = BackupService.Connect(new ConnectRequest
                {
                    Provider = "DDS", Endpoint = _sim.EndpointFor("DDS"), Scope = TestData.ProjectId,
                    AccessKeyId = key, SecretAccessKey = TestData.Secure("wrong-" + Guid.NewGuid().ToString("N")),
                });
                Task Send() => what == "read"
                    ? BackupService.RefreshAsync(bad, job, NullOperationLog.Instance, CancellationToken.None, Retry())
                    : BackupService.StartAsync(bad, Backup("DDS"), NullOperationLog.Instance, CancellationToken.None, Retry());

                var ex = await Assert.ThrowsAsync<BackupToolsException>(Send);
                Assert.Equal(ErrorIds.ConnectionAuthenticationFailed, ex.ErrorId);
                Assert.Equal(401, ex.HttpStatus);
                Assert.Contains("answered HTTP 401 (its body was cut off: no more of it within 3 s)", ex.Message);
                var again = await Assert.ThrowsAsync<BackupToolsException>(Send);
                Assert.Equal(ErrorIds.ConnectionAuthenticationFailed, again.ErrorId);
                Assert.Contains("Remembered from an earlier request", again.Message);
                Assert.Equal(1, _sim.Counters.Requests.Count(q => q.Provider == "DDS" && q.Status == 401));
            }
            finally
            {
                AkSkCredential.ForgetKey(key);
                lock (_sim.Options.AccessKeys) _sim.Options.AccessKeys.Remove(key);
            }
        }

        /// <summary>
        /// A sign-in refused by its status (IAM's 401 and 403, UAA's 401, generateToken's 403 from the web tier) whose
        /// body stalls: the error is the refusal, and the password or client secret is never sent again, not even once
        /// the back-off of a failed sign-in (5 s) has passed.
        /// </summary>
        [Theory]
        [InlineData("TaurusDB", "Credential", "/auth/tokens", null)]
        [InlineData("DDS", "Credential", "/auth/tokens", 403)]
        [InlineData("CloudFoundry", "ClientCredential", "/oauth/token", null)]
        [InlineData("CloudFoundry", "Credential", "/oauth/token", 400)]
        [InlineData("ArcGIS", "Credential", "/generateToken", 403)]
        public async Task A_sign_in_refused_with_a_body_that_stalls_is_remembered_and_not_sent_again(string provider, string method, string path, int? status)
        {
            var request = new ConnectRequest
            {
                Provider = provider, Endpoint = _sim.EndpointFor(provider),
                Scope = provider == "TaurusDB" || provider == "DDS" ? TestData.ProjectId : null,
            };
            var wrong = TestData.Secure("wrong-" + Guid.NewGuid().ToString("N"));
            if (method == "ClientCredential") { request.ClientId = "sim-client"; request.ClientSecret = wrong; }
            else { request.UserName = "admin"; request.Password = wrong; }
            var c = BackupService.Connect(request);
            _sim.Faults.Add(new FaultRule { Provider = provider, PathContains = path, Kind = FaultKind.StalledBody, StatusCode = status, Times = int.MaxValue });
            Task Send() => BackupService.StartAsync(c, Backup(provider), NullOperationLog.Instance, CancellationToken.None, Retry());
            int SignIns() => _sim.Counters.Requests.Count(q => q.Provider == provider && q.Path.EndsWith(path, StringComparison.Ordinal));

            var ex = await Assert.ThrowsAsync<BackupToolsException>(Send);
            Assert.Equal(ErrorIds.ConnectionAuthenticationFailed, ex.ErrorId);
            Assert.Contains($"answered HTTP {status ?? 401} (its body was cut off: no more of it within 3 s)", ex.Message);
            Assert.Equal(1, SignIns());
            // Past the back-off a sign-in that failed on the way is tried again; a refusal is not.
            ((RenewableTokenCredential)c.Credential).Clock = () => DateTimeOffset.UtcNow.AddMinutes(1);
            var again = await Assert.ThrowsAsync<BackupToolsException>(Send);
            Assert.Equal(ErrorIds.ConnectionAuthenticationFailed, again.ErrorId);
            Assert.Contains("not sent again", again.Message);
            Assert.Equal(1, SignIns());
            Assert.Equal(0, _sim.Counters.TotalCreates);
        }

        /// <summary>
        /// An IAM token the service refuses (it expired) with a 401 whose body stalls: the token is renewed once and the
        /// read sent again at once, as after any 401; the stalled answer is not a failed read repeated with the refused token.
        /// </summary>
        [Fact]
        public async Task A_renewable_tokens_401_whose_body_stalls_renews_it_once()
        {
            var c = BackupService.Connect(new ConnectRequest
            {
                Provider = "TaurusDB", Endpoint = _sim.EndpointFor("TaurusDB"), Scope = TestData.ProjectId,
                UserName = "admin", Password = TestData.Secure("sim-password"),
            });
            var job = await BackupService.StartAsync(c, Backup("TaurusDB"), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            _sim.ExpireIssuedTokens();
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", PathContains = "jobs", Kind = FaultKind.StalledBody, Times = 1 });
            var log = new ListLog();

            var read = await BackupService.RefreshAsync(c, job, log, CancellationToken.None, Retry());
            Assert.Equal(BackupJobState.Running, read.State);
            var reads = _sim.Counters.Requests.Where(q => q.Provider == "TaurusDB" && q.Method == "GET" && q.Path.EndsWith("/jobs", StringComparison.Ordinal)).ToList();
            Assert.Equal(new[] { 401, 200 }, reads.Select(q => q.Status));
            Assert.Equal(2, _sim.Counters.Requests.Count(q => q.Provider == "TaurusDB" && q.Path.EndsWith("/auth/tokens", StringComparison.Ordinal)));
            Assert.DoesNotContain(log.Lines, l => l.Contains("attempt 1 failed"));
        }

        /// <summary>
        /// A plain access token refused with a 401 whose body stalls: the service's refusal (HTTP 401, no code could be
        /// read), not repeated; it was "no answer within", and the read was repeated three times with the refused token.
        /// </summary>
        [Fact]
        public async Task A_plain_tokens_401_whose_body_stalls_is_the_refusal_and_not_repeated()
        {
            var job = await BackupService.StartAsync(TestData.Connect(_sim, "DDS"), Backup("DDS"), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            _sim.Faults.Add(new FaultRule { Provider = "DDS", Method = "GET", Kind = FaultKind.StalledBody, Times = int.MaxValue });
            var bad = TestData.Connect(_sim, "DDS", token: "not-a-token-" + Guid.NewGuid().ToString("N"));

            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.RefreshAsync(bad, job, NullOperationLog.Instance, CancellationToken.None, Retry()));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal(BackupErrorCategory.AuthenticationError, ex.Category);
            Assert.Equal(401, ex.HttpStatus);
            Assert.Null(ex.ServiceCode);
            Assert.Contains("answered HTTP 401 (its body was cut off: no more of it within 3 s).", ex.Message);
            Assert.Equal(1, _sim.Counters.Requests.Count(q => q.Provider == "DDS" && q.Method == "GET"));
        }
    }
}
