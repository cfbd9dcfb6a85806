using System;
using System.Diagnostics;
using System.Net.Http;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Async;

namespace BackupTools.Http
{
    /// <summary>
    /// Writes one verbose line per HTTP call: method, redacted URL, status and its reason phrase (service text, masked as
    /// an answer's), and duration. Never a header or body.
    /// </summary>
    internal sealed class LoggingHandler : DelegatingHandler
    {
        /// <summary>Request property: the <see cref="ServiceCall"/> sending it (its log, and the secrets to mask).</summary>
        internal const string CallProperty = "BackupTools.Call";

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var call = request.Properties.TryGetValue(CallProperty, out var c) ? c as ServiceCall : null;
            var log = call?.Log;
            // Nobody listening (the engine's and the benchmark's NullOperationLog, a cmdlet without -Verbose): no line
            // is built, no extra task.
            if (log == null || log is NullOperationLog || (log is IVerboseAware aware && !aware.VerboseWanted))
                return base.SendAsync(request, cancellationToken);
            return SendLoggedAsync(request, call, log, cancellationToken);
        }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        private async Task<HttpResponseMessage> SendLoggedAsync(HttpRequestMessage request, ServiceCall call, IOperationLog log, CancellationToken cancellationToken)
        {
            var url = Redact.Url(request.RequestUri);
            log.Verbose($"HTTP {request.Method} {url}");
            var started = Stopwatch.GetTimestamp();
            try
            {
                var response = await base.SendAsync(request, cancellationToken).NoContext();
                log.Verbose($"HTTP {request.Method} {url} -> {(int)response.StatusCode} {Reason(call, request, response)} ({ElapsedMs(started)} ms)");
                return response;
            }
            catch (Exception ex)
            {
                log.Verbose($"HTTP {request.Method} {url} -> {ex.GetType().Name} after {ElapsedMs(started)} ms");
                throw;
            }
        }

        /// <summary>
        /// The reason phrase with the call's secrets and the token the request carried masked: it is the service's
        /// text (a gateway may put anything there), as an error's message is.
        /// </summary>
        private static string Reason(ServiceCall call, HttpRequestMessage request, HttpResponseMessage response)
        {
            var sentWith = request.Properties.TryGetValue(BackupCredential.SentTokenProperty, out var t) ? t as System.Security.SecureString : null;
            return call.Scrub(response.ReasonPhrase, sentWith);
        }

        private static long ElapsedMs(long started) => (Stopwatch.GetTimestamp() - started) * 1000 / Stopwatch.Frequency;
    }
}
