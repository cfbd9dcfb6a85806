using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Net.Http;
using System.Security;
using System.Text;
using System.Threading.Tasks;

// Start-up cost of the packaged module in the hosted PowerShell 7.6 engine, one fresh process per sample:
//   import  Import-Module <package>/BackupTools.psd1
//   first   the first cmdlet calls: Connect-BackupService, New-InstanceBackup | Get-BackupJob on DDS (simulator)
//   raw     the same two HTTP requests (create, status read) with a bare HttpClient
// and, for scale, what the engine itself costs (also one fresh process each):
//   Import-Module of the smallest binary module with a manifest (bench/BackupTools.StartupHost.EmptyModule), and
//   its one cmdlet's first call; Import-Module of an empty manifest.
// In every child the runspace is created and opened first, untimed (that is pwsh's own start-up); timings are taken
// inside the script with a Stopwatch, as bench/Startup.ps1 does in pwsh.
//
// Usage (repo root):
//   dotnet run -c Release --project bench/BackupTools.StartupHost -- [--runs 7] [--package DIR] [--baseline DIR]
// Without --package it first lays out the package with `dotnet publish src/BackupTools -c Release` into
// out/startup-package/. The NuGet System.Management.Automation is IL only, so the engine is JIT-compiled on first
// use, while pwsh ships it precompiled (ReadyToRun). To measure with a precompiled engine, as pwsh has it, publish
// this host ReadyToRun and run it from there:
//   dotnet publish bench/BackupTools.StartupHost -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true -o out/startup-host-r2r
//   dotnet out/startup-host-r2r/BackupTools.StartupHost.dll [--runs 7]

const string Project = "0123456789abcdef0123456789abcdef";
const string Instance = "0123456789abcdef0123456789abcdefin02";
var invariant = CultureInfo.InvariantCulture;

switch (args.FirstOrDefault())
{
    case "--import-child": return ImportChild(args[1], new Uri(args[2]));
    case "--raw-child": return await RawChild(new Uri(args[1]));
    case "--floor-child": return FloorChild(args[1], args.Length > 2 ? args[2] : null);
}

var runs = Option("--runs") is string r ? int.Parse(r, invariant) : 7;
var root = RepoRoot();
var package = Option("--package") is string given ? Path.GetFullPath(given) : Publish(root);
var manifest = Path.Combine(package, "BackupTools.psd1");
if (!File.Exists(manifest)) { Console.Error.WriteLine($"No BackupTools.psd1 in {package}"); return 2; }
// --baseline DIR: another package (an older build) measured in the same runs, interleaved, for a fair before/after.
var baseline = Option("--baseline") is string b ? Path.Combine(Path.GetFullPath(b), "BackupTools.psd1") : null;
if (baseline != null && !File.Exists(baseline)) { Console.Error.WriteLine($"No BackupTools.psd1 in {Path.GetDirectoryName(baseline)}"); return 2; }
var floorDir = Path.Combine(Path.GetTempPath(), "backuptools-startup-floor-" + Environment.ProcessId);
Directory.CreateDirectory(floorDir);
var emptyManifest = Path.Combine(floorDir, "Empty.psd1");
File.WriteAllText(emptyManifest, "@{ ModuleVersion = '1.0.0'; GUID = '0b8e2f0a-3c1d-4e5f-9a7b-6c5d4e3f2a1b' }\n");
var smallestManifest = SmallestBinaryModule(root, floorDir);

