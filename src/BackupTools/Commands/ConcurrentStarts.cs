using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;

namespace BackupTools.Commands
{
    /// <summary>
    /// Runs up to a limit of async operations at once across ProcessRecord calls, while everything they post
    /// (results, errors, verbose lines) is written on the pipeline thread: in ProcessRecord as it arrives, and in
    /// EndProcessing until the last one is done. Used only from the pipeline thread.
    /// </summary>
    internal sealed class ConcurrentStarts : IDisposable
    {
        private readonly BlockingCollection<Action> _queue = new BlockingCollection<Action>();
        private int _running;

        /// <summary>The sink operations post to; its verbose and debug lines go to the given writers.</summary>
        public BackupCmdletBase.PumpSink CreateSink(Action<string> verbose, Action<string> debug) =>
            new BackupCmdletBase.PumpSink(_queue) { OnVerbose = verbose, OnDebug = debug };

        /// <summary>Starts <paramref name="work"/> once fewer than <paramref name="limit"/> are running.</summary>
        public void Start(int limit, BackupCmdletBase.PumpSink sink, Func<BackupCmdletBase.PumpSink, Task> work, Action<Exception> onError)
        {
            while (_running >= Math.Max(1, limit)) _queue.Take()();
            _running++;
            Task.Run(() => work(sink)).ContinueWith(t => Post(() =>
            {
                _running--;
                if (t.IsFaulted) onError(t.Exception.GetBaseException());
                else if (t.IsCanceled) onError(new OperationCanceledException());
            }), TaskScheduler.Default);
            DrainAvailable();
        }

        /// <summary>Writes what has arrived so far, without waiting.</summary>
        public void DrainAvailable()
        {
            while (_queue.TryTake(out var action)) action();
        }

        /// <summary>Writes everything until every started operation has finished.</summary>
        public void DrainAll()
        {
            while (_running > 0) _queue.Take()();
            DrainAvailable();
        }

        private void Post(Action action)
        {
            try
            {
                _queue.Add(action);
            }
            catch (InvalidOperationException)
            {
                // Disposed after the pipeline stopped.
            }
        }

        public void Dispose() => _queue.Dispose();
    }
}
