using System;
using System.Collections.Generic;
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
    /// A credential that obtains its token from somewhere (a token endpoint, a caller's script) and keeps it as a
    /// <see cref="SecureString"/>: fetched on first use, renewed shortly before it expires and once when the service
    /// refuses it. A secret the token endpoint refused is remembered and never sent again on this connection.
    /// </summary>
    internal abstract class RenewableTokenCredential : BackupCredential
    {
        private readonly SemaphoreSlim _gate = new SemaphoreSlim(1, 1);
        private volatile Cached _cached;
        private volatile string _refusal;
        private int _generation;

        private sealed class Cached
        {
            public SecureString Token;
            public DateTimeOffset ObtainedAt;
            public DateTimeOffset? ExpiresAt;
            public int Generation;
        }

        /// <summary>Starts with a token the caller supplied (not fresh: a refusal of it is worth one renewal).</summary>
        protected void Seed(SecureString token)
        {
            if (token == null || token.Length == 0) return;
            _cached = new Cached { Token = Secret.Keep(token), ObtainedAt = DateTimeOffset.UtcNow, Generation = Interlocked.Increment(ref _generation) };
        }

        /// <summary>The provider name, for error messages.</summary>
        protected abstract string Provider { get; }

        /// <summary>Obtains a new token and its expiry (null when unknown). Throws <see cref="BackupCredential.Refused"/> when the secret is wrong.</summary>
        protected abstract Task<(SecureString Token, DateTimeOffset? ExpiresAt)> FetchAsync(ServiceCall call);

        /// <summary>
        /// An expiry the service gave as a time on its own clock, on this machine's: where the service's Date header
        /// differs from this clock by more than a minute, the token's lifetime by the service's clock added to now; the
        /// lifetime kept within a year. A clock an hour off then neither renews every token at every use nor keeps a dead
        /// one. (Within a minute the time is taken as it is: the Date header has whole seconds only.)
        /// </summary>
        protected static DateTimeOffset? OnThisClock(DateTimeOffset? expiresOnService, DateTimeOffset? serviceDate)
        {
            if (!(expiresOnService is DateTimeOffset expires)) return null;
            var now = DateTimeOffset.UtcNow;
            var serviceNow = serviceDate is DateTimeOffset date && (date - now).Duration() > TimeSpan.FromMinutes(1) ? date : now;
            return now + Lifetime(expires - serviceNow);
        }

        /// <summary>A token lifetime the service gave, kept within zero and a year (an absurd one is not taken as it is).</summary>
        protected static TimeSpan Lifetime(TimeSpan lifetime) =>
            lifetime < TimeSpan.Zero ? TimeSpan.Zero : lifetime > LongestLifetime ? LongestLifetime : lifetime;

        private static readonly TimeSpan LongestLifetime = TimeSpan.FromDays(365);

        /// <summary>Test hook: the clock expiry is judged by.</summary>
        internal Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;

        public override bool CanRenew => true;

        internal override bool HasTokenAtHand => _refusal == null && Usable(_cached, 0);

        internal override IEnumerable<SecureString> Secrets()
        {
            if (_cached?.Token is SecureString token) yield return token;
            foreach (var secret in OwnSecrets()) if (secret != null) yield return secret;
        }

        /// <summary>The secrets the method signs in with (a password, a client secret).</summary>
        protected virtual IEnumerable<SecureString> OwnSecrets() { yield break; }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        public override async Task<string> GetTokenAsync(ServiceCall call) => (await GetAsync(call, renewPast: 0).NoContext()).Token;

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        public override async Task<bool> RenewAsync(ServiceCall call)
        {
            await GetAsync(call, renewPast: Volatile.Read(ref _generation)).NoContext();
            return true;
        }

        /// <summary>Renews only when nobody has renewed since the refused request was sent.</summary>
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder))]
        internal async Task RenewAfterAsync(ServiceCall call, int refusedGeneration) =>
            await GetAsync(call, renewPast: refusedGeneration).NoContext();

        // A cached token (the usual case) is applied without an async state machine, as the base class does.
        public override Task ApplyAsync(HttpRequestMessage request, ServiceCall call, TokenPlacement placement)
        {
            var pending = GetAsync(call, renewPast: 0);
            if (pending.Status != TaskStatus.RanToCompletion) return ApplyWhenReadyAsync(pending, request, placement);
            Apply(request, pending.Result, placement);
            return Task.CompletedTask;
        }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder))]
        private async Task ApplyWhenReadyAsync(Task<(string Token, bool Fresh, int Generation)> pending, HttpRequestMessage request, TokenPlacement placement) =>
            Apply(request, await pending.NoContext(), placement);

        private void Apply(HttpRequestMessage request, (string Token, bool Fresh, int Generation) got, TokenPlacement placement)
        {
            var (token, fresh, generation) = got;
            placement.Apply(request, token);
            OnApplied(request);
            request.Properties[PlacementProperty] = placement;
            request.Properties[FreshProperty] = fresh;
            request.Properties[GenerationProperty] = generation;
        }

        /// <summary>Anything else the method sets on each request (ArcGIS: the Referer its token is bound to).</summary>
        protected virtual void OnApplied(HttpRequestMessage request) { }

        private bool Usable(Cached c, int renewPast)
        {
            if (c == null || c.Generation <= renewPast) return false;
            if (!(c.ExpiresAt is DateTimeOffset expires)) return true;
            var lifetime = expires - c.ObtainedAt;
            var margin = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(5).Ticks, Math.Max(0, lifetime.Ticks / 5)));
            return Clock() < expires - margin;
        }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        private async Task<(string Token, bool Fresh, int Generation)> GetAsync(ServiceCall call, int renewPast)
        {
            ThrowIfRefused();
            var c = _cached;
            if (Usable(c, renewPast)) return (Secret.Reveal(c.Token), false, c.Generation);
            await _gate.WaitAsync(call.CancellationToken).NoContext();
            try
            {
                ThrowIfRefused();
                c = _cached;
                if (Usable(c, renewPast)) return (Secret.Reveal(c.Token), false, c.Generation);
                (SecureString Token, DateTimeOffset? ExpiresAt) fetched;
                var started = Clock();
                try
                {
                    fetched = await FetchAsync(call).NoContext();
                }
                catch (BackupToolsException ex) when (ex.ErrorId == ErrorIds.ConnectionAuthenticationFailed)
                {
                    if (RemembersRefusals) _refusal = ex.Message;
                    throw;
                }
                if (fetched.Token == null || fetched.Token.Length == 0)
                    throw Refused(Provider, $"{Provider}: the {Method} method produced an empty token.");
                var generation = Interlocked.Increment(ref _generation);
                var old = _cached;
                _cached = new Cached { Token = Secret.Keep(fetched.Token), ObtainedAt = started, ExpiresAt = fetched.ExpiresAt, Generation = generation };
                call.Log.Verbose($"{Provider}: obtained a {Method} token" +
                                 (fetched.ExpiresAt is DateTimeOffset e ? $" valid until {e.UtcDateTime:u}." : "."));
                _ = old; // the previous SecureString may still be read by a request in flight; let the GC dispose it
                return (Secret.Reveal(_cached.Token), true, generation);
            }
            finally
            {
                _gate.Release();
            }
        }

        /// <summary>
        /// Whether a refusal ends the connection's use (true: a wrong password or secret is never sent again, since
        /// services lock accounts and keys after repeated failures).
        /// </summary>
        protected virtual bool RemembersRefusals => true;

        private void ThrowIfRefused()
        {
            var refusal = _refusal;
            if (refusal != null)
                throw Refused(Provider, refusal + " (remembered from an earlier attempt on this connection; not sent again)");
        }
    }
}
