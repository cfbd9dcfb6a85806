using System;
using System.Linq;
using System.Management.Automation;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// How the cmdlets bind what they are given (a piped connection, saved connections, CSV and JSON rows), in the hosted
    /// PowerShell 7.6 engine against the simulator: each binding either does what the help says or is refused by a rule
    /// of the module's catalogue, before anything is sent.
    /// </summary>
    public sealed class ParameterBindingTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const string ProjectB = "fedcba9876543210fedcba9876543210";
        private readonly BackupSimulator _sim;
        private readonly PowerShellHost _ps;

        public ParameterBindingTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _ps = TestData.HostedSession(_sim);
        }

        public void Dispose() => _ps.Dispose();

        private int Creates() => _sim.Counters.Requests.Count(q => q.Method == "POST" &&
            (q.Path.EndsWith("/backups", StringComparison.Ordinal) || q.Path.EndsWith("/create", StringComparison.Ordinal)));

        private static string IdOf(ErrorRecord error) => error.FullyQualifiedErrorId.Split(',')[0];

        /// <summary>
        /// Before: only the piped connection's Provider property bound; the backup went to the project connected last,
        /// with its credential, and with connections at two endpoints the command asked for -Connection.
        /// </summary>
        [Fact]
        public void A_piped_connection_is_the_one_used()
        {
            var r = _ps.Run(
                "$a = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token;" +
                "$b = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $projectB -AccessToken $token;" +
                "$a | New-InstanceBackup -InstanceId $di -Name piped-a");
            Assert.Null(r.Terminating);
            Assert.Empty(r.Errors);
            Assert.Equal(TestData.ProjectId, Assert.Single(r.Objects<BackupJob>()).Scope);

            var two = _ps.Run(
                "$c = Connect-BackupService -Provider DDS -Endpoint $otherDds -ProjectId $project -AccessToken $token;" +
                "$c | New-InstanceBackup -InstanceId $di -Name piped-c; $a | New-InstanceBackup -InstanceId $di -Name piped-a2");
            Assert.Null(two.Terminating);
            Assert.Empty(two.Errors);
            Assert.Equal(new[] { _sim.EndpointFor("DDS").ToString().Replace("127.0.0.1", "localhost"), _sim.EndpointFor("DDS").ToString() },
                two.Objects<BackupJob>().Select(j => j.Endpoint).ToArray());

            // New-DisasterRecoveryBackup shares the binding: two ArcGIS deployments, the piped one is used.
            var dr = _ps.Run(
                "$g = Connect-BackupService -Provider ArcGIS -Endpoint $arcgis -AccessToken $token;" +
                "$h = Connect-BackupService -Provider ArcGIS -Endpoint $otherArcgis -AccessToken $token;" +
                "$h | New-DisasterRecoveryBackup -Name piped-h -Passcode $pass");
            Assert.Null(dr.Terminating);
            Assert.Empty(dr.Errors);
            Assert.Equal(_sim.EndpointFor("ArcGIS").ToString().Replace("127.0.0.1", "localhost"), Assert.Single(dr.Objects<BackupJob>()).Endpoint);
        }

        /// <summary>Rows and jobs piped bind by property name as before; a saved connection piped is refused with the reason.</summary>
        [Fact]
        public void Rows_and_jobs_still_bind_by_property_name_and_a_saved_connection_piped_is_refused_with_the_reason()
        {
            var r = _ps.Run(
                "$a = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token;" +
                "$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token;" +
                "$j = [pscustomobject]@{ Provider = 'DDS'; InstanceId = $di; Name = 'row-1' } | New-InstanceBackup;" +
                "$j; $j | New-InstanceBackup -Name again-1;" +
                "[pscustomobject]@{ Connection = $a; InstanceId = $di; Name = 'row-2' } | New-InstanceBackup");
            Assert.Null(r.Terminating);
            Assert.Empty(r.Errors);
            Assert.Equal(new[] { "row-1", "again-1", "row-2" }, r.Objects<BackupJob>().Select(j => j.BackupName).ToArray());
            Assert.All(r.Objects<BackupJob>(), j => Assert.Equal("DDS", j.Provider));

            var before = Creates();
            var saved = _ps.Run(
                "$s = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($a));" +
                "$s | New-InstanceBackup -InstanceId $di -Name saved-1;" +
                "[pscustomobject]@{ Connection = $s; InstanceId = $di; Name = 'saved-2' } | New-InstanceBackup;" +
                // A connection read back from JSON keeps only its properties.
                "[pscustomobject]@{ Provider = 'DDS'; Endpoint = $dds; Scope = $project; AuthenticationMethod = 'AccessToken' } | New-InstanceBackup -InstanceId $di -Name saved-3");
            Assert.Equal(3, saved.Errors.Count);
            Assert.All(saved.Errors, e => Assert.Contains("holds no credential", e.Exception.Message));
            Assert.Equal(before, Creates());
        }

        /// <summary>Before: the binder's generic "Cannot convert … Deserialized.BackupTools.BackupConnection", not the reason.</summary>
        [Theory]
        [InlineData("Wait-BackupJob -PollingInterval 0.05 -Timeout 30")]
        [InlineData("Get-BackupJob")]
        public void A_saved_connection_given_to_read_jobs_is_refused_with_the_reason(string command)
        {
            _ps.Run("$a = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token;" +
                    "$j = New-InstanceBackup -InstanceId $di -Name read-with-saved;" +
                    "$s = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize($a))");
            var r = _ps.Run("$j | " + command + " -Connection $s");
            var error = r.Terminating?.ErrorRecord ?? Assert.Single(r.Errors);
            Assert.Equal("ParameterArgumentTransformationError", IdOf(error));
            Assert.Contains("holds no credential", error.Exception.Message);
            Assert.Empty(r.Objects<BackupJob>());
        }

        /// <summary>
        /// Before: a row with both retentions (or both on the command line) gave the binder's AmbiguousParameterSet, and a
        /// null retention (a ConvertFrom-Json row) ParameterArgumentValidationErrorNullNotAllowed, though '' was taken.
        /// </summary>
        [Fact]
        public void Both_retentions_are_refused_by_the_rule_and_a_null_retention_is_not_given()
        {
            const string connect = "$null = Connect-BackupService -Provider ArcGIS -Endpoint $arcgis -AccessToken $token;";
            var r = _ps.Run(connect +
                "@([pscustomobject]@{ Name = 'dr-both'; RetentionDate = '2099-12-31'; RetentionPeriod = '30' }," +
                "  [pscustomobject]@{ Name = 'dr-null-period'; RetentionPeriod = $null }," +
                "  [pscustomobject]@{ Name = 'dr-null-date'; RetentionDate = $null; RetentionPeriod = 7 }," +
                "  [pscustomobject]@{ Name = 'dr-empty'; RetentionDate = ''; RetentionPeriod = '' }) | New-DisasterRecoveryBackup -Passcode $pass");
            Assert.Null(r.Terminating);
            var error = Assert.Single(r.Errors);
            Assert.Equal(ErrorIds.BackupParameterInvalid, IdOf(error));
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            Assert.Contains("Give -RetentionDate or -RetentionPeriod, not both", error.Exception.Message);
            Assert.Contains("Nothing was sent", error.Exception.Message);
            Assert.Equal(new[] { "dr-null-period", "dr-null-date", "dr-empty" }, r.Objects<BackupJob>().Select(j => j.BackupName).ToArray());
            var bodies = _sim.Counters.Requests.Where(q => q.Method == "POST" && q.Path.EndsWith("/create", StringComparison.Ordinal)).Select(q => q.Body).ToList();
            Assert.Equal(3, bodies.Count);
            Assert.DoesNotContain(bodies, b => b.Contains("dr-both", StringComparison.Ordinal));
            Assert.DoesNotContain("retentionDate=", bodies.Single(b => b.Contains("dr-null-period", StringComparison.Ordinal)));
            Assert.Contains("retentionDate=", bodies.Single(b => b.Contains("dr-null-date", StringComparison.Ordinal)));
            Assert.DoesNotContain("retentionDate=", bodies.Single(b => b.Contains("dr-empty", StringComparison.Ordinal)));

            var line = _ps.Run(connect + "New-DisasterRecoveryBackup -Name dr-line -Passcode $pass -RetentionDate 2099-12-31 -RetentionPeriod 30");
            Assert.Null(line.Terminating);
            Assert.Contains("not both", Assert.Single(line.Errors).Exception.Message);
            Assert.Equal(3, Creates());
        }

        /// <summary>
        /// Before: [ValidateNotNullOrEmpty] refused an empty or null InstanceId (DR: Name) in the binder with
        /// ParameterArgumentValidationError (InvalidData), outside the error catalogue about_BackupTools promises.
        /// </summary>
        [Fact]
        public void An_empty_InstanceId_or_disaster_recovery_Name_is_BackupParameterInvalid_and_other_rows_go_on()
        {
            var r = _ps.Run("$null = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token;" +
                "@([pscustomobject]@{ InstanceId = ''; Name = 'empty-id' }, [pscustomobject]@{ InstanceId = $null; Name = 'null-id' }," +
                "  [pscustomobject]@{ InstanceId = $di; Name = 'good-id' }) | New-InstanceBackup;" +
                "New-InstanceBackup -InstanceId '' -Name line-id");
            Assert.Null(r.Terminating);
            Assert.Equal(3, r.Errors.Count);
            Assert.All(r.Errors, e =>
            {
                Assert.Equal(ErrorIds.BackupParameterInvalid, IdOf(e));
                Assert.Equal(ErrorCategory.InvalidArgument, e.CategoryInfo.Category);
                Assert.StartsWith("InstanceId is required", e.Exception.Message);
            });
            Assert.Equal("good-id", Assert.Single(r.Objects<BackupJob>()).BackupName);

            var dr = _ps.Run("$null = Connect-BackupService -Provider ArcGIS -Endpoint $arcgis -AccessToken $token;" +
                "@([pscustomobject]@{ Name = '' }, [pscustomobject]@{ Name = $null }, [pscustomobject]@{ Name = 'dr-good' }) | New-DisasterRecoveryBackup -Passcode $pass");
            Assert.Null(dr.Terminating);
            Assert.Equal(2, dr.Errors.Count);
            Assert.All(dr.Errors, e =>
            {
                Assert.Equal(ErrorIds.BackupParameterInvalid, IdOf(e));
                Assert.StartsWith("Name is required", e.Exception.Message);
            });
            Assert.Equal("dr-good", Assert.Single(dr.Objects<BackupJob>()).BackupName);
            Assert.Equal(2, Creates());
        }

        /// <summary>
        /// Before: both rows were sent; DDS refused the second (DBS.201201) and, after a lost answer, the lookup by name
        /// could report the first row's backup as the second's. DDS names are unique in a project (dds.md); TaurusDB
        /// documents no such rule, so its repeated names are both sent.
        /// </summary>
        [Fact]
        public void A_DDS_name_repeated_by_a_later_row_is_refused_before_sending()
        {
            var r = _ps.Run(
                "$a = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token;" +
                "$b = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $projectB -AccessToken $token;" +
                "@([pscustomobject]@{ Connection = $a; InstanceId = $di; Name = 'twice' }, [pscustomobject]@{ Connection = $a; InstanceId = $di; Name = 'twice' }," +
                // Another project's backup may share the name; names differing in case are other names.
                "  [pscustomobject]@{ Connection = $b; InstanceId = $di; Name = 'twice' }, [pscustomobject]@{ Connection = $a; InstanceId = $di; Name = 'Twice' }) |" +
                " New-InstanceBackup -BusyRetryCount 0");
            Assert.Null(r.Terminating);
            var error = Assert.Single(r.Errors);
            Assert.Equal(ErrorIds.BackupParameterInvalid, IdOf(error));
            Assert.Equal("Name 'twice' is already used by an earlier row of this command; DDS backup names are unique in a project. Nothing was sent.",
                error.Exception.Message);
            Assert.Equal("twice", Assert.IsType<BackupRequest>(error.TargetObject).Name);
            Assert.Equal(new[] { TestData.ProjectId + "/twice", ProjectB + "/twice", TestData.ProjectId + "/Twice" },
                r.Objects<BackupJob>().Select(j => j.Scope + "/" + j.BackupName).ToArray());
            Assert.Equal(3, Creates());

            // A row declined at -WhatIf sends nothing, so it does not take the name.
            var whatIf = _ps.Run("@([pscustomobject]@{ Connection = $a; InstanceId = $di; Name = 'once' }) | New-InstanceBackup -WhatIf;" +
                                 "[pscustomobject]@{ Connection = $a; InstanceId = $di; Name = 'once' } | New-InstanceBackup");
            Assert.Empty(whatIf.Errors);
            Assert.Single(whatIf.Objects<BackupJob>());

            _ps.Run("$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token");
            var taurus = _ps.Run("@([pscustomobject]@{ Provider = 'TaurusDB'; InstanceId = $ti; Name = 'same' }, [pscustomobject]@{ Provider = 'TaurusDB'; InstanceId = $ti; Name = 'same' }) |" +
                                 " New-InstanceBackup -BusyRetryCount 0");
            Assert.DoesNotContain(taurus.Errors, e => IdOf(e) == ErrorIds.BackupParameterInvalid);
        }

        /// <summary>
        /// Before: the name was claimed before the create was sent and never given back, so after a first row the
        /// service refused (nothing made), a later row with the name was refused as "already used by an earlier row of
        /// this command", which was untrue: no backup held it.
        /// </summary>
        [Fact]
        public void A_DDS_name_whose_create_was_refused_may_be_used_by_a_later_row()
        {
            _sim.Faults.Add(new FaultRule { Provider = "DDS", Method = "POST", PathContains = "/backups", StatusCode = 400, Times = 1,
                Body = "{\"error_code\":\"DBS.200001\",\"error_msg\":\"Parameter error: instance not found.\"}" });
            var r = _ps.Run(
                "$a = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token;" +
                "@([pscustomobject]@{ Connection = $a; InstanceId = $di; Name = 'dupname' }, [pscustomobject]@{ Connection = $a; InstanceId = $di; Name = 'dupname' }," +
                // Once a create with the name has succeeded, a repeat is refused before sending, as before.
                "  [pscustomobject]@{ Connection = $a; InstanceId = $di; Name = 'dupname' }) | New-InstanceBackup -BusyRetryCount 0");
            Assert.Null(r.Terminating);
            Assert.Equal(2, r.Errors.Count);
            Assert.NotEqual(ErrorIds.BackupParameterInvalid, IdOf(r.Errors[0]));
            Assert.Contains("DBS.200001", r.Errors[0].Exception.Message + " " + (r.Errors[0].Exception as BackupToolsException)?.ServiceCode);
            Assert.Equal(ErrorIds.BackupParameterInvalid, IdOf(r.Errors[1]));
            Assert.StartsWith("Name 'dupname' is already used by an earlier row of this command", r.Errors[1].Exception.Message);
            Assert.Equal("dupname", Assert.Single(r.Objects<BackupJob>()).BackupName);
            Assert.Equal(2, Creates());
        }

        /// <summary>
        /// With a throttle limit the second row came while the first row's create was in flight: it was refused as
        /// "already used" though that create was then refused and made nothing (no backup of the name at all). The row
        /// now waits for the earlier create's outcome; once a create of the name has started, a repeat is refused as before.
        /// </summary>
        [Fact]
        public void With_a_throttle_limit_a_DDS_name_is_checked_once_the_earlier_create_of_it_has_ended()
        {
            _sim.Faults.Add(new FaultRule { Provider = "DDS", Method = "POST", PathContains = "/backups", StatusCode = 400, Times = 1,
                Delay = TimeSpan.FromMilliseconds(500), Body = "{\"error_code\":\"DBS.200001\",\"error_msg\":\"Parameter error: instance not found.\"}" });
            var r = _ps.Run(
                "$a = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token;" +
                "@([pscustomobject]@{ Connection = $a; InstanceId = $di; Name = 'inflight' }, [pscustomobject]@{ Connection = $a; InstanceId = $di; Name = 'inflight' }," +
                "  [pscustomobject]@{ Connection = $a; InstanceId = $di; Name = 'inflight' }, [pscustomobject]@{ Connection = $a; InstanceId = $di; Name = 'other' })" +
                " | New-InstanceBackup -BusyRetryCount 0 -ThrottleLimit 4");
            Assert.Null(r.Terminating);
            Assert.Equal(2, r.Errors.Count);
            Assert.Contains("DBS.200001", r.Errors[0].Exception.Message + " " + (r.Errors[0].Exception as BackupToolsException)?.ServiceCode);
            Assert.Equal(ErrorIds.BackupParameterInvalid, IdOf(r.Errors[1]));
            Assert.StartsWith("Name 'inflight' is already used by an earlier row of this command", r.Errors[1].Exception.Message);
            Assert.Equal(new[] { "inflight", "other" }, r.Objects<BackupJob>().Select(j => j.BackupName).OrderBy(n => n, StringComparer.Ordinal).ToArray());
            Assert.Equal(3, Creates());
        }

        /// <summary>
        /// Before: -Provider was an alias of -Name, and PowerShell binds a property of the parameter's own name first: a
        /// row of New-InstanceBackup's instances.csv (Provider, InstanceId, Name, Description) bound its backup name, and
        /// Get-BackupProvider wrote ProviderNotFound for 'nightly-01'. Names, wildcards, strings and providers piped
        /// still bind to -Name.
        /// </summary>
        [Fact]
        public void Get_BackupProvider_binds_a_row_s_Provider_before_its_Name_and_names_as_before()
        {
            var rows = _ps.Run(
                // (the rows Import-Csv reads from the help's instances.csv; the hosted engine has no ConvertFrom-Csv)
                "[pscustomobject]@{ Provider = 'DDS'; InstanceId = $di; Name = 'nightly-01'; Description = 'before upgrade' }," +
                "[pscustomobject]@{ Provider = 'TaurusDB'; InstanceId = $ti; Name = 'nightly-02'; Description = '' } | Get-BackupProvider;" +
                "[pscustomobject]@{ Name = 'nightly-03'; Provider = 'Arc*' } | Get-BackupProvider;" +
                "$c = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token;" +
                "$j = [BackupTools.BackupJob]::new('CloudFoundry', 'https://example.invalid/', 'job-1');" +
                "$c, $j | Get-BackupProvider");
            Assert.Null(rows.Terminating);
            Assert.Empty(rows.Errors);
            Assert.Equal(new[] { "DDS", "TaurusDB", "ArcGIS", "DDS", "CloudFoundry" }, rows.Objects<BackupProviderInfo>().Select(p => p.Name).ToArray());

            var names = _ps.Run(
                "Get-BackupProvider DDS; 'Dataverse', 'ArcGIS' | Get-BackupProvider; Get-BackupProvider -Name Taurus*;" +
                "Get-BackupProvider -Provider Cloud*; Get-BackupProvider CloudFoundry | Get-BackupProvider;" +
                "[pscustomobject]@{ Name = 'DDS' } | Get-BackupProvider; @(Get-BackupProvider).Count");
            Assert.Null(names.Terminating);
            Assert.Empty(names.Errors);
            Assert.Equal(new[] { "DDS", "Dataverse", "ArcGIS", "TaurusDB", "CloudFoundry", "CloudFoundry", "DDS" },
                names.Objects<BackupProviderInfo>().Select(p => p.Name).ToArray());
            Assert.Equal(BackupService.ProviderNames.Count(), (int)names.Output.Last().BaseObject);

            // A row's unknown provider is the catalogue's error naming it, not its backup name.
            var unknown = _ps.Run("[pscustomobject]@{ Provider = 'Taurus'; Name = 'nightly-04' } | Get-BackupProvider");
            var error = Assert.Single(unknown.Errors);
            Assert.Equal(ErrorIds.ProviderNotFound, IdOf(error));
            Assert.Contains("'Taurus'", error.Exception.Message);
        }

        [Fact]
        public void Names_in_a_command_follow_the_provider_s_word_on_unique_names()
        {
            var names = new Validation.NamesInCommand();
            var dds = TestData.Connect(_sim, "DDS");
            var request = new BackupRequest { Kind = BackupKind.Instance, InstanceId = TestData.DdsInstance, Name = "n1" };
            names.Check(dds, request);
            Assert.False(names.IsPending(dds, request));
            names.Claim(dds, request);
            Assert.True(names.IsPending(dds, request)); // in flight: its outcome decides the name
            var ex = Assert.Throws<BackupToolsException>(() => names.Check(dds, request));
            Assert.Equal(ErrorIds.BackupParameterInvalid, ex.ErrorId);
            Assert.Equal(BackupErrorCategory.InvalidArgument, ex.Category);
            Assert.Equal("DDS", ex.Provider);

            // A refusal made nothing: the name is given back. A create that may have started keeps it.
            names.GiveBack(dds, request, new BackupToolsException(ErrorIds.BackupServiceError, BackupErrorCategory.InvalidArgument, "refused", request));
            names.Check(dds, request);
            names.Claim(dds, request);
            names.GiveBack(dds, request, new BackupToolsException(ErrorIds.BackupCreateOutcomeUnknown, BackupErrorCategory.ProtocolError, "lost", request));
            Assert.False(names.IsPending(dds, request));
            Assert.Throws<BackupToolsException>(() => names.Check(dds, request));
            var started = new BackupRequest { Kind = BackupKind.Instance, InstanceId = TestData.DdsInstance, Name = "n2" };
            names.Claim(dds, started);
            names.Settle(dds, started);
            Assert.False(names.IsPending(dds, started));
            Assert.Throws<BackupToolsException>(() => names.Check(dds, started));
            names.Claim(dds, started, inFlight: false); // -WhatIf: used at once, never pending
            Assert.False(names.IsPending(dds, started));

            var taurus = TestData.Connect(_sim, "TaurusDB");
            var t = new BackupRequest { Kind = BackupKind.Instance, InstanceId = TestData.TaurusInstance, Name = "n1" };
            names.Claim(taurus, t);
            names.Check(taurus, t); // TaurusDB documents no unique names
            var arcgis = TestData.Connect(_sim, "ArcGIS", scope: null);
            var dr = new BackupRequest { Kind = BackupKind.DisasterRecovery, Name = "n1" };
            names.Claim(arcgis, dr);
            names.Check(arcgis, dr); // nor does Esri's page
        }
    }
}
