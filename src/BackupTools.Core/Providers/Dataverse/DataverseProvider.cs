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

namespace BackupTools.Providers.Dataverse
{
    /// <summary>
    /// Dataverse instance backups through the Online Management API: <c>POST {ServiceUrl}api/v1.2/InstanceBackups</c>
    /// → 202 OperationStatus with <c>Operation-Location</c>, followed on <c>api/v1.2/Operation/{OperationId}</c>.
    /// JSON casing varies between the docs' examples and schema, so every answer is read case-insensitively.
    /// See shared/api/dataverse.md.
    /// </summary>
    internal sealed class DataverseProvider : IBackupProvider
    {
        /// <summary>The documented service URLs [V]; crm10 is not on the page.</summary>
        internal static readonly (string Region, string Host)[] ServiceUrls =
        {
            ("crm", "crm"), ("crm2", "crm2"), ("crm3", "crm3"), ("crm4", "crm4"), ("crm5", "crm5"), ("crm6", "crm6"),
            ("crm7", "crm7"), ("crm8", "crm8"), ("crm9", "crm9"), ("crm11", "crm11"), ("crm12", "crm12"),
        };

        /// <summary>Friendly names for the same service URLs, as the page describes the regions.</summary>
        internal static readonly (string Name, string Host)[] FriendlyNames =
        {
            ("NorthAmerica", "crm"), ("SouthAmerica", "crm2"), ("Canada", "crm3"), ("EMEA", "crm4"), ("APAC", "crm5"),
            ("Oceania", "crm6"), ("Japan", "crm7"), ("India", "crm8"), ("NorthAmerica2", "crm9"), ("UK", "crm11"), ("France", "crm12"),
        };

        private static readonly BackupProviderInfo InfoValue = new BackupProviderInfo(
            "Dataverse", "Power Platform admin API (Dataverse backups)", new[] { BackupKind.Instance },
            ServiceUrls.Concat(FriendlyNames)
                .ToDictionary(r => r.Item1, r => new Uri($"https://admin.services.{r.Item2}.dynamics.com/"), StringComparer.OrdinalIgnoreCase),
            null, new[] { AuthenticationMethods.AccessToken, AuthenticationMethods.TokenProvider },
            "https://learn.microsoft.com/en-us/rest/api/admin.services.crm.dynamics.com/");

        internal static readonly Rule InstanceIdRule = Rule.Guid("InstanceId", "a GUID such as 00000000-0000-0000-0000-000000000000");

        // The create call states no limit on labels; the restore API accepts at most 100 characters [V], and a backup
        // that cannot be restored by its label is of little use.
        internal static readonly Rule NameRule = new Rule("Name",
            "a label of at most 100 characters (the restore API's limit), not blank, without control characters",
            v => v.Length <= 100 && !string.IsNullOrWhiteSpace(v) && !v.Any(char.IsControl), maxLength: 100);

        // The service states no limit on notes; 2000 is ours [I], to keep a runaway value from being sent.
        internal static readonly Rule DescriptionRule = new Rule("Description",
            "notes of at most 2000 characters, without control characters other than tab and line breaks",
            v => v.Length <= 2000 && !v.Any(c => char.IsControl(c) && c != '\t' && c != '\n' && c != '\r'), required: false, ours: true, maxLength: 2000);

        public BackupProviderInfo Info => InfoValue;

        public TimeSpan MinimumPollInterval => TimeSpan.Zero;

        /// <summary>The operation is created before the 202 is sent; allow a little replication lag.</summary>
        public TimeSpan NotFoundGrace => TimeSpan.FromSeconds(30);

        /// <summary>"202 Accepted: the backup started"; a refusal is 400 with its OperationStatus [V].</summary>
        public int? AcceptedCreateStatus => 202;

        /// <summary>A token plus the caller's way to get a fresh one.</summary>
        public BackupCredential CreateCredential(string method, ConnectRequest request, Uri endpoint) =>
            new TokenProviderCredential(Info.Name, request.AccessToken, request.TokenProvider);

