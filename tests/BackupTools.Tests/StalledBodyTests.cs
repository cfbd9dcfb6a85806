using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Http;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// An answer whose headers arrive and whose body stops halfway (a proxy or a server that hangs mid-answer) must not
    /// hold a wait forever: the request's timeout cuts the body off too, and the status read is repeated as any
    /// timed-out read is.
    /// </summary>
    public sealed class StalledBodyTests : IClassFixture<SimulatorFixture>
    {
        private readonly BackupSimulator _sim;

        public StalledBodyTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
        }

        [Theory]
        [InlineData("DDS")]
        [InlineData("TaurusDB")]
        public async Task A_status_read_whose_body_stalls_times_out_and_is_repeated(string provider)
        {
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            var c = TestData.Connect(_sim, provider, scope: TestData.ProjectId);
            var request = provider == "DDS"
                ? new BackupRequest { InstanceId = TestData.DdsInstance, Name = "stall-" + Guid.NewGuid().ToString("N").Substring(0, 8) }
                : new BackupRequest { InstanceId = TestData.TaurusInstance, Name = "stall-" + Guid.NewGuid().ToString("N").Substring(0, 8) };
            var job = await BackupService.StartAsync(c, request, NullOperationLog.Instance, CancellationToken.None);
            _sim.Faults.Add(new FaultRule { Provider = provider, Method = "GET", Kind = FaultKind.StalledBody, Times = 1 });
            // 3 s: the repeat, a plain read, must be answered within the timeout too (1 s is not always enough on 2 busy
            // cores, and a repeat cut off as well ends the read); the stalled body still never comes.
            var options = new CreateRetryOptions { RequestTimeout = TimeSpan.FromSeconds(3), ReadRetries = 1, BaseDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(50) };

            var watch = Stopwatch.StartNew();
            var refresh = BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None, options);
            var first = await Task.WhenAny(refresh, Task.Delay(TimeSpan.FromSeconds(30)));
            Assert.True(first == refresh, "the read was still waiting for the rest of the body after 30 s");
            var read = await refresh;
            Assert.Equal(BackupJobState.Running, read.State);
            Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(2.9), $"answered after {watch.ElapsedMilliseconds} ms: the stalled answer was not the one read");
            Assert.Equal(2, _sim.Counters.StatusReadsFor(provider, job.JobId));
        }

        [Fact]
        public async Task A_body_stalled_on_a_stream_deaf_to_its_token_is_cut_off_by_the_timeout()
        {
            // .NET Framework's response stream ignores the token its reads are given (dotnet/corefx#34325), so on
            // Windows PowerShell 5.1 the request's timeout did not reach a body stalled halfway. The same real request
            // over loopback, its answer read through a stream that ignores tokens as that one does.
            var c = TestData.Connect(_sim, "DDS", scope: TestData.ProjectId);
            _sim.Faults.Add(new FaultRule { Provider = "DDS", Method = "GET", Kind = FaultKind.StalledBody, Times = 1 });
            using var client = new System.Net.Http.HttpClient(new DeafBodyHandler(new System.Net.Http.SocketsHttpHandler()));
            var call = new ServiceCall(c, NullOperationLog.Instance, CancellationToken.None, client) { RequestTimeout = TimeSpan.FromSeconds(1) };
            var request = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Get, new Uri(c.Endpoint, $"v3/{TestData.ProjectId}/jobs?id=stalled"));
            request.Headers.TryAddWithoutValidation("X-Auth-Token", TestData.Token);
            var send = call.SendAsync(request, isCreate: false, target: null);
            var first = await Task.WhenAny(send, Task.Delay(TimeSpan.FromSeconds(30)));
            Assert.True(first == send, "the read was still waiting for the rest of the body after 30 s");
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => send);
            Assert.Equal(BackupErrorCategory.OperationTimeout, ex.Category);
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public async Task A_creates_acceptance_whose_body_stalls_is_kept_with_its_body_marked_cut_off(bool deafStream)
        {
            // The 202 and its Operation-Location arrived; only the body stalled. A create's acceptance is handed on with
            // its status and headers (the body empty, not a part of it), where it was thrown away as "no answer within".
            var c = TestData.Connect(_sim, "Dataverse", scope: null);
            _sim.Faults.Add(new FaultRule { Provider = "Dataverse", Method = "POST", Kind = FaultKind.StalledBody, Times = 1 });
            using var client = deafStream
                ? new System.Net.Http.HttpClient(new DeafBodyHandler(new System.Net.Http.SocketsHttpHandler()))
                : new System.Net.Http.HttpClient();
            // 3 s for the status and headers on 2 busy cores (with 1 s they could come after the timeout: no acceptance to
            // keep); the body stalls for good.
            var call = new ServiceCall(c, NullOperationLog.Instance, CancellationToken.None, client) { RequestTimeout = TimeSpan.FromSeconds(3) };
            var request = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Post, new Uri(c.Endpoint, "api/v1.2/InstanceBackups"))
            {
                Content = new System.Net.Http.StringContent("{\"InstanceId\":\"" + Guid.NewGuid() + "\",\"Label\":\"cut-off\"}", System.Text.Encoding.UTF8, "application/json"),
            };
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + TestData.Token);
            var send = call.SendAsync(request, isCreate: true, target: null);
            var first = await Task.WhenAny(send, Task.Delay(TimeSpan.FromSeconds(30)));
            Assert.True(first == send, "the create was still waiting for the rest of the body after 30 s");
            var response = await send;
            Assert.Equal(202, response.Status);
            Assert.Contains("/api/v1.2/Operation/", response.Headers["Operation-Location"]);
            Assert.Equal("no more of it within 3 s", response.CutOff);
            Assert.Equal(string.Empty, response.Body);
            Assert.Null(response.Json);
            var invalid = Assert.Throws<BackupToolsException>(() => response.RequireJsonObject(null));
            Assert.Contains("answered HTTP 202 with a body that was cut off (no more of it within 3 s)", invalid.Message);
        }

        /// <summary>Answers through a stream whose reads ignore their token, as .NET Framework's response stream does.</summary>
        private sealed class DeafBodyHandler : System.Net.Http.DelegatingHandler
        {
            public DeafBodyHandler(System.Net.Http.HttpMessageHandler inner) : base(inner) { }

            protected override async Task<System.Net.Http.HttpResponseMessage> SendAsync(System.Net.Http.HttpRequestMessage request, CancellationToken ct)
            {
                var response = await base.SendAsync(request, ct);
                var original = response.Content;
                var content = new System.Net.Http.StreamContent(new DeafStream(await original.ReadAsStreamAsync(ct)));
                foreach (var h in original.Headers) content.Headers.TryAddWithoutValidation(h.Key, h.Value);
                response.Content = content;
                return response;
            }
        }

        private sealed class DeafStream : System.IO.Stream
        {
            private readonly System.IO.Stream _inner;
            public DeafStream(System.IO.Stream inner) => _inner = inner;
            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => _inner.ReadAsync(buffer, offset, count, CancellationToken.None);
            public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => _inner.ReadAsync(buffer, CancellationToken.None);
            public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
            protected override void Dispose(bool disposing) { if (disposing) _inner.Dispose(); base.Dispose(disposing); }
            public override bool CanRead => true;
            public override bool CanSeek => false;
            public override bool CanWrite => false;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
            public override void Flush() { }
            public override long Seek(long offset, System.IO.SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        }
    }

    /// <summary>Bodies are decoded as HttpContent.ReadAsStringAsync decodes them: a byte order mark first, then the declared charset, else UTF-8.</summary>
    public sealed class BodyDecodingTests
    {
        [Theory]
        [InlineData(new byte[] { 0xEF, 0xBB, 0xBF, (byte)'{', (byte)'}' }, null, "{}")]
        [InlineData(new byte[] { 0xFF, 0xFE, (byte)'{', 0, (byte)'}', 0 }, "utf-8", "{}")]
        [InlineData(new byte[] { 0xFE, 0xFF, 0, (byte)'{', 0, (byte)'}' }, null, "{}")]
        [InlineData(new byte[] { 0x63, 0x61, 0x66, 0xE9 }, "iso-8859-1", "café")]
        [InlineData(new byte[] { 0x63, 0x61, 0x66, 0xC3, 0xA9 }, null, "café")]
        [InlineData(new byte[] { 0x63, 0x61, 0x66, 0xC3, 0xA9 }, "\"utf-8\"", "café")]
        [InlineData(new byte[] { 0x63, 0x61, 0x66, 0xC3, 0xA9 }, "no-such-charset", "café")]
        public void A_body_is_decoded_by_its_mark_its_charset_or_as_UTF_8(byte[] bytes, string charset, string expected)
        {
            var padded = new byte[bytes.Length + 4];
            System.Array.Copy(bytes, padded, bytes.Length);
            Assert.Equal(expected, BackupTools.Http.ServiceCall.Decode(padded, bytes.Length, charset));
        }
    }
}
