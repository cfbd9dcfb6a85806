using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Jobs;

namespace BackupTools.Commands
{
    public abstract partial class BackupCmdletBase
    {
        // The commands of the process that hold jobs (backups they created, jobs they wait for), until disposed. SIGTERM
        // (a CI job cancelled or timed out, docker stop, systemd, Kubernetes) ends pwsh at once: no pipeline is stopped,
        // no command disposed, no warning written. What these commands hold is then named on standard error. Held
        // weakly: a running pipeline holds its commands, and one never disposed (a steppable pipeline a proxy function
        // began and never ended) must not stay, with its runspace's state, for the life of the process.
        private static readonly Dictionary<long, WeakReference<BackupCmdletBase>> LiveCommands = new Dictionary<long, WeakReference<BackupCmdletBase>>();
        private static long _lastLiveId;
        private long _liveId; // (0: not among them)
        private static readonly TerminationHook Termination = new TerminationHook(HookTermination);

        // This command's jobs with the latest state it has seen, readable from the signal's thread.
        private ConcurrentDictionary<BackupJob, BackupJob> _traced;

        /// <summary>Remembers a job this command created, holds or follows (its latest state), for <see cref="LiveTrace"/>.</summary>
        private void Trace(BackupJob job)
        {
            if (job == null) return;
            if (_traced == null)
            {
                _traced = new ConcurrentDictionary<BackupJob, BackupJob>(JobIdentity.Comparer);
                Join();
            }
            _traced[job] = job;
        }

        /// <summary>Counts this command among those whose jobs a SIGTERM names (a create started, or a wait).</summary>
        private void Join()
        {
            lock (LiveCommands)
            {
                if (_left) return; // (disposed: nothing of it is live any more)
                if (_liveId == 0)
                {
                    LiveNow(); // (drops the entries of commands collected meanwhile)
                    _liveId = ++_lastLiveId;
                    LiveCommands.Add(_liveId, new WeakReference<BackupCmdletBase>(this));
                }
            }
            Termination.Ensure();
        }

        /// <summary>
        /// Registers the SIGTERM handler once, on a thread-pool thread: the reflection and PosixSignalRegistration.Create
        /// cost the first create some 2 ms on the pipeline thread, of a first call's start-up. Sound: until it is
        /// registered a SIGTERM ends the process as it did before any command joined (a moment after the first create
        /// started), and the registration is kept here for the life of the process.
        /// </summary>
        internal sealed class TerminationHook
        {
            private readonly Func<object> _register;
            private int _ensured;
            private int _registrations;
            private object _registration; // (kept: disposing it, or losing it, would unregister the handler)

            internal TerminationHook(Func<object> register) => _register = register;

            /// <summary>How many times the registration ran (once, or not yet).</summary>
            internal int Registrations => Volatile.Read(ref _registrations);

            internal void Ensure()
            {
                if (Interlocked.Exchange(ref _ensured, 1) == 1) return;
                ThreadPool.QueueUserWorkItem(_ =>
                {
                    Interlocked.Increment(ref _registrations);
                    try { _registration = _register(); }
                    catch (Exception ex) when (!(ex is OutOfMemoryException)) { }
                });
            }
        }

        private void Leave()
        {
            lock (LiveCommands)
            {
                _left = true;
                if (_liveId != 0) LiveCommands.Remove(_liveId);
            }
        }

        /// <summary>The live commands not yet collected; drops the entries of those that were. Call under the lock.</summary>
        private static List<BackupCmdletBase> LiveNow()
        {
            var live = new List<BackupCmdletBase>(LiveCommands.Count);
            List<long> gone = null;
            foreach (var entry in LiveCommands)
            {
                if (entry.Value.TryGetTarget(out var command)) live.Add(command);
                else (gone ?? (gone = new List<long>())).Add(entry.Key);
            }
            if (gone != null) foreach (var id in gone) LiveCommands.Remove(id);
            return live;
        }

        /// <summary>How many commands are live (joined, not disposed, not collected).</summary>
        internal static int LiveCommandCount()
        {
            lock (LiveCommands) return LiveNow().Count;
        }

        private bool _left;

        /// <summary>
        /// Registers <see cref="OnTermination"/> for SIGTERM (PosixSignalRegistration, .NET 6 and later, found by
        /// reflection: this assembly also loads on Windows PowerShell 5.1, which has none). The handler does not cancel
        /// the signal: the process still ends as it would have. Null where it cannot be registered.
        /// </summary>
        private static object HookTermination()
        {
            try
            {
                var core = typeof(object).Assembly;
                var registration = core.GetType("System.Runtime.InteropServices.PosixSignalRegistration");
                var signal = core.GetType("System.Runtime.InteropServices.PosixSignal");
                var context = core.GetType("System.Runtime.InteropServices.PosixSignalContext");
                if (registration == null || signal == null || context == null) return null;
                var handlerType = typeof(Action<>).MakeGenericType(context);
                var create = registration.GetMethod("Create", BindingFlags.Public | BindingFlags.Static, null, new[] { signal, handlerType }, null);
                var onTermination = typeof(BackupCmdletBase).GetMethod(nameof(OnTermination), BindingFlags.NonPublic | BindingFlags.Static);
                if (create == null || onTermination == null) return null;
                // (a method taking object binds to Action<PosixSignalContext>: the context is a reference type)
                var handler = Delegate.CreateDelegate(handlerType, onTermination);
                return create.Invoke(null, new object[] { Enum.Parse(signal, "SIGTERM"), handler });
            }
            catch (Exception ex) when (!(ex is OutOfMemoryException))
            {
                return null;
            }
        }

