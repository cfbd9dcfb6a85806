using System;
using System.Collections.Generic;
using System.Management.Automation;

namespace BackupTools.Commands
{
    /// <summary>How a followed job left the wait, as the parent line counts it.</summary>
    internal enum WaitEnd
    {
        /// <summary>Final on its service (succeeded, failed, cancelled).</summary>
        Finished,
        /// <summary>Still running when the wait's time ran out.</summary>
        TimedOut,
        /// <summary>Could not be followed (no connection, refused credential, unknown to its service).</summary>
        NotFollowed,
    }

    /// <summary>
    /// Progress of a wait: one parent activity (jobs finished of the total, shown from the start) and a child line for
    /// each of the <see cref="MaxChildLines"/> running jobs that changed last, percent where the service reports it.
    /// Throttled so thousands of jobs do not flood the host: each job's latest state is kept, and the changed ones are
    /// written with the parent at most every 250 ms (<see cref="FlushLater"/> asks for a later write when changes wait).
    /// A job's line ends (Completed) as soon as the job does, and every line still shown ends with the wait.
    /// Used only on the pipeline thread.
    /// </summary>
    internal sealed class WaitProgress
    {
        internal static readonly TimeSpan Interval = ProgressThrottle.Interval;

        /// <summary>Child lines shown at once: a host shows few anyway, and each line costs records as its job changes.</summary>
        internal const int MaxChildLines = 10;

        private const string ParentActivity = "Waiting for backup jobs";

        private readonly int _parentId;
        private readonly int _total;
        private readonly bool _enabled;
        private readonly Action<ProgressRecord> _write;
        private readonly ProgressThrottle _throttle;

        private sealed class Child
        {
            public BackupJob Job;
            public long Changed; // order of the last change, across jobs
            public bool Dirty;
            public int Id;       // 0: no line shown
            public string Activity;
        }

        // Every job seen running and not ended, by job, with its latest state.
        private readonly Dictionary<BackupJob, Child> _running = new Dictionary<BackupJob, Child>(Jobs.JobIdentity.Comparer);
        private readonly List<Child> _shown = new List<Child>();
        // Ids of ended lines, free again; an id is never given to a second job while its first is still shown.
        private readonly Stack<int> _freeIds = new Stack<int>();
        private int _nextChild;
        private long _changes;
        private bool _pending;      // something to write at the next flush
        private int _finished, _timedOut, _notFollowed;

        public WaitProgress(int parentId, int total, bool enabled, Action<ProgressRecord> write, Func<TimeSpan> now = null)
        {
            _parentId = parentId;
            _total = total;
            _enabled = enabled;
            _write = write;
            _throttle = new ProgressThrottle(now);
        }

        /// <summary>
        /// Called (on any thread) with the time until the next write is allowed when changes wait for it: arrange for
        /// <see cref="Flush"/> to be called on the pipeline thread then. Without it, they wait for the next event.
        /// </summary>
        public Action<TimeSpan> FlushLater
        {
            get => _throttle.FlushLater;
            set => _throttle.FlushLater = value;
        }

        /// <summary>The wait begins: the parent line, 0 of N finished.</summary>
        public void Start()
        {
            if (!_enabled || _throttle.Started) return;
            _pending = true;
            Write();
        }

        /// <summary>A job was read (first read, or a change): kept, and written at the next flush.</summary>
        public void Update(BackupJob job)
        {
            if (!_enabled) return;
            if (!_running.TryGetValue(job, out var child)) _running[job] = child = new Child();
            child.Job = job;
            child.Changed = ++_changes;
            child.Dirty = true;
            _pending = true;
            FlushIfDue();
        }

        /// <summary>A job left the wait: its line (if shown) ends now; the parent counts it.</summary>
        public void Done(BackupJob job, WaitEnd end = WaitEnd.Finished)
        {
            if (end == WaitEnd.TimedOut) _timedOut++;
            else if (end == WaitEnd.NotFollowed) _notFollowed++;
            else _finished++;
            if (!_enabled) return;
            if (_running.TryGetValue(job, out var child))
            {
                _running.Remove(job);
                if (child.Id != 0)
                {
                    _shown.Remove(child);
                    End(child, job.State.ToString());
                }
            }
            _pending = true;
            if (_finished + _timedOut + _notFollowed >= _total) Write(); // the parent's last count, whatever the gate
            else FlushIfDue();
        }

