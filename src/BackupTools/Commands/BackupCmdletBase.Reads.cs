using System;
using BackupTools.Jobs;

namespace BackupTools.Commands
{
    public abstract partial class BackupCmdletBase
    {
        /// <summary>
        /// Reads of one command under way at once at most, across pipeline input (the endpoints' own limits apply within
        /// them): more jobs wait in the pipeline, their results written meanwhile. A read costs a few hundred bytes while it
        /// waits for its endpoint, so this is well above any endpoint's limit: the jobs of a dead endpoint keep the other
        /// endpoints' jobs behind them only when a thousand of them are under way.
        /// </summary>
        internal const int ReadsUnderWay = 1000;

        // Get-BackupJob's reads: their lane (the machinery of New-InstanceBackup -ThrottleLimit), and the core's reads
        // with the endpoints' gates.
        private ConcurrentStarts _reads;
        private PumpSink _readSink;
        private JobReads _jobReads;

        /// <summary>
        /// Starts reading <paramref name="job"/>'s status once with <paramref name="connection"/>: reads run at once
        /// across pipeline input (see <see cref="JobReads"/> for the endpoints' limits and pauses), and each refreshed job,
        /// or its error (the job as target), is written as its read ends, in completion order; what has ended is written
        /// before this returns. Call <see cref="FinishReads"/> from EndProcessing.
        /// </summary>
        protected void ReadJob(BackupConnection connection, BackupJob job)
        {
            if (_reads == null)
            {
                _reads = new ConcurrentStarts(abandonOn: CancelToken); // (after Ctrl+C nothing more can be written: no wait for the cancelled reads)
                _readSink = _reads.CreateSink(WriteVerbose, WriteDebug);
                _readSink.VerboseWanted = VerboseWanted();
                _jobReads = new JobReads(_readSink, CancelToken);
            }
            var reads = _jobReads;
            RunOnPipeline(() => _reads.Start(ReadsUnderWay, _readSink, CancelToken,
                sink => ThenPost(reads.ReadAsync(connection, job), sink, WriteObject),
                ex =>
                {
                    if (ex is BackupToolsException bte) WriteError(JobOutcome.OfRead(job, bte)); // (the job as target: which of the piped jobs it was)
                    else if (!(ex is OperationCanceledException)) throw ex;
                }));
        }

        /// <summary>Writes the results of every read still under way (EndProcessing of a command that reads with <see cref="ReadJob"/>).</summary>
        protected void FinishReads()
        {
            if (_reads != null) RunOnPipeline(_reads.DrainAll);
        }

        private void DisposeReads()
        {
            _reads?.Dispose();
            _jobReads?.Dispose();
        }
    }
}
