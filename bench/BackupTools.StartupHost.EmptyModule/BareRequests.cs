using System;
using System.Diagnostics;
using System.Net.Http;
using System.Text;

namespace BackupTools.StartupHost.EmptyModule
{
    /// <summary>
    /// The two requests of the measured first call (a DDS create, then its job's status read) made with a bare
    /// <see cref="HttpClient"/>: what any client pays for them in a fresh process, against which bench/Startup.ps1 sets
    /// the module's first call. Timed here, in compiled code, so that PowerShell's own first .NET method calls (which a
    /// script making these requests would pay for, and the module's cmdlets do not) are not counted.
    /// </summary>
    public static class BareRequests
    {
        /// <summary>Makes the two requests against the simulator at <paramref name="simulator"/>; returns the milliseconds they took.</summary>
        public static double Run(string simulator, string project, string instance)
        {
            var watch = Stopwatch.StartNew();
            var root = new Uri(simulator.TrimEnd('/') + "/");
            using (var http = new HttpClient())
            using (var post = new HttpRequestMessage(HttpMethod.Post, new Uri(root, "dds/v3/" + project + "/backups")))
            {
                post.Content = new StringContent("{\"backup\":{\"instance_id\":\"" + instance + "\",\"name\":\"raw-" + Guid.NewGuid().ToString("N").Substring(0, 8) + "\"}}", Encoding.UTF8, "application/json");
                post.Headers.Add("X-Auth-Token", "sim-token");
                string job;
                using (var created = http.SendAsync(post).GetAwaiter().GetResult())
                {
                    created.EnsureSuccessStatusCode();
                    var body = created.Content.ReadAsStringAsync().GetAwaiter().GetResult();
                    const string key = "\"job_id\":\"";
                    var at = body.IndexOf(key, StringComparison.Ordinal);
                    if (at < 0) throw new InvalidOperationException("No job_id in the create's answer: " + body);
                    at += key.Length;
                    job = body.Substring(at, body.IndexOf('"', at) - at);
                }
                using (var get = new HttpRequestMessage(HttpMethod.Get, new Uri(root, "dds/v3/" + project + "/jobs?id=" + job)))
                {
                    get.Headers.Add("X-Auth-Token", "sim-token");
                    using (var status = http.SendAsync(get).GetAwaiter().GetResult())
                    {
                        status.EnsureSuccessStatusCode();
                        status.Content.ReadAsStringAsync().GetAwaiter().GetResult();
                    }
                }
            }
            return watch.Elapsed.TotalMilliseconds;
        }
    }
}
