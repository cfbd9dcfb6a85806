using System;
using System.Linq;
using System.Management.Automation;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// Get-BackupJob's errors name the job they are about, and Connect-BackupService refuses a token no header can carry
    /// before it replaces a working default connection; in the hosted PowerShell 7.6 engine against the simulator.
    /// </summary>
    public sealed class JobReadTargetTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;
        private readonly PowerShellHost _ps;

        public JobReadTargetTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _ps = TestData.HostedSession(_sim);
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

        /// <summary>
        /// Before: a token with a line break inside was taken and replaced the working default connection; the next
        /// read of a job failed (ConnectionParameterInvalid at first use).
        /// </summary>
        [Fact]
        public void A_token_with_a_line_break_inside_is_refused_at_Connect_and_the_default_connection_stays()
        {
            var r = _ps.Run(
                "$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token;" +
                "$j = New-InstanceBackup -InstanceId $ti -Name token-test;" +
                "Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken \"sim`nsecret-part\"");
            // ThrowTerminatingError ends the statement; in a script the record lands in the error stream.
            var record = r.Terminating != null ? ((IContainsErrorRecord)r.Terminating).ErrorRecord : Assert.Single(r.Errors);
            Assert.Empty(r.Objects<BackupConnection>());
            Assert.Equal(ErrorIds.ConnectionParameterInvalid, IdOf(record));
            Assert.Equal(ErrorCategory.InvalidArgument, record.CategoryInfo.Category);
            Assert.StartsWith("AccessToken holds a line break", record.Exception.Message);
            Assert.DoesNotContain("secret-part", r.AllText());

            var read = _ps.Run("$j | Get-BackupJob");
            Assert.Empty(read.Errors);
            Assert.Equal("token-test", Assert.Single(read.Objects<BackupJob>()).BackupName);

            // A line break at its end (Get-Content -Raw) is taken off, not refused.
            var trailing = _ps.Run("$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken \"sim-token`r`n\"; $j | Get-BackupJob");
            Assert.Null(trailing.Terminating);
            Assert.Empty(trailing.Errors);
            Assert.Single(trailing.Objects<BackupJob>());
        }

        [Theory]
        [InlineData("sim-token", true)]
        [InlineData("  sim-token\r\n", true)]
        [InlineData("Bearer sim-token", true)]   // the placement takes a pasted scheme off
        [InlineData("bearer  sim-token\n", true)]
        [InlineData("sim\ntoken", false)]
        [InlineData("sim token", false)]
        [InlineData("Bearer sim\r\nX-Evil: 1", false)]
        [InlineData("Basic sim-token", false)]
        [InlineData("sim-tökén", false)]
        public void A_ready_token_is_checked_as_a_header_carries_it(string token, bool fits)
        {
            Assert.Equal(fits, Secret.FitsHeaderAsToken(TestData.Secure(token)));
            // The same answer as the check at use, for the placement that takes "Bearer " off.
            string checkedAtUse;
            try { checkedAtUse = TokenPlacement.Checked(TokenPlacement.WithoutScheme(token, "Bearer")); }
            catch (BackupToolsException) { checkedAtUse = null; }
            Assert.Equal(fits, checkedAtUse != null);
        }
    }
}
