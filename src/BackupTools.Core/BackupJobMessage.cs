using System;

namespace BackupTools
{
    /// <summary>One error, warning or information item a service reported on a job, with the service's own code.</summary>
    public sealed class BackupJobMessage
    {
        /// <summary>Creates a message; used by providers and by scripts that build jobs for their own tests.</summary>
        public BackupJobMessage(string code, string message, string subject = null)
        {
            Code = code ?? string.Empty;
            Message = message ?? string.Empty;
            Subject = subject;
        }

        /// <summary>The service's code, such as <c>DBS.200001</c> or <c>CF-ServiceBrokerRateLimitExceeded</c>.</summary>
        public string Code { get; }

        /// <summary>The service's text.</summary>
        public string Message { get; }

        /// <summary>What the item is about, where the service says (Dataverse <c>Subject</c>).</summary>
        public string Subject { get; }

        /// <inheritdoc />
        public override string ToString() =>
            string.IsNullOrEmpty(Code) ? Message : (string.IsNullOrEmpty(Message) ? Code : Code + ": " + Message);

        internal static BackupJobMessage[] None => Array.Empty<BackupJobMessage>();
    }
}
