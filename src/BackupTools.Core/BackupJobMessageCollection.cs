using System;
using System.Collections.ObjectModel;
using System.Text;

namespace BackupTools
{
    /// <summary>
    /// A job's errors or warnings: a read-only list of <see cref="BackupJobMessage"/>s (index, <c>Count</c>,
    /// <c>foreach</c>, the pipeline and ConvertTo-Json see the messages, as they saw the array it replaces) whose text is
    /// the messages themselves, so that Export-Csv, which writes a property's <c>ToString()</c>, keeps the service's
    /// reasons instead of a type name.
    /// </summary>
    public sealed class BackupJobMessageCollection : ReadOnlyCollection<BackupJobMessage>
    {
        /// <summary>No messages (shared: the collection cannot change).</summary>
        internal static readonly BackupJobMessageCollection Empty = new BackupJobMessageCollection(Array.Empty<BackupJobMessage>());

        private readonly BackupJobMessage[] _messages;

        private BackupJobMessageCollection(BackupJobMessage[] messages) : base(messages) => _messages = messages;

        /// <summary>The messages of <paramref name="messages"/> that are not null, in their order.</summary>
        internal static BackupJobMessageCollection Of(BackupJobMessage[] messages)
        {
            if (messages == null || messages.Length == 0) return Empty;
            var kept = 0;
            foreach (var m in messages) if (m != null) kept++;
            if (kept == 0) return Empty;
            var copy = new BackupJobMessage[kept];
            kept = 0;
            foreach (var m in messages) if (m != null) copy[kept++] = m;
            return new BackupJobMessageCollection(copy);
        }

        /// <summary>
        /// The number of messages, as the array this type replaces had it: in PowerShell, <c>.Length</c> of a
        /// collection without one would be read from each message instead.
        /// </summary>
        public int Length => _messages.Length;

        /// <summary>The array itself, for the job's own use: never handed out.</summary>
        internal BackupJobMessage[] Shared => _messages;

        /// <summary>
        /// Every message as "code: message" (<see cref="BackupJobMessage.ToString"/>), separated by "; "; empty when
        /// there are none. This is the text Export-Csv writes in the Errors and Warnings columns.
        /// </summary>
        public override string ToString()
        {
            if (_messages.Length == 0) return string.Empty;
            if (_messages.Length == 1) return _messages[0].ToString();
            var text = new StringBuilder();
            for (var i = 0; i < _messages.Length; i++)
            {
                if (i > 0) text.Append("; ");
                text.Append(_messages[i].ToString());
            }
            return text.ToString();
        }
    }
}
