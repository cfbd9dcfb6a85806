using System;
using System.Diagnostics;

namespace BackupTools.Commands
{
    /// <summary>
    /// When a command's progress may be written: the first write at once, then at most one every <see cref="Interval"/>,
    /// so thousands of jobs do not flood the host. A write held back asks <see cref="FlushLater"/> (once) for a call when
    /// it is allowed, so a change is shown even if no other event comes. Shared by a wait's progress and Get-BackupJob's.
    /// Used only on the pipeline thread.
    /// </summary>
    internal sealed class ProgressThrottle
    {
        /// <summary>The shortest time between two writes.</summary>
        internal static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

        private readonly Func<TimeSpan> _now;
        private bool _flushAsked;   // FlushLater was called and its flush has not come yet
        private TimeSpan _lastWrite;

        /// <param name="now">The clock (tests move their own); a stopwatch started now when null.</param>
        public ProgressThrottle(Func<TimeSpan> now = null)
        {
            if (now == null)
            {
                var watch = Stopwatch.StartNew();
                now = () => watch.Elapsed;
            }
            _now = now;
        }

        /// <summary>
        /// Called (on any thread) with the time until the next write is allowed when a write waits for it: arrange for
        /// the owner's flush to be called on the pipeline thread then (and to call <see cref="FlushCame"/>).
        /// </summary>
        public Action<TimeSpan> FlushLater { get; set; }

        /// <summary>Whether anything was written yet.</summary>
        public bool Started { get; private set; }

        /// <summary>The clock's time now.</summary>
        public TimeSpan Now => _now();

        /// <summary>
        /// True when a write may go now (none yet, or the interval since the last has passed); otherwise a flush is asked
        /// for when it may (once).
        /// </summary>
        public bool MayWrite()
        {
            var since = _now() - _lastWrite;
            if (!Started || since >= Interval) return true;
            AskLater(Interval - since);
            return false;
        }

        /// <summary>Asks <see cref="FlushLater"/> for a flush after <paramref name="due"/>, unless one is asked for already.</summary>
        public void AskLater(TimeSpan due)
        {
            if (_flushAsked || FlushLater == null) return;
            _flushAsked = true;
            FlushLater(due);
        }

        /// <summary>A flush asked for has come.</summary>
        public void FlushCame() => _flushAsked = false;

        /// <summary>A write went out now.</summary>
        public void Wrote()
        {
            Started = true;
            _lastWrite = _now();
        }
    }
}
