using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Net.Http;
using System.Threading;

namespace BackupTools.Http
{
    /// <summary>
    /// <see cref="IHttpClientFactory"/> (Microsoft.Extensions.Http) with the default factory's handler management and
    /// none of its hosting: no DI container, options monitor or logging filters, whose first use cost a runbook about
    /// 30 ms on every run. As in the default factory, each name gets one long-lived handler chain shared by every
    /// client created under it; after <c>lifetime</c> the next client gets a new chain (so DNS changes are seen), and an
    /// expired chain is disposed once no client that uses it is left (tracked through a weak reference, as there).
    /// Unlike there, no timer: at most once a lifetime, a client asked for retires every other expired name's chain
    /// too, so a name used once in a days-long session does not keep its chain (and its pooled connections) for good.
    /// </summary>
    internal sealed class BackupHttpClientFactory : IHttpClientFactory, IHttpMessageHandlerFactory
    {
        private readonly Func<string, HttpMessageHandler> _build;
        private readonly TimeSpan _lifetime;
        private readonly Func<DateTime> _clock;
        private readonly ConcurrentDictionary<string, Lazy<ActiveHandler>> _active = new ConcurrentDictionary<string, Lazy<ActiveHandler>>(StringComparer.Ordinal);
        private readonly List<ExpiredHandler> _expired = new List<ExpiredHandler>();
        // When (DateTime ticks of the factory's clock) the table is next searched for expired names; 0: at first use.
        private long _sweepDue;

        /// <param name="build">Builds the handler chain for a client name.</param>
        /// <param name="lifetime">How long one chain serves its name.</param>
        /// <param name="clock">The time now (tests move it on).</param>
        public BackupHttpClientFactory(Func<string, HttpMessageHandler> build, TimeSpan lifetime, Func<DateTime> clock = null)
        {
            _build = build ?? throw new ArgumentNullException(nameof(build));
            _lifetime = lifetime;
            _clock = clock ?? (() => DateTime.UtcNow);
        }

        /// <summary>A client over the name's current handler chain; disposing the client leaves the chain alone.</summary>
        public HttpClient CreateClient(string name) =>
            new HttpClient(CreateHandler(name), disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };

        /// <summary>The name's current handler chain (wrapped, so disposing it leaves the chain alone).</summary>
        public HttpMessageHandler CreateHandler(string name) => Active(name).Handler;

        /// <summary>
        /// The module's own client for the name: one per handler chain, shared by every call while the chain is
        /// current, renewed with it (thousands of creates and reads allocate no client of their own). Never disposed
        /// by callers, and holding no per-call state.
        /// </summary>
        internal HttpClient SharedClient(string name) => Active(name).Client;

        private ActiveHandler Active(string name)
        {
            if (name == null) throw new ArgumentNullException(nameof(name));
            // One read and compare per request; the search itself runs once a lifetime.
            if (_clock().Ticks >= Volatile.Read(ref _sweepDue)) RetireExpired();
            while (true)
            {
                if (!_active.TryGetValue(name, out var entry))
                    entry = _active.GetOrAdd(name, n => new Lazy<ActiveHandler>(() => new ActiveHandler(n, _build(n), _clock()),
                        LazyThreadSafetyMode.ExecutionAndPublication));
                var active = entry.Value;
                if (_clock() - active.CreatedAt < _lifetime) return active;
                // Expired: exactly one caller moves it out; everyone then takes (or builds) the new one.
                if (((ICollection<KeyValuePair<string, Lazy<ActiveHandler>>>)_active).Remove(new KeyValuePair<string, Lazy<ActiveHandler>>(name, entry)))
                    Retire(active);
            }
        }

        /// <summary>
        /// Retires every expired name's chain through <see cref="Retire"/> (disposed only once no client uses it), not
        /// only the name asked for: an expired chain was otherwise retired only when its name was used again. One caller
        /// searches at a time; the next search is due a lifetime later. A chain still being built is left alone.
        /// </summary>
        private void RetireExpired()
        {
            var due = Volatile.Read(ref _sweepDue);
            var now = _clock();
            var next = _lifetime >= DateTime.MaxValue - now ? DateTime.MaxValue.Ticks : (now + _lifetime).Ticks;
            if (now.Ticks < due || Interlocked.CompareExchange(ref _sweepDue, next, due) != due) return;
            foreach (var pair in _active)
            {
                if (!pair.Value.IsValueCreated) continue;
                var active = pair.Value.Value;
                if (now - active.CreatedAt < _lifetime) continue;
                if (((ICollection<KeyValuePair<string, Lazy<ActiveHandler>>>)_active).Remove(pair))
                    Retire(active);
            }
        }

        /// <summary>The names that have a current chain (tests read it).</summary>
        internal ICollection<string> Names => _active.Keys;

        /// <summary>How many expired chains still wait for their last client (tests read it).</summary>
        internal int ExpiredCount
        {
            get { lock (_expired) return _expired.Count; }
        }

        /// <summary>Disposes each expired chain no client uses any more; called on every expiry, and by tests.</summary>
        internal void CleanUp()
        {
            lock (_expired)
            {
                for (var i = _expired.Count - 1; i >= 0; i--)
                {
                    if (_expired[i].InUse) continue;
                    _expired[i].InnerHandler.Dispose();
                    _expired.RemoveAt(i);
                }
            }
        }

        private void Retire(ActiveHandler active)
        {
            lock (_expired) _expired.Add(new ExpiredHandler(active));
            CleanUp();
        }

        private sealed class ActiveHandler
        {
            public ActiveHandler(string name, HttpMessageHandler chain, DateTime createdAt)
            {
                Name = name;
                InnerHandler = chain;
                Handler = new LifetimeTrackingHandler(chain);
                Client = new HttpClient(Handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
                CreatedAt = createdAt;
            }

            public string Name { get; }
            public HttpMessageHandler InnerHandler { get; }
            /// <summary>What clients hold; once the last of them is collected, so is this, and the chain can go.</summary>
            public LifetimeTrackingHandler Handler { get; }
            /// <summary>The shared client over <see cref="Handler"/>; it keeps the chain alive while anyone holds it.</summary>
            public HttpClient Client { get; }
            public DateTime CreatedAt { get; }
        }

        private sealed class ExpiredHandler
        {
            private readonly WeakReference _tracker;

            public ExpiredHandler(ActiveHandler active)
            {
                _tracker = new WeakReference(active.Handler);
                InnerHandler = active.InnerHandler;
            }

            public HttpMessageHandler InnerHandler { get; }
            public bool InUse => _tracker.IsAlive;
        }

        /// <summary>Passes calls on; disposing it (as a client may) does not dispose the shared chain.</summary>
        private sealed class LifetimeTrackingHandler : DelegatingHandler
        {
            public LifetimeTrackingHandler(HttpMessageHandler inner) : base(inner) { }

            protected override void Dispose(bool disposing)
            {
                // The factory owns the chain.
            }
        }
    }
}
