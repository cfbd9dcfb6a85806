using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace BackupTools.Http
{
    /// <summary>Masks secrets in anything that may be shown: query parameters and form fields named like a secret.</summary>
    internal static class Redact
    {
        // Compared after Normalize: lower case, without '-', '_', '.' and a trailing "[]" (token[], X-Amz-Signature, api_key).
        private static readonly string[] SecretNames =
        {
            "token", "accesstoken", "refreshtoken", "idtoken", "authtoken", "sessiontoken", "securitytoken", "xsecuritytoken",
            "xamzsecuritytoken", "passcode", "password", "passwd", "pwd", "clientsecret", "secret", "sk", "key", "apikey",
            "signature", "sig", "xamzsignature", "xgoogsignature", "authorization",
        };

        // Names ending so are secrets whatever comes before (adminpassword, appsecret, x-api-key, useraccesstoken).
        private static readonly string[] SecretEndings = { "password", "secret", "apikey", "accesstoken", "authtoken" };

        public static bool IsSecretName(string name)
        {
            var n = Normalize(name);
            return SecretNames.Contains(n, StringComparer.Ordinal) || SecretEndings.Any(e => n.EndsWith(e, StringComparison.Ordinal));
        }

        private static string Normalize(string name)
        {
            var n = (name ?? string.Empty).Trim();
            if (n.EndsWith("[]", StringComparison.Ordinal)) n = n.Substring(0, n.Length - 2);
            var sb = new StringBuilder(n.Length);
            foreach (var c in n)
                if (c != '-' && c != '_' && c != '.') sb.Append(char.ToLowerInvariant(c));
            return sb.ToString();
        }

        public static string Url(Uri uri)
        {
            if (uri == null) return string.Empty;
            var text = uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
            var query = uri.IsAbsoluteUri ? uri.Query : string.Empty;
            if (string.IsNullOrEmpty(query) || query == "?") return text;
            return text + "?" + Query(query.TrimStart('?'));
        }

        /// <summary>
        /// Text a service gave as an address that could not be read as one, as it may be quoted: what follows its first
        /// '?' masked as a query (<see cref="Query"/>). Redacting the whole text made its scheme, host and path the first
        /// pair's name, so the <c>token=</c> right after the '?' was not masked.
        /// </summary>
        public static string Unparsed(string text)
        {
            var q = string.IsNullOrEmpty(text) ? -1 : text.IndexOf('?');
            return q < 0 ? text : text.Substring(0, q + 1) + Query(text.Substring(q + 1));
        }

        /// <summary>A query string with the value of every parameter named like a secret masked; separators (<c>&amp;</c> or <c>;</c>) kept.</summary>
        public static string Query(string query) =>
            Rewrite(query, pair =>
            {
                var eq = pair.IndexOf('=');
                return eq >= 0 && IsSecretPair(pair) ? pair.Substring(0, eq) + "=***" : pair;
            });

        /// <summary>
        /// A query string rebuilt pair by pair: <paramref name="map"/> gives each pair's text, or null to leave it out (with
        /// its separator). Pairs are split at <c>&amp;</c> and at <c>;</c> (which many servers also read as a separator), and
        /// the separators of the pairs kept are the ones they had.
        /// </summary>
        public static string Rewrite(string query, Func<string, string> map)
        {
            var sb = new StringBuilder(query.Length);
            var start = 0;
            var separator = '&';
            for (var i = 0; i <= query.Length; i++)
            {
                if (i < query.Length && query[i] != '&' && query[i] != ';') continue;
                var text = map(query.Substring(start, i - start));
                if (text != null)
                {
                    if (sb.Length > 0) sb.Append(separator);
                    sb.Append(text);
                }
                if (i < query.Length) separator = query[i];
                start = i + 1;
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
