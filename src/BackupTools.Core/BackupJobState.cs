namespace BackupTools
{
    /// <summary>The normalised state of a backup job, the same words for every service.</summary>
    public enum BackupJobState
    {
        /// <summary>The job has not reached a final state yet (includes "starting" and states the service calls pending).</summary>
        Running = 0,
        /// <summary>The service reports the backup finished and usable.</summary>
        Succeeded = 1,
        /// <summary>The service reports the backup failed.</summary>
        Failed = 2,
        /// <summary>The job was cancelled or aborted on the service.</summary>
        Cancelled = 3,
        /// <summary>The service reported a status this module does not know; it is kept raw and the job is still followed.</summary>
        Unknown = 4,
    }

    /// <summary>What the creating call asked the service to make.</summary>
    public enum BackupKind
    {
        /// <summary>A backup of one database or service instance.</summary>
        Instance = 0,
        /// <summary>A disaster-recovery backup of a whole deployment (ArcGIS Enterprise).</summary>
        DisasterRecovery = 1,
    }

    /// <summary>Extension helpers over <see cref="BackupJobState"/>.</summary>
    public static class BackupJobStateExtensions
    {
        /// <summary>True for Succeeded, Failed and Cancelled: the job will not change any more.</summary>
        public static bool IsFinal(this BackupJobState state) =>
            state == BackupJobState.Succeeded || state == BackupJobState.Failed || state == BackupJobState.Cancelled;
    }
}
