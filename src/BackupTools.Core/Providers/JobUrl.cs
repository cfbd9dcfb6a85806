using System;
using System.Linq;

namespace BackupTools.Providers
{
    /// <summary>
    /// Chooses the URL a job's status is read from. A job may have come from a file or another process, so a status
    /// URL is followed only when it lies under the connection's endpoint: a token is never sent to another host.
    /// </summary>
    internal static class JobUrl
    {
        /// <summary>
        /// The job's own status URL, checked, or null when it has none and the provider is to build one from its job id
        /// (<c>StatusUrlOf(connection, job) ?? …</c>).
        /// </summary>
        public static Uri StatusUrlOf(BackupConnection connection, BackupJob job)
        {
            if (string.IsNullOrWhiteSpace(job.StatusUrl))
            {
                if (string.IsNullOrWhiteSpace(job.JobId))
                    throw new BackupToolsException(ErrorIds.BackupJobInvalid, BackupErrorCategory.InvalidArgument,
                        "The job has neither a job id nor a status URL.", job) { Provider = job.Provider };
                return null;
            }
            if (!Uri.TryCreate(job.StatusUrl, UriKind.Absolute, out var url) || !IsUnder(connection.Endpoint, url))
                throw new BackupToolsException(ErrorIds.BackupJobInvalid, BackupErrorCategory.SecurityError,
                    $"The job's status URL '{(url != null ? Http.Redact.Url(url) : "(not an address)")}' is not on the connection's endpoint {connection.Endpoint}; it was not followed.", job)
                { Provider = job.Provider, RecommendedAction = "Wait on the job with a connection to the endpoint it was created on." };
            return url;
        }

        /// <summary>
        /// The status address a create answered, as the job keeps it. One on another host, port or scheme (a deployment
        /// behind a proxy or web adaptor names its internal machine) is never followed, as the token must not go there:
        /// when the job id is known, the documented address built from it on the connection's endpoint is kept instead.
        /// Without an id the address stays as given (or null): the job is still written, and reading its status is refused.
        /// </summary>
        public static Uri Answered(BackupConnection connection, Uri given, string jobId, Func<BackupConnection, string, Uri> documented)
        {
            given = WithoutSecrets(given);
            if (given == null || !given.IsAbsoluteUri || IsUnder(connection.Endpoint, given) || string.IsNullOrEmpty(jobId)) return given;
            try
            {
                return documented(connection, jobId);
            }
            catch (UriFormatException)
            {
                return given; // an id no address can hold (.NET Framework escapes at most 32,766 characters): kept, refused
            }
        }

        /// <summary>
        /// The status address a job keeps, as text: the one place every address a create answered passes before it is
        /// stored (Format-List, Export-Clixml, $BackupToolsUnwrittenJobs and error targets show it). Query parameters
        /// named like a secret go, and so do those holding one of the call's secrets by value under a name no list
        /// knows (<c>t=</c>, <c>esriToken=</c>); a secret anywhere else in it (its path) is masked. The token travels
        /// in a header anyway.
        /// </summary>
        internal static string Kept(Http.ServiceCall call, Uri url)
        {
            if (url == null) return null;
            var kept = WithoutSecrets(url, pair => call.Scrub(pair) != pair);
            return call.Scrub(kept.ToString());
        }

        /// <summary>
        /// A job's status address as given (by a provider, a script or a deserialized job) without its query parameters
        /// named like a secret; one that is not an address has what follows its first '?' masked instead
        /// (<see cref="Http.Redact.Unparsed"/>). What <see cref="BackupJob"/> keeps, whoever built it.
        /// </summary>
        internal static string WithoutSecrets(string statusUrl)
        {
            var query = string.IsNullOrEmpty(statusUrl) ? -1 : statusUrl.IndexOf('?');
            // Every job built (each state a wait reads) passes here, and nearly no address names a secret: look first,
            // parse only then (parsing every TaurusDB/DDS "jobs?id=" address cost about 2 KB per job).
            if (query < 0 || !NamesASecret(statusUrl, query + 1)) return statusUrl;
            if (!Uri.TryCreate(statusUrl, UriKind.Absolute, out var url)) return Http.Redact.Unparsed(statusUrl);
            var kept = WithoutSecrets(url);
            return ReferenceEquals(kept, url) ? statusUrl : kept.ToString();
        }

        /// <summary>
        /// An address as a job keeps it, without a user name and password before its host (<c>https://user:pw@host/</c>,
        /// which only a hand-written job list carries: Connect-BackupService refuses it). Text that is no address keeps
        /// its shape with what stands between its scheme and the '@' masked.
        /// </summary>
        internal static string WithoutUserInfo(string address)
        {
            var at = string.IsNullOrEmpty(address) ? -1 : address.IndexOf('@');
            if (at < 0) return address;
            if (Uri.TryCreate(address, UriKind.Absolute, out var url))
                return string.IsNullOrEmpty(url.UserInfo) ? address : new UriBuilder(url) { UserName = string.Empty, Password = string.Empty }.Uri.ToString();
            var scheme = address.IndexOf("://", StringComparison.Ordinal);
            var start = scheme < 0 ? 0 : scheme + 3;
            var slash = address.IndexOf('/', start);
            return at < start || (slash >= 0 && slash < at) ? address : address.Substring(0, start) + "***" + address.Substring(at);
        }

        /// <summary>Whether a parameter of the query from <paramref name="start"/> on is named like a secret.</summary>
        private static bool NamesASecret(string text, int start)
        {
            for (var i = start; i <= text.Length; i++)
            {
                if (i < text.Length && text[i] != '&' && text[i] != ';') continue;
                if (i > start && Http.Redact.IsSecretPair(text.Substring(start, i - start))) return true;
                start = i + 1;
            }
            return false;
        }

        /// <summary>
        /// An address a service gave without its query parameters named like a secret (<c>token=…</c>), or that
        /// <paramref name="holdsSecret"/> says hold one: the job keeps its status address, shows it (Format-List,
        /// Export-Clixml, error targets), and the token travels in a header anyway.
        /// </summary>
        internal static Uri WithoutSecrets(Uri given, Func<string, bool> holdsSecret = null)
        {
            if (given == null || !given.IsAbsoluteUri || string.IsNullOrEmpty(given.Query) || given.Query == "?") return given;
            var dropped = false;
            var kept = Http.Redact.Rewrite(given.Query.Substring(1), pair =>
            {
                if (!Http.Redact.IsSecretPair(pair) && (holdsSecret == null || !holdsSecret(pair))) return pair;
                dropped = true;
                return null;
            });
            if (!dropped) return given;
            var builder = new UriBuilder(given) { Query = kept };
            return builder.Uri;
        }

        /// <summary>The last path segment of an address, unescaped (a job id at the end of a status URL); null when there is none.</summary>
        public static string LastSegment(Uri url)
        {
            var segment = url?.Segments.LastOrDefault()?.TrimEnd('/');
            return string.IsNullOrEmpty(segment) ? null : Uri.UnescapeDataString(segment);
        }

        public static bool IsUnder(Uri endpoint, Uri url) =>
            string.Equals(endpoint.Scheme, url.Scheme, StringComparison.OrdinalIgnoreCase) &&
            string.Equals(endpoint.Authority, url.Authority, StringComparison.OrdinalIgnoreCase);
    }
}
