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
        /// An address a service gave without its query parameters named like a secret (<c>token=…</c>): the job keeps its
        /// status address, shows it (Format-List, Export-Clixml, error targets), and the token travels in a header anyway.
        /// </summary>
        internal static Uri WithoutSecrets(Uri given)
        {
            if (given == null || !given.IsAbsoluteUri || string.IsNullOrEmpty(given.Query) || given.Query == "?") return given;
            var dropped = false;
            var kept = Http.Redact.Rewrite(given.Query.Substring(1), pair =>
            {
                if (!Http.Redact.IsSecretPair(pair)) return pair;
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
