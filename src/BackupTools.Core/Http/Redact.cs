using System;
using System.Linq;
using System.Text;

namespace BackupTools.Http
{
    /// <summary>Masks secrets in anything that may be shown: query parameters and form fields named like a secret.</summary>
    internal static class Redact
    {
        private static readonly string[] SecretNames =
        {
            "token", "access_token", "refresh_token", "passcode", "password", "client_secret", "secret", "sk", "key", "signature",
        };

        public static bool IsSecretName(string name) =>
            SecretNames.Any(s => string.Equals(s, name, StringComparison.OrdinalIgnoreCase));

        public static string Url(Uri uri)
        {
            if (uri == null) return string.Empty;
            var text = uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
            var query = uri.IsAbsoluteUri ? uri.Query : string.Empty;
            if (string.IsNullOrEmpty(query) || query == "?") return text;
            return text + "?" + Query(query.TrimStart('?'));
        }

        public static string Query(string query)
        {
            var sb = new StringBuilder();
            foreach (var pair in query.Split('&'))
            {
                if (sb.Length > 0) sb.Append('&');
                var eq = pair.IndexOf('=');
                sb.Append(eq >= 0 && IsSecretPair(pair) ? pair.Substring(0, eq) + "=***" : pair);
            }
            return sb.ToString();
        }

        /// <summary>True for a query parameter (<c>name=value</c>, or a bare name) whose name, unescaped, is a secret's.</summary>
        public static bool IsSecretPair(string pair)
        {
            var eq = pair.IndexOf('=');
            return IsSecretName(Uri.UnescapeDataString(eq < 0 ? pair : pair.Substring(0, eq)));
        }
    }
}
