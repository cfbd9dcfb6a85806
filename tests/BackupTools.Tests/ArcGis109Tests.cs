using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// ArcGIS Enterprise 10.9, whose create is <c>system/disasterrecovery/backuprestore/backup</c> (the store routes are
    /// 10.9.1 and later), against the simulator behaving as one (<see cref="SimulatorOptions.ArcGis109"/>).
    /// </summary>
    public sealed class ArcGis109Tests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const string Provider = "ArcGIS";
        private const string Ten9Path = "/admin/system/disasterrecovery/backuprestore/backup";
        private readonly BackupSimulator _sim;

        public ArcGis109Tests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(300);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
            _sim.Options.ArcGis109 = true;
        }

        public void Dispose()
        {
            _sim.Options.ArcGis109 = false;
            _sim.Reset();
        }

        private static BackupRequest Request(string store = null, DateTimeOffset? retention = null) => new BackupRequest
        {
            Kind = BackupKind.DisasterRecovery,
            Name = TestData.UniqueName("dr"),
            StoreName = store,
            Passcode = TestData.Secure("Zq7-passcode-XYZ"),
            RetentionDate = retention,
        };

        private BackupConnection Connection() => TestData.Connect(_sim, Provider, scope: null);

        private static Task<BackupJob> Start(BackupConnection c, BackupRequest r) =>
            BackupService.StartAsync(c, r, NullOperationLog.Instance, CancellationToken.None);

        private int Ten9Creates() => _sim.Counters.Requests.Count(q => q.Method == "POST" && q.Path.EndsWith(Ten9Path, StringComparison.Ordinal));

        [Fact]
        public async Task Without_a_store_or_retention_date_the_backup_is_created_on_the_10_9_path_and_followed_to_success()
        {
            var c = Connection();
            var job = await Start(c, Request());
            Assert.Equal(1, Ten9Creates());
            Assert.Equal(1, _sim.Counters.BackupsFor(Provider));
            Assert.Equal(c.Endpoint + "admin/jobs/" + job.JobId, job.StatusUrl);
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            var done = Assert.Single(events.Finished);
            Assert.Equal(BackupJobState.Succeeded, done.State);
            Assert.Contains(_sim.Counters.Requests, q => q.Method == "GET" && q.Path == "/admin/jobs/" + job.JobId);
        }

        [Fact]
        public async Task With_a_store_named_the_not_found_names_the_10_9_1_rule_and_keeps_the_service_s_code_and_message()
        {
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), Request(store: "DefaultBackupStore")));
            Assert.Equal(ErrorIds.BackupServiceError, ex.ErrorId);
            Assert.Equal("404", ex.ServiceCode);
            Assert.Contains("Could not find resource or operation", ex.ServiceMessage);
            Assert.Contains("Could not find resource or operation", ex.Message);
            Assert.Contains("10.9.1 or later", ex.Message);
            Assert.Contains("backuprestore/backup", ex.Message);
            Assert.Contains("-StoreName", ex.Message);
            Assert.Equal(0, Ten9Creates());
            Assert.Equal(0, _sim.Counters.BackupsFor(Provider));
        }

        [Fact]
        public async Task With_a_retention_date_the_10_9_path_is_not_used_and_the_error_says_why()
        {
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), Request(retention: DateTimeOffset.UtcNow.AddDays(7))));
            Assert.Equal("404", ex.ServiceCode);
            Assert.Contains("10.9.1 or later", ex.Message);
            Assert.Contains("-RetentionDate", ex.Message);
            Assert.Equal(0, Ten9Creates());
            Assert.Equal(0, _sim.Counters.BackupsFor(Provider));
        }

        [Fact]
        public async Task The_error_names_RetentionPeriod_too_which_also_gives_the_request_a_retention_date()
        {
            // New-DisasterRecoveryBackup -RetentionPeriod 3 makes a retention date: the error said "-RetentionDate was given"
            // and recommended leaving out -StoreName and -RetentionDate, to a user who had given neither.
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => Start(Connection(), Request(retention: DateTimeOffset.UtcNow.AddDays(3))));
            Assert.Contains("-RetentionPeriod", ex.Message);
            Assert.Contains("-RetentionPeriod", ex.RecommendedAction);
            Assert.Contains("-RetentionDate", ex.RecommendedAction);
        }

        [Fact]
        public async Task An_HTTP_404_from_the_store_routes_is_taken_as_not_found_too()
        {
            _sim.Options.ArcGis109 = false;
            _sim.Faults.Add(new FaultRule { Provider = Provider, PathContains = "/disasterrecovery/stores", StatusCode = 404, Times = int.MaxValue, Body = "Not Found", ContentType = "text/plain" });
            var job = await Start(Connection(), Request());
            Assert.Equal(1, Ten9Creates());
            Assert.False(string.IsNullOrEmpty(job.JobId));
        }

        [Fact]
        public async Task A_10_9_1_deployment_is_still_sent_to_the_store_path()
        {
            _sim.Options.ArcGis109 = false;
            var job = await Start(Connection(), Request());
            Assert.Equal("DefaultBackupStore", job.Scope);
            Assert.Equal(0, Ten9Creates());
            Assert.Single(_sim.Counters.Requests, q => q.Method == "POST" && q.Path.EndsWith("/stores/DefaultBackupStore/backups/create", StringComparison.Ordinal));
        }
    }
}
