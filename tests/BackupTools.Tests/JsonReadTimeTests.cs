using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using BackupTools.Json;
using BackupTools.Validation;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// The hand-written ISO 8601 reader that spares a first status read the culture's parsing tables gives what
    /// DateTimeOffset.TryParse gave for every text it accepts, and leaves everything else to it.
    /// </summary>
    public sealed class JsonReadTimeTests
    {
        private static DateTimeOffset? AsBefore(string s) =>
            DateTimeOffset.TryParse(JsonRead.ColonInOffset(s.Trim()), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : (DateTimeOffset?)null;

        [Fact]
        public void Every_text_the_fast_reader_accepts_reads_as_TryParse_read_it_offset_included()
        {
            var rng = new Random(20261124);
            var accepted = 0;
            foreach (var text in Texts(rng, 8000))
            {
                if (!JsonRead.TryParseIso(text, out var fast)) continue;
                accepted++;
                var slow = AsBefore(text);
                Assert.True(slow.HasValue, $"'{text}': read as {fast:o}, TryParse refuses it");
                Assert.Equal(slow.Value.UtcTicks, fast.UtcTicks);
                Assert.Equal(slow.Value.Offset, fast.Offset);
            }
            Assert.True(accepted > 4000, $"only {accepted} texts took the fast path: the generator no longer tests it");
        }

        [Theory]
        [InlineData("2026-11-23T15:20:01+0800", "2026-11-23T07:20:01.0000000+00:00", "+08:00")]
        [InlineData("2026-11-23T15:20:01.5Z", "2026-11-23T15:20:01.5000000+00:00", "00:00")]
        [InlineData("2026-11-23T15:20:01", "2026-11-23T15:20:01.0000000+00:00", "00:00")] // no offset: UTC
        [InlineData("2026-11-23T15:20:01.1234567-05:30", "2026-11-23T20:50:01.1234567+00:00", "-05:30")]
        public void The_services_forms_read_as_the_time_they_name(string text, string utc, string offset)
        {
            Assert.True(JsonRead.TryParseIso(text, out var t));
            Assert.Equal(utc, t.ToUniversalTime().ToString("o", CultureInfo.InvariantCulture));
            Assert.Equal(TimeSpan.Parse(offset.TrimStart('+'), CultureInfo.InvariantCulture), t.Offset);
            Assert.Equal(t, JsonRead.ParseTime(text));
        }

        [Theory]
        [InlineData("2026-02-30T00:00:00Z")]          // no such day
        [InlineData("2026-11-23T24:00:00Z")]
        [InlineData("2026-11-23T15:20:01.12345678Z")] // eight fraction digits
        [InlineData("2026-11-23T15:20:01+15:00")]     // offset out of range
        [InlineData("2026-11-23 15:20:01Z")]          // a space: TryParse's business
        [InlineData("0001-01-01T00:00:00+01:00")]     // before the first instant
        [InlineData("23.11.2026")]
        public void Anything_else_is_left_to_TryParse(string text)
        {
            Assert.False(JsonRead.TryParseIso(text, out _));
            Assert.Equal(AsBefore(text), JsonRead.ParseTime(text));
        }

        [Fact]
        public void A_query_is_built_as_before()
        {
            var uri = new Uri("https://dds.example.test/v3/p/jobs");
            Assert.Equal("https://dds.example.test/v3/p/jobs?id=a%2Fb%20c&x=&n%C3%A9=%26%3D",
                Url.WithQuery(uri, ("id", "a/b c"), ("x", null), ("n\u00e9", "&=")).AbsoluteUri);
        }

        private static IEnumerable<string> Texts(Random rng, int count)
        {
            string[] zones = { "", "Z", "z", "+00:00", "-00:00", "+08:00", "+0800", "-0530", "-05:30", "+14:00", "-12:00", "+13:45", "+1", "+08:0", "Q" };
            for (var n = 0; n < count; n++)
            {
                var year = rng.Next(10) == 0 ? rng.Next(1, 10000) : rng.Next(1990, 2100);
                var month = rng.Next(20) == 0 ? rng.Next(0, 14) : rng.Next(1, 13);
                var day = rng.Next(1, 32);
                var hour = rng.Next(20) == 0 ? 24 : rng.Next(0, 24);
                var text = new StringBuilder()
                    .Append(year.ToString("D4", CultureInfo.InvariantCulture)).Append('-').Append(month.ToString("D2", CultureInfo.InvariantCulture))
                    .Append('-').Append(day.ToString("D2", CultureInfo.InvariantCulture)).Append(rng.Next(10) == 0 ? 't' : 'T')
                    .Append(hour.ToString("D2", CultureInfo.InvariantCulture)).Append(':').Append(rng.Next(0, 60).ToString("D2", CultureInfo.InvariantCulture))
                    .Append(':').Append(rng.Next(0, 60).ToString("D2", CultureInfo.InvariantCulture));
                var digits = rng.Next(-3, 9);
                if (digits > 0) text.Append('.').Append(rng.Next(0, int.MaxValue).ToString("D10", CultureInfo.InvariantCulture).Substring(0, digits));
                text.Append(zones[rng.Next(zones.Length)]);
                yield return text.ToString();
            }
        }
    }
}
