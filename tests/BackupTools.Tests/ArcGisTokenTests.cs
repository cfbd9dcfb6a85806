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

        /// <summary>A token made by hand as the API page says: generateToken with client=referer and the given referer.</summary>
        private async Task<string> HandMadeToken(string referer)
        {
            using var http = new System.Net.Http.HttpClient();
            var answer = await http.PostAsync(new Uri(_sim.EndpointFor(Provider), "sharing/rest/generateToken"), new System.Net.Http.FormUrlEncodedContent(new[]
            {
                new System.Collections.Generic.KeyValuePair<string, string>("username", _sim.Options.UserName),
                new System.Collections.Generic.KeyValuePair<string, string>("password", _sim.Options.Password),
                new System.Collections.Generic.KeyValuePair<string, string>("client", "referer"),
                new System.Collections.Generic.KeyValuePair<string, string>("referer", referer),
                new System.Collections.Generic.KeyValuePair<string, string>("expiration", "60"),
                new System.Collections.Generic.KeyValuePair<string, string>("f", "json"),
            }));
            using var json = System.Text.Json.JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
            return json.RootElement.GetProperty("token").GetString();
        }

        [Fact]
        public async Task A_token_made_for_the_endpoint_s_referer_works_as_AccessToken_for_the_create_and_the_status_reads()
        {
            var c = TestData.Connect(_sim, Provider, await HandMadeToken(_sim.EndpointFor(Provider).ToString()), scope: null);
            var job = await BackupService.StartAsync(c, Request(), NullOperationLog.Instance, CancellationToken.None);
            var read = await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None);
            Assert.NotEqual(BackupJobState.Failed, read.State);
            Assert.Equal(1, _sim.Counters.BackupsFor(Provider));
        }

        [Fact]
        public async Task A_token_made_for_another_referer_is_refused_as_the_deployment_would()
        {
            var c = TestData.Connect(_sim, Provider, await HandMadeToken("https://elsewhere.example/portal/"), scope: null);
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(c, Request(), NullOperationLog.Instance, CancellationToken.None));
            Assert.Equal("498", ex.ServiceCode);
            Assert.Equal(0, _sim.Counters.BackupsFor(Provider));
        }
    }
}
