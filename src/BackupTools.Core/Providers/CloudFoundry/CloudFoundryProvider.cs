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

namespace BackupTools.Providers.CloudFoundry
{
    /// <summary>
    /// Cloud Foundry v3 service instance backups (Tanzu's OSMAPI backup extension):
    /// <c>POST /v3/service_instances/{guid}/backups</c> with no body → 202 and a <c>Location</c> of <c>/v3/jobs/{guid}</c>,
    /// whose <c>state</c> is the only success signal. See shared/api/cloudfoundry.md.
    /// </summary>
    internal sealed class CloudFoundryProvider : IBackupProvider
    {
        private static readonly BackupProviderInfo InfoValue = new BackupProviderInfo(
            "CloudFoundry", "Cloud Foundry v3 service instance backups", new[] { BackupKind.Instance },
            new Dictionary<string, Uri>(StringComparer.OrdinalIgnoreCase),
            null, new[] { AuthenticationMethods.AccessToken, AuthenticationMethods.Credential, AuthenticationMethods.ClientCredential },
            "https://v3-apidocs.cloudfoundry.org/");

        internal static readonly Rule InstanceIdRule = Rule.Guid("InstanceId", "a service instance GUID such as 00000000-0000-0000-0000-000000000000");

        internal const string NamesItself = "Cloud Foundry names backups itself; leave -Name and -Description out";

        public BackupProviderInfo Info => InfoValue;

        public TimeSpan MinimumPollInterval => TimeSpan.Zero;

        /// <summary>The controller creates the job before it answers 202, so an unknown job is gone, not starting.</summary>
        public TimeSpan NotFoundGrace => TimeSpan.Zero;

        /// <summary>202 (no body, the job in Location) is the controller's acceptance; its refusals are 4xx and 5xx.</summary>
        public int? AcceptedCreateStatus => 202;

        /// <summary>UAA: client credentials grant, or password grant with the public cf client.</summary>
        public BackupCredential CreateCredential(string method, ConnectRequest request, Uri endpoint) =>
            method == AuthenticationMethods.ClientCredential
                ? UaaCredential.ForClient(Info.Name, endpoint, request.ClientId, request.ClientSecret)
                : UaaCredential.ForUser(Info.Name, endpoint, request.UserName, request.Password);

        /// <summary>No scope: BackupService.Connect refuses a project id for a provider without <see cref="BackupProviderInfo.ScopeName"/>.</summary>
        public void ValidateScope(string scope) { }

