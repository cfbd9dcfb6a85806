using System;
using System.Collections.Generic;
using System.Linq;

namespace BackupTools.Session
{
    /// <summary>
    /// The default connections of one PowerShell session state. The cmdlets keep one instance per runspace (in a
    /// session-state variable), never in a static, so parallel runspaces do not see each other's connections.
    /// </summary>
    public sealed class ConnectionStore
    {
        private readonly object _gate = new object();
        private readonly List<BackupConnection> _connections = new List<BackupConnection>();

        /// <summary>
        /// Makes the connection the default for its provider, endpoint and project: it replaces a connection to the same
        /// project, and is kept beside connections to other projects of the endpoint (each job is read with its own
        /// project's). Of those, the most recent is the one new backups use.
        /// </summary>
        public void SetDefault(BackupConnection connection)
        {
            if (connection == null) throw new ArgumentNullException(nameof(connection));
            lock (_gate)
            {
                _connections.RemoveAll(c => c.Key == connection.Key);
                _connections.Add(connection);
            }
        }

        /// <summary>All default connections, oldest first.</summary>
        public IReadOnlyList<BackupConnection> All
        {
            get { lock (_gate) return _connections.ToArray(); }
        }

        /// <summary>
        /// The connection for a job: same provider and endpoint, and the job's project where it names one (its Scope, or
        /// the project of its status address: TaurusDB, DDS); null when there is none, never another project's, however
        /// many connections there are.
        /// </summary>
        public BackupConnection ForJob(BackupJob job)
        {
            var key = BackupConnection.MakeKey(job.Provider, job.Endpoint);
            var project = BackupConnection.ProjectOf(job);
            lock (_gate)
            {
                // A job that names no endpoint (a hand-made one: Provider and JobId from a CSV) is the session's only
                // connection to its provider's (and project's), as a new backup would be; with none, none; with several,
                // an error that says what the job lacks.
                if (string.IsNullOrWhiteSpace(job.Endpoint))
                {
                    var only = _connections.Where(c => string.Equals(c.Provider, job.Provider, StringComparison.OrdinalIgnoreCase) && c.ServesProject(project)).ToList();
                    if (only.Count <= 1) return only.FirstOrDefault();
                    // Where one endpoint has connections to several projects, the Endpoint alone would not choose.
                    var needsProject = string.IsNullOrEmpty(project) && only.GroupBy(c => c.EndpointKey).Any(g => g.Count() > 1);
                    throw NotFound($"The {job.Provider} job {job.JobId ?? job.StatusUrl} carries no Endpoint, and this session has {only.Count} connections to " +
                        $"{job.Provider} ({string.Join(", ", only.Select(c => c.Endpoint + (string.IsNullOrEmpty(c.Scope) ? string.Empty : $" project {c.Scope}")))}). Pass -Connection to choose one, or give the job its Endpoint" +
                        (needsProject ? " and its Scope (project id)." : "."), ChooseOne);
                }
                var fitting = _connections.Where(c => c.EndpointKey == key && c.ServesProject(project)).ToList();
                if (fitting.Count <= 1 || !string.IsNullOrEmpty(project)) return fitting.LastOrDefault();
                // A job that names no project at all (no Scope, no status address) with connections to several projects
                // of its endpoint: never a guess.
                throw NotFound($"The {job.Provider} job {job.JobId ?? job.StatusUrl} names no project, and this session has connections to " +
                    $"{fitting.Count} projects at {job.Endpoint} ({string.Join(", ", fitting.Select(c => c.Scope))}). Pass -Connection to choose one, " +
                    "or give the job its Scope.", ChooseOne);
            }
        }

        /// <summary>The connections new backups may use: of several to one endpoint (other projects), the most recent.</summary>
        private List<BackupConnection> ForNew() =>
            _connections.Where((c, i) => !_connections.Skip(i + 1).Any(later => later.EndpointKey == c.EndpointKey)).ToList();

        /// <summary>
        /// The default connection for a new backup: the only one of the named provider when one is named, else the only
        /// connection there is. Throws <see cref="ErrorIds.ConnectionNotFound"/> with a message saying what to do.
        /// </summary>
        public BackupConnection ForNewBackup(string provider)
        {
            lock (_gate)
            {
                if (!string.IsNullOrEmpty(provider))
                {
                    var matches = ForNew().Where(c => string.Equals(c.Provider, provider, StringComparison.OrdinalIgnoreCase)).ToList();
                    if (matches.Count == 1) return matches[0];
                    if (matches.Count > 1)
                        throw NotFound($"This session has {matches.Count} connections to {matches[0].Provider} ({string.Join(", ", matches.Select(c => c.Endpoint))}). {ChooseOne}", ChooseOne);
                    Providers.ProviderRegistry.Get(provider); // a name no provider has is ProviderNotFound, not a missing connection
                    throw NotFound($"There is no connection to {provider} in this session. Run Connect-BackupService -Provider {provider} first, or pass -Connection.");
                }
                var all = ForNew();
                if (all.Count == 1) return all[0];
                if (all.Count == 0)
                    throw NotFound("There is no connection in this session. Run Connect-BackupService first, or pass -Connection.");
                throw Several(all, "connections to several services");
            }
        }

        /// <summary>
        /// The default connection for a new backup of a kind only some services offer: of the named provider when one
        /// is named, else the only connection whose service offers that kind.
        /// </summary>
        public BackupConnection ForNewBackup(string provider, BackupKind kind)
        {
            if (!string.IsNullOrEmpty(provider)) return ForNewBackup(provider);
            var what = kind == BackupKind.DisasterRecovery ? "disaster-recovery backups" : "instance backups";
            lock (_gate)
            {
                // Only the services this session is connected to are asked what they offer: building every provider
                // (its rules and tables) to answer would cost a runbook's first call several milliseconds.
                var fitting = ForNew().Where(c => Providers.ProviderRegistry.Get(c.Provider).Info.Kinds.Contains(kind)).ToList();
                if (fitting.Count == 1) return fitting[0];
                if (fitting.Count == 0)
                {
                    var offering = BackupService.Providers.Where(p => p.Kinds.Contains(kind)).Select(p => p.Name);
                    throw NotFound($"There is no connection in this session to a service that offers {what} ({string.Join(", ", offering)}). Run Connect-BackupService first, or pass -Connection.");
                }
                throw Several(fitting, "several connections that offer " + what);
            }
        }

        /// <summary>
        /// No provider named and several connections fit. Of several services, -Provider chooses; of one service at
        /// several endpoints (two regions), it would be refused in turn (<see cref="ForNewBackup(string)"/>), so only
        /// -Connection is advised, with the endpoints to choose from.
        /// </summary>
        private static BackupToolsException Several(List<BackupConnection> fitting, string what)
        {
            var providers = fitting.Select(c => c.Provider).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            return providers.Count == 1
                ? NotFound($"This session has {fitting.Count} connections to {providers[0]} ({string.Join(", ", fitting.Select(c => c.Endpoint))}). {ChooseOne}", ChooseOne)
                : NotFound($"This session has {what} ({string.Join(", ", providers)}). {ChooseProvider}", ChooseProvider);
        }

        // Several connections fit: the catalogue's action ("Run Connect-BackupService, or pass -Connection") would send the
        // user to connect again.
        private const string ChooseOne = "Pass -Connection to choose one.";
        private const string ChooseProvider = "Pass -Provider or -Connection to choose one.";

        private static BackupToolsException NotFound(string message, string action = null) =>
            new BackupToolsException(ErrorIds.ConnectionNotFound, BackupErrorCategory.ObjectNotFound, message) { RecommendedAction = action };
    }
}
