using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Async;

namespace BackupTools.Http
{
    /// <summary>
    /// What a provider uses to talk to its service during one operation: the connection, the shared client, the
    /// caller's log and cancellation. It sends, times out, reads the body and turns transport failures into
    /// <see cref="BackupToolsException"/>s that say whether a create may have reached the service.
    /// </summary>
    internal sealed class ServiceCall
    {
        /// <summary>Answers larger than this are not read whole (a hostile or broken server cannot exhaust memory).</summary>
        internal const int MaxBodyChars = 4 * 1024 * 1024;

        public ServiceCall(BackupConnection connection, IOperationLog log, CancellationToken cancellationToken, HttpClient client = null,
            Func<HttpClient> clients = null)
        {
            Connection = connection ?? throw new ArgumentNullException(nameof(connection));
            Log = log ?? NullOperationLog.Instance;
            CancellationToken = cancellationToken;
            _client = client;
            _clients = clients;
        }

        private readonly HttpClient _client;
        private readonly Func<HttpClient> _clients;

        public BackupConnection Connection { get; }
        public IOperationLog Log { get; }
        public CancellationToken CancellationToken { get; }

        /// <summary>
        /// The client of the next request: the one given, else the factory's current one for the connection, taken
        /// per request (one lookup), not once per call: a wait keeps its call for hours, and pinning one client kept its
        /// handler (and its pooled connections' DNS answers) past the handler lifetime.
        /// </summary>
        public HttpClient Client => _client ?? (_clients != null ? _clients() : BackupHttp.ClientFor(Connection));

        /// <summary>
        /// A secret this call sends besides its credential's (a disaster-recovery passcode), to mask in answers: it is
        /// remembered for the connection's endpoint, so later calls to it (a wait's status reads, Get-BackupJob), on this
        /// or any other connection of the process, mask it too.
        /// </summary>
        public void AddSecret(System.Security.SecureString secret) => Connection.RememberSent(secret);

        /// <summary>How many of the tokens its requests carried a call keeps for masking (<see cref="Carried"/>).</summary>
        internal const int CarriedKept = 8;

        private static readonly System.Security.SecureString[] NoneCarried = new System.Security.SecureString[0];

        // The tokens this call's requests carried (BackupCredential.SentTokenProperty), newest first, each once.
        private System.Security.SecureString[] _carried = NoneCarried;

        /// <summary>
        /// The tokens this call's requests carried, newest first, at most <see cref="CarriedKept"/>: masked in what the
        /// call's answers say (<see cref="Scrub(string)"/>) after a renewal replaced them. A job's messages and a create's
        /// address are scrubbed with the call once the answer is read, when the credential may already hold the next
        /// token (a wait's reads share one call, and a 401 on one of them renews for all). Bounded: a wait keeps its
        /// call for hours, and a token renewed eight times over within one request's time is long gone.
        /// </summary>
        internal System.Security.SecureString[] Carried => Volatile.Read(ref _carried);

        private void RememberCarried(System.Security.SecureString token)
        {
            while (true)
            {
                var was = Volatile.Read(ref _carried);
                // Nearly always the newest already (every request of a wait between two renewals).
                if (was.Length > 0 && ReferenceEquals(was[0], token)) return;
                if (Array.IndexOf(was, token) >= 0) return;
                var now = new System.Security.SecureString[Math.Min(was.Length + 1, CarriedKept)];
                now[0] = token;
                Array.Copy(was, 0, now, 1, now.Length - 1);
                if (Interlocked.CompareExchange(ref _carried, now, was) == was) return;
            }
        }

        /// <summary>
        /// Text a service answered (an error's message, a job's reason), with every secret this call holds masked: the
        /// credential's token, password, client secret or secret key, the tokens this call's requests carried
        /// (<see cref="Carried"/>) and those sent to the endpoint (a passcode), as sent and in the encoded forms a
        /// service may echo them in (percent-, form- and JSON-escaped). Services are not known to echo them; an error
        /// that quoted the password it refused would otherwise have shown it, and kept it.
        /// </summary>
        public string Scrub(string text) => Scrub(text, null);

        /// <summary>
        /// <see cref="Scrub(string)"/>, and <paramref name="sentWith"/> masked too: the token the request that was
        /// answered carried (<see cref="ServiceResponse.SentWith"/>), which a renewal since may have replaced.
        /// </summary>
        public string Scrub(string text, System.Security.SecureString sentWith)
        {
            if (string.IsNullOrEmpty(text)) return text;
            var secrets = new System.Collections.Generic.List<System.Security.SecureString>(Connection.Credential.Secrets());
            // The tokens the requests carried, each once: the one at hand is nearly always among them.
            if (sentWith != null && !secrets.Contains(sentWith)) secrets.Add(sentWith);
            foreach (var carried in Carried)
                if (!secrets.Contains(carried)) secrets.Add(carried);
            secrets.AddRange(Connection.SentSecrets());
            foreach (var secure in secrets)
            {
                // Every form below is at least as long as the secret, so a longer one is not decoded (its length is
                // read without decoding): an endpoint remembers every passcode the process sent it, and a short code
                // costs nothing.
                if (secure == null || secure.Length < 4 || secure.Length > text.Length) continue;
                var secret = Secret.Reveal(secure);
                if (string.IsNullOrEmpty(secret) || secret.Length < 4 || !MayHold(text, secret)) continue;
                text = Mask(text, secret);
                var escaped = EscapedData(secret);
                text = Mask(text, escaped);
                text = Mask(text, System.Net.WebUtility.UrlEncode(secret));
                // As FormUrlEncodedContent writes it (a body's field): percent-escaped with '+' for a space, which differs
                // from UrlEncode's for a secret with a space and one of ! * ' ( ) ~.
                text = Mask(text, escaped.Replace("%20", "+"));
                text = Mask(text, System.Text.Json.JsonEncodedText.Encode(secret).ToString());
            }
            return text;
        }

