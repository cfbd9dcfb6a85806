using Microsoft.AspNetCore.WebUtilities;

namespace BackupTools.Simulator.Services;

/// <summary>
/// Cloud Foundry v3 (Tanzu backup extension): <c>POST /v3/service_instances/{guid}/backups</c> → 202 + <c>Location</c>
/// of <c>/v3/jobs/{guid}</c>; <c>GET /</c> links; rate-limit headers; UAA <c>POST uaa/oauth/token</c>.
/// See shared/api/cloudfoundry.md.
/// </summary>
internal sealed class CloudFoundryApi : SimService
{
    private const int RateLimit = 20000;
    private long _rateWindow;
    private int _rateCount;

    public CloudFoundryApi(SimState state) : base(state) { }

    public override string Name => ProviderNames.CloudFoundry;
    public override string Prefix => "cf";

    public override void Map(IEndpointRouteBuilder r)
    {
        Get(r, "/", RootAsync);
        Post(r, "/v3/service_instances/{guid}/backups", CreateAsync);
        Get(r, "/v3/service_instances/{guid}/backups", ListAsync);
        Get(r, "/v3/jobs/{guid}", JobAsync);
        Post(r, "/uaa/oauth/token", TokenAsync);
    }

    public override string ErrorBody(int status, string path)
    {
        var (code, title, detail) = status switch
        {
            400 => (1001, "CF-MessageParseError", "Request invalid due to parse error"),
            401 => (1000, "CF-InvalidAuthToken", "Invalid Auth Token"),
            403 => (10003, "CF-NotAuthorized", "You are not authorized to perform the requested action"),
            404 => (10010, "CF-ResourceNotFound", "Resource not found"),
            409 => (60016, "CF-AsyncServiceInstanceOperationInProgress", "An operation for the service instance is in progress."),
            422 => (10008, "CF-UnprocessableEntity", "The request is semantically invalid"),
            429 => (10013, "CF-RateLimitExceeded", "Rate Limit Exceeded"),
            502 => (10001, "CF-ServiceBrokerBadResponse", "The service broker returned an invalid response"),
            503 => (10015, "CF-ServiceUnavailable", "Service unavailable"),
            _ => (10001, "CF-UnknownError", $"An unknown error occurred ({status})."),
        };
        return Serialize(Errors(code, title, detail));
    }

    /// <summary>X-RateLimit-* on every answer: 20000 requests per hour, counted, never enforced (use faults for 429).</summary>
    public override void OnRequest(HttpContext ctx)
    {
        var window = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 3600;
        var seen = Interlocked.Read(ref _rateWindow);
        if (seen != window && Interlocked.CompareExchange(ref _rateWindow, window, seen) == seen) Interlocked.Exchange(ref _rateCount, 0);
        var used = Interlocked.Increment(ref _rateCount);
        var headers = ctx.Response.Headers;
        headers["X-RateLimit-Limit"] = RateLimit.ToString();
        headers["X-RateLimit-Remaining"] = Math.Max(0, RateLimit - used).ToString();
        headers["X-RateLimit-Reset"] = ((window + 1) * 3600).ToString();
    }

    /// <summary>
    /// An injected 429 is the limiter's: the window is spent (<c>X-RateLimit-Remaining: 0</c>) until its reset, as
    /// cloudfoundry.md describes; a fault's own <see cref="FaultRule.Headers"/> (an earlier <c>X-RateLimit-Reset</c>) win.
    /// </summary>
    public override void OnFaultAnswer(HttpContext ctx, int status)
    {
        if (status == 429) ctx.Response.Headers["X-RateLimit-Remaining"] = "0";
    }

    private static object Errors(int code, string title, string detail) => new { errors = new[] { new { code, title, detail } } };

    private async Task<bool> AuthorizeAsync(HttpContext ctx)
    {
        var check = State.Tokens.Check(BearerToken(ctx));
        if (check == TokenCheck.Valid) return true;
        await Json(ctx, 401, check == TokenCheck.Missing
            ? Errors(10002, "CF-NotAuthenticated", "Authentication error")
            : Errors(1000, "CF-InvalidAuthToken", "Invalid Auth Token"));
        return false;
    }

    private Task RootAsync(HttpContext ctx)
    {
        var root = Root(ctx);
        return Json(ctx, 200, new
        {
            links = new
            {
                self = new { href = root.TrimEnd('/') },
                cloud_controller_v3 = new { href = root + "v3", meta = new { version = "3.180.0" } },
                uaa = new { href = root + "uaa" },
                login = new { href = root + "uaa" },
            },
        });
    }

