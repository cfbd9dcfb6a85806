using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Net.Http;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Http;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// The process's IHttpClientFactory: one long-lived handler chain per name, shared by its clients, renewed after its
    /// lifetime, and an expired chain disposed only once no client uses it. Requests go to the simulator on loopback.
    /// </summary>
    public sealed class HttpClientFactoryTests : IClassFixture<SimulatorFixture>
    {
        [Fact]
        public void Windows_PowerShell_gets_TLS_1_2_added_to_its_protocols_and_nothing_taken_away()
        {
            // The rule applied on .NET Framework (powershell.exe's usual Ssl3 | Tls); not run there from here.
#pragma warning disable CS0618, SYSLIB0014 // SSL 3 and TLS 1.0 are obsolete: they are what powershell.exe has.
            var legacy = System.Net.SecurityProtocolType.Ssl3 | System.Net.SecurityProtocolType.Tls;
            Assert.Equal(legacy | System.Net.SecurityProtocolType.Tls12, BackupHttp.WithTls12(legacy));
#pragma warning restore CS0618, SYSLIB0014
            Assert.Equal(System.Net.SecurityProtocolType.Tls12, BackupHttp.WithTls12(System.Net.SecurityProtocolType.Tls12));
            // The system's default (0, .NET 4.7 and later with strong crypto) already includes TLS 1.2: left alone.
            Assert.Equal((System.Net.SecurityProtocolType)0, BackupHttp.WithTls12(0));
        }

        [Fact]
        public void Windows_PowerShell_checks_certificates_itself_and_not_by_the_process_wide_callback()
        {
            // The callback the checking handler gets on .NET Framework (there, without one, ServicePointManager's
            // process-wide callback decided); not run there from here.
            Assert.True(BackupHttp.OnlyValidCertificates(null, null, null, System.Net.Security.SslPolicyErrors.None));
            Assert.False(BackupHttp.OnlyValidCertificates(null, null, null, System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch));
            Assert.False(BackupHttp.OnlyValidCertificates(null, null, null, System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors));
            Assert.False(BackupHttp.OnlyValidCertificates(null, null, null, System.Net.Security.SslPolicyErrors.RemoteCertificateNotAvailable));
        }

        [Fact]
        public void A_name_that_does_not_resolve_on_Windows_PowerShell_is_known_not_sent()
        {
            // .NET Framework's shape of a DNS failure: a WebException, no SocketException inside. A create that failed
            // so is "nothing was created", not "may have started".
            Assert.True(ServiceCall.CertainlyNotSent(new HttpRequestException("An error occurred while sending the request.",
                new System.Net.WebException("The remote name could not be resolved: 'gaussdb.xx-nowhere-1.example'", System.Net.WebExceptionStatus.NameResolutionFailure))));
            Assert.True(ServiceCall.CertainlyNotSent(new HttpRequestException("x", new System.Net.WebException("proxy", System.Net.WebExceptionStatus.ProxyNameResolutionFailure))));
            Assert.False(ServiceCall.CertainlyNotSent(new HttpRequestException("x", new System.Net.WebException("reset", System.Net.WebExceptionStatus.ReceiveFailure))));
        }

        [Fact]
        public void A_request_the_proxy_refused_to_tunnel_is_known_not_sent()
        {
            // PowerShell 7.4 and later (.NET 8): the proxy answered CONNECT with 407, 502 or 503, so nothing went past it.
            var refused = new HttpRequestException(HttpRequestError.ProxyTunnelError,
                "The proxy tunnel request to proxy 'http://127.0.0.1:3128/' failed with status code '502'.");
            Assert.True(ServiceCall.CertainlyNotSent(refused));
            Assert.True(ServiceCall.CertainlyNotSent(new InvalidOperationException("wrapped", refused)));
            // Other request errors say nothing of it: the request may have left.
            Assert.False(ServiceCall.CertainlyNotSent(new HttpRequestException(HttpRequestError.ResponseEnded, "The response ended prematurely.")));
            Assert.False(ServiceCall.CertainlyNotSent(new HttpRequestException("An error occurred while sending the request.")));
        }

        [Theory]
        [InlineData("Connection refused (127.0.0.1:1)", "Connection refused (127.0.0.1:1).")]
        [InlineData("no answer within 10 s", "no answer within 10 s.")]
        [InlineData("The SSL connection could not be established, see inner exception. ", "The SSL connection could not be established, see inner exception.")]
        // .NET 8 and later end the proxy tunnel message with a stray double quote after its full stop.
        [InlineData("failed with status code '502'.\"", "failed with status code '502'.")]
        [InlineData("the server said \"no\"", "the server said \"no\".")]
        public void A_transport_failure_s_words_end_as_one_sentence(string detail, string sentence) =>
            Assert.Equal(sentence, ServiceCall.Sentence(detail));

        [Fact]
        public async Task No_request_asks_for_100_continue()
        {
            // .NET Framework adds "Expect: 100-continue" to every POST unless the request says no.
            var c = TestData.Connect(_fx.Sim, "DDS", scope: TestData.ProjectId);
            var call = new ServiceCall(c, NullOperationLog.Instance, CancellationToken.None);
            var request = new HttpRequestMessage(HttpMethod.Post, new Uri(c.Endpoint, $"v3/{TestData.ProjectId}/backups")) { Content = new StringContent("{}") };
            await call.SendAsync(request, isCreate: false, target: null);
            Assert.False(request.Headers.ExpectContinue);
        }

        private readonly SimulatorFixture _fx;

        public HttpClientFactoryTests(SimulatorFixture fx) => _fx = fx;

        /// <summary>A real socket handler that counts the requests it carried and says when it is disposed.</summary>
        private sealed class CountingChain : DelegatingHandler
        {
            public CountingChain(string name) : base(new HttpClientHandler()) => Name = name;
            public string Name { get; }
            public int Requests;
            public bool Disposed;

            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref Requests);
                return base.SendAsync(request, cancellationToken);
            }

            protected override void Dispose(bool disposing)
            {
                Disposed = true;
                base.Dispose(disposing);
            }
        }

        private sealed class Clock
        {
            public DateTime Now = new DateTime(2026, 11, 23, 0, 0, 0, DateTimeKind.Utc);
        }

        private Uri Counters => new Uri(_fx.Sim.BaseAddress, "_sim/counters");

        private static (BackupHttpClientFactory Factory, ConcurrentBag<CountingChain> Built, Clock Clock) NewFactory()
        {
            var built = new ConcurrentBag<CountingChain>();
            var clock = new Clock();
            var factory = new BackupHttpClientFactory(n => { var c = new CountingChain(n); built.Add(c); return c; }, TimeSpan.FromMinutes(10), () => clock.Now);
            return (factory, built, clock);
        }

        [Fact]
        public async Task A_wait_longer_than_the_handler_lifetime_moves_to_the_renewed_handler()
        {
            // A wait keeps one call per connection for hours: it must take the factory's current client per request,
            // not pin the first one (whose handler, and its connections' DNS answers, then outlived the lifetime).
            var (factory, built, clock) = NewFactory();
            var sim = _fx.Sim;
            sim.Reset();
            sim.Options.NotFoundWindow = TimeSpan.Zero;
            sim.Options.JobDuration = TimeSpan.FromSeconds(2);
            var c = TestData.Connect(sim, "DDS", scope: TestData.ProjectId);
            var job = await BackupService.StartAsync(c, new BackupRequest { InstanceId = TestData.DdsInstance, Name = TestData.UniqueName() }, NullOperationLog.Instance, CancellationToken.None);
            var engine = new BackupTools.Jobs.JobEngine(_ => c, NullOperationLog.Instance,
                new BackupTools.Jobs.WaitOptions { PollingInterval = TimeSpan.FromMilliseconds(100), MaxPollingInterval = TimeSpan.FromMilliseconds(200), Timeout = TimeSpan.FromSeconds(30) },
                (p, connection, ct) => new ServiceCall(connection, NullOperationLog.Instance, ct, clients: () => factory.SharedClient("DDS|sim")));
            var events = new RecordingEvents();
            var wait = engine.RunAsync(new[] { job }, events, CancellationToken.None);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (built.Sum(b => b.Requests) == 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
            clock.Now += TimeSpan.FromMinutes(11); // the first handler's lifetime is over
            await wait;
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
            Assert.Equal(2, built.Count);
            Assert.All(built, chain => Assert.True(chain.Requests > 0, $"{chain.Name}: no request"));
        }

        [Fact]
        public async Task ClientsOfOneNameShareOneChainAndDisposingThemLeavesItWorking()
        {
            var (factory, built, _) = NewFactory();
            for (var i = 0; i < 5; i++)
            {
                using var client = factory.CreateClient("DDS|http://127.0.0.1");
                using var response = await client.GetAsync(Counters);
                Assert.Equal(200, (int)response.StatusCode);
            }
            var chain = Assert.Single(built);
            Assert.Equal(5, chain.Requests);
            Assert.False(chain.Disposed);
        }

        [Fact]
        public async Task EachNameHasItsOwnChainBuiltOnceUnderConcurrentFirstUse()
        {
            var (factory, built, _) = NewFactory();
            var names = new[] { "DDS|a", "TaurusDB|a", "DDS|a|insecure" };
            await Task.WhenAll(Enumerable.Range(0, 60).Select(i => Task.Run(async () =>
            {
                using var client = factory.CreateClient(names[i % 3]);
                using var response = await client.GetAsync(Counters);
                response.EnsureSuccessStatusCode();
            })));
            Assert.Equal(3, built.Count);
            Assert.Equal(names.OrderBy(n => n), built.Select(c => c.Name).OrderBy(n => n));
            Assert.All(built, c => Assert.Equal(20, c.Requests));
        }

        [Fact]
        public async Task AfterItsLifetimeANameGetsANewChainAndTheOldOneGoesWhenItsLastClientDoes()
        {
            var (factory, built, clock) = NewFactory();
            var old = factory.CreateClient("DDS|x");
            (await old.GetAsync(Counters)).Dispose();

            clock.Now += TimeSpan.FromMinutes(9);
            using (var stillSame = factory.CreateClient("DDS|x")) (await stillSame.GetAsync(Counters)).Dispose();
            Assert.Single(built);

            clock.Now += TimeSpan.FromMinutes(2); // 11 minutes: expired
            using (var renewed = factory.CreateClient("DDS|x")) (await renewed.GetAsync(Counters)).Dispose();
            Assert.Equal(2, built.Count);
            var first = built.Single(c => c.Requests == 2);
            var second = built.Single(c => c.Requests == 1);

            // A client made before expiry still works, and keeps its chain alive.
            (await old.GetAsync(Counters)).Dispose();
            Assert.Equal(3, first.Requests);
            GC.KeepAlive(old);
            factory.CleanUp();
            Assert.False(first.Disposed);
            Assert.Equal(1, factory.ExpiredCount);

            // Once no client of the old chain is left, it is disposed; the current one never is.
            old.Dispose();
            old = null;
            await DropAndCollect(factory);
            Assert.True(first.Disposed);
            Assert.False(second.Disposed);
            Assert.Equal(0, factory.ExpiredCount);
        }

        [Fact]
        public async Task TheSharedClientIsOnePerChainAndIsRenewedWithIt()
        {
            var (factory, built, clock) = NewFactory();
            var first = factory.SharedClient("DDS|x");
            Assert.Same(first, factory.SharedClient("DDS|x"));
            Assert.NotSame(first, factory.SharedClient("DDS|y"));
            (await first.GetAsync(Counters)).Dispose();

            clock.Now += TimeSpan.FromMinutes(11);
            var renewed = factory.SharedClient("DDS|x");
            Assert.NotSame(first, renewed);
            (await renewed.GetAsync(Counters)).Dispose();
            Assert.Equal(new[] { 1, 1 }, built.Where(c => c.Name == "DDS|x").Select(c => c.Requests));
        }

        [Fact]
        public async Task NamesUsedOnceHaveTheirChainsRetiredOnceTheirLifetimeIsOverAndAClientStillHeldKeepsWorking()
        {
            // A days-long session: endpoints used once each kept their chain (and pooled connections) for good, as an
            // expired chain was retired only when its own name was used again.
            var (factory, built, clock) = NewFactory();
            for (var i = 0; i < 50; i++) factory.SharedClient("DDS|once" + i);
            var held = factory.CreateClient("DDS|held");
            (await held.GetAsync(Counters)).Dispose();

            clock.Now += TimeSpan.FromMinutes(11);
            factory.SharedClient("DDS|live");
            Assert.Equal(new[] { "DDS|live" }, factory.Names.ToArray());

            // Retired as an expired name is: a client still held keeps its chain working and undisposed.
            (await held.GetAsync(Counters)).Dispose();
            var heldChain = built.Single(c => c.Name == "DDS|held");
            Assert.Equal(2, heldChain.Requests);
            factory.CleanUp();
            Assert.False(heldChain.Disposed);
            GC.KeepAlive(held);

            // Once nothing uses them, the retired chains are disposed; the live one is not.
            held.Dispose();
            held = null;
            await DropAndCollect(factory);
            Assert.Equal(0, factory.ExpiredCount);
            Assert.All(built.Where(c => c.Name != "DDS|live"), c => Assert.True(c.Disposed, c.Name));
            Assert.False(built.Single(c => c.Name == "DDS|live").Disposed);
        }

        [Fact]
        public void TheModulesClientsHaveNoTimeoutOfTheirOwn()
        {
            // Timeouts are ServiceCall's (-RequestTimeout) and the wait's (-Timeout), never HttpClient's 100 s default.
            using var client = BackupHttp.ClientFactory.CreateClient(BackupHttp.ClientName("DDS", new Uri("http://127.0.0.1:1/"), false));
            Assert.Equal(Timeout.InfiniteTimeSpan, client.Timeout);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static async Task DropAndCollect(BackupHttpClientFactory factory)
        {
            for (var i = 0; i < 10 && factory.ExpiredCount > 0; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
                factory.CleanUp();
                await Task.Delay(10);
            }
        }
    }
}
