using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// After a create's answer is lost, TaurusDB and DDS look for its backup by name. What that lookup may claim, and
    /// what a stop during it must still say.
    /// </summary>
    public sealed class LostCreateLookupTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;

        public LostCreateLookupTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromSeconds(30);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
        }

        public void Dispose() => _sim.Reset();

        private static string InstanceOf(string provider) => provider == "DDS" ? TestData.DdsInstance : TestData.TaurusInstance;

        private static BackupRequest Request(string provider, string name) => new BackupRequest { InstanceId = InstanceOf(provider), Name = name };

        [Theory]
        [InlineData("TaurusDB")]
        [InlineData("DDS")]
        public async Task A_stop_during_the_lookup_of_a_lost_create_says_the_backup_may_have_started(string provider)
        {
            // The service makes the backup and the answer is lost (DDS repeats it and is told the name exists); the
            // lookup by name is slow, and the caller stops meanwhile. Before, that was a plain cancellation: no word
            // of the backup the service holds.
            _sim.Faults.Add(new FaultRule { Provider = provider, Method = "POST", Kind = FaultKind.DropAfterRead, Times = 1 });
            _sim.Faults.Add(new FaultRule { Provider = provider, Method = "GET", PathContains = "/backups", Delay = TimeSpan.FromSeconds(20), Times = 1 });
            using var stop = new CancellationTokenSource();
            var name = TestData.UniqueName("lookup-stop");
            var start = BackupService.StartAsync(TestData.Connect(_sim, provider), Request(provider, name), NullOperationLog.Instance, stop.Token, TestData.FastRetry());
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (_sim.Faults.Count > 0 && !start.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.Equal(0, _sim.Faults.Count); // the slow lookup is under way
            await Task.Delay(300);
            stop.Cancel();
            var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => start);
            Assert.IsType<BackupService.CreateCutOffException>(ex);
            Assert.True(BackupService.CreateMayHaveStarted(ex));
            Assert.Contains(name, ex.Message);
            Assert.Equal(1, _sim.Counters.BackupsFor(provider, InstanceOf(provider)));
        }

        private static string ListTime(DateTimeOffset t) =>
            t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture) + "+0000";

        /// <summary>
        /// The create's answer is lost before the service reads it (DDS repeats it and is told the name exists); the
        /// list holds a backup of that name that began some seconds before this create: another run's, not this one's.
        /// </summary>
        private void LoseTheCreateWithAnEarlierBackupListed(string provider, string name, string earlierId, TimeSpan before)
        {
            _sim.Faults.Add(new FaultRule { Provider = provider, Method = "POST", Kind = FaultKind.DropBeforeRead, Times = 1 });
            if (provider == "DDS")
                _sim.Faults.Add(new FaultRule { Provider = provider, Method = "POST", StatusCode = 400, Times = int.MaxValue,
                    Body = "{\"error_code\":\"DBS.201201\",\"error_msg\":\"The backup name already exists.\"}" });
            _sim.Faults.Add(new FaultRule { Provider = provider, Method = "GET", PathContains = "/backups", StatusCode = 200, Times = int.MaxValue,
                Body = "{\"backups\":[{\"id\":\"" + earlierId + "\",\"name\":\"" + name + "\",\"instance_id\":\"" + InstanceOf(provider) +
                       "\",\"status\":\"COMPLETED\",\"begin_time\":\"" + ListTime(DateTimeOffset.UtcNow - before) + "\"}],\"total_count\":1}" });
        }

        [Theory]
        [InlineData("TaurusDB")]
        [InlineData("DDS")]
        public async Task A_backup_of_the_same_name_begun_seconds_before_the_create_is_not_taken_for_its_own(string provider)
        {
            // Same name twice within half a minute (a CSV listing an instance twice, a re-run): the second create's
            // answer is lost, and the first one's backup was reported as the second's, a success for a create that
            // made nothing. The services' times are whole seconds: 8 s before is well outside what they blur.
            var name = TestData.UniqueName("twice");
            LoseTheCreateWithAnEarlierBackupListed(provider, name, "earlier0000000000000000000000br07", TimeSpan.FromSeconds(8));
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(TestData.Connect(_sim, provider),
                Request(provider, name), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            Assert.Contains(_sim.Counters.Requests, r => r.Method == "GET" && r.Path.EndsWith("/backups", StringComparison.Ordinal));
        }

        [Fact]
        public async Task An_instance_with_more_backups_than_are_read_is_not_said_to_have_none_of_the_name()
        {
            // 1,000 backups of the instance fill the ten pages the lookup reads; this create's, the 1,001st, is beyond
            // them. "No backup of this name was found" would be untrue: the rest of the list was not read.
            var c = TestData.Connect(_sim, "TaurusDB");
            var throttle = new SemaphoreSlim(32);
            await Task.WhenAll(Enumerable.Range(0, 1000).Select(async i =>
            {
                await throttle.WaitAsync();
                try { await BackupService.StartAsync(c, Request("TaurusDB", "fill" + i.ToString("0000")), NullOperationLog.Instance, CancellationToken.None); }
                finally { throttle.Release(); }
            }));
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "POST", Kind = FaultKind.DropAfterRead, Times = 1 });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(c, Request("TaurusDB", TestData.UniqueName("beyond")),
                NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            Assert.False(ex.Message.Contains("no backup of this name was found"), ex.Message);
            Assert.True(ex.Message.Contains("the instance has more than 1,000 backups"), ex.Message);
        }

        [Fact]
        public async Task The_first_runs_backup_is_not_reported_for_a_second_create_of_its_name_on_DDS()
        {
            // The reviewers' case end to end: j1 made; j2 of the same name is refused (the name is taken) and that
            // answer lost; its repeat is told "already exists"; the lookup finds j1, which began before j2.
            var c = TestData.Connect(_sim, "DDS");
            var name = TestData.UniqueName("twice");
            var first = await BackupService.StartAsync(c, Request("DDS", name), NullOperationLog.Instance, CancellationToken.None);
            await Task.Delay(TimeSpan.FromSeconds(6)); // past the services' whole-second blur, well within the old 30 s
            _sim.Faults.Add(new FaultRule { Provider = "DDS", Method = "POST", PathContains = "/backups", Kind = FaultKind.DropAfterRead, Times = 1 });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() =>
                BackupService.StartAsync(c, Request("DDS", name), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            Assert.Equal(1, _sim.Counters.BackupsFor("DDS", TestData.DdsInstance));
            Assert.NotNull(first.BackupId);
        }

        [Fact]
        public async Task A_slow_list_read_does_not_push_this_creates_backup_out_of_its_own_age()
        {
            // The age is taken when the list's answer is in: a list read slower than the margin must not make the
            // backup this create made look older than the create.
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "POST", Kind = FaultKind.DropAfterRead, Times = 1 });
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", PathContains = "/backups", Delay = TimeSpan.FromSeconds(4), Times = 1 });
            var name = TestData.UniqueName("slowlist");
            var job = await BackupService.StartAsync(TestData.Connect(_sim, "TaurusDB"), Request("TaurusDB", name), NullOperationLog.Instance,
                CancellationToken.None, TestData.FastRetry());
            Assert.Equal(name, job.BackupName);
            Assert.NotNull(job.BackupId);
            Assert.Equal(1, _sim.Counters.BackupsFor("TaurusDB", TestData.TaurusInstance));
        }

        [Theory]
        [InlineData("TaurusDB")]
        [InlineData("DDS")]
        public async Task A_lost_create_right_after_a_create_of_the_same_name_does_not_claim_its_backup(string provider)
        {
            // A CSV listing one TaurusDB instance and name twice (its names are not unique), or a DDS command run again
            // within seconds: the second create is lost before the service read it, and the lookup by name took the
            // first one's backup, begun within the margin, for its own. Two successful jobs, one backup. The second
            // create goes through another connection, as a second command would: the record is the process's.
            var name = TestData.UniqueName("dup");
            var first = await BackupService.StartAsync(TestData.Connect(_sim, provider), Request(provider, name), NullOperationLog.Instance, CancellationToken.None);
            _sim.Faults.Add(new FaultRule { Provider = provider, Method = "POST", Kind = FaultKind.DropBeforeRead, Times = 1 });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(TestData.Connect(_sim, provider),
                Request(provider, name), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            Assert.Equal(1, _sim.Counters.BackupsFor(provider, InstanceOf(provider)));
            Assert.Contains(first.BackupId, ex.Message);
            Assert.Contains(name, ex.Message);
            if (provider == "DDS")
            {
                // Its repeat was told the name exists, and the backup holding it is the first create's: this one made
                // nothing, and says so.
                Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
                Assert.Equal(BackupErrorCategory.ResourceExists, ex.Category);
                Assert.Equal("DBS.201201", ex.ServiceCode);
                Assert.Contains("made no backup", ex.Message);
                Assert.Contains("another name", ex.RecommendedAction);
            }
            else
            {
                Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
                Assert.Contains("another create's", ex.Message);
            }
        }

        [Theory]
        [InlineData("TaurusDB")]
        [InlineData("DDS")]
        public async Task A_lost_create_does_not_claim_the_backup_of_a_create_of_its_name_whose_answer_is_on_its_way(string provider)
        {
            // Two rows of one name at once (-ThrottleLimit): the service made the first's backup at once, and its
            // answer is slow on its way back; the second is lost before the service read it, and its lookup by name
            // found the first's backup, not yet handed out, and took it. Then the first's answer named it too: two
            // successful jobs, one backup. The lookup now waits for the first's answer before it claims anything.
            var c = TestData.Connect(_sim, provider);
            var name = TestData.UniqueName("inflight");
            _sim.Faults.Add(new FaultRule { Provider = provider, Method = "POST", Kind = FaultKind.SlowAnswer, Delay = TimeSpan.FromSeconds(3), Times = 1 });
            var first = BackupService.StartAsync(c, Request(provider, name), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            await WaitForBackups(provider, 1);
            _sim.Faults.Add(new FaultRule { Provider = provider, Method = "POST", Kind = FaultKind.DropBeforeRead, Times = 1 });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(c, Request(provider, name),
                NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            var firstJob = await first;
            Assert.Equal(1, _sim.Counters.BackupsFor(provider, InstanceOf(provider)));
            Assert.Contains(firstJob.BackupId, ex.Message);
            if (provider == "DDS")
            {
                // Its repeat was told the name exists, held by the backup the first create's answer named: it made nothing.
                Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
                Assert.Equal(BackupErrorCategory.ResourceExists, ex.Category);
                Assert.Contains("made no backup", ex.Message);
            }
            else
            {
                Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
                Assert.Contains("another create's", ex.Message);
            }
        }

        [Theory]
        [InlineData("TaurusDB", false)]
        [InlineData("DDS", false)]
        [InlineData("TaurusDB", true)]
        [InlineData("DDS", true)]
        public async Task A_lookup_whose_wait_for_a_create_of_its_name_is_cut_off_names_the_backup_and_claims_nothing(string provider, bool stopped)
        {
            // As above, but the second create's budget ends (or its caller stops it) while the first's answer is still
            // on its way: whose the backup is cannot be told, so it is named, never followed.
            var c = TestData.Connect(_sim, provider);
            var name = TestData.UniqueName("inflight");
            _sim.Faults.Add(new FaultRule { Provider = provider, Method = "POST", Kind = FaultKind.SlowAnswer, Delay = TimeSpan.FromSeconds(5), Times = 1 });
            var first = BackupService.StartAsync(c, Request(provider, name), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            await WaitForBackups(provider, 1);
            _sim.Faults.Add(new FaultRule { Provider = provider, Method = "POST", Kind = FaultKind.DropBeforeRead, Times = 1 });
            var retry = TestData.FastRetry();
            using var stop = new CancellationTokenSource();
            if (stopped) stop.CancelAfter(TimeSpan.FromSeconds(1.5));
            else retry.Budget = TimeSpan.FromSeconds(1.5);
            var second = BackupService.StartAsync(c, Request(provider, name), NullOperationLog.Instance, stop.Token, retry);
            Exception ex = stopped
                ? await Assert.ThrowsAsync<BackupService.CreateCutOffException>(() => second)
                : await Assert.ThrowsAsync<BackupToolsException>(() => second);
            Assert.False(first.IsCompleted); // cut off while the first's answer was on its way
            var firstJob = await first;
            Assert.True(BackupService.CreateMayHaveStarted(ex));
            if (!stopped) Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ((BackupToolsException)ex).ErrorId);
            Assert.Contains(firstJob.BackupId, ex.Message);
            Assert.Contains("still waiting for its answer", ex.Message);
            Assert.Equal(1, _sim.Counters.BackupsFor(provider, InstanceOf(provider)));
        }

        private async Task WaitForBackups(string provider, int count)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (_sim.Counters.BackupsFor(provider, InstanceOf(provider)) < count && DateTime.UtcNow < deadline) await Task.Delay(10);
            Assert.Equal(count, _sim.Counters.BackupsFor(provider, InstanceOf(provider)));
        }

        [Fact]
        public async Task A_lost_create_right_after_a_create_of_the_same_name_follows_its_own_backup()
        {
            // TaurusDB, the same name twice: the second create made its backup and its answer was lost. Both began
            // since it; the first is the first create's, so the second's is the other one (it was "two backups of this
            // name, which one cannot be told").
            var c = TestData.Connect(_sim, "TaurusDB");
            var name = TestData.UniqueName("dup");
            var first = await BackupService.StartAsync(c, Request("TaurusDB", name), NullOperationLog.Instance, CancellationToken.None);
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "POST", Kind = FaultKind.DropAfterRead, Times = 1 });
            var second = await BackupService.StartAsync(c, Request("TaurusDB", name), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            Assert.Equal(2, _sim.Counters.BackupsFor("TaurusDB", TestData.TaurusInstance));
            Assert.NotNull(second.BackupId);
            Assert.NotEqual(first.BackupId, second.BackupId);
            Assert.Equal(name, second.BackupName);
        }

        [Theory]
        [InlineData("TaurusDB")]
        [InlineData("DDS")]
        public async Task A_backup_found_for_one_lost_create_is_not_found_again_for_the_next(string provider)
        {
            // The first create's answer is lost after the service made the backup: the lookup finds it, as ever. The
            // second, of the same name, is lost before the service read it: that backup is the first's, not its.
            var c = TestData.Connect(_sim, provider);
            var name = TestData.UniqueName("dup");
            _sim.Faults.Add(new FaultRule { Provider = provider, Method = "POST", Kind = FaultKind.DropAfterRead, Times = 1 });
            var first = await BackupService.StartAsync(c, Request(provider, name), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry());
            Assert.NotNull(first.BackupId);
            _sim.Faults.Add(new FaultRule { Provider = provider, Method = "POST", Kind = FaultKind.DropBeforeRead, Times = 1 });
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(c, Request(provider, name),
                NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            // Whose it is cannot be told for sure (both answers were lost), so the second stays in doubt, naming it.
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            Assert.Contains(first.BackupId, ex.Message);
            Assert.Equal(1, _sim.Counters.BackupsFor(provider, InstanceOf(provider)));
        }

        [Fact]
        public async Task Without_the_services_Date_a_backup_of_the_name_is_named_not_claimed()
        {
            // Begin times can only be compared on the service's clock; an answer without a Date leaves nothing to
            // compare them with. The backup found is named in the "outcome unknown" error, not reported as this one.
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "POST", Kind = FaultKind.DropAfterRead, Times = 1 });
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", PathContains = "/backups", Times = int.MaxValue,
                Headers = new System.Collections.Generic.Dictionary<string, string> { ["Date"] = "not a date" } });
            var name = TestData.UniqueName("nodate");
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.StartAsync(TestData.Connect(_sim, "TaurusDB"),
                Request("TaurusDB", name), NullOperationLog.Instance, CancellationToken.None, TestData.FastRetry()));
            Assert.Equal(ErrorIds.BackupCreateOutcomeUnknown, ex.ErrorId);
            Assert.Contains("no Date", ex.Message);
            Assert.Contains("may have started", ex.Message);
            Assert.Equal(1, _sim.Counters.BackupsFor("TaurusDB", TestData.TaurusInstance));
        }
    }
}
