using System.Text.Json;

namespace BackupTools.Simulator.Services;

/// <summary>
/// Dataverse Online Management API: <c>POST /api/v1.2/InstanceBackups</c> → 202 OperationStatus with
/// <c>Operation-Location</c> and <c>Retry-After</c>; followed on <c>GET /api/v1.2/Operation/{id}</c>. Reads property names
/// in any casing; answers camelCase (the docs' examples) or PascalCase (<see cref="SimulatorOptions.DataverseUsePascalCase"/>).
/// See shared/api/dataverse.md.
/// </summary>
internal sealed class DataverseApi : SimService
{
    public DataverseApi(SimState state) : base(state) { }

    public override string Name => ProviderNames.Dataverse;
    public override string Prefix => "dataverse";

    public override void Map(IEndpointRouteBuilder r)
    {
        Post(r, "/api/v1.2/InstanceBackups", CreateAsync);
        Get(r, "/api/v1.2/InstanceBackups", ListAsync);
        Get(r, "/api/v1.2/InstanceBackups/{instanceId}/{backupId}", GetBackupAsync);
        Get(r, "/api/v1.2/Operation/{id}", OperationAsync);
    }

    public override string ErrorBody(int status, string path) => status switch
    {
        400 => Serialize(Failure("FailedToCreate", Item("BadRequest", "The request is invalid.", null))),
        404 when path.Contains("/Operation/", StringComparison.OrdinalIgnoreCase) => Serialize(Failure("NotFound", Item("OperationNotFound", "The operation was not found.", null))),
        _ => Serialize(new { error = new { code = Reason(status).Replace(" ", ""), message = $"The service answered {status} {Reason(status)} (simulated)." } }),
    };

    private bool Authorized(HttpContext ctx) => State.Tokens.Check(BearerToken(ctx)) == TokenCheck.Valid;

    private static Task UnauthorizedAsync(HttpContext ctx)
    {
        ctx.Response.Headers.WWWAuthenticate = "Bearer authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", error=\"invalid_token\"";
        return Json(ctx, 401, new { error = new { code = "Unauthorized", message = "The access token is missing, invalid or expired." } });
    }

    private async Task CreateAsync(HttpContext ctx)
    {
        if (!Authorized(ctx)) { await UnauthorizedAsync(ctx); return; }
        var body = ParseJson(Body(ctx));
        string instanceId = Str(body, "InstanceId", true), label = Str(body, "Label", true), notes = Str(body, "Notes", true);
        Counters.CountCreate(Name, instanceId);

        Dictionary<string, object> problem = null;
        if (body is not JsonElement { ValueKind: JsonValueKind.Object })
            problem = Item("InvalidRequest", "The request body must be a JSON object with InstanceId and Label.", "body");
        else if (!Guid.TryParse(instanceId, out _))
            problem = Item("InvalidInstanceId", $"InstanceId '{instanceId}' is not a valid instance id (a GUID).", "InstanceId");
        else if (string.IsNullOrWhiteSpace(label))
            problem = Item("InvalidLabel", "Label is required.", "Label");
        if (problem != null) { await Json(ctx, 400, Failure("FailedToCreate", problem)); return; }

        var job = Jobs.NewJob(Options, Name, Guid.NewGuid().ToString(), Guid.NewGuid().ToString(), null, instanceId, label, notes);
        Jobs.Add(job);
        Counters.CountBackup(Name, instanceId);
        var status = OperationStatus(ctx, job, TimeSpan.Zero);
        ctx.Response.Headers["Operation-Location"] = AsAnswered(OperationUrl(ctx, job));
        // A fault's Retry-After (a Status fault without a status code) is kept: the create's answer carries it. As on
        // a status read, the service asks for a pause only while the operation is still under way: a job that is
        // already final (a zero job duration) gets none.
        if (!ctx.Response.Headers.ContainsKey("Retry-After") && !job.IsFinal(TimeSpan.Zero)) ctx.Response.Headers.RetryAfter = "1";
        await Json(ctx, 202, status);
    }

    private async Task OperationAsync(HttpContext ctx)
    {
        if (!Authorized(ctx)) { await UnauthorizedAsync(ctx); return; }
        var id = Route(ctx, "id");
        Counters.CountStatusRead(Name, id);
        var job = Jobs.Find(Name, id);
        if (job == null)
        {
            await Json(ctx, 404, Failure("NotFound", Item("OperationNotFound", $"Operation '{id}' was not found.", "OperationId")));
            return;
        }
        var elapsed = job.Elapsed;
        if (!job.IsFinal(elapsed)) ctx.Response.Headers.RetryAfter = "1";
        await Json(ctx, 200, OperationStatus(ctx, job, elapsed));
    }

