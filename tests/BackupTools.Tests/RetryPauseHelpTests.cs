using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using BackupTools.Http;
using Polly;
using Polly.Retry;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// The help's figures for the pauses between repeats are the ones the retry strategies give: creates repeated after
    /// a busy answer (-BusyRetryCount) and Get-BackupJob's status reads. The pauses are measured from the production
    /// strategies (Resilience.CreateRetries, Resilience.ReadRetries), run with a clock that does not wait and a
    /// randomizer the test chooses: Polly's exponential backoff with decorrelated jitter draws one number per repeat.
    /// </summary>
    public sealed class RetryPauseHelpTests
    {
        private static string SourceDir => Path.Combine(ContractTests.RepoRoot(), "en-US");

        /// <summary>A clock whose timers fire at once: a run of repeats takes no time.</summary>
        private sealed class InstantTime : TimeProvider
        {
            public override ITimer CreateTimer(TimerCallback callback, object state, TimeSpan dueTime, TimeSpan period)
            {
                ThreadPool.QueueUserWorkItem(_ => callback(state));
                return new Timer();
            }

            private sealed class Timer : ITimer
            {
                public bool Change(TimeSpan dueTime, TimeSpan period) => true;
                public void Dispose() { }
                public System.Threading.Tasks.ValueTask DisposeAsync() => default;
            }
        }

        private static BackupToolsException Busy(TimeSpan? retryAfter = null) =>
            new BackupToolsException(ErrorIds.BackupServiceError, BackupErrorCategory.ResourceBusy, "another operation is in progress")
            {
                HttpStatus = 409, ServiceCode = "DBS.200019", RetryAfter = retryAfter,
            };

        private static BackupToolsException Unavailable(TimeSpan? retryAfter = null) =>
            new BackupToolsException(ErrorIds.BackupServiceError, BackupErrorCategory.ResourceUnavailable, "unavailable")
            {
                HttpStatus = 503, RetryAfter = retryAfter,
            };

        /// <summary>The pauses of one run in which every attempt fails with <paramref name="failure"/>; the randomizer gives <paramref name="draw"/>(i) for its i-th call.</summary>
        private static List<TimeSpan> Pauses(RetryStrategyOptions strategy, BackupToolsException failure, Func<int, double> draw)
        {
            var pauses = new List<TimeSpan>();
            var calls = 0;
            strategy.Randomizer = () => draw(calls++);
            strategy.OnRetry = args =>
            {
                pauses.Add(args.RetryDelay);
                return default;
            };
            var pipeline = new ResiliencePipelineBuilder { TimeProvider = new InstantTime() }.AddRetry(strategy).Build();
            Assert.Throws<BackupToolsException>(() => pipeline.Execute<int>(() => throw failure));
            return pauses;
        }

        /// <summary>The longest pause before repeat <paramref name="n"/> (1-based): the draw before it lowest, its own highest.</summary>
        private static TimeSpan Longest(Func<RetryStrategyOptions> strategy, BackupToolsException failure, int n) =>
            Pauses(strategy(), failure, i => i == n - 1 ? 1 - 1e-9 : i == n - 2 ? 0 : 0.5)[n - 1];

        /// <summary>The shortest pause before repeat <paramref name="n"/>: the draw before it highest, its own lowest.</summary>
        private static TimeSpan Shortest(Func<RetryStrategyOptions> strategy, BackupToolsException failure, int n) =>
            Pauses(strategy(), failure, i => i == n - 1 ? 0 : i == n - 2 ? 1 - 1e-9 : 0.5)[n - 1];

        /// <summary>The median pause before each repeat over many runs with a seeded randomizer.</summary>
        private static double[] Medians(Func<RetryStrategyOptions> strategy, BackupToolsException failure, int repeats)
        {
            var random = new Random(20261125);
            var all = Enumerable.Range(0, repeats).Select(_ => new List<double>()).ToArray();
            for (var run = 0; run < 4001; run++)
            {
                var pauses = Pauses(strategy(), failure, _ => random.NextDouble());
                for (var i = 0; i < repeats; i++) all[i].Add(pauses[i].TotalSeconds);
            }
            return all.Select(p => p.OrderBy(x => x).ElementAt(p.Count / 2)).ToArray();
        }

        /// <summary>Help text with its line breaks and indentation as single spaces.</summary>
        private static string Flat(string file) => Regex.Replace(File.ReadAllText(Path.Combine(SourceDir, file)), @"\s+", " ");

        private static string Seconds(double s) => s < 10 ? s.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) : s.ToString("0", System.Globalization.CultureInfo.InvariantCulture);

        private static string List(IEnumerable<string> items)
        {
            var all = items.ToArray();
            return string.Join(", ", all.Take(all.Length - 1)) + " and " + all[all.Length - 1];
        }

        [Fact]
        public void The_busy_repeat_pauses_in_the_help_are_those_of_the_create_strategy()
        {
            // -BusyRetryCount 20, its largest: the default's five repeats and the cap that holds every later one.
            Func<RetryStrategyOptions> creates = () => Resilience.CreateRetries(new CreateRetryOptions { BusyRetries = 20 }, uniqueNames: false);
            var longest = Enumerable.Range(1, 8).Select(n => Longest(creates, Busy(), n).TotalSeconds).ToArray();
            var cap = Resilience.DefaultOptions.MaxDelay.TotalSeconds;
            Assert.All(longest.Skip(5), s => Assert.Equal(cap, s));
            Assert.All(longest.Take(5), s => Assert.True(s < cap));
            Assert.All(Enumerable.Range(1, 8), n => Assert.True(Shortest(creates, Busy(), n) < TimeSpan.FromMilliseconds(10)));
            var medians = Medians(() => Resilience.CreateRetries(Resilience.DefaultOptions, uniqueNames: false), Busy(), 5);

            var bounds = $"between none and at most {List(longest.Take(5).Select(Seconds))} seconds for the first five repeats and " +
                         $"{cap:0} seconds for any later one";
            var typical = $"medians about {List(medians.Select(m => Math.Round(m).ToString(System.Globalization.CultureInfo.InvariantCulture)))} seconds";
            var baseDelay = $"from a base of {Resilience.DefaultOptions.BaseDelay.TotalSeconds:0} seconds";
            foreach (var file in new[] { "New-InstanceBackup.md", "New-DisasterRecoveryBackup.md" })
            {
                var text = Flat(file);
                Assert.Contains(baseDelay, text);
                Assert.Contains(bounds, text);
                Assert.Contains(typical, text);
                Assert.DoesNotContain("double up to", text);
            }
        }

        [Fact]
        public void The_read_repeat_pauses_in_the_help_are_those_of_the_read_strategy()
        {
            Func<RetryStrategyOptions> reads = () => Resilience.ReadRetries(Resilience.DefaultOptions);
            var repeats = Resilience.DefaultOptions.ReadRetries;
            Assert.Equal(repeats, Pauses(reads(), Unavailable(), _ => 0.5).Count);
            var longest = Enumerable.Range(1, repeats).Select(n => Longest(reads, Unavailable(), n).TotalSeconds).ToArray();
            Assert.All(Enumerable.Range(1, repeats), n => Assert.True(Shortest(reads, Unavailable(), n) < TimeSpan.FromMilliseconds(10)));

            var bounds = $"between none and at most {List(longest.Select(Seconds))} seconds";
            Assert.Contains($"tried up to {repeats + 1} times", Flat("Get-BackupJob.md"));
            Assert.Contains(bounds, Flat("Get-BackupJob.md"));
            Assert.Contains($"up to {repeats + 1} times", Flat("about_BackupTools.help.txt"));
            Assert.Contains(bounds, Flat("about_BackupTools.help.txt"));
        }

        [Fact]
        public void A_Retry_After_replaces_the_pause_shorter_or_longer()
        {
            Func<RetryStrategyOptions> creates = () => Resilience.CreateRetries(Resilience.DefaultOptions, uniqueNames: false);
            Assert.All(Pauses(creates(), Busy(TimeSpan.FromMilliseconds(300)), _ => 1 - 1e-9), p => Assert.Equal(TimeSpan.FromMilliseconds(300), p));
            Assert.All(Pauses(creates(), Busy(TimeSpan.FromSeconds(90)), _ => 0.5), p => Assert.Equal(TimeSpan.FromSeconds(90), p));
            // A read does not wait out a Retry-After beyond the longest pause: that answer is the error.
            Func<RetryStrategyOptions> reads = () => Resilience.ReadRetries(Resilience.DefaultOptions);
            Assert.All(Pauses(reads(), Unavailable(TimeSpan.FromSeconds(45)), _ => 0.5), p => Assert.Equal(TimeSpan.FromSeconds(45), p));
            Assert.Empty(Pauses(reads(), Unavailable(TimeSpan.FromSeconds(61)), _ => 0.5));

            foreach (var file in new[] { "New-InstanceBackup.md", "New-DisasterRecoveryBackup.md", "Get-BackupJob.md", "about_BackupTools.help.txt" })
                Assert.Contains("a Retry-After the service sends replaces the pause", Flat(file));
        }
    }
}
