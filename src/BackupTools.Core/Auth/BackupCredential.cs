using System;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Async;
using BackupTools.Http;

namespace BackupTools
{
    /// <summary>The names of the authentication methods, as Connect-BackupService's parameter sets and Get-BackupProvider show them.</summary>
    public static class AuthenticationMethods
    {
        /// <summary>A ready token the caller supplies.</summary>
        public const string AccessToken = nameof(AccessToken);
        /// <summary>An access key id and secret access key that sign every request (SDK-HMAC-SHA256).</summary>
        public const string AccessKey = nameof(AccessKey);
        /// <summary>A user name and password exchanged for a token (IAM, ArcGIS generateToken, UAA password grant).</summary>
        public const string Credential = nameof(Credential);
        /// <summary>An OAuth client id and secret (UAA client credentials grant).</summary>
        public const string ClientCredential = nameof(ClientCredential);
        /// <summary>A caller-supplied way to get a fresh token (a script block).</summary>
        public const string TokenProvider = nameof(TokenProvider);
    }

    /// <summary>Where a service wants its token: a header name and an optional scheme (<c>Authorization: Bearer</c>, <c>X-Auth-Token</c>).</summary>
    internal sealed class TokenPlacement
    {
        private TokenPlacement(string header, string scheme)
        {
            Header = header;
            Scheme = scheme;
        }

        public string Header { get; }
        public string Scheme { get; }

        public static readonly TokenPlacement Bearer = new TokenPlacement("Authorization", "Bearer");
        public static readonly TokenPlacement LowercaseBearer = new TokenPlacement("Authorization", "bearer");
        public static readonly TokenPlacement XAuthToken = new TokenPlacement("X-Auth-Token", null);

        /// <summary>
        /// A placement of a provider's own (<c>X-Api-Key</c>, <c>Authorization: Token</c>): the token in header
        /// <paramref name="header"/>, after <paramref name="scheme"/> and a space when one is given. A new service's
        /// folder makes the one it needs, without editing this class. (Not named <c>Header</c>: that is the property.)
        /// </summary>
        /// <exception cref="ArgumentException">A name or scheme that is not an HTTP token (empty, a space, ':', a line break).</exception>
        public static TokenPlacement InHeader(string header, string scheme = null)
        {
            if (string.IsNullOrEmpty(header) || !FitsHeader(header, Separators))
                throw new ArgumentException("A header name is letters, digits and !#$%&'*+-.^_`|~ only.", nameof(header));
            if (scheme != null && (scheme.Length == 0 || !FitsHeader(scheme, Separators)))
                throw new ArgumentException("A scheme is null, or letters, digits and !#$%&'*+-.^_`|~ only.", nameof(scheme));
            return new TokenPlacement(header, scheme);
        }

        // RFC 9110's delimiters: printable ASCII that an HTTP token (a header name, an authentication scheme) cannot hold.
        private const string Separators = "\"(),/:;<=>?@[\\]{}";

        public void Apply(HttpRequestMessage request, string token)
        {
            // A header without a scheme (X-Auth-Token) takes a pasted "Bearer …" as the token too: tokens hold no
            // space, and Connect-BackupService accepts it so (Secret.FitsHeaderAsToken).
            token = Checked(WithoutScheme(token, Scheme ?? "Bearer"));
            if (Scheme != null && string.Equals(Header, "Authorization", StringComparison.OrdinalIgnoreCase))
                request.Headers.Authorization = new AuthenticationHeaderValue(Scheme, token);
            else
            {
                request.Headers.Remove(Header);
                request.Headers.TryAddWithoutValidation(Header, Scheme == null ? token : Scheme + " " + token);
            }
        }

        /// <summary>
        /// The token as a header can carry it: surrounding white space (a file read with Get-Content -Raw ends in a line
        /// break) taken off; any other control, space or non-ASCII character refused, never sent: a line break inside
        /// ended the header, and what followed went out as headers of its own, or as a second request on the
        /// connection, which every runspace of the process shares.
        /// </summary>
        internal static string Checked(string token)
        {
            if (token == null) return null;
            var trimmed = token.Trim();
            if (!FitsHeader(trimmed))
                throw new BackupToolsException(ErrorIds.ConnectionParameterInvalid, BackupErrorCategory.InvalidArgument,
                    "The token holds a line break, a space or another character an HTTP header cannot carry; it was not sent.")
                {
                    RecommendedAction = "Check where the token comes from (a file, a variable, a -TokenProvider script): it must be the token alone.",
                };
            return trimmed;
        }

