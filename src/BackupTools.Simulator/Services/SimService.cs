using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;

namespace BackupTools.Simulator.Services;

/// <summary>
/// Base of the five service simulations: routes below one URL prefix, the service's own error shape (used for faults
/// and unknown routes) and the helpers every service uses (JSON answers, tokens, absolute URLs).
/// </summary>
internal abstract class SimService
{
    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    protected SimService(SimState state) => State = state;

    protected SimState State { get; }
    protected SimulatorOptions Options => State.Options;
    protected SimJobStore Jobs => State.Jobs;
    protected SimulatorCounters Counters => State.Counters;

    /// <summary>Canonical provider name.</summary>
    public abstract string Name { get; }

    /// <summary>URL prefix without slashes, e.g. "taurusdb".</summary>
    public abstract string Prefix { get; }

    /// <summary>Maps the service's routes on a group rooted at its prefix.</summary>
    public abstract void Map(IEndpointRouteBuilder routes);

    /// <summary>The service's own error body for a status (faults without a body, unknown routes, handler crashes).</summary>
    public abstract string ErrorBody(int status, string path);

    /// <summary>Content type of <see cref="ErrorBody"/>.</summary>
    public virtual string ErrorContentType => "application/json";

    /// <summary>Answers a path below the prefix that no route matches.</summary>
    public virtual Task UnknownRouteAsync(HttpContext ctx, string path) => Raw(ctx, 404, ErrorContentType, ErrorBody(404, path));

    /// <summary>Runs before faults and handlers for every request of this service (e.g. rate-limit headers).</summary>
    public virtual void OnRequest(HttpContext ctx) { }

    /// <summary>An injected fault answers this status instead of the handler: headers the service sends with it (Cloud Foundry's spent rate-limit window on a 429).</summary>
    public virtual void OnFaultAnswer(HttpContext ctx, int status) { }

    // ---- routing ----

    protected static void Get(IEndpointRouteBuilder r, string pattern, RequestDelegate handler) => r.MapMethods(pattern, new[] { "GET" }, handler);

    protected static void Post(IEndpointRouteBuilder r, string pattern, RequestDelegate handler) => r.MapMethods(pattern, new[] { "POST" }, handler);

    protected static string Route(HttpContext ctx, string name) => ctx.Request.RouteValues[name] as string;

    protected static string Query(HttpContext ctx, string name) =>
        ctx.Request.Query.TryGetValue(name, out var v) && v.Count > 0 ? v[0] : null;

    /// <summary>Absolute URL of this service's root as the client addressed it, ending with '/'.</summary>
    protected string Root(HttpContext ctx) => $"{ctx.Request.Scheme}://{ctx.Request.Host}/{Prefix}/";

    /// <summary>A job's status address as a create answers it: on <see cref="SimulatorOptions.StatusUrlAuthority"/> when set.</summary>
    protected string AsAnswered(string statusUrl)
    {
        var authority = Options.StatusUrlAuthority;
        if (string.IsNullOrEmpty(authority)) return statusUrl;
        var parts = authority.Split(':');
        return new UriBuilder(statusUrl)
        {
            Host = parts[0],
            Port = parts.Length > 1 ? int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) : -1,
        }.Uri.ToString();
    }

    // ---- request ----

    /// <summary>The request body the middleware read.</summary>
    protected static string Body(HttpContext ctx) => ctx.Features.Get<SimCall>()?.Body ?? string.Empty;

    protected static JsonElement? ParseJson(string body)
    {
        if (string.IsNullOrWhiteSpace(body)) return null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A property of a JSON object (exact name, or any casing when <paramref name="ignoreCase"/>); null when absent.</summary>
    protected static JsonElement? Prop(JsonElement? obj, string name, bool ignoreCase = false)
    {
        if (obj is not JsonElement o || o.ValueKind != JsonValueKind.Object) return null;
        foreach (var p in o.EnumerateObject())
            if (string.Equals(p.Name, name, ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
                return p.Value;
        return null;
    }

    /// <summary>A string property (numbers and booleans as their text); null when absent or null.</summary>
    protected static string Str(JsonElement? obj, string name, bool ignoreCase = false) => Prop(obj, name, ignoreCase) switch
    {
        JsonElement { ValueKind: JsonValueKind.String } s => s.GetString(),
        JsonElement { ValueKind: JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False } v => v.GetRawText(),
        _ => null,
    };

    /// <summary>The token of <c>Authorization: Bearer ...</c> (scheme case-insensitive), or null.</summary>
    protected static string BearerToken(HttpContext ctx, string header = "Authorization")
    {
        string value = ctx.Request.Headers[header];
        if (value == null || !value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return null;
        return value[7..].Trim();
    }

    /// <summary>user:password of <c>Authorization: Basic ...</c>, or nulls; percent-decoded when <paramref name="unescape"/>.</summary>
    protected static (string User, string Password) BasicCredentials(HttpContext ctx, bool unescape = true)
    {
        if (!AuthenticationHeaderValue.TryParse(ctx.Request.Headers.Authorization, out var h) ||
            !"Basic".Equals(h.Scheme, StringComparison.OrdinalIgnoreCase) || h.Parameter == null) return (null, null);
        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(h.Parameter));
            var cut = text.IndexOf(':');
            string U(string v) => unescape ? Uri.UnescapeDataString(v) : v;
            return cut < 0 ? (text, string.Empty) : (U(text[..cut]), U(text[(cut + 1)..]));
        }
        catch (FormatException)
        {
            return (null, null);
        }
    }

    // ---- answers ----

    protected static string Serialize(object value) => JsonSerializer.Serialize(value, JsonOptions);

    protected static Task Json(HttpContext ctx, int status, object value) => Raw(ctx, status, "application/json; charset=utf-8", Serialize(value));

    public static async Task Raw(HttpContext ctx, int status, string contentType, string body)
    {
        ctx.Response.StatusCode = status;
        var bytes = Encoding.UTF8.GetBytes(body ?? string.Empty);
        if (status == 204 || status == 304) return;
        if (contentType != null) ctx.Response.ContentType = contentType;
        ctx.Response.ContentLength = bytes.Length;
        if (bytes.Length > 0) await ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted);
    }

    /// <summary>An answer without a body (e.g. CF's 202).</summary>
    protected static Task Empty(HttpContext ctx, int status)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentLength = 0;
        return Task.CompletedTask;
    }

    // ---- values ----

    protected static string NewHex() => Guid.NewGuid().ToString("N");

    protected static long EpochMs(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    /// <summary>ISO 8601 UTC with a 'Z', e.g. 2026-11-23T07:20:01Z.</summary>
    protected static string IsoUtc(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    protected static string Reason(int status) => ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } r ? r : "Error";
}

/// <summary>Per-request data the middleware hands to the handlers.</summary>
internal sealed class SimCall
{
    public SimService Service { get; init; }
    public string Path { get; init; }
    public string Body { get; set; } = string.Empty;
}
