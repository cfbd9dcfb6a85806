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

        /// <summary>
        /// How long opening a connection (TCP, and TLS over it) may take on .NET (PowerShell 7): a host that drops the
        /// packets fails after this, not after the request's whole limit (30 s for a status read, 100 s for a create),
        /// and a create that fails so certainly created nothing. .NET Framework (Windows PowerShell 5.1) has no such
        /// setting; there the request's own limit covers the connection too.
        /// </summary>
        internal static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(15);

        /// <summary>The process's factory (what a host that wants the clients can take).</summary>
        public static IHttpClientFactory ClientFactory => Factory.Value;

        /// <summary>The shared client of the connection's service, address and certificate policy.</summary>
        public static HttpClient ClientFor(BackupConnection connection) => Factory.Value.SharedClient(connection.ClientName);

        /// <summary>The shared client for another address of the same service (its token endpoint).</summary>
        public static HttpClient ClientFor(string provider, Uri address, bool skipCertificateCheck) =>
            Factory.Value.SharedClient(ClientName(provider, address, skipCertificateCheck));

        /// <summary>
        /// On .NET Framework (Windows PowerShell 5.1), HttpClientHandler speaks the protocols of ServicePointManager,
        /// which in powershell.exe are SSL 3 and TLS 1.0 unless the machine's SchUseStrongCrypto keys are set: services
        /// that take TLS 1.2 only (all five) would fail with "Could not create SSL/TLS secure channel". TLS 1.2 is added,
        /// nothing removed, once, when the first client is built (not at import). Elsewhere this changes nothing.
        /// </summary>
        private static void EnableTls12OnNetFramework()
        {
            if (!IsNetFramework) return;
            var current = System.Net.ServicePointManager.SecurityProtocol;
            var wanted = WithTls12(current);
            if (wanted != current) System.Net.ServicePointManager.SecurityProtocol = wanted;
        }

        private static readonly bool IsNetFramework =
            System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal);

        /// <summary>A certificate the platform found no fault with, and nothing else.</summary>
        internal static bool OnlyValidCertificates(HttpRequestMessage message, System.Security.Cryptography.X509Certificates.X509Certificate2 certificate,
            System.Security.Cryptography.X509Certificates.X509Chain chain, System.Net.Security.SslPolicyErrors errors) =>
            errors == System.Net.Security.SslPolicyErrors.None;

        /// <summary>The protocols to use given the process's: TLS 1.2 added to an explicit list; the system's default (0) left to the system.</summary>
        internal static System.Net.SecurityProtocolType WithTls12(System.Net.SecurityProtocolType current) =>
            current == 0 ? current : current | System.Net.SecurityProtocolType.Tls12;

        internal static string ClientName(string provider, Uri address, bool skipCertificateCheck) =>
            provider + "|" + address.GetLeftPart(UriPartial.Authority).ToLowerInvariant() + (skipCertificateCheck ? "|insecure" : string.Empty);

        /// <summary>What every client sends through: the verbose log line per call, then the socket handler.</summary>
        internal static HttpMessageHandler CreateHandlerChain(string name) =>
            new LoggingHandler { InnerHandler = CreatePrimaryHandler(name.EndsWith("|insecure", StringComparison.Ordinal), ServesLoopback(name)) };

        /// <summary>
        /// True when the client name's address (<see cref="ClientName"/>: provider, scheme and authority) is this machine.
        /// Each name's handler sends to that one authority only (a status address elsewhere is never followed).
        /// </summary>
        internal static bool ServesLoopback(string name)
        {
            var parts = (name ?? string.Empty).Split('|');
            return parts.Length >= 2 && Uri.TryCreate(parts[1], UriKind.Absolute, out var address) && Validation.EndpointRule.IsLoopback(address);
        }

        private static HttpMessageHandler CreatePrimaryHandler(bool skipCertificateCheck, bool loopback) =>
            CreatePrimaryHandler(skipCertificateCheck, loopback, ConnectTimeout);

        /// <summary>The socket handler, with <paramref name="connectTimeout"/> where the platform takes one.</summary>
        internal static HttpMessageHandler CreatePrimaryHandler(bool skipCertificateCheck, bool loopback, TimeSpan connectTimeout)
        {
            EnableTls12OnNetFramework();
            var handler = new HttpClientHandler
            {
                AllowAutoRedirect = false, // a redirect must never carry a token to another host
                UseCookies = false,
                MaxConnectionsPerServer = MaxConnectionsPerServer,
                // No Accept-Encoding: the answers are small JSON documents, and a decompression layer costs every call
                // (and a runbook's first call its start-up) more than it saves on loopback-to-cloud sizes of ~1 KB.
                AutomaticDecompression = System.Net.DecompressionMethods.None,
                // A loopback address is never sent through a proxy: .NET's environment proxy (HTTP_PROXY) does not bypass
                // 127.0.0.1 or localhost, so plain-HTTP requests to the simulator or a local tunnel carried their token in
                // clear text to the proxy, possibly another machine (which could not reach this machine's loopback anyway).
                UseProxy = !loopback,
            };
            if (skipCertificateCheck)
                handler.ServerCertificateCustomValidationCallback = (message, cert, chain, errors) => true;
            // On .NET Framework a handler without a callback of its own defers to the process-wide
            // ServicePointManager.ServerCertificateValidationCallback, which 5.1 scripts often set: to "trust all" (every
            // connection then accepted any certificate, without -SkipCertificateCheck) or to a script block (which
            // fails on a thread without a runspace: every call then failed). The module's own check ignores both.
            else if (IsNetFramework)
                handler.ServerCertificateCustomValidationCallback = OnlyValidCertificates;
            SetConnectTimeout(handler, connectTimeout);
            return handler;
        }

        /// <summary>
        /// On .NET, HttpClientHandler passes everything to a SocketsHttpHandler it holds, whose ConnectTimeout it does not
        /// offer: that one property is set on it directly. netstandard2.0 (which the core targets) names neither the
        /// type nor the property, so they are reached by reflection: the handler through HttpClientHandler's field
        /// (<c>_underlyingHandler</c> since .NET 5; about 0.3 ms on a first call, where finding the type by its name took
        /// some 10 ms), the property by its public name. Where either is missing (.NET Framework, which has no such
        /// setting; a runtime that renamed the field) nothing is set, and the request's own limit covers the connection.
        /// </summary>
        internal static bool SetConnectTimeout(HttpClientHandler handler, TimeSpan connectTimeout)
        {
            if (IsNetFramework || UnderlyingHandler == null) return false;
            var sockets = UnderlyingHandler.GetValue(handler);
            var property = sockets?.GetType().GetProperty("ConnectTimeout", typeof(TimeSpan));
            if (property == null || !property.CanWrite) return false;
            property.SetValue(sockets, connectTimeout);
            return true;
        }

        private static readonly System.Reflection.FieldInfo UnderlyingHandler = IsNetFramework ? null :
            typeof(HttpClientHandler).GetField("_underlyingHandler", System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic);
    }
}
