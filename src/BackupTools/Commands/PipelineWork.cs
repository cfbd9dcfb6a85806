using System;
using System.Collections.Generic;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using System.Threading;

namespace BackupTools.Commands
{
    /// <summary>
    /// The work waiting for one runspace's pipeline thread, in lanes. Each pump (a command's
    /// <see cref="BackupCmdletBase.Pump"/> call, its concurrent creates) has its own lane: what the command's work posts
    /// there (output, errors, verbose lines, progress) only that pump runs, in the order posted, so a command writes
    /// only from its own Begin/Process/EndProcessing. Work that needs the thread but writes nothing of a command's (a
    /// -TokenProvider script block) is shared: whichever pump of the runspace is waiting runs it. The thread is often in
    /// another command's pump when that work is posted (<c>New-InstanceBackup -ThrottleLimit 4 | Get-BackupJob</c>:
    /// Get-BackupJob reads a job while the creates behind it are in flight), and that pump's own work may be waiting for
    /// the very token the script gives (the credential renews once for every request): run only by the command that
    /// posted it, the script waited for a thread that waited for the script.
    /// </summary>
    internal sealed class PipelineWork
    {
        // One per runspace: all its pumps run on its pipeline thread, and the runspaces of one process (ForEach-Object
        // -Parallel, thread jobs) never run each other's script blocks, each bound to its own session state.
        private static readonly ConditionalWeakTable<Runspace, PipelineWork> OfRunspace = new ConditionalWeakTable<Runspace, PipelineWork>();

        private readonly object _lock = new object();
        private readonly Queue<SharedWork> _shared = new Queue<SharedWork>();

        /// <summary>
        /// The work of the runspace running on this thread (call it on the pipeline thread). Without a runspace here,
        /// one of its own, shared with no other pump: the lanes then behave as separate queues did.
        /// </summary>
        internal static PipelineWork OfCurrentRunspace()
        {
            var runspace = Runspace.DefaultRunspace;
            return runspace == null ? new PipelineWork() : OfRunspace.GetValue(runspace, _ => new PipelineWork());
        }

        /// <summary>A lane for one pump.</summary>
        internal Lane NewLane() => new Lane(this);

        private sealed class SharedWork
        {
            public Lane Owner;
            public Action Run;
            public Action NotRun;
        }

        /// <summary>One pump's queue, whose takes also run the runspace's shared work. Taken from on the pipeline thread only.</summary>
        internal sealed class Lane
        {
            private readonly PipelineWork _work;
            private readonly Queue<Action> _own = new Queue<Action>();
            private bool _completed;
            private bool _closed;

            internal Lane(PipelineWork work) => _work = work;

            /// <summary>Queues work for this lane's pump alone; dropped once the lane is completed or closed.</summary>
            public void Post(Action action)
            {
                lock (_work._lock)
                {
                    if (_completed || _closed) return;
                    _own.Enqueue(action);
                    Monitor.PulseAll(_work._lock);
                }
            }

            /// <summary>
            /// Queues work any pump of the runspace may run (it must not throw, nor write to a command's output). When
            /// this lane is completed or closed first, <paramref name="notRun"/> is called instead (at once, or when it
            /// closes), on whichever thread that happens.
            /// </summary>
            public void PostShared(Action run, Action notRun)
            {
                lock (_work._lock)
                {
                    if (!_completed && !_closed)
                    {
                        _work._shared.Enqueue(new SharedWork { Owner = this, Run = run, NotRun = notRun });
                        Monitor.PulseAll(_work._lock);
                        return;
                    }
                }
                notRun();
            }

            /// <summary>The work behind this lane has ended: nothing more is posted; what is queued is still taken.</summary>
            public void Complete()
            {
                lock (_work._lock)
                {
                    _completed = true;
                    Monitor.PulseAll(_work._lock);
                }
            }

            /// <summary>The pump has ended: what it left is dropped, and its shared work still queued is not run.</summary>
            public void Close()
            {
                List<SharedWork> dropped = null;
                lock (_work._lock)
                {
                    if (_closed) return;
                    _closed = true;
                    _own.Clear();
                    var count = _work._shared.Count;
                    for (var i = 0; i < count; i++)
                    {
                        var shared = _work._shared.Dequeue();
                        if (shared.Owner == this) (dropped ?? (dropped = new List<SharedWork>())).Add(shared);
                        else _work._shared.Enqueue(shared);
                    }
                }
                if (dropped != null)
                    foreach (var shared in dropped) shared.NotRun();
            }

            /// <summary>
            /// The next work for this pump: the runspace's shared work first (someone may be waiting on it, perhaps
            /// this pump's own work), then this lane's, in order. With <paramref name="wait"/>, blocks until there is
            /// some or the lane is completed and empty; false when there is none (or the lane is closed).
            /// </summary>
            public bool TryTake(bool wait, out Action action)
            {
                lock (_work._lock)
                {
                    while (!_closed)
                    {
                        if (_work._shared.Count > 0)
                        {
                            action = _work._shared.Dequeue().Run;
                            return true;
                        }
                        if (_own.Count > 0)
                        {
                            action = _own.Dequeue();
                            return true;
                        }
                        if (_completed || !wait) break;
                        Monitor.Wait(_work._lock);
                    }
                }
                action = null;
                return false;
            }
        }
    }
}
