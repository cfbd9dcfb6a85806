using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Tracing;
using System.Linq;
using System.Security;
using System.Threading;
using System.Threading.Tasks;
using BackupTools;
using BackupTools.Http;
using BackupTools.Jobs;
using BackupTools.Providers;

/// <summary>
/// Where the client's memory goes (`--only alloc`): bytes allocated per create (BackupService.StartAsync) and per status
/// read (the engine's shared-call GetStatusAsync, and BackupService.RefreshAsync), and the bytes that stay live per job
/// while a wait follows it. Runs in a child process with the simulator in the parent, so every byte counted is the
/// client's (HttpClient and sockets included). Sampled allocation ticks name the types that dominate each phase.
/// </summary>
static class AllocProbe
{
    static readonly int TopCount = int.TryParse(Environment.GetEnvironmentVariable("ALLOC_TOP"), out var t) ? t : 8;

    public static async Task RunAsync(Uri simulator, int n)
    {
        var token = new SecureString();
        foreach (var ch in "sim-token") token.AppendChar(ch);
        var c = BackupService.Connect(new ConnectRequest
        {
            Provider = "DDS", Endpoint = new Uri(simulator, "dds/"), Scope = "0123456789abcdef0123456789abcdef", AccessToken = token,
        });
        var provider = ProviderRegistry.Get("DDS");
        var log = NullOperationLog.Instance;
        var seq = 0;
        Task<BackupJob> Create() => BackupService.StartAsync(c, new BackupRequest { InstanceId = (seq++).ToString("x32") + "in02", Name = $"al-bk{seq:D6}" }, log, CancellationToken.None);

        // Warm-up: JIT, connections, tiering.
        var call = new ServiceCall(c, log, CancellationToken.None);
        for (var i = 0; i < 200; i++)
        {
            var j = await Create();
            await provider.GetStatusAsync(call, j);
            await BackupService.RefreshAsync(c, j, log, CancellationToken.None);
        }

        var jobs = new List<BackupJob>(n);
        using (var ticks = new AllocTicks())
        {
            var a0 = GC.GetTotalAllocatedBytes(true);
            for (var i = 0; i < n; i++) jobs.Add(await Create());
            var a1 = GC.GetTotalAllocatedBytes(true);
            Console.WriteLine($"create (BackupService.StartAsync, one at a time): {(a1 - a0) / (double)n:0} bytes allocated per create  [{ticks.Top(TopCount)}]");
        }
        using (var ticks = new AllocTicks())
        {
            var a0 = GC.GetTotalAllocatedBytes(true);
            foreach (var j in jobs) await provider.GetStatusAsync(call, j);
            var a1 = GC.GetTotalAllocatedBytes(true);
            Console.WriteLine($"status read (engine: shared ServiceCall, GetStatusAsync): {(a1 - a0) / (double)n:0} bytes allocated per read  [{ticks.Top(TopCount)}]");
        }
        {
            var a0 = GC.GetTotalAllocatedBytes(true);
            foreach (var j in jobs) await BackupService.RefreshAsync(c, j, log, CancellationToken.None);
            var a1 = GC.GetTotalAllocatedBytes(true);
            Console.WriteLine($"status read (BackupService.RefreshAsync): {(a1 - a0) / (double)n:0} bytes allocated per read");
        }

        {
            // The floor: the same status GET with a bare HttpClient, its body read as a string.
            using var http = new System.Net.Http.HttpClient();
            var a0 = GC.GetTotalAllocatedBytes(true);
            foreach (var j in jobs)
            {
                using var get = new System.Net.Http.HttpRequestMessage(System.Net.Http.HttpMethod.Get, j.StatusUrl);
                get.Headers.Add("X-Auth-Token", "sim-token");
                using var r = await http.SendAsync(get);
                await r.Content.ReadAsStringAsync();
            }
            var a1 = GC.GetTotalAllocatedBytes(true);
            Console.WriteLine($"status read (bare HttpClient GET, body as string: the floor): {(a1 - a0) / (double)n:0} bytes allocated per read");
        }

        // Live state per job while waiting: the jobs themselves are the caller's (held before and after); what the wait
        // adds is the engine's per-job state (loop, timers, tasks) plus whatever requests are in flight.
        var one = GC.GetTotalMemory(true);
        var sample = Enumerable.Range(0, 1000).Select(i => new BackupJob("DDS", c.Endpoint.ToString(), Guid.NewGuid().ToString(),
            jobs[0].StatusUrl.Replace(jobs[0].JobId, Guid.NewGuid().ToString()), jobs[0].InstanceId, jobs[0].BackupName, Guid.NewGuid().ToString(), c.Scope)).ToList();
        var perJob = (GC.GetTotalMemory(true) - one) / 1000.0;
        GC.KeepAlive(sample);
        sample = null;

        var baseline = GC.GetTotalMemory(true);
        using var cts = new CancellationTokenSource();
        var events = new NullEvents();
        var wait = BackupService.WaitAsync(jobs, _ => c, new WaitOptions(), events, log, cts.Token);
        var alloc0 = GC.GetTotalAllocatedBytes(true);
        await Task.Delay(TimeSpan.FromSeconds(4));
        var during = GC.GetTotalMemory(true);
        var alloc1 = GC.GetTotalAllocatedBytes(true);
        var reads = Volatile.Read(ref events.Updates);
        cts.Cancel();
        try { await wait; } catch (OperationCanceledException) { }
        Console.WriteLine($"live while waiting on {n} jobs: {(during - baseline) / (double)n:0} bytes per job held by the wait (a BackupJob itself is about {perJob:0} bytes); " +
                          $"{(alloc1 - alloc0) / 1048576.0:0.0} MB allocated in 4 s of waiting");
        GC.KeepAlive(jobs);
    }

    sealed class NullEvents : IJobWaitEvents
    {
        public int Updates;
        public void Updated(BackupJob job) => Interlocked.Increment(ref Updates);
        public void Finished(BackupJob job) { }
        public void TimedOut(BackupJob job) { }
        public void CouldNotFollow(BackupJob job, BackupToolsException error) => Console.Error.WriteLine($"could not follow {job.JobId}: {error.Message}");
    }

    /// <summary>The runtime's allocation ticks (one per ~100 KB allocated), summed by type: a sampled picture of what is allocated.</summary>
    sealed class AllocTicks : EventListener
    {
        private readonly ConcurrentDictionary<string, long> _bytes = new();
        private EventSource _source;

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
            {
                _source = source;
                EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1 /* GC */);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName == null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal)) return;
            var i = e.PayloadNames.IndexOf("TypeName");
            var type = i >= 0 ? e.Payload[i] as string ?? "?" : "?";
            var k = e.PayloadNames.IndexOf("AllocationAmount64");
            var amount = k >= 0 ? Convert.ToInt64(e.Payload[k]) : 100 * 1024;
            _bytes.AddOrUpdate(type, amount, (_, v) => v + amount);
        }

        public string Top(int count)
        {
            var total = _bytes.Values.Sum();
            if (total == 0) return "no ticks";
            return string.Join(", ", _bytes.OrderByDescending(kv => kv.Value).Take(count)
                .Select(kv => $"{Short(kv.Key)} {100.0 * kv.Value / total:0}%"));
        }

        private static string Short(string type) =>
            type.Replace("System.Collections.Generic.", "").Replace("System.Threading.Tasks.", "").Replace("System.Net.Http.", "")
                .Replace("System.Threading.", "").Replace("System.", "");

        public override void Dispose()
        {
            if (_source != null) DisableEvents(_source);
            base.Dispose();
        }
    }
}
