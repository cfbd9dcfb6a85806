using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net.Http;
using System.Security;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using BackupTools;
using BackupTools.Jobs;
using BackupTools.Simulator;

// The engine against the simulator on loopback, in one run:
//   throughput  1,000 mixed backups, done at their first status read, vs a plain HttpClient loop (the raw ceiling)
//   script      2 s jobs: the engine on 1,000 vs a one-at-a-time create-then-poll-every-1-s script on a sample
//   politeness  30 s jobs without Retry-After: status reads per job, delay between finishing and being seen
//   memory      peak working set while waiting on 10,000 concurrent jobs (the client in a child process of its own)
//   alloc       (only with --only alloc) bytes allocated per create and per status read, bytes kept per waiting job
// Usage: dotnet run -c Release --project bench/BackupTools.Bench -- [--quick] [--only throughput|script|politeness|cold|memory|alloc]
// (--alloc-parts, without the simulator: a status read's and a create's allocations step by step, on a canned answer)
var quick = args.Contains("--quick");
var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
bool Run(string part) => only == null || only == part;
if (args.Length >= 2 && args[0] == "--cold-client")
{
    await ColdClient.RunAsync(new Uri(args[1]));
    return;
}
if (args.Length >= 2 && args[0] == "--cold-breakdown")
{
    // Where a cold first call's time goes, stage by stage, with the JIT's share of each.
    var w = Stopwatch.StartNew();
    var stages = new List<string>();
    double lastMs = 0, lastJit = 0; long lastCount = 0;
    void Stage(string name)
    {
        var ms = w.Elapsed.TotalMilliseconds;
        var jit = System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds;
        var count = System.Runtime.JitInfo.GetCompiledMethodCount();
        stages.Add($"{name} {ms - lastMs:0.0} ms (JIT {jit - lastJit:0.0} ms, {count - lastCount} methods)");
        lastMs = ms; lastJit = jit; lastCount = count;
    }
    Stage("start");
    var names = BackupService.ProviderNames.ToList();
    Stage("registry");
    var tok = new SecureString(); foreach (var ch in "sim-token") tok.AppendChar(ch);
    var conn = BackupService.Connect(new ConnectRequest { Provider = "DDS", Endpoint = new Uri(new Uri(args[1]), "dds/"), Scope = "0123456789abcdef0123456789abcdef", AccessToken = tok });
    Stage("connect");
    var client = BackupTools.Http.BackupHttp.ClientFor(conn);
    Stage("httpfactory");
    var job = await BackupService.StartAsync(conn, new BackupRequest { InstanceId = "0123456789abcdef0123456789abcdefin02", Name = "bd-" + Guid.NewGuid().ToString("N").Substring(0, 8) }, NullOperationLog.Instance, CancellationToken.None);
    Stage("create");
    await BackupService.RefreshAsync(conn, job, NullOperationLog.Instance, CancellationToken.None);
    Stage("refresh");
    Console.WriteLine(string.Join("; ", stages.Skip(1)) + $"; {AppDomain.CurrentDomain.GetAssemblies().Length} assemblies loaded");
    return;
}
if (args.Length >= 2 && args[0] == "--cold-raw")
{
    await ColdClient.RawAsync(new Uri(args[1]));
    return;
}
if (args.Length >= 1 && args[0] == "--alloc-parts")
{
    AllocParts.Run();
    return;
}
if (args.Length >= 3 && args[0] == "--alloc-client")
{
    await AllocProbe.RunAsync(new Uri(args[1]), int.Parse(args[2]));
    return;
}
if (args.Length >= 3 && args[0] == "--memory-client")
{
    await MemoryClient.RunAsync(new Uri(args[1]), int.Parse(args[2]));
    return;
}
const string project = "0123456789abcdef0123456789abcdef";
var sim = await BackupSimulator.StartAsync(new SimulatorOptions());
var token = new SecureString();
foreach (var ch in "sim-token") token.AppendChar(ch);
var connections = new[] { "TaurusDB", "DDS" }.Select(p => BackupService.Connect(new ConnectRequest
{
    Provider = p, Endpoint = sim.EndpointFor(p), Scope = project, AccessToken = token,
})).ToArray();
BackupConnection ConnectionFor(BackupJob job) => connections.First(c => c.Provider == job.Provider);
string Instance(BackupConnection c, int i) => i.ToString("x32").Substring(0, 32) + (c.Provider == "TaurusDB" ? "in07" : "in02");
var concurrency = 64;

