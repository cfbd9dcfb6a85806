using System;
using System.Threading.Tasks;
using BackupTools.Http;

namespace BackupTools.Providers
{
    /// <summary>
    /// The one abstraction every service implements. A provider checks its service's rules, starts a backup and
    /// returns a <see cref="BackupJob"/> handle, and reads a job's current state. It never sees PowerShell.
    /// </summary>
    internal interface IBackupProvider
    {
        BackupProviderInfo Info { get; }

        /// <summary>
        /// Builds the credential for a method other than AccessToken that <see cref="BackupProviderInfo.AuthenticationMethods"/>
        /// lists (the request's fields for it are checked already). Sends nothing.
        /// </summary>
        BackupCredential CreateCredential(string method, ConnectRequest request, Uri endpoint);

        /// <summary>Checks the connection's scope (project id, …) against the service's rules.</summary>
        void ValidateScope(string scope);

        /// <summary>Checks every documented rule of the request; throws <see cref="ErrorIds.BackupParameterInvalid"/> on the first breach.</summary>
        void Validate(BackupConnection connection, BackupRequest request);

        /// <summary>Starts the backup. Returns the job handle as soon as the service accepted the request.</summary>
        Task<BackupJob> StartAsync(ServiceCall call, BackupRequest request);

        /// <summary>Reads the job's state once.</summary>
        Task<JobStatus> GetStatusAsync(ServiceCall call, BackupJob job);

        /// <summary>Shortest time between two status reads this service wants (zero when it states none).</summary>
        TimeSpan MinimumPollInterval { get; }

        /// <summary>How long after creation a "job not found" still means "starting".</summary>
        TimeSpan NotFoundGrace { get; }

        /// <summary>
        /// The HTTP status whose arrival alone means the service accepted a create, whatever its body (Dataverse's and
        /// Cloud Foundry's 202 Accepted); null where a 2xx may still carry a refusal in its body (ArcGIS answers most
        /// errors with 200; TaurusDB and DDS document 200 with an error body). A create answered so whose body cannot
        /// be read (cut off, malformed) is said to be accepted only with this status; else only to have maybe reached
        /// the service.
        /// </summary>
        int? AcceptedCreateStatus { get; }
    }

    /// <summary>
    /// A provider whose service answers errors in a shape of its own. Where the module reads an error body for a
    /// provider (a renewable credential's final HTTP 401, which <see cref="ServiceCall"/> reports), it asks this first;
    /// the five services' usual fields are the fallback. Optional: a provider that does not implement it gets the fallback.
    /// </summary>
    internal interface IReadsServiceErrors
    {
        /// <summary>
        /// The service's code and message in an error answer (either may be null), as the provider's own error parser
        /// reads them; null when the body is not one of its error shapes. Unmasked: the caller scrubs them.
        /// </summary>
        (string Code, string Message)? ErrorOf(ServiceResponse response);
    }

    /// <summary>A provider whose service keeps backups in named stores it can list (for completion).</summary>
    internal interface IBackupStoreLister
    {
        /// <summary>The names of the service's backup stores. One cheap read.</summary>
        Task<System.Collections.Generic.IReadOnlyList<string>> StoreNamesAsync(ServiceCall call);
    }
}
