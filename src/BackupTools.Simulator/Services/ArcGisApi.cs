using System.Net;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace BackupTools.Simulator.Services;

/// <summary>
/// ArcGIS Enterprise disaster-recovery backups (Enterprise Administrator API, root <c>{prefix}admin/</c>): form-encoded
/// create answering <c>{jobsUrl|jobs, jobid, status}</c>, jobs followed on <c>admin/jobs/{jobid}</c>, errors as HTTP 200
/// bodies, and <c>sharing/rest/generateToken</c>. Answers HTML unless <c>f=json</c>/<c>pjson</c>, as ArcGIS does.
/// See shared/api/arcgis.md.
/// </summary>
internal sealed class ArcGisApi : SimService
{
    private const string DefaultStore = "DefaultBackupStore";
    private static readonly string[] Stores = { DefaultStore, "secondary" };
    private static readonly string[] StageNames =
        { "Validate backup", "Back up configuration store", "Back up relational store", "Back up object store", "Finalize backup" };

    public ArcGisApi(SimState state) : base(state) { }

    // Tokens generateToken issued with client=referer, and their referer: valid only on requests naming it (498 otherwise).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _referers = new(StringComparer.Ordinal);

    public override string Name => ProviderNames.ArcGIS;
    public override string Prefix => "arcgis";

    public override void Map(IEndpointRouteBuilder r)
    {
        Post(r, "/sharing/rest/generateToken", GenerateTokenAsync);
        Get(r, "/admin/system/disasterrecovery/stores", StoresAsync);
        Get(r, "/admin/system/disasterrecovery/stores/{store}/backups", ListAsync);
        Post(r, "/admin/system/disasterrecovery/stores/{store}/backups/create", CreateAsync);
        Post(r, "/admin/system/disasterrecovery/backuprestore/backup", CreateAsync); // 10.9 path: the default store
        Get(r, "/admin/jobs/{jobid}", JobAsync);
        Post(r, "/admin/jobs/{jobid}", JobAsync);
        Get(r, "/admin/system/disasterrecovery/status", DrStatusAsync);
    }

    public override string ErrorBody(int status, string path) =>
        Serialize(new { error = new { code = status, message = Reason(status), details = Array.Empty<string>() } });

    /// <summary>ArcGIS answers even unknown resources with HTTP 200 and an error body.</summary>
    public override Task UnknownRouteAsync(HttpContext ctx, string path) =>
        AnswerAsync(ctx, Params(ctx), ErrorStatus(404, $"Could not find resource or operation '{path.TrimStart('/')}' on the system."));

    /// <summary>A route 10.9 does not have (<see cref="SimulatorOptions.ArcGis109"/>): answered as any unknown one.</summary>
    private Task AbsentAt109Async(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? string.Empty;
        if (path.StartsWith("/" + Prefix + "/", StringComparison.OrdinalIgnoreCase)) path = path[(Prefix.Length + 1)..];
        return UnknownRouteAsync(ctx, path);
    }

    // ---- request parameters, auth and answers ----

    /// <summary>Form fields (from the body) and query parameters; the form wins.</summary>
    private static Dictionary<string, StringValues> Params(HttpContext ctx)
    {
        var all = new Dictionary<string, StringValues>(StringComparer.OrdinalIgnoreCase);
        foreach (var (k, v) in ctx.Request.Query) all[k] = v;
        var body = Body(ctx);
        if (body.Length > 0 && !body.TrimStart().StartsWith('{'))
            foreach (var (k, v) in QueryHelpers.ParseQuery(body)) all[k] = v;
        return all;
    }

    private static string P(Dictionary<string, StringValues> p, string name) => p.TryGetValue(name, out var v) && v.Count > 0 ? v[0] : null;

    /// <summary>Null when the token is good; otherwise the error body to answer (HTTP 200, as ArcGIS does).</summary>
    private object TokenError(HttpContext ctx, Dictionary<string, StringValues> p)
    {
        var token = P(p, "token") ?? BearerToken(ctx) ?? BearerToken(ctx, "X-Esri-Authorization");
        var check = State.Tokens.Check(token);
        // A token bound to a referer is refused on a request that names another one, or none.
        if (check == TokenCheck.Valid && _referers.TryGetValue(token, out var bound) && !SameReferer(bound, ctx.Request.Headers.Referer.ToString()))
            check = TokenCheck.Invalid;
        return check switch
        {
            TokenCheck.Valid => null,
            TokenCheck.Missing => ErrorStatus(499, "Token Required."),
            _ => new { error = new { code = 498, message = "Invalid token.", details = Array.Empty<string>() } },
        };
    }

    /// <summary>Referers compare without case and a trailing slash.</summary>
    private static bool SameReferer(string bound, string sent) =>
        !string.IsNullOrEmpty(sent) && string.Equals(bound.TrimEnd('/'), sent.TrimEnd('/'), StringComparison.OrdinalIgnoreCase);

    private static object ErrorStatus(int code, string message) => new { status = "error", messages = new[] { message }, code };

