using System;
using System.Linq;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>Error records as a runbook meets them: an action on every one, a target on connection errors, checks before -WhatIf speaks.</summary>
    public sealed class ErrorRecordTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;
        private readonly PowerShellHost _ps = new PowerShellHost();

        public ErrorRecordTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _ps.Set("token", TestData.Secure(TestData.Token));
            _ps.Set("taurus", _sim.EndpointFor("TaurusDB").ToString());
            _ps.Set("project", TestData.ProjectId);
            _ps.Set("ti", TestData.TaurusInstance);
        }

        public void Dispose()
        {
            _ps.Dispose();
            _sim.Reset();
        }

        private const string Connect = "$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token;";

        [Fact]
        public void A_service_refusal_carries_the_catalogue_s_action()
        {
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "POST", PathContains = "/backups/create", StatusCode = 400,
                Body = "{\"error_code\":\"DBS.200001\",\"error_msg\":\"Invalid parameter.\"}" });
            var r = _ps.Run(Connect + "New-InstanceBackup -InstanceId $ti -Name refused01");
            var error = Assert.Single(r.Errors);
            Assert.StartsWith(ErrorIds.BackupServiceError + ",", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorIds.DefaultAction(ErrorIds.BackupServiceError), error.ErrorDetails.RecommendedAction);
        }

        [Fact]
        public void A_connection_parameter_error_names_the_provider_as_its_target_and_has_an_action()
        {
            var r = _ps.Run("Connect-BackupService -Provider TaurusDB -Region eu-west-0 -Endpoint $taurus -ProjectId $project -AccessToken $token");
            var record = r.Terminating?.ErrorRecord ?? Assert.Single(r.Errors);
            Assert.StartsWith(ErrorIds.ConnectionParameterInvalid + ",", record.FullyQualifiedErrorId);
            Assert.Equal("TaurusDB", record.TargetObject);
            Assert.False(string.IsNullOrEmpty(record.ErrorDetails.RecommendedAction));
        }

        [Fact]
        public void A_create_failing_on_its_credential_names_its_row_as_the_target()
        {
            // A -TokenProvider script that fails names no target of its own: the record's target was empty ("(:)"), so
            // `$rows | New-InstanceBackup -ErrorVariable e` could not tell which row failed; a read's names its job.
            _ps.Set("dataverse", _sim.EndpointFor("Dataverse").ToString());
            var r = _ps.Run("$null = Connect-BackupService -Provider Dataverse -Endpoint $dataverse -TokenProvider { throw 'vault locked' };" +
                            "New-InstanceBackup -InstanceId 6f0e2a7c-3b1d-4c55-9a1e-2d4b8f7c9e01 -Name row-07");
            var record = Assert.Single(r.Errors);
            Assert.StartsWith(ErrorIds.ConnectionAuthenticationFailed + ",", record.FullyQualifiedErrorId);
            var request = Assert.IsType<BackupRequest>(record.TargetObject);
            Assert.Equal("row-07", request.Name);
        }

        [Theory]
        [InlineData("Wait-BackupJob -Job $job -PollingInterval 0")]
        [InlineData("Wait-BackupJob -Job $job -Timeout -5")]
        [InlineData("New-InstanceBackup -InstanceId $ti -Name 1-starts-with-digit")]
        public void A_parameter_error_recommends_nothing_the_command_does_not_have(string command)
        {
            // The catalogue's action once added "(for a missing default store, pass -StoreName)" to every
            // BackupParameterInvalid: a wait's -PollingInterval 0 was told to pass a parameter Wait-BackupJob has not.
            var r = _ps.Run(Connect + "$job = [BackupTools.BackupJob]::new('TaurusDB', $taurus, 'job-1');" + command);
            var record = r.Terminating?.ErrorRecord ?? Assert.Single(r.Errors);
            Assert.StartsWith(ErrorIds.BackupParameterInvalid + ",", record.FullyQualifiedErrorId);
            Assert.False(string.IsNullOrEmpty(record.ErrorDetails.RecommendedAction));
            Assert.DoesNotContain("StoreName", record.ErrorDetails.RecommendedAction);
        }

        [Theory]
        [InlineData("-WhatIf")]
        [InlineData("")]
        public void A_request_timeout_of_zero_ends_the_command_before_WhatIf_or_any_create(string whatIf)
        {
            var r = _ps.Run(Connect + "New-InstanceBackup -InstanceId $ti -Name zero01 -RequestTimeout 0 " + whatIf);
            var record = r.Terminating?.ErrorRecord ?? Assert.Single(r.Errors);
            Assert.StartsWith(ErrorIds.BackupParameterInvalid + ",", record.FullyQualifiedErrorId);
            Assert.Contains("RequestTimeout", record.Exception.Message);
            Assert.Empty(r.Objects<BackupJob>());
            Assert.DoesNotContain(_sim.Counters.Requests, q => q.Method == "POST");
        }
    }
}
