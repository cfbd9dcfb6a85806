using System;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Session;

namespace BackupTools.Commands
{
    /// <summary>
    /// What every BackupTools cmdlet shares: the cancellation that StopProcessing (Ctrl+C) triggers, the session's
    /// connections, turning core exceptions into error records, and the pump that runs async core work while writing
    /// its messages on the pipeline thread as they arrive.
    /// </summary>
    public abstract partial class BackupCmdletBase : PSCmdlet, IDisposable
    {
        internal const string StoreVariable = "global:BackupToolsConnectionStore";
        private readonly CancellationTokenSource _stopping = new CancellationTokenSource();
        private ConcurrentStarts _starts;
        private PumpSink _startSink;

        /// <summary>Cancelled when the user presses Ctrl+C or the pipeline stops.</summary>
        protected CancellationToken CancelToken => _stopping.Token;

        /// <inheritdoc />
        protected override void StopProcessing()
        {
            _stopRequested = true; // (Dispose cancels _stopping too: this says it was Ctrl+C or PowerShell stopping)
            _stopping.Cancel();
        }

        private volatile bool _stopRequested;

        /// <inheritdoc />
        public void Dispose()
        {
            try
            {
                // A pipeline that ended before EndProcessing (an upstream error): creates not yet sent must not go out.
                _stopping.Cancel();
                _starts?.Dispose();
                DisposeReads();
                ReportUnwritten();
            }
            finally
            {
                // (whatever failed above, a disposed command is no longer one a SIGTERM trace names)
                Leave();
                _stopping.Dispose();
                GC.SuppressFinalize(this);
            }
        }

        /// <summary>The global variable that keeps the jobs of backups a command started but could not write.</summary>
        internal const string UnwrittenVariable = "global:BackupToolsUnwrittenJobs";

        /// <summary>The default connections of this runspace, kept in its session state.</summary>
        protected ConnectionStore Connections
        {
            get
            {
                if (SessionState.PSVariable.GetValue(StoreVariable) is ConnectionStore store) return store;
                if (SessionState.PSVariable.GetValue(StoreVariable) is PSObject wrapped && wrapped.BaseObject is ConnectionStore inner) return inner;
                store = new ConnectionStore();
                SessionState.PSVariable.Set(StoreVariable, store);
                return store;
            }
        }

        /// <summary>
        /// Runs <paramref name="work"/> off the pipeline thread and drains what it posts (output, verbose lines,
        /// progress, errors) on this thread until it completes. Rethrows the work's exception. Meanwhile it also runs
        /// the runspace's shared work (a -TokenProvider script block another command of this pipeline needs: see
        /// <see cref="PipelineWork"/>).
        /// </summary>
        protected void Pump(Func<PumpSink, Task> work)
        {
            var lane = PipelineWork.OfCurrentRunspace().NewLane();
            try
            {
                var sink = new PumpSink(lane) { OnVerbose = WriteVerbose, OnDebug = WriteDebug, VerboseWanted = VerboseWanted() };
                var task = Task.Run(() => work(sink));
                // (The continuation also observes a failure that nobody awaits once the loop below has thrown, so it
                // never reaches TaskScheduler.UnobservedTaskException; by then the lane may be closed.)
                task.ContinueWith(t =>
                {
                    _ = t.Exception;
                    lane.Complete();
                }, TaskScheduler.Default);
                try
                {
                    while (lane.TryTake(wait: true, out var action))
                        action();
                }
                catch
                {
                    // -ErrorAction Stop, a stopped pipeline: the work must not go on behind the user's back.
                    _stopping.Cancel();
                    throw;
                }
                task.GetAwaiter().GetResult();
            }
            finally
            {
                lane.Close();
            }
        }

        /// <summary>
        /// Whether <see cref="Cmdlet.WriteVerbose"/> would show anything: -Verbose (or -Verbose:$false) when given,
        /// otherwise $VerbosePreference as this command sees it (a caller's -Verbose sets it for the commands it
        /// runs); anything but SilentlyContinue and Ignore shows, and a value that is not a preference counts as shown.
        /// </summary>
        protected internal bool VerboseWanted()
        {
            if (MyInvocation.BoundParameters.TryGetValue("Verbose", out var given))
                return given is SwitchParameter s ? s.IsPresent : LanguagePrimitives.IsTrue(given);
            return Shows(GetVariableValue("VerbosePreference"));
        }

        /// <summary>Whether a preference shows its stream: anything but SilentlyContinue and Ignore, and a value that is not a preference.</summary>
        private static bool Shows(object preference) =>
            !LanguagePrimitives.TryConvertTo(preference, out ActionPreference p) ||
            (p != ActionPreference.SilentlyContinue && p != ActionPreference.Ignore);

