using System;
using System.Management.Automation;
using System.Threading;
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

        // Get-BackupJob's reads: their lane (the machinery of New-InstanceBackup -ThrottleLimit), the core's reads with
        // the endpoints' gates, and their progress line.
        private ConcurrentStarts _reads;
        private PumpSink _readSink;
        private JobReads _jobReads;
        private ReadProgress _readProgress;
        private Timer _readFlush;

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
                var lines = _readProgress = new ReadProgress(NewActivityId(), ProgressWanted(), WriteProgress);
                var posts = _readSink;
                // A change held back by the progress throttle is written when it allows, even if no read ends by then.
                _readFlush = FlushTimer(() => posts, lines.Flush, out var flushLater);
                lines.FlushLater = flushLater;
            }
            var reads = _jobReads;
            var progress = _readProgress;
            ReadsOnPipeline(() =>
            {
                progress.Started();
                _reads.Start(ReadsUnderWay, _readSink, CancelToken,
                    sink => ThenPost(reads.ReadAsync(connection, job), sink, read =>
                    {
                        WriteObject(read);
                        progress.Read();
                    }),
                    ex =>
                    {
                        if (ex is BackupToolsException bte)
                        {
                            WriteError(JobOutcome.OfRead(job, bte)); // (the job as target: which of the piped jobs it was)
                            progress.Read();
                        }
                        else if (!(ex is OperationCanceledException)) throw ex;
                    });
            });
        }

        /// <summary>Writes the results of every read still under way, then ends the progress line (EndProcessing of a command that reads with <see cref="ReadJob"/>).</summary>
        protected void FinishReads()
        {
            if (_reads == null) return;
            ReadsOnPipeline(_reads.DrainAll);
            EndReadProgress();
        }

        // As RunOnPipeline (an error that stops the command cancels the reads still under way), and the progress line
        // ends with the command: EndProcessing does not run after such an error.
        private void ReadsOnPipeline(Action action)
        {
            try
            {
                RunOnPipeline(action);
            }
            catch
            {
                try { EndReadProgress(); }
                catch (PipelineStoppedException) { } // (stopped: nothing can be written, and PowerShell clears the display itself)
                throw;
            }
        }

        private void EndReadProgress()
        {
            _readFlush?.Dispose();
            _readProgress?.Complete();
        }

        private void DisposeReads()
        {
            _readFlush?.Dispose();
            _reads?.Dispose();
            _jobReads?.Dispose();
        }
    }
}