async Task<List<BackupJob>> CreateMany(int count, string prefix)
{
    var jobs = new ConcurrentBag<BackupJob>();
    using var gate = new SemaphoreSlim(concurrency);
    await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
    {
        await gate.WaitAsync();
        try
        {
            var c = connections[i % connections.Length];
            jobs.Add(await BackupService.StartAsync(c, new BackupRequest { InstanceId = Instance(c, i), Name = $"{prefix}-bk{i:D5}" },
                NullOperationLog.Instance, CancellationToken.None));
        }
        finally { gate.Release(); }
    }));
    return jobs.ToList();
}

async Task<(TimeSpan Elapsed, Events Events)> Wait(IReadOnlyList<BackupJob> jobs, WaitOptions options)
{
    var events = new Events();
    var watch = Stopwatch.StartNew();
    await BackupService.WaitAsync(jobs, ConnectionFor, options, events, NullOperationLog.Instance, CancellationToken.None);
    return (watch.Elapsed, events);
}

Console.WriteLine($"BackupTools benchmark — {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");

// Warm-up (JIT, connections).
sim.Options.JobDuration = TimeSpan.Zero;
await Wait(await CreateMany(100, "warm"), new WaitOptions { PollingInterval = TimeSpan.FromMilliseconds(5) });
sim.Reset();

// 1. Throughput.
if (Run("throughput"))
{
    const int n = 1000;
    sim.Options.JobDuration = TimeSpan.Zero;
    var watch = Stopwatch.StartNew();
    var jobs = await CreateMany(n, "tp");
    // 64 status reads in flight in all, as the raw loop: 32 per endpoint (the engine's gate is per endpoint).
    var (_, events) = await Wait(jobs, new WaitOptions { PollingInterval = TimeSpan.FromMilliseconds(5), MaxConcurrentRequestsPerEndpoint = concurrency / connections.Length });
    var engine = watch.Elapsed;
    var ok = events.Finished.Count(j => j.State == BackupJobState.Succeeded);
    sim.Reset();

    // The raw ceiling: the same creates and one status read each, at the same concurrency (64 in all), with a plain
    // HttpClient, warmed up first as the engine was (its connections, its JIT).
    using var http = new HttpClient();
    async Task RawAsync(int count, string prefix)
    {
        using var gate = new SemaphoreSlim(concurrency);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var c = connections[i % connections.Length];
                var path = c.Provider == "TaurusDB" ? "backups/create" : "backups";
                var body = c.Provider == "TaurusDB"
                    ? $"{{\"instance_id\":\"{Instance(c, i)}\",\"name\":\"{prefix}{i}\"}}"
                    : $"{{\"backup\":{{\"instance_id\":\"{Instance(c, i)}\",\"name\":\"{prefix}{i}\"}}}}";
                var post = new HttpRequestMessage(HttpMethod.Post, new Uri(c.Endpoint, $"v3/{project}/{path}")) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                post.Headers.Add("X-Auth-Token", "sim-token");
                using var created = await http.SendAsync(post);
                var json = System.Text.Json.JsonDocument.Parse(await created.Content.ReadAsStringAsync());
                var jobId = json.RootElement.GetProperty("job_id").GetString();
                var get = new HttpRequestMessage(HttpMethod.Get, new Uri(c.Endpoint, $"v3/{project}/jobs?id={jobId}"));
                get.Headers.Add("X-Auth-Token", "sim-token");
                using var status = await http.SendAsync(get);
                await status.Content.ReadAsStringAsync();
            }
            finally { gate.Release(); }
        }));
    }
    await RawAsync(100, "rawwarm");
    sim.Reset();
    watch.Restart();
    await RawAsync(n, "raw");
    var raw = watch.Elapsed;
    Console.WriteLine($"throughput: engine {n / engine.TotalSeconds:0} jobs/s ({ok}/{n} succeeded, {engine.TotalSeconds:0.00} s); raw ceiling {n / raw.TotalSeconds:0} jobs/s ({raw.TotalSeconds:0.00} s); ratio engine/raw = {raw.TotalSeconds / engine.TotalSeconds:0.00}");
    sim.Reset();
}

