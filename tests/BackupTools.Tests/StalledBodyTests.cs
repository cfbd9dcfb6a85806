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
            var options = new CreateRetryOptions { RequestTimeout = TimeSpan.FromSeconds(1), ReadRetries = 1, BaseDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(50) };

            var watch = Stopwatch.StartNew();
            var refresh = BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None, options);
            var first = await Task.WhenAny(refresh, Task.Delay(TimeSpan.FromSeconds(30)));
            Assert.True(first == refresh, "the read was still waiting for the rest of the body after 30 s");
            var read = await refresh;
            Assert.Equal(BackupJobState.Running, read.State);
            Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(0.9), $"answered after {watch.ElapsedMilliseconds} ms: the stalled answer was not the one read");
            Assert.Equal(2, _sim.Counters.StatusReadsFor(provider, job.JobId));
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
