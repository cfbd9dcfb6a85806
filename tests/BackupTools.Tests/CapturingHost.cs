using System;
using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;
using System.Text;

namespace BackupTools.Tests
{
    /// <summary>
    /// A PowerShell host whose UI is an 80-column console that records, instead of drawing, everything the engine
    /// writes to it: text (Out-Host, Out-Default, Write-Host's information records, errors, warnings, verbose) and
    /// progress records. Formatting reads the width from <see cref="PSHostRawUserInterface.BufferSize"/>, so tables
    /// render as they would in an 80-column terminal. Write-Host's information records are drawn by the engine itself
    /// (through WriteLine), as in any host.
    /// </summary>
    internal sealed class CapturingHost : PSHost
    {
        private readonly CapturingUI _ui;

        public CapturingHost(int width = 80) => _ui = new CapturingUI(width);

        /// <summary>
        /// What a console would show, in order, without colour: the engine colours table headers with SGR escape
        /// sequences (PSStyle), which a terminal draws as colour and which are dropped here. Progress bars, which a
        /// console draws and erases, are not in it: see <see cref="Progress"/>.
        /// </summary>
        public string Text => Sgr.Replace(_ui.Text, string.Empty);

        /// <summary>Exactly what the engine wrote, escape sequences included.</summary>
        public string RawText => _ui.Text;

        private static readonly System.Text.RegularExpressions.Regex Sgr = new System.Text.RegularExpressions.Regex("\u001b\\[[0-9;]*m");

        /// <summary>Every progress record the engine passed to the host, in order.</summary>
        public IReadOnlyList<ProgressRecord> Progress => _ui.ProgressRecords;

        public override string Name => "BackupTools.Tests.CapturingHost";
        public override Version Version => new Version(1, 0);
        public override Guid InstanceId { get; } = Guid.NewGuid();
        public override PSHostUserInterface UI => _ui;
        public override CultureInfo CurrentCulture => CultureInfo.GetCultureInfo("en-US");
        public override CultureInfo CurrentUICulture => CultureInfo.GetCultureInfo("en-US");
        public override void SetShouldExit(int exitCode) { }
        public override void EnterNestedPrompt() => throw new NotSupportedException();
        public override void ExitNestedPrompt() => throw new NotSupportedException();
        public override void NotifyBeginApplication() { }
        public override void NotifyEndApplication() { }

        private sealed class CapturingUI : PSHostUserInterface
        {
            private readonly StringBuilder _text = new StringBuilder();
            private readonly List<ProgressRecord> _progress = new List<ProgressRecord>();
            private readonly object _gate = new object();
            private readonly CapturingRawUI _raw;

            public CapturingUI(int width) => _raw = new CapturingRawUI(width);

            public string Text { get { lock (_gate) return _text.ToString(); } }

            public IReadOnlyList<ProgressRecord> ProgressRecords { get { lock (_gate) return _progress.ToArray(); } }

            public override PSHostRawUserInterface RawUI => _raw;
            public override bool SupportsVirtualTerminal => false;

            private void Append(string s) { lock (_gate) _text.Append(s); }

            public override void Write(string value) => Append(value);
            public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Append(value);
            public override void WriteLine(string value) => Append(value + "\n");
            public override void WriteLine() => Append("\n");
            public override void WriteLine(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Append(value + "\n");
            public override void WriteErrorLine(string value) => Append(value + "\n");
            public override void WriteWarningLine(string message) => Append("WARNING: " + message + "\n");
            public override void WriteVerboseLine(string message) => Append("VERBOSE: " + message + "\n");
            public override void WriteDebugLine(string message) => Append("DEBUG: " + message + "\n");

            public override void WriteProgress(long sourceId, ProgressRecord record)
            {
                // Copied: the writer may reuse its record.
                var copy = new ProgressRecord(record.ActivityId, record.Activity, record.StatusDescription)
                {
                    ParentActivityId = record.ParentActivityId, PercentComplete = record.PercentComplete,
                    SecondsRemaining = record.SecondsRemaining, CurrentOperation = record.CurrentOperation, RecordType = record.RecordType,
                };
                lock (_gate) _progress.Add(copy);
            }

            public override string ReadLine() => throw new NotSupportedException("The demo is not interactive.");
            public override SecureString ReadLineAsSecureString() => throw new NotSupportedException("The demo is not interactive.");
            public override Dictionary<string, PSObject> Prompt(string caption, string message, System.Collections.ObjectModel.Collection<FieldDescription> descriptions) =>
                throw new NotSupportedException("The demo is not interactive.");
            public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName) =>
                throw new NotSupportedException("The demo is not interactive.");
            public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName,
                PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) =>
                throw new NotSupportedException("The demo is not interactive.");
            public override int PromptForChoice(string caption, string message, System.Collections.ObjectModel.Collection<ChoiceDescription> choices, int defaultChoice) =>
                throw new NotSupportedException("The demo is not interactive.");
        }

        private sealed class CapturingRawUI : PSHostRawUserInterface
        {
            private readonly int _width;

            public CapturingRawUI(int width) => _width = width;

            public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
            public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;
            public override Size BufferSize { get => new Size(_width, 9001); set { } }
            public override Coordinates CursorPosition { get; set; }
            public override int CursorSize { get; set; } = 25;
            public override bool KeyAvailable => false;
            public override Size MaxPhysicalWindowSize => new Size(_width, 50);
            public override Size MaxWindowSize => new Size(_width, 50);
            public override Coordinates WindowPosition { get; set; }
            public override Size WindowSize { get => new Size(_width, 50); set { } }
            public override string WindowTitle { get; set; } = string.Empty;
            public override void FlushInputBuffer() { }
            public override BufferCell[,] GetBufferContents(Rectangle rectangle) => throw new NotSupportedException();
            public override KeyInfo ReadKey(ReadKeyOptions options) => throw new NotSupportedException("The demo is not interactive.");
            public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) { }
            public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) { }
            public override void SetBufferContents(Rectangle rectangle, BufferCell fill) { }
        }
    }
}