    private async Task ListAsync(HttpContext ctx)
    {
        if (!Authorized(ctx)) { await UnauthorizedAsync(ctx); return; }
        var instanceId = Query(ctx, "instanceId");
        if (!Guid.TryParse(instanceId, out _))
        {
            await Json(ctx, 400, Failure("Failed", Item("InvalidInstanceId", "The instanceId query parameter must be a GUID.", "instanceId")));
            return;
        }
        // With DataverseListDelay, a backup is listed only that long after its operation reports Succeeded.
        var delay = Options.DataverseListDelay;
        var list = Jobs.Backups(Name, j => string.Equals(j.InstanceId, instanceId, StringComparison.OrdinalIgnoreCase) &&
            (delay <= TimeSpan.Zero || j.Elapsed >= j.Duration + delay));
        await Json(ctx, 200, list.Select(Backup).ToList());
    }

    private async Task GetBackupAsync(HttpContext ctx)
    {
        if (!Authorized(ctx)) { await UnauthorizedAsync(ctx); return; }
        var job = Jobs.FindBackup(Name, Route(ctx, "backupId"));
        if (job == null || !string.Equals(job.InstanceId, Route(ctx, "instanceId"), StringComparison.OrdinalIgnoreCase))
        {
            await Json(ctx, 404, Failure("NotFound", Item("BackupNotFound", "The backup was not found.", "backupId")));
            return;
        }
        await Json(ctx, 200, Backup(job));
    }

    // ---- shapes ----

    private Dictionary<string, object> OperationStatus(HttpContext ctx, SimJob job, TimeSpan elapsed)
    {
        var phase = job.PhaseAt(elapsed);
        var status = phase switch
        {
            _ when job.Weird && !job.IsFinal(elapsed) => "Frobnicating",
            JobPhase.Pending => "NotStarted",
            JobPhase.Running => "Running",
            JobPhase.Succeeded => "Succeeded",
            _ => "Failed",
        };
        var errors = phase == JobPhase.Failed
            ? new[] { Item("BackupFailed", $"Backup '{job.Name}' of instance {job.InstanceId} failed (simulated failure).", job.InstanceId) }
            : Array.Empty<Dictionary<string, object>>();
        var information = phase == JobPhase.Succeeded
            ? new[] { Item("BackupCompleted", $"Backup '{job.Name}' completed.", job.InstanceId) }
            : Array.Empty<Dictionary<string, object>>();
        return Obj(
            ("OperationId", job.JobId),
            ("Status", status),
            ("Errors", errors),
            ("Information", information),
            ("OperationLocation", AsAnswered(OperationUrl(ctx, job))),
            ("ResourceLocation", phase == JobPhase.Succeeded ? $"{Root(ctx)}api/v1.2/InstanceBackups/{job.InstanceId}/{job.BackupId}" : null),
            ("Context", Obj(("Items", Obj(("InstanceId", job.InstanceId), ("Label", job.Name), ("InstanceBackupId", job.BackupId)))))
        );
    }

    private Dictionary<string, object> Failure(string status, Dictionary<string, object> error) => Obj(
        ("OperationId", Guid.NewGuid().ToString()),
        ("Status", status),
        ("Errors", new[] { error }),
        ("Information", Array.Empty<object>()),
        ("OperationLocation", null),
        ("ResourceLocation", null),
        ("Context", Obj(("Items", Obj())))
    );

    private Dictionary<string, object> Backup(SimJob job)
    {
        var elapsed = job.Elapsed;
        var phase = job.PhaseAt(elapsed);
        return Obj(
            ("Id", job.BackupId),
            ("Status", phase == JobPhase.Succeeded ? "Succeeded" : phase == JobPhase.Failed ? "Failed" : "Running"),
            ("CreatedBy", Options.UserName),
            ("CreatedOn", IsoUtc(job.CreatedAt)),
            ("ExpiresOn", IsoUtc(job.CreatedAt.AddDays(7))),
            ("Version", "9.2.24111.00000"),
            ("Label", job.Name),
            ("Notes", job.Description)
        );
    }

    private Dictionary<string, object> Item(string code, string description, string subject) =>
        Obj(("Code", code), ("Description", description), ("Subject", subject));

    private string OperationUrl(HttpContext ctx, SimJob job) => $"{Root(ctx)}api/v1.2/Operation/{job.JobId}";

    /// <summary>A JSON object whose PascalCase names are written in the configured casing.</summary>
    private Dictionary<string, object> Obj(params (string Name, object Value)[] properties)
    {
        var pascal = Options.DataverseUsePascalCase;
        var obj = new Dictionary<string, object>(properties.Length);
        foreach (var (name, value) in properties)
            obj[pascal ? name : char.ToLowerInvariant(name[0]) + name[1..]] = value;
        return obj;
    }
}
