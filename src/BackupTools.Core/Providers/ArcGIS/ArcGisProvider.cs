using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Tasks;
using BackupTools.Async;
using BackupTools.Http;
using BackupTools.Json;
using BackupTools.Validation;

namespace BackupTools.Providers.ArcGIS
{
    /// <summary>
    /// ArcGIS Enterprise disaster-recovery backups (Enterprise Administrator API): form-encoded
    /// <c>POST {admin}system/disasterrecovery/stores/{store}/backups/create</c> answering <c>{jobsUrl|jobs, jobid, status}</c>,
    /// followed on <c>{admin}jobs/{jobid}</c> (10.9, without the store routes: <c>{admin}system/disasterrecovery/backuprestore/backup</c>,
    /// the default store). Errors come as HTTP 200 bodies. See shared/api/arcgis.md.
    /// The connection's endpoint is the deployment's web context (<c>https://host/context/</c>); the admin root is below it.
    /// </summary>
    internal sealed class ArcGisProvider : IBackupProvider, IBackupStoreLister, IReadsServiceErrors
    {
        private static readonly BackupProviderInfo InfoValue = new BackupProviderInfo(
            "ArcGIS", "ArcGIS Enterprise disaster-recovery backups", new[] { BackupKind.DisasterRecovery },
            new Dictionary<string, Uri>(), null, new[] { AuthenticationMethods.AccessToken, AuthenticationMethods.Credential },
            "https://developers.arcgis.com/rest/enterprise-administration/enterprise/");

        // [I] The API page states no rule for the name; ours keeps it to characters safe in the store's paths
        // (list/get/delete/restore address a backup by name in a path segment).
        internal static readonly Rule NameRule = Rule.Name("Name", 1, 100, "._-", letterFirst: false,
            "1 to 100 characters: letters, digits, '-', '_' and '.' only, not only dots").And(v => v.Trim('.').Length > 0).AsOurs();

        // [I] No documented limit; ours. A description of several lines (a change ticket under a title) is sent as it is.
        internal static readonly Rule DescriptionRule = new Rule("Description",
            "at most 1024 characters, without control characters other than tab and line breaks",
            v => v.Length <= 1024 && !v.Any(c => char.IsControl(c) && c != '\t' && c != '\n' && c != '\r'), required: false, ours: true, maxLength: 1024);

        // The store goes into a path segment (escaped by Url.Combine); refuse what could still confuse a server or proxy.
        internal static readonly Rule StoreNameRule = new Rule("StoreName",
            "at most 255 characters, not ending in '.', without '/', '\\', '?', '#', '%', '..' or control characters",
            // Not ending in '.': Windows PowerShell 5.1's System.Uri trims trailing dots from a path segment ('nightly.' went to 'nightly').
            v => v.Length <= 255 && !v.EndsWith(".", StringComparison.Ordinal) && v.IndexOfAny(new[] { '/', '\\', '?', '#', '%' }) < 0 && !v.Contains("..") && !v.Any(char.IsControl),
            required: false, ours: true, maxLength: 255);

        /// <summary>The documented minimum passcode length [V].</summary>
        internal const int MinPasscodeLength = 8;

        public BackupProviderInfo Info => InfoValue;

        public TimeSpan MinimumPollInterval => TimeSpan.Zero;

