using System;
using System.Net.Http;
using System.Threading;

namespace BackupTools.Http
{
    /// <summary>
    /// The HTTP pipeline, built once per process on first use (never at import): one <see cref="IHttpClientFactory"/>
    /// whose named clients are keyed by provider, base address and certificate policy, so handlers are long-lived
    /// and shared by every runspace. Clients hold no per-session state: the log and credentials travel with each call.
    /// </summary>
    internal static class BackupHttp
    {
        private static readonly Lazy<BackupHttpClientFactory> Factory = new Lazy<BackupHttpClientFactory>(
            () => new BackupHttpClientFactory(CreateHandlerChain, HandlerLifetime), LazyThreadSafetyMode.ExecutionAndPublication);

        /// <summary>How many connections one handler opens to one server at most.</summary>
        internal const int MaxConnectionsPerServer = 256;

        /// <summary>How long one handler (and its connection pool) serves a name before a new one is built: DNS changes are seen.</summary>
        internal static readonly TimeSpan HandlerLifetime = TimeSpan.FromMinutes(10);

        /// <summary>The process's factory (what a host that wants the clients can take).</summary>
        public static IHttpClientFactory ClientFactory => Factory.Value;

        /// <summary>The shared client of the connection's service, address and certificate policy.</summary>
        public static HttpClient ClientFor(BackupConnection connection) => Factory.Value.SharedClient(connection.ClientName);

        /// <summary>The shared client for another address of the same service (its token endpoint).</summary>
        public static HttpClient ClientFor(string provider, Uri address, bool skipCertificateCheck) =>
            Factory.Value.SharedClient(ClientName(provider, address, skipCertificateCheck));

        internal static string ClientName(string provider, Uri address, bool skipCertificateCheck) =>
            provider + "|" + address.GetLeftPart(UriPartial.Authority).ToLowerInvariant() + (skipCertificateCheck ? "|insecure" : string.Empty);

        /// <summary>What every client sends through: the verbose log line per call, then the socket handler.</summary>
        internal static HttpMessageHandler CreateHandlerChain(string name) =>
            new LoggingHandler { InnerHandler = CreatePrimaryHandler(name.EndsWith("|insecure", StringComparison.Ordinal)) };

        private static HttpMessageHandler CreatePrimaryHandler(bool skipCertificateCheck)
        {
            var handler = new HttpClientHandler
            {
                AllowAutoRedirect = false, // a redirect must never carry a token to another host
                UseCookies = false,
                MaxConnectionsPerServer = MaxConnectionsPerServer,
                // No Accept-Encoding: the answers are small JSON documents, and a decompression layer costs every call
                // (and a runbook's first call its start-up) more than it saves on loopback-to-cloud sizes of ~1 KB.
                AutomaticDecompression = System.Net.DecompressionMethods.None,
            };
            if (skipCertificateCheck)
                handler.ServerCertificateCustomValidationCallback = (message, cert, chain, errors) => true;
            return handler;
        }
    }
}
