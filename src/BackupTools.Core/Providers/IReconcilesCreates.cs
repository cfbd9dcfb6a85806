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
        /// began earlier are another run's, whatever their name; so is one that began since but that this process
        /// already handed out as another create's (<see cref="HandedOutBackups"/>; the caller claims what this finds only
        /// once no other create of the name is still waiting for an answer that may name it). A backup of the name that cannot be
        /// shown to be this create's (no Date to compare with, no begin time, two that began since, or only another
        /// create's) is never claimed: it is named in <see cref="FoundBackup.Unproven"/>.
        /// </summary>
        Task<FoundBackup> FindExistingAsync(ServiceCall call, BackupRequest request, Func<TimeSpan> age);
    }

    /// <summary>What a lookup by name found: this create's backup, or one that cannot be shown to be it.</summary>
    internal sealed class FoundBackup
    {
        private FoundBackup(BackupJob job, string unproven, string anothers = null, bool anothersByAnswer = false)
        {
            Job = job;
            Unproven = unproven;
            Anothers = anothers;
            AnothersByAnswer = anothersByAnswer;
        }

        /// <summary>The backup this create made (it began since the create's first request left): followed.</summary>
        public BackupJob Job { get; }

        /// <summary>Else a sentence naming a backup of the name and why it cannot be told to be this create's, for the error.</summary>
        public string Unproven { get; }

        public static FoundBackup Ours(BackupJob job) => new FoundBackup(job ?? throw new ArgumentNullException(nameof(job)), null);

        /// <summary>
        /// Where nothing else was found: the id of a backup of the name, begun since this create, that this process
        /// handed out as another create's (so not this one's); else null.
        /// </summary>
        public string Anothers { get; }

        /// <summary>
        /// True when <see cref="Anothers"/> was named by that create's own answer: where names are unique and this
        /// create's repeat was told the name exists, this create made nothing. False when a lookup for that create
        /// (whose answer was lost too) claimed it.
        /// </summary>
        public bool AnothersByAnswer { get; }

        public static FoundBackup NotShown(string why) => new FoundBackup(null, why ?? throw new ArgumentNullException(nameof(why)));

        /// <summary>Only a backup that this process handed out as another create's (<paramref name="backupId"/>) was found.</summary>
        public static FoundBackup Another(string backupId, bool byAnswer) =>
            new FoundBackup(null, $"A backup of this name, {backupId}, began since this create, but it was already reported as another create's backup " +
                (byAnswer ? "(that create's answer named it)" : "(found by name for that create, whose answer was lost too)") +
                ", so it is not taken for this one's.", backupId ?? throw new ArgumentNullException(nameof(backupId)), byAnswer);
    }
}
