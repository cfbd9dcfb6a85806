using System.Management.Automation;

namespace BackupTools.Commands
{
    /// <summary>Reads each job's current state from its service once and writes the refreshed job.</summary>
    [Cmdlet(VerbsCommon.Get, "BackupJob")]
    [OutputType(typeof(BackupJob))]
    public sealed class GetBackupJobCommand : BackupCmdletBase
    {
        /// <summary>The jobs to refresh.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
        [BackupJobTransformation]
        [ValidateNotNull]
        public BackupJob[] Job { get; set; }

        /// <summary>The connection to read the jobs with, instead of the session's default for each job.</summary>
        /// <remarks>A saved connection (Import-Clixml) is refused with the reason: it holds no credential.</remarks>
        [Parameter]
        [ConnectionTransformation]
        public BackupConnection Connection { get; set; }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            var store = Connections;
            foreach (var job in Job)
            {
                if (job == null) continue;
                try
                {
                    var connection = Connection ?? store.ForJob(job);
                    Pump(sink => ThenPost(BackupService.RefreshAsync(connection, job, sink, CancelToken), sink, WriteObject));
                }
                catch (BackupToolsException ex)
                {
                    WriteError(Jobs.JobOutcome.OfRead(job, ex)); // (the job as target: which of the piped jobs it was)
                }
            }
        }
    }
}
