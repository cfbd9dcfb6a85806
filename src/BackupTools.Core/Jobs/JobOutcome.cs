namespace BackupTools.Jobs
{
    /// <summary>The error a final or abandoned job adds to the error stream, carrying the service's own codes.</summary>
    public static class JobOutcome
    {
        /// <summary>The service's words already end a sentence ("… (simulated failure)."): no second full stop.</summary>
        internal static bool EndsSentence(string text) => text.Length > 0 && (text[text.Length - 1] == '.' || text[text.Length - 1] == '!' || text[text.Length - 1] == '?');

        /// <summary>
        /// <see cref="ErrorIds.BackupJobFailed"/> or <see cref="ErrorIds.BackupJobCancelled"/> for a job that ended so;
        /// null for a job that succeeded or is not final.
        /// </summary>
        public static BackupToolsException ErrorFor(BackupJob job)
        {
            if (job.State != BackupJobState.Failed && job.State != BackupJobState.Cancelled) return null;
            var failed = job.State == BackupJobState.Failed;
            var first = job.Errors.Count == 0 ? null : job.Errors[0];
            var reasons = job.Errors.Count == 0 ? $"the service reported '{job.RawStatus}'" : job.Errors.ToString();
            return new BackupToolsException(failed ? ErrorIds.BackupJobFailed : ErrorIds.BackupJobCancelled,
                failed ? BackupErrorCategory.InvalidResult : BackupErrorCategory.OperationStopped,
                $"{Describe(job)} {(failed ? "failed" : "was cancelled")}: {reasons}{(EndsSentence(reasons) ? string.Empty : ".")}", job)
            {
                Provider = job.Provider,
                ServiceCode = first?.Code,
                ServiceMessage = first?.Message,
            };
        }

        /// <summary><see cref="ErrorIds.BackupJobTimeout"/> for a job still running when the wait ended.</summary>
        public static BackupToolsException TimeoutFor(BackupJob job) =>
            new BackupToolsException(ErrorIds.BackupJobTimeout, BackupErrorCategory.OperationTimeout,
                $"{Describe(job)} had not finished when the wait timed out; its last known state is {job.State}" +
                (job.RawStatus != null ? $" ('{job.RawStatus}')" : string.Empty) + ". The backup goes on; the job is written out so the wait can be resumed.",
                job) { Provider = job.Provider };

        /// <summary>
        /// The failure that ended the wait of <paramref name="job"/>, about that job: its target is the job and its
        /// message names it, so that a record of a refused token renewal (whose own target is the identity endpoint)
        /// still leads to the backup that runs on. The same id, category, service code and action; the failure inside.
        /// </summary>
        public static BackupToolsException About(BackupJob job, BackupToolsException error)
        {
            if (error.Target is BackupJob own && JobIdentity.Comparer.Equals(own, job)) return error;
            var about = error.Restated($"{Describe(job)} could not be followed: {error.Message}", job, error);
            about.Provider = error.Provider ?? job.Provider;
            return about;
        }

        /// <summary>
        /// The failure of one read of <paramref name="job"/> (Get-BackupJob) with the job as its target: with many jobs
        /// piped, a record whose target was none (a token refused before sending) or another object (the identity
        /// endpoint) did not say which job it was. The same message, id, category, service code and action; the failure inside.
        /// </summary>
        public static BackupToolsException OfRead(BackupJob job, BackupToolsException error)
        {
            if (error.Target is BackupJob own && JobIdentity.Comparer.Equals(own, job)) return error;
            var read = error.Restated(error.Message, job, error);
            read.Provider = error.Provider ?? job.Provider;
            return read;
        }

        internal static string Describe(BackupJob job) =>
            $"{job.Provider} backup '{job.BackupName ?? job.BackupId ?? job.JobId}'" +
            (job.InstanceId != null ? $" of {job.InstanceId}" : string.Empty) + $" (job {job.JobId})";
    }
}