// 2. Against a script.
if (Run("script"))
{
    var n = quick ? 200 : 1000;
    var sample = quick ? 5 : 50;
    sim.Options.JobDuration = TimeSpan.FromSeconds(2);
    var watch = Stopwatch.StartNew();
    var jobs = await CreateMany(n, "eng");
    var (_, events) = await Wait(jobs, new WaitOptions());
    var engine = watch.Elapsed.TotalSeconds / n;
    sim.Reset();

    watch.Restart();
    for (var i = 0; i < sample; i++)
    {
        var c = connections[i % connections.Length];
        var job = await BackupService.StartAsync(c, new BackupRequest { InstanceId = Instance(c, i), Name = $"script-{i:D5}" }, NullOperationLog.Instance, CancellationToken.None);
        while (!job.IsFinal)
        {
            await Task.Delay(1000);
            job = await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None);
        }
    }
    var script = watch.Elapsed.TotalSeconds / sample;
    Console.WriteLine($"script: engine {engine * 1000:0.0} ms per job over {n} ({events.Finished.Count} finished); script {script * 1000:0} ms per job over {sample}; ratio script/engine = {script / engine:0}x");
    sim.Reset();
}

// 3. Politeness.
if (Run("politeness"))
{
    var n = quick ? 50 : 200;
    var duration = TimeSpan.FromSeconds(30);
    sim.Options.JobDuration = duration;
    var jobs = await CreateMany(n, "pol");
    var (_, events) = await Wait(jobs, new WaitOptions());
    var reads = events.Finished.Select(j => sim.Counters.StatusReadsFor(j.Provider, j.JobId)).OrderBy(x => x).ToList();
    var delays = events.SeenAt.Select(kv => (kv.Value - (kv.Key.CreatedAt + duration)).TotalSeconds).OrderBy(x => x).ToList();
    Console.WriteLine($"politeness (30 s jobs, no Retry-After, progress reported): median {reads[reads.Count / 2]} status reads per job (max {reads.Last()}); " +
                      $"completion seen after median {delays[delays.Count / 2]:0.00} s, max {delays.Last():0.00} s ({delays.Last() / duration.TotalSeconds:P0} of the duration)");
    sim.Reset();
}

