using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Async;
using BackupTools.Http;
using BackupTools.Providers;

namespace BackupTools.Jobs
{
    /// <summary>What the engine reports while it waits. Called from thread-pool threads; implementations must be thread-safe.</summary>
    public interface IJobWaitEvents
    {
        /// <summary>A job was read for the first time in this wait, or its state or progress changed; it is still running.</summary>
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
    /// What a job costs while it waits is kept small, since thousands wait at once: its loop and one reusable
    /// <see cref="Waiter"/>; the pauses run on one <see cref="PollClock"/> per wait and the endpoint limits on
    /// <see cref="EndpointGate"/>s, with no timer, task or cancellation registration per job or per pause.
    /// </summary>
    internal sealed class JobEngine
    {
        private readonly Func<BackupJob, BackupConnection> _connectionFor;
        private readonly IOperationLog _log;
        private readonly WaitOptions _options;
        private readonly Func<IBackupProvider, BackupConnection, CancellationToken, ServiceCall> _callFactory;

        public JobEngine(Func<BackupJob, BackupConnection> connectionFor, IOperationLog log, WaitOptions options,
            Func<IBackupProvider, BackupConnection, CancellationToken, ServiceCall> callFactory = null)
        {
            _connectionFor = connectionFor ?? throw new ArgumentNullException(nameof(connectionFor));
            _log = log ?? NullOperationLog.Instance;
            _options = options ?? new WaitOptions();
            // A status read's own limit, shorter than a create's (WaitOptions.ReadTimeout).
            _callFactory = callFactory ?? ((p, c, ct) => new ServiceCall(c, _log, ct) { RequestTimeout = _options.ReadTimeout });
        }

