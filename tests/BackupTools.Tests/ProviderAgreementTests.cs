using System;
using System.Linq;
using System.Management.Automation;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// What a creating cmdlet is told and what it does, in the hosted PowerShell 7.6 engine against the simulator: a
    /// named provider and a given connection must agree, and -WhatIf shows the refusals the real run makes.
    /// </summary>
    public sealed class ProviderAgreementTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const string DataverseInstance = "6f0e2a7c-3b1d-4c55-9a1e-2d4b8f7c9e01";
        private readonly BackupSimulator _sim;
        private readonly PowerShellHost _ps;

        public ProviderAgreementTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _ps = TestData.HostedSession(_sim);
            _ps.Set("dvi", DataverseInstance);
            _ps.Run("$dataverse = Connect-BackupService -Provider Dataverse -Endpoint $dv -AccessToken $token;" +
                    "$ddsc = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $project -AccessToken $token");
        }

        public void Dispose() => _ps.Dispose();

        private static string IdOf(ErrorRecord error) => error.FullyQualifiedErrorId.Split(',')[0];

        private static void AssertMismatch(ErrorRecord error, string named, string connected, string instanceId)
        {
            Assert.Equal(ErrorIds.ConnectionNotFound, IdOf(error));
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            Assert.Equal($"The backup is for {named} (-Provider or the row's Provider), but the connection is to {connected}. Nothing was sent.",
                error.Exception.Message);
            Assert.Equal(instanceId, Assert.IsType<BackupRequest>(error.TargetObject).InstanceId);
        }

        /// <summary>
        /// Before: the connection won and the named provider was ignored: a CloudFoundry row with a Dataverse connection
        /// started a Dataverse backup of that GUID, -Provider TaurusDB with a DDS connection a DDS backup.
        /// </summary>
        [Fact]
        public void A_row_s_provider_that_differs_from_its_connection_is_refused_before_sending_and_other_rows_go_on()
        {
            var r = _ps.Run(
                "@([pscustomobject]@{ Provider = 'CloudFoundry'; Connection = $dataverse; InstanceId = $dvi; Name = 'wrong' }," +
                "  [pscustomobject]@{ Provider = 'dataverse'; Connection = $dataverse; InstanceId = $dvi; Name = 'right' }) | New-InstanceBackup");
            Assert.Null(r.Terminating);
            AssertMismatch(Assert.Single(r.Errors), "CloudFoundry", "Dataverse", DataverseInstance);
            Assert.Equal("right", Assert.Single(r.Objects<BackupJob>()).BackupName);
            Assert.Equal(1, _sim.Counters.BackupsFor("Dataverse", DataverseInstance));

            var before = _sim.Counters.TotalRequests;
            var parameters = _ps.Run("New-InstanceBackup -Provider CloudFoundry -Connection $dataverse -InstanceId $dvi;" +
                                     "New-InstanceBackup -Provider TaurusDB -Connection $ddsc -InstanceId $di -Name wrong-too");
            Assert.Null(parameters.Terminating);
            Assert.Equal(2, parameters.Errors.Count);
            AssertMismatch(parameters.Errors[0], "CloudFoundry", "Dataverse", DataverseInstance);
            AssertMismatch(parameters.Errors[1], "TaurusDB", "DDS", TestData.DdsInstance);
            Assert.Empty(parameters.Output);
            Assert.Equal(before, _sim.Counters.TotalRequests);

            // The same provider, in any case, is the connection's: the backup starts.
            var same = _ps.Run("New-InstanceBackup -Provider dds -Connection $ddsc -InstanceId $di -Name same-provider");
            Assert.Empty(same.Errors);
            Assert.Equal("DDS", Assert.Single(same.Objects<BackupJob>()).Provider);
        }

        /// <summary>Before: -WhatIf claimed no name, so a repeated DDS name showed no refusal, while the real run refused it.</summary>
        [Fact]
        public void WhatIf_refuses_a_DDS_name_repeated_by_a_later_row_as_the_real_run_does()
        {
            const string Rows = "@([pscustomobject]@{ Connection = $ddsc; InstanceId = $di; Name = 'twice' }, [pscustomobject]@{ Connection = $ddsc; InstanceId = $di; Name = 'twice' }) | ";
            var whatIf = _ps.Run(Rows + "New-InstanceBackup -WhatIf");
            Assert.Null(whatIf.Terminating);
            var error = Assert.Single(whatIf.Errors);
            Assert.Equal(ErrorIds.BackupParameterInvalid, IdOf(error));
            Assert.StartsWith("Name 'twice' is already used by an earlier row of this command", error.Exception.Message);
            Assert.Equal(0, _sim.Counters.TotalRequests);

            // $WhatIfPreference is -WhatIf too.
            var preference = _ps.Run("$WhatIfPreference = $true; " + Rows + "New-InstanceBackup; $WhatIfPreference = $false");
            Assert.StartsWith("Name 'twice' is already used", Assert.Single(preference.Errors).Exception.Message);
            Assert.Equal(0, _sim.Counters.TotalRequests);

            // The real run shows the same refusal; the first row's backup starts.
            var real = _ps.Run(Rows + "New-InstanceBackup -BusyRetryCount 0");
            Assert.Equal(error.Exception.Message, Assert.Single(real.Errors).Exception.Message);
            Assert.Single(real.Objects<BackupJob>());
        }
    }
}
