using System.Text.Json;

namespace BackupTools.Simulator.Services;

/// <summary>
/// Open Telekom Cloud DDS: <c>POST /v3/{project_id}/backups</c> with <c>{"backup": {...}}</c> → 200 <c>{job_id, backup_id}</c>.
/// Jobs, list, errors and IAM come from <see cref="HuaweiApi"/>. See shared/api/dds.md.
/// </summary>
internal sealed class DdsApi : HuaweiApi
{
    public DdsApi(SimState state) : base(state) { }

    public override string Name => ProviderNames.DDS;
    public override string Prefix => "dds";
    protected override string InstanceSuffix => "in02";
    protected override string ForbiddenInDescription => ">!<\"&'=";
    protected override string BackupIdSuffix => "br02";
    protected override bool ChecksProjectIdFormat => false;
    protected override bool ReportsPending => false;
    protected override string CreatePath => "backups";
    protected override int CreatedStatus => 200;
    protected override (int Status, string Code) BusyAnswer => (403, "DBS.201015");

    /// <summary>DDS's backups list: "yyyy-mm-dd hh:mm:ss", UTC, without an offset (e.g. 2018-08-06 12:41:14).</summary>
    protected override string ListTime(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
    protected override (string, string, string) Datastore => ("DDS-Community", "4.0", "Manual");

    protected override JsonElement? CreateFields(JsonElement body) =>
        Prop(body, "backup") is JsonElement { ValueKind: JsonValueKind.Object } backup ? backup : null;

    protected override object CreatedAnswer(SimJob job) => new { job_id = job.JobId, backup_id = job.BackupId };

    /// <summary>DDS answers "another operation in progress" as 403 DBS.201015 [V].</summary>
    protected override (string Code, string Message) DefaultError(int status, string path) =>
        status == 403 ? ("DBS.201015", "Another operation is being performed on the instance. Try again later.") : base.DefaultError(status, path);
}