        /// <summary>
        /// True when every character of <paramref name="value"/> is printable ASCII without a space (what a header's
        /// token or credential part can carry as it is), and none of <paramref name="alsoRefused"/>.
        /// </summary>
        internal static bool FitsHeader(string value, string alsoRefused = "")
        {
            foreach (var c in value)
                if (c < '!' || c > '~' || alsoRefused.IndexOf(c) >= 0) return false;
            return true;
        }

        /// <summary>
        /// A token pasted with its scheme (<c>cf oauth-token</c> prints <c>bearer eyJ…</c>, a header copied from a
        /// browser <c>Bearer eyJ…</c>) without it: sent as it is, the header said "bearer bearer eyJ…" and every
        /// request was refused. Tokens themselves hold no space.
        /// </summary>
        internal static string WithoutScheme(string token, string scheme)
        {
            if (scheme == null || token == null || token.Length <= scheme.Length + 1 ||
                !token.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || token[scheme.Length] != ' ') return token;
            return token.Substring(scheme.Length + 1).Trim();
        }
    }

    /// <summary>
    /// How a connection proves who it is. A credential applies itself to each request (<see cref="ApplyAsync"/>): a
    /// token credential sets the header the provider names, an access key signs the whole request. Subclasses keep
    /// their secret private, as <see cref="SecureString"/>, and never print it.
    /// </summary>
    internal abstract class BackupCredential
    {
        /// <summary>Request property: the <see cref="TokenPlacement"/> the request was authorized with (for a resend).</summary>
        internal const string PlacementProperty = "BackupTools.Auth.Placement";
        /// <summary>Request property: true when the token was obtained for this very request (a refusal then is final).</summary>
        internal const string FreshProperty = "BackupTools.Auth.Fresh";
        /// <summary>Request property: the token generation the request carried.</summary>
        internal const string GenerationProperty = "BackupTools.Auth.Generation";
        /// <summary>
        /// Request property: the token the request carried, as the credential keeps it (a <see cref="SecureString"/>),
        /// set by a credential whose token can be replaced: what the request's answer says is masked with it even when
        /// another request has renewed the token meanwhile (<see cref="ServiceCall.Scrub(string, SecureString)"/>).
        /// </summary>
        internal const string SentTokenProperty = "BackupTools.Auth.SentToken";

        /// <summary>The method's name as users see it (<see cref="AuthenticationMethods"/>).</summary>
        public abstract string Method { get; }

        /// <summary>The bearer or service token to send, as plain text for the shortest possible time.</summary>
        public abstract Task<string> GetTokenAsync(ServiceCall call);

        /// <summary>Called when the service said the token is no longer valid; true when a fresh one was obtained.</summary>
        public virtual Task<bool> RenewAsync(ServiceCall call) => Task.FromResult(false);

        /// <summary>
        /// The secrets this credential holds now (token, password, client secret, secret key), to mask in what a service
        /// answers. Only the token at hand: one a request carried before a renewal replaced it is masked through the
        /// request (<see cref="SentTokenProperty"/>).
        /// </summary>
        internal virtual System.Collections.Generic.IEnumerable<SecureString> Secrets() { yield break; }

        /// <summary>True when a request can be authorized now without obtaining a token (no sign-in, no script run).</summary>
        internal virtual bool HasTokenAtHand => true;

        /// <summary>True when <see cref="RenewAsync"/> can obtain a new token (a 401 is then worth one more attempt).</summary>
        public virtual bool CanRenew => false;

        /// <summary>
        /// Called with the final error when the service refused a request this credential authorized (HTTP 401 after
        /// any renewal). A credential whose refusal cannot change by itself (an access key's signature) keeps it and
        /// refuses later requests without sending them.
        /// </summary>
        internal virtual void RememberRefusal(BackupToolsException refused) { }

        /// <summary>
        /// Called before an authorized request is sent (after <see cref="ApplyAsync"/>); what the request holds that
        /// <see cref="AfterSend"/> must give back, or null. An object rather than a flag: what it holds may be given back
        /// before the answer (an access key's turn has a time bound), and only this request's own may be given back then.
        /// Throws when the request must not be sent.
        /// </summary>
        internal virtual Task<object> BeforeSendAsync(ServiceCall call) => NothingHeld;

