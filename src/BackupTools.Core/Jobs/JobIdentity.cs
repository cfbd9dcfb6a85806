using System;
using System.Collections.Generic;

namespace BackupTools.Jobs
{
    /// <summary>
    /// Which job a <see cref="BackupJob"/> is: its provider, endpoint, job id and status URL (a job found by name after a
    /// lost create, or a Dataverse operation, may have no job id: its status URL tells it apart). Two objects of one job
    /// (the same job passed twice, or imported twice) are followed and written once; its endpoint compares as connections
    /// match it (<c>https://host:443/</c> is <c>https://host/</c>).
    /// </summary>
    internal sealed class JobIdentity : IEqualityComparer<BackupJob>
    {
        public static readonly JobIdentity Comparer = new JobIdentity();

        public bool Equals(BackupJob x, BackupJob y) =>
            ReferenceEquals(x, y) || (x != null && y != null &&
                string.Equals(x.Provider, y.Provider, StringComparison.OrdinalIgnoreCase) &&
                (string.Equals(x.Endpoint, y.Endpoint, StringComparison.OrdinalIgnoreCase) ||
                 BackupConnection.EndpointText(x.Endpoint) == BackupConnection.EndpointText(y.Endpoint)) &&
                string.Equals(x.JobId, y.JobId, StringComparison.Ordinal) &&
                string.Equals(x.StatusUrl, y.StatusUrl, StringComparison.Ordinal));

        public int GetHashCode(BackupJob job) =>
            job == null ? 0 : (job.JobId ?? job.StatusUrl ?? string.Empty).GetHashCode();

        /// <summary>The jobs with each job once, in their first order (the list itself when none repeats).</summary>
        public static IReadOnlyList<BackupJob> Distinct(IReadOnlyList<BackupJob> jobs)
        {
            var seen = new HashSet<BackupJob>(Comparer);
            List<BackupJob> distinct = null;
            for (var i = 0; i < jobs.Count; i++)
            {
                if (seen.Add(jobs[i])) distinct?.Add(jobs[i]);
                else if (distinct == null)
                {
                    distinct = new List<BackupJob>(jobs.Count);
                    for (var j = 0; j < i; j++) distinct.Add(jobs[j]);
                }
            }
            return (IReadOnlyList<BackupJob>)distinct ?? jobs;
        }
    }
}
