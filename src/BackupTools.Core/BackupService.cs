using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Security;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Async;
using BackupTools.Http;
using BackupTools.Jobs;
using BackupTools.Providers;
using BackupTools.Validation;

namespace BackupTools
{
    /// <summary>What Connect-BackupService asks for.</summary>
    public sealed class ConnectRequest
    {
        /// <summary>Provider name.</summary>
        public string Provider { get; set; }
        /// <summary>The service's base address; or give <see cref="Region"/>.</summary>
        public Uri Endpoint { get; set; }
        /// <summary>A region name the provider knows; or give <see cref="Endpoint"/>.</summary>
        public string Region { get; set; }
        /// <summary>Project id (TaurusDB, DDS).</summary>
        public string Scope { get; set; }
        /// <summary>A ready token (AccessToken; or the first token of TokenProvider).</summary>
        public SecureString AccessToken { get; set; }
        /// <summary>Access key id (AccessKey).</summary>
        public string AccessKeyId { get; set; }
        /// <summary>Secret access key (AccessKey).</summary>
        public SecureString SecretAccessKey { get; set; }
        /// <summary>User name (Credential).</summary>
        public string UserName { get; set; }
        /// <summary>Password (Credential).</summary>
        public SecureString Password { get; set; }
        /// <summary>IAM: the user's domain (account) name; the user name when not given.</summary>
        public string DomainName { get; set; }
        /// <summary>IAM: the identity service's address; derived from the endpoint when not given.</summary>
        public Uri IdentityEndpoint { get; set; }
        /// <summary>OAuth client id (ClientCredential).</summary>
        public string ClientId { get; set; }
        /// <summary>OAuth client secret (ClientCredential).</summary>
        public SecureString ClientSecret { get; set; }
        /// <summary>
        /// A way to get a fresh token (TokenProvider). It receives the log of the operation that needs the token: the
        /// cmdlets' log is their pump, which can run work on the pipeline thread.
        /// </summary>
        public Func<IOperationLog, CancellationToken, Task<SecureString>> TokenProvider { get; set; }
        /// <summary>Switch off certificate validation (self-signed on-premises servers).</summary>
        public bool SkipCertificateCheck { get; set; }
    }

    /// <summary>
    /// The operations the cmdlets call: connect, start a backup, read a job, wait for jobs. Everything a cmdlet does
    /// beyond binding and writing to the pipeline lives here, where xunit reaches it.
    /// </summary>
    public static class BackupService
    {
        /// <summary>The providers, as Get-BackupProvider lists them.</summary>
        public static IEnumerable<BackupProviderInfo> Providers => ProviderRegistry.All.Select(p => p.Info);

        /// <summary>Provider names, for completion.</summary>
        public static IEnumerable<string> ProviderNames => ProviderRegistry.Names;

        /// <summary>Names of the providers that can start <paramref name="kind"/> backups, for completion.</summary>
        public static IEnumerable<string> ProviderNamesOffering(BackupKind kind) =>
            ProviderRegistry.All.Where(p => p.Info.Kinds.Contains(kind)).Select(p => p.Info.Name);

        /// <summary>Region names of one provider, for completion (empty for an unknown provider).</summary>
        public static IEnumerable<string> RegionsOf(string provider) =>
            ProviderRegistry.All.FirstOrDefault(p => string.Equals(p.Info.Name, provider, StringComparison.OrdinalIgnoreCase))?.Info.Regions
            ?? Enumerable.Empty<string>();

        /// <summary>
        /// The backup stores of the connection's service, for completion: empty when the service has none, or when they
        /// cannot be read within <paramref name="timeout"/> (completion must never fail or hang). A key press never signs
        /// in: only a token the connection already holds is used (none before its first command with a user name and
        /// password), and a refused one is not renewed. The names are kept for a few minutes per connection, so a
        /// second Tab does not ask again.
        /// </summary>
        public static IReadOnlyList<string> BackupStoreNames(BackupConnection connection, TimeSpan timeout)
        {
            if (connection == null) return Array.Empty<string>();
            if (!(ProviderRegistry.All.FirstOrDefault(p => string.Equals(p.Info.Name, connection.Provider, StringComparison.OrdinalIgnoreCase))
                    is IBackupStoreLister lister))
                return Array.Empty<string>();
            if (StoreNamesSeen.TryGetValue(connection, out var seen) && DateTimeOffset.UtcNow - seen.At < StoreNamesKept) return seen.Names;
            if (!connection.Credential.HasTokenAtHand) return Array.Empty<string>();
            using (var cts = new CancellationTokenSource(timeout))
            {
                try
                {
                    var call = new ServiceCall(connection, NullOperationLog.Instance, cts.Token) { RequestTimeout = timeout, MayRenew = false };
                    var names = Task.Run(() => lister.StoreNamesAsync(call)).GetAwaiter().GetResult();
                    lock (StoreNamesSeen) // (two completions at once: a second Add of one key would throw)
                    {
                        StoreNamesSeen.Remove(connection);
                        StoreNamesSeen.Add(connection, new StoreNames { Names = names, At = DateTimeOffset.UtcNow });
                    }
                    return names;
                }
                catch (Exception ex) when (ex is BackupToolsException || ex is OperationCanceledException)
                {
                    return Array.Empty<string>();
                }
            }
        }

