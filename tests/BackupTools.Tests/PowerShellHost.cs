using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace BackupTools.Tests
{
    /// <summary>
    /// A real PowerShell 7.6 engine (the System.Management.Automation package) hosted in the test process, with the
    /// module imported from the test output folder: the cmdlets run in real pipelines, with real parameter binding,
    /// ShouldProcess, error records and formatting data. Only the Core cmdlets ship in that package (no
    /// Microsoft.PowerShell.Utility), so the tests build secure strings and serialize in C# where a script would not.
    /// </summary>
    internal sealed class PowerShellHost : IDisposable
    {
        private readonly Runspace _runspace;

        public static string ModuleManifest => Path.Combine(AppContext.BaseDirectory, "BackupTools.psd1");

        /// <summary>
        /// Hosts are set up one at a time in the process. In a loaded run of two classes side by side, a runspace set up
        /// while the other class set up its own, seconds into the run, once lacked a Core cmdlet ("The term
        /// 'ForEach-Object' is not recognized"), as PowerShell has lost what a runspace was given when several were
        /// opened at once (PowerShell/PowerShell#7377). Only the set-up is serialized: the pipelines still run at once.
        /// </summary>
        private static readonly object SettingUp = new object();

        /// <param name="host">A host of the test's own (one that captures what is written to it), or none.</param>
        public PowerShellHost(System.Management.Automation.Host.PSHost host = null)
        {
            lock (SettingUp)
            {
                var iss = InitialSessionState.CreateDefault2();
                iss.ImportPSModule(new[] { ModuleManifest });
                _runspace = host == null ? RunspaceFactory.CreateRunspace(iss) : RunspaceFactory.CreateRunspace(host, iss);
                _runspace.Open();
            }
        }

        public void Set(string name, object value) => _runspace.SessionStateProxy.SetVariable(name, value);

        public object Get(string name) => _runspace.SessionStateProxy.GetVariable(name);

        public Result Run(string script, IDictionary<string, object> variables = null)
        {
            if (variables != null)
                foreach (var kv in variables) Set(kv.Key, kv.Value);
            using var ps = PowerShell.Create();
            ps.Runspace = _runspace;
            ps.AddScript(script);
            var result = new Result();
            try
            {
                result.Output = ps.Invoke().ToList();
            }
            catch (RuntimeException ex)
            {
                result.Terminating = ex;
                result.Output = new List<PSObject>();
            }
            return Collect(ps, result);
        }

        /// <summary>
        /// Runs <paramref name="script"/> for at most <paramref name="limit"/>, then stops it as Ctrl+C does (a hang fails
        /// the test instead of hanging the suite): <see cref="Result.TimedOut"/> says so.
        /// </summary>
        public Result Run(string script, TimeSpan limit)
        {
            using var ps = PowerShell.Create();
            ps.Runspace = _runspace;
            ps.AddScript(script);
            var result = new Result();
            var pending = ps.BeginInvoke();
            if (!pending.AsyncWaitHandle.WaitOne(limit))
            {
                result.TimedOut = true;
                ps.Stop();
            }
            try
            {
                result.Output = ps.EndInvoke(pending).ToList();
            }
            catch (RuntimeException ex)
            {
                result.Terminating = ex;
                result.Output = new List<PSObject>();
            }
            return Collect(ps, result);
        }

        /// <summary>A pipeline of <paramref name="script"/> in this runspace, for a test that drives it (BeginInvoke, Stop).</summary>
        public PowerShell Pipeline(string script)
        {
            var ps = PowerShell.Create();
            ps.Runspace = _runspace;
            ps.AddScript(script);
            return ps;
        }

        private static Result Collect(PowerShell ps, Result result)
        {
            result.Errors = ps.Streams.Error.ToList();
            result.Verbose = ps.Streams.Verbose.Select(v => v.Message).ToList();
            result.Debug = ps.Streams.Debug.Select(v => v.Message).ToList();
            result.Warnings = ps.Streams.Warning.Select(v => v.Message).ToList();
            result.Progress = ps.Streams.Progress.ToList();
            return result;
        }

        public void Dispose() => _runspace.Dispose();

        internal sealed class Result
        {
            public List<PSObject> Output { get; set; }
            public List<ErrorRecord> Errors { get; set; }
            public List<string> Verbose { get; set; }
            public List<string> Debug { get; set; }
            public List<string> Warnings { get; set; }
            public List<ProgressRecord> Progress { get; set; }
            public RuntimeException Terminating { get; set; }
            public bool TimedOut { get; set; }

            public IEnumerable<T> Objects<T>() => Output.Select(o => o.BaseObject).OfType<T>();

            /// <summary>Everything this run showed, as text, for secret scans.</summary>
            public string AllText() => string.Join("\n",
                Output.Select(o => o.ToString())
                    .Concat(Errors.Select(e => e.ToString() + " " + e.Exception + " " + e.ErrorDetails?.Message + " " + e.TargetObject))
                    .Concat(Verbose).Concat(Debug).Concat(Warnings)
                    .Concat(Progress.Select(p => p.Activity + " " + p.StatusDescription + " " + p.CurrentOperation))
                    .Concat(new[] { Terminating?.ToString() ?? string.Empty }));
        }
    }
}