        private static void OnTermination(object context)
        {
            try
            {
                var text = LiveTrace();
                if (text == null) return;
                WriteTermination(Console.Error, text);
            }
            catch (Exception ex) when (!(ex is OutOfMemoryException)) { }
        }

        /// <summary>How long the SIGTERM handler waits for its trace to be written before it lets the process end.</summary>
        private static readonly TimeSpan TerminationWriteWait = TimeSpan.FromSeconds(1);

        /// <summary>
        /// Writes the SIGTERM trace from a thread of its own and waits for it at most <see cref="TerminationWriteWait"/>:
        /// the runtime goes on with the exit only once the handler returns, and a write to a pipe nobody reads (a full
        /// one: a supervisor that reads stderr only after the exit, or not at all) blocks for good; systemd and
        /// Kubernetes then send SIGKILL after their grace, and the trace is lost anyway. The trace itself is short (at
        /// most <see cref="NamedAtMost"/> jobs: some 10 KB, under a pipe's buffer), so it blocks only on a pipe that is
        /// already full. False when the write did not end in time (the thread is a background one: it ends with the process).
        /// </summary>
        internal static bool WriteTermination(System.IO.TextWriter writer, string text)
        {
            var line = "WARNING: BackupTools: " + text;
            var done = new System.Threading.ManualResetEventSlim(); // (not disposed: the writer may still hold it)
            var thread = new System.Threading.Thread(() =>
            {
                try
                {
                    writer.WriteLine(line);
                    writer.Flush();
                }
                catch (Exception ex) when (!(ex is OutOfMemoryException)) { }
                finally { done.Set(); }
            }) { IsBackground = true, Name = "BackupTools SIGTERM trace" };
            thread.Start();
            return done.Wait(TerminationWriteWait);
        }

        /// <summary>
        /// What the process's live commands hold that is not final: the jobs of backups they started or wait for, each as
        /// a hashtable Wait-BackupJob -Job takes, and the creates still without an answer; at most <see cref="NamedAtMost"/>
        /// of each, the rest counted (300 jobs named one by one made a trace of 139 KB). Null when there is nothing.
        /// </summary>
        internal static string LiveTrace()
        {
            List<BackupCmdletBase> live;
            lock (LiveCommands) live = LiveNow();
            // Each job once; one that any command has seen final is not named (the creating command before a wait
            // still holds it as it was written, running).
            var jobs = new List<BackupJob>();
            var listed = new HashSet<BackupJob>(JobIdentity.Comparer);
            var final = new HashSet<BackupJob>(JobIdentity.Comparer);
            var mayHaveStarted = new List<string>();
            void Add(BackupJob job)
            {
                if (job.IsFinal) final.Add(job);
                else if (listed.Add(job)) jobs.Add(job);
            }
            foreach (var command in live)
            {
                List<PendingCreate> pending;
                lock (command._pendingCreates) pending = new List<PendingCreate>(command._pendingCreates);
                foreach (var p in pending)
                {
                    var create = p.Create;
                    if (create == null) continue; // (not sent yet)
                    if (create.Status == TaskStatus.RanToCompletion) Add(create.Result);
                    else if (!create.IsCompleted) mayHaveStarted.Add(p.What);
                }
                var traced = command._traced;
                if (traced == null) continue;
                foreach (var job in traced.Values) Add(job);
            }
            jobs.RemoveAll(final.Contains);
            if (jobs.Count == 0 && mayHaveStarted.Count == 0) return null;
            var text = new System.Text.StringBuilder("the process was ended (SIGTERM) while it held ");
            if (jobs.Count > 0)
                text.Append($"{jobs.Count} backup job(s) not yet final; the backups go on, and their jobs went with the process. " +
                            "Wait-BackupJob -Job takes each of them as: ")
                    .Append(NameAtMost(jobs, JobAsHashtable, ", not named here: check the instances' backups"));
            if (mayHaveStarted.Count > 0)
            {
                text.Append(jobs.Count > 0 ? ". And " : string.Empty);
                text.Append($"{mayHaveStarted.Count} create request(s) without an answer yet, which may have started a backup: " +
                            "check the instances' backups before starting them again: ").Append(NameAtMost(mayHaveStarted, w => w, ", not named here"));
            }
            return text.ToString();
        }
    }
}
