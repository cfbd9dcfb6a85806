using System;
using BackupTools.Http;
using BackupTools.Providers;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>What -Verbose shows of an address, and what a job keeps of a status address a service gave.</summary>
    public sealed class RedactTests
    {
        /// <summary>
        /// Secrets longer than .NET Framework's 32,766-character escaping limit are escaped in pieces: the result is what
        /// one call gives where there is no limit (here), with a surrogate pair, a space and reserved characters across
        /// the piece boundaries.
        /// </summary>
        [Theory]
        [InlineData(31999)]
        [InlineData(32000)]
        [InlineData(32001)]
        public void A_secret_of_any_length_is_escaped_as_in_one_call(int pairAt)
        {
            var chars = new System.Text.StringBuilder();
            for (var i = 0; chars.Length < 70000; i++) chars.Append("ab c/+=~!é"[i % 10]);
            chars.Insert(pairAt, "\U0001F600");
            chars.Insert(64000 - 1, "\U0001F600");
            var secret = chars.ToString();
            Assert.Equal(Uri.EscapeDataString(secret), ServiceCall.EscapedData(secret));
            Assert.Equal(Uri.EscapeDataString("short"), ServiceCall.EscapedData("short"));
        }

        [Theory]
        [InlineData("https://h.example.com/a?f=json&token=abc", "https://h.example.com/a?f=json&token=***")]
        [InlineData("https://h.example.com/a?f=json;token=abc", "https://h.example.com/a?f=json;token=***")]
        [InlineData("https://h.example.com/a?token%5B%5D=abc&x=1", "https://h.example.com/a?token%5B%5D=***&x=1")]
        [InlineData("https://h.example.com/a?api_key=abc", "https://h.example.com/a?api_key=***")]
        [InlineData("https://h.example.com/a?X-Api-Key=abc", "https://h.example.com/a?X-Api-Key=***")]
        [InlineData("https://h.example.com/a?sig=abc&se=2026", "https://h.example.com/a?sig=***&se=2026")]
        [InlineData("https://h.example.com/a?X-Amz-Signature=abc", "https://h.example.com/a?X-Amz-Signature=***")]
        [InlineData("https://h.example.com/a?X-Security-Token=abc", "https://h.example.com/a?X-Security-Token=***")]
        [InlineData("https://h.example.com/a?adminPassword=abc", "https://h.example.com/a?adminPassword=***")]
        [InlineData("https://h.example.com/a?f=json&&x=1", "https://h.example.com/a?f=json&&x=1")]
        [InlineData("https://h.example.com/a?pageSize=10&keyword=db", "https://h.example.com/a?pageSize=10&keyword=db")]
        public void Verbose_addresses_mask_every_parameter_named_like_a_secret(string given, string shown) =>
            Assert.Equal(shown, Redact.Url(new Uri(given)));

        [Theory]
        [InlineData("https://h.example.com/jobs/j1?f=json;token=abc", "https://h.example.com/jobs/j1?f=json")]
        [InlineData("https://h.example.com/jobs/j1?token=abc;f=json", "https://h.example.com/jobs/j1?f=json")]
        [InlineData("https://h.example.com/jobs/j1?a=1;token=abc;b=2", "https://h.example.com/jobs/j1?a=1;b=2")]
        [InlineData("https://h.example.com/jobs/j1?api_key=abc&f=json", "https://h.example.com/jobs/j1?f=json")]
        [InlineData("https://h.example.com/jobs/j1?token[]=abc&f=json", "https://h.example.com/jobs/j1?f=json")]
        public void A_status_address_loses_secrets_whatever_separates_them_and_keeps_the_rest_as_it_was(string given, string kept) =>
            Assert.Equal(new Uri(kept).AbsoluteUri, JobUrl.WithoutSecrets(new Uri(given)).AbsoluteUri);

        [Theory]
        [InlineData("The proxy tunnel request to proxy 'http://alice:Pr0xy@127.0.0.1:3128/' failed with status code '502'.",
            "The proxy tunnel request to proxy 'http://***@127.0.0.1:3128/' failed with status code '502'.")]
        [InlineData("http://al%20ice:p%40ss%2Fw@proxy.corp.example.com:3128/", "http://***@proxy.corp.example.com:3128/")]
        // Unescaped, as a script may write it: to the last '@' of the address, whatever the password holds.
        [InlineData("proxy http://alice:p@ss/w'r?d#@proxy:3128 refused", "proxy http://***@proxy:3128 refused")]
        [InlineData("from socks5://u:p1@a.example.com:1080 to \"https://v:p2@b.example.com/x\"", "from socks5://***@a.example.com:1080 to \"https://***@b.example.com/x\"")]
        [InlineData("<https://alice@h.example.com/>", "<https://***@h.example.com/>")]
        public void An_address_s_user_info_is_masked_wherever_it_is_in_a_text(string given, string shown) =>
            Assert.Equal(shown, Redact.UserInfo(given));

        [Theory]
        [InlineData("DDS POST https://h.example.com/v3/p/backups: Connection refused (127.0.0.1:3128).")]
        [InlineData("mail alice@example.com about https://h.example.com/a?x=1")]
        [InlineData("The proxy tunnel request to proxy 'http://***@127.0.0.1:3128/' failed.")]
        [InlineData("https://@h.example.com/")]
        [InlineData("")]
        [InlineData(null)]
        public void A_text_without_user_info_is_the_same_object(string given) =>
            Assert.Same(given, Redact.UserInfo(given));

        [Fact]
        public void A_failure_quoting_a_password_is_kept_as_a_copy_of_its_chain_of_the_same_kinds_without_it()
        {
            var socket = new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionReset);
            var given = new System.Net.Http.HttpRequestException(System.Net.Http.HttpRequestError.ProxyTunnelError,
                "The proxy tunnel request to proxy 'http://alice:Pr0xy@127.0.0.1:3128/' failed with status code '407'.",
                new System.IO.IOException("via http://alice:Pr0xy@127.0.0.1:3128/", socket), System.Net.HttpStatusCode.ProxyAuthenticationRequired);
            var kept = Assert.IsType<System.Net.Http.HttpRequestException>(Redact.Failure(given));
            Assert.DoesNotContain("Pr0xy", kept.ToString());
            Assert.Equal("The proxy tunnel request to proxy 'http://***@127.0.0.1:3128/' failed with status code '407'.", kept.Message);
            // What catch blocks and the not-sent test read is kept: the kinds, the request error, the status, the socket error.
            Assert.Equal(System.Net.Http.HttpRequestError.ProxyTunnelError, kept.HttpRequestError);
            Assert.Equal(System.Net.HttpStatusCode.ProxyAuthenticationRequired, kept.StatusCode);
            var io = Assert.IsType<System.IO.IOException>(kept.InnerException);
            Assert.Equal("via http://***@127.0.0.1:3128/", io.Message);
            Assert.Same(socket, io.InnerException);
            // Each of an AggregateException's; a kind without a (message, inner) constructor becomes the nearest kind above it with one.
            var aggregate = Assert.IsType<AggregateException>(Redact.Failure(new AggregateException(
                new TimeoutException("http://alice:Pr0xy@proxy:3128/ timed out"), new OddFailure("http://alice:Pr0xy@proxy:3128/ odd"))));
            Assert.IsType<TimeoutException>(aggregate.InnerExceptions[0]);
            Assert.IsType<InvalidOperationException>(aggregate.InnerExceptions[1]);
            Assert.DoesNotContain("Pr0xy", aggregate.ToString());
        }

        private sealed class OddFailure : InvalidOperationException
        {
            public OddFailure(string message) : base(message) { }
        }

        [Fact]
        public void A_failure_without_user_info_is_the_same_object()
        {
            var given = new System.Net.Http.HttpRequestException("Connection refused (127.0.0.1:3128)",
                new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused));
            Assert.Same(given, Redact.Failure(given));
            Assert.Null(Redact.Failure(null));
        }

        [Fact]
        public void A_status_address_without_secrets_is_the_same_object() =>
            Assert.Equal("https://h.example.com/jobs/j1?filter=a;b&f=json",
                JobUrl.WithoutSecrets(new Uri("https://h.example.com/jobs/j1?filter=a;b&f=json")).AbsoluteUri);
    }
}
