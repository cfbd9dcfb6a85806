using System;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Http;
using BackupTools.Jobs;
using BackupTools.Providers;
using BackupTools.Simulator;
using Xunit;
using Xunit.Abstractions;

namespace BackupTools.Tests
{
    /// <summary>
    /// What 10,000 waiting jobs cost in memory, guarded without timing anything: the bytes a status read and a create
    /// allocate beyond what a bare <see cref="HttpClient"/> allocates for the same request, and the bytes the engine
    /// keeps per job while it waits. The allocation counts are process-wide (requests hop threads), so the tests run
    /// in the collection that runs alone, and the simulator's own share cancels out: the bare request is answered by
    /// the same simulator. Each budget leaves headroom over what is measured now and sits well below what the waste
    /// cost before it was cut (both noted per test), so the waste coming back fails it.
    /// </summary>
    [Collection(TimingCollection.Name)]
    public sealed class MemoryBudgetTests : IClassFixture<SimulatorFixture>
    {
        private const int Rounds = 300;
        private readonly BackupSimulator _sim;
        private readonly ITestOutputHelper _output;

        public MemoryBudgetTests(SimulatorFixture fixture, ITestOutputHelper output)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _output = output;
        }

        /// <summary>
        /// Bytes allocated in the whole process per call of <paramref name="once"/>, after a warm-up: the lowest average
        /// of three batches, since whatever else the process allocates meanwhile (timers, the thread pool) only adds.
        /// </summary>
        private static async Task<double> BytesPerCall(Func<int, Task> once)
        {
            var call = 0;
            for (var i = 0; i < 50; i++) await once(call++);
            var lowest = double.MaxValue;
            for (var batch = 0; batch < 3; batch++)
            {
                var before = GC.GetTotalAllocatedBytes(true);
                for (var i = 0; i < Rounds; i++) await once(call++);
                lowest = Math.Min(lowest, (GC.GetTotalAllocatedBytes(true) - before) / (double)Rounds);
            }
            return lowest;
        }

        private static HttpRequestMessage Bare(HttpMethod method, string url)
        {
            // The headers the library sends, so the simulator does the same work for both.
            var request = new HttpRequestMessage(method, url);
            request.Headers.TryAddWithoutValidation("X-Language", "en-us");
            request.Headers.TryAddWithoutValidation("X-Auth-Token", TestData.Token);
            request.Headers.TryAddWithoutValidation("Accept", "application/json");
            return request;
        }

        [Fact]
        public async Task A_status_read_allocates_little_beyond_the_bare_request()
        {
            _sim.Options.JobDuration = TimeSpan.FromMinutes(10);
            var c = TestData.Connect(_sim, "DDS");
            var job = await BackupService.StartAsync(c, new BackupRequest { InstanceId = TestData.DdsInstance, Name = TestData.UniqueName() },
                NullOperationLog.Instance, CancellationToken.None);
            var provider = ProviderRegistry.Get("DDS");
            // The engine's way: one call context for the whole wait, a read per poll.
            var call = new ServiceCall(c, NullOperationLog.Instance, CancellationToken.None);
            using var http = new HttpClient();

            var library = await BytesPerCall(async _ => Assert.Equal(BackupJobState.Running, (await provider.GetStatusAsync(call, job)).State));
            var bare = await BytesPerCall(async _ =>
            {
                using var response = await http.SendAsync(Bare(HttpMethod.Get, job.StatusUrl));
                Assert.Contains("status", await response.Content.ReadAsStringAsync());
            });
            _output.WriteLine($"status read: {library:0} bytes, a bare GET {bare:0} bytes, beyond it {library - bare:0} bytes");
            // Measured ~3,500-4,000 beyond the bare GET (the answer's JSON kept, HttpClientFactory's own logging handlers,
            // the token, the timeout); before the cut ~8,800 (every header joined into strings, log lines built for a
            // null log, closures per read, name arrays per JSON field).
            Assert.True(library - bare < 5500, $"a status read allocates {library - bare:0} bytes beyond a bare GET ({library:0} in all)");
        }

        [Fact]
        public async Task A_create_allocates_little_beyond_the_bare_request()
        {
            _sim.Options.JobDuration = TimeSpan.FromMinutes(10);
            var c = TestData.Connect(_sim, "DDS");
            var prefix = TestData.UniqueName("mb");
            var library = await BytesPerCall(i => BackupService.StartAsync(c,
                new BackupRequest { InstanceId = TestData.DdsInstance, Name = $"{prefix}l{i:D4}" }, NullOperationLog.Instance, CancellationToken.None));
            using var http = new HttpClient();
            var url = new Uri(c.Endpoint, $"v3/{TestData.ProjectId}/backups").ToString();
            var bare = await BytesPerCall(async i =>
            {
                var post = Bare(HttpMethod.Post, url);
                post.Content = new StringContent($"{{\"backup\":{{\"instance_id\":\"{TestData.DdsInstance}\",\"name\":\"{prefix}b{i:D4}\"}}}}",
                    System.Text.Encoding.UTF8, "application/json");
                using var response = await http.SendAsync(post);
                Assert.Contains("job_id", await response.Content.ReadAsStringAsync());
            });
            _output.WriteLine($"create: {library:0} bytes, a bare POST {bare:0} bytes, beyond it {library - bare:0} bytes");
            // Measured ~6,600-7,000 beyond the bare POST when this was written (the retry pipeline, the overall budget's
            // timer, URLs, the JSON, the job); since creates of TaurusDB and DDS keep a record of the backups handed out
            // while they run (HandedOutBackups: the lost-answer reconciliation), ~7,800-8,200 on 2 loaded cores, and up
            // to 8,460 under a CPU hog, over the old 8,200 budget. The waste it guards against cost ~2,300-2,700 more
            // (before the cut, ~9,300 then: a new HttpClient per create, the header and log strings of every answer, as
            // for status reads), so it comes back well over 9,000.
            Assert.True(library - bare < 9000, $"a create allocates {library - bare:0} bytes beyond a bare POST ({library:0} in all)");
        }

        [Fact]
        public async Task A_waiting_job_costs_the_engine_a_few_hundred_bytes()
        {
            const int n = 5000;
            var c = TestData.Connect(_sim, "DDS");
            // Jobs the engine parks until their first read (a minute away), so nothing but its per-job state is counted.
            var jobs = Enumerable.Range(0, n).Select(i => new BackupJob("DDS", c.Endpoint.ToString(), i.ToString("x32"), scope: TestData.ProjectId)).ToList();
            var events = new RecordingEvents();
            using var cts = new CancellationTokenSource();
            var before = GC.GetTotalMemory(true);
            var wait = BackupService.WaitAsync(jobs, _ => c, new WaitOptions { PollingInterval = TimeSpan.FromMinutes(1) }, events,
                NullOperationLog.Instance, cts.Token);
            await Task.Delay(1000); // every loop past its first step and parked
            var during = GC.GetTotalMemory(true);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
            Assert.Empty(events.Finished);
            Assert.Empty(events.Errors);
            Assert.Equal(0, _sim.Counters.TotalRequests);
            GC.KeepAlive(jobs);
            var perJob = (during - before) / (double)n;
            _output.WriteLine($"engine state while waiting: {perJob:0} bytes per job");
            // Measured ~400 (the job's loop and its waiter, its slots in the clock and the task arrays); before the cut
            // ~920 (a Random, a Task.Delay with its own timer and cancellation registration, and closures, per job).
            Assert.True(perJob < 600, $"the engine keeps {perJob:0} bytes per waiting job");
        }
    }
}