// 5. Cold start: the core's first call in a new process (what a runbook pays on every run), against the same call warm.
if (Run("cold"))
{
    sim.Options.JobDuration = TimeSpan.Zero;
    var self = System.Reflection.Assembly.GetEntryAssembly().Location;
    var firsts = new List<double>();
    var warms = new List<double>();
    var raws = new List<double>();
    for (var i = 0; i < (quick ? 3 : 7); i++)
    {
        foreach (var mode in new[] { "--cold-client", "--cold-raw" })
        {
            var psi = new ProcessStartInfo("dotnet", new[] { self, mode, sim.BaseAddress.ToString() }) { RedirectStandardOutput = true, UseShellExecute = false };
            using var child = Process.Start(psi);
            var parts = (await child.StandardOutput.ReadToEndAsync()).Trim().Split(' ');
            await child.WaitForExitAsync();
            var values = parts.Select(x => double.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            if (mode == "--cold-raw") raws.Add(values[0]);
            else { firsts.Add(values[0]); warms.Add(values[1]); }
        }
    }
    double Median(List<double> xs) { xs.Sort(); return xs[xs.Count / 2]; }
    var first = Median(firsts);
    var raw = Median(raws);
    Console.WriteLine($"cold start: first connect+create+status read in a new process {first:0.0} ms (median of {firsts.Count}); the same two requests " +
                      $"with a bare HttpClient in a new process {raw:0.0} ms; warm {Median(warms):0.0} ms; the module's own first-call overhead {first - raw:0.0} ms");
    sim.Reset();
}

// Allocation probe (only when asked for): bytes per create, per status read, live bytes per job while waiting.
if (only == "alloc")
{
    sim.Options.JobDuration = TimeSpan.FromMinutes(5);
    var self = System.Reflection.Assembly.GetEntryAssembly().Location;
    var psi = new ProcessStartInfo("dotnet", new[] { self, "--alloc-client", sim.BaseAddress.ToString(), quick ? "500" : "2000" }) { RedirectStandardOutput = true, UseShellExecute = false };
    using var child = Process.Start(psi);
    Console.Write(await child.StandardOutput.ReadToEndAsync());
    await child.WaitForExitAsync();
    sim.Reset();
}

// 4. Memory: the client runs in a child process of its own, so its working set is not the simulator's.
if (Run("memory"))
{
    var n = quick ? 2000 : 10000;
    sim.Options.JobDuration = TimeSpan.FromSeconds(20);
    var self = System.Reflection.Assembly.GetEntryAssembly().Location;
    // With the runtime's default GC budgets (what a PowerShell session gets: the figure). Then, to show what the
    // figure is made of, two runs with GC settings a session would not have: the managed heap capped at 64 MB, which
    // shows how much of the first figure is garbage not yet collected rather than live state; and gen 0's budget set
    // to what the GC gives a machine whose largest cache is 32 MB (16 MB), since the GC sizes gen 0 from the largest
    // cache the machine reports, and the machines this runs on report one of 260 MB (about 85 MB of gen 0 garbage
    // between collections, whatever the client allocates).
    foreach (var (limit, gen0Size) in new[] { ((string)null, (string)null), ("4000000", null), (null, "1000000") })
    {
        var psi = new ProcessStartInfo("dotnet", new[] { self, "--memory-client", sim.BaseAddress.ToString(), n.ToString() })
        {
            RedirectStandardOutput = true, UseShellExecute = false,
        };
        // The runtime's default GC (workstation, concurrent), as a PowerShell session has it: this project turns
        // concurrent GC off for the timing sections, and a child would otherwise inherit that from the runtimeconfig.
        psi.Environment["DOTNET_gcConcurrent"] = "1";
        if (limit != null) psi.Environment["DOTNET_GCHeapHardLimit"] = limit;
        if (gen0Size != null) psi.Environment["DOTNET_GCgen0size"] = gen0Size;
        using var child = Process.Start(psi);
        Console.WriteLine((limit != null ? "(heap capped at 64 MB) " : gen0Size != null ? "(gen 0 budget of a 32 MB-cache machine, 16 MB) " : "") +
                          await child.StandardOutput.ReadToEndAsync());
        await child.WaitForExitAsync();
        sim.Reset();
    }
}

await sim.DisposeAsync();

sealed class Events : IJobWaitEvents
{
    public ConcurrentQueue<BackupJob> Finished { get; } = new();
    public ConcurrentDictionary<BackupJob, DateTimeOffset> SeenAt { get; } = new();
    public void Updated(BackupJob job) { }
    void IJobWaitEvents.Finished(BackupJob job) { Finished.Enqueue(job); SeenAt[job] = DateTimeOffset.UtcNow; }
    public void TimedOut(BackupJob job) { }
    public void CouldNotFollow(BackupJob job, BackupToolsException error) => Console.Error.WriteLine($"could not follow {job.JobId}: {error.Message}");
}

static class MemoryClient
{
    // What a PowerShell session does: New-InstanceBackup starts at most a limit of creates at once (ConcurrentStarts),
    // so the creates here are 64 workers taking the next index, not 10,000 tasks queued on a semaphore (which held
    // ~10,000 pending state machines of the bench's own); the finished jobs are kept, as a session's variable would
    // keep Wait-BackupJob's output, and nothing else. The sampler runs from the first create, so the peaks include the
    // create burst; the GC's committed bytes are sampled too (the part of the working set that is the managed heap).
    public static async Task RunAsync(Uri simulator, int n)
    {
        var token = new SecureString();
        foreach (var ch in "sim-token") token.AppendChar(ch);
        var c = BackupService.Connect(new ConnectRequest
        {
            Provider = "DDS", Endpoint = new Uri(simulator, "dds/"), Scope = "0123456789abcdef0123456789abcdef", AccessToken = token,
        });
        GC.Collect();
        var before = Process.GetCurrentProcess().WorkingSet64;
        long peak = 0, peakManaged = 0, peakCommitted = 0;
        void Max(ref long field, long value) { if (value > Interlocked.Read(ref field)) Interlocked.Exchange(ref field, value); }
        using var sampler = new Timer(_ =>
        {
            Max(ref peak, Process.GetCurrentProcess().WorkingSet64);
            Max(ref peakManaged, GC.GetTotalMemory(false));
            Max(ref peakCommitted, GC.GetGCMemoryInfo().TotalCommittedBytes);
        }, null, 0, 100);
        var gen0 = GC.CollectionCount(0);
        var gen2 = GC.CollectionCount(2);
        var allocated = GC.GetTotalAllocatedBytes();
        var jobs = new BackupJob[n];
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            for (var i = Interlocked.Increment(ref next); i < n; i = Interlocked.Increment(ref next))
                jobs[i] = await BackupService.StartAsync(c, new BackupRequest { InstanceId = i.ToString("x32") + "in02", Name = $"mem-bk{i:D6}" },
                    NullOperationLog.Instance, CancellationToken.None);
        })));
        var afterCreate = Process.GetCurrentProcess().WorkingSet64;
        // BENCH_SMAPS=1: where the working set is (GC heap, assemblies, JIT code, native libraries), on stderr.
        if (Environment.GetEnvironmentVariable("BENCH_SMAPS") == "1") Smaps("after creates");
        var events = new Kept();
        var watch = Stopwatch.StartNew();
        await BackupService.WaitAsync(jobs, _ => c, new WaitOptions(), events, NullOperationLog.Instance, CancellationToken.None);
        Max(ref peak, Process.GetCurrentProcess().PeakWorkingSet64);
        if (Environment.GetEnvironmentVariable("BENCH_SMAPS") == "1") Smaps("after wait");
        Console.Write($"memory: {n} concurrent jobs waited in {watch.Elapsed.TotalSeconds:0.0} s ({events.Finished.Count} finished); " +
                      $"peak working set of the client process {peak / 1048576.0:0} MB, {afterCreate / 1048576.0:0} MB after the creates, managed heap peak {peakManaged / 1048576.0:0} MB " +
                      $"(committed by the GC at its collections, at most {peakCommitted / 1048576.0:0} MB; {(GC.GetTotalAllocatedBytes() - allocated) / 1048576.0:0} MB allocated in all, " +
                      $"{GC.CollectionCount(0) - gen0} GCs, {GC.CollectionCount(2) - gen2} of gen 2; " +
                      $"{before / 1048576.0:0} MB at start, simulator in another process)");
    }

    static void Smaps(string when)
    {
        var sums = new Dictionary<string, long>();
        string cur = null;
        foreach (var line in System.IO.File.ReadLines("/proc/self/smaps"))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 5 && parts[0].Contains('-') && !line.StartsWith("VmFlags"))
            {
                var name = parts.Length >= 6 ? parts[5] : "[anon]";
                if (name.Contains(".so")) name = "[so] " + System.IO.Path.GetFileName(name);
                else if (name.EndsWith(".dll")) name = "[dll] " + System.IO.Path.GetFileName(name);
                cur = name;
            }
            else if (parts.Length >= 2 && parts[0] == "Rss:") sums[cur] = sums.GetValueOrDefault(cur) + long.Parse(parts[1]);
        }
        Console.Error.WriteLine($"smaps {when}: threads {Process.GetCurrentProcess().Threads.Count}, gc committed {GC.GetGCMemoryInfo().TotalCommittedBytes >> 20} MB: " +
            string.Join(", ", sums.OrderByDescending(kv => kv.Value).Take(40).Select(kv => $"{kv.Key} {kv.Value >> 10} MB")));
    }

    sealed class Kept : IJobWaitEvents
    {
        public ConcurrentQueue<BackupJob> Finished { get; } = new();
        public void Updated(BackupJob job) { }
        void IJobWaitEvents.Finished(BackupJob job) => Finished.Enqueue(job);
        public void TimedOut(BackupJob job) { }
        public void CouldNotFollow(BackupJob job, BackupToolsException error) => Console.Error.WriteLine($"could not follow {job.JobId}: {error.Message}");
    }
}

