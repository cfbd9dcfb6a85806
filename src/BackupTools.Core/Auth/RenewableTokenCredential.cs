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
    /// <remarks>
    /// One sign-in at a time, and its outcome is everyone's: callers that need a token while one is under way wait for
    /// it and take its token or its failure; none starts a sign-in of its own behind it (with IAM down, sixteen reads
    /// queued behind one another each sent the password again, one after the other). A sign-in that failed stands for
    /// <see cref="FailureBackoff"/>: callers meanwhile get its failure without a new attempt. Each caller waits with its
    /// own cancellation; the sign-in goes on while any caller still waits for it, and is given up when none does.
    /// A renewal started early (the token in the last fifth of its life, at most 5 minutes before it expires) fails
    /// nobody while that token has not expired and the service has not refused it: the caller that started it takes
    /// the old token when it fails, the others do not wait for it, and during its back-off the old token is used.
    /// </remarks>
    internal abstract class RenewableTokenCredential : BackupCredential
    {
        // Guards _flight, each flight's Waiting, and the updates of _cached, _failed and _refusal a flight ends with.
        private readonly object _lock = new object();
        private volatile Cached _cached;
        private volatile BackupToolsException _refusal;
        private int _generation;
        private Flight _flight;
        private volatile Failed _failed;

        /// <summary>A sign-in under way: its outcome, who still waits for it, and how to give it up.</summary>
        private sealed class Flight
        {
            public readonly TaskCompletionSource<Cached> Done = new TaskCompletionSource<Cached>(TaskCreationOptions.RunContinuationsAsynchronously);
            // Cancelled when every caller that waited for the sign-in has been cancelled. (Not disposed: it has no timer.)
            public readonly CancellationTokenSource Abandoned = new CancellationTokenSource();
            public int Waiting;

            // A failure nobody waits for any more (every caller cancelled) is observed here, not reported as unobserved.
            public Flight() => Done.Task.ContinueWith(Observe, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

            private static readonly Action<Task<Cached>> Observe = t => _ = t.Exception;
        }

        /// <summary>A sign-in that failed, and until when that failure is the answer to every caller that needs a token.</summary>
        private sealed class Failed
        {
            public Exception Error;
            public DateTimeOffset At;
            public DateTimeOffset Until;
        }

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
        private async Task ApplyWhenReadyAsync(Task<(string Token, bool Fresh, int Generation, SecureString Kept)> pending, HttpRequestMessage request, TokenPlacement placement) =>
            Apply(request, await pending.NoContext(), placement);

        private void Apply(HttpRequestMessage request, (string Token, bool Fresh, int Generation, SecureString Kept) got, TokenPlacement placement)
        {
            var (token, fresh, generation, kept) = got;
            placement.Apply(request, token);
            OnApplied(request);
            request.Properties[PlacementProperty] = placement;
            request.Properties[FreshProperty] = fresh;
            request.Properties[GenerationProperty] = generation;
            // The token as kept, for masking this request's answer: another request may renew it before this one's
            // answer comes, and Secrets() then names only the new one.
            request.Properties[SentTokenProperty] = kept;
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

        /// <summary>
        /// True when <paramref name="c"/> is only due for renewal (inside the last fifth of its life, at most 5 minutes)
        /// and has not expired, and the service has not refused it (a 401 asks for a generation past it): it is used
        /// while a renewal is tried, and when one fails.
        /// </summary>
        private bool NotExpired(Cached c, int renewPast) =>
            c != null && c.Generation > renewPast && c.ExpiresAt is DateTimeOffset expires && Clock() < expires;

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        private async Task<(string Token, bool Fresh, int Generation, SecureString Kept)> GetAsync(ServiceCall call, int renewPast)
        {
            while (true)
            {
                ThrowIfRefused();
                var c = _cached;
                if (Usable(c, renewPast)) return (Secret.Reveal(c.Token), false, c.Generation, c.Token);
                call.CancellationToken.ThrowIfCancellationRequested();
                Flight flight = null;
                var leads = false;
                lock (_lock)
                {
                    ThrowIfRefused();
                    c = _cached;
                    if (!Usable(c, renewPast))
                    {
                        // A sign-in under way gives a token newer than any this caller has seen: it is joined, never
                        // followed by another.
                        flight = _flight;
                        var early = NotExpired(c, renewPast);
                        if (flight == null)
                        {
                            // Renewing early: a sign-in that failed lately leaves the token in use until it expires.
                            if (!(early && FailedLately()))
                            {
                                ThrowIfFailedLately();
                                flight = _flight = new Flight();
                                leads = true;
                            }
                        }
                        // Renewing early and another caller signs in: this one goes on with the token it has, not
                        // held up by an IAM that is slow to answer.
                        else if (early) flight = null;
                        if (flight != null) flight.Waiting++;
                    }
                }
                if (flight == null) return (Secret.Reveal(c.Token), false, c.Generation, c.Token);
                if (leads) _ = SignInAsync(flight, call);
                try
                {
                    var got = await WaitAsync(flight.Done.Task, call.CancellationToken).NoContext();
                    // Fresh only for the caller the token was obtained for (a refusal of it then is final).
                    return (Secret.Reveal(got.Token), leads, got.Generation, got.Token);
                }
                catch (OperationCanceledException) when (flight.Done.Task.IsCanceled && !call.CancellationToken.IsCancellationRequested)
                {
                    // The sign-in ran on the call of a caller that has been cancelled (a TokenProvider script on that
                    // command's pipeline): this caller, still waiting, signs in itself.
                }
                catch (Exception ex) when (!(ex is OperationCanceledException) && _refusal == null && NotExpired(c, renewPast))
                {
                    // An early renewal failed (IAM answered 503, or nothing): the token it was to replace has not
                    // expired, and the service still takes it. The failure counts only once the token has expired.
                    return (Secret.Reveal(c.Token), false, c.Generation, c.Token);
                }
                finally
                {
                    Leave(flight);
                }
            }
        }

        /// <summary>A caller stops waiting for <paramref name="flight"/>; the last one to leave before it ends gives it up.</summary>
        private void Leave(Flight flight)
        {
            lock (_lock)
            {
                if (--flight.Waiting > 0 || flight.Done.Task.IsCompleted) return;
                if (_flight == flight) _flight = null;
            }
            flight.Abandoned.Cancel();
        }

        /// <summary>
        /// The task's outcome, or an <see cref="OperationCanceledException"/> as soon as <paramref name="cancellationToken"/>
        /// is cancelled: the caller leaves at once, the sign-in it waited for goes on for the others.
        /// </summary>
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        private static async Task<Cached> WaitAsync(Task<Cached> task, CancellationToken cancellationToken)
        {
            if (task.IsCompleted || !cancellationToken.CanBeCanceled) return await task.NoContext();
            var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (cancellationToken.Register(CancelWait, cancelled))
            {
                if (await Task.WhenAny(task, cancelled.Task).NoContext() != task)
                    throw new OperationCanceledException(cancellationToken);
            }
            return await task.NoContext();
        }

        private static readonly Action<object> CancelWait = state => ((TaskCompletionSource<bool>)state).TrySetResult(true);

        /// <summary>
        /// Signs in for <paramref name="flight"/> and ends it with the token or the failure, never throwing. It runs
        /// with a cancellation of its own (every waiting caller cancelled), not with the cancellation of the caller that
        /// started it: that caller's Ctrl+C ends its own wait, not the sign-in the others wait for. Where the sign-in
        /// runs on that caller's pipeline (<see cref="SignsInOnCallersPipeline"/>), it ends with that caller too.
        /// </summary>
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder))]
        private async Task SignInAsync(Flight flight, ServiceCall call)
        {
            var linked = SignsInOnCallersPipeline ? CancellationTokenSource.CreateLinkedTokenSource(flight.Abandoned.Token, call.CancellationToken) : null;
            var cancellation = linked?.Token ?? flight.Abandoned.Token;
            var signIn = new ServiceCall(call.Connection, call.Log, cancellation) { RequestTimeout = call.RequestTimeout, MayRenew = call.MayRenew };
            var started = Clock();
            Cached got = null;
            Exception failure = null;
            bool cancelled = false, refused = false;
            try
            {
                (SecureString Token, DateTimeOffset? ExpiresAt) fetched;
                try
                {
                    fetched = await FetchAsync(signIn).NoContext();
                }
                catch (BackupToolsException ex) when (ex.ErrorId == ErrorIds.ConnectionAuthenticationFailed)
                {
                    refused = RemembersRefusals;
                    throw;
                }
                if (fetched.Token == null || fetched.Token.Length == 0)
                    throw Refused(Provider, $"{Provider}: the {Method} method produced an empty token.");
                got = new Cached { Token = Secret.Keep(fetched.Token), ObtainedAt = started, ExpiresAt = fetched.ExpiresAt, Generation = Interlocked.Increment(ref _generation) };
            }
            catch (Exception ex)
            {
                failure = ex;
                cancelled = ex is OperationCanceledException && cancellation.IsCancellationRequested;
            }
            finally
            {
                linked?.Dispose();
            }
            if (got != null)
            {
                lock (_lock)
                {
                    _cached = got; // the previous SecureString may still be read by a request in flight; let the GC dispose it
                    _failed = null;
                    if (_flight == flight) _flight = null;
                }
                // The waiters first: a log that throws (IOperationLog is public) must not leave them waiting for ever.
                flight.Done.TrySetResult(got);
                LogQuietly(call, $"{Provider}: obtained a {Method} token" +
                                 (got.ExpiresAt is DateTimeOffset e ? $" valid until {e.UtcDateTime:u}." : "."));
                return;
            }
            var backoff = FailureBackoff;
            lock (_lock)
            {
                if (refused) _refusal = (BackupToolsException)failure;
                else if (!cancelled && backoff > TimeSpan.Zero)
                {
                    var now = Clock();
                    _failed = new Failed { Error = failure, At = now, Until = now + backoff };
                }
                if (_flight == flight) _flight = null;
            }
            if (cancelled)
            {
                flight.Done.TrySetCanceled();
                return;
            }
            flight.Done.TrySetException(failure);
            if (!refused && backoff > TimeSpan.Zero)
                LogQuietly(call, $"{Provider}: signing in failed; for {backoff.TotalSeconds:0.#} s requests that need a new token fail with that error and no new sign-in is tried (a token that has not expired is still used).");
        }

        private static void LogQuietly(ServiceCall call, string message)
        {
            try
            {
                call.Log.Verbose(message);
            }
            catch (Exception ex) when (!(ex is OutOfMemoryException))
            {
                // a line of -Verbose is not worth a sign-in its waiters never learn the end of
            }
        }

        /// <summary>
        /// How long a failed sign-in (a 503, no answer) stands: meanwhile callers that need a token get its failure and
        /// the password is not sent again. Every status read of a wait, and each of its repeats, would otherwise try
        /// once more.
        /// </summary>
        protected virtual TimeSpan FailureBackoff => TimeSpan.FromSeconds(5);

        /// <summary>
        /// True when <see cref="FetchAsync"/> runs on the pipeline of the caller that started it (a -TokenProvider script
        /// posted to that command's pump): the sign-in then ends when that caller is cancelled, and the callers still
        /// waiting start another. Otherwise it goes on while any caller waits for it.
        /// </summary>
        protected virtual bool SignsInOnCallersPipeline => false;

        private bool FailedLately() => _failed is Failed failed && Clock() < failed.Until;

        private void ThrowIfFailedLately()
        {
            var failed = _failed;
            if (failed == null) return;
            var now = Clock();
            if (now >= failed.Until) return;
            if (!(failed.Error is BackupToolsException ex))
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failed.Error).Throw();
                return;
            }
            throw ex.Restated(ex.Message + $" (Signing in failed {(now - failed.At).TotalSeconds:0.#} s ago; it is not tried again for {(failed.Until - now).TotalSeconds:0.#} s.)",
                ex.Target, ex);
        }

        /// <summary>
        /// Whether a refusal ends the connection's use (true: a wrong password or secret is never sent again, since
        /// services lock accounts and keys after repeated failures).
        /// </summary>
        protected virtual bool RemembersRefusals => true;

        private void ThrowIfRefused()
        {
            var refusal = _refusal;
            if (refusal == null) return;
            var again = Refused(Provider, refusal.Message + " (remembered from an earlier attempt on this connection; not sent again)");
            again.ServiceCode = refusal.ServiceCode;
            again.ServiceMessage = refusal.ServiceMessage;
            again.HttpStatus = refusal.HttpStatus;
            throw again;
        }
    }
}
