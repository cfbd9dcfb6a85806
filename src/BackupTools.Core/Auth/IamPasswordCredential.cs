using System;
using System.Globalization;
using System.IO;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Security;
using System.Text.Json;
using System.Threading.Tasks;
using BackupTools.Async;
using BackupTools.Http;
using BackupTools.Json;
using BackupTools.Validation;

namespace BackupTools
{
    /// <summary>
    /// Huawei Cloud / Open Telekom Cloud IAM: <c>POST {iam}/v3/auth/tokens</c> with the password method, the project
    /// scope by id and the user's domain by name; the token is the <c>X-Subject-Token</c> header and
    /// <c>token.expires_at</c> says until when (24 h). See shared/api/taurusdb.md.
    /// </summary>
    internal sealed class IamPasswordCredential : RenewableTokenCredential
    {
        private readonly string _provider;
        private readonly string _userName;
        private readonly SecureString _password;
        private readonly string _domainName;
        private readonly string _projectId;

        public IamPasswordCredential(string provider, Uri identityEndpoint, string userName, SecureString password, string domainName, string projectId)
        {
            _provider = provider;
            IdentityEndpoint = identityEndpoint ?? throw new ArgumentNullException(nameof(identityEndpoint));
            _userName = userName;
            _password = Secret.Keep(password);
            _domainName = string.IsNullOrWhiteSpace(domainName) ? userName : domainName.Trim();
            _projectId = projectId;
        }

        protected override System.Collections.Generic.IEnumerable<SecureString> OwnSecrets()
        {
            yield return _password;
        }

        public override string Method => AuthenticationMethods.Credential;
        protected override string Provider => _provider;

        /// <summary>The IAM base address (ends with '/').</summary>
        public Uri IdentityEndpoint { get; }

        /// <summary>
        /// The public clouds whose IAM address follows from a service host: <c>{service}.{region}.{domain}</c> gives
        /// <c>{label}.{region}.{domain}</c>. Huawei Cloud (<c>myhuaweicloud.com</c>, and <c>myhuaweicloud.eu</c> of its
        /// European site, as Huawei's SDK region tables name IAM), Open Telekom Cloud (<c>otc.t-systems.com</c>) and the
        /// Swiss Open Telekom Cloud (<c>sc.otc.t-systems.com</c>, where IAM's public name is <c>iam-pub</c>). Longest first.
        /// </summary>
        private static readonly (string Domain, string Label)[] KnownClouds =
        {
            (".sc.otc.t-systems.com", "iam-pub"),
            (".otc.t-systems.com", "iam"),
            (".myhuaweicloud.com", "iam"),
            (".myhuaweicloud.eu", "iam"),
        };

