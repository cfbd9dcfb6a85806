using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using BackupTools.Json;
using BackupTools.Providers.ArcGIS;
using BackupTools.Providers.HuaweiCloud;
using BackupTools.Validation;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// The input rules are hand-written character checks (a first Regex costs a runbook ~20 ms on every run). These
    /// tests hold each check to the regular expression it replaced, on edge cases and on thousands of generated
    /// strings built from the characters that matter (boundaries, look-alikes, non-ASCII digits and letters).
    /// </summary>
    public sealed class RuleEquivalenceTests
    {
        private static readonly char[] Alphabet =
            "aZz09AinIN07_-.. \t\n\r!<>'\"=&/\\+:\u0660\u0967\uFF10\u00E9\u0130\u212A\u0131\u200D\u0301".ToCharArray();

        private static IEnumerable<string> Candidates(int maxLength, params string[] seeds)
        {
            var random = new Random(20261123);
            foreach (var seed in seeds)
            {
                yield return seed;
                for (var i = 0; i < seed.Length; i++)
                    foreach (var c in Alphabet)
                        yield return seed.Substring(0, i) + c + seed.Substring(i + 1);
                yield return seed + "\n";
                yield return seed + "x";
                if (seed.Length > 0) yield return seed.Substring(1);
            }
            for (var n = 0; n < 4000; n++)
            {
                var length = random.Next(0, maxLength + 3);
                var sb = new StringBuilder(length);
                for (var i = 0; i < length; i++)
                    sb.Append(random.Next(3) == 0 ? Alphabet[random.Next(Alphabet.Length)] : (char)('a' + random.Next(26)));
                yield return sb.ToString();
            }
        }

        private static void Same(Rule rule, string pattern, IEnumerable<string> values)
        {
            var regex = new Regex(pattern, RegexOptions.CultureInvariant);
            var checkedCount = 0;
            foreach (var v in values.Where(v => v.Length > 0))
            {
                Assert.True(regex.IsMatch(v) == rule.Accepts(v), $"'{Rule.Printable(v)}': regex says {regex.IsMatch(v)}, rule says {rule.Accepts(v)}");
                checkedCount++;
            }
            Assert.True(checkedCount > 1000);
        }

        [Fact]
        public void ProjectIdRuleIsTheRegexItReplaced() =>
            Same(HuaweiCloudProvider.ProjectIdRule, @"^[A-Za-z0-9]{32}\z", Candidates(34, "0123456789abcdef0123456789ABCDEF"));

        [Fact]
        public void HuaweiNameRuleIsTheRegexItReplaced() =>
            Same(HuaweiCloudProvider.NameRule, @"^[A-Za-z][A-Za-z0-9_-]{3,63}\z",
                Candidates(66, "abcd", "a_-9", "abc", new string('a', 64), new string('a', 65), "9abc", "_abc"));

        [Theory]
        [InlineData("in07")]
        [InlineData("in02")]
        public void InstanceIdRulesAreTheRegexesTheyReplaced(string suffix)
        {
            var rule = Rule.AlphanumericThen("InstanceId", 32, suffix, "36 characters");
            Same(rule, $@"^[A-Za-z0-9]{{32}}{suffix}\z", Candidates(38, "0123456789abcdef0123456789abcdef" + suffix, "0123456789abcdef0123456789abcdefin0", "0123456789abcdef0123456789abcdef" + suffix.ToUpperInvariant()));
        }

        [Fact]
        public void ArcGisNameRuleIsTheRegexItReplaced() =>
            Same(ArcGisProvider.NameRule, @"^(?!\.+\z)[A-Za-z0-9._-]{1,100}\z",
                Candidates(102, ".", "..", "...", ".a", "a.", "a", new string('a', 100), new string('.', 100), "portal-dr_2026.11"));

        [Fact]
        public void ServiceErrorCodeIsFoundAsTheRegexFoundIt()
        {
            var regex = new Regex(@"\b(DBS\.\d+)\b");
            var texts = new List<string>
            {
                "DBS.200019: busy", "failed (DBS.280001)", "xDBS.1", "DBS.", "DBS.x", "DBS.12a DBS.34", "_DBS.5", "DBS.5_", "DBS.7\u0301",
                "a DBS.\u0660\u0661 b", "DBS.DBS.9", "DBS.1.2", "é DBS.42é DBS.43", "", "no code here", "DBS.99999999999999999999",
            };
            var random = new Random(7);
            var parts = new[] { "DBS.", "DBS", ".", "1", "23", " ", "_", "a", "\u0660", "é", "-", "\u200D" };
            for (var i = 0; i < 5000; i++)
                texts.Add(string.Concat(Enumerable.Range(0, random.Next(1, 8)).Select(_ => parts[random.Next(parts.Length)])));
            foreach (var text in texts)
            {
                var m = regex.Match(text);
                Assert.Equal(m.Success ? m.Groups[1].Value : null, HuaweiCloudProvider.ErrorCodeIn(text));
            }
        }

        [Fact]
        public void CompactOffsetsGetTheirColonAsTheRegexGaveIt()
        {
            var regex = new Regex(@"([+-]\d{2})(\d{2})$", RegexOptions.CultureInvariant);
            var texts = new List<string> { "2026-11-23T10:00:00+0800", "2026-11-23T10:00:00-0530", "2026-11-23T10:00:00+08:00", "2026-11-23T10:00:00Z", "+0800", "0800", "+080", "x+\u0660\u0661\u0662\u0663", "+08000" };
            var random = new Random(11);
            var chars = "+-0123456789:TZ\u0660 ".ToCharArray();
            for (var i = 0; i < 5000; i++)
                texts.Add(new string(Enumerable.Range(0, random.Next(0, 9)).Select(_ => chars[random.Next(chars.Length)]).ToArray()));
            foreach (var text in texts)
                Assert.Equal(regex.Replace(text, "$1:$2"), JsonRead.ColonInOffset(text));
        }

        [Fact]
        public void A_secret_is_checked_for_unpaired_surrogates_without_a_string_of_it_as_text_is()
        {
            var samples = new List<string> { "", "passcode1", "a\uD83D\uDE00b", "\uD83D", "\uDE00", "x\uDE00\uD83D", "\uD83D\uD83D\uDE00", "pass\0code" };
            var random = new Random(5);
            var chars = new[] { 'a', '\uD83D', '\uDE00', '\uDBFF', '\uDC00', '\0', 'é' };
            for (var i = 0; i < 3000; i++)
                samples.Add(new string(Enumerable.Range(0, random.Next(0, 7)).Select(_ => chars[random.Next(chars.Length)]).ToArray()));
            foreach (var sample in samples)
                Assert.Equal(Rule.IsWellFormed(sample), Secret.IsWellFormed(TestData.Secure(sample)));
        }
    }
}
