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

        bool IsAlreadyExists(BackupToolsException error);

        /// <summary>
        /// The job of the backup the request already created, or null when there is none, or when it cannot be told
        /// which one that is: more than one backup of that name began within <paramref name="age"/> of the lookup, or
        /// one has no begin time. Times are the service's (its begin times against its Date header), so this machine's
        /// clock does not matter. Backups that began earlier are another run's, whatever their name.
        /// </summary>
        Task<BackupJob> FindExistingAsync(ServiceCall call, BackupRequest request, TimeSpan age);
    }
}
