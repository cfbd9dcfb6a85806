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
            if (value is IEnumerable list && !(value is string) && !(value is IDictionary))
                return list.Cast<object>().Select(ToJob).ToArray();
            return ToJob(inputData);
        }

        private static BackupJob ToJob(object item)
        {
            var unwrapped = item is PSObject p && !(p.BaseObject is PSCustomObject) ? p.BaseObject : item;
            if (unwrapped is BackupJob job) return job;
            try
            {
                return BackupJob.FromProperties(PropertyBag.From(item));
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

    /// <summary>Reads a bare number (or numeric text) as a TimeSpan in the unit of the derived attribute.</summary>
    public abstract class NumberToTimeSpanAttribute : ArgumentTransformationAttribute
    {
        /// <summary>The TimeSpan of that many units.</summary>
        protected abstract TimeSpan FromNumber(double value);

        /// <inheritdoc />
        public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
        {
            var value = inputData is PSObject pso ? pso.BaseObject : inputData;
            switch (value)
            {
                case int i: return FromNumber(i);
                case long l: return FromNumber(l);
                case double d: return FromNumber(d);
                case decimal m: return FromNumber((double)m);
                case string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var number):
                    return FromNumber(number);
                default: return inputData;
            }
        }
    }

    /// <summary>Accepts a number of seconds wherever a TimeSpan is expected (PowerShell would read a bare number as ticks).</summary>
    public sealed class SecondsToTimeSpanAttribute : NumberToTimeSpanAttribute
    {
        /// <inheritdoc />
        protected override TimeSpan FromNumber(double value) => TimeSpan.FromSeconds(value);
    }

    /// <summary>Accepts a number of days wherever a TimeSpan period is expected (retention periods are counted in days).</summary>
    public sealed class DaysToTimeSpanAttribute : NumberToTimeSpanAttribute
    {
        /// <inheritdoc />
        protected override TimeSpan FromNumber(double value) => TimeSpan.FromDays(value);
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
