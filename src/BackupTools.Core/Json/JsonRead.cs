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
            if (TryParseIso(s, out var iso)) return iso;
            s = ColonInOffset(s);
            return DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : (DateTimeOffset?)null;
        }

        /// <summary>
        /// The form every service here writes, read by hand: <c>yyyy-MM-ddTHH:mm:ss</c>, an optional fraction of up to
        /// seven digits, then <c>Z</c>, <c>±HH:mm</c>, <c>±HHmm</c> or nothing (UTC). Anything else is left to
        /// <see cref="DateTimeOffset.TryParse(string, IFormatProvider, DateTimeStyles, out DateTimeOffset)"/>, whose
        /// first use builds the culture's parsing tables (a runbook's first status read paid for that); for this form
        /// both give the same value (<c>JsonReadTests</c>).
        /// </summary>
        internal static bool TryParseIso(string s, out DateTimeOffset value)
        {
            value = default;
            if (s.Length < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':') return false;
            if (!Digits(s, 0, 4, out var year) || !Digits(s, 5, 2, out var month) || !Digits(s, 8, 2, out var day) ||
                !Digits(s, 11, 2, out var hour) || !Digits(s, 14, 2, out var minute) || !Digits(s, 17, 2, out var second)) return false;
            var i = 19;
            long fraction = 0;
            if (i < s.Length && s[i] == '.')
            {
                var start = ++i;
                while (i < s.Length && s[i] >= '0' && s[i] <= '9') fraction = fraction * 10 + (s[i++] - '0');
                var count = i - start;
                if (count == 0 || count > 7) return false;
                for (var k = count; k < 7; k++) fraction *= 10; // in ticks (100 ns)
            }
            var offset = TimeSpan.Zero;
            if (i < s.Length)
            {
                var sign = s[i];
                if ((sign == 'Z' || sign == 'z') && i == s.Length - 1) { }
                else if (sign == '+' || sign == '-')
                {
                    int oh, om;
                    if (s.Length - i == 6 && s[i + 3] == ':' && Digits(s, i + 1, 2, out oh) && Digits(s, i + 4, 2, out om)) { }
                    else if (s.Length - i == 5 && Digits(s, i + 1, 2, out oh) && Digits(s, i + 3, 2, out om)) { }
                    else return false;
                    if (oh > 14 || om > 59 || (oh == 14 && om > 0)) return false;
                    offset = new TimeSpan(oh, om, 0);
                    if (sign == '-') offset = offset.Negate();
                }
                else return false;
            }
            if (month < 1 || month > 12 || year < 1 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return false;
            var local = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).AddTicks(fraction);
            var utcTicks = local.Ticks - offset.Ticks;
            if (utcTicks < DateTime.MinValue.Ticks || utcTicks > DateTime.MaxValue.Ticks) return false;
            value = new DateTimeOffset(local, offset);
            return true;
        }

        private static bool Digits(string s, int at, int count, out int value)
        {
            value = 0;
            for (var k = at; k < at + count; k++)
            {
                var c = s[k];
                if (c < '0' || c > '9') return false;
                value = value * 10 + (c - '0');
            }
            return true;
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
