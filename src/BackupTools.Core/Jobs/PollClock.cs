using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;

namespace BackupTools.Jobs
{
    /// <summary>
    /// One followed job's reusable wait: parked on the engine's <see cref="PollClock"/> until its next read is due, or
    /// queued at its endpoint's <see cref="EndpointGate"/> for a free slot. Awaiting it allocates nothing (a
    /// <c>Task.Delay</c> per poll costs a promise, a timer and a cancellation registration, each living as long as the
    /// pause). Exactly one owner completes each wait: the clock or gate that takes it out of its queue, under its lock.
    /// Only the engine's async loops await it, one wait at a time.
    /// </summary>
    internal sealed class Waiter : ICriticalNotifyCompletion
    {
        private static readonly Action Done = () => { };
        private static readonly WaitCallback Run = state => ((Action)state)();

        private Action _continuation;
        private bool _cancelled;
        private CancellationToken _token;

        /// <summary>When the clock should release it (<see cref="Stopwatch"/> ticks).</summary>
        internal long Due;
        /// <summary>The next waiter in a gate's queue.</summary>
        internal Waiter Next;
        /// <summary>The token of the wait it queued for, at a gate shared with other waits.</summary>
        internal CancellationToken Queued;

        public Waiter GetAwaiter() => this;

        public bool IsCompleted => ReferenceEquals(Volatile.Read(ref _continuation), Done);

        public void OnCompleted(Action continuation) => UnsafeOnCompleted(continuation);

        public void UnsafeOnCompleted(Action continuation)
        {
            // Completed between IsCompleted and here: go on, but on the pool (no stack dive).
            if (ReferenceEquals(Interlocked.CompareExchange(ref _continuation, continuation, null), Done))
                ThreadPool.UnsafeQueueUserWorkItem(Run, continuation);
        }

        /// <summary>Ends the wait; throws <see cref="OperationCanceledException"/> when it was cancelled. Re-arms the waiter.</summary>
        public void GetResult()
        {
            var cancelled = _cancelled;
            var token = _token;
            _cancelled = false;
            _token = default;
            Volatile.Write(ref _continuation, null);
            if (cancelled) throw new OperationCanceledException(token);
        }

        /// <summary>Releases the wait; its continuation runs on the thread pool, as a semaphore's would.</summary>
        internal void Complete(bool cancelled, CancellationToken token)
        {
            _cancelled = cancelled;
            _token = token;
            var continuation = Interlocked.Exchange(ref _continuation, Done);
            if (continuation != null && !ReferenceEquals(continuation, Done)) ThreadPool.UnsafeQueueUserWorkItem(Run, continuation);
        }

        /// <summary>
        /// Releases the wait and runs its continuation on this thread, as a timer's first callback runs on the timer
        /// thread (so a busy thread pool does not hold up a pause that is over). Never call it under a lock.
        /// </summary>
        internal void CompleteHere()
        {
            _cancelled = false;
            _token = default;
            var continuation = Interlocked.Exchange(ref _continuation, Done);
            if (continuation != null && !ReferenceEquals(continuation, Done)) continuation();
        }
    }

    /// <summary>
    /// The pauses between status reads of every job of one endpoint in one wait, on one timer: a min-heap of waiters by due time, the
    /// timer set for the earliest. Cancelling the wait's token releases every parked waiter as cancelled at once.
    /// </summary>
    internal sealed class PollClock : IDisposable
    {
        private readonly object _lock = new object();
        private readonly Timer _timer;
        private readonly CancellationToken _token;
        private readonly CancellationTokenRegistration _registration;
        private Waiter[] _heap = new Waiter[64];
        private int _count;
        private long _armedFor = long.MaxValue;
        private bool _cancelled;
        private bool _disposed;

        public PollClock(CancellationToken token)
        {
            _token = token;
            _timer = new Timer(state => ((PollClock)state).Fire(), this, Timeout.Infinite, Timeout.Infinite);
            _registration = token.Register(state => ((PollClock)state).CancelAll(), this);
        }

        /// <summary>
        /// Parks <paramref name="waiter"/> for <paramref name="delay"/>; await the result. As <c>Task.Delay</c>: whole
        /// milliseconds, <see cref="Timeout.InfiniteTimeSpan"/> until cancelled, and the same range.
        /// </summary>
        public Waiter Delay(Waiter waiter, TimeSpan delay)
        {
            var ms = (long)delay.TotalMilliseconds;
            if (ms < -1 || ms > MaxDelayMs) throw new ArgumentOutOfRangeException(nameof(delay));
            lock (_lock)
            {
                if (_cancelled || _token.IsCancellationRequested)
                {
                    waiter.Complete(true, _token);
                    return waiter;
                }
                if (ms == 0)
                {
                    waiter.Complete(false, default);
                    return waiter;
                }
                var now = Stopwatch.GetTimestamp();
                waiter.Due = ms == -1 ? long.MaxValue : now + ms * Stopwatch.Frequency / 1000;
                Push(waiter);
                if (waiter.Due < _armedFor) Arm(waiter.Due, now);
            }
            return waiter;
        }

