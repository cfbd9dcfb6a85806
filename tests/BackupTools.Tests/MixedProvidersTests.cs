using System;
using System.Linq;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>One wait over jobs of all five services, as a runbook would do it, in the hosted PowerShell engine.</summary>
    public sealed class MixedProvidersTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;
        private readonly PowerShellHost _ps = new PowerShellHost();

        public MixedProvidersTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(500);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _ps.Set("token", TestData.Secure(TestData.Token));
            _ps.Set("pass", TestData.Secure("passcode-1234"));
            _ps.Set("project", TestData.ProjectId);
            foreach (var p in new[] { "TaurusDB", "DDS", "Dataverse", "ArcGIS", "CloudFoundry" })
                _ps.Set(p, _sim.EndpointFor(p).ToString());
        }

        public void Dispose() => _ps.Dispose();

        [Fact]
        public void Wait_BackupJob_waits_on_jobs_of_all_five_services_in_one_call()
        {
            var guid = Guid.NewGuid().ToString();
            var cf = Guid.NewGuid().ToString();
            var r = _ps.Run(
                "$null = Connect-BackupService -Provider TaurusDB -Endpoint $TaurusDB -ProjectId $project -AccessToken $token;" +
                "$null = Connect-BackupService -Provider DDS -Endpoint $DDS -ProjectId $project -AccessToken $token;" +
                "$null = Connect-BackupService -Provider Dataverse -Endpoint $Dataverse -AccessToken $token;" +
                "$null = Connect-BackupService -Provider ArcGIS -Endpoint $ArcGIS -AccessToken $token;" +
                "$null = Connect-BackupService -Provider CloudFoundry -Endpoint $CloudFoundry -AccessToken $token;" +
                "$jobs = @(" +
                $"  New-InstanceBackup -Provider TaurusDB -InstanceId '{TestData.TaurusInstance}' -Name mixed-taurus;" +
                $"  New-InstanceBackup -Provider DDS -InstanceId '{TestData.DdsInstance}' -Name mixed-dds;" +
                $"  New-InstanceBackup -Provider Dataverse -InstanceId '{guid}' -Label mixed-dataverse;" +
                $"  New-InstanceBackup -Provider CloudFoundry -ServiceInstanceGuid '{cf}';" +
                "  New-DisasterRecoveryBackup -Name mixed-arcgis -Passcode $pass);" +
                "$jobs | Wait-BackupJob -PollingInterval 0.05 -Timeout 60");
            Assert.Empty(r.Errors);
            var jobs = r.Objects<BackupJob>().ToList();
            Assert.Equal(new[] { "ArcGIS", "CloudFoundry", "DDS", "Dataverse", "TaurusDB" }, jobs.Select(j => j.Provider).OrderBy(p => p, StringComparer.Ordinal));
            Assert.All(jobs, j => Assert.Equal(BackupJobState.Succeeded, j.State));
        }
    }
}

namespace BackupTools.Tests
{
    public sealed class GuidRuleTests
    {
        [Theory]
        [InlineData(" 6f1c2b9e-3f5d-4a7b-9c2e-8d4b1a0e7c31")]
        [InlineData("6f1c2b9e-3f5d-4a7b-9c2e-8d4b1a0e7c31 ")]
        [InlineData("{6f1c2b9e-3f5d-4a7b-9c2e-8d4b1a0e7c31}")]
        [InlineData("6f1c2b9e3f5d4a7b9c2e8d4b1a0e7c31")]
        public void A_padded_or_decorated_guid_is_refused(string value)
        {
            var rule = BackupTools.Validation.Rule.Guid("InstanceId", "a GUID");
            var ex = Assert.Throws<BackupToolsException>(() => rule.Check("Dataverse", value));
            Assert.Equal(ErrorIds.BackupParameterInvalid, ex.ErrorId);
            rule.Check("Dataverse", "6f1c2b9e-3f5d-4a7b-9c2e-8d4b1a0e7c31");
        }
    }
}

namespace BackupTools.Tests
{
    public sealed class ProviderRegistryTests
    {
        [Fact]
        public void Every_table_name_is_the_name_its_provider_gives_itself()
        {
            foreach (var name in BackupTools.Providers.ProviderRegistry.Names)
                Assert.Equal(name, BackupTools.Providers.ProviderRegistry.Get(name).Info.Name);
            Assert.Equal(new[] { "ArcGIS", "CloudFoundry", "DDS", "Dataverse", "TaurusDB" },
                BackupTools.Providers.ProviderRegistry.Names.OrderBy(n => n, System.StringComparer.Ordinal));
        }
    }
}
