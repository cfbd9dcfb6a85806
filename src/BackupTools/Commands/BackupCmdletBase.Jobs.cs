using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Jobs;

namespace BackupTools.Commands
{
    public abstract partial class BackupCmdletBase
    {
        private static int _nextActivityId = 1000;

        // Jobs this command holds and has not written yet (created with -Wait, or being waited on), by job, with the
        // latest state the wait saw; and whether they are being written because an error is about to stop the command.
        private Dictionary<BackupJob, BackupJob> _held;
        // Every job a wait of this command follows (with -Any too), with the latest state it saw, written or not: what a
        // wait stopped on the way keeps.
        private Dictionary<BackupJob, BackupJob> _following;
        private bool _writingHeld;
        private List<string> _failuresWhileWritingHeld;

        // Creates this command started whose job (or error) is not written yet: a pipeline that ends early (Ctrl+C, an
        // upstream error, Select-Object -First) must not drop a backup that started without a word.
        private readonly List<PendingCreate> _pendingCreates = new List<PendingCreate>();

        private sealed class PendingCreate
        {
            public string What;
            // The row, without its secrets: the target of a create's error that names none (a -TokenProvider script that failed).
            public BackupRequest Request;
            public volatile Task<BackupJob> Create;
            // Told of the create's error, on the pipeline thread, before it is written.
            public Action<BackupToolsException> Failed;
        }

        private PendingCreate Track(BackupConnection connection, BackupRequest request)
        {
            var withoutSecrets = request.WithoutSecrets();
            var pending = new PendingCreate { What = $"{connection.Provider} {withoutSecrets}", Request = withoutSecrets };
            lock (_pendingCreates) _pendingCreates.Add(pending);
            Join();
            return pending;
        }

        private void Written(PendingCreate pending)
        {
            lock (_pendingCreates) _pendingCreates.Remove(pending);
        }

        /// <summary>
        /// A create's error. A create that may have started stays pending until its record has reached the user: a
        /// record deferred while held jobs are written (a warning, which a preference silences) or never written (the
        /// pipeline ended while they were) leaves it to <see cref="ReportUnwritten"/>, which names it to the host.
        /// </summary>
        private void WriteCreateError(BackupToolsException ex, PendingCreate pending)
        {
            pending.Failed?.Invoke(ex);
            if (!BackupService.CreateMayHaveStarted(ex)) Written(pending); // nothing started: nothing to trace
            WriteError(ex, pending.Request, () => Written(pending));
        }

        // The job of the error that stopped this command (a failed job with -ErrorAction Stop): it reached the user as
        // that error's target (what `catch { $_.TargetObject }` gets), so it is neither kept nor named as one that may not have.
        private BackupJob _stoppedBy;

        /// <summary>True for a command whose held jobs are backups it started (their only handle), not jobs it was given.</summary>
        protected virtual bool HeldJobsAreItsOwn => false;

        // The jobs of its own backups a creating command wrote, and whether it ran to its end: a command stopped on the
        // way (an error with -ErrorAction Stop, Ctrl+C, an upstream error) may have written jobs that never reached the
        // user, since `$jobs = … | New-InstanceBackup` assigns nothing when the statement is stopped.
        private List<BackupJob> _writtenOwn;
        private bool _ranToEnd;

        /// <summary>
        /// Writes a job to the pipeline; a creating command remembers it (see <see cref="RanToEnd"/>). A command after it
        /// that ends the pipeline because it had enough (Select-Object -First) cannot be told from one that failed on the
        /// job (both reach this command as PipelineStoppedException): such a stop also keeps the jobs written, and says so.
        /// </summary>
        protected void WriteJob(BackupJob job)
        {
            if (HeldJobsAreItsOwn) (_writtenOwn ?? (_writtenOwn = new List<BackupJob>())).Add(job);
            Trace(job);
            WriteObject(job);
        }

        /// <summary>At most this many jobs (or creates) are named one by one in a warning or a SIGTERM trace; the rest are counted.</summary>
        internal const int NamedAtMost = 20;

