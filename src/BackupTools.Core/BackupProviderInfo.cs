using System;
using System.Collections.Generic;
using System.Linq;

namespace BackupTools
{
    /// <summary>What a provider offers, as <c>Get-BackupProvider</c> shows it and the argument completers use it.</summary>
    public sealed class BackupProviderInfo
    {
        internal BackupProviderInfo(string name, string service, IEnumerable<BackupKind> kinds, IReadOnlyDictionary<string, Uri> regions,
            string scopeName, IEnumerable<string> authenticationMethods, string documentation, bool signsInWithIdentityService = false)
        {
            Name = name;
            Service = service;
            Kinds = kinds.ToArray();
            RegionEndpoints = regions ?? new Dictionary<string, Uri>();
            ScopeName = scopeName;
            AuthenticationMethods = authenticationMethods.ToArray();
            Documentation = documentation;
            SignsInWithIdentityService = signsInWithIdentityService;
        }

        /// <summary>The provider name used with -Provider.</summary>
        public string Name { get; }
        /// <summary>The service it talks to.</summary>
        public string Service { get; }
        /// <summary>The kinds of backup it can start.</summary>
        public BackupKind[] Kinds { get; }
        /// <summary>Region names accepted by -Region, with their endpoints.</summary>
        public IReadOnlyDictionary<string, Uri> RegionEndpoints { get; }
        /// <summary>Known region names.</summary>
        public string[] Regions => RegionEndpoints.Keys.ToArray();
        /// <summary>What the connection's scope is called (<c>ProjectId</c>), or null when the service has none.</summary>
        public string ScopeName { get; }
        /// <summary>The authentication methods Connect-BackupService offers for it.</summary>
        public string[] AuthenticationMethods { get; }
        /// <summary>
        /// True when its Credential method signs in to a separate identity service (Huawei IAM), which Connect-BackupService's
        /// -IdentityEndpoint and -DomainName address; they are refused for any other provider or method, not dropped.
        /// </summary>
        public bool SignsInWithIdentityService { get; }
        /// <summary>Where the API is described.</summary>
        public string Documentation { get; }

        /// <inheritdoc />
        public override string ToString() => Name;
    }
}
