using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Commands;
using BackupTools.Simulator;
using Xunit;
using Xunit.Abstractions;

namespace BackupTools.Tests
{
    /// <summary>
    /// A -TokenProvider script block runs on its runspace's pipeline thread, and any BackupTools pump of that runspace
    /// runs it: a token renewed while the thread is in a downstream command's pump (<c>New-InstanceBackup -ThrottleLimit 4
    /// | Get-BackupJob</c>) used to hang the pipeline until Ctrl+C.
    /// </summary>
    public sealed class TokenProviderPipelineTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const string FirstToken = "first-token";
        private static readonly TimeSpan Limit = TimeSpan.FromSeconds(40);
        private readonly BackupSimulator _sim;
        private readonly ITestOutputHelper _out;
        private readonly List<PowerShellHost> _hosts = new List<PowerShellHost>();

        public TokenProviderPipelineTests(SimulatorFixture fixture, ITestOutputHelper output)
        {
            _out = output;
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromSeconds(30);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            lock (_sim.Options.Tokens) _sim.Options.Tokens.Add(FirstToken);
        }

        public void Dispose()
        {
            _sim.Faults.Clear();
            lock (_sim.Options.Tokens) _sim.Options.Tokens.Remove(FirstToken);
            foreach (var host in _hosts) host.Dispose();
            _sim.Reset();
        }

        private PowerShellHost NewHost()
        {
            var host = new PowerShellHost();
            _hosts.Add(host);
            host.Set("ep", _sim.EndpointFor("Dataverse").ToString());
            host.Set("tok", TestData.Secure(TestData.Token));
            host.Set("first", TestData.Secure(FirstToken));
            return host;
        }

        /// <summary>
        /// The reviewer's timing: the first create goes straight through, the others are held 400 ms, status reads
        /// 800 ms, and the first token stops working once the first create is answered, while the others are in flight
        /// and Get-BackupJob reads the first job.
        /// </summary>
        private void ExpireTheFirstTokenAfterTheFirstCreate()
        {
            _sim.Faults.Add(new FaultRule { Provider = "Dataverse", Method = "POST", PathContains = "InstanceBackups", Times = 1 });
            _sim.Faults.Add(new FaultRule { Provider = "Dataverse", Method = "POST", PathContains = "InstanceBackups", Delay = TimeSpan.FromMilliseconds(400), Times = int.MaxValue });
            _sim.Faults.Add(new FaultRule { Provider = "Dataverse", Method = "GET", Delay = TimeSpan.FromMilliseconds(800), Times = int.MaxValue });
            _ = Task.Run(async () =>
            {
                var deadline = DateTime.UtcNow + Limit;
                while (!_sim.Counters.Requests.Any(q => q.Provider == "Dataverse" && q.Method == "POST" && q.Status == 202) && DateTime.UtcNow < deadline)
                    await Task.Delay(5);
                lock (_sim.Options.Tokens) _sim.Options.Tokens.Remove(FirstToken);
            });
        }

        /// <summary>
        /// Six rows through New-InstanceBackup -ThrottleLimit 4 into Get-BackupJob, on a connection whose script block
        /// records the runspace and thread it runs on; then what the pipeline thread itself is ('here=').
        /// </summary>
        private static string ThrottledCreatesIntoGetBackupJob()
        {
            var ids = string.Join(",", Enumerable.Range(0, 6).Select(_ => "'" + Guid.NewGuid() + "'"));
            return "$global:seen = [System.Collections.Generic.List[string]]::new();" +
                   "$null = Connect-BackupService -Provider Dataverse -Endpoint $ep -AccessToken $first -TokenProvider {" +
                   "  $global:seen.Add([runspace]::DefaultRunspace.InstanceId.ToString() + '/' + [System.Threading.Thread]::CurrentThread.ManagedThreadId); $tok };" +
                   $"@({ids}) | ForEach-Object {{ [pscustomobject]@{{ InstanceId = $_; Name = 'renewed' }} }} | New-InstanceBackup -ThrottleLimit 4 | Get-BackupJob;" +
                   "'here=' + [runspace]::DefaultRunspace.InstanceId.ToString() + '/' + [System.Threading.Thread]::CurrentThread.ManagedThreadId;" +
                   "$global:seen | ForEach-Object { 'seen=' + $_ }";
        }

        private void Show(string name, PowerShellHost.Result r)
        {
            _out.WriteLine($"{name}: timed out {r.TimedOut}, terminating {r.Terminating?.Message}");
            foreach (var e in r.Errors) _out.WriteLine($"{name} error: {e.FullyQualifiedErrorId} {e}");
            foreach (var o in r.Output) _out.WriteLine($"{name} out: {o}");
        }

