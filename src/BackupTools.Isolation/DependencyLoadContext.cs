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
    /// <c>dependencies/</c> folder, except where the platform (the runtime and PowerShell's own folder) provides the
    /// assembly in a version that satisfies the request (same name and public key, equal or higher version): then
    /// PowerShell's copy is used, as it would be without the module. What another module brought into the process is
    /// never used in place of the module's copy, even in an equal assembly version: libraries such as Polly.Core keep
    /// one assembly version (8.0.0.0) across all their releases, so an equal version says nothing about the code.
    /// Assemblies the module does not ship (the runtime, PowerShell) always come from the host.
    /// </summary>
    public sealed class DependencyLoadContext : AssemblyLoadContext
    {
        private readonly string _directory;
        private readonly AssemblyLoadContext _host;
        private readonly Func<AssemblyName, bool> _platformHas;

        /// <param name="directory">The module's dependencies folder.</param>
        /// <param name="host">The context PowerShell runs in (the default context; a test passes its own).</param>
        /// <param name="platformHas">Whether the platform (the runtime and PowerShell itself) provides the assembly in at least that version.</param>
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
            if (_platformHas(name))
            {
                Decisions[name.Name] = "host (the platform's copy satisfies " + name.Version + ")";
                return _host == Default ? null : _host.LoadFromAssemblyName(name);
            }
            Decisions[name.Name] = "module";
            return LoadFromAssemblyPath(path);
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
        /// <remarks>
        /// The listed assembly is loaded into the default context and its name read there, rather than its file's
        /// metadata read (<see cref="AssemblyName.GetAssemblyName"/>): the default context loads that very file by
        /// simple name whenever anything asks for it, and when it satisfies the request (the usual case: System.Text.Json
        /// in PowerShell 7) that load is the one the module needs anyway, where reading the file cost 4 to 6 ms of the
        /// first call. When it does not satisfy the request the module loads its own copy, and the host's stays loaded,
        /// unused, as the host would load it on its own first use.
        /// </remarks>
        public static bool TrustedPlatformHas(AssemblyName requested)
        {
            if (requested.Name == null || !TrustedPlatformFiles.Value.ContainsKey(requested.Name)) return false;
            try
            {
                return Satisfies(Default.LoadFromAssemblyName(new AssemblyName(requested.Name)).GetName(), requested);
            }
            catch (Exception ex) when (ex is IOException || ex is BadImageFormatException)
            {
                return false;
            }
        }

        // The list is fixed for the life of the process: split it once (the first of each name wins, as before).
        private static readonly Lazy<Dictionary<string, string>> TrustedPlatformFiles = new Lazy<Dictionary<string, string>>(() =>
        {
            var files = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is string list)
                foreach (var file in list.Split(Path.PathSeparator))
                {
                    var name = Path.GetFileNameWithoutExtension(file);
                    if (!string.IsNullOrEmpty(name) && !files.ContainsKey(name)) files[name] = file;
                }
            return files;
        });
    }

    /// <summary>
    /// Installs, once per process, the hook that sends the module's engine assembly to its private context. There is
    /// no uninstall: the engine loaded through the hook cannot be unloaded, every runspace that imported the module
    /// runs on it, and PowerShell asks for the engine by name again whenever a runspace first uses a cmdlet (it
    /// re-resolves the [OutputType] type names), so the hook must answer for as long as any runspace has the module,
    /// which a per-runspace Remove-Module cannot tell. A later Import-Module in the same process finds it installed and
    /// gets the same context and engine.
    /// </summary>
    public static class ModuleIsolation
    {
        private static readonly object Gate = new object();
        private static DependencyLoadContext _context;

        /// <summary>The module's engine assembly: the one entry point resolved into the private context.</summary>
        public const string EngineAssembly = "BackupTools.Core";

        /// <summary>The private context, once installed.</summary>
        public static DependencyLoadContext Context => _context;

        /// <summary>Hooks the default context, once per process (later calls return at once).</summary>
        public static void Install(string dependencyDirectory) =>
            Install(dependencyDirectory, AssemblyLoadContext.Default, DependencyLoadContext.TrustedPlatformHas);

        /// <summary>Hooks the default context, once per process (later calls return at once), the engine assembly served
        /// from <paramref name="engineAssemblyPath"/> (a copy precompiled for this runtime and platform) and everything
        /// else from <paramref name="dependencyDirectory"/>.</summary>
        public static void Install(string dependencyDirectory, string engineAssemblyPath) =>
            Install(dependencyDirectory, AssemblyLoadContext.Default, DependencyLoadContext.TrustedPlatformHas, engineAssemblyPath);

        /// <summary>
        /// Hooks <paramref name="host"/>: for the default context, AppDomain.AssemblyResolve, which the runtime raises
        /// after the default context's Resolving handlers found nothing; for any other context (tests), its Resolving
        /// event. Not the default context's Resolving event: the runtime checks what a Resolving handler returns with
        /// an invariant-culture comparison, whose first use builds ICU's invariant collator (3 to 10 ms of Import-Module).
        /// Once per process: a second call returns the context the first made, whatever its arguments.
        /// </summary>
        public static DependencyLoadContext Install(string dependencyDirectory, AssemblyLoadContext host, Func<AssemblyName, bool> platformHas,
            string engineAssemblyPath = null)
        {
            lock (Gate)
            {
                if (_context != null) return _context;
                var context = new DependencyLoadContext(dependencyDirectory, host, platformHas);
                var engine = engineAssemblyPath ?? Path.Combine(dependencyDirectory, EngineAssembly + ".dll");
                Func<AssemblyLoadContext, AssemblyName, Assembly> handler = (alc, name) =>
                    string.Equals(name.Name, EngineAssembly, StringComparison.OrdinalIgnoreCase) && File.Exists(engine)
                        ? context.LoadFromAssemblyPath(engine)
                        : null;
                if (host == AssemblyLoadContext.Default)
                    AppDomain.CurrentDomain.AssemblyResolve += (sender, args) => IsEngine(args.Name) ? handler(host, new AssemblyName(args.Name)) : null;
                else host.Resolving += handler;
                _context = context;
                return context;
            }
        }

        // "BackupTools.Core" or "BackupTools.Core, Version=…", without parsing every name the process fails to find.
        private static bool IsEngine(string displayName) =>
            displayName != null && displayName.StartsWith(EngineAssembly, StringComparison.OrdinalIgnoreCase) &&
            (displayName.Length == EngineAssembly.Length || displayName[EngineAssembly.Length] == ',');
    }
}