        /// <summary>
        /// The first <see cref="NamedAtMost"/> of <paramref name="items"/>, each as <paramref name="name"/> gives it, joined
        /// by "; ", then "; and N more" and <paramref name="rest"/> when there are more: 10,000 jobs named one by one made
        /// a warning of 4.6 MB.
        /// </summary>
        internal static string NameAtMost<T>(List<T> items, Func<T, string> name, string rest)
        {
            var named = items.Count <= NamedAtMost ? items : items.GetRange(0, NamedAtMost);
            var text = string.Join("; ", named.ConvertAll(item => name(item)));
            return items.Count > named.Count ? $"{text}; and {items.Count - named.Count} more{rest}" : text;
        }

        /// <summary>The command's EndProcessing finished: every job it wrote went where the pipeline took it.</summary>
        protected void RanToEnd() => _ranToEnd = true;

        /// <summary>
        /// When the pipeline ended before this command could write everything (Ctrl+C, an upstream or downstream error,
        /// Select-Object -First): the jobs of backups it started and did not write are kept in $BackupToolsUnwrittenJobs
        /// (added to what is there), and the creates cut off on their way, which may have started a backup, are named
        /// in a warning to the host, the only stream left. Nothing is said when everything was written. In a runspace
        /// without a host of its own (ForEach-Object -Parallel, a thread job), whose variable goes with it, the warning
        /// names each job as a hashtable Wait-BackupJob takes; stopped there, or when the host refuses it, it also goes
        /// to the process's standard error, since the runspace's warning stream no longer reaches anyone. A host's
        /// warning names them so too when the command was stopped (the session may end with the stop), which includes a
        /// command after it that had enough (Select-Object -First): this command sees the same PipelineStoppedException
        /// as for an error. So at most <see cref="NamedAtMost"/> jobs are named, and the rest counted.
        /// </summary>
        private void ReportUnwritten()
        {
            List<PendingCreate> pending;
            lock (_pendingCreates) pending = new List<PendingCreate>(_pendingCreates);
            // (A create never dispatched, still waiting for a throttle slot when the pipeline ended, sent nothing.)
            pending.RemoveAll(p => p.Create == null);
            // The creates still running were cancelled a moment ago: a short while to say how each ended.
            var running = pending.FindAll(p => !p.Create.IsCompleted).ConvertAll(p => (Task)p.Create);
            if (running.Count > 0)
            {
                try { Task.WaitAll(running.ToArray(), TimeSpan.FromMilliseconds(200)); } // (what has not ended by then: "may have started")
                catch (AggregateException) { }
            }
            var jobs = new List<BackupJob>();
            var listed = new HashSet<BackupJob>(JobIdentity.Comparer);
            if (_stoppedBy != null) listed.Add(_stoppedBy); // (reached the user with the error: never listed)
            var mayHaveStarted = new List<string>();
            foreach (var p in pending)
            {
                var create = p.Create;
                if (create.Status == TaskStatus.RanToCompletion) { if (listed.Add(create.Result)) jobs.Add(create.Result); }
                else if (!create.IsCompleted || BackupService.CreateMayHaveStarted(create.Exception?.GetBaseException())) mayHaveStarted.Add(p.What);
            }
            // Stopped on the way: by an error or another command (EndProcessing never ended), or by Ctrl+C (which can also
            // let EndProcessing end, its waits cancelled).
            var stopped = !_ranToEnd || _stopRequested;
            // A wait stopped on the way keeps every job it was following, as a creating command keeps its own: in
            // `$done = … | New-InstanceBackup | Wait-BackupJob -ErrorAction Stop` the creator ran to its end and the
            // jobs the wait wrote went nowhere.
            var waitStopped = stopped && _following != null;
            if ((HeldJobsAreItsOwn || waitStopped) && _held != null)
                foreach (var job in _held.Values)
                    if (listed.Add(job)) jobs.Add(job);
            var unwritten = new HashSet<BackupJob>(jobs, JobIdentity.Comparer);
            if (HeldJobsAreItsOwn && stopped && _writtenOwn != null)
                for (var i = _writtenOwn.Count - 1; i >= 0; i--) // the latest state of each first
                    if (listed.Add(_writtenOwn[i])) jobs.Add(_writtenOwn[i]);
            if (waitStopped)
                foreach (var job in _following.Values)
                    if (listed.Add(job)) jobs.Add(job);
            if (jobs.Count == 0 && mayHaveStarted.Count == 0) return;
            WarnUnwritten(jobs, unwritten, mayHaveStarted, stopped);
        }

