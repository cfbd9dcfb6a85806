using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Management.Automation;

namespace BackupTools.Commands
{
    /// <summary>
    /// Progress of a wait: one parent activity (jobs done of total) and one child per running job, percent where the
    /// service reports it; throttled so thousands of jobs do not flood the host; a final Completed record for each.
    /// Used only on the pipeline thread.
    /// </summary>
    internal sealed class WaitProgress
    {
        private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
        private readonly int _parentId;
        private readonly int _total;
        private readonly bool _enabled;
        private readonly Action<ProgressRecord> _write;
        private readonly Dictionary<string, int> _childIds = new Dictionary<string, int>();
        // The activity each child line shows, to end the lines still shown when the wait ends.
        private readonly Dictionary<int, string> _activities = new Dictionary<int, string>();
        // Ids of finished children, free again; an id is never given to a second job while its first is still shown.
        private readonly Stack<int> _freeIds = new Stack<int>();
        private int _nextChild;
        private readonly Stopwatch _sinceParent = Stopwatch.StartNew();
        private int _done;
        private bool _started;

        public WaitProgress(int parentId, int total, bool enabled, Action<ProgressRecord> write)
        {
            _parentId = parentId;
            _total = total;
            _enabled = enabled;
            _write = write;
        }

        private static string Key(BackupJob job) => job.Provider + "|" + job.Endpoint + "|" + job.JobId + "|" + job.StatusUrl;

        public void Update(BackupJob job)
        {
            if (!_enabled) return;
            Parent(force: false);
            var key = Key(job);
            if (!_childIds.TryGetValue(key, out var id))
            {
                id = _freeIds.Count > 0 ? _freeIds.Pop() : _parentId + 1 + _nextChild++;
                _childIds[key] = id;
            }
            // ProgressRecord refuses an empty status: a service answering "status": "" ended the whole wait.
            var status = string.IsNullOrWhiteSpace(job.RawStatus) ? job.State.ToString() : job.RawStatus;
            var activity = $"{job.Provider} {job.BackupName ?? job.JobId}";
            _activities[id] = activity;
            var record = new ProgressRecord(id, activity, status)
            {
                ParentActivityId = _parentId,
            };
            if (job.PercentComplete is int p) record.PercentComplete = p;
            _write(record);
        }

        public void Done(BackupJob job)
        {
            _done++;
            if (!_enabled) return;
            if (_childIds.TryGetValue(Key(job), out var id))
            {
                _write(new ProgressRecord(id, $"{job.Provider} {job.BackupName ?? job.JobId}", job.State.ToString())
                {
                    ParentActivityId = _parentId,
                    RecordType = ProgressRecordType.Completed,
                });
                _childIds.Remove(Key(job));
                _activities.Remove(id);
                _freeIds.Push(id);
            }
            Parent(force: _done == _total);
        }

        private void Parent(bool force)
        {
            if (!force && _started && _sinceParent.Elapsed < Interval) return;
            _started = true;
            _sinceParent.Restart();
            _write(new ProgressRecord(_parentId, "Waiting for backup jobs", $"{_done} of {_total} finished")
            {
                PercentComplete = _total == 0 ? 100 : Math.Min(100, _done * 100 / _total),
            });
        }

        /// <summary>
        /// Ends the wait's lines: every child still shown (the jobs -Any or a timeout's error with -ErrorAction Stop left
        /// unfinished), then the parent. A child left without its Completed record stays on some hosts. (After Ctrl+C
        /// nothing can be written: PowerShell clears the progress display itself.)
        /// </summary>
        public void Complete()
        {
            if (!_enabled || !_started) return;
            foreach (var id in _childIds.Values)
                _write(new ProgressRecord(id, _activities.TryGetValue(id, out var activity) ? activity : "Backup job", "Done")
                {
                    ParentActivityId = _parentId,
                    RecordType = ProgressRecordType.Completed,
                });
            _childIds.Clear();
            _activities.Clear();
            _write(new ProgressRecord(_parentId, "Waiting for backup jobs", "Done") { RecordType = ProgressRecordType.Completed });
        }
    }
}
