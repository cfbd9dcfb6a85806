using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// A log that says its verbose lines would be dropped (a cmdlet run without -Verbose) gets no line per HTTP call:
    /// none is built or queued. One that wants them gets both lines of each call.
    /// </summary>
    public sealed class VerboseAwareLogTests : IClassFixture<SimulatorFixture>
    {
        private readonly BackupSimulator _sim;

        public VerboseAwareLogTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
        }

        private sealed class Log : IOperationLog, IVerboseAware
        {
            public Log(bool wanted) => VerboseWanted = wanted;
            public bool VerboseWanted { get; }
            public List<string> Lines { get; } = new List<string>();
            public void Verbose(string message) { lock (Lines) Lines.Add(message); }
            public void Debug(string message) { }
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public async Task Http_lines_are_written_only_when_the_log_wants_them(bool wanted)
        {
            var c = TestData.Connect(_sim, "DDS", scope: TestData.ProjectId);
            var log = new Log(wanted);
            var job = await BackupService.StartAsync(c, new BackupRequest { InstanceId = TestData.DdsInstance, Name = "va-" + wanted.ToString().ToLowerInvariant() + "-" + System.Guid.NewGuid().ToString("N").Substring(0, 6) },
                log, CancellationToken.None);
            await BackupService.RefreshAsync(c, job, log, CancellationToken.None);
            var http = log.Lines.Where(l => l.StartsWith("HTTP ")).ToList();
            if (wanted)
            {
                Assert.Contains(http, l => l.StartsWith("HTTP POST ") && l.Contains(" -> 20"));
                Assert.Contains(http, l => l.StartsWith("HTTP GET ") && l.Contains(" -> 200"));
            }
            else Assert.Empty(http);
        }
    }
}
