using System;
using System.Linq;
using System.Threading;
using System.Management.Automation;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// A creating command stopped on the way (an error with -ErrorAction Stop, the runbook pattern) loses no backup's
    /// handle: `$jobs = … | New-InstanceBackup` assigns nothing when its statement is stopped, so the jobs the command
    /// wrote are kept in $BackupToolsUnwrittenJobs too. And a wait's errors lead to the job they are about.
    /// </summary>
    [Collection(TimingCollection.Name)]
    public sealed class StoppedCommandsTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;
        private readonly CapturingHost _host = new CapturingHost(width: 200);
        private readonly PowerShellHost _ps;

        public StoppedCommandsTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(400);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _ps = new PowerShellHost(_host);
            Set("token", TestData.Secure(TestData.Token));
            Set("taurus", _sim.EndpointFor("TaurusDB").ToString());
            Set("project", TestData.ProjectId);
            Set("ti", TestData.TaurusInstance);
        }

        public void Dispose()
        {
            _ps.Dispose();
            _sim.Options.TokenLifetime = null;
            _sim.Options.Password = "sim-password";
            _sim.Reset();
        }

        private void Set(string name, object value) => _ps.Set(name, value);

        private System.Collections.Generic.List<PSObject> Run(string script) => _ps.Run(script).Output;

        private BackupJob[] Kept() => Run("$BackupToolsUnwrittenJobs").Where(o => o != null).Select(o => o.BaseObject).OfType<BackupJob>().ToArray();

        private const string Connect = "$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token;";

        [Fact]
        public void Stop_on_a_bad_row_keeps_the_jobs_of_rows_already_started_which_the_assignment_dropped()
        {
            Run(Connect + "$ErrorActionPreference = 'Stop'; $BackupToolsUnwrittenJobs = $null; $jobs = 'unset';" +
                "try { $jobs = 'stop-1', 'stop-2', 'bad name!', 'stop-4' | ForEach-Object { [pscustomobject]@{ InstanceId = $ti; Name = $_ } } | " +
                "New-InstanceBackup -Provider TaurusDB } catch { $caught = $_ }");
            Assert.Equal("unset", Run("$jobs").Single().BaseObject); // what PowerShell does: the assignment never happened
            Assert.StartsWith(ErrorIds.BackupParameterInvalid + ",", (string)Run("$caught.FullyQualifiedErrorId").Single().BaseObject);
            Assert.Equal(2, _sim.Counters.BackupsFor("TaurusDB", TestData.TaurusInstance));
            Assert.Equal(new[] { "stop-1", "stop-2" }, Kept().Select(j => j.BackupName).OrderBy(n => n, StringComparer.Ordinal));
            Assert.Contains("written before the command was stopped", _host.Text);
        }

        [Fact]
        public void Stop_on_a_failed_job_during_Wait_keeps_every_other_job_the_command_started()
        {
            _sim.Options.FailNamePrefix = "fails";
            Run(Connect + "$BackupToolsUnwrittenJobs = $null;" +
                "try { $jobs = 'fails-1', 'runs-2' | ForEach-Object { [pscustomobject]@{ InstanceId = $ti; Name = $_ } } | " +
                "New-InstanceBackup -Provider TaurusDB -Wait -PollingInterval 0.05 -ErrorAction Stop } catch { $caught = $_ }");
            Assert.StartsWith(ErrorIds.BackupJobFailed + ",", (string)Run("$caught.FullyQualifiedErrorId").Single().BaseObject);
            // The failed job reached the user as the error's target; the other one, written before the stop, did not.
            Assert.Equal(new[] { "runs-2" }, Kept().Select(j => j.BackupName));
        }

        [Fact]
        public void Ctrl_C_while_a_throttled_command_waits_for_its_last_creates_keeps_the_jobs_it_had_written()
        {
            // Rows 1 and 2 answered and written, rows 3 and 4 held by the service; Ctrl+C while EndProcessing waits for
            // them: the cancelled creates let EndProcessing end, and the two written jobs were dropped with the assignment.
            Run(Connect + "$BackupToolsUnwrittenJobs = $null; $jobs = 'unset'");
            using var ps = _ps.Pipeline("$jobs = & { [pscustomobject]@{ InstanceId = $ti; Name = 'cc-1' }; [pscustomobject]@{ InstanceId = $ti; Name = 'cc-2' }; " +
                "[System.Threading.Thread]::Sleep(1500); [pscustomobject]@{ InstanceId = $ti; Name = 'cc-3' }; [pscustomobject]@{ InstanceId = $ti; Name = 'cc-4' } } | " +
                "New-InstanceBackup -Provider TaurusDB -ThrottleLimit 4");
            var pending = ps.BeginInvoke();
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (_sim.Counters.Requests.Count(q => q.Method == "POST" && q.Status >= 200 && q.Status < 300) < 2 && DateTime.UtcNow < deadline) Thread.Sleep(10);
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "POST", PathContains = "backups", Delay = TimeSpan.FromSeconds(20), Times = int.MaxValue });
            deadline = DateTime.UtcNow.AddSeconds(15);
            while (_sim.Counters.Requests.Count(q => q.Method == "POST") < 4 && DateTime.UtcNow < deadline) Thread.Sleep(10);
            Thread.Sleep(300); // rows 3 and 4 sent and held; EndProcessing waits for them
            ps.Stop();
            try { ps.EndInvoke(pending); } catch (PipelineStoppedException) { }
            Assert.Equal("unset", Run("$jobs").Single().BaseObject);
            var kept = Kept().Select(j => j.BackupName).ToList();
            Assert.Contains("cc-1", kept);
            Assert.Contains("cc-2", kept);
        }

        [Fact]
        public void Stop_on_a_failed_job_in_Wait_BackupJob_after_New_InstanceBackup_keeps_every_other_job_the_wait_held()
        {
            // The runbook form: New-InstanceBackup ran to its end (it keeps nothing), and the jobs Wait-BackupJob wrote
            // before its error stopped the statement went nowhere: the backup still running was left without a handle.
            _sim.Options.FailNamePrefix = "fails";
            Set("opts", _sim.Options);
            Run(Connect + "$BackupToolsUnwrittenJobs = $null; $done = 'unset';" +
                "try { $done = & { [pscustomobject]@{ InstanceId = $ti; Name = 'fails-p1' }; $opts.JobDuration = [timespan]::FromSeconds(60); " +
                "[pscustomobject]@{ InstanceId = $ti; Name = 'slowp-2' } } | New-InstanceBackup -Provider TaurusDB | " +
                "Wait-BackupJob -PollingInterval 0.05 -ErrorAction Stop } catch { $caught = $_ }");
            Assert.Equal("unset", Run("$done").Single().BaseObject);
            Assert.StartsWith(ErrorIds.BackupJobFailed + ",", (string)Run("$caught.FullyQualifiedErrorId").Single().BaseObject);
            // The failed job is the caught error's target: only the one still running is kept.
            Assert.Equal(new[] { "slowp-2" }, Kept().Select(j => j.BackupName));
            Assert.Equal("fails-p1", ((BackupJob)Run("$caught.TargetObject").Single().BaseObject).BackupName);
            Assert.Contains("backup(s) Wait-BackupJob was waiting for were written before the command was stopped", _host.Text);
            Assert.Contains("$BackupToolsUnwrittenJobs", _host.Text);
        }

        [Fact]
        public void Ctrl_C_on_New_InstanceBackup_into_Wait_BackupJob_keeps_each_job_once()
        {
            // Both commands are stopped, and both keep the jobs: each is kept once, and named in one warning.
            _sim.Options.JobDuration = TimeSpan.FromSeconds(60);
            Run(Connect + "$BackupToolsUnwrittenJobs = $null; $done = 'unset'");
            using var ps = _ps.Pipeline("$done = 'ccw-1', 'ccw-2' | ForEach-Object { [pscustomobject]@{ InstanceId = $ti; Name = $_ } } | " +
                                        "New-InstanceBackup -Provider TaurusDB | Wait-BackupJob -PollingInterval 0.05");
            var pending = ps.BeginInvoke();
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (_sim.Counters.Requests.Count(q => q.Method == "GET") < 2 && DateTime.UtcNow < deadline) Thread.Sleep(10);
            Thread.Sleep(300);
            ps.Stop();
            try { ps.EndInvoke(pending); } catch (PipelineStoppedException) { }
            Assert.Equal(new[] { "ccw-1", "ccw-2" }, Kept().Select(j => j.BackupName).OrderBy(n => n, StringComparer.Ordinal));
            Assert.Equal(1, _host.Text.Split("BackupToolsUnwrittenJobs").Length - 1);
        }

        [Fact]
        public void Stop_on_the_first_job_of_Wait_BackupJob_Any_keeps_the_other_jobs_it_followed()
        {
            // With -Any only the first final job is written; when its error stops the statement the others had no handle.
            _sim.Options.FailNamePrefix = "fails";
            Set("opts", _sim.Options);
            Run(Connect + "$BackupToolsUnwrittenJobs = $null; " +
                "try { $first = & { [pscustomobject]@{ InstanceId = $ti; Name = 'fails-a1' }; $opts.JobDuration = [timespan]::FromSeconds(60); " +
                "[pscustomobject]@{ InstanceId = $ti; Name = 'slowa-2' } } | New-InstanceBackup -Provider TaurusDB | " +
                "Wait-BackupJob -Any -PollingInterval 0.05 -ErrorAction Stop } catch { $caught = $_ }");
            Assert.StartsWith(ErrorIds.BackupJobFailed + ",", (string)Run("$caught.FullyQualifiedErrorId").Single().BaseObject);
            Assert.Equal(new[] { "slowa-2" }, Kept().Select(j => j.BackupName));
        }

        [Theory]
        [InlineData("New-InstanceBackup -InstanceId $ti -Name fails-doc | Wait-BackupJob -PollingInterval 0.05 -ErrorAction Stop")]
        [InlineData("New-InstanceBackup -InstanceId $ti -Name fails-doc -Wait -PollingInterval 0.05 -ErrorAction Stop")]
        public void The_documented_try_catch_around_a_failing_wait_keeps_nothing_and_warns_nothing(string statement)
        {
            // The README's and the help's pattern: the failed job reaches the catch as the error's target. The stopped
            // command also kept it and told the host, in an unsilenceable warning, that it "may not have reached you".
            _sim.Options.FailNamePrefix = "fails";
            Run(Connect + "$BackupToolsUnwrittenJobs = $null; try { " + statement + " } catch { $caught = $_ }");
            Assert.StartsWith(ErrorIds.BackupJobFailed + ",", (string)Run("$caught.FullyQualifiedErrorId").Single().BaseObject);
            Assert.Equal("fails-doc", ((BackupJob)Run("$caught.TargetObject").Single().BaseObject).BackupName);
            Assert.Empty(Kept());
            Assert.DoesNotContain("WARNING", _host.Text);
        }

        [Fact]
        public void A_wait_that_ran_to_its_end_keeps_nothing_and_says_nothing()
        {
            _sim.Options.FailNamePrefix = "fails";
            Run(Connect + "$BackupToolsUnwrittenJobs = $null; $done = 'fine-1', 'fails-2' | ForEach-Object { [pscustomobject]@{ InstanceId = $ti; Name = $_ } } | " +
                "New-InstanceBackup -Provider TaurusDB | Wait-BackupJob -PollingInterval 0.05 -ErrorAction SilentlyContinue");
            Assert.Equal(2, Run("$done.Count").Single().BaseObject);
            Assert.Empty(Kept());
            Assert.DoesNotContain("BackupToolsUnwrittenJobs", _host.Text);
        }

        [Fact]
        public void A_command_that_ran_to_its_end_keeps_nothing_and_says_nothing()
        {
            Run(Connect + "$BackupToolsUnwrittenJobs = $null; $jobs = 'fine-1', 'fine-2' | ForEach-Object { [pscustomobject]@{ InstanceId = $ti; Name = $_ } } | " +
                "New-InstanceBackup -Provider TaurusDB -Wait -PollingInterval 0.05");
            Assert.Equal(2, Run("$jobs.Count").Single().BaseObject);
            Assert.Empty(Kept());
            Assert.DoesNotContain("BackupToolsUnwrittenJobs", _host.Text);
        }

        [Fact]
        public void With_Any_a_job_that_cannot_be_followed_is_an_error_about_it_and_only_the_first_final_job_is_written()
        {
            Set("ghost", new BackupJob("TaurusDB", _sim.EndpointFor("TaurusDB").ToString(), "00000000000000000000000000000000",
                createdAt: DateTimeOffset.UtcNow.AddHours(-2), scope: TestData.ProjectId));
            var output = Run(Connect + "$j = New-InstanceBackup -InstanceId $ti -Name anyquick; $errs = $null;" +
                             "Wait-BackupJob -Job $ghost, $j -Any -PollingInterval 0.05 -Timeout 30 -ErrorVariable errs -ErrorAction SilentlyContinue");
            var written = Assert.Single(output.Select(o => o.BaseObject).OfType<BackupJob>());
            Assert.Equal("anyquick", written.BackupName);
            Assert.Equal(BackupJobState.Succeeded, written.State);
            var error = (ErrorRecord)Assert.Single(Run("$errs")).BaseObject;
            Assert.StartsWith(ErrorIds.BackupJobNotFound + ",", error.FullyQualifiedErrorId);
            Assert.Equal("00000000000000000000000000000000", Assert.IsType<BackupJob>(error.TargetObject).JobId);
        }

        [Fact]
        public void A_refused_token_renewal_during_a_wait_is_an_error_about_the_job_not_the_identity_endpoint()
        {
            // The IAM token runs out during the wait and the password was changed meanwhile: the record's target was
            // the identity endpoint, and nothing named the backup that runs on.
            _sim.Options.JobDuration = TimeSpan.FromSeconds(3);
            _sim.Options.TokenLifetime = TimeSpan.FromMilliseconds(500);
            Set("cred", new PSCredential("admin", TestData.Secure("sim-password")));
            Run("$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -Credential $cred;" +
                "$j = New-InstanceBackup -InstanceId $ti -Name renewrefused");
            _sim.Options.Password = "changed-meanwhile";
            var output = Run("$errs = $null; Wait-BackupJob -Job $j -PollingInterval 0.05 -Timeout 30 -ErrorVariable errs -ErrorAction SilentlyContinue");
            var error = (ErrorRecord)Assert.Single(Run("$errs")).BaseObject;
            Assert.StartsWith(ErrorIds.ConnectionAuthenticationFailed + ",", error.FullyQualifiedErrorId);
            var target = Assert.IsType<BackupJob>(error.TargetObject);
            Assert.Equal("renewrefused", target.BackupName);
            Assert.Contains(target.JobId, error.Exception.Message);
            Assert.Equal("renewrefused", Assert.Single(output.Select(o => o.BaseObject).OfType<BackupJob>()).BackupName);
        }
    }
}