        /// <summary>
        /// <see cref="Uri.EscapeDataString"/> of any length: on .NET Framework (Windows PowerShell 5.1) it throws for a
        /// string over 32,766 characters, and a token may be that long (Huawei allows X-Auth-Token values far longer).
        /// Escaping is per character, so pieces escaped apart and joined are the same; a piece never ends between the
        /// two halves of a surrogate pair, which are escaped together.
        /// </summary>
        internal static string EscapedData(string value)
        {
            const int piece = 32000;
            if (value.Length <= piece) return Uri.EscapeDataString(value);
            var text = new System.Text.StringBuilder(value.Length * 3 / 2);
            for (var start = 0; start < value.Length;)
            {
                var length = Math.Min(piece, value.Length - start);
                if (start + length < value.Length && char.IsHighSurrogate(value[start + length - 1])) length--;
                text.Append(Uri.EscapeDataString(value.Substring(start, length)));
                start += length;
            }
            return text.ToString();
        }

        /// <summary>A job status with its messages' texts scrubbed (<see cref="Scrub(string)"/>); as it is when it has none.</summary>
        internal JobStatus Scrubbed(JobStatus status)
        {
            if (status == null) return null;
            status.Errors = Scrubbed(status.Errors);
            status.Warnings = Scrubbed(status.Warnings);
            return status;
        }

        private BackupJobMessage[] Scrubbed(BackupJobMessage[] messages)
        {
            if (messages == null || messages.Length == 0) return messages;
            var scrubbed = new BackupJobMessage[messages.Length];
            for (var i = 0; i < messages.Length; i++)
                scrubbed[i] = new BackupJobMessage(Scrub(messages[i].Code), Scrub(messages[i].Message), messages[i].Subject);
            return scrubbed;
        }

        /// <summary>
        /// False when no form of <paramref name="secret"/> can be in <paramref name="text"/>: the secret's longest run
        /// of ASCII letters and digits is missing, and every form keeps such runs as they are (percent-, form- and
        /// JSON-escaping change only other characters). Spares the four encodings (and their plain copies) of each
        /// remembered passcode for most texts: with 1,000 remembered a message took about 3 ms, 1.7 ms with this test,
        /// the decodes being the rest. True for a secret without such a run.
        /// </summary>
        private static bool MayHold(string text, string secret)
        {
            int best = 0, bestAt = 0;
            for (int i = 0, run = 0; i < secret.Length; i++)
            {
                run = IsAsciiLetterOrDigit(secret[i]) ? run + 1 : 0;
                if (run > best) { best = run; bestAt = i - run + 1; }
            }
            return best == 0 || text.AsSpan().IndexOf(secret.AsSpan(bestAt, best), StringComparison.Ordinal) >= 0;
        }

