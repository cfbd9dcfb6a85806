using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Http;
using BackupTools.Providers;

namespace BackupTools.Jobs
{
    /// <summary>What the engine reports while it waits. Called from thread-pool threads; implementations must be thread-safe.</summary>
    public interface IJobWaitEvents
    {
        /// <summary>A job's state or progress changed; it is still running.</summary>
        void Updated(BackupJob job);
        /// <summary>A job reached its final state. Called once per job, in completion order.</summary>
        void Finished(BackupJob job);
        /// <summary>The wait's time ran out before this job finished; this is its last known state.</summary>
        void TimedOut(BackupJob job);
        /// <summary>The job could not be followed (no connection, refused credentials, vanished); its last known state.</summary>
        void CouldNotFollow(BackupJob job, BackupToolsException error);
    }

    /// <summary>
    /// Follows any number of jobs of any mix of services at once: one asynchronous loop per job (no thread per job),
    /// a bounded number of status requests in flight per endpoint, and a polling schedule from <see cref="PollSchedule"/>.
    /// </summary>
    internal sealed class JobEngine
    {
        private readonly Func<BackupJob, BackupConnection> _connectionFor;
        private readonly IOperationLog _log;
        private readonly WaitOptions _options;
        private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new ConcurrentDictionary<string, SemaphoreSlim>();
        private readonly ConcurrentDictionary<string, ServiceCall> _calls = new ConcurrentDictionary<string, ServiceCall>();
        private readonly Func<IBackupProvider, BackupConnection, CancellationToken, ServiceCall> _callFactory;

        public JobEngine(Func<BackupJob, BackupConnection> connectionFor, IOperationLog log, WaitOptions options,
            Func<IBackupProvider, BackupConnection, CancellationToken, ServiceCall> callFactory = null)
        {
            _connectionFor = connectionFor ?? throw new ArgumentNullException(nameof(connectionFor));
            _log = log ?? NullOperationLog.Instance;
            _options = options ?? new WaitOptions();
            _callFactory = callFactory ?? ((p, c, ct) => new ServiceCall(c, _log, ct));
        }

        /// <summary>
        /// Waits until every job is final, the timeout passes (each unfinished job then reported through
        /// <see cref="IJobWaitEvents.TimedOut"/>), the first is final with <see cref="WaitOptions.Any"/>, or
        /// <paramref name="cancellationToken"/> is cancelled (then it throws <see cref="OperationCanceledException"/>
        /// promptly and the backups keep running on their services).
        /// </summary>
        public async Task RunAsync(IReadOnlyList<BackupJob> jobs, IJobWaitEvents events, CancellationToken cancellationToken)
        {
            using (var timeout = new CancellationTokenSource())
            using (var any = new CancellationTokenSource())
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token, any.Token))
            {
                if (_options.Timeout is TimeSpan t && t != System.Threading.Timeout.InfiniteTimeSpan)
                    timeout.CancelAfter(t < TimeSpan.Zero ? TimeSpan.Zero : t);
                var finishedOne = 0;
                var loops = jobs.Select(job => FollowAsync(job, events, linked.Token, timeout.Token, cancellationToken, () =>
                {
                    if (_options.Any && Interlocked.Exchange(ref finishedOne, 1) == 0) any.Cancel();
                })).ToArray();
                await Task.WhenAll(loops).ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }

        private async Task FollowAsync(BackupJob job, IJobWaitEvents events, CancellationToken token, CancellationToken timeoutToken,
            CancellationToken userToken, Action onFinal)
        {
            // Yield at once so a thousand jobs start following without the caller's thread doing the first steps.
            await Task.Yield();
            if (job.IsFinal)
            {
                events.Finished(job);
                onFinal();
                return;
            }
            IBackupProvider provider;
            BackupConnection connection;
            try
            {
                provider = ProviderRegistry.Get(job.Provider);
                connection = _connectionFor(job);
            }
            catch (BackupToolsException ex)
            {
                events.CouldNotFollow(job, ex);
                return;
            }

            var random = new Random(Guid.NewGuid().GetHashCode());
            var gate = _gates.GetOrAdd(connection.Key, _ => new SemaphoreSlim(Math.Max(1, _options.MaxConcurrentRequestsPerEndpoint)));
            // One call context per connection for the whole wait: thousands of jobs share it (and its HttpClient).
            var call = _calls.GetOrAdd(connection.Key, _ => _callFactory(provider, connection, token));
            var delay = Max(_options.PollingInterval, provider.MinimumPollInterval);
            var failures = 0;
            try
            {
                while (true)
                {
                    await Task.Delay(delay, token).ConfigureAwait(false);
                    JobStatus status = null;
                    TimeSpan? retryAfter = null;
                    await gate.WaitAsync(token).ConfigureAwait(false);
                    try
                    {
                        status = await provider.GetStatusAsync(call, job).ConfigureAwait(false);
                        failures = 0;
                    }
                    catch (BackupToolsException ex) when (IsTransient(ex) && ++failures < _options.MaxConsecutiveReadFailures)
                    {
                        _log.Verbose($"{job.Provider} job {job.JobId}: status read failed ({ex.ErrorId}: {ex.Message}); trying again.");
                        retryAfter = ex.RetryAfter ?? BackoffAfterFailure(failures);
                    }
                    finally
                    {
                        gate.Release();
                    }

                    if (status != null)
                    {
                        if (status.NotFound)
                        {
                            var age = DateTimeOffset.UtcNow - job.CreatedAt;
                            if (age > provider.NotFoundGrace)
                            {
                                events.CouldNotFollow(job, new BackupToolsException(ErrorIds.BackupJobNotFound, BackupErrorCategory.ObjectNotFound,
                                    $"{job.Provider} no longer knows job {job.JobId} ({age.TotalSeconds:0} s after it was started). The backup's own state can be checked on the service.",
                                    job) { Provider = job.Provider });
                                return;
                            }
                            status.RawStatus = "NotFound (starting)";
                        }
                        var before = job;
                        job = job.With(status);
                        retryAfter = status.RetryAfter;
                        if (job.IsFinal)
                        {
                            events.Finished(job);
                            onFinal();
                            return;
                        }
                        if (before.State != job.State || before.RawStatus != job.RawStatus || before.PercentComplete != job.PercentComplete)
                            events.Updated(job);
                    }
                    delay = PollSchedule.Next(DateTimeOffset.UtcNow - job.CreatedAt, job.PercentComplete, retryAfter,
                        _options.PollingInterval, _options.MaxPollingInterval, provider.MinimumPollInterval, random.NextDouble());
                }
            }
            catch (OperationCanceledException) when (userToken.IsCancellationRequested)
            {
                // Ctrl+C: stop following; the backups go on.
            }
            catch (OperationCanceledException) when (timeoutToken.IsCancellationRequested)
            {
                events.TimedOut(job);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // -Any: another job finished first.
            }
            catch (BackupToolsException ex)
            {
                events.CouldNotFollow(job, ex);
            }
        }

        private static TimeSpan BackoffAfterFailure(int failures) =>
            TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, Math.Min(failures, 5)) * 0.5));

        /// <summary>Failures worth another status read: the job itself is unaffected by them.</summary>
        internal static bool IsTransient(BackupToolsException ex) => Resilience.IsTransientRead(ex);

        private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
    }
}
