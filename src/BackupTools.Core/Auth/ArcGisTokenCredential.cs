using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net.Http;
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
    /// ArcGIS Enterprise <c>POST {endpoint}sharing/rest/generateToken</c> (form: username, password, client=referer,
    /// referer, expiration, f=json) → <c>{token, expires (epoch ms)}</c>. The token is bound to the referer, so every
    /// request carries that <c>Referer</c>. Renewed before it expires and once on a 498. See shared/api/arcgis.md.
    /// </summary>
    internal sealed class ArcGisTokenCredential : RenewableTokenCredential
    {
        private readonly string _provider;
        private readonly Uri _endpoint;
        private readonly string _userName;
        private readonly SecureString _password;

        public ArcGisTokenCredential(string provider, Uri endpoint, string userName, SecureString password, int expirationMinutes = 60)
        {
            _provider = provider;
            _endpoint = endpoint;
            _userName = userName;
            _password = Secret.Keep(password);
            ExpirationMinutes = expirationMinutes;
        }

        protected override System.Collections.Generic.IEnumerable<SecureString> OwnSecrets()
        {
            yield return _password;
        }

        public override string Method => AuthenticationMethods.Credential;
        protected override string Provider => _provider;

        /// <summary>The lifetime asked of generateToken, in minutes.</summary>
        public int ExpirationMinutes { get; }

        /// <summary>The referer the token is bound to: the deployment's address.</summary>
        internal Uri Referer => RefererFor(_endpoint);

        /// <summary>
        /// The referer of a deployment's tokens, as sign-in names it in generateToken and every request sends it, with
        /// -Credential or -AccessToken alike: the connection's endpoint (<c>https://host/context/</c>).
        /// </summary>
        internal static Uri RefererFor(Uri endpoint) => endpoint;

        protected override void OnApplied(HttpRequestMessage request) => request.Headers.Referrer = Referer;

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        protected override async Task<(SecureString Token, DateTimeOffset? ExpiresAt)> FetchAsync(ServiceCall call)
        {
            var url = Url.Combine(_endpoint, "sharing", "rest", "generateToken");
            ServiceResponse response;
            using (var http = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new FormUrlEncodedContent(new[]
                {
                    new KeyValuePair<string, string>("username", _userName),
                    new KeyValuePair<string, string>("password", Secret.Reveal(_password)),
                    new KeyValuePair<string, string>("client", "referer"),
                    new KeyValuePair<string, string>("referer", Referer.ToString()),
                    new KeyValuePair<string, string>("expiration", ExpirationMinutes.ToString(CultureInfo.InvariantCulture)),
                    new KeyValuePair<string, string>("f", "json"),
                }),
            })
            {
                http.Headers.Referrer = Referer;
                // A refusal by HTTP status whose body then stalls is still a refusal, remembered. (One in a 200's body,
                // ArcGIS's usual way, cannot be told from a token when that body stalls: that sign-in fails, and stands
                // for its back-off.)
                ServiceCall.RefusesWith(http, 400, 401, 403);
                response = await call.To(_endpoint).SendAsync(http, isCreate: false, target: url).NoContext();
            }
            var root = response.Json is JsonElement e && e.ValueKind == JsonValueKind.Object ? e : (JsonElement?)null;
            var error = root?.Obj("error");
            // ArcGIS answers with HTTP 200 and the code in the body; a wrong user name or password is 400 ("Unable to
            // generate token." "Invalid username or password."). Only 400, 401 and 403 refuse the secret: a 500 in
            // the body (the portal's passing "Unable to generate token.") or 429 fails this sign-in only, as a
            // service error Resilience.IsTransientRead knows, and is not remembered as a refused password.
            var code = error?.Str("code");
            var said = int.TryParse(code, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : response.IsSuccess ? (int?)null : response.Status;
            var details = response.Scrubbed(error is JsonElement er ? string.Join(" ", er.Items("details").Select(d => JsonRead.AsString(d)).Where(d => !string.IsNullOrWhiteSpace(d))) : null);
            var message = response.Scrubbed(error?.Str("message"));
            if (said == 400 || said == 401 || said == 403)
            {
                throw Refused(_provider, $"{response.Call} answered " + (code != null ? "error " + response.Scrubbed(code) : "HTTP " + response.Status + response.CutOffNote) +
                    (message != null ? ": " + message : string.Empty) + (string.IsNullOrWhiteSpace(details) ? string.Empty : " " + details) +
                    $" ArcGIS refused the user name or password of '{_userName}'. It was not tried again.", url);
            }
            if (error != null)
            {
                var words = string.IsNullOrWhiteSpace(details) ? message : message == null ? details : message + " " + details;
                throw response.ServiceError(code, words, url, said is int status ? ServiceResponse.CategoryFor(status) : (BackupErrorCategory?)null);
            }
            if (!response.IsSuccess) throw response.ServiceError(null, ServiceCall.ServiceWords(response), url);
            var token = root?.Str("token");
            if (string.IsNullOrEmpty(token)) throw response.Invalid("answered without a token", url);
            DateTimeOffset? expires = null;
            // (epoch milliseconds on the server's clock; beyond year 9999 is not a time)
            if (root?.Prop("expires") is JsonElement x && x.ValueKind == JsonValueKind.Number && x.TryGetInt64(out var ms) && ms >= 0 && ms <= 253402300799999)
                expires = OnThisClock(DateTimeOffset.FromUnixTimeMilliseconds(ms), response.ServiceDate);
            return (Secret.FromPlain(token), expires);
        }
    }
}
