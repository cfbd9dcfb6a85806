using System;
using System.Collections.Generic;
using System.Management.Automation;
using BackupTools.Jobs;

namespace BackupTools.Commands
{
    /// <summary>
    /// Starts a backup of an instance on the service of the connection, and writes its job. Reads instances from the
    /// pipeline by property name, so <c>Import-Csv instances.csv | New-InstanceBackup</c> works.
    /// </summary>
    [Cmdlet(VerbsCommon.New, "InstanceBackup", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(BackupJob))]
    public sealed class NewInstanceBackupCommand : BackupCmdletBase
    {
        private readonly List<BackupJob> _created = new List<BackupJob>();

        /// <summary>The instance to back up (TaurusDB/DDS instance id, Dataverse environment GUID, Cloud Foundry service instance GUID).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("ServiceInstanceGuid", "EnvironmentId")]
        [ValidateNotNullOrEmpty]
        public string InstanceId { get; set; }

        /// <summary>The backup's name (Dataverse: label). Required by every service except Cloud Foundry, which names backups itself.</summary>
        [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
        [Alias("Label", "BackupName")]
        public string Name { get; set; }

        /// <summary>A description (Dataverse: notes).</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Alias("Notes")]
        public string Description { get; set; }

        /// <summary>Which of the session's default connections to use, by provider name.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(ProviderNameCompleter))]
        public string Provider { get; set; }

        /// <summary>The connection to use instead of the session's default.</summary>
        [Parameter]
        public BackupConnection Connection { get; set; }

        /// <summary>Waits for each backup's job to finish and writes the finished jobs.</summary>
        [Parameter]
        public SwitchParameter Wait { get; set; }

        /// <summary>With -Wait: how long to wait at most (a TimeSpan or seconds). Default: until done.</summary>
        [Parameter]
        [SecondsToTimeSpan]
        public TimeSpan Timeout { get; set; }

        /// <summary>With -Wait: the shortest pause between two status reads (a TimeSpan or seconds).</summary>
        [Parameter]
        [SecondsToTimeSpan]
        public TimeSpan PollingInterval { get; set; }

        /// <summary>How many creates may be in flight at once when many instances come from the pipeline (default 1: one after another).</summary>
        [Parameter]
        [ValidateRange(1, 256)]
        public int ThrottleLimit { get; set; } = 1;

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            BackupConnection connection;
            var request = new BackupRequest { Kind = BackupKind.Instance, InstanceId = InstanceId, Name = Name, Description = Description };
            try
            {
                connection = Connection ?? Connections.ForNewBackup(Provider);
                BackupService.Validate(connection, request);
            }
            catch (BackupToolsException ex)
            {
                WriteError(ex);
                return;
            }
            if (!ShouldProcess($"{connection.Provider} {request}", "Start backup")) return;
            StartBackup(connection, request, job =>
            {
                if (Wait) _created.Add(job);
                else WriteObject(job);
            }, ThrottleLimit);
        }

        /// <inheritdoc />
        protected override void EndProcessing()
        {
            FinishStarts();
            if (Wait && _created.Count > 0)
                WaitForJobs(_created, WaitOptionsFrom(Timeout, PollingInterval, any: false), Connection);
        }
    }
}