        /// <summary>
        /// Waits until every job is final, the timeout passes (each unfinished job then reported through
        /// <see cref="IJobWaitEvents.TimedOut"/>), the first is final with <see cref="WaitOptions.Any"/>, or
        /// <paramref name="cancellationToken"/> is cancelled (then it throws <see cref="OperationCanceledException"/>
        /// promptly and the backups keep running on their services).
        /// </summary>
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder))]
        public async Task RunAsync(IReadOnlyList<BackupJob> jobs, IJobWaitEvents events, CancellationToken cancellationToken)
        {
            var deadline = DeadlineOf(_options.Timeout);
            using (var timeout = new CancellationTokenSource())
            using (var any = new CancellationTokenSource())
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token, any.Token))
            using (var run = new Run(this, events, linked.Token, timeout.Token, cancellationToken, any, deadline))
            // Each job reads its status once at the deadline (its pauses end there); what has not answered a little
            // after it (a read hanging, reads queued at the endpoint's gate) is cut off then. Re-armed in chunks: a
            // timer takes at most int.MaxValue ms (24.8 days) at once.
            using (deadline is TimeSpan d ? new LongCancelTimer(timeout, d + DeadlineGrace, TimerChunk) : null)
            {
                jobs = JobIdentity.Distinct(jobs); // one job given twice is followed, and reported, once
                var loops = new Task[jobs.Count];
                for (var i = 0; i < loops.Length; i++) loops[i] = FollowAsync(jobs[i], run);
                await Task.WhenAll(loops).NoContext();
                cancellationToken.ThrowIfCancellationRequested();
            }
        }

        /// <summary>How long after the deadline the reads made at it may take before they are cut off.</summary>
        internal static readonly TimeSpan DeadlineGrace = TimeSpan.FromSeconds(2);

        /// <summary>A read that starts this little before the deadline is the job's read at the deadline (timers round).</summary>
        internal static readonly TimeSpan DeadlineMargin = TimeSpan.FromMilliseconds(50);

        /// <summary>The longest stretch the deadline's timer is armed for at once (tests shorten it to see it re-armed).</summary>
        internal TimeSpan TimerChunk { get; set; } = WaitOptions.LongestTimeout;

        /// <summary>
        /// The deadline, from the start of the wait, or null for none: no timeout, -1 (infinite), or one so long that
        /// adding it to a clock would overflow (TimeSpan.MaxValue means no limit).
        /// </summary>
        internal static TimeSpan? DeadlineOf(TimeSpan? timeout)
        {
            if (!(timeout is TimeSpan t) || t == System.Threading.Timeout.InfiniteTimeSpan) return null;
            if (t < TimeSpan.Zero) return TimeSpan.Zero;
            if (t > TimeSpan.MaxValue - TimeSpan.FromDays(365 * 100)) return null;
            return t;
        }

        /// <summary>What every job of one wait shares: the events, the tokens, the clock, per connection its call, and per endpoint the process's gate.</summary>
        private sealed class Run : IDisposable
        {
            private readonly JobEngine _engine;
            private readonly CancellationTokenSource _any;
            private readonly ConcurrentDictionary<string, EndpointGate> _gates = new ConcurrentDictionary<string, EndpointGate>();
            // One call context per connection for the whole wait: thousands of jobs share it (and its HttpClient). By the
            // connection itself (BackupConnection compares by reference), not by its endpoint: two connections to one
            // endpoint (two projects, two accounts; rows of New-*Backup -Wait carrying their own) each read their own
            // jobs with their own credential. Gates stay per endpoint: the service's limits are the endpoint's.
            private readonly ConcurrentDictionary<BackupConnection, ServiceCall> _calls = new ConcurrentDictionary<BackupConnection, ServiceCall>();
            private int _finishedOne;

            private readonly System.Diagnostics.Stopwatch _elapsed = System.Diagnostics.Stopwatch.StartNew();
            private readonly TimeSpan? _deadline;

            public Run(JobEngine engine, IJobWaitEvents events, CancellationToken token, CancellationToken timeoutToken,
                CancellationToken userToken, CancellationTokenSource any, TimeSpan? deadline)
            {
                _deadline = deadline;
                _engine = engine;
                Events = events;
                Token = token;
                TimeoutToken = timeoutToken;
                UserToken = userToken;
                _any = any;
                Clock = new PollClock(token);
            }

            public IJobWaitEvents Events { get; }
            public CancellationToken Token { get; }
            public CancellationToken TimeoutToken { get; }
            public CancellationToken UserToken { get; }
            public PollClock Clock { get; }

            /// <summary>
            /// A job is final: it is reported. With -Any only the first is (two jobs that end in the same round must not
            /// both be written), and the wait then ends.
            /// </summary>
            public void ReportFinal(BackupJob job)
            {
                if (!_engine._options.Any)
                {
                    Events.Finished(job);
                    return;
                }
                if (Interlocked.Exchange(ref _finishedOne, 1) == 0) Events.Finished(job);
                _any.Cancel();
            }

            /// <summary>A pause, shortened to end at the deadline: each job is read once there.</summary>
            public TimeSpan UntilDeadline(TimeSpan pause)
            {
                if (!(_deadline is TimeSpan d)) return pause;
                var left = d - _elapsed.Elapsed;
                return left <= TimeSpan.Zero ? TimeSpan.Zero : left < pause ? left : pause;
            }

            /// <summary>Whether a read starting now is the job's read at the deadline (its last).</summary>
            public bool AtDeadline => _deadline is TimeSpan d && d - _elapsed.Elapsed <= DeadlineMargin;

            /// <summary>-Any's first final job was reported: the wait is ending for that reason.</summary>
            public bool EndedByAny => _any.IsCancellationRequested;

            public EndpointGate GateFor(string key) =>
                _gates.TryGetValue(key, out var gate) ? gate : GetOrAddGate(key);

            // The endpoint's gate is the process's, shared with other waits: this wait uses it once, and its cancellation
            // takes only its own jobs out of the queue.
            private EndpointGate GetOrAddGate(string key)
            {
                lock (_gates)
                {
                    if (_gates.TryGetValue(key, out var gate)) return gate;
                    gate = EndpointGate.Use(key, _engine._options.MaxConcurrentRequestsPerEndpoint);
                    var token = Token;
                    _registrations.Add(token.Register(state => ((EndpointGate)state).CancelWaitersOf(token), gate));
                    _gates[key] = gate;
                    return gate;
                }
            }

            private readonly List<CancellationTokenRegistration> _registrations = new List<CancellationTokenRegistration>();

            public ServiceCall CallFor(IBackupProvider provider, BackupConnection connection) =>
                _calls.TryGetValue(connection, out var call) ? call : _calls.GetOrAdd(connection, _engine._callFactory(provider, connection, Token));

            public void Dispose()
            {
                Clock.Dispose();
                lock (_gates)
                {
                    foreach (var registration in _registrations) registration.Dispose();
                    foreach (var gate in _gates.Values) gate.Unuse();
                }
            }
        }

        /// <summary>Jitter for the polling schedule; one generator per thread (<see cref="Random"/> is not thread-safe).</summary>
        [ThreadStatic] private static Random _jitter;

        private static double NextJitter() => (_jitter ?? (_jitter = new Random(Guid.NewGuid().GetHashCode()))).NextDouble();

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder))]
        private async Task FollowAsync(BackupJob job, Run run)
        {
            // Yield at once so a thousand jobs start following without the caller's thread doing the first steps.
            await NoContextExtensions.ToThreadPool();
            if (job.IsFinal)
            {
                run.ReportFinal(job);
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
                run.Events.CouldNotFollow(job, ex);
                return;
            }
            catch (Exception ex) when (!(ex is OperationCanceledException))
            {
                run.Events.CouldNotFollow(job, Unforeseen(job, ex));
                return;
            }

            var key = connection.EndpointKey; // one gate per endpoint, whichever projects its jobs belong to (as the service throttles it)
            var gate = run.GateFor(key);
            var call = run.CallFor(provider, connection);
            var waiter = new Waiter();
            var delay = Max(_options.PollingInterval, provider.MinimumPollInterval);
            // The create's Retry-After: no first read before it (counted from the create, which may be a while ago).
            if (job.FirstReadAfter is TimeSpan firstAfter) delay = Max(delay, job.CreatedAt + firstAfter - DateTimeOffset.UtcNow);
            var failures = 0;
            var read = false;
            try
            {
                while (true)
                {
                    await run.Clock.Delay(waiter, run.UntilDeadline(delay));
                    // The endpoint asked for quiet (another job's read was told so): this read waits too, spread a little;
                    // and again when the pause began while it queued for a slot (the slot goes to the next in line).
                    while (true)
                    {
                        var quiet = gate.PauseLeft;
                        if (quiet > TimeSpan.Zero) await run.Clock.Delay(waiter, TimeSpan.FromTicks(quiet.Ticks + (long)(quiet.Ticks * 0.1 * NextJitter())));
                        await gate.Enter(waiter, run.Token);
                        if (gate.PauseLeft <= TimeSpan.Zero) break;
                        gate.Release();
                    }
                    var last = run.AtDeadline;
                    JobStatus status = null;
                    TimeSpan? retryAfter = null;
                    try
                    {
                        status = call.Scrubbed(await provider.GetStatusAsync(call, job).NoContext());
                        failures = 0;
                    }
                    catch (BackupToolsException ex) when (IsTransient(ex) && ++failures < _options.MaxConsecutiveReadFailures)
                    {
                        // The endpoint's own answer to a status read (its target is the job), not a sign-in's at an
                        // identity service, whose pause is the credential's and must not hold other connections' reads.
                        if (ex.RetryAfter is TimeSpan asked && (ex.HttpStatus == 429 || ex.HttpStatus == 503) && ex.Target is BackupJob) gate.PauseFor(asked);
                        _log.Verbose($"{job.Provider} job {job.JobId}: status read failed ({ex.ErrorId}: {ex.Message}); trying again.");
                        // A Retry-After shorter than the backoff (0, or a date already past) does not cut it short: 20
                        // failures in a row give the job up, and they must take the backoff's time, not a few seconds.
                        retryAfter = Max(ex.RetryAfter ?? TimeSpan.Zero, BackoffAfterFailure(failures));
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
                            if (DateTimeOffset.UtcNow - job.NotFoundGraceFrom > provider.NotFoundGrace)
                            {
                                run.Events.CouldNotFollow(job, new BackupToolsException(ErrorIds.BackupJobNotFound, BackupErrorCategory.ObjectNotFound,
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
                            run.ReportFinal(job);
                            return;
                        }
                        // (and after the first read: a resumed wait, whose job has not changed, shows it too)
                        if (!read || before.State != job.State || before.RawStatus != job.RawStatus || before.PercentComplete != job.PercentComplete)
                            run.Events.Updated(job);
                        read = true;
                    }
                    if (last)
                    {
                        // Read at the deadline and not final (or the read failed): the job's true state when time ran out.
                        run.Events.TimedOut(job);
                        return;
                    }
                    delay = PollSchedule.Next(DateTimeOffset.UtcNow - job.CreatedAt, job.PercentComplete, retryAfter,
                        _options.PollingInterval, _options.MaxPollingInterval, provider.MinimumPollInterval, NextJitter());
                }
            }
            catch (OperationCanceledException) when (run.UserToken.IsCancellationRequested)
            {
                // Ctrl+C: stop following; the backups go on.
            }
            catch (OperationCanceledException) when (run.EndedByAny)
            {
                // -Any: another job finished first (even when the timeout came in the same moment).
            }
            catch (OperationCanceledException) when (run.TimeoutToken.IsCancellationRequested)
            {
                run.Events.TimedOut(job);
            }
            catch (BackupToolsException ex)
            {
                run.Events.CouldNotFollow(job, ex);
            }
            catch (Exception ex) when (!(ex is OperationCanceledException))
            {
                run.Events.CouldNotFollow(job, Unforeseen(job, ex));
            }
        }

        /// <summary>A failure no rule foresaw (an answer, an imported job): it ends this job's wait, reported, never the others'.</summary>
        private static BackupToolsException Unforeseen(BackupJob job, Exception ex) =>
            new BackupToolsException(ErrorIds.BackupJobInvalid, BackupErrorCategory.InvalidResult,
                $"{job.Provider} job {job.JobId} could not be followed: {ex.GetType().Name}: {Redact.UserInfo(ex.Message)}", job, Redact.Failure(ex)) { Provider = job.Provider };

        private static TimeSpan BackoffAfterFailure(int failures) =>
            TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, Math.Min(failures, 5)) * 0.5));

        /// <summary>Failures worth another status read: the job itself is unaffected by them.</summary>
        internal static bool IsTransient(BackupToolsException ex) => Resilience.IsTransientRead(ex);

        private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
    }
}
