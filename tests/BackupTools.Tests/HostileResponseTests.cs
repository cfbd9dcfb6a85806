using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Simulator;
using Xunit;
using Xunit.Abstractions;

namespace BackupTools.Tests
{
    /// <summary>
    /// The answer readers of every provider fed mutated versions of each documented answer (create, status, and the
    /// reads around them), served by the simulator: truncated, types swapped, 1 MB strings, nesting beyond 64 levels,
    /// duplicate keys, unknown status words, missing fields, a BOM. Whatever comes back, the call ends within its
    /// bound with a <see cref="BackupToolsException"/> that names the service and the call, or with a result.
    /// </summary>
    public sealed class HostileResponseTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const int Seed = 8675309;
        private const int MutationsPerSeed = 30;
        private const string Guid1 = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";

        private readonly BackupSimulator _sim;
        private readonly ITestOutputHelper _out;

        public HostileResponseTests(SimulatorFixture fixture, ITestOutputHelper output)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromSeconds(30);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _out = output;
        }

        public void Dispose() => _sim.Reset();

        /// <summary>A documented answer of one call.</summary>
        private sealed record Answer(string Call, string Method, string PathContains, int[] Statuses, string Json);

        private IEnumerable<Answer> AnswersOf(string provider)
        {
            var ep = _sim.EndpointFor(provider).ToString();
            switch (provider)
            {
                case "TaurusDB":
                case "DDS":
                    var isTaurus = provider == "TaurusDB";
                    var suffix = isTaurus ? "in07" : "in02";
                    yield return isTaurus
                        ? new Answer("create", "POST", "/backups/create", new[] { 201, 200, 202 },
                            "{\"backup\":{\"id\":\"a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4br07\",\"name\":\"nightly-01\",\"description\":\"before upgrade\",\"begin_time\":\"2026-11-23T16:00:00+0800\",\"status\":\"BUILDING\",\"type\":\"manual\",\"instance_id\":\"0123456789abcdef0123456789abcdefin07\"},\"job_id\":\"dff1d289-4d03-4942-8b9f-463ea07c000d\"}")
                        : new Answer("create", "POST", "/backups", new[] { 200, 201, 202 },
                            "{\"job_id\":\"3b6c3f2a-1d4e-4b5f-8a9b-0c1d2e3f4a5b\",\"backup_id\":\"4f1e2d3c4b5a69788796a5b4c3d2e1f0br02\"}");
                    yield return new Answer("create error", "POST", isTaurus ? "/backups/create" : "/backups", new[] { 400, 409, 404, 200 },
                        "{\"error_code\":\"DBS.200019\",\"error_msg\":\"Another operation is being performed on the instance.\"}");
                    yield return new Answer("status", "GET", "/jobs", new[] { 200 },
                        "{\"job\":{\"id\":\"dff1d289-4d03-4942-8b9f-463ea07c000d\",\"name\":\"CreateBackup\",\"status\":\"Running\",\"created\":\"2026-11-23T16:00:00+0800\",\"ended\":\"2026-11-23T16:10:00+0800\",\"progress\":\"60%\",\"instance\":{\"id\":\"0123456789abcdef0123456789abcdef" + suffix + "\",\"name\":\"db-1\"},\"entities\":{\"backup_id\":\"a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4br07\"},\"fail_reason\":\"DBS.200410: failed\"}}");
                    yield return new Answer("status (huge progress)", "GET", "/jobs", new[] { 200 },
                        "{\"job\":{\"id\":\"dff1d289\",\"status\":\"Running\",\"progress\":\"1e300%\"}}");
                    yield return new Answer("status (backups list)", "GET", "/jobs", new[] { 200 },
                        "{\"backups\":[{\"id\":\"a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4br07\",\"name\":\"nightly-01\",\"begin_time\":\"2026-11-23T16:00:00+0800\",\"end_time\":\"2026-11-23T16:10:00+0800\",\"status\":\"COMPLETED\",\"type\":\"manual\"}],\"total_count\":1}");
                    yield return new Answer("status error", "GET", "/jobs", new[] { 400, 404, 200 },
                        "{\"error_code\":\"DBS.200001\",\"error_msg\":\"The job does not exist.\"}");
                    break;
                case "Dataverse":
                    yield return new Answer("create", "POST", "/InstanceBackups", new[] { 202, 200 },
                        "{\"OperationId\":\"9a2c6f1e-0b1d-4c5e-8f7a-112233445566\",\"OperationLocation\":\"" + ep + "api/v1.2/Operation/9a2c6f1e-0b1d-4c5e-8f7a-112233445566\",\"Status\":\"Running\",\"CreatedDateTime\":\"2026-11-23T16:00:00Z\",\"Errors\":[],\"Information\":[{\"Code\":\"Queued\",\"Description\":\"queued\",\"Subject\":\"backup\"}],\"Context\":{\"Items\":{\"InstanceBackupId\":\"b1c2d3e4-0000-4000-8000-000000000001\"}}}");
                    yield return new Answer("create error", "POST", "/InstanceBackups", new[] { 400, 409 },
                        "{\"Errors\":[{\"Code\":\"InvalidInstance\",\"Description\":\"The instance was not found.\",\"Subject\":\"InstanceId\"}],\"Status\":\"Failed\"}");
                    yield return new Answer("status", "GET", "/Operation/", new[] { 200 },
                        "{\"OperationId\":\"9a2c6f1e-0b1d-4c5e-8f7a-112233445566\",\"Status\":\"Succeeded\",\"Errors\":[],\"Information\":[{\"Code\":\"Done\",\"Description\":\"done\"}],\"Context\":{\"Items\":{\"InstanceBackupId\":\"b1c2d3e4-0000-4000-8000-000000000001\"}}}");
                    yield return new Answer("status error", "GET", "/Operation/", new[] { 400, 409 },
                        "{\"error\":{\"code\":\"Forbidden\",\"message\":\"The caller may not read this operation.\"}}");
                    break;
                case "CloudFoundry":
                    yield return new Answer("create error", "POST", "/backups", new[] { 422, 409, 202 },
                        "{\"errors\":[{\"code\":10008,\"title\":\"CF-UnprocessableEntity\",\"detail\":\"The request is semantically invalid\"}]}");
                    yield return new Answer("status", "GET", "/v3/jobs/", new[] { 200 },
                        "{\"guid\":\"b19ae525-cbd3-4155-b156-dc0c2a431b4c\",\"created_at\":\"2026-11-23T16:00:00Z\",\"updated_at\":\"2026-11-23T16:05:00Z\",\"operation\":\"service_instance.backup\",\"state\":\"FAILED\",\"errors\":[{\"code\":10008,\"title\":\"CF-Failed\",\"detail\":\"broker failed\"}],\"warnings\":[{\"detail\":\"slow\"}],\"links\":{\"self\":{\"href\":\"" + ep + "v3/jobs/b19ae525-cbd3-4155-b156-dc0c2a431b4c\"}}}");
                    yield return new Answer("status error", "GET", "/v3/jobs/", new[] { 400, 403, 404 },
                        "{\"errors\":[{\"code\":10003,\"title\":\"CF-NotAuthorized\",\"detail\":\"You are not authorized to perform the requested action\"}]}");
                    break;
                case "ArcGIS":
                    yield return new Answer("stores", "GET", "/disasterrecovery/stores", new[] { 200 },
                        "{\"backupStores\":[{\"default\":true,\"name\":\"DefaultBackupStore\",\"settings\":{\"type\":\"FILE_SYSTEM\",\"location\":\"\\\\\\\\share\\\\dr\"}}]}");
                    yield return new Answer("create", "POST", "/backups/create", new[] { 200 },
                        "{\"status\":\"SUBMITTED\",\"jobid\":\"j123\",\"jobsUrl\":\"" + ep + "admin/jobs/j123\"}");
                    yield return new Answer("create (relative jobsUrl, no jobid)", "POST", "/backups/create", new[] { 200 },
                        "{\"status\":\"SUBMITTED\",\"jobsUrl\":\"jobs/j123\"}");
                    yield return new Answer("create error", "POST", "/backups/create", new[] { 200, 400 },
                        "{\"status\":\"error\",\"messages\":[\"The store does not exist.\"],\"code\":404}");
                    yield return new Answer("status", "GET", "/admin/jobs/", new[] { 200 },
                        "{\"jobid\":\"j123\",\"status\":\"EXECUTING\",\"messages\":[{\"type\":\"INFO\",\"message\":\"Backing up portal\"},\"plain text\"],\"starttime\":1763913600000,\"endtime\":-1}");
                    yield return new Answer("status error", "GET", "/admin/jobs/", new[] { 200, 401 },
                        "{\"error\":{\"code\":498,\"message\":\"Invalid token.\",\"details\":[\"expired\"]}}");
                    yield return new Answer("stage progress", "GET", "/disasterrecovery/status", new[] { 200 },
                        "{\"status\":{\"code\":3,\"scheduleType\":\"MANUAL\",\"stages\":[{\"duration\":\"3096 millis (~ 0 minutes)\",\"lastUpdated\":1763913600000,\"name\":\"Validation\",\"state\":\"completed\"}," +
                        "{\"duration\":\"0 millis (~ 0 minutes)\",\"lastUpdated\":0,\"name\":\"Stage Relational store\",\"state\":\"running\"}],\"startTime\":1763913600000,\"state\":\"running\",\"backupStore\":\"DefaultBackupStore\",\"message\":\"\",\"operation\":\"Backup\",\"backupName\":\"nightly-01\"}}");
                    break;
            }
        }

        private BackupConnection ConnectionFor(string provider) =>
            TestData.Connect(_sim, provider, scope: provider == "TaurusDB" || provider == "DDS" ? TestData.ProjectId : null);

        private static BackupRequest RequestFor(string provider, bool explicitStore) => provider switch
        {
            "TaurusDB" => new BackupRequest { InstanceId = TestData.TaurusInstance, Name = TestData.UniqueName() },
            "DDS" => new BackupRequest { InstanceId = TestData.DdsInstance, Name = TestData.UniqueName() },
            "Dataverse" => new BackupRequest { InstanceId = Guid1, Name = "label" },
            "CloudFoundry" => new BackupRequest { InstanceId = Guid1 },
            _ => new BackupRequest { Kind = BackupKind.DisasterRecovery, Name = TestData.UniqueName(), Passcode = TestData.Secure("Zq7-passcode-XYZ"),
                StoreName = explicitStore ? "DefaultBackupStore" : null },
        };

        [Theory]
        [InlineData("TaurusDB")]
        [InlineData("DDS")]
        [InlineData("Dataverse")]
        [InlineData("CloudFoundry")]
        [InlineData("ArcGIS")]
        public async Task Mutated_answers_end_in_a_service_error_or_a_result(string provider)
        {
            var rng = new Random(Seed + provider.Length * 7919 + provider[0]);
            var c = ConnectionFor(provider);
            var job = await BackupService.StartAsync(c, RequestFor(provider, explicitStore: true), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            var watch = Stopwatch.StartNew();
            var failures = new List<string>();
            int cases = 0, results = 0, errors = 0, cancelled = 0;
            foreach (var answer in AnswersOf(provider))
            {
                foreach (var (how, body) in JsonMutations.Of(rng, answer.Json, MutationsPerSeed))
                {
                    var status = answer.Statuses[rng.Next(answer.Statuses.Length)];
                    cases++;
                    _sim.Faults.Clear();
                    _sim.Faults.Add(new FaultRule { Provider = provider, Method = answer.Method, PathContains = answer.PathContains, StatusCode = status, Body = body, Times = int.MaxValue });
                    var isCreate = answer.Method == "POST" || answer.Call == "stores";
                    var outcome = await Run(isCreate
                        ? ct => BackupService.StartAsync(c, RequestFor(provider, explicitStore: answer.Call != "stores"), NullOperationLog.Instance, ct, TestData.FastRetry())
                        : ct => BackupService.RefreshAsync(c, job, NullOperationLog.Instance, ct, TestData.FastRetry()));
                    var label = $"{provider} {answer.Call} HTTP {status} {how} ({body.Length} chars: {Clip(body)})";
                    switch (outcome)
                    {
                        case null when isCreate:
                            results++;
                            break;
                        case null:
                            results++;
                            var read = await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry())
                                .ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null);
                            if (read?.PercentComplete is int p && (p < 0 || p > 100))
                                failures.Add($"{label}: percent complete {p}");
                            break;
                        case OperationCanceledException:
                            cancelled++;
                            break;
                        case BackupToolsException ex:
                            errors++;
                            if (!ex.Message.Contains(provider, StringComparison.Ordinal) || !System.Text.RegularExpressions.Regex.IsMatch(ex.Message, $@"\b{provider} (GET|POST) "))
                                failures.Add($"{label}: {ex.ErrorId} does not name the service and the call: {ex.Message}");
                            break;
                        default:
                            failures.Add($"{label}: {outcome.GetType().Name}: {outcome.Message}\n{outcome.StackTrace}");
                            break;
                    }
                }
            }
            _sim.Faults.Clear();
            _out.WriteLine($"{provider}: {cases} mutated answers, {results} read as a result, {errors} BackupToolsException, {cancelled} cancelled, {failures.Count} failures ({watch.ElapsedMilliseconds} ms)");
            foreach (var f in failures.Take(15)) _out.WriteLine(f);
            Assert.True(failures.Count == 0, string.Join("\n", failures.Take(5)));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(40), "the run must stay bounded");
        }

        /// <summary>
        /// A Cloud Foundry create answers 202 with the job's address in a Location header, not in a body. Hostile
        /// addresses (relative, another host, another scheme, user info, no path, query and fragment, 8 KB, garbage)
        /// each end in an error naming the service and the call, or in a job; and no job ever leads a status read, and
        /// its token, off the connection's host: the read is refused before anything is sent.
        /// </summary>
        [Fact]
        public async Task Hostile_Location_headers_on_a_Cloud_Foundry_create_never_lead_a_token_elsewhere()
        {
            var c = ConnectionFor("CloudFoundry");
            var ep = _sim.EndpointFor("CloudFoundry");
            var here = ep.GetLeftPart(UriPartial.Authority);
            var values = new List<string>
            {
                ep + "v3/jobs/b19ae525-cbd3-4155-b156-dc0c2a431b4c", "/v3/jobs/b19ae525-cbd3-4155-b156-dc0c2a431b4c", "v3/jobs/x", "jobs/x", "x",
                "https://evil.example/v3/jobs/x", "//evil.example/v3/jobs/x", "http://evil.example/v3/jobs/x", "ftp://evil.example/v3/jobs/x",
                "javascript:alert(1)", "mailto:a@evil.example", "data:text/plain,x", "file:///etc/passwd", "urn:x:y",
                here.Replace("http://", "http://user:pass@") + "/v3/jobs/x", here + ":99999/v3/jobs/x", here.Replace("127.0.0.1", "[::1]") + "/v3/jobs/x",
                "/", "//", "///", "?", "#", "/v3/jobs/", "/v3/jobs/x?y=1#z", "/v3/jobs/%2e%2e%2fadmin", "/v3/jobs/../../admin", "/v3/jobs/%00",
                "/v3/jobs/" + new string('a', 8000), " ", "\\evil.example\\share", "http://", "https:", "::::", "%", "%zz", "[", "http://[::1",
            };
            var rng = new Random(Seed);
            const string chars = "/:?#%[]@!$&'()*+,;=.-_~ aZ09\\";
            for (var i = 0; i < 60; i++)
                values.Add(new string(Enumerable.Range(0, rng.Next(1, 24)).Select(_ => chars[rng.Next(chars.Length)]).ToArray()));

            var failures = new List<string>();
            int jobs = 0, errors = 0, refusedReads = 0;
            foreach (var value in values)
            {
                _sim.Faults.Clear();
                _sim.Faults.Add(new FaultRule { Provider = "CloudFoundry", Method = "POST", PathContains = "/backups", StatusCode = 202, Body = string.Empty, Location = value, Times = int.MaxValue });
                var label = $"Location '{Clip(value)}'";
                BackupJob job = null;
                var outcome = await Run(async ct => job = await BackupService.StartAsync(c, RequestFor("CloudFoundry", false), NullOperationLog.Instance, ct, TestData.FastRetry()));
                switch (outcome)
                {
                    case null:
                        jobs++;
                        break;
                    case BackupToolsException ex:
                        errors++;
                        if (!System.Text.RegularExpressions.Regex.IsMatch(ex.Message, @"\bCloudFoundry (GET|POST) "))
                            failures.Add($"{label}: {ex.ErrorId} does not name the service and the call: {ex.Message}");
                        continue;
                    default:
                        failures.Add($"{label}: {outcome.GetType().Name}: {outcome.Message}\n{outcome.StackTrace}");
                        continue;
                }
                _sim.Faults.Clear();
                var before = _sim.Counters.Requests.Count;
                var read = await Run(ct => BackupService.RefreshAsync(c, job, NullOperationLog.Instance, ct, TestData.FastRetry()));
                var sent = _sim.Counters.Requests.Skip(before).ToList();
                var onHost = Uri.TryCreate(job.StatusUrl, UriKind.Absolute, out var statusUrl) && BackupTools.Providers.JobUrl.IsUnder(ep, statusUrl);
                if (!onHost)
                {
                    if (!(read is BackupToolsException refused && refused.ErrorId == ErrorIds.BackupJobInvalid))
                        failures.Add($"{label}: the job's status URL '{Clip(job.StatusUrl ?? "")}' is off the host, and the read was not refused: {read?.GetType().Name}");
                    else if (sent.Count != 0)
                        failures.Add($"{label}: a refused read still sent {sent.Count} request(s)");
                    else refusedReads++;
                }
                else if (read != null && !(read is BackupToolsException))
                    failures.Add($"{label}: the status read ended in {read.GetType().Name}: {read.Message}");
            }
            _sim.Faults.Clear();
            _out.WriteLine($"CloudFoundry Location: {values.Count} values, {jobs} jobs ({refusedReads} off-host, their reads refused unsent), {errors} errors, {failures.Count} failures");
            foreach (var f in failures.Take(15)) _out.WriteLine(f);
            Assert.True(failures.Count == 0, string.Join("\n", failures.Take(5)));
            Assert.True(jobs > 0 && errors > 0 && refusedReads > 0, $"{jobs} jobs, {errors} errors, {refusedReads} refused reads: every kind of outcome must be exercised");
        }

        /// <summary>
        /// A deployment behind a proxy or web adaptor answers its job's status address on its internal machine. That
        /// address is never followed (the token must not go there): the job keeps the documented address built from its
        /// id on the connection's endpoint, and is followed there to its end.
        /// </summary>
        [Theory]
        [InlineData("ArcGIS", "/admin/jobs/")]
        [InlineData("CloudFoundry", "/v3/jobs/")]
        [InlineData("Dataverse", "/api/v1.2/Operation/")]
        public async Task A_status_address_on_an_internal_host_gives_way_to_the_documented_one_on_the_endpoint(string provider, string documented)
        {
            _sim.Options.StatusUrlAuthority = "backup-internal.corp:7443";
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            try
            {
                var c = ConnectionFor(provider);
                var request = provider == "ArcGIS" ? RequestFor(provider, explicitStore: true)
                    : new BackupRequest { InstanceId = Guid.NewGuid().ToString(), Name = provider == "Dataverse" ? "label" : null };
                var job = await BackupService.StartAsync(c, request, NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
                Assert.Equal(c.Endpoint.ToString().TrimEnd('/') + documented + job.JobId, job.StatusUrl);
                var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
                Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
                Assert.Empty(events.Errors);
            }
            finally
            {
                _sim.Options.StatusUrlAuthority = null;
            }
        }

        /// <summary>Runs one call bounded by 10 s of cancellation and 20 s of wall clock; null on success, else the exception.</summary>
        private static async Task<Exception> Run(Func<CancellationToken, Task> call)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await call(cts.Token).WaitAsync(TimeSpan.FromSeconds(20));
                return null;
            }
            catch (TimeoutException ex)
            {
                return new InvalidOperationException("the call hung past its cancellation", ex);
            }
            catch (Exception ex)
            {
                return ex;
            }
        }

        private static string Clip(string s) => HostileInputTests.Show(s.Length > 60 ? s[..60] : s);
    }

    /// <summary>Seeded mutations of a JSON document, as text.</summary>
    internal static class JsonMutations
    {
        private static readonly string[] StatusKeys = { "status", "state", "Status", "job_id", "jobid", "OperationId", "jobsUrl", "OperationLocation" };

        public static IEnumerable<(string How, string Body)> Of(Random rng, string json, int count)
        {
            yield return ("as is", json);
            yield return ("with a BOM", "\uFEFF" + json);
            yield return ("nested 65 deep", new string('[', 65) + json + new string(']', 65));
            yield return ("nested 5000 deep", string.Concat(Enumerable.Repeat("{\"a\":", 5000)) + "1" + new string('}', 5000));
            yield return ("empty object", "{}");
            yield return ("top-level array", "[" + json + "]");
            yield return ("top-level string", "\"" + new string('x', 100) + "\"");
            yield return ("1 MB string value", Replace(rng, json, _ => JsonValue.Create(new string('A', 1024 * 1024))));
            yield return ("over 4 MB", "{\"status\":\"" + new string('B', 4 * 1024 * 1024 + 10) + "\"}");
            for (var i = 0; i < count; i++)
            {
                switch (rng.Next(8))
                {
                    case 0: yield return ("truncated", json[..rng.Next(json.Length)]); break;
                    case 1: yield return ("type swapped", Replace(rng, json, _ => RandomValue(rng))); break;
                    case 2: yield return ("field removed", Remove(rng, json)); break;
                    case 3: yield return ("duplicate key", Duplicate(rng, json)); break;
                    case 4: yield return ("unknown status", Replace(rng, json, n => JsonValue.Create(HostileStrings.Random(rng, 0, 20)), key => StatusKeys.Contains(key))); break;
                    case 5: yield return ("nested beyond 64", Replace(rng, json, _ => Deep(rng.Next(64, 80)))); break;
                    case 6: yield return ("odd number", Replace(rng, json, _ => JsonNode.Parse(new[] { "1e400", "-1e400", "99999999999999999999999", "-0", "1.5e-400", "-9223372036854775809", "1E+308" }[rng.Next(7)]))); break;
                    default: yield return ("two mutations", Replace(rng, Remove(rng, json), _ => RandomValue(rng))); break;
                }
            }
        }

        private static JsonNode RandomValue(Random rng) => rng.Next(9) switch
        {
            0 => JsonValue.Create(HostileStrings.Random(rng, 0, 30)),
            1 => JsonValue.Create(rng.Next(-5, 5) * 1e15),
            2 => new JsonObject { ["x"] = 1 },
            3 => new JsonArray(1, "two", null),
            4 => null,
            5 => JsonValue.Create(rng.Next(2) == 0),
            6 => new JsonArray(),
            7 => JsonValue.Create(-1),
            _ => new JsonObject(),
        };

        private static JsonNode Deep(int depth)
        {
            JsonNode node = JsonValue.Create(1);
            for (var i = 0; i < depth; i++) node = i % 2 == 0 ? new JsonArray(node) : new JsonObject { ["a"] = node };
            return node;
        }

        /// <summary>Every (parent, key-or-index) slot in the document.</summary>
        private static List<(JsonNode Parent, string Key, int Index)> Slots(JsonNode root)
        {
            var slots = new List<(JsonNode, string, int)>();
            void Walk(JsonNode n)
            {
                if (n is JsonObject o)
                    foreach (var p in o.ToList()) { slots.Add((o, p.Key, -1)); if (p.Value != null) Walk(p.Value); }
                else if (n is JsonArray a)
                    for (var i = 0; i < a.Count; i++) { slots.Add((a, null, i)); if (a[i] != null) Walk(a[i]); }
            }
            Walk(root);
            return slots;
        }

        private static string Replace(Random rng, string json, Func<JsonNode, JsonNode> make, Func<string, bool> keyFilter = null)
        {
            JsonNode root;
            try { root = JsonNode.Parse(json, documentOptions: new System.Text.Json.JsonDocumentOptions { MaxDepth = 256 }); }
            catch (System.Text.Json.JsonException) { return json; }
            if (root == null) return json;
            var slots = Slots(root).Where(s => keyFilter == null || (s.Key != null && keyFilter(s.Key))).ToList();
            if (slots.Count == 0) return json;
            var (parent, key, index) = slots[rng.Next(slots.Count)];
            if (parent is JsonObject o) o[key] = make(o[key]);
            else if (parent is JsonArray a) a[index] = make(a[index]);
            return root.ToJsonString(new System.Text.Json.JsonSerializerOptions { MaxDepth = 256 });
        }

        private static string Remove(Random rng, string json)
        {
            JsonNode root;
            try { root = JsonNode.Parse(json); }
            catch (System.Text.Json.JsonException) { return json; }
            var slots = Slots(root).Where(s => s.Key != null).ToList();
            if (slots.Count == 0) return json;
            var (parent, key, _) = slots[rng.Next(slots.Count)];
            ((JsonObject)parent).Remove(key);
            return root.ToJsonString();
        }

        /// <summary>Writes one object's key a second time, first with another value (text surgery: JsonNode refuses duplicates).</summary>
        private static string Duplicate(Random rng, string json)
        {
            var keys = System.Text.RegularExpressions.Regex.Matches(json, "\"([A-Za-z_]+)\":").Select(m => m.Groups[1].Value).Distinct().ToList();
            if (keys.Count == 0) return json;
            var key = keys[rng.Next(keys.Count)];
            var at = json.IndexOf("\"" + key + "\":", StringComparison.Ordinal);
            var value = RandomValue(rng)?.ToJsonString() ?? "null";
            return json.Insert(at, "\"" + key + "\":" + value + ",");
        }
    }
}
