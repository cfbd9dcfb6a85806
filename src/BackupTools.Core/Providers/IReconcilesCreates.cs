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
        /// The job of the backup the request already created, or null when there is none, or when more than one backup
        /// of that name began at <paramref name="notBefore"/> or later (which one is this request's cannot be told).
        /// Backups that began earlier are another run's, whatever their name.
        /// </summary>
        Task<BackupJob> FindExistingAsync(ServiceCall call, BackupRequest request, DateTimeOffset notBefore);
    }
}
