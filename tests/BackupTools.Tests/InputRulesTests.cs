using System;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// Input checked before anything is sent, and said as it is: an access key id a header cannot carry, limits of
    /// BackupTools' own named as such, GUIDs in their plain form, a value that only holds an unpaired surrogate.
    /// </summary>
    public sealed class InputRulesTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const string DataverseId = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
        private readonly BackupSimulator _sim;

        public InputRulesTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
        }

        public void Dispose() => _sim.Reset();

        private static BackupRequest Dr(string name, string description = null) => new BackupRequest
        {
            Kind = BackupKind.DisasterRecovery, Name = name, Description = description, Passcode = TestData.Secure("Zq7-passcode-XYZ"),
        };

        [Theory]
        [InlineData("SIMAK0000000\u00000000000")]
        [InlineData("SIMAK00000000 0000000")]
        [InlineData("SIMAK0000000000000\u00d60")]
        [InlineData("SIMAK000000000000000\u200B")]
        [InlineData("SIMAK0000000\r\nX-Injected: 1")]
        [InlineData("SIMAK00000000000,000")]
        public void An_access_key_id_a_header_cannot_carry_is_refused_at_connect_and_nothing_is_sent(string accessKeyId)
        {
            var before = _sim.Counters.TotalRequests;
            var ex = Assert.Throws<BackupToolsException>(() => BackupService.Connect(new ConnectRequest
            {
                Provider = "TaurusDB", Endpoint = _sim.EndpointFor("TaurusDB"), Scope = TestData.ProjectId,
                AccessKeyId = accessKeyId, SecretAccessKey = TestData.Secure("sim-secret-key"),
            }));
            Assert.Equal(ErrorIds.ConnectionParameterInvalid, ex.ErrorId);
            Assert.Contains("AccessKeyId", ex.Message);
            Assert.Equal(before, _sim.Counters.TotalRequests);
        }

        [Fact]
        public async Task An_access_key_id_copied_with_white_space_around_it_still_signs()
        {
            var c = BackupService.Connect(new ConnectRequest
            {
                Provider = "TaurusDB", Endpoint = _sim.EndpointFor("TaurusDB"), Scope = TestData.ProjectId,
                AccessKeyId = " SIMAK000000000000000\r\n", SecretAccessKey = TestData.Secure("sim-secret-key"),
            });
            var job = await BackupService.StartAsync(c, new BackupRequest { InstanceId = TestData.TaurusInstance, Name = TestData.UniqueName() },
                NullOperationLog.Instance, CancellationToken.None);
            Assert.False(string.IsNullOrEmpty(job.JobId));
        }

        [Fact]
        public async Task A_refused_signature_says_to_check_the_clock_as_well_as_the_key()
        {
            // A machine whose clock is 15 minutes off is refused like a wrong key (APIG.0301); the action named only the key.
            // (A secret of its own: a refused key and secret is remembered for the process, and others' tests use this key.)
            var secret = "sim-secret-key-" + Guid.NewGuid().ToString("N");
            lock (_sim.Options.AccessKeys) _sim.Options.AccessKeys["SIMAKCLOCKTEST000000"] = secret;
            var c = BackupService.Connect(new ConnectRequest
            {
                Provider = "TaurusDB", Endpoint = _sim.EndpointFor("TaurusDB"), Scope = TestData.ProjectId,
                AccessKeyId = "SIMAKCLOCKTEST000000", SecretAccessKey = TestData.Secure(secret),
            });
            ((AkSkCredential)c.Credential).Clock = () => DateTimeOffset.UtcNow.AddMinutes(-20);
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(c,
                new BackupRequest { InstanceId = TestData.TaurusInstance, Name = TestData.UniqueName() }, NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            Assert.Equal(ErrorIds.ConnectionAuthenticationFailed, ex.ErrorId);
            Assert.Contains("clock", ex.RecommendedAction);
        }

        [Theory]
        [InlineData("https://b\u00e4ckup.example.com/v3/x", "xn--bckup-gra.example.com")]
        [InlineData("https://b\u00e4ckup.example.com:8443/v3/x", "xn--bckup-gra.example.com:8443")]
        [InlineData("http://127.0.0.1:5000/v3/x", "127.0.0.1:5000")]
        [InlineData("http://[::1]:5000/v3/x", "[::1]:5000")]
        [InlineData("https://dds.eu-de.otc.t-systems.com/v3/x", "dds.eu-de.otc.t-systems.com")]
        public void The_signed_host_is_the_one_on_the_wire_an_international_name_in_its_ascii_form(string url, string host) =>
            Assert.Equal(host, AkSkCredential.HostHeader(new Uri(url)));

        [Fact]
        public void An_ArcGIS_description_of_several_lines_is_sent_as_it_is()
        {
            var c = TestData.Connect(_sim, "ArcGIS", scope: null);
            BackupService.Validate(c, Dr("pre-patch", "Before patching to 11.4\r\nChange CHG-1234\tapproved"));
            var ex = Assert.Throws<BackupToolsException>(() => BackupService.Validate(c, Dr("pre-patch", "bell \u0007")));
            Assert.Contains("Description", ex.Message);
        }

        [Theory]
        [InlineData("Nightly backup")]
        [InlineData("sauvegarde-\u00e9t\u00e9")]
        public void A_limit_of_BackupTools_own_says_so_and_does_not_blame_the_service(string name)
        {
            var ex = Assert.Throws<BackupToolsException>(() => BackupService.Validate(TestData.Connect(_sim, "ArcGIS", scope: null), Dr(name)));
            Assert.Contains("breaks a BackupTools limit for ArcGIS (the service states none)", ex.Message);
            Assert.DoesNotContain("the ArcGIS rule", ex.Message);
        }

        [Fact]
        public void A_documented_rule_is_still_called_the_service_s_rule()
        {
            var ex = Assert.Throws<BackupToolsException>(() => BackupService.Validate(TestData.Connect(_sim, "TaurusDB"),
                new BackupRequest { InstanceId = TestData.TaurusInstance, Name = "1-starts-with-a-digit" }));
            Assert.Contains("breaks the TaurusDB rule", ex.Message);
        }

        [Theory]
        [InlineData("Dataverse", "+1f2504e-4f89-11d3-9a0c-0305e82c3301")]
        [InlineData("Dataverse", "0x2504e0-4f89-11d3-9a0c-0305e82c3301")]
        [InlineData("CloudFoundry", "3f2504e0-+f89-11d3-9a0c-0305e82c3301")]
        [InlineData("CloudFoundry", "3f2504e0-4f89-11d3-9a0c-0305e82c330g")]
        [InlineData("CloudFoundry", "3f2504e0-4f89-11d3-9a0c_0305e82c3301")]
        public void An_id_that_is_not_a_plain_GUID_is_refused(string provider, string instanceId)
        {
            var request = new BackupRequest { InstanceId = instanceId, Name = provider == "Dataverse" ? "nightly" : null };
            var ex = Assert.Throws<BackupToolsException>(() => BackupService.Validate(TestData.Connect(_sim, provider, scope: null), request));
            Assert.Equal(ErrorIds.BackupParameterInvalid, ex.ErrorId);
            Assert.Contains("InstanceId", ex.Message);
        }

        [Theory]
        [InlineData("3f2504e0-4f89-11d3-9a0c-0305e82c3301")]
        [InlineData("3F2504E0-4F89-11D3-9A0C-0305E82C3301")]
        public void A_plain_GUID_in_either_case_is_accepted(string instanceId) =>
            BackupService.Validate(TestData.Connect(_sim, "Dataverse", scope: null), new BackupRequest { InstanceId = instanceId, Name = "nightly" });

        [Fact]
        public void A_value_that_meets_the_rule_but_holds_an_unpaired_surrogate_is_told_only_that()
        {
            var ex = Assert.Throws<BackupToolsException>(() => BackupService.Validate(TestData.Connect(_sim, "Dataverse", scope: null),
                new BackupRequest { InstanceId = DataverseId, Name = "nightly \uD800 label" }));
            Assert.Contains("unpaired surrogate", ex.Message);
            Assert.DoesNotContain("breaks", ex.Message);
        }

        [Fact]
        public void A_value_that_breaks_the_rule_and_holds_an_unpaired_surrogate_is_told_both()
        {
            var ex = Assert.Throws<BackupToolsException>(() => BackupService.Validate(TestData.Connect(_sim, "Dataverse", scope: null),
                new BackupRequest { InstanceId = DataverseId, Name = new string('x', 101) + "\uD800" }));
            Assert.Contains("breaks the Dataverse rule", ex.Message);
            Assert.Contains("unpaired surrogate", ex.Message);
        }

        [Fact]
        public void A_length_counted_in_UTF16_code_units_says_so_with_the_length_it_counted()
        {
            // 200 emoji are 400 UTF-16 code units: refused as "at most 256 characters" with no word of how the length
            // was counted, which reads as untrue for 200 characters.
            var ex = Assert.Throws<BackupToolsException>(() => BackupService.Validate(TestData.Connect(_sim, "DDS"),
                new BackupRequest { InstanceId = TestData.DdsInstance, Name = "nightly", Description = string.Concat(System.Linq.Enumerable.Repeat("\U0001F600", 200)) }));
            Assert.Equal(ErrorIds.BackupParameterInvalid, ex.ErrorId);
            Assert.Contains("at most 256 characters", ex.Message);
            Assert.Contains("it is 400 units long, for 200 characters", ex.Message);
            Assert.Contains("UTF-16 code units", ex.Message);
            // Plain text says nothing of units: its length is its character count.
            var plain = Assert.Throws<BackupToolsException>(() => BackupService.Validate(TestData.Connect(_sim, "DDS"),
                new BackupRequest { InstanceId = TestData.DdsInstance, Name = "nightly", Description = new string('x', 257) }));
            Assert.DoesNotContain("UTF-16", plain.Message);
        }

        /// <summary>
        /// Before: the note on UTF-16 code units came with every breach by a value holding a character outside the BMP,
        /// also where the way of counting changed nothing: "abc😀" as a project id (4 characters or 5 units, not 32
        /// either way, and not letters and digits), a name refused for an emoji alone, 300 emoji where 256 is the most.
        /// </summary>
        [Fact]
        public void A_breach_for_the_characters_alone_says_nothing_of_UTF16_code_units()
        {
            var ex = Assert.Throws<BackupToolsException>(() => Providers.HuaweiCloud.HuaweiCloudProvider.ProjectIdRule.Check("DDS", "abc\U0001F600"));
            Assert.Equal(ErrorIds.BackupParameterInvalid, ex.ErrorId);
            Assert.Contains("32 characters, letters and digits only.", ex.Message);
            Assert.DoesNotContain("UTF-16", ex.Message);
            // A name of the right length whose only fault is an emoji; and the same emoji in a name too long, which is told.
            var name = Assert.Throws<BackupToolsException>(() => BackupService.Validate(TestData.Connect(_sim, "DDS"),
                new BackupRequest { InstanceId = TestData.DdsInstance, Name = "nightly\U0001F600" }));
            Assert.DoesNotContain("UTF-16", name.Message);
            var longName = Assert.Throws<BackupToolsException>(() => BackupService.Validate(TestData.Connect(_sim, "DDS"),
                new BackupRequest { InstanceId = TestData.DdsInstance, Name = "n" + new string('x', 62) + "\U0001F600" }));
            Assert.Contains("it is 65 units long, for 64 characters", longName.Message);
            // A GUID rule (fixed length 36) refusing a 36-unit value for an emoji in it says nothing of units either.
            var guid = Assert.Throws<BackupToolsException>(() => Providers.Dataverse.DataverseProvider.InstanceIdRule.Check("Dataverse",
                "00000000-0000-0000-0000-0000000000\U0001F600"));
            Assert.DoesNotContain("UTF-16", guid.Message);
            // Too long however it is counted (300 emoji against "at most 256 characters"): the rule's words read true.
            var tooLong = Assert.Throws<BackupToolsException>(() => BackupService.Validate(TestData.Connect(_sim, "DDS"),
                new BackupRequest { InstanceId = TestData.DdsInstance, Name = "nightly", Description = string.Concat(System.Linq.Enumerable.Repeat("\U0001F600", 300)) }));
            Assert.Contains("at most 256 characters", tooLong.Message);
            Assert.DoesNotContain("UTF-16", tooLong.Message);
        }

        [Theory]
        [InlineData("nightly.")]
        [InlineData("a.b.")]
        public void A_store_name_ending_in_a_dot_is_refused_as_Windows_PowerShell_would_send_it_without(string store)
        {
            var ex = Assert.Throws<BackupToolsException>(() => Providers.ArcGIS.ArcGisProvider.StoreNameRule.Check("ArcGIS", store));
            Assert.Equal(ErrorIds.BackupParameterInvalid, ex.ErrorId);
            Assert.Contains("not ending in '.'", ex.Message);
            Assert.True(Providers.ArcGIS.ArcGisProvider.StoreNameRule.Accepts("nightly.store"));
        }

        /// <summary>
        /// What .NET Framework's legacy System.Uri (powershell.exe, no 4.5+ target) makes of escaped segments: it trims
        /// trailing dots, and unescapes %2F and %5C and then compresses the path. Url.Combine's check refuses each
        /// (the test host's Uri keeps them, so the legacy results are built by hand).
        /// </summary>
        [Theory]
        [InlineData("https://h/admin/stores/nightly/backups/create", "admin", "stores", "nightly.", "backups", "create")]
        [InlineData("https://h/v3/jobs/a/b", "v3", "jobs", "a/b")]
        [InlineData("https://h/v3/jobs/a/b", "v3", "jobs", "a\\b")]
        [InlineData("https://h/v3/x", "v3", "jobs", "../x")]
        [InlineData("https://h/x", "v3", "jobs", "../../x")]
        public void A_value_System_Uri_would_send_altered_is_refused_naming_the_rule(string legacy, params string[] segments)
        {
            var ex = Assert.Throws<BackupToolsException>(() => Validation.Url.CheckSegments(new Uri(legacy), segments));
            Assert.Equal(ErrorIds.BackupParameterInvalid, ex.ErrorId);
            Assert.Contains(Validation.Url.SegmentRule, ex.Message);
            Assert.Contains("Nothing was sent", ex.Message);
            // This .NET keeps each of them in its segment: the same values pass through Url.Combine.
            var built = Validation.Url.Combine(new Uri("https://h/"), segments);
            Validation.Url.CheckSegments(built, segments);
        }
    }
}

