using System;
using System.Threading.Tasks;
using BackupTools.Http;

namespace BackupTools.Providers
{
    /// <summary>
    /// A provider that can find a backup by its name: when a create's outcome is unknown, or a repeated create answers
    /// "already exists", the backup an earlier attempt made is found and reported, never a second one made.
    /// </summary>
    internal interface IReconcilesCreates
    {
        /// <summary>
        /// Whether the service documents that it refuses a second backup of the same name: only then is a create whose
        /// outcome is unknown repeated. Either way, such a create's backup is looked for by name before it is reported lost.
        /// </summary>
        bool NamesAreUnique { get; }

        /// <summary>
        /// Where the names are unique, in words for an error ("a project"): the scope of the connection (its project),
        /// which is where one command's rows are checked against each other.
        /// </summary>
        string UniqueNamesIn { get; }

        bool IsAlreadyExists(BackupToolsException error);

        /// <summary>
        /// The backup the request already created, or null when there is no backup of that name that began within
        /// <paramref name="age"/> of the service's time. <paramref name="age"/> is read when the service's first answer
        /// is in: the time since the first create request left, plus a margin for whole-second times. Times are the
        /// service's (its begin times against its Date header), so this machine's clock does not matter. Backups that
        /// began earlier are another run's, whatever their name. A backup of the name that cannot be shown to be this
        /// create's (no Date to compare with, no begin time, two that began since) is never claimed: it is named in
        /// <see cref="FoundBackup.Unproven"/>.
        /// </summary>
        Task<FoundBackup> FindExistingAsync(ServiceCall call, BackupRequest request, Func<TimeSpan> age);
    }

    /// <summary>What a lookup by name found: this create's backup, or one that cannot be shown to be it.</summary>
    internal sealed class FoundBackup
    {
        private FoundBackup(BackupJob job, string unproven)
        {
            Job = job;
            Unproven = unproven;
        }

        /// <summary>The backup this create made (it began since the create's first request left): followed.</summary>
        public BackupJob Job { get; }

        /// <summary>Else a sentence naming a backup of the name and why it cannot be told to be this create's, for the error.</summary>
        public string Unproven { get; }

        public static FoundBackup Ours(BackupJob job) => new FoundBackup(job ?? throw new ArgumentNullException(nameof(job)), null);

        public static FoundBackup NotShown(string why) => new FoundBackup(null, why ?? throw new ArgumentNullException(nameof(why)));
    }
}