        private sealed class StoreNames
        {
            public IReadOnlyList<string> Names;
            public DateTimeOffset At;
        }

        private static readonly TimeSpan StoreNamesKept = TimeSpan.FromMinutes(5);
        private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<BackupConnection, StoreNames> StoreNamesSeen =
            new System.Runtime.CompilerServices.ConditionalWeakTable<BackupConnection, StoreNames>();

        /// <summary>Checks a connection request and builds the connection. Sends nothing.</summary>
        public static BackupConnection Connect(ConnectRequest request)
        {
            var provider = ProviderRegistry.Get(request.Provider);
            var info = provider.Info;
            Uri endpoint;
            string region = null;
            if (request.Endpoint != null && !string.IsNullOrEmpty(request.Region))
                throw ConnectError(info, $"Give either -Endpoint or -Region for {info.Name}, not both.");
            if (request.Endpoint != null)
            {
                endpoint = request.Endpoint;
            }
            else if (!string.IsNullOrEmpty(request.Region))
            {
                if (!info.RegionEndpoints.TryGetValue(request.Region.Trim(), out endpoint))
                    throw new BackupToolsException(ErrorIds.ConnectionEndpointInvalid, BackupErrorCategory.InvalidArgument,
                        info.Regions.Length == 0
                            ? $"{info.Name} has no regions; pass -Endpoint (its address) instead of -Region."
                            : $"{info.Name} has no region '{request.Region}'. Known regions: {string.Join(", ", info.Regions)}. For another region or a private deployment, pass -Endpoint.",
                        request.Region) { Provider = info.Name };
                region = info.RegionEndpoints.Keys.First(k => string.Equals(k, request.Region.Trim(), StringComparison.OrdinalIgnoreCase));
            }
            else
            {
                throw ConnectError(info, info.Regions.Length > 0
                    ? $"{info.Name} needs -Endpoint or -Region (one of {string.Join(", ", info.Regions)})."
                    : $"{info.Name} needs -Endpoint.");
            }
            endpoint = EndpointRule.Check(info.Name, endpoint);

            if (info.ScopeName != null)
            {
                try
                {
                    provider.ValidateScope(request.Scope);
                }
                catch (BackupToolsException ex) when (ex.ErrorId == ErrorIds.BackupParameterInvalid)
                {
                    // A connection parameter: report it as one, with the rule's message.
                    throw new BackupToolsException(ErrorIds.ConnectionParameterInvalid, BackupErrorCategory.InvalidArgument, ex.Message, request.Scope, ex)
                    { Provider = info.Name, RecommendedAction = ex.RecommendedAction };
                }
            }
            else if (!string.IsNullOrEmpty(request.Scope))
                throw ConnectError(info, $"{info.Name} has no project id; leave -ProjectId out.");

            var method = MethodOf(request, info);
            if (!info.AuthenticationMethods.Contains(method))
                throw ConnectError(info, $"{info.Name} does not offer the {method} authentication method. It offers: {string.Join(", ", info.AuthenticationMethods)}.");
            // Sign-in details that only an identity service uses are refused where there is none, not silently dropped.
            var signIn = request.IdentityEndpoint != null ? "-IdentityEndpoint" : !string.IsNullOrEmpty(request.DomainName) ? "-DomainName" : null;
            if (signIn != null && !(method == AuthenticationMethods.Credential && info.SignsInWithIdentityService))
                throw ConnectError(info, $"{signIn} applies only to the Credential method of {string.Join(", ", ProviderRegistry.All.Where(p => p.Info.SignsInWithIdentityService).Select(p => p.Info.Name))}, " +
                    "which sign in to an identity service; leave it out.");
            var credential = method == AuthenticationMethods.AccessToken
                ? new AccessTokenCredential(request.AccessToken)
                : provider.CreateCredential(method, request, endpoint);
            return new BackupConnection(info.Name, endpoint, region, request.Scope, credential, request.SkipCertificateCheck);
        }

