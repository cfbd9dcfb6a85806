using System;
using System.Management.Automation;
using System.Security;

namespace BackupTools.Commands
{
    /// <summary>
    /// Starts a disaster-recovery backup of a whole deployment (ArcGIS Enterprise) in a backup store of the
    /// connection's service, and writes its job. The passcode encrypts the backup and is needed again to restore it.
    /// </summary>
    [Cmdlet(VerbsCommon.New, "DisasterRecoveryBackup", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(BackupJob))]
    public sealed class NewDisasterRecoveryBackupCommand : NewBackupCommandBase
    {
        /// <summary>The backup's name.</summary>
        /// <remarks>Empty or null is left to the provider's rule (BackupParameterInvalid for its row), as -InstanceId is.</remarks>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("BackupName")]
        [AllowEmptyString]
        [AllowNull]
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

        // -RetentionDate and -RetentionPeriod share every parameter set, rather than having one each (a row giving both
        // was the binder's AmbiguousParameterSet, a null one its "null not allowed"): Retention.From refuses both. They
        // are nullable because whether a row gave one cannot be read from BoundParameters: between rows the engine sets
        // a parameter bound from the previous row back to its default and keeps its key. null (a JSON row's null) is
        // "not given", as an empty cell is.

        /// <summary>When the backup may be cleaned up. Must be in the future; not with -RetentionPeriod.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [TextToDateTime]
        public DateTime? RetentionDate { get; set; }

        /// <summary>How long to keep the backup, from now (a TimeSpan or a number of days); not with -RetentionDate.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [DaysToTimeSpan]
        public TimeSpan? RetentionPeriod { get; set; }

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
            RetentionDate = Validation.Retention.From(RetentionDate, RetentionPeriod),
            RetentionPeriod = RetentionPeriod,
        };
    }
}