        private static bool IsAsciiLetterOrDigit(char c) => (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');

        private static string Mask(string text, string secret)
        {
            var at = text.IndexOf(secret, StringComparison.Ordinal);
            if (at < 0) return text;
            var sb = new StringBuilder(text.Length);
            var from = 0;
            for (; at >= 0; at = text.IndexOf(secret, from, StringComparison.Ordinal))
            {
                sb.Append(text, from, at - from).Append("***");
                from = at + secret.Length;
            }
            return sb.Append(text, from, text.Length - from).ToString();
        }

        /// <summary>
        /// False for a call that must not obtain a token (tab completion): a refused token is then not renewed, so a
        /// key press never sends a password or a client secret.
        /// </summary>
        public bool MayRenew { get; set; } = true;

        /// <summary>How long one request may take before it is abandoned.</summary>
        public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(100);

        /// <summary>
        /// The connect timeout of the handler behind <see cref="Client"/>, named when it passes:
        /// <see cref="BackupHttp.ConnectTimeout"/>, which every client of the process's factory has. A caller that gives a
        /// client of its own, built with another (<see cref="BackupHttp.CreatePrimaryHandler(bool, bool, TimeSpan)"/>),
        /// says so here: an HttpClient does not show its handler, and .NET's error does not name the time.
        /// </summary>
        internal TimeSpan ConnectTimeout { get; set; } = BackupHttp.ConnectTimeout;

        private int _createsSent;

        /// <summary>How many create requests (<c>isCreate</c>) this call has sent: a failure after one was sent may leave a backup behind.</summary>
        public int CreatesSent => Volatile.Read(ref _createsSent);

        /// <summary>A call like this one to another address of the service (its IAM, UAA or token endpoint).</summary>
        public ServiceCall To(Uri address) =>
            new ServiceCall(Connection, Log, CancellationToken, BackupHttp.ClientFor(Connection.Provider, address, Connection.SkipCertificateCheck))
            {
                RequestTimeout = RequestTimeout,
            };

        /// <summary>
        /// Sends a request and reads the whole answer. <paramref name="isCreate"/> marks a call that starts something:
        /// when its outcome is unknown the error says so instead of looking like a plain failure.
        /// A request the credential authorized and the service refused with 401 is sent once more with a renewed token,
        /// when the credential can renew and the token was not brand new; otherwise (and after that one repeat) the
        /// refusal is a <see cref="ErrorIds.ConnectionAuthenticationFailed"/> error. A plain access token's 401 is left
        /// to the provider, which reports it with the service's code.
        /// </summary>
        public Task<ServiceResponse> SendAsync(HttpRequestMessage request, bool isCreate, object target)
        {
            var credential = Connection.Credential;
            var placement = request.Properties.TryGetValue(BackupCredential.PlacementProperty, out var p) ? p as TokenPlacement : null;
            // A plain access token (or a request the credential did not authorize) is sent once: no await layer of its own.
            return placement == null || credential is AccessTokenCredential
                ? SendOnceAsync(request, isCreate, target)
                : SendRenewingAsync(request, isCreate, target, credential, placement);
        }

        /// <summary>The credential's token generation a request was sent with (0 when it carried none).</summary>
        internal static int GenerationOf(HttpRequestMessage request) =>
            request.Properties.TryGetValue(BackupCredential.GenerationProperty, out var g) && g is int n ? n : 0;

        /// <summary>
        /// Renews the credential after the service refused a request sent with token <paramref name="generation"/>: when
        /// another request has renewed it since, that token is used and no new one is fetched (32 reads refused at once
        /// cost one renewal, not 32). False when the credential cannot renew.
        /// </summary>
        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        internal async Task<bool> RenewAfterRefusalAsync(BackupCredential credential, int generation)
        {
            if (!MayRenew) return false;
            if (!(credential is RenewableTokenCredential renewable)) return await credential.RenewAsync(this).NoContext();
            await renewable.RenewAfterAsync(this, generation).NoContext();
            return true;
        }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        private async Task<ServiceResponse> SendRenewingAsync(HttpRequestMessage request, bool isCreate, object target,
            BackupCredential credential, TokenPlacement placement)
        {
            var fresh = request.Properties.TryGetValue(BackupCredential.FreshProperty, out var f) && f is bool b && b;
            var generation = GenerationOf(request);
            var renewable = MayRenew && !fresh && credential.CanRenew;
            byte[] body = null;
            if (renewable && request.Content != null)
                body = await request.Content.ReadAsByteArrayAsync().NoContext();
            var copy = renewable ? Copy(request, body) : null;

            var before = credential.BeforeSendAsync(this);
            var waited = !before.IsCompleted;
            var held = await before.NoContext();
            ServiceResponse response = null;
            try
            {
                // A request that waited for the key's first answer is signed again: its date was taken before the wait,
                // and a clock near the gateway's 15 minutes plus that wait would have it refused (and the refusal remembered).
                if (waited) await credential.ApplyAsync(request, this, placement).NoContext();
                response = await SendOnceAsync(request, isCreate, target).NoContext();
                if (response.Status != 401) return response;
                if (copy == null) throw RefusedBy(response, credential, target);
            }
            finally
            {
                credential.AfterSend(held, response?.Status);
            }

            Log.Verbose($"{Connection.Provider}: the service refused the {credential.Method} token (HTTP 401); renewing it once.");
            await RenewAfterRefusalAsync(credential, generation).NoContext();
            await credential.ApplyAsync(copy, this, placement).NoContext();
            response = await SendOnceAsync(copy, isCreate, target).NoContext();
            if (response.Status == 401) throw RefusedBy(response, credential, target);
            return response;
        }

        private static HttpRequestMessage Copy(HttpRequestMessage request, byte[] body)
        {
            var copy = new HttpRequestMessage(request.Method, request.RequestUri);
            foreach (var h in request.Headers)
            {
                if (string.Equals(h.Key, "Authorization", StringComparison.OrdinalIgnoreCase)) continue;
                copy.Headers.TryAddWithoutValidation(h.Key, h.Value);
            }
            if (body != null)
            {
                copy.Content = new ByteArrayContent(body);
                foreach (var h in request.Content.Headers) copy.Content.Headers.TryAddWithoutValidation(h.Key, h.Value);
            }
            foreach (var kv in request.Properties) copy.Properties[kv.Key] = kv.Value;
            return copy;
        }

        /// <summary>A refusal of a credential that was fresh (or cannot be renewed): final, with the service's words.</summary>
        private BackupToolsException RefusedBy(ServiceResponse response, BackupCredential credential, object target)
        {
            var (code, message) = ErrorOf(response);
            var refused = BackupCredential.Refused(Connection.Provider,
                Sentence($"{response.Call} answered HTTP 401{response.CutOffNote}{CodeAndMessage(code, message, response.Status)}") + $" {Connection.Provider} refused the " +
                $"{credential.Method} credential" + (credential.CanRenew ? " even with a newly obtained token." : ".") +
                " The request was not sent again.", target);
            // The service's own code (APIG.0301 for a signature that does not verify) and message, as on every other error.
            refused.ServiceCode = code;
            refused.ServiceMessage = message;
            refused.HttpStatus = response.Status;
            if (credential.Method == AuthenticationMethods.AccessKey)
                refused.RecommendedAction = "Check the access key id and secret key, and this machine's clock: a signature dated more than 15 minutes " +
                                            "from the service's time is refused. Then connect again with Connect-BackupService and the corrected secret key " +
                                            "(the same secret key is not sent again from this process for 5 minutes); until then nothing more is signed " +
                                            "with this key, as Huawei Cloud locks an access key after five failed signatures in a row.";
            credential.RememberRefusal(refused);
            return refused;
        }

        /// <summary>The code and message of an error body, in the shapes the five services use; null when there is none.</summary>
        internal static string ServiceWords(ServiceResponse response)
        {
            var (code, message) = ServiceCodeAndMessage(response);
            return Words(code, message);
        }

        private static string Words(string code, string message) =>
            code == null && message == null ? null : code == null ? message : message == null ? code : code + " " + message;

        /// <summary>
        /// A service's code and message as a service error quotes them after its status (" DBS.200410: Backup failed"),
        /// or nothing: end the text with <see cref="Sentence"/>, as a message may end in its own period.
        /// </summary>
        internal static string CodeAndMessage(string code, string message, int status) =>
            // (IAM's Keystone code is the status again: "HTTP 401 401: ..." said it twice)
            (string.IsNullOrEmpty(code) || code == status.ToString(System.Globalization.CultureInfo.InvariantCulture) ? string.Empty : " " + code) +
            (string.IsNullOrEmpty(message) ? string.Empty : ": " + message);

        /// <summary>
        /// The code and message of an error body of this call's service, masked: as its provider's own parser reads them
        /// (<see cref="Providers.IReadsServiceErrors"/>), else in the shapes the five services use.
        /// </summary>
        internal (string Code, string Message) ErrorOf(ServiceResponse response)
        {
            var provider = Providers.ProviderRegistry.Names.Contains(Connection.Provider, StringComparer.OrdinalIgnoreCase)
                ? Providers.ProviderRegistry.Get(Connection.Provider) as Providers.IReadsServiceErrors
                : null;
            var own = provider?.ErrorOf(response);
            if (own.HasValue && (own.Value.Code != null || own.Value.Message != null))
                return (response.Scrubbed(own.Value.Code), response.Scrubbed(own.Value.Message));
            return ServiceCodeAndMessage(response);
        }

        /// <summary>The code and the message of an error body, each null when the body has none.</summary>
        internal static (string Code, string Message) ServiceCodeAndMessage(ServiceResponse response)
        {
            if (!(response.Json is JsonElement e) || e.ValueKind != JsonValueKind.Object) return (null, null);
            string S(JsonElement o, string name) =>
                o.TryGetProperty(name, out var v) ? (v.ValueKind == JsonValueKind.String ? v.GetString() : v.ValueKind == JsonValueKind.Number ? v.GetRawText() : null) : null;
            var inner = e.TryGetProperty("error", out var er) && er.ValueKind == JsonValueKind.Object ? er : e;
            if (e.TryGetProperty("errors", out var list) && list.ValueKind == JsonValueKind.Array && list.GetArrayLength() > 0 && list[0].ValueKind == JsonValueKind.Object)
                inner = list[0];
            var code = S(inner, "error_code") ?? S(inner, "errCode") ?? S(inner, "title") ?? S(inner, "code") ?? (e.TryGetProperty("error", out var es) && es.ValueKind == JsonValueKind.String ? es.GetString() : null);
            var message = S(inner, "error_msg") ?? S(inner, "externalMessage") ?? S(inner, "detail") ?? S(inner, "message") ?? S(e, "error_description");
            return (response.Scrubbed(code), response.Scrubbed(message));
        }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        private async Task<ServiceResponse> SendOnceAsync(HttpRequestMessage request, bool isCreate, object target)
        {
            request.Properties[LoggingHandler.CallProperty] = this;
            // The same header on the wire as a parsed MediaTypeWithQualityHeaderValue, without parsing one per request.
            if (request.Headers.Accept.Count == 0) request.Headers.TryAddWithoutValidation("Accept", "application/json");
            // .NET Framework sends "Expect: 100-continue" on every POST unless told not to (ServicePointManager's
            // default): each create and token request then waited up to 350 ms for a 100, and a proxy answering 417
            // failed it.
            request.Headers.ExpectContinue = false;
            var provider = Connection.Provider;
            // The token it carries, remembered before it leaves: its answer (and the job it reports) is masked with it
            // whatever token the credential holds by then.
            var sentWith = request.Properties.TryGetValue(BackupCredential.SentTokenProperty, out var t) ? t as System.Security.SecureString : null;
            if (sentWith != null) RememberCarried(sentWith);
            // A create whose caller stopped before it left is not counted as sent: it would read as "may have started".
            CancellationToken.ThrowIfCancellationRequested();
            if (isCreate) Interlocked.Increment(ref _createsSent);
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(CancellationToken))
            {
                // (A timer's longest delay is 24.8 days on .NET Framework: a longer request timeout is no limit, as for -Timeout.)
                if (RequestTimeout >= TimeSpan.Zero && RequestTimeout <= BackupTools.Jobs.WaitOptions.LongestTimeout) timeout.CancelAfter(RequestTimeout);
                try
                {
                    using (var response = await Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).NoContext())
                    {
                        // The request's time covers the body too: a body that stalls halfway is cut off. .NET
                        // Framework's response stream ignores the token its reads are given, so the token also
                        // disposes the answer, which ends a read stalled there (Windows PowerShell 5.1's hang).
                        string body = null, cutOff = null;
                        using (timeout.Token.Register(DisposeResponse, response))
                        {
                            try
                            {
                                body = await ReadBodyAsync(response, timeout.Token).NoContext();
                            }
                            catch (Exception ex) when (!CancellationToken.IsCancellationRequested && IsBodyFailure(ex) &&
                                                       ((isCreate && IsSuccessStatus(response)) || IsRefusal(request, response)))
                            {
                                // A create answered 2xx (its status and headers are in) whose body then stalled or
                                // broke: the answer is kept, its body marked cut off, not thrown away with it. A
                                // Dataverse or Cloud Foundry create names its job in a header (Operation-Location,
                                // Location), and a service without a lookup by name leaves no other way to find it.
                                // Whether the status alone means accepted is the provider's to say
                                // (IBackupProvider.AcceptedCreateStatus): ArcGIS answers most refusals with 200.
                                // A refusal of the credential (a 401; a sign-in's 400 or 403) likewise: thrown away as
                                // "no answer within", it was a passing failure, and the refused secret was signed or
                                // sent again at every repeat (Huawei locks an access key after five refusals in a row).
                                // Stopped by the caller (Ctrl+C) or by the create's budget: as before, below.
                                cutOff = timeout.Token.IsCancellationRequested
                                    ? $"no more of it within {RequestTimeout.TotalSeconds:0.#} s"
                                    : Redact.UserInfo(ex.InnerException?.Message ?? ex.Message).TrimEnd('.');
                                Log.Verbose($"{Describe(provider, request.Method, request.RequestUri)} answered HTTP {(int)response.StatusCode}, and its body was cut off ({cutOff}).");
                            }
                            catch (Exception ex) when (timeout.Token.IsCancellationRequested && !(ex is OperationCanceledException))
                            {
                                throw new OperationCanceledException("The answer's body was cut off.", ex, timeout.Token);
                            }
                        }
                        // (Built after the registration is disposed, which waits for a running DisposeResponse: the
                        // status and header objects stay readable once the answer is disposed.)
                        return new ServiceResponse(provider, request.Method, request.RequestUri, response, body, cutOff) { From = this, SentWith = sentWith };
                    }
                }
                catch (OperationCanceledException) when (CancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (OperationCanceledException ex) when (ex.InnerException is TimeoutException && !timeout.IsCancellationRequested)
                {
                    // The handler's connect timeout (PowerShell 7, ConnectTimeout): no connection was opened, so nothing of
                    // the request was sent.
                    throw Transport(provider, isCreate, reached: false, Describe(provider, request.Method, request.RequestUri), target,
                        $"could not connect within {ConnectTimeout.TotalSeconds:0.#} s", BackupErrorCategory.ConnectionError, Redact.Failure(ex));
                }
                catch (OperationCanceledException ex)
                {
                    throw Transport(provider, isCreate, reached: true, Describe(provider, request.Method, request.RequestUri), target,
                        $"no answer within {RequestTimeout.TotalSeconds:0.#} s", BackupErrorCategory.OperationTimeout, Redact.Failure(ex));
                }
                // .NET's words and the exceptions kept inside the error have the user info of any address masked: they
                // quote the proxy's, with the user name and password PowerShell 7 takes from HTTPS_PROXY.
                catch (HttpRequestException ex)
                {
                    throw Transport(provider, isCreate, reached: !CertainlyNotSent(ex), Describe(provider, request.Method, request.RequestUri), target,
                        Redact.UserInfo(ex.InnerException?.Message ?? ex.Message), BackupErrorCategory.ConnectionError, Redact.Failure(ex));
                }
                catch (IOException ex)
                {
                    throw Transport(provider, isCreate, reached: true, Describe(provider, request.Method, request.RequestUri), target, Redact.UserInfo(ex.Message),
                        BackupErrorCategory.ConnectionError, Redact.Failure(ex));
                }
            }
        }

