using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net.Http;
using System.Runtime.CompilerServices;
using System.Security;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Async;
using BackupTools.Http;

namespace BackupTools
{
    /// <summary>
    /// An access key id and secret access key: every request is signed with <c>SDK-HMAC-SHA256</c> (<see cref="AkSkSigner"/>)
    /// over its method, path, query, <c>Host</c>, <c>X-Sdk-Date</c>, <c>X-Project-Id</c> and body. There is no token to renew;
    /// a refused signature is final (Huawei locks a key after five failures in a row). The first refusal is remembered
    /// for the key and secret across the process: later requests on the connection, and on any other with that key and
    /// secret, fail with it and are never signed; Connect-BackupService with the same key and secret tries again only
    /// <see cref="RefusalKept"/> after it (measured on a monotonic clock, not the wall clock), with another secret at
    /// once. Only a connection's own refusal stands for it for good: another connection's stands only until a newer
    /// connection with the key and secret has a signature accepted. Until the service has accepted one signature of
    /// the key and secret, signed requests of every connection with them, to every endpoint, go one at a time, so that
    /// a wrong secret (or a clock more than 15 minutes off) costs one refused signature, not one per job a wait reads at
    /// once nor one per endpoint (the gateway counts failures per key: six endpoints locked it in one run). A request
    /// holds its turn until its answer or for <see cref="NoAnswerBound"/>, whichever is first, and a request to an
    /// endpoint that already has one without an answer waits for that one to end before it queues for the turn: an
    /// endpoint that answers nothing (a firewalled region, a dead endpoint) holds back the others for one bound at a
    /// time, however many requests are queued to it, not for its request timeout nor for one bound each.
    /// </summary>
    internal sealed class AkSkCredential : BackupCredential
    {
        private readonly string _accessKeyId;
        private readonly SecureString _secretKey;
        private BackupToolsException _refusal;
        // What the process knows of this key with this secret, shared with every connection that has both.
        private readonly KeyUse _use;
        // Stopwatch ticks (monotonic): a wall clock put right (a cause of refusal) must not lengthen or shorten the window.
        private readonly long _created = Timestamp();

        /// <summary>
        /// How long a refusal of a key and secret stands for connections made after it: Connect-BackupService with the
        /// same key and secret sends a signature again only once the gateway's lock (5 minutes) would have ended.
        /// </summary>
        internal static readonly TimeSpan RefusalKept = TimeSpan.FromMinutes(5);

        /// <summary>
        /// How long a request without an answer holds the key's one-at-a-time turn (before its first accepted signature)
        /// before the next request may go. Long enough for a live endpoint to answer: the gateway refuses a bad signature
        /// at once, so a wrong secret still costs one refused signature. Short enough that a dead or firewalled endpoint,
        /// which answers only at the request timeout (100 s by default), does not stall every other endpoint's and
        /// runspace's requests with the key, one timeout after another. Only an answer slower than this can let a second
        /// signature out before a refusal is known.
        /// </summary>
        internal static readonly TimeSpan NoAnswerBound = TimeSpan.FromSeconds(5);

        private static readonly long RefusalKeptTicks = (long)(RefusalKept.TotalSeconds * Stopwatch.Frequency);

        // Test hook: a monotonic time source for the current async flow only (tests in other flows keep the real one).
        private static readonly AsyncLocal<Func<long>> TestTimestamps = new AsyncLocal<Func<long>>();

        /// <summary>Test hook: makes <paramref name="timestamps"/> (Stopwatch ticks) the monotonic clock of this async flow.</summary>
        internal static void UseTimestamps(Func<long> timestamps) => TestTimestamps.Value = timestamps;

        /// <summary>Now on the monotonic clock the refusal window is measured on, in <see cref="Stopwatch"/> ticks.</summary>
        private static long Timestamp() => TestTimestamps.Value?.Invoke() ?? Stopwatch.GetTimestamp();

