using System;
using System.Management.Automation;
using System.Security;

namespace BackupTools.Commands
{
    /// <summary>
    /// Connects to a backup service and makes the connection this session's default for its provider and endpoint.
    /// Sends nothing: the first backup or job read uses it.
    /// </summary>
    [Cmdlet(VerbsCommunications.Connect, "BackupService", DefaultParameterSetName = AccessTokenSet)]
    [OutputType(typeof(BackupConnection))]
    public sealed class ConnectBackupServiceCommand : BackupCmdletBase
    {
        /// <summary>Authenticate with a ready token.</summary>
        public const string AccessTokenSet = "AccessToken";

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
        [Alias("Token")]
        public SecureString AccessToken { get; set; }

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
                    SkipCertificateCheck = SkipCertificateCheck,
                });
            }
            catch (BackupToolsException ex)
            {
                ThrowTerminatingError(ex);
                return;
            }
            if (connection.SkipCertificateCheck)
                WriteWarning($"Certificate validation is off for {connection.Endpoint}: anyone between you and the server could read the token.");
            Connections.SetDefault(connection);
            WriteObject(connection);
        }
    }
}