        // The rare part of ReportUnwritten, apart: every command runs the part above when it ends, and a method's first
        // call compiles all of it (the text below was most of the cmdlet code a runbook's first call compiled).
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private void WarnUnwritten(List<BackupJob> jobs, HashSet<BackupJob> unwritten, List<string> mayHaveStarted, bool stopped)
        {
            // A runspace made without a host (ForEach-Object -Parallel, a thread job) shows nothing itself: its host's
            // warnings go to its PowerShell's warning stream, which ForEach-Object and the job pass on to the caller. Its
            // $BackupToolsUnwrittenJobs goes when the runspace does, so the jobs are named in a form Wait-BackupJob takes.
            var hostless = HasNoHostOfItsOwn(Host);
            var text = new System.Text.StringBuilder();
            if (jobs.Count > 0)
            {
                // The command named: the warning stands alone after the command (a host line, not a record), and in
                // `New-InstanceBackup | Wait-BackupJob` "it" could be either.
                var command = MyInvocation?.MyCommand?.Name ?? "the command";
                var whose = HeldJobsAreItsOwn ? $"{command} started" : $"{command} was waiting for";
                try
                {
                    // Jobs already kept (the creating command before it in the pipeline kept the same ones) are kept
                    // once, with the latest state, and not named again.
                    jobs = KeepUnwritten(jobs);
                    var notWritten = jobs.FindAll(unwritten.Contains).Count;
                    if (notWritten > 0) text.Append($"{notWritten} backup(s) {whose} were not written: the pipeline ended first. ");
                    if (jobs.Count > notWritten)
                        text.Append($"{jobs.Count - notWritten} backup(s) {whose} were written before the command was stopped, and may not have reached you " +
                                    "(an assignment such as $jobs = … keeps nothing when its statement is stopped). ");
                    if (jobs.Count > 0 && hostless)
                    {
                        var name = Runspace.DefaultRunspace?.Name;
                        text.Append($"Their jobs are in this runspace's ${UnwrittenVariable.Substring(7)}, which goes with the runspace" +
                                    $"{(string.IsNullOrEmpty(name) ? string.Empty : $" ({name})")}: it has no host of its own (ForEach-Object -Parallel, a thread job). " +
                                    "Wait-BackupJob -Job takes each of them as: ")
                            .Append(NameAtMost(jobs, JobAsHashtable, ", not named here, and kept nowhere once the runspace has ended: check the instances' backups"));
                    }
                    else if (jobs.Count > 0)
                    {
                        text.Append($"Their jobs are in ${UnwrittenVariable.Substring(7)} (Wait-BackupJob takes them).");
                        // A session run from a file or a command (pwsh -File, -Command) ends with the stop: after
                        // Ctrl+C (SIGINT), without running its finally blocks, and after an error that nothing
                        // catches ($ErrorActionPreference = 'Stop', as a runbook sets it). The variable goes with the
                        // process, and this warning in the log is all that is left of the backups.
                        if (stopped)
                            text.Append(" If this session ends with the stop (pwsh -File or -Command does, after Ctrl+C or an error nothing catches), " +
                                        "Wait-BackupJob -Job takes each of them as: ")
                                .Append(NameAtMost(jobs, JobAsHashtable, $": all are in ${UnwrittenVariable.Substring(7)}"));
                    }
                }
                catch (Exception ex) when (!(ex is OutOfMemoryException))
                {
                    text.Append($"{jobs.Count} backup(s) {whose} may not have reached you: the pipeline ended first. ");
                    if (hostless) text.Append("Wait-BackupJob -Job takes each of them as: ").Append(NameAtMost(jobs, JobAsHashtable, ", not named here"));
                    else text.Append("Their jobs: ").Append(NameAtMost(jobs, j => $"{j.Provider} {j.BackupName} job {j.JobId}", ", not named here"));
                }
            }
            if (text.Length == 0 && mayHaveStarted.Count == 0) return;
            if (mayHaveStarted.Count > 0)
            {
                if (text.Length > 0) text.Append(' ');
                text.Append($"{mayHaveStarted.Count} create request(s) were cut off on their way, or lost their answer while the command stopped, and may have started a backup: " +
                            "check the instances' backups before starting them again: ");
                text.Append(string.Join("; ", mayHaveStarted));
            }
            var warning = text.ToString();
            var shown = false;
            try
            {
                if (Host?.UI != null)
                {
                    Host.UI.WriteWarningLine(warning);
                    shown = true;
                }
            }
            catch (Exception ex) when (!(ex is OutOfMemoryException)) { }
            // Stopped, such a runspace's stream reaches nobody: ForEach-Object stops too, drops what its tasks write while
            // they stop and closes the stream (a later warning fails); Stop-Job ends the thread job. The process's
            // standard error is what is left: the console the user pressed Ctrl+C in.
            if (!shown || (hostless && _stopRequested))
            {
                try { Console.Error.WriteLine("WARNING: BackupTools: " + warning); }
                catch (Exception ex) when (!(ex is OutOfMemoryException)) { }
            }
        }

