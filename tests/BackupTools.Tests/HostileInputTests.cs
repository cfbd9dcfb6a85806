using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Simulator;
using Xunit;
using Xunit.Abstractions;

namespace BackupTools.Tests
{
    /// <summary>
    /// Every parameter that reaches a service, fed boundary and random hostile values from a seeded generator. Each value
    /// is either refused before anything is sent (the error names the parameter; the simulator saw no request), or
    /// sent encoded: the simulator's log shows exactly the expected path, and the body decodes back to the exact value.
    /// </summary>
    public sealed class HostileInputTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const int Seed = 20261123;
        private const int RandomPerParameter = 200;
        private const string ArcGisPasscode = "Zq7-passcode-XYZ";

        private readonly BackupSimulator _sim;
        private readonly ITestOutputHelper _out;

        public HostileInputTests(SimulatorFixture fixture, ITestOutputHelper output)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(200);
            _out = output;
        }

        public void Dispose() => _sim.Reset();

        private const string Guid1 = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";

        /// <summary>How one parameter is tried: a valid value to mutate, its length bounds, and how to run one value.</summary>
        public sealed record Target(string Provider, string Parameter, string Valid, int MinLength, int MaxLength);

        public static IEnumerable<object[]> Targets() => new[]
        {
            new object[] { "TaurusDB", "InstanceId" }, new object[] { "TaurusDB", "Name" }, new object[] { "TaurusDB", "Description" },
            new object[] { "DDS", "InstanceId" }, new object[] { "DDS", "Name" }, new object[] { "DDS", "Description" },
            new object[] { "Dataverse", "InstanceId" }, new object[] { "Dataverse", "Name" }, new object[] { "Dataverse", "Description" },
            new object[] { "CloudFoundry", "InstanceId" }, new object[] { "CloudFoundry", "Name" }, new object[] { "CloudFoundry", "Description" },
            new object[] { "ArcGIS", "Name" }, new object[] { "ArcGIS", "Description" }, new object[] { "ArcGIS", "StoreName" }, new object[] { "ArcGIS", "Passcode" },
        };

        private static (string Valid, int Min, int Max) Shape(string provider, string parameter)
        {
            switch (provider + "." + parameter)
            {
                case "TaurusDB.InstanceId": return (TestData.TaurusInstance, 36, 36);
                case "DDS.InstanceId": return (TestData.DdsInstance, 36, 36);
                case "Dataverse.InstanceId": case "CloudFoundry.InstanceId": return (Guid1, 36, 36);
                case "TaurusDB.Name": case "DDS.Name": return ("nightly-01", 4, 64);
                case "TaurusDB.Description": case "DDS.Description": return ("before upgrade", 0, 256);
                case "Dataverse.Name": return ("nightly label", 1, 100);
                case "Dataverse.Description": return ("notes about it", 0, 2000);
                case "CloudFoundry.Name": case "CloudFoundry.Description": return ("anything", 0, 0);
                case "ArcGIS.Name": return ("dr-backup.01", 1, 100);
                case "ArcGIS.Description": return ("weekly DR", 0, 1024);
                case "ArcGIS.StoreName": return ("default", 1, 255);
                case "ArcGIS.Passcode": return (ArcGisPasscode, 8, 128);
                default: throw new ArgumentException(provider + "." + parameter);
            }
        }

        [Theory]
        [MemberData(nameof(Targets))]
        public async Task A_backup_parameter_is_refused_before_sending_or_sent_encoded(string provider, string parameter)
        {
            var (valid, min, max) = Shape(provider, parameter);
            var cases = HostileStrings.For(new Random(Seed + StableHash(provider + parameter)), valid, min, max, RandomPerParameter);
            Assert.InRange(cases.Count, 1, 300);
            var watch = Stopwatch.StartNew();
            int refused = 0, sent = 0;
            var connection = TestData.Connect(_sim, provider, scope: provider == "TaurusDB" || provider == "DDS" ? TestData.ProjectId : null);
            foreach (var value in cases)
            {
                if (await TryOne(connection, provider, parameter, value)) sent++;
                else refused++;
            }
            _out.WriteLine($"{provider} {parameter}: {cases.Count} cases, {refused} refused before sending, {sent} sent encoded ({watch.ElapsedMilliseconds} ms)");
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "the run must stay bounded");
        }

        /// <summary>Runs one value; true when it was sent (and checked in the log), false when it was refused.</summary>
        private async Task<bool> TryOne(BackupConnection connection, string provider, string parameter, string value)
        {
            _sim.Reset();
            var request = BaseRequest(provider);
            switch (parameter)
            {
                case "InstanceId": request.InstanceId = value; break;
                case "Name": request.Name = value; break;
                case "Description": request.Description = value; break;
                case "StoreName": request.StoreName = value; break;
                case "Passcode": request.Passcode = value == null ? null : TestData.Secure(value); break;
            }
            var shown = Show(value);
            BackupToolsException error = null;
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
            {
                try
                {
                    await BackupService.StartAsync(connection, request, NullOperationLog.Instance, cts.Token, TestData.FastRetry(busy: 0, notProcessed: 0));
                }
                catch (BackupToolsException ex)
                {
                    error = ex;
                }
            }

            if (error?.ErrorId == ErrorIds.BackupParameterInvalid)
            {
                Assert.True(_sim.Counters.TotalRequests == 0, $"{provider} {parameter} {shown}: refused, but {_sim.Counters.TotalRequests} requests were sent");
                Assert.True(error.Message.Contains(parameter, StringComparison.Ordinal), $"{provider} {parameter} {shown}: message does not name the parameter: {error.Message}");
                Assert.True(error.Provider == provider, $"{provider} {parameter} {shown}: error carries provider {error.Provider}");
                if (parameter == "Passcode" && !string.IsNullOrEmpty(value) && value.Trim().Length > 2)
                    Assert.DoesNotContain(value, error.Message);
                return false;
            }

            // Accepted: whatever the service then answered, the create must have gone out with the value intact.
            var creates = _sim.Counters.Requests.Where(r => r.Method == "POST").ToList();
            var create = Assert.Single(creates);
            Assert.True(ExpectedPath(provider, request) == create.Path,
                $"{provider} {parameter} {shown}: path '{create.Path}', expected '{ExpectedPath(provider, request)}'");
            Assert.True(string.IsNullOrEmpty(create.Query), $"{provider} {parameter} {shown}: query '{create.Query}' on the create");
            if (provider == "CloudFoundry")
            {
                // Cloud Foundry's create has no body: a name or description may only be accepted by leaving it out.
                Assert.True(parameter == "InstanceId" || string.IsNullOrEmpty(value), $"{provider} {parameter} {shown}: accepted");
                Assert.True(string.IsNullOrEmpty(create.Body), $"{provider} {parameter} {shown}: body {Show(create.Body)}");
                return true;
            }
            if (parameter == "StoreName") return true; // a path segment only, checked above
            var sentValue = SentValue(provider, parameter, create.Body);
            // An empty optional value is the same as none: it may be left out of the body.
            if (string.IsNullOrEmpty(value) && parameter == "Description" && sentValue == null) return true;
            Assert.True(value == sentValue, $"{provider} {parameter} {shown}: sent as {Show(sentValue)}; body {Show(create.Body)}");
            return true;
        }

        private static BackupRequest BaseRequest(string provider) => provider switch
        {
            "TaurusDB" => new BackupRequest { InstanceId = TestData.TaurusInstance, Name = TestData.UniqueName() },
            "DDS" => new BackupRequest { InstanceId = TestData.DdsInstance, Name = TestData.UniqueName() },
            "Dataverse" => new BackupRequest { InstanceId = Guid1, Name = "label" },
            "CloudFoundry" => new BackupRequest { InstanceId = Guid1 },
            "ArcGIS" => new BackupRequest { Kind = BackupKind.DisasterRecovery, Name = "dr-" + TestData.UniqueName(), Passcode = TestData.Secure(ArcGisPasscode) },
            _ => throw new ArgumentException(provider),
        };

        private static string ExpectedPath(string provider, BackupRequest r) => provider switch
        {
            "TaurusDB" => $"/v3/{TestData.ProjectId}/backups/create",
            "DDS" => $"/v3/{TestData.ProjectId}/backups",
            "Dataverse" => "/api/v1.2/InstanceBackups",
            "CloudFoundry" => $"/v3/service_instances/{r.InstanceId}/backups",
            "ArcGIS" => $"/admin/system/disasterrecovery/stores/{(string.IsNullOrEmpty(r.StoreName) ? "DefaultBackupStore" : r.StoreName)}/backups/create",
            _ => throw new ArgumentException(provider),
        };

        /// <summary>The value as the service would read it from the request body.</summary>
        private static string SentValue(string provider, string parameter, string body)
        {
            if (provider == "ArcGIS")
            {
                var form = Form(body);
                var key = parameter == "Name" ? "name" : parameter == "Description" ? "description" : parameter == "Passcode" ? "passcode" : null;
                if (key == null) return null;
                return form.TryGetValue(key, out var v) ? v : null;
            }
            using var doc = JsonDocument.Parse(body);
            var root = provider == "DDS" ? doc.RootElement.GetProperty("backup") : doc.RootElement;
            var name = (provider, parameter) switch
            {
                ("Dataverse", "InstanceId") => "InstanceId",
                ("Dataverse", "Name") => "Label",
                ("Dataverse", "Description") => "Notes",
                (_, "InstanceId") => "instance_id",
                (_, "Name") => "name",
                _ => "description",
            };
            // Duplicate keys would let a value smuggle a second field in; the body must carry each field once.
            Assert.True(root.EnumerateObject().Count(p => p.Name == name) <= 1, $"field {name} appears twice in {body}");
            return root.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
        }

        private static Dictionary<string, string> Form(string body)
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var pair in body.Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var cut = pair.IndexOf('=');
                // Decoded as a server does: UTF-8, invalid sequences become U+FFFD.
                var key = System.Web.HttpUtility.UrlDecode(cut < 0 ? pair : pair[..cut]);
                var value = cut < 0 ? string.Empty : System.Web.HttpUtility.UrlDecode(pair[(cut + 1)..]);
                Assert.False(result.ContainsKey(key), $"form field {key} appears twice in {body}");
                result[key] = value;
            }
            return result;
        }

        [Fact]
        public async Task A_project_id_is_refused_at_connect_or_sent_only_as_its_own_path_segment()
        {
            var cases = HostileStrings.For(new Random(Seed + 1), TestData.ProjectId, 32, 32, RandomPerParameter);
            int refused = 0, sent = 0;
            foreach (var value in cases)
            {
                _sim.Reset();
                BackupConnection c;
                try
                {
                    c = TestData.Connect(_sim, "TaurusDB", scope: value);
                }
                catch (BackupToolsException ex)
                {
                    Assert.True(ex.ErrorId == ErrorIds.ConnectionParameterInvalid, $"ProjectId {Show(value)}: {ex.ErrorId}: {ex.Message}");
                    Assert.Contains("ProjectId", ex.Message);
                    Assert.Equal(0, _sim.Counters.TotalRequests);
                    refused++;
                    continue;
                }
                await BackupService.StartAsync(c, new BackupRequest { InstanceId = TestData.TaurusInstance, Name = TestData.UniqueName() },
                    NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
                var create = Assert.Single(_sim.Counters.Requests, r => r.Method == "POST");
                Assert.Equal($"/v3/{value}/backups/create", create.Path);
                sent++;
            }
            _out.WriteLine($"Connect-BackupService ProjectId (TaurusDB): {cases.Count} cases, {refused} refused, {sent} sent");
        }

        [Fact]
        public void An_endpoint_is_refused_at_connect_or_kept_to_a_plain_base_address()
        {
            var rng = new Random(Seed + 2);
            var sim = _sim.EndpointFor("TaurusDB").ToString().TrimEnd('/');
            var suffixes = new[]
            {
                "", "/", "?x=1", "#frag", "/?a=b", "/../", "/..%2F..%2F", "/%2e%2e/", "/a b", "/\r\nX-Injected: 1", "/%0d%0a", "/&x=1",
                "/'\"", "/\u0430", "/\uFF41", "/\u200D", "/\0", "//", "/;x=1",
            };
            var candidates = new List<string> { null, "", " ", "\t", "relative/path", "/rooted", "?x", "#x", "javascript:alert(1)", "file:///etc/passwd",
                "ftp://example.com/", "http://example.com/", "http://localhost.example.com/", "http://127.0.0.1.nip.io/", "http://user:pw@127.0.0.1/",
                "https://user@example.com/", "https://example.com/?token=1", "https://example.com/#x", "https://\uFF45xample.com/", "https://ex\u0430mple.com/",
                "http://[::1]:1/", "http://0x7f000001/", "http://2130706433/", "https://example.com:99999/", "https://exa mple.com/", "https://example.com/a/../b",
                "https://example.com/%2F", "https://e\u200Dxample.com/", "http://169.254.169.254/latest/", "http://[::ffff:127.0.0.1]/" };
            candidates.AddRange(suffixes.Select(s => sim + s));
            candidates.AddRange(suffixes.Select(s => "https://example.com/base" + s));
            for (var i = 0; i < 120; i++)
                candidates.Add((rng.Next(3) == 0 ? "http://" : "https://") + HostileStrings.Random(rng, 1, 30) + (rng.Next(2) == 0 ? "/" + HostileStrings.Random(rng, 0, 20) : string.Empty));

            int refused = 0, unbindable = 0, accepted = 0;
            foreach (var text in candidates.Distinct())
            {
                // PowerShell binds -Endpoint to [Uri]; text it cannot convert never reaches the module.
                Uri uri = null;
                if (text != null && !Uri.TryCreate(text, UriKind.RelativeOrAbsolute, out uri)) { unbindable++; continue; }
                BackupConnection c;
                try
                {
                    c = BackupService.Connect(new ConnectRequest { Provider = "TaurusDB", Endpoint = uri, Scope = TestData.ProjectId, AccessToken = TestData.Secure("t") });
                }
                catch (BackupToolsException ex)
                {
                    Assert.True(ex.ErrorId == ErrorIds.ConnectionEndpointInvalid || ex.ErrorId == ErrorIds.ConnectionParameterInvalid, $"{Show(text)}: {ex.ErrorId}");
                    Assert.True(ex.Message.Contains("Endpoint", StringComparison.OrdinalIgnoreCase), $"{Show(text)}: {ex.Message}");
                    refused++;
                    continue;
                }
                var e = c.Endpoint;
                Assert.True(e.IsAbsoluteUri && e.Query.Length == 0 && e.Fragment.Length == 0 && e.UserInfo.Length == 0, $"{Show(text)} kept as {e}");
                Assert.True(e.Scheme == "https" || (e.Scheme == "http" && System.Net.IPAddress.TryParse(e.DnsSafeHost, out var ip) && System.Net.IPAddress.IsLoopback(ip)) || (e.Scheme == "http" && e.IsLoopback),
                    $"{Show(text)} kept as {e}");
                Assert.EndsWith("/", e.AbsolutePath);
                var create = Validation.Url.Combine(e, "v3", TestData.ProjectId, "backups", "create");
                Assert.Equal(e.AbsolutePath + $"v3/{TestData.ProjectId}/backups/create", create.AbsolutePath);
                accepted++;
            }
            Assert.Equal(0, _sim.Counters.TotalRequests);
            _out.WriteLine($"Connect-BackupService Endpoint: {candidates.Distinct().Count()} cases, {refused} refused, {unbindable} not convertible to [Uri], {accepted} accepted");
        }

        [Theory]
        [InlineData("TaurusDB")]
        [InlineData("DDS")]
        [InlineData("Dataverse")]
        public void A_region_is_refused_at_connect_or_is_a_documented_region(string provider)
        {
            var regions = BackupService.RegionsOf(provider).ToList();
            var cases = HostileStrings.For(new Random(Seed + 3), regions[0], 1, 20, RandomPerParameter);
            cases.AddRange(regions.Select(r => r.ToUpperInvariant()));
            cases.AddRange(regions.Select(r => " " + r + "\t"));
            cases.AddRange(regions.Select(r => r.Replace('a', '\u0430')));
            int refused = 0, accepted = 0;
            cases = cases.Distinct().Take(300).ToList();
            foreach (var value in cases)
            {
                BackupConnection c;
                try
                {
                    c = BackupService.Connect(new ConnectRequest { Provider = provider, Region = value, Scope = provider == "Dataverse" ? null : TestData.ProjectId, AccessToken = TestData.Secure("t") });
                }
                catch (BackupToolsException ex)
                {
                    Assert.True(ex.ErrorId == ErrorIds.ConnectionEndpointInvalid || ex.ErrorId == ErrorIds.ConnectionParameterInvalid, $"{Show(value)}: {ex.ErrorId}");
                    Assert.True(ex.Message.Contains("Region", StringComparison.OrdinalIgnoreCase), $"{Show(value)}: {ex.Message}");
                    refused++;
                    continue;
                }
                Assert.Contains(regions, r => string.Equals(r, value.Trim(), StringComparison.OrdinalIgnoreCase));
                Assert.Contains(c.Region, regions);
                Assert.Equal("https", c.Endpoint.Scheme);
                accepted++;
            }
            Assert.Equal(0, _sim.Counters.TotalRequests);
            _out.WriteLine($"Connect-BackupService Region ({provider}): {cases.Count} cases, {refused} refused, {accepted} accepted");
        }

        private static int StableHash(string s) => s.Aggregate(17, (h, c) => unchecked(h * 31 + c)) & 0x3fffffff;

        internal static string Show(string value)
        {
            if (value == null) return "<null>";
            var sb = new StringBuilder("\"");
            foreach (var ch in value.Length > 60 ? value[..60] : value)
                sb.Append(ch < 0x20 || ch > 0x7e ? $"\\u{(int)ch:x4}" : ch.ToString());
            return sb.Append(value.Length > 60 ? $"…\" ({value.Length} chars)" : "\"").ToString();
        }
    }

    /// <summary>A seeded table of hostile strings around a valid value.</summary>
    internal static class HostileStrings
    {
        private static readonly string[] Fixed =
        {
            null, "", " ", "   ", "\t", "\r\n", "\n", "\0", "\u0001", "\u007f", "\u0085", "\u2028",
            "../", "..\\", "..%2F", "%2e%2e%2f", "a/../b", "/", "?", "#", "%", "%2F", "%00", "&x=1", "a&x=1", "=", "+", ";",
            "'", "\"", "a\"b", "a'b", "<script>", "x\r\nX-Injected: 1", "\u0430", "\uFF41", "a\u200Db", "\u200B", "\uFEFF", "\u202E",
            "\uD800", "a\uDC00b", "\uD83D\uDE00", ".", "..", "...", "\\", "{}", "[]", "null", "true", "0", "-1",
        };

        private static readonly string[] Fragments =
        {
            "../", "..%2F", "?", "#", "%2F", "&x=1", "'", "\"", "\r\n", "\0", "\u0430", "\uFF21", "\u200D", "\uD800", "%", "/", "\\", " ", "=",
        };

        private static readonly (int From, int To)[] Ranges =
        {
            (0x20, 0x7e), (0x20, 0x7e), (0x20, 0x7e), (0x00, 0x1f), (0x80, 0x9f), (0xa0, 0x24f), (0x400, 0x4ff), (0xff01, 0xff5e),
            (0x200b, 0x200f), (0x2028, 0x202e), (0xd800, 0xdfff), (0x4e00, 0x4e80),
        };

        public static string Random(Random rng, int min, int max)
        {
            var n = rng.Next(min, max + 1);
            var sb = new StringBuilder(n);
            while (sb.Length < n)
            {
                if (rng.Next(8) == 0) { sb.Append(Fragments[rng.Next(Fragments.Length)]); continue; }
                var (from, to) = Ranges[rng.Next(Ranges.Length)];
                sb.Append((char)rng.Next(from, to + 1));
            }
            return sb.ToString();
        }

        /// <summary>Boundary values (lengths min-1, min, max, max+1), look-alikes and injections built on the valid value, the fixed table, and random values.</summary>
        public static List<string> For(Random rng, string valid, int min, int max, int randomCount)
        {
            var cases = new List<string>(Fixed) { valid, valid + " ", " " + valid, valid.ToUpperInvariant() };
            char fill = char.IsLetterOrDigit(valid[^1]) ? valid[^1] : 'a';
            foreach (var len in new[] { min - 1, min, max, max + 1 })
                if (len >= 0 && len <= 4096) cases.Add(len <= valid.Length ? valid[..len] : valid + new string(fill, len - valid.Length));
            foreach (var f in Fragments)
            {
                cases.Add(valid + f);
                cases.Add(f + valid);
                if (valid.Length > 2) cases.Add(valid[..(valid.Length / 2)] + f + valid[(valid.Length / 2 + 1)..]);
            }
            // Look-alikes: one letter swapped for Cyrillic or fullwidth, keeping the length.
            var i = Array.FindIndex(valid.ToCharArray(), char.IsLetter);
            if (i >= 0)
            {
                cases.Add(valid[..i] + '\u0430' + valid[(i + 1)..]);
                cases.Add(valid[..i] + (char)(0xFF21 + char.ToUpperInvariant(valid[i]) - 'A') + valid[(i + 1)..]);
            }
            for (var k = 0; k < randomCount; k++) cases.Add(Random(rng, 0, Math.Max(8, Math.Min(max + 2, 300))));
            return cases.Distinct().Take(300).ToList();
        }
    }
}
