using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>The cmdlets as a PowerShell user meets them, in a real hosted PowerShell 7.6 pipeline, against the simulator.</summary>
    [Collection(TimingCollection.Name)]
    public sealed class CmdletTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;
        private readonly PowerShellHost _ps = new PowerShellHost();
        private const string Secret = "sim-token";

        public CmdletTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _ps.Set("token", TestData.Secure(Secret));
            _ps.Set("taurus", _sim.EndpointFor("TaurusDB").ToString());
            _ps.Set("dds", _sim.EndpointFor("DDS").ToString());
            _ps.Set("project", TestData.ProjectId);
            _ps.Set("ti", TestData.TaurusInstance);
            _ps.Set("di", TestData.DdsInstance);
        }

        public void Dispose() => _ps.Dispose();

        private const string ConnectBoth =
            "$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token;" +
            "$null = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token;";

        [Fact]
        public void Connect_returns_a_connection_and_makes_it_the_default()
        {
            var r = _ps.Run("Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token");
            Assert.Null(r.Terminating);
            var c = Assert.Single(r.Objects<BackupConnection>());
            Assert.Equal("TaurusDB", c.Provider);
            Assert.Equal("AccessToken", c.AuthenticationMethod);
            var job = _ps.Run($"New-InstanceBackup -InstanceId $ti -Name first-backup").Objects<BackupJob>().Single();
            Assert.Equal("TaurusDB", job.Provider);
        }

        [Fact]
        public void New_InstanceBackup_Wait_limits_its_status_reads_by_a_RequestTimeout_it_was_given()
        {
            // A wait's status reads take 30 s by default; a -RequestTimeout given (here shorter) is theirs too. (1.5 s:
            // the create's own request takes up to 0.7 s on a busy machine.)
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", PathContains = "/jobs", Delay = TimeSpan.FromMinutes(10), Times = int.MaxValue });
            var r = _ps.Run(ConnectBoth + "New-InstanceBackup -Provider TaurusDB -InstanceId $ti -Name read-limit -Wait -Timeout 4 -PollingInterval 0.1 -RequestTimeout 1.5 -Verbose",
                TimeSpan.FromSeconds(30));
            Assert.False(r.TimedOut);
            Assert.True(r.Verbose.Any(v => v.Contains("status read failed") && v.Contains("no answer within 1.5 s")), string.Join("\n", r.Verbose));
            Assert.Equal(ErrorIds.BackupJobTimeout, Assert.Single(r.Errors).FullyQualifiedErrorId.Split(',')[0]);
        }

        [Fact]
        public void Backups_on_both_services_flow_through_Wait_BackupJob_to_success()
        {
            var r = _ps.Run(ConnectBoth +
                "@([pscustomobject]@{ Provider='TaurusDB'; InstanceId=$ti; Name='csv-taurus' }," +
                "  [pscustomobject]@{ Provider='DDS'; InstanceId=$di; Name='csv-dds'; Description='from csv' }) |" +
                " New-InstanceBackup | Wait-BackupJob -PollingInterval 0.05 -Timeout 30");
            Assert.Null(r.Terminating);
            Assert.Empty(r.Errors);
            var jobs = r.Objects<BackupJob>().ToList();
            Assert.Equal(2, jobs.Count);
            Assert.All(jobs, j => Assert.Equal(BackupJobState.Succeeded, j.State));
            Assert.Equal(new[] { "DDS", "TaurusDB" }, jobs.Select(j => j.Provider).OrderBy(x => x));
            Assert.Equal(1, _sim.Counters.CreatesFor("DDS", TestData.DdsInstance));
            Assert.Equal(1, _sim.Counters.CreatesFor("TaurusDB", TestData.TaurusInstance));
        }

        [Fact]
        public void Timeout_or_PollingInterval_without_Wait_is_said_to_do_nothing()
        {
            var r = _ps.Run(ConnectBoth + "New-InstanceBackup -Provider DDS -InstanceId $di -Name no-wait-timeout -Timeout 60");
            Assert.Empty(r.Errors);
            Assert.Contains(r.Warnings, w => w.Contains("only with -Wait"));
            Assert.Equal(BackupJobState.Running, Assert.Single(r.Objects<BackupJob>()).State);
            // -Wait:$false (a splat's choice) is no mistake, and says nothing.
            var splat = _ps.Run("$w = @{ Wait = $false; Timeout = 60 }; New-InstanceBackup -Provider DDS -InstanceId $di -Name splat-no-wait @w");
            Assert.Empty(splat.Errors);
            Assert.Empty(splat.Warnings);
            Assert.Single(splat.Objects<BackupJob>());
        }

        /// <summary>
        /// Two DDS connections in the session, as two regions would be: the simulator's DDS by 127.0.0.1 ($a) and by
        /// localhost ($b). Returns the second endpoint.
        /// </summary>
        private string ConnectTwoDds()
        {
            var other = _sim.EndpointFor("DDS").ToString().Replace("127.0.0.1", "localhost");
            _ps.Set("otherDds", other);
            _ps.Run("$a = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token;" +
                "$b = Connect-BackupService -Provider DDS -Endpoint $otherDds -ProjectId $project -AccessToken $token");
            return other;
        }

        [Fact]
        public void A_row_may_carry_its_own_connection()
        {
            // Each row names its own connection, as -Provider alone cannot choose between two.
            var other = ConnectTwoDds();
            var r = _ps.Run("@([pscustomobject]@{ Connection = $a; InstanceId = $di; Name = 'row-conn-a' }, [pscustomobject]@{ Connection = $b; InstanceId = $di; Name = 'row-conn-b' }) | New-InstanceBackup");
            Assert.Empty(r.Errors);
            var jobs = r.Objects<BackupJob>().ToList();
            Assert.Equal(new[] { _sim.EndpointFor("DDS").ToString(), other }, jobs.Select(j => j.Endpoint).ToArray());

            // With -Wait each job is read with the connection its row carried, not the last row's.
            var waited = _ps.Run("@([pscustomobject]@{ Connection = $a; InstanceId = $di; Name = 'row-wait-a' }, [pscustomobject]@{ Connection = $b; InstanceId = $di; Name = 'row-wait-b' }) |" +
                " New-InstanceBackup -Wait -PollingInterval 0.05 -Timeout 30");
            Assert.Empty(waited.Errors);
            Assert.Equal(new[] { "row-wait-a", "row-wait-b" }, waited.Objects<BackupJob>().Where(j => j.State == BackupJobState.Succeeded).Select(j => j.BackupName).OrderBy(n => n, StringComparer.Ordinal));
        }

        [Fact]
        public void A_row_without_a_connection_is_an_error_whose_target_is_that_row()
        {
            _ps.Run("$null = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token");
            var r = _ps.Run("@([pscustomobject]@{ Provider='DDS'; InstanceId=$di; Name='row-ok' }, [pscustomobject]@{ Provider='TaurusDB'; InstanceId=$ti; Name='row-lost' }) |" +
                " New-InstanceBackup -WhatIf");
            var error = Assert.Single(r.Errors);
            Assert.Equal(ErrorIds.ConnectionNotFound, error.FullyQualifiedErrorId.Split(',')[0]);
            var target = Assert.IsType<BackupRequest>(error.TargetObject);
            Assert.Equal("row-lost", target.Name);
        }

        [Fact]
        public void Provider_with_several_connections_to_it_asks_for_Connection_and_an_unknown_one_is_ProviderNotFound()
        {
            ConnectTwoDds();
            var r = _ps.Run("New-InstanceBackup -Provider DDS -InstanceId $di -Name two-dds");
            var error = Assert.Single(r.Errors);
            Assert.Equal(ErrorIds.ConnectionNotFound, error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Contains("Pass -Connection", error.Exception.Message);
            Assert.Equal(0, _sim.Counters.Requests.Count(q => q.Method == "POST"));

            var unknown = _ps.Run("New-InstanceBackup -Provider Foo -InstanceId $di -Name unknown-provider");
            Assert.Equal(ErrorIds.ProviderNotFound, Assert.Single(unknown.Errors).FullyQualifiedErrorId.Split(',')[0]);
        }

        [Fact]
        public void One_job_piped_twice_is_waited_on_and_written_once()
        {
            var r = _ps.Run(ConnectBoth + "$j = New-InstanceBackup -Provider DDS -InstanceId $di -Name twice-piped; $j, $j | Wait-BackupJob -PollingInterval 0.05 -Timeout 30");
            Assert.Empty(r.Errors);
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(r.Objects<BackupJob>()).State);
        }

        [Fact]
        public void An_access_token_given_as_text_is_taken_and_never_shown()
        {
            var r = _ps.Run($"Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken '{Secret}' | Out-Null;" +
                "New-InstanceBackup -InstanceId $di -Name text-token -Verbose");
            Assert.Empty(r.Errors);
            Assert.Single(r.Objects<BackupJob>());
            var transformed = new BackupTools.Commands.SecureStringTransformationAttribute().Transform(null, 12345678);
            Assert.Equal("12345678", new System.Net.NetworkCredential(string.Empty, Assert.IsType<System.Security.SecureString>(transformed)).Password);
            // A number as typed keeps its text: 0012345678 is not 12345678, nor 1kb 1024.
            var typed = _ps.Run("function Show { param([BackupTools.Commands.SecureStringTransformation()] [securestring] $s) [System.Net.NetworkCredential]::new('', $s).Password }; Show 0012345678; Show 1kb");
            Assert.Equal(new[] { "0012345678", "1kb" }, typed.Output.Select(o => o.ToString()).ToArray());
            Assert.Throws<ArgumentTransformationMetadataException>(() => new BackupTools.Commands.SecureStringTransformationAttribute().Transform(null, new[] { 1, 2 }));
        }

        [Fact]
        public void WhatIf_sends_nothing()
        {
            var r = _ps.Run(ConnectBoth + "New-InstanceBackup -Provider DDS -InstanceId $di -Name whatif-run -WhatIf");
            Assert.Null(r.Terminating);
            Assert.Empty(r.Output);
            Assert.Equal(0, _sim.Counters.TotalRequests);
        }

        [Fact]
        public void WhatIf_names_the_endpoint_and_a_backup_the_service_names_itself()
        {
            var host = new CapturingHost();
            using var ps = new PowerShellHost(host);
            ps.Set("token", TestData.Secure(Secret));
            ps.Set("project", TestData.ProjectId);
            ps.Set("di", TestData.DdsInstance);
            ps.Set("dds", _sim.EndpointFor("DDS").ToString());
            ps.Set("cf", _sim.EndpointFor("CloudFoundry").ToString());
            var r = ps.Run("$null = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token;" +
                "$null = Connect-BackupService -Provider CloudFoundry -Endpoint $cf -AccessToken $token;" +
                "New-InstanceBackup -Provider DDS -InstanceId $di -Name whatif-where -WhatIf;" +
                "New-InstanceBackup -Provider CloudFoundry -InstanceId 0b4f2c1a-9d3e-4f5a-8b7c-6d5e4f3a2b1c -WhatIf");
            Assert.Empty(r.Errors);
            var text = host.Text.Replace("\n", string.Empty);
            Assert.Contains($"DDS {_sim.EndpointFor("DDS")}: instance '{TestData.DdsInstance}', backup 'whatif-where'", text);
            Assert.Contains($"CloudFoundry {_sim.EndpointFor("CloudFoundry")}: instance '0b4f2c1a-9d3e-4f5a-8b7c-6d5e4f3a2b1c', backup named by the service", text);
            Assert.DoesNotContain("backup ''", text);
            Assert.DoesNotContain(Secret, text);
            Assert.Equal(0, _sim.Counters.TotalRequests);
        }

        [Fact]
        public void Bad_input_is_an_error_record_naming_the_rule_and_nothing_is_sent()
        {
            var r = _ps.Run(ConnectBoth + "New-InstanceBackup -Provider TaurusDB -InstanceId $ti -Name 'no spaces allowed'");
            var error = Assert.Single(r.Errors);
            Assert.Equal("BackupParameterInvalid,BackupTools.Commands.NewInstanceBackupCommand", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            Assert.Contains("starting with a letter", error.ToString());
            Assert.Equal(0, _sim.Counters.TotalRequests);
        }

        [Fact]
        public void A_failed_job_is_written_and_also_raised_as_an_error_that_try_catch_sees()
        {
            var r = _ps.Run(ConnectBoth +
                "try { New-InstanceBackup -Provider TaurusDB -InstanceId $ti -Name fail-on-purpose | Wait-BackupJob -PollingInterval 0.05 -ErrorAction Stop } " +
                "catch { $caught = $_ }; $caught");
            var caught = r.Output.Select(o => o.BaseObject).OfType<ErrorRecord>().Single();
            Assert.Equal("BackupJobFailed,BackupTools.Commands.WaitBackupJobCommand", caught.FullyQualifiedErrorId);
            var ex = Assert.IsType<BackupToolsException>(caught.Exception);
            Assert.Equal("TaurusDB", ex.Provider);
            var job = Assert.IsType<BackupJob>(caught.TargetObject);
            Assert.Equal(BackupJobState.Failed, job.State);
        }

        [Fact]
        public void A_timeout_writes_the_job_and_a_timeout_error()
        {
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            var r = _ps.Run(ConnectBoth + "New-InstanceBackup -Provider DDS -InstanceId $di -Name long-runner | Wait-BackupJob -Timeout 0.5 -PollingInterval 0.05");
            var job = Assert.Single(r.Objects<BackupJob>());
            Assert.Equal(BackupJobState.Running, job.State);
            var error = Assert.Single(r.Errors);
            Assert.StartsWith("BackupJobTimeout,", error.FullyQualifiedErrorId);
            Assert.Same(job, error.TargetObject);
        }

        [Fact]
        public void A_negative_timeout_is_refused_before_anything_is_read_and_minus_one_means_no_limit()
        {
            // -Timeout -5 timed every job out at once; -1 is "forever" in Wait-Job and Wait-Process.
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            var job = _ps.Run(ConnectBoth + "New-InstanceBackup -Provider DDS -InstanceId $di -Name negative-timeout").Objects<BackupJob>().Single();
            _ps.Set("negjob", job);
            var reads = _sim.Counters.TotalRequests;
            var refused = _ps.Run("$negjob | Wait-BackupJob -Timeout -5 -PollingInterval 0.05");
            // (A statement-terminating error: the script goes on, the error is in the error stream.)
            var error = Assert.Single(refused.Errors);
            Assert.StartsWith("BackupParameterInvalid,", error.FullyQualifiedErrorId);
            Assert.Contains("-1 for no limit", error.ToString());
            Assert.Equal(reads, _sim.Counters.TotalRequests);
            Assert.Empty(refused.Output);

            var forever = _ps.Run("$negjob | Wait-BackupJob -Timeout -1 -PollingInterval 0.05");
            Assert.Empty(forever.Errors);
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(forever.Objects<BackupJob>()).State);
            var created = _ps.Run(ConnectBoth + "New-InstanceBackup -Provider DDS -InstanceId $di -Name negative-timeout-wait -Wait -Timeout -1 -PollingInterval 0.05");
            Assert.Empty(created.Errors);
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(created.Objects<BackupJob>()).State);
        }

        [Fact]
        public void A_job_serialized_as_clixml_can_be_waited_on_again()
        {
            var created = _ps.Run(ConnectBoth + "New-InstanceBackup -Provider TaurusDB -InstanceId $ti -Name saved-job").Objects<BackupJob>().Single();
            // What Export-Clixml writes and Import-Clixml reads in another process.
            var xml = PSSerializer.Serialize(created);
            var deserialized = PSSerializer.Deserialize(xml);
            Assert.IsNotType<BackupJob>(((PSObject)deserialized).BaseObject);
            _ps.Set("saved", deserialized);
            var r = _ps.Run("$saved | Wait-BackupJob -PollingInterval 0.05 -Timeout 30");
            Assert.Empty(r.Errors);
            var job = Assert.Single(r.Objects<BackupJob>());
            Assert.Equal(created.JobId, job.JobId);
            Assert.Equal(BackupJobState.Succeeded, job.State);
        }

        [Fact]
        public void A_job_saved_with_Export_Clixml_keeps_its_times()
        {
            // Export-Clixml writes depth 2 (this engine has no Export-Clixml: the serializer it uses, at that depth),
            // where a DateTimeOffset is a bag of its properties; depth 1 writes text.
            var old = new BackupJob("TaurusDB", _sim.EndpointFor("TaurusDB").ToString(), "job-from-2024", createdAt: new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.FromHours(8)),
                instanceId: TestData.TaurusInstance, backupName: "saved-long-ago");
            var saved = PSSerializer.Deserialize(PSSerializer.Serialize(old, 2));
            Assert.IsNotType<BackupJob>(((PSObject)saved).BaseObject);
            _ps.Set("saved", saved);
            // A job the service has long forgotten: reported not found (with its own times), not as one just starting.
            var r = _ps.Run(ConnectBoth + "$saved | Get-BackupJob");
            var error = Assert.Single(r.Errors);
            Assert.StartsWith("BackupJobNotFound,", error.FullyQualifiedErrorId);
            Assert.Equal(old.CreatedAt, Assert.IsType<BackupJob>(error.TargetObject).CreatedAt);
            Assert.Empty(r.Objects<BackupJob>());
        }

        /// <summary>
        /// A runbook that loops over two projects of one region: both connections stay in the session, new backups go
        /// to the project connected last, and Wait-BackupJob reads each job with its own project's connection.
        /// </summary>
        [Fact]
        public void Jobs_of_two_projects_in_one_region_are_each_followed_with_their_own_connection()
        {
            _ps.Set("projectB", "fedcba9876543210fedcba9876543210");
            var r = _ps.Run(
                "$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token;" +
                "$a = New-InstanceBackup -InstanceId $ti -Name project-a;" +
                "$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $projectB -AccessToken $token;" +
                "$b = New-InstanceBackup -InstanceId $ti -Name project-b;" +
                // Project A's job as a trimmed CSV row gives it back (no status URL): read at its own project's address.
                "$a = [pscustomobject]@{ Provider = $a.Provider; Endpoint = $a.Endpoint; JobId = $a.JobId; Scope = $a.Scope; InstanceId = $a.InstanceId; BackupName = $a.BackupName; CreatedAt = $a.CreatedAt };" +
                "$a, $b | Wait-BackupJob -PollingInterval 0.05 -Timeout 10");
            Assert.Null(r.Terminating);
            Assert.Empty(r.Errors);
            var jobs = r.Objects<BackupJob>().ToList();
            Assert.Equal(2, jobs.Count);
            Assert.All(jobs, j => Assert.Equal(BackupJobState.Succeeded, j.State));
            Assert.Equal(TestData.ProjectId, jobs.Single(j => j.BackupName == "project-a").Scope);
            Assert.Equal("fedcba9876543210fedcba9876543210", jobs.Single(j => j.BackupName == "project-b").Scope);
        }

        [Fact]
        public void Get_BackupJob_refreshes_a_job_once()
        {
            var r = _ps.Run(ConnectBoth + "$j = New-InstanceBackup -Provider TaurusDB -InstanceId $ti -Name refresh-me; [System.Threading.Thread]::Sleep(600); $j | Get-BackupJob");
            Assert.Empty(r.Errors);
            var jobs = r.Objects<BackupJob>().ToList();
            Assert.Equal(BackupJobState.Succeeded, jobs.Last().State);
            Assert.Equal(1, _sim.Counters.StatusReadsFor("TaurusDB", jobs.Last().JobId));
        }

        [Fact]
        public void Verbose_shows_http_calls_and_no_output_shows_the_token()
        {
            var r = _ps.Run(ConnectBoth + "New-InstanceBackup -Provider DDS -InstanceId $di -Name verbose-run -Verbose | Wait-BackupJob -PollingInterval 0.05 -Verbose");
            Assert.Contains(r.Verbose, v => v.StartsWith("HTTP POST "));
            Assert.Contains(r.Verbose, v => v.StartsWith("HTTP GET "));
            Assert.DoesNotContain(Secret, r.AllText());
            var connections = _ps.Run("Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token");
            var c = connections.Output.Single();
            Assert.DoesNotContain(Secret, PSSerializer.Serialize(c));
            Assert.DoesNotContain(Secret, c.ToString());
        }

        [Theory]
        [InlineData("$VerbosePreference = 'Continue'; ", "", true)]                       // a string preference, as scripts set it
        [InlineData("$VerbosePreference = 'Continue'; ", " -Verbose:$false", false)]       // the switch wins over the preference
        [InlineData("", "", false)]
        [InlineData("function Invoke-Nightly {\n[CmdletBinding()] param()\n", "\n}\nInvoke-Nightly -Verbose", true)] // a caller's -Verbose
        public void Verbose_lines_follow_the_switch_and_the_preference_the_command_sees(string before, string after, bool shown)
        {
            var name = "pref-" + Guid.NewGuid().ToString("N").Substring(0, 8);
            // (in a script block of its own, so the preference set here does not outlive the test in the shared runspace)
            var r = _ps.Run("& {\n" + ConnectBoth + before + $"New-InstanceBackup -Provider DDS -InstanceId $di -Name {name}" + after + "\n}");
            Assert.Empty(r.Errors);
            Assert.Equal(shown, r.Verbose.Any(v => v.StartsWith("HTTP POST ")));
        }

        [Fact]
        public void Without_a_connection_the_error_says_what_to_do()
        {
            var r = _ps.Run("New-InstanceBackup -InstanceId $ti -Name lonely");
            var error = Assert.Single(r.Errors);
            Assert.StartsWith("ConnectionNotFound,", error.FullyQualifiedErrorId);
            Assert.Contains("Connect-BackupService", error.ToString());
        }

        [Fact]
        public void Plain_http_to_a_remote_host_is_refused_before_any_connection()
        {
            var r = _ps.Run("Connect-BackupService -Provider DDS -Endpoint http://dds.eu-de.otc.t-systems.com -ProjectId $project -AccessToken $token");
            // ThrowTerminatingError ends the statement; in a script the record lands in the error stream.
            var record = r.Terminating != null ? ((IContainsErrorRecord)r.Terminating).ErrorRecord : Assert.Single(r.Errors);
            Assert.StartsWith("ConnectionEndpointInvalid,", record.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.SecurityError, record.CategoryInfo.Category);
        }

        [Fact]
        public void A_region_maps_to_the_documented_endpoint()
        {
            var r = _ps.Run("Connect-BackupService -Provider DDS -Region eu-de -ProjectId $project -AccessToken $token");
            Assert.Equal(new Uri("https://dds.eu-de.otc.t-systems.com/"), Assert.Single(r.Objects<BackupConnection>()).Endpoint);
        }

        [Fact]
        public void Connections_in_another_runspace_are_not_shared()
        {
            _ps.Run(ConnectBoth);
            using var other = new PowerShellHost();
            other.Set("ti", TestData.TaurusInstance);
            var r = other.Run("New-InstanceBackup -InstanceId $ti -Name other-runspace");
            Assert.StartsWith("ConnectionNotFound,", Assert.Single(r.Errors).FullyQualifiedErrorId);
        }

        [Fact]
        public void Get_BackupProvider_lists_the_table_and_completes_names()
        {
            var r = _ps.Run("Get-BackupProvider");
            var names = r.Objects<BackupProviderInfo>().Select(p => p.Name).ToList();
            Assert.Contains("TaurusDB", names);
            Assert.Contains("DDS", names);
            static string Complete(string input) => $"(TabExpansion2 -inputScript '{input}' -cursorColumn {input.Length}).CompletionMatches.CompletionText";
            var completion = _ps.Run(Complete("Connect-BackupService -Provider Tau"));
            Assert.Contains("TaurusDB", completion.Output.Select(o => o.ToString()));
            var regions = _ps.Run(Complete("Connect-BackupService -Provider DDS -Region eu-"));
            Assert.Equal(new[] { "eu-ch2", "eu-de", "eu-nl" }, regions.Output.Select(o => o.ToString()).OrderBy(x => x));
        }

        [Fact]
        public void Get_BackupProvider_takes_a_connection_a_job_or_a_row_by_its_Provider_property()
        {
            var r = _ps.Run("$c = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token;" +
                "$j = [BackupTools.BackupJob]::new('TaurusDB', 'https://example.invalid/', 'job-1');" +
                "$c | Get-BackupProvider; $j | Get-BackupProvider; [pscustomobject]@{ Provider = 'Dataverse' } | Get-BackupProvider;" +
                "Get-BackupProvider -Provider Cloud*; Get-BackupProvider ArcGIS | Get-BackupProvider");
            Assert.Empty(r.Errors);
            Assert.Equal(new[] { "DDS", "TaurusDB", "Dataverse", "CloudFoundry", "ArcGIS" }, r.Objects<BackupProviderInfo>().Select(p => p.Name).ToArray());
        }

        /// <summary>
        /// Before: in tr-TR, where 'i' is not the lower case of 'I', a name or pattern with an i in other case than ArcGIS's
        /// selected nothing, without an error (the name check is ordinal; the wildcard compared in the session's culture).
        /// </summary>
        [Theory]
        [InlineData("arcgis")]
        [InlineData("ARCGIS")]
        [InlineData("*gis")]
        [InlineData("?RCG?S")]
        [InlineData("arc[g]is")]
        public void Get_BackupProvider_matches_names_the_same_in_a_Turkish_session(string name)
        {
            _ps.Set("name", name);
            var r = _ps.Run(
                "$old = [System.Threading.Thread]::CurrentThread.CurrentCulture;" +
                "[System.Threading.Thread]::CurrentThread.CurrentCulture = 'tr-TR';" +
                "try { Get-BackupProvider -Name $name; [pscustomobject]@{ Provider = $name } | Get-BackupProvider;" +
                "  (TabExpansion2 -inputScript 'Connect-BackupService -Provider arc' -cursorColumn 35).CompletionMatches.CompletionText }" +
                "finally { [System.Threading.Thread]::CurrentThread.CurrentCulture = $old }");
            Assert.Null(r.Terminating);
            Assert.Empty(r.Errors);
            Assert.Equal(new[] { "ArcGIS", "ArcGIS" }, r.Objects<BackupProviderInfo>().Select(p => p.Name).ToArray());
            Assert.Equal("ArcGIS", Assert.Single(r.Output, o => o.BaseObject is string).BaseObject);
        }

        [Fact]
        public void Provider_completion_of_a_creating_cmdlet_offers_only_providers_of_its_kind_of_backup()
        {
            string[] Complete(string input) =>
                _ps.Run($"(TabExpansion2 -inputScript '{input}' -cursorColumn {input.Length}).CompletionMatches.CompletionText")
                    .Output.Select(o => o.ToString()).OrderBy(x => x, StringComparer.OrdinalIgnoreCase).ToArray();
            string[] Offering(BackupKind kind) =>
                BackupService.Providers.Where(p => p.Kinds.Contains(kind)).Select(p => p.Name).OrderBy(x => x, StringComparer.OrdinalIgnoreCase).ToArray();
            Assert.Equal(Offering(BackupKind.Instance), Complete("New-InstanceBackup -Provider "));
            Assert.DoesNotContain("ArcGIS", Complete("New-InstanceBackup -Provider "));
            Assert.Equal(new[] { "ArcGIS" }, Complete("New-DisasterRecoveryBackup -Provider "));
            Assert.Equal(new[] { "ArcGIS" }, Complete("BackupTools\\New-DisasterRecoveryBackup -Provider "));
            Assert.Equal(new[] { "Dataverse", "DDS" }, Complete("New-InstanceBackup -Provider D"));
            // The other cmdlets still offer every provider.
            Assert.Equal(BackupService.ProviderNames.Count(), Complete("Connect-BackupService -Provider ").Length);
            Assert.Equal(BackupService.ProviderNames.Count(), Complete("Get-BackupProvider ").Length);
            // Get-BackupProvider takes wildcards, and a pattern typed there completes as PowerShell's own completers do
            // (Get-Process -Name *sh): it offered nothing.
            Assert.Equal(new[] { "TaurusDB" }, Complete("Get-BackupProvider -Name *DB"));
            Assert.Equal(new[] { "CloudFoundry" }, Complete("Get-BackupProvider -Provider *found"));
            Assert.Equal(new[] { "ArcGIS" }, Complete("Get-BackupProvider Arc?I"));
            Assert.Equal(0, _ps.Run("(TabExpansion2 -inputScript 'Get-BackupProvider -Name DDS[' -cursorColumn 29).CompletionMatches.Count").Output.Single().BaseObject);
        }

        [Fact]
        public void The_SkipCertificateCheck_warning_names_what_the_connection_would_expose()
        {
            string Warning(string connect)
            {
                var r = _ps.Run("$null = Connect-BackupService " + connect + " -SkipCertificateCheck");
                Assert.Empty(r.Errors);
                return Assert.Single(r.Warnings);
            }
            var token = Warning("-Provider Dataverse -Region crm4 -AccessToken $token");
            Assert.Contains("https://admin.services.crm4.dynamics.com/", token);
            Assert.Contains("could read the token", token);
            Assert.DoesNotContain("password", token);
            Assert.DoesNotContain("signs in", token);
            var key = Warning("-Provider DDS -Region eu-de -ProjectId $project -AccessKeyId AK -SecretAccessKey $token");
            Assert.DoesNotContain("password", key);
            Assert.DoesNotContain("signs in", key);
            Assert.Contains("secret access key is not sent", key);
            var password = Warning("-Provider DDS -Region eu-de -ProjectId $project -Credential ([pscredential]::new('user', $token))");
            Assert.Contains("signs in", password);
            Assert.Contains("password", password);
            var client = Warning("-Provider CloudFoundry -Endpoint https://api.sys.example.com -ClientId bot -ClientSecret $token");
            Assert.Contains("client secret", client);
            Assert.DoesNotContain("password", client);
        }

        [Fact]
        public void Progress_has_a_parent_and_ends_with_completed_records()
        {
            // Long enough that a busy test host still reads the job while it runs.
            _sim.Options.JobDuration = TimeSpan.FromSeconds(3);
            var r = _ps.Run(ConnectBoth + "$ProgressPreference = 'Continue'; New-InstanceBackup -Provider TaurusDB -InstanceId $ti -Name progress-run | Wait-BackupJob -PollingInterval 0.05");
            Assert.NotEmpty(r.Progress);
            var parentId = r.Progress.First(p => p.ParentActivityId < 0).ActivityId;
            Assert.Contains(r.Progress, p => p.ParentActivityId == parentId);
            Assert.Equal(ProgressRecordType.Completed, r.Progress.Last().RecordType);
            var silent = _ps.Run("$ProgressPreference = 'SilentlyContinue'; New-InstanceBackup -Provider TaurusDB -InstanceId $ti -Name silent-run | Wait-BackupJob -PollingInterval 0.05");
            Assert.Empty(silent.Progress);
        }

        [Fact]
        public void ThrottleLimit_sends_creates_concurrently_and_writes_every_job_once()
        {
            // Every create takes 200 ms on the service: 20 of them one after another take at least 4 s.
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "POST", Delay = TimeSpan.FromMilliseconds(200), Times = int.MaxValue });
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var r = _ps.Run(ConnectBoth +
                "0..19 | ForEach-Object { [pscustomobject]@{ Provider = 'TaurusDB'; InstanceId = ('{0:x32}in07' -f $_); Name = ('many-{0:d3}' -f $_) } } |" +
                " New-InstanceBackup -ThrottleLimit 8");
            watch.Stop();
            Assert.Empty(r.Errors);
            var jobs = r.Objects<BackupJob>().ToList();
            Assert.Equal(20, jobs.Count);
            Assert.Equal(20, jobs.Select(j => j.BackupName).Distinct().Count());
            for (var i = 0; i < 20; i++)
                Assert.Equal(1, _sim.Counters.CreatesFor("TaurusDB", i.ToString("x32") + "in07"));
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3.5), $"20 creates of 200 ms took {watch.Elapsed.TotalSeconds:0.0} s: they were not concurrent");
        }

        [Fact]
        public void ThrottleLimit_with_a_bad_item_writes_its_error_and_goes_on()
        {
            var r = _ps.Run(ConnectBoth +
                "@([pscustomobject]@{ Provider='TaurusDB'; InstanceId=$ti; Name='good-one' }, [pscustomobject]@{ Provider='TaurusDB'; InstanceId=$ti; Name='1bad' }," +
                "  [pscustomobject]@{ Provider='TaurusDB'; InstanceId=$ti; Name='good-two' }) | New-InstanceBackup -ThrottleLimit 4 -Wait -PollingInterval 0.05");
            Assert.StartsWith("BackupParameterInvalid,", Assert.Single(r.Errors).FullyQualifiedErrorId);
            Assert.Equal(new[] { "good-one", "good-two" }, r.Objects<BackupJob>().Select(j => j.BackupName).OrderBy(x => x));
            Assert.All(r.Objects<BackupJob>(), j => Assert.Equal(BackupJobState.Succeeded, j.State));
        }

        [Theory]
        [InlineData(1)]
        [InlineData(4)]
        public void An_error_that_stops_New_InstanceBackup_Wait_first_writes_the_jobs_it_started(int throttle)
        {
            // Row 2 breaks a rule under -ErrorAction Stop: row 1's backup was started (its create delayed, so with a
            // throttle limit it is still in flight); its job must reach the pipeline before the command stops.
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "POST", Delay = TimeSpan.FromMilliseconds(300), Times = 1 });
            var r = _ps.Run(ConnectBoth +
                "$out = [System.Collections.Generic.List[object]]::new(); try { " +
                "@([pscustomobject]@{ Provider='TaurusDB'; InstanceId=$ti; Name='kept-one' }, [pscustomobject]@{ Provider='TaurusDB'; InstanceId=$ti; Name='1bad' }," +
                "  [pscustomobject]@{ Provider='TaurusDB'; InstanceId=$ti; Name='never-sent' }) |" +
                $" New-InstanceBackup -Wait -PollingInterval 0.05 -ThrottleLimit {throttle} -ErrorAction Stop | ForEach-Object {{ $out.Add($_) }} }} " +
                "catch { $caught = $_ }; $out; $caught");
            Assert.Null(r.Terminating);
            var caught = r.Output.Select(o => o.BaseObject).OfType<ErrorRecord>().Single();
            Assert.StartsWith("BackupParameterInvalid,", caught.FullyQualifiedErrorId);
            var job = Assert.Single(r.Objects<BackupJob>());
            Assert.Equal("kept-one", job.BackupName);
            Assert.Equal(1, _sim.Counters.CreatesFor("TaurusDB", TestData.TaurusInstance));
        }

        [Fact]
        public void With_Any_a_failed_first_job_that_stops_Wait_BackupJob_is_the_only_job_written()
        {
            var r = WaitStoppedByAFailedJob("fail-first", "slow-other", "-Any");
            Assert.StartsWith("BackupJobFailed,", r.Output.Select(o => o.BaseObject).OfType<ErrorRecord>().Single().FullyQualifiedErrorId);
            Assert.Equal("fail-first", Assert.Single(r.Objects<BackupJob>()).BackupName);
        }

        [Theory]
        [InlineData("New-InstanceBackup -Provider TaurusDB -InstanceId $ti -Name never-started -Wait -PollingInterval 0")]
        [InlineData("New-InstanceBackup -Provider TaurusDB -InstanceId $ti -Name never-started -Wait -PollingInterval ([timespan]::FromDays(2))")]
        public void A_bad_polling_interval_with_Wait_ends_the_command_before_any_backup_is_started(string command)
        {
            // (A two-day interval once meant a create, then a first status read two days later: a limit of our own.)
            var run = System.Threading.Tasks.Task.Run(() => _ps.Run(ConnectBoth + command + "; 'after'"));
            Assert.True(run.Wait(TimeSpan.FromSeconds(60)), "the command did not end");
            var r = run.Result;
            // A terminating error of the command: the statement ends, the script goes on.
            var error = Assert.Single(r.Errors);
            Assert.StartsWith("BackupParameterInvalid,", error.FullyQualifiedErrorId);
            Assert.Contains("Nothing was sent", error.ToString());
            Assert.Equal("after", Assert.Single(r.Output).BaseObject);
            Assert.Empty(_sim.Counters.Requests);
        }

        [Fact]
        public void A_timeout_beyond_what_a_timer_takes_is_no_limit()
        {
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(200);
            // (Before, the timer refused such a timeout and the command hung: run with a limit of our own.)
            var run = System.Threading.Tasks.Task.Run(() =>
                _ps.Run(ConnectBoth + "New-InstanceBackup -Provider DDS -InstanceId $di -Name long-timeout -Wait -PollingInterval 0.05 -Timeout ([timespan]::FromDays(60))"));
            Assert.True(run.Wait(TimeSpan.FromSeconds(60)), "the wait did not end");
            var r = run.Result;
            Assert.Null(r.Terminating);
            Assert.Empty(r.Errors);
            Assert.Equal(BackupJobState.Succeeded, Assert.Single(r.Objects<BackupJob>()).State);
        }

        [Fact]
        public void An_error_that_stops_a_throttled_New_InstanceBackup_first_writes_the_creates_in_flight()
        {
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "POST", Delay = TimeSpan.FromMilliseconds(300), Times = 1 });
            var r = _ps.Run(ConnectBoth +
                "$out = [System.Collections.Generic.List[object]]::new(); try { " +
                "@([pscustomobject]@{ Provider='TaurusDB'; InstanceId=$ti; Name='in-flight' }, [pscustomobject]@{ Provider='TaurusDB'; InstanceId=$ti; Name='1bad' }) |" +
                " New-InstanceBackup -ThrottleLimit 4 -ErrorAction Stop | ForEach-Object { $out.Add($_) } } catch { $caught = $_ }; $out; $caught");
            Assert.StartsWith("BackupParameterInvalid,", r.Output.Select(o => o.BaseObject).OfType<ErrorRecord>().Single().FullyQualifiedErrorId);
            Assert.Equal("in-flight", Assert.Single(r.Objects<BackupJob>()).BackupName);
        }

        /// <summary>
        /// A TaurusDB job that fails within 200 ms and a DDS job of 5 minutes, waited with -ErrorAction Stop (and the
        /// given switches); what reached the pipeline before the stop, then the caught error.
        /// </summary>
        private PowerShellHost.Result WaitStoppedByAFailedJob(string failingName, string slowName, string switches = "")
        {
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(200);
            var failing = _ps.Run(ConnectBoth + $"New-InstanceBackup -Provider TaurusDB -InstanceId $ti -Name {failingName}");
            _sim.Options.JobDuration = TimeSpan.FromMinutes(5);
            var slow = _ps.Run(ConnectBoth + $"New-InstanceBackup -Provider DDS -InstanceId $di -Name {slowName}");
            _ps.Set("jobs", new[] { Assert.Single(failing.Objects<BackupJob>()), Assert.Single(slow.Objects<BackupJob>()) });
            return _ps.Run(ConnectBoth +
                $"$out = [System.Collections.Generic.List[object]]::new(); try {{ $jobs | Wait-BackupJob {switches} -PollingInterval 0.05 -Timeout 30 -ErrorAction Stop |" +
                " ForEach-Object { $out.Add($_) } } catch { $caught = $_ }; $out; $caught");
        }

        [Fact]
        public void When_a_failed_job_stops_Wait_BackupJob_the_unfinished_ones_are_written_first()
        {
            var r = WaitStoppedByAFailedJob("fail-quickly", "slow-one");
            Assert.StartsWith("BackupJobFailed,", r.Output.Select(o => o.BaseObject).OfType<ErrorRecord>().Single().FullyQualifiedErrorId);
            var written = r.Objects<BackupJob>().ToList();
            Assert.Equal(2, written.Count);
            Assert.Equal(BackupJobState.Failed, written.Single(j => j.BackupName == "fail-quickly").State);
            Assert.Equal(BackupJobState.Running, written.Single(j => j.BackupName == "slow-one").State);
        }

        [Theory]
        [InlineData(0, 1)]
        [InlineData(2, 3)]
        public void BusyRetryCount_limits_the_repeats_of_a_create_the_service_calls_busy(int retries, int posts)
        {
            _sim.Faults.Add(new FaultRule { Provider = "DDS", Method = "POST", StatusCode = 409, Times = int.MaxValue,
                Body = "{\"error_code\":\"DBS.201015\",\"error_msg\":\"Another operation is in progress.\"}" });
            // Retry pauses start at 2 s; with 2 repeats the run takes about 6 s.
            var r = _ps.Run(ConnectBoth + $"New-InstanceBackup -Provider DDS -InstanceId $di -Name busy-run -BusyRetryCount {retries}");
            var error = Assert.Single(r.Errors);
            Assert.StartsWith("BackupServiceError,", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ResourceBusy, error.CategoryInfo.Category);
            Assert.Equal(posts, _sim.Counters.Requests.Count(q => q.Method == "POST"));
        }
    }
}
