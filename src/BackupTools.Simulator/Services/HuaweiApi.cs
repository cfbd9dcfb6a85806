using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace BackupTools.Simulator.Services;

/// <summary>
/// What TaurusDB (Huawei Cloud) and DDS (Open Telekom Cloud) share: <c>X-Auth-Token</c>, the
/// <c>{error_code, error_msg}</c> error body, the name rule, the jobs API (<c>/v3/{project_id}/jobs?id=</c>, with the
/// "not found for the first seconds" trap), the backups list and IAM's <c>POST /v3/auth/tokens</c>.
/// Each service supplies its create route, body, instance id suffix, description rule and create answer.
/// </summary>
internal abstract partial class HuaweiApi : SimService
{
    protected HuaweiApi(SimState state) : base(state) { }

    /// <summary>Instance ids are 36 characters ending in this, e.g. "in07".</summary>
    protected abstract string InstanceSuffix { get; }

    /// <summary>Characters a description must not contain.</summary>
    protected abstract string ForbiddenInDescription { get; }

    /// <summary>Appended to 32 hex characters to make a backup id, e.g. "br02".</summary>
    protected abstract string BackupIdSuffix { get; }

    /// <summary>Whether the project id must be 32 letters and digits.</summary>
    protected abstract bool ChecksProjectIdFormat { get; }

    /// <summary>Whether jobs report "Pending" before "Running".</summary>
    protected abstract bool ReportsPending { get; }

    /// <summary>The create route below the project, e.g. "backups/create".</summary>
    protected abstract string CreatePath { get; }

    protected abstract int CreatedStatus { get; }

    /// <summary>The object holding instance_id, name and description in the create body; null when the shape is wrong.</summary>
    protected abstract JsonElement? CreateFields(JsonElement body);

    protected abstract object CreatedAnswer(SimJob job);

    /// <summary>The backups list's <c>datastore</c> and <c>type</c>.</summary>
    protected abstract (string Type, string Version, string ManualType) Datastore { get; }

    /// <summary>"Another operation in progress": TaurusDB 409 <c>DBS.200019</c>; DDS overrides it (403 <c>DBS.201015</c>).</summary>
    protected virtual (int Status, string Code) BusyAnswer => (409, "DBS.200019");

    /// <summary>API roots (the project id follows).</summary>
    protected virtual string[] Roots => new[] { "/v3" };

    /// <summary>Backup names are unique per project (dds.md says so; taurusdb.md states no such rule).</summary>
    protected virtual bool NamesAreUnique => true;

    /// <summary>The job's progress field: DDS's <c>progress</c>; TaurusDB's SDK names it <c>process</c>.</summary>
    protected virtual string ProgressField => "progress";

    /// <summary>A running job's <c>ended</c> is filled (DDS's job page shows a Running job with an end time); TaurusDB leaves it empty.</summary>
    protected virtual bool EndsWhileRunning => true;

    public override void Map(IEndpointRouteBuilder r)
    {
        Post(r, "/v3/auth/tokens", IssueTokenAsync);
        foreach (var root in Roots)
        {
            Post(r, root + "/{project_id}/" + CreatePath, CreateAsync);
            Get(r, root + "/{project_id}/jobs", JobAsync);
            Get(r, root + "/{project_id}/backups", ListBackupsAsync);
        }
    }

    public override string ErrorBody(int status, string path)
    {
        var (code, message) = DefaultError(status, path);
        return Serialize(new { error_code = code, error_msg = message });
    }