static class ColdClient
{
    /// <summary>The same create and status read with a bare HttpClient and no BackupTools: the runtime's own first-use cost.</summary>
    public static async Task RawAsync(Uri simulator)
    {
        var watch = Stopwatch.StartNew();
        using var http = new HttpClient();
        var post = new HttpRequestMessage(HttpMethod.Post, new Uri(simulator, "dds/v3/0123456789abcdef0123456789abcdef/backups"))
        {
            Content = new StringContent("{\"backup\":{\"instance_id\":\"0123456789abcdef0123456789abcdefin02\",\"name\":\"raw-" + Guid.NewGuid().ToString("N").Substring(0, 8) + "\"}}", Encoding.UTF8, "application/json"),
        };
        post.Headers.Add("X-Auth-Token", "sim-token");
        using var created = await http.SendAsync(post);
        using var doc = System.Text.Json.JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var get = new HttpRequestMessage(HttpMethod.Get, new Uri(simulator, "dds/v3/0123456789abcdef0123456789abcdef/jobs?id=" + doc.RootElement.GetProperty("job_id").GetString()));
        get.Headers.Add("X-Auth-Token", "sim-token");
        using var status = await http.SendAsync(get);
        await status.Content.ReadAsStringAsync();
        Console.WriteLine(watch.Elapsed.TotalMilliseconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture));
    }

    public static async Task RunAsync(Uri simulator)
    {
        async Task<double> Once(string name)
        {
            var watch = Stopwatch.StartNew();
            var token = new SecureString();
            foreach (var ch in "sim-token") token.AppendChar(ch);
            var c = BackupService.Connect(new ConnectRequest
            {
                Provider = "DDS", Endpoint = new Uri(simulator, "dds/"), Scope = "0123456789abcdef0123456789abcdef", AccessToken = token,
            });
            var job = await BackupService.StartAsync(c, new BackupRequest { InstanceId = "0123456789abcdef0123456789abcdefin02", Name = name },
                NullOperationLog.Instance, CancellationToken.None);
            await BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None);
            return watch.Elapsed.TotalMilliseconds;
        }
        var suffix = Guid.NewGuid().ToString("N").Substring(0, 8);
        // (the first Once pays the module's and the runtime's first-use costs; RawAsync measures the runtime's alone)
        var first = await Once("cold-" + suffix);
        var warm = await Once("warm-" + suffix);
        Console.WriteLine(first.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " " + warm.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture));
    }
}