    private async Task CreateAsync(HttpContext ctx)
    {
        if (!await AuthorizeAsync(ctx)) return;
        var guid = Route(ctx, "guid");
        Counters.CountCreate(Name, guid);
        if (!Guid.TryParseExact(guid, "D", out _))
        {
            await Json(ctx, 404, Errors(10010, "CF-ResourceNotFound", "Service instance not found"));
            return;
        }
        var job = Jobs.NewJob(Options, Name, Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), null, guid, null, null);
        if (!Jobs.TryClaimInstance(job, out _))
        {
            // v3's answer is 422 (cloud_controller_ng's operation_in_progress!); the 409 shape is the older one.
            await (Options.CloudFoundryInProgressAs422
                ? Json(ctx, 422, Errors(10008, "CF-UnprocessableEntity", "There is an operation in progress for the service instance."))
                : Json(ctx, 409, Errors(60016, "CF-AsyncServiceInstanceOperationInProgress", $"An operation for service instance {guid} is in progress.")));
            return;
        }
        Jobs.Add(job);
        Counters.CountBackup(Name, guid);
        ctx.Response.Headers.Location = AsAnswered(JobUrl(ctx, job));
        await Empty(ctx, 202);
    }

    private async Task JobAsync(HttpContext ctx)
    {
        if (!await AuthorizeAsync(ctx)) return;
        var id = Route(ctx, "guid");
        Counters.CountStatusRead(Name, id);
        var job = Jobs.Find(Name, id);
        if (job == null)
        {
            await Json(ctx, 404, Errors(10010, "CF-ResourceNotFound", "Job not found"));
            return;
        }
        var elapsed = job.Elapsed;
        var phase = job.PhaseAt(elapsed);
        await Json(ctx, 200, new
        {
            guid = job.JobId,
            created_at = IsoUtc(job.CreatedAt),
            updated_at = IsoUtc(job.UpdatedAt(elapsed)),
            operation = "service_instance.backup",
            state = phase switch
            {
                JobPhase.Pending => "PROCESSING",
                JobPhase.Running => "POLLING",
                JobPhase.Succeeded => "COMPLETE",
                _ => "FAILED",
            },
            errors = phase == JobPhase.Failed
                ? new object[] { new { code = 10009, title = "CF-UnableToPerform", detail = $"backup of service instance {job.InstanceId} failed: simulated broker failure" } }
                : Array.Empty<object>(),
            warnings = Array.Empty<object>(),
            links = new
            {
                self = new { href = JobUrl(ctx, job) },
                service_instances = new { href = $"{Root(ctx)}v3/service_instances/{job.InstanceId}" },
            },
        });
    }

    /// <summary>Backups of an instance: only <c>{id, created_at}</c>, and only finished ones.</summary>
    private async Task ListAsync(HttpContext ctx)
    {
        if (!await AuthorizeAsync(ctx)) return;
        var guid = Route(ctx, "guid");
        var backups = Jobs.Backups(Name, j => string.Equals(j.InstanceId, guid, StringComparison.OrdinalIgnoreCase) && j.PhaseAt(j.Elapsed) == JobPhase.Succeeded);
        var self = $"{Root(ctx)}v3/service_instances/{guid}/backups";
        await Json(ctx, 200, new
        {
            pagination = new { total_results = backups.Count, total_pages = 1, first = new { href = self }, last = new { href = self }, next = (object)null, previous = (object)null },
            resources = backups.Select(j => new { id = j.BackupId, created_at = IsoUtc(j.EndsAt) }),
        });
    }

    /// <summary>UAA: client_credentials (client id/secret by form or Basic) and password grants.</summary>
    private async Task TokenAsync(HttpContext ctx)
    {
        var form = QueryHelpers.ParseQuery(Body(ctx));
        string F(string name) => form.TryGetValue(name, out var v) && v.Count > 0 ? v[0] : null;
        // As UAA with its encoding compatibility mode on (Tanzu's default): the Basic values are percent-decoded
        // (RFC 6749 2.3.1) only when the client says it encoded them; otherwise they are compared as sent.
        var (basicId, basicSecret) = BasicCredentials(ctx, unescape: "true".Equals(ctx.Request.Headers["X-CF-ENCODED-CREDENTIALS"].ToString(), StringComparison.OrdinalIgnoreCase));
        string clientId = basicId ?? F("client_id"), secret = basicSecret ?? F("client_secret") ?? string.Empty;
        var grant = F("grant_type");
        bool ok;
        switch (grant)
        {
            case "client_credentials":
                ok = clientId == Options.ClientId && secret == Options.ClientSecret;
                break;
            case "password":
                ok = clientId == "cf" && F("username") == Options.UserName && F("password") == Options.Password;
                break;
            default:
                await Json(ctx, 400, new { error = "unsupported_grant_type", error_description = $"Unsupported grant type: {grant}" });
                return;
        }
        if (!ok)
        {
            await Json(ctx, 401, new { error = "unauthorized", error_description = "Bad credentials" });
            return;
        }
        var token = State.Tokens.Issue("sim-uaa-", out var expires);
        var seconds = expires is DateTimeOffset e ? (long)Math.Max(0, (e - DateTimeOffset.UtcNow).TotalSeconds) : 43199;
        await Json(ctx, 200, new
        {
            access_token = token,
            token_type = "bearer",
            expires_in = seconds,
            scope = "cloud_controller.read cloud_controller.write",
            jti = NewHex(),
        });
    }

    private string JobUrl(HttpContext ctx, SimJob job) => $"{Root(ctx)}v3/jobs/{job.JobId}";
}
