using System;
using System.Linq;
using System.Management.Automation;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// What a command stopped by an error (-ErrorAction Stop) keeps and reports while it writes what it holds first: a
    /// create that may have started is never left untraced, whatever the warning preference, and whatever a command
    /// after it does with the jobs written meanwhile.
    /// </summary>
    [Collection(TimingCollection.Name)]
    public sealed class StoppedWhileDrainingTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;
        private readonly CapturingHost _host = new CapturingHost(width: 400);
        private readonly PowerShellHost _ps;

        public StoppedWhileDrainingTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _ps = TestData.TaurusSession(_sim, _host);
            Run("$BackupToolsUnwrittenJobs = $null");
        }

        public void Dispose()
        {
            _ps.Dispose();
            _sim.Reset();
        }

        private PowerShellHost.Result Run(string script) => _ps.Run(script);

        private string[] Kept() => Run("$BackupToolsUnwrittenJobs").Output.Where(o => o != null).Select(o => o.BaseObject).OfType<BackupJob>()
            .Select(j => j.BackupName).OrderBy(n => n, StringComparer.Ordinal).ToArray();

        /// <summary>A row's create answers as the service would, held <paramref name="delay"/> first (zero: at once).</summary>
        private void CreateAnswers(TimeSpan delay) =>
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "POST", PathContains = "backups/create", Delay = delay });

        /// <summary>A row's create reaches the service, which starts the backup, and its answer is lost.</summary>
        private void CreateAnswerLost(TimeSpan delay) =>
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "POST", PathContains = "backups/create", Kind = FaultKind.DropAfterRead, Delay = delay });

        /// <summary>The lookup by name after a lost answer fails too: the create ends BackupCreateOutcomeUnknown.</summary>
        private void LookupsFail() =>
            _sim.Faults.Add(new FaultRule { Provider = "TaurusDB", Method = "GET", PathContains = "backups", StatusCode = 500, Times = int.MaxValue });

        private static string Rows(params string[] names) =>
            "& { " + string.Join(" [System.Threading.Thread]::Sleep(100); ", names.Select(n => $"[pscustomobject]@{{ InstanceId = $ti; Name = '{n}' }};")) + " }";

        [Fact]
        public void A_create_whose_answer_is_lost_while_a_refusal_stops_the_command_is_named_whatever_the_warning_preference()
        {
            // Row 1 is refused (nothing made) and its error stops the command; the creates in flight are waited for
            // first, and row 2's answer is lost meanwhile. Its failure was deferred to a warning, which
            // -WarningAction SilentlyContinue swallowed: a backup on the service, named nowhere.
            _sim.Faults.Add(new FaultRule
            {
                Provider = "TaurusDB", Method = "POST", PathContains = "backups/create", StatusCode = 400, Delay = TimeSpan.FromMilliseconds(150),
                Body = "{\"error_code\":\"DBS.200001\",\"error_msg\":\"Invalid parameter.\"}",
            });
            CreateAnswerLost(TimeSpan.FromMilliseconds(600));
            LookupsFail();
            var r = Run("try { " + Rows("refused-1", "lost-2") + " | New-InstanceBackup -Provider TaurusDB -ThrottleLimit 4 -ErrorAction Stop -WarningAction SilentlyContinue } " +
                        "catch { $caught = $_ }; $caught.FullyQualifiedErrorId");
            Assert.StartsWith(ErrorIds.BackupServiceError + ",", (string)r.Output.Single().BaseObject);
            Assert.Equal(1, _sim.Counters.BackupsFor("TaurusDB", TestData.TaurusInstance));
            Assert.Contains("may have started a backup", _host.Text);
            Assert.Contains("lost-2", _host.Text);
            Assert.DoesNotContain("refused-1", _host.Text); // its error reached the user
        }

        [Fact]
        public void A_lost_create_whose_own_error_stops_the_command_is_that_error_and_not_named_again()
        {
            // Its error record is what the catch block gets: the host warning for creates left untraced says nothing.
            CreateAnswerLost(TimeSpan.Zero);
            LookupsFail();
            var r = Run("try { " + Rows("lost-1") + " | New-InstanceBackup -Provider TaurusDB -ThrottleLimit 4 -ErrorAction Stop } catch { $caught = $_ }; $caught.FullyQualifiedErrorId");
            Assert.StartsWith(ErrorIds.BackupCreateOutcomeUnknown + ",", (string)r.Output.Single().BaseObject);
            Assert.DoesNotContain("may have started a backup", _host.Text);
        }

        [Fact]
        public void A_command_after_it_failing_on_a_job_written_while_it_stops_leaves_the_lost_create_named()
        {
            // Row 1 answered and written, row 2's answer lost, row 3 slow. Row 2's error stops the command; row 3's
            // job, written first, makes the command after it throw: row 2's error record was never written, and its
            // create was already forgotten.
            CreateAnswers(TimeSpan.Zero);
            CreateAnswerLost(TimeSpan.FromMilliseconds(300));
            CreateAnswers(TimeSpan.FromMilliseconds(1500));
            LookupsFail();
            Run("$Error.Clear(); $n = 0; try { " + Rows("fine-1", "lost-2", "slow-3") +
                " | New-InstanceBackup -Provider TaurusDB -ThrottleLimit 4 -ErrorAction Stop | ForEach-Object { if (++$n -ge 2) { throw 'export failed' } } } catch { }");
            Assert.Equal(3, _sim.Counters.BackupsFor("TaurusDB", TestData.TaurusInstance));
            Assert.Equal(new[] { "fine-1", "slow-3" }, Kept());
            Assert.Contains("may have started a backup", _host.Text);
            Assert.Contains("lost-2", _host.Text);
        }
    }
}