        private static List<string> Lines(PowerShellHost.Result r, string prefix) =>
            r.Output.Select(o => o.BaseObject).OfType<string>().Where(s => s.StartsWith(prefix, StringComparison.Ordinal)).Select(s => s.Substring(prefix.Length)).ToList();

        /// <summary>
        /// A -TokenProvider script that throws a network error once (Get-AzAccessToken's connection reset) while
        /// Wait-BackupJob needs a new token: the reads try again and ask the script again; every job is written.
        /// </summary>
        [Fact]
        public void A_token_provider_script_that_throws_a_network_error_once_does_not_end_a_wait()
        {
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            var ps = NewHost();
            ps.Set("bad", TestData.Secure("a-token-the-service-does-not-know"));
            var r = ps.Run(
                "$good = Connect-BackupService -Provider Dataverse -Endpoint $ep -AccessToken $tok;" +
                "$jobs = 1..10 | ForEach-Object { New-InstanceBackup -Connection $good -InstanceId ([guid]::NewGuid().ToString()) -Name \"blip$_\" };" +
                "$global:calls = 0;" +
                "$c = Connect-BackupService -Provider Dataverse -Endpoint $ep -AccessToken $bad -TokenProvider {" +
                "  $global:calls++; if ($global:calls -eq 1) { throw [System.Net.Http.HttpRequestException]::new('login.microsoftonline.com: connection reset (blip)') }; $tok };" +
                "$jobs | Wait-BackupJob -Connection $c -PollingInterval 0.05 -Timeout 30;" +
                "'calls=' + $global:calls");
            Show("wait", r);
            Assert.Null(r.Terminating);
            Assert.Empty(r.Errors);
            Assert.Equal(10, r.Objects<BackupJob>().Count(j => j.State == BackupJobState.Succeeded));
            Assert.Equal(new[] { "2" }, Lines(r, "calls="));
        }

