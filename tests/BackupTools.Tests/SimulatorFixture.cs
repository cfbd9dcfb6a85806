using System;
using System.Security;
using System.Threading.Tasks;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>One simulator on loopback per test class; each test resets it.</summary>
    public sealed class SimulatorFixture : IAsyncLifetime
    {
        public BackupSimulator Sim { get; private set; }

        public async Task InitializeAsync() => Sim = await BackupSimulator.StartAsync(new SimulatorOptions());

        public async Task DisposeAsync()
        {
            if (Sim != null) await Sim.DisposeAsync();
        }
    }

    internal static class TestData
    {
        public const string Token = "sim-token";
        public const string ProjectId = "0123456789abcdef0123456789abcdef";
        public const string TaurusInstance = "0123456789abcdef0123456789abcdefin07";
        public const string DdsInstance = "0123456789abcdef0123456789abcdefin02";

        public static SecureString Secure(string s)
        {
            var secure = new SecureString();
            foreach (var c in s) secure.AppendChar(c);
            secure.MakeReadOnly();
            return secure;
        }

        public static BackupConnection Connect(BackupSimulator sim, string provider, string token = Token, string scope = ProjectId) =>
            BackupService.Connect(new ConnectRequest
            {
                Provider = provider,
                Endpoint = sim.EndpointFor(provider),
                Scope = scope,
                AccessToken = Secure(token),
            });

        /// <summary>The production retry rules with test-sized pauses.</summary>
        public static BackupTools.Http.CreateRetryOptions FastRetry(int busy = 5, int notProcessed = 3) => new BackupTools.Http.CreateRetryOptions
        {
            BusyRetries = busy, NotProcessedRetries = notProcessed, BaseDelay = TimeSpan.FromMilliseconds(20),
            MaxDelay = TimeSpan.FromMilliseconds(200), RequestTimeout = TimeSpan.FromSeconds(10),
        };

        /// <summary>Asserts the create is refused before sending: a rule error naming the parameter and rule, and no request seen.</summary>
        public static async System.Threading.Tasks.Task AssertRefusedBeforeSending(BackupSimulator sim, Func<System.Threading.Tasks.Task> start,
            string parameter, string ruleFragment)
        {
            var before = sim.Counters.TotalRequests;
            var ex = await Xunit.Assert.ThrowsAsync<BackupToolsException>(start);
            Xunit.Assert.Equal(ErrorIds.BackupParameterInvalid, ex.ErrorId);
            Xunit.Assert.Equal(BackupErrorCategory.InvalidArgument, ex.Category);
            Xunit.Assert.Contains(parameter, ex.Message);
            Xunit.Assert.Contains(ruleFragment, ex.Message);
            Xunit.Assert.Contains("Nothing was sent", ex.Message);
            Xunit.Assert.Equal(before, sim.Counters.TotalRequests);
        }

        /// <summary>
        /// A hosted engine writing to <paramref name="host"/>, connected to the simulator's TaurusDB ($taurus, $project,
        /// $ti and $token set), with jobs that last 30 s and no not-found window: what the tests of stopped creating
        /// commands start from.
        /// </summary>
        public static PowerShellHost TaurusSession(BackupSimulator sim, System.Management.Automation.Host.PSHost host)
        {
            sim.Reset();
            sim.Options.JobDuration = TimeSpan.FromSeconds(30);
            sim.Options.NotFoundWindow = TimeSpan.Zero;
            var ps = new PowerShellHost(host);
            ps.Set("token", Secure(Token));
            ps.Set("taurus", sim.EndpointFor("TaurusDB").ToString());
            ps.Set("project", ProjectId);
            ps.Set("ti", TaurusInstance);
            var connected = ps.Run("$null = Connect-BackupService -Provider TaurusDB -Endpoint $taurus -ProjectId $project -AccessToken $token");
            Xunit.Assert.Null(connected.Terminating);
            Xunit.Assert.Empty(connected.Errors);
            return ps;
        }

        /// <summary>
        /// A hosted engine for the cmdlet tests against the simulator (reset; jobs of 300 ms, no not-found window), with
        /// what their scripts use set: $token, $pass, $project, $projectB, $ti, $di, and each endpoint ($dv, $dds,
        /// $taurus, $arcgis, and $otherDds, $otherTaurus, $otherArcgis: the same service by another name, localhost).
        /// Nothing is connected.
        /// </summary>
        public static PowerShellHost HostedSession(BackupSimulator sim)
        {
            sim.Reset();
            sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            sim.Options.NotFoundWindow = TimeSpan.Zero;
            var ps = new PowerShellHost();
            ps.Set("token", Secure(Token));
            ps.Set("pass", Secure("Zq7-passcode-XYZ"));
            ps.Set("project", ProjectId);
            ps.Set("projectB", "fedcba9876543210fedcba9876543210");
            ps.Set("ti", TaurusInstance);
            ps.Set("di", DdsInstance);
            foreach (var (name, provider) in new[] { ("dv", "Dataverse"), ("dds", "DDS"), ("taurus", "TaurusDB"), ("arcgis", "ArcGIS") })
                ps.Set(name, sim.EndpointFor(provider).ToString());
            foreach (var (name, provider) in new[] { ("otherDds", "DDS"), ("otherTaurus", "TaurusDB"), ("otherArcgis", "ArcGIS") })
                ps.Set(name, sim.EndpointFor(provider).ToString().Replace("127.0.0.1", "localhost"));
            return ps;
        }

        public static string UniqueName(string prefix = "bk") => prefix + Guid.NewGuid().ToString("N").Substring(0, 12);
    }

    /// <summary>Collects log lines for assertions.</summary>
    internal sealed class ListLog : IOperationLog
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Lines { get; } = new System.Collections.Concurrent.ConcurrentQueue<string>();
        public void Verbose(string message) => Lines.Enqueue("V: " + message);
        public void Debug(string message) => Lines.Enqueue("D: " + message);
    }
}

namespace BackupTools.Tests
{
    /// <summary>
    /// Tests that assert a bound on elapsed time (cancellation within 200 ms, creates running concurrently) run in this
    /// collection, alone, after the parallel ones: on a 2-core CI machine a busy thread pool would otherwise decide them.
    /// </summary>
    [Xunit.CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class TimingCollection
    {
        public const string Name = "Timing";
    }
}
