using System;
using System.Runtime.CompilerServices;
using System.Security;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Async;
using BackupTools.Http;

namespace BackupTools
{
    /// <summary>
    /// A token plus a way to get a fresh one (Dataverse: the caller's Entra ID sign-in, for example a script block that
    /// runs <c>Get-AzAccessToken</c>). The optional first token is used until the service refuses it; then the
    /// provider is asked once. The provider receives the log of the operation that needs the token: the cmdlets pass
    /// their pump, so a script block runs on the pipeline thread.
    /// </summary>
    internal sealed class TokenProviderCredential : RenewableTokenCredential
    {
        private readonly string _provider;
        private readonly Func<IOperationLog, CancellationToken, Task<SecureString>> _source;

        public TokenProviderCredential(string provider, SecureString initialToken, Func<IOperationLog, CancellationToken, Task<SecureString>> source)
        {
            _provider = provider;
            _source = source ?? throw new ArgumentNullException(nameof(source));
            // Checked as -AccessToken alone is: a first token no header can carry would fail every request with
            // ConnectionParameterInvalid, and the script is asked only when the service refuses a token.
            AccessTokenCredential.RefuseUnsendable(initialToken);
            // Kept as sent (Secret.AsSentToken): masking then knows the form a service could echo.
            Seed(Secret.AsSentToken(initialToken));
        }

        public override string Method => AuthenticationMethods.TokenProvider;

        /// <summary>
        /// The caller's script sends no secret of ours and locks nothing: a failure of it (a network blip in
        /// Get-AzAccessToken) fails the requests that needed the token then (a wait's status reads try again later),
        /// and the script is asked again next time.
        /// </summary>
        protected override bool RemembersRefusals => false;

        /// <summary>Nor does a failed run of it stand: the next request that needs a token asks the script again.</summary>
        protected override TimeSpan FailureBackoff => TimeSpan.Zero;

        /// <summary>The script runs on the pipeline of the command that needs the token, and ends with that command.</summary>
        protected override bool SignsInOnCallersPipeline => true;
        protected override string Provider => _provider;

        [AsyncMethodBuilder(typeof(CoreTaskMethodBuilder<>))]
        protected override async Task<(SecureString Token, DateTimeOffset? ExpiresAt)> FetchAsync(ServiceCall call)
        {
            SecureString token;
            try
            {
                call.Log.Verbose($"{_provider}: asking the token provider for a token.");
                token = await _source(call.Log, call.CancellationToken).NoContext();
            }
            catch (OperationCanceledException) when (call.CancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (!(ex is BackupToolsException))
            {
                // The provider's own words, never a token: the script failed before it produced one. An address's user
                // info is masked, in them and in the exceptions kept: a script's request through a proxy named with its
                // password (HTTPS_PROXY) fails quoting it.
                var error = Refused(_provider, $"{_provider}: the token provider failed: {Http.Redact.UserInfo(ex.Message)}", null, Http.Redact.Failure(ex));
                error.RecommendedAction = "Check the token provider script; it is asked again on the next request that needs a token.";
                // A network failure inside the script (Get-AzAccessToken's connection reset) refuses nothing: a wait's
                // status reads back off and ask the script again, rather than give up every job whose read waited for it.
                error.Passing = IsNetworkFailure(ex);
                throw error;
            }
            token = Secret.AsSentToken(token);
            if (token == null || token.Length == 0)
                throw Refused(_provider, $"{_provider}: the token provider returned no token.");
            return (token, null);
        }

        /// <summary>
        /// True when <paramref name="ex"/> or an exception inside it is a network failure (no answer, a connection reset,
        /// a timeout), as a script's error wraps it: Azure.Identity's AuthenticationFailedException around an
        /// HttpRequestException, PowerShell's RuntimeException around what the script threw. Counted: HttpRequestException,
        /// SocketException, WebException, TimeoutException (an HTTP client's timeout), and an IOException only with a
        /// SocketException inside it (how .NET wraps a connection reset). A file the script reads that is missing, locked
        /// or denied (FileNotFoundException, DirectoryNotFoundException, PathTooLongException, UnauthorizedAccessException,
        /// a sharing violation) is not: the script fails the same way next time, so the requests fail at once.
        /// </summary>
        internal static bool IsNetworkFailure(Exception ex)
        {
            for (var depth = 0; ex != null && depth < 16; ex = ex.InnerException, depth++)
            {
                if (ex is System.Net.Http.HttpRequestException || ex is System.Net.Sockets.SocketException || ex is System.Net.WebException ||
                    ex is TimeoutException)
                    return true;
                if (ex is System.IO.IOException)
                    return HoldsSocketFailure(ex.InnerException, depth + 1);
            }
            return false;
        }

        private static bool HoldsSocketFailure(Exception ex, int depth)
        {
            for (; ex != null && depth < 16; ex = ex.InnerException, depth++)
                if (ex is System.Net.Sockets.SocketException) return true;
            return false;
        }
    }
}
