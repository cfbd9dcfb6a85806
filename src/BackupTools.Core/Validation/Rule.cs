using System;
using System.Linq;
using System.Net;
using System.Text;

namespace BackupTools.Validation
{
    /// <summary>
    /// A documented input rule of a service. Checking happens before anything is sent; a breach is an error whose
    /// message names the parameter and the rule, so the user knows what to change.
    /// </summary>
    internal sealed class Rule
    {
        private readonly Func<string, bool> _test;

        /// <param name="parameter">The cmdlet parameter the rule is about, named in a breach's message.</param>
        /// <param name="text">The rule in words (<see cref="Text"/>).</param>
        /// <param name="test">True for a value that keeps the rule.</param>
        /// <param name="required">Whether a missing or empty value breaks the rule.</param>
        /// <param name="ours">A limit of BackupTools' own (<see cref="Ours"/>).</param>
        /// <param name="minLength">The shortest value <paramref name="test"/> accepts, in UTF-16 code units (0: no minimum).</param>
        /// <param name="maxLength">The longest value <paramref name="test"/> accepts, in UTF-16 code units (none: no maximum).</param>
        public Rule(string parameter, string text, Func<string, bool> test, bool required = true, bool ours = false,
            int minLength = 0, int maxLength = int.MaxValue)
        {
            Parameter = parameter;
            Text = text;
            _test = test;
            Required = required;
            Ours = ours;
            MinLength = minLength;
            MaxLength = maxLength;
        }

        public string Parameter { get; }
        /// <summary>The rule in words, as the service's page states it.</summary>
        public string Text { get; }
        public bool Required { get; }
        /// <summary>
        /// True for a limit of BackupTools' own where the service states none: its breach says so rather than blaming the
        /// service, so a user knows it is the module's choice.
        /// </summary>
        public bool Ours { get; }

        /// <summary>
        /// The length bounds the rule's test holds a value to, in UTF-16 code units (.NET string lengths): a breach
        /// by a value outside them only as counted in units says how it was counted (<see cref="LengthAsCounted"/>).
        /// </summary>
        public int MinLength { get; }
        /// <inheritdoc cref="MinLength"/>
        public int MaxLength { get; }

        /// <summary>This rule as a limit of BackupTools' own (<see cref="Ours"/>).</summary>
        public Rule AsOurs() => new Rule(Parameter, Text, _test, Required, ours: true, MinLength, MaxLength);

        // The rules are plain character checks, not regular expressions: the first Regex a process builds costs about
        // 20 ms (parser, interpreter, culture tables), which a runbook would pay on every run for a 36-character id.