        /// <summary>
        /// Called once the request <see cref="BeforeSendAsync"/> let through has its answer (its status), or none (null),
        /// with what <see cref="BeforeSendAsync"/> returned for it.
        /// </summary>
        internal virtual void AfterSend(object held, int? status) { }

        private static readonly Task<object> NothingHeld = Task.FromResult<object>(null);

        /// <summary>
        /// Authorizes <paramref name="request"/> (after its content is set): a token in the header <paramref name="placement"/>
        /// names, or whatever else the method needs. The call gives the log, cancellation and a way to reach token endpoints.
        /// </summary>
        /// <remarks>A token already at hand (the usual case) is applied without an async state machine: this runs
        /// for every request, and each machine costs an allocation per request and its JIT on a runbook's first call.</remarks>
        public virtual Task ApplyAsync(HttpRequestMessage request, ServiceCall call, TokenPlacement placement)
        {
            var pending = GetTokenAsync(call);
            if (pending.Status != TaskStatus.RanToCompletion) return ApplyWhenReadyAsync(pending, request, placement);
            Apply(request, pending.Result, placement);
            return Task.CompletedTask;
        }

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder))]
        private static async Task ApplyWhenReadyAsync(Task<string> pending, HttpRequestMessage request, TokenPlacement placement) =>
            Apply(request, await pending.NoContext(), placement);

        private static void Apply(HttpRequestMessage request, string token, TokenPlacement placement)
        {
            placement.Apply(request, token);
            request.Properties[PlacementProperty] = placement;
        }

        /// <inheritdoc />
        public sealed override string ToString() => Method;

        /// <summary>The error for a secret the service refused; never retried.</summary>
        internal static BackupToolsException Refused(string provider, string message, object target = null, Exception inner = null) =>
            new BackupToolsException(ErrorIds.ConnectionAuthenticationFailed, BackupErrorCategory.AuthenticationError, message, target, inner)
            {
                Provider = provider,
                RecommendedAction = "Check the credential and connect again with Connect-BackupService. It was not tried again: services lock accounts and keys after repeated failures.",
            };
    }

    /// <summary>A ready token the caller supplied as a <see cref="SecureString"/>.</summary>
    internal sealed class AccessTokenCredential : BackupCredential
    {
        private readonly SecureString _token;

        public AccessTokenCredential(SecureString token)
        {
            if (token == null || token.Length == 0)
                throw new BackupToolsException(ErrorIds.ConnectionParameterInvalid, BackupErrorCategory.InvalidArgument,
                    "AccessToken must not be empty.");
            RefuseUnsendable(token);
            // Kept as it is sent (a pasted "Bearer " and surrounding white space off): what masking looks for is then
            // what a service could echo.
            _token = Secret.AsSentToken(token);
            if (_token.Length == 0)
                throw new BackupToolsException(ErrorIds.ConnectionParameterInvalid, BackupErrorCategory.InvalidArgument,
                    "AccessToken must not be empty.");
        }

        public override string Method => AuthenticationMethods.AccessToken;

        /// <summary>
        /// Refuses a ready token (this credential's, or a -TokenProvider connection's first token) that an HTTP header
        /// cannot carry. Refused at connect, not first at use (TokenPlacement.Checked): Connect-BackupService would
        /// otherwise replace the session's working default connection with one whose every request is refused.
        /// </summary>
        internal static void RefuseUnsendable(SecureString token)
        {
            if (!Secret.FitsHeaderAsToken(token))
                throw new BackupToolsException(ErrorIds.ConnectionParameterInvalid, BackupErrorCategory.InvalidArgument,
                    "AccessToken holds a line break, a space or another character an HTTP header cannot carry (white space around it and a leading 'Bearer ' are taken off); the connection was not made.")
                {
                    RecommendedAction = "Check where the token comes from (a file, a variable): it must be the token alone.",
                };
        }

        public override Task<string> GetTokenAsync(ServiceCall call) => Task.FromResult(Secret.Reveal(_token));

        internal override System.Collections.Generic.IEnumerable<SecureString> Secrets() { yield return _token; }
    }

    /// <summary>Turns secure strings into plain text only at the moment of use.</summary>
    internal static class Secret
    {
        public static string Reveal(SecureString secure)
        {
            if (secure == null) return null;
            var ptr = IntPtr.Zero;
            try
            {
                ptr = Marshal.SecureStringToGlobalAllocUnicode(secure);
                // With the length: a NUL inside the secret must not cut it short.
                return Marshal.PtrToStringUni(ptr, secure.Length);
            }
            finally
            {
                if (ptr != IntPtr.Zero) Marshal.ZeroFreeGlobalAllocUnicode(ptr);
            }
        }

        /// <summary>
        /// Whether the secret is well-formed UTF-16 (no unpaired surrogate), read in unmanaged memory that is zeroed
        /// afterwards: no managed string of the secret is made, as none may be left for the collector to find.
        /// </summary>
        public static bool IsWellFormed(SecureString secure) => secure == null || Read(secure, (at, length) =>
        {
            for (var i = 0; i < length; i++)
            {
                if (char.IsHighSurrogate(at(i)) && i + 1 < length && char.IsLowSurrogate(at(i + 1))) i++;
                else if (char.IsSurrogate(at(i))) return false;
            }
            return true;
        });

        /// <summary>
        /// <paramref name="read"/> over the characters of <paramref name="secure"/> (an accessor by index, and the
        /// length), in unmanaged memory that is zeroed afterwards: no managed string of the secret is made.
        /// </summary>
        private static T Read<T>(SecureString secure, Func<Func<int, char>, int, T> read)
        {
            var ptr = IntPtr.Zero;
            try
            {
                ptr = Marshal.SecureStringToGlobalAllocUnicode(secure);
                var at = ptr;
                return read(i => (char)Marshal.ReadInt16(at, i * 2), secure.Length);
            }
            finally
            {
                if (ptr != IntPtr.Zero) Marshal.ZeroFreeGlobalAllocUnicode(ptr);
            }
        }

        /// <summary>
        /// Whether a ready token can be sent in a header as <see cref="TokenPlacement.Apply"/> sends it: after a leading
        /// <c>Bearer </c> (any case) and the white space around it are taken off, printable ASCII without a space only.
        /// Read in unmanaged memory that is zeroed afterwards, as <see cref="IsWellFormed"/> reads.
        /// </summary>
        public static bool FitsHeaderAsToken(SecureString secure) => secure == null || Read(secure, (at, length) =>
        {
            var end = length;
            // (TokenPlacement.FitsHeader's rule, char by char)
            for (var i = TokenStart(at, ref end); i < end; i++)
                if (at(i) < '!' || at(i) > '~') return false;
            return true;
        });

        /// <summary>
        /// Where a ready token of <paramref name="end"/> characters starts and ends as a header carries it: after a
        /// leading <c>Bearer </c> (any case), white space around it off (<see cref="TokenPlacement.WithoutScheme"/>,
        /// <see cref="TokenPlacement.Checked"/>).
        /// </summary>
        private static int TokenStart(Func<int, char> at, ref int end)
        {
            const string scheme = "Bearer";
            var start = 0;
            if (end > scheme.Length + 1 && at(scheme.Length) == ' ')
            {
                var named = true;
                for (var i = 0; i < scheme.Length && named; i++) named = char.ToLowerInvariant(at(i)) == char.ToLowerInvariant(scheme[i]);
                if (named) start = scheme.Length + 1;
            }
            while (start < end && char.IsWhiteSpace(at(start))) start++;
            while (end > start && char.IsWhiteSpace(at(end - 1))) end--;
            return start;
        }

        /// <summary>
        /// A read-only copy of a ready token as a header carries it: a leading <c>Bearer </c> (any case) and the white
        /// space around it taken off (<see cref="FitsHeaderAsToken"/>'s reading). Masking knows a secret by what it
        /// holds, and the form sent is the one a service could echo: kept as pasted, an echo of the sent token showed.
        /// Read in unmanaged memory that is zeroed afterwards; no managed string of the secret is made.
        /// </summary>
        public static SecureString AsSentToken(SecureString secure) => secure == null ? null : Read(secure, (at, length) =>
        {
            var end = length;
            var sent = new SecureString();
            for (var i = TokenStart(at, ref end); i < end; i++) sent.AppendChar(at(i));
            sent.MakeReadOnly();
            return sent;
        });

        public static SecureString FromPlain(string plain)
        {
            var s = new SecureString();
            foreach (var c in plain ?? string.Empty) s.AppendChar(c);
            s.MakeReadOnly();
            return s;
        }

        /// <summary>A read-only copy the caller cannot change afterwards; null stays null.</summary>
        public static SecureString Keep(SecureString secure)
        {
            if (secure == null) return null;
            var copy = secure.Copy();
            copy.MakeReadOnly();
            return copy;
        }
    }
}