        /// <summary>
        /// Whether progress records would be shown: -ProgressAction when given (a common parameter from PowerShell 7.4,
        /// read by name: Windows PowerShell 5.1 has none), otherwise $ProgressPreference as this command sees it;
        /// SilentlyContinue and Ignore hide it, and a value that is not a preference counts as shown.
        /// </summary>
        protected internal bool ProgressWanted()
        {
            return Shows(MyInvocation.BoundParameters.TryGetValue("ProgressAction", out var bound) ? bound : GetVariableValue("ProgressPreference"));
        }

        /// <summary>An error record for a core exception: its id, category, target, message and recommended action.</summary>
        protected internal static ErrorRecord ToErrorRecord(BackupToolsException ex, object targetIfNone = null)
        {
            var category = Enum.TryParse(ex.Category.ToString(), out ErrorCategory c) ? c : ErrorCategory.NotSpecified;
            return new ErrorRecord(ex, ex.ErrorId, category, ex.Target ?? targetIfNone)
            {
                ErrorDetails = new ErrorDetails(ex.Message) { RecommendedAction = ex.RecommendedAction },
            };
        }

        /// <summary>
        /// Writes a non-terminating error for one failed item. When that error will stop the command (-ErrorAction
        /// Stop, or $ErrorActionPreference = 'Stop'), what the command holds is written first, while output still can
        /// be (once the error is thrown, the pipeline is stopping): see <see cref="WriteHeldBeforeStopping"/>.
        /// </summary>
        /// <param name="ex">The failure.</param>
        /// <param name="targetIfNone">The record's target when the failure names none (the pipeline item it came from).</param>
        protected void WriteError(BackupToolsException ex, object targetIfNone = null) => WriteError(ex, targetIfNone, null);

        /// <summary>
        /// As <see cref="WriteError(BackupToolsException, object)"/>; <paramref name="delivered"/> is called once the
        /// record has reached the user: written, or thrown as the error that stops the command (what a catch block
        /// gets). Not for a failure deferred while held jobs are written, nor when writing them ended the pipeline
        /// first (a command after this one failed on a job): the record never went out, and its item is still unreported.
        /// </summary>
        private void WriteError(BackupToolsException ex, object targetIfNone, Action delivered)
        {
            if (DeferredWhileWritingHeld(ex)) return;
            var record = ToErrorRecord(ex, targetIfNone);
            var stops = ErrorsStop();
            if (stops) WriteHeldBeforeStopping();
            var stoppingAlready = Stopping;
            try
            {
                WriteError(record);
            }
            catch (RuntimeException stopped) when (stopped is ActionPreferenceStopException || (stopped is PipelineStoppedException && stops && !stoppingAlready))
            {
                // The record stopped the command (the engine records it, then stops the pipeline: what reaches a
                // cmdlet is PipelineStoppedException), and reached the user as the error: its target (a failed job) with it.
                _stoppedBy = record.TargetObject as BackupJob;
                delivered?.Invoke();
                throw;
            }
            delivered?.Invoke();
        }

        /// <summary>Whether a non-terminating error written now stops the command: -ErrorAction Stop, else $ErrorActionPreference.</summary>
        protected internal bool ErrorsStop()
        {
            var given = MyInvocation.BoundParameters.TryGetValue("ErrorAction", out var bound) ? bound : GetVariableValue("ErrorActionPreference");
            return LanguagePrimitives.TryConvertTo(given, out ActionPreference preference) && preference == ActionPreference.Stop;
        }

        /// <summary>Stops the command with an error when nothing more can proceed.</summary>
        protected void ThrowTerminatingError(BackupToolsException ex) => ThrowTerminatingError(ToErrorRecord(ex));

        /// <summary>The log the core writes to: verbose and debug lines posted to the pump.</summary>
        protected internal sealed class PumpSink : IOperationLog, IVerboseAware
        {
            private readonly PipelineWork.Lane _lane;

            internal PumpSink(PipelineWork.Lane lane) => _lane = lane;

            internal Action<string> OnVerbose { get; set; }
            internal Action<string> OnDebug { get; set; }

            /// <summary>Whether the command's verbose lines are shown (set from <see cref="BackupCmdletBase.VerboseWanted"/>).</summary>
            public bool VerboseWanted { get; internal set; } = true;

            /// <summary>Queues an action to run on the pipeline thread, by this command's pump; dropped once the pump has ended.</summary>
            public void Post(Action action) => _lane.Post(action);

            /// <summary>
            /// Queues work that needs the pipeline thread but writes nothing of this command's (a -TokenProvider script
            /// block): whichever pump of this runspace waits first runs it, this command's or another command's of the
            /// pipeline. When this command's pump has ended, or ends first, <paramref name="notRun"/> is called instead.
            /// </summary>
            internal void PostForAnyPump(Action run, Action notRun) => _lane.PostShared(run, notRun);

            /// <inheritdoc />
            public void Verbose(string message) => Post(() => OnVerbose?.Invoke(message));

            /// <inheritdoc />
            public void Debug(string message) => Post(() => OnDebug?.Invoke(message));
        }
    }
}
