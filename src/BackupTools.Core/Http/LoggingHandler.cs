using System;
using System.Diagnostics;
using System.Net.Http;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Async;

namespace BackupTools.Http
{
    /// <summary>Writes one verbose line per HTTP call: method, redacted URL, status and duration. Never a header or body.</summary>
    internal sealed class LoggingHandler : DelegatingHandler
    {
        internal const string LogProperty = "BackupTools.Log";

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var log = request.Properties.TryGetValue(LogProperty, out var l) ? l as IOperationLog : null;
            // Nobody listening (the engine's and the benchmark's NullOperationLog, a cmdlet without -Verbose): no line
            // is built, no extra task.
            if (log == null || log is NullOperationLog || (log is IVerboseAware aware && !aware.VerboseWanted))
                return base.SendAsync(request, cancellationToken);
            return SendLoggedAsync(request, log, cancellationToken);
        }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        private async Task<HttpResponseMessage> SendLoggedAsync(HttpRequestMessage request, IOperationLog log, CancellationToken cancellationToken)
        {
            var url = Redact.Url(request.RequestUri);
            log.Verbose($"HTTP {request.Method} {url}");
            var started = Stopwatch.GetTimestamp();
            try
            {
                var response = await base.SendAsync(request, cancellationToken).NoContext();
                log.Verbose($"HTTP {request.Method} {url} -> {(int)response.StatusCode} {response.ReasonPhrase} ({ElapsedMs(started)} ms)");
                return response;
            }
            catch (Exception ex)
            {
                log.Verbose($"HTTP {request.Method} {url} -> {ex.GetType().Name} after {ElapsedMs(started)} ms");
                throw;
            }
        }

        private static long ElapsedMs(long started) => (Stopwatch.GetTimestamp() - started) * 1000 / Stopwatch.Frequency;
    }
}