        /// <summary>
        /// One access key used with one secret, in this process: whether the service has accepted a signature of it,
        /// its last refusal, and the one-at-a-time gate before its first accepted signature. Kept process-wide, since
        /// the gateway counts refused signatures per key, not per connection: one connection per project or region, a
        /// ForEach-Object -Parallel runspace each, or Connect-BackupService run again, each sent its own refused
        /// signature, and six of them locked the key for every process that uses it.
        /// </summary>
        private sealed class KeyUse
        {
            public volatile Refusal Refused;
            public volatile bool Accepted;
            // Held by the one signed request in flight (to any endpoint) until the service has accepted a signature, for
            // at most NoAnswerBound each (not disposed: no wait handle is asked for). Per key, not per endpoint: each
            // endpoint's own first signature with a wrong secret counted toward the key's lock.
            public readonly SemaphoreSlim FirstAnswer = new SemaphoreSlim(1, 1);
            // Per endpoint (provider and endpoint), taken before FirstAnswer and held until the request's end (its answer,
            // its timeout, a cancellation, a failure), not only for the bound: the bound alone let each queued request to
            // a dead endpoint take the key's turn in its order and hold it NoAnswerBound, so a healthy endpoint's request
            // queued behind N of them waited N bounds (100 jobs of a dead region: about 8 minutes). Not disposed, as above.
            private readonly ConcurrentDictionary<string, SemaphoreSlim> _endpoints = new ConcurrentDictionary<string, SemaphoreSlim>(StringComparer.Ordinal);

            /// <summary>
            /// The gate of the endpoint <paramref name="connection"/> sends to (its <see cref="BackupConnection.EndpointKey"/>):
            /// the credential's requests all go to its connection's endpoint (the client is the connection's).
            /// </summary>
            public SemaphoreSlim EndpointGate(BackupConnection connection) =>
                _endpoints.GetOrAdd(connection.EndpointKey, _ => new SemaphoreSlim(1, 1));
        }

        /// <summary>
        /// One request's turn at <see cref="KeyUse.FirstAnswer"/>: given back exactly once, when the request has its answer
        /// (or none: an error, a cancellation) or <see cref="NoAnswerBound"/> after it was taken, whichever comes first.
        /// An object per turn, not a flag: once the bound has given a turn back, the late answer must not give back the
        /// next request's. The bound is a timer of this turn only (none exists while no turn is held, none at import).
        /// The endpoint's gate (<see cref="KeyUse.EndpointGate"/>) is given back exactly once too, but only at the end:
        /// the next request to an endpoint that answers nothing waits for this one, not for the bound.
        /// </summary>
        private sealed class Turn
        {
            private readonly SemaphoreSlim _gate;
            private readonly SemaphoreSlim _endpoint;
            private readonly CancellationTokenSource _bound;
            private int _givenBack;
            private int _ended;

            public Turn(SemaphoreSlim gate, SemaphoreSlim endpoint)
            {
                _gate = gate;
                _endpoint = endpoint;
                _bound = new CancellationTokenSource(NoAnswerBound);
                _bound.Token.Register(s => ((Turn)s).GiveBack(), this);
            }

            /// <summary>Releases the gate unless this turn already did (the timer and the answer may race).</summary>
            private void GiveBack()
            {
                if (Interlocked.Exchange(ref _givenBack, 1) == 0) _gate.Release();
            }

            /// <summary>The request has its answer (or none): gives the turn back if the bound has not, and stops the timer.</summary>
            public void Answered()
            {
                GiveBack();
                if (Interlocked.Exchange(ref _ended, 1) == 0) _endpoint.Release();
                // A timer callback running now finds the turn given back; after this none runs.
                _bound.Dispose();
            }
        }

        private sealed class Refusal
        {
            public BackupToolsException Error;
            public long At; // Stopwatch ticks
        }

        // Keyed by the access key id and a one-way digest of the secret (never the secret): a corrected secret is a
        // use of its own, tried at once. Entries are a few bytes each and stay for the process.
        private static readonly ConcurrentDictionary<string, KeyUse> KeyUses = new ConcurrentDictionary<string, KeyUse>(StringComparer.Ordinal);

