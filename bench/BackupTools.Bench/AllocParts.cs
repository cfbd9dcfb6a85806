using System;
using System.Net;
using System.Net.Http;
using System.Security;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using BackupTools;
using BackupTools.Http;
using BackupTools.Providers;
using Microsoft.Extensions.DependencyInjection;

/// <summary>
/// `--alloc-parts`: where a status read's and a create's bytes go, step by step. A canned in-memory answer (the
/// simulator's DDS shapes) completes every request synchronously, so everything runs on one thread and
/// GC.GetAllocatedBytesForCurrentThread counts it exactly; no simulator, no sockets. Compare each line with the bare
/// HttpClient lines (the same canned answer, no BackupTools) and with each other.
/// </summary>
static class AllocParts
{
    sealed class Canned : HttpMessageHandler
    {
        public static readonly byte[] Body = Encoding.UTF8.GetBytes("{\"job\":{\"id\":\"3e56189cd08c408dbb6bf34f619ae90d\",\"name\":\"CreateBackup\",\"status\":\"Running\",\"created\":\"2026-11-24T03:43:17+0800\",\"ended\":null,\"progress\":\"8%\",\"instance\":{\"id\":\"0123456789abcdef0123456789abcdefin02\",\"name\":\"sim-01234567\"},\"entities\":{\"backup_id\":\"55122519842249868067c5f81b6414f7br02\"},\"fail_reason\":null}}");
        public static readonly byte[] Created = Encoding.UTF8.GetBytes("{\"job_id\":\"3e56189cd08c408dbb6bf34f619ae90d\",\"backup_id\":\"55122519842249868067c5f81b6414f7br02\"}");
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var r = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(request.Method == HttpMethod.Post ? Created : Body), RequestMessage = request };
            r.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=utf-8");
            r.Headers.TryAddWithoutValidation("Date", "Mon, 23 Nov 2026 19:43:17 GMT");
            return Task.FromResult(r);
        }
    }

    static long Measure(int n, Action a)
    {
        for (var i = 0; i < 50; i++) a();
        var b = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < n; i++) a();
        return (GC.GetAllocatedBytesForCurrentThread() - b) / n;
    }

    public static void Run()
    {
        var token = new SecureString(); foreach (var ch in "sim-token") token.AppendChar(ch);
        var c = BackupService.Connect(new ConnectRequest { Provider = "DDS", Endpoint = new Uri("http://127.0.0.1:1/dds/"), Scope = "0123456789abcdef0123456789abcdef", AccessToken = token });
        var job = new BackupJob("DDS", c.Endpoint.ToString(), "3e56189cd08c408dbb6bf34f619ae90d", "http://127.0.0.1:1/dds/v3/0123456789abcdef0123456789abcdef/jobs?id=3e56189cd08c408dbb6bf34f619ae90d", scope: c.Scope);
        var provider = ProviderRegistry.Get("DDS");
        var bare = new HttpClient(new Canned());
        var logged = new HttpClient(new LoggingHandler { InnerHandler = new Canned() });
        var call = new ServiceCall(c, NullOperationLog.Instance, CancellationToken.None, logged);
        const int n = 2000;
        Console.WriteLine($"bare HttpClient GET + ReadAsString: {Measure(n, () => { using var r = bare.SendAsync(new HttpRequestMessage(HttpMethod.Get, job.StatusUrl)).Result; r.Content.ReadAsStringAsync().Wait(); })}");
        Console.WriteLine($"GetStatusAsync (LoggingHandler + canned): {Measure(n, () => provider.GetStatusAsync(call, job).Wait())}");
        var req = new BackupRequest { InstanceId = "0123456789abcdef0123456789abcdefin02", Name = "bk-000001" };
        Console.WriteLine($"provider.StartAsync (canned): {Measure(n, () => provider.StartAsync(call, req).Wait())}");
        Console.WriteLine($"bare POST + ReadAsString: {Measure(n, () => { using var r = bare.SendAsync(new HttpRequestMessage(HttpMethod.Post, job.StatusUrl) { Content = new ByteArrayContent(Canned.Created) }).Result; r.Content.ReadAsStringAsync().Wait(); })}");
        Console.WriteLine($"Validate: {Measure(n, () => BackupService.Validate(c, req))}");
        Console.WriteLine($"Uri parse of status url: {Measure(n, () => new Uri(job.StatusUrl))}");
        Console.WriteLine($"JobUrl.StatusUrlOf: {Measure(n, () => JobUrl.StatusUrlOf(c, job))}");
        Console.WriteLine($"endpoint.Authority: {Measure(n, () => { var _ = c.Endpoint.Authority; })}");
        var body = Encoding.UTF8.GetString(Canned.Body);
        Console.WriteLine($"JSON parse+clone of body: {Measure(n, () => { using var d = System.Text.Json.JsonDocument.Parse(body); d.RootElement.Clone(); })}");
        Console.WriteLine($"JSON parse (bytes) no clone: {Measure(n, () => { using var d = System.Text.Json.JsonDocument.Parse(Canned.Body); })}");
        Console.WriteLine($"token apply: {Measure(n, () => { var m = new HttpRequestMessage(HttpMethod.Get, job.StatusUrl); c.Credential.ApplyAsync(m, call, TokenPlacement.XAuthToken).Wait(); })}");
        Console.WriteLine($"new request only: {Measure(n, () => { var m = new HttpRequestMessage(HttpMethod.Get, job.StatusUrl); })}");
        Console.WriteLine($"linked cts + CancelAfter: {Measure(n, () => { using var t = CancellationTokenSource.CreateLinkedTokenSource(CancellationToken.None); t.CancelAfter(100000); })}");
        Console.WriteLine($"factory client: {Measure(n, () => BackupHttp.ClientFor(c))}");
        // What HttpClientFactory's own logging handlers (LoggingHttpMessageHandler, LoggingScopeHttpMessageHandler,
        // added to every client unless removed) cost per request, with no logger listening.
        foreach (var removeLoggers in new[] { false, true })
        {
            var services = new ServiceCollection();
            services.AddHttpClient();
            services.ConfigureAll<Microsoft.Extensions.Http.HttpClientFactoryOptions>(o =>
            {
                o.HttpMessageHandlerBuilderActions.Add(b => { b.PrimaryHandler = new Canned(); b.AdditionalHandlers.Add(new LoggingHandler()); });
            });
            if (removeLoggers) services.ConfigureHttpClientDefaults(b => b.RemoveAllLoggers());
            var f = services.BuildServiceProvider().GetRequiredService<IHttpClientFactory>();
            var fc = new ServiceCall(c, NullOperationLog.Instance, CancellationToken.None, f.CreateClient("x"));
            Console.WriteLine($"GetStatusAsync via factory client (loggers removed: {removeLoggers}): {Measure(n, () => provider.GetStatusAsync(fc, job).Wait())}");
        }
        Console.WriteLine($"connection.Key: {Measure(n, () => { var _ = c.Key; })}");
    }
}
