using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;

namespace BackupTools.Commands
{
    /// <summary>
    /// Lets -Job take jobs that went through serialization (Import-Clixml, a thread job, remoting, ConvertFrom-Json):
    /// their properties are read back into a <see cref="BackupJob"/>.
    /// </summary>
    public sealed class BackupJobTransformationAttribute : ArgumentTransformationAttribute
    {
        /// <inheritdoc />
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            var value = inputData is PSObject pso && !(pso.BaseObject is PSCustomObject) ? pso.BaseObject : inputData;
            if (value is BackupJob || value == null) return value;
            if (value is BackupJob[]) return value;
            // A $null among the jobs (a create that failed: its error was written already) is left out.
            if (value is IEnumerable list && !(value is string) && !(value is IDictionary))
                return list.Cast<object>().Where(o => o != null && !(o is PSObject n && n.BaseObject == null)).Select(ToJob).ToArray();
            return ToJob(inputData);
        }

        private static BackupJob ToJob(object item)
        {
            var unwrapped = item is PSObject p && !(p.BaseObject is PSCustomObject) ? p.BaseObject : item;
            if (unwrapped is BackupJob job) return job;
            try
            {
                // PowerShell's serializer writes times as invariant text; Export-Csv writes them in the session's culture.
                var culture = item is PSObject pso && pso.TypeNames.Any(t => t.StartsWith("Deserialized.", StringComparison.Ordinal))
                    ? CultureInfo.InvariantCulture : CultureInfo.CurrentCulture;
                return BackupJob.FromProperties(PropertyBag.From(item), culture);
            }
            catch (BackupToolsException ex)
            {
                throw new ArgumentTransformationMetadataException(ex.Message, ex);
            }
        }
    }

    /// <summary>
    /// Lets a secret parameter take plain text (an Automation variable, a vault's string) as well as a SecureString:
    /// text and numbers become a read-only SecureString here, so the value never reaches the binder's conversion error,
    /// which on Windows PowerShell 5.1 (and PowerShell before 7.4) quotes the value it could not convert. Anything else
    /// is refused with a message that names its type, never its value.
    /// </summary>
    public sealed class SecureStringTransformationAttribute : ArgumentTransformationAttribute
    {
        /// <inheritdoc />
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            var value = inputData is PSObject pso ? pso.BaseObject : inputData;
            if (value == null || value is System.Security.SecureString) return value;
            string text;
            switch (value)
            {
                case string s: text = s; break;
                case char[] chars: text = new string(chars); break;
                // A number as typed (0012345678, 1kb): PowerShell keeps a literal's text on the object it binds, and a
                // passcode is the text the user wrote down, not the number's value.
                case IConvertible _ when value.GetType().IsPrimitive || value is decimal:
                    text = LanguagePrimitives.ConvertTo<string>(inputData); break;
                default:
                    throw new ArgumentTransformationMetadataException(
                        $"A secret is expected as a SecureString or as text, not as a {value.GetType().Name}; the value is not shown.");
            }
            var secure = new System.Security.SecureString();
            foreach (var ch in text) secure.AppendChar(ch);
            secure.MakeReadOnly();
            return secure;
        }
    }

    /// <summary>
    /// Reads a bare number (or numeric text) as a TimeSpan in the unit of the derived attribute, and text as a TimeSpan
    /// (1.12:00:00). Other text is refused here: a CSV cell PowerShell could not convert was otherwise dropped silently
    /// (binding by property name skips a value it cannot convert), and the command ran without it.
    /// </summary>
    /// <remarks>
    /// Every numeric type counts in the unit: PowerShell 7 reads a literal with a type suffix as that type (30s is an
    /// Int16, 30u a UInt32, 30y an SByte, 30n a BigInteger), and a type this left to the binder was read as ticks
    /// (-Timeout 30s was 3 microseconds). Any other type (true, a character, an array, an object) is refused naming the
    /// rule, for the same reason as bad text; a JSON copy of a TimeSpan (its Ticks, Days, ... as ConvertTo-Json writes
    /// them) is read back from its Ticks.
    /// </remarks>
    public abstract class NumberToTimeSpanAttribute : ArgumentTransformationAttribute
    {
        /// <summary>The TimeSpan of that many units.</summary>
        protected abstract TimeSpan FromNumber(double value);

        /// <summary>The unit a bare number counts, in words ("seconds").</summary>
        protected abstract string Unit { get; }

        /// <summary>How many units a TimeSpan holds at most (TimeSpan.MaxValue in the unit).</summary>
        private double MaxNumber => TimeSpan.MaxValue.Ticks / (double)FromNumber(1).Ticks;

        private string Rule => $"a number of {Unit} or a TimeSpan such as 1.12:00:00 (days.hours:minutes:seconds)";

        /// <inheritdoc />
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            var value = inputData is PSObject pso ? pso.BaseObject : inputData;
            if (Number.TryRead(value, out var n)) return Checked(n, value);
            switch (value)
            {
                case null: return inputData;
                case TimeSpan _: return value;
                case string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var number):
                    return Checked(number, s);
                case string s when string.IsNullOrWhiteSpace(s):
                    return inputData; // an empty cell: not given
                case string s when TimeSpan.TryParse(s.Trim(), CultureInfo.InvariantCulture, out var span):
                    return span;
                case string s:
                    throw new ArgumentTransformationMetadataException(
                        $"'{Validation.Rule.Printable(s)}' is neither a number of {Unit} nor a TimeSpan such as 1.12:00:00 (days.hours:minutes:seconds).");
                case PSCustomObject _ when inputData is PSObject json && TicksOf(json) is long ticks:
                    return TimeSpan.FromTicks(ticks);
                default:
                    throw new ArgumentTransformationMetadataException(
                        $"A {Describe(value)} is not a period: give {Rule}.");
            }
        }

        /// <summary>The TimeSpan of that many units, or the rule when it holds none (NaN, infinity, beyond its range).</summary>
        private TimeSpan Checked(double number, object given)
        {
            if (!double.IsNaN(number) && !double.IsInfinity(number) && Math.Abs(number) <= MaxNumber)
            {
                try { return FromNumber(number); }
                catch (OverflowException) { } // at the very edge of the range, rounded up
            }
            var shown = Validation.Rule.Printable(given as string ?? Convert.ToString(given, CultureInfo.InvariantCulture)); // a BigInteger may have 400 digits
            throw new ArgumentTransformationMetadataException(
                $"'{shown}' is not a number of {Unit} a TimeSpan can hold: give a finite number from -{MaxNumber:0} to {MaxNumber:0} {Unit}.");
        }

        /// <summary>The Ticks of a TimeSpan written as JSON and read back (a PSCustomObject), or null when it is no such copy.</summary>
        private static long? TicksOf(PSObject item)
        {
            var ticks = item.Properties["Ticks"]?.Value;
            if (ticks is PSObject wrapped) ticks = wrapped.BaseObject;
            switch (ticks)
            {
                case long l: return l;
                case int i: return i;
                case decimal m when m == decimal.Truncate(m) && m >= long.MinValue && m <= long.MaxValue: return (long)m;
                default: return null;
            }
        }

        private static string Describe(object value) => value is PSCustomObject ? "PSCustomObject without a numeric Ticks" : Number.Describe(value);
    }

    /// <summary>The numeric types PowerShell reads a literal as (1, 30s, 30u, 30y, 30uy, 30us, 30l, 30ul, 30n, 1.5, 1.5d).</summary>
    internal static class Number
    {
        public static bool TryRead(object value, out double number)
        {
            switch (value)
            {
                case sbyte _: case byte _: case short _: case ushort _: case int _: case uint _: case long _: case ulong _:
                case float _: case double _: case decimal _:
                    number = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                    return true;
                case System.Numerics.BigInteger big:
                    number = (double)big; // beyond double's range: infinity, refused by the caller's range check
                    return true;
                default:
                    number = 0;
                    return false;
            }
        }

        /// <summary>A value of a type a transformation refuses, in words for its message ("list", "Boolean").</summary>
        public static string Describe(object value) => value is Array ? "list" : value.GetType().Name;
    }

    /// <summary>
    /// Reads text as a date and refuses text it cannot read, which binding by property name would otherwise drop silently
    /// (the backup then started without it). ISO 8601 text (2099-12-31, with a time and offset if given) is read as it is;
    /// other text is read with the session's culture and with the invariant culture (PowerShell's own reading), and taken
    /// when only one reads it or both read the same moment. Where they differ (01.02.2099: 1 February in de-DE, 2 January
    /// invariantly; a cell Export-Csv wrote in that session) it is refused naming both readings: taking either could keep
    /// the backup a month less than asked.
    /// </summary>
    /// <remarks>
    /// The session's culture is the pipeline thread's CurrentCulture, which transformations run on, and which Export-Csv
    /// (a date's ToString) writes with: Windows PowerShell 5.1 sets it from the host's before each pipeline; PowerShell 7
    /// leaves the thread its own (the process's culture, or one a script set on it). A DateTimeOffset
    /// (ConvertFrom-Json -DateKind Offset, the module's own times) is that moment. Any other type is refused too: binding
    /// by property name dropped a value it could not convert without a word.
    /// </remarks>
    public sealed class TextToDateTimeAttribute : ArgumentTransformationAttribute
    {
        /// <inheritdoc />
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            var value = inputData is PSObject pso ? pso.BaseObject : inputData;
            switch (value)
            {
                case null: return inputData;
                case DateTime _: return value;
                case DateTimeOffset offset: return offset.UtcDateTime;
                case string s when string.IsNullOrWhiteSpace(s): return inputData; // an empty cell: not given
                case string s: return Read(s, CultureInfo.CurrentCulture);
                default:
                    throw new ArgumentTransformationMetadataException(
                        $"A {Number.Describe(value)} is not a date: give a DateTime, a DateTimeOffset or text such as 2099-12-31.");
            }
        }

        /// <summary>The date <paramref name="text"/> holds, read as the type's summary says, in a session of <paramref name="session"/>.</summary>
        internal static DateTime Read(string text, CultureInfo session)
        {
            var invariant = CultureInfo.InvariantCulture;
            var asInvariant = DateTime.TryParse(text, invariant, DateTimeStyles.AllowWhiteSpaces, out var fromInvariant);
            if (IsIso(text.Trim()) || session.Name.Length == 0)
                return asInvariant ? fromInvariant : throw Unreadable(text);
            var asSession = DateTime.TryParse(text, session, DateTimeStyles.AllowWhiteSpaces, out var fromSession);
            if (!asSession) return asInvariant ? fromInvariant : throw Unreadable(text);
            if (!asInvariant || fromSession.ToUniversalTime() == fromInvariant.ToUniversalTime()) return fromSession;
            throw new ArgumentTransformationMetadataException(
                $"'{Validation.Rule.Printable(text)}' is {Shown(fromSession)} in this session's culture ({session.Name}) but {Shown(fromInvariant)} " +
                "in the invariant culture PowerShell reads dates with: write it as yyyy-MM-dd " +
                $"({fromSession.ToString("yyyy-MM-dd", invariant)} or {fromInvariant.ToString("yyyy-MM-dd", invariant)}), with a time if needed (2099-12-31T18:00).");
        }

        /// <summary>yyyy-MM-dd, alone or followed by a time ('T' or a space, then anything .NET's ISO reading takes).</summary>
        private static bool IsIso(string text)
        {
            if (text.Length < 10 || (text.Length > 10 && text[10] != 'T' && text[10] != 't' && text[10] != ' ')) return false;
            for (var i = 0; i < 10; i++)
                if (i == 4 || i == 7 ? text[i] != '-' : text[i] < '0' || text[i] > '9') return false;
            return true;
        }

        private static string Shown(DateTime date) => date.ToString(
            date.TimeOfDay == TimeSpan.Zero ? "d MMMM yyyy" : "d MMMM yyyy HH:mm:ss", CultureInfo.InvariantCulture);

        private static ArgumentTransformationMetadataException Unreadable(string text) => new ArgumentTransformationMetadataException(
            $"'{Validation.Rule.Printable(text)}' is not a date PowerShell can read; write it as yyyy-MM-dd (2099-12-31), with a time if needed (2099-12-31T18:00).");
    }

    /// <summary>
    /// Lets -Connection take only a live connection. Text (a CSV's Connection column, written by Export-Csv as the
    /// connection's ToString()) or a deserialized connection carries no credential: binding by property name dropped it
    /// silently and the session's default connection, perhaps another region's, was used instead.
    /// </summary>
    /// <remarks>
    /// Where -Connection also binds by value, every object piped is offered to it whole, before its properties are: the
    /// engine hands that object over wrapped in a PSObject, while a property's value (a CSV cell, a number) or a command
    /// line's text comes as it is. So a wrapped object that is no connection (a row, a job, piped text) is left to the
    /// binder, which passes it on to binding by property name, as before; a saved connection is refused however it came.
    /// </remarks>
    public sealed class ConnectionTransformationAttribute : ArgumentTransformationAttribute
    {
        /// <inheritdoc />
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            var value = inputData is PSObject pso ? pso.BaseObject : inputData;
            if (value == null || value is BackupConnection || (value is string s && string.IsNullOrWhiteSpace(s))) return inputData;
            // -Connection @($c), or a Connection property holding a list: one connection is taken as it is, several are
            // refused naming the rule (they were refused as text before). A list piped whole that holds no connection
            // is left to the binder, as any piped object that is no connection is.
            if (value is IList list)
            {
                if (inputData is PSObject && !list.Cast<object>().Any(IsConnection)) return inputData;
                if (list.Count != 1)
                    throw new ArgumentTransformationMetadataException(
                        $"-Connection takes one connection, not a list of {list.Count}: give each row its own Connection, or run the command once per connection.");
                return Transform(engineIntrinsics, list[0]);
            }
            if (inputData is PSObject piped && !IsSavedConnection(piped)) return inputData;
            throw new ArgumentTransformationMetadataException(
                "A connection cannot come from text or from a saved (deserialized) object: it holds no credential. " +
                "Give a Provider column, or -Connection with a connection of this session (Connect-BackupService).");
        }

        private static bool IsConnection(object item) =>
            item is BackupConnection || (item is PSObject p && (p.BaseObject is BackupConnection || IsSavedConnection(p)));

        /// <summary>
        /// A connection that went through serialization: Import-Clixml, a thread job or remoting keep its type name;
        /// ConvertFrom-Json and Import-Csv keep only its properties. So an object with the type name, or one with an
        /// Endpoint and an AuthenticationMethod and no property a connection lacks, is a saved connection; a row that has
        /// those columns besides its own (an inventory's InstanceId and Name) is a row, and binds by property name.
        /// </summary>
        private static bool IsSavedConnection(PSObject item)
        {
            if (item.TypeNames.Contains("Deserialized." + typeof(BackupConnection).FullName)) return true;
            if (item.Properties[nameof(BackupConnection.AuthenticationMethod)] == null || item.Properties[nameof(BackupConnection.Endpoint)] == null)
                return false;
            return item.Properties.All(p => ConnectionProperties.Contains(p.Name));
        }

        private static readonly HashSet<string> ConnectionProperties = new HashSet<string>(
            typeof(BackupConnection).GetProperties().Select(p => p.Name), StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Accepts a number of seconds wherever a TimeSpan is expected (PowerShell would read a bare number as ticks).</summary>
    public sealed class SecondsToTimeSpanAttribute : NumberToTimeSpanAttribute
    {
        /// <inheritdoc />
        protected override TimeSpan FromNumber(double value) => TimeSpan.FromSeconds(value);

        /// <inheritdoc />
        protected override string Unit => "seconds";
    }

    /// <summary>Accepts a number of days wherever a TimeSpan period is expected (retention periods are counted in days).</summary>
    public sealed class DaysToTimeSpanAttribute : NumberToTimeSpanAttribute
    {
        /// <inheritdoc />
        protected override TimeSpan FromNumber(double value) => TimeSpan.FromDays(value);

        /// <inheritdoc />
        protected override string Unit => "days";
    }

    /// <summary>Reads the properties of a PowerShell object (or hashtable) into a dictionary, nested objects included.</summary>
    internal static class PropertyBag
    {
        public static IDictionary<string, object> From(object item)
        {
            var bag = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase);
            if (item is PSObject pso && pso.BaseObject is IDictionary dict0) item = dict0;
            if (item is IDictionary dict)
            {
                foreach (DictionaryEntry e in dict) bag[e.Key.ToString()] = Simplify(e.Value);
                return bag;
            }
            var obj = item as PSObject ?? new PSObject(item);
            foreach (var property in obj.Properties)
            {
                object v;
                try { v = property.Value; }
                catch (GetValueException) { continue; }
                bag[property.Name] = Simplify(v);
            }
            return bag;
        }

        private static object Simplify(object value)
        {
            var v = value is PSObject p && !(p.BaseObject is PSCustomObject) ? p.BaseObject : value;
            if (v is string || v == null || v.GetType().IsPrimitive || v is DateTime || v is DateTimeOffset || v is decimal) return v;
            if (v is IEnumerable e && !(v is IDictionary)) return e.Cast<object>().Select(Simplify).ToList();
            if (v is PSObject || v is IDictionary) return From(v);
            return v;
        }
    }
}
