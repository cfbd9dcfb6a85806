using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Text.RegularExpressions;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// Secrets never shown: every provider and authentication method driven through the cmdlets in a hosted PowerShell,
    /// with -Verbose -Debug, successful and refused; output objects, their ToString(), their Export-Clixml form
    /// (PSSerializer), error records, exceptions and every message stream are searched for the secrets and for the
    /// tokens the simulator issued.
    /// </summary>
    public sealed class AuthLeakTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const string Marker = "XYZZY";
        private const string Password = "S3cr3t-Passw0rd-" + Marker;
        private const string ClientSecret = "S3cr3t-Client-" + Marker;
        private const string SecretKey = "S3cr3t-SK-" + Marker;
        private const string Token = "S3cr3t-Token-" + Marker;
        private const string Passcode = "S3cr3t-Passcode-" + Marker;
        private const string Wrong = "S3cr3t-Wrong-" + Marker;
        private const string Ak = "SIMAK000000000000000";
        private static readonly Regex IssuedToken = new Regex(@"MII[0-9a-f]{48}|sim-arcgis-[0-9a-f]{48}|sim-uaa-[0-9a-f]{48}");

        private readonly BackupSimulator _sim;
        private readonly PowerShellHost _ps = new PowerShellHost();

        public AuthLeakTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            // Renewals happen during the waits too: tokens live 2 s (renewed after 1.6 s) and jobs run 2.5 s. With 500 ms
            // a renewed token could expire on its way back to the service on 2 busy cores, and the request was refused
            // "even with a newly obtained token" (as AuthTests saw at 400 ms and at 1 s).
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(2500);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _sim.Options.TokenLifetime = TimeSpan.FromSeconds(2);
            _sim.Options.Password = Password;
            _sim.Options.ClientSecret = ClientSecret;
            lock (_sim.Options.AccessKeys) _sim.Options.AccessKeys[Ak] = SecretKey;
            lock (_sim.Options.Tokens) _sim.Options.Tokens.Add(Token);
            _ps.Set("tok", TestData.Secure(Token));
            _ps.Set("badtok", TestData.Secure(Wrong));
            _ps.Set("sk", TestData.Secure(SecretKey));
            _ps.Set("cs", TestData.Secure(ClientSecret));
            _ps.Set("cred", new PSCredential("admin", TestData.Secure(Password)));
            _ps.Set("badcred", new PSCredential("admin", TestData.Secure(Wrong)));
            _ps.Set("pass", TestData.Secure(Passcode));
            _ps.Set("project", TestData.ProjectId);
            _ps.Set("ak", Ak);
        }

        public void Dispose()
        {
            _ps.Dispose();
            _sim.Options.TokenLifetime = null;
            _sim.Options.Password = "sim-password";
            _sim.Options.ClientSecret = "sim-secret";
            lock (_sim.Options.AccessKeys) _sim.Options.AccessKeys[Ak] = "sim-secret-key";
            lock (_sim.Options.Tokens) _sim.Options.Tokens.Remove(Token);
            _sim.Reset();
        }

        private static string AuthArgs(string method, bool wrong) => method switch
        {
            "AccessToken" => wrong ? "-AccessToken $badtok" : "-AccessToken $tok",
            "AccessKey" => "-AccessKeyId $ak -SecretAccessKey " + (wrong ? "$badtok" : "$sk"),
            "Credential" => "-Credential " + (wrong ? "$badcred" : "$cred"),
            "ClientCredential" => "-ClientId sim-client -ClientSecret " + (wrong ? "$badtok" : "$cs"),
            "TokenProvider" => "-AccessToken $badtok -TokenProvider { " + (wrong ? "$badtok" : "$tok") + " }",
            _ => throw new ArgumentOutOfRangeException(nameof(method)),
        };

        private static string CreateCommand(string provider) => provider switch
        {
            "TaurusDB" => $"New-InstanceBackup -InstanceId {TestData.TaurusInstance} -Name leak-{Guid.NewGuid():N}".Substring(0, 90),
            "DDS" => $"New-InstanceBackup -InstanceId {TestData.DdsInstance} -Name leak-{Guid.NewGuid():N}".Substring(0, 90),
            "Dataverse" => "New-InstanceBackup -InstanceId 6f0e2a7c-3b1d-4c55-9a1e-2d4b8f7c9e01 -Name leak-label",
            "ArcGIS" => $"New-DisasterRecoveryBackup -Name leak{Guid.NewGuid():N} -Passcode $pass",
            _ => $"New-InstanceBackup -InstanceId {Guid.NewGuid()}",
        };

        private PowerShellHost.Result Drive(string provider, string method, bool wrong)
        {
            var scope = provider == "TaurusDB" || provider == "DDS" ? " -ProjectId $project" : string.Empty;
            _ps.Set("ep", _sim.EndpointFor(provider).ToString());
            return _ps.Run(
                $"Connect-BackupService -Provider {provider} -Endpoint $ep{scope} {AuthArgs(method, wrong)} -Verbose -Debug;" +
                $"{CreateCommand(provider)} -Verbose -Debug | Wait-BackupJob -PollingInterval 0.05 -Timeout 30 -Verbose -Debug;" +
                "Get-BackupProvider");
        }

        private static string Everything(PowerShellHost.Result r)
        {
            var parts = new List<string> { r.AllText() };
            parts.AddRange(r.Output.Select(o => PSSerializer.Serialize(o, 5)));
            parts.AddRange(r.Errors.Select(e => PSSerializer.Serialize(e, 5)));
            parts.AddRange(r.Errors.Select(e => e.Exception?.ToString() + " " + e.ErrorDetails?.RecommendedAction + " " + e.CategoryInfo));
            if (r.Terminating != null) parts.Add(PSSerializer.Serialize(r.Terminating.ErrorRecord, 5));
            return string.Join("\n", parts);
        }

        /// <summary>How PowerShell serializes a SecureString where it cannot encrypt it: the hex of its UTF-16 code units.</summary>
        private static string SerializedSecureText(string text) =>
            string.Concat(System.Text.Encoding.Unicode.GetBytes(text).Select(b => b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture)));

        private static ErrorRecord FirstError(PowerShellHost.Result r) =>
            r.Terminating?.ErrorRecord ?? Assert.IsType<ErrorRecord>(r.Errors.FirstOrDefault());

        public static IEnumerable<object[]> Methods() =>
            BackupService.Providers.SelectMany(p => p.AuthenticationMethods.Select(m => new object[] { p.Name, m }));

        [Theory]
        [MemberData(nameof(Methods))]
        public void No_secret_or_issued_token_appears_anywhere_a_user_can_see(string provider, string method)
        {
            var ok = Drive(provider, method, wrong: false);
            Assert.Null(ok.Terminating);
            Assert.Empty(ok.Errors);
            var job = Assert.Single(ok.Objects<BackupJob>());
            Assert.Equal(BackupJobState.Succeeded, job.State);
            Assert.Equal(method, Assert.Single(ok.Objects<BackupConnection>()).AuthenticationMethod);
            Assert.NotEmpty(ok.Verbose);

            var refused = Drive(provider, method, wrong: true);
            Assert.True(refused.Errors.Count > 0 || refused.Terminating != null);

            foreach (var text in new[] { Everything(ok), Everything(refused) })
            {
                Assert.DoesNotContain(Marker, text);
                // Off Windows, Export-Clixml writes a SecureString as the hex of its UTF-16 text, which is no cover.
                Assert.DoesNotContain(SerializedSecureText(Marker), text, StringComparison.OrdinalIgnoreCase);
                Assert.DoesNotMatch(IssuedToken, text);
            }
        }

        [Fact]
        public void The_token_provider_script_block_runs_on_the_pipeline_thread_when_a_token_is_refused()
        {
            _ps.Set("ep", _sim.EndpointFor("Dataverse").ToString());
            var r = _ps.Run(
                "$global:calls = 0; $t0 = [System.Threading.Thread]::CurrentThread.ManagedThreadId;" +
                "$null = Connect-BackupService -Provider Dataverse -Endpoint $ep -AccessToken $badtok -TokenProvider {" +
                "  $global:calls++; $global:t1 = [System.Threading.Thread]::CurrentThread.ManagedThreadId; $tok };" +
                "$null = New-InstanceBackup -InstanceId 6f0e2a7c-3b1d-4c55-9a1e-2d4b8f7c9e01 -Name thread-label | Wait-BackupJob -PollingInterval 0.05 -Timeout 30;" +
                "$t0 -eq $global:t1; $global:calls");
            Assert.Null(r.Terminating);
            Assert.Empty(r.Errors);
            Assert.Equal(new object[] { true, 1 }, r.Output.Select(o => o.BaseObject).ToArray());
        }

        [Fact]
        public void A_refused_secret_is_a_ConnectionAuthenticationFailed_error_record()
        {
            var r = Drive("TaurusDB", "Credential", wrong: true);
            var error = Assert.Single(r.Errors);
            Assert.Equal(ErrorIds.ConnectionAuthenticationFailed, error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Equal(ErrorCategory.AuthenticationError, error.CategoryInfo.Category);
            Assert.Equal(1, _sim.Counters.Requests.Count(q => q.Path.EndsWith("/auth/tokens", StringComparison.Ordinal)));
        }

        [Fact]
        public void Get_BackupProvider_shows_the_methods_and_an_unsupported_method_is_refused()
        {
            var r = _ps.Run("Get-BackupProvider");
            Assert.Contains(r.Objects<BackupProviderInfo>(), p => p.Name == "Dataverse" && p.AuthenticationMethods.Contains("TokenProvider"));
            _ps.Set("ep", _sim.EndpointFor("Dataverse").ToString());
            var refused = FirstError(_ps.Run("Connect-BackupService -Provider Dataverse -Endpoint $ep -AccessKeyId $ak -SecretAccessKey $sk"));
            Assert.Contains("AccessToken, TokenProvider", refused.Exception.Message);
            Assert.Equal("ConnectionParameterInvalid", refused.FullyQualifiedErrorId.Split(',')[0]);
        }

        [Fact]
        public void Plain_http_to_another_host_is_refused_before_any_connection()
        {
            var r = _ps.Run("Connect-BackupService -Provider TaurusDB -Endpoint http://gaussdb.example.com/ -ProjectId $project -Credential $cred -Verbose;" +
                            "New-InstanceBackup -Provider TaurusDB -InstanceId " + TestData.TaurusInstance + " -Name never-sent -Verbose");
            Assert.Equal(ErrorIds.ConnectionEndpointInvalid, FirstError(r).FullyQualifiedErrorId.Split(',')[0]);
            _ps.Set("ep", _sim.EndpointFor("TaurusDB").ToString());
            var second = _ps.Run("Connect-BackupService -Provider TaurusDB -Endpoint $ep -ProjectId $project -Credential $cred -IdentityEndpoint http://iam.example.com/");
            Assert.Equal(ErrorIds.ConnectionEndpointInvalid, FirstError(second).FullyQualifiedErrorId.Split(',')[0]);
            Assert.Equal(0, _sim.Counters.TotalRequests);
            Assert.DoesNotContain(Marker, r.AllText() + second.AllText());
        }
    }
}
