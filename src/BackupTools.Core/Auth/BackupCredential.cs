using System;
using System.Net.Http;
using System.Runtime.InteropServices;
using System.Security;
using System.Threading;
using System.Threading.Tasks;

namespace BackupTools
{
    /// <summary>How a connection proves who it is. Subclasses keep their secret private and never print it.</summary>
    internal abstract class BackupCredential
    {
        /// <summary>The method's name as users see it (<c>AccessToken</c>, <c>Credential</c>, <c>AccessKey</c>).</summary>
        public abstract string Method { get; }

        /// <summary>The bearer or service token to send, as plain text for the shortest possible time.</summary>
        public abstract Task<string> GetTokenAsync(CancellationToken cancellationToken);

        /// <summary>Called when the service said the token is no longer valid; true when a fresh one was obtained.</summary>
        public virtual Task<bool> RenewAsync(CancellationToken cancellationToken) => Task.FromResult(false);

        /// <inheritdoc />
        public sealed override string ToString() => Method;
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
            _token = token.Copy();
            _token.MakeReadOnly();
        }

        public override string Method => "AccessToken";

        public override Task<string> GetTokenAsync(CancellationToken cancellationToken) => Task.FromResult(Secret.Reveal(_token));
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

        public static SecureString FromPlain(string plain)
        {
            var s = new SecureString();
            foreach (var c in plain ?? string.Empty) s.AppendChar(c);
            s.MakeReadOnly();
            return s;
        }
    }
}
