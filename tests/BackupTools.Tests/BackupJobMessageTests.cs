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

        /// <summary>
        /// A job's Errors and Warnings read as their messages, "; " between two: Export-Csv writes a property's
        /// ToString(), and an array's is its type name ("BackupTools.BackupJobMessage[]"), which lost every reason.
        /// </summary>
        [Fact]
        public void A_jobs_errors_and_warnings_read_as_their_messages()
        {
            var job = new BackupJob("DDS", "https://dds.eu-de.otc.t-systems.com/", "job-1", state: BackupJobState.Failed,
                errors: new[] { new BackupJobMessage("DBS.200410", "disk full"), null, new BackupJobMessage("DBS.200411", "DBS.200411: retry later") },
                warnings: new[] { new BackupJobMessage("W1", "careful", "subject") });
            Assert.Equal("DBS.200410: disk full; DBS.200411: retry later", job.Errors.ToString());
            Assert.Equal("W1: careful", job.Warnings.ToString());
            // Still a list of the messages (nulls left out), with an array's Count and Length.
            Assert.Equal(2, job.Errors.Count);
            Assert.Equal(2, job.Errors.Length);
            Assert.Equal("DBS.200411", job.Errors[1].Code);
            Assert.Equal("subject", Assert.Single(job.Warnings).Subject);
            // None: an empty cell, not a type name.
            var none = new BackupJob("DDS", "https://dds.eu-de.otc.t-systems.com/", "job-2");
            Assert.Equal(string.Empty, none.Errors.ToString());
            Assert.Equal(string.Empty, none.Warnings.ToString());
            Assert.Empty(none.Errors);
        }

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
