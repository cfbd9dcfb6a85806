using System;
using System.Diagnostics;
using System.IO;
using System.Net.Http;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// The simulator started as a program, as <c>build.ps1 -Task Demo</c>, the Pester tests and the benchmarks start it:
    /// its defaults are the services' own behaviour, not the zeroed timing of the in-process tests.
    /// </summary>
    public sealed class SimulatorProgramTests
    {
        [Fact]
        public async Task Started_as_a_program_a_new_TaurusDB_or_DDS_job_is_not_found_for_its_first_seconds()
        {
            var dll = Path.Combine(AppContext.BaseDirectory, "BackupTools.Simulator.dll");
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in new[] { dll, "--port", "0", "--job-seconds", "30" }) psi.ArgumentList.Add(a);
            using var process = Process.Start(psi);
            try
            {
                var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
                var baseUri = Regex.Match(line ?? string.Empty, @"listening on (http://127\.0\.0\.1:\d+/)").Groups[1].Value;
                Assert.False(string.IsNullOrEmpty(baseUri), "first line: " + line);
                using var http = new HttpClient { BaseAddress = new Uri(baseUri) };
                foreach (var (prefix, path, instance, wrapped) in new[]
                {
                    ("taurusdb", "backups/create", TestData.TaurusInstance, false),
                    ("dds", "backups", TestData.DdsInstance, true),
                })
                {
                    var create = new HttpRequestMessage(HttpMethod.Post, $"{prefix}/v3/{TestData.ProjectId}/{path}")
                    {
                        Content = new StringContent(Wrap(wrapped, "{\"instance_id\":\"" + instance + "\",\"name\":\"" + TestData.UniqueName() + "\"}"),
                            Encoding.UTF8, "application/json"),
                    };
                    create.Headers.Add("X-Auth-Token", TestData.Token);
                    var created = await http.SendAsync(create);
                    var body = await created.Content.ReadAsStringAsync();
                    Assert.True(created.IsSuccessStatusCode, body);
                    var jobId = Regex.Match(body, "\"job_id\":\"([^\"]+)\"").Groups[1].Value;
                    var read = new HttpRequestMessage(HttpMethod.Get, $"{prefix}/v3/{TestData.ProjectId}/jobs?id={jobId}");
                    read.Headers.Add("X-Auth-Token", TestData.Token);
                    var status = await http.SendAsync(read);
                    Assert.Equal(404, (int)status.StatusCode);
                    Assert.Contains("DBS.200823", await status.Content.ReadAsStringAsync());
                }
            }
            finally
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
            }
        }

        private static string Wrap(bool wrapped, string fields) => wrapped ? "{\"backup\":" + fields + "}" : fields;
    }
}
