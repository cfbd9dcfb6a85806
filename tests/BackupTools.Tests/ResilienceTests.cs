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

    /// <summary>The retry rules' verbose lines, from real requests over loopback.</summary>
    public sealed class ResilienceLoopbackTests : IClassFixture<SimulatorFixture>
    {
        private readonly BackupTools.Simulator.BackupSimulator _sim;

        public ResilienceLoopbackTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
        }

        /// <summary>
        /// A status read whose connection is dropped, then answered: the repeat's verbose line names the provider
        /// (transport failures carry it); it read " status read attempt 1 failed".
        /// </summary>
        [Fact]
        public async Task A_repeated_status_reads_verbose_line_names_the_provider()
        {
            var c = TestData.Connect(_sim, "DDS");
            var job = await BackupService.StartAsync(c, new BackupRequest { InstanceId = TestData.DdsInstance, Name = TestData.UniqueName() },
                NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            _sim.Faults.Add(new BackupTools.Simulator.FaultRule { Provider = "DDS", Method = "GET", Kind = BackupTools.Simulator.FaultKind.DropBeforeRead, Times = 1 });
            var log = new ListLog();

            var read = await BackupService.RefreshAsync(c, job, log, CancellationToken.None, TestData.FastRetry());
            Assert.Equal(BackupJobState.Running, read.State);
            var line = Assert.Single(log.Lines, l => l.Contains("attempt 1 failed"));
            Assert.StartsWith("V: DDS status read attempt 1 failed (BackupServiceUnreachable); trying again in ", line);
        }
    }
}
