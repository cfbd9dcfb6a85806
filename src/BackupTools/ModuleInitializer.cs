using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;
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

        internal static string DependencyDirectory =>
            Path.Combine(Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location) ?? ".", "dependencies");

        internal static bool IsWindowsPowerShell =>
            RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.OrdinalIgnoreCase);

        /// <inheritdoc />
        public void OnImport()
        {
            lock (Gate)
            {
                if (_hooked || !Directory.Exists(DependencyDirectory)) return;
                if (IsWindowsPowerShell) AppDomain.CurrentDomain.AssemblyResolve += ResolveForWindowsPowerShell;
                else IsolationCall("Install", DependencyDirectory);
                _hooked = true;
            }
        }

        /// <inheritdoc />
        public void OnRemove(PSModuleInfo psModuleInfo)
        {
            lock (Gate)
            {
                if (!_hooked) return;
                if (IsWindowsPowerShell) AppDomain.CurrentDomain.AssemblyResolve -= ResolveForWindowsPowerShell;
                else IsolationCall("Uninstall");
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