    /// <summary>Answers 200 as JSON when f=json/pjson, else as the HTML page ArcGIS defaults to.</summary>
    private static Task AnswerAsync(HttpContext ctx, Dictionary<string, StringValues> p, object body)
    {
        var f = P(p, "f");
        if ("json".Equals(f, StringComparison.OrdinalIgnoreCase) || "pjson".Equals(f, StringComparison.OrdinalIgnoreCase))
            return Json(ctx, 200, body);
        var html = "<!DOCTYPE html><html><head><title>ArcGIS Enterprise Administrator</title></head><body><pre>" +
                   WebUtility.HtmlEncode(Serialize(body)) + "</pre></body></html>";
        return Raw(ctx, 200, "text/html; charset=utf-8", html);
    }

    private string AdminRoot(HttpContext ctx) => Root(ctx) + "admin/";

    private static string KnownStore(string store) => Stores.FirstOrDefault(s => s.Equals(store, StringComparison.OrdinalIgnoreCase));

    // ---- handlers ----

    private async Task GenerateTokenAsync(HttpContext ctx)
    {
        var p = Params(ctx);
        if (P(p, "username") != Options.UserName || P(p, "password") != Options.Password)
        {
            await AnswerAsync(ctx, p, new { error = new { code = 400, message = "Unable to generate token.", details = new[] { "Invalid username or password." } } });
            return;
        }
        var minutes = int.TryParse(P(p, "expiration"), out var m) && m > 0 ? m : 60;
        var token = State.Tokens.Issue("sim-arcgis-", out var expires);
        if ("referer".Equals(P(p, "client"), StringComparison.OrdinalIgnoreCase) && !string.IsNullOrEmpty(P(p, "referer")))
            _referers[token] = P(p, "referer");
        await AnswerAsync(ctx, p, new { token, expires = EpochMs(expires ?? DateTimeOffset.UtcNow.AddMinutes(minutes)), ssl = false });
    }

    private async Task StoresAsync(HttpContext ctx)
    {
        if (Options.ArcGis109) { await AbsentAt109Async(ctx); return; }
        var p = Params(ctx);
        if (TokenError(ctx, p) is object error) { await AnswerAsync(ctx, p, error); return; }
        var stores = Stores.Select(s => new
        {
            name = s,
            @default = s == DefaultStore,
            settings = new { type = "FILE_SYSTEM", location = "/sim/backups/" + s },
        });
        await AnswerAsync(ctx, p, new { backupStores = stores }); // as documented (stores.htm)
    }

    private async Task CreateAsync(HttpContext ctx)
    {
        // 10.9: only backuprestore/backup (no {store} in the route) exists.
        if (Options.ArcGis109 && Route(ctx, "store") != null) { await AbsentAt109Async(ctx); return; }
        var p = Params(ctx);
        if (TokenError(ctx, p) is object error) { await AnswerAsync(ctx, p, error); return; }
        var requested = Route(ctx, "store") ?? DefaultStore;
        Counters.CountCreate(Name, requested);
        var store = KnownStore(requested);
        string name = P(p, "name"), passcode = P(p, "passcode"), description = P(p, "description"), retention = P(p, "retentionDate");
        long retentionDate = 0;
        var problem =
            store == null ? ErrorStatus(500, $"Backup store '{requested}' does not exist.")
            : string.IsNullOrWhiteSpace(name) ? ErrorStatus(500, "The 'name' parameter is required.")
            : passcode == null || passcode.Length < 8 ? ErrorStatus(500, "The passcode must be at least 8 characters long.")
            : !string.IsNullOrEmpty(retention) && !long.TryParse(retention, out retentionDate) ? ErrorStatus(500, "retentionDate must be epoch milliseconds.")
            : null;
        if (problem != null) { await AnswerAsync(ctx, p, problem); return; }

        var job = Jobs.NewJob(Options, Name, "j" + NewHex(), NewHex(), store, store, name, description, retentionDate);
        if (!Jobs.TryClaimName(job)) { await AnswerAsync(ctx, p, ErrorStatus(500, $"A backup named '{name}' already exists in the store '{store}'.")); return; }
        Jobs.Add(job);
        Counters.CountBackup(Name, requested);
        var jobUrl = AsAnswered(AdminRoot(ctx) + "jobs/" + job.JobId);
        object answer = Options.ArcGisUseJobsProperty
            ? new { jobs = jobUrl, jobid = job.JobId, status = "SUBMITTED" }
            : new { jobsUrl = jobUrl, jobid = job.JobId, status = "SUBMITTED" };
        await AnswerAsync(ctx, p, answer);
    }

