using System;

namespace BackupTools
{
    /// <summary>
    /// Where the core reports what it does. The cmdlets route it to the verbose and debug streams on the pipeline
    /// thread; the core never calls PowerShell. Lines never contain a secret.
    /// </summary>
    public interface IOperationLog
    {
        /// <summary>A line for -Verbose (each HTTP call, each retry).</summary>
        void Verbose(string message);
        /// <summary>A line for -Debug.</summary>
        void Debug(string message);
    }

    /// <summary>
    /// A log that can tell its verbose lines would be dropped (a cmdlet run without -Verbose), so that the lines written
    /// for every HTTP call are not built, queued to the pipeline thread and discarded there, thousands of times in a
    /// long wait.
    /// </summary>
    internal interface IVerboseAware
    {
        /// <summary>False when verbose lines would go nowhere.</summary>
        bool VerboseWanted { get; }
    }

    /// <summary>A log that drops everything.</summary>
    public sealed class NullOperationLog : IOperationLog
    {
        /// <summary>The one instance.</summary>
        public static readonly NullOperationLog Instance = new NullOperationLog();
        private NullOperationLog() { }
        /// <inheritdoc />
        public void Verbose(string message) { }
        /// <inheritdoc />
        public void Debug(string message) { }
    }
}