        private static bool IsSuccessStatus(HttpResponseMessage response) => (int)response.StatusCode >= 200 && (int)response.StatusCode < 300;

        /// <summary>
        /// Request property: the statuses besides 401 with which the service refuses the secret a sign-in request sends
        /// (an <c>int[]</c>: IAM's 403, UAA's and ArcGIS's 400 and 403), set with <see cref="RefusesWith"/>.
        /// </summary>
        internal const string RefusalsProperty = "BackupTools.Http.Refusals";

        /// <summary>
        /// Marks <paramref name="request"/> (a sign-in) as refused by the service with <paramref name="statuses"/> as with
        /// a 401: such an answer whose body then stalls or breaks is kept, its body marked cut off
        /// (<see cref="ServiceResponse.CutOff"/>), so the sign-in sees the refusal and remembers it.
        /// </summary>
        internal static void RefusesWith(HttpRequestMessage request, params int[] statuses) => request.Properties[RefusalsProperty] = statuses;

        /// <summary>
        /// True for an answer that refuses the request's credential by its status alone: a 401 (a token or a signature
        /// refused), or a status its sign-in names (<see cref="RefusesWith"/>). Its body is not needed to know that.
        /// </summary>
        private static bool IsRefusal(HttpRequestMessage request, HttpResponseMessage response)
        {
            var status = (int)response.StatusCode;
            if (status == 401) return true;
            return request.Properties.TryGetValue(RefusalsProperty, out var r) && r is int[] statuses && Array.IndexOf(statuses, status) >= 0;
        }

