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

        /// <summary>The sink operations post to; its verbose and debug lines go to the given writers.</summary>
        public BackupCmdletBase.PumpSink CreateSink(Action<string> verbose, Action<string> debug) =>
            new BackupCmdletBase.PumpSink(_lane) { OnVerbose = verbose, OnDebug = debug };

        /// <summary>
        /// Starts <paramref name="work"/> once fewer than <paramref name="limit"/> are running; not at all when
        /// <paramref name="cancel"/> is cancelled by then.
        /// </summary>
        public void Start(int limit, BackupCmdletBase.PumpSink sink, CancellationToken cancel, Func<BackupCmdletBase.PumpSink, Task> work, Action<Exception> onError)
        {
            while (_running >= Math.Max(1, limit)) Next()();
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
            while (_running > 0 && condition()) Next()();
        }

        /// <summary>Writes everything until every started operation has finished.</summary>
        public void DrainAll()
        {
            while (_running > 0) Next()();
            DrainAvailable();
        }

        // (The lane never completes, only closes in Dispose, after which nothing waits on it: the pipeline has ended.)
        private Action Next() => _lane.TryTake(wait: true, out var action) ? action : throw new ObjectDisposedException(nameof(ConcurrentStarts));

        /// <summary>Closes the lane (the pipeline has ended): what is still posted is dropped, a script block not yet run is not run.</summary>
        public void Dispose() => _lane.Close();
    }
}
