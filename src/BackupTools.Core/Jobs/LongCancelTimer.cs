using System;
using System.Diagnostics;
using System.Threading;

namespace BackupTools.Jobs
{
    /// <summary>
    /// Cancels a source after a delay of any length. A timer takes at most int.MaxValue ms (24.8 days) at once on
    /// .NET Framework, so a longer delay is waited in chunks, the timer re-armed for what is left each time.
    /// </summary>
    internal sealed class LongCancelTimer : IDisposable
    {
        private readonly CancellationTokenSource _source;
        private readonly TimeSpan _due;
        private readonly TimeSpan _chunk;
        private readonly Stopwatch _elapsed = Stopwatch.StartNew();
        private readonly Timer _timer;

        public LongCancelTimer(CancellationTokenSource source, TimeSpan due, TimeSpan chunk)
        {
            _source = source ?? throw new ArgumentNullException(nameof(source));
            _due = due;
            _chunk = chunk <= TimeSpan.Zero || chunk > WaitOptions.LongestTimeout ? WaitOptions.LongestTimeout : chunk;
            _timer = new Timer(state => ((LongCancelTimer)state).Fire(), this, Timeout.Infinite, Timeout.Infinite);
            Fire();
        }

        private void Fire()
        {
            var left = _due - _elapsed.Elapsed;
            try
            {
                if (left > TimeSpan.Zero) _timer.Change(left < _chunk ? left : _chunk, Timeout.InfiniteTimeSpan);
                else _source.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The wait ended meanwhile.
            }
        }

        public void Dispose() => _timer.Dispose();
    }
}
