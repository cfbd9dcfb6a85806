using System;
using System.Collections.Generic;
using System.Management.Automation;

namespace BackupTools.Commands
{
    /// <summary>
    /// Waits for backup jobs to reach their true outcome. Takes jobs from the pipeline or -Job, including jobs that
    /// were serialized (Import-Clixml, thread jobs); writes each job once when it is final, in completion order.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Wait, "BackupJob")]
    [OutputType(typeof(BackupJob))]
    public sealed class WaitBackupJobCommand : BackupCmdletBase
    {
        private readonly List<BackupJob> _jobs = new List<BackupJob>();

        /// <summary>The jobs to wait for.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
        [BackupJobTransformation]
        [ValidateNotNull]
        public BackupJob[] Job { get; set; }

        /// <summary>How long to wait at most (a TimeSpan or seconds). Default: until every job is final.</summary>
        [Parameter]
        [SecondsToTimeSpan]
        public TimeSpan Timeout { get; set; }

        /// <summary>The shortest pause between two status reads of a job (a TimeSpan or seconds).</summary>
        [Parameter]
        [SecondsToTimeSpan]
        public TimeSpan PollingInterval { get; set; }

        /// <summary>Return as soon as the first job is final.</summary>
        [Parameter]
        public SwitchParameter Any { get; set; }

        /// <summary>The connection to read the jobs with, instead of the session's default for each job's provider and endpoint.</summary>
        /// <remarks>A saved connection (Import-Clixml) is refused with the reason: it holds no credential.</remarks>
        [Parameter]
        [ConnectionTransformation]
        public BackupConnection Connection { get; set; }

        private Jobs.WaitOptions _options;

        /// <inheritdoc />
        protected override void BeginProcessing() => _options = WaitOptionsFrom(Timeout, PollingInterval, Any); // bad values end the command before any read

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            foreach (var job in Job)
                if (job != null) _jobs.Add(job);
        }

        /// <inheritdoc />
        protected override void EndProcessing()
        {
            if (_jobs.Count > 0) WaitForJobs(_jobs, _options, Connection);
            RanToEnd();
        }
    }
}
