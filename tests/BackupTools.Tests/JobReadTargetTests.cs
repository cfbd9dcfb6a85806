using System;
using System.Linq;
using System.Management.Automation;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// Get-BackupJob's errors name the job they are about; in the hosted PowerShell 7.6 engine against the simulator.
    /// </summary>
    public sealed class JobReadTargetTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;
        private readonly PowerShellHost _ps = new PowerShellHost();

        public JobReadTargetTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _ps.Set("token", TestData.Secure(TestData.Token));
            _ps.Set("taurus", _sim.EndpointFor("TaurusDB").ToString());
            _ps.Set("otherTaurus", _sim.EndpointFor("TaurusDB").ToString().Replace("127.0.0.1", "localhost"));
            _ps.Set("project", TestData.ProjectId);
            _ps.Set("ti", TestData.TaurusInstance);
        }

        public void Dispose() => _ps.Dispose();

        private static string IdOf(ErrorRecord error) => error.FullyQualifiedErrorId.Split(',')[0];

        /// <summary>
        /// Before: an error raised before the read (no connection could be chosen, a token refused) had no target, so of
        /// many piped jobs the user could not tell which one failed.
        /// </summary>
        [Fact]
        public void Each_error_Get_BackupJob_writes_has_its_job_as_target()
        {
            // A hand-made job (no Endpoint) with TaurusDB connections at two endpoints: which one is not guessed.
            _ps.Set("bare", new BackupJob("TaurusDB", null, "handmade-job-1", scope: TestData.ProjectId));
            var r = _ps.Run(
                "$a = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token;" +
                "$j = New-InstanceBackup -Connection $a -InstanceId $ti -Name target-test;" +
                "$null = Connect-BackupService -Provider TaurusDB -Endpoint $otherTaurus -ProjectId $project -AccessToken $token;" +
                "@($j, $bare) | Get-BackupJob");
            Assert.Null(r.Terminating);
            var error = Assert.Single(r.Errors);
            Assert.Equal(ErrorIds.ConnectionNotFound, IdOf(error));
            Assert.Contains("carries no Endpoint", error.Exception.Message);
            Assert.Equal("handmade-job-1", Assert.IsType<BackupJob>(error.TargetObject).JobId);
            Assert.Equal("target-test", Assert.Single(r.Objects<BackupJob>()).BackupName);
        }
    }
}
