using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Jobs;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// A passcode the service echoes (an ArcGIS failed job quoting it) is masked whichever connection to that endpoint
    /// reads the job: the one that sent it, another made later, or one in another runspace.
    /// </summary>
    public sealed class PasscodeMaskingTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const string Provider = "ArcGIS";
        private readonly BackupSimulator _sim;

        public PasscodeMaskingTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromSeconds(30);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
        }

        public void Dispose() => _sim.Reset();

        private static BackupRequest Request(string passcode) => new BackupRequest
        {
            Kind = BackupKind.DisasterRecovery,
            Name = TestData.UniqueName("dr"),
            Passcode = TestData.Secure(passcode),
        };

        private void EchoOnStatusReads(string jobId, string passcode) =>
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/admin/jobs/", StatusCode = 200, Times = int.MaxValue,
                Body = "{\"jobid\":\"" + jobId + "\",\"status\":\"FAILED\",\"starttime\":1763913600000,\"endtime\":1763913700000," +
                       "\"result\":{\"status\":\"error\",\"code\":500,\"messages\":[\"Invalid passcode '" + passcode + "' for store.\"]}}" });

        private static string Shown(BackupJob job) =>
            string.Join("\n", job.Errors.Select(e => e.Code + " " + e.Message)) + "\n" + JobOutcome.ErrorFor(job)?.Message;

        [Fact]
        public async Task An_echoed_passcode_is_masked_when_the_job_is_read_through_another_connection()
        {
            const string passcode = "Pc0de-Echo-SECRET1";
            var c1 = TestData.Connect(_sim, Provider, scope: null);
            var job = await BackupService.StartAsync(c1, Request(passcode), NullOperationLog.Instance, CancellationToken.None);
            EchoOnStatusReads(job.JobId, passcode);

            var c2 = TestData.Connect(_sim, Provider, scope: null);
            foreach (var c in new[] { c1, c2 })
            {
                var read = await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None);
                Assert.Equal(BackupJobState.Failed, read.State);
                var shown = Shown(read);
                Assert.Contains("Invalid passcode '***' for store.", shown);
                Assert.DoesNotContain(passcode, shown);
            }
        }

        [Fact]
        public async Task Each_endpoint_keeps_its_newest_passcodes_up_to_its_cap()
        {
            var c = TestData.Connect(_sim, Provider, scope: null);
            var first = TestData.Secure("Pc0de-Oldest-000");
            c.RememberSent(first);
            for (var i = 1; i <= BackupConnection.SentSecretsPerEndpoint; i++)
                c.RememberSent(TestData.Secure("Pc0de-Newer-" + i.ToString("000", System.Globalization.CultureInfo.InvariantCulture)));
            var kept = TestData.Connect(_sim, Provider, scope: null).SentSecrets().Select(Secret.Reveal).ToList();
            Assert.True(kept.Count <= BackupConnection.SentSecretsPerEndpoint);
            Assert.DoesNotContain("Pc0de-Oldest-000", kept);
            Assert.Contains("Pc0de-Newer-" + BackupConnection.SentSecretsPerEndpoint.ToString("000", System.Globalization.CultureInfo.InvariantCulture), kept);
            // Another endpoint (another provider) does not see them.
            Assert.DoesNotContain(TestData.Connect(_sim, "TaurusDB").SentSecrets().Select(Secret.Reveal), s => s.StartsWith("Pc0de-", StringComparison.Ordinal));
        }

        [Fact]
        public void An_echoed_passcode_is_masked_by_Wait_BackupJob_after_Connect_BackupService_again()
        {
            const string passcode = "Pc0de-Echo-SECRET2";
            using var ps = new PowerShellHost();
            ps.Set("token", TestData.Secure(TestData.Token));
            ps.Set("pass", TestData.Secure(passcode));
            ps.Set("arcgis", _sim.EndpointFor(Provider).ToString());
            const string connect = "$null = Connect-BackupService -Provider ArcGIS -Endpoint $arcgis -AccessToken $token;";
            var started = ps.Run(connect + "$global:job = New-DisasterRecoveryBackup -Name echo-1 -Passcode $pass; $global:job");
            Assert.Null(started.Terminating);
            var job = Assert.Single(started.Objects<BackupJob>());
            EchoOnStatusReads(job.JobId, passcode);

            var r = ps.Run(connect + "$global:job | Wait-BackupJob -PollingInterval 0.05 -Timeout 30");
            Assert.Null(r.Terminating);
            var error = Assert.Single(r.Errors);
            Assert.Equal(ErrorIds.BackupJobFailed, error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Contains("'***'", error.Exception.Message);
            Assert.DoesNotContain(passcode, r.AllText());
            Assert.DoesNotContain(passcode, string.Join("\n", r.Objects<BackupJob>().SelectMany(j => j.Errors).Select(e => e.Message)));
        }
    }
}