        /// <summary>No scope: BackupService.Connect refuses a project id for a provider without <see cref="BackupProviderInfo.ScopeName"/>.</summary>
        public void ValidateScope(string scope) { }

        public void Validate(BackupConnection connection, BackupRequest request)
        {
            // BackupService.Validate has checked the kind against Info.Kinds, and Connect the scope.
            InstanceIdRule.Check(Info.Name, request.InstanceId, request);
            NameRule.Check(Info.Name, request.Name, request);
            DescriptionRule.Check(Info.Name, request.Description, request);
        }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        public async Task<BackupJob> StartAsync(ServiceCall call, BackupRequest request)
        {
            var connection = call.Connection;
            var http = new HttpRequestMessage(HttpMethod.Post, Url.Combine(connection.Endpoint, "api", "v1.2", "InstanceBackups"))
            {
                // Only the documented public fields: IsAzureBackup and AzureStorageInformation are internal-only.
                Content = new ByteArrayContent(JsonBody.Strings(null, "InstanceId", request.InstanceId, "Label", request.Name, "Notes", request.Description)),
            };
            http.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            await AuthenticateAsync(call, http).NoContext();

            var response = await call.SendAsync(http, isCreate: true, request).NoContext();
            if (!response.IsSuccess) throw Error(response, request);
            // An accepted backup whose body cannot be read (or was cut off: ServiceResponse.CutOff) is still followed
            // by its Operation-Location header.
            var body = response.Json is JsonElement json && json.ValueKind == JsonValueKind.Object ? json
                : response.Headers.ContainsKey("Operation-Location") ? default : response.RequireJsonObject(request);

            var statusUrl = OperationLocation(connection, response, body);
            var operationId = body.Str("OperationId") ?? JobUrl.LastSegment(statusUrl);
            if (string.IsNullOrEmpty(operationId) && statusUrl == null)
            {
                // The service's error body answered with a 2xx (as some gateways do) is its refusal, with its code, as
                // under any other status: not a yes whose job cannot be read.
                if (IsErrorBody(body)) throw Error(response, request);
                throw response.Invalid("accepted the backup but its answer has neither an OperationId nor an Operation-Location", request);
            }
            // An Operation-Location on another host gives way to the documented Operation/{OperationId} on the endpoint.
            statusUrl = JobUrl.Answered(connection, statusUrl, operationId, OperationUrl) ?? OperationUrl(connection, operationId);

            var raw = body.Str("Status");
            var state = raw == null ? BackupJobState.Running : MapState(raw);
            var now = DateTimeOffset.UtcNow;
            DateTimeOffset? endedAt = null;
            if (state == BackupJobState.Succeeded)
            {
                // Not success until the list shows it: the first status read confirms it (GetStatusAsync).
                state = BackupJobState.Running;
                raw = ConfirmingStatus;
                endedAt = now;
            }
            return new BackupJob(Info.Name, connection.Endpoint.ToString(), operationId, JobUrl.Kept(call, statusUrl), request.InstanceId,
                request.Name, BackupIdIn(body), null, BackupKind.Instance, state, raw, null, now, endedAt,
                errors: Messages(body, "Errors", call), warnings: Messages(body, "Information", call))
            {
                // The 202's Retry-After (seconds [V]) holds the first status read back.
                FirstReadAfter = response.RetryAfter,
            };
        }

        /// <summary>The raw status of a job whose operation said Succeeded while its backup is not yet in the instance's list.</summary>
        internal const string ConfirmingStatus = "Succeeded (confirming: not yet listed)";

        /// <summary>
        /// How long a backup whose operation said Succeeded may stay out of the instance's list before it is reported
        /// Succeeded all the same, with a warning (the service said so; the list only confirms it). Ours [I].
        /// </summary>
        internal static readonly TimeSpan ListingGrace = TimeSpan.FromMinutes(2);