        /// <summary>How reading a body that arrived in part fails: cut off by the timeout, the connection lost, the answer disposed.</summary>
        private static bool IsBodyFailure(Exception ex) =>
            ex is OperationCanceledException || ex is IOException || ex is HttpRequestException || ex is ObjectDisposedException;

        /// <summary>"TaurusDB POST https://…/backups/create" (the URL redacted), for error messages: built only when one is.</summary>
        internal static string Describe(string provider, HttpMethod method, Uri url) => $"{provider} {method} {Redact.Url(url)}";

        /// <summary>A GET (a status read) authenticated by <paramref name="authenticate"/>, its answer read whole.</summary>
        public Task<ServiceResponse> GetAsync(Uri url, Func<HttpRequestMessage, Task> authenticate, object target)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, url);
            var authenticated = authenticate(request);
            // Nearly always done already (a token in hand): then no await layer of its own.
            return authenticated.Status == TaskStatus.RanToCompletion
                ? SendAsync(request, isCreate: false, target)
                : SendAfterAsync(authenticated, request, target);
        }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        private async Task<ServiceResponse> SendAfterAsync(Task authenticated, HttpRequestMessage request, object target)
        {
            await authenticated.NoContext();
            return await SendAsync(request, isCreate: false, target).NoContext();
        }

        private static readonly Task<string> NoBody = Task.FromResult(string.Empty);

        private static readonly Action<object> DisposeResponse = response => ((HttpResponseMessage)response).Dispose();

        /// <summary>
        /// The answer's body as text (at most <see cref="MaxBodyChars"/> bytes of it), read with the request's token:
        /// HttpContent.ReadAsStringAsync takes none on netstandard2.0, and once the headers are in, the token given to
        /// SendAsync no longer covers the body, so a body that stalled halfway held the read (and a wait) forever.
        /// Decoded as ReadAsStringAsync does: a byte order mark, else the declared charset, else UTF-8.
        /// </summary>
        private static Task<string> ReadBodyAsync(HttpResponseMessage response, CancellationToken ct) =>
            response.Content == null || response.Content.Headers.ContentLength == 0 ? NoBody : ReadBodyCoreAsync(response, ct);

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        private static async Task<string> ReadBodyCoreAsync(HttpResponseMessage response, CancellationToken ct)
        {
            var declared = response.Content.Headers.ContentLength;
            using (var stream = await response.Content.ReadAsStreamAsync().NoContext())
            {
                byte[] bytes;
                int count = 0;
                if (declared is long known && known <= MaxBodyChars)
                {
                    // The common case: a small answer of known size, read into one array of that size.
                    bytes = new byte[known];
                    int n;
                    while (count < bytes.Length && (n = await stream.ReadAsync(bytes, count, bytes.Length - count, ct).NoContext()) > 0)
                        count += n;
                }
                else
                {
                    var buffer = new MemoryStream();
                    var chunk = new byte[16384];
                    int n;
                    while (buffer.Length < MaxBodyChars && (n = await stream.ReadAsync(chunk, 0, chunk.Length, ct).NoContext()) > 0)
                        buffer.Write(chunk, 0, n);
                    bytes = buffer.GetBuffer();
                    count = (int)Math.Min(buffer.Length, MaxBodyChars);
                }
                return Decode(bytes, count, response.Content.Headers.ContentType?.CharSet);
            }
        }

        internal static string Decode(byte[] bytes, int count, string charset)
        {
            if (count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF) return Encoding.UTF8.GetString(bytes, 3, count - 3);
            if (count >= 2 && bytes[0] == 0xFF && bytes[1] == 0xFE) return Encoding.Unicode.GetString(bytes, 2, count - 2);
            if (count >= 2 && bytes[0] == 0xFE && bytes[1] == 0xFF) return Encoding.BigEndianUnicode.GetString(bytes, 2, count - 2);
            var encoding = Encoding.UTF8;
            if (!string.IsNullOrWhiteSpace(charset))
            {
                try
                {
                    encoding = Encoding.GetEncoding(charset.Trim().Trim('"'));
                }
                catch (ArgumentException)
                {
                    // an unknown charset: UTF-8, as for none
                }
            }
            return encoding.GetString(bytes, 0, count);
        }

        /// <summary>True when the failure happened before a single byte of the request could have reached the service.</summary>
        internal static bool CertainlyNotSent(Exception ex)
        {
            for (var e = ex; e != null; e = e.InnerException)
            {
                // PowerShell 7.4 and later: the proxy refused to open the tunnel to the service (407, 502, 503 to CONNECT).
                if (e is HttpRequestException he && HttpRequestFailure.IsProxyTunnelError(he)) return true;
                // .NET Framework: a name that does not resolve is a WebException without a SocketException inside.
                if (e is WebException we && (we.Status == WebExceptionStatus.NameResolutionFailure || we.Status == WebExceptionStatus.ProxyNameResolutionFailure))
                    return true;
                if (e is SocketException se &&
                    (se.SocketErrorCode == SocketError.ConnectionRefused || se.SocketErrorCode == SocketError.HostNotFound ||
                     se.SocketErrorCode == SocketError.NoData || se.SocketErrorCode == SocketError.HostUnreachable ||
                     se.SocketErrorCode == SocketError.NetworkUnreachable || se.SocketErrorCode == SocketError.TryAgain))
                    return true;
            }
            return false;
        }

        // With the provider: a status read's repeat is logged under its name (Resilience), which read " status read attempt 1 failed".
        private static BackupToolsException Transport(string provider, bool isCreate, bool reached, string what, object target, string detail,
            BackupErrorCategory category, Exception inner)
        {
            if (isCreate && reached)
            {
                return new BackupToolsException(ErrorIds.BackupCreateOutcomeUnknown, category,
                    $"{what}: {Sentence(detail)} The request may have reached the service, so the backup may have started. " +
                    BackupService.NotSentAgain + $" Request: {target}.", target, inner) { Provider = provider };
            }
            return new BackupToolsException(ErrorIds.BackupServiceUnreachable, category,
                $"{what}: {Sentence(detail)}" + (isCreate ? " Nothing was created." : string.Empty), target, inner) { Provider = provider };
        }

        /// <summary>
        /// <paramref name="detail"/> ended as one sentence: a full stop added only where it has none (.NET's own words
        /// end with one), and an unmatched double quote at its end dropped (.NET's proxy tunnel message ends with one
        /// after its full stop, which read <c>'502'.".</c> in the error).
        /// </summary>
        internal static string Sentence(string detail)
        {
            var text = (detail ?? string.Empty).TrimEnd();
            if (text.EndsWith("\"", StringComparison.Ordinal) && text.Count(c => c == '"') % 2 == 1) text = text.Substring(0, text.Length - 1).TrimEnd();
            return text.EndsWith(".", StringComparison.Ordinal) || text.EndsWith("!", StringComparison.Ordinal) || text.EndsWith("?", StringComparison.Ordinal)
                ? text : text + ".";
        }
    }

    /// <summary>
    /// A fully read answer. What only errors and a few providers need (the call's description, all headers as text,
    /// the content type) is built when first asked for, not for every status read: the header objects it is built
    /// from stay readable after the response is disposed.
    /// </summary>
    internal sealed class ServiceResponse
    {
        private JsonElement? _json;
        private bool _parsed;
        private readonly HttpMethod _method;
        private readonly Uri _url;
        private readonly HttpResponseHeaders _headers;
        private readonly HttpContentHeaders _contentHeaders;
        private string _call;
        private System.Collections.Generic.IReadOnlyDictionary<string, string> _headerTexts;
        private string _contentType;
        private bool _contentTypeRead;

        public ServiceResponse(string provider, HttpMethod method, Uri url, HttpResponseMessage response, string body, string cutOff = null)
        {
            Provider = provider;
            _method = method;
            _url = url;
            Status = (int)response.StatusCode;
            // A body cut off is not read at all: a part of one is never taken for the whole.
            Body = cutOff != null ? string.Empty : body ?? string.Empty;
            CutOff = cutOff;
            _headers = response.Headers;
            _contentHeaders = response.Content?.Headers;
            Location = _headers.Location;
            // A Retry-After date is on the service's clock: measured from its Date header where it sent one, so a
            // client clock minutes fast does not turn a 90 s pause into none (and minutes slow, into a longer one).
            var now = DateTimeOffset.UtcNow;
            RetryAfter = ParseRetryAfter(_headers.RetryAfter, _headers.Date ?? now) ?? (Status == 429 ? RateLimitReset(_headers, now) : null);
        }

        public string Provider { get; }
        /// <summary>"TaurusDB POST https://…/backups/create", for error messages.</summary>
        public string Call => _call ?? (_call = ServiceCall.Describe(Provider, _method, _url));
        public int Status { get; }
        public string Body { get; }

        /// <summary>
        /// Why the body did not arrive whole ("no more of it within 100 s"), for a create the service accepted, or an
        /// answer refusing the credential (a 401, a sign-in's 400 or 403), whose status and headers arrived before its
        /// body stalled or broke; null for a body read whole. <see cref="Body"/> is then empty and <see cref="Json"/>
        /// null: only the status and headers are the service's word.
        /// </summary>
        public string CutOff { get; }

        /// <summary>" (its body was cut off: …)" for an answer whose body was cut off, to follow its status in a message; else empty.</summary>
        internal string CutOffNote => CutOff == null ? string.Empty : $" (its body was cut off: {CutOff})";

        public Uri Location { get; }
        public TimeSpan? RetryAfter { get; }

        /// <summary>The call this answer came to (its secrets are masked in the service's words), where known.</summary>
        internal ServiceCall From { get; set; }

        /// <summary>
        /// The token the request that was answered carried (<see cref="BackupCredential.SentTokenProperty"/>), where its
        /// credential can replace it; null otherwise.
        /// </summary>
        internal System.Security.SecureString SentWith { get; set; }

        /// <summary>Service text with the call's secrets and the token the request carried masked (<see cref="ServiceCall.Scrub(string, System.Security.SecureString)"/>).</summary>
        public string Scrubbed(string text) => From == null || string.IsNullOrEmpty(text) ? text : From.Scrub(text, SentWith);

        /// <summary>The service's clock when it answered (the Date header), where it sent one.</summary>
        public DateTimeOffset? ServiceDate => _headers.Date;

        /// <summary>The response headers, each as one comma-joined text, names case-insensitive.</summary>
        public System.Collections.Generic.IReadOnlyDictionary<string, string> Headers =>
            _headerTexts ?? (_headerTexts = _headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase));

        public string ContentType
        {
            get
            {
                if (!_contentTypeRead)
                {
                    _contentType = _contentHeaders?.ContentType?.MediaType;
                    _contentTypeRead = true;
                }
                return _contentType;
            }
        }
        public bool IsSuccess => Status >= 200 && Status < 300;

        /// <summary>The body as JSON, or null when it is empty or not JSON.</summary>
        public JsonElement? Json
        {
            get
            {
                if (!_parsed)
                {
                    _parsed = true;
                    try
                    {
                        if (!string.IsNullOrWhiteSpace(Body))
                        {
                            // Cloned and disposed at once: the document's buffers go back to the pool instead of
                            // becoming garbage with every status read (thousands of jobs poll at once).
                            using (var document = JsonDocument.Parse(Body, new JsonDocumentOptions { MaxDepth = 64, AllowTrailingCommas = true }))
                                _json = document.RootElement.Clone();
                        }
                    }
                    catch (JsonException)
                    {
                        _json = null;
                    }
                }
                return _json;
            }
        }

        /// <summary>The JSON object body, or a <see cref="ErrorIds.BackupResponseInvalid"/> error naming the service and call.</summary>
        public JsonElement RequireJsonObject(object target)
        {
            var json = Json;
            if (json is JsonElement e && e.ValueKind == JsonValueKind.Object) return e;
            var what = CutOff != null ? $"a body that was cut off ({CutOff})" :
                string.IsNullOrWhiteSpace(Body) ? "an empty body" :
                json == null ? "a body that is not JSON" + (ContentType != null ? $" ({ContentType})" : string.Empty) : $"JSON {json.Value.ValueKind}, not an object";
            throw Invalid($"answered HTTP {Status} with {what}", target);
        }

        public BackupToolsException Invalid(string detail, object target, Exception inner = null) =>
            new BackupToolsException(ErrorIds.BackupResponseInvalid, BackupErrorCategory.ProtocolError,
                $"{Call} {detail}.", target, inner)
            {
                Provider = Provider,
                HttpStatus = Status,
                RecommendedAction = "The service's answer could not be read. Try again; if it persists, check the endpoint is the right service.",
            };

        /// <summary>The longest pause a service's Retry-After (or rate-limit reset) is taken for: one day, the longest polling interval.</summary>
        internal static readonly TimeSpan LongestRetryAfter = BackupTools.Jobs.WaitOptions.LongestPollingInterval;

        internal static TimeSpan? ParseRetryAfter(RetryConditionHeaderValue value, DateTimeOffset now)
        {
            if (value == null) return null;
            if (value.Delta is TimeSpan d) return Bounded(d);
            if (value.Date is DateTimeOffset at) return Bounded(at - now);
            return null;
        }

        /// <summary>
        /// A 429 without Retry-After: Cloud Foundry's <c>X-RateLimit-Reset</c> (epoch seconds when the window resets),
        /// on the service's clock where it sent a Date header; only when the window is spent (<c>X-RateLimit-Remaining</c>
        /// 0, or not said): a 429 with requests left in the window is another refusal, and its reset says nothing of it.
        /// </summary>
        internal static TimeSpan? RateLimitReset(HttpResponseHeaders headers, DateTimeOffset now)
        {
            if (!headers.TryGetValues("X-RateLimit-Reset", out var values)) return null;
            if (headers.TryGetValues("X-RateLimit-Remaining", out var remaining))
                foreach (var left in remaining)
                    if (left.Trim() != "0") return null;
            foreach (var value in values)
            {
                if (!long.TryParse(value.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var reset) ||
                    reset > 253402300799) return null; // beyond year 9999
                // Epoch seconds (Cloud Foundry); a small number is a count of seconds to wait, as some gateways send it.
                var wait = reset < 1000000000 ? TimeSpan.FromSeconds(reset) : DateTimeOffset.FromUnixTimeSeconds(reset) - (headers.Date ?? now);
                // A reset already past says nothing of when to try again: the usual backoff applies.
                return wait > TimeSpan.Zero ? Bounded(wait) : (TimeSpan?)null;
            }
            return null;
        }

        private static TimeSpan Bounded(TimeSpan wait) =>
            wait < TimeSpan.Zero ? TimeSpan.Zero : wait > LongestRetryAfter ? LongestRetryAfter : wait;

        /// <summary>Maps an HTTP status to the category its error belongs in.</summary>
        public static BackupErrorCategory CategoryFor(int status)
        {
            switch (status)
            {
                case 400: case 422: return BackupErrorCategory.InvalidArgument;
                case 401: case 498: case 499: return BackupErrorCategory.AuthenticationError;
                case 403: return BackupErrorCategory.PermissionDenied;
                case 404: return BackupErrorCategory.ObjectNotFound;
                case 409: return BackupErrorCategory.ResourceBusy;
                case 408: case 504: return BackupErrorCategory.OperationTimeout;
                case 429: return BackupErrorCategory.LimitsExceeded;
                case 502: case 503: return BackupErrorCategory.ResourceUnavailable;
                default: return status >= 500 ? BackupErrorCategory.ResourceUnavailable : BackupErrorCategory.NotSpecified;
            }
        }

        /// <summary>A service error carrying the service's code and message.</summary>
        public BackupToolsException ServiceError(string code, string message, object target, BackupErrorCategory? category = null)
        {
            code = Scrubbed(code);
            message = Scrubbed(message);
            var text = $"{Call} answered HTTP {Status}{CutOffNote}" +
                       (string.IsNullOrEmpty(code) ? string.Empty : $" {code}") +
                       (string.IsNullOrEmpty(message) ? "." : $": {message}");
            return new BackupToolsException(ErrorIds.BackupServiceError, category ?? CategoryFor(Status), text, target)
            {
                Provider = Provider,
                ServiceCode = code,
                ServiceMessage = message,
                HttpStatus = Status,
                RetryAfter = RetryAfter,
            };
        }
    }
}
