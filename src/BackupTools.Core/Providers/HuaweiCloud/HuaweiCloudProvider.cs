using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using BackupTools.Async;
using BackupTools.Http;
using BackupTools.Json;
using BackupTools.Validation;

namespace BackupTools.Providers.HuaweiCloud
{
    /// <summary>
    /// What Huawei Cloud's database services share (TaurusDB on Huawei Cloud, DDS on Open Telekom Cloud, which runs the
    /// same stack): project-scoped paths, <c>X-Auth-Token</c>, the <c>{error_code, error_msg}</c> error body and the
    /// <c>/v3/{project_id}/jobs?id=</c> jobs API. Each service supplies its rules, create body and create answer.
    /// </summary>
    internal abstract class HuaweiCloudProvider : IBackupProvider, IReconcilesCreates, IHasProjects
    {
        internal static readonly Rule ProjectIdRule =
            Rule.AlphanumericThen("ProjectId", 32, string.Empty, "32 characters, letters and digits only");

        internal static readonly Rule NameRule = Rule.Name("Name", 4, 64, "_-", letterFirst: true,
            "4 to 64 characters, starting with a letter; letters, digits, '-' and '_' only");

        public abstract BackupProviderInfo Info { get; }

        /// <inheritdoc />
        public abstract bool NamesAreUnique { get; }

        /// <inheritdoc />
        public string UniqueNamesIn => "a project";

        /// <summary>The instance id rule (each service has its own suffix).</summary>
        protected abstract Rule InstanceIdRule { get; }

        /// <summary>The description rule (the forbidden characters differ).</summary>
        protected abstract Rule DescriptionRule { get; }

        public TimeSpan MinimumPollInterval => TimeSpan.Zero;

        /// <summary>Huawei: a new job id is not queryable "for the first few seconds" [V]; allow a minute.</summary>
        public TimeSpan NotFoundGrace { get; set; } = TimeSpan.FromSeconds(60);

        /// <summary>None: TaurusDB and DDS document answers of 200 with an error body, so a 2xx unread says nothing.</summary>
        public int? AcceptedCreateStatus => null;

        public void ValidateScope(string scope) => ProjectIdRule.Check(Info.Name, scope);

        /// <summary>
        /// The job's Scope, else the project of its status address (<c>…/v3/{project_id}/jobs?id=…</c> or
        /// <c>…/v3/{project_id}/backups?…</c>, below any path the endpoint has): a job without its Scope column still
        /// belongs to that project.
        /// </summary>
        public string ProjectOf(BackupJob job)
        {
            if (!string.IsNullOrWhiteSpace(job.Scope)) return job.Scope.Trim();
            if (string.IsNullOrWhiteSpace(job.StatusUrl) || !Uri.TryCreate(job.StatusUrl.Trim(), UriKind.Absolute, out var url)) return null;
            var segments = url.AbsolutePath.Split(new[] { '/' }, StringSplitOptions.RemoveEmptyEntries);
            for (var i = segments.Length - 3; i >= 0; i--)
                if (string.Equals(segments[i], "v3", StringComparison.OrdinalIgnoreCase) &&
                    (string.Equals(segments[i + 2], "jobs", StringComparison.OrdinalIgnoreCase) || string.Equals(segments[i + 2], "backups", StringComparison.OrdinalIgnoreCase)))
                    return Uri.UnescapeDataString(segments[i + 1]);
            return null;
        }

        /// <summary>Access key (signature) or IAM user password, project-scoped.</summary>
        public BackupCredential CreateCredential(string method, ConnectRequest request, Uri endpoint)
        {
            if (method == AuthenticationMethods.AccessKey) return new AkSkCredential(request.AccessKeyId, request.SecretAccessKey);
            var iam = request.IdentityEndpoint != null
                ? EndpointRule.Check(Info.Name, request.IdentityEndpoint)
                : IamPasswordCredential.DeriveIdentityEndpoint(endpoint);
            return new IamPasswordCredential(Info.Name, iam, request.UserName, request.Password, request.DomainName, request.Scope);
        }

