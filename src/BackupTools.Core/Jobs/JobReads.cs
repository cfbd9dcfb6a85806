using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Async;
using BackupTools.Http;
using BackupTools.Providers;

namespace BackupTools.Jobs
{
    /// <summary>
    /// The status reads of one command that reads many jobs once (Get-BackupJob): each job is read as
    /// <see cref="BackupService.RefreshAsync(BackupConnection, BackupJob, IOperationLog, CancellationToken, CreateRetryOptions)"/>
    /// reads one (repeated on transient failures under the read rules), and any number of them at once, each attempt
    /// through its endpoint's <see cref="EndpointGate"/>, the process's gate the waits use: at most
    /// <see cref="WaitOptions.MaxConcurrentRequestsPerEndpoint"/> requests in flight to one endpoint, counted with every
    /// wait of the process, and a Retry-After on a 429 or 503 to one read holding the next read of every job of that
    /// endpoint. Read one after another, a dead endpoint's jobs held up every other endpoint's (each retried for
    /// 9 to 14 s, a hanging one for minutes), and a Retry-After told to one job did not stop the next job's read.
    /// </summary>
    /// <remarks>
    /// The first attempt to each endpoint goes alone until it is answered (or <see cref="FirstAnswerWait"/> has passed):
    /// the jobs of a pipeline arrive within microseconds, and without it they were all sent before the first 429's
    /// Retry-After could hold them. A pause longer than a read waits out (<see cref="CreateRetryOptions.MaxDelay"/>, as
    /// the read rules do for the job that was told) is the answer of each job it holds: the error of the read that asked
    /// for it, about that job, nothing sent.
    /// </remarks>
    public sealed class JobReads : IDisposable
    {
        /// <summary>How long the other jobs of an endpoint wait for its first attempt's answer before they are sent anyway (a hanging endpoint).</summary>
        internal static readonly TimeSpan FirstAnswerWait = TimeSpan.FromSeconds(1);

        private readonly IOperationLog _log;
        private readonly CancellationToken _token;
        private readonly CreateRetryOptions _retry;
        private readonly int _slots;
        private readonly object _lock = new object();
        private readonly Dictionary<string, Endpoint> _endpoints = new Dictionary<string, Endpoint>(StringComparer.Ordinal);
        // One call context per connection, as a wait has (two connections to one endpoint read with their own credential).
        private readonly Dictionary<BackupConnection, ServiceCall> _calls = new Dictionary<BackupConnection, ServiceCall>();
        private bool _disposed;

        /// <param name="log">Where HTTP calls and repeats are told.</param>
        /// <param name="cancellationToken">Ends every read (Ctrl+C): promptly, queued ones included.</param>
        /// <param name="retry">The read rules' repeats and pauses (defaults when null). Its request timeout is a create's:
        /// each attempt here has <see cref="WaitOptions.DefaultReadTimeout"/>, as a wait's status reads do.</param>
        /// <param name="maxConcurrentRequestsPerEndpoint">Requests in flight at once to one endpoint; the waits' default
        /// shares their gate (a gate is the process's per endpoint and limit).</param>
        public JobReads(IOperationLog log, CancellationToken cancellationToken, CreateRetryOptions retry = null,
            int maxConcurrentRequestsPerEndpoint = 0)
        {
            _log = log ?? NullOperationLog.Instance;
            _token = cancellationToken;
            _retry = retry ?? Resilience.DefaultOptions;
            _slots = maxConcurrentRequestsPerEndpoint > 0 ? maxConcurrentRequestsPerEndpoint : new WaitOptions().MaxConcurrentRequestsPerEndpoint;
        }

        /// <summary>Reads <paramref name="job"/>'s status once with <paramref name="connection"/> and returns the job with it applied.</summary>
        public Task<BackupJob> ReadAsync(BackupConnection connection, BackupJob job) =>
            BackupService.RefreshAsync(connection, job, _log, _token, _retry, this);

        /// <summary>The call context of <paramref name="connection"/>'s reads.</summary>
        internal ServiceCall CallFor(BackupConnection connection)
        {
            lock (_lock)
            {
                if (!_calls.TryGetValue(connection, out var call))
                    // A status read's limit, as a wait's reads have (a create's 100 s made a hanging endpoint cost each
                    // job minutes over its four attempts).
                    _calls[connection] = call = new ServiceCall(connection, _log, _token) { RequestTimeout = WaitOptions.DefaultReadTimeout };
                return call;
            }
        }

        /// <summary>What one endpoint's reads of this command share: the process's gate, and whether its first attempt was answered.</summary>
        internal sealed class Endpoint
        {
            public EndpointGate Gate;
            public string Key;
            // Completed when the endpoint's first attempt of this command has ended (or FirstAnswerWait has passed).
            public TaskCompletionSource<bool> FirstAnswer;
            public bool FirstTaken;
            public Timer FirstAnswerTimer;
            public CancellationTokenRegistration Registration;
            // The last answer of this command's reads that asked the endpoint for quiet.
            public volatile BackupToolsException PausedBy;
        }