        /// <summary>The longest pause a timer (and so <c>Task.Delay</c>) takes: 2^32 - 2 ms, about 49.7 days.</summary>
        private const long MaxDelayMs = 0xFFFFFFFE;

        private void Fire()
        {
            // As the runtime's timer queue does with its timers: the first one due goes on on this thread, the others
            // on the thread pool.
            Waiter first = null;
            lock (_lock)
            {
                if (_cancelled || _disposed) return;
                _armedFor = long.MaxValue;
                var now = Stopwatch.GetTimestamp();
                while (_count > 0 && _heap[0].Due <= now)
                {
                    var due = Pop();
                    if (first == null) first = due;
                    else due.Complete(false, default);
                }
                if (_count > 0) Arm(_heap[0].Due, now);
            }
            first?.CompleteHere();
        }

        private void CancelAll()
        {
            lock (_lock)
            {
                _cancelled = true;
                while (_count > 0) Pop().Complete(true, _token);
                if (!_disposed) _timer.Change(Timeout.Infinite, Timeout.Infinite);
            }
        }

        private void Arm(long due, long now)
        {
            _armedFor = due;
            // Whole milliseconds, rounded up: the timer never fires before the earliest waiter is due (if it did,
            // Fire would simply set it again).
            var ms = (due - now) * 1000.0 / Stopwatch.Frequency;
            var wait = ms <= 0 ? 0 : ms >= int.MaxValue - 1 ? int.MaxValue - 1 : (int)Math.Ceiling(ms);
            _timer.Change(wait, Timeout.Infinite);
        }

        private void Push(Waiter waiter)
        {
            if (_count == _heap.Length) Array.Resize(ref _heap, _heap.Length * 2);
            var i = _count++;
            while (i > 0)
            {
                var parent = (i - 1) / 2;
                if (_heap[parent].Due <= waiter.Due) break;
                _heap[i] = _heap[parent];
                i = parent;
            }
            _heap[i] = waiter;
        }

        private Waiter Pop()
        {
            var top = _heap[0];
            var last = _heap[--_count];
            _heap[_count] = null;
            if (_count > 0)
            {
                var i = 0;
                while (true)
                {
                    var child = 2 * i + 1;
                    if (child >= _count) break;
                    if (child + 1 < _count && _heap[child + 1].Due < _heap[child].Due) child++;
                    if (_heap[child].Due >= last.Due) break;
                    _heap[i] = _heap[child];
                    i = child;
                }
                _heap[i] = last;
            }
            return top;
        }

        public void Dispose()
        {
            _registration.Dispose();
            lock (_lock)
            {
                _disposed = true;
                _timer.Dispose();
            }
        }
    }

    /// <summary>
    /// At most a number of status requests in flight to one endpoint; the others wait their turn in arrival order
    /// (as with a <see cref="SemaphoreSlim"/>, without a task and a cancellation registration per waiting job).
    /// A gate made with a token of its own releases every queued waiter as cancelled when that token is cancelled.
    /// </summary>
    /// <remarks>
    /// The gates the job engine uses are shared by every wait of the process (<see cref="Use"/>): the limit and an
    /// endpoint's pause are the endpoint's, not one wait's (four waits in ForEach-Object -Parallel had 128 reads in
    /// flight to one endpoint, and a 429 quieted only the wait it answered). Each wait enters with its own token, and
    /// its cancellation takes out only its own waiters (<see cref="CancelWaitersOf"/>). Turns are first come, first
    /// served across waits: a small wait queued behind another wait's backlog to the same endpoint waits its turn (and
    /// is cut off at its deadline like any other), and a Retry-After for one project of an endpoint pauses the others'.
    /// </remarks>
    internal sealed class EndpointGate : IDisposable
    {
        private static readonly object TableLock = new object();
        // By endpoint and slot count (a wait given another limit keeps it); an entry goes when no wait uses it.
        private static readonly System.Collections.Generic.Dictionary<string, EndpointGate> Shared =
            new System.Collections.Generic.Dictionary<string, EndpointGate>(StringComparer.Ordinal);
        private string _name;
        private int _users;

        private readonly object _lock = new object();
        private readonly CancellationToken _token;
        private readonly CancellationTokenRegistration _registration;
        private int _free;
        private Waiter _head, _tail;
        private bool _cancelled;

