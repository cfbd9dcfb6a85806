using System;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.Loader;

// Usage: BackupTools.PackageHost <packageDir> <simulatorBaseUri> [backupName]
var package = args[0];
var simulator = args[1];
var backupName = args.Length > 2 ? args[2] : "isolated-run";

// The conflicting copies, loaded into the default context first, as another module would have done: the
// IHttpClientFactory the module's HTTP pipeline is built on, and the options library under it.
var conflicting = typeof(Microsoft.Extensions.Http.HttpClientFactoryOptions).Assembly;
Console.WriteLine($"CONFLICT|{conflicting.GetName().Version}");
Console.WriteLine($"CONFLICT|{typeof(Microsoft.Extensions.Options.Options).Assembly.GetName().Version}");

using (var ps = PowerShell.Create(InitialSessionState.CreateDefault2()))
{
    ps.AddScript(@"
param($package, $simulator, $name)
Import-Module ([System.IO.Path]::Combine($package, 'BackupTools.psd1')) -ErrorAction Stop
'TYPE|' + [BackupTools.BackupJob]::new('DDS', 'https://dds.eu-de.otc.t-systems.com/', 'job-1').Provider
$token = [System.Security.SecureString]::new()
foreach ($c in 'sim-token'.ToCharArray()) { $token.AppendChar($c) }
$null = Connect-BackupService -Provider DDS -Endpoint ($simulator + 'dds/') -ProjectId '0123456789abcdef0123456789abcdef' -AccessToken $token
$job = New-InstanceBackup -InstanceId '0123456789abcdef0123456789abcdefin02' -Name $name | Wait-BackupJob -PollingInterval 0.1 -Timeout 60
'STATE|' + $job.State
Remove-Module BackupTools
'REMOVED|' + [bool](-not (Get-Module BackupTools))
").AddArgument(package).AddArgument(simulator).AddArgument(backupName);
    foreach (var line in ps.Invoke()) Console.WriteLine(line);
    foreach (var error in ps.Streams.Error) Console.WriteLine("ERROR|" + error.FullyQualifiedErrorId + "|" + error);
}

foreach (var context in AssemblyLoadContext.All)
foreach (var assembly in context.Assemblies)
{
    var name = assembly.GetName();
    if (name.Name.StartsWith("Microsoft.Extensions.", StringComparison.Ordinal) || name.Name.StartsWith("BackupTools", StringComparison.Ordinal) ||
        name.Name == "Polly.Core" || name.Name == "System.Text.Json")
        Console.WriteLine($"ASM|{name.Name}|{name.Version}|{context.Name}|{(assembly.IsDynamic ? "" : assembly.Location)}");
}

// Whether the engine's code runs precompiled: every method of a provider this run never used (Cloud Foundry) is
// prepared, and the JIT's count on this thread says how many of them it had to compile (none when the engine
// assembly is a ReadyToRun image for this runtime and platform; all of them when it is IL).
var core = AssemblyLoadContext.All.SelectMany(c => c.Assemblies).FirstOrDefault(a => a.GetName().Name == "BackupTools.Core");
var unused = core?.GetType("BackupTools.Providers.CloudFoundry.CloudFoundryProvider", throwOnError: true);
if (unused != null)
{
    var methods = unused.GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance |
                                    System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.DeclaredOnly)
        .Where(m => !m.IsAbstract && !m.IsGenericMethodDefinition && m.GetMethodBody() != null).ToList();
    var before = System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: true);
    foreach (var m in methods) System.Runtime.CompilerServices.RuntimeHelpers.PrepareMethod(m.MethodHandle);
    Console.WriteLine($"PREPARED|{methods.Count}|{System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: true) - before}");
}


// With the runtime's JIT list on (DOTNET_JitStdOutFile, IsolationTests), the runtime's own shutdown can crash the
// process after all of the above was written (free(): invalid pointer, SIGSEGV or SIGABRT: 4 runs in 25 here; the
// JIT closes its list while another thread still compiles). Where that diagnostic is on, the host ends as a finished
// process would without that shutdown: every C stream flushed (the JIT's list included), then _exit.
if (Environment.GetEnvironmentVariable("DOTNET_JitStdOutFile") != null && !OperatingSystem.IsWindows())
{
    Console.Out.Flush();
    Libc.fflush(IntPtr.Zero);
    Libc._exit(0);
}

static class Libc
{
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "fflush")]
    public static extern int fflush(IntPtr stream);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "_exit")]
    public static extern void _exit(int status);
}
