using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using BackupTools.Commands;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// Wait-BackupJob's progress as a host receives it: throttled, shown from the start of the wait, switched by
    /// -ProgressAction, and a timeout not counted as finished. (One test bounds the records by the wait's time.)
    /// </summary>
    [Collection(TimingCollection.Name)]
    public sealed class WaitProgressCmdletTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;
        private readonly CapturingHost _host = new CapturingHost(width: 200);
        private readonly PowerShellHost _ps;

        public WaitProgressCmdletTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(400);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _sim.Options.ReportProgress = true;
            _ps = new PowerShellHost(_host);
            _ps.Set("token", TestData.Secure(TestData.Token));
            _ps.Set("taurus", _sim.EndpointFor("TaurusDB").ToString());
            _ps.Set("project", TestData.ProjectId);
            _ps.Set("ti", TestData.TaurusInstance);
        }

        public void Dispose()
        {
            _ps.Dispose();
            _sim.Options.ReportProgress = true;
            _sim.Reset();
        }

        private const string Connect = "$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token;";

        private static string Instance(int i) => "0123456789abcdef0123456789ab" + i.ToString("D4") + "in07";

        private static bool IsChild(ProgressRecord r) => r.ParentActivityId >= 0;

        [Fact]
        public void Child_records_of_many_jobs_are_throttled_and_few_lines_shown_at_once()
        {
            // One child record per status read: 300 jobs polled every 50 ms wrote 600 running-child records, 300 lines.
            _sim.Options.JobDuration = TimeSpan.FromSeconds(4);
            var c = TestData.Connect(_sim, "TaurusDB");
            var jobs = new List<BackupJob>();
            for (var i = 0; i < 300; i++)
                jobs.Add(BackupService.StartAsync(c, new BackupRequest { InstanceId = Instance(i), Name = "many" + i }, NullOperationLog.Instance, CancellationToken.None).GetAwaiter().GetResult());
            _ps.Set("jobs", jobs.ToArray());
            _ps.Set("c", c);
            var watch = Stopwatch.StartNew();
            var r = _ps.Run("$ProgressPreference = 'Continue'; Wait-BackupJob -Job $jobs -Connection $c -PollingInterval 0.05");
            var elapsed = watch.Elapsed;
            Assert.Equal(300, r.Objects<BackupJob>().Count());
            var records = _host.Progress;
            // At most one write of the lines per 250 ms (plus the first and the last), each at most MaxChildLines.
            var writes = elapsed.TotalMilliseconds / WaitProgress.Interval.TotalMilliseconds + 3;
            var running = records.Count(p => IsChild(p) && p.RecordType == ProgressRecordType.Processing);
            Assert.True(running <= writes * WaitProgress.MaxChildLines, $"{running} running-child records in {elapsed}");
            var shown = new HashSet<int>();
            var max = 0;
            foreach (var p in records.Where(IsChild))
            {
                if (p.RecordType == ProgressRecordType.Completed) shown.Remove(p.ActivityId);
                else shown.Add(p.ActivityId);
                max = Math.Max(max, shown.Count);
            }
            Assert.InRange(max, 1, WaitProgress.MaxChildLines);
            Assert.Empty(shown);
            Assert.Equal(ProgressRecordType.Completed, records.Last().RecordType);
        }

        [Fact]
        public void A_resumed_wait_on_a_job_whose_status_does_not_change_shows_its_line()
        {
            // The job as a first wait's timeout left it (Running, no percent): nothing was shown until the end.
            _sim.Options.ReportProgress = false;
            _sim.Options.JobDuration = TimeSpan.FromSeconds(4);
            _ps.Run(Connect + "$j = New-InstanceBackup -InstanceId $ti -Name resumeone; " +
                    "$k = Wait-BackupJob -Job $j -PollingInterval 0.1 -Timeout 1 -ErrorAction SilentlyContinue -ProgressAction SilentlyContinue");
            Assert.Equal(BackupJobState.Running, ((BackupJob)_ps.Run("$k").Output.Single().BaseObject).State);
            var before = _host.Progress.Count;
            var r = _ps.Run("$ProgressPreference = 'Continue'; $k | Wait-BackupJob -PollingInterval 0.1");
            Assert.Equal(BackupJobState.Succeeded, r.Objects<BackupJob>().Single().State);
            var records = _host.Progress.Skip(before).ToList();
            Assert.Equal("0 of 1 finished", records.First().StatusDescription); // the parent, as the wait starts
            Assert.Contains(records, p => IsChild(p) && p.RecordType == ProgressRecordType.Processing && p.Activity.EndsWith("resumeone", StringComparison.Ordinal));
        }

        [Fact]
        public void ProgressAction_given_to_the_command_wins_over_ProgressPreference()
        {
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(600);
            _ps.Run(Connect + "$ProgressPreference = 'SilentlyContinue'; $j = New-InstanceBackup -InstanceId $ti -Name paone; Wait-BackupJob -Job $j -PollingInterval 0.05 -ProgressAction Continue");
            Assert.Contains(_host.Progress, p => p.RecordType == ProgressRecordType.Processing);
            var before = _host.Progress.Count;
            _ps.Run("$ProgressPreference = 'Continue'; Wait-BackupJob -Job $j -PollingInterval 0.05 -ProgressAction SilentlyContinue");
            Assert.Equal(before, _host.Progress.Count);
        }

        [Fact]
        public void A_timed_out_job_is_not_counted_as_finished()
        {
            _sim.Options.JobDuration = TimeSpan.FromSeconds(30);
            var r = _ps.Run(Connect + "$j = New-InstanceBackup -InstanceId $ti -Name toone; $ProgressPreference = 'Continue'; Wait-BackupJob -Job $j -PollingInterval 0.1 -Timeout 1");
            Assert.StartsWith(ErrorIds.BackupJobTimeout + ",", Assert.Single(r.Errors).FullyQualifiedErrorId);
            var last = _host.Progress.Last(p => !IsChild(p) && p.RecordType == ProgressRecordType.Processing);
            Assert.Equal("0 of 1 finished, 1 timed out", last.StatusDescription);
            Assert.Equal(0, last.PercentComplete);
        }
    }
}