        public AkSkCredential(string accessKeyId, SecureString secretAccessKey)
        {
            if (string.IsNullOrWhiteSpace(accessKeyId))
                throw new BackupToolsException(ErrorIds.ConnectionParameterInvalid, BackupErrorCategory.InvalidArgument, "AccessKeyId must not be empty.");
            if (secretAccessKey == null || secretAccessKey.Length == 0)
                throw new BackupToolsException(ErrorIds.ConnectionParameterInvalid, BackupErrorCategory.InvalidArgument, "SecretAccessKey must not be empty.");
            _accessKeyId = accessKeyId.Trim();
            // It goes into the Authorization header as it is: a line break inside ended the header (what followed went
            // out as headers of its own), a space was signed and refused (a failure Huawei counts toward locking the
            // key), and a non-ASCII letter stopped the request before it left while it looked like one that may have.
            if (!TokenPlacement.FitsHeader(_accessKeyId, ",="))
                throw new BackupToolsException(ErrorIds.ConnectionParameterInvalid, BackupErrorCategory.InvalidArgument,
                    "AccessKeyId holds a space, a line break, a comma, an equals sign or a character that is not ASCII; an access key id is letters and digits. Nothing was sent.")
                {
                    RecommendedAction = "Copy the access key id again (the AK of the key pair, 20 letters and digits), without anything around it.",
                };
            _secretKey = Secret.Keep(secretAccessKey);
            _use = KeyUses.GetOrAdd(_accessKeyId + "\n" + Digest(_secretKey), _ => new KeyUse());
        }

        /// <summary>HMAC-SHA256 of a constant keyed by the secret: tells secrets apart, and gives none of them away.</summary>
        private static string Digest(SecureString secret)
        {
            var key = System.Text.Encoding.UTF8.GetBytes(Secret.Reveal(secret));
            try
            {
                using (var hmac = new System.Security.Cryptography.HMACSHA256(key))
                    return Convert.ToBase64String(hmac.ComputeHash(System.Text.Encoding.UTF8.GetBytes("BackupTools access key use")));
            }
            finally
            {
                Array.Clear(key, 0, key.Length);
            }
        }

        /// <summary>Test hook: forgets what the process knows of <paramref name="accessKeyId"/> with any secret.</summary>
        internal static void ForgetKey(string accessKeyId)
        {
            foreach (var name in KeyUses.Keys)
                if (name.StartsWith(accessKeyId + "\n", StringComparison.Ordinal)) KeyUses.TryRemove(name, out _);
        }

        internal override System.Collections.Generic.IEnumerable<SecureString> Secrets() { yield return _secretKey; }

        public override string Method => AuthenticationMethods.AccessKey;

        /// <summary>Test hook: the clock the signature date comes from.</summary>
        internal Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;

        public override Task<string> GetTokenAsync(ServiceCall call) =>
            throw new BackupToolsException(ErrorIds.ConnectionParameterInvalid, BackupErrorCategory.InvalidOperation,
                "An access key signs each request; it has no token to send.");

