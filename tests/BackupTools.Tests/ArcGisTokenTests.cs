using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>What an ArcGIS create sends as its token (form field and header), against the simulator over loopback.</summary>
    public sealed class ArcGisTokenTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const string Provider = "ArcGIS";
        private readonly BackupSimulator _sim;

        public ArcGisTokenTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(400);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
        }

        public void Dispose() => _sim.Reset();

        private static BackupRequest Request() => new BackupRequest
        {
            Kind = BackupKind.DisasterRecovery,
            Name = TestData.UniqueName("dr"),
            Passcode = TestData.Secure("Zq7-passcode-XYZ"),
        };

        [Theory]
        [InlineData(TestData.Token + "\n")]          // Get-Content -Raw of a token file
        [InlineData(TestData.Token + "\r\n")]
        [InlineData("Bearer " + TestData.Token)]      // a header value pasted whole
        public async Task The_create_s_token_field_carries_the_token_cleaned_as_the_header_s(string pasted)
        {
            var c = TestData.Connect(_sim, Provider, pasted, scope: null);
            var job = await BackupService.StartAsync(c, Request(), NullOperationLog.Instance, CancellationToken.None);
            Assert.False(string.IsNullOrEmpty(job.JobId));
            Assert.Equal(1, _sim.Counters.BackupsFor(Provider));
            var create = Assert.Single(_sim.Counters.Requests, r => r.Method == "POST" && r.Path.EndsWith("/backups/create", StringComparison.Ordinal));
            Assert.Contains("token=" + TestData.Token + "&", create.Body + "&");
            Assert.DoesNotContain("Bearer", create.Body);
        }
    }
}
