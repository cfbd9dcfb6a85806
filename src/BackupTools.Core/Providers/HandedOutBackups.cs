using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Async;

namespace BackupTools.Providers
{
    /// <summary>
    /// The backups this process has handed out as the result of a create (its answer named the backup, or a lookup by
    /// name after a lost answer found it), per connection (provider, endpoint, project) and instance: a lookup by name
    /// for another create must not claim one of them. Two rows naming one TaurusDB backup, or a DDS command run twice
    /// within seconds, otherwise had the second create, lost before the service read it, report the first's backup as
    /// its own. Process-wide, as the service's backups are: another command, connection or runspace of the process may
    /// have started the backup. Thread-safe, and bounded: an entry is kept while a create that started before it (less
    /// <see cref="Kept"/>) may still look backups up, and no longer, so a process making thousands of creates holds only
    /// those of the last minute or so (and of the longest create still running). A new process knows none.
    /// <para>
    /// It also knows which creates are running, by backup name, and which of them have a request out whose answer has not
    /// come back: rows run at once (-ThrottleLimit) could otherwise have the second, lost, claim the first's backup while
    /// the first's answer was still on its way (<see cref="Running.OthersSettledAsync"/>). Those entries go when their
    /// create ends.
    /// </para>
    /// </summary>
    internal sealed class HandedOutBackups
    {
        /// <summary>
        /// How long before the start of the oldest create still running an entry stays. A lookup takes a backup that
        /// began since its create's start less <see cref="BackupService.ReconcileMargin"/> (on the service's clock, in
        /// whole seconds); one handed out earlier than that began earlier still. The minute covers a database service
        /// whose clock runs ahead of its gateway's (the <c>Date</c> the bound is taken from) by less than that.
        /// </summary>
        internal static readonly TimeSpan DefaultKept = BackupService.ReconcileMargin + TimeSpan.FromMinutes(1);

        // (After DefaultKept: static fields are set in the order they are written.)
        /// <summary>The process's record, which <see cref="BackupService.StartAsync"/> keeps.</summary>
        internal static readonly HandedOutBackups Process = new HandedOutBackups(StopwatchClock(), DefaultKept);

        private readonly object _gate = new object();
        private readonly Func<TimeSpan> _now;
        private readonly TimeSpan _kept;
        private readonly Dictionary<Key, Handed> _handed = new Dictionary<Key, Handed>(new KeyComparer());
        // (Reference types only in the collections: the precompiled core carries no code for collections over its own
        // value types, which would be JIT-compiled on a create's first call.)
        private readonly Queue<Aged> _byAge = new Queue<Aged>(); // oldest first
        private readonly LinkedList<TimeSpan> _running = new LinkedList<TimeSpan>(); // start times of creates still running, oldest first
        // The creates running, by connection, instance and backup name (in Key.Backup; compared ignoring case, so a create
        // may wait on one whose name differs in case only: a wait, never a wrong claim).
        private readonly Dictionary<Key, List<Running>> _named = new Dictionary<Key, List<Running>>(new KeyComparer());

        /// <param name="now">A monotonic clock (a wall clock put right must not drop or keep entries).</param>
        /// <param name="kept">How long before the oldest running create's start an entry stays.</param>
        internal HandedOutBackups(Func<TimeSpan> now, TimeSpan kept)
        {
            _now = now ?? throw new ArgumentNullException(nameof(now));
            _kept = kept;
        }

        private static Func<TimeSpan> StopwatchClock()
        {
            var clock = Stopwatch.StartNew();
            return () => clock.Elapsed;
        }

        /// <summary>
        /// A create is starting: entries handed out from now on (and those of <see cref="Kept"/> before) are kept until
        /// the handle returned is disposed, when the create has ended, whatever its outcome.
        /// </summary>
        internal Running Begin() => Begin(null, null, null);

        /// <summary>
        /// A create of backup <paramref name="backupName"/> of <paramref name="instanceId"/> is starting: as
        /// <see cref="Begin()"/>, and the handle tells the record when a request of the create is out unanswered
        /// (<see cref="Running.Sending"/>), for the lookups of other creates of that name.
        /// </summary>
        internal Running Begin(BackupConnection connection, string instanceId, string backupName)
        {
            var name = connection == null ? (Key)null : new Key(connection.Key, instanceId ?? string.Empty, backupName ?? string.Empty);
            lock (_gate) return new Running(this, _running.AddLast(_now()), name);
        }

