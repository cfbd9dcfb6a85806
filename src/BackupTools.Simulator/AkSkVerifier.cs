using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace BackupTools.Simulator;

/// <summary>
/// Checks Huawei Cloud's SDK-HMAC-SHA256 signature the way the API gateway does (shared/api/taurusdb.md), written
/// apart from the client's signer so that the two check each other: canonical request (method, canonical URI with
/// each segment encoded and a final '/', sorted encoded query, the signed headers as <c>name:value\n</c>, the signed
/// header names, hex SHA-256 of the body) → string to sign → HMAC-SHA256 with the secret key. The date must be within
/// 15 minutes of now.
/// </summary>
internal static class AkSkVerifier
{
    public const string Algorithm = "SDK-HMAC-SHA256";

    /// <summary>The <c>Access</c> field (the AK) of an SDK-HMAC-SHA256 Authorization header; null when it has none.</summary>
    public static string AccessKeyOf(HttpContext ctx) => Fields(ctx).TryGetValue("Access", out var ak) ? ak : null;

    private static Dictionary<string, string> Fields(HttpContext ctx)
    {
        string authorization = ctx.Request.Headers.Authorization;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in authorization![(Algorithm.Length + 1)..].Split(',').Select(f => f.Trim().Split('=', 2)).Where(kv => kv.Length == 2))
            fields[kv[0]] = kv[1];
        return fields;
    }

    public static bool Verify(HttpContext ctx, string body, Func<string, string> secretKeyOf)
    {
        var fields = Fields(ctx);
        if (!fields.TryGetValue("Access", out var ak) || !fields.TryGetValue("SignedHeaders", out var signedHeaders) ||
            !fields.TryGetValue("Signature", out var signature)) return false;
        var sk = secretKeyOf(ak);
        if (sk == null) return false;
        string date = ctx.Request.Headers["X-Sdk-Date"];
        if (!DateTime.TryParseExact(date, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at) ||
            Math.Abs((DateTime.UtcNow - at).TotalMinutes) > 15) return false;
        var names = signedHeaders.Split(';');
        if (!names.Contains("host") || !names.Contains("x-sdk-date")) return false;

        var canonical = new StringBuilder();
        canonical.Append(ctx.Request.Method.ToUpperInvariant()).Append('\n');
        var path = string.Join("/", (ctx.Request.PathBase + ctx.Request.Path).Value!.Split('/').Select(Encode));
        canonical.Append(path.EndsWith('/') ? path : path + "/").Append('\n');
        canonical.Append(string.Join("&", ctx.Request.Query
            .SelectMany(q => q.Value.Select(v => (Key: Encode(q.Key), Value: Encode(v ?? ""))))
            .OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => p.Key + "=" + p.Value))).Append('\n');
        foreach (var name in names.OrderBy(n => n, StringComparer.Ordinal))
        {
            string value = name == "host" ? ctx.Request.Host.Value : ctx.Request.Headers[name];
            if (value == null) return false;
            canonical.Append(name).Append(':').Append(value.Trim()).Append('\n');
        }
        canonical.Append('\n');
        canonical.Append(string.Join(";", names.OrderBy(n => n, StringComparer.Ordinal))).Append('\n');
        canonical.Append(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body ?? ""))));

        var toSign = $"{Algorithm}\n{date}\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())))}";
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(sk), Encoding.UTF8.GetBytes(toSign)));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature));
    }

    private static string Encode(string s) =>
        string.Concat(Encoding.UTF8.GetBytes(s).Select(b =>
            (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-' || b == '_' || b == '.' || b == '~'
                ? ((char)b).ToString() : "%" + b.ToString("X2", CultureInfo.InvariantCulture)));
}