        /// <summary>
        /// ConstrainedLanguage (Device Guard, AppLocker) refuses the help's <c>{ ... }.GetNewClosure()</c>; the help's
        /// alternative, a plain script block that reads a variable of the global scope, or of the script's scope in the
        /// script that uses the connection, renews the token there.
        /// </summary>
        [Theory]
        [InlineData("global", "$global:fresh = $tok; $c = Connect-BackupService -Provider Dataverse -Endpoint $ep -AccessToken $first -TokenProvider { $global:calls++; $global:fresh };" +
                              "$jobs | Wait-BackupJob -Connection $c -PollingInterval 0.05 -Timeout 20")]
        [InlineData("script", "& $scriptFile -Jobs $jobs -Endpoint $ep -First $first -Fresh $tok")]
        public void In_ConstrainedLanguage_a_plain_script_block_reading_a_global_or_script_variable_renews_the_token(string scope, string script)
        {
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            var file = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"tokenprovider-{Guid.NewGuid():N}.ps1");
            System.IO.File.WriteAllText(file,
                "param($Jobs, $Endpoint, $First, $Fresh)\n" +
                "$script:fresh = $Fresh\n" +
                "$c = Connect-BackupService -Provider Dataverse -Endpoint $Endpoint -AccessToken $First -TokenProvider { $global:calls++; $script:fresh }\n" +
                "$Jobs | Wait-BackupJob -Connection $c -PollingInterval 0.05 -Timeout 20\n");
            try
            {
                var iss = System.Management.Automation.Runspaces.InitialSessionState.CreateDefault2();
                iss.LanguageMode = System.Management.Automation.PSLanguageMode.ConstrainedLanguage;
                iss.ImportPSModule(new[] { PowerShellHost.ModuleManifest });
                using var runspace = System.Management.Automation.Runspaces.RunspaceFactory.CreateRunspace(iss);
                runspace.Open();
                runspace.SessionStateProxy.SetVariable("ep", _sim.EndpointFor("Dataverse").ToString());
                runspace.SessionStateProxy.SetVariable("tok", TestData.Secure(TestData.Token));
                runspace.SessionStateProxy.SetVariable("first", TestData.Secure(FirstToken));
                runspace.SessionStateProxy.SetVariable("scriptFile", file);
                System.Collections.ObjectModel.Collection<System.Management.Automation.PSObject> Run(string code, out List<System.Management.Automation.ErrorRecord> errors)
                {
                    using var ps = System.Management.Automation.PowerShell.Create();
                    ps.Runspace = runspace;
                    var output = ps.AddScript(code).Invoke();
                    errors = ps.Streams.Error.ToList();
                    foreach (var e in errors) _out.WriteLine($"{scope} error: {e.FullyQualifiedErrorId} {e}");
                    return output;
                }

                // The help's recipe is refused here, as the note says.
                Run("$resource = 'r'; Connect-BackupService -Provider Dataverse -Endpoint $ep -TokenProvider ({ $resource }.GetNewClosure())", out var refused);
                Assert.Contains(refused, e => e.FullyQualifiedErrorId.StartsWith("MethodInvocationNotSupportedInConstrainedLanguage", StringComparison.Ordinal));

                Run("$global:calls = 0; $good = Connect-BackupService -Provider Dataverse -Endpoint $ep -AccessToken $tok;" +
                    "$global:jobs = 1..2 | ForEach-Object { New-InstanceBackup -Connection $good -InstanceId ([guid]::NewGuid().ToString()) -Name \"cl$_\" }", out var created);
                Assert.Empty(created);
                lock (_sim.Options.Tokens) _sim.Options.Tokens.Remove(FirstToken);
                var waited = Run(script, out var errors);
                Assert.Empty(errors);
                Assert.Equal(2, waited.Select(o => o.BaseObject).OfType<BackupJob>().Count(j => j.State == BackupJobState.Succeeded));
                Assert.Equal(1, (int)Run("$global:calls", out _).Single().BaseObject);
            }
            finally
            {
                System.IO.File.Delete(file);
            }
        }

        /// <summary>
        /// A -TokenProvider connection made in a runspace that has closed since (a thread job's, a ForEach-Object
        /// -Parallel block's, handed back to the caller): its script block belongs to that runspace's session state.
        /// Before, every job failed with "the token provider failed: Object reference not set to an instance of an
        /// object."; the error now says what happened and what to do, and the jobs fail at once.
        /// </summary>
        [Fact]
        public void A_token_provider_of_a_runspace_that_has_closed_fails_with_an_error_that_says_so()
        {
            _sim.Options.JobDuration = TimeSpan.FromSeconds(30);
            BackupConnection made;
            object jobs;
            using (var a = new PowerShellHost())
            {
                a.Set("ep", _sim.EndpointFor("Dataverse").ToString());
                a.Set("tok", TestData.Secure(TestData.Token));
                a.Set("first", TestData.Secure(FirstToken));
                var r = a.Run("$good = Connect-BackupService -Provider Dataverse -Endpoint $ep -AccessToken $tok;" +
                              "$global:jobs = 1..2 | ForEach-Object { New-InstanceBackup -Connection $good -InstanceId ([guid]::NewGuid().ToString()) -Name \"closed$_\" };" +
                              "Connect-BackupService -Provider Dataverse -Endpoint $ep -AccessToken $first -TokenProvider { $tok }");
                Assert.Empty(r.Errors);
                made = r.Objects<BackupConnection>().Single();
                jobs = a.Get("jobs");
            } // the runspace the connection was made in is closed
            lock (_sim.Options.Tokens) _sim.Options.Tokens.Remove(FirstToken);
            var b = NewHost();
            b.Set("c", made);
            b.Set("jobs", jobs);
            var started = DateTime.UtcNow;
            var wait = b.Run("$jobs | Wait-BackupJob -Connection $c -PollingInterval 0.1 -Timeout 20", TimeSpan.FromSeconds(40));
            Show("wait", wait);
            Assert.False(wait.TimedOut);
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15), "the jobs failed at once, not at the wait's timeout");
            Assert.Equal(2, wait.Errors.Count);
            Assert.All(wait.Errors, e =>
            {
                Assert.StartsWith(ErrorIds.ConnectionAuthenticationFailed + ",", e.FullyQualifiedErrorId);
                Assert.Contains("the -TokenProvider script block belongs to a runspace that is closed", e.ToString());
                Assert.Contains("connect again in this runspace", e.ToString());
                Assert.DoesNotContain("Object reference", e.ToString());
            });
        }

        /// <summary>
        /// Before: a first token no HTTP header can carry (a space or a line break inside) with -TokenProvider was taken
        /// and replaced the working default connection; every request then failed ConnectionParameterInvalid, and the
        /// script was never asked. It is refused at Connect, as -AccessToken alone is.
        /// </summary>
        [Theory]
        [InlineData("sim secret-part")]
        [InlineData("sim\nsecret-part")]
        public void A_first_token_no_header_can_carry_is_refused_at_Connect_and_the_default_connection_stays(string first)
        {
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            var ps = NewHost();
            ps.Set("bad", TestData.Secure(first));
            var r = ps.Run(
                "$global:calls = 0; $null = Connect-BackupService -Provider Dataverse -Endpoint $ep -AccessToken $tok;" +
                "Connect-BackupService -Provider Dataverse -Endpoint $ep -AccessToken $bad -TokenProvider { $global:calls++; $tok }");
            Show("connect", r);
            var record = r.Terminating != null ? ((System.Management.Automation.IContainsErrorRecord)r.Terminating).ErrorRecord : Assert.Single(r.Errors);
            Assert.Empty(r.Objects<BackupConnection>());
            Assert.StartsWith(ErrorIds.ConnectionParameterInvalid + ",", record.FullyQualifiedErrorId);
            Assert.StartsWith("AccessToken holds a line break", record.Exception.Message);
            Assert.DoesNotContain("secret-part", r.AllText());

            var create = ps.Run($"New-InstanceBackup -InstanceId {Guid.NewGuid()} -Name default-stays; 'calls=' + $global:calls");
            Show("create", create);
            Assert.Empty(create.Errors);
            Assert.Equal("default-stays", Assert.Single(create.Objects<BackupJob>()).BackupName);
            Assert.Equal(new[] { "0" }, Lines(create, "calls="));

            // White space around the first token (Get-Content -Raw's line break) is taken off, not refused; the script
            // is still asked only when the service refuses that token.
            var trailing = ps.Run(
                "$null = Connect-BackupService -Provider Dataverse -Endpoint $ep -AccessToken \"first-token`r`n\" -TokenProvider { $global:calls++; $tok };" +
                $"$null = New-InstanceBackup -InstanceId {Guid.NewGuid()} -Name first-token-trimmed; 'calls=' + $global:calls");
            Show("trailing", trailing);
            Assert.Null(trailing.Terminating);
            Assert.Empty(trailing.Errors);
            Assert.Equal(new[] { "0" }, Lines(trailing, "calls="));
        }

        [Fact]
        public void A_token_renewed_while_Get_BackupJob_reads_a_job_of_throttled_creates_does_not_hang_the_pipeline()
        {
            var ps = NewHost();
            ExpireTheFirstTokenAfterTheFirstCreate();
            var r = ps.Run(ThrottledCreatesIntoGetBackupJob(), Limit);
            Show("run", r);
            foreach (var q in _sim.Counters.Requests.Where(q => q.Provider == "Dataverse")) _out.WriteLine($"{q.At:HH:mm:ss.fff} {q.Method} {q.Path} {q.Status}");
            Assert.False(r.TimedOut, $"the pipeline hung (stopped after {Limit.TotalSeconds} s)");
            Assert.Null(r.Terminating);
            Assert.Empty(r.Errors);
            var jobs = r.Objects<BackupJob>().ToList();
            Assert.Equal(6, jobs.Count);
            Assert.All(jobs, j => Assert.Equal("renewed", j.BackupName));
            Assert.Contains(_sim.Counters.Requests, q => q.Provider == "Dataverse" && q.Status == 401);
            Assert.NotEmpty(Lines(r, "seen="));
        }

        [Fact]
        public void The_token_provider_script_block_runs_on_the_pipeline_thread_whichever_command_pumps()
        {
            var ps = NewHost();
            ExpireTheFirstTokenAfterTheFirstCreate();
            var r = ps.Run(ThrottledCreatesIntoGetBackupJob(), Limit);
            Show("run", r);
            Assert.False(r.TimedOut, "the pipeline hung");
            var here = Assert.Single(Lines(r, "here="));
            var seen = Lines(r, "seen=");
            Assert.NotEmpty(seen);
            Assert.All(seen, s => Assert.Equal(here, s));
        }

        [Fact]
        public void Two_runspaces_renewing_at_once_each_run_only_their_own_script_block()
        {
            var hosts = new[] { NewHost(), NewHost() };
            ExpireTheFirstTokenAfterTheFirstCreate();
            var script = ThrottledCreatesIntoGetBackupJob();
            var runs = hosts.Select(h => Task.Run(() => h.Run(script, Limit))).ToArray();
            Assert.True(Task.WaitAll(runs, Limit + TimeSpan.FromSeconds(20)), "a run did not end");
            var pipelineThreads = new List<string>();
            for (var i = 0; i < runs.Length; i++)
            {
                var r = runs[i].Result;
                Show($"runspace {i}", r);
                Assert.False(r.TimedOut, $"runspace {i}'s pipeline hung");
                Assert.Empty(r.Errors);
                Assert.Equal(6, r.Objects<BackupJob>().Count());
                var here = Assert.Single(Lines(r, "here="));
                pipelineThreads.Add(here);
                var seen = Lines(r, "seen=");
                Assert.NotEmpty(seen);
                Assert.All(seen, s => Assert.Equal(here, s));
            }
            Assert.NotEqual(pipelineThreads[0].Split('/')[0], pipelineThreads[1].Split('/')[0]);
        }

        [Fact]
        public void A_script_block_waiting_when_the_pipeline_is_stopped_never_runs()
        {
            // The token is refused at once and the script block is posted while the pipeline thread is busy upstream,
            // where no pump runs it; Ctrl+C then. It must not run later, in the next pipeline's pump.
            var ps = NewHost();
            lock (_sim.Options.Tokens) _sim.Options.Tokens.Remove(FirstToken);
            ps.Set("taurus", _sim.EndpointFor("TaurusDB").ToString());
            ps.Set("project", TestData.ProjectId);
            ps.Set("ti", TestData.TaurusInstance);
            var connect = ps.Run("$global:calls = 0; $null = Connect-BackupService -Provider Dataverse -Endpoint $ep -AccessToken $first -TokenProvider { $global:calls++; $tok };" +
                                 "$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $tok");
            Assert.Empty(connect.Errors);
            // The create is held 1 s before it is refused, so the script block is posted once the pipeline thread has gone
            // back upstream. Refused at once, the renewal could post it while the thread was still in the row's
            // ProcessRecord, whose pump rightly ran it (calls 1: seen once in a loaded run of this class beside others).
            _sim.Faults.Add(new FaultRule { Provider = "Dataverse", Method = "POST", PathContains = "InstanceBackups", StatusCode = null, Delay = TimeSpan.FromSeconds(1), Times = 1 });
            using var pipeline = ps.Pipeline(
                $"& {{ [pscustomobject]@{{ InstanceId = '{Guid.NewGuid()}'; Name = 'stopped' }}; while ($true) {{ [System.Threading.Thread]::Sleep(10) }} }} | New-InstanceBackup -Provider Dataverse -ThrottleLimit 2");
            var pending = pipeline.BeginInvoke();
            var deadline = DateTime.UtcNow + Limit;
            while (!_sim.Counters.Requests.Any(q => q.Provider == "Dataverse" && q.Method == "POST" && q.Status == 401) && DateTime.UtcNow < deadline) Thread.Sleep(10);
            Thread.Sleep(200); // (the renewal posts the script block meanwhile)
            var watch = System.Diagnostics.Stopwatch.StartNew();
            pipeline.Stop();
            watch.Stop();
            try { pipeline.EndInvoke(pending); } catch (System.Management.Automation.PipelineStoppedException) { }
            _out.WriteLine($"Ctrl+C took {watch.ElapsedMilliseconds} ms");
            Assert.Contains(_sim.Counters.Requests, q => q.Provider == "Dataverse" && q.Method == "POST" && q.Status == 401);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"Ctrl+C took {watch.ElapsedMilliseconds} ms");
            Assert.Equal(0, ps.Get("calls"));
            var after = ps.Run("$null = New-InstanceBackup -Provider TaurusDB -InstanceId $ti -Name after-stop | Get-BackupJob; $global:calls");
            Assert.Empty(after.Errors);
            Assert.Equal(0, Assert.Single(after.Output).BaseObject);
        }

        [Fact]
        public void A_pump_runs_shared_work_of_another_lane_but_never_its_own_work()
        {
            var work = new PipelineWork();
            var upstream = work.NewLane();
            var downstream = work.NewLane();
            var ran = new List<string>();
            upstream.Post(() => ran.Add("upstream output"));
            upstream.PostShared(() => ran.Add("upstream script"), () => ran.Add("upstream script not run"));
            downstream.Post(() => ran.Add("downstream output"));
            downstream.Complete();
            while (downstream.TryTake(wait: true, out var action)) action();
            Assert.Equal(new[] { "upstream script", "downstream output" }, ran);
            Assert.True(upstream.TryTake(wait: false, out var left));
            left();
            Assert.Equal("upstream output", ran.Last());
        }

        [Fact]
        public void Shared_work_of_a_closed_lane_is_not_run_and_says_so()
        {
            var work = new PipelineWork();
            var ended = work.NewLane();
            var other = work.NewLane();
            var ran = new List<string>();
            ended.PostShared(() => ran.Add("queued run"), () => ran.Add("queued not run"));
            ended.Close();
            ended.PostShared(() => ran.Add("late run"), () => ran.Add("late not run"));
            Assert.False(other.TryTake(wait: false, out _));
            Assert.Equal(new[] { "queued not run", "late not run" }, ran);
        }
    }
}
