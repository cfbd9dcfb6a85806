using System;
using System.Management.Automation;
using System.Security;

namespace BackupTools.Commands
{
    /// <summary>
    /// Starts a disaster-recovery backup of a whole deployment (ArcGIS Enterprise) in a backup store of the
    /// connection's service, and writes its job. The passcode encrypts the backup and is needed again to restore it.
    /// </summary>
    [Cmdlet(VerbsCommon.New, "DisasterRecoveryBackup", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium,
        DefaultParameterSetName = NoRetentionSet)]
    [OutputType(typeof(BackupJob))]
    public sealed class NewDisasterRecoveryBackupCommand : NewBackupCommandBase
    {
        private const string NoRetentionSet = "NoRetention";
        private const string RetentionDateSet = "RetentionDate";
        private const string RetentionPeriodSet = "RetentionPeriod";

        /// <summary>The backup's name.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("BackupName")]
        [ValidateNotNullOrEmpty]
        public string Name { get; set; }

        /// <summary>The backup store; by default the store the service flags as default.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Alias("Store")]
        [ArgumentCompleter(typeof(BackupStoreCompleter))]
        public string StoreName { get; set; }

        /// <summary>The passcode that encrypts the backup (at least 8 characters); needed again to restore it.</summary>
        [Parameter(Mandatory = true)]
        [ValidateNotNull]
        [SecureStringTransformation]
        public SecureString Passcode { get; set; }

        /// <summary>A description.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public string Description { get; set; }

        /// <summary>When the backup may be cleaned up. Must be in the future.</summary>
        [Parameter(Mandatory = true, ParameterSetName = RetentionDateSet, ValueFromPipelineByPropertyName = true)]
        [TextToDateTime]
        public DateTime RetentionDate { get; set; }

        /// <summary>How long to keep the backup, from now (a TimeSpan or a number of days).</summary>
        [Parameter(Mandatory = true, ParameterSetName = RetentionPeriodSet, ValueFromPipelineByPropertyName = true)]
        [DaysToTimeSpan]
        public TimeSpan RetentionPeriod { get; set; }

        /// <inheritdoc />
        protected override BackupKind Kind => BackupKind.DisasterRecovery;

        /// <inheritdoc />
        protected override string Action => "Start disaster-recovery backup";

        /// <inheritdoc />
        protected override BackupRequest BuildRequest() => new BackupRequest
        {
            Kind = BackupKind.DisasterRecovery,
            Name = Name,
            StoreName = string.IsNullOrEmpty(StoreName) ? null : StoreName,
            Passcode = Passcode,
            Description = Description,
            RetentionDate = ParameterSetName == RetentionDateSet ? Validation.Retention.FromDate(RetentionDate)
                          : ParameterSetName == RetentionPeriodSet ? Validation.Retention.FromNow(RetentionPeriod)
                          : (DateTimeOffset?)null,
        };
    }
}