        /// <summary>
        /// True for the host PowerShell gives a runspace made without one (<c>RunspaceFactory.CreateRunspace(iss)</c>:
        /// ForEach-Object -Parallel's tasks, Start-ThreadJob without -StreamingHost, a runspace pool of a script): it has
        /// no user interface, and is known only by its name.
        /// </summary>
        internal static bool HasNoHostOfItsOwn(System.Management.Automation.Host.PSHost host) =>
            host == null || string.Equals(host.Name, "Default Host", StringComparison.Ordinal);

        /// <summary>
        /// A job as a PowerShell hashtable that Wait-BackupJob -Job and Get-BackupJob -Job take (BackupJob.FromProperties):
        /// what identifies it and where it is read, with its creation time (the grace for a job the service does not list
        /// yet counts from it).
        /// </summary>
        internal static string JobAsHashtable(BackupJob job)
        {
            var parts = new List<string>();
            void Add(string name, string value)
            {
                if (string.IsNullOrEmpty(value)) return;
                // Inside single quotes only a quote is special, and PowerShell takes the typographic ones for quotes too.
                var quoted = new System.Text.StringBuilder(value.Length + 2).Append('\'');
                foreach (var c in value)
                {
                    if (c == '\'' || c == '\u2018' || c == '\u2019' || c == '\u201A' || c == '\u201B') quoted.Append(c);
                    quoted.Append(c);
                }
                parts.Add($"{name} = {quoted.Append('\'')}");
            }
            Add(nameof(BackupJob.Provider), job.Provider);
            Add(nameof(BackupJob.Endpoint), job.Endpoint);
            Add(nameof(BackupJob.Scope), job.Scope);
            if (job.Kind != BackupKind.Instance) Add(nameof(BackupJob.Kind), job.Kind.ToString());
            Add(nameof(BackupJob.InstanceId), job.InstanceId);
            Add(nameof(BackupJob.BackupName), job.BackupName);
            Add(nameof(BackupJob.BackupId), job.BackupId);
            Add(nameof(BackupJob.JobId), job.JobId);
            Add(nameof(BackupJob.StatusUrl), job.StatusUrl);
            Add(nameof(BackupJob.CreatedAt), job.CreatedAt.ToString("o", System.Globalization.CultureInfo.InvariantCulture));
            return "@{ " + string.Join("; ", parts) + " }";
        }

        /// <summary>
        /// Adds the jobs to $BackupToolsUnwrittenJobs: a job already there (the same identity) is replaced by its latest
        /// state (a final state is never replaced by a running one), and the others are appended. Returns those that
        /// were not there.
        /// </summary>
        private List<BackupJob> KeepUnwritten(List<BackupJob> jobs)
        {
            var kept = new List<object>();
            var at = new Dictionary<BackupJob, int>(JobIdentity.Comparer);
            if (SessionState.PSVariable.GetValue(UnwrittenVariable) is object before)
                foreach (var o in LanguagePrimitives.GetEnumerable(before) ?? new[] { before })
                {
                    if ((o is PSObject wrapped ? wrapped.BaseObject : o) is BackupJob job && !at.ContainsKey(job)) at[job] = kept.Count;
                    kept.Add(o);
                }
            var added = new List<BackupJob>();
            foreach (var job in jobs)
            {
                if (at.TryGetValue(job, out var i))
                {
                    var there = (BackupJob)(kept[i] is PSObject wrapped ? wrapped.BaseObject : kept[i]);
                    if (job.IsFinal || !there.IsFinal) kept[i] = job;
                    continue;
                }
                at[job] = kept.Count;
                kept.Add(job);
                added.Add(job);
            }
            SessionState.PSVariable.Set(UnwrittenVariable, kept.ToArray());
            return added;
        }