        /// <summary>An ASCII letter (A–Z, a–z): what <c>[A-Za-z]</c> means in the services' rules.</summary>
        internal static bool IsAsciiLetter(char c) => (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');

        /// <summary>An ASCII letter or digit: <c>[A-Za-z0-9]</c>.</summary>
        internal static bool IsAsciiLetterOrDigit(char c) => IsAsciiLetter(c) || (c >= '0' && c <= '9');

        /// <summary>Every character of <paramref name="value"/> from <paramref name="start"/> for <paramref name="count"/> meets <paramref name="test"/>.</summary>
        internal static bool All(string value, int start, int count, Func<char, bool> test)
        {
            for (var i = start; i < start + count; i++)
                if (!test(value[i])) return false;
            return true;
        }

        /// <summary><c>^[A-Za-z0-9]{length}suffix\z</c>: letters and digits, then a fixed suffix (Huawei Cloud ids: 32 + "in07").</summary>
        public static Rule AlphanumericThen(string parameter, int length, string suffix, string text, bool required = true) =>
            new Rule(parameter, text, v => v.Length == length + suffix.Length && All(v, 0, length, IsAsciiLetterOrDigit) &&
                                           string.CompareOrdinal(v, length, suffix, 0, suffix.Length) == 0, required,
                minLength: length + suffix.Length, maxLength: length + suffix.Length);

        /// <summary>
        /// A name of <paramref name="min"/> to <paramref name="max"/> characters, each an ASCII letter or digit or one of
        /// <paramref name="others"/>; with <paramref name="letterFirst"/>, the first must be an ASCII letter.
        /// </summary>
        public static Rule Name(string parameter, int min, int max, string others, bool letterFirst, string text, bool required = true) =>
            new Rule(parameter, text, v => v.Length >= min && v.Length <= max && (!letterFirst || IsAsciiLetter(v[0])) &&
                                           All(v, 0, v.Length, c => IsAsciiLetterOrDigit(c) || others.IndexOf(c) >= 0), required,
                minLength: min, maxLength: max);

        /// <summary>
        /// A GUID in its plain form: 8-4-4-4-12 hexadecimal digits and nothing else (Guid.TryParseExact "D" also takes a
        /// sign or "0x" inside a group, and trims spaces).
        /// </summary>
        public static Rule Guid(string parameter, string text) => new Rule(parameter, text, IsPlainGuid, minLength: 36, maxLength: 36);

        internal static bool IsPlainGuid(string v)
        {
            if (v.Length != 36) return false;
            for (var i = 0; i < v.Length; i++)
            {
                var c = v[i];
                if (i == 8 || i == 13 || i == 18 || i == 23)
                {
                    if (c != '-') return false;
                }
                else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
            }
            return true;
        }

        public static Rule MaxLengthWithout(string parameter, int max, string forbidden, string text) =>
            new Rule(parameter, text, v => v.Length <= max && v.IndexOfAny(forbidden.ToCharArray()) < 0, required: false, maxLength: max);

        /// <summary>This rule with one more condition (same words: <see cref="Text"/> must already state it).</summary>
        public Rule And(Func<string, bool> more) => new Rule(Parameter, Text, v => _test(v) && more(v), Required, Ours, MinLength, MaxLength);

        /// <summary>True when a non-empty value meets the rule.</summary>
        public bool Accepts(string value) => !string.IsNullOrEmpty(value) && _test(value);

        /// <summary>Throws when the value breaks the rule. Secrets must not be checked with this (it quotes the value).</summary>
        public void Check(string provider, string value, object target = null)
        {
            if (string.IsNullOrEmpty(value))
            {
                if (Required) throw Breach(provider, $"{Parameter} is required ({Text}).", target);
                return;
            }
            var meets = _test(value);
            if (!IsWellFormed(value))
                throw Breach(provider, meets
                    ? $"{Parameter} '{Printable(value)}' holds an unpaired surrogate, which is not Unicode text and would be sent altered."
                    : $"{Parameter} '{Printable(value)}' {Breaks(provider)}: {Text}; it also holds an unpaired surrogate, which is not Unicode text and would be sent altered.", target);
            if (!meets)
                throw Breach(provider, $"{Parameter} '{Printable(value)}' {Breaks(provider)}: {Text}.{LengthAsCounted(value)}", target);
        }

        /// <summary>
        /// The rules' lengths are .NET string lengths, UTF-16 code units, while their words say "characters" (how the
        /// services count is not known, so what is accepted stays as it is): where the two differ, a character outside
        /// the Basic Multilingual Plane (an emoji) counting as 2, a value whose length is outside the rule's bounds
        /// (<see cref="MinLength"/>, <see cref="MaxLength"/>) as counted in units but within them in characters is told
        /// the length it counted and in what. Nothing is said otherwise: a value refused for its characters, or too
        /// long (or short) however it is counted, reads true against the rule's words ("abc" and an emoji as a 32-character id).
        /// </summary>
        internal string LengthAsCounted(string value)
        {
            if (value.Length >= MinLength && value.Length <= MaxLength) return string.Empty;
            var pairs = 0;
            for (var i = 0; i + 1 < value.Length; i++)
                if (char.IsHighSurrogate(value[i]) && char.IsLowSurrogate(value[i + 1])) { pairs++; i++; }
            var characters = value.Length - pairs;
            if (pairs == 0 || characters < MinLength || characters > MaxLength) return string.Empty;
            return $" Its length is counted in UTF-16 code units: it is {value.Length} units long, for {value.Length - pairs} characters " +
                   $"(each of the {pairs} outside the Basic Multilingual Plane, such as an emoji, counts as 2).";
        }

        private string Breaks(string provider) =>
            Ours ? $"breaks a BackupTools limit for {provider} (the service states none)" : $"breaks the {provider} rule";

        public static BackupToolsException Breach(string provider, string message, object target) =>
            new BackupToolsException(ErrorIds.BackupParameterInvalid, BackupErrorCategory.InvalidArgument,
                message + " Nothing was sent.", target)
            {
                Provider = provider,
                RecommendedAction = "Change the value to meet the rule and run the command again.",
            };

        /// <summary>False when the text holds an unpaired UTF-16 surrogate (UTF-8 encoders replace it with U+FFFD).</summary>
        internal static bool IsWellFormed(string value)
        {
            for (var i = 0; i < value.Length; i++)
            {
                if (char.IsHighSurrogate(value[i]) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])) i++;
                else if (char.IsSurrogate(value[i])) return false;
            }
            return true;
        }

