using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BackupTools.Commands
{
    /// <summary>
    /// Keeps the module's dependencies from colliding with other modules'. The packaged module holds only this
    /// assembly in its root and everything else in <c>dependencies/</c>. On PowerShell 7 the engine assembly
    /// (BackupTools.Core) and its dependencies load into a private load context (BackupTools.Isolation), which defers
    /// to PowerShell's own copy of an assembly only when that copy satisfies the request. On Windows PowerShell 5.1 an
    /// AssemblyResolve handler answers the requests of this module's own assemblies from <c>dependencies/</c>, for any
    /// version asked: the module's stand-in for binding redirects. In the development layout (no dependencies folder)
    /// nothing is hooked.
    /// </summary>
    /// <remarks>
    /// The hook (and on PowerShell 7 the type accelerators) are set up by the first import in the process and stay for
    /// its life; there is no <see cref="IModuleAssemblyCleanup"/>. PowerShell calls OnRemove for each runspace's
    /// Remove-Module (a <c>ForEach-Object -Parallel</c> block's too), but the hook and the accelerators are
    /// process-wide: undone there, they broke the module in every other runspace that still had it (a cmdlet's first
    /// use failed to find BackupTools.Core, <c>[BackupTools.BackupJob]</c> was no longer a type; on Windows PowerShell
    /// 5.1 the other runspaces lost the handler that stands in for binding redirects), and the next import loaded a
    /// second copy of the engine. Keeping them costs nothing and loses nothing: the engine cannot be unloaded anyway,
    /// and its types stay nameable after Remove-Module as they do on Windows PowerShell 5.1, and on PowerShell 7 for
    /// any module whose types live in the default load context.
    /// </remarks>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer
    {
        private static readonly object Gate = new object();
        private static bool _hooked;

        internal static string DependencyDirectory =>
            Path.Combine(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location) ?? ".", "dependencies");

        /// <summary>
        /// Where the build put the engine and its loader precompiled (ReadyToRun) for this runtime and platform, for
        /// example <c>dependencies/net10.0/linux-x64</c>; null when it put none (Windows PowerShell 5.1, a runtime or
        /// platform without a copy), and the IL copies in <c>dependencies/</c> are loaded and compiled as they run.
        /// </summary>
        internal static string PrecompiledDirectory
        {
            get
            {
                if (IsWindowsPowerShell) return null;
                var folder = PrecompiledFolder(Environment.Version, RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "win"
                    : RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? "linux" : RuntimeInformation.IsOSPlatform(OSPlatform.OSX) ? "osx" : null,
                    RuntimeInformation.ProcessArchitecture);
                if (folder == null) return null;
                var path = Path.Combine(DependencyDirectory, folder);
                return File.Exists(Path.Combine(path, "BackupTools.Core.dll")) && File.Exists(Path.Combine(path, "BackupTools.Isolation.dll")) ? path : null;
            }
        }

        /// <summary>The folder, under dependencies/, of copies precompiled for a runtime version, OS and architecture
        /// (ReadyToRun code serves only the runtime major version and platform it was compiled for).</summary>
        internal static string PrecompiledFolder(Version runtime, string os, Architecture architecture)
        {
            if (runtime == null || os == null) return null;
            string arch;
            switch (architecture)
            {
                case Architecture.X64: arch = "x64"; break;
                case Architecture.Arm64: arch = "arm64"; break;
                case Architecture.X86: arch = "x86"; break;
                case Architecture.Arm: arch = "arm"; break;
                default: return null;
            }
            return Path.Combine("net" + runtime.Major + ".0", os + "-" + arch);
        }

        internal static bool IsWindowsPowerShell =>
            RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.OrdinalIgnoreCase);

        /// <inheritdoc />
        public void OnImport()
        {
            // The manifest's PowerShellVersion (5.1) lets PowerShell 7.0 to 7.3 import too, where the loader (built for
            // .NET 8) failed with a bare "could not load file or assembly": say what is needed instead.
            if (UnsupportedRuntime(IsWindowsPowerShell, Environment.Version) is string unsupported)
                throw new PlatformNotSupportedException(unsupported);
            lock (Gate)
            {
                if (!_hooked && Directory.Exists(DependencyDirectory))
                {
                    if (IsWindowsPowerShell) AppDomain.CurrentDomain.AssemblyResolve += ResolveForWindowsPowerShell;
                    else
                    {
                        var loaderDirectory = PrecompiledDirectory;
                        IsolationCall(loaderDirectory, "Install", DependencyDirectory,
                            Path.Combine(loaderDirectory ?? DependencyDirectory, "BackupTools.Core.dll"));
                    }
                    _hooked = true;
                    // PowerShell 7 resolves type names only in the default load context, where the core is not:
                    // make the public types nameable ([BackupTools.BackupJob]) as type accelerators of their full names.
                    if (!IsWindowsPowerShell) AddAccelerators();
                }
            }
            LoadOutputTypes();
        }

        /// <summary>Why this runtime cannot run the module (PowerShell 7 before 7.4, on .NET before 8), or null.</summary>
        internal static string UnsupportedRuntime(bool windowsPowerShell, Version runtime) =>
            windowsPowerShell || runtime.Major >= 8
                ? null
                : $"BackupTools needs PowerShell 7.4 or later (or Windows PowerShell 5.1); this PowerShell runs on .NET {runtime}, which is PowerShell 7.3 or earlier. Install PowerShell 7.4 or later: https://aka.ms/powershell";

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void AddAccelerators()
        {
            var accelerators = typeof(PSObject).Assembly.GetType("System.Management.Automation.TypeAccelerators");
            var method = accelerators?.GetMethod("Add", new[] { typeof(string), typeof(Type) });
            if (method == null || method.ReturnType != typeof(void)) return;
            // A delegate, not MethodInfo.Invoke: reflection would emit and compile an invoke stub.
            var add = (Action<string, Type>)Delegate.CreateDelegate(typeof(Action<string, Type>), method);
            foreach (var type in typeof(BackupJob).Assembly.GetExportedTypes())
                if (type.Namespace == "BackupTools" && !type.IsNested) add(type.FullName, type);
        }

        // The output types ([BackupTools.BackupJob], …) live in the core: load it now (a few milliseconds, no other
        // work) so scripts can name them right after Import-Module, for example to build a job in a Pester mock.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void LoadOutputTypes() => GC.KeepAlive(typeof(BackupJob).Assembly);

        // The loader targets .NET 8 (AssemblyLoadContext is not in netstandard2.0), so it is reached by reflection
        // (its precompiled copy when there is one).
        private static void IsolationCall(string precompiledDirectory, string method, params object[] args)
        {
            var loader = Assembly.LoadFrom(Path.Combine(precompiledDirectory ?? DependencyDirectory, "BackupTools.Isolation.dll"));
            var type = loader.GetType("BackupTools.Isolation.ModuleIsolation", throwOnError: true);
            var types = Array.ConvertAll(args, a => a.GetType());
            type.GetMethod(method, types).Invoke(null, args);
        }

        private static Assembly ResolveForWindowsPowerShell(object sender, ResolveEventArgs args) =>
            ResolveFrom(DependencyDirectory, args.Name, args.RequestingAssembly);

        /// <summary>
        /// Windows PowerShell 5.1's answer to a failed load: an assembly of <paramref name="dependencyDirectory"/>, in
        /// whatever version was asked, when the request comes from this module (the cmdlet assembly or an assembly of
        /// that folder), or names the core with no requester (the engine resolving a type name); otherwise null, so
        /// other modules' requests are left to them.
        /// </summary>
        internal static Assembly ResolveFrom(string dependencyDirectory, string requestedName, Assembly requestingAssembly)
        {
            var path = ResolvePath(dependencyDirectory, requestedName,
                requestingAssembly == null ? null : (bool?)IsOurs(requestingAssembly, dependencyDirectory));
            return path == null ? null : Assembly.LoadFrom(path);
        }

        /// <summary>
        /// The file <see cref="ResolveFrom"/> answers with, without loading it: <paramref name="requestFromUs"/> says
        /// whether the requester is this module's (the cmdlet assembly or a file of the folder, see <see cref="IsOursAt"/>),
        /// or is null when there is no requester.
        /// </summary>
        internal static string ResolvePath(string dependencyDirectory, string requestedName, bool? requestFromUs)
        {
            AssemblyName name;
            try
            {
                name = new AssemblyName(requestedName);
            }
            catch (Exception ex) when (ex is ArgumentException || ex is FileLoadException)
            {
                return null; // not a name at all: nothing of ours
            }
            var fromUs = requestFromUs ?? string.Equals(name.Name, "BackupTools.Core", StringComparison.OrdinalIgnoreCase);
            if (!fromUs || string.IsNullOrEmpty(name.Name) || name.Name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0) return null;
            var path = Path.Combine(dependencyDirectory, name.Name + ".dll");
            return File.Exists(path) ? path : null;
        }

        private static bool IsOurs(Assembly assembly, string dependencyDirectory)
        {
            if (assembly == typeof(ModuleInitializer).Assembly) return true;
            if (assembly.IsDynamic) return false;
            return IsOursAt(assembly.Location, dependencyDirectory);
        }

        /// <summary>True for an assembly loaded from <paramref name="location"/> in the dependencies folder itself.</summary>
        internal static bool IsOursAt(string location, string dependencyDirectory) =>
            !string.IsNullOrEmpty(location) &&
            string.Equals(Path.GetDirectoryName(location), dependencyDirectory.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar),
                StringComparison.OrdinalIgnoreCase);
    }
}
