using System.Management.Automation;

namespace BackupTools.Commands
{
    /// <summary>
    /// Reads each job's current state from its service once and writes the refreshed job. The reads run at once, as jobs
    /// arrive, within each endpoint's limits; each job is written as its read ends (completion order).
    /// </summary>
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
                BackupConnection connection;
                try
                {
                    connection = Connection ?? store.ForJob(job);
                }
                catch (BackupToolsException ex)
                {
                    WriteError(Jobs.JobOutcome.OfRead(job, ex)); // (the job as target: which of the piped jobs it was)
                    continue;
                }
                ReadJob(connection, job); // read as jobs arrive; written as each read ends
            }
        }

        /// <inheritdoc />
        protected override void EndProcessing() => FinishReads();
    }
}
