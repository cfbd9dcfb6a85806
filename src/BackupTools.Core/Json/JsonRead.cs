using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json;

namespace BackupTools.Json
{
    /// <summary>
    /// Tolerant reading of service answers: property names case-insensitive and with alternatives (services drift
    /// between camelCase, PascalCase and snake_case), numbers and strings accepted for each other, missing fields null.
    /// </summary>
    internal static class JsonRead
    {
        public static JsonElement? Prop(this JsonElement e, params string[] names)
        {
            if (e.ValueKind != JsonValueKind.Object) return null;
            foreach (var name in names)
            {
                if (e.TryGetProperty(name, out var exact)) return exact;
            }
            foreach (var p in e.EnumerateObject())
            {
                foreach (var name in names)
                    if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) return p.Value;
            }
            return null;
        }

        public static JsonElement? Obj(this JsonElement e, params string[] names)
        {
            var v = e.Prop(names);
            return v is JsonElement x && x.ValueKind == JsonValueKind.Object ? x : (JsonElement?)null;
        }

        public static string Str(this JsonElement e, params string[] names) => AsString(e.Prop(names));

        public static string AsString(JsonElement? v)
        {
            if (!(v is JsonElement x)) return null;
            switch (x.ValueKind)
            {
                case JsonValueKind.String: return x.GetString();
                case JsonValueKind.Number: return x.GetRawText();
                case JsonValueKind.True: return "true";
                case JsonValueKind.False: return "false";
                default: return null;
            }
        }

        /// <summary>A percentage from "60%", "60", 60 or 60.5.</summary>
        public static int? Percent(this JsonElement e, params string[] names)
        {
            var s = e.Str(names);
            if (string.IsNullOrWhiteSpace(s)) return null;
            s = s.Trim().TrimEnd('%').Trim();
            return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= 0 && !double.IsInfinity(d)
                ? (int?)(int)Math.Round(Math.Min(100, d)) // clamp before the cast: .NET Framework casts 1e300 to int.MinValue
                : null;
        }

        /// <summary>"…+0800" → "…+08:00" (DateTimeOffset reads only the form with a colon); other text unchanged.</summary>
        internal static string ColonInOffset(string s)
        {
            var n = s.Length;
            if (n < 5 || (s[n - 5] != '+' && s[n - 5] != '-')) return s;
            for (var i = n - 4; i < n; i++)
                if (!char.IsDigit(s[i])) return s;
            return s.Substring(0, n - 2) + ":" + s.Substring(n - 2);
        }

        /// <summary>A time from ISO 8601 text (with "Z", "+08:00" or "+0800") or epoch milliseconds.</summary>
        public static DateTimeOffset? Time(this JsonElement e, params string[] names)
        {
            var v = e.Prop(names);
            if (!(v is JsonElement x)) return null;
            if (x.ValueKind == JsonValueKind.Number && x.TryGetInt64(out var ms))
                return ms <= 0 ? (DateTimeOffset?)null : FromEpochMs(ms);
            var s = AsString(x);
            return ParseTime(s);
        }

        public static DateTimeOffset? ParseTime(string s)
        {
            if (string.IsNullOrWhiteSpace(s)) return null;
            s = s.Trim();
            if (long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms))
                return ms <= 0 ? (DateTimeOffset?)null : FromEpochMs(ms);
            s = ColonInOffset(s);
            return DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : (DateTimeOffset?)null;
        }

        private static DateTimeOffset? FromEpochMs(long ms)
        {
            try { return DateTimeOffset.FromUnixTimeMilliseconds(ms); }
            catch (ArgumentOutOfRangeException) { return null; }
        }

        public static IEnumerable<JsonElement> Items(this JsonElement e, params string[] names)
        {
            var v = e.Prop(names);
            if (v is JsonElement x && x.ValueKind == JsonValueKind.Array)
                foreach (var item in x.EnumerateArray()) yield return item;
        }
    }
}
