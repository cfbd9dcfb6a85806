using System;

namespace BackupTools
{
    /// <summary>
    /// The categories BackupTools errors fall in. The names match PowerShell's <c>ErrorCategory</c> one to one,
    /// so the cmdlets map them without the core knowing PowerShell.
    /// </summary>
    public enum BackupErrorCategory
    {
        NotSpecified,
        InvalidArgument,
        InvalidData,
        InvalidOperation,
        InvalidResult,
        ObjectNotFound,
        ResourceExists,
        ResourceBusy,
        ResourceUnavailable,
        AuthenticationError,
        PermissionDenied,
        SecurityError,
        ConnectionError,
        OperationTimeout,
        OperationStopped,
        ProtocolError,
        LimitsExceeded,
        QuotaExceeded,
    }

    /// <summary>
    /// The one exception the core throws. It carries a stable error id, a category, the failing item as target,
    /// and, when the service answered, the service's own code and message.
    /// </summary>
    [Serializable]
    public sealed class BackupToolsException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public BackupToolsException(string errorId, BackupErrorCategory category, string message, object target = null, Exception inner = null)
            : base(message, inner)
        {
            ErrorId = errorId;
            Category = category;
            // A request's passcode never travels with an error (see BackupRequest.WithoutSecrets).
            Target = target is BackupRequest request ? request.WithoutSecrets() : target;
        }

        /// <summary>A stable id from <see cref="ErrorIds"/>, never message text.</summary>
        public string ErrorId { get; }

        /// <summary>Where the error belongs.</summary>
        public BackupErrorCategory Category { get; }

        /// <summary>The failing item: a job, a request (without its passcode), an endpoint; never a secret.</summary>
        public object Target { get; }

        /// <summary>The provider that raised it, when one did.</summary>
        public string Provider { get; set; }

        /// <summary>The service's own error code (<c>DBS.200001</c>, <c>CF-UnprocessableEntity</c>, <c>498</c>).</summary>
        public string ServiceCode { get; set; }

        /// <summary>The service's own error message.</summary>
        public string ServiceMessage { get; set; }

        /// <summary>The HTTP status of the answer, when there was one.</summary>
        public int? HttpStatus { get; set; }

        /// <summary>How long the service asked the client to wait before trying again (Retry-After), when it said.</summary>
        public TimeSpan? RetryAfter { get; set; }

        /// <summary>
        /// True for a failure that says nothing against the credential and may pass by itself (a -TokenProvider script
        /// whose sign-in service could not be reached, a gateway's throttle answered with HTTP 200): a status read that
        /// met it is tried again later, as after a 503.
        /// </summary>
        internal bool Passing { get; set; }

        private string _recommendedAction;

        /// <summary>
        /// The same error told in other words, about <paramref name="target"/>, with <paramref name="inner"/> inside: its id,
        /// category, provider, the service's code, message and status, Retry-After, whether it may pass, and action carried over.
        /// </summary>
        internal BackupToolsException Restated(string message, object target, Exception inner) =>
            new BackupToolsException(ErrorId, Category, message, target, inner)
            {
                Provider = Provider,
                ServiceCode = ServiceCode,
                ServiceMessage = ServiceMessage,
                HttpStatus = HttpStatus,
                RetryAfter = RetryAfter,
                Passing = Passing,
                _recommendedAction = _recommendedAction,
            };

        /// <summary>
        /// What the user can do about it; shown as the error record's recommended action. The catalogue's action for the
        /// id (<see cref="ErrorIds.DefaultAction"/>) when none more particular was given.
        /// </summary>
        public string RecommendedAction
        {
            get => _recommendedAction ?? ErrorIds.DefaultAction(ErrorId);
            set => _recommendedAction = value;
        }
    }
}
