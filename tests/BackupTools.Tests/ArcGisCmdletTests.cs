using System;
using System.Linq;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>New-DisasterRecoveryBackup as a PowerShell user meets it, in the hosted engine, against the simulated ArcGIS Enterprise.</summary>
    public sealed class ArcGisCmdletTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const string PasscodeText = "Zq7-passcode-XYZ";
        private const string Connect = "$null = Connect-BackupService -Provider ArcGIS -Endpoint $arcgis -AccessToken $token;";
        private readonly BackupSimulator _sim;
        private readonly PowerShellHost _ps = new PowerShellHost();

        public ArcGisCmdletTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(400);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _ps.Set("token", TestData.Secure(TestData.Token));
            _ps.Set("pass", TestData.Secure(PasscodeText));
            _ps.Set("short", TestData.Secure("Qx9#k"));
            _ps.Set("arcgis", _sim.EndpointFor("ArcGIS").ToString());
            _ps.Set("taurus", _sim.EndpointFor("TaurusDB").ToString());
            _ps.Set("project", TestData.ProjectId);
        }

        public void Dispose() => _ps.Dispose();

        [Fact]
        public void A_backup_flows_through_Wait_BackupJob_to_success_without_showing_the_passcode()
        {
            var r = _ps.Run(Connect + "New-DisasterRecoveryBackup -Name x -Passcode $pass -Verbose | Wait-BackupJob -PollingInterval 0.05 -Timeout 30 -Verbose");
            Assert.Null(r.Terminating);
            Assert.Empty(r.Errors);
            var job = Assert.Single(r.Objects<BackupJob>());
            Assert.Equal(BackupJobState.Succeeded, job.State);
            Assert.Equal(BackupKind.DisasterRecovery, job.Kind);
            Assert.Equal("DefaultBackupStore", job.Scope);
            Assert.NotEmpty(r.Verbose);
            Assert.DoesNotContain(PasscodeText, r.AllText());
            Assert.DoesNotContain(TestData.Token, r.AllText());
        }

        [Theory]
        [InlineData("-5")]
        [InlineData("0")]
        [InlineData("0.001s")] // PowerShell 7 reads it as the Int16 0 (the s suffix), not as a thousandth of a second
        [InlineData("([timespan]::FromHours(-1))")]
        public void A_retention_period_that_is_not_positive_is_refused_naming_RetentionPeriod_before_sending(string period)
        {
            // Before: "RetentionDate 2026-11-19 … is not in the future", a parameter the user never gave.
            var r = _ps.Run(Connect + "New-DisasterRecoveryBackup -Name dr-1 -Passcode $pass -RetentionPeriod " + period);
            Assert.Null(r.Terminating);
            var error = Assert.Single(r.Errors);
            Assert.Equal(ErrorIds.BackupParameterInvalid, error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Contains("RetentionPeriod must be longer than zero", error.Exception.Message);
            Assert.DoesNotContain("RetentionDate", error.Exception.Message);
            Assert.Empty(r.Objects<BackupJob>());
            Assert.DoesNotContain(_sim.Counters.Requests, q => q.Method == "POST" && q.Path.EndsWith("/create", StringComparison.Ordinal));
        }

        [Theory]
        [InlineData("([timespan]1)", "00:00:00.0000001")]
        [InlineData("'00:00:00.0000001'", "00:00:00.0000001")]
        public void A_retention_period_too_short_to_reach_the_service_is_refused_naming_RetentionPeriod_before_sending(string period, string shown)
        {
            // One tick: positive, but its retention date (now plus the period) has passed before the request is checked.
            // Before: "RetentionDate 2026-11-25 … is not in the future", a parameter the user never gave.
            var r = _ps.Run(Connect + "New-DisasterRecoveryBackup -Name dr-short -Passcode $pass -RetentionPeriod " + period);
            Assert.Null(r.Terminating);
            var error = Assert.Single(r.Errors);
            Assert.Equal(ErrorIds.BackupParameterInvalid, error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Contains("RetentionPeriod " + shown, error.Exception.Message);
            Assert.DoesNotContain("RetentionDate", error.Exception.Message);
            Assert.Contains("Nothing was sent", error.Exception.Message);
            Assert.Empty(r.Objects<BackupJob>());
            Assert.DoesNotContain(_sim.Counters.Requests, q => q.Method == "POST" && q.Path.EndsWith("/create", StringComparison.Ordinal));
        }

        [Fact]
        public void A_negative_retention_period_of_under_a_day_is_shown_as_given_not_as_minus_zero_days()
        {
            // Before: "RetentionPeriod must be longer than zero (it was -0 days)": -1 ms rounded to days.
            var r = _ps.Run(Connect + "New-DisasterRecoveryBackup -Name dr-neg -Passcode $pass -RetentionPeriod ([timespan]::FromMilliseconds(-1))");
            var error = Assert.Single(r.Errors);
            Assert.Contains("RetentionPeriod must be longer than zero (it was -00:00:00.0010000)", error.Exception.Message);
            Assert.DoesNotContain("-0 days", error.Exception.Message);
        }

        [Fact]
        public void A_retention_period_beyond_the_calendar_is_an_error_for_its_row_and_the_other_rows_go_on()
        {
            // Before: ArgumentOutOfRangeException from DateTimeOffset ended the pipeline, and -Wait lost row 1's job.
            var r = _ps.Run(Connect +
                "@([pscustomobject]@{ Name='ret-1'; RetentionPeriod=30 }, [pscustomobject]@{ Name='ret-2'; RetentionPeriod='3000000' }," +
                "  [pscustomobject]@{ Name='ret-3'; RetentionPeriod=7 }) | New-DisasterRecoveryBackup -Passcode $pass -Wait -PollingInterval 0.05 -Timeout 30");
            Assert.Null(r.Terminating);
            var error = Assert.Single(r.Errors);
            Assert.Equal(ErrorIds.BackupParameterInvalid, error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Contains("RetentionPeriod", error.Exception.Message);
            Assert.Equal(new[] { "ret-1", "ret-3" }, r.Objects<BackupJob>().Select(j => j.BackupName).OrderBy(n => n, StringComparer.Ordinal));
            Assert.Equal(2, _sim.Counters.Requests.Count(q => q.Method == "POST" && q.Path.EndsWith("/create", StringComparison.Ordinal)));
        }

        [Fact]
        public void A_passcode_given_as_text_is_taken_and_a_secret_of_another_type_is_refused_without_its_value()
        {
            var r = _ps.Run(Connect + "New-DisasterRecoveryBackup -Name text-pass -Passcode 'Zq7-passcode-XYZ' | Wait-BackupJob -PollingInterval 0.05 -Timeout 30");
            Assert.Null(r.Terminating);
            Assert.Empty(r.Errors);
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(r.Objects<BackupJob>()).State);
            Assert.DoesNotContain(PasscodeText, r.AllText());

            var refused = _ps.Run(Connect + "New-DisasterRecoveryBackup -Name hash-pass -Passcode @{ p = 'Hidden-value-123' }");
            var binding = refused.Terminating ?? (Exception)refused.Errors.Single().Exception;
            Assert.Contains("not shown", binding.Message);
            Assert.DoesNotContain("Hidden-value-123", refused.AllText() + binding);
        }

        [Fact]
        public void The_service_offering_the_kind_is_chosen_among_several_connections_and_Wait_works()
        {
            var r = _ps.Run(Connect + "$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token;" +
                            "New-DisasterRecoveryBackup -Name y -StoreName secondary -Passcode $pass -Wait -PollingInterval 0.05 -Timeout 30");
            Assert.Null(r.Terminating);
            Assert.Empty(r.Errors);
            var job = Assert.Single(r.Objects<BackupJob>());
            Assert.Equal(BackupJobState.Succeeded, job.State);
            Assert.Equal("secondary", job.Scope);
        }

        [Fact]
        public void WhatIf_sends_nothing()
        {
            var r = _ps.Run(Connect + "New-DisasterRecoveryBackup -Name whatif -Passcode $pass -WhatIf");
            Assert.Null(r.Terminating);
            Assert.Empty(r.Output);
            Assert.Equal(0, _sim.Counters.TotalRequests);
        }

        [Fact]
        public void A_short_passcode_is_an_error_record_and_nothing_is_sent()
        {
            var r = _ps.Run(Connect + "New-DisasterRecoveryBackup -Name x -Passcode $short");
            var error = Assert.Single(r.Errors);
            Assert.Equal(ErrorIds.BackupParameterInvalid, error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.DoesNotContain("Qx9#k", r.AllText());
            Assert.Equal(0, _sim.Counters.TotalRequests);
        }

        [Fact]
        public void A_retention_period_in_days_is_sent_as_an_epoch_millisecond_date()
        {
            var before = DateTimeOffset.UtcNow.AddDays(30).ToUnixTimeMilliseconds();
            var r = _ps.Run(Connect + "New-DisasterRecoveryBackup -Name kept -Passcode $pass -RetentionPeriod 30");
            var after = DateTimeOffset.UtcNow.AddDays(30).ToUnixTimeMilliseconds();
            Assert.Empty(r.Errors);
            var create = Assert.Single(_sim.Counters.Requests, q => q.Path.EndsWith("/backups/create", StringComparison.Ordinal));
            var field = create.Body.Split('&').Single(f => f.StartsWith("retentionDate=", StringComparison.Ordinal));
            var ms = long.Parse(field.Substring("retentionDate=".Length));
            Assert.InRange(ms, before, after);
        }

        [Fact]
        public void A_retention_date_in_the_past_is_refused()
        {
            var r = _ps.Run(Connect + "New-DisasterRecoveryBackup -Name old -Passcode $pass -RetentionDate ([datetime]'2001-01-01')");
            Assert.Single(r.Errors);
            Assert.Equal(0, _sim.Counters.TotalRequests);
        }

        [Fact]
        public void A_store_name_with_a_space_completes_quoted_and_binds_whole()
        {
            // Unquoted, "My Store" bound Name='Store' (and StoreName 'My') without an error.
            _sim.Faults.Add(new FaultRule { Provider = "ArcGIS", Method = "GET", PathContains = "/disasterrecovery/stores", StatusCode = 200,
                Body = "{\"stores\":[{\"default\":true,\"name\":\"My Store\"},{\"default\":false,\"name\":\"Mike's\"}]}", Times = int.MaxValue });
            var r = _ps.Run(Connect + "(TabExpansion2 -inputScript 'New-DisasterRecoveryBackup -StoreName M' -cursorColumn 39).CompletionMatches | ForEach-Object CompletionText");
            Assert.Null(r.Terminating);
            Assert.Equal(new[] { "'Mike''s'", "'My Store'" }, r.Output.Select(o => o.ToString()));
            // As PowerShell reads the completed line: one argument, the whole name.
            foreach (var (text, name) in new[] { (r.Output[0].ToString(), "Mike's"), (r.Output[1].ToString(), "My Store") })
            {
                var ast = System.Management.Automation.Language.Parser.ParseInput("New-DisasterRecoveryBackup -StoreName " + text + " -Name n", out _, out var errors);
                Assert.Empty(errors);
                var elements = ((System.Management.Automation.Language.PipelineAst)ast.EndBlock.Statements[0]).PipelineElements[0]
                    .Find(a => a is System.Management.Automation.Language.CommandAst, true) as System.Management.Automation.Language.CommandAst;
                Assert.Equal(5, elements.CommandElements.Count);
                Assert.Equal(name, ((System.Management.Automation.Language.StringConstantExpressionAst)elements.CommandElements[2]).Value);
            }
        }

        [Theory]
        [InlineData("secondary", false, "secondary")]
        [InlineData("secondary", true, "'secondary'")]   // the user began with a quote: kept quoted
        [InlineData("a;b", false, "'a;b'")]
        [InlineData("$x", false, "'$x'")]
        [InlineData("it's", false, "'it''s'")]
        [InlineData("it\u2019s", false, "'it\u2019\u2019s'")]
        [InlineData("-daily", false, "'-daily'")]          // a parameter name otherwise
        [InlineData("\u2013daily", false, "'\u2013daily'")]  // (an en dash starts one too)
        [InlineData("007", false, "'007'")]                // the number 7 otherwise
        [InlineData("1kb", false, "'1kb'")]                // 1024
        [InlineData("0x10", false, "'0x10'")]              // 16
        [InlineData("a\u201Ab", false, "'a\u201A\u201Ab'")]  // a single quote to PowerShell
        [InlineData("nightly-2", false, "nightly-2")]
        [InlineData("a,b", false, "'a,b'")]
        public void Completion_quotes_what_PowerShell_would_split_or_run(string value, bool userQuoted, string expected) =>
            Assert.Equal(expected, BackupTools.Commands.Completion.Quoted(value, userQuoted));

        [Fact]
        public void StoreName_completes_from_the_service()
        {
            var r = _ps.Run(Connect + "(TabExpansion2 -inputScript 'New-DisasterRecoveryBackup -StoreName sec' -cursorColumn 41).CompletionMatches | ForEach-Object CompletionText");
            Assert.Null(r.Terminating);
            Assert.Equal(new[] { "secondary" }, r.Output.Select(o => o.ToString()));
        }
    }
}
