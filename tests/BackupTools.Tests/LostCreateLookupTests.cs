using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// After a create's answer is lost, TaurusDB and DDS look for its backup by name. What that lookup may claim, and
    /// what a stop during it must still say.
    /// </summary>
    public sealed class LostCreateLookupTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;

        public LostCreateLookupTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromSeconds(30);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
        }

        public void Dispose() => _sim.Reset();

        private static string InstanceOf(string provider) => provider == "DDS" ? TestData.DdsInstance : TestData.TaurusInstance;

        private static BackupRequest Request(string provider, string name) => new BackupRequest { InstanceId = InstanceOf(provider), Name = name };

        [Theory]
        [InlineData("TaurusDB")]
        [InlineData("DDS")]
        public async Task A_stop_during_the_lookup_of_a_lost_create_says_the_backup_may_have_started(string provider)
        {
            // The service makes the backup and the answer is lost (DDS repeats it and is told the name exists); the
            // lookup by name is slow, and the caller stops meanwhile. Before, that was a plain cancellation: no word
            // of the backup the service holds.
            _sim.Faults.Add(new FaultRule { Provider = provider, Method = "POST", Kind = FaultKind.DropAfterRead, Times = 1 });
            _sim.Faults.Add(new FaultRule { Provider = provider, Method = "GET", PathContains = "/backups", Delay = TimeSpan.FromSeconds(20), Times = 1 });
            using var stop = new CancellationTokenSource();
            var name = TestData.UniqueName("lookup-stop");
            var start = BackupService.StartAsync(TestData.Connect(_sim, provider), Request(provider, name), NullOperationLog.Instance, stop.Token, TestData.FastRetry());
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (_sim.Faults.Count > 0 && !start.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.Equal(0, _sim.Faults.Count); // the slow lookup is under way
            await Task.Delay(300);
            stop.Cancel();
            var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => start);
            Assert.IsType<BackupService.CreateCutOffException>(ex);
            Assert.True(BackupService.CreateMayHaveStarted(ex));
            Assert.Contains(name, ex.Message);
            Assert.Equal(1, _sim.Counters.BackupsFor(provider, InstanceOf(provider)));
        }
    }
}
