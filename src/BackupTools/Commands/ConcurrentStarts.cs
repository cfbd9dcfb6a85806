using System;
using System.Threading;
using System.Threading.Tasks;

namespace BackupTools.Commands
{
    /// <summary>
    /// Runs up to a limit of async operations at once across ProcessRecord calls, while everything they post
    /// (results, errors, verbose lines) is written on the pipeline thread: in ProcessRecord as it arrives, and in
    /// EndProcessing until the last one is done. Its waits also run the runspace's shared work (see
    /// <see cref="PipelineWork"/>). Created and used only on the pipeline thread.
    /// </summary>
    internal sealed class ConcurrentStarts : IDisposable
    {
        private readonly PipelineWork.Lane _lane = PipelineWork.OfCurrentRunspace().NewLane();
        private int _running;
        private readonly CancellationToken _abandonOn;
        private readonly CancellationTokenRegistration _wake;

        /// <summary>Operations waited for until each has ended and posted its result (creates: a backup may have started).</summary>
        public ConcurrentStarts()
        {
        }

        /// <summary>
        /// Operations whose results are of no use once <paramref name="abandonOn"/> is cancelled (reads: a stopped command
        /// writes nothing more): from then on no wait waits for them, so Ctrl+C returns at once, without waiting for the
        /// cancelled operations to unwind on the thread pool (a busy pool took up to a second to run their ends).
        /// </summary>
        public ConcurrentStarts(CancellationToken abandonOn)
        {
            _abandonOn = abandonOn;
            // Wakes a wait on the lane (on the cancelling thread: no thread-pool thread needed).
            _wake = abandonOn.Register(state => ((PipelineWork.Lane)state).Post(Nothing), _lane);
        }

        private static readonly Action Nothing = () => { };

        private bool Waiting => _running > 0 && !_abandonOn.IsCancellationRequested;

        /// <summary>The sink operations post to; its verbose and debug lines go to the given writers.</summary>
        public BackupCmdletBase.PumpSink CreateSink(Action<string> verbose, Action<string> debug) =>
            new BackupCmdletBase.PumpSink(_lane) { OnVerbose = verbose, OnDebug = debug };

        /// <summary>
        /// Starts <paramref name="work"/> once fewer than <paramref name="limit"/> are running; not at all when
        /// <paramref name="cancel"/> is cancelled by then.
        /// </summary>
        public void Start(int limit, BackupCmdletBase.PumpSink sink, CancellationToken cancel, Func<BackupCmdletBase.PumpSink, Task> work, Action<Exception> onError)
        {
            while (_running >= Math.Max(1, limit) && !_abandonOn.IsCancellationRequested) Next()();
            // Ctrl+C while this one waited for a slot (the slot freed by a create it cut off): it is not started, and
            // so never told to the user as a create that may have started.
            if (cancel.IsCancellationRequested) return;
            _running++;
            Task.Run(() => work(sink)).ContinueWith(t =>
            {
                // Read here, not in the posted action: a stopped command's lane is closed and drops what is posted,
                // and a failure never read reaches TaskScheduler.UnobservedTaskException.
                var failure = t.IsFaulted ? t.Exception.GetBaseException() : t.IsCanceled ? new OperationCanceledException() : null;
                _lane.Post(() =>
                {
                    _running--;
                    if (failure != null) onError(failure);
                });
            }, TaskScheduler.Default);
            DrainAvailable();
        }

        /// <summary>Writes what has arrived so far, without waiting.</summary>
        public void DrainAvailable()
        {
            while (_lane.TryTake(wait: false, out var action)) action();
        }

        /// <summary>
        /// Writes what arrives while <paramref name="condition"/> holds and operations are running: for a row that must
        /// wait for an earlier row's outcome (its name, <see cref="Validation.NamesInCommand.IsPending"/>).
        /// </summary>
        public void DrainWhile(Func<bool> condition)
        {
            while (Waiting && condition()) Next()();
        }

        /// <summary>Writes everything until every started operation has finished.</summary>
        public void DrainAll()
        {
            while (Waiting) Next()();
            DrainAvailable();
        }

        // (The lane never completes, only closes in Dispose, after which nothing waits on it: the pipeline has ended.)
        private Action Next() => _lane.TryTake(wait: true, out var action) ? action : throw new ObjectDisposedException(nameof(ConcurrentStarts));

        /// <summary>Closes the lane (the pipeline has ended): what is still posted is dropped, a script block not yet run is not run.</summary>
        public void Dispose()
        {
            _wake.Dispose();
            _lane.Close();
        }
    }
}