namespace BackupTools.Tests
{
    /// <summary>A log of a library user's that throws must not leave the callers of a shared sign-in waiting.</summary>
    public sealed class ThrowingLogTests : IClassFixture<SimulatorFixture>
    {
        private readonly BackupSimulator _sim;

        public ThrowingLogTests(SimulatorFixture fixture) => _sim = fixture.Sim;

        private sealed class ThrowingLog : IOperationLog
        {
            public void Verbose(string message)
            {
                if (message.Contains("obtained a", StringComparison.Ordinal)) throw new InvalidOperationException("the log is broken");
            }

            public void Debug(string message)
            {
            }
        }

        [Fact]
        public async Task Callers_of_a_sign_in_whose_log_throws_still_get_the_token()
        {
            var c = BackupService.Connect(new ConnectRequest
            {
                Provider = "TaurusDB", Endpoint = _sim.EndpointFor("TaurusDB"), Scope = TestData.ProjectId,
                UserName = "admin", Password = TestData.Secure("sim-password"),
            });
            var call = new BackupTools.Http.ServiceCall(c, new ThrowingLog(), CancellationToken.None);
            var both = Task.WhenAll(c.Credential.GetTokenAsync(call), c.Credential.GetTokenAsync(call));
            Assert.Same(both, await Task.WhenAny(both, Task.Delay(TimeSpan.FromSeconds(20))));
            var tokens = await both;
            Assert.All(tokens, t => Assert.False(string.IsNullOrEmpty(t)));
        }
    }
}