        /// <summary>A backup listed this long before its job was created is another backup of the same label (clock skew allowed for).</summary>
        private static readonly TimeSpan ListedClockMargin = TimeSpan.FromMinutes(5);

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        public async Task<JobStatus> GetStatusAsync(ServiceCall call, BackupJob job)
        {
            var url = JobUrl.StatusUrlOf(call.Connection, job) ?? OperationUrl(call.Connection, job.JobId);
            var response = await call.GetAsync(url, request => AuthenticateAsync(call, request), job).NoContext();

            if (response.Status == 404)
                return JobStatus.NotFoundYet(response, Error(response, job));
            if (!response.IsSuccess) throw Error(response, job);

            var body = response.RequireJsonObject(job);
            var raw = body.Str("Status");
            if (raw == null) throw response.Invalid("answered without an operation Status", job);
            var status = new JobStatus
            {
                State = MapState(raw),
                RawStatus = raw,
                BackupId = BackupIdIn(body),
                Errors = Messages(body, "Errors"),
                Warnings = Messages(body, "Information"),
                RetryAfter = response.RetryAfter,
            };
            if (status.State == BackupJobState.Succeeded) await ConfirmListedAsync(call, job, status).NoContext();
            return status;
        }

        /// <summary>
        /// An operation has been seen to report Succeeded before its backup is in the list [T]: one list read
        /// (<c>GET api/v1.2/InstanceBackups?instanceId=</c>) looks for it by label. Listed: Succeeded, with the listed Id as
        /// BackupId. Not yet: Running as <see cref="ConfirmingStatus"/>, EndedAt keeping when the operation was first seen
        /// to end; after <see cref="ListingGrace"/> from then, Succeeded with a warning. A failed list read counts as
        /// "not yet": the backup the service reported is never failed for it.
        /// </summary>
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder))]
        private async Task ConfirmListedAsync(ServiceCall call, BackupJob job, JobStatus status)
        {
            // Without the instance or a label (or id) to look for, nothing can be confirmed: the operation's word stands.
            var knownId = status.BackupId ?? job.BackupId;
            if (string.IsNullOrEmpty(job.InstanceId) || (string.IsNullOrEmpty(job.BackupName) && string.IsNullOrEmpty(knownId))) return;
            var seen = job.EndedAt ?? status.CheckedAt;
            status.EndedAt = seen;

            string listedId = null, failure = null;
            try
            {
                var url = Url.WithQuery(Url.Combine(call.Connection.Endpoint, "api", "v1.2", "InstanceBackups"), ("instanceId", job.InstanceId));
                var response = await call.GetAsync(url, request => AuthenticateAsync(call, request), job).NoContext();
                if (!response.IsSuccess) throw Error(response, job);
                listedId = ListedId(response.Json, job, knownId);
            }
            catch (BackupToolsException ex)
            {
                failure = ex.Message;
                // A list read told to wait (429, 503) holds the next poll back as a status read's would.
                if (ex.RetryAfter is TimeSpan wait && !(status.RetryAfter >= wait)) status.RetryAfter = wait;
                call.Log.Verbose($"{Info.Name} job {job.JobId}: listing the instance's backups to confirm it failed ({ex.ErrorId}: {ex.Message}).");
            }

            if (listedId != null)
            {
                status.BackupId = listedId;
                return;
            }
            if (status.CheckedAt - seen < ListingGrace)
            {
                status.State = BackupJobState.Running;
                status.RawStatus = ConfirmingStatus;
                return;
            }
            var warning = new BackupJobMessage("BackupNotListed",
                $"The operation reported Succeeded, but backup '{job.BackupName ?? knownId}' was still not in the backup list of instance {job.InstanceId} " +
                $"{ListingGrace.TotalMinutes:0} minutes later" + (failure != null ? $" (the last list read failed: {failure})" : string.Empty) +
                ". Check the list before relying on the backup.", job.InstanceId);
            status.Warnings = (status.Warnings ?? BackupJobMessage.None).Concat(new[] { warning }).ToArray();
        }

        /// <summary>
        /// The Id of this job's backup in a list answer (<c>[{Id, Label, CreatedOn, …}]</c>), or null: the known id when
        /// there is one, else the label, created no earlier than the job (less a margin: labels need not be unique).
        /// </summary>
        private static string ListedId(JsonElement? list, BackupJob job, string knownId)
        {
            if (!(list is JsonElement json)) return null;
            var items = json.ValueKind == JsonValueKind.Array ? json.EnumerateArray() : json.Items("value");
            string found = null;
            DateTimeOffset? foundAt = null;
            foreach (var item in items)
            {
                if (item.ValueKind != JsonValueKind.Object) continue;
                var id = item.Str("Id");
                if (string.IsNullOrEmpty(id)) continue;
                if (knownId != null)
                {
                    if (string.Equals(id, knownId, StringComparison.OrdinalIgnoreCase)) return id;
                    continue;
                }
                if (!string.Equals(item.Str("Label"), job.BackupName, StringComparison.Ordinal)) continue;
                var created = item.Time("CreatedOn");
                if (created is DateTimeOffset at && at < job.CreatedAt - ListedClockMargin) continue;
                if (found == null || (created ?? DateTimeOffset.MaxValue) > (foundAt ?? DateTimeOffset.MinValue))
                {
                    found = id;
                    foundAt = created;
                }
            }
            return found;
        }

        /// <summary>Maps the 17 OperationState values [V]; the running/success/failure split is ours [T].</summary>
        internal static BackupJobState MapState(string status)
        {
            switch ((status ?? string.Empty).Trim().ToUpperInvariant())
            {
                case "NONE":
                case "NOTSTARTED":
                case "READY":
                case "PENDING":
                case "RUNNING":
                case "CANCELLING":
                case "ABORTING":
                case "DELETING":
                    return BackupJobState.Running;
                case "SUCCEEDED":
                    return BackupJobState.Succeeded;
                case "CANCELLED":
                case "ABORTED":
                    return BackupJobState.Cancelled;
                case "FAILEDTOCREATE":
                case "FAILED":
                case "NOTFOUND":
                case "CONFLICT":
                case "TOMBSTONE":
                case "DELETED":
                    return BackupJobState.Failed;
                default:
                    return BackupJobState.Unknown;
            }
        }

        internal static Uri OperationUrl(BackupConnection connection, string operationId) =>
            Url.Combine(connection.Endpoint, "api", "v1.2", "Operation", operationId);

        /// <summary>The <c>Operation-Location</c> header, else the body's <c>OperationLocation</c>; relative ones resolved against the endpoint.</summary>
        private static Uri OperationLocation(BackupConnection connection, ServiceResponse response, JsonElement body)
        {
            foreach (var text in new[] { response.Headers.TryGetValue("Operation-Location", out var h) ? h : null, body.Str("OperationLocation") })
            {
                if (string.IsNullOrWhiteSpace(text)) continue;
                if (Uri.TryCreate(text.Trim(), UriKind.Absolute, out var absolute) && (absolute.Scheme == Uri.UriSchemeHttps || absolute.Scheme == Uri.UriSchemeHttp))
                    return absolute;
                if (Uri.TryCreate(connection.Endpoint, text.Trim(), out var resolved)) return resolved;
            }
            return null;
        }

        /// <summary>
        /// The backup's id: the documented <c>ResourceLocation</c> when it is the backup's address
        /// (<c>…/InstanceBackups/{instanceId}/{restorePointId}</c> [V]), else <c>Context.Items</c> (its keys are not documented).
        /// </summary>
        private static string BackupIdIn(JsonElement body)
        {
            var location = body.Str("ResourceLocation");
            if (!string.IsNullOrWhiteSpace(location) && Uri.TryCreate(location.Trim(), UriKind.RelativeOrAbsolute, out var url))
            {
                // Relative ones are read against a placeholder: only the path's segments matter.
                var path = url.IsAbsoluteUri ? url : new Uri(new Uri("https://placeholder/"), url);
                var segments = path.Segments;
                if (segments.Length >= 3 && string.Equals(segments[segments.Length - 3].TrimEnd('/'), "InstanceBackups", StringComparison.OrdinalIgnoreCase))
                {
                    var id = JobUrl.LastSegment(path);
                    if (!string.IsNullOrWhiteSpace(id)) return id;
                }
            }
            return body.Obj("Context")?.Obj("Items")?.Str("InstanceBackupId", "BackupId");
        }

        /// <summary>ItemDescription items <c>{Code, Description, Subject}</c> as job messages; their texts scrubbed of the call's secrets when <paramref name="call"/> is given.</summary>
        internal static BackupJobMessage[] Messages(JsonElement body, string name, ServiceCall call = null) =>
            body.Items(name)
                .Where(i => i.ValueKind == JsonValueKind.Object)
                .Select(i => new BackupJobMessage(Scrubbed(call, i.Str("Code")), Scrubbed(call, i.Str("Description", "Message")), i.Str("Subject")))
                .ToArray();

        private static string Scrubbed(ServiceCall call, string text) => call == null ? text : call.Scrub(text);

        private static Task AuthenticateAsync(ServiceCall call, HttpRequestMessage request) =>
            call.Connection.Credential.ApplyAsync(request, call, TokenPlacement.Bearer);

        /// <summary>The code and message of <c>{error:{code,message}}</c> or <c>{code,message}</c>, each null when not there.</summary>
        private static (string Code, string Message) CodeAndMessage(JsonElement body)
        {
            var inner = body.Obj("error") ?? body;
            return (inner.Str("code", "errorCode"), inner.Str("message", "description", "error_description"));
        }

        /// <summary>
        /// Whether a body is one of the service's error shapes that <see cref="Error"/> reads: an OperationStatus carrying
        /// Errors (the documented 400), <c>{error:{code,message}}</c>, or <c>{code,message}</c> with a code. An
        /// OperationStatus with only a Status is not one: a 2xx saying "NotStarted" without its operation is an
        /// unreadable yes, not a refusal.
        /// </summary>
        internal static bool IsErrorBody(JsonElement body) =>
            body.ValueKind == JsonValueKind.Object &&
            (Messages(body, "Errors").Length > 0 || body.Obj("error") != null || CodeAndMessage(body).Code != null);

        /// <summary>
        /// An OperationStatus with Errors (the documented 400) gives the first item's code and text and lists them all;
        /// any other body gives whatever code and message it has (<c>{error:{code,message}}</c> or <c>{code,message}</c>).
        /// </summary>
        internal BackupToolsException Error(ServiceResponse response, object target)
        {
            BackupToolsException error;
            var body = response.Json is JsonElement e && e.ValueKind == JsonValueKind.Object ? e : (JsonElement?)null;
            var items = body is JsonElement b ? Messages(b, "Errors") : BackupJobMessage.None;
            if (items.Length > 0)
            {
                var all = string.Join("; ", items.Select(i => i + (string.IsNullOrEmpty(i.Subject) ? string.Empty : $" (subject: {i.Subject})")));
                error = response.ServiceError(null, all, target);
                error.ServiceCode = string.IsNullOrEmpty(items[0].Code) ? null : response.Scrubbed(items[0].Code);
                error.ServiceMessage = response.Scrubbed(items[0].Message);
            }
            else
            {
                string code = null, message = null;
                if (body is JsonElement o)
                {
                    (code, message) = CodeAndMessage(o);
                    // An OperationStatus without Errors (a 400 whose Errors are empty): its Status (Conflict, FailedToCreate,
                    // …) is the one fact it carries. Conflict is a failure state on the page [T], not "busy": kept as the code.
                    if (code == null && message == null && o.Obj("error") == null && o.Str("Status") is string state && !string.IsNullOrWhiteSpace(state))
                    {
                        code = state.Trim();
                        message = $"operation status {code}";
                    }
                }
                if (code == null && message == null && !string.IsNullOrWhiteSpace(response.Body))
                    message = "the answer was not a service error body";
                error = response.ServiceError(code, message, target);
            }
            if (response.Status == 401)
                error.RecommendedAction = "Get a new access token for the service's resource (it is named by {ServiceUrl}/api/aad/challenge) and connect again.";
            else if (response.Status == 429)
                error.RecommendedAction = "The service is throttling requests; wait and try again.";
            return error;
        }
    }
}