        /// <summary>
        /// A create that is running (from <see cref="Begin(BackupConnection, string, string)"/> until disposed), and
        /// whether a request of it is out without an answer yet.
        /// </summary>
        internal sealed class Running : IDisposable
        {
            private readonly HandedOutBackups _owner;
            private LinkedListNode<TimeSpan> _node;
            // Under the owner's gate: set while a request of this create is out unanswered, completed when it settles.
            private TaskCompletionSource<bool> _unanswered;

            private readonly Key _name;

            // Under the owner's gate.
            internal Running(HandedOutBackups owner, LinkedListNode<TimeSpan> node, Key name)
            {
                _owner = owner;
                _node = node;
                _name = name;
                if (name is Key key)
                {
                    if (!owner._named.TryGetValue(key, out var same)) owner._named.Add(key, same = new List<Running>());
                    same.Add(this);
                }
            }

            /// <summary>A create request is about to leave: until it settles, lookups of other creates of the name wait.</summary>
            public void Sending()
            {
                lock (_owner._gate)
                {
                    if (_node == null || _name == null || _unanswered != null) return;
                    // (Its waiters go on elsewhere, never inside the lock or the create that settles.)
                    _unanswered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }

            /// <summary>
            /// The create's answer named <paramref name="backupId"/>: recorded (<see cref="HandedOutBackups.Answered(string, string, string)"/>)
            /// before the lookups waiting on this create go on, so they see it.
            /// </summary>
            public void Answered(string backupId)
            {
                if (_name is Key name) _owner.Answered(name.Connection, name.Instance, backupId);
                Settled();
            }

            /// <summary>The request out has an answer, or never will (refused, lost, cut off): the lookups waiting on it go on.</summary>
            public void Settled()
            {
                TaskCompletionSource<bool> settled;
                lock (_owner._gate)
                {
                    settled = _unanswered;
                    _unanswered = null;
                }
                settled?.TrySetResult(true);
            }

            /// <summary>
            /// Completes when no other create of this one's connection, instance and backup name that had a request out
            /// unanswered when called still has: a backup of the name found by a lookup may be that create's, named by
            /// the answer on its way; once the answer is in, the record says so. Throws
            /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> is cancelled first.
            /// Nothing is locked while it waits. (A create waits only while it has no request out of its own, so two
            /// never wait for each other.)
            /// </summary>
            public Task OthersSettledAsync(CancellationToken cancellationToken)
            {
                List<Task> waits = null;
                lock (_owner._gate)
                {
                    if (_name is Key name && _owner._named.TryGetValue(name, out var same))
                        foreach (var other in same)
                            if (!ReferenceEquals(other, this) && other._unanswered != null)
                                (waits ?? (waits = new List<Task>())).Add(other._unanswered.Task);
                }
                return waits == null ? Task.CompletedTask : WhenAllAsync(Task.WhenAll(waits), cancellationToken);
            }

            [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder))]
            private static async Task WhenAllAsync(Task all, CancellationToken cancellationToken)
            {
                var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                using (cancellationToken.Register(() => cancelled.TrySetResult(true)))
                    if (await Task.WhenAny(all, cancelled.Task).NoContext() != all)
                        cancellationToken.ThrowIfCancellationRequested();
            }

            public void Dispose()
            {
                TaskCompletionSource<bool> settled;
                lock (_owner._gate)
                {
                    if (_node == null) return;
                    _owner._running.Remove(_node);
                    _node = null;
                    if (_name is Key name && _owner._named.TryGetValue(name, out var same))
                    {
                        same.Remove(this);
                        if (same.Count == 0) _owner._named.Remove(name);
                    }
                    settled = _unanswered;
                    _unanswered = null;
                    _owner.Drop(_owner._now());
                }
                settled?.TrySetResult(true);
            }
        }

        /// <summary>Creates running with a backup name (tests: none is left once they end).</summary>
        internal int RunningByName
        {
            get { lock (_gate) return _named.Count; }
        }