using var simulator = StartSimulator(root, out var simulatorUri);
try
{
    var import = new List<double>();
    var first = new List<double>();
    var raw = new List<double>();
    var importJit = new List<double>();
    var firstJit = new List<double>();
    var connect = new List<double>();
    var floorImport = new List<double>();
    var floorFirst = new List<double>();
    var emptyImport = new List<double>();
    var baseImport = new List<double>();
    var baseFirst = new List<double>();
    for (var i = 0; i < runs; i++)
    {
        // Interleaved, so a busy moment on a shared machine touches every measure alike; the baseline goes first in
        // every other run, since the second of two back-to-back processes measured a few ms slower (same package
        // twice: 53.1 against 51.5 ms of import).
        void MeasureBaseline()
        {
            if (baseline == null) return;
            var old = Child("--import-child", baseline, simulatorUri.ToString());
            baseImport.Add(old[0]); baseFirst.Add(old[1]);
        }
        if (i % 2 == 0) MeasureBaseline();
        var m = Child("--import-child", manifest, simulatorUri.ToString());
        if (i % 2 == 1) MeasureBaseline();
        import.Add(m[0]); first.Add(m[1]); importJit.Add(m[2]); firstJit.Add(m[3]); connect.Add(m[4]);
        raw.Add(Child("--raw-child", simulatorUri.ToString())[0]);
        var f = Child("--floor-child", smallestManifest, "Get-StartupFloor");
        floorImport.Add(f[0]); floorFirst.Add(f[1]);
        emptyImport.Add(Child("--floor-child", emptyManifest)[0]);
        Console.Error.WriteLine($"run {i + 1}/{runs}: import {m[0]:0.0} ms, first call {m[1]:0.0} ms, raw {raw[^1]:0.0} ms; " +
                                $"smallest binary module: import {f[0]:0.0} ms, first call {f[1]:0.0} ms; empty manifest {emptyImport[^1]:0.0} ms");
    }
    var engine = typeof(PSObject).Assembly;
    var r2r = IsReadyToRun(engine.Location);
    Console.WriteLine($"Hosted PowerShell {engine.GetName().Version} engine ({(r2r ? "precompiled (ReadyToRun), as pwsh ships it" : "IL only, as the NuGet package ships it: JIT-compiled on first use")}), " +
                      $".NET {Environment.Version}, {Environment.ProcessorCount} cores, culture '{(CultureInfo.CurrentCulture.Name.Length == 0 ? "invariant" : CultureInfo.CurrentCulture.Name)}'; medians of {runs} fresh processes each:");
    Console.WriteLine($"  Import-Module BackupTools                         {Median(import),7:0.0} ms   (JIT {Median(importJit):0.0} ms of it)");
    Console.WriteLine($"  Import-Module of the smallest binary module      {Median(floorImport),7:0.0} ms   (the engine's floor for a binary module with a manifest)");
    Console.WriteLine($"  Import-Module of an empty manifest               {Median(emptyImport),7:0.0} ms");
    Console.WriteLine($"  first call: Connect + New-InstanceBackup | Get   {Median(first),7:0.0} ms   (JIT {Median(firstJit):0.0} ms of it)");
    Console.WriteLine($"    of which Connect-BackupService (no request)    {Median(connect),7:0.0} ms");
    Console.WriteLine($"  the same two requests with a bare HttpClient     {Median(raw),7:0.0} ms");
    Console.WriteLine($"  first-call overhead (first - raw)                {Median(first) - Median(raw),7:0.0} ms");
    Console.WriteLine($"  first call of the smallest module's one cmdlet   {Median(floorFirst),7:0.0} ms   (the engine's floor for a first cmdlet call)");
    if (baseline != null)
        Console.WriteLine($"  baseline package ({Path.GetDirectoryName(baseline)}): Import-Module {Median(baseImport):0.0} ms, first call {Median(baseFirst):0.0} ms, " +
                          $"first-call overhead {Median(baseFirst) - Median(raw):0.0} ms; " +
                          // Each run measured both packages back to back: the median of those paired differences
                          // is steadier than a difference of medians on a machine whose speed drifts.
                          $"paired difference (this package - baseline, {runs} runs): Import-Module {Paired(import, baseImport):+0.0;-0.0} ms, " +
                          $"first call {Paired(first, baseFirst):+0.0;-0.0} ms");
    Console.WriteLine($"  samples: import [{Join(import)}]; first [{Join(first)}]; raw [{Join(raw)}]");
    return 0;
}
finally
{
    try { simulator.Kill(true); } catch (InvalidOperationException) { }
    try { Directory.Delete(floorDir, true); } catch (IOException) { }
}

string Join(IEnumerable<double> xs) => string.Join(", ", xs.Select(x => x.ToString("0.0", invariant)));

