using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Http;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// On .NET (PowerShell 7) the socket handler limits how long a connection may take to open: a host that drops the
    /// packets fails after 15 s, not after the request's whole limit, and a create that fails so created nothing.
    /// </summary>
    public sealed class ConnectTimeoutTests
    {
        [Fact]
        public void The_handler_limits_how_long_a_connection_may_take_to_open()
        {
            using var chain = (DelegatingHandler)BackupHttp.CreateHandlerChain("TaurusDB|https://gaussdb.example.com");
            var handler = Assert.IsType<HttpClientHandler>(chain.InnerHandler);
            // The SocketsHttpHandler it passes everything to on .NET, where the connect timeout is set.
            var sockets = Assert.IsType<SocketsHttpHandler>(typeof(HttpClientHandler)
                .GetField("_underlyingHandler", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic)?.GetValue(handler));
            Assert.Equal(TimeSpan.FromSeconds(15), BackupHttp.ConnectTimeout);
            Assert.Equal(BackupHttp.ConnectTimeout, sockets.ConnectTimeout);
            Assert.False(sockets.AllowAutoRedirect); // (the one handler behind the other's settings)
            // A call on the factory's clients names that timeout when it passes.
            Assert.Equal(BackupHttp.ConnectTimeout, new ServiceCall(BackupService.Connect(new ConnectRequest
            {
                Provider = "TaurusDB", Endpoint = new Uri("https://gaussdb.example.com/"), Scope = TestData.ProjectId, AccessToken = TestData.Secure(TestData.Token),
            }), NullOperationLog.Instance, CancellationToken.None).ConnectTimeout);
        }

        [Fact]
        public async Task A_create_to_a_host_that_never_completes_the_connection_fails_as_not_sent_when_the_connect_timeout_passes()
        {
            // A listener whose queue of connections is full: the kernel drops further connection requests, as a host
            // behind a firewall that drops packets does. Before, the request waited out its whole limit and a create
            // ended "may have started" (BackupCreateOutcomeUnknown).
            using var full = new FullListener();
            var c = BackupService.Connect(new ConnectRequest
            {
                Provider = "TaurusDB", Endpoint = new Uri($"http://127.0.0.1:{full.Port}/taurusdb/"), Scope = TestData.ProjectId, AccessToken = TestData.Secure(TestData.Token),
            });
            using var client = new HttpClient(BackupHttp.CreatePrimaryHandler(false, true, TimeSpan.FromMilliseconds(500))) { Timeout = Timeout.InfiniteTimeSpan };
            var call = new ServiceCall(c, NullOperationLog.Instance, CancellationToken.None, client) { RequestTimeout = TimeSpan.FromSeconds(8), ConnectTimeout = TimeSpan.FromMilliseconds(500) };
            var watch = Stopwatch.StartNew();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => call.SendAsync(
                new HttpRequestMessage(HttpMethod.Post, new Uri(c.Endpoint, $"v3/{TestData.ProjectId}/backups/create")) { Content = new StringContent("{}") }, isCreate: true, "the create"));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), watch.Elapsed.ToString());
            Assert.Equal(ErrorIds.BackupServiceUnreachable, ex.ErrorId);
            Assert.Equal(BackupErrorCategory.ConnectionError, ex.Category);
            Assert.Contains("could not connect within 0.5 s", ex.Message); // the handler's, not the process's 15 s
            Assert.Contains("Nothing was created.", ex.Message);
        }

        /// <summary>A loopback listener that accepts nothing, with its queue filled: a new connection never completes.</summary>
        private sealed class FullListener : IDisposable
        {
            private readonly Socket _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            private readonly List<Socket> _fillers = new List<Socket>();

            public FullListener()
            {
                _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                _listener.Listen(0);
                Port = ((IPEndPoint)_listener.LocalEndPoint).Port;
                for (var i = 0; i < 4; i++)
                {
                    var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
                    try { filler.Connect(IPAddress.Loopback, Port); } catch (SocketException) { }
                    _fillers.Add(filler);
                }
                Thread.Sleep(200);
            }

            public int Port { get; }

            public void Dispose()
            {
                foreach (var filler in _fillers) filler.Dispose();
                _listener.Dispose();
            }
        }
    }
}