        public void Validate(BackupConnection connection, BackupRequest request)
        {
            // BackupService.Validate has checked the kind against Info.Kinds, and Connect the scope.
            InstanceIdRule.Check(Info.Name, request.InstanceId, request);
            if (!string.IsNullOrEmpty(request.Name))
                throw Rule.Breach(Info.Name, $"Name '{Rule.Printable(request.Name)}' was given, but {NamesItself}.", request);
            if (!string.IsNullOrEmpty(request.Description))
                throw Rule.Breach(Info.Name, $"Description was given, but {NamesItself}.", request);
        }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        public async Task<BackupJob> StartAsync(ServiceCall call, BackupRequest request)
        {
            var connection = call.Connection;
            var url = Url.Combine(connection.Endpoint, "v3", "service_instances", request.InstanceId, "backups");
            var http = new HttpRequestMessage(HttpMethod.Post, url);
            await AuthenticateAsync(call, http).NoContext();

            var response = await call.SendAsync(http, isCreate: true, request).NoContext();
            if (!response.IsSuccess) throw Error(response, request);
            if (response.Location == null)
            {
                // A v3 error body answered with a 2xx (as some gateways do) is the refusal it says, with its code, as
                // under any other status: not a yes whose job cannot be read.
                if (ErrorItems(response).Count > 0) throw Error(response, request);
                var invalid = response.Invalid($"answered HTTP {response.Status} without the Location of the backup job", request);
                invalid.RecommendedAction = "The backup may have started: list the service instance's backups before starting another one.";
                throw invalid;
            }

            // A relative Location is resolved against the endpoint; one that resolves to no address ("//", "https:") is
            // an unreadable answer to a create the service accepted, reported as such (the backup may have started).
            Uri location;
            if (response.Location.IsAbsoluteUri) location = response.Location;
            else if (!Uri.TryCreate(connection.Endpoint, response.Location, out location))
            {
                var invalid = response.Invalid($"answered HTTP {response.Status} with a Location that is not an address ('{Rule.Printable(response.Scrubbed(Redact.Unparsed(response.Location.OriginalString)))}')", request);
                invalid.RecommendedAction = "The backup may have started: list the service instance's backups before starting another one.";
                throw invalid;
            }
            var jobId = JobUrl.LastSegment(location);
            // A Location on another host (behind a proxy) gives way to the documented /v3/jobs/{guid} on the endpoint,
            // when it has that form itself.
            if (IsJobAddress(location)) location = JobUrl.Answered(connection, location, jobId, JobsUrl);
            return new BackupJob(Info.Name, connection.Endpoint.ToString(), jobId, JobUrl.Kept(call, location), request.InstanceId,
                null, null, null, BackupKind.Instance, BackupJobState.Running, null, null, DateTimeOffset.UtcNow);
        }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        public async Task<JobStatus> GetStatusAsync(ServiceCall call, BackupJob job)
        {
            var url = JobUrl.StatusUrlOf(call.Connection, job) ?? JobsUrl(call.Connection, job.JobId);
            var response = await call.GetAsync(url, request => AuthenticateAsync(call, request), job).NoContext();

            if (response.Status == 404)
                return JobStatus.NotFoundYet(response, Error(response, job));
            if (!response.IsSuccess) throw Error(response, job);

            var body = response.RequireJsonObject(job);
            var raw = body.Str("state");
            if (raw == null) throw response.Invalid("answered without a job state", job);
            var state = MapState(raw);
            return new JobStatus
            {
                State = state,
                RawStatus = raw,
                EndedAt = state == BackupJobState.Running || state == BackupJobState.Unknown ? null : body.Time("updated_at"),
                Errors = body.Items("errors").Where(i => i.ValueKind == JsonValueKind.Object)
                    .Select(i => new BackupJobMessage(i.Str("title") ?? i.Str("code"), i.Str("detail"))).ToArray(),
                Warnings = body.Items("warnings").Where(i => i.ValueKind == JsonValueKind.Object)
                    .Select(i => new BackupJobMessage(i.Str("title"), i.Str("detail"))).ToArray(),
                RetryAfter = response.RetryAfter,
            };
        }

        /// <summary>Maps the v3 job states [V].</summary>
        internal static BackupJobState MapState(string state)
        {
            switch ((state ?? string.Empty).Trim().ToUpperInvariant())
            {
                case "PROCESSING":
                case "POLLING": // the controller is polling the broker
                    return BackupJobState.Running;
                case "COMPLETE":
                    return BackupJobState.Succeeded;
                case "FAILED":
                    return BackupJobState.Failed;
                default:
                    return BackupJobState.Unknown;
            }
        }

        private static Uri JobsUrl(BackupConnection connection, string jobId) => Url.Combine(connection.Endpoint, "v3", "jobs", jobId);

        /// <summary>An http(s) address whose path ends in <c>/jobs/{id}</c>.</summary>
        private static bool IsJobAddress(Uri location)
        {
            if (location.Scheme != Uri.UriSchemeHttps && location.Scheme != Uri.UriSchemeHttp) return false;
            var segments = location.Segments;
            return segments.Length >= 3 && string.Equals(segments[segments.Length - 2], "jobs/", StringComparison.OrdinalIgnoreCase);
        }

        private static Task AuthenticateAsync(ServiceCall call, HttpRequestMessage request) =>
            call.Connection.Credential.ApplyAsync(request, call, TokenPlacement.LowercaseBearer);

        /// <summary>Titles that mean "another operation is running on the instance".</summary>
        internal static readonly HashSet<string> BusyTitles = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            "CF-AsyncServiceInstanceOperationInProgress",
        };

        /// <summary>
        /// "Another operation is running on the instance": the older 409 title, or v3's 422 <c>CF-UnprocessableEntity</c>
        /// (code 10008, "There is an operation in progress for the service instance."; cloud_controller_ng's
        /// <c>operation_in_progress!</c>). 10008 is v3's code for every unprocessable request, so only its detail tells.
        /// </summary>
        internal static bool IsInProgress(int status, string code, string title, string detail) =>
            (title != null && BusyTitles.Contains(title)) ||
            (status == 422 && (code == "10008" || string.Equals(title, "CF-UnprocessableEntity", StringComparison.OrdinalIgnoreCase)) &&
             detail != null && detail.IndexOf("operation in progress", StringComparison.OrdinalIgnoreCase) >= 0);

