using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Runtime.CompilerServices;
using System.Security;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Async;
using BackupTools.Http;

namespace BackupTools
{
    /// <summary>
    /// An access key id and secret access key: every request is signed with <c>SDK-HMAC-SHA256</c> (<see cref="AkSkSigner"/>)
    /// over its method, path, query, <c>Host</c>, <c>X-Sdk-Date</c>, <c>X-Project-Id</c> and body. There is no token to renew;
    /// a refused signature is final (Huawei locks a key after five failures in a row). The first refusal is remembered:
    /// later requests on the connection fail with it and are never signed, until Connect-BackupService makes a new one.
    /// Until the service has accepted one signature of the key, signed requests go one at a time, so that a wrong secret
    /// (or a clock more than 15 minutes off) costs one refused signature, not one per job a wait reads at once.
    /// </summary>
    internal sealed class AkSkCredential : BackupCredential
    {
        private readonly string _accessKeyId;
        private readonly SecureString _secretKey;
        private BackupToolsException _refusal;
        private volatile bool _accepted;
        // Held by the one signed request in flight until the service has accepted a signature (not disposed: no wait handle is asked for).
        private readonly SemaphoreSlim _firstAnswer = new SemaphoreSlim(1, 1);

        public AkSkCredential(string accessKeyId, SecureString secretAccessKey)
        {
            if (string.IsNullOrWhiteSpace(accessKeyId))
                throw new BackupToolsException(ErrorIds.ConnectionParameterInvalid, BackupErrorCategory.InvalidArgument, "AccessKeyId must not be empty.");
            if (secretAccessKey == null || secretAccessKey.Length == 0)
                throw new BackupToolsException(ErrorIds.ConnectionParameterInvalid, BackupErrorCategory.InvalidArgument, "SecretAccessKey must not be empty.");
            _accessKeyId = accessKeyId.Trim();
            // It goes into the Authorization header as it is: a line break inside ended the header (what followed went
            // out as headers of its own), a space was signed and refused (a failure Huawei counts toward locking the
            // key), and a non-ASCII letter stopped the request before it left while it looked like one that may have.
            if (!TokenPlacement.FitsHeader(_accessKeyId, ",="))
                throw new BackupToolsException(ErrorIds.ConnectionParameterInvalid, BackupErrorCategory.InvalidArgument,
                    "AccessKeyId holds a space, a line break, a comma, an equals sign or a character that is not ASCII; an access key id is letters and digits. Nothing was sent.")
                {
                    RecommendedAction = "Copy the access key id again (the AK of the key pair, 20 letters and digits), without anything around it.",
                };
            _secretKey = Secret.Keep(secretAccessKey);
        }

        internal override System.Collections.Generic.IEnumerable<SecureString> Secrets() { yield return _secretKey; }

        public override string Method => AuthenticationMethods.AccessKey;

        /// <summary>Test hook: the clock the signature date comes from.</summary>
        internal Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;

        public override Task<string> GetTokenAsync(ServiceCall call) =>
            throw new BackupToolsException(ErrorIds.ConnectionParameterInvalid, BackupErrorCategory.InvalidOperation,
                "An access key signs each request; it has no token to send.");

        /// <summary>
        /// The Host header as it goes on the wire, and is signed: an internationalized name in its ASCII (punycode) form,
        /// which the service sees, rather than Uri.Authority's Unicode form, which no header can carry.
        /// </summary>
        internal static string HostHeader(Uri uri)
        {
            var host = uri.HostNameType == UriHostNameType.Dns ? uri.IdnHost : uri.Host;
            return uri.IsDefaultPort ? host : host + ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        internal override bool HasTokenAtHand => Volatile.Read(ref _refusal) == null;

        /// <summary>
        /// Keeps the first refusal: each signature sent with a refused key (a wrong or rotated secret, a clock more than
        /// 15 minutes off) counts toward locking the key for every process that uses it. Requests already on their way
        /// may still be refused on their own; none is signed after this.
        /// </summary>
        internal override void RememberRefusal(BackupToolsException refused) =>
            Interlocked.CompareExchange(ref _refusal, refused, null);

        /// <summary>
        /// Before the key's first accepted signature, waits for the request ahead to have its answer; a request that
        /// waited behind a refusal is not sent.
        /// </summary>
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        internal override async Task<bool> BeforeSendAsync(ServiceCall call)
        {
            ThrowIfRefused();
            if (_accepted) return false;
            await _firstAnswer.WaitAsync(call.CancellationToken).NoContext();
            if (!_accepted && Volatile.Read(ref _refusal) == null) return true;
            _firstAnswer.Release();
            ThrowIfRefused();
            return false;
        }

        /// <summary>Any answer but a 401 means the gateway verified the signature: requests need not wait for one another any more.</summary>
        internal override void AfterSend(bool held, int? status)
        {
            if (status is int s && s != 401) _accepted = true;
            if (held) _firstAnswer.Release();
        }

        private void ThrowIfRefused()
        {
            var refused = Volatile.Read(ref _refusal);
            if (refused == null) return;
            throw refused.Restated(refused.Message + " (Remembered from an earlier request on this connection: this request was not signed or sent.)",
                null, refused);
        }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder))]
        public override async Task ApplyAsync(HttpRequestMessage request, ServiceCall call, TokenPlacement placement)
        {
            var body = request.Content == null ? Array.Empty<byte>() : await request.Content.ReadAsByteArrayAsync().NoContext();
            var date = AkSkSigner.FormatDate(Clock());
            var host = HostHeader(request.RequestUri);
            request.Headers.Host = host;
            request.Headers.Remove("X-Sdk-Date");
            request.Headers.TryAddWithoutValidation("X-Sdk-Date", date);
            var signed = new List<KeyValuePair<string, string>>
            {
                new KeyValuePair<string, string>("Host", host),
                new KeyValuePair<string, string>("X-Sdk-Date", date),
            };
            var project = call.Connection.Scope;
            if (!string.IsNullOrEmpty(project))
            {
                request.Headers.Remove("X-Project-Id");
                request.Headers.TryAddWithoutValidation("X-Project-Id", project);
                signed.Add(new KeyValuePair<string, string>("X-Project-Id", project));
            }
            ThrowIfRefused();
            var canonical = AkSkSigner.CanonicalRequest(request.Method.Method, request.RequestUri, signed, body, out var names);
            var signature = AkSkSigner.Signature(Secret.Reveal(_secretKey), AkSkSigner.StringToSign(date, canonical));
            request.Headers.Remove("Authorization");
            request.Headers.TryAddWithoutValidation("Authorization", AkSkSigner.Authorization(_accessKeyId, names, signature));
            request.Properties[PlacementProperty] = placement;
            request.Properties[FreshProperty] = true; // nothing to renew: a refusal is final
        }
    }
}
