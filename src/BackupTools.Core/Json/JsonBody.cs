using System.IO;
using System.Text.Json;

namespace BackupTools.Json
{
    /// <summary>
    /// The create bodies: a JSON object of string properties, those without a value left out, optionally inside one
    /// outer property (<c>{"backup":{...}}</c>). Written with <see cref="Utf8JsonWriter"/> and its default encoder, so
    /// the bytes are those the serializer wrote with the same default options (<c>JsonBodyTests</c> holds them to it).
    /// </summary>
    /// <remarks>
    /// Not the serializer, even source-generated: its first use builds a context, its options and the type's metadata,
    /// which cost a runbook's first create about 9 ms (sampled in the hosted PowerShell 7.6 engine) for three
    /// string properties.
    /// </remarks>
    internal static class JsonBody
    {
        public static byte[] Strings(string wrapper, string name1, string value1, string name2, string value2, string name3, string value3)
        {
            using (var stream = new MemoryStream(256))
            {
                using (var writer = new Utf8JsonWriter(stream))
                {
                    writer.WriteStartObject();
                    if (wrapper != null) writer.WriteStartObject(wrapper);
                    if (value1 != null) writer.WriteString(name1, value1);
                    if (value2 != null) writer.WriteString(name2, value2);
                    if (value3 != null) writer.WriteString(name3, value3);
                    if (wrapper != null) writer.WriteEndObject();
                    writer.WriteEndObject();
                }
                return stream.ToArray();
            }
        }
    }
}
