using System;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Security;
using System.Threading;
using System.Threading.Tasks;

namespace BackupTools.Commands
{
    /// <summary>
    /// Connects to a backup service and makes the connection this session's default for its provider and endpoint.
    /// Sends nothing: the first backup or job read uses it (and obtains a token then, when the method needs one).
    /// Which methods a provider offers is listed by Get-BackupProvider (AuthenticationMethods).
    /// </summary>
    [Cmdlet(VerbsCommunications.Connect, "BackupService", DefaultParameterSetName = AccessTokenSet)]
    [OutputType(typeof(BackupConnection))]
    public sealed class ConnectBackupServiceCommand : BackupCmdletBase
    {
        /// <summary>Authenticate with a ready token.</summary>
        public const string AccessTokenSet = "AccessToken";
        /// <summary>Sign every request with an access key id and secret access key.</summary>
        public const string AccessKeySet = "AccessKey";
        /// <summary>Exchange a user name and password for tokens.</summary>
        public const string CredentialSet = "Credential";
        /// <summary>Exchange an OAuth client id and secret for tokens.</summary>
        public const string ClientCredentialSet = "ClientCredential";
        /// <summary>Ask a script block for a fresh token whenever the service refuses the current one.</summary>
        public const string TokenProviderSet = "TokenProvider";

        /// <summary>The provider: TaurusDB, DDS, Dataverse, ArcGIS or CloudFoundry.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ArgumentCompleter(typeof(ProviderNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string Provider { get; set; }

        /// <summary>The service's base address (https://, or http:// to this machine).</summary>
        [Parameter(Position = 1)]
        [Alias("ServiceUrl", "Uri")]
        public Uri Endpoint { get; set; }

        /// <summary>A region name of the provider, mapped to its documented endpoint.</summary>
        [Parameter]
        [ArgumentCompleter(typeof(RegionCompleter))]
        public string Region { get; set; }

        /// <summary>Project id (TaurusDB, DDS): 32 letters and digits.</summary>
        [Parameter]
        [Alias("Project")]
        public string ProjectId { get; set; }

        /// <summary>A ready token: IAM X-Auth-Token, Entra ID bearer, ArcGIS token or UAA bearer.</summary>
        [Parameter(Mandatory = true, ParameterSetName = AccessTokenSet)]
        [Parameter(ParameterSetName = TokenProviderSet)]
        [Alias("Token")]
        [SecureStringTransformation]
        public SecureString AccessToken { get; set; }

        /// <summary>Access key id (AK) whose secret key signs every request.</summary>
        [Parameter(Mandatory = true, ParameterSetName = AccessKeySet)]
        [ValidateNotNullOrEmpty]
        [Alias("AK")]
        public string AccessKeyId { get; set; }

        /// <summary>Secret access key (SK); it never leaves this machine: it only signs.</summary>
        [Parameter(Mandatory = true, ParameterSetName = AccessKeySet)]
        [Alias("SK")]
        [SecureStringTransformation]
        public SecureString SecretAccessKey { get; set; }

        /// <summary>User name and password exchanged for tokens (IAM user, ArcGIS user, UAA user).</summary>
        [Parameter(Mandatory = true, ParameterSetName = CredentialSet)]
        [Credential]
        public PSCredential Credential { get; set; }

        /// <summary>IAM: the user's domain (account) name; the user name when not given.</summary>
        [Parameter(ParameterSetName = CredentialSet)]
        public string DomainName { get; set; }

        /// <summary>IAM: the identity service's address, when it cannot be derived from the endpoint.</summary>
        [Parameter(ParameterSetName = CredentialSet)]
        public Uri IdentityEndpoint { get; set; }

        /// <summary>OAuth client id (client credentials grant).</summary>
        [Parameter(Mandatory = true, ParameterSetName = ClientCredentialSet)]
        [ValidateNotNullOrEmpty]
        public string ClientId { get; set; }

        /// <summary>OAuth client secret.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ClientCredentialSet)]
        [SecureStringTransformation]
        public SecureString ClientSecret { get; set; }

        /// <summary>
        /// A script block that returns a fresh token (SecureString or string), run on the pipeline thread of the command
        /// that needs it whenever the service refuses the current token.
        /// </summary>
        [Parameter(Mandatory = true, ParameterSetName = TokenProviderSet)]
        public ScriptBlock TokenProvider { get; set; }

        /// <summary>Switches off certificate validation for this endpoint (self-signed on-premises servers).</summary>
        [Parameter]
        public SwitchParameter SkipCertificateCheck { get; set; }