        public void Validate(BackupConnection connection, BackupRequest request)
        {
            // BackupService.Validate has checked the kind against Info.Kinds.
            ValidateScope(connection.Scope);
            InstanceIdRule.Check(Info.Name, request.InstanceId, request);
            NameRule.Check(Info.Name, request.Name, request);
            DescriptionRule.Check(Info.Name, request.Description, request);
        }

        /// <summary>The create call's path below the project, e.g. <c>backups/create</c>.</summary>
        protected abstract string[] CreatePath { get; }

        /// <summary>The JSON body of the create call.</summary>
        protected abstract byte[] CreateBody(BackupRequest request);

        /// <summary>Reads backup id, name, start time and job id from a successful create answer.</summary>
        protected abstract CreatedBackup ReadCreated(JsonElement body);

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        public async Task<BackupJob> StartAsync(ServiceCall call, BackupRequest request)
        {
            var connection = call.Connection;
            var path = CreatePath;
            var segments = new string[2 + path.Length];
            segments[0] = "v3";
            segments[1] = connection.Scope;
            Array.Copy(path, 0, segments, 2, path.Length);
            var url = Url.Combine(connection.Endpoint, segments);
            var http = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new ByteArrayContent(CreateBody(request)),
            };
            // The same header as a MediaTypeHeaderValue with CharSet "utf-8" writes, without building one per create.
            http.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=utf-8");
            await AuthenticateAsync(call, http).NoContext();

            var response = await call.SendAsync(http, isCreate: true, request).NoContext();
            if (!response.IsSuccess) throw Error(response, request);
            var body = response.RequireJsonObject(request);
            var created = ReadCreated(body);
            if (string.IsNullOrEmpty(created.JobId))
            {
                // An error body answered 200 (as some gateways do) is a refusal with the service's code, not a yes
                // whose job cannot be read.
                if (ErrorCodeOf(body) != null) throw Error(response, request);
                throw response.Invalid("accepted the backup but its answer has no job_id", request);
            }

            var statusUrl = JobsUrl(connection, created.JobId);
            return new BackupJob(Info.Name, connection.Endpoint.ToString(), created.JobId, statusUrl.ToString(), request.InstanceId,
                created.Name ?? request.Name, created.BackupId, connection.Scope, BackupKind.Instance, BackupJobState.Running,
                created.Status, null, StartedOrNow(created.StartedAt)) { SeenAt = DateTimeOffset.UtcNow };
        }

