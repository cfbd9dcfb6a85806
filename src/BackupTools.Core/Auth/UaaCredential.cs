using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Security;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using BackupTools.Async;
using BackupTools.Http;
using BackupTools.Json;
using BackupTools.Validation;

namespace BackupTools
{
    /// <summary>
    /// Cloud Foundry UAA: the UAA address from <c>GET {endpoint}</c> (<c>links.uaa.href</c>, else <c>links.login.href</c>),
    /// then <c>POST {uaa}/oauth/token</c> with the client credentials grant (client id and secret) or the password grant
    /// with the public <c>cf</c> client. Renewed before <c>expires_in</c> runs out. See shared/api/cloudfoundry.md.
    /// </summary>
    internal sealed class UaaCredential : RenewableTokenCredential
    {
        private readonly string _provider;
        private readonly Uri _endpoint;
        private readonly string _clientId;
        private readonly SecureString _clientSecret;
        private readonly string _userName;
        private readonly SecureString _password;
        private Uri _uaa;

        private UaaCredential(string provider, Uri endpoint, string method, string clientId, SecureString clientSecret, string userName, SecureString password)
        {
            _provider = provider;
            _endpoint = endpoint;
            Method = method;
            _clientId = clientId;
            _clientSecret = Secret.Keep(clientSecret);
            _userName = userName;
            _password = Secret.Keep(password);
        }

        /// <summary>The client credentials grant.</summary>
        public static UaaCredential ForClient(string provider, Uri endpoint, string clientId, SecureString clientSecret) =>
            new UaaCredential(provider, endpoint, AuthenticationMethods.ClientCredential, clientId, clientSecret, null, null);

        /// <summary>The password grant with the public <c>cf</c> client (empty secret).</summary>
        public static UaaCredential ForUser(string provider, Uri endpoint, string userName, SecureString password) =>
            new UaaCredential(provider, endpoint, AuthenticationMethods.Credential, "cf", null, userName, password);

        protected override System.Collections.Generic.IEnumerable<SecureString> OwnSecrets()
        {
            yield return _password;
            yield return _clientSecret;
        }

        public override string Method { get; }
        protected override string Provider => _provider;

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        protected override async Task<(SecureString Token, DateTimeOffset? ExpiresAt)> FetchAsync(ServiceCall call)
        {
            var uaa = _uaa ?? (_uaa = await DiscoverAsync(call).NoContext());
            var url = Url.Combine(uaa, "oauth", "token");
            var fields = new List<KeyValuePair<string, string>>();
            if (_userName == null)
            {
                fields.Add(new KeyValuePair<string, string>("grant_type", "client_credentials"));
            }
            else
            {
                fields.Add(new KeyValuePair<string, string>("grant_type", "password"));
                fields.Add(new KeyValuePair<string, string>("username", _userName));
                fields.Add(new KeyValuePair<string, string>("password", Secret.Reveal(_password)));
            }
            ServiceResponse response;
            using (var http = new HttpRequestMessage(HttpMethod.Post, url) { Content = new FormUrlEncodedContent(fields) })
            {
                // RFC 6749 2.3.1: client id and secret form-encoded, then Basic. UAA decodes them only when told so
                // (X-CF-ENCODED-CREDENTIALS: true) where its encoding compatibility mode is on, Tanzu's default:
                // without the header a secret holding + / = % : @ was compared encoded, and refused.
                var basic = Uri.EscapeDataString(_clientId) + ":" + Uri.EscapeDataString(Secret.Reveal(_clientSecret) ?? string.Empty);
                http.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(basic)));
                http.Headers.TryAddWithoutValidation("X-CF-ENCODED-CREDENTIALS", "true");
                // A refusal whose body then stalls is still a refusal, remembered: the secret is not sent again.
                ServiceCall.RefusesWith(http, 400, 401, 403);
                response = await call.To(uaa).SendAsync(http, isCreate: false, target: url).NoContext();
            }
            if (response.Status == 400 || response.Status == 401 || response.Status == 403)
            {
                var (code, message) = ServiceCall.ServiceCodeAndMessage(response);
                throw Refused(_provider, ServiceCall.Sentence($"{response.Call} answered HTTP {response.Status}{response.CutOffNote}" + ServiceCall.CodeAndMessage(code, message, response.Status)) +
                    (_userName == null ? $" UAA refused client '{_clientId}' or its secret." : $" UAA refused the user name or password of '{_userName}'.") +
                    " It was not tried again.", url);
            }
            if (!response.IsSuccess) throw response.ServiceError(null, ServiceCall.ServiceWords(response), url);
            var root = response.RequireJsonObject(url);
            var token = root.Str("access_token");
            if (string.IsNullOrEmpty(token)) throw response.Invalid("answered without an access_token", url);
            DateTimeOffset? expires = null;
            if (root.Prop("expires_in") is JsonElement s && s.ValueKind == JsonValueKind.Number && s.TryGetInt64(out var seconds))
                expires = DateTimeOffset.UtcNow + Lifetime(TimeSpan.FromSeconds(Math.Max(-1L, Math.Min(seconds, 400L * 86400))));
            return (Secret.FromPlain(token), expires);
        }

        /// <summary>Reads <c>GET {endpoint}</c> for the UAA address, which must obey the endpoint rule (https, or http to loopback).</summary>
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        private async Task<Uri> DiscoverAsync(ServiceCall call)
        {
            ServiceResponse response;
            using (var http = new HttpRequestMessage(HttpMethod.Get, _endpoint))
                response = await call.To(_endpoint).SendAsync(http, isCreate: false, target: _endpoint).NoContext();
            if (!response.IsSuccess) throw response.ServiceError(null, ServiceCall.ServiceWords(response), _endpoint);
            var links = response.RequireJsonObject(_endpoint).Obj("links");
            var href = links?.Obj("uaa")?.Str("href") ?? links?.Obj("login")?.Str("href");
            if (string.IsNullOrEmpty(href) || !Uri.TryCreate(href, UriKind.Absolute, out var uaa))
                throw response.Invalid("answered without links.uaa.href or links.login.href", _endpoint);
            return EndpointRule.Check(_provider, uaa);
        }
    }
}
