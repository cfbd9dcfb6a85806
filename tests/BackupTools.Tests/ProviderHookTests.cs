using System;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// What a provider (a sixth one) can bring without editing shared code: its own error parser, asked where the
    /// module reads an error body for it, and its own token header.
    /// </summary>
    public sealed class ProviderHookTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;

        public ProviderHookTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
        }

        public void Dispose() => _sim.Reset();

        [Fact]
        public async Task A_renewable_credential_s_final_401_keeps_the_code_and_message_the_provider_s_parser_reads()
        {
            // ArcGIS's {status: "error", messages: [...], code} is no shape the shared fallback reads a message from.
            var c = BackupService.Connect(new ConnectRequest
            {
                Provider = "ArcGIS", Endpoint = _sim.EndpointFor("ArcGIS"), UserName = "admin", Password = TestData.Secure("sim-password"),
            });
            _sim.Faults.Add(new FaultRule { Provider = "ArcGIS", Method = "GET", PathContains = "/disasterrecovery/stores", StatusCode = 401, Times = int.MaxValue,
                Body = "{\"status\":\"error\",\"messages\":[\"Token required by the gateway for sim-password.\"],\"code\":499}" });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(c,
                new BackupRequest { Kind = BackupKind.DisasterRecovery, Name = TestData.UniqueName("dr"), Passcode = TestData.Secure("Zq7-passcode-XYZ") },
                NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            Assert.Equal(ErrorIds.ConnectionAuthenticationFailed, ex.ErrorId);
            Assert.Equal(401, ex.HttpStatus);
            Assert.Equal("499", ex.ServiceCode);
            Assert.Equal("Token required by the gateway for ***.", ex.ServiceMessage);
            Assert.Contains("HTTP 401 499: Token required by the gateway for ***.", ex.Message); // (code and message as every service error quotes them)
            Assert.DoesNotContain("sim-password", ex.ToString());
        }

        [Fact]
        public void A_provider_can_place_its_token_in_a_header_of_its_own()
        {
            var placement = TokenPlacement.InHeader("X-Api-Key");
            var request = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Get, "https://api.example.com/");
            placement.Apply(request, " abc123\n");
            Assert.Equal(new[] { "abc123" }, request.Headers.GetValues("X-Api-Key"));

            var schemed = TokenPlacement.InHeader("X-Service-Auth", "Token");
            schemed.Apply(request, "Token abc123");
            Assert.Equal(new[] { "Token abc123" }, request.Headers.GetValues("X-Service-Auth"));

            Assert.Equal("Authorization", TokenPlacement.InHeader("Authorization", "Bearer").Header);
        }

        [Theory]
        [InlineData("", null)]
        [InlineData("X Api Key", null)]
        [InlineData("X-Api-Key:", null)]
        [InlineData("X-Api-Key\r\nX-Other", null)]
        [InlineData("X-Api-Key", "Bea rer")]
        [InlineData("X-Api-Key", "")]
        public void A_header_or_scheme_an_HTTP_header_cannot_carry_is_refused(string header, string scheme) =>
            Assert.Throws<ArgumentException>(() => TokenPlacement.InHeader(header, scheme));
    }
}
