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
    public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
    {
        private static readonly object Gate = new object();
        private static bool _hooked;
        private static string[] _accelerators = new string[0];

        internal static string DependencyDirectory =>
            Path.Combine(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location) ?? ".", "dependencies");

        internal static bool IsWindowsPowerShell =>
            RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.OrdinalIgnoreCase);

        /// <inheritdoc />
        public void OnImport()
        {
            lock (Gate)
            {
                if (!_hooked && Directory.Exists(DependencyDirectory))
                {
                    if (IsWindowsPowerShell) AppDomain.CurrentDomain.AssemblyResolve += ResolveForWindowsPowerShell;
                    else IsolationCall("Install", DependencyDirectory);
                    _hooked = true;
                    // PowerShell 7 resolves type names only in the default load context, where the core is not:
                    // make the public types nameable ([BackupTools.BackupJob]) as type accelerators of their full names.
                    if (!IsWindowsPowerShell) _accelerators = AddAccelerators();
                }
            }
            LoadOutputTypes();
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static string[] AddAccelerators()
        {
            var accelerators = typeof(PSObject).Assembly.GetType("System.Management.Automation.TypeAccelerators");
            var add = accelerators?.GetMethod("Add", new[] { typeof(string), typeof(Type) });
            if (add == null) return new string[0];
            var names = new System.Collections.Generic.List<string>();
            foreach (var type in typeof(BackupJob).Assembly.GetExportedTypes())
            {
                if (type.Namespace != "BackupTools" || type.IsNested) continue;
                add.Invoke(null, new object[] { type.FullName, type });
                names.Add(type.FullName);
            }
            return names.ToArray();
        }

        private static void RemoveAccelerators()
        {
            var remove = typeof(PSObject).Assembly.GetType("System.Management.Automation.TypeAccelerators")?.GetMethod("Remove", new[] { typeof(string) });
            if (remove != null)
                foreach (var name in _accelerators) remove.Invoke(null, new object[] { name });
            _accelerators = new string[0];
        }

        // The output types ([BackupTools.BackupJob], …) live in the core: load it now (a few milliseconds, no other
        // work) so scripts can name them right after Import-Module, for example to build a job in a Pester mock.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void LoadOutputTypes() => GC.KeepAlive(typeof(BackupJob).Assembly);

        /// <inheritdoc />
        public void OnRemove(PSModuleInfo psModuleInfo)
        {
            lock (Gate)
            {
                if (!_hooked) return;
                if (IsWindowsPowerShell) AppDomain.CurrentDomain.AssemblyResolve -= ResolveForWindowsPowerShell;
                else
                {
                    RemoveAccelerators();
                    IsolationCall("Uninstall");
                }
                _hooked = false;
            }
        }

        // The loader targets .NET 8 (AssemblyLoadContext is not in netstandard2.0), so it is reached by reflection.
        private static void IsolationCall(string method, params object[] args)
        {
            var loader = Assembly.LoadFrom(Path.Combine(DependencyDirectory, "BackupTools.Isolation.dll"));
            var type = loader.GetType("BackupTools.Isolation.ModuleIsolation", throwOnError: true);
            var types = Array.ConvertAll(args, a => a.GetType());
            type.GetMethod(method, types).Invoke(null, args);
        }

        private static Assembly ResolveForWindowsPowerShell(object sender, ResolveEventArgs args)
        {
            var name = new AssemblyName(args.Name);
            var fromUs = args.RequestingAssembly != null
                ? IsOurs(args.RequestingAssembly)
                : string.Equals(name.Name, "BackupTools.Core", StringComparison.OrdinalIgnoreCase);
            if (!fromUs) return null;
            var path = Path.Combine(DependencyDirectory, name.Name + ".dll");
            return File.Exists(path) ? Assembly.LoadFrom(path) : null;
        }

        private static bool IsOurs(Assembly assembly)
        {
            if (assembly == typeof(ModuleInitializer).Assembly) return true;
            if (assembly.IsDynamic) return false;
            var location = assembly.Location;
            return !string.IsNullOrEmpty(location) &&
                   string.Equals(Path.GetDirectoryName(location), DependencyDirectory, StringComparison.OrdinalIgnoreCase);
        }
    }
}