        /// <inheritdoc />
        protected override void EndProcessing()
        {
            BackupConnection connection;
            try
            {
                connection = BackupService.Connect(new ConnectRequest
                {
                    Provider = Provider,
                    Endpoint = Endpoint,
                    Region = Region,
                    Scope = ProjectId,
                    AccessToken = AccessToken,
                    AccessKeyId = AccessKeyId,
                    SecretAccessKey = SecretAccessKey,
                    UserName = Credential?.UserName,
                    Password = Credential?.Password,
                    DomainName = DomainName,
                    IdentityEndpoint = IdentityEndpoint,
                    ClientId = ClientId,
                    ClientSecret = ClientSecret,
                    TokenProvider = TokenProvider == null ? null : TokenSource(TokenProvider, Runspace.DefaultRunspace),
                    SkipCertificateCheck = SkipCertificateCheck,
                });
            }
            catch (BackupToolsException ex)
            {
                ThrowTerminatingError(ex);
                return;
            }
            if (connection.SkipCertificateCheck)
                WriteWarning(SkipCertificateCheckWarning(connection));
            Connections.SetDefault(connection);
            WriteObject(connection);
        }

        /// <summary>What -SkipCertificateCheck exposes, by what the connection sends: only sign-ins send a password or secret.</summary>
        internal static string SkipCertificateCheckWarning(BackupConnection connection)
        {
            var off = $"Certificate validation is off for {connection.Endpoint}";
            switch (connection.AuthenticationMethod)
            {
                case AuthenticationMethods.Credential:
                    return off + " and the token endpoint this connection signs in at (IAM, UAA or generateToken): anyone between you and those servers could read the password and the token.";
                case AuthenticationMethods.ClientCredential:
                    return off + " and the UAA token endpoint this connection signs in at: anyone between you and those servers could read the client secret and the token.";
                case AuthenticationMethods.AccessKey:
                    return off + ": anyone between you and that server could read and change the requests and their answers (the secret access key is not sent; it signs them).";
                default:
                    return off + ": anyone between you and that server could read the token.";
            }
        }

        /// <summary>Why a -TokenProvider connection made in a runspace that has closed since cannot get a token.</summary>
        internal const string ClosedRunspace =
            "the -TokenProvider script block belongs to a runspace that is closed (the one Connect-BackupService ran in: a thread job, " +
            "a ForEach-Object -Parallel block, a runspace since recycled); connect again in this runspace.";

        /// <summary>
        /// The core asks for a token from a worker thread, handing over the log of the command that needs it. That log is
        /// the command's pump: the script block is posted through it to this runspace's pipeline thread, where whichever
        /// BackupTools pump is waiting runs it (that command's, or the one it is nested in or nested in it: a
        /// <c>New-InstanceBackup -ThrottleLimit 4 | Get-BackupJob</c> renewing during the read), while the worker awaits
        /// the result. It is not run once the request no longer wants it (Ctrl+C, the command ended). Outside a
        /// BackupTools command there is no pipeline to run it on, and it fails. Nor is it run once
        /// <paramref name="madeIn"/>, the runspace Connect-BackupService ran in, is no longer open: the script block
        /// belongs to that runspace's session state (a thread job's, a ForEach-Object -Parallel block's), and PowerShell
        /// fails it with a NullReferenceException that says nothing.
        /// </summary>
        internal static Func<IOperationLog, CancellationToken, Task<SecureString>> TokenSource(ScriptBlock script, Runspace madeIn) => (log, ct) =>
        {
            if (!(log is PumpSink sink))
                throw new InvalidOperationException("the -TokenProvider script block can run only within a BackupTools command.");
            if (madeIn != null && madeIn.RunspaceStateInfo.State != RunspaceState.Opened)
                throw new InvalidOperationException(ClosedRunspace);
            var result = new TaskCompletionSource<SecureString>(TaskCreationOptions.RunContinuationsAsynchronously);
            var registration = ct.Register(() => result.TrySetCanceled());
            sink.PostForAnyPump(() =>
            {
                // Stopped or given up while it waited (Ctrl+C, the command's end, -Any): not run, whichever pump took it.
                if (result.Task.IsCompleted || ct.IsCancellationRequested)
                {
                    result.TrySetCanceled();
                    return;
                }
                try
                {
                    var output = script.Invoke().Select(o => o?.BaseObject).LastOrDefault(o => o != null);
                    if (output is SecureString secure) result.TrySetResult(secure);
                    else if (output is string text && text.Length > 0) result.TrySetResult(BackupTools.Secret.FromPlain(text));
                    else result.TrySetException(new InvalidOperationException("the -TokenProvider script block returned neither a SecureString nor a string."));
                }
                catch (Exception ex)
                {
                    // The script's own error (never the token: it produced none).
                    result.TrySetException(ex is RuntimeException re ? new InvalidOperationException(re.Message, re) : ex);
                }
            }, () =>
            {
                // The command whose request needed the token has ended (its pipeline stopped): nobody is left to run it.
                if (ct.IsCancellationRequested) result.TrySetCanceled();
                else result.TrySetException(new InvalidOperationException("the command that needed the token ended before the -TokenProvider script block could run."));
            });
            return result.Task.ContinueWith(t => { registration.Dispose(); return t; }, TaskScheduler.Default).Unwrap();
        };
    }
}