    protected virtual (string Code, string Message) DefaultError(int status, string path) => status switch
    {
        400 => ("DBS.200001", "Parameter error."),
        401 => ("APIG.1002", "Incorrect token or token resolution failed"),
        403 => ("APIG.1005", "No permissions to request this method"),
        404 when path.Contains("/jobs", StringComparison.OrdinalIgnoreCase) => ("DBS.200823", "The job does not exist."),
        404 => ("APIG.0101", "The API does not exist or has not been published in the environment"),
        409 => ("DBS.200019", "Another operation is being performed on the instance. Try again later."),
        429 => ("APIGW.0308", "The throttling threshold has been reached: policy user over ratelimit,limit:100,time:1 minute"),
        502 or 503 => ("APIG.0201", "Backend unavailable"),
        504 => ("APIG.0202", "Backend timeout"),
        _ => ("DBS.200000", $"Internal error ({status} {Reason(status)})."),
    };

    protected static Task Error(HttpContext ctx, int status, string code, string message) =>
        Json(ctx, status, new { error_code = code, error_msg = message });

    /// <summary>An AK/SK signature (when the request carries one) or the X-Auth-Token.</summary>
    private bool Authorized(HttpContext ctx)
    {
        string authorization = ctx.Request.Headers.Authorization;
        if (authorization != null && authorization.StartsWith(AkSkVerifier.Algorithm + " ", StringComparison.Ordinal))
        {
            ctx.Items[nameof(AkSkVerifier)] = true;
            var ak = AkSkVerifier.AccessKeyOf(ctx);
            if (State.AkSkLocks.IsLocked(ak))
            {
                ctx.Items[nameof(AkSkLocks)] = true;
                return false;
            }
            var ok = AkSkVerifier.Verify(ctx, Body(ctx), Options.SecretKeyOf);
            State.AkSkLocks.Record(ak, ok, Options);
            return ok;
        }
        return State.Tokens.Check(ctx.Request.Headers["X-Auth-Token"]) == TokenCheck.Valid;
    }

    // A locked key answers as a failed signature does (the documented code; the wording is ours [I]).
    private Task UnauthorizedAsync(HttpContext ctx) =>
        ctx.Items.ContainsKey(nameof(AkSkLocks))
            ? Error(ctx, 401, "APIG.0301", "Incorrect IAM authentication information: the access key is locked after too many failed signatures; try again later")
        : ctx.Items.ContainsKey(nameof(AkSkVerifier))
            ? Error(ctx, 401, "APIG.0301", "Incorrect IAM authentication information: verify aksk signature fail")
            : Error(ctx, 401, "APIG.1002", "Incorrect token or token resolution failed");

    // ---- create ----

    private async Task CreateAsync(HttpContext ctx)
    {
        if (!Authorized(ctx)) { await UnauthorizedAsync(ctx); return; }
        var project = Route(ctx, "project_id");
        var fields = ParseJson(Body(ctx)) is JsonElement body ? CreateFields(body) : null;
        string instanceId = Str(fields, "instance_id"), name = Str(fields, "name"), description = Str(fields, "description");
        Counters.CountCreate(Name, instanceId);

        var problem = fields == null ? "The request body is not valid JSON of the documented shape." : Validate(project, instanceId, name, description);
        if (problem != null) { await Error(ctx, 400, "DBS.200001", "Parameter error: " + problem); return; }

        var job = Jobs.NewJob(Options, Name, NewHex(), NewHex() + BackupIdSuffix, project, instanceId, name, description);
        // The instance is checked before the name: a repeat of a create whose backup is running finds the instance busy.
        var claimed = Options.HuaweiClaimsInstances;
        if (claimed && !Jobs.TryClaimInstance(job, out _))
        {
            var (status, code) = BusyAnswer;
            await Error(ctx, status, code, "Another operation is being performed on the DB instance. Try again later.");
            return;
        }
        // 400, as DDS's error code list gives it: the client knows it by its code.
        if (NamesAreUnique && !Jobs.TryClaimName(job))
        {
            if (claimed) Jobs.ReleaseInstance(job);
            await Error(ctx, 400, "DBS.201201", "Backup name already exists.");
            return;
        }
        Jobs.Add(job);
        Counters.CountBackup(Name, instanceId);
        await Json(ctx, CreatedStatus, CreatedAnswer(job));
    }

