using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using BackupTools.Commands;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// Data through the pipeline and back: CSV cells that PowerShell cannot convert are refused for their row instead of
    /// dropped, a CSV row's Connection text is refused, times written by Export-Csv in a day-first culture read back as
    /// written, a job serialized at depth 1 keeps its service codes, and a $null among -Job values is left out.
    /// </summary>
    public sealed class RoundTripTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const string ConnectArc = "$null = Connect-BackupService -Provider ArcGIS -Endpoint $arcgis -AccessToken $token;";
        private const string ConnectDds = "$null = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token;";
        private static readonly DateTimeOffset Created = new DateTimeOffset(2026, 11, 12, 10, 0, 0, TimeSpan.Zero);
        private readonly BackupSimulator _sim;
        private readonly PowerShellHost _ps = new PowerShellHost();

        public RoundTripTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _ps.Set("token", TestData.Secure(TestData.Token));
            _ps.Set("pass", TestData.Secure("Zq7-passcode-XYZ"));
            _ps.Set("arcgis", _sim.EndpointFor("ArcGIS").ToString());
            _ps.Set("dds", _sim.EndpointFor("DDS").ToString());
            _ps.Set("cf", _sim.EndpointFor("CloudFoundry").ToString());
            _ps.Set("project", TestData.ProjectId);
            _ps.Set("di", TestData.DdsInstance);
        }

        public void Dispose()
        {
            _ps.Dispose();
            _sim.Reset();
        }

        private int Creates() => _sim.Counters.Requests.Count(q => q.Method == "POST" && !q.Path.Contains("token", StringComparison.OrdinalIgnoreCase));

        private static void AssertRefusedForItsRow(PowerShellHost.Result r, string parameter, string words)
        {
            Assert.Null(r.Terminating);
            var error = Assert.Single(r.Errors);
            Assert.Contains(parameter, error.Exception.Message);
            Assert.Contains(words, error.Exception.Message);
        }

        [Theory]
        [InlineData("30 days")]
        [InlineData("1,5")]
        [InlineData("a month")]
        public void A_RetentionPeriod_cell_that_is_no_period_is_an_error_for_its_row_not_a_backup_without_retention(string cell)
        {
            _ps.Set("cell", cell);
            var r = _ps.Run(ConnectArc + "[pscustomobject]@{ Name='csv-ret'; RetentionPeriod=$cell }, [pscustomobject]@{ Name='csv-ok'; RetentionPeriod='7' } | " +
                            "New-DisasterRecoveryBackup -Passcode $pass");
            AssertRefusedForItsRow(r, "RetentionPeriod", "is neither a number of days nor a TimeSpan");
            Assert.Equal("csv-ok", Assert.Single(r.Objects<BackupJob>()).BackupName);
            Assert.Equal(1, Creates());
        }

        [Theory]
        [InlineData("7", 7.0)]
        [InlineData(" 1.5 ", 1.5)]
        [InlineData("2.12:00:00", 2.5)]
        public void A_RetentionPeriod_cell_of_days_or_a_TimeSpan_is_read(string cell, double days)
        {
            _ps.Set("cell", cell);
            var before = DateTimeOffset.UtcNow;
            var r = _ps.Run(ConnectArc + "[pscustomobject]@{ Name='csv-ret'; RetentionPeriod=$cell } | New-DisasterRecoveryBackup -Passcode $pass");
            Assert.Empty(r.Errors);
            var body = Assert.Single(_sim.Counters.Requests, q => q.Method == "POST" && q.Path.EndsWith("/create", StringComparison.Ordinal)).Body;
            var ms = long.Parse(body.Split('&').Single(p => p.StartsWith("retentionDate=", StringComparison.Ordinal)).Substring(14), CultureInfo.InvariantCulture);
            var sent = DateTimeOffset.FromUnixTimeMilliseconds(ms);
            Assert.InRange(sent, before.AddDays(days).AddSeconds(-1), DateTimeOffset.UtcNow.AddDays(days).AddSeconds(1));
        }

        [Fact]
        public void An_empty_RetentionPeriod_cell_means_not_given()
        {
            var r = _ps.Run(ConnectArc + "[pscustomobject]@{ Name='csv-ret'; RetentionPeriod='' } | New-DisasterRecoveryBackup -Passcode $pass");
            Assert.Empty(r.Errors);
            Assert.Single(r.Objects<BackupJob>());
        }

        [Theory]
        [InlineData("31/12/2099")]
        [InlineData("2099-12-31 noon")]
        public void A_RetentionDate_cell_that_is_no_date_is_an_error_for_its_row(string cell)
        {
            _ps.Set("cell", cell);
            var r = _ps.Run(ConnectArc + "[pscustomobject]@{ Name='csv-retdate'; RetentionDate=$cell } | New-DisasterRecoveryBackup -Passcode $pass");
            AssertRefusedForItsRow(r, "RetentionDate", "is not a date PowerShell can read");
            Assert.Equal(0, Creates());
        }

        [Fact]
        public void A_RetentionDate_cell_in_ISO_form_is_read()
        {
            var r = _ps.Run(ConnectArc + "[pscustomobject]@{ Name='csv-retdate'; RetentionDate='2099-12-31' } | New-DisasterRecoveryBackup -Passcode $pass");
            Assert.Empty(r.Errors);
            Assert.Contains("retentionDate=", Assert.Single(_sim.Counters.Requests, q => q.Method == "POST" && q.Path.EndsWith("/create", StringComparison.Ordinal)).Body);
        }

        [Fact]
        public void A_Connection_cell_holding_text_is_an_error_for_its_row_not_the_default_connection()
        {
            var r = _ps.Run(ConnectDds + "[pscustomobject]@{ Connection='DDS https://dds.eu-de.otc.t-systems.com/ (p)'; InstanceId=$di; Name='csv-conn-text' } | New-InstanceBackup");
            AssertRefusedForItsRow(r, "Connection", "cannot come from text");
            Assert.Equal(0, Creates());
        }

        [Fact]
        public void An_empty_Connection_cell_means_the_default_connection()
        {
            var r = _ps.Run(ConnectDds + "[pscustomobject]@{ Connection=''; InstanceId=$di; Name='csvconnempty' } | New-InstanceBackup");
            Assert.Empty(r.Errors);
            Assert.Single(r.Objects<BackupJob>());
        }

        /// <summary>Export-Csv: each property's ToString() in the session's culture; Import-Csv: a PSCustomObject of strings.</summary>
        private static PSObject CsvRow(object value, CultureInfo culture)
        {
            var before = CultureInfo.CurrentCulture;
            CultureInfo.CurrentCulture = culture;
            try
            {
                var row = new PSObject();
                foreach (var p in PSObject.AsPSObject(value).Properties)
                    row.Properties.Add(new PSNoteProperty(p.Name, p.Value?.ToString() ?? string.Empty));
                return row;
            }
            finally
            {
                CultureInfo.CurrentCulture = before;
            }
        }

        private static BackupJob Transform(object input, CultureInfo session)
        {
            var before = CultureInfo.CurrentCulture;
            CultureInfo.CurrentCulture = session;
            try
            {
                return (BackupJob)new BackupJobTransformationAttribute().Transform(null, input);
            }
            finally
            {
                CultureInfo.CurrentCulture = before;
            }
        }

        [Theory]
        [InlineData("en-US")]
        [InlineData("en-GB")]
        [InlineData("de-DE")]
        [InlineData("fr-FR")]
        [InlineData("ru-RU")]
        public void A_job_exported_to_CSV_reads_back_its_times_in_the_culture_that_wrote_them(string cultureName)
        {
            var culture = new CultureInfo(cultureName);
            var job = new BackupJob("DDS", _sim.EndpointFor("DDS").ToString(), "job-csv", instanceId: TestData.DdsInstance, backupName: "csv", createdAt: Created);
            var back = Transform(CsvRow(job, culture), culture);
            Assert.Equal(Created, back.CreatedAt);
        }

        [Theory]
        [InlineData("2026-11-12T10:00:00+00:00")]
        [InlineData("2026-11-12T10:00:00.0000000Z")]
        [InlineData("2026-11-12 10:00:00Z")]
        [InlineData("2026-11-12T11:00:00+01:00")]
        public void An_ISO_time_reads_the_same_in_every_culture(string text)
        {
            var row = new PSObject();
            row.Properties.Add(new PSNoteProperty("Provider", "DDS"));
            row.Properties.Add(new PSNoteProperty("JobId", "j1"));
            row.Properties.Add(new PSNoteProperty("CreatedAt", text));
            Assert.Equal(Created, Transform(row, new CultureInfo("de-DE")).CreatedAt);
            Assert.Equal(Created, Transform(row, new CultureInfo("en-US")).CreatedAt);
        }

        /// <summary>A CSV row of a job started at <see cref="Created"/> and ended five minutes later, written in <paramref name="culture"/>.</summary>
        private static Dictionary<string, object> CsvCells(CultureInfo culture) => new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase)
        {
            ["Provider"] = "DDS", ["JobId"] = "j1", ["State"] = "Succeeded",
            ["CreatedAt"] = Created.ToString(culture), ["EndedAt"] = Created.AddMinutes(5).ToString(culture),
            ["LastCheckedAt"] = Created.AddMinutes(5).ToString(culture),
        };

        /// <summary>When the rows below are read: twelve days after <see cref="Created"/>, before its day and month swapped (11 December).</summary>
        private static readonly DateTimeOffset ReadAt = new DateTimeOffset(2026, 11, 24, 22, 0, 0, TimeSpan.Zero);

        /// <summary>
        /// A row written in one culture and read in another: the reader's culture is tried first, then the invariant one,
        /// and a reading in the future (day and month swapped) is not taken. Before: the reader's culture alone, whatever
        /// it read: 11/12/2026 (en-US, 12 November) read in en-GB, de-DE or fr-FR was 11 December or no time.
        /// </summary>
        [Theory]
        [InlineData("en-US", "en-GB")]
        [InlineData("en-US", "de-DE")]
        [InlineData("en-US", "fr-FR")]
        [InlineData("de-DE", "fr-FR")]
        [InlineData("de-DE", "en-GB")]
        [InlineData("de-DE", "de-DE")]
        public void A_job_CSV_from_another_culture_takes_the_reading_that_is_not_in_the_future(string writer, string reader)
        {
            var job = BackupJob.FromProperties(CsvCells(new CultureInfo(writer)), new CultureInfo(reader), ReadAt);
            Assert.Equal(Created, job.CreatedAt);
            Assert.Equal(Created.AddMinutes(5), job.EndedAt);
            Assert.Equal(Created.AddMinutes(5), job.LastCheckedAt);
            Assert.Equal(TimeSpan.FromMinutes(5), job.Elapsed);
        }

        /// <summary>
        /// 12.11.2026 written in de-DE reads as 11 December both in en-US and invariantly: a time in the future is unknown,
        /// as a cell that no culture reads is (a start is then the time the row is read). Before: the job had started on
        /// 11 December; the not-found grace, counted from then, kept a job the service no longer knows "starting" for weeks.
        /// </summary>
        [Fact]
        public void A_job_CSV_time_that_every_culture_reads_as_in_the_future_is_unknown()
        {
            var before = DateTimeOffset.UtcNow;
            var job = BackupJob.FromProperties(CsvCells(new CultureInfo("de-DE")), new CultureInfo("en-US"), ReadAt);
            Assert.InRange(job.CreatedAt, before, DateTimeOffset.UtcNow);
            Assert.Null(job.EndedAt);
            Assert.Null(job.LastCheckedAt);

            // ISO text too, beyond a few minutes of another clock's lead.
            var iso = new Dictionary<string, object> { ["Provider"] = "DDS", ["JobId"] = "j1",
                ["CreatedAt"] = "2026-11-24T22:04:00Z", ["LastCheckedAt"] = "2026-11-24T22:06:00+00:00" };
            var read = BackupJob.FromProperties(iso, null, ReadAt);
            Assert.Equal(ReadAt.AddMinutes(4), read.CreatedAt);
            Assert.Null(read.LastCheckedAt);
        }

        /// <summary>A day before today whose day and month swapped is a day after today (today 2026-11-24: 2026-11-12), if any.</summary>
        private static DateTimeOffset? SwappedIntoTheFuture(DateTimeOffset now) =>
            Enumerable.Range(1, 365).Select(k => new DateTimeOffset(now.Date.AddDays(-k).AddHours(10), TimeSpan.Zero))
                .Where(d => d.Day <= 12 && d.Day != d.Month && new DateTime(d.Year, d.Day, d.Month) > now.UtcDateTime.AddDays(1))
                .Select(d => (DateTimeOffset?)d).FirstOrDefault();

        /// <summary>
        /// Import-Csv | Wait-BackupJob on an en-US worker, of a Cloud Foundry job (no not-found grace) that the service no
        /// longer knows, written by Export-Csv in de-DE: BackupJobNotFound at the first read. Before: its CreatedAt was
        /// in the future, and the job was "NotFound (starting)" until -Timeout (forever without one). (From 13 to 31
        /// December no earlier day of the year swaps into the future; a cell two days ahead stands for it.)
        /// </summary>
        [Fact]
        public void A_job_CSV_from_another_culture_does_not_keep_a_gone_job_starting()
        {
            var now = DateTimeOffset.UtcNow;
            _ps.Set("created", (SwappedIntoTheFuture(now) ?? now.AddDays(2)).ToString(new CultureInfo("de-DE")));
            var r = _ps.Run(
                "$null = Connect-BackupService -Provider CloudFoundry -Endpoint $cf -AccessToken $token;" +
                "$old = [System.Threading.Thread]::CurrentThread.CurrentCulture;" +
                "[System.Threading.Thread]::CurrentThread.CurrentCulture = 'en-US';" +
                "try {" +
                "  [pscustomobject]@{ Provider = 'CloudFoundry'; Endpoint = $cf; JobId = '7d1c2b3a-0000-4000-8000-00000000dead'; State = 'Running'; CreatedAt = $created } |" +
                "    Wait-BackupJob -PollingInterval 0.2 -Timeout 5 -WarningAction SilentlyContinue" +
                "} finally { [System.Threading.Thread]::CurrentThread.CurrentCulture = $old }", TimeSpan.FromSeconds(30));
            Assert.False(r.TimedOut);
            Assert.Null(r.Terminating);
            var error = Assert.Single(r.Errors);
            Assert.StartsWith(ErrorIds.BackupJobNotFound + ",", error.FullyQualifiedErrorId);
            Assert.All(r.Objects<BackupJob>(), j => Assert.InRange(j.CreatedAt, now, DateTimeOffset.UtcNow));
        }

        [Fact]
        public void A_job_serialized_at_depth_1_in_a_day_first_culture_keeps_its_times_and_service_codes()
        {
            // Remoting and Start-Job serialize at depth 1; the types file gives BackupJob depth 2 so its messages keep their codes.
            var job = new BackupJob("DDS", "https://dds.example/", "j1", instanceId: TestData.DdsInstance, backupName: "b",
                state: BackupJobState.Failed, rawStatus: "Failed", errors: new[] { new BackupJobMessage("DBS.200410", "disk full") }, createdAt: Created);
            _ps.Set("job", job);
            var r = _ps.Run("[System.Threading.Thread]::CurrentThread.CurrentCulture = 'de-DE'; [System.Management.Automation.PSSerializer]::Serialize($job, 1)");
            Assert.Empty(r.Errors);
            var back = Transform(PSSerializer.Deserialize((string)Assert.Single(r.Output).BaseObject), new CultureInfo("de-DE"));
            var error = Assert.Single(back.Errors);
            Assert.Equal("DBS.200410", error.Code);
            Assert.Equal("disk full", error.Message);
            Assert.Equal(Created, back.CreatedAt);
        }

        /// <summary>A failed job with two reasons and a warning, as Wait-BackupJob writes one.</summary>
        private BackupJob FailedWithReasons() =>
            new BackupJob("DDS", _sim.EndpointFor("DDS").ToString(), "job-failed-csv", instanceId: TestData.DdsInstance, backupName: "csvfail",
                scope: TestData.ProjectId, state: BackupJobState.Failed, rawStatus: "Failed", createdAt: Created, endedAt: Created.AddMinutes(5),
                errors: new[] { new BackupJobMessage("DBS.200410", "DBS.200410: Backup 'csvfail' failed."), new BackupJobMessage("DBS.1", "disk full") },
                warnings: new[] { new BackupJobMessage("W1", "careful") });

        /// <summary>
        /// Export-Csv writes each property's ToString(): the Errors and Warnings cells hold the service's codes and
        /// reasons ("; " between two), and the row read back is the job failing with the same reasons, whose cells are
        /// the same text again. Before: both cells were "BackupTools.BackupJobMessage[]", and the reasons were lost.
        /// </summary>
        [Fact]
        public void A_failed_job_exported_to_CSV_keeps_its_reasons_and_reads_back_failing_with_them()
        {
            var culture = new CultureInfo("de-DE");
            var job = FailedWithReasons();
            var row = CsvRow(job, culture);
            const string reasons = "DBS.200410: Backup 'csvfail' failed.; DBS.1: disk full";
            Assert.Equal(reasons, row.Properties["Errors"].Value);
            Assert.Equal("W1: careful", row.Properties["Warnings"].Value);

            var back = Transform(row, culture);
            Assert.Equal(BackupJobState.Failed, back.State);
            Assert.Equal(reasons, back.Errors.ToString());
            Assert.Equal("W1: careful", back.Warnings.ToString());
            Assert.Equal(BackupTools.Jobs.JobOutcome.ErrorFor(job).Message, BackupTools.Jobs.JobOutcome.ErrorFor(back).Message);
            // Exported again, the same cells.
            var again = CsvRow(back, culture);
            Assert.Equal(reasons, again.Properties["Errors"].Value);
            Assert.Equal("W1: careful", again.Properties["Warnings"].Value);
        }

        /// <summary>
        /// A row of an earlier version's Export-Csv (the array's type name in both cells) or with empty cells binds and
        /// reads back a job without messages.
        /// </summary>
        [Theory]
        [InlineData("BackupTools.BackupJobMessage[]")]
        [InlineData("System.Object[]")]
        [InlineData("")]
        [InlineData("  ")]
        public void A_CSV_messages_cell_that_holds_no_text_gives_no_messages(string cell)
        {
            var row = new PSObject();
            row.Properties.Add(new PSNoteProperty("Provider", "DDS"));
            row.Properties.Add(new PSNoteProperty("JobId", "j1"));
            row.Properties.Add(new PSNoteProperty("State", "Failed"));
            row.Properties.Add(new PSNoteProperty("Errors", cell));
            row.Properties.Add(new PSNoteProperty("Warnings", cell));
            var back = Transform(row, new CultureInfo("en-US"));
            Assert.Empty(back.Errors);
            Assert.Empty(back.Warnings);
            Assert.Equal(string.Empty, back.Errors.ToString());
        }

        /// <summary>
        /// Import-Csv | Wait-BackupJob through the binder: a running job's row (empty Errors and Warnings cells) is
        /// followed to its end, and a failed job's row fails with the reasons its Errors cell holds.
        /// </summary>
        [Fact]
        public void CSV_rows_with_messages_cells_bind_to_Wait_BackupJob()
        {
            var made = _ps.Run(ConnectDds + "New-InstanceBackup -InstanceId $di -Name csvrows");
            Assert.Empty(made.Errors);
            var running = Assert.Single(made.Objects<BackupJob>());
            _ps.Set("rows", new[] { CsvRow(running, CultureInfo.CurrentCulture), CsvRow(FailedWithReasons(), CultureInfo.CurrentCulture) });
            var r = _ps.Run("$rows | Wait-BackupJob -PollingInterval 0.05 -Timeout 30", TimeSpan.FromSeconds(60));
            Assert.False(r.TimedOut);
            Assert.Null(r.Terminating);
            var done = r.Objects<BackupJob>().ToList();
            Assert.Contains(done, j => j.JobId == running.JobId && j.State == BackupJobState.Succeeded);
            var error = Assert.Single(r.Errors);
            Assert.StartsWith(ErrorIds.BackupJobFailed + ",", error.FullyQualifiedErrorId);
            Assert.Contains("failed: DBS.200410: Backup 'csvfail' failed.; DBS.1: disk full.", error.Exception.Message);
        }

        [Fact]
        public void A_null_among_the_jobs_given_to_Job_is_left_out()
        {
            var r = _ps.Run(ConnectDds + "$j = New-InstanceBackup -InstanceId $di -Name nullamong; $k = $null; Wait-BackupJob -Job $j, $k -PollingInterval 0.05 -Timeout 30");
            Assert.Null(r.Terminating);
            Assert.Empty(r.Errors);
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(r.Objects<BackupJob>()).State);
        }
    }
}
