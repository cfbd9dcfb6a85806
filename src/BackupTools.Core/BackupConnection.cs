using System;

namespace BackupTools
{
    /// <summary>
    /// A connection to one service endpoint: which provider, where, in which project or scope, and how it authenticates.
    /// The secret itself lives inside a non-public credential object that is never serialized or shown.
    /// </summary>
    public sealed class BackupConnection
    {
        internal BackupConnection(string provider, Uri endpoint, string region, string scope, BackupCredential credential,
            bool skipCertificateCheck)
        {
            Provider = provider;
            Endpoint = endpoint;
            Region = region;
            Scope = scope;
            Credential = credential ?? throw new ArgumentNullException(nameof(credential));
            SkipCertificateCheck = skipCertificateCheck;
            ConnectedAt = DateTimeOffset.UtcNow;
        }

        /// <summary>The provider name.</summary>
        public string Provider { get; }
        /// <summary>The service's base address.</summary>
        public Uri Endpoint { get; }
        /// <summary>The region the endpoint was derived from, if one was named.</summary>
        public string Region { get; }
        /// <summary>Project id (TaurusDB, DDS); null for services without one.</summary>
        public string Scope { get; }
        /// <summary>How requests are authenticated (for example <c>AccessToken</c>); never the secret.</summary>
        public string AuthenticationMethod => Credential.Method;
        /// <summary>True when certificate validation is switched off for this endpoint.</summary>
        public bool SkipCertificateCheck { get; }
        /// <summary>When the connection was made.</summary>
        public DateTimeOffset ConnectedAt { get; }

        internal BackupCredential Credential { get; }

        // Secrets sent besides a credential's (disaster-recovery passcodes), per endpoint (EndpointKey), process-wide:
        // the job a passcode was sent for may be read through another connection to that server (Connect-BackupService
        // again, another runspace, Wait-BackupJob -Connection), and the service's echo must be masked there too. The
        // endpoint's list holds every passcode any connection to it sent, so it is also the sending connection's own.
        // Nothing is ever dropped: a cap forgot the oldest, and a job started before 32 others (one batch with -Wait)
        // showed its passcode in full when it failed. Uncapped is small: a passcode is kept once, as a read-only copy
        // of about 200 bytes with its lock and unmanaged buffer (a nightly runbook's year is about 75 KB; 1,000
        // passcodes about 200 KB), and a process sends few disaster-recovery backups. Each list is guarded by itself.
        // Private, so never shown or serialized. A new process knows none of them.
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, System.Collections.Generic.List<System.Security.SecureString>> Sent =
            new System.Collections.Concurrent.ConcurrentDictionary<string, System.Collections.Generic.List<System.Security.SecureString>>(StringComparer.Ordinal);

        /// <summary>
        /// Remembers a secret a request to this connection's endpoint carries besides the credential's (an ArcGIS
        /// passcode), for the rest of the process, so that every later call to that endpoint, on this or any other
        /// connection of the process, masks it too: a status read that quotes the passcode is another call than the
        /// create's, and may be made through another connection. A secret sent again is kept once.
        /// </summary>
        internal void RememberSent(System.Security.SecureString secret)
        {
            if (secret == null || secret.Length == 0) return;
            var text = Secret.Reveal(secret);
            var sent = Sent.GetOrAdd(EndpointKey, _ => new System.Collections.Generic.List<System.Security.SecureString>(1));
            lock (sent)
            {
                // Only those of the same length are decoded (the length is read without decoding): a create costs a few
                // decodes, not one per passcode the endpoint was ever sent.
                foreach (var known in sent)
                    if (known.Length == secret.Length && string.Equals(Secret.Reveal(known), text, StringComparison.Ordinal)) return;
                var copy = secret.Copy();
                copy.MakeReadOnly();
                sent.Add(copy);
            }
        }

        /// <summary>
        /// The secrets <see cref="RememberSent"/> was given for this connection's endpoint (on any connection, this
        /// one's among them), to mask in what the service answers.
        /// </summary>
        internal System.Security.SecureString[] SentSecrets()
        {
            if (!Sent.TryGetValue(EndpointKey, out var sent)) return Array.Empty<System.Security.SecureString>();
            lock (sent) return sent.ToArray();
        }

        private string _key, _endpointKey;

        /// <summary>
        /// The connection's identity in a session: provider, endpoint and, for a service with projects (TaurusDB, DDS),
        /// the project id (all fixed, so made once). Connecting to another project of one region adds a connection.
        /// </summary>
        internal string Key => _key ?? (_key = MakeKey(Provider, Endpoint.ToString(), Scope));

        /// <summary>Provider and endpoint only: connections to several projects of one endpoint share it.</summary>
        internal string EndpointKey => _endpointKey ?? (_endpointKey = MakeKey(Provider, Endpoint.ToString()));

        /// <summary>True when a job of <paramref name="project"/> (null: it names none) may be read with this connection.</summary>
        internal bool ServesProject(string project) =>
            string.IsNullOrEmpty(project) || string.IsNullOrEmpty(Scope) || string.Equals(project, Scope, StringComparison.OrdinalIgnoreCase);

        /// <summary>
        /// The project a job belongs to, as its provider reads it (its Scope, else the project its status address names);
        /// null for a service without projects or a job that names none. A trimmed job (no Scope column) still names its
        /// project in its status address, and must not be read with another project's credential.
        /// </summary>
        internal static string ProjectOf(BackupJob job) =>
            Providers.ProviderRegistry.Find(job.Provider) is Providers.IHasProjects projects ? projects.ProjectOf(job) : null;

        private string _clientName;

        /// <summary>The name of the connection's HTTP client in the module's factory (fixed, so made once).</summary>
        internal string ClientName => _clientName ?? (_clientName = Http.BackupHttp.ClientName(Provider, Endpoint, SkipCertificateCheck));

        internal static string MakeKey(string provider, string endpoint, string scope = null) =>
            provider.ToUpperInvariant() + "|" + EndpointText(endpoint) +
            (string.IsNullOrEmpty(scope) ? string.Empty : "|" + scope.ToLowerInvariant());

        /// <summary>
        /// An endpoint as keys and job identities compare it: a connection's address (a <see cref="Uri"/>, whose text drops
        /// the default port) and a job's (text, perhaps typed by hand as <c>https://host:443/</c>) must give the same
        /// text for one place. Scheme, host and path without query, default port or trailing slash, lower-cased; text
        /// that is no address is only trimmed and lower-cased.
        /// </summary>
        internal static string EndpointText(string endpoint)
        {
            var text = (endpoint ?? string.Empty).Trim();
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && !uri.IsFile && !string.IsNullOrEmpty(uri.Host))
                text = uri.GetLeftPart(UriPartial.Path);
            return text.TrimEnd('/').ToLowerInvariant();
        }

        /// <summary>Provider, endpoint and scope; never a secret.</summary>
        public override string ToString() => $"{Provider} {Endpoint}" + (Scope != null ? $" ({Scope})" : string.Empty);
    }
}
