using System.Threading.Tasks;
using BackupTools.Http;

namespace BackupTools.Providers
{
    /// <summary>
    /// A provider whose service requires unique backup names: when a repeated create answers "already exists", the
    /// first attempt did reach the service. The provider finds that backup so it is reported, never a second one.
    /// </summary>
    internal interface IReconcilesCreates
    {
        bool IsAlreadyExists(BackupToolsException error);

        /// <summary>The job of the backup the request already created, or null when there is none.</summary>
        Task<BackupJob> FindExistingAsync(ServiceCall call, BackupRequest request);
    }
}
