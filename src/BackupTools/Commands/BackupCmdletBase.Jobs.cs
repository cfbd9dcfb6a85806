using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Jobs;

namespace BackupTools.Commands
{
    public abstract partial class BackupCmdletBase
    {
        private static int _nextActivityId = 1000;

        /// <summary>
        /// Starts one backup; a failure becomes a non-terminating error for that item. With a throttle limit above 1,
        /// up to that many creates are in flight at once across pipeline input, their results written as they come
        /// (call <see cref="FinishStarts"/> from EndProcessing).
        /// </summary>
        protected void StartBackup(BackupConnection connection, BackupRequest request, Action<BackupJob> onCreated, int throttleLimit = 1,
            Http.CreateRetryOptions retry = null)
        {
            if (throttleLimit > 1)
            {
                if (_starts == null)
                {
                    _starts = new ConcurrentStarts();
                    _startSink = _starts.CreateSink(WriteVerbose, WriteDebug);
                    _startSink.VerboseWanted = VerboseWanted();
                }
                RunOnPipeline(() => _starts.Start(throttleLimit, _startSink, sink =>
                    ThenPost(BackupService.StartAsync(connection, request, sink, CancelToken, retry), sink, onCreated), ex =>
                {
                    if (ex is BackupToolsException bte) WriteError(bte);
                    else if (!(ex is OperationCanceledException)) throw ex;
                }));
                return;
            }
            try
            {
                Pump(sink => ThenPost(BackupService.StartAsync(connection, request, sink, CancelToken, retry), sink, onCreated));
            }
            catch (BackupToolsException ex)
            {
                WriteError(ex);
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
            if (MyInvocation.BoundParameters.ContainsKey("Timeout")) options.Timeout = timeout;
            if (MyInvocation.BoundParameters.ContainsKey("PollingInterval"))
            {
                if (pollingInterval <= TimeSpan.Zero)
                    ThrowTerminatingError(new BackupToolsException(ErrorIds.BackupParameterInvalid, BackupErrorCategory.InvalidArgument,
                        "PollingInterval must be greater than zero.", pollingInterval));
                options.PollingInterval = pollingInterval;
                if (options.MaxPollingInterval < pollingInterval) options.MaxPollingInterval = pollingInterval;
            }
            return options;
        }

        /// <summary>
        /// Waits for the jobs: each written once when final, in completion order; failed and cancelled ones also as
        /// errors; on timeout every unfinished job written with its last state and a timeout error; progress meanwhile.
        /// </summary>
        protected void WaitForJobs(IReadOnlyList<BackupJob> jobs, WaitOptions options, BackupConnection connection)
        {
            var store = Connections;
            var showProgress = !(GetVariableValue("ProgressPreference") is ActionPreference pref && pref == ActionPreference.SilentlyContinue);
            var progress = new WaitProgress(Interlocked.Increment(ref _nextActivityId) * 1000, jobs.Count, showProgress, WriteProgress);
            try
            {
                Pump(sink => BackupService.WaitAsync(jobs, job => connection ?? store.ForJob(job), options,
                    new PumpEvents(sink, this, progress), sink, CancelToken));
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C: PowerShell is stopping the pipeline; the backups go on.
            }
            finally
            {
                progress.Complete();
            }
        }

        /// <summary>Routes engine events to the pipeline thread.</summary>
        private sealed class PumpEvents : IJobWaitEvents
        {
            private readonly PumpSink _sink;
            private readonly BackupCmdletBase _cmdlet;
            private readonly WaitProgress _progress;

            public PumpEvents(PumpSink sink, BackupCmdletBase cmdlet, WaitProgress progress)
            {
                _sink = sink;
                _cmdlet = cmdlet;
                _progress = progress;
            }

            public void Updated(BackupJob job) => _sink.Post(() => _progress.Update(job));

            public void Finished(BackupJob job) => _sink.Post(() =>
            {
                _progress.Done(job);
                _cmdlet.WriteObject(job);
                var error = JobOutcome.ErrorFor(job);
                if (error != null) _cmdlet.WriteError(error);
            });

            public void TimedOut(BackupJob job) => _sink.Post(() =>
            {
                _progress.Done(job);
                _cmdlet.WriteObject(job);
                _cmdlet.WriteError(JobOutcome.TimeoutFor(job));
            });

            public void CouldNotFollow(BackupJob job, BackupToolsException error) => _sink.Post(() =>
            {
                _progress.Done(job);
                _cmdlet.WriteObject(job);
                _cmdlet.WriteError(error);
            });
        }
    }
}
