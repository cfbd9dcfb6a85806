using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Async;
using Polly;
using Polly.Retry;

namespace BackupTools.Http
{
    /// <summary>How creates are retried. Defaults suit runbooks; tests shorten the delays.</summary>
    public sealed class CreateRetryOptions
    {
        /// <summary>Retries when the service answers "another operation is in progress" (TaurusDB/DDS <c>DBS.200019</c> …).</summary>
        public int BusyRetries { get; set; } = 5;
        /// <summary>Retries when the create certainly did not reach or was not processed by the service (refused connection, DNS, 429, 503).</summary>
        public int NotProcessedRetries { get; set; } = 3;
        /// <summary>
        /// The base of the pauses between attempts: Polly's exponential backoff with decorrelated jitter, each pause random
        /// between none and a bound that about doubles per repeat (2.8, 5.7, 8.7, 17, 34 s for the default 2 s), within
        /// <see cref="MaxDelay"/>.
        /// </summary>
        public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(2);
        /// <summary>Longest pause between attempts (a service's Retry-After may ask for longer, and is honoured).</summary>
        public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(60);
        /// <summary>How long a create may take in all, its repeats and pauses included (default 10 minutes).</summary>
        public TimeSpan Budget { get; set; } = TimeSpan.FromMinutes(10);
        /// <summary>How long one request may take before it is abandoned (its outcome then unknown).</summary>
        public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);
        /// <summary>Retries of a status read that failed on the way (network, timeouts, 408, 429, 500, 502, 503, 504, 520 to 524).</summary>
        public int ReadRetries { get; set; } = 3;
    }

    /// <summary>
    /// The retry rules of the HTTP pipeline, in Polly. Reads are repeated on transient failures. Creates are never
    /// repeated blindly: only when the request certainly did not reach the service or the service said it did not
    /// process it, or when it reported another operation in progress (which means it refused this one).
    /// </summary>
    internal static class Resilience
    {
        private static readonly CreateRetryOptions Defaults = new CreateRetryOptions();

        // Everything of Polly's sits in this holder, so a call whose first attempt succeeds does not even load Polly.
        private static class Polly
        {
            internal static readonly ResiliencePropertyKey<IOperationLog> LogKey = new ResiliencePropertyKey<IOperationLog>("BackupTools.Log");
            // Pipelines are immutable and thread-safe: the default ones are built once (thousands of creates share them);
            // the caller's log travels in the resilience context, not in the pipeline.
            internal static readonly Lazy<ResiliencePipeline> DefaultReads = new Lazy<ResiliencePipeline>(() => BuildReads(Defaults));
            internal static readonly Lazy<ResiliencePipeline> DefaultCreatesUnique = new Lazy<ResiliencePipeline>(() => BuildCreates(Defaults, true));
            internal static readonly Lazy<ResiliencePipeline> DefaultCreates = new Lazy<ResiliencePipeline>(() => BuildCreates(Defaults, false));
        }

        public static ResiliencePipeline Reads(CreateRetryOptions options) =>
            options == null || options == Defaults ? Polly.DefaultReads.Value : BuildReads(options);

        public static ResiliencePipeline Creates(CreateRetryOptions options, bool uniqueNames) =>
            options == null || options == Defaults ? (uniqueNames ? Polly.DefaultCreatesUnique.Value : Polly.DefaultCreates.Value) : BuildCreates(options, uniqueNames);

        /// <summary>The options used when a caller gives none.</summary>
        public static CreateRetryOptions DefaultOptions => Defaults;
        private static ResiliencePipeline BuildReads(CreateRetryOptions options) =>
            new ResiliencePipelineBuilder().AddRetry(ReadRetries(options)).Build();

        /// <summary>
        /// The retry strategy of status reads: what <see cref="Reads"/> builds its pipeline from (tests read its pauses;
        /// the help's figures are checked against them).
        /// </summary>
        internal static RetryStrategyOptions ReadRetries(CreateRetryOptions options) =>
            new RetryStrategyOptions
            {
                // A pause asked for beyond the longest one between repeats is not waited out: the error is the answer.
                ShouldHandle = new PredicateBuilder().Handle<BackupToolsException>(ex => IsTransientRead(ex) && !(ex.RetryAfter > options.MaxDelay)),
                MaxRetryAttempts = Math.Max(1, options.ReadRetries),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay,
                DelayGenerator = RetryAfterFirst,
                OnRetry = args => Log("status read", args),
            };

        /// <param name="options">Retry limits and pauses.</param>
        /// <param name="uniqueNames">The service refuses a second backup of the same name, so a create whose outcome is
        /// unknown may be repeated: the repeat either creates it or answers "already exists".</param>
        private static ResiliencePipeline BuildCreates(CreateRetryOptions options, bool uniqueNames) =>
            new ResiliencePipelineBuilder().AddRetry(CreateRetries(options, uniqueNames)).Build();

        /// <summary>
        /// The retry strategy of creates: what <see cref="Creates"/> builds its pipelines from (tests read its pauses;
        /// the help's figures are checked against them).
        /// </summary>
        internal static RetryStrategyOptions CreateRetries(CreateRetryOptions options, bool uniqueNames) =>
            new RetryStrategyOptions
            {
                ShouldHandle = args => new ValueTask<bool>(args.Outcome.Exception is BackupToolsException ex && ShouldRepeatCreate(ex, args.AttemptNumber, options, uniqueNames)),
                MaxRetryAttempts = Math.Max(1, Math.Max(options.BusyRetries, options.NotProcessedRetries)),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay,
                DelayGenerator = RetryAfterFirst,
                OnRetry = args => Log("create", args),
            };

        /// <summary>A status read worth repeating: the job is unaffected by it.</summary>
        internal static bool IsTransientRead(BackupToolsException ex)
        {
            // A -TokenProvider script that could not reach its sign-in service: the next attempt asks it again.
            if (ex.Passing) return true;
            if (ex.ErrorId == ErrorIds.BackupServiceUnreachable || ex.ErrorId == ErrorIds.BackupResponseInvalid) return true;
            if (ex.ErrorId != ErrorIds.BackupServiceError) return false;
            var s = ex.HttpStatus;
            // ArcGIS answers most errors with HTTP 200 and the status in its body ({"status":"error","code":500}).
            if ((s == null || s < 300) && int.TryParse(ex.ServiceCode, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var inBody))
                s = inBody;
            return s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504 || IsProxyOriginError(s);
        }

        /// <summary>
        /// A proxy's or CDN's word that it could not reach the service behind it: Cloudflare's 520 (unknown error), 521
        /// (web server down), 522 (connection timed out), 523 (origin unreachable) and 524 (a timeout), in front of a
        /// self-hosted ArcGIS or Cloud Foundry. Transient for a status read, which changes nothing; a create's
        /// in-doubt rules are its own (<see cref="ShouldRepeatCreate"/>). 525 and 526 (the origin's TLS) are settings, not
        /// passing failures, and stay errors.
        /// </summary>
        private static bool IsProxyOriginError(int? status) => status >= 520 && status <= 524;

        /// <summary>
        /// A create's failure that leaves its outcome unknown, when its request left: no answer, one that cannot be read,
        /// or a gateway's 502, 504, 520 or 524 (the gateway gave up on the service, which may have made the backup all
        /// the same).
        /// </summary>
        internal static bool LeavesCreateInDoubt(BackupToolsException ex) =>
            ex.ErrorId == ErrorIds.BackupCreateOutcomeUnknown || ex.ErrorId == ErrorIds.BackupResponseInvalid || IsGatewayInDoubt(ex);

        /// <summary>
        /// A gateway's 502 or 504, or a CDN's 520 (the origin's answer was unusable) or 524 (the origin took the request
        /// and did not answer in time): the service behind it may have acted on the request. A CDN's 521, 522 and 523 say
        /// the origin was never reached.
        /// </summary>
        internal static bool IsGatewayInDoubt(BackupToolsException ex) =>
            ex.ErrorId == ErrorIds.BackupServiceError && (ex.HttpStatus == 502 || ex.HttpStatus == 504 || ex.HttpStatus == 520 || ex.HttpStatus == 524);

        /// <summary>True only when repeating the create cannot make a second backup.</summary>
        internal static bool ShouldRepeatCreate(BackupToolsException ex, int attempt, CreateRetryOptions options, bool uniqueNames)
        {
            // A pause asked for beyond the create's whole budget would only end in the budget's error: the answer is now.
            if (ex.RetryAfter is TimeSpan pause && options.Budget > TimeSpan.Zero && options.Budget != System.Threading.Timeout.InfiniteTimeSpan && pause > options.Budget)
                return false;
            // No answer, or one that cannot be read: repeat only where a repeat cannot make a second backup.
            if (LeavesCreateInDoubt(ex))
                return uniqueNames && attempt < options.NotProcessedRetries;
            // Transport failure before the request left (refused, DNS): ServiceCall reports these as unreachable for a
            // create; anything that may have reached the service is BackupCreateOutcomeUnknown and never repeated.
            if (ex.ErrorId == ErrorIds.BackupServiceUnreachable) return attempt < options.NotProcessedRetries;
            if (ex.ErrorId != ErrorIds.BackupServiceError) return false;
            // (A gateway's throttle carried by a 200, as some Huawei gateways answer: the provider marks it LimitsExceeded
            // and passing; the gateway kept the request from the service, as with a 429.)
            if (ex.HttpStatus == 429 || ex.HttpStatus == 503 || (ex.Category == BackupErrorCategory.LimitsExceeded && ex.Passing))
                return attempt < options.NotProcessedRetries;
            if (ex.Category == BackupErrorCategory.ResourceBusy) return attempt < options.BusyRetries;
            return false;
        }

        private static ValueTask<TimeSpan?> RetryAfterFirst(RetryDelayGeneratorArguments<object> args) =>
            new ValueTask<TimeSpan?>(args.Outcome.Exception is BackupToolsException ex && ex.RetryAfter is TimeSpan wait ? wait : (TimeSpan?)null);

        private static ValueTask Log(string what, OnRetryArguments<object> args)
        {
            if (!args.Context.Properties.TryGetValue(Polly.LogKey, out var log) || log == null) return default;
            var ex = args.Outcome.Exception as BackupToolsException;
            log.Verbose($"{ex?.Provider} {what} attempt {args.AttemptNumber + 1} failed ({ex?.ServiceCode ?? ex?.ErrorId}); trying again in {args.RetryDelay.TotalSeconds:0.#} s.");
            return default;
        }

        /// <summary>
        /// Runs <paramref name="action"/> under the retry rules <paramref name="rules"/> names, its retries logged to <paramref name="log"/>.
        /// The first attempt runs on its own: when it succeeds (nearly always) the pipeline is neither built nor entered,
        /// which spares a runbook's first call the pipeline's start-up cost. When it fails, the pipeline takes over with
        /// that failure as its attempt 0, so Polly makes every decision it would have made had it run the first attempt
        /// itself: whether to repeat, after what pause, how many times, and what is logged.
        /// </summary>
        /// <param name="rules">Which retry rules apply: named by a value of the module's own, not a pipeline or a
        /// delegate returning one, because a Polly type in this method's signature or state would load Polly.Core at
        /// every first call (2 ms in PowerShell 7, where the assembly is resolved through the module's load context).</param>
        /// <param name="log">Where each repeat is told (verbose).</param>
        /// <param name="action">One attempt; given the cancellation token.</param>
        /// <param name="cancellationToken">Ends the attempts; a cancelled attempt is never repeated.</param>
        /// <param name="observe">Told of every attempt's failure, cancellations included, before any decision is made on it.</param>
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        public static async Task<T> ExecuteAsync<T>(RetryRules rules, IOperationLog log, Func<CancellationToken, Task<T>> action,
            CancellationToken cancellationToken, Action<Exception> observe = null)
        {
            Exception firstFailure;
            try
            {
                return await action(cancellationToken).NoContext();
            }
            catch (Exception ex)
            {
                observe?.Invoke(ex);
                if (cancellationToken.IsCancellationRequested) throw; // (rethrown as it is, as the pipeline would have)
                firstFailure = ex;
            }
            return await ContinueInPipelineAsync(rules, log, observe == null ? action : Observed(action, observe), firstFailure, cancellationToken)
                .NoContext();
        }

        /// <summary>The action, its failures told to <paramref name="observe"/> (the repeats' path only).</summary>
        private static Func<CancellationToken, Task<T>> Observed<T>(Func<CancellationToken, Task<T>> action, Action<Exception> observe) =>
            [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))] async Task<T> (CancellationToken ct) =>
            {
                try
                {
                    return await action(ct).NoContext();
                }
                catch (Exception ex)
                {
                    observe(ex);
                    throw;
                }
            };

        // A method of its own, so that compiling the first-attempt path needs none of Polly's types (and does not load Polly).
        [MethodImpl(MethodImplOptions.NoInlining)]
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        private static async Task<T> ContinueInPipelineAsync<T>(RetryRules rules, IOperationLog log,
            Func<CancellationToken, Task<T>> action, Exception firstFailure, CancellationToken cancellationToken)
        {
            var context = ResilienceContextPool.Shared.Get(cancellationToken);
            context.Properties.Set(Polly.LogKey, log ?? NullOperationLog.Instance);
            try
            {
                var replayed = false;
                return await rules.Pipeline().ExecuteAsync(ctx =>
                {
                    if (replayed) return new ValueTask<T>(action(ctx.CancellationToken));
                    replayed = true;
                    return new ValueTask<T>(Task.FromException<T>(firstFailure));
                }, context).ConfigureAwait(false); // (a ValueTask: the retry path only, where the JIT is not what counts)
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }
    }

    /// <summary>
    /// The retry rules a call runs under, without naming any of Polly's types: status reads, or creates (with whether
    /// the service refuses a second backup of the same name), under given options. The pipeline is looked up only when
    /// a first attempt has failed.
    /// </summary>
    internal readonly struct RetryRules
    {
        private readonly CreateRetryOptions _options;
        private readonly bool _creates;
        private readonly bool _uniqueNames;
        private readonly Delegate _build; // a Func<ResiliencePipeline> (tests), typed Delegate so the struct names no Polly type

        private RetryRules(CreateRetryOptions options, bool creates, bool uniqueNames, Delegate build)
        {
            _options = options;
            _creates = creates;
            _uniqueNames = uniqueNames;
            _build = build;
        }

        /// <summary>Status reads: repeated on transient failures.</summary>
        public static RetryRules ForReads(CreateRetryOptions options) => new RetryRules(options, false, false, null);

        /// <summary>Creates: repeated only where a repeat cannot make a second backup.</summary>
        public static RetryRules ForCreates(CreateRetryOptions options, bool uniqueNames) => new RetryRules(options, true, uniqueNames, null);

        /// <summary>Rules from a pipeline built on demand (tests count the builds).</summary>
        public static RetryRules Of(Func<ResiliencePipeline> build) => new RetryRules(null, false, false, build ?? throw new ArgumentNullException(nameof(build)));

        internal ResiliencePipeline Pipeline() =>
            _build is Func<ResiliencePipeline> build ? build()
            : _creates ? Resilience.Creates(_options, _uniqueNames)
            : Resilience.Reads(_options);
    }
}
