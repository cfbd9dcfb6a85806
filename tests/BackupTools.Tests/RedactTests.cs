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

        [Fact]
        public void A_status_address_without_secrets_is_the_same_object() =>
            Assert.Equal("https://h.example.com/jobs/j1?filter=a;b&f=json",
                JobUrl.WithoutSecrets(new Uri("https://h.example.com/jobs/j1?filter=a;b&f=json")).AbsoluteUri);
    }
}
