using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace BackupTools.Simulator;

/// <summary>
/// Control routes under <c>/_sim/</c> (no auth, loopback callers only) for demos and out-of-process tests:
/// counters, faults, reset, options and the request log.
/// </summary>
internal static class ControlApi
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Map(WebApplication app, SimState state)
    {
        var g = app.MapGroup("/_sim");
        g.MapMethods("/counters", new[] { "GET" }, ctx => Guarded(ctx, () => Reply(ctx, 200, new
        {
            totalRequests = state.Counters.TotalRequests,
            totalCreates = state.Counters.TotalCreates,
            totalStatusReads = state.Counters.TotalStatusReads,
            jobs = state.Jobs.Count,
            faults = state.Faults.Count,
            creates = state.Counters.CreatesTable(),
            backups = state.Counters.BackupsTable(),
            statusReads = state.Counters.StatusReadsTable(),
        })));
        g.MapMethods("/faults", new[] { "POST" }, ctx => Guarded(ctx, async () =>
        {
            var dto = await ReadAsync<FaultDto>(ctx);
            if (dto == null) { await Reply(ctx, 400, new { error = "Body must be a FaultRule as JSON." }); return; }
            var rule = dto.ToRule();
            state.Faults.Add(rule);
            await Reply(ctx, 200, new { added = rule, active = state.Faults.Count });
        }));
        g.MapMethods("/faults", new[] { "DELETE" }, ctx => Guarded(ctx, () =>
        {
            state.Faults.Clear();
            return Reply(ctx, 200, new { active = 0 });
        }));
        g.MapMethods("/reset", new[] { "POST" }, ctx => Guarded(ctx, () =>
        {
            state.Reset();
            return Reply(ctx, 200, new { reset = true });
        }));
        g.MapMethods("/options", new[] { "GET" }, ctx => Guarded(ctx, () => Reply(ctx, 200, OptionsView(state.Options))));
        g.MapMethods("/options", new[] { "POST" }, ctx => Guarded(ctx, async () =>
        {
            var dto = await ReadAsync<OptionsDto>(ctx);
            if (dto == null) { await Reply(ctx, 400, new { error = "Body must be JSON options, e.g. {\"jobDurationMs\":500}." }); return; }
            dto.ApplyTo(state.Options);
            await Reply(ctx, 200, OptionsView(state.Options));
        }));
        g.MapMethods("/requests", new[] { "GET" }, ctx => Guarded(ctx, () =>
        {
            var last = int.TryParse(ctx.Request.Query["last"], out var n) && n > 0 ? n : 100;
            var log = state.Counters.Requests;
            return Reply(ctx, 200, log.Skip(Math.Max(0, log.Count - last)));
        }));
    }

    private static async Task Guarded(HttpContext ctx, Func<Task> action)
    {
        var remote = ctx.Connection.RemoteIpAddress;
        if (remote != null && !System.Net.IPAddress.IsLoopback(remote))
        {
            await Reply(ctx, 403, new { error = "The control API answers loopback callers only." });
            return;
        }
        await action();
    }

    private static async Task<T> ReadAsync<T>(HttpContext ctx) where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(ctx.Request.Body, Json, ctx.RequestAborted);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async Task Reply(HttpContext ctx, int status, object body)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        await ctx.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(body, Json)), ctx.RequestAborted);
    }

    private static object OptionsView(SimulatorOptions o)
    {
        string[] tokens, failing;
        lock (o.Tokens) tokens = o.Tokens.ToArray();
        lock (o.FailingInstances) failing = o.FailingInstances.ToArray();
        return new
        {
            jobDurationMs = (long)o.JobDuration.TotalMilliseconds,
            notFoundWindowMs = (long)o.NotFoundWindow.TotalMilliseconds,
            tokenLifetimeMs = o.TokenLifetime is TimeSpan t ? (long?)t.TotalMilliseconds : null,
            o.FailNamePrefix,
            o.UnknownStatusNamePrefix,
            o.ReportProgress,
            o.ArcGisUseJobsProperty,
            o.ArcGisFailureInMessages,
            o.ArcGis109,
            o.StatusUrlAuthority,
            o.DataverseUsePascalCase,
            dataverseListDelayMs = (long)o.DataverseListDelay.TotalMilliseconds,
            o.CloudFoundryInProgressAs422,
            o.HuaweiClaimsInstances,
            tokens,
            failingInstances = failing,
        };
    }

    /// <summary>A FaultRule as JSON: the rule's properties (camelCase or PascalCase), Delay as "hh:mm:ss" or delayMs, Kind by name or number.</summary>
    private sealed class FaultDto
    {
        public string Provider { get; set; }
        public string Method { get; set; }
        public string PathContains { get; set; }
        public int? Times { get; set; }
        public int? StatusCode { get; set; }
        public string Body { get; set; }
        public string ContentType { get; set; }
        public string RetryAfter { get; set; }
        public string Location { get; set; }
        public string OperationLocation { get; set; }
        public Dictionary<string, string> Headers { get; set; }
        public TimeSpan? Delay { get; set; }
        public double? DelayMs { get; set; }
        public FaultKind? Kind { get; set; }

        public FaultRule ToRule()
        {
            var rule = new FaultRule
            {
                Provider = Provider,
                Method = Method,
                PathContains = PathContains,
                StatusCode = StatusCode,
                Body = Body,
                RetryAfter = RetryAfter,
                Location = Location,
                OperationLocation = OperationLocation,
                Headers = Headers,
                Delay = DelayMs is double ms ? TimeSpan.FromMilliseconds(ms) : Delay ?? TimeSpan.Zero,
                Kind = Kind ?? FaultKind.Status,
            };
            if (Times is int times) rule.Times = times;
            if (ContentType != null) rule.ContentType = ContentType;
            return rule;
        }
    }

    /// <summary>Options that can be changed over HTTP; absent properties stay as they are.</summary>
    private sealed class OptionsDto
    {
        public double? JobDurationMs { get; set; }
        public double? NotFoundWindowMs { get; set; }
        public double? TokenLifetimeMs { get; set; }
        public bool? TokensNeverExpire { get; set; }
        public string FailNamePrefix { get; set; }
        public string UnknownStatusNamePrefix { get; set; }
        public bool? ReportProgress { get; set; }
        public bool? ArcGisUseJobsProperty { get; set; }
        public bool? ArcGisFailureInMessages { get; set; }
        public bool? ArcGis109 { get; set; }
        /// <summary>"host:port" the creates answer their status addresses on; "" for the address the request came to.</summary>
        public string StatusUrlAuthority { get; set; }
        public bool? DataverseUsePascalCase { get; set; }
        public double? DataverseListDelayMs { get; set; }
        public bool? CloudFoundryInProgressAs422 { get; set; }
        public bool? HuaweiClaimsInstances { get; set; }
        public string[] Tokens { get; set; }
        public string[] FailingInstances { get; set; }

        public void ApplyTo(SimulatorOptions o)
        {
            if (JobDurationMs is double d) o.JobDuration = TimeSpan.FromMilliseconds(d);
            if (NotFoundWindowMs is double n) o.NotFoundWindow = TimeSpan.FromMilliseconds(n);
            if (TokenLifetimeMs is double t) o.TokenLifetime = TimeSpan.FromMilliseconds(t);
            if (TokensNeverExpire == true) o.TokenLifetime = null;
            if (FailNamePrefix != null) o.FailNamePrefix = FailNamePrefix;
            if (UnknownStatusNamePrefix != null) o.UnknownStatusNamePrefix = UnknownStatusNamePrefix;
            if (ReportProgress is bool p) o.ReportProgress = p;
            if (ArcGisUseJobsProperty is bool j) o.ArcGisUseJobsProperty = j;
            if (ArcGisFailureInMessages is bool fm) o.ArcGisFailureInMessages = fm;
            if (ArcGis109 is bool a9) o.ArcGis109 = a9;
            if (StatusUrlAuthority != null) o.StatusUrlAuthority = StatusUrlAuthority.Length == 0 ? null : StatusUrlAuthority;
            if (DataverseUsePascalCase is bool c) o.DataverseUsePascalCase = c;
            if (DataverseListDelayMs is double ld) o.DataverseListDelay = TimeSpan.FromMilliseconds(ld);
            if (CloudFoundryInProgressAs422 is bool cf) o.CloudFoundryInProgressAs422 = cf;
            if (HuaweiClaimsInstances is bool hc) o.HuaweiClaimsInstances = hc;
            if (Tokens != null) lock (o.Tokens) o.Tokens.UnionWith(Tokens);
            if (FailingInstances != null)
                lock (o.FailingInstances)
                {
                    o.FailingInstances.Clear();
                    o.FailingInstances.UnionWith(FailingInstances);
                }
        }
    }
}
