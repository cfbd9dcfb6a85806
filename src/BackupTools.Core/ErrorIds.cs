namespace BackupTools
{
    /// <summary>
    /// Every error id BackupTools writes, as <c>&lt;Noun&gt;&lt;Condition&gt;</c>. Scripts may rely on these;
    /// they are never localised and never change meaning. Documented in about_BackupTools.
    /// </summary>
    public static class ErrorIds
    {
        /// <summary>A parameter broke a documented rule of the service; nothing was sent.</summary>
        public const string BackupParameterInvalid = nameof(BackupParameterInvalid);
        /// <summary>The service refused or failed the call; the record carries the service's code and message.</summary>
        public const string BackupServiceError = nameof(BackupServiceError);
        /// <summary>The service's answer could not be read (malformed, truncated, not JSON).</summary>
        public const string BackupResponseInvalid = nameof(BackupResponseInvalid);
        /// <summary>A create was sent but its outcome is unknown (no answer); the backup may exist.</summary>
        public const string BackupCreateOutcomeUnknown = nameof(BackupCreateOutcomeUnknown);
        /// <summary>The service could not be reached.</summary>
        public const string BackupServiceUnreachable = nameof(BackupServiceUnreachable);
        /// <summary>The backup job finished in failure.</summary>
        public const string BackupJobFailed = nameof(BackupJobFailed);
        /// <summary>The backup job was cancelled on the service.</summary>
        public const string BackupJobCancelled = nameof(BackupJobCancelled);
        /// <summary>The wait ended before the job did; the job is written out with its last known state.</summary>
        public const string BackupJobTimeout = nameof(BackupJobTimeout);
        /// <summary>The service no longer knows the job.</summary>
        public const string BackupJobNotFound = nameof(BackupJobNotFound);
        /// <summary>The job could not be read (its handle is incomplete or points elsewhere).</summary>
        public const string BackupJobInvalid = nameof(BackupJobInvalid);
        /// <summary>No connection fits the request: connect first or pass -Connection.</summary>
        public const string ConnectionNotFound = nameof(ConnectionNotFound);
        /// <summary>The endpoint or region of a connection is not acceptable (scheme, host, region name).</summary>
        public const string ConnectionEndpointInvalid = nameof(ConnectionEndpointInvalid);
        /// <summary>A connection parameter broke a rule (project id, missing token).</summary>
        public const string ConnectionParameterInvalid = nameof(ConnectionParameterInvalid);
        /// <summary>The service refused the credentials.</summary>
        public const string ConnectionAuthenticationFailed = nameof(ConnectionAuthenticationFailed);
        /// <summary>No provider has that name.</summary>
        public const string ProviderNotFound = nameof(ProviderNotFound);
        /// <summary>The provider does not offer that kind of backup.</summary>
        public const string ProviderOperationNotSupported = nameof(ProviderOperationNotSupported);
    }
}