        /// <summary>A create's answer named <paramref name="backupId"/>: it is that create's, whatever a lookup found before.</summary>
        internal void Answered(BackupConnection connection, string instanceId, string backupId) =>
            Answered(connection.Key, instanceId ?? string.Empty, backupId);

        private void Answered(string connectionKey, string instanceId, string backupId)
        {
            if (string.IsNullOrEmpty(backupId)) return;
            var key = new Key(connectionKey, instanceId, backupId);
            lock (_gate) Put(key, answered: true);
        }

        /// <summary>
        /// A lookup by name found <paramref name="backupId"/> for a create whose answer was lost: true when it is now that
        /// create's; false when another create was handed it first (the lookup must not report it).
        /// </summary>
        internal bool TryClaim(BackupConnection connection, string instanceId, string backupId)
        {
            if (string.IsNullOrEmpty(backupId)) return true; // nothing to tell it by (the lookup always reads an id)
            var key = new Key(connection.Key, instanceId ?? string.Empty, backupId);
            lock (_gate)
            {
                if (_handed.ContainsKey(key)) return false;
                Put(key, answered: false);
                return true;
            }
        }

        /// <summary>
        /// Whether <paramref name="backupId"/> was handed out as the result of a create; <paramref name="answered"/>: the
        /// create's own answer named it (else a lookup for a create whose answer was lost claimed it).
        /// </summary>
        internal bool WasHandedOut(BackupConnection connection, string instanceId, string backupId, out bool answered)
        {
            answered = false;
            if (string.IsNullOrEmpty(backupId)) return false;
            lock (_gate)
            {
                if (!_handed.TryGetValue(new Key(connection.Key, instanceId ?? string.Empty, backupId), out var handed)) return false;
                answered = handed.Answered;
                return true;
            }
        }

        /// <summary>Entries held (tests).</summary>
        internal int Count
        {
            get { lock (_gate) return _handed.Count; }
        }

        /// <summary>The time entries are kept before the oldest running create's start.</summary>
        internal TimeSpan Kept => _kept;

        // Under _gate.
        private void Put(Key key, bool answered)
        {
            var now = _now();
            Drop(now);
            _handed[key] = new Handed { At = now, Answered = answered };
            _byAge.Enqueue(new Aged(key, now));
        }

        // Under _gate: entries handed out before the oldest running create began (or before now, none running), less
        // what is kept, can match no lookup any more.
        private void Drop(TimeSpan now)
        {
            var from = _running.First != null && _running.First.Value < now ? _running.First.Value : now;
            var before = from - _kept;
            while (_byAge.Count > 0 && _byAge.Peek().At < before)
            {
                var old = _byAge.Dequeue();
                // A backup handed out again later (a lookup's claim, then its create's own answer) has a later entry.
                if (_handed.TryGetValue(old.Key, out var handed) && handed.At == old.At) _handed.Remove(old.Key);
            }
        }

        private sealed class Handed
        {
            public TimeSpan At;
            public bool Answered;
        }

        private sealed class Aged
        {
            public Aged(Key key, TimeSpan at)
            {
                Key = key;
                At = at;
            }

            public readonly Key Key;
            public readonly TimeSpan At;
        }

        // The connection's key (provider, endpoint, project: already in one spelling), instance and backup id, which the
        // services spell in either case; the strings are the connection's, request's and job's own.
        internal sealed class Key
        {
            public Key(string connection, string instance, string backup)
            {
                Connection = connection;
                Instance = instance;
                Backup = backup;
            }

            public readonly string Connection;
            public readonly string Instance;
            public readonly string Backup;
        }

        private sealed class KeyComparer : IEqualityComparer<Key>
        {
            public bool Equals(Key x, Key y) =>
                string.Equals(x.Backup, y.Backup, StringComparison.OrdinalIgnoreCase) &&
                string.Equals(x.Instance, y.Instance, StringComparison.OrdinalIgnoreCase) &&
                string.Equals(x.Connection, y.Connection, StringComparison.Ordinal);

            public int GetHashCode(Key k)
            {
                unchecked
                {
                    var h = StringComparer.OrdinalIgnoreCase.GetHashCode(k.Backup);
                    h = h * 31 + StringComparer.OrdinalIgnoreCase.GetHashCode(k.Instance);
                    return h * 31 + StringComparer.Ordinal.GetHashCode(k.Connection);
                }
            }
        }
    }
}