        /// <summary>Writes what waits, when the interval since the last write has passed (else asks again for later).</summary>
        public void Flush()
        {
            _throttle.FlushCame();
            FlushIfDue();
        }

        private void FlushIfDue()
        {
            if (!_enabled || !_pending) return;
            if (_throttle.MayWrite()) Write();
        }

        private void Write()
        {
            if (WriteParent()) WriteChildren();
        }

        /// <summary>Writes the parent's count; false when every job is done (no child lines to write then).</summary>
        private bool WriteParent()
        {
            _throttle.Wrote();
            _pending = false;
            var done = _finished + _timedOut + _notFollowed;
            var status = $"{_finished} of {_total} finished";
            if (_timedOut > 0) status += $", {_timedOut} timed out";
            if (_notFollowed > 0) status += $", {_notFollowed} could not be followed";
            var shownOf = _running.Count > MaxChildLines ? $" ({MaxChildLines} of {_running.Count} running shown)" : string.Empty;
            _write(new ProgressRecord(_parentId, ParentActivity, status + shownOf)
            {
                PercentComplete = _total == 0 ? 100 : Math.Min(100, _finished * 100 / _total),
            });
            return done < _total;
        }

        // The lines go to the jobs that changed last: shown ones that no longer are among them end, new ones begin.
        private void WriteChildren()
        {
            List<Child> wanted;
            if (_running.Count <= MaxChildLines) wanted = new List<Child>(_running.Values);
            else
            {
                wanted = new List<Child>(_running.Values);
                wanted.Sort((a, b) => b.Changed.CompareTo(a.Changed));
                wanted.RemoveRange(MaxChildLines, wanted.Count - MaxChildLines);
            }
            var keep = new HashSet<Child>(wanted);
            for (var i = _shown.Count - 1; i >= 0; i--)
            {
                var child = _shown[i];
                if (keep.Contains(child)) continue;
                _shown.RemoveAt(i);
                End(child, "Shown again when it changes");
                child.Dirty = true; // (its state is written again if it gets a line back)
            }
            wanted.Sort((a, b) => a.Changed.CompareTo(b.Changed));
            foreach (var child in wanted)
            {
                if (child.Id == 0)
                {
                    child.Id = _freeIds.Count > 0 ? _freeIds.Pop() : _parentId + 1 + _nextChild++;
                    _shown.Add(child);
                    child.Dirty = true;
                }
                if (!child.Dirty) continue;
                child.Dirty = false;
                var job = child.Job;
                // ProgressRecord refuses an empty status: a service answering "status": "" ended the whole wait.
                var status = string.IsNullOrWhiteSpace(job.RawStatus) ? job.State.ToString() : job.RawStatus;
                child.Activity = $"{job.Provider} {job.BackupName ?? job.JobId}";
                var record = new ProgressRecord(child.Id, child.Activity, status) { ParentActivityId = _parentId };
                if (job.PercentComplete is int p) record.PercentComplete = p;
                _write(record);
            }
        }

        private void End(Child child, string status)
        {
            _write(new ProgressRecord(child.Id, child.Activity ?? "Backup job", status)
            {
                ParentActivityId = _parentId,
                RecordType = ProgressRecordType.Completed,
            });
            _freeIds.Push(child.Id);
            child.Id = 0;
        }

        /// <summary>
        /// Ends the wait's lines: every child still shown (the jobs -Any or a timeout's error with -ErrorAction Stop left
        /// unfinished), then the parent. A child left without its Completed record stays on some hosts. (After Ctrl+C
        /// nothing can be written: PowerShell clears the progress display itself.)
        /// </summary>
        public void Complete()
        {
            if (!_enabled || !_throttle.Started) return;
            foreach (var child in _shown) End(child, "Done");
            _shown.Clear();
            _running.Clear();
            // A count not yet written (the job that ended an -Any wait, within the write interval) is written last.
            if (_pending) WriteParent();
            _write(new ProgressRecord(_parentId, ParentActivity, "Done") { RecordType = ProgressRecordType.Completed });
        }
    }
}