string Option(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

// The median of each run's difference, taken separately over the runs where the baseline went first and those where it
// went second, then averaged: a penalty for going second cancels out even with an odd number of runs.
static double Paired(List<double> package, List<double> baseline)
{
    var differences = package.Zip(baseline, (a, b) => a - b).ToList();
    var baselineFirst = differences.Where((_, i) => i % 2 == 0).ToList();
    var baselineSecond = differences.Where((_, i) => i % 2 == 1).ToList();
    return baselineSecond.Count == 0 ? Median(baselineFirst) : (Median(baselineFirst) + Median(baselineSecond)) / 2;
}

static double Median(List<double> xs)
{
    var s = xs.OrderBy(x => x).ToList();
    return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
}

static Runspace OpenRunspace()
{
    // Untimed: pwsh has done this before it runs the first line of a script.
    var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
    runspace.Open();
    return runspace;
}

static string Invoke(Runspace runspace, string script, IDictionary<string, object> parameters)
{
    using var ps = PowerShell.Create();
    ps.Runspace = runspace;
    ps.AddScript(script);
    foreach (var p in parameters) ps.AddParameter(p.Key, p.Value);
    var output = ps.Invoke();
    if (ps.HadErrors || ps.Streams.Error.Count > 0)
        throw new InvalidOperationException(string.Join("\n", ps.Streams.Error.Select(e => e.FullyQualifiedErrorId + ": " + e)));
    return string.Join(" ", output.Select(o => o.ToString()));
}

int ImportChild(string manifestPath, Uri simulator)
{
    using var runspace = OpenRunspace();
    var token = new SecureString();
    foreach (var c in "sim-token") token.AppendChar(c);
    token.MakeReadOnly();
    var line = Invoke(runspace, @"
param($Manifest, $Endpoint, $Token, $Name)
$jit = [System.Runtime.JitInfo]::GetCompilationTime($false).TotalMilliseconds
$w = [System.Diagnostics.Stopwatch]::StartNew()
Import-Module $Manifest
$import = $w.Elapsed.TotalMilliseconds
$jitImport = [System.Runtime.JitInfo]::GetCompilationTime($false).TotalMilliseconds - $jit
$jit = [System.Runtime.JitInfo]::GetCompilationTime($false).TotalMilliseconds
$w.Restart()
$null = Connect-BackupService -Provider DDS -Endpoint $Endpoint -ProjectId '" + Project + @"' -AccessToken $Token
$connect = $w.Elapsed.TotalMilliseconds
$null = New-InstanceBackup -InstanceId '" + Instance + @"' -Name $Name | Get-BackupJob
$first = $w.Elapsed.TotalMilliseconds
$jitFirst = [System.Runtime.JitInfo]::GetCompilationTime($false).TotalMilliseconds - $jit
[string]::Join(' ', [string[]]@($import, $first, $jitImport, $jitFirst, $connect).ForEach({ $_.ToString('0.00', [cultureinfo]::InvariantCulture) }))
", new Dictionary<string, object>
    {
        ["Manifest"] = manifestPath, ["Endpoint"] = new Uri(simulator, "dds/").ToString(), ["Token"] = token,
        ["Name"] = "cold-" + Guid.NewGuid().ToString("N").Substring(0, 8),
    });
    Console.WriteLine(line);
    return 0;
}

int FloorChild(string manifestPath, string cmdlet)
{
    using var runspace = OpenRunspace();
    Console.WriteLine(Invoke(runspace, @"
param($Manifest, $Cmdlet)
$w = [System.Diagnostics.Stopwatch]::StartNew()
Import-Module $Manifest
$import = $w.Elapsed.TotalMilliseconds
$first = 0
if ($Cmdlet) {
    $w.Restart()
    $null = & $Cmdlet
    $first = $w.Elapsed.TotalMilliseconds
}
[string]::Join(' ', [string[]]@($import, $first).ForEach({ $_.ToString('0.00', [cultureinfo]::InvariantCulture) }))
", new Dictionary<string, object> { ["Manifest"] = manifestPath, ["Cmdlet"] = cmdlet }));
    return 0;
}

async Task<int> RawChild(Uri simulator)
{
    using var runspace = OpenRunspace();
    var watch = Stopwatch.StartNew();
    using var http = new HttpClient();
    using var post = new HttpRequestMessage(HttpMethod.Post, new Uri(simulator, $"dds/v3/{Project}/backups"))
    {
        Content = new StringContent("{\"backup\":{\"instance_id\":\"" + Instance + "\",\"name\":\"raw-" + Guid.NewGuid().ToString("N").Substring(0, 8) + "\"}}", Encoding.UTF8, "application/json"),
    };
    post.Headers.Add("X-Auth-Token", "sim-token");
    using var created = await http.SendAsync(post);
    created.EnsureSuccessStatusCode();
    using var doc = System.Text.Json.JsonDocument.Parse(await created.Content.ReadAsStringAsync());
    using var get = new HttpRequestMessage(HttpMethod.Get, new Uri(simulator, $"dds/v3/{Project}/jobs?id=" + doc.RootElement.GetProperty("job_id").GetString()));
    get.Headers.Add("X-Auth-Token", "sim-token");
    using var status = await http.SendAsync(get);
    status.EnsureSuccessStatusCode();
    await status.Content.ReadAsStringAsync();
    Console.WriteLine(watch.Elapsed.TotalMilliseconds.ToString("0.00", CultureInfo.InvariantCulture));
    return 0;
}

static double[] Child(params string[] arguments)
{
    var self = System.Reflection.Assembly.GetEntryAssembly().Location;
    var psi = new ProcessStartInfo(DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    psi.ArgumentList.Add(self);
    foreach (var a in arguments) psi.ArgumentList.Add(a);
    using var child = Process.Start(psi);
    var stdout = child.StandardOutput.ReadToEndAsync();
    var stderr = child.StandardError.ReadToEndAsync();
    if (!child.WaitForExit(120_000)) { child.Kill(true); throw new TimeoutException(string.Join(" ", arguments)); }
    if (child.ExitCode != 0) throw new InvalidOperationException($"{string.Join(" ", arguments)} exited {child.ExitCode}:\n{stdout.Result}{stderr.Result}");
    return stdout.Result.Trim().Split(' ').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
}

static string DotnetHost() => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is string host && File.Exists(host) ? host : "dotnet";

static bool IsReadyToRun(string path)
{
    using var stream = File.OpenRead(path);
    using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
    return pe.PEHeaders.CorHeader?.ManagedNativeHeaderDirectory.Size > 0;
}

static string RepoRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "BackupTools.sln"))) return dir.FullName;
    for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir != null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "BackupTools.sln"))) return dir.FullName;
    throw new InvalidOperationException("Run from inside the BackupTools repository.");
}

