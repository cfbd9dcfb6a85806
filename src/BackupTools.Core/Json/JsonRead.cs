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
        // Each reader takes one to three names without a params array (the common calls, made on every status read,
        // allocate nothing for their names) or any number as an array.

        public static JsonElement? Prop(this JsonElement e, string name) => Find(e, new Names(name, null, null, null));
        public static JsonElement? Prop(this JsonElement e, string a, string b) => Find(e, new Names(a, b, null, null));
        public static JsonElement? Prop(this JsonElement e, string a, string b, string c) => Find(e, new Names(a, b, c, null));
        public static JsonElement? Prop(this JsonElement e, params string[] names) => Find(e, new Names(null, null, null, names));

        public static JsonElement? Obj(this JsonElement e, string name) => AsObject(Find(e, new Names(name, null, null, null)));
        public static JsonElement? Obj(this JsonElement e, string a, string b) => AsObject(Find(e, new Names(a, b, null, null)));
        public static JsonElement? Obj(this JsonElement e, params string[] names) => AsObject(Find(e, new Names(null, null, null, names)));

        public static string Str(this JsonElement e, string name) => AsString(Find(e, new Names(name, null, null, null)));
        public static string Str(this JsonElement e, string a, string b) => AsString(Find(e, new Names(a, b, null, null)));
        public static string Str(this JsonElement e, string a, string b, string c) => AsString(Find(e, new Names(a, b, c, null)));
        public static string Str(this JsonElement e, params string[] names) => AsString(Find(e, new Names(null, null, null, names)));

        /// <summary>Up to three names held inline, or an array of them.</summary>
        private readonly struct Names
        {
            private readonly string _a, _b, _c;
            private readonly string[] _all;

            public Names(string a, string b, string c, string[] all)
            {
                _a = a;
                _b = b;
                _c = c;
                _all = all;
            }

            public int Count => _all != null ? _all.Length : _c != null ? 3 : _b != null ? 2 : 1;

            public string this[int i] => _all != null ? _all[i] : i == 0 ? _a : i == 1 ? _b : _c;
        }

        private static JsonElement? Find(JsonElement e, Names names)
        {
            if (e.ValueKind != JsonValueKind.Object) return null;
            var count = names.Count;
            for (var i = 0; i < count; i++)
            {
                if (e.TryGetProperty(names[i], out var exact)) return exact;
            }
            foreach (var p in e.EnumerateObject())
            {
                for (var i = 0; i < count; i++)
                    if (string.Equals(p.Name, names[i], StringComparison.OrdinalIgnoreCase)) return p.Value;
            }
            return null;
        }

        private static JsonElement? AsObject(JsonElement? v) =>
            v is JsonElement x && x.ValueKind == JsonValueKind.Object ? x : (JsonElement?)null;

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
        public static int? Percent(this JsonElement e, string a, string b) => Percent(Find(e, new Names(a, b, null, null)));
        public static int? Percent(this JsonElement e, params string[] names) => Percent(Find(e, new Names(null, null, null, names)));

        private static int? Percent(JsonElement? v)
        {
            var s = AsString(v);
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
        public static DateTimeOffset? Time(this JsonElement e, string name) => Time(Find(e, new Names(name, null, null, null)));
        public static DateTimeOffset? Time(this JsonElement e, string a, string b) => Time(Find(e, new Names(a, b, null, null)));
        public static DateTimeOffset? Time(this JsonElement e, params string[] names) => Time(Find(e, new Names(null, null, null, names)));

        private static DateTimeOffset? Time(JsonElement? v)
        {
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

        public static IEnumerable<JsonElement> Items(this JsonElement e, string name) => Items(Find(e, new Names(name, null, null, null)));
        public static IEnumerable<JsonElement> Items(this JsonElement e, params string[] names) => Items(Find(e, new Names(null, null, null, names)));

        private static IEnumerable<JsonElement> Items(JsonElement? v)
        {
            if (v is JsonElement x && x.ValueKind == JsonValueKind.Array)
                foreach (var item in x.EnumerateArray()) yield return item;
        }
    }
}
