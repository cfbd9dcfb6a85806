using System;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Http;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// These tests set the process's default proxy (HttpClient.DefaultProxy, what HTTP_PROXY sets): they run alone, after
    /// the parallel tests, so no other test's handler is built while it points at the fake proxy.
    /// </summary>
    [Xunit.CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class ProcessProxyCollection
    {
        public const string Name = "ProcessProxy";
    }

    /// <summary>A loopback endpoint is never reached through a proxy: a plain-HTTP token would travel to it in clear text.</summary>
    [Collection(ProcessProxyCollection.Name)]
    public sealed class LoopbackProxyTests
    {
        [Theory]
        [InlineData("DDS|http://127.0.0.1:5000", false)]
        [InlineData("DDS|http://localhost:5000|insecure", false)]
        [InlineData("ArcGIS|https://[::1]:7443", false)]
        [InlineData("TaurusDB|https://gaussdb.example.com", true)]
        public void A_handler_for_a_loopback_address_uses_no_proxy(string name, bool usesProxy)
        {
            var chain = (DelegatingHandler)BackupHttp.CreateHandlerChain(name);
            using (chain)
                Assert.Equal(usesProxy, ((HttpClientHandler)chain.InnerHandler).UseProxy);
        }

        [Fact]
        public async Task A_backup_on_a_loopback_endpoint_goes_to_it_and_not_to_the_process_s_proxy()
        {
            // A real listener acting as the proxy HTTP_PROXY names; it records what reached it and answers 502.
            var seen = new ConcurrentQueue<string>();
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var proxyLoop = ServeAsProxy(listener, seen);
            var before = HttpClient.DefaultProxy;
            try
            {
                HttpClient.DefaultProxy = new WebProxy("http://127.0.0.1:" + ((IPEndPoint)listener.LocalEndpoint).Port);
                // A simulator of its own: its new port is a new client name, so a handler is built while the proxy is set.
                await using var sim = await BackupSimulator.StartAsync(new SimulatorOptions());
                var c = TestData.Connect(sim, "DDS");
                var job = await BackupService.StartAsync(c, new BackupRequest { InstanceId = TestData.DdsInstance, Name = TestData.UniqueName() },
                    NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry(busy: 0, notProcessed: 0));
                Assert.NotNull(job.JobId);
                Assert.Equal(1, sim.Counters.BackupsFor("DDS", TestData.DdsInstance));
                Assert.Empty(seen);
            }
            finally
            {
                HttpClient.DefaultProxy = before;
                listener.Stop();
                await Task.WhenAny(proxyLoop, Task.Delay(5000));
            }
            Assert.DoesNotContain(seen, s => s.Contains(TestData.Token));
        }

        private static async Task ServeAsProxy(TcpListener listener, ConcurrentQueue<string> seen)
        {
            while (true)
            {
                TcpClient client;
                try
                {
                    client = await listener.AcceptTcpClientAsync();
                }
                catch (Exception)
                {
                    return; // stopped
                }
                using (client)
                {
                    var stream = client.GetStream();
                    var head = new StringBuilder();
                    var buffer = new byte[4096];
                    int n;
                    while (!head.ToString().Contains("\r\n\r\n") && (n = await stream.ReadAsync(buffer, 0, buffer.Length)) > 0)
                        head.Append(Encoding.ASCII.GetString(buffer, 0, n));
                    seen.Enqueue(head.ToString());
                    var answer = Encoding.ASCII.GetBytes("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    await stream.WriteAsync(answer, 0, answer.Length);
                }
            }
        }
    }
}