        /// <summary>
        /// The service's begin time when it agrees with this machine's clock to within a minute, else now: a job's age
        /// decides when "job not found" stops meaning "still starting", and a clock that differs from the service's
        /// (ours an hour ahead) must not make a new job look old.
        /// </summary>
        internal static DateTimeOffset StartedOrNow(DateTimeOffset? started)
        {
            var now = DateTimeOffset.UtcNow;
            return started is DateTimeOffset s && (now - s).Duration() < TimeSpan.FromMinutes(1) ? s : now;
        }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        public async Task<JobStatus> GetStatusAsync(ServiceCall call, BackupJob job)
        {
            // As call.GetAsync does, without its delegate: this runs for every poll of every job.
            var url = JobUrl.StatusUrlOf(call.Connection, job) ?? JobsUrl(call.Connection, job.JobId, job.Scope);
            var get = new HttpRequestMessage(HttpMethod.Get, url);
            await AuthenticateAsync(call, get).NoContext();
            var response = await call.SendAsync(get, isCreate: false, job).NoContext();

            if (!response.IsSuccess)
            {
                var error = Error(response, job);
                if (IsNotFound(response, error)) return JobStatus.NotFoundYet(response, error);
                throw error;
            }

            var root = response.RequireJsonObject(job);
            if (root.Prop("backups") is JsonElement list && list.ValueKind == JsonValueKind.Array) return BackupStatus(response, list, job);
            var j = root.Obj("job") ?? root;
            var raw = j.Str("status");
            if (raw == null)
            {
                // Some gateways answer 200 with an error body: the same rules as under the error's own status, as one
                // such answer (a throttle, a job not queryable yet) otherwise stopped following a backup that ran on.
                if (ErrorCodeOf(root) != null)
                {
                    var error = Error(response, job);
                    if (IsNotFound(response, error)) return JobStatus.NotFoundYet(response, error);
                    throw error;
                }
                throw response.Invalid("answered without a job status", job);
            }
            var state = MapState(raw);
            var failReason = j.Str("fail_reason", "failReason");
            return new JobStatus
            {
                State = state,
                RawStatus = raw,
                PercentComplete = j.Percent("progress", "process"),
                // DDS fills "ended" while a job still runs (its own example: Running, 9 %, with an end time).
                EndedAt = state == BackupJobState.Running || state == BackupJobState.Unknown ? null : j.Time("ended"),
                Errors = string.IsNullOrEmpty(failReason) ? (state == BackupJobState.Failed ? new[] { new BackupJobMessage(raw, "The service reported the job failed without a reason.") } : null)
                                                          : new[] { new BackupJobMessage(ErrorCodeIn(failReason), failReason) },
                RetryAfter = response.RetryAfter,
            };
        }

        /// <summary>Backup names are unique per project: "already exists" after a repeat means the first attempt got through.</summary>
        public bool IsAlreadyExists(BackupToolsException error) =>
            string.Equals(error.ServiceCode, "DBS.201201", StringComparison.OrdinalIgnoreCase) ||
            (error.ServiceMessage ?? string.Empty).IndexOf("already exist", StringComparison.OrdinalIgnoreCase) >= 0;

