using System;
using System.Net.Http;
using System.Threading;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http;

namespace BackupTools.Http
{
    /// <summary>
    /// The HTTP pipeline, built once per process on first use (never at import): one <see cref="IHttpClientFactory"/>
    /// whose named clients are keyed by provider, base address and certificate policy, so handlers are long-lived
    /// and shared by every runspace. Clients hold no per-session state: the log and credentials travel with each call.
    /// </summary>
    internal static class BackupHttp
    {
        private static readonly Lazy<IHttpClientFactory> Factory = new Lazy<IHttpClientFactory>(Build, LazyThreadSafetyMode.ExecutionAndPublication);

        /// <summary>How many connections one handler opens to one server at most.</summary>
        internal const int MaxConnectionsPerServer = 256;

        public static HttpClient ClientFor(BackupConnection connection) =>
            ClientFor(connection.Provider, connection.Endpoint, connection.SkipCertificateCheck);

        /// <summary>The client for another address of the same service (its token endpoint).</summary>
        public static HttpClient ClientFor(string provider, Uri address, bool skipCertificateCheck)
        {
            var name = provider + "|" + address.GetLeftPart(UriPartial.Authority).ToLowerInvariant() +
                       (skipCertificateCheck ? "|insecure" : string.Empty);
            return Factory.Value.CreateClient(name);
        }

        private static IHttpClientFactory Build()
        {
            var services = new ServiceCollection();
            services.AddHttpClient();
            services.ConfigureAll<HttpClientFactoryOptions>(options =>
            {
                options.HandlerLifetime = TimeSpan.FromMinutes(10);
                options.HttpClientActions.Add(client => client.Timeout = Timeout.InfiniteTimeSpan);
                options.HttpMessageHandlerBuilderActions.Add(builder =>
                {
                    var insecure = builder.Name != null && builder.Name.EndsWith("|insecure", StringComparison.Ordinal);
                    builder.PrimaryHandler = CreatePrimaryHandler(insecure);
                    builder.AdditionalHandlers.Add(new LoggingHandler());
                });
            });
            return services.BuildServiceProvider().GetRequiredService<IHttpClientFactory>();
        }

        private static HttpMessageHandler CreatePrimaryHandler(bool skipCertificateCheck)
        {
            var handler = new HttpClientHandler
            {
                AllowAutoRedirect = false, // a redirect must never carry a token to another host
                UseCookies = false,
                MaxConnectionsPerServer = MaxConnectionsPerServer,
                AutomaticDecompression = System.Net.DecompressionMethods.GZip | System.Net.DecompressionMethods.Deflate,
            };
            if (skipCertificateCheck)
                handler.ServerCertificateCustomValidationCallback = (message, cert, chain, errors) => true;
            return handler;
        }
    }
}