        /// <summary>The method the request's fields name; exactly one, complete.</summary>
        private static string MethodOf(ConnectRequest r, BackupProviderInfo info)
        {
            var methods = new List<string>();
            if (r.TokenProvider != null) methods.Add(AuthenticationMethods.TokenProvider);
            else if (r.AccessToken != null) methods.Add(AuthenticationMethods.AccessToken);
            if (r.AccessKeyId != null || r.SecretAccessKey != null) methods.Add(AuthenticationMethods.AccessKey);
            if (r.UserName != null || r.Password != null) methods.Add(AuthenticationMethods.Credential);
            if (r.ClientId != null || r.ClientSecret != null) methods.Add(AuthenticationMethods.ClientCredential);
            if (methods.Count == 0)
                throw ConnectError(info, $"{info.Name} needs a credential. It offers: {string.Join(", ", info.AuthenticationMethods)}.");
            if (methods.Count > 1)
                throw ConnectError(info, $"Give one authentication method, not {string.Join(" and ", methods)}.");
            var method = methods[0];
            void Need(bool ok, string what) { if (!ok) throw ConnectError(info, $"The {method} method needs {what}."); }
            switch (method)
            {
                case AuthenticationMethods.AccessKey:
                    Need(!string.IsNullOrWhiteSpace(r.AccessKeyId) && r.SecretAccessKey != null && r.SecretAccessKey.Length > 0, "-AccessKeyId and -SecretAccessKey");
                    break;
                case AuthenticationMethods.Credential:
                    Need(!string.IsNullOrWhiteSpace(r.UserName) && r.Password != null && r.Password.Length > 0, "a user name and password");
                    break;
                case AuthenticationMethods.ClientCredential:
                    Need(!string.IsNullOrWhiteSpace(r.ClientId) && r.ClientSecret != null && r.ClientSecret.Length > 0, "-ClientId and -ClientSecret");
                    break;
            }
            return method;
        }

        // The provider's name is the record's target: Connect-BackupService has no other object to name (and its
        // request holds secrets).
        private static BackupToolsException ConnectError(BackupProviderInfo info, string message) =>
            new BackupToolsException(ErrorIds.ConnectionParameterInvalid, BackupErrorCategory.InvalidArgument, message, info.Name) { Provider = info.Name };

        /// <summary>
        /// The connection a new backup starts on: <paramref name="given"/> (-Connection, a row's Connection) when there is
        /// one, else the session's default for <paramref name="provider"/> or <paramref name="kind"/>. A given connection
        /// and a named provider (-Provider, a row's Provider) must agree: the backup would otherwise start on the
        /// connection's service, of whatever that service holds under the row's instance id, with no word of the provider
        /// the row named. Refused before anything is sent, with the id a job read through another provider's connection
        /// gets (<see cref="CheckMatches"/>), the request as target.
        /// </summary>
        /// <remarks>
        /// A named provider that does not offer <paramref name="kind"/> is refused as such (ProviderOperationNotSupported)
        /// before the session's connections are looked at: without a connection to it, ConnectionNotFound told the user to
        /// run Connect-BackupService, only for the next try to be refused for the kind.
        /// </remarks>
        public static BackupConnection ConnectionForNewBackup(BackupConnection given, string provider, BackupKind kind,
            Session.ConnectionStore store, BackupRequest request)
        {
            if (given == null)
            {
                if (!string.IsNullOrEmpty(provider)) CheckOffers(ProviderRegistry.Get(provider), kind, request);
                return store.ForNewBackup(provider, kind);
            }
            if (string.IsNullOrEmpty(provider) || string.Equals(given.Provider, provider, StringComparison.OrdinalIgnoreCase)) return given;
            var named = ProviderRegistry.Get(provider).Info.Name; // a name no provider has is ProviderNotFound, as without -Connection
            throw new BackupToolsException(ErrorIds.ConnectionNotFound, BackupErrorCategory.InvalidArgument,
                $"The backup is for {named} (-Provider or the row's Provider), but the connection is to {given.Provider}. Nothing was sent.", request)
            {
                Provider = named,
                RecommendedAction = $"Pass a connection to {named} with -Connection, or leave -Provider out: the connection names its service.",
            };
        }

        /// <summary>Checks a backup request against the provider's rules. Sends nothing.</summary>
        public static void Validate(BackupConnection connection, BackupRequest request)
        {
            if (connection == null) throw new ArgumentNullException(nameof(connection));
            var provider = ProviderRegistry.Get(connection.Provider);
            CheckOffers(provider, request.Kind, request);
            provider.Validate(connection, request);
        }