        /// <summary>
        /// Finds the backup by instance and name in <c>GET /v3/{project_id}/backups</c>, page by page (100 a page, at most
        /// <see cref="LookupPages"/> pages); it is then followed there.
        /// </summary>
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        public async Task<FoundBackup> FindExistingAsync(ServiceCall call, BackupRequest request, Func<TimeSpan> age)
        {
            var connection = call.Connection;
            BackupJob found = null;
            string anothers = null; // a backup of the name begun since, already handed out as another create's
            var anothersByAnswer = false;
            DateTimeOffset? notBefore = null;
            var dated = true;
            var seen = new HashSet<string>(StringComparer.Ordinal); // a list that changes between pages may show one backup twice
            for (var page = 0; ; page++)
            {
                if (page == LookupPages)
                {
                    // More backups than are read: "none of this name" would be untrue, and one found may not be the only one.
                    var read = (LookupPages * LookupPageSize).ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
                    return FoundBackup.NotShown(found == null
                        ? $"No backup of this name{(anothers == null ? string.Empty : $" but {anothers}, another create's,")} was among the first {read} of the instance's list, and the instance has more than {read} backups: the rest were not read."
                        : $"A backup of this name, {found.BackupId}, began since this create, but the instance has more than {read} backups and the rest were not read: whether another one did too cannot be told.");
                }
                var list = Url.WithQuery(Url.Combine(connection.Endpoint, "v3", connection.Scope, "backups"), ("instance_id", request.InstanceId),
                    ("offset", (page * LookupPageSize).ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    ("limit", LookupPageSize.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                var http = new HttpRequestMessage(HttpMethod.Get, list);
                await AuthenticateAsync(call, http).NoContext();
                var response = await call.SendAsync(http, isCreate: false, request).NoContext();
                if (!response.IsSuccess) throw Error(response, request);
                if (page == 0)
                {
                    // The service's clock: begin times are compared with its Date header, less the create's age taken
                    // now that this answer is in (a slow list read must not shift the bound), not with this machine's
                    // clock. Without a Date nothing bounds them: a backup of the name is named, never claimed.
                    if (response.ServiceDate is DateTimeOffset serviceNow) notBefore = serviceNow - age();
                    else dated = false;
                }
                var body = response.RequireJsonObject(request);
                var count = 0;
                foreach (var backup in body.Items("backups"))
                {
                    count++;
                    if (!string.Equals(backup.Str("name"), request.Name, StringComparison.Ordinal)) continue;
                    if (backup.Str("id") is string seenId && !seen.Add(seenId)) continue;
                    var id = backup.Str("id");
                    var began = backup.Time("begin_time");
                    if (began == null)
                        return FoundBackup.NotShown($"A backup of this name, {id}, was found; it has no begin time, so whether it is this create's cannot be told.");
                    if (!dated)
                        return FoundBackup.NotShown($"A backup of this name, {id}, begun {Utc(began.Value)}, was found; the service's answer had no Date to compare its begin time with, so whether it is this create's cannot be told.");
                    if (began < notBefore) continue; // an earlier run's backup of the same name
                    // Begun since, but another create's (a row before this one of the same name, a command run twice
                    // within seconds): its answer or its own lookup named it, so it is not this create's.
                    if (HandedOutBackups.Process.WasHandedOut(connection, request.InstanceId, id, out var byAnswer))
                    {
                        if (anothers == null || (byAnswer && !anothersByAnswer)) { anothers = id; anothersByAnswer = byAnswer; }
                        continue;
                    }
                    if (found != null)
                        return FoundBackup.NotShown($"Two backups of this name, {found.BackupId} and {id}, began since this create; which one is its cannot be told.");
                    var statusUrl = Url.WithQuery(Url.Combine(connection.Endpoint, "v3", connection.Scope, "backups"), ("backup_id", id));
                    found = new BackupJob(Info.Name, connection.Endpoint.ToString(), null, statusUrl.ToString(), request.InstanceId, request.Name, id,
                        connection.Scope, BackupKind.Instance, MapBackupState(backup.Str("status")), backup.Str("status"), null,
                        began.Value) { SeenAt = DateTimeOffset.UtcNow };
                }
                // The last page: a short one, or the total reached.
                var total = body.Prop("total_count") is JsonElement t && t.ValueKind == JsonValueKind.Number && t.TryGetInt32(out var n) ? n : -1;
                if (count < LookupPageSize || (total >= 0 && (page + 1) * LookupPageSize >= total))
                    return found != null ? FoundBackup.Ours(found) : anothers != null ? FoundBackup.Another(anothers, anothersByAnswer) : null;
            }
        }

        private static string Utc(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + " UTC";

        private const int LookupPageSize = 100;

        /// <summary>Pages of the backups list read when looking for a backup by name (1,000 backups of one instance).</summary>
        private const int LookupPages = 10;

        /// <summary>A job followed through the backups list (the cross-check the pages document).</summary>
        private JobStatus BackupStatus(ServiceResponse response, JsonElement list, BackupJob job)
        {
            foreach (var backup in list.EnumerateArray())
            {
                if (job.BackupId != null && !string.Equals(backup.Str("id"), job.BackupId, StringComparison.OrdinalIgnoreCase)) continue;
                var raw = backup.Str("status");
                return new JobStatus { State = MapBackupState(raw), RawStatus = raw, EndedAt = backup.Time("end_time"), RetryAfter = response.RetryAfter };
            }
            return JobStatus.NotFoundYet(response);
        }

        /// <summary>Backup (not job) status words: BUILDING; COMPLETED and AVAILABLE are success; FAILED; DISABLED is being deleted.</summary>
        internal static BackupJobState MapBackupState(string status)
        {
            switch ((status ?? string.Empty).Trim().ToUpperInvariant())
            {
                case "BUILDING": return BackupJobState.Running;
                case "COMPLETED": case "AVAILABLE": return BackupJobState.Succeeded;
                case "FAILED": case "DISABLED": return BackupJobState.Failed;
                default: return BackupJobState.Unknown;
            }
        }

        /// <summary>Maps the jobs API status words (TaurusDB's superset of DDS's) to the normalised state.</summary>
        internal static BackupJobState MapState(string status)
        {
            switch ((status ?? string.Empty).Trim().ToUpperInvariant())
            {
                case "PENDING":
                case "RUNNING":
                case "UNAUTHORIZED": // waiting for approval [V]
                    return BackupJobState.Running;
                case "COMPLETED":
                    return BackupJobState.Succeeded;
                case "FAILED":
                    return BackupJobState.Failed;
                case "CANCELED":
                case "CANCELLED":
                    return BackupJobState.Cancelled;
                default:
                    return BackupJobState.Unknown;
            }
        }

        /// <summary>The jobs API address of a job: of the job's own project where it names one, else of the connection's.</summary>
        internal static Uri JobsUrl(BackupConnection connection, string jobId, string project = null) =>
            Url.WithQuery(Url.Combine(connection.Endpoint, "v3", string.IsNullOrEmpty(project) ? connection.Scope : project, "jobs"), ("id", jobId));

        // (No async state machine of its own: it only passes the credential's task on.)
        protected static Task AuthenticateAsync(ServiceCall call, HttpRequestMessage request)
        {
            request.Headers.TryAddWithoutValidation("X-Language", "en-us");
            return call.Connection.Credential.ApplyAsync(request, call, TokenPlacement.XAuthToken);
        }

        /// <summary>The code of a Huawei error body, in any of its spellings; null when the body carries none.</summary>
        private static string ErrorCodeOf(JsonElement body) => body.Str("error_code", "errorCode", "errCode");

        /// <summary>
        /// Turns a Huawei error answer into an error carrying the service's code: <c>error_code</c>/<c>error_msg</c>,
        /// <c>errorCode</c>/<c>errorMessage</c>, or the database services' v1/v2 <c>errCode</c>/<c>externalMessage</c>.
        /// </summary>
        internal BackupToolsException Error(ServiceResponse response, object target)
        {
            string code = null, message = null;
            if (response.Json is JsonElement e && e.ValueKind == JsonValueKind.Object)
            {
                code = ErrorCodeOf(e) ?? e.Str("code");
                message = e.Str("error_msg", "errorMessage", "externalMessage", "message", "msg");
                if (code == null && e.Obj("error") is JsonElement inner)
                {
                    code = inner.Str("code", "error_code");
                    message = inner.Str("message", "error_msg");
                }
            }
            if (code == null && message == null)
            {
                if (response.IsSuccess) return response.Invalid("answered in an unexpected shape", target);
                message = string.IsNullOrWhiteSpace(response.Body) ? null : "the answer was not a service error body";
            }
            var throttled = code != null && ThrottleCodes.Contains(code);
            var category = code != null && ConflictCodes.Contains(code) ? BackupErrorCategory.ResourceBusy
                : string.Equals(code, "DBS.201201", StringComparison.OrdinalIgnoreCase) ? BackupErrorCategory.ResourceExists
                : throttled ? BackupErrorCategory.LimitsExceeded
                : (BackupErrorCategory?)null;
            var error = response.ServiceError(code, message, target, category);
            // A throttle passes by itself whatever status carries it: a status read that met one in a 200 is tried
            // again, as after a 429 (Resilience reads the status, which says nothing here).
            if (throttled) error.Passing = true;
            if (code == "APIG.0301" || response.Status == 401)
                error.RecommendedAction = "Check the token or access key; Huawei Cloud locks an access key after five failed signatures, so do not retry blindly.";
            else if (category == BackupErrorCategory.ResourceBusy)
                error.RecommendedAction = "Another operation is running on the instance; try again when it has finished.";
            return error;
        }

        /// <summary>
        /// "Another operation in progress" codes [V], and "the instance's current state does not allow the operation"
        /// (DBS.201202, DBS.200011, DBS.216011: an automated backup or another change running; Huawei's Terraform
        /// provider retries DBS.201202 and DBS.216011), which are answered 400 or 403 and would otherwise end a create
        /// that waiting would let through.
        /// </summary>
        internal static readonly HashSet<string> ConflictCodes = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            "DBS.200019", "DBS.201014", "DBS.201015", "DBS.200047", "DBS.05000084", "DBS.201202", "DBS.200011", "DBS.216011",
        };

        /// <summary>
        /// The gateway's "throttling threshold reached" (<c>APIGW.0308</c>, answered 429, taurusdb.md [T]; <c>APIG.</c> is
        /// the gateway's other spelling of its codes), which some gateways answer with HTTP 200.
        /// </summary>
        internal static readonly HashSet<string> ThrottleCodes = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "APIGW.0308", "APIG.0308" };

        /// <summary>
        /// The service's own "job does not exist" (<c>DBS.200823</c>, or a 404 or "not found" without a gateway's code):
        /// a new job still starting, or one that is gone. A gateway's 404 (<c>APIGW.0101</c>/<c>APIG.0101</c>, "the API
        /// does not exist or has not been published") means a wrong endpoint, region or path, and is an error as it is.
        /// </summary>
        private static bool IsNotFound(ServiceResponse response, BackupToolsException error) =>
            !IsGatewayCode(error.ServiceCode) &&
            (response.Status == 404 ||
             string.Equals(error.ServiceCode, "DBS.200823", StringComparison.OrdinalIgnoreCase) ||
             (error.ServiceMessage != null &&
              (error.ServiceMessage.IndexOf("not found", StringComparison.OrdinalIgnoreCase) >= 0 ||
               error.ServiceMessage.IndexOf("does not exist", StringComparison.OrdinalIgnoreCase) >= 0) &&
              response.Status < 500));

        private static bool IsGatewayCode(string code) =>
            code != null && (code.StartsWith("APIGW.", StringComparison.OrdinalIgnoreCase) || code.StartsWith("APIG.", StringComparison.OrdinalIgnoreCase));

        /// <summary>The first <c>DBS.&lt;digits&gt;</c> code standing as a word of its own in a failure reason.</summary>
        internal static string ErrorCodeIn(string text)
        {
            for (var at = text.IndexOf("DBS.", StringComparison.Ordinal); at >= 0; at = text.IndexOf("DBS.", at + 1, StringComparison.Ordinal))
            {
                var end = at + 4;
                while (end < text.Length && char.IsDigit(text[end])) end++;
                if (end > at + 4 && !IsWordChar(text, at - 1) && !IsWordChar(text, end))
                    return text.Substring(at, end - at);
            }
            return null;
        }

        // What \b in .NET regular expressions counts as a word character: letters, digits, connector punctuation and marks.
        private static bool IsWordChar(string text, int i)
        {
            if (i < 0 || i >= text.Length) return false;
            var c = text[i];
            if (char.IsLetterOrDigit(c) || c == '\u200D' || c == '\u200C') return true;
            var cat = char.GetUnicodeCategory(c);
            return cat == System.Globalization.UnicodeCategory.ConnectorPunctuation || cat == System.Globalization.UnicodeCategory.NonSpacingMark ||
                   cat == System.Globalization.UnicodeCategory.SpacingCombiningMark;
        }

        protected static byte[] Utf8(string json) => Encoding.UTF8.GetBytes(json);

        /// <summary>What a create answer says.</summary>
        protected internal struct CreatedBackup
        {
            public string JobId;
            public string BackupId;
            public string Name;
            public string Status;
            public DateTimeOffset? StartedAt;
        }
    }
}
