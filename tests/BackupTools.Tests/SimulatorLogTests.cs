using System;
using System.Linq;
using System.Net.Http;
using System.Threading.Tasks;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// The simulator's request log is complete the moment a client has its answer: tests read it right after a call
    /// (a request logged only after its answer went out was once missing from it on a busy machine).
    /// </summary>
    public sealed class SimulatorLogTests : IClassFixture<SimulatorFixture>
    {
        private readonly BackupSimulator _sim;

        public SimulatorLogTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
        }

        [Fact]
        public async Task Every_answered_request_is_already_in_the_log_with_its_status()
        {
            using var client = new HttpClient();
            var url = new Uri(_sim.BaseAddress, "dds/v3/" + TestData.ProjectId + "/jobs?id=no-such-job");
            for (var i = 1; i <= 100; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                request.Headers.Add("X-Auth-Token", TestData.Token);
                // Headers only: the log must not wait for the body to be read either.
                using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                var log = _sim.Counters.Requests;
                Assert.True(log.Count == i, $"answer {i} arrived with {log.Count} requests in the log");
                Assert.Equal((int)response.StatusCode, log[^1].Status);
            }
        }

        [Fact]
        public async Task A_request_whose_answer_stalls_after_its_headers_is_in_the_log_once_the_headers_arrive()
        {
            // The deterministic case of the same contract: the handler is still running (its body stalls halfway)
            // when the client has the status line, so a log written when the handler ends would not hold it yet.
            _sim.Faults.Add(new FaultRule { Provider = "DDS", Method = "GET", Kind = FaultKind.StalledBody, Times = 1 });
            using var client = new HttpClient();
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_sim.BaseAddress, "dds/v3/" + TestData.ProjectId + "/jobs?id=no-such-job"));
            request.Headers.Add("X-Auth-Token", TestData.Token);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            var logged = Assert.Single(_sim.Counters.Requests);
            Assert.Equal("GET", logged.Method);
            Assert.Equal((int)response.StatusCode, logged.Status);
        }
    }
}
