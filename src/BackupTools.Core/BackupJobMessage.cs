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

        /// <summary>"code: message", or the message alone where it already begins with the code (a TaurusDB/DDS
        /// <c>fail_reason</c> is "DBS.200410: …" and its code is read from it).</summary>
        public override string ToString() =>
            Message.Length == 0 ? Code : Code.Length == 0 || BeginsWithCode() ? Message : Code + ": " + Message;

        private bool BeginsWithCode() =>
            Message.StartsWith(Code, StringComparison.Ordinal) &&
            (Message.Length == Code.Length || !char.IsLetterOrDigit(Message[Code.Length]) && Message[Code.Length] != '.');

        internal static BackupJobMessage[] None => Array.Empty<BackupJobMessage>();
    }
}