        /// <summary>ProviderOperationNotSupported, about <paramref name="request"/>, when <paramref name="provider"/> does not offer <paramref name="kind"/>.</summary>
        private static void CheckOffers(IBackupProvider provider, BackupKind kind, BackupRequest request)
        {
            if (!provider.Info.Kinds.Contains(kind))
                throw new BackupToolsException(ErrorIds.ProviderOperationNotSupported, BackupErrorCategory.InvalidOperation,
                    $"{provider.Info.Name} does not offer {(kind == BackupKind.DisasterRecovery ? "disaster-recovery" : "instance")} backups.",
                    request) { Provider = provider.Info.Name };
        }

        /// <summary>
        /// Checks the request, then starts the backup, repeating the create only where that cannot make a second backup
        /// (see <see cref="CreateRetryOptions"/>). Returns the job handle.
        /// </summary>
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        public static async Task<BackupJob> StartAsync(BackupConnection connection, BackupRequest request, IOperationLog log,
            CancellationToken cancellationToken, CreateRetryOptions retry = null)
        {
            Validate(connection, request);
            log = log ?? NullOperationLog.Instance;
            var provider = ProviderRegistry.Get(connection.Provider);
            var reconciler = provider as IReconcilesCreates;
            retry = retry ?? Resilience.DefaultOptions;
            using (var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            // While this create runs, the backups other creates are handed out stay on record: its lookup by name, if its
            // answer is lost, must not claim one of them, nor one that another create of the name may yet be answered with.
            using (var running = reconciler != null ? HandedOutBackups.Process.Begin(connection, request.InstanceId, request.Name) : null)
            {
                if (retry.Budget > TimeSpan.Zero && retry.Budget != Timeout.InfiniteTimeSpan) budget.CancelAfter(retry.Budget);
                var call = new ServiceCall(connection, log, budget.Token) { RequestTimeout = retry.RequestTimeout };
                // Backups of this name that began before this create (less a margin for the services' whole-second
                // times) are not its; measured on this machine's monotonic clock, compared on the service's.
                var sinceStart = System.Diagnostics.Stopwatch.StartNew();
                TimeSpan Age() => sinceStart.Elapsed + ReconcileMargin;
                var attempts = 0;
                var createsBefore = 0;
                var maybeSent = false;     // some attempt's create request left and its outcome is not known
                var lastAfterCreate = false; // the last failure came after its attempt's create request left
                BackupToolsException last = null;
                var lookFirst = 0;         // 1: look the backup up by name before the next repeat
                string unsettled = null;   // a backup found whose claim waited on another create's answer, and was cut off
                [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
                async Task<BackupJob> Create()
                {
                    Interlocked.Increment(ref attempts);
                    createsBefore = call.CreatesSent;
                    // Out unanswered from before the request leaves: another create's lookup must not claim a backup of
                    // the name meanwhile, as this one's answer may name it.
                    running?.Sending();
                    try
                    {
                        var made = await provider.StartAsync(call, request).NoContext();
                        // Named by the create's answer: a lookup for another create must not claim it (recorded before
                        // the lookups waiting on this create go on).
                        running?.Answered(made.BackupId);
                        return made;
                    }
                    finally
                    {
                        running?.Settled();
                    }
                }
                // Looks the backup up by name and claims what it finds for this create, once no other create of this
                // process of the same name is still waiting for an answer that may name that backup (rows of one
                // name run at once: the second, lost, took the first's backup for its own while the first's answer
                // was on its way). When that wait is cut off (the budget, the caller), the backup found is named in
                // `unsettled` and the cancellation goes on.
                [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
                async Task<FoundBackup> FindAndClaim()
                {
                    var found = await reconciler.FindExistingAsync(call, request, Age).NoContext();
                    if (found?.Job == null) return found;
                    var id = found.Job.BackupId;
                    try
                    {
                        await running.OthersSettledAsync(budget.Token).NoContext();
                    }
                    catch (OperationCanceledException)
                    {
                        unsettled = $"A backup of this name, {id}, began since this create, but another create of this process of the same name " +
                            "was still waiting for its answer, which may name it, when this create stopped: whether it is this create's cannot be told.";
                        throw;
                    }
                    if (HandedOutBackups.Process.TryClaim(connection, request.InstanceId, id)) return found;
                    // Another create of this process was handed it meanwhile.
                    HandedOutBackups.Process.WasHandedOut(connection, request.InstanceId, id, out var byAnswer);
                    return FoundBackup.Another(id, byAnswer);
                }
                [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
                async Task<BackupJob> LookThenCreate()
                {
                    FoundBackup found = null;
                    try
                    {
                        found = await FindAndClaim().NoContext();
                    }
                    catch (BackupToolsException lookup)
                    {
                        log.Verbose($"{provider.Info.Name}: looking for backup '{request.Name}' failed: {lookup.Message}");
                    }
                    if (found?.Job != null)
                    {
                        log.Verbose($"{provider.Info.Name}: backup '{request.Name}' was created by an earlier attempt; following it.");
                        return found.Job;
                    }
                    // Not there, or not shown to be this create's (another create's among them): the busy repeats go
                    // on. (A create is repeated after a lost answer only where names are unique, so a repeat cannot make
                    // a second backup; the last lookup, when the repeats end, names a backup that could not be shown to
                    // be this create's.)
                    return await Create().NoContext();
                }
                try
                {
                    var job = await Resilience.ExecuteAsync(RetryRules.ForCreates(retry, uniqueNames: reconciler != null && reconciler.NamesAreUnique), log,
                        ct => Interlocked.Exchange(ref lookFirst, 0) == 1 ? LookThenCreate() : Create(),
                        budget.Token, observe: ex =>
                    {
                        // A failure before the create request left (an ArcGIS store lookup, a token) leaves nothing behind.
                        lastAfterCreate = call.CreatesSent > createsBefore;
                        if (ex is BackupToolsException failed)
                        {
                            last = failed;
                            // "Busy" after an attempt that may have got through is most likely that very backup
                            // running: look it up by name before the next repeat rather than after every busy repeat
                            // (not found, the instance is busy with something else, and the repeats go on).
                            if (maybeSent && reconciler != null && failed.Category == BackupErrorCategory.ResourceBusy) Volatile.Write(ref lookFirst, 1);
                            if (lastAfterCreate && Resilience.LeavesCreateInDoubt(failed)) maybeSent = true;
                        }
                        else if (ex is OperationCanceledException && lastAfterCreate) maybeSent = true; // cut off while the request was out
                    }).NoContext();
                    return job;
                }
                catch (OperationCanceledException ex) when (budget.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    throw BudgetSpent(provider.Info.Name, request, retry.Budget, maybeSent, last, ex, unsettled);
                }
                catch (OperationCanceledException ex) when (maybeSent && cancellationToken.IsCancellationRequested && !(ex is CreateCutOffException))
                {
                    // Stopped by the caller (Ctrl+C) after a create request left unanswered: still a cancellation, which
                    // says so, for a caller that must tell the user a backup may have started.
                    throw new CreateCutOffException(provider.Info.Name, request, ex, unsettled);
                }
                catch (BackupToolsException ex) when (reconciler != null && (maybeSent || (attempts > 1 && reconciler.IsAlreadyExists(ex))))
                {
                    // A create went unanswered (and was not repeated, or its repeats ended in another error, such as
                    // "busy" because that very backup is running, or "already exists" because an earlier attempt got
                    // through): look for its backup by name, and report that one, never a second one.
                    FoundBackup existing = null;
                    var lookedUp = false;
                    try
                    {
                        existing = await FindAndClaim().NoContext();
                        lookedUp = true;
                    }
                    catch (BackupToolsException lookup)
                    {
                        log.Verbose($"{provider.Info.Name}: looking for backup '{request.Name}' failed: {lookup.Message}");
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        // The create's budget ended during the lookup: the create may still have started.
                        log.Verbose($"{provider.Info.Name}: looking for backup '{request.Name}' was cut off by the create's budget.");
                        if (unsettled != null) existing = FoundBackup.NotShown(unsettled);
                    }
                    catch (OperationCanceledException cut) when (maybeSent)
                    {
                        // Stopped by the caller (Ctrl+C) while looking: the handler above for a cut-off create is a
                        // sibling of this one and never sees this, and a plain cancellation would drop a backup the
                        // service may hold without a word.
                        throw new CreateCutOffException(provider.Info.Name, request, cut, unsettled);
                    }
                    if (existing?.Job != null)
                    {
                        log.Verbose($"{provider.Info.Name}: backup '{request.Name}' was created by an earlier attempt; following it.");
                        return existing.Job;
                    }
                    // The name is taken by the backup another create's own answer named, and names are unique: this
                    // create's requests were refused or never read, so it made nothing. Said so, never that backup.
                    if (existing?.Anothers != null && existing.AnothersByAnswer && reconciler.NamesAreUnique && reconciler.IsAlreadyExists(ex))
                        throw NameTaken(ex, request, existing.Anothers);
                    // Not found, or not shown to be this create's: after an unanswered attempt the backup may still be
                    // this create's; after refusals only (nothing made), "already exists" is another backup's name,
                    // reported as the service said it.
                    if (maybeSent)
                        throw MaybeStarted(ex, request, lastAfterCreate, attempts, provider,
                            repeated: reconciler.NamesAreUnique && call.CreatesSent > 1 ? call.CreatesSent : 0, notFound: lookedUp && existing == null,
                            unproven: existing?.Unproven);
                    throw;
                }
                catch (BackupToolsException ex) when (lastAfterCreate &&
                    ((ex.ErrorId == ErrorIds.BackupResponseInvalid && ex.HttpStatus >= 200 && ex.HttpStatus < 300) || Resilience.IsGatewayInDoubt(ex)))
                {
                    throw MaybeStarted(ex, request, lastAfterCreate, attempts, provider);
                }
            }
        }

        /// <summary>
        /// Added to a create's age when backups are looked for by name. The age runs from before the first create request
        /// left until the list's answer is in, so latency is inside it; what is left is the services' whole seconds: a
        /// begin time and a Date header each cut to the second (and a server's Date may lag its clock by up to one).
        /// It was 30 s, and a backup of the same name begun up to half a minute before this create was taken for its own.
        /// This assumes the gateway that writes Date and the database service that writes begin_time keep the same time
        /// to within about a second: where they do not, a lost create's own backup is not followed but named in a
        /// BackupCreateOutcomeUnknown error (never a second backup, never another backup taken for this one).
        /// </summary>
        internal static readonly TimeSpan ReconcileMargin = TimeSpan.FromSeconds(2);

        /// <summary>
        /// The service's "already exists" for a create whose backup name is held by <paramref name="backupId"/>, which
        /// another create's answer named: where names are unique this create made nothing, whatever became of a request
        /// of its whose answer was lost.
        /// </summary>
        private static BackupToolsException NameTaken(BackupToolsException ex, BackupRequest request, string backupId)
        {
            var error = ex.Restated(
                $"{ex.Message} The name is held by backup {backupId}, which another create of this process started (its answer named it): " +
                $"backup names are unique, so this create made no backup. Request: {request}.", request, ex);
            error.RecommendedAction = $"Give this backup another name; backup {backupId} is the other create's.";
            return error;
        }

        /// <summary>
        /// The error for a create that may have started: an unknown outcome as it is; an unreadable 2xx becomes one (said
        /// to be accepted only when its status is <paramref name="provider"/>'s
        /// <see cref="IBackupProvider.AcceptedCreateStatus"/>); any other last error (after an earlier unanswered
        /// attempt) is kept as the cause of one. <c>repeated</c>: how many
        /// create requests were sent where names are unique (a repeat cannot make a second backup), when more than one,
        /// else 0; <c>notFound</c>: the backup was looked for by name and not found (false: the lookup failed, or found
        /// <c>unproven</c>: a sentence naming a backup of the name that cannot be shown to be this create's).
        /// </summary>
        private static BackupToolsException MaybeStarted(BackupToolsException ex, BackupRequest request, bool lastAfterCreate, int attempts,
            IBackupProvider provider, int repeated = 0, bool notFound = false, string unproven = null)
        {
            var found = unproven == null ? string.Empty : " " + unproven;
            if (ex.ErrorId == ErrorIds.BackupCreateOutcomeUnknown)
            {
                // The transport's words say its one request "was not sent again"; where the create was repeated (DDS,
                // whose names are unique) they would be untrue. (TaurusDB never repeats one: its words stand.)
                var repeatedWords = repeated > 1 && ex.Message.IndexOf(NotSentAgain, StringComparison.Ordinal) >= 0;
                if (!repeatedWords && unproven == null) return ex;
                var text = !repeatedWords ? ex.Message
                    : ex.Message.Replace(NotSentAgain, $"It was sent {repeated} times in all (the service's backup names are unique, so a repeat cannot make a second backup)" +
                        (unproven != null ? "." : notFound ? ", and no backup of this name was found." : "; looking for a backup of this name failed."));
                return new BackupToolsException(ex.ErrorId, ex.Category, text + found, ex.Target, ex.InnerException)
                {
                    Provider = ex.Provider,
                    ServiceCode = ex.ServiceCode,
                    ServiceMessage = ex.ServiceMessage,
                    HttpStatus = ex.HttpStatus,
                    RecommendedAction = ex.RecommendedAction,
                };
            }
            // Said to be accepted only where the status itself says so (Dataverse's and Cloud Foundry's 202): ArcGIS answers
            // most refusals with 200, TaurusDB and DDS document 200 with an error body, and an unread body may be one.
            var message = ex.ErrorId == ErrorIds.BackupResponseInvalid && lastAfterCreate && ex.HttpStatus != null && ex.HttpStatus == provider.AcceptedCreateStatus
                // The service said yes but its answer cannot be read: the backup probably started, and its handle is lost.
                ? $"{ex.Message} The service accepted the request, so the backup may have started; its job could not be read. Request: {request}."
                : attempts > 1
                    ? $"An earlier create request went unanswered, so the backup may have started; the last attempt ended with: {ex.Message} Request: {request}."
                    : $"{ex.Message} The create request may have reached the service, so the backup may have started. Request: {request}.";
            return new BackupToolsException(ErrorIds.BackupCreateOutcomeUnknown, BackupErrorCategory.ProtocolError, message + found, request, ex)
            {
                Provider = ex.Provider,
                ServiceCode = ex.ServiceCode,
                ServiceMessage = ex.ServiceMessage,
                HttpStatus = ex.HttpStatus,
            };
        }

        /// <summary>
        /// How a create that ended in <paramref name="ended"/> leaves its backup: may it exist? Yes when cut off after its
        /// request left unanswered, or with an unknown outcome; no for a refusal, or a cancellation before any request left.
        /// </summary>
        internal static bool CreateMayHaveStarted(Exception ended) =>
            ended is CreateCutOffException ||
            (ended is BackupToolsException e && e.ErrorId == ErrorIds.BackupCreateOutcomeUnknown);

        /// <summary>A create stopped by its caller after its request left without an answer: the backup may have started.</summary>
        internal sealed class CreateCutOffException : OperationCanceledException
        {
            public CreateCutOffException(string provider, BackupRequest request, OperationCanceledException inner, string unproven = null)
                : base($"{provider}: the create was stopped after its request left without an answer; the backup may have started. Request: {request}." +
                    (unproven == null ? string.Empty : " " + unproven), inner, inner.CancellationToken)
            {
            }
        }

        /// <summary>What a transport error of a create says of its request (<see cref="ServiceCall"/>).</summary>
        internal const string NotSentAgain = "It was not sent again.";

        private static BackupToolsException BudgetSpent(string provider, BackupRequest request, TimeSpan budget, bool maybeSent,
            BackupToolsException last, Exception inner, string unproven = null)
        {
            if (maybeSent)
                return new BackupToolsException(ErrorIds.BackupCreateOutcomeUnknown, BackupErrorCategory.OperationTimeout,
                    $"{provider} create gave up after its overall budget of {budget.TotalSeconds:0.#} s with a request unanswered or unreadable: " +
                    $"the backup may have started. Request: {request}." + (unproven == null ? string.Empty : " " + unproven), request, inner)
                {
                    Provider = provider,
                };
            return new BackupToolsException(last?.ErrorId ?? ErrorIds.BackupServiceUnreachable, BackupErrorCategory.OperationTimeout,
                $"{provider} create gave up after its overall budget of {budget.TotalSeconds:0.#} s; nothing was created." +
                (last != null ? " Last answer: " + last.Message : string.Empty), request, (Exception)last ?? inner)
            {
                Provider = provider,
                ServiceCode = last?.ServiceCode,
                ServiceMessage = last?.ServiceMessage,
                HttpStatus = last?.HttpStatus,
                RecommendedAction = "Try again later, or allow a longer budget.",
            };
        }

        /// <summary>Reads a job's status once and returns the job with it applied (the read repeated on transient failures by <paramref name="retry"/>'s read rules).</summary>
        public static Task<BackupJob> RefreshAsync(BackupConnection connection, BackupJob job, IOperationLog log, CancellationToken cancellationToken,
            CreateRetryOptions retry = null) =>
            RefreshAsync(connection, job, log, cancellationToken, retry, null);

        /// <summary>
        /// As the public overload; with <paramref name="reads"/>, each attempt goes through the endpoint's gate of the
        /// reads of one command (<see cref="JobReads"/>), on that command's call context of the connection.
        /// </summary>
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        internal static async Task<BackupJob> RefreshAsync(BackupConnection connection, BackupJob job, IOperationLog log, CancellationToken cancellationToken,
            CreateRetryOptions retry, JobReads reads)
        {
            var provider = ProviderRegistry.Get(job.Provider);
            CheckMatches(connection, job);
            var call = reads?.CallFor(connection) ?? new ServiceCall(connection, log, cancellationToken) { RequestTimeout = (retry ?? Resilience.DefaultOptions).RequestTimeout };
            Func<CancellationToken, Task<JobStatus>> attempt = reads == null
                ? (Func<CancellationToken, Task<JobStatus>>)(ct => provider.GetStatusAsync(call, job))
                : ct => reads.AttemptAsync(connection, job, () => provider.GetStatusAsync(call, job));
            var status = call.Scrubbed(await Resilience.ExecuteAsync(RetryRules.ForReads(retry), log, attempt, cancellationToken).NoContext());
            if (status.NotFound)
            {
                if (DateTimeOffset.UtcNow - job.NotFoundGraceFrom > provider.NotFoundGrace)
                    throw status.JobNotFound(job, $"{status.Call ?? job.Provider}: the service does not know job {job.JobId}", messageNamesCall: status.Call != null);
                status.RawStatus = "NotFound (starting)";
            }
            return job.With(status);
        }

        /// <summary>Follows jobs until each is final, the timeout passes, or the wait is cancelled.</summary>
        public static Task WaitAsync(IReadOnlyList<BackupJob> jobs, Func<BackupJob, BackupConnection> connectionFor, WaitOptions options,
            IJobWaitEvents events, IOperationLog log, CancellationToken cancellationToken)
        {
            var engine = new JobEngine(job =>
            {
                var c = connectionFor(job);
                CheckMatches(c, job);
                return c;
            }, log, options);
            return engine.RunAsync(jobs, events, cancellationToken);
        }

        /// <summary>
        /// A job may be read only through a connection of its own provider, at its own endpoint (where it names one) and,
        /// where both name one, its own project (its Scope, or the project of its status address): another project's
        /// credential and path would read the wrong project's jobs, or be refused; another endpoint's would read
        /// another deployment.
        /// </summary>
        internal static void CheckMatches(BackupConnection connection, BackupJob job)
        {
            var projectId = BackupConnection.ProjectOf(job);
            var project = string.IsNullOrEmpty(projectId) ? string.Empty : $" for project {projectId}";
            if (connection == null && string.IsNullOrWhiteSpace(job.Endpoint))
                throw new BackupToolsException(ErrorIds.ConnectionNotFound, BackupErrorCategory.ObjectNotFound,
                    $"The {job.Provider} job {job.JobId ?? job.StatusUrl} carries no Endpoint, and this session has no single connection to {job.Provider}{project} to read it with. " +
                    "Pass -Connection (a connection to its service), or give the job its Endpoint.",
                    job) { Provider = job.Provider };
            if (connection == null)
                throw new BackupToolsException(ErrorIds.ConnectionNotFound, BackupErrorCategory.ObjectNotFound,
                    $"There is no connection to {job.Provider} at {job.Endpoint}{project} in this session. Run Connect-BackupService for it" +
                    (project.Length == 0 ? string.Empty : $" (-ProjectId {projectId})") + ", or pass -Connection.",
                    job) { Provider = job.Provider };
            if (!string.Equals(connection.Provider, job.Provider, StringComparison.OrdinalIgnoreCase))
                throw new BackupToolsException(ErrorIds.ConnectionNotFound, BackupErrorCategory.InvalidArgument,
                    $"The job belongs to {job.Provider}, but the connection is to {connection.Provider}.", job)
                {
                    Provider = job.Provider,
                    RecommendedAction = $"Pass a connection to {job.Provider} with -Connection, or leave -Connection out: each job is then read with the session's connection to its own service.",
                };
            if (!string.IsNullOrWhiteSpace(job.Endpoint) && BackupConnection.MakeKey(job.Provider, job.Endpoint) != connection.EndpointKey)
                throw new BackupToolsException(ErrorIds.ConnectionNotFound, BackupErrorCategory.InvalidArgument,
                    $"The job belongs to {job.Provider} at {job.Endpoint}, but the connection is to {connection.Endpoint}; it was not read there.", job)
                {
                    Provider = job.Provider,
                    RecommendedAction = $"Run Connect-BackupService -Endpoint {job.Endpoint} for the job's service, or pass that connection with -Connection.",
                };
            // A status address on another host is refused as what it is (never followed: a SecurityError), before what
            // its path says of the project.
            if (!string.IsNullOrWhiteSpace(job.StatusUrl)) JobUrl.StatusUrlOf(connection, job);
            if (!connection.ServesProject(projectId))
                throw new BackupToolsException(ErrorIds.ConnectionNotFound, BackupErrorCategory.InvalidArgument,
                    $"The job belongs to project {projectId} of {job.Provider}, but the connection is to project {connection.Scope}; it was not read with another project's credential.",
                    job)
                {
                    Provider = job.Provider,
                    RecommendedAction = $"Run Connect-BackupService -ProjectId {projectId} for the job's project, or pass that connection with -Connection.",
                };
        }
    }
}
