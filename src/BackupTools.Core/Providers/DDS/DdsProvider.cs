using System;
using System.Collections.Generic;
using System.Text.Json;
using BackupTools.Json;
using BackupTools.Providers.HuaweiCloud;
using BackupTools.Validation;

namespace BackupTools.Providers.DDS
{
    /// <summary>
    /// Open Telekom Cloud DDS (Document Database Service): <c>POST /v3/{project_id}/backups</c> with
    /// <c>{"backup":{…}}</c> → 200 <c>{job_id, backup_id}</c>, followed on the jobs API. See shared/api/dds.md.
    /// </summary>
    internal sealed class DdsProvider : HuaweiCloudProvider
    {
        private static readonly BackupProviderInfo InfoValue = new BackupProviderInfo(
            "DDS", "Open Telekom Cloud Document Database Service", new[] { BackupKind.Instance },
            new Dictionary<string, Uri>(StringComparer.OrdinalIgnoreCase)
            {
                ["eu-de"] = new Uri("https://dds.eu-de.otc.t-systems.com/"),
                ["eu-nl"] = new Uri("https://dds.eu-nl.otc.t-systems.com/"),
                ["eu-ch2"] = new Uri("https://dds.eu-ch2.sc.otc.t-systems.com/"),
            },
            "ProjectId", new[] { AuthenticationMethods.AccessToken, AuthenticationMethods.AccessKey, AuthenticationMethods.Credential },
            "https://docs.otc.t-systems.com/document-database-service/api-ref/", signsInWithIdentityService: true);

        // The page says only "ends in in02"; DDS ids are 32 characters plus that suffix, as TaurusDB's are [I].
        private static readonly Rule InstanceRule = Rule.AlphanumericThen("InstanceId", 32, "in02",
            "36 characters ending in 'in02', letters and digits only");

        private static readonly Rule DescRule = Rule.MaxLengthWithout("Description", 256, ">!<\"&'=",
            "at most 256 characters, without any of > ! < \" & ' =");

        public override BackupProviderInfo Info => InfoValue;

        /// <summary>DDS names are "unique among the project's backups" (DBS.201201 when taken): an unanswered create may be repeated.</summary>
        public override bool NamesAreUnique => true;
        protected override Rule InstanceIdRule => InstanceRule;
        protected override Rule DescriptionRule => DescRule;
        protected override string[] CreatePath { get; } = { "backups" };

        protected override byte[] CreateBody(BackupRequest request) =>
            JsonBody.Strings("backup", "instance_id", request.InstanceId, "name", request.Name, "description", request.Description);

        protected override CreatedBackup ReadCreated(JsonElement body) => new CreatedBackup
        {
            JobId = body.Str("job_id", "jobId"),
            BackupId = body.Str("backup_id", "backupId"),
        };
    }
}