        /// <summary>
        /// The Host header as it goes on the wire, and is signed: an internationalized name in its ASCII (punycode) form,
        /// which the service sees, rather than Uri.Authority's Unicode form, which no header can carry.
        /// </summary>
        internal static string HostHeader(Uri uri)
        {
            var host = uri.HostNameType == UriHostNameType.Dns ? uri.IdnHost : uri.Host;
            return uri.IsDefaultPort ? host : host + ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        internal override bool HasTokenAtHand => RefusalOf() == null;

        /// <summary>
        /// Keeps the first refusal, for this connection and for every other of the process with this key and secret:
        /// each signature sent with a refused key (a wrong or rotated secret, a clock more than 15 minutes off) counts
        /// toward locking the key for every process that uses it. Requests already on their way may still be refused on
        /// their own; none is signed after this.
        /// </summary>
        internal override void RememberRefusal(BackupToolsException refused)
        {
            Interlocked.CompareExchange(ref _refusal, refused, null);
            // Until a signature is accepted again, requests of this key and secret go one at a time once more.
            _use.Accepted = false;
            _use.Refused = new Refusal { Error = refused, At = Timestamp() };
        }

        /// <summary>
        /// The refusal this connection must not sign past: its own (for good), or one of its key and secret on another
        /// connection while that stands (until a signature of the key and secret is accepted) and this connection was
        /// made before it or less than <see cref="RefusalKept"/> after it. Another connection's refusal is consulted on
        /// each request, never kept as this one's: a correct key refused only during a lock, or while the clock was off,
        /// works again on every connection once a newer one has a signature accepted.
        /// </summary>
        private BackupToolsException RefusalOf()
        {
            var own = Volatile.Read(ref _refusal);
            if (own != null) return own;
            var shared = _use.Refused;
            if (shared == null || _created - shared.At >= RefusalKeptTicks) return null;
            return shared.Error;
        }

        /// <summary>
        /// Before the first accepted signature of the key and secret (in this process, on any connection), waits for the
        /// request ahead to the same endpoint to end, then for the request ahead (to any endpoint) to have its answer,
        /// or for <see cref="NoAnswerBound"/> after it left; a request that waited behind a refusal is not sent. The
        /// endpoint's gate is always taken first and given back last, so no two requests wait for each other's.
        /// </summary>
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        internal override async Task<object> BeforeSendAsync(ServiceCall call)
        {
            ThrowIfRefused();
            if (_use.Accepted) return null;
            var endpoint = _use.EndpointGate(call.Connection);
            // Cancelled here, nothing is held.
            await endpoint.WaitAsync(call.CancellationToken).NoContext();
            if (!_use.Accepted && RefusalOf() == null)
            {
                try
                {
                    await _use.FirstAnswer.WaitAsync(call.CancellationToken).NoContext();
                }
                catch
                {
                    endpoint.Release();
                    throw;
                }
                if (!_use.Accepted && RefusalOf() == null) return new Turn(_use.FirstAnswer, endpoint);
                _use.FirstAnswer.Release();
            }
            endpoint.Release();
            ThrowIfRefused();
            return null;
        }

        /// <summary>
        /// Any answer but a 401 means the gateway verified the signature: requests need not wait for one another any
        /// more, and a refusal of this key and secret (a lock that has ended, a clock put right) no longer stands for
        /// connections that have not met it.
        /// </summary>
        internal override void AfterSend(object held, int? status)
        {
            if (status is int s && s != 401)
            {
                _use.Accepted = true;
                _use.Refused = null;
            }
            (held as Turn)?.Answered();
        }

        private void ThrowIfRefused()
        {
            var refused = RefusalOf();
            if (refused == null) return;
            throw refused.Restated(refused.Message + " (Remembered from an earlier request with this access key and secret key in this session: this request was not signed or sent. " +
                "A corrected secret key is tried at once; the same one again only by a connection made 5 minutes after the refusal, " +
                "and once that connection's signature is accepted, this one's requests are sent again unless it was refused itself.)",
                null, refused);
        }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder))]
        public override async Task ApplyAsync(HttpRequestMessage request, ServiceCall call, TokenPlacement placement)
        {
            var body = request.Content == null ? Array.Empty<byte>() : await request.Content.ReadAsByteArrayAsync().NoContext();
            var date = AkSkSigner.FormatDate(Clock());
            var host = HostHeader(request.RequestUri);
            request.Headers.Host = host;
            request.Headers.Remove("X-Sdk-Date");
            request.Headers.TryAddWithoutValidation("X-Sdk-Date", date);
            var signed = new List<KeyValuePair<string, string>>
            {
                new KeyValuePair<string, string>("Host", host),
                new KeyValuePair<string, string>("X-Sdk-Date", date),
            };
            var project = call.Connection.Scope;
            if (!string.IsNullOrEmpty(project))
            {
                request.Headers.Remove("X-Project-Id");
                request.Headers.TryAddWithoutValidation("X-Project-Id", project);
                signed.Add(new KeyValuePair<string, string>("X-Project-Id", project));
            }
            ThrowIfRefused();
            var canonical = AkSkSigner.CanonicalRequest(request.Method.Method, request.RequestUri, signed, body, out var names);
            var signature = AkSkSigner.Signature(Secret.Reveal(_secretKey), AkSkSigner.StringToSign(date, canonical));
            request.Headers.Remove("Authorization");
            request.Headers.TryAddWithoutValidation("Authorization", AkSkSigner.Authorization(_accessKeyId, names, signature));
            request.Properties[PlacementProperty] = placement;
            request.Properties[FreshProperty] = true; // nothing to renew: a refusal is final
        }
    }
}
