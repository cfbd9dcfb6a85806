using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace BackupTools
{
    /// <summary>
    /// A backup job: the handle that finds it again (provider, endpoint, job id or status URL) and its last known state.
    /// Plain data with no connection or secret in it, so it survives Export-Clixml, ConvertTo-Json, thread jobs and
    /// other processes, and can be waited on again from any of them.
    /// </summary>
    public sealed class BackupJob
    {
        /// <summary>
        /// Creates a job. Providers use it; so can scripts that need a realistic job in their own tests
        /// (for example as the result of <c>Mock New-InstanceBackup</c>). The messages are arrays, which PowerShell
        /// makes of a plain array (<c>@($m)</c>): it cannot pass one as an <c>IEnumerable&lt;T&gt;</c>.
        /// </summary>
        public BackupJob(
            string provider,
            string endpoint,
            string jobId,
            string statusUrl = null,
            string instanceId = null,
            string backupName = null,
            string backupId = null,
            string scope = null,
            BackupKind kind = BackupKind.Instance,
            BackupJobState state = BackupJobState.Running,
            string rawStatus = null,
            int? percentComplete = null,
            DateTimeOffset? createdAt = null,
            DateTimeOffset? endedAt = null,
            DateTimeOffset? lastCheckedAt = null,
            BackupJobMessage[] errors = null,
            BackupJobMessage[] warnings = null)
        {
            if (string.IsNullOrWhiteSpace(provider)) throw new ArgumentException("A job needs its provider name.", nameof(provider));
            if (string.IsNullOrWhiteSpace(jobId) && string.IsNullOrWhiteSpace(statusUrl))
                throw new ArgumentException("A job needs a job id or a status URL.", nameof(jobId));
            Provider = provider;
            // Never a password or token: a service may echo one into the address, a script or a file may carry one.
            Endpoint = Providers.JobUrl.WithoutUserInfo(endpoint) ?? string.Empty;
            JobId = jobId;
            StatusUrl = Providers.JobUrl.WithoutUserInfo(Providers.JobUrl.WithoutSecrets(statusUrl));
            InstanceId = instanceId;
            BackupName = backupName;
            BackupId = backupId;
            Scope = scope;
            Kind = kind;
            State = state;
            RawStatus = rawStatus;
            PercentComplete = percentComplete is int p ? Math.Max(0, Math.Min(100, p)) : (int?)null;
            CreatedAt = createdAt ?? DateTimeOffset.UtcNow;
            EndedAt = endedAt;
            LastCheckedAt = lastCheckedAt;
            Errors = BackupJobMessageCollection.Of(errors);
            Warnings = BackupJobMessageCollection.Of(warnings);
        }

        /// <summary>The provider name (<c>TaurusDB</c>, <c>DDS</c>, <c>Dataverse</c>, <c>ArcGIS</c>, <c>CloudFoundry</c>).</summary>
        public string Provider { get; }
        /// <summary>The service endpoint the job belongs to; with <see cref="Provider"/> it selects the connection.</summary>
        public string Endpoint { get; }
        /// <summary>The service's job id (or operation id).</summary>
        public string JobId { get; }
        /// <summary>The URL the job's status is read from, when the service gave one.</summary>
        public string StatusUrl { get; }
        /// <summary>The backed-up instance (for ArcGIS, the deployment).</summary>
        public string InstanceId { get; }
        /// <summary>The backup's name (Dataverse label).</summary>
        public string BackupName { get; }
        /// <summary>The backup's id, when the service gives one.</summary>
        public string BackupId { get; }
        /// <summary>Project id (TaurusDB, DDS) or backup store (ArcGIS) the backup lives in.</summary>
        public string Scope { get; }
        /// <summary>Instance or disaster-recovery backup.</summary>
        public BackupKind Kind { get; }
        /// <summary>The normalised state.</summary>
        public BackupJobState State { get; }
        /// <summary>The status exactly as the service last reported it.</summary>
        public string RawStatus { get; }
        /// <summary>Percent complete, where the service reports it.</summary>
        public int? PercentComplete { get; }
        /// <summary>When the backup was started.</summary>
        public DateTimeOffset CreatedAt { get; }
        /// <summary>When the job ended, where known.</summary>
        public DateTimeOffset? EndedAt { get; }
        /// <summary>When the status was last read.</summary>
        public DateTimeOffset? LastCheckedAt { get; }
        /// <summary>
        /// Errors the service reported, with its own codes. A read-only list whose text (what Export-Csv writes) is the
        /// messages, "code: message", separated by "; ".
        /// </summary>
        public BackupJobMessageCollection Errors { get; }
        /// <summary>Warnings and information items the service reported; a list like <see cref="Errors"/>.</summary>
        public BackupJobMessageCollection Warnings { get; }

        /// <summary>
        /// The create's own Retry-After (Dataverse's 202): its first status read waits at least this long after
        /// <see cref="CreatedAt"/>. Kept only on the job the create returned (not serialized, not carried by newer states).
        /// </summary>
        internal TimeSpan? FirstReadAfter { get; set; }

        /// <summary>
        /// When this machine first saw the job (its create was answered), where it did; not carried by a deserialized job.
        /// </summary>
        internal DateTimeOffset? SeenAt { get; set; }

        /// <summary>
        /// Where "job not found" grace is measured from: the later of <see cref="CreatedAt"/> (the service's begin time)
        /// and <see cref="SeenAt"/>, so that a service clock behind this machine's does not shorten the grace.
        /// </summary>
        internal DateTimeOffset NotFoundGraceFrom => SeenAt is DateTimeOffset seen && seen > CreatedAt ? seen : CreatedAt;

        /// <summary>True when the job will not change any more.</summary>
        public bool IsFinal => State.IsFinal();

        /// <summary>
        /// Time from start to end. While the job runs, to now: it keeps counting between status reads. A finished job
        /// whose end time is unknown counts to its last status read, or shows zero without one (a job built for a mock):
        /// a finished job's Elapsed never grows.
        /// </summary>
        public TimeSpan Elapsed
        {
            get
            {
                var until = EndedAt ?? (IsFinal ? LastCheckedAt ?? CreatedAt : DateTimeOffset.UtcNow);
                var d = until - CreatedAt;
                return d < TimeSpan.Zero ? TimeSpan.Zero : d;
            }
        }

        /// <summary>A one-line description.</summary>
        public override string ToString() =>
            $"{Provider} backup '{BackupName ?? BackupId ?? JobId}' of {InstanceId ?? Scope ?? "?"}: {State}" +
            (PercentComplete is int p && !IsFinal ? $" ({p}%)" : string.Empty);

        /// <summary>The same job with a newer status applied.</summary>
        internal BackupJob With(JobStatus status)
        {
            return new BackupJob(Provider, Endpoint, JobId, StatusUrl, InstanceId,
                status.BackupName ?? BackupName, status.BackupId ?? BackupId, Scope, Kind,
                status.State, status.RawStatus ?? RawStatus,
                status.PercentComplete ?? (status.State == BackupJobState.Succeeded ? 100 : PercentComplete),
                CreatedAt, status.EndedAt ?? EndedAt ?? (status.State.IsFinal() ? status.CheckedAt : (DateTimeOffset?)null),
                status.CheckedAt, status.Errors ?? Errors.Shared, status.Warnings ?? Warnings.Shared) { SeenAt = SeenAt };
        }

        /// <summary>
        /// Rebuilds a job from a bag of properties, as a deserialized job arrives (Import-Clixml, a thread job,
        /// ConvertFrom-Json, Import-Csv). Nested messages may be dictionaries or <see cref="BackupJobMessage"/>s.
        /// </summary>
        /// <param name="p">The properties.</param>
        /// <param name="textCulture">
        /// The culture that most likely wrote times given as text other than ISO 8601: the session's for a row of
        /// Export-Csv (which writes a DateTimeOffset with the culture's ToString: 12.11.2026 in de-DE); null (invariant)
        /// for PowerShell's serializer, which writes invariant text. Such text is also read invariantly, and a reading
        /// more than a few minutes ahead of this machine's clock is not taken (the other culture's order of day and month).
        /// </param>
        public static BackupJob FromProperties(IDictionary<string, object> p, CultureInfo textCulture = null) =>
            FromProperties(p, textCulture, DateTimeOffset.UtcNow);

        /// <summary>
        /// How far ahead of this machine's clock a time read from text may be and still be taken: another machine's clock
        /// may run a little ahead; beyond that the text was read in the wrong order of day and month.
        /// </summary>
        internal static readonly TimeSpan TextTimeSkew = TimeSpan.FromMinutes(5);

        /// <summary><see cref="FromProperties(IDictionary{string, object}, CultureInfo)"/> with this machine's clock at <paramref name="now"/>.</summary>
        internal static BackupJob FromProperties(IDictionary<string, object> p, CultureInfo textCulture, DateTimeOffset now)
        {
            if (p == null) throw new ArgumentNullException(nameof(p));
            var bag = new Dictionary<string, object>(p, StringComparer.OrdinalIgnoreCase);
            string S(string name) => bag.TryGetValue(name, out var v) && v != null ? Convert.ToString(v, CultureInfo.InvariantCulture) : null;

            var provider = S(nameof(Provider));
            var jobId = S(nameof(JobId));
            var statusUrl = S(nameof(StatusUrl));
            if (string.IsNullOrWhiteSpace(provider) || (string.IsNullOrWhiteSpace(jobId) && string.IsNullOrWhiteSpace(statusUrl)))
                throw new BackupToolsException(ErrorIds.BackupJobInvalid, BackupErrorCategory.InvalidArgument,
                    "The object is not a backup job: it needs a Provider and a JobId or StatusUrl.");

            // A job list written by hand names the project as Connect-BackupService does (ProjectId, alias Project):
            // dropped, the job would be read in whichever project the session is connected to.
            string ScopeOf()
            {
                foreach (var name in ScopeNames)
                    if (S(name) is string text && !string.IsNullOrWhiteSpace(text)) return text.Trim();
                return null;
            }

            return new BackupJob(provider, S(nameof(Endpoint)), jobId, statusUrl, S(nameof(InstanceId)), S(nameof(BackupName)),
                S(nameof(BackupId)), ScopeOf(),
                ParseEnum(S(nameof(Kind)), BackupKind.Instance),
                ParseEnum(S(nameof(State)), BackupJobState.Running),
                S(nameof(RawStatus)),
                int.TryParse(S(nameof(PercentComplete)), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pc) ? pc : (int?)null,
                ParseTime(bag, nameof(CreatedAt), textCulture, now), ParseTime(bag, nameof(EndedAt), textCulture, now),
                ParseTime(bag, nameof(LastCheckedAt), textCulture, now),
                ParseMessages(bag, nameof(Errors)).ToArray(), ParseMessages(bag, nameof(Warnings)).ToArray());
        }

        /// <summary>The columns a job's scope is read from, first found first: its own name, then Connect-BackupService's.</summary>
        private static readonly string[] ScopeNames = { nameof(Scope), "ProjectId", "Project" };

        /// <summary>
        /// Rebuilds a job from a hashtable, as a script builds one for a mock:
        /// <c>[BackupTools.BackupJob]::FromProperties(@{ Provider = 'DDS'; JobId = 'job-1'; State = 'Failed' })</c>.
        /// Keys are read as text; messages may be hashtables with Code, Message and Subject.
        /// </summary>
        /// <param name="p">The properties.</param>
        public static BackupJob FromProperties(IDictionary p)
        {
            if (p == null) throw new ArgumentNullException(nameof(p));
            return FromProperties(Bag(p), null);
        }

        private static Dictionary<string, object> Bag(IDictionary p)
        {
            var bag = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
            foreach (DictionaryEntry entry in p)
                if (entry.Key != null) bag[Convert.ToString(entry.Key, CultureInfo.InvariantCulture)] = entry.Value;
            return bag;
        }

        private static T ParseEnum<T>(string text, T fallback) where T : struct =>
            text != null && Enum.TryParse<T>(text, true, out var v) ? v : fallback;

        // ISO 8601 as ConvertTo-Json and the round-trip format write it: read the same in every culture.
        private static readonly string[] IsoFormats =
        {
            "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF",
            "yyyy-MM-dd HH:mm:ss.FFFFFFFzzz", "yyyy-MM-dd HH:mm:ss.FFFFFFF'Z'", "yyyy-MM-dd HH:mm:ss.FFFFFFF",
        };

        /// <summary>
        /// A time of the job, or null (unknown: a CreatedAt is then the time it is read, as for a cell no culture reads).
        /// Text is read as ISO 8601 in every culture, else in <paramref name="textCulture"/> and invariantly, the first
        /// reading not in the future taken. A job list written by Export-Csv in one culture and read in another (12.11.2026
        /// written in de-DE, 12 November, read in en-US as 11 December) otherwise had a start in the future: the not-found
        /// grace, counted from it, kept a job the service no longer knows "starting" for weeks, and Elapsed showed zero.
        /// </summary>
        private static DateTimeOffset? ParseTime(IDictionary<string, object> bag, string name, CultureInfo textCulture, DateTimeOffset now)
        {
            if (!bag.TryGetValue(name, out var v) || v == null) return null;
            switch (v)
            {
                case DateTimeOffset dto: return dto;
                case DateTime dt: return dt.Kind == DateTimeKind.Unspecified ? new DateTimeOffset(dt, TimeSpan.Zero) : new DateTimeOffset(dt);
                // Export-Clixml (depth 2) writes a DateTimeOffset as a bag of its properties: its UTC time is one of them.
                case IDictionary<string, object> parts:
                    return ParseTime(parts, "UtcDateTime", textCulture, now) ??
                           (parts.TryGetValue("UtcTicks", out var ticks) && ticks is long t && t >= DateTimeOffset.MinValue.UtcTicks && t <= DateTimeOffset.MaxValue.UtcTicks
                               ? new DateTimeOffset(t, TimeSpan.Zero) : (DateTimeOffset?)null);
                default:
                    var text = Convert.ToString(v, CultureInfo.InvariantCulture).Trim();
                    var latest = now + TextTimeSkew;
                    if (DateTimeOffset.TryParseExact(text, IsoFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var iso))
                        return iso <= latest ? iso : (DateTimeOffset?)null;
                    // The writer's culture first: 12.11.2026 (de-DE, 12 November) read invariantly is 11 December.
                    if (textCulture != null && textCulture.Name.Length > 0 &&
                        DateTimeOffset.TryParse(text, textCulture, DateTimeStyles.AssumeUniversal, out var parsed) && parsed <= latest)
                        return parsed;
                    return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out parsed) && parsed <= latest
                        ? parsed : (DateTimeOffset?)null;
            }
        }

        private static IEnumerable<BackupJobMessage> ParseMessages(IDictionary<string, object> bag, string name)
        {
            if (!bag.TryGetValue(name, out var v) || v == null) yield break;
            // A CSV cell holds the messages' text (BackupJobMessageCollection.ToString): kept as one message, whose text
            // is that cell again, so a failed job read back from a CSV file fails with its reasons and exports them again.
            // Which "; " separates two messages and which is inside one is not known, so the text is not split.
            if (v is string text)
            {
                text = text.Trim();
                // Earlier versions' Export-Csv wrote the array's type name, which holds no message.
                if (text.Length > 0 && text != "BackupTools.BackupJobMessage[]" && text != "System.Object[]")
                    yield return new BackupJobMessage(null, text);
                yield break;
            }
            if (!(v is IEnumerable items)) yield break;
            foreach (var item in items)
            {
                switch (item)
                {
                    case BackupJobMessage m: yield return m; break;
                    case IDictionary<string, object> _:
                    case IDictionary _:
                        var dd = item is IDictionary<string, object> d
                            ? new Dictionary<string, object>(d, StringComparer.OrdinalIgnoreCase)
                            : Bag((IDictionary)item);
                        dd.TryGetValue("Code", out var c); dd.TryGetValue("Message", out var msg); dd.TryGetValue("Subject", out var s);
                        yield return new BackupJobMessage(c?.ToString(), msg?.ToString(), s?.ToString());
                        break;
                    case null: break;
                    default: yield return new BackupJobMessage(null, item.ToString()); break;
                }
            }
        }
    }

    /// <summary>One status read of a job, as a provider returns it.</summary>
    internal sealed class JobStatus
    {
        public BackupJobState State { get; set; }
        public string RawStatus { get; set; }
        public int? PercentComplete { get; set; }
        public DateTimeOffset? EndedAt { get; set; }
        public DateTimeOffset CheckedAt { get; set; } = DateTimeOffset.UtcNow;
        public string BackupId { get; set; }
        public string BackupName { get; set; }
        public BackupJobMessage[] Errors { get; set; }
        public BackupJobMessage[] Warnings { get; set; }
        /// <summary>The service asked us to wait this long before asking again.</summary>
        public TimeSpan? RetryAfter { get; set; }
        /// <summary>The service said it does not know the job (yet).</summary>
        public bool NotFound { get; set; }

        /// <summary>The read that answered "not found" (provider, method and URL), for the error once the grace has passed.</summary>
        public string Call { get; set; }

        /// <summary>
        /// The service's own refusal that said it does not know the job (its code, message and HTTP status, as the
        /// provider reads its errors); null when the job was only missing from a list the service answered.
        /// </summary>
        public BackupToolsException Refusal { get; set; }

        /// <summary>"The service does not know the job": starting, within the provider's grace, or gone after it.</summary>
        public static JobStatus NotFoundYet(BackupTools.Http.ServiceResponse response, BackupToolsException refusal = null) =>
            new JobStatus { NotFound = true, State = BackupJobState.Running, RawStatus = "NotFound", RetryAfter = response?.RetryAfter, Call = response?.Call, Refusal = refusal };

        /// <summary>
        /// <see cref="ErrorIds.BackupJobNotFound"/> for <paramref name="job"/> once its grace has passed: <paramref name="message"/>
        /// followed by what the service answered (<c>; it answered HTTP 404 DBS.200823: The job does not exist.</c>, or
        /// naming the call when <paramref name="message"/> does not), then <paramref name="after"/>; and, as every service
        /// error, the service's code, message and HTTP status (the refusal kept inside).
        /// </summary>
        internal BackupToolsException JobNotFound(BackupJob job, string message, bool messageNamesCall, string after = null)
        {
            var refusal = Refusal;
            var text = refusal == null
                ? BackupTools.Http.ServiceCall.Sentence(message)
                : BackupTools.Http.ServiceCall.Sentence(message + (messageNamesCall ? "; it" : $": {Call ?? job.Provider}") + $" answered HTTP {refusal.HttpStatus}" +
                    BackupTools.Http.ServiceCall.CodeAndMessage(refusal.ServiceCode, refusal.ServiceMessage, refusal.HttpStatus ?? 0));
            return new BackupToolsException(ErrorIds.BackupJobNotFound, BackupErrorCategory.ObjectNotFound,
                after == null ? text : text + " " + after, job, refusal)
            {
                Provider = job.Provider,
                ServiceCode = refusal?.ServiceCode,
                ServiceMessage = refusal?.ServiceMessage,
                HttpStatus = refusal?.HttpStatus,
            };
        }
    }
}
