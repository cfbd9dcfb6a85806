using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
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
    /// <see cref="Waiter"/>; the pauses run on one <see cref="PollClock"/> per endpoint of a wait and the endpoint limits on
    /// <see cref="EndpointGate"/>s, with no timer, task or cancellation registration per job or per pause.
    /// An endpoint that has stopped answering altogether is given up as a whole (<see cref="Endpoint"/>): its jobs do not
    /// each earn their own <see cref="WaitOptions.MaxConsecutiveReadFailures"/> one slot at a time.
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

        /// <summary>What every job of one wait shares: the events, the tokens, per connection its call, and per endpoint its <see cref="Endpoint"/>.</summary>
        private sealed class Run : IDisposable
        {
            private readonly JobEngine _engine;
            private readonly CancellationTokenSource _any;
            private readonly ConcurrentDictionary<string, Endpoint> _endpoints = new ConcurrentDictionary<string, Endpoint>();
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
            }

            public IJobWaitEvents Events { get; }
            public CancellationToken Token { get; }
            public CancellationToken TimeoutToken { get; }
            public CancellationToken UserToken { get; }

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

            public Endpoint EndpointOf(BackupConnection connection, IBackupProvider provider) =>
                _endpoints.TryGetValue(connection.EndpointKey, out var endpoint) ? endpoint : GetOrAddEndpoint(connection, provider);

            // The endpoint's gate is the process's, shared with other waits: this wait uses it once, and its cancellation
            // (or the endpoint's outage) takes only its own jobs out of the queue.
            private Endpoint GetOrAddEndpoint(BackupConnection connection, IBackupProvider provider)
            {
                var key = connection.EndpointKey;
                lock (_endpoints)
                {
                    if (_endpoints.TryGetValue(key, out var endpoint)) return endpoint;
                    endpoint = new Endpoint(EndpointGate.Use(key, _engine._options.MaxConcurrentRequestsPerEndpoint), connection, Token, _engine._options,
                        provider.MinimumPollInterval);
                    _endpoints[key] = endpoint;
                    return endpoint;
                }
            }

            // A connection's reads end with its endpoint's outage (a read hanging there is cut off when it is given up).
            public ServiceCall CallFor(IBackupProvider provider, BackupConnection connection, Endpoint endpoint) =>
                _calls.TryGetValue(connection, out var call) ? call : _calls.GetOrAdd(connection, _engine._callFactory(provider, connection, endpoint.Token));

            public void Dispose()
            {
                lock (_endpoints)
                {
                    foreach (var endpoint in _endpoints.Values) endpoint.Dispose();
                }
            }
        }

        /// <summary>
        /// One endpoint in one wait: the process's gate to it, the pauses of its jobs, and whether it still answers.
        /// Every status read of its jobs that gets no answer at all (no connection, refused or reset, nothing within
        /// <see cref="WaitOptions.ReadTimeout"/>) is counted; any answer, even an HTTP error, starts the count again.
        /// When <see cref="WaitOptions.EndpointOutageFailures"/> such reads in a row span at least
        /// <see cref="WaitOptions.EndpointOutageTime"/>, with no stretch between two of them longer than
        /// <see cref="QuietGap"/>, the endpoint is down: its token is cancelled, which takes each of its jobs out of its
        /// pause, its place at the gate or its read, and each is given up with <see cref="GaveUp"/>.
        /// </summary>
        /// <remarks>
        /// The time must be covered by failures, not only bounded by them. Measured from the first failure of the run
        /// to the last alone, a stretch in which nothing was read at all counted as time the endpoint was down: one read
        /// failed as a laptop's Wi-Fi dropped before it slept, and on waking the overdue reads of every job, sent at once
        /// while the Wi-Fi reconnected, made 20 failures "over" the whole sleep, and every job was given up though the
        /// endpoint answered seconds later. A failure that comes more than <see cref="QuietGap"/> after the one before
        /// starts a new run (count 1, from now): while an endpoint is down its jobs keep reading, each failed job again
        /// within its longest pause and its read's time, so a longer silence means nothing was asked, not that nothing
        /// answered. (Chosen over requiring failures in fixed time buckets: the gap follows the wait's own pauses and read
        /// timeout, where buckets would need to be as wide anyway, and it keeps one count and two times.) A gap that is
        /// longer for another reason (reads queued at the process's gate behind another wait's) only starts the run
        /// again: the endpoint is given up later, never sooner, and each job still has its own count of failed reads.
        /// </remarks>
        internal sealed class Endpoint : IDisposable
        {
            private readonly object _lock = new object();
            private readonly CancellationTokenSource _down;
            private readonly CancellationTokenRegistration _gateRegistration;
            private readonly string _address;
            private readonly int _outageFailures;
            private readonly TimeSpan _outageTime;
            private int _failures;
            private long _since; // when the first failure of the run of failures was seen (a Stopwatch timestamp)
            private long _last; // when the last one was
            private BackupToolsException _outage; // the last failure when the endpoint was given up; null while it is not
            private string _outageSummary;

            public Endpoint(EndpointGate gate, BackupConnection connection, CancellationToken waitToken, WaitOptions options,
                TimeSpan providerMinimum = default)
            {
                Gate = gate;
                _address = Redact.Url(connection.Endpoint);
                _outageFailures = options.EndpointOutageFailures;
                _outageTime = options.EndpointOutageTime;
                QuietGap = QuietGapOf(options, providerMinimum);
                _down = CancellationTokenSource.CreateLinkedTokenSource(waitToken);
                var token = Token = _down.Token;
                Clock = new PollClock(token);
                _gateRegistration = token.Register(state => ((EndpointGate)state).CancelWaitersOf(token), gate);
            }

            public EndpointGate Gate { get; }
            /// <summary>The pauses of this endpoint's jobs; its token is <see cref="Token"/>.</summary>
            public PollClock Clock { get; }
            /// <summary>Cancelled when the wait ends or the endpoint is given up.</summary>
            public CancellationToken Token { get; }
            public bool IsDown => Volatile.Read(ref _outage) != null;

            /// <summary>
            /// The longest stretch between two failures of one run (see the remarks); tests shorten it, as the pauses
            /// after failed reads (<see cref="LongestBackoff"/>) are not scaled by the options.
            /// </summary>
            internal TimeSpan QuietGap { get; set; }

            /// <summary>
            /// The longest a job of the wait goes between two reads while its endpoint does not answer: its longest pause
            /// (the cap, the floor, the provider's minimum, or the backoff after failed reads), then its read, which with a
            /// sign-in a renewed token needs may take <see cref="WaitOptions.ReadTimeout"/> twice. No limit when a read has
            /// none (<see cref="TimeSpan.MaxValue"/>: a run then never starts again).
            /// </summary>
            internal static TimeSpan QuietGapOf(WaitOptions options, TimeSpan providerMinimum)
            {
                var read = options.ReadTimeout;
                var pause = Max(Max(options.MaxPollingInterval, options.PollingInterval), Max(providerMinimum, LongestBackoff));
                if (read < TimeSpan.Zero || read > WaitOptions.LongestTimeout || pause > WaitOptions.LongestTimeout) return TimeSpan.MaxValue;
                return pause + read + read; // each at most 24.8 days: no overflow
            }

            /// <summary>A status read was answered: the run of failures, if any, is over. (No lock in the common case.)</summary>
            public void Answered()
            {
                if (Volatile.Read(ref _failures) == 0) return;
                lock (_lock) _failures = 0;
            }

            /// <summary>
            /// A status read failed with <paramref name="error"/>. True when the endpoint is down, given up by this
            /// failure or before it: the job gives up too, with <see cref="GaveUp"/>.
            /// </summary>
            public bool Failed(BackupToolsException error)
            {
                if (!NoAnswer(error))
                {
                    if (Answers(error)) Answered();
                    return IsDown;
                }
                lock (_lock)
                {
                    if (_outage != null) return true;
                    var now = Stopwatch.GetTimestamp();
                    // A failure after a silence longer than any job's pause and read starts the run again (see the remarks).
                    if (_failures == 0 || (double)(now - _last) / Stopwatch.Frequency > QuietGap.TotalSeconds)
                    {
                        _failures = 0;
                        _since = now;
                    }
                    _failures++;
                    _last = now;
                    var lasted = TimeSpan.FromSeconds((double)(now - _since) / Stopwatch.Frequency);
                    if (_failures < _outageFailures || lasted < _outageTime) return false;
                    _outageSummary = $"{_failures} status reads of this wait's jobs there failed in a row without an answer, over {Minutes(lasted)}";
                    Volatile.Write(ref _outage, error);
                }
                // Outside the lock: cancelling runs the gate's and the clock's callbacks, which release the other jobs.
                _down.Cancel();
                return true;
            }

            /// <summary>
            /// The error of a job given up with its endpoint: the id and category its own last failed read would have
            /// had, its target the job, that failure inside.
            /// </summary>
            public BackupToolsException GaveUp(BackupJob job)
            {
                var last = Volatile.Read(ref _outage);
                return new BackupToolsException(ErrorIds.BackupServiceUnreachable, last.Category,
                    $"{JobOutcome.Describe(job)} could not be followed: {job.Provider} at {_address} stopped answering ({_outageSummary}; " +
                    $"the last: {last.Message}{(JobOutcome.EndsSentence(last.Message) ? string.Empty : ".")}) Every job of the wait there was given up at once; " +
                    "the backups may still be running.", job, last)
                {
                    Provider = job.Provider,
                    RecommendedAction = "Check the endpoint, the network and the service's health, then read the jobs again with Get-BackupJob or wait on them again with Wait-BackupJob.",
                };
            }

            /// <summary>A read that got no answer at all: the endpoint (or the way to it) is silent.</summary>
            internal static bool NoAnswer(BackupToolsException error) =>
                error.ErrorId == ErrorIds.BackupServiceUnreachable && error.HttpStatus == null && error.Target is BackupJob;

            /// <summary>A read the endpoint answered, if only with an error of its own.</summary>
            private static bool Answers(BackupToolsException error) => error.HttpStatus != null && error.Target is BackupJob;

            private static string Minutes(TimeSpan t) =>
                t < TimeSpan.FromMinutes(2) ? $"{t.TotalSeconds:0} s" : $"{t.TotalMinutes:0} minutes";

            public void Dispose()
            {
                _gateRegistration.Dispose();
                Clock.Dispose();
                _down.Dispose();
                Gate.Unuse();
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

            // One gate per endpoint, whichever projects its jobs belong to (as the service throttles it), and one count of
            // the reads it left unanswered.
            var endpoint = run.EndpointOf(connection, provider);
            var gate = endpoint.Gate;
            var call = run.CallFor(provider, connection, endpoint);
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
                    await endpoint.Clock.Delay(waiter, run.UntilDeadline(delay));
                    // The endpoint asked for quiet (another job's read was told so): this read waits too, spread a little;
                    // and again when the pause began while it queued for a slot (the slot goes to the next in line).
                    while (true)
                    {
                        var quiet = gate.PauseLeft;
                        if (quiet > TimeSpan.Zero) await endpoint.Clock.Delay(waiter, TimeSpan.FromTicks(quiet.Ticks + (long)(quiet.Ticks * 0.1 * NextJitter())));
                        await gate.Enter(waiter, endpoint.Token);
                        if (gate.PauseLeft <= TimeSpan.Zero) break;
                        gate.Release();
                    }
                    var last = run.AtDeadline;
                    JobStatus status = null;
                    TimeSpan? retryAfter = null;
                    BackupToolsException failed = null;
                    try
                    {
                        status = call.Scrubbed(await provider.GetStatusAsync(call, job).NoContext());
                        failures = 0;
                    }
                    catch (BackupToolsException ex)
                    {
                        failed = ex;
                    }
                    finally
                    {
                        gate.Release();
                    }

                    if (failed != null)
                    {
                        // Every failed read counts at the endpoint, whether or not it ends this job's wait.
                        if (endpoint.Failed(failed))
                        {
                            run.Events.CouldNotFollow(job, endpoint.GaveUp(job));
                            return;
                        }
                        if (!IsTransient(failed) || ++failures >= _options.MaxConsecutiveReadFailures)
                        {
                            run.Events.CouldNotFollow(job, failed);
                            return;
                        }
                        // The endpoint's own answer to a status read (its target is the job), not a sign-in's at an
                        // identity service, whose pause is the credential's and must not hold other connections' reads.
                        if (failed.RetryAfter is TimeSpan asked && (failed.HttpStatus == 429 || failed.HttpStatus == 503) && failed.Target is BackupJob) gate.PauseFor(asked);
                        _log.Verbose($"{job.Provider} job {job.JobId}: status read failed ({failed.ErrorId}: {failed.Message}); trying again.");
                        // A Retry-After shorter than the backoff (0, or a date already past) does not cut it short: 20
                        // failures in a row give the job up, and they must take the backoff's time, not a few seconds.
                        retryAfter = Max(failed.RetryAfter ?? TimeSpan.Zero, BackoffAfterFailure(failures));
                    }
                    else endpoint.Answered();

                    if (status != null)
                    {
                        if (status.NotFound)
                        {
                            var age = DateTimeOffset.UtcNow - job.CreatedAt;
                            if (DateTimeOffset.UtcNow - job.NotFoundGraceFrom > provider.NotFoundGrace)
                            {
                                run.Events.CouldNotFollow(job, status.JobNotFound(job,
                                    $"{job.Provider} no longer knows job {job.JobId} ({age.TotalSeconds:0} s after it was started)", messageNamesCall: false,
                                    "The backup's own state can be checked on the service."));
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
            catch (OperationCanceledException) when (endpoint.IsDown)
            {
                // Another job's failed read gave the endpoint up: this one is given up with it, with its last known state
                // (taken out of its pause, its place at the gate or its read).
                run.Events.CouldNotFollow(job, endpoint.GaveUp(job));
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

        /// <summary>The longest pause <see cref="BackoffAfterFailure"/> gives (16 s).</summary>
        internal static readonly TimeSpan LongestBackoff = BackoffAfterFailure(int.MaxValue);

        /// <summary>Failures worth another status read: the job itself is unaffected by them.</summary>
        internal static bool IsTransient(BackupToolsException ex) => Resilience.IsTransientRead(ex);

        private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
    }
}
