using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.Loader;

// Usage: BackupTools.PackageHost <packageDir> <simulatorBaseUri> [backupName] [scenario]
// Scenarios (what the PowerShell side does; every one ends by listing the loaded assemblies):
//   one-runspace (default)    import, name a type, back up, Remove-Module
//   remove-in-other-runspace  runspaces A and B import; A removes the module; then B names a type and backs up
//   parallel-remove           the caller imports; two ForEach-Object -Parallel blocks import and remove the module;
//                             then the caller names a type and backs up
//   reimport                  import, back up; Remove-Module, import, list the providers (the first use of that cmdlet),
//                             back up; Import-Module -Force, back up
//   older-polly               another module's older Polly.Core 8.x loaded into the default context, then as one-runspace
//                             (the test makes the service answer the create with a 503, so that the module's repeat
//                             loads its Polly)
var package = args[0];
var simulator = args[1];
var backupName = args.Length > 2 ? args[2] : "isolated-run";
var scenario = args.Length > 3 ? args[3] : "one-runspace";

// The conflicting copies, loaded into the default context first, as another module would have done: the
// IHttpClientFactory the module's HTTP pipeline is built on, and the options library under it.
var conflicting = typeof(Microsoft.Extensions.Http.HttpClientFactoryOptions).Assembly;
Console.WriteLine($"CONFLICT|{conflicting.GetName().Version}");
Console.WriteLine($"CONFLICT|{typeof(Microsoft.Extensions.Options.Options).Assembly.GetName().Version}");

const string Import = "param($package) Import-Module ([System.IO.Path]::Combine($package, 'BackupTools.psd1')) -ErrorAction Stop";
// Names an output type and creates a backup and waits for it: the first use of the type names and of the cmdlets in
// the runspace (PowerShell resolves a cmdlet's [OutputType] names by assembly name then).
const string Use = @"
param($simulator, $name)
'TYPE|' + [BackupTools.BackupJob]::new('DDS', 'https://dds.eu-de.otc.t-systems.com/', 'job-1').Provider
$token = [System.Security.SecureString]::new()
foreach ($c in 'sim-token'.ToCharArray()) { $token.AppendChar($c) }
$null = Connect-BackupService -Provider DDS -Endpoint ($simulator + 'dds/') -ProjectId '0123456789abcdef0123456789abcdef' -AccessToken $token
$job = New-InstanceBackup -InstanceId '0123456789abcdef0123456789abcdefin02' -Name $name | Wait-BackupJob -PollingInterval 0.1 -Timeout 60
'STATE|' + $job.State
";
const string ListProviders = "'PROVIDERS|' + @(Get-BackupProvider).Count";
const string Remove = "Remove-Module BackupTools; 'REMOVED|' + [bool](-not (Get-Module BackupTools))";
const string ParallelImportAndRemove = @"
param($package)
$manifest = [System.IO.Path]::Combine($package, 'BackupTools.psd1')
1..2 | ForEach-Object -ThrottleLimit 2 -Parallel { Import-Module $using:manifest -ErrorAction Stop; Remove-Module BackupTools; 'PARALLEL|' + $_ }
";

if (scenario == "older-polly")
{
    var other = AssemblyLoadContext.Default.LoadFromAssemblyPath(Path.Combine(AppContext.BaseDirectory, "other-module", "Polly.Core.dll"));
    Console.WriteLine($"OTHER|{other.GetName().Name}|{other.GetName().Version}|{System.Diagnostics.FileVersionInfo.GetVersionInfo(other.Location).FileVersion}");
}

switch (scenario)
{
    case "one-runspace":
    case "older-polly":
        using (var ps = NewRunspace())
        {
            Run(ps, Import, package);
            Run(ps, Use, simulator, backupName);
            Run(ps, Remove);
        }
        break;
    case "remove-in-other-runspace":
        using (var a = NewRunspace())
        using (var b = NewRunspace())
        {
            Run(a, Import, package);
            Run(b, Import, package);
            Run(a, Remove);
            Run(b, Use, simulator, backupName);
        }
        break;
    case "parallel-remove":
        using (var ps = NewRunspace())
        {
            Run(ps, Import, package);
            Run(ps, ParallelImportAndRemove, package);
            Run(ps, Use, simulator, backupName);
        }
        break;
    case "reimport":
        using (var ps = NewRunspace())
        {
            Run(ps, Import, package);
            Run(ps, Use, simulator, backupName + "-1");
            Run(ps, Remove);
            Run(ps, Import, package);
            Run(ps, ListProviders);
            Run(ps, Use, simulator, backupName + "-2");
            Run(ps, Import.Replace("-ErrorAction Stop", "-Force -ErrorAction Stop"), package);
            Run(ps, Use, simulator, backupName + "-3");
        }
        break;
    default:
        Console.WriteLine("ERROR|UnknownScenario|" + scenario);
        return 2;
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
return 0;

static PowerShell NewRunspace() => PowerShell.Create(InitialSessionState.CreateDefault2());

// Runs one script in the runspace: its output as it is, each error as ERROR|id|message.
static void Run(PowerShell ps, string script, params object[] arguments)
{
    ps.Commands.Clear();
    ps.Streams.ClearStreams();
    ps.AddScript(script);
    foreach (var argument in arguments) ps.AddArgument(argument);
    try
    {
        foreach (var line in ps.Invoke()) Console.WriteLine(line);
    }
    catch (RuntimeException ex)
    {
        Console.WriteLine("ERROR|" + (ex.ErrorRecord?.FullyQualifiedErrorId ?? ex.GetType().Name) + "|" + ex.Message);
    }
    foreach (var error in ps.Streams.Error) Console.WriteLine("ERROR|" + error.FullyQualifiedErrorId + "|" + error);
}

static class Libc
{
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "fflush")]
    public static extern int fflush(IntPtr stream);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "_exit")]
    public static extern void _exit(int status);
}
