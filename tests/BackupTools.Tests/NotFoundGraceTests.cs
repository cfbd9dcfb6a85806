using System;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Jobs;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// "Job not found" after a TaurusDB create is "still starting" for a minute, measured from the later of the service's
    /// begin time and this machine's own sight of the job: a service clock behind ours must not shorten it.
    /// </summary>
    [Collection(TimingCollection.Name)]
    public sealed class NotFoundGraceTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;

        public NotFoundGraceTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
        }

        public void Dispose() => _sim.Reset();

        [Fact]
        public async Task A_service_clock_behind_ours_does_not_shorten_the_not_found_grace()
        {
            // The service's begin time 57 s behind this machine's clock (still within the minute it is believed for), and a
            // job id the service does not know (yet): 404 DBS.200823 on every read.
            var began = DateTimeOffset.UtcNow.AddSeconds(-57).ToOffset(TimeSpan.FromHours(8));
            _sim.Faults.Add(new FaultRule
            {
                Provider = "TaurusDB", Method = "POST", PathContains = "/backups/create", StatusCode = 201, Times = 1,
                Body = "{\"job_id\":\"ffc5d4e3-0000-4000-8000-00000000beef\",\"backup\":{\"id\":\"0123456789abcdef0123456789abcdefbr01\"," +
                       "\"name\":\"grace-check\",\"begin_time\":\"" + began.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + "+0800\"," +
                       "\"status\":\"BUILDING\"}}",
            });
            var c = TestData.Connect(_sim, "TaurusDB");
            var job = await BackupService.StartAsync(c, new BackupRequest { InstanceId = TestData.TaurusInstance, Name = "grace-check" },
                NullOperationLog.Instance, CancellationToken.None);
            Assert.True(DateTimeOffset.UtcNow - job.CreatedAt > TimeSpan.FromSeconds(55), "the service's begin time is the job's start");

            // A wait of 5 s takes the job past a minute from the service's begin time: it is still starting, not gone.
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job }, new WaitOptions
            {
                PollingInterval = TimeSpan.FromMilliseconds(250), MaxPollingInterval = TimeSpan.FromMilliseconds(500), Timeout = TimeSpan.FromSeconds(5),
            });
            Assert.Empty(events.Errors);
            Assert.Single(events.TimedOut);

            var read = await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal("NotFound (starting)", read.RawStatus);
        }
    }
}