    private async Task JobAsync(HttpContext ctx)
    {
        var p = Params(ctx);
        if (TokenError(ctx, p) is object error) { await AnswerAsync(ctx, p, error); return; }
        var id = Route(ctx, "jobid");
        Counters.CountStatusRead(Name, id);
        var job = Jobs.Find(Name, id);
        if (job == null) { await AnswerAsync(ctx, p, ErrorStatus(404, $"Job '{id}' does not exist or is inaccessible.")); return; }

        var elapsed = job.Elapsed;
        var phase = job.PhaseAt(elapsed);
        var final = job.IsFinal(elapsed);
        var body = new Dictionary<string, object>
        {
            ["jobid"] = job.JobId,
            ["status"] = job.Weird && !final ? "Frobnicating" : phase switch
            {
                JobPhase.Pending => "SUBMITTED",
                JobPhase.Running => "EXECUTING",
                JobPhase.Succeeded => "COMPLETED",
                _ => "FAILED",
            },
            ["operationURI"] = $"system/disasterrecovery/stores/{job.Scope}/backups/create",
            ["starttime"] = EpochMs(job.CreatedAt),
            ["endtime"] = final ? EpochMs(job.EndsAt) : 0L,
            ["updatedtime"] = EpochMs(job.UpdatedAt(elapsed)),
            ["username"] = Options.UserName,
        };
        if (phase == JobPhase.Failed && Options.ArcGisFailureInMessages)
            body["messages"] = new[] { new { type = "SEVERE", message = $"Backup '{job.Name}' failed (simulated failure)." } };
        else if (phase == JobPhase.Failed) // "more information about the failure is available in the result property"
            body["result"] = new { status = "error", messages = new[] { $"Backup '{job.Name}' failed (simulated failure)." } };
        else if (phase == JobPhase.Succeeded && job.Sequence % 3 != 0) // every third completed job has no result [T]
            body["result"] = new { name = job.Name, store = job.Scope, location = $"/sim/backups/{job.Scope}/{job.Name}.dr", backupTime = EpochMs(job.EndsAt) };
        await AnswerAsync(ctx, p, body);
    }

    private async Task ListAsync(HttpContext ctx)
    {
        if (Options.ArcGis109) { await AbsentAt109Async(ctx); return; }
        var p = Params(ctx);
        if (TokenError(ctx, p) is object error) { await AnswerAsync(ctx, p, error); return; }
        var store = KnownStore(Route(ctx, "store"));
        if (store == null) { await AnswerAsync(ctx, p, ErrorStatus(500, $"Backup store '{Route(ctx, "store")}' does not exist.")); return; }
        var backups = Jobs.Backups(Name, j => j.Scope == store).Select(j =>
        {
            var phase = j.PhaseAt(j.Elapsed);
            return new
            {
                name = j.Name,
                description = j.Description,
                status = phase == JobPhase.Succeeded ? "COMPLETED" : phase == JobPhase.Failed ? "FAILED" : "EXECUTING",
                backupTime = EpochMs(j.CreatedAt),
                retentionDate = j.RetentionDate,
            };
        });
        await AnswerAsync(ctx, p, new { backups });
    }

    /// <summary>
    /// Stage-level progress of the latest DR job: five equal stages over the job's duration, nested under <c>status</c>
    /// as documented (status.htm), which names the backup but carries no job id.
    /// </summary>
    private async Task DrStatusAsync(HttpContext ctx)
    {
        var p = Params(ctx);
        if (TokenError(ctx, p) is object error) { await AnswerAsync(ctx, p, error); return; }
        var job = Jobs.Latest(Name);
        // The documented answer before any backup (10.9).
        if (job == null) { await AnswerAsync(ctx, p, new { status = new { code = 0, messages = Array.Empty<object>(), state = "no_op" } }); return; }
        var elapsed = job.Elapsed;
        var fraction = job.FractionAt(elapsed);
        var failed = job.PhaseAt(elapsed) == JobPhase.Failed;
        var stageMs = job.Duration.TotalMilliseconds / StageNames.Length;
        var stages = StageNames.Select((name, i) =>
        {
            double start = (double)i / StageNames.Length, end = (double)(i + 1) / StageNames.Length;
            var done = fraction >= end;
            var state = failed && i == StageNames.Length - 1 ? "failed"
                : done ? "completed" : fraction >= start ? "running" : "pending";
            var spent = done ? stageMs : Math.Max(0, elapsed.TotalMilliseconds - i * stageMs);
            var ms = fraction >= start ? (long)Math.Min(spent, stageMs) : 0L;
            return new
            {
                duration = $"{ms} millis (~ {ms / 60000} minutes)",
                lastUpdated = fraction >= start ? EpochMs(job.CreatedAt.AddMilliseconds(Math.Min(elapsed.TotalMilliseconds, (i + 1) * stageMs))) : 0L,
                name,
                state,
            };
        }).ToList();
        var final = job.IsFinal(elapsed);
        var status = new Dictionary<string, object>
        {
            ["code"] = 3,
            ["scheduleType"] = "MANUAL",
            ["stages"] = stages,
            ["startTime"] = EpochMs(job.CreatedAt),
            ["state"] = !final ? "running" : failed ? "failed" : "success",
            ["backupStore"] = job.Scope,
            ["message"] = "",
            ["operation"] = "Backup",
            ["backupName"] = job.Name,
        };
        if (final) status["completeTime"] = EpochMs(job.EndsAt);
        await AnswerAsync(ctx, p, new { status });
    }
}
