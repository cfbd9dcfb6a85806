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
    
        /// <summary>
        /// The catalogue's recommended action for an id (about_BackupTools, ERROR CATALOGUE): what an error record shows
        /// when its failure names no more particular one. Null for an id that is not BackupTools'.
        /// </summary>
        public static string DefaultAction(string errorId)
        {
            switch (errorId)
            {
                case BackupParameterInvalid: return "Correct the parameter as the message says.";
                case BackupServiceError: return "Read the service's code and message; for 401 get a new token, for 403 check the account's permissions.";
                case BackupResponseInvalid: return "Check that the endpoint is the service's API (not a proxy or login page); try again.";
                case BackupCreateOutcomeUnknown: return "List the instance's backups on the service (by the backup name) before starting another one.";
                case BackupServiceUnreachable: return "Check the endpoint, the network and the service's health, then try again.";
                case BackupJobFailed: return "Read the service's reason in the message, fix its cause and start the backup again.";
                case BackupJobCancelled: return "Find out who or what cancelled it on the service; start the backup again if it is still needed.";
                case BackupJobTimeout: return "Pipe the job to Wait-BackupJob again (save it with Export-Clixml), or use a longer -Timeout.";
                case BackupJobNotFound: return "Check the backup itself on the service.";
                case BackupJobInvalid: return "Pass jobs written by BackupTools (or their Export-Clixml copies) unchanged.";
                case ConnectionNotFound: return "Run Connect-BackupService, or pass -Connection (always in ForEach-Object -Parallel and thread jobs).";
                case ConnectionEndpointInvalid: return "Use an https:// endpoint or a region Get-BackupProvider lists.";
                case ConnectionParameterInvalid: return "Correct the parameter as the message says.";
                case ConnectionAuthenticationFailed: return "Check the credential and run Connect-BackupService again.";
                case ProviderNotFound: return "Use a name Get-BackupProvider lists.";
                case ProviderOperationNotSupported: return "Use a provider whose Kinds (Get-BackupProvider) include it.";
                default: return null;
            }
        }
    }
}
