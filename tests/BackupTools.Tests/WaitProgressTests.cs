using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using BackupTools.Commands;
using Xunit;

namespace BackupTools.Tests
{
    public sealed class WaitProgressTests
    {
        private static BackupJob Job(string id) => new BackupJob("DDS", "https://dds.eu-de.otc.t-systems.com/", id);

        [Theory]
        [InlineData("")]
        [InlineData("  ")]
        [InlineData(null)]
        public void A_job_with_an_empty_service_status_shows_its_state(string raw)
        {
            // A service answering "status": "" (kept raw, as unknown statuses are) threw from ProgressRecord and ended the wait.
            var records = new List<ProgressRecord>();
            var progress = new WaitProgress(5000, 1, enabled: true, records.Add);
            progress.Update(new BackupJob("DDS", "https://dds.eu-de.otc.t-systems.com/", "j1", backupName: "", state: BackupJobState.Unknown, rawStatus: raw));
            Assert.Equal("Unknown", records.Single(r => r.ParentActivityId == 5000).StatusDescription);
        }

        [Fact]
        public void Completing_the_wait_ends_every_child_line_still_shown()
        {
            // -Any, a timeout error with -ErrorAction Stop: jobs not final keep a line, which must end too.
            var records = new List<ProgressRecord>();
            var progress = new WaitProgress(5000, 3, enabled: true, records.Add);
            progress.Update(Job("a"));
            progress.Update(Job("b"));
            progress.Update(Job("c"));
            progress.Done(Job("b"));
            progress.Complete();
            var children = records.Where(r => r.ParentActivityId == 5000).ToList();
            foreach (var id in children.Select(r => r.ActivityId).Distinct())
                Assert.Equal(ProgressRecordType.Completed, children.Last(r => r.ActivityId == id).RecordType);
            Assert.Equal(3, children.Count(r => r.RecordType == ProgressRecordType.Completed));
            Assert.Equal(ProgressRecordType.Completed, records.Last().RecordType);
            Assert.Equal(5000, records.Last().ActivityId);
        }

        [Fact]
        public void A_child_line_never_shares_its_id_with_another_job_still_shown()
        {
            var records = new List<ProgressRecord>();
            var progress = new WaitProgress(5000, 10, enabled: true, records.Add);
            var shown = new Dictionary<int, string>();
            void Check()
            {
                // Replay: every running record's id belongs to one job until that id's Completed record.
                foreach (var r in records.Where(r => r.ParentActivityId == 5000))
                {
                    if (r.RecordType == ProgressRecordType.Completed) { shown.Remove(r.ActivityId); continue; }
                    if (shown.TryGetValue(r.ActivityId, out var owner)) Assert.Equal(owner, r.Activity);
                    else shown[r.ActivityId] = r.Activity;
                }
                records.Clear();
            }
            progress.Update(Job("a"));
            progress.Update(Job("b"));
            progress.Done(Job("a"));
            progress.Update(Job("c")); // was given b's id while b ran
            progress.Update(Job("b"));
            progress.Update(Job("c"));
            Check();
            progress.Done(Job("c"));
            progress.Update(Job("b"));
            Check();
            Assert.Contains(shown.Values, v => v.EndsWith(" b", StringComparison.Ordinal)); // c's Completed did not take b's line away
        }
    }
}
