using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;

namespace BackupTools.Isolation
{
    /// <summary>
    /// The module's private load context (PowerShell 7). It serves every assembly in the module's
    /// <c>dependencies/</c> folder, except where the host's own copy satisfies the request (same name and public key,
    /// equal or higher version): then the host's copy is used, as it would be without the module. Assemblies the module
    /// does not ship (the runtime, PowerShell) always come from the host.
    /// </summary>
    public sealed class DependencyLoadContext : AssemblyLoadContext
    {
        private readonly string _directory;
        private readonly AssemblyLoadContext _host;
        private readonly Func<AssemblyName, bool> _platformHas;

        /// <param name="directory">The module's dependencies folder.</param>
        /// <param name="host">The context PowerShell runs in (the default context; a test passes its own).</param>
        /// <param name="platformHas">Whether the host can load the assembly from its platform list in at least that version.</param>
        public DependencyLoadContext(string directory, AssemblyLoadContext host, Func<AssemblyName, bool> platformHas)
            : base("BackupTools", isCollectible: false)
        {
            _directory = directory;
            _host = host;
            _platformHas = platformHas;
        }

        /// <summary>Where each request was answered from, for tests and diagnostics.</summary>
        public IDictionary<string, string> Decisions { get; } = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();

        /// <inheritdoc />
        protected override Assembly Load(AssemblyName name)
        {
            var path = Path.Combine(_directory, name.Name + ".dll");
            if (!File.Exists(path))
            {
                Decisions[name.Name] = "host (not shipped)";
                return _host == Default ? null : _host.LoadFromAssemblyName(name);
            }
            if (HostSatisfies(name))
            {
                Decisions[name.Name] = "host (its copy satisfies " + name.Version + ")";
                return _host == Default ? null : _host.LoadFromAssemblyName(name);
            }
            Decisions[name.Name] = "module";
            return LoadFromAssemblyPath(path);
        }

        private bool HostSatisfies(AssemblyName requested)
        {
            var loaded = _host.Assemblies.Select(a => a.GetName()).FirstOrDefault(a => string.Equals(a.Name, requested.Name, StringComparison.OrdinalIgnoreCase));
            if (loaded != null) return Satisfies(loaded, requested);
            return _platformHas(requested);
        }

        /// <summary>Same name and public key token, and a version at least the requested one.</summary>
        public static bool Satisfies(AssemblyName candidate, AssemblyName requested)
        {
            if (!string.Equals(candidate.Name, requested.Name, StringComparison.OrdinalIgnoreCase)) return false;
            var a = candidate.GetPublicKeyToken() ?? Array.Empty<byte>();
            var b = requested.GetPublicKeyToken() ?? Array.Empty<byte>();
            if (!a.SequenceEqual(b)) return false;
            return (candidate.Version ?? new Version()) >= (requested.Version ?? new Version());
        }

        /// <summary>Whether the runtime's trusted platform assemblies (the runtime and PowerShell's own folder) hold the assembly in at least that version.</summary>
        public static bool TrustedPlatformHas(AssemblyName requested)
        {
            var list = AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string;
            if (string.IsNullOrEmpty(list)) return false;
            foreach (var file in list.Split(Path.PathSeparator))
            {
                if (!string.Equals(Path.GetFileNameWithoutExtension(file), requested.Name, StringComparison.OrdinalIgnoreCase)) continue;
                try
                {
                    return Satisfies(AssemblyName.GetAssemblyName(file), requested);
                }
                catch (Exception ex) when (ex is IOException || ex is BadImageFormatException)
                {
                    return false;
                }
            }
            return false;
        }
    }

    /// <summary>Installs and removes the hook that sends the module's engine assembly to its private context.</summary>
    public static class ModuleIsolation
    {
        private static readonly object Gate = new object();
        private static DependencyLoadContext _context;
        private static Func<AssemblyLoadContext, AssemblyName, Assembly> _handler;

        /// <summary>The module's engine assembly: the one entry point resolved into the private context.</summary>
        public const string EngineAssembly = "BackupTools.Core";

        /// <summary>The private context, once installed.</summary>
        public static DependencyLoadContext Context => _context;

        /// <summary>Hooks the default context's Resolving event (idempotent).</summary>
        public static void Install(string dependencyDirectory) =>
            Install(dependencyDirectory, AssemblyLoadContext.Default, DependencyLoadContext.TrustedPlatformHas);

        /// <summary>Hooks <paramref name="host"/>'s Resolving event; tests pass their own host context.</summary>
        public static DependencyLoadContext Install(string dependencyDirectory, AssemblyLoadContext host, Func<AssemblyName, bool> platformHas)
        {
            lock (Gate)
            {
                if (_context != null) return _context;
                var context = new DependencyLoadContext(dependencyDirectory, host, platformHas);
                var engine = Path.Combine(dependencyDirectory, EngineAssembly + ".dll");
                _handler = (alc, name) =>
                    string.Equals(name.Name, EngineAssembly, StringComparison.OrdinalIgnoreCase) && File.Exists(engine)
                        ? context.LoadFromAssemblyPath(engine)
                        : null;
                host.Resolving += _handler;
                _context = context;
                return context;
            }
        }

        /// <summary>Unhooks (Remove-Module). Assemblies already loaded stay, as .NET cannot unload them from a non-collectible context.</summary>
        public static void Uninstall() => Uninstall(AssemblyLoadContext.Default);

        /// <summary>Unhooks from <paramref name="host"/>.</summary>
        public static void Uninstall(AssemblyLoadContext host)
        {
            lock (Gate)
            {
                if (_handler != null) host.Resolving -= _handler;
                _handler = null;
                _context = null;
            }
        }
    }
}
