using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Jobs;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// A proxy that will not open the tunnel to the service (it answers CONNECT with 502, as a corporate proxy does for
    /// a service it cannot reach). .NET's words about it quote the proxy's address, with the user name and password
    /// PowerShell 7 takes from HTTPS_PROXY=http://user:pass@proxy:port: the password is never in what the user gets.
    /// And a create the proxy refused never reached the service: nothing was created.
    /// </summary>
    [Collection(ProcessProxyCollection.Name)]
    public sealed class ProxyRefusalTests
    {
        private const string ProxyPassword = "Pr0xyPassw0rdXYZ";

        [Fact]
        public async Task A_create_s_error_and_verbose_lines_never_show_the_proxy_s_password()
        {
            await using var proxy = RefusingProxy.Start(withPassword: true);
            var c = Connect("dds.create");
            var log = new ListLog();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(c,
                new BackupRequest { InstanceId = TestData.DdsInstance, Name = TestData.UniqueName() },
                log, CancellationToken.None, TestData.FastRetry(busy: 0, notProcessed: 0)));
            AssertNoPassword(ex, log);
            // What .NET said is kept, the proxy's address with its user info masked, in an exception of the same kind.
            Assert.Contains("'http://***@127.0.0.1:", ex.Message);
            var inner = Assert.IsType<HttpRequestException>(ex.InnerException);
            Assert.Equal(HttpRequestError.ProxyTunnelError, inner.HttpRequestError);
        }

        [Fact]
        public async Task A_status_read_s_error_and_a_wait_s_verbose_lines_never_show_the_proxy_s_password()
        {
            await using var proxy = RefusingProxy.Start(withPassword: true);
            var c = Connect("dds.read");
            var job = new BackupJob("DDS", c.Endpoint.ToString(), "job-behind-proxy", scope: TestData.ProjectId);

            var log = new ListLog();
            var read = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.RefreshAsync(c, job, log, CancellationToken.None,
                TestData.FastRetry()));
            Assert.Equal(ErrorIds.BackupServiceUnreachable, read.ErrorId);
            AssertNoPassword(read, log);

            // A wait: its first failed read is told in a verbose line, its second gives the job up.
            var events = new RecordingEvents();
            var waitLog = new ListLog();
            await BackupService.WaitAsync(new[] { job }, _ => c,
                new WaitOptions { PollingInterval = TimeSpan.FromMilliseconds(20), MaxConsecutiveReadFailures = 2 }, events, waitLog, CancellationToken.None);
            var error = Assert.Single(events.Errors);
            Assert.Contains(waitLog.Lines, l => l.Contains("status read failed"));
            AssertNoPassword(error, waitLog);
        }

        [Fact]
        public async Task A_sign_in_s_error_never_shows_the_proxy_s_password()
        {
            await using var proxy = RefusingProxy.Start(withPassword: true);
            var c = BackupService.Connect(new ConnectRequest
            {
                Provider = "DDS",
                Endpoint = UnreachableEndpoint("dds.sign-in"),
                IdentityEndpoint = UnreachableEndpoint("iam.sign-in"),
                Scope = TestData.ProjectId,
                UserName = "admin",
                Password = TestData.Secure("sim-password"),
            });
            var log = new ListLog();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(c,
                new BackupRequest { InstanceId = TestData.DdsInstance, Name = TestData.UniqueName() },
                log, CancellationToken.None, TestData.FastRetry(busy: 0, notProcessed: 0)));
            Assert.Contains("iam.sign-in", ex.Message);
            AssertNoPassword(ex, log);
        }

        [Fact]
        public async Task A_token_provider_s_failure_never_shows_a_proxy_password_it_quotes()
        {
            // A -TokenProvider script whose own request went through the same proxy: its error quotes the address.
            var said = $"The proxy tunnel request to proxy 'http://alice:{ProxyPassword}@proxy.corp.example.com:3128/' failed with status code '407'.";
            var c = BackupService.Connect(new ConnectRequest
            {
                Provider = "Dataverse",
                Endpoint = UnreachableEndpoint("dataverse.token-provider"),
                TokenProvider = (_, _) => throw new InvalidOperationException("The script failed: " + said,
                    new HttpRequestException(HttpRequestError.ProxyTunnelError, said)),
            });
            var log = new ListLog();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(c,
                new BackupRequest { InstanceId = "6f0e2a7c-3b1d-4c55-9a1e-2d4b8f7c9e01", Name = TestData.UniqueName() },
                log, CancellationToken.None, TestData.FastRetry(busy: 0, notProcessed: 0)));
            Assert.Contains("'http://***@proxy.corp.example.com:3128/'", ex.Message);
            AssertNoPassword(ex, log);
            // Still known as a network failure (a wait's reads ask the script again), by the kinds kept in the chain.
            Assert.IsType<HttpRequestException>(Assert.IsType<InvalidOperationException>(ex.InnerException).InnerException);
        }

        [Fact]
        public async Task A_failure_no_rule_foresaw_in_a_wait_never_shows_a_proxy_password_it_quotes()
        {
            // Whatever the caller's connection lookup throws ends that job's wait, reported with the failure's words.
            var job = new BackupJob("DDS", "https://dds.example.com/", "job-1", scope: TestData.ProjectId);
            var events = new RecordingEvents();
            var log = new ListLog();
            await BackupService.WaitAsync(new[] { job }, _ => throw new HttpRequestException(HttpRequestError.ProxyTunnelError,
                    $"The proxy tunnel request to proxy 'http://alice:{ProxyPassword}@127.0.0.1:3128/' failed with status code '503'."),
                new WaitOptions(), events, log, CancellationToken.None);
            var error = Assert.Single(events.Errors);
            Assert.Equal(ErrorIds.BackupJobInvalid, error.ErrorId);
            Assert.Contains("'http://***@127.0.0.1:3128/'", error.Message);
            AssertNoPassword(error, log);
        }

        [Fact]
        public async Task A_create_the_proxy_refused_to_tunnel_created_nothing_and_is_tried_again()
        {
            await using var proxy = RefusingProxy.Start(withPassword: false);
            var c = Connect("dds.not-sent");
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(c,
                new BackupRequest { InstanceId = TestData.DdsInstance, Name = TestData.UniqueName() },
                NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry(busy: 0, notProcessed: 2)));
            // Not one byte of the create went past the proxy: "nothing was created", and repeated as a refused connection is.
            Assert.Equal(ErrorIds.BackupServiceUnreachable, ex.ErrorId);
            Assert.EndsWith("failed with status code '502'. Nothing was created.", ex.Message);
            Assert.Equal(3, proxy.Connects);
        }

        private static Uri UnreachableEndpoint(string label) =>
            // A host of its own per test: a new client name, so its handler is built while the proxy is set.
            new Uri($"https://{label}-{Guid.NewGuid().ToString("N").Substring(0, 8)}.example.com/");

        private static BackupConnection Connect(string label) => BackupService.Connect(new ConnectRequest
        {
            Provider = "DDS",
            Endpoint = UnreachableEndpoint(label),
            Scope = TestData.ProjectId,
            AccessToken = TestData.Secure(TestData.Token),
        });

        /// <summary>The password is in no message of the error's chain, not in its ToString() (inner stacks included), not in a log line.</summary>
        private static void AssertNoPassword(BackupToolsException ex, ListLog log)
        {
            var shown = new StringBuilder();
            for (Exception e = ex; e != null; e = e.InnerException) shown.AppendLine(e.Message);
            shown.AppendLine(ex.ToString());
            foreach (var line in log.Lines) shown.AppendLine(line);
            Assert.False(shown.ToString().Contains(ProxyPassword), "The proxy's password is shown:\n" + shown);
        }

        /// <summary>
        /// A proxy on loopback that answers every CONNECT with 502 Bad Gateway, set as the process's default proxy
        /// (HttpClient.DefaultProxy) until disposed: with a password, as .NET builds it from HTTPS_PROXY on Linux and
        /// macOS (HttpEnvironmentProxy, PowerShell 7's), or without.
        /// </summary>
        private sealed class RefusingProxy : IAsyncDisposable
        {
            private readonly TcpListener _listener;
            private readonly IWebProxy _before;
            private readonly Task _loop;
            private int _connects;

            private RefusingProxy(bool withPassword)
            {
                _listener = new TcpListener(IPAddress.Loopback, 0);
                _listener.Start();
                var address = $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
                _before = HttpClient.DefaultProxy;
                HttpClient.DefaultProxy = withPassword ? EnvironmentProxy($"http://alice:{ProxyPassword}@{address}") : new WebProxy("http://" + address);
                _loop = ServeAsync();
            }

            public static RefusingProxy Start(bool withPassword) => new RefusingProxy(withPassword);

            /// <summary>The CONNECT requests it refused.</summary>
            public int Connects => Volatile.Read(ref _connects);

            public async ValueTask DisposeAsync()
            {
                HttpClient.DefaultProxy = _before;
                _listener.Stop();
                await Task.WhenAny(_loop, Task.Delay(5000));
            }

            private static IWebProxy EnvironmentProxy(string value)
            {
                var before = Environment.GetEnvironmentVariable("HTTPS_PROXY");
                try
                {
                    Environment.SetEnvironmentVariable("HTTPS_PROXY", value);
                    var type = typeof(HttpClient).Assembly.GetType("System.Net.Http.HttpEnvironmentProxy", throwOnError: true);
                    var tryCreate = type.GetMethod("TryCreate", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic);
                    var args = new object[] { null };
                    Assert.True((bool)tryCreate.Invoke(null, args));
                    return (IWebProxy)args[0];
                }
                finally
                {
                    Environment.SetEnvironmentVariable("HTTPS_PROXY", before);
                }
            }

            private async Task ServeAsync()
            {
                var answers = new List<Task>();
                while (true)
                {
                    TcpClient client;
                    try
                    {
                        client = await _listener.AcceptTcpClientAsync();
                    }
                    catch (Exception)
                    {
                        break; // stopped
                    }
                    answers.Add(RefuseAsync(client));
                }
                await Task.WhenAll(answers);
            }

            private async Task RefuseAsync(TcpClient client)
            {
                using (client)
                {
                    var stream = client.GetStream();
                    var head = new StringBuilder();
                    var buffer = new byte[4096];
                    int n;
                    while (!head.ToString().Contains("\r\n\r\n") && (n = await stream.ReadAsync(buffer, 0, buffer.Length)) > 0)
                        head.Append(Encoding.ASCII.GetString(buffer, 0, n));
                    if (head.ToString().StartsWith("CONNECT ", StringComparison.Ordinal)) Interlocked.Increment(ref _connects);
                    var answer = Encoding.ASCII.GetBytes("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    await stream.WriteAsync(answer, 0, answer.Length);
                }
            }
        }
    }
}
