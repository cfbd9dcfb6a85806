using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Simulator;
using Xunit;
using Xunit.Abstractions;

namespace BackupTools.Tests
{
    /// <summary>
    /// The create-side fault matrix for all five services. Services whose backup names are unique (TaurusDB, DDS)
    /// survive every fault (FaultMatrixTests proves it in detail); for the others a fault after which the backup may
    /// exist cannot be repeated safely, so it must end in a clear error that says so. Either way the simulator never
    /// counts more than one backup for the request.
    /// </summary>
    public sealed class AllProvidersFaultMatrixTests : IClassFixture<SimulatorFixture>
    {
        private readonly BackupSimulator _sim;
        private readonly ITestOutputHelper _output;

        public AllProvidersFaultMatrixTests(SimulatorFixture fixture, ITestOutputHelper output)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _output = output;
        }

        public static readonly string[] Providers = { "TaurusDB", "DDS", "Dataverse", "CloudFoundry", "ArcGIS" };

        public static IEnumerable<object[]> Cases() =>
            from provider in Providers
            from fault in new[] { "429", "503", "reset-before-read", "reset-after-read", "truncated", "malformed", "html-200", "empty", "no-answer" }
            select new object[] { provider, fault };

        private static FaultRule Rule(string fault) => fault switch
        {
            "429" => new FaultRule { StatusCode = 429, RetryAfter = "1" },
            "503" => new FaultRule { StatusCode = 503, RetryAfter = DateTimeOffset.UtcNow.AddSeconds(1).ToString("r") },
            "reset-before-read" => new FaultRule { Kind = FaultKind.DropBeforeRead },
            "reset-after-read" => new FaultRule { Kind = FaultKind.DropAfterRead },
            "truncated" => new FaultRule { Kind = FaultKind.TruncatedBody },
            "malformed" => new FaultRule { Kind = FaultKind.MalformedJson },
            "html-200" => new FaultRule { Kind = FaultKind.HtmlPage },
            "empty" => new FaultRule { Kind = FaultKind.EmptyBody },
            "no-answer" => new FaultRule { Delay = TimeSpan.FromSeconds(3) },
            _ => throw new ArgumentOutOfRangeException(nameof(fault)),
        };

        private (BackupConnection Connection, BackupRequest Request, string CountedAs) Setup(string provider)
        {
            switch (provider)
            {
                case "TaurusDB":
                    return (TestData.Connect(_sim, provider), new BackupRequest { InstanceId = TestData.TaurusInstance, Name = TestData.UniqueName() }, TestData.TaurusInstance);
                case "DDS":
                    return (TestData.Connect(_sim, provider), new BackupRequest { InstanceId = TestData.DdsInstance, Name = TestData.UniqueName() }, TestData.DdsInstance);
                case "Dataverse":
                    var environment = Guid.NewGuid().ToString();
                    return (TestData.Connect(_sim, provider, scope: null), new BackupRequest { InstanceId = environment, Name = TestData.UniqueName() }, environment);
                case "CloudFoundry":
                    var instance = Guid.NewGuid().ToString();
                    return (TestData.Connect(_sim, provider, scope: null), new BackupRequest { InstanceId = instance }, instance);
                default:
                    return (TestData.Connect(_sim, provider, scope: null),
                        new BackupRequest { Kind = BackupKind.DisasterRecovery, Name = TestData.UniqueName(), Passcode = TestData.Secure("passcode-1234") },
                        "DefaultBackupStore");
            }
        }

        [Theory]
        [MemberData(nameof(Cases))]
        public async Task A_create_fault_never_makes_a_second_backup_and_never_ends_silently(string provider, string fault)
        {
            var (connection, request, countedAs) = Setup(provider);
            var rule = Rule(fault);
            rule.Provider = provider;
            rule.Method = "POST";
            rule.PathContains = "backups";
            _sim.Faults.Add(rule);
            var retry = TestData.FastRetry();
            retry.RequestTimeout = TimeSpan.FromSeconds(1);

            string outcome;
            try
            {
                var job = await BackupService.StartAsync(connection, request, NullOperationLog.Instance, CancellationToken.None, retry);
                var events = await HuaweiFamilyTests.WaitAll(connection, new[] { job });
                Assert.Equal(BackupJobState.Succeeded, Assert.Single(events.Finished).State);
                outcome = "survived";
            }
            catch (BackupToolsException ex)
            {
                // Not survived: a clear error, naming the service, that says whether the backup may exist.
                Assert.Contains(provider, ex.Message);
                Assert.Contains(ex.ErrorId, new[] { ErrorIds.BackupCreateOutcomeUnknown, ErrorIds.BackupResponseInvalid, ErrorIds.BackupServiceError, ErrorIds.BackupServiceUnreachable });
                if (ex.ErrorId == ErrorIds.BackupCreateOutcomeUnknown) Assert.Contains("may have started", ex.Message);
                Assert.False(provider == "TaurusDB" || provider == "DDS", $"{provider} has unique names and must survive {fault}: {ex.Message}");
                outcome = ex.ErrorId + (ex.ServiceCode != null ? " " + ex.ServiceCode : string.Empty);
            }
            if (rule.Delay > TimeSpan.Zero) await Task.Delay(rule.Delay + TimeSpan.FromMilliseconds(500));
            var backups = _sim.Counters.BackupsFor(provider, countedAs);
            _output.WriteLine($"{provider,-12} {fault,-18} {outcome,-40} backups made: {backups}");
            Assert.InRange(backups, outcome == "survived" ? 1 : 0, 1);
        }
    }
}
