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
        private static BackupJob Job(string id, int? percent = null) =>
            new BackupJob("DDS", "https://dds.eu-de.otc.t-systems.com/", id, backupName: id, state: BackupJobState.Running, rawStatus: "RUNNING", percentComplete: percent);

        /// <summary>A clock the test moves; FlushLater requests are counted.</summary>
        private sealed class Clock
        {
            public TimeSpan Now;
            public int FlushesAsked;
            public void Pass(TimeSpan t) => Now += t;
        }

        private static WaitProgress New(List<ProgressRecord> records, int total, Clock clock)
        {
            var progress = new WaitProgress(5000, total, enabled: true, records.Add, () => clock.Now);
            progress.FlushLater = _ => clock.FlushesAsked++;
            return progress;
        }

        /// <summary>A clock that moves a second at each look: every change is written at once.</summary>
        private static WaitProgress Unthrottled(List<ProgressRecord> records, int total)
        {
            var now = TimeSpan.Zero;
            return new WaitProgress(5000, total, enabled: true, records.Add, () => now += TimeSpan.FromSeconds(1));
        }

        /// <summary>Replays records: the child ids shown at the end, and the most shown at once.</summary>
        private static (HashSet<int> Shown, int Max) Replay(IEnumerable<ProgressRecord> records)
        {
            var shown = new HashSet<int>();
            var max = 0;
            foreach (var r in records.Where(r => r.ParentActivityId == 5000))
            {
                if (r.RecordType == ProgressRecordType.Completed) shown.Remove(r.ActivityId);
                else shown.Add(r.ActivityId);
                max = Math.Max(max, shown.Count);
            }
            return (shown, max);
        }

        [Fact]
        public void The_parent_line_is_shown_when_the_wait_starts()
        {
            // Nothing was shown until a job's status changed: a resumed wait on a job without percent showed nothing.
            var records = new List<ProgressRecord>();
            New(records, 3, new Clock()).Start();
            var parent = Assert.Single(records);
            Assert.Equal(5000, parent.ActivityId);
            Assert.Equal("0 of 3 finished", parent.StatusDescription);
            Assert.Equal(ProgressRecordType.Processing, parent.RecordType);
        }

        [Fact]
        public void Child_updates_are_held_and_written_together_with_the_parent_at_most_every_250_ms()
        {
            // Each status read wrote its child's record at once: 10,000 jobs flooded the host.
            var records = new List<ProgressRecord>();
            var clock = new Clock();
            var progress = New(records, 5, clock);
            progress.Start();
            for (var round = 1; round <= 20; round++)
                for (var i = 0; i < 5; i++)
                    progress.Update(Job("j" + i, round)); // all within one interval
            Assert.Single(records); // only the parent from Start
            Assert.Equal(1, clock.FlushesAsked); // a later write was asked for, once
            clock.Pass(TimeSpan.FromMilliseconds(100));
            progress.Flush(); // too early: nothing yet, asked again
            Assert.Single(records);
            Assert.Equal(2, clock.FlushesAsked);
            clock.Pass(TimeSpan.FromMilliseconds(150));
            progress.Flush();
            var written = records.Skip(1).ToList();
            Assert.Equal(5000, written[0].ActivityId); // the parent first, then each child once, with its latest state
            var children = written.Skip(1).ToList();
            Assert.Equal(5, children.Count);
            Assert.All(children, c => Assert.Equal(20, c.PercentComplete));
            Assert.Equal(5, children.Select(c => c.ActivityId).Distinct().Count());
        }

        [Fact]
        public void A_job_that_ends_while_its_change_waits_still_gets_its_completed_record()
        {
            var records = new List<ProgressRecord>();
            var clock = new Clock();
            var progress = New(records, 2, clock);
            progress.Start();
            clock.Pass(TimeSpan.FromSeconds(1));
            progress.Update(Job("a", 10)); // written: due
            progress.Update(Job("a", 50)); // held
            progress.Done(Job("a"));
            var a = records.Where(r => r.ParentActivityId == 5000).ToList();
            Assert.Equal(ProgressRecordType.Completed, a.Last().RecordType);
            Assert.Empty(Replay(records).Shown);
            progress.Complete();
            Assert.Equal(ProgressRecordType.Completed, records.Last().RecordType);
        }

        [Fact]
        public void At_most_ten_child_lines_are_shown_those_of_the_jobs_that_changed_last()
        {
            var records = new List<ProgressRecord>();
            var clock = new Clock();
            var progress = New(records, 30, clock);
            progress.Start();
            for (var i = 0; i < 30; i++) progress.Update(Job("j" + i, 1));
            clock.Pass(TimeSpan.FromSeconds(1));
            progress.Flush();
            Assert.Equal(WaitProgress.MaxChildLines, Replay(records).Shown.Count);
            Assert.Contains("(10 of 30 running shown)", records.Last(r => r.ActivityId == 5000).StatusDescription);
            for (var i = 0; i < 3; i++) progress.Update(Job("j" + i, 5)); // the oldest change, now the latest
            clock.Pass(TimeSpan.FromSeconds(1));
            progress.Flush();
            var (shown, max) = Replay(records);
            Assert.Equal(WaitProgress.MaxChildLines, max);
            Assert.Equal(WaitProgress.MaxChildLines, shown.Count);
            var showing = records.Where(r => r.ParentActivityId == 5000 && r.RecordType == ProgressRecordType.Processing && shown.Contains(r.ActivityId))
                .GroupBy(r => r.ActivityId).Select(g => g.Last().Activity).ToList();
            Assert.Contains("DDS j0", showing);
            Assert.Contains("DDS j2", showing);
            Assert.Contains("DDS j29", showing);
            Assert.DoesNotContain("DDS j20", showing);
            progress.Complete();
            Assert.Empty(Replay(records).Shown);
        }

        [Fact]
        public void Timed_out_jobs_are_counted_apart_from_finished_ones()
        {
            // "1 of 1 finished", 100 %, after a timeout.
            var records = new List<ProgressRecord>();
            var progress = New(records, 3, new Clock());
            progress.Start();
            progress.Done(Job("a"));
            progress.Done(Job("b"), WaitEnd.TimedOut);
            progress.Done(Job("c"), WaitEnd.NotFollowed);
            var last = records.Last(r => r.ActivityId == 5000 && r.RecordType == ProgressRecordType.Processing);
            Assert.Equal("1 of 3 finished, 1 timed out, 1 could not be followed", last.StatusDescription);
            Assert.Equal(33, last.PercentComplete);
        }

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
            var progress = Unthrottled(records, 3);
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

        /// <summary>
        /// -Any: the first job to finish ends the wait within the write interval, so its count waited for a flush that
        /// never came, and the parent's last line said "0 of 3000 finished" before "Done".
        /// </summary>
        [Fact]
        public void Completing_the_wait_writes_the_parent_s_last_count_first()
        {
            var records = new List<ProgressRecord>();
            var clock = new Clock();
            var progress = New(records, 3, clock);
            progress.Update(Job("a"));
            progress.Update(Job("b"));
            clock.Pass(TimeSpan.FromMilliseconds(10));
            progress.Done(Job("a"));
            progress.Complete();
            var parent = records.Where(r => r.ActivityId == 5000).ToList();
            Assert.Equal(ProgressRecordType.Completed, parent.Last().RecordType);
            Assert.StartsWith("1 of 3 finished", parent[parent.Count - 2].StatusDescription);
        }

        [Fact]
        public void A_child_line_never_shares_its_id_with_another_job_still_shown()
        {
            var records = new List<ProgressRecord>();
            var progress = Unthrottled(records, 10);
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
