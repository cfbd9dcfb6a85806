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

            await AssertMaskedThrough(job, passcode, c1, TestData.Connect(_sim, Provider, scope: null));
        }

        /// <summary>Reads the job through each connection: the echo of <paramref name="passcode"/> shows as '***' every time.</summary>
        private static async Task AssertMaskedThrough(BackupJob job, string passcode, params BackupConnection[] connections)
        {
            foreach (var c in connections)
            {
                var read = await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None);
                Assert.Equal(BackupJobState.Failed, read.State);
                var shown = Shown(read);
                Assert.Contains("Invalid passcode '***' for store.", shown);
                Assert.DoesNotContain(passcode, shown);
            }
        }

        [Fact]
        public async Task A_passcode_sent_before_many_others_is_still_masked_on_its_connection_and_through_another()
        {
            // A batch of more than 32 rows with their own passcodes: the first job's echo showed its passcode in full
            // once 32 later creates had pushed it out of a capped memory.
            const string first = "Pc0de-FIRST-SECRET";
            var c1 = TestData.Connect(_sim, Provider, scope: null);
            var job = await BackupService.StartAsync(c1, Request(first), NullOperationLog.Instance, CancellationToken.None);
            await Task.WhenAll(Enumerable.Range(1, 40).Select(i =>
                BackupService.StartAsync(c1, Request("Pc0de-Later-" + i.ToString("000", System.Globalization.CultureInfo.InvariantCulture)),
                    NullOperationLog.Instance, CancellationToken.None)));
            EchoOnStatusReads(job.JobId, first);

            await AssertMaskedThrough(job, first, c1, TestData.Connect(_sim, Provider, scope: null));
        }

        [Fact]
        public async Task An_echoed_passcode_is_masked_in_every_form_it_was_sent_in()
        {
            // Scrub skips the encodings of a passcode whose longest run of letters and digits the text lacks: every form
            // keeps that run, so each of them, echoed, is still masked.
            const string passcode = "pass word!\u00dcn\u00ef(SECRETQ)~'x";
            var forms = new[]
            {
                passcode, Uri.EscapeDataString(passcode), System.Net.WebUtility.UrlEncode(passcode),
                Uri.EscapeDataString(passcode).Replace("%20", "+"), System.Text.Json.JsonEncodedText.Encode(passcode).ToString(),
            };
            var c = TestData.Connect(_sim, Provider, scope: null);
            var job = await BackupService.StartAsync(c, Request(passcode), NullOperationLog.Instance, CancellationToken.None);
            // One message per form: each is scrubbed alone, so one form's mask cannot hide another's.
            var messages = forms.Select((f, i) => System.Text.Json.JsonSerializer.Serialize("Echo " + i + ": " + f));
            _sim.Faults.Add(new FaultRule { Provider = Provider, Method = "GET", PathContains = "/admin/jobs/", StatusCode = 200, Times = int.MaxValue,
                Body = "{\"jobid\":\"" + job.JobId + "\",\"status\":\"FAILED\",\"result\":{\"status\":\"error\",\"code\":500,\"messages\":[" +
                       string.Join(",", messages) + "]}}" });

            var read = await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None);
            var shown = Shown(read);
            for (var i = 0; i < forms.Length; i++) Assert.Contains("Echo " + i + ": ***", shown);
            Assert.DoesNotContain("SECRETQ", shown);
        }

        [Fact]
        public void Each_endpoint_keeps_every_passcode_sent_to_it_once()
        {
            var key = Guid.NewGuid().ToString("N").Substring(0, 8);
            string Passcode(int i) => "Pc0de-" + key + "-" + i.ToString("0000", System.Globalization.CultureInfo.InvariantCulture);
            // Many creates at once, through several connections, some sending a passcode already sent.
            var connections = Enumerable.Range(0, 4).Select(_ => TestData.Connect(_sim, Provider, scope: null)).ToArray();
            Parallel.For(0, 1000, i => connections[i % connections.Length].RememberSent(TestData.Secure(Passcode(i % 500))));
            var kept = TestData.Connect(_sim, Provider, scope: null).SentSecrets().Select(Secret.Reveal).Where(s => s.Contains(key)).ToList();
            Assert.Equal(500, kept.Count);
            Assert.Equal(Enumerable.Range(0, 500).Select(Passcode).OrderBy(s => s, StringComparer.Ordinal), kept.OrderBy(s => s, StringComparer.Ordinal));
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
