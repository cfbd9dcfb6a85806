using System;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// A command stopped by Ctrl+C (SIGINT) in a session that ends with the stop: `pwsh -File runbook.ps1` stops the
    /// pipeline and exits at once, without running the script's finally blocks, so $BackupToolsUnwrittenJobs goes with
    /// the process and the warning is the only trace left in the log. It names each job in a form Wait-BackupJob takes.
    /// </summary>
    [Collection(TimingCollection.Name)]
    public sealed class StoppedSessionTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;
        private readonly CapturingHost _host = new CapturingHost(width: 200);
        private readonly PowerShellHost _ps;

        public StoppedSessionTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromSeconds(60);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _ps = new PowerShellHost(_host);
            _ps.Set("token", TestData.Secure(TestData.Token));
            _ps.Set("taurus", _sim.EndpointFor("TaurusDB").ToString());
            _ps.Set("project", TestData.ProjectId);
            _ps.Set("ti", TestData.TaurusInstance);
        }

        public void Dispose()
        {
            _ps.Dispose();
            _sim.Reset();
        }

        [Fact]
        public void Ctrl_C_names_each_job_in_the_warning_as_a_hashtable_Wait_BackupJob_takes()
        {
            _ps.Run("$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token; $BackupToolsUnwrittenJobs = $null");
            using var ps = _ps.Pipeline("'sig-1', 'sig-2' | ForEach-Object { [pscustomobject]@{ InstanceId = $ti; Name = $_ } } | " +
                                        "New-InstanceBackup -Provider TaurusDB | Wait-BackupJob -PollingInterval 0.05");
            var pending = ps.BeginInvoke();
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (_sim.Counters.Requests.Count(q => q.Method == "GET") < 2 && DateTime.UtcNow < deadline) Thread.Sleep(10);
            Thread.Sleep(300);
            ps.Stop();
            try { ps.EndInvoke(pending); } catch (PipelineStoppedException) { }
            var kept = _ps.Run("$BackupToolsUnwrittenJobs").Output.Select(o => o.BaseObject).OfType<BackupJob>().ToArray();
            Assert.Equal(2, kept.Length);
            // Still the variable for a session that goes on, and each job by what Wait-BackupJob -Job needs, for one
            // that does not.
            Assert.Contains("$BackupToolsUnwrittenJobs", _host.Text);
            foreach (var job in kept)
                Assert.Contains($"Provider = 'TaurusDB'; Endpoint = '{job.Endpoint}'; Scope = '{job.Scope}'", _host.Text.Replace("\n", string.Empty));
            foreach (var job in kept)
                Assert.Contains($"JobId = '{job.JobId}'", _host.Text.Replace("\n", string.Empty));
        }
    }
}