        /// <summary>The process's gate of endpoint <paramref name="key"/> with <paramref name="slots"/> slots; give it back with <see cref="Unuse"/>.</summary>
        public static EndpointGate Use(string key, int slots)
        {
            slots = Math.Max(1, slots);
            var name = key + "\n" + slots.ToString(System.Globalization.CultureInfo.InvariantCulture);
            lock (TableLock)
            {
                if (!Shared.TryGetValue(name, out var gate)) Shared[name] = gate = new EndpointGate(slots, CancellationToken.None) { _name = name };
                gate._users++;
                return gate;
            }
        }

        /// <summary>A wait no longer uses the gate; the last one to leave removes it from the process's table.</summary>
        public void Unuse()
        {
            lock (TableLock)
            {
                if (--_users == 0 && Shared.TryGetValue(_name, out var gate) && ReferenceEquals(gate, this)) Shared.Remove(_name);
            }
        }

        /// <summary>Test hook: the number of shared gates in use.</summary>
        internal static int SharedCount
        {
            get { lock (TableLock) return Shared.Count; }
        }

        // A Stopwatch timestamp: until then the endpoint asked for quiet (a 429 or 503 with Retry-After). 0: none.
        private long _pausedUntil;

        /// <summary>
        /// The endpoint answered a status read "too many requests" (or "unavailable") with a Retry-After: every job of
        /// the wait holds its next read until then (see <see cref="PauseLeft"/>), not only the job that was told.
        /// </summary>
        public void PauseFor(TimeSpan pause)
        {
            if (pause <= TimeSpan.Zero) return;
            var until = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(pause.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
            long current;
            do
            {
                current = Volatile.Read(ref _pausedUntil);
                if (until <= current) return;
            }
            while (Interlocked.CompareExchange(ref _pausedUntil, until, current) != current);
        }

        /// <summary>How much of the endpoint's pause is left (zero when there is none).</summary>
        public TimeSpan PauseLeft
        {
            get
            {
                var left = Volatile.Read(ref _pausedUntil) - System.Diagnostics.Stopwatch.GetTimestamp();
                return left <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds((double)left / System.Diagnostics.Stopwatch.Frequency);
            }
        }

        public EndpointGate(int slots, CancellationToken token)
        {
            _free = Math.Max(1, slots);
            _token = token;
            _registration = token.Register(state => ((EndpointGate)state).CancelAll(), this);
        }

        /// <summary>Takes a slot for <paramref name="waiter"/>, at once or when one is released; await the result.</summary>
        public Waiter Enter(Waiter waiter) => Enter(waiter, _token);

        /// <summary>
        /// Takes a slot for <paramref name="waiter"/> of the wait whose token is <paramref name="token"/>; that wait
        /// calls <see cref="CancelWaitersOf"/> when the token is cancelled.
        /// </summary>
        public Waiter Enter(Waiter waiter, CancellationToken token)
        {
            lock (_lock)
            {
                if (_cancelled || _token.IsCancellationRequested) waiter.Complete(true, _token);
                else if (token.IsCancellationRequested) waiter.Complete(true, token);
                else if (_free > 0)
                {
                    _free--;
                    waiter.Complete(false, default);
                }
                else
                {
                    waiter.Queued = token;
                    waiter.Next = null;
                    if (_tail == null) _head = waiter;
                    else _tail.Next = waiter;
                    _tail = waiter;
                }
            }
            return waiter;
        }

        /// <summary>Gives the slot to the longest-waiting job, or back to the gate.</summary>
        public void Release()
        {
            lock (_lock)
            {
                if (_head != null && !_cancelled) Dequeue().Complete(false, default);
                else _free++;
            }
        }

        private Waiter Dequeue()
        {
            var w = _head;
            _head = w.Next;
            if (_head == null) _tail = null;
            w.Next = null;
            return w;
        }

        /// <summary>Releases, as cancelled, the queued waiters of the wait whose token is <paramref name="token"/>; the others keep their places.</summary>
        public void CancelWaitersOf(CancellationToken token)
        {
            lock (_lock)
            {
                Waiter previous = null;
                for (var w = _head; w != null;)
                {
                    var next = w.Next;
                    if (w.Queued.Equals(token))
                    {
                        if (previous == null) _head = next;
                        else previous.Next = next;
                        if (_tail == w) _tail = previous;
                        w.Next = null;
                        w.Complete(true, token);
                    }
                    else previous = w;
                    w = next;
                }
            }
        }

        private void CancelAll()
        {
            lock (_lock)
            {
                _cancelled = true;
                while (_head != null) Dequeue().Complete(true, _token);
            }
        }

        public void Dispose() => _registration.Dispose();
    }
}
