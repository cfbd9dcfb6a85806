using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using BackupTools.Json;
using BackupTools.Providers.HuaweiCloud;
using BackupTools.Validation;

namespace BackupTools.Providers.TaurusDB
{
    /// <summary>
    /// Huawei Cloud TaurusDB (formerly GaussDB for MySQL): <c>POST /v3/{project_id}/backups/create</c> → 201
    /// <c>{backup, job_id}</c>, followed on <c>/v3/{project_id}/jobs?id=</c>. See shared/api/taurusdb.md.
    /// </summary>
    internal sealed class TaurusDbProvider : HuaweiCloudProvider
    {
        /// <summary>
        /// The regions Huawei's own SDKs name for the service, with their endpoints: the host is not the same pattern
        /// everywhere (<c>gaussdb</c>, <c>gaussdbformysql</c>, <c>gaussdb-mysql</c>). Elsewhere, <c>-Endpoint</c>.
        /// </summary>
        internal static readonly (string Region, string Service)[] Regions =
        {
            ("cn-north-4", "gaussdb"), ("cn-north-2", "gaussdb"), ("cn-north-9", "gaussdb"), ("cn-north-11", "gaussdbformysql"),
            ("cn-east-3", "gaussdb"), ("cn-east-5", "gaussdb-mysql"), ("cn-south-1", "gaussdb"), ("cn-south-4", "gaussdb"),
            ("cn-southwest-2", "gaussdb"), ("ap-southeast-1", "gaussdbformysql"), ("ap-southeast-2", "gaussdbformysql"),
            ("ap-southeast-3", "gaussdb"), ("ap-southeast-4", "gaussdb"), ("af-south-1", "gaussdb-mysql"),
            ("la-north-2", "gaussdb-mysql"), ("sa-brazil-1", "gaussdb"), ("tr-west-1", "gaussdbformysql"),
            ("me-east-1", "gaussdbformysql"), ("ru-northwest-2", "gaussdb"),
        };

        private static readonly BackupProviderInfo InfoValue = new BackupProviderInfo(
            "TaurusDB", "Huawei Cloud TaurusDB (GaussDB for MySQL)", new[] { BackupKind.Instance },
            Regions.ToDictionary(r => r.Region, r => new Uri($"https://{r.Service}.{r.Region}.myhuaweicloud.com/"), StringComparer.OrdinalIgnoreCase),
            "ProjectId", new[] { AuthenticationMethods.AccessToken, AuthenticationMethods.AccessKey, AuthenticationMethods.Credential },
            "https://support.huaweicloud.com/intl/en-us/api-taurusdb/CreateGaussMySqlBackup.html", signsInWithIdentityService: true);

        private static readonly Rule InstanceRule = Rule.AlphanumericThen("InstanceId", 32, "in07",
            "36 characters ending in 'in07', letters and digits only");

        private static readonly Rule DescRule = Rule.MaxLengthWithout("Description", 256, "\r!<\"='>&",
            "at most 256 characters, without a carriage return or any of ! < \" = ' > &");

        public override BackupProviderInfo Info => InfoValue;

        /// <summary>
        /// TaurusDB's create documents no rule that names be unique: a create whose outcome is unknown is never
        /// repeated (a repeat could make a second backup); its backup is looked for by name instead.
        /// </summary>
        public override bool NamesAreUnique => false;
        protected override Rule InstanceIdRule => InstanceRule;
        protected override Rule DescriptionRule => DescRule;
        protected override string[] CreatePath { get; } = { "backups", "create" };

        protected override byte[] CreateBody(BackupRequest request) =>
            JsonBody.Strings(null, "instance_id", request.InstanceId, "name", request.Name, "description", request.Description);

        protected override CreatedBackup ReadCreated(JsonElement body)
        {
            var backup = body.Obj("backup");
            return new CreatedBackup
            {
                JobId = body.Str("job_id", "jobId"),
                BackupId = backup?.Str("id"),
                Name = backup?.Str("name"),
                Status = backup?.Str("status"),
                StartedAt = backup?.Time("begin_time", "beginTime"),
            };
        }
    }
}
