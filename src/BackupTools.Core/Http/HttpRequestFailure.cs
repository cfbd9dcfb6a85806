using System;
using System.Net;
using System.Net.Http;
using System.Reflection;

namespace BackupTools.Http
{
    /// <summary>
    /// What newer runtimes tell of an <see cref="HttpRequestException"/> beyond netstandard2.0's members, read by
    /// reflection: its <c>HttpRequestError</c> (.NET 8, PowerShell 7.4 and later) and its <c>StatusCode</c> (.NET 5).
    /// Looked up once, when a request first fails; absent on .NET Framework (Windows PowerShell 5.1).
    /// </summary>
    internal static class HttpRequestFailure
    {
        private static readonly PropertyInfo ErrorProperty = Enumerated(typeof(HttpRequestException).GetProperty("HttpRequestError"));
        private static readonly PropertyInfo StatusProperty = typeof(HttpRequestException).GetProperty("StatusCode");

        // (HttpRequestError, string, Exception, HttpStatusCode?) on .NET 8; (string, Exception, HttpStatusCode?) on .NET 5.
        private static readonly ConstructorInfo WithError = ErrorProperty == null ? null : typeof(HttpRequestException).GetConstructor(
            new[] { ErrorProperty.PropertyType, typeof(string), typeof(Exception), typeof(HttpStatusCode?) });
        private static readonly ConstructorInfo WithStatus = typeof(HttpRequestException).GetConstructor(
            new[] { typeof(string), typeof(Exception), typeof(HttpStatusCode?) });

        private static PropertyInfo Enumerated(PropertyInfo property) => property != null && property.PropertyType.IsEnum ? property : null;

        /// <summary>
        /// True when the proxy refused to open the tunnel to the service (its answer to CONNECT was not 200: 407, 502,
        /// 503), or a SOCKS proxy refused the connection: no byte of the request went past the proxy. Compared by the
        /// enum member's name, not its number, which a later runtime could renumber.
        /// </summary>
        public static bool IsProxyTunnelError(HttpRequestException ex)
        {
            if (ErrorProperty == null || ex == null) return false;
            var error = ErrorProperty.GetValue(ex);
            return error != null && string.Equals(Enum.GetName(ErrorProperty.PropertyType, error), "ProxyTunnelError", StringComparison.Ordinal);
        }

        /// <summary>
        /// An <see cref="HttpRequestException"/> like <paramref name="ex"/> (its HttpRequestError and StatusCode where
        /// the runtime has them) with another message and inner exception.
        /// </summary>
        public static HttpRequestException Copy(HttpRequestException ex, string message, Exception inner)
        {
            var status = StatusProperty?.GetValue(ex);
            if (WithError != null) return (HttpRequestException)WithError.Invoke(new[] { ErrorProperty.GetValue(ex), message, inner, status });
            if (WithStatus != null) return (HttpRequestException)WithStatus.Invoke(new[] { message, inner, status });
            return new HttpRequestException(message, inner);
        }
    }
}