        /// <summary>
        /// The IAM endpoint of a service endpoint: the service's own address on loopback (the simulator serves IAM); on
        /// Huawei Cloud and Open Telekom Cloud the region's IAM (<c>gaussdb.cn-north-4.myhuaweicloud.com</c> →
        /// <c>iam.cn-north-4.myhuaweicloud.com</c>, <c>dds.eu-de.otc.t-systems.com</c> → <c>iam.eu-de.otc.t-systems.com</c>,
        /// <c>dds.eu-ch2.sc.otc.t-systems.com</c> → <c>iam-pub.eu-ch2.sc.otc.t-systems.com</c>). Any other host (a proxy,
        /// a private name, an address) names no IAM: the password would go to a host the user never named, so
        /// <c>-IdentityEndpoint</c> is asked for, before anything is sent.
        /// </summary>
        public static Uri DeriveIdentityEndpoint(Uri endpoint)
        {
            if (EndpointRule.IsLoopback(endpoint)) return endpoint;
            var host = endpoint.HostNameType == UriHostNameType.Dns ? endpoint.IdnHost.TrimEnd('.').ToLowerInvariant() : null;
            if (host != null)
            {
                foreach (var (domain, label) in KnownClouds)
                {
                    if (!host.EndsWith(domain, StringComparison.Ordinal)) continue;
                    // {service}.{region}: the region is the label before the domain, and a service label comes first.
                    var labels = host.Substring(0, host.Length - domain.Length).Split('.');
                    if (labels.Length < 2 || Array.Exists(labels, l => l.Length == 0)) break;
                    return new Uri("https://" + label + "." + labels[labels.Length - 1] + domain + "/");
                }
            }
            throw new BackupToolsException(ErrorIds.ConnectionParameterInvalid, BackupErrorCategory.InvalidArgument,
                $"The IAM endpoint is not derived from '{endpoint.Host}': BackupTools derives it only for the regions of Huawei Cloud " +
                "({service}.{region}.myhuaweicloud.com or .eu) and Open Telekom Cloud ({service}.{region}.otc.t-systems.com), so that the " +
                "password goes to no host you did not name. Give -IdentityEndpoint, the IAM address of the region.",
                endpoint)
            { RecommendedAction = "Connect again with -IdentityEndpoint https://iam.<region>.<domain>/ (or the IAM address your network uses)." };
        }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        protected override async Task<(SecureString Token, DateTimeOffset? ExpiresAt)> FetchAsync(ServiceCall call)
        {
            var url = Url.Combine(IdentityEndpoint, "v3", "auth", "tokens");
            byte[] body;
            using (var stream = new MemoryStream())
            {
                using (var w = new Utf8JsonWriter(stream))
                {
                    w.WriteStartObject();
                    w.WriteStartObject("auth");
                    w.WriteStartObject("identity");
                    w.WriteStartArray("methods"); w.WriteStringValue("password"); w.WriteEndArray();
                    w.WriteStartObject("password");
                    w.WriteStartObject("user");
                    w.WriteString("name", _userName);
                    w.WriteString("password", Secret.Reveal(_password));
                    w.WriteStartObject("domain"); w.WriteString("name", _domainName); w.WriteEndObject();
                    w.WriteEndObject(); w.WriteEndObject(); w.WriteEndObject();
                    w.WriteStartObject("scope");
                    w.WriteStartObject("project"); w.WriteString("id", _projectId); w.WriteEndObject();
                    w.WriteEndObject();
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                body = stream.ToArray();
            }
            var http = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
            http.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            // A refusal whose body then stalls is still a refusal, remembered: the password is not sent again.
            ServiceCall.RefusesWith(http, 401, 403);
            ServiceResponse response;
            try
            {
                response = await call.To(IdentityEndpoint).SendAsync(http, isCreate: false, target: IdentityEndpoint).NoContext();
            }
            finally
            {
                http.Dispose();
                Array.Clear(body, 0, body.Length); // the password's bytes, no longer needed
            }
            var (code, message) = response.IsSuccess ? (null, null) : IamError(response);
            if (response.Status == 401 || response.Status == 403)
            {
                var refused = Refused(_provider, ServiceCall.Sentence($"{response.Call} answered HTTP {response.Status}{response.CutOffNote}" + ServiceCall.CodeAndMessage(code, message, response.Status)) +
                    $" IAM refused the user name, password or domain name for project {_projectId}. It was not tried again.", IdentityEndpoint);
                refused.ServiceCode = code;
                refused.ServiceMessage = message;
                refused.HttpStatus = response.Status;
                throw refused;
            }
            if (!response.IsSuccess)
                throw response.ServiceError(code, message, IdentityEndpoint);
            if (!response.Headers.TryGetValue("X-Subject-Token", out var token) || string.IsNullOrEmpty(token))
                throw response.Invalid("answered without an X-Subject-Token header", IdentityEndpoint);
            DateTimeOffset? expires = null;
            if (response.Json is JsonElement root && root.ValueKind == JsonValueKind.Object && root.Obj("token") is JsonElement t &&
                t.Str("expires_at") is string at &&
                DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var e))
                expires = OnThisClock(e, response.ServiceDate);
            return (Secret.FromPlain(token), expires);
        }

        /// <summary>
        /// IAM's code and message, masked as any service text: Keystone's <c>{"error": {"code", "message", "title"}}</c>
        /// (its code, not its title, as the code), or the gateway's <c>{"error_code", "error_msg"}</c>.
        /// </summary>
        private static (string Code, string Message) IamError(ServiceResponse response)
        {
            if (response.Json is JsonElement e && e.ValueKind == JsonValueKind.Object && e.Obj("error") is JsonElement inner)
            {
                var code = inner.Str("code", "error_code");
                var message = inner.Str("message", "error_msg") ?? inner.Str("title");
                if (code != null || message != null) return (response.Scrubbed(code), response.Scrubbed(message));
            }
            return ServiceCall.ServiceCodeAndMessage(response);
        }
    }
}
