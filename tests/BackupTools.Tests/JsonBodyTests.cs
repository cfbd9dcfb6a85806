using System;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using BackupTools.Json;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// The create bodies written by <see cref="JsonBody"/> are byte for byte what the serializer wrote for the
    /// providers' body classes it replaced (default encoder, null properties left out), on hostile strings too.
    /// </summary>
    public sealed class JsonBodyTests
    {
        private static readonly JsonSerializerOptions AsBefore = new JsonSerializerOptions { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

        // The body classes as they were (TaurusDB and DDS; Dataverse's had the same shape with other names).
        private sealed class Flat
        {
            [JsonPropertyName("instance_id")] public string InstanceId { get; set; }
            [JsonPropertyName("name")] public string Name { get; set; }
            [JsonPropertyName("description")] public string Description { get; set; }
        }

        private sealed class Wrapped
        {
            [JsonPropertyName("backup")] public Flat Backup { get; set; }
        }

        [Fact]
        public void Bodies_are_the_bytes_the_serializer_wrote_for_any_value_and_leave_out_missing_ones()
        {
            var values = HostileStrings.For(new Random(20261124), "nightly-01", 0, 300, 400);
            Assert.Contains(null, values);
            Assert.Contains(values, v => v != null && v.Any(char.IsSurrogate));
            var rng = new Random(7);
            foreach (var value in values)
            {
                var other = values[rng.Next(values.Count)];
                var flat = new Flat { InstanceId = "0123456789abcdef0123456789abcdefin07", Name = value, Description = other };
                var expectedFlat = JsonSerializer.SerializeToUtf8Bytes(flat, AsBefore);
                var expectedWrapped = JsonSerializer.SerializeToUtf8Bytes(new Wrapped { Backup = flat }, AsBefore);
                Assert.Equal(Encoding.UTF8.GetString(expectedFlat),
                    Encoding.UTF8.GetString(JsonBody.Strings(null, "instance_id", flat.InstanceId, "name", value, "description", other)));
                Assert.Equal(Encoding.UTF8.GetString(expectedWrapped),
                    Encoding.UTF8.GetString(JsonBody.Strings("backup", "instance_id", flat.InstanceId, "name", value, "description", other)));
            }
        }

        [Fact]
        public void Bodies_are_the_serializers_bytes_for_random_text_over_all_of_UTF16()
        {
            var rng = new Random(1124);
            for (var n = 0; n < 5000; n++)
            {
                var chars = new char[rng.Next(0, 24)];
                for (var i = 0; i < chars.Length; i++)
                {
                    var pick = rng.Next(10);
                    chars[i] = pick < 5 ? (char)rng.Next(0, 0x80)             // ASCII, controls and HTML-sensitive included
                             : pick < 7 ? (char)rng.Next(0xD800, 0xE000)       // surrogates, paired or not
                             : (char)rng.Next(0x80, 0x10000);
                }
                var value = new string(chars);
                var expected = JsonSerializer.SerializeToUtf8Bytes(new Flat { Name = value }, AsBefore);
                Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(JsonBody.Strings(null, "instance_id", null, "name", value, "description", null)));
            }
        }

        [Fact]
        public void A_body_reads_back_as_the_values_given()
        {
            var body = JsonBody.Strings("backup", "instance_id", "i\"d", "name", "n\u00e9\u2028<x>", "description", null);
            Assert.Equal("{\"backup\":{\"instance_id\":\"i\\u0022d\",\"name\":\"n\\u00E9\\u2028\\u003Cx\\u003E\"}}", Encoding.UTF8.GetString(body));
            using var doc = JsonDocument.Parse(body);
            var backup = doc.RootElement.GetProperty("backup");
            Assert.Equal("i\"d", backup.GetProperty("instance_id").GetString());
            Assert.Equal("n\u00e9\u2028<x>", backup.GetProperty("name").GetString());
            Assert.False(backup.TryGetProperty("description", out _));
        }
    }
}
