using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Security.Cryptography;
using System.Text;

namespace BackupTools
{
    /// <summary>
    /// Huawei Cloud's <c>SDK-HMAC-SHA256</c> request signature, as shared/api/taurusdb.md gives it (and Huawei's own SDKs
    /// compute it): canonical request → SHA-256 → string to sign → HMAC-SHA256 with the secret key.
    /// </summary>
    internal static class AkSkSigner
    {
        public const string Algorithm = "SDK-HMAC-SHA256";
        public const string DateFormat = "yyyyMMdd'T'HHmmss'Z'";

        /// <summary>The <c>X-Sdk-Date</c> value for a moment.</summary>
        public static string FormatDate(DateTimeOffset at) => at.UtcDateTime.ToString(DateFormat, CultureInfo.InvariantCulture);

        /// <summary>Each path segment encoded; always ends with '/'.</summary>
        public static string CanonicalUri(Uri uri)
        {
            var segments = uri.AbsolutePath.Split('/').Select(s => Encode(Uri.UnescapeDataString(s)));
            var path = string.Join("/", segments);
            return path.EndsWith("/", StringComparison.Ordinal) ? path : path + "/";
        }

        /// <summary>Encoded keys and values, sorted ordinally by key then value, joined by '&amp;'.</summary>
        public static string CanonicalQuery(Uri uri)
        {
            var query = uri.Query;
            if (string.IsNullOrEmpty(query) || query == "?") return string.Empty;
            var pairs = query.TrimStart('?').Split(new[] { '&' }, StringSplitOptions.RemoveEmptyEntries).Select(p =>
            {
                var eq = p.IndexOf('=');
                var key = Uri.UnescapeDataString((eq < 0 ? p : p.Substring(0, eq)).Replace('+', ' '));
                var value = eq < 0 ? string.Empty : Uri.UnescapeDataString(p.Substring(eq + 1).Replace('+', ' '));
                return (Key: Encode(key), Value: Encode(value));
            });
            return string.Join("&", pairs.OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
                .Select(p => p.Key + "=" + p.Value));
        }

        /// <summary>The canonical request for the signed headers (names in any case; the values as sent).</summary>
        public static string CanonicalRequest(string method, Uri uri, IEnumerable<KeyValuePair<string, string>> signedHeaders, byte[] body,
            out string signedHeaderNames)
        {
            var headers = signedHeaders.Select(h => (Name: h.Key.ToLowerInvariant(), Value: (h.Value ?? string.Empty).Trim()))
                .OrderBy(h => h.Name, StringComparer.Ordinal).ToList();
            signedHeaderNames = string.Join(";", headers.Select(h => h.Name));
            var sb = new StringBuilder();
            sb.Append(method.ToUpperInvariant()).Append('\n');
            sb.Append(CanonicalUri(uri)).Append('\n');
            sb.Append(CanonicalQuery(uri)).Append('\n');
            foreach (var h in headers) sb.Append(h.Name).Append(':').Append(h.Value).Append('\n');
            sb.Append('\n');
            sb.Append(signedHeaderNames).Append('\n');
            sb.Append(HexSha256(body ?? Array.Empty<byte>()));
            return sb.ToString();
        }

        public static string StringToSign(string sdkDate, string canonicalRequest) =>
            Algorithm + "\n" + sdkDate + "\n" + HexSha256(Encoding.UTF8.GetBytes(canonicalRequest));

        public static string Signature(string secretKey, string stringToSign)
        {
            using (var hmac = new HMACSHA256(Encoding.UTF8.GetBytes(secretKey)))
                return Hex(hmac.ComputeHash(Encoding.UTF8.GetBytes(stringToSign)));
        }

        /// <summary>The Authorization header value.</summary>
        public static string Authorization(string accessKey, string signedHeaderNames, string signature) =>
            $"{Algorithm} Access={accessKey}, SignedHeaders={signedHeaderNames}, Signature={signature}";

        /// <summary>RFC 3986: unreserved characters as they are, everything else as UTF-8 %XX (upper case).</summary>
        public static string Encode(string value)
        {
            var sb = new StringBuilder();
            foreach (var b in Encoding.UTF8.GetBytes(value ?? string.Empty))
            {
                var c = (char)b;
                if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~')
                    sb.Append(c);
                else
                    sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
            return sb.ToString();
        }

        /// <remarks>
        /// IncrementalHash, not SHA256.Create(): on .NET Framework that is SHA256Managed, which a Windows machine with the
        /// FIPS policy on refuses ("not part of the Windows Platform FIPS validated cryptographic algorithms"), so every
        /// signed request failed there; IncrementalHash uses the platform's validated implementation.
        /// </remarks>
        public static string HexSha256(byte[] data)
        {
            using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                sha.AppendData(data);
                return Hex(sha.GetHashAndReset());
            }
        }

        private static string Hex(byte[] bytes)
        {
            var sb = new StringBuilder(bytes.Length * 2);
            foreach (var b in bytes) sb.Append(b.ToString("x2", CultureInfo.InvariantCulture));
            return sb.ToString();
        }
    }
}