static string Publish(string root)
{
    var target = Path.Combine(root, "out", "startup-package") + Path.DirectorySeparatorChar;
    Console.Error.WriteLine($"dotnet publish src/BackupTools -c Release -> {target}");
    var psi = new ProcessStartInfo(DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (var a in new[] { "publish", Path.Combine(root, "src", "BackupTools", "BackupTools.csproj"), "-c", "Release", $"-p:ModulePackageDir={target}", "--nologo" })
        psi.ArgumentList.Add(a);
    using var p = Process.Start(psi);
    var output = p.StandardOutput.ReadToEndAsync();
    var error = p.StandardError.ReadToEndAsync();
    p.WaitForExit();
    if (p.ExitCode != 0) throw new InvalidOperationException("dotnet publish failed:\n" + output.Result + error.Result);
    return target;
}

// The smallest binary module, copied with a manifest of its own into a scratch folder.
static string SmallestBinaryModule(string root, string folder)
{
    var dll = NewestBuild(Path.Combine(root, "bench", "BackupTools.StartupHost.EmptyModule", "bin"), "BackupTools.StartupHost.EmptyModule.dll",
        "dotnet build bench/BackupTools.StartupHost -c Release");
    var dir = Path.Combine(folder, "Smallest");
    Directory.CreateDirectory(dir);
    File.Copy(dll, Path.Combine(dir, "BackupTools.StartupHost.EmptyModule.dll"), true);
    var manifest = Path.Combine(dir, "Smallest.psd1");
    File.WriteAllText(manifest, "@{ RootModule = 'BackupTools.StartupHost.EmptyModule.dll'; ModuleVersion = '1.0.0'; GUID = '1b8e2f0a-3c1d-4e5f-9a7b-6c5d4e3f2a1b'; " +
                                "CmdletsToExport = @('Get-StartupFloor'); FunctionsToExport = @(); VariablesToExport = @(); AliasesToExport = @() }\n");
    return manifest;
}

static string NewestBuild(string bin, string file, string howToBuild) =>
    (Directory.Exists(bin) ? Directory.GetFiles(bin, file, SearchOption.AllDirectories) : Array.Empty<string>())
        .Where(f => f.Contains(Path.DirectorySeparatorChar + "Release" + Path.DirectorySeparatorChar))
        .OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
    ?? throw new InvalidOperationException($"No Release build of {file}: {howToBuild}");

static Process StartSimulator(string root, out Uri baseUri)
{
    var dll = NewestBuild(Path.Combine(root, "src", "BackupTools.Simulator", "bin"), "BackupTools.Simulator.dll", "dotnet build bench/BackupTools.StartupHost -c Release");
    var psi = new ProcessStartInfo(DotnetHost()) { RedirectStandardOutput = true, UseShellExecute = false };
    // Jobs found from their create on (started as a program the simulator answers a new DDS job "not found" for 2 s):
    // the bare client's status read must succeed, and the module's must take the same path as before.
    foreach (var a in new[] { dll, "--port", "0", "--job-seconds", "0", "--not-found-seconds", "0" }) psi.ArgumentList.Add(a);
    var process = Process.Start(psi);
    var first = process.StandardOutput.ReadLine() ?? string.Empty;
    var at = first.IndexOf("http://", StringComparison.Ordinal);
    if (at < 0) { process.Kill(true); throw new InvalidOperationException("The simulator did not start: " + first); }
    baseUri = new Uri(first.Substring(at).Trim());
    // Keep reading its output so it never blocks on a full pipe.
    _ = process.StandardOutput.ReadToEndAsync();
    return process;
}
