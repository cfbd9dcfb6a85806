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

        /// <summary>
        /// Text with the user info of every address in it masked (<c>http://alice:secret@proxy:3128/</c> becomes
        /// <c>http://***@proxy:3128/</c>). .NET quotes the proxy's address with its user name and password in its own
        /// messages ("The proxy tunnel request to proxy 'http://alice:…@proxy:3128/' failed"), and PowerShell 7 builds
        /// that address from HTTPS_PROXY. The user info runs from the "://" to the last '@' before a space, a double
        /// quote or an angle bracket: a password written unescaped may hold '/', '?', '#', '\'' or '@', and masking too
        /// much of an address (a query holding an '@') shows less, never a secret. The text itself when it has none.
        /// </summary>
        public static string UserInfo(string text)
        {
            if (string.IsNullOrEmpty(text) || text.IndexOf('@') < 0) return text;
            StringBuilder sb = null;
            var copied = 0;
            for (var scheme = text.IndexOf("://", StringComparison.Ordinal); scheme >= 0; scheme = text.IndexOf("://", scheme, StringComparison.Ordinal))
            {
                var start = scheme + 3;
                var at = -1;
                var end = start;
                for (; end < text.Length && !EndsAddress(text[end]); end++)
                    if (text[end] == '@') at = end;
                // (an address masked already is left as it is: the text is then returned as it came)
                if (at > start && !(at - start == 3 && string.CompareOrdinal(text, start, "***", 0, 3) == 0))
                {
                    (sb ?? (sb = new StringBuilder(text.Length))).Append(text, copied, start - copied).Append("***");
                    copied = at;
                }
                scheme = end;
            }
            return sb == null ? text : sb.Append(text, copied, text.Length - copied).ToString();
        }

        private static bool EndsAddress(char c) => char.IsWhiteSpace(c) || c == '"' || c == '<' || c == '>';

        /// <summary>
        /// A failure as it may be shown or kept inside an error: <paramref name="ex"/> itself when no message in its
        /// chain holds an address's user info (<see cref="UserInfo"/>); otherwise a copy of the chain, each exception of
        /// the same type (an <see cref="System.Net.Http.HttpRequestException"/> with its HttpRequestError and status, a WebException with
        /// its status; else the nearest type with a (message, inner) constructor) with its message masked. The
        /// original, whose message holds the password, is then not reachable from the error; the copies have no stack
        /// trace, as they were never thrown.
        /// </summary>
        public static Exception Failure(Exception ex) => Failure(ex, 0);

        private static Exception Failure(Exception ex, int depth)
        {
            if (ex == null) return null;
            if (depth >= 16) return new Exception("(further inner exceptions left out)");
            if (ex is AggregateException all)
            {
                var inners = all.InnerExceptions.Select(e => Failure(e, depth + 1)).ToList();
                return inners.SequenceEqual(all.InnerExceptions) ? ex : new AggregateException(inners);
            }
            var inner = Failure(ex.InnerException, depth + 1);
            var message = ex.Message;
            var masked = UserInfo(message);
            if (ReferenceEquals(inner, ex.InnerException) && ReferenceEquals(masked, message)) return ex;
            return Copy(ex, masked, inner);
        }

        private static Exception Copy(Exception ex, string message, Exception inner)
        {
            switch (ex)
            {
                case System.Net.Http.HttpRequestException request: return HttpRequestFailure.Copy(request, message, inner);
                case System.Net.WebException web: return new System.Net.WebException(message, inner, web.Status, web.Response);
            }
            if (ex.GetType() == typeof(OperationCanceledException))
                return new OperationCanceledException(message, inner, ((OperationCanceledException)ex).CancellationToken);
            for (var type = ex.GetType(); type != null && type != typeof(Exception); type = type.BaseType)
            {
                var constructor = type.IsAbstract ? null : type.GetConstructor(new[] { typeof(string), typeof(Exception) });
                if (constructor == null) continue;
                try
                {
                    return (Exception)constructor.Invoke(new object[] { message, inner });
                }
                catch (System.Reflection.TargetInvocationException)
                {
                    // a constructor that refuses these arguments: the next type up
                }
            }
            return new Exception(message, inner);
        }

        /// <summary>True for a query parameter (<c>name=value</c>, or a bare name) whose name, unescaped, is a secret's.</summary>
        public static bool IsSecretPair(string pair)
        {
            var eq = pair.IndexOf('=');
            return IsSecretName(Uri.UnescapeDataString(eq < 0 ? pair : pair.Substring(0, eq)));
        }
    }
}
