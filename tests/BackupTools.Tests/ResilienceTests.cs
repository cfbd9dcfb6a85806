using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Http;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// The first attempt runs outside the Polly pipeline; the pipeline is built and entered only when it fails, with
    /// that failure as its attempt 0. These tests hold that to what running everything inside Polly would do.
    /// </summary>
    public sealed class ResilienceTests
    {
        private sealed class Log : IOperationLog
        {
            public List<string> Lines { get; } = new List<string>();
            public void Verbose(string message) { lock (Lines) Lines.Add(message); }
            public void Debug(string message) { }
        }

        private static readonly CreateRetryOptions Fast = TestData.FastRetry(busy: 3, notProcessed: 2);

        private static BackupToolsException Unreachable() =>
            new BackupToolsException(ErrorIds.BackupServiceUnreachable, BackupErrorCategory.ConnectionError, "refused") { Provider = "DDS" };

        [Fact]
        public async Task A_first_attempt_that_succeeds_never_builds_the_pipeline()
        {
            var built = 0;
            var result = await Resilience.ExecuteAsync(RetryRules.Of(() => { built++; return Resilience.Creates(Fast, false); }), null,
                ct => Task.FromResult("job-1"), CancellationToken.None);
            Assert.Equal("job-1", result);
            Assert.Equal(0, built);
        }

        [Fact]
        public async Task A_retryable_first_failure_counts_as_attempt_zero_so_the_limits_are_polly_s()
        {
            var calls = 0;
            var log = new Log();
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Resilience.ExecuteAsync(RetryRules.ForCreates(Fast, false), log,
                ct => { calls++; return Task.FromException<string>(Unreachable()); }, CancellationToken.None));
            Assert.Equal(ErrorIds.BackupServiceUnreachable, ex.ErrorId);
            // NotProcessedRetries = 2: the first attempt and two repeats, as Polly alone would have made.
            Assert.Equal(3, calls);
            Assert.Equal(new[] { "attempt 1 failed", "attempt 2 failed" }, log.Lines.ConvertAll(l => l.Substring(l.IndexOf("attempt", StringComparison.Ordinal), 16)));
        }

        [Fact]
        public async Task A_retryable_first_failure_then_a_success_returns_the_success()
        {
            var calls = 0;
            var result = await Resilience.ExecuteAsync(RetryRules.ForCreates(Fast, false), null,
                ct => ++calls == 1 ? Task.FromException<string>(Unreachable()) : Task.FromResult("job-2"), CancellationToken.None);
            Assert.Equal("job-2", result);
            Assert.Equal(2, calls);
        }

        [Fact]
        public async Task A_first_failure_that_must_not_be_repeated_is_thrown_as_it_was_once()
        {
            var calls = 0;
            var refused = new BackupToolsException(ErrorIds.BackupServiceError, BackupErrorCategory.InvalidArgument, "bad request") { Provider = "DDS", HttpStatus = 400 };
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Resilience.ExecuteAsync(RetryRules.ForCreates(Fast, false), null,
                ct => { calls++; return Task.FromException<string>(refused); }, CancellationToken.None));
            Assert.Same(refused, ex);
            Assert.Equal(1, calls);
        }

        [Fact]
        public async Task A_cancelled_first_attempt_is_not_repeated_and_builds_nothing()
        {
            using var cts = new CancellationTokenSource();
            var built = 0;
            var calls = 0;
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Resilience.ExecuteAsync(RetryRules.Of(() => { built++; return Resilience.Creates(Fast, false); }), null,
                ct => { calls++; cts.Cancel(); ct.ThrowIfCancellationRequested(); return Task.FromResult("never"); }, cts.Token));
            Assert.Equal(1, calls);
            Assert.Equal(0, built);
        }

        [Fact]
        public async Task Every_attempt_s_failure_is_observed_once_in_order_the_first_included()
        {
            var calls = 0;
            var seen = new List<Exception>();
            var thrown = new List<Exception>();
            var result = await Resilience.ExecuteAsync(RetryRules.ForCreates(Fast, false), null, ct =>
            {
                if (++calls == 3) return Task.FromResult("job-3");
                var ex = Unreachable();
                thrown.Add(ex);
                return Task.FromException<string>(ex);
            }, CancellationToken.None, observe: seen.Add);
            Assert.Equal("job-3", result);
            Assert.Equal(thrown, seen);
            Assert.Equal(2, seen.Count);
        }
    }
}