        /// <summary>
        /// The rate limiters' refusals [V]: the Cloud Controller's (<c>10013 CF-RateLimitExceeded</c>) and the service-broker
        /// limiter's (<c>10016 CF-ServiceBrokerRateLimitExceeded</c>), answered 429; the request was not processed.
        /// </summary>
        internal static bool IsThrottle(string code, string title) =>
            code == "10013" || code == "10016" ||
            string.Equals(title, "CF-RateLimitExceeded", StringComparison.OrdinalIgnoreCase) ||
            string.Equals(title, "CF-ServiceBrokerRateLimitExceeded", StringComparison.OrdinalIgnoreCase);

        /// <summary>The items of a v3 error body <c>{"errors":[{code, title, detail}]}</c>; none when the body is not one.</summary>
        private static List<(string Code, string Title, string Detail)> ErrorItems(ServiceResponse response) =>
            response.Json is JsonElement b && b.ValueKind == JsonValueKind.Object
                ? b.Items("errors").Where(i => i.ValueKind == JsonValueKind.Object)
                    .Select(i => (Code: i.Str("code"), Title: i.Str("title"), Detail: i.Str("detail"))).ToList()
                : new List<(string Code, string Title, string Detail)>();

        /// <summary>
        /// Turns a v3 error body <c>{"errors":[{code, title, detail}]}</c> into an error whose service code is the title
        /// (<c>CF-…</c>) and whose message names the numeric code and detail of every item. A rate limiter's code is a
        /// throttle whatever status carries it (LimitsExceeded, and it passes: a create is sent again as after a 429).
        /// </summary>
        internal BackupToolsException Error(ServiceResponse response, object target)
        {
            var body = response.Json is JsonElement e && e.ValueKind == JsonValueKind.Object ? e : (JsonElement?)null;
            var items = ErrorItems(response);

            BackupToolsException error;
            string title = null;
            var throttled = false;
            if (items.Count > 0)
            {
                title = items[0].Title;
                var text = string.Join("; ", items.Select((i, n) =>
                    (i.Code != null ? $"code {i.Code}" : "no code") + (i.Detail != null ? $": {i.Detail}" : string.Empty) +
                    (n > 0 && i.Title != null ? $" ({i.Title})" : string.Empty)));
                throttled = items.Any(i => IsThrottle(i.Code, i.Title));
                var category = response.Status == 409 || items.Any(i => IsInProgress(response.Status, i.Code, i.Title, i.Detail))
                    ? BackupErrorCategory.ResourceBusy
                    : throttled ? BackupErrorCategory.LimitsExceeded : (BackupErrorCategory?)null;
                error = response.ServiceError(title, text, target, category);
                error.ServiceMessage = response.Scrubbed(items[0].Detail);
                // (A 200 carrying the limiter's refusal says nothing by its status: Resilience reads this instead.)
                if (throttled) error.Passing = true;
            }
            else
            {
                // UAA and gateways answer in their own shapes.
                string code = null, message = null;
                if (body is JsonElement o)
                {
                    code = o.Str("error", "code");
                    message = o.Str("error_description", "message", "description");
                }
                if (code == null && message == null && !string.IsNullOrWhiteSpace(response.Body))
                    message = "the answer was not a Cloud Foundry error body";
                error = response.ServiceError(code, message, target, response.Status == 409 ? BackupErrorCategory.ResourceBusy : (BackupErrorCategory?)null);
            }

            if (response.Status == 401)
                error.RecommendedAction = "Get a fresh UAA token (for example with 'cf oauth-token') and connect again.";
            else if (response.Status == 403)
                error.RecommendedAction = "The token's user or client may not back up this service instance; check its space roles.";
            else if (error.Category == BackupErrorCategory.ResourceBusy)
                error.RecommendedAction = "Another operation is running on the service instance; try again when it has finished.";
            else if (response.Status == 429 || throttled)
                error.RecommendedAction = "The Cloud Controller is rate limiting; wait" +
                    (response.RetryAfter is TimeSpan wait ? $" {Math.Ceiling(wait.TotalSeconds)} s" : string.Empty) + " and try again.";
            return error;
        }
    }
}
