using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Http;
using BackupTools.Jobs;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// An answer that quotes the token its request carried has it masked even when another request renewed the token
    /// while it was under way: masking knew only the token at hand, and the one replaced (often still valid for minutes)
    /// showed in the error's ServiceMessage, Message and ToString(), in a job's reason and in -Verbose lines.
    /// </summary>
    // The first read is held 800 ms while another renews the token: not beside the other classes' load.
    [Collection(TimingCollection.Name)]
    public sealed class RenewedTokenMaskingTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;
        private readonly List<string> _staticTokens = new List<string>();

        public RenewedTokenMaskingTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _sim.Options.TokenLifetime = null;
        }

        public void Dispose()
        {
            lock (_sim.Options.Tokens) foreach (var token in _staticTokens) _sim.Options.Tokens.Remove(token);
            _sim.Reset();
        }

        /// <summary>Every method whose token is renewed or replaced: IAM, generateToken, UAA (both grants), a -TokenProvider script.</summary>
        public static IEnumerable<object[]> Renewing() => new[]
        {
            new object[] { "TaurusDB", "Credential" },
            new object[] { "DDS", "Credential" },
            new object[] { "ArcGIS", "Credential" },
            new object[] { "CloudFoundry", "Credential" },
            new object[] { "CloudFoundry", "ClientCredential" },
            new object[] { "Dataverse", "TokenProvider" },
        };

        private string StaticToken(string name)
        {
            var token = "sim-" + name + "-" + Guid.NewGuid().ToString("N");
            lock (_sim.Options.Tokens) _sim.Options.Tokens.Add(token);
            _staticTokens.Add(token);
            return token;
        }

        /// <summary>A connection of <paramref name="method"/>, and what makes the token it holds now refused by the service.</summary>
        private (BackupConnection Connection, Action Refuse) Connect(string provider, string method)
        {
            var r = new ConnectRequest
            {
                Provider = provider,
                Endpoint = _sim.EndpointFor(provider),
                Scope = provider == "TaurusDB" || provider == "DDS" ? TestData.ProjectId : null,
            };
            switch (method)
            {
                case "Credential": r.UserName = "admin"; r.Password = TestData.Secure("sim-password"); break;
                case "ClientCredential": r.ClientId = "sim-client"; r.ClientSecret = TestData.Secure("sim-secret"); break;
                case "TokenProvider":
                    // The token given first, and the script's: both accepted, until the first is withdrawn.
                    var first = StaticToken("first");
                    var next = StaticToken("next");
                    r.AccessToken = TestData.Secure(first);
                    r.TokenProvider = (log, ct) => Task.FromResult(TestData.Secure(next));
                    return (BackupService.Connect(r), () => { lock (_sim.Options.Tokens) _sim.Options.Tokens.Remove(first); });
            }
            return (BackupService.Connect(r), _sim.ExpireIssuedTokens);
        }

        private static BackupRequest BackupFor(string provider) => provider switch
        {
            "TaurusDB" => new BackupRequest { InstanceId = TestData.TaurusInstance, Name = TestData.UniqueName() },
            "DDS" => new BackupRequest { InstanceId = TestData.DdsInstance, Name = TestData.UniqueName() },
            "ArcGIS" => new BackupRequest { Kind = BackupKind.DisasterRecovery, Name = TestData.UniqueName("dr"), Passcode = TestData.Secure("Zq7-passcode-XYZ") },
            "Dataverse" => new BackupRequest { InstanceId = Guid.NewGuid().ToString(), Name = TestData.UniqueName() },
            _ => new BackupRequest { InstanceId = Guid.NewGuid().ToString() },
        };

        /// <summary>The path of a status read, and an error answer in the service's own shape quoting <paramref name="said"/>.</summary>
        private static (string Path, string Body) StatusError(string provider, string said) => provider switch
        {
            "Dataverse" => ("/Operation/", "{\"error\":{\"code\":\"Denied\",\"message\":\"" + said + "\"}}"),
            "CloudFoundry" => ("/v3/jobs/", "{\"errors\":[{\"code\":10008,\"title\":\"CF-UnprocessableEntity\",\"detail\":\"" + said + "\"}]}"),
            "ArcGIS" => ("/admin/jobs/", "{\"error\":{\"code\":400,\"message\":\"" + said + "\",\"details\":[]}}"),
            _ => ("/jobs", "{\"error_code\":\"DBS.280001\",\"error_msg\":\"" + said + "\"}"),
        };

        private static CreateRetryOptions Retry()
        {
            var r = TestData.FastRetry();
            r.RequestTimeout = TimeSpan.FromSeconds(30);
            return r;
        }

        /// <summary>
        /// Waits until the first read has reached the service and taken the held answer (its fault is spent), so the
        /// second read is refused and renews the token while the first is held. A fixed 200 ms after the first read's
        /// start is not always enough on 2 busy cores: the second read could reach the service first and take the held
        /// answer itself.
        /// </summary>
        private async Task FirstReadIsHeld()
        {
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (_sim.Faults.Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(10);
            Assert.Equal(0, _sim.Faults.Count);
        }

        private static Task<string> TokenAtHand(BackupConnection c) =>
            c.Credential.GetTokenAsync(new ServiceCall(c, NullOperationLog.Instance, CancellationToken.None));

        /// <summary>
        /// A status read sent with the token the connection held is answered late with an error quoting that token;
        /// meanwhile another read was refused (the token expired) and renewed it. The late error masks the token its
        /// read carried, though the connection holds another by then.
        /// </summary>
        [Theory]
        [MemberData(nameof(Renewing))]
        public async Task An_error_quoting_the_token_its_read_carried_is_masked_after_another_read_renewed_it(string provider, string method)
        {
            var (c, refuse) = Connect(provider, method);
            var job = await BackupService.StartAsync(c, BackupFor(provider), NullOperationLog.Instance, CancellationToken.None, Retry());
            var sent = await TokenAtHand(c);
            refuse();
            var (path, body) = StatusError(provider, "Token " + sent + " is not valid for this request");
            _sim.Faults.Add(new FaultRule { Provider = provider, Method = "GET", PathContains = path, StatusCode = 400, Delay = TimeSpan.FromMilliseconds(800), Times = 1, Body = body });
            var log = new ListLog();
            var first = Task.Run(() => BackupService.RefreshAsync(c, job, log, CancellationToken.None, Retry()));
            await FirstReadIsHeld();
            var second = await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None, Retry());
            Assert.Equal(BackupJobState.Running, second.State);
            Assert.NotEqual(sent, await TokenAtHand(c));

            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => first);
            Assert.Equal(400, ex.HttpStatus);
            Assert.Contains("Token *** is not valid", ex.ServiceMessage);
            Assert.DoesNotContain(sent, ex.ServiceMessage);
            Assert.DoesNotContain(sent, ex.Message);
            Assert.DoesNotContain(sent, ex.ToString());
            Assert.DoesNotContain(log.Lines, line => line.Contains(sent));
        }

        /// <summary>
        /// The same for a job's reason: a status read answered late that the job failed, quoting the token the read
        /// carried. A job's messages are masked with the call once the answer is read, not with the answer.
        /// </summary>
        [Theory]
        [InlineData("TaurusDB", "Credential")]
        [InlineData("CloudFoundry", "ClientCredential")]
        public async Task A_failed_jobs_reason_quoting_the_token_its_read_carried_is_masked_after_another_read_renewed_it(string provider, string method)
        {
            var (c, refuse) = Connect(provider, method);
            var job = await BackupService.StartAsync(c, BackupFor(provider), NullOperationLog.Instance, CancellationToken.None, Retry());
            var sent = await TokenAtHand(c);
            refuse();
            var reason = "token " + sent + " expired";
            _sim.Faults.Add(provider == "TaurusDB"
                ? new FaultRule { Provider = provider, Method = "GET", PathContains = "/jobs", StatusCode = 200, Delay = TimeSpan.FromMilliseconds(800), Times = 1,
                    Body = "{\"job\":{\"id\":\"" + job.JobId + "\",\"status\":\"Failed\",\"fail_reason\":\"DBS.200410: " + reason + "\"}}" }
                : new FaultRule { Provider = provider, Method = "GET", PathContains = "/v3/jobs/", StatusCode = 200, Delay = TimeSpan.FromMilliseconds(800), Times = 1,
                    Body = "{\"guid\":\"" + job.JobId + "\",\"state\":\"FAILED\",\"errors\":[{\"code\":10008,\"title\":\"CF-Failed\",\"detail\":\"" + reason + "\"}],\"warnings\":[]}" });
            var first = Task.Run(() => BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None, Retry()));
            await FirstReadIsHeld();
            Assert.Equal(BackupJobState.Running, (await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None, Retry())).State);
            Assert.NotEqual(sent, await TokenAtHand(c));

            var failed = await first;
            Assert.Equal(BackupJobState.Failed, failed.State);
            var message = Assert.Single(failed.Errors).Message;
            Assert.Contains("token *** expired", message);
            Assert.DoesNotContain(sent, failed.ToString());
        }

        /// <summary>
        /// In a wait, whose reads share one call: one job's read is answered late with a 503 quoting its token while
        /// the other job's read renewed it. The verbose line of the failed read masks it, and the wait goes on.
        /// </summary>
        [Fact]
        public async Task A_waits_verbose_line_quoting_the_token_a_read_carried_is_masked_after_another_read_renewed_it()
        {
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(1500);
            var (c, refuse) = Connect("TaurusDB", "Credential");
            var jobs = new List<BackupJob>();
            for (var i = 0; i < 2; i++)
                jobs.Add(await BackupService.StartAsync(c, BackupFor("TaurusDB"), NullOperationLog.Instance, CancellationToken.None, Retry()));
            var sent = await TokenAtHand(c);
            refuse();
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", PathContains = "/jobs", StatusCode = 503, Delay = TimeSpan.FromMilliseconds(800), Times = 1,
                Body = "{\"error_code\":\"DBS.200022\",\"error_msg\":\"Busy; X-Auth-Token " + sent + " noted\"}" });
            var log = new ListLog();
            var events = new RecordingEvents();
            await BackupService.WaitAsync(jobs, _ => c, new WaitOptions { PollingInterval = TimeSpan.FromMilliseconds(50), Timeout = TimeSpan.FromSeconds(30) },
                events, log, CancellationToken.None);
            Assert.Empty(events.Errors);
            Assert.Equal(2, events.Finished.Count);
            Assert.NotEqual(sent, await TokenAtHand(c));
            Assert.Contains(log.Lines, line => line.Contains("status read failed") && line.Contains("X-Auth-Token *** noted"));
            Assert.DoesNotContain(log.Lines, line => line.Contains(sent));
        }

        /// <summary>
        /// The reason phrase of a status line is the service's text too, and each HTTP call's -Verbose line shows it: one
        /// quoting the token its request carried, or the password, is masked there (it was shown as sent).
        /// </summary>
        [Fact]
        public async Task A_reason_phrase_quoting_the_token_its_request_carried_is_masked_in_the_verbose_line()
        {
            var (c, refuse) = Connect("TaurusDB", "Credential");
            var job = await BackupService.StartAsync(c, BackupFor("TaurusDB"), NullOperationLog.Instance, CancellationToken.None, Retry());
            var sent = await TokenAtHand(c);
            refuse();
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", PathContains = "/jobs", StatusCode = 400, Delay = TimeSpan.FromMilliseconds(800), Times = 1,
                ReasonPhrase = "Token " + sent + " of sim-password refused" });
            var log = new ListLog();
            var first = Task.Run(() => BackupService.RefreshAsync(c, job, log, CancellationToken.None, Retry()));
            await FirstReadIsHeld();
            Assert.Equal(BackupJobState.Running, (await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None, Retry())).State);
            Assert.NotEqual(sent, await TokenAtHand(c));
            await Assert.ThrowsAsync<BackupToolsException>(() => first);
            Assert.Contains(log.Lines, line => line.Contains("-> 400 Token *** of *** refused"));
            Assert.DoesNotContain(log.Lines, line => line.Contains(sent) || line.Contains("sim-password"));
        }

        /// <summary>
        /// A call keeps the tokens its requests carried for masking, newest first, each once and at most
        /// <see cref="ServiceCall.CarriedKept"/>: a wait keeps its call for hours, and it must not grow with every renewal.
        /// </summary>
        [Fact]
        public async Task A_call_keeps_only_the_newest_tokens_its_requests_carried()
        {
            var (c, refuse) = Connect("TaurusDB", "Credential");
            var job = await BackupService.StartAsync(c, BackupFor("TaurusDB"), NullOperationLog.Instance, CancellationToken.None, Retry());
            var call = new ServiceCall(c, NullOperationLog.Instance, CancellationToken.None);
            var provider = Providers.ProviderRegistry.Get("TaurusDB");
            var sent = new List<string>();
            for (var i = 0; i < ServiceCall.CarriedKept + 3; i++)
            {
                // Each read after the first is refused once (the token expired) and sent again with a new one.
                Assert.Equal(BackupJobState.Running, (await provider.GetStatusAsync(call, job)).State);
                Assert.Equal(BackupJobState.Running, (await provider.GetStatusAsync(call, job)).State);
                sent.Add(await TokenAtHand(c));
                refuse();
            }
            Assert.Equal(sent.Count, sent.Distinct().Count());
            Assert.Equal(Enumerable.Reverse(sent).Take(ServiceCall.CarriedKept), call.Carried.Select(Secret.Reveal));
        }
    }
}
