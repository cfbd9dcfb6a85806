using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// BackupJobNotFound is a failing service's answer like any other: its record carries the service's own code,
    /// message and HTTP status (TaurusDB/DDS 404 DBS.200823, Dataverse 404 OperationNotFound, Cloud Foundry 404
    /// CF-ResourceNotFound, ArcGIS code 404 in an HTTP 200), in its properties and its message, for a single read
    /// (Get-BackupJob) and in a wait (Wait-BackupJob), keeping its id and category.
    /// </summary>
    public sealed class JobNotFoundServiceWordsTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private readonly BackupSimulator _sim;

        public JobNotFoundServiceWordsTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
        }

        public void Dispose() => _sim.Reset();

        /// <summary>A job the simulator never knew, started two hours ago: past every provider's grace.</summary>
        private (BackupConnection Connection, BackupJob Job) UnknownJob(string provider)
        {
            var huawei = provider == "TaurusDB" || provider == "DDS";
            var c = TestData.Connect(_sim, provider, scope: huawei ? TestData.ProjectId : null);
            var id = huawei ? "00000000000000000000000000000000" : provider == "ArcGIS" ? "j0000000000000000000000000000000" : Guid.NewGuid().ToString();
            return (c, new BackupJob(provider, c.Endpoint.ToString(), id, createdAt: DateTimeOffset.UtcNow.AddHours(-2),
                scope: huawei ? TestData.ProjectId : null));
        }

        private static void AssertCarriesServiceWords(BackupToolsException ex, BackupJob job, int status, string code, string message)
        {
            Assert.Equal(ErrorIds.BackupJobNotFound, ex.ErrorId);
            Assert.Equal(BackupErrorCategory.ObjectNotFound, ex.Category);
            Assert.Equal(job.JobId, Assert.IsType<BackupJob>(ex.Target).JobId);
            Assert.Equal(status, ex.HttpStatus);
            Assert.Equal(code, ex.ServiceCode);
            Assert.Equal(message.Replace("{id}", job.JobId), ex.ServiceMessage);
            Assert.Contains(code, ex.Message);
            Assert.Contains(message.Replace("{id}", job.JobId), ex.Message);
            Assert.Contains($"HTTP {status}", ex.Message);
            // The read is named once, with its address: the answer follows it, not a second copy of it.
            Assert.Single(System.Text.RegularExpressions.Regex.Matches(ex.Message, $"{job.Provider} GET "));
        }

        /// <summary>Each service's answer for a job it does not know: HTTP status, code and message ({id}: the job's id).</summary>
        public static TheoryData<string, int, string, string> UnknownJobAnswers => new TheoryData<string, int, string, string>
        {
            { "TaurusDB", 404, "DBS.200823", "The job does not exist." },
            { "DDS", 404, "DBS.200823", "The job does not exist." },
            { "Dataverse", 404, "OperationNotFound", "Operation '{id}' was not found." },
            { "CloudFoundry", 404, "CF-ResourceNotFound", "Job not found" },
            { "ArcGIS", 200, "404", "Job '{id}' does not exist or is inaccessible." },
        };

        [Theory]
        [MemberData(nameof(UnknownJobAnswers))]
        public async Task A_read_of_a_job_the_service_does_not_know_carries_the_service_s_code_message_and_status(string provider, int status, string code, string message)
        {
            var (c, job) = UnknownJob(provider);
            var ex = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.RefreshAsync(c, job, NullOperationLog.Instance, CancellationToken.None));
            AssertCarriesServiceWords(ex, job, status, code, message);
        }

        [Theory]
        [MemberData(nameof(UnknownJobAnswers))]
        public async Task A_wait_for_a_job_the_service_does_not_know_carries_the_service_s_code_message_and_status(string provider, int status, string code, string message)
        {
            var (c, job) = UnknownJob(provider);
            var events = await HuaweiFamilyTests.WaitAll(c, new[] { job });
            var ex = Assert.Single(events.Errors);
            AssertCarriesServiceWords(ex, job, status, code, message);
        }
    }
}