    [GeneratedRegex(@"^[A-Za-z0-9]{32}\z")]
    private static partial Regex ProjectIdPattern();

    [GeneratedRegex(@"^[A-Za-z0-9]{36}\z")]
    private static partial Regex InstanceIdPattern();

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_-]{3,63}\z")]
    private static partial Regex NamePattern();

    private string Validate(string project, string instanceId, string name, string description)
    {
        if (ChecksProjectIdFormat ? !ProjectIdPattern().IsMatch(project ?? "") : string.IsNullOrWhiteSpace(project))
            return "project_id must be 32 characters, letters and digits only.";
        if (instanceId == null || !InstanceIdPattern().IsMatch(instanceId) || !instanceId.EndsWith(InstanceSuffix, StringComparison.Ordinal))
            return $"instance_id must be 36 characters ending in {InstanceSuffix}, letters and digits only.";
        if (name == null || !NamePattern().IsMatch(name))
            return "name must be 4 to 64 characters, start with a letter and contain only letters, digits, '-' and '_'.";
        if (description != null && (description.Length > 256 || description.IndexOfAny(ForbiddenInDescription.ToCharArray()) >= 0))
            return "description must be at most 256 characters and must not contain " + Visible(ForbiddenInDescription) + ".";
        return null;
    }

    private static string Visible(string chars) => string.Join(" ", chars.Select(c => c == '\r' ? "carriage return" : c.ToString()));

    // ---- jobs ----

    private async Task JobAsync(HttpContext ctx)
    {
        if (!Authorized(ctx)) { await UnauthorizedAsync(ctx); return; }
        var project = Route(ctx, "project_id");
        var id = Query(ctx, "id");
        if (string.IsNullOrEmpty(id)) { await Error(ctx, 400, "DBS.200001", "Parameter error: id is required."); return; }
        Counters.CountStatusRead(Name, id);
        var job = Jobs.Find(Name, id);
        var elapsed = job?.Elapsed ?? TimeSpan.Zero;
        if (job == null || job.Scope != project || elapsed < job.NotFoundWindow)
        {
            await Error(ctx, 404, "DBS.200823", "The job does not exist.");
            return;
        }
        await Json(ctx, 200, new { job = JobBody(job, elapsed) });
    }

    private Dictionary<string, object> JobBody(SimJob job, TimeSpan elapsed)
    {
        var phase = job.PhaseAt(elapsed);
        var final = job.IsFinal(elapsed);
        var status = phase switch
        {
            _ when job.Weird && !final => "Frobnicating",
            JobPhase.Pending => ReportsPending ? "Pending" : "Running",
            JobPhase.Running => "Running",
            JobPhase.Succeeded => "Completed",
            _ => "Failed",
        };
        var body = new Dictionary<string, object>
        {
            ["id"] = job.JobId,
            ["name"] = "CreateBackup",
            ["status"] = status,
            ["created"] = HuaweiTime(job.CreatedAt),
            ["ended"] = final ? HuaweiTime(job.EndsAt) : EndsWhileRunning ? HuaweiTime(job.UpdatedAt(elapsed)) : null,
        };
        if (Options.ReportProgress && phase != JobPhase.Failed) body[ProgressField] = job.PercentAt(elapsed) + "%";
        body["instance"] = new { id = job.InstanceId, name = InstanceName(job.InstanceId) };
        body["entities"] = new { backup_id = job.BackupId };
        body["fail_reason"] = phase == JobPhase.Failed ? $"DBS.200410: Backup '{job.Name}' failed (simulated failure)." : null;
        return body;
    }

    // ---- backups list ----

    private async Task ListBackupsAsync(HttpContext ctx)
    {
        if (!Authorized(ctx)) { await UnauthorizedAsync(ctx); return; }
        var project = Route(ctx, "project_id");
        string backupId = Query(ctx, "backup_id"), instanceId = Query(ctx, "instance_id");
        var offset = int.TryParse(Query(ctx, "offset"), out var o) ? o : 0;
        var limit = int.TryParse(Query(ctx, "limit"), out var l) ? l : 100;
        if (offset < 0 || limit < 1 || limit > 100) { await Error(ctx, 400, "DBS.200001", "Parameter error: offset must be >= 0 and limit 1 to 100."); return; }
        var all = Jobs.Backups(Name, j => j.Scope == project &&
            (string.IsNullOrEmpty(backupId) || string.Equals(j.BackupId, backupId, StringComparison.OrdinalIgnoreCase)) &&
            (string.IsNullOrEmpty(instanceId) || j.InstanceId == instanceId));
        var (type, version, manual) = Datastore;
        var page = all.Skip(offset).Take(limit).Select(j =>
        {
            var e = j.Elapsed;
            var phase = j.PhaseAt(e);
            return new
            {
                id = j.BackupId,
                name = j.Name,
                description = j.Description,
                instance_id = j.InstanceId,
                instance_name = InstanceName(j.InstanceId),
                begin_time = ListTime(j.CreatedAt),
                end_time = j.IsFinal(e) ? ListTime(j.EndsAt) : null,
                status = phase == JobPhase.Succeeded ? "COMPLETED" : phase == JobPhase.Failed ? "FAILED" : "BUILDING",
                type = manual,
                size = phase == JobPhase.Succeeded ? 1024 : 0,
                datastore = new { type, version },
            };
        }).ToList();
        await Json(ctx, 200, new { backups = page, total_count = all.Count });
    }

    // ---- IAM ----

    private async Task IssueTokenAsync(HttpContext ctx)
    {
        var auth = Prop(ParseJson(Body(ctx)), "auth");
        var identity = Prop(auth, "identity");
        var user = Prop(Prop(identity, "password"), "user");
        var methods = Prop(identity, "methods");
        var usesPassword = methods is JsonElement { ValueKind: JsonValueKind.Array } m && m.EnumerateArray().Any(x => x.ValueKind == JsonValueKind.String && x.GetString() == "password");
        if (!usesPassword || user == null)
        {
            await Json(ctx, 400, new { error = new { code = 400, message = "The request body is invalid: the password method and auth.identity.password.user are required.", title = "Bad Request" } });
            return;
        }
        if (Str(user, "name") != Options.UserName || Str(user, "password") != Options.Password)
        {
            await Json(ctx, 401, new { error = new { code = 401, message = "The username or password is wrong.", title = "Unauthorized" } });
            return;
        }
        var token = State.Tokens.Issue("MII", out var expires);
        var now = DateTimeOffset.UtcNow;
        var project = Prop(Prop(auth, "scope"), "project");
        ctx.Response.Headers["X-Subject-Token"] = token;
        await Json(ctx, 201, new
        {
            token = new
            {
                expires_at = IamTime(expires ?? now.AddHours(24)),
                issued_at = IamTime(now),
                methods = new[] { "password" },
                user = new { name = Options.UserName, id = NewHex(), domain = new { name = Str(Prop(user, "domain"), "name") ?? Options.UserName, id = NewHex() } },
                project = new { id = Str(project, "id") ?? NewHex(), name = Str(project, "name") ?? "sim-region" },
                catalog = Array.Empty<object>(),
            },
        });
    }

    // ---- formats ----

    /// <summary>Huawei's "yyyy-mm-ddThh:mm:ssZ" with Z an offset without a colon, e.g. 2026-11-23T15:20:01+0800.</summary>
    protected static string HuaweiTime(DateTimeOffset t) =>
        t.ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + "+0800";

    /// <summary>A time in the backups list: TaurusDB's <see cref="HuaweiTime"/>; DDS overrides it.</summary>
    protected virtual string ListTime(DateTimeOffset t) => HuaweiTime(t);

    private static string IamTime(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private static string InstanceName(string instanceId) =>
        "sim-" + (instanceId is { Length: >= 12 } ? instanceId.Substring(0, 8) : instanceId);
}
