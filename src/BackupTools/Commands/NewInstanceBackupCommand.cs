using System;
using System.Management.Automation;

namespace BackupTools.Commands
{
    /// <summary>
    /// Starts a backup of an instance on the service of the connection, and writes its job. Reads instances from the
    /// pipeline by property name, so <c>Import-Csv instances.csv | New-InstanceBackup</c> works.
    /// </summary>
    [Cmdlet(VerbsCommon.New, "InstanceBackup", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(BackupJob))]
    public sealed class NewInstanceBackupCommand : NewBackupCommandBase
    {
        /// <summary>The instance to back up (TaurusDB/DDS instance id, Dataverse environment GUID, Cloud Foundry service instance GUID).</summary>
        /// <remarks>
        /// An empty or null value (an empty CSV cell) is let through the binder to the provider's rule, which refuses it
        /// with BackupParameterInvalid for its row, as it does a blank one; the binder's own check was another error id.
        /// </remarks>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("ServiceInstanceGuid", "EnvironmentId")]
        [AllowEmptyString]
        [AllowNull]
        public string InstanceId { get; set; }

        /// <summary>The backup's name (Dataverse: label). Required by every service except Cloud Foundry, which names backups itself.</summary>
        [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
        [Alias("Label", "BackupName")]
        public string Name { get; set; }

        /// <summary>A description (Dataverse: notes).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Alias("Notes")]
        public string Description { get; set; }

        /// <inheritdoc />
        protected override BackupKind Kind => BackupKind.Instance;

        /// <inheritdoc />
        protected override string Action => "Start backup";

        /// <inheritdoc />
        protected override BackupRequest BuildRequest() =>
            new BackupRequest { Kind = BackupKind.Instance, InstanceId = InstanceId, Name = Name, Description = Description };
    }
}
