using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Providers;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// The process's record of backups handed out as creates' results (<see cref="HandedOutBackups"/>): what it keeps,
    /// for how long, and that it does not grow with the number of creates.
    /// </summary>
    public sealed class HandedOutBackupsTests
    {
        private const string Instance = "0123456789abcdef0123456789abcdefin07";

        private static BackupConnection Connection(string project = TestData.ProjectId) => BackupService.Connect(new ConnectRequest
        {
            Provider = "TaurusDB",
            Endpoint = new Uri("https://gaussdb.example.test/"),
            Scope = project,
            AccessToken = TestData.Secure("token"),
        });

        [Fact]
        public void Entries_older_than_the_window_are_dropped_when_no_create_is_running()
        {
            var now = TimeSpan.FromHours(1);
            var record = new HandedOutBackups(() => now, HandedOutBackups.DefaultKept);
            var c = Connection();
            for (var i = 0; i < 5000; i++) record.Answered(c, Instance, "b" + i);
            Assert.Equal(5000, record.Count);
            now += HandedOutBackups.DefaultKept - TimeSpan.FromSeconds(1);
            record.Answered(c, Instance, "late");
            Assert.Equal(5001, record.Count); // still within the window of a create that began with them
            now += TimeSpan.FromSeconds(2);
            record.Answered(c, Instance, "later");
            Assert.Equal(2, record.Count);
            Assert.False(record.WasHandedOut(c, Instance, "b0", out _));
            Assert.True(record.WasHandedOut(c, Instance, "LATE", out var answered)); // ids in either case
            Assert.True(answered);
        }

        [Fact]
        public void A_running_create_keeps_what_its_lookup_may_meet_until_it_ends()
        {
            var now = TimeSpan.FromHours(1);
            var record = new HandedOutBackups(() => now, TimeSpan.FromMinutes(1));
            var c = Connection();
            var running = record.Begin();
            now += TimeSpan.FromSeconds(1);
            record.Answered(c, Instance, "first");
            now += TimeSpan.FromMinutes(30); // a create with busy repeats and a long budget
            record.Answered(c, Instance, "second");
            Assert.True(record.WasHandedOut(c, Instance, "first", out _));
            running.Dispose();
            Assert.False(record.WasHandedOut(c, Instance, "first", out _));
            Assert.True(record.WasHandedOut(c, Instance, "second", out _));
            running.Dispose(); // twice is harmless
            Assert.Equal(1, record.Count);
        }

        [Fact]
        public void A_claim_is_refused_for_a_backup_already_handed_out_and_an_answer_outranks_a_claim()
        {
            var now = TimeSpan.Zero;
            var record = new HandedOutBackups(() => now, TimeSpan.FromMinutes(1));
            var c = Connection();
            Assert.True(record.TryClaim(c, Instance, "b1"));
            Assert.False(record.TryClaim(c, Instance, "b1"));
            Assert.True(record.WasHandedOut(c, Instance, "b1", out var answered));
            Assert.False(answered);
            record.Answered(c, Instance, "b1");
            Assert.True(record.WasHandedOut(c, Instance, "b1", out answered));
            Assert.True(answered);
            // Per connection (project) and instance.
            Assert.False(record.WasHandedOut(Connection("fedcba9876543210fedcba9876543210"), Instance, "b1", out _));
            Assert.False(record.WasHandedOut(c, "fedcba9876543210fedcba9876543210in07", "b1", out _));
        }

        [Fact]
        public async Task A_lookup_waits_while_another_create_of_the_name_has_a_request_out_and_goes_on_once_it_is_answered()
        {
            // Two rows of one name run at once: the first's answer is on its way, the second was lost and its lookup
            // found the first's backup. It waits for the first's answer, which then names that backup.
            var record = new HandedOutBackups(() => TimeSpan.Zero, TimeSpan.FromMinutes(1));
            var c = Connection();
            using var first = record.Begin(c, Instance, "nightly");
            using var second = record.Begin(c, Instance, "nightly");
            using var otherName = record.Begin(c, Instance, "weekly");
            using var otherProject = record.Begin(Connection("fedcba9876543210fedcba9876543210"), Instance, "nightly");
            first.Sending();
            otherName.Sending();
            otherProject.Sending();
            var wait = second.OthersSettledAsync(CancellationToken.None);
            Assert.False(wait.IsCompleted);
            // Only creates of the same connection, instance and name are waited for, never itself.
            Assert.True(first.OthersSettledAsync(CancellationToken.None).IsCompleted);
            first.Answered("b1");
            await wait.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(record.WasHandedOut(c, Instance, "b1", out var answered));
            Assert.True(answered);
            Assert.False(record.TryClaim(c, Instance, "b1"));
        }

        [Fact]
        public async Task A_lookup_goes_on_when_the_other_create_fails_or_ends_and_a_cancelled_wait_throws()
        {
            var record = new HandedOutBackups(() => TimeSpan.Zero, TimeSpan.FromMinutes(1));
            var c = Connection();
            var first = record.Begin(c, Instance, "nightly");
            using var second = record.Begin(c, Instance, "nightly");
            first.Sending();
            var wait = second.OthersSettledAsync(CancellationToken.None);
            first.Settled(); // refused or lost: nothing handed out
            await wait.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(record.TryClaim(c, Instance, "b1"));

            first.Sending();
            wait = second.OthersSettledAsync(CancellationToken.None);
            first.Dispose(); // the create ended, whatever its outcome
            await wait.WaitAsync(TimeSpan.FromSeconds(10));
            first.Sending(); // (after its end: nothing)
            Assert.True(second.OthersSettledAsync(CancellationToken.None).IsCompleted);

            using var third = record.Begin(c, Instance, "nightly");
            third.Sending();
            using var stop = new CancellationTokenSource();
            wait = second.OthersSettledAsync(stop.Token);
            stop.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(TimeSpan.FromSeconds(10)));
        }

        [Fact]
        public void Creates_that_ended_leave_nothing_of_their_names_behind()
        {
            var record = new HandedOutBackups(() => TimeSpan.Zero, TimeSpan.FromMinutes(1));
            var c = Connection();
            var running = Enumerable.Range(0, 1000).Select(i => record.Begin(c, Instance, "row" + (i % 10))).ToList();
            foreach (var r in running) r.Sending();
            Assert.Equal(10, record.RunningByName);
            foreach (var r in running) r.Dispose();
            Assert.Equal(0, record.RunningByName);
        }

        [Fact]
        public async Task Claims_from_many_threads_hand_a_backup_out_once()
        {
            var record = new HandedOutBackups(() => TimeSpan.Zero, TimeSpan.FromMinutes(1));
            var c = Connection();
            var won = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(() => record.TryClaim(c, Instance, "contested"))));
            Assert.Equal(1, won.Count(w => w));
        }
    }
}