        /// <summary>Keeps a job this command will write later (after its wait), so that an error that stops the command cannot lose it.</summary>
        protected void Hold(BackupJob job)
        {
            (_held ?? (_held = new Dictionary<BackupJob, BackupJob>(JobIdentity.Comparer)))[job] = job;
            Trace(job);
        }

        private void Seen(BackupJob job, bool written)
        {
            Trace(job);
            if (_following != null && _following.ContainsKey(job)) _following[job] = job;
            if (_held == null) return;
            if (written) _held.Remove(job);
            else if (_held.ContainsKey(job)) _held[job] = job;
        }

        /// <summary>
        /// A further failure while the held jobs are written (the command stops with the first error): kept, to be
        /// written as a warning after the jobs (a create among them that may have started is also named to the host,
        /// see <see cref="WriteCreateError"/>). False when no held jobs are being written.
        /// </summary>
        private bool DeferredWhileWritingHeld(BackupToolsException ex)
        {
            if (!_writingHeld) return false;
            (_failuresWhileWritingHeld ?? (_failuresWhileWritingHeld = new List<string>())).Add($"{ex.ErrorId}: {ex.Message}");
            return true;
        }

        /// <summary>
        /// Before an error stops the command: the creates already sent finish and their jobs are written, and every job
        /// the command holds is written with the last state it knows (still running, for a wait cut short). Without
        /// this a backup that started would leave no handle: a script with -ErrorAction Stop, or a -Wait whose first
        /// job failed, lost the others. Further failures meanwhile are written as warnings.
        /// </summary>
        private void WriteHeldBeforeStopping()
        {
            _writingHeld = true;
            List<string> failures;
            try
            {
                _starts?.DrainAll();
                if (_held != null)
                {
                    var held = new List<BackupJob>(_held.Values);
                    _held.Clear();
                    foreach (var job in held) WriteJob(job);
                }
            }
            finally
            {
                _writingHeld = false;
                failures = _failuresWhileWritingHeld;
                _failuresWhileWritingHeld = null;
            }
            // The other failures meanwhile, after the jobs (a warning preference of Stop must not cost a job).
            if (failures == null) return;
            foreach (var failure in failures)
            {
                try { WriteWarning(failure); }
                catch (ActionPreferenceStopException) { return; }
            }
        }

        /// <summary>
        /// Starts one backup; a failure becomes a non-terminating error for that item. With a throttle limit above 1,
        /// up to that many creates are in flight at once across pipeline input, their results written as they come
        /// (call <see cref="FinishStarts"/> from EndProcessing). <paramref name="onFailed"/>, when given, is told of the
        /// create's error on the pipeline thread before the error is written (with a throttle limit, as it arrives).
        /// </summary>
        protected void StartBackup(BackupConnection connection, BackupRequest request, Action<BackupJob> onCreated, int throttleLimit = 1,
            Http.CreateRetryOptions retry = null, Action<BackupToolsException> onFailed = null)
        {
            // Read here, on the pipeline thread: a create queued behind the throttle limit starts later, when the
            // command may have been disposed (its token source with it).
            var cancel = CancelToken;
            var pending = Track(connection, request);
            pending.Failed = onFailed;
            Action<BackupJob> written = job =>
            {
                Written(pending);
                onCreated(job);
            };
            if (throttleLimit > 1)
            {
                if (_starts == null)
                {
                    _starts = new ConcurrentStarts();
                    _startSink = _starts.CreateSink(WriteVerbose, WriteDebug);
                    _startSink.VerboseWanted = VerboseWanted();
                }
                RunOnPipeline(() => _starts.Start(throttleLimit, _startSink, cancel, sink =>
                    ThenPost(pending.Create = BackupService.StartAsync(connection, request, sink, cancel, retry), sink, written), ex =>
                {
                    if (ex is BackupToolsException bte) WriteCreateError(bte, pending);
                    else if (!(ex is OperationCanceledException)) throw ex;
                }));
                return;
            }
            try
            {
                Pump(sink => ThenPost(pending.Create = BackupService.StartAsync(connection, request, sink, cancel, retry), sink, written));
            }
            catch (BackupToolsException ex)
            {
                WriteCreateError(ex, pending);
            }
        }

