using Xunit;

namespace BackupTools.Tests
{
    public sealed class BackupJobMessageTests
    {
        [Theory]
        [InlineData("DBS.200410", "Backup 'x' failed.", "DBS.200410: Backup 'x' failed.")]
        // A TaurusDB/DDS fail_reason carries its code, which the provider reads from it: the code is not repeated.
        [InlineData("DBS.200410", "DBS.200410: Backup 'x' failed.", "DBS.200410: Backup 'x' failed.")]
        // A longer code that merely begins with this one is not it.
        [InlineData("DBS.1", "DBS.10: other", "DBS.1: DBS.10: other")]
        [InlineData("DBS.1", "DBS.1a other", "DBS.1: DBS.1a other")]
        [InlineData("", "only text", "only text")]
        [InlineData("CODE", "", "CODE")]
        [InlineData("CODE", "CODE", "CODE")]
        public void Text_is_code_and_message_without_repeating_the_code(string code, string message, string expected) =>
            Assert.Equal(expected, new BackupJobMessage(code, message).ToString());

        [Theory]
        [InlineData("Backup 'x' failed (simulated failure).", "failed: DBS.200410: Backup 'x' failed (simulated failure).")]
        [InlineData("disk full", "failed: DBS.200410: disk full.")]
        [InlineData("really?", "failed: DBS.200410: really?")]
        public void A_failure_message_ends_with_one_full_stop(string reason, string expectedEnd)
        {
            var job = new BackupJob("DDS", "https://dds.eu-de.otc.t-systems.com/", "job-1").With(new JobStatus
            {
                State = BackupJobState.Failed, RawStatus = "Failed", Errors = new[] { new BackupJobMessage("DBS.200410", reason) },
            });
            Assert.EndsWith(expectedEnd, BackupTools.Jobs.JobOutcome.ErrorFor(job).Message);
        }
    }
}