        private Endpoint EndpointOf(BackupConnection connection, out bool first)
        {
            var key = connection.EndpointKey; // per endpoint, whichever projects (as the service throttles it, and as the waits' gates are)
            lock (_lock)
            {
                if (_disposed) throw new ObjectDisposedException(nameof(JobReads));
                if (!_endpoints.TryGetValue(key, out var endpoint))
                {
                    endpoint = new Endpoint
                    {
                        Key = key,
                        Gate = EndpointGate.Use(key, _slots),
                        FirstAnswer = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously),
                    };
                    var gate = endpoint.Gate;
                    var token = _token;
                    var answer = endpoint.FirstAnswer;
                    // Ctrl+C takes this command's reads out of the gate's queue, and out of the wait for the first answer.
                    endpoint.Registration = token.Register(() =>
                    {
                        gate.CancelWaitersOf(token);
                        answer.TrySetCanceled();
                    });
                    _endpoints[key] = endpoint;
                }
                first = !endpoint.FirstTaken;
                if (first)
                {
                    endpoint.FirstTaken = true;
                    var answer = endpoint.FirstAnswer;
                    endpoint.FirstAnswerTimer = new Timer(state => ((TaskCompletionSource<bool>)state).TrySetResult(false), answer, FirstAnswerWait, Timeout.InfiniteTimeSpan);
                }
                return endpoint;
            }
        }

        /// <summary>
        /// One attempt of <paramref name="job"/>'s read (<paramref name="read"/>) through its endpoint: after the endpoint's
        /// first answer, out of any pause it asked for, in a slot of its gate. A 429 or 503 with Retry-After to it pauses
        /// the endpoint for every read of the process; a pause beyond what a read waits out is this job's error.
        /// </summary>
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        internal async Task<JobStatus> AttemptAsync(BackupConnection connection, BackupJob job, Func<Task<JobStatus>> read)
        {
            var endpoint = EndpointOf(connection, out var first);
            if (!first) await endpoint.FirstAnswer.Task.NoContext();
            var gate = endpoint.Gate;
            var waiter = new Waiter();
            try
            {
                // The endpoint asked for quiet (another job's read was told so): this read waits too, spread a little, or
                // is answered by it when it is longer than a read waits; and again when the pause began while it queued
                // for a slot (the slot goes to the next in line).
                while (true)
                {
                    var quiet = gate.PauseLeft;
                    if (quiet > _retry.MaxDelay) throw Quiet(job, endpoint, quiet);
                    if (quiet > TimeSpan.Zero) await Task.Delay(TimeSpan.FromTicks(quiet.Ticks + (long)(quiet.Ticks * 0.1 * NextJitter())), _token).NoContext();
                    await gate.Enter(waiter, _token);
                    if (gate.PauseLeft <= TimeSpan.Zero) break;
                    gate.Release();
                }
                try
                {
                    return await read().NoContext();
                }
                catch (BackupToolsException ex) when (ex.RetryAfter is TimeSpan asked && (ex.HttpStatus == 429 || ex.HttpStatus == 503) && ex.Target is BackupJob)
                {
                    // The endpoint's own answer to a status read, as a wait takes it (a sign-in's 503 at an identity
                    // service pauses the credential, not this endpoint).
                    endpoint.PausedBy = ex;
                    gate.PauseFor(asked);
                    throw;
                }
                finally
                {
                    gate.Release();
                }
            }
            finally
            {
                // (after any pause it asked for is set: the reads it held see it before they are sent)
                if (first) endpoint.FirstAnswer.TrySetResult(true);
            }
        }

        /// <summary>
        /// The answer of a read held by a pause longer than a read waits out: the error of the read that asked for it
        /// (its id, category, service code and status), about this job; a plain limit error when another command asked.
        /// </summary>
        private BackupToolsException Quiet(BackupJob job, Endpoint endpoint, TimeSpan left)
        {
            var cause = endpoint.PausedBy;
            var message = $"{job.Provider} job {job.JobId}: its status read was not sent: the endpoint asked for quiet for another {Math.Ceiling(left.TotalSeconds):0} s " +
                          $"(Retry-After), longer than a read waits ({_retry.MaxDelay.TotalSeconds:0.#} s).";
            // (not the action of the answer that asked for the pause: this read was not sent, and there is nothing to fix)
            const string action = "Read the job again after the pause, or use Wait-BackupJob, which waits pauses out.";
            if (cause != null)
            {
                var held = cause.Restated($"{message} It answered another job's read: {cause.Message}", job, cause);
                held.Provider = cause.Provider ?? job.Provider;
                held.RetryAfter = left;
                held.RecommendedAction = action;
                return held;
            }
            return new BackupToolsException(ErrorIds.BackupServiceError, BackupErrorCategory.LimitsExceeded,
                $"{message} Another command of this process was told so.", job)
            {
                Provider = job.Provider,
                RetryAfter = left,
                RecommendedAction = action,
            };
        }

        /// <summary>Jitter for pauses; one generator per thread (<see cref="Random"/> is not thread-safe).</summary>
        [ThreadStatic] private static Random _jitter;

        private static double NextJitter() => (_jitter ?? (_jitter = new Random(Guid.NewGuid().GetHashCode()))).NextDouble();

        /// <summary>Gives the endpoints' gates back (reads still under way end with the command's cancellation).</summary>
        public void Dispose()
        {
            lock (_lock)
            {
                if (_disposed) return;
                _disposed = true;
                foreach (var endpoint in _endpoints.Values)
                {
                    endpoint.Registration.Dispose();
                    endpoint.FirstAnswerTimer?.Dispose();
                    endpoint.FirstAnswer.TrySetResult(false);
                    endpoint.Gate.Unuse();
                }
                _endpoints.Clear();
            }
        }
    }
}
