using System.Text;

namespace BackupTools.Json
{
    /// <summary>
    /// The create bodies: a JSON object of string properties, those without a value left out, optionally inside one
    /// outer property (<c>{"backup":{...}}</c>). The bytes are those System.Text.Json writes with its default encoder
    /// (<c>JsonBodyTests</c> holds them to the serializer's on hostile and random text): printable ASCII as it is
    /// except <c>" &amp; ' + &lt; &gt; `</c>, short escapes for <c>\ \n \r \t \b \f</c>, <c>\uXXXX</c> (upper-case hex)
    /// for every other character, <c>\uFFFD</c> for a lone surrogate.
    /// </summary>
    /// <remarks>
    /// Written by hand: the serializer, even source-generated, builds a context, its options and the type's metadata
    /// on first use, and the writer builds its encoder's tables; together they cost a runbook's first create several
    /// milliseconds (sampled in the hosted PowerShell 7.6 engine) for three short strings.
    /// </remarks>
    internal static class JsonBody
    {
        public static byte[] Strings(string wrapper, string name1, string value1, string name2, string value2, string name3, string value3)
        {
            var text = new StringBuilder(160).Append('{');
            if (wrapper != null) AppendString(text, wrapper).Append(":{");
            var first = true;
            AppendProperty(text, ref first, name1, value1);
            AppendProperty(text, ref first, name2, value2);
            AppendProperty(text, ref first, name3, value3);
            if (wrapper != null) text.Append('}');
            text.Append('}');
            return Encoding.UTF8.GetBytes(text.ToString()); // ASCII only, once escaped
        }

        private static void AppendProperty(StringBuilder text, ref bool first, string name, string value)
        {
            if (value == null) return;
            if (!first) text.Append(',');
            first = false;
            AppendString(text, name).Append(':');
            AppendString(text, value);
        }

        private static StringBuilder AppendString(StringBuilder text, string s)
        {
            text.Append('"');
            for (var i = 0; i < s.Length; i++)
            {
                var c = s[i];
                switch (c)
                {
                    case '\\': text.Append("\\\\"); continue;
                    case '\n': text.Append("\\n"); continue;
                    case '\r': text.Append("\\r"); continue;
                    case '\t': text.Append("\\t"); continue;
                    case '\b': text.Append("\\b"); continue;
                    case '\f': text.Append("\\f"); continue;
                    case '"': case '&': case '\'': case '+': case '<': case '>': case '`':
                        AppendEscaped(text, c);
                        continue;
                }
                if (c >= ' ' && c < '\u007f') text.Append(c);
                else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                {
                    AppendEscaped(text, c);
                    AppendEscaped(text, s[++i]);
                }
                else AppendEscaped(text, char.IsSurrogate(c) ? '\uFFFD' : c);
            }
            return text.Append('"');
        }

        private static void AppendEscaped(StringBuilder text, char c)
        {
            const string hex = "0123456789ABCDEF";
            text.Append("\\u").Append(hex[c >> 12]).Append(hex[(c >> 8) & 0xF]).Append(hex[(c >> 4) & 0xF]).Append(hex[c & 0xF]);
        }
    }
}