        /// <summary>
        /// A task that, once <paramref name="task"/> succeeds, posts <paramref name="then"/> with its result to the
        /// pipeline thread, and otherwise fails with the task's own exception (unwrapped, as an await rethrows it). A
        /// continuation rather than an async lambda: this assembly is not precompiled (it must load on Windows
        /// PowerShell 5.1 as it is), and each async method of its own costs a runbook's first call the JIT of its state
        /// machine's generic plumbing.
        /// </summary>
        protected static Task ThenPost<T>(Task<T> task, PumpSink sink, Action<T> then) =>
            task.ContinueWith(done =>
            {
                var result = done.GetAwaiter().GetResult();
                sink.Post(() => then(result));
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        /// <summary>
        /// With a throttle limit, writes the results of creates as they end while <paramref name="condition"/> holds (and
        /// any create is in flight); without one, creates end before the next row, and this returns at once.
        /// </summary>
        protected void FinishStartsWhile(Func<bool> condition)
        {
            if (_starts != null) RunOnPipeline(() => _starts.DrainWhile(condition));
        }

        /// <summary>Writes the results of every create still in flight (EndProcessing of a cmdlet that uses a throttle limit).</summary>
        protected void FinishStarts()
        {
            if (_starts != null) RunOnPipeline(_starts.DrainAll);
        }

        private void RunOnPipeline(Action action)
        {
            try
            {
                action();
            }
            catch
            {
                // -ErrorAction Stop or a stopped pipeline: the creates still in flight must not go on unseen.
                _stopping.Cancel();
                throw;
            }
        }

        /// <summary>Wait options from the cmdlet's bound -Timeout, -PollingInterval and -Any.</summary>
        protected WaitOptions WaitOptionsFrom(TimeSpan timeout, TimeSpan pollingInterval, bool any)
        {
            var options = new WaitOptions { Any = any };
            if (MyInvocation.BoundParameters.ContainsKey("Timeout"))
            {
                // -1, as Wait-Job and Wait-Process take it: no limit. Any other negative value is a mistake (it timed
                // every job out at once).
                if (timeout == TimeSpan.FromSeconds(-1) || timeout == System.Threading.Timeout.InfiniteTimeSpan) timeout = System.Threading.Timeout.InfiniteTimeSpan;
                else if (timeout < TimeSpan.Zero)
                    ThrowTerminatingError(new BackupToolsException(ErrorIds.BackupParameterInvalid, BackupErrorCategory.InvalidArgument,
                        "Timeout must be zero or more (0: report what is not finished at once), or -1 for no limit. Nothing was sent.", timeout));
                options.Timeout = timeout;
            }
            if (MyInvocation.BoundParameters.ContainsKey("PollingInterval"))
            {
                if (pollingInterval <= TimeSpan.Zero || pollingInterval > WaitOptions.LongestPollingInterval)
                    ThrowTerminatingError(new BackupToolsException(ErrorIds.BackupParameterInvalid, BackupErrorCategory.InvalidArgument,
                        "PollingInterval must be greater than zero and at most one day. Nothing was sent.", pollingInterval));
                options.PollingInterval = pollingInterval;
                if (options.MaxPollingInterval < pollingInterval) options.MaxPollingInterval = pollingInterval;
            }
            return options;
        }

        /// <summary>
        /// Waits for the jobs: each written once when final, in completion order; failed and cancelled ones also as
        /// errors; on timeout every unfinished job written with its last state and a timeout error; progress meanwhile.
        /// </summary>
        /// <param name="jobs">The jobs.</param>
        /// <param name="options">Timeout, polling interval, -Any.</param>
        /// <param name="connection">The connection to read every job with, or null for each job's own.</param>
        /// <param name="createdWith">Each job's own: the connection it was created with, where known; else the session's
        /// default for the job's provider and endpoint.</param>
        protected void WaitForJobs(IReadOnlyList<BackupJob> jobs, WaitOptions options, BackupConnection connection,
            IReadOnlyDictionary<BackupJob, BackupConnection> createdWith = null)
        {
            var store = Connections;
            jobs = JobIdentity.Distinct(jobs); // one job given twice is followed, and written, once
            // With -Any only the first final job is written, whatever happens to the others.
            if (!options.Any) foreach (var job in jobs) Hold(job);
            if (_following == null) _following = new Dictionary<BackupJob, BackupJob>(JobIdentity.Comparer);
            foreach (var job in jobs)
            {
                _following[job] = job;
                Trace(job);
            }
            var progress = new WaitProgress(NewActivityId(), jobs.Count, ProgressWanted(), WriteProgress);
            // Changes held back by the progress throttle are written when it allows, even if no other event comes.
            PumpSink pumpSink = null;
            var flush = FlushTimer(() => Volatile.Read(ref pumpSink), progress.Flush, out var flushLater);
            progress.FlushLater = flushLater;
            try
            {
                progress.Start();
                Pump(sink =>
                {
                    Volatile.Write(ref pumpSink, sink);
                    return BackupService.WaitAsync(jobs,
                        job => connection ?? (createdWith != null && createdWith.TryGetValue(job, out var own) ? own : store.ForJob(job)), options,
                        new PumpEvents(sink, this, progress, options.Any), sink, CancelToken);
                });
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C: PowerShell is stopping the pipeline; the backups go on.
            }
            finally
            {
                flush.Dispose();
                progress.Complete();
            }
        }

        /// <summary>
        /// A timer that posts <paramref name="flush"/> to the pipeline thread through the sink <paramref name="sink"/> gives
        /// (none yet: nothing posted), and <paramref name="flushLater"/>, which arms it: a progress line's change held back
        /// by its throttle is written when the throttle allows, even if no other event comes. Dispose it when the line ends.
        /// </summary>
        private static Timer FlushTimer(Func<PumpSink> sink, Action flush, out Action<TimeSpan> flushLater)
        {
            var timer = new Timer(_ => sink()?.Post(flush));
            flushLater = due =>
            {
                try { timer.Change(due, System.Threading.Timeout.InfiniteTimeSpan); }
                catch (ObjectDisposedException) { } // (the line has ended)
            };
            return timer;
        }

        /// <summary>
        /// A parent progress id for one command's lines: 100,000 apart (a wait's children take the ids after their
        /// parent's), wrapping below int.MaxValue, so two commands in one host (ForEach-Object -Parallel) do not share a
        /// line unless one shows 100,000 jobs at once.
        /// </summary>
        private static int NewActivityId() => (int)(((uint)Interlocked.Increment(ref _nextActivityId) % 20000 + 1) * 100000);

        /// <summary>Routes engine events to the pipeline thread.</summary>
        private sealed class PumpEvents : IJobWaitEvents
        {
            private readonly PumpSink _sink;
            private readonly BackupCmdletBase _cmdlet;
            private readonly WaitProgress _progress;

            private readonly bool _any;

            public PumpEvents(PumpSink sink, BackupCmdletBase cmdlet, WaitProgress progress, bool any)
            {
                _sink = sink;
                _cmdlet = cmdlet;
                _progress = progress;
                _any = any;
            }

            public void Updated(BackupJob job) => _sink.Post(() =>
            {
                _cmdlet.Seen(job, written: false);
                _progress.Update(job);
            });

            public void Finished(BackupJob job) => _sink.Post(() =>
            {
                _progress.Done(job);
                _cmdlet.Seen(job, written: true);
                _cmdlet.WriteJob(job);
                var error = JobOutcome.ErrorFor(job);
                if (error != null) _cmdlet.WriteError(error);
            });

            public void TimedOut(BackupJob job) => _sink.Post(() =>
            {
                _progress.Done(job, WaitEnd.TimedOut);
                _cmdlet.Seen(job, written: true);
                _cmdlet.WriteJob(job);
                _cmdlet.WriteError(JobOutcome.TimeoutFor(job));
            });

            // The error's target is the job (a refused token renewal names the identity endpoint): the record leads to
            // the backup. With -Any only the first final job is written: a job that cannot be followed is an error only
            // (its handle is the one given), and the wait goes on for the others.
            public void CouldNotFollow(BackupJob job, BackupToolsException error) => _sink.Post(() =>
            {
                _progress.Done(job, WaitEnd.NotFollowed);
                if (_any) _cmdlet.Seen(job, written: false);
                else
                {
                    _cmdlet.Seen(job, written: true);
                    _cmdlet.WriteJob(job);
                }
                _cmdlet.WriteError(JobOutcome.About(job, error));
            });
        }
    }
}
