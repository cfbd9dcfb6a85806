using System;
using System.Diagnostics;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace BackupTools.Http
{
    /// <summary>Writes one verbose line per HTTP call: method, redacted URL, status and duration. Never a header or body.</summary>
    internal sealed class LoggingHandler : DelegatingHandler
    {
        internal const string LogProperty = "BackupTools.Log";

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var log = request.Properties.TryGetValue(LogProperty, out var l) ? l as IOperationLog : null;
            var url = Redact.Url(request.RequestUri);
            log?.Verbose($"HTTP {request.Method} {url}");
            var watch = Stopwatch.StartNew();
            try
            {
                var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
                log?.Verbose($"HTTP {request.Method} {url} -> {(int)response.StatusCode} {response.ReasonPhrase} ({watch.ElapsedMilliseconds} ms)");
                return response;
            }
            catch (Exception ex) when (log != null)
            {
                log.Verbose($"HTTP {request.Method} {url} -> {ex.GetType().Name} after {watch.ElapsedMilliseconds} ms");
                throw;
            }
        }
    }
}
