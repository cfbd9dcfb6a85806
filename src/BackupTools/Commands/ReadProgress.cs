using System;
using System.Management.Automation;

namespace BackupTools.Commands
{
    /// <summary>
    /// Progress of Get-BackupJob's reads: one line, "n of N read" (N counts the reads started so far: jobs arrive from
    /// the pipeline as the reads go on). Nothing is written until the reads have gone on for one
    /// <see cref="ProgressThrottle.Interval"/> (a few jobs read at once would only flash a bar), then the line is
    /// updated at most that often (<see cref="ProgressThrottle"/>, as a wait's is), and ended with a Completed record.
    /// Used only on the pipeline thread.
    /// </summary>
    internal sealed class ReadProgress
    {
        private const string Activity = "Reading backup jobs";

        private readonly int _id;
        private readonly bool _enabled;
        private readonly Action<ProgressRecord> _write;
        private readonly ProgressThrottle _throttle;
        private TimeSpan? _firstAt;
        private int _started, _read;
        private bool _pending;
        private bool _ended;

        public ReadProgress(int id, bool enabled, Action<ProgressRecord> write, Func<TimeSpan> now = null)
        {
            _id = id;
            _enabled = enabled;
            _write = write;
            _throttle = new ProgressThrottle(now);
        }

        /// <summary>Called (on any thread) with a delay after which <see cref="Flush"/> should be called on the pipeline thread.</summary>
        public Action<TimeSpan> FlushLater
        {
            get => _throttle.FlushLater;
            set => _throttle.FlushLater = value;
        }

        /// <summary>A job's read started.</summary>
        public void Started()
        {
            if (!_enabled) return;
            _started++;
            if (_firstAt == null) _firstAt = _throttle.Now;
            _pending = true;
            FlushIfDue();
        }

        /// <summary>A job's read ended (the job or its error written).</summary>
        public void Read()
        {
            if (!_enabled) return;
            _read++;
            _pending = true;
            FlushIfDue();
        }

        /// <summary>Writes what waits, when it may (else asks again for later).</summary>
        public void Flush()
        {
            _throttle.FlushCame();
            FlushIfDue();
        }

        private void FlushIfDue()
        {
            if (!_enabled || _ended || !_pending || !(_firstAt is TimeSpan first)) return;
            if (!_throttle.Started)
            {
                // Not shown yet: only reads that are still going on after one interval are worth a line.
                if (_read >= _started) return;
                var since = _throttle.Now - first;
                if (since < ProgressThrottle.Interval)
                {
                    _throttle.AskLater(ProgressThrottle.Interval - since);
                    return;
                }
            }
            if (_throttle.MayWrite()) Write();
        }

        private void Write()
        {
            _throttle.Wrote();
            _pending = false;
            _write(new ProgressRecord(_id, Activity, $"{_read} of {_started} read")
            {
                PercentComplete = _started == 0 ? 100 : Math.Min(100, _read * 100 / _started),
            });
        }

        /// <summary>The reads are over: the last count (when it changed since the last write), then the Completed record; nothing when no line was shown.</summary>
        public void Complete()
        {
            if (!_enabled || _ended || !_throttle.Started) return;
            _ended = true;
            if (_pending) Write();
            _write(new ProgressRecord(_id, Activity, "Done") { RecordType = ProgressRecordType.Completed });
        }
    }
}