        /// <summary>Shows control characters as escapes so the message itself cannot be garbled.</summary>
        internal static string Printable(string value)
        {
            var shown = value.Length > 80 ? value.Substring(0, 80) + "…" : value;
            return new string(shown.SelectMany(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()).ToArray());
        }
    }

    /// <summary>Transport rules every endpoint must meet: HTTPS, or plain HTTP to this machine only.</summary>
    internal static class EndpointRule
    {
        public static Uri Check(string provider, Uri endpoint)
        {
            if (endpoint == null || !endpoint.IsAbsoluteUri)
                throw Invalid(provider, "Endpoint must be an absolute https:// address.", endpoint);
            if (!string.IsNullOrEmpty(endpoint.UserInfo))
                throw Invalid(provider, "Endpoint must not carry a user name or password; use -AccessToken or -Credential.", null);
            if (!string.IsNullOrEmpty(endpoint.Query) || !string.IsNullOrEmpty(endpoint.Fragment))
                throw Invalid(provider, $"Endpoint '{endpoint}' must not have a query or fragment.", endpoint);
            if (endpoint.Scheme == Uri.UriSchemeHttps) return Normalize(provider, endpoint);
            if (endpoint.Scheme == Uri.UriSchemeHttp && IsLoopback(endpoint)) return Normalize(provider, endpoint);
            if (endpoint.Scheme == Uri.UriSchemeHttp)
                throw new BackupToolsException(ErrorIds.ConnectionEndpointInvalid, BackupErrorCategory.SecurityError,
                    $"Endpoint '{endpoint}' uses plain http:// to a host that is not this machine. BackupTools sends credentials only over https:// (plain http:// is allowed for loopback addresses, such as the simulator).",
                    endpoint)
                { Provider = provider, RecommendedAction = "Use the service's https:// address." };
            throw Invalid(provider, $"Endpoint '{endpoint}' must use https://.", endpoint);
        }

        public static bool IsLoopback(Uri uri)
        {
            if (uri.IsLoopback) return true;
            var host = uri.DnsSafeHost;
            return IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip);
        }

        private static Uri Normalize(string provider, Uri endpoint)
        {
            var text = endpoint.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped).TrimEnd('/');
            // Some hosts System.Uri accepts once do not parse again in escaped form (IDN and look-alike letters).
            if (!Uri.TryCreate(text + "/", UriKind.Absolute, out var normalized))
                throw Invalid(provider, $"Endpoint '{endpoint}' is not an address that can be used: its host name could not be read.", endpoint);
            return normalized;
        }

        private static BackupToolsException Invalid(string provider, string message, object target) =>
            new BackupToolsException(ErrorIds.ConnectionEndpointInvalid, BackupErrorCategory.InvalidArgument, message, target)
            { Provider = provider };
    }

    /// <summary>Builds service URLs from an endpoint and path segments, each segment escaped so no value can change the path.</summary>
    internal static class Url
    {
        /// <summary>The rule every value in a path meets, as a breach names it.</summary>
        internal const string SegmentRule =
            "a value in a URL path must reach the service as one unchanged segment";

        public static Uri Combine(Uri endpoint, params string[] segments)
        {
            var baseText = endpoint.ToString().TrimEnd('/');
            var uri = new Uri(baseText + "/" + string.Join("/", segments.Select(Uri.EscapeDataString)));
            CheckSegments(uri, segments);
            return uri;
        }

        /// <summary>
        /// Throws unless the last segments of <paramref name="built"/> are <paramref name="segments"/>, unchanged. On .NET
        /// Framework without a 4.5+ target (powershell.exe), System.Uri trims trailing dots from path segments, unescapes
        /// %2F and %5C and then compresses dot segments, so an escaped value could still be sent as another path.
        /// </summary>
        internal static void CheckSegments(Uri built, string[] segments)
        {
            var path = built.AbsolutePath.Split('/');
            var changed = path.Length - 1 < segments.Length;
            for (var i = 0; !changed && i < segments.Length; i++)
                changed = !string.Equals(Uri.UnescapeDataString(path[path.Length - segments.Length + i]), segments[i], StringComparison.Ordinal);
            if (!changed) return;
            var value = segments.FirstOrDefault(v => v.EndsWith(".", StringComparison.Ordinal) || v.IndexOfAny(new[] { '/', '\\', '%' }) >= 0 || v == "..")
                        ?? string.Join("/", segments);
            throw Rule.Breach(null, $"'{Rule.Printable(value)}' breaks a BackupTools limit: {SegmentRule}; this .NET's System.Uri would send " +
                                    $"'{Rule.Printable(built.AbsolutePath)}' instead (it trims a trailing '.' and reads an escaped '/' or '\\' as a separator).", value);
        }

        public static Uri WithQuery(Uri uri, params (string Name, string Value)[] query)
        {
            // A loop, not Select over the tuples: a LINQ iterator over a value tuple is a framework generic the
            // precompiled core cannot carry, so every first status read compiled it.
            var text = new StringBuilder(uri.ToString()).Append('?');
            for (var i = 0; i < query.Length; i++)
            {
                if (i > 0) text.Append('&');
                text.Append(Uri.EscapeDataString(query[i].Name)).Append('=').Append(Uri.EscapeDataString(query[i].Value ?? string.Empty));
            }
            return new Uri(text.ToString());
        }
    }
}