        /// <summary>A job id should be readable at once; allow a short grace for replicated deployments.</summary>
        public TimeSpan NotFoundGrace { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>None: ArcGIS answers most refusals with HTTP 200 and an error body [V], so a 200 unread says nothing.</summary>
        public int? AcceptedCreateStatus => null;

        /// <summary>ArcGIS has no project-like scope; the connection refuses one already.</summary>
        /// <summary>generateToken with the user's name and password.</summary>
        public BackupCredential CreateCredential(string method, ConnectRequest request, Uri endpoint) =>
            new ArcGisTokenCredential(Info.Name, endpoint, request.UserName, request.Password);

        public void ValidateScope(string scope)
        {
        }

        public void Validate(BackupConnection connection, BackupRequest request)
        {
            if (request.Kind != BackupKind.DisasterRecovery)
                throw new BackupToolsException(ErrorIds.ProviderOperationNotSupported, BackupErrorCategory.InvalidOperation,
                    $"{Info.Name} offers disaster-recovery backups only; use New-DisasterRecoveryBackup.", request) { Provider = Info.Name };
            NameRule.Check(Info.Name, request.Name, request);
            // The passcode is a secret: only its length is looked at, and no message quotes it.
            if (request.Passcode == null || request.Passcode.Length == 0)
                throw Rule.Breach(Info.Name, $"Passcode is required (at least {MinPasscodeLength} characters; it encrypts the backup and is needed to restore it).", request);
            if (request.Passcode.Length < MinPasscodeLength)
                throw Rule.Breach(Info.Name, $"Passcode is too short: {Info.Name} needs at least {MinPasscodeLength} characters.", request);
            if (!Secret.IsWellFormed(request.Passcode))
                throw Rule.Breach(Info.Name, "Passcode holds an unpaired surrogate, which is not Unicode text: it would be sent altered and the backup could not be restored with it.", request);
            DescriptionRule.Check(Info.Name, request.Description, request);
            StoreNameRule.Check(Info.Name, request.StoreName, request);
            if (request.RetentionDate is DateTimeOffset retention && retention <= DateTimeOffset.UtcNow)
                throw Rule.Breach(Info.Name, Retention.NotInFuture(request, retention), request);
        }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        public async Task<BackupJob> StartAsync(ServiceCall call, BackupRequest request)
        {
            call.AddSecret(request.Passcode); // masked in whatever the deployment answers
            var connection = call.Connection;
            var admin = AdminRoot(connection);
            // An empty -StoreName means "not given", never an empty path segment (stores//backups/create).
            var named = !string.IsNullOrEmpty(request.StoreName);
            // The 10.9 create (backuprestore/backup) knows the default store only, and no retentionDate (10.9.1+).
            var fitsTen9 = !named && request.RetentionDate == null;
            string store = null;
            ServiceResponse response = null;
            try
            {
                store = named ? request.StoreName : await DefaultStoreAsync(call, admin, request).NoContext();
                response = await CreateAsync(call, request, Url.Combine(admin, "system", "disasterrecovery", "stores", store, "backups", "create")).NoContext();
                if (ErrorIn(response, request) is BackupToolsException refused && IsNotFound(refused)) throw refused;
            }
            catch (BackupToolsException ex) when (IsNotFound(ex))
            {
                if (!fitsTen9) throw StoresNotFound(ex, admin, request);
                call.Log.Verbose($"{Info.Name}: the disaster-recovery store routes answered not found ({ex.ServiceCode ?? ex.HttpStatus?.ToString(System.Globalization.CultureInfo.InvariantCulture)}); " +
                                 "creating the backup on the 10.9 path (backuprestore/backup) for the default store.");
                response = await CreateAsync(call, request, Url.Combine(admin, "system", "disasterrecovery", "backuprestore", "backup")).NoContext();
                if (ErrorIn(response, request) is BackupToolsException gone && IsNotFound(gone)) throw StoresNotFound(gone, admin, request);
            }

            var body = Read(response, request);
            var jobId = body.Str("jobid", "jobId");
            var jobUrl = body.Str("jobsUrl", "jobs", "jobUrl");
            if (string.IsNullOrEmpty(jobId) && string.IsNullOrEmpty(jobUrl))
                throw response.Invalid("accepted the backup but its answer has neither jobid nor jobsUrl", request);
            // A jobsUrl on another host (behind a web adaptor) gives way to the documented {admin}/jobs/{jobid}; without
            // a jobid (documented as always given), the id is the jobsUrl's last segment.
            var given = string.IsNullOrEmpty(jobUrl) || !Uri.TryCreate(jobUrl, UriKind.Absolute, out var absolute) ? null : absolute;
            if (string.IsNullOrEmpty(jobId) && given != null) jobId = JobUrl.LastSegment(given);
            var statusUrl = JobUrl.Answered(connection, given, jobId, JobsUrl);
            if (statusUrl == null && !string.IsNullOrEmpty(jobId)) statusUrl = JobsUrl(connection, jobId);
            // A relative jobsUrl and no jobid: resolve it against the admin root (was Url.Combine with a null id).
            else if (statusUrl == null && !Uri.TryCreate(admin, jobUrl, out statusUrl))
                throw response.Invalid($"accepted the backup but its jobsUrl '{Rule.Printable(response.Scrubbed(Http.Redact.Unparsed(jobUrl)))}' is not an address", request);
            var raw = body.Str("status") ?? "SUBMITTED";
            return new BackupJob(Info.Name, connection.Endpoint.ToString(), jobId ?? JobUrl.LastSegment(statusUrl), JobUrl.Kept(call, statusUrl),
                Deployment(connection), request.Name, null, store, BackupKind.DisasterRecovery, MapState(raw) == BackupJobState.Unknown ? BackupJobState.Running : MapState(raw),
                raw, null, DateTimeOffset.UtcNow);
        }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        public async Task<JobStatus> GetStatusAsync(ServiceCall call, BackupJob job)
        {
            var url = WithJsonFormat(JobUrl.StatusUrlOf(call.Connection, job) ?? JobsUrl(call.Connection, job.JobId));
            var response = await SendAsync(call, isCreate: false, job, () => Authorized(call, HttpMethod.Get, url)).NoContext();

            JsonElement root;
            try
            {
                root = Read(response, job);
            }
            catch (BackupToolsException ex) when (ex.ServiceCode == "404")
            {
                return JobStatus.NotFoundYet(response, ex);
            }

            var raw = root.Str("status");
            if (raw == null) throw response.Invalid("answered without a job status", job);
            var state = MapState(raw);
            var messages = Messages(root).ToArray();
            // Esri's Job page: a FAILED job's details are in its result; messages are the older deployments' place, and
            // may hold only progress lines: the result's reason comes first, then the messages.
            if (state == BackupJobState.Failed)
            {
                var reasons = FailureIn(root).ToArray();
                if (reasons.Length > 0) messages = reasons.Concat(messages.Where(m => reasons.All(r => r.Message != m.Message))).ToArray();
            }
            var percent = state == BackupJobState.Running ? await StageProgressAsync(call, job).NoContext() : null;
            return new JobStatus
            {
                State = state,
                RawStatus = raw,
                PercentComplete = percent,
                EndedAt = root.Time("endtime"),
                Errors = state == BackupJobState.Failed
                    ? (messages.Length > 0 ? messages : new[] { new BackupJobMessage(raw, "The service reported the job failed without a message.") })
                    : null,
                Warnings = state != BackupJobState.Failed && messages.Length > 0 ? messages : null,
                RetryAfter = response.RetryAfter,
            };
        }

        /// <summary>
        /// Stage-level progress of the running DR job (completed stages of all stages, as a percent), from
        /// <c>{admin}system/disasterrecovery/status</c>. Best effort: null when the deployment does not offer it, reports
        /// another job, or cannot be read; a job's state never depends on it.
        /// </summary>
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        private async Task<int?> StageProgressAsync(ServiceCall call, BackupJob job)
        {
            try
            {
                var url = WithJsonFormat(Url.Combine(AdminRoot(call.Connection), "system", "disasterrecovery", "status"));
                var response = await SendAsync(call, isCreate: false, job, () => Authorized(call, HttpMethod.Get, url)).NoContext();
                var root = Read(response, job);
                // Documented: {"status":{"stages":[…],…}}; other answers put the stages and a jobid at the top level.
                var status = root.Obj("status") ?? root;
                var about = status.Str("jobid", "jobId") ?? root.Str("jobid", "jobId");
                if (about != null && job.JobId != null && !string.Equals(about, job.JobId, StringComparison.OrdinalIgnoreCase)) return null;
                // The documented answer names no job: it is the last operation's, which may be a restore or another backup.
                var operation = status.Str("operation");
                if (operation != null && !string.Equals(operation, "Backup", StringComparison.OrdinalIgnoreCase)) return null;
                var backupName = status.Str("backupName");
                if (backupName != null && job.BackupName != null && !string.Equals(backupName, job.BackupName, StringComparison.Ordinal)) return null;
                var stages = status.Items("stages").Select(st => st.Str("state")).ToList();
                if (stages.Count == 0) stages = root.Items("stages").Select(st => st.Str("state")).ToList();
                if (stages.Count == 0) return null;
                var done = stages.Count(st => string.Equals(st, "COMPLETED", StringComparison.OrdinalIgnoreCase));
                return done * 100 / stages.Count;
            }
            catch (BackupToolsException ex)
            {
                call.Log.Verbose($"{Info.Name}: no stage progress for job {job.JobId} ({ex.ServiceCode ?? ex.ErrorId}).");
                return null;
            }
        }

        /// <summary>The stores' names, for completion. Cheap: one GET.</summary>
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        public async Task<IReadOnlyList<string>> StoreNamesAsync(ServiceCall call)
        {
            var root = await StoresAsync(call, AdminRoot(call.Connection), call.Connection).NoContext();
            return StoresIn(root).Select(s => s.Str("name")).Where(n => !string.IsNullOrEmpty(n)).ToList();
        }

        /// <summary>The stores of a stores answer: <c>backupStores</c> as documented, else <c>stores</c> (other shapes).</summary>
        private static IEnumerable<JsonElement> StoresIn(JsonElement root) => root.Items("backupStores", "stores");

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        private async Task<string> DefaultStoreAsync(ServiceCall call, Uri admin, BackupRequest request)
        {
            var root = await StoresAsync(call, admin, request).NoContext();
            var store = StoresIn(root).FirstOrDefault(s => s.Str("default") == "true");
            var name = store.ValueKind == JsonValueKind.Object ? store.Str("name") : null;
            var storesCall = $"{Info.Name} GET {WithJsonFormat(Url.Combine(admin, "system", "disasterrecovery", "stores"))}";
            // The name goes into the create's path: one the StoreName rule would refuse could move the request elsewhere.
            if (!string.IsNullOrEmpty(name) && (!Rule.IsWellFormed(name) || !StoreNameRule.Accepts(name)))
                throw new BackupToolsException(ErrorIds.BackupResponseInvalid, BackupErrorCategory.ProtocolError,
                    $"{storesCall} named a default backup store that cannot be used in a path ('{Rule.Printable(name)}'). No backup was started.", request)
                {
                    Provider = Info.Name,
                    RecommendedAction = "Pass -StoreName with the store to use.",
                };
            if (string.IsNullOrEmpty(name))
                throw new BackupToolsException(ErrorIds.BackupParameterInvalid, BackupErrorCategory.ObjectNotFound,
                    $"{storesCall} lists no default backup store. Nothing was sent.", request)
                {
                    Provider = Info.Name,
                    RecommendedAction = "Pass -StoreName, or register a default backup store on the deployment.",
                };
            return name;
        }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        private async Task<JsonElement> StoresAsync(ServiceCall call, Uri admin, object target)
        {
            var url = WithJsonFormat(Url.Combine(admin, "system", "disasterrecovery", "stores"));
            var response = await SendAsync(call, isCreate: false, target, () => Authorized(call, HttpMethod.Get, url)).NoContext();
            return Read(response, target);
        }

        /// <summary>One create request to <paramref name="url"/> (the 10.9.1+ store path or the 10.9 one), resent once on a 498.</summary>
        private Task<ServiceResponse> CreateAsync(ServiceCall call, BackupRequest request, Uri url) =>
            SendAsync(call, isCreate: true, request, [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))] async Task<HttpRequestMessage> () =>
            {
                // The header first, and the form's token read from it: one value for both, cleaned as the header's is
                // (a trailing line break from Get-Content -Raw, a pasted "Bearer ") and of the same generation. ArcGIS
                // credentials are tokens, which sign nothing, so the body may follow the header.
                var http = await Authorized(call, HttpMethod.Post, url).NoContext();
                var token = http.Headers.Authorization?.Parameter;
                var fields = new List<KeyValuePair<string, string>>
                {
                    new KeyValuePair<string, string>("name", request.Name),
                    // Revealed only here, into the request body; the body is never logged.
                    new KeyValuePair<string, string>("passcode", Secret.Reveal(request.Passcode)),
                };
                if (!string.IsNullOrEmpty(request.Description))
                    fields.Add(new KeyValuePair<string, string>("description", request.Description));
                if (request.RetentionDate is DateTimeOffset retention)
                    fields.Add(new KeyValuePair<string, string>("retentionDate",
                        retention.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture)));
                fields.Add(new KeyValuePair<string, string>("f", "json"));
                fields.Add(new KeyValuePair<string, string>("token", token));
                http.Content = new FormUrlEncodedContent(fields);
                return http;
            });

        /// <summary>
        /// "Not found" as ArcGIS says it (HTTP 200 with code 404 in the body, for an unknown resource or operation) or
        /// as a web tier does (HTTP 404 without an ArcGIS body): nothing was done.
        /// </summary>
        private static bool IsNotFound(BackupToolsException ex) =>
            ex.ServiceCode == "404" || (string.IsNullOrEmpty(ex.ServiceCode) && ex.HttpStatus == 404);

        /// <summary>
        /// The store routes' "not found" with the rule it most likely means (the deployment is older than 10.9.1),
        /// keeping the service's code and message: the deployment's own body names no version.
        /// </summary>
        private BackupToolsException StoresNotFound(BackupToolsException ex, Uri admin, BackupRequest request)
        {
            var ten9 = Url.Combine(admin, "system", "disasterrecovery", "backuprestore", "backup");
            var why = !string.IsNullOrEmpty(request.StoreName) ? "not tried: -StoreName was given"
                : request.RetentionDate != null ? "not tried: a retention date was given (-RetentionDate or -RetentionPeriod), which is 10.9.1 and later"
                : "tried, and it answered not found too";
            return new BackupToolsException(ex.ErrorId, ex.Category,
                ex.Message + " Disaster-recovery backup stores (system/disasterrecovery/stores/{store}/backups/create) need ArcGIS Enterprise " +
                $"10.9.1 or later; at 10.9 the create is POST {ten9}, for the default store only and without a retention date ({why}). " +
                "No backup was started.", request, ex)
            {
                Provider = ex.Provider ?? Info.Name,
                ServiceCode = ex.ServiceCode,
                ServiceMessage = ex.ServiceMessage,
                HttpStatus = ex.HttpStatus,
                RecommendedAction = "Check the deployment's version and the store's name; on ArcGIS Enterprise 10.9, leave out -StoreName, -RetentionDate and -RetentionPeriod.",
            };
        }

        /// <summary>Maps the job status words to the normalised state.</summary>
        internal static BackupJobState MapState(string status)
        {
            switch ((status ?? string.Empty).Trim().ToUpperInvariant())
            {
                case "SUBMITTED":
                case "EXECUTING":
                case "CANCELLING": // rolling back
                case "UNAVAILABLE": // unknown for now: keep polling [V]
                    return BackupJobState.Running;
                case "COMPLETED":
                    return BackupJobState.Succeeded;
                case "FAILED":
                case "TIMED OUT":
                    return BackupJobState.Failed;
                case "CANCELLED":
                case "CANCELED":
                    return BackupJobState.Cancelled;
                default:
                    return BackupJobState.Unknown;
            }
        }

        /// <summary>
        /// The one reader of every ArcGIS answer: the JSON object on success, or an error carrying the ArcGIS code for
        /// either error shape (<c>{"status":"error","messages":[…],"code":499}</c> and <c>{"error":{"code":498,"message":…}}</c>),
        /// which ArcGIS usually sends with HTTP 200.
        /// </summary>
        internal BackupToolsException ErrorIn(ServiceResponse response, object target)
        {
            var (code, message) = ErrorOf(response) ?? (null, null);
            if (code == null && message == null)
            {
                if (response.IsSuccess) return null;
                return response.ServiceError(null, string.IsNullOrWhiteSpace(response.Body) ? null : "the answer was not an ArcGIS error body", target);
            }
            var error = response.ServiceError(code, message, target, CategoryFor(code));
            if (code == "498" || code == "499")
                error.RecommendedAction = "Get a new ArcGIS token (they are short-lived) and run Connect-BackupService again.";
            return error;
        }

        /// <summary>The code and message of either ArcGIS error shape (unmasked); null when the body is neither.</summary>
        public (string Code, string Message)? ErrorOf(ServiceResponse response)
        {
            string code = null, message = null;
            if (response.Json is JsonElement e && e.ValueKind == JsonValueKind.Object)
            {
                if (e.Obj("error") is JsonElement inner)
                {
                    code = inner.Str("code");
                    message = inner.Str("message");
                    var details = inner.Items("details").Select(d => JsonRead.AsString(d)).Where(d => !string.IsNullOrEmpty(d)).ToList();
                    if (details.Count > 0) message = (message == null ? string.Empty : message + " ") + string.Join(" ", details);
                }
                else if (string.Equals(e.Str("status"), "error", StringComparison.OrdinalIgnoreCase))
                {
                    code = e.Str("code");
                    var messages = e.Items("messages").Select(m => JsonRead.AsString(m)).Where(m => !string.IsNullOrEmpty(m)).ToList();
                    message = messages.Count > 0 ? string.Join(" ", messages) : e.Str("message");
                }
            }
            return code == null && message == null ? ((string, string)?)null : (code, message);
        }

        private JsonElement Read(ServiceResponse response, object target)
        {
            var error = ErrorIn(response, target);
            if (error != null) throw error;
            return response.RequireJsonObject(target);
        }

        private static BackupErrorCategory? CategoryFor(string code)
        {
            if (!int.TryParse(code, out var n)) return null;
            if (n == 498 || n == 499) return BackupErrorCategory.AuthenticationError;
            if (n >= 400 && n < 500) return ServiceResponse.CategoryFor(n);
            return null;
        }

        /// <summary>Sends; on 498 (token expired) renews the credential and sends once more when it could be renewed.</summary>
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        private async Task<ServiceResponse> SendAsync(ServiceCall call, bool isCreate, object target, Func<Task<HttpRequestMessage>> build)
        {
            var request = await build().NoContext();
            var generation = ServiceCall.GenerationOf(request);
            var response = await call.SendAsync(request, isCreate, target).NoContext();
            if (ErrorIn(response, target)?.ServiceCode == "498" &&
                await call.RenewAfterRefusalAsync(call.Connection.Credential, generation).NoContext())
                response = await call.SendAsync(await build().NoContext(), isCreate, target).NoContext();
            return response;
        }

        // The token goes in a header, never into a URL.
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        private static async Task<HttpRequestMessage> Authorized(ServiceCall call, HttpMethod method, Uri url)
        {
            var http = new HttpRequestMessage(method, url);
            await AuthorizeAsync(call, http).NoContext();
            return http;
        }

        /// <summary>
        /// The token as a Bearer header, and the <c>Referer</c> it is bound to: a token from generateToken with
        /// <c>client=referer</c> is valid only on requests naming that referer. Sign-in sets it already
        /// (<see cref="ArcGisTokenCredential"/>); a token given with -AccessToken gets the same one, the connection's
        /// endpoint, so a token made by hand for it works as one the module made.
        /// </summary>
        private static Task AuthorizeAsync(ServiceCall call, HttpRequestMessage http)
        {
            http.Headers.Referrer = ArcGisTokenCredential.RefererFor(call.Connection.Endpoint);
            return call.Connection.Credential.ApplyAsync(http, call, TokenPlacement.Bearer);
        }

        private static IEnumerable<BackupJobMessage> Messages(JsonElement root)
        {
            foreach (var m in root.Items("messages"))
            {
                if (m.ValueKind == JsonValueKind.Object)
                {
                    var text = m.Str("message", "description");
                    if (!string.IsNullOrEmpty(text)) yield return new BackupJobMessage(m.Str("type", "code"), text);
                }
                else if (JsonRead.AsString(m) is string s && s.Length > 0)
                {
                    yield return new BackupJobMessage(null, s);
                }
            }
        }

        /// <summary>
        /// The reason a failed job gives in its <c>result</c>: a text, <c>{status: "error", messages}</c>,
        /// <c>{error: {code, message}}</c> or <c>{message}</c>.
        /// </summary>
        internal static IEnumerable<BackupJobMessage> FailureIn(JsonElement root)
        {
            if (!(root.Prop("result") is JsonElement result)) yield break;
            if (JsonRead.AsString(result) is string text)
            {
                if (text.Length > 0) yield return new BackupJobMessage(null, text);
                yield break;
            }
            if (result.ValueKind != JsonValueKind.Object) yield break;
            var any = false;
            var code = result.Str("code"); // the result's own code (500) stands for messages given as plain strings
            foreach (var m in Messages(result))
            {
                any = true;
                yield return string.IsNullOrEmpty(m.Code) && code != null ? new BackupJobMessage(code, m.Message, m.Subject) : m;
            }
            if (any) yield break;
            if (result.Obj("error") is JsonElement error && error.Str("message", "description") is string errorText && errorText.Length > 0)
                yield return new BackupJobMessage(error.Str("code"), errorText);
            else if (result.Str("message", "description") is string message && message.Length > 0)
                yield return new BackupJobMessage(result.Str("code"), message);
        }

        private static Uri JobsUrl(BackupConnection connection, string jobId) => Url.Combine(AdminRoot(connection), "jobs", jobId);

        internal static Uri AdminRoot(BackupConnection connection) => new Uri(connection.Endpoint.ToString().TrimEnd('/') + "/admin/");

        /// <summary>The deployment a backup belongs to: host and web context, e.g. <c>gis.example.com/arcgis</c>.</summary>
        internal static string Deployment(BackupConnection connection) =>
            connection.Endpoint.Authority + connection.Endpoint.AbsolutePath.TrimEnd('/');

        /// <summary>Adds <c>f=json</c> to a URL with or without a query (replacing another <c>f</c>).</summary>
        internal static Uri WithJsonFormat(Uri url)
        {
            var query = url.Query.TrimStart('?');
            var kept = query.Split(new[] { '&' }, StringSplitOptions.RemoveEmptyEntries)
                .Where(p => !string.Equals(Uri.UnescapeDataString(p.Split('=')[0]), "f", StringComparison.OrdinalIgnoreCase))
                .Concat(new[] { "f=json" });
            var builder = new UriBuilder(url) { Query = string.Join("&", kept) };
            return builder.Uri;
        }
    }
}
