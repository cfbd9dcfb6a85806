using System.Text.Json;

namespace BackupTools.Simulator.Services;

/// <summary>
/// Huawei Cloud TaurusDB: <c>POST /v3/{project_id}/backups/create</c> → 201 <c>{backup, job_id}</c> (also under the legacy
/// <c>/mysql/v3/</c>). Jobs, list, errors and IAM come from <see cref="HuaweiApi"/>. See shared/api/taurusdb.md.
/// </summary>
internal sealed class TaurusDbApi : HuaweiApi
{
    public TaurusDbApi(SimState state) : base(state) { }

    public override string Name => ProviderNames.TaurusDB;
    public override string Prefix => "taurusdb";
    protected override string InstanceSuffix => "in07";
    protected override string ForbiddenInDescription => "\r!<\"='>&";
    protected override string BackupIdSuffix => "br07";
    protected override bool ChecksProjectIdFormat => true;
    protected override bool ReportsPending => true;
    protected override bool NamesAreUnique => false;

    protected override bool EndsWhileRunning => false;

    protected override string ProgressField => "process";
    protected override string CreatePath => "backups/create";
    protected override int CreatedStatus => 201;
    protected override string[] Roots => new[] { "/v3", "/mysql/v3" };
    protected override (string, string, string) Datastore => ("gaussdb-mysql", "8.0", "manual");

    protected override JsonElement? CreateFields(JsonElement body) => body.ValueKind == JsonValueKind.Object ? body : null;

    protected override object CreatedAnswer(SimJob job) => new
    {
        backup = new
        {
            id = job.BackupId,
            name = job.Name,
            description = job.Description ?? string.Empty,
            begin_time = HuaweiTime(job.CreatedAt),
            status = "BUILDING",
            type = "manual",
            instance_id = job.InstanceId,
        },
        job_id = job.JobId,
    };
}
