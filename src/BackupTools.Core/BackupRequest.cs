using System;
using System.Security;

namespace BackupTools
{
    /// <summary>What a creating cmdlet asks a provider to start. Plain data; the provider checks it against its rules.</summary>
    public sealed class BackupRequest
    {
        /// <summary>Instance or disaster-recovery backup.</summary>
        public BackupKind Kind { get; set; }
        /// <summary>The instance (or service instance, environment) to back up.</summary>
        public string InstanceId { get; set; }
        /// <summary>The backup's name (Dataverse: label).</summary>
        public string Name { get; set; }
        /// <summary>Free text (Dataverse: notes).</summary>
        public string Description { get; set; }
        /// <summary>ArcGIS backup store; null for the default store.</summary>
        public string StoreName { get; set; }
        /// <summary>ArcGIS passcode that encrypts the backup. A secret: never logged, never echoed.</summary>
        public SecureString Passcode { get; set; }
        /// <summary>When the backup may be cleaned up (ArcGIS).</summary>
        public DateTimeOffset? RetentionDate { get; set; }

        /// <summary>
        /// The period <see cref="RetentionDate"/> was worked out from (now plus it), when the user gave -RetentionPeriod
        /// rather than -RetentionDate: a rule the date breaks is told in terms of the period.
        /// </summary>
        internal TimeSpan? RetentionPeriod { get; set; }

        /// <summary>
        /// This request without its passcode: what an error carries as its target. An error record's target is
        /// serialized with it (Export-Clixml of <c>$Error</c>), and off Windows a SecureString is serialized readably.
        /// </summary>
        internal BackupRequest WithoutSecrets() => Passcode == null ? this : new BackupRequest
        {
            Kind = Kind, InstanceId = InstanceId, Name = Name, Description = Description, StoreName = StoreName, RetentionDate = RetentionDate,
            RetentionPeriod = RetentionPeriod,
        };

        /// <summary>The text a confirmation prompt or -WhatIf shows as the target.</summary>
        public override string ToString() =>
            (Kind == BackupKind.DisasterRecovery ? $"store '{StoreName ?? "(default)"}', " : $"instance '{InstanceId}', ") +
            // Cloud Foundry names its backups itself: there is no name to show.
            (string.IsNullOrEmpty(Name) ? "backup named by the service" : $"backup '{Name}'");
    }
}
