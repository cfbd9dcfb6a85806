using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;
using BackupTools.Commands;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>Builds the package once (dotnet publish) into a temporary folder.</summary>
    public sealed class PackageFixture : IDisposable
    {
        public string Directory { get; }
        public string PublishLog { get; }

        public PackageFixture()
        {
            Directory = Path.Combine(Path.GetTempPath(), "backuptools-package-" + Guid.NewGuid().ToString("N").Substring(0, 8)) + Path.DirectorySeparatorChar;
            var (code, output) = Run(DotnetHost(), $"publish \"{Path.Combine(ContractTests.RepoRoot(), "src", "BackupTools", "BackupTools.csproj")}\" -c {Configuration} -p:ModulePackageDir=\"{Directory}\" --nologo");
            PublishLog = output;
            if (code != 0) throw new InvalidOperationException("dotnet publish failed:\n" + output);
        }

        public static string Configuration => AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";

        public static string DotnetHost() => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is string host && File.Exists(host) ? host : "dotnet";

        public static (int Code, string Output) Run(string file, string arguments, TimeSpan? timeout = null, IDictionary<string, string> environment = null)
        {
            var psi = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.Environment["MSBUILDNOINPROCNODE"] = "1";
            foreach (var variable in environment ?? new Dictionary<string, string>()) psi.Environment[variable.Key] = variable.Value;
            using var process = Process.Start(psi);
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit((int)(timeout ?? TimeSpan.FromMinutes(5)).TotalMilliseconds))
            {
                process.Kill(true);
                throw new TimeoutException($"{file} {arguments} did not finish");
            }
            return (process.ExitCode, stdout.Result + stderr.Result);
        }

        public void Dispose()
        {
            try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>
    /// The package loads next to other modules: its layout (only the cmdlet assembly in the root), its dependencies
    /// complete, and, in a fresh PowerShell 7.6 process that already holds a conflicting Microsoft.Extensions.Options,
    /// a backup created and waited on, with the module's copies in its private load context. In the same kind of
    /// process, Remove-Module in one runspace leaves the module whole in the others, and importing it again reuses
    /// the engine already loaded.
    /// </summary>
    public sealed class IsolationTests : IClassFixture<PackageFixture>, IClassFixture<SimulatorFixture>
    {
        private readonly PackageFixture _package;
        private readonly SimulatorFixture _simulator;

        public IsolationTests(PackageFixture package, SimulatorFixture simulator)
        {
            _package = package;
            _simulator = simulator;
        }

        private string Dependencies => Path.Combine(_package.Directory, "dependencies");

        [Fact]
        public void No_shipped_file_names_a_path_of_the_machine_that_built_it()
        {
            // The debug directory of each assembly named its .pdb by the build machine's path (/home/…/src/…/obj/…).
            var root = ContractTests.RepoRoot().TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
            var needle = System.Text.Encoding.UTF8.GetBytes(root);
            var files = Directory.GetFiles(_package.Directory, "*", SearchOption.AllDirectories);
            Assert.Contains(files, f => f.EndsWith(".dll", StringComparison.Ordinal));
            foreach (var file in files)
                Assert.True(System.MemoryExtensions.IndexOf(File.ReadAllBytes(file).AsSpan(), needle) < 0, $"{file} names {root}");
        }

        [Fact]
        public void Only_the_cmdlet_assembly_sits_in_the_module_root()
        {
            var rootAssemblies = Directory.GetFiles(_package.Directory, "*.dll").Select(Path.GetFileName).ToList();
            Assert.Equal(new[] { "BackupTools.dll" }, rootAssemblies);
            foreach (var expected in new[] { "BackupTools.Core.dll", "BackupTools.Isolation.dll", "System.Text.Json.dll", "Microsoft.Extensions.Http.dll", "Polly.Core.dll" })
                Assert.True(File.Exists(Path.Combine(Dependencies, expected)), expected + " is missing from dependencies/");
            foreach (var file in new[] { "BackupTools.psd1", "BackupTools.Format.ps1xml", "BackupTools.Types.ps1xml", Path.Combine("en-US", "BackupTools.dll-Help.xml") })
                Assert.True(File.Exists(Path.Combine(_package.Directory, file)), file + " is missing");
        }

        /// <summary>
        /// Assemblies .NET Framework 4.7.2 (Windows PowerShell 5.1) provides itself, and PowerShell's own engine: a
        /// reference to one of these is the platform's to bind. Any other name must be a file of dependencies/.
        /// </summary>
        private static readonly HashSet<string> NetFrameworkPlatform = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            "mscorlib", "netstandard", "System", "System.Core", "System.Net.Http", "System.Numerics", "System.Xml", "System.Xml.Linq",
            "System.Data", "System.Runtime.Serialization", "System.ComponentModel.DataAnnotations", "System.Configuration",
            "System.Security", "Microsoft.CSharp", "System.Management.Automation",
        };

        /// <summary>
        /// What Windows PowerShell 5.1 binds, checked on the published package: every reference of the cmdlet assembly and
        /// of every assembly of dependencies/ (not the PowerShell 7 loader, nor the net10.0 precompiled folder) is either
        /// the platform's, or answered by the 5.1 resolver's logic (<see cref="ModuleInitializer.ResolvePath"/>, with the
        /// requester where it is loaded from) with a shipped file of the same name and public key, of an equal or higher
        /// version. With no binding redirects on 5.1, that resolver is what answers every such version mismatch, so a
        /// dependency bump that drops a file, or ships an older one than another file asks for, fails here.
        /// </summary>
        [Fact]
        public void Every_reference_of_a_shipped_assembly_resolves_for_Windows_PowerShell_to_a_shipped_file_or_the_platform()
        {
            var files = Directory.GetFiles(Dependencies, "*.dll")
                .Where(f => !string.Equals(Path.GetFileName(f), "BackupTools.Isolation.dll", StringComparison.OrdinalIgnoreCase))
                .Prepend(Path.Combine(_package.Directory, "BackupTools.dll")).ToList();
            var problems = new List<string>();
            var checkedEdges = 0;
            foreach (var file in files)
            {
                using var pe = new PEReader(File.OpenRead(file));
                var reader = pe.GetMetadataReader();
                var requesterIsOurs = Path.GetFileName(file) == "BackupTools.dll" || ModuleInitializer.IsOursAt(file, Dependencies);
                foreach (var handle in reader.AssemblyReferences)
                {
                    var reference = reader.GetAssemblyReference(handle).GetAssemblyName();
                    if (NetFrameworkPlatform.Contains(reference.Name)) continue;
                    checkedEdges++;
                    var edge = $"{Path.GetFileName(file)} -> {reference.FullName}";
                    var answer = ModuleInitializer.ResolvePath(Dependencies, reference.FullName, requesterIsOurs);
                    if (answer == null) { problems.Add(edge + ": not shipped, and not the platform's"); continue; }
                    var shipped = AssemblyName.GetAssemblyName(answer);
                    if (!string.Equals(shipped.Name, reference.Name, StringComparison.OrdinalIgnoreCase))
                        problems.Add($"{edge}: answered with {shipped.FullName}");
                    else if (shipped.Version < reference.Version)
                        problems.Add($"{edge}: only {shipped.Version} is shipped");
                    else if (!(reference.GetPublicKeyToken() ?? Array.Empty<byte>()).SequenceEqual(shipped.GetPublicKeyToken() ?? Array.Empty<byte>()))
                        problems.Add($"{edge}: the shipped file has another public key ({shipped.FullName})");
                }
            }
            Assert.True(problems.Count == 0, string.Join("\n", problems));
            // The graph holds the version mismatches the resolver must answer (System.Memory asks for Unsafe 4.0.4.1; 6.0.0.0 ships).
            Assert.True(checkedEdges > 20, $"only {checkedEdges} references checked");
        }

        /// <summary>The platforms whose PowerShell 7.6 gets the engine precompiled (src/BackupTools.Precompiled).</summary>
        public static readonly string[] PrecompiledRuntimes = { "linux-x64", "win-x64", "linux-arm64", "osx-arm64" };

        private static bool IsReadyToRun(string path, out Guid mvid)
        {
            using var stream = File.OpenRead(path);
            using var pe = new PEReader(stream);
            var reader = pe.GetMetadataReader();
            mvid = reader.GetGuid(reader.GetModuleDefinition().Mvid);
            return pe.PEHeaders.CorHeader.ManagedNativeHeaderDirectory.Size > 0;
        }

        [Fact]
        public void The_engine_and_its_loader_are_precompiled_for_PowerShell_7_6_on_each_listed_platform_beside_their_IL()
        {
            foreach (var name in new[] { "BackupTools.Core.dll", "BackupTools.Isolation.dll" })
            {
                // The IL copy stays plain IL: Windows PowerShell 5.1, other runtimes and other platforms load it.
                Assert.False(IsReadyToRun(Path.Combine(Dependencies, name), out var ilMvid), name + " in dependencies/ is precompiled");
                foreach (var rid in PrecompiledRuntimes)
                {
                    var path = Path.Combine(Dependencies, "net10.0", rid, name);
                    Assert.True(File.Exists(path), $"{path} is missing");
                    Assert.True(IsReadyToRun(path, out var mvid), $"{path} holds no native code");
                    Assert.Equal(ilMvid, mvid); // the same build of the same assembly, not a stale copy
                }
            }
        }

        [Fact]
        public void Without_a_precompiled_copy_for_the_platform_the_IL_copies_load_and_work()
        {
            // The package as a platform without a copy (win-arm64, osx-x64) or another runtime sees it.
            var copy = Path.Combine(Path.GetTempPath(), "backuptools-il-only-" + Guid.NewGuid().ToString("N").Substring(0, 8));
            try
            {
                CopyDirectory(_package.Directory, copy);
                Directory.Delete(Path.Combine(copy, "dependencies", "net10.0"), true);
                var (lines, assemblies) = RunPackageHost(copy + Path.DirectorySeparatorChar, "il-only-run");
                Assert.Contains(assemblies, a => a[1] == "BackupTools.Core" && a[3] == "BackupTools" && Path.GetDirectoryName(a[4]) == Path.Combine(copy, "dependencies"));
                Assert.Contains(assemblies, a => a[1] == "BackupTools.Isolation" && Path.GetDirectoryName(a[4]) == Path.Combine(copy, "dependencies"));
                // IL: the methods prepared are compiled by the JIT (the precompiled test's zero is not a measuring artefact).
                var prepared = lines.Single(l => l.StartsWith("PREPARED|")).Split('|');
                Assert.True(int.Parse(prepared[2]) > 0, string.Join("|", prepared));
            }
            finally
            {
                try { Directory.Delete(copy, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }

        /// <summary>
        /// Runs tests/BackupTools.PackageHost on a package (a fresh PowerShell 7.6 process: by default import, a DDS
        /// backup created and waited on the simulator, Remove-Module; see the host for the other scenarios), asserts it
        /// exited cleanly with the backup succeeded and no error, and returns its output lines and the loaded assemblies
        /// (name, version, load context, location).
        /// </summary>
        private (List<string> Lines, List<string[]> Assemblies) RunPackageHost(string packageDirectory, string backupName,
            IDictionary<string, string> environment = null, string scenario = "one-runspace")
        {
            var lines = RunPackageHostLines(packageDirectory, backupName, scenario, environment);
            Assert.Contains("STATE|Succeeded", lines);
            Assert.DoesNotContain(lines, l => l.StartsWith("ERROR|"));
            return (lines, lines.Where(l => l.StartsWith("ASM|")).Select(l => l.Split('|')).ToList());
        }

        /// <summary>Runs tests/BackupTools.PackageHost and returns its output lines, asserting only that it exited cleanly.</summary>
        private List<string> RunPackageHostLines(string packageDirectory, string backupName, string scenario, IDictionary<string, string> environment = null)
        {
            var host = Path.Combine(ContractTests.RepoRoot(), "tests", "BackupTools.PackageHost", "bin", PackageFixture.Configuration, "net10.0", "BackupTools.PackageHost.dll");
            Assert.True(File.Exists(host), host);
            _simulator.Sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            var (code, output) = PackageFixture.Run(PackageFixture.DotnetHost(),
                $"\"{host}\" \"{packageDirectory}\" {_simulator.Sim.BaseAddress} {backupName} {scenario}", TimeSpan.FromMinutes(2), environment);
            Assert.True(code == 0, output);
            return output.Split('\n').Select(l => l.Trim()).ToList();
        }

        private static string UniqueName(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N").Substring(0, 8);

        [Fact]
        public void Remove_Module_in_one_runspace_leaves_the_cmdlets_working_in_another()
        {
            // Runspace B first uses the cmdlets after A removed the module, when PowerShell resolves their [OutputType]
            // names by assembly name: with the engine's hook removed that failed with FileNotFoundException.
            var lines = RunPackageHostLines(_package.Directory, UniqueName("other-runspace"), "remove-in-other-runspace");
            Assert.Contains("REMOVED|True", lines);
            Assert.Contains("STATE|Succeeded", lines);
            // Type names are the next test's.
            Assert.DoesNotContain(lines, l => l.StartsWith("ERROR|") && !l.StartsWith("ERROR|TypeNotFound|"));
        }

        [Fact]
        public void Remove_Module_in_one_runspace_leaves_the_type_names_in_another()
        {
            var lines = RunPackageHostLines(_package.Directory, UniqueName("other-runspace-types"), "remove-in-other-runspace");
            Assert.Contains("REMOVED|True", lines);
            Assert.Contains("TYPE|DDS", lines);
            Assert.DoesNotContain(lines, l => l.StartsWith("ERROR|TypeNotFound"));
        }

        [Fact]
        public void ForEach_Object_Parallel_blocks_that_import_and_remove_the_module_leave_it_working_for_the_caller()
        {
            var (lines, _) = RunPackageHost(_package.Directory, UniqueName("parallel-remove"), scenario: "parallel-remove");
            Assert.Contains("PARALLEL|1", lines);
            Assert.Contains("PARALLEL|2", lines);
            Assert.Contains("TYPE|DDS", lines);
        }

        [Fact]
        public void Importing_again_after_Remove_Module_or_with_Force_reuses_the_engine_already_loaded()
        {
            var (lines, assemblies) = RunPackageHost(_package.Directory, UniqueName("reimport"), scenario: "reimport");
            Assert.Equal(3, lines.Count(l => l == "STATE|Succeeded"));
            Assert.Contains(lines, l => l.StartsWith("PROVIDERS|") && l != "PROVIDERS|0");
            // A second import used to build a second load context, into which a cmdlet's first use after it loaded a
            // second copy of the engine.
            Assert.Single(assemblies, a => a[1] == "BackupTools.Core");
        }

        private static void CopyDirectory(string from, string to)
        {
            Directory.CreateDirectory(to);
            foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
            foreach (var dir in Directory.GetDirectories(from)) CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
        }

        [Theory]
        [InlineData(10, 0, "linux", System.Runtime.InteropServices.Architecture.X64, "net10.0/linux-x64")]
        [InlineData(10, 0, "win", System.Runtime.InteropServices.Architecture.X64, "net10.0/win-x64")]
        [InlineData(10, 0, "osx", System.Runtime.InteropServices.Architecture.Arm64, "net10.0/osx-arm64")]
        [InlineData(8, 0, "win", System.Runtime.InteropServices.Architecture.Arm64, "net8.0/win-arm64")]
        [InlineData(9, 0, "linux", System.Runtime.InteropServices.Architecture.X86, "net9.0/linux-x86")]
        [InlineData(10, 0, null, System.Runtime.InteropServices.Architecture.X64, null)]
        public void The_loader_looks_for_the_copy_of_its_runtime_major_version_OS_and_architecture(int major, int minor, string os,
            System.Runtime.InteropServices.Architecture architecture, string expected)
        {
            var folder = ModuleInitializer.PrecompiledFolder(new Version(major, minor, 12), os, architecture);
            Assert.Equal(expected, folder?.Replace(Path.DirectorySeparatorChar, '/'));
        }

        [Theory]
        [InlineData(false, "3.1.32", true)]  // PowerShell 7.0
        [InlineData(false, "7.0.20", true)]  // PowerShell 7.3
        [InlineData(false, "8.0.11", false)] // PowerShell 7.4
        [InlineData(false, "10.0.1", false)] // PowerShell 7.6
        [InlineData(true, "4.0.30319", false)] // Windows PowerShell 5.1
        public void PowerShell_before_7_4_is_told_what_it_needs_at_import(bool windowsPowerShell, string runtime, bool refused)
        {
            var why = ModuleInitializer.UnsupportedRuntime(windowsPowerShell, Version.Parse(runtime));
            Assert.Equal(refused, why != null);
            if (refused) Assert.Contains("PowerShell 7.4 or later", why);
        }

        [Fact]
        public void Every_assembly_the_core_needs_is_in_dependencies_or_the_framework()
        {
            var shipped = Directory.GetFiles(Dependencies, "*.dll").ToDictionary(f => Path.GetFileNameWithoutExtension(f), StringComparer.OrdinalIgnoreCase);
            // netstandard2.0 facades and the framework itself come from the runtime (both .NET Framework 4.7.2 and .NET 8+ provide them).
            var framework = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "netstandard", "mscorlib", "System", "System.Core", "System.Net.Http", "System.Runtime", "System.Xml", "System.Numerics", "System.ComponentModel.DataAnnotations", "System.Data", "System.Drawing" };
            var missing = new List<string>();
            var queue = new Queue<string>(new[] { "BackupTools.Core" });
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            while (queue.Count > 0)
            {
                var name = queue.Dequeue();
                if (!seen.Add(name) || !shipped.TryGetValue(name, out var path)) continue;
                using var stream = File.OpenRead(path);
                using var pe = new PEReader(stream);
                var reader = pe.GetMetadataReader();
                foreach (var handle in reader.AssemblyReferences)
                {
                    var reference = reader.GetString(reader.GetAssemblyReference(handle).Name);
                    if (shipped.ContainsKey(reference)) queue.Enqueue(reference);
                    else if (!framework.Contains(reference) && !reference.StartsWith("System.", StringComparison.Ordinal) && !reference.StartsWith("Microsoft.Win32", StringComparison.Ordinal))
                        missing.Add($"{name} -> {reference}");
                }
            }
            Assert.Empty(missing);
            Assert.Contains("Microsoft.Extensions.Options", seen);
        }

        [Fact]
        public void No_third_party_type_appears_in_a_cmdlet_signature_attribute_or_field()
        {
            static bool Ours(Type t) =>
                t.Assembly == typeof(BackupCmdletBase).Assembly || t.Assembly == typeof(BackupJob).Assembly ||
                t.Assembly == typeof(PSCmdlet).Assembly || t.Assembly == typeof(object).Assembly ||
                (t.Namespace ?? string.Empty).StartsWith("System", StringComparison.Ordinal) && !(t.Namespace ?? string.Empty).StartsWith("System.Text.Json", StringComparison.Ordinal);
            var offenders = new List<string>();
            foreach (var type in typeof(BackupCmdletBase).Assembly.GetTypes())
            {
                const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
                foreach (var p in type.GetProperties(all).Where(p => !Ours(p.PropertyType))) offenders.Add($"{type.Name}.{p.Name}: {p.PropertyType}");
                foreach (var f in type.GetFields(all).Where(f => !Ours(f.FieldType))) offenders.Add($"{type.Name}.{f.Name}: {f.FieldType}");
                foreach (var a in type.GetCustomAttributes(true).Select(a => a.GetType()).Where(t => !Ours(t))) offenders.Add($"{type.Name} [{a}]");
                foreach (var m in type.GetMethods(all))
                foreach (var t in m.GetParameters().Select(p => p.ParameterType).Append(m.ReturnType).Where(t => !t.IsGenericType && !Ours(t)))
                    offenders.Add($"{type.Name}.{m.Name}: {t}");
            }
            Assert.Empty(offenders);
        }

        [Fact]
        public void Another_module_s_older_Polly_Core_of_the_same_assembly_version_is_not_used_in_place_of_the_module_s()
        {
            // Polly.Core keeps assembly version 8.0.0.0 in every 8.x release: the host's 8.1.0 looked as good as the
            // module's 8.9.1 by assembly version and was used instead (here the create then failed: that Polly's own
            // dependency, Microsoft.Bcl.AsyncInterfaces 6.0, is nowhere the default context looks). A 503 to the
            // create makes the module repeat it, which is when it loads Polly.
            _simulator.Sim.Faults.Add(new BackupTools.Simulator.FaultRule { Provider = "DDS", Method = "POST", StatusCode = 503, RetryAfter = "0" });
            try
            {
                var (lines, assemblies) = RunPackageHost(_package.Directory, UniqueName("older-polly"), scenario: "older-polly");
                Assert.Contains(lines, l => l.StartsWith("OTHER|Polly.Core|8.0.0.0|8.1.0"));
                Assert.Contains(assemblies, a => a[1] == "Polly.Core" && a[3] == "BackupTools" && a[4] == Path.Combine(Dependencies, "Polly.Core.dll"));
                Assert.DoesNotContain(assemblies, a => a[1] == "Polly.Core" && a[3] == "Default" && a[4] == Path.Combine(Dependencies, "Polly.Core.dll"));
            }
            finally
            {
                _simulator.Sim.Faults.Clear();
            }
        }

        [Fact]
        public void The_module_uses_PowerShell_s_own_System_Text_Json()
        {
            // PowerShell 7.6's runtime carries System.Text.Json 10.0, which satisfies the module's 8.0: its copy serves
            // the module, none is loaded from the package.
            var (_, assemblies) = RunPackageHost(_package.Directory, UniqueName("platform-json"));
            var runtimeDirectory = System.Runtime.InteropServices.RuntimeEnvironment.GetRuntimeDirectory().TrimEnd(Path.DirectorySeparatorChar);
            Assert.Contains(assemblies, a => a[1] == "System.Text.Json" && a[3] == "Default" && Path.GetDirectoryName(a[4]) == runtimeDirectory);
            Assert.DoesNotContain(assemblies, a => a[1] == "System.Text.Json" && a[3] != "Default");
        }

        [Fact]
        public void Next_to_a_conflicting_Microsoft_Extensions_Http_a_backup_is_created_and_waited_in_a_fresh_PowerShell()
        {
            // The runtime lists every method it JIT-compiles in the process (a feature of release runtimes since .NET 7).
            var jitList = Path.Combine(Path.GetTempPath(), "backuptools-jit-" + Guid.NewGuid().ToString("N") + ".txt");
            var (lines, assemblies) = RunPackageHost(_package.Directory, "isolated-run",
                new Dictionary<string, string> { ["DOTNET_JitStdOutFile"] = jitList, ["DOTNET_JitDisasmSummary"] = "1" });
            Assert.Contains("CONFLICT|8.0.0.0", lines);
            // The output types can be named right after Import-Module (a user's Pester mock builds a job so).
            Assert.Contains("TYPE|DDS", lines);
            // The host's conflicting copy stays where it was; the module's copy lives in the module's own context.
            // (The module's HTTP pipeline needs Microsoft.Extensions.Http's IHttpClientFactory, not its DI-hosted
            // default factory, so the options library under it is not loaded by the module at all.)
            Assert.Contains(assemblies, a => a[1] == "Microsoft.Extensions.Http" && a[2] == "8.0.0.0" && a[3] == "Default");
            Assert.Contains(assemblies, a => a[1] == "Microsoft.Extensions.Http" && a[2] == "9.0.0.0" && a[3] == "BackupTools");
            Assert.Contains(assemblies, a => a[1] == "Microsoft.Extensions.Options" && a[2] == "8.0.0.0" && a[3] == "Default");
            Assert.Contains(assemblies, a => a[1] == "BackupTools.Core" && a[3] == "BackupTools");
            // No Microsoft.Extensions.* from the module folder in the default context.
            Assert.DoesNotContain(assemblies, a => a[1].StartsWith("Microsoft.Extensions.") && a[3] == "Default" && a[4].StartsWith(_package.Directory.TrimEnd('/', '\\')));
            // Every first attempt succeeded, so the retry library was never loaded (no Polly type on that path).
            Assert.DoesNotContain(assemblies, a => a[1] == "Polly.Core");
            // PowerShell 7.6 runs on .NET 10: where the package holds the engine precompiled for this platform, the
            // engine and its loader come from there, and their code runs without the JIT (methods never called before
            // are prepared without one compile); elsewhere the IL copies are loaded.
            var rid = (OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsLinux() ? "linux" : OperatingSystem.IsMacOS() ? "osx" : "other") + "-" +
                      RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
            var expectedFolder = PrecompiledRuntimes.Contains(rid) && Environment.Version.Major == 10
                ? Path.Combine(Dependencies, "net10.0", rid) : Dependencies;
            Assert.Contains(assemblies, a => a[1] == "BackupTools.Core" && Path.GetDirectoryName(a[4]) == expectedFolder.TrimEnd(Path.DirectorySeparatorChar));
            Assert.Contains(assemblies, a => a[1] == "BackupTools.Isolation" && Path.GetDirectoryName(a[4]) == expectedFolder.TrimEnd(Path.DirectorySeparatorChar));
            var prepared = lines.Single(l => l.StartsWith("PREPARED|")).Split('|');
            Assert.True(int.Parse(prepared[1]) > 5, string.Join("|", prepared));
            if (expectedFolder != Dependencies) Assert.Equal("0", prepared[2]);
            string[] jitted;
            try { jitted = File.ReadAllLines(jitList); }
            finally { File.Delete(jitList); }
            Assert.Contains(jitted, l => l.Contains("BackupTools.Commands.ModuleInitializer:OnImport")); // the list is real: the IL cmdlet assembly is in it
            if (expectedFolder != Dependencies)
            {
                // Nor was anything of the core JIT-compiled on the way: neither its own methods nor the async plumbing
                // over its state machines (the core's own builder and awaiters, which the precompiled copy carries).
                // One exception, measured: the box of Resilience.ExecuteAsync<T>, a generic method, whose exact type
                // ReadyToRun cannot foresee.
                // Tier 1 lines ("Tier1", "Instrumented Tier1", "Tier1-OSR") are precompiled methods recompiled because
                // they ran hot, which is not what this is about and depends on the machine's timing.
                var core = jitted.Where(l => !l.Contains("Tier1"))
                    .Select(l => l.Split(new[] { "JIT compiled " }, StringSplitOptions.None).Last().Split('(')[0])
                    .Where(m => m.Contains("BackupTools.") && !m.StartsWith("BackupTools.Commands.", StringComparison.Ordinal))
                    .Where(m => !m.StartsWith("BackupTools.Async.CoreTaskBox`2[System.__Canon,BackupTools.Http.Resilience+<ExecuteAsync>", StringComparison.Ordinal))
                    .ToList();
                Assert.Empty(core);
            }
        }
    }
}
