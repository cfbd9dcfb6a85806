using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Numerics;
using BackupTools.Commands;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// What the argument transformations make of values of every type: numbers of any type PowerShell 7 reads a literal
    /// as (30s, 30u, 30y, 30n), other types refused naming the rule, retentions given as a DateTimeOffset or a JSON copy
    /// of a TimeSpan, -Connection given a list, inventory rows with Endpoint and AuthenticationMethod columns, numbers out
    /// of a TimeSpan's range, and a wildcard pattern Get-BackupProvider cannot read. The attributes alone, and the
    /// cmdlets in the hosted PowerShell 7.6 engine against the simulator.
    /// </summary>
    public sealed class TransformationTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const string ConnectArc = "$null = Connect-BackupService -Provider ArcGIS -Endpoint $arcgis -AccessToken $token;";
        private const string ConnectDds = "$a = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token;";
        private readonly BackupSimulator _sim;
        private readonly PowerShellHost _ps;

        public TransformationTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _ps = TestData.HostedSession(_sim);
        }

        public void Dispose()
        {
            _ps.Dispose();
            _sim.Reset();
        }

        private List<string> CreateBodies() => _sim.Counters.Requests
            .Where(q => q.Method == "POST" && (q.Path.EndsWith("/create", StringComparison.Ordinal) || q.Path.EndsWith("/backups", StringComparison.Ordinal)))
            .Select(q => q.Body).ToList();

        private static DateTimeOffset RetentionSent(string body) => DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(
            body.Split('&').Single(p => p.StartsWith("retentionDate=", StringComparison.Ordinal)).Substring(14), CultureInfo.InvariantCulture));

        private static ErrorRecord OneError(PowerShellHost.Result r) => r.Terminating?.ErrorRecord ?? Assert.Single(r.Errors);

        public static IEnumerable<object[]> Numbers() => new[]
        {
            new object[] { (sbyte)30 }, new object[] { (byte)30 }, new object[] { (short)30 }, new object[] { (ushort)30 },
            new object[] { 30 }, new object[] { 30u }, new object[] { 30L }, new object[] { 30UL }, new object[] { 30f },
            new object[] { 30d }, new object[] { 30m }, new object[] { new BigInteger(30) },
        };

        /// <summary>Before: only int, long, double and decimal were numbers; a short, uint, byte, BigInteger... went to the binder as ticks.</summary>
        [Theory]
        [MemberData(nameof(Numbers))]
        public void A_number_of_any_numeric_type_counts_in_the_parameter_s_unit(object number)
        {
            Assert.Equal(TimeSpan.FromSeconds(30), new SecondsToTimeSpanAttribute().Transform(null, number));
            Assert.Equal(TimeSpan.FromDays(30), new DaysToTimeSpanAttribute().Transform(null, PSObject.AsPSObject(number)));
        }

        /// <summary>Before: true, a character or a list went on to the binder (true became one tick; a list was dropped from a row).</summary>
        [Fact]
        public void Other_types_are_refused_naming_the_unit()
        {
            foreach (var other in new object[] { true, 'x', new object[] { 30 }, new int[] { 30 }, new Uri("http://x/"), new PSObject() })
            {
                var ex = Assert.Throws<ArgumentTransformationMetadataException>(() => new SecondsToTimeSpanAttribute().Transform(null, other));
                Assert.Contains("a number of seconds or a TimeSpan", ex.Message);
            }
            Assert.Equal(TimeSpan.FromMinutes(2), new SecondsToTimeSpanAttribute().Transform(null, TimeSpan.FromMinutes(2)));
            Assert.Null(new DaysToTimeSpanAttribute().Transform(null, null));
        }

        /// <summary>Before: -Timeout 30s (an Int16) was 30 ticks, and every job timed out at once; -RequestTimeout 30u abandoned the create.</summary>
        [Fact]
        public void Literals_with_a_type_suffix_are_seconds_for_the_cmdlets()
        {
            var r = _ps.Run(ConnectDds +
                "New-InstanceBackup -InstanceId $di -Name sfx-wait -Wait -Timeout 30s -PollingInterval 0.05 -RequestTimeout 30u;" +
                "New-InstanceBackup -InstanceId $di -Name sfx-later -RequestTimeout 30y | Wait-BackupJob -Timeout 30n -PollingInterval 0.05");
            Assert.Null(r.Terminating);
            Assert.Empty(r.Errors);
            var jobs = r.Objects<BackupJob>().ToList();
            Assert.Equal(new[] { "sfx-wait", "sfx-later" }, jobs.Select(j => j.BackupName).ToArray());
            Assert.All(jobs, j => Assert.Equal(BackupJobState.Succeeded, j.State));
        }

        /// <summary>Before: -RetentionPeriod 7y (an SByte) was 7 ticks: the backup's retention date was now.</summary>
        [Fact]
        public void A_retention_period_with_a_type_suffix_is_days()
        {
            var before = DateTimeOffset.UtcNow;
            var r = _ps.Run(ConnectArc + "New-DisasterRecoveryBackup -Name sfx-ret -Passcode $pass -RetentionPeriod 7y");
            Assert.Null(r.Terminating);
            Assert.Empty(r.Errors);
            var sent = RetentionSent(Assert.Single(CreateBodies()));
            Assert.InRange(sent, before.AddDays(7).AddSeconds(-1), DateTimeOffset.UtcNow.AddDays(7).AddSeconds(1));
        }

        /// <summary>Before: the rows' retentions were dropped without a word, and each backup started without one.</summary>
        [Fact]
        public void Retentions_of_other_types_by_property_name_are_read_or_refused_for_their_row()
        {
            var before = DateTimeOffset.UtcNow;
            var r = _ps.Run(ConnectArc +
                // As ConvertFrom-Json reads back a TimeSpan that ConvertTo-Json wrote (PowerShell 7).
                "$span = [timespan]::FromDays(3);" +
                "$json = [pscustomobject]@{ Ticks = [long]$span.Ticks; Days = 3; Hours = 0; Milliseconds = 0; Microseconds = 0; Nanoseconds = 0;" +
                "  Minutes = 0; Seconds = 0; TotalDays = 3.0; TotalHours = 72.0; TotalMilliseconds = 259200000.0; TotalMicroseconds = 259200000000.0;" +
                "  TotalNanoseconds = 259200000000000.0; TotalMinutes = 4320.0; TotalSeconds = 259200.0 };" +
                "@([pscustomobject]@{ Name = 'ret-offset'; RetentionDate = [DateTimeOffset]::new(2099, 12, 31, 18, 0, 0, [timespan]::FromHours(2)) }," +
                "  [pscustomobject]@{ Name = 'ret-json'; RetentionPeriod = $json }," +
                "  [pscustomobject]@{ Name = 'ret-span'; RetentionPeriod = [timespan]::FromDays(2) }," +
                "  [pscustomobject]@{ Name = 'ret-true'; RetentionPeriod = $true }," +
                "  [pscustomobject]@{ Name = 'ret-list'; RetentionPeriod = @(30) }," +
                "  [pscustomobject]@{ Name = 'ret-date-number'; RetentionDate = 5 }," +
                "  [pscustomobject]@{ Name = 'ret-date-list'; RetentionDate = @('2099-12-31') }) | New-DisasterRecoveryBackup -Passcode $pass");
            Assert.Null(r.Terminating);
            Assert.Equal(new[] { "ret-offset", "ret-json", "ret-span" }, r.Objects<BackupJob>().Select(j => j.BackupName).ToArray());
            Assert.Equal(4, r.Errors.Count);
            Assert.Contains("RetentionPeriod", r.Errors[0].Exception.Message);
            Assert.Contains("not a period", r.Errors[0].Exception.Message);
            Assert.Contains("RetentionPeriod", r.Errors[1].Exception.Message);
            Assert.Contains("RetentionDate", r.Errors[2].Exception.Message);
            Assert.Contains("not a date", r.Errors[2].Exception.Message);
            Assert.Contains("RetentionDate", r.Errors[3].Exception.Message);

            var bodies = CreateBodies();
            Assert.Equal(3, bodies.Count);
            Assert.Equal(new DateTimeOffset(2099, 12, 31, 16, 0, 0, TimeSpan.Zero), RetentionSent(bodies[0]));
            Assert.InRange(RetentionSent(bodies[1]), before.AddDays(3).AddSeconds(-1), DateTimeOffset.UtcNow.AddDays(3).AddSeconds(1));
            Assert.InRange(RetentionSent(bodies[2]), before.AddDays(2).AddSeconds(-1), DateTimeOffset.UtcNow.AddDays(2).AddSeconds(1));
        }

        /// <summary>Before: .NET's "TimeSpan overflowed because the duration is too long." or "...Not-a-Number values.", not the rule.</summary>
        [Fact]
        public void Numbers_beyond_a_TimeSpan_are_refused_with_the_range()
        {
            foreach (var other in new object[] { 1e300, double.NaN, double.PositiveInfinity, "1e300", "NaN", -1e300, BigInteger.Pow(10, 400), decimal.MaxValue })
            {
                var ex = Assert.Throws<ArgumentTransformationMetadataException>(() => new DaysToTimeSpanAttribute().Transform(null, other));
                Assert.Contains("a TimeSpan can hold: give a finite number from -10675199 to 10675199 days", ex.Message);
            }
            Assert.Contains("to 922337203685 seconds", Assert.Throws<ArgumentTransformationMetadataException>(() => new SecondsToTimeSpanAttribute().Transform(null, 1e300)).Message);

            var line = _ps.Run(ConnectArc + "New-DisasterRecoveryBackup -Name big-line -Passcode $pass -RetentionPeriod 1e300");
            Assert.Contains("a TimeSpan can hold", OneError(line).Exception.Message);
            var wait = _ps.Run(ConnectDds + "New-InstanceBackup -InstanceId $di -Name nan-wait -Wait -Timeout ([double]::NaN)");
            Assert.Contains("a TimeSpan can hold", OneError(wait).Exception.Message);
            var cell = _ps.Run(ConnectArc + "[pscustomobject]@{ Name = 'big-cell'; RetentionPeriod = '1e300' } | New-DisasterRecoveryBackup -Passcode $pass");
            var error = OneError(cell);
            Assert.Contains("RetentionPeriod", error.Exception.Message);
            Assert.Contains("a TimeSpan can hold", error.Exception.Message);
            Assert.Empty(CreateBodies());
        }

        /// <summary>Before: -Connection @($c) and -Connection $a,$b were both refused as "text or a saved (deserialized) object".</summary>
        [Fact]
        public void A_connection_in_a_list_of_one_is_used_and_a_longer_list_is_refused_by_the_rule()
        {
            var r = _ps.Run(ConnectDds +
                "$b = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $projectB -AccessToken $token;" +
                "New-InstanceBackup -InstanceId $di -Name list-one -Connection @($a);" +
                "[pscustomobject]@{ Connection = [System.Collections.Generic.List[object]]::new([object[]]@($a)); InstanceId = $di; Name = 'list-row' } | New-InstanceBackup");
            Assert.Null(r.Terminating);
            Assert.Empty(r.Errors);
            Assert.Equal(new[] { TestData.ProjectId, TestData.ProjectId }, r.Objects<BackupJob>().Select(j => j.Scope).ToArray());

            var two = _ps.Run("New-InstanceBackup -InstanceId $di -Name list-two -Connection $a,$b");
            var error = OneError(two);
            Assert.Contains("takes one connection, not a list of 2", error.Exception.Message);
            Assert.DoesNotContain("holds no credential", error.Exception.Message);
            Assert.Equal(2, CreateBodies().Count);
        }

        /// <summary>Before: a row with Endpoint and AuthenticationMethod columns was taken for a saved connection and refused.</summary>
        [Fact]
        public void An_inventory_row_with_Endpoint_and_AuthenticationMethod_binds_by_property_name()
        {
            var r = _ps.Run(ConnectDds +
                "[pscustomobject]@{ Provider = 'DDS'; Endpoint = $dds; AuthenticationMethod = 'AccessToken'; InstanceId = $di; Name = 'inventory-1' } | New-InstanceBackup;" +
                // A connection's JSON or CSV copy has nothing but a connection's properties: still refused.
                "[pscustomobject]@{ Provider = 'DDS'; Endpoint = $dds; Region = $null; Scope = $project; AuthenticationMethod = 'AccessToken';" +
                "  SkipCertificateCheck = $false; ConnectedAt = '2026-11-24T10:00:00Z' } | New-InstanceBackup -InstanceId $di -Name json-copy");
            Assert.Null(r.Terminating);
            Assert.Equal("inventory-1", Assert.Single(r.Objects<BackupJob>()).BackupName);
            Assert.Contains("holds no credential", Assert.Single(r.Errors).Exception.Message);
            Assert.Single(CreateBodies());
        }

        private static object TransformDateIn(string culture, string text)
        {
            var before = CultureInfo.CurrentCulture;
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo(culture);
            try
            {
                return new TextToDateTimeAttribute().Transform(null, text);
            }
            finally
            {
                CultureInfo.CurrentCulture = before;
            }
        }

        /// <summary>
        /// Text read by one culture alone, or by the session's and the invariant culture alike, is that date; ISO text is
        /// read as it is in every culture. Before: every text was read invariantly, month first, so 13.01.2027 was refused
        /// in a de-DE session where 12.01.2027 was taken as 1 December.
        /// </summary>
        [Theory]
        [InlineData("de-DE", "13.01.2027", "2027-01-13T00:00:00")]
        [InlineData("de-DE", "31.12.2099 18:30:00", "2099-12-31T18:30:00")]
        [InlineData("de-DE", "1. Februar 2099", "2099-02-01T00:00:00")]
        [InlineData("de-DE", "1 February 2099", "2099-02-01T00:00:00")]
        [InlineData("de-DE", "12/31/2099", "2099-12-31T00:00:00")]
        [InlineData("de-DE", "2099-02-01", "2099-02-01T00:00:00")]
        [InlineData("de-DE", " 2099-02-01T18:00 ", "2099-02-01T18:00:00")]
        [InlineData("en-GB", "2099-02-01 18:00", "2099-02-01T18:00:00")]
        [InlineData("en-GB", "13/01/2027", "2027-01-13T00:00:00")]
        [InlineData("en-US", "01/02/2099", "2099-01-02T00:00:00")]
        [InlineData("tr-TR", "13.02.2099", "2099-02-13T00:00:00")]
        public void A_date_as_text_is_read_in_the_session_s_culture_where_the_invariant_reading_does_not_differ(string culture, string text, string expected)
        {
            var date = Assert.IsType<DateTime>(TransformDateIn(culture, text));
            Assert.Equal(DateTime.Parse(expected, CultureInfo.InvariantCulture), date);
        }

        /// <summary>Text with an offset is that moment (returned in the session's time, as PowerShell reads it).</summary>
        [Theory]
        [InlineData("de-DE", "2099-02-13T18:00:00+02:00")]
        [InlineData("de-DE", "13.02.2099 18:00:00 +02:00")]
        [InlineData("en-US", "02/13/2099 18:00:00 +02:00")]
        public void A_date_with_an_offset_is_that_moment(string culture, string text)
        {
            var date = Assert.IsType<DateTime>(TransformDateIn(culture, text));
            Assert.Equal(new DateTime(2099, 2, 13, 16, 0, 0, DateTimeKind.Utc), date.ToUniversalTime());
        }

        /// <summary>
        /// Before: 01.02.2099 (1 February, as Export-Csv writes it in de-DE) was read invariantly as 2 January, without a
        /// word: the backup could be cleaned up a month early. Where the session's culture and the invariant one read text
        /// as two dates, it is refused naming both.
        /// </summary>
        [Theory]
        [InlineData("de-DE", "01.02.2099 00:00:00", "1 February 2099", "2 January 2099")]
        [InlineData("de-DE", "01.02.2099", "1 February 2099", "2 January 2099")]
        [InlineData("en-GB", "01/02/2099 18:00:00", "1 February 2099 18:00:00", "2 January 2099 18:00:00")]
        [InlineData("fr-FR", "05/06/2099", "5 June 2099", "6 May 2099")]
        [InlineData("tr-TR", "01.02.2099", "1 February 2099", "2 January 2099")]
        public void A_date_as_text_that_the_session_s_culture_and_the_invariant_culture_read_differently_is_refused(
            string culture, string text, string session, string invariant)
        {
            var ex = Assert.Throws<ArgumentTransformationMetadataException>(() => TransformDateIn(culture, text));
            Assert.Contains($"is {session} in this session's culture ({culture}) but {invariant} in the invariant culture", ex.Message);
            Assert.Contains("write it as yyyy-MM-dd", ex.Message);
        }

        /// <summary>
        /// Export-Csv in a de-DE session writes 1 February 2099 as 01.02.2099 00:00:00: the row is refused with the error
        /// other cells that are no date get (the engine's transformation error, InvalidData), and nothing is sent. Before:
        /// the backup's retention date was sent as 2 January 2099. A day past the 12th, and ISO text, are read as written.
        /// </summary>
        [Fact]
        public void A_RetentionDate_cell_written_in_a_day_first_session_is_read_as_written_or_refused_when_ambiguous()
        {
            var r = _ps.Run(ConnectArc +
                "$old = [System.Threading.Thread]::CurrentThread.CurrentCulture;" +
                "[System.Threading.Thread]::CurrentThread.CurrentCulture = 'de-DE';" +
                "try {" +
                "  @([pscustomobject]@{ Name = 'de-ambiguous'; RetentionDate = [datetime]::new(2099, 2, 1).ToString() }," +
                "    [pscustomobject]@{ Name = 'de-13th'; RetentionDate = [datetime]::new(2099, 2, 13).ToString() }," +
                "    [pscustomobject]@{ Name = 'de-iso'; RetentionDate = '2099-02-01' }," +
                "    [pscustomobject]@{ Name = 'de-nodate'; RetentionDate = 'soon' }) | New-DisasterRecoveryBackup -Passcode $pass" +
                "} finally { [System.Threading.Thread]::CurrentThread.CurrentCulture = $old }");
            Assert.Null(r.Terminating);
            Assert.Equal(new[] { "de-13th", "de-iso" }, r.Objects<BackupJob>().Select(j => j.BackupName).ToArray());
            Assert.Equal(2, r.Errors.Count);
            var ambiguous = r.Errors[0];
            Assert.Contains("'01.02.2099 00:00:00' is 1 February 2099 in this session's culture (de-DE) but 2 January 2099", ambiguous.Exception.Message);
            Assert.Contains("RetentionDate", ambiguous.Exception.Message);
            Assert.Equal(r.Errors[1].FullyQualifiedErrorId, ambiguous.FullyQualifiedErrorId);
            Assert.Equal(r.Errors[1].CategoryInfo.Category, ambiguous.CategoryInfo.Category);
            Assert.StartsWith("ParameterArgumentTransformationError,", ambiguous.FullyQualifiedErrorId);
            Assert.Contains("is not a date PowerShell can read", r.Errors[1].Exception.Message);

            var bodies = CreateBodies();
            Assert.Equal(2, bodies.Count);
            Assert.Equal(new DateTimeOffset(new DateTime(2099, 2, 13, 0, 0, 0, DateTimeKind.Local)), RetentionSent(bodies[0]));
            Assert.Equal(new DateTimeOffset(new DateTime(2099, 2, 1, 0, 0, 0, DateTimeKind.Local)), RetentionSent(bodies[1]));
        }

        /// <summary>Before: 'DDS[' stopped Get-BackupProvider with the engine's WildcardPatternException (RuntimeException, NotSpecified).</summary>
        [Fact]
        public void A_wildcard_pattern_that_cannot_be_read_is_ProviderNotFound_and_other_names_go_on()
        {
            var errors = GetBackupProviderCommand.Select(new[] { "DDS[", "Taurus*" }, out var selected);
            Assert.Equal(ErrorIds.ProviderNotFound, Assert.Single(errors).ErrorId);
            Assert.Equal("TaurusDB", Assert.Single(selected).Name);

            var r = _ps.Run("Get-BackupProvider -Name 'DDS[', TaurusDB");
            Assert.Null(r.Terminating);
            var error = Assert.Single(r.Errors);
            Assert.Equal(ErrorIds.ProviderNotFound, error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            Assert.Contains("not a wildcard pattern", error.Exception.Message);
            Assert.Equal("TaurusDB", Assert.Single(r.Objects<BackupProviderInfo>()).Name);
        }
    }
}
