using System.Text;
using BackupTools.Simulator.Services;
using Microsoft.AspNetCore.Http.Features;

namespace BackupTools.Simulator;

/// <summary>
/// Runs for every request under a provider prefix: counts and logs it, applies the first matching fault, reads the
/// body for the handlers, and answers the service's own error shape for unknown routes and handler crashes.
/// </summary>
internal sealed class SimMiddleware
{
    private const string HtmlErrorPage =
        "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>" +
        "<p>The proxy server received an invalid response from an upstream server.</p><hr><address>sim-gateway</address></body></html>";

    private readonly SimState _state;

    public SimMiddleware(SimState state) => _state = state;

    public async Task InvokeAsync(HttpContext ctx, RequestDelegate next)
    {
        var service = _state.ServiceFor(ctx.Request.Path.Value, out var path);
        if (service == null)
        {
            await next(ctx);
            return;
        }

        var at = DateTimeOffset.UtcNow;
        _state.Counters.CountRequest();
        var call = new SimCall { Service = service, Path = path };
        ctx.Features.Set(call);
        // Logged before the answer's first byte leaves (OnStarting), so a client that has its answer always finds its
        // request in the log: logged after the answer, a test reading the log at once could miss it on a busy machine.
        // Answers that never start (dropped, aborted) are logged when the handling ends, with status 0.
        var logged = 0;
        void LogOnce(int code)
        {
            if (Interlocked.Exchange(ref logged, 1) == 0)
                _state.Counters.Log(new SimRequest(service.Name, ctx.Request.Method, path, ctx.Request.QueryString.Value ?? string.Empty, code, at, call.Body));
        }
        ctx.Response.OnStarting(() =>
        {
            LogOnce(ctx.Response.StatusCode);
            return Task.CompletedTask;
        });
        int status;
        try
        {
            status = await RunAsync(ctx, service, call, next);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested || _state.Stopping.IsCancellationRequested)
        {
            ctx.Abort();
            status = 0;
        }
        catch (IOException)
        {
            ctx.Abort(); // the client went away while we read or wrote
            status = 0;
        }
        LogOnce(status);
    }

    private async Task<int> RunAsync(HttpContext ctx, SimService service, SimCall call, RequestDelegate next)
    {
        service.OnRequest(ctx);
        var rule = _state.Faults.Take(service.Name, ctx.Request.Method, call.Path);
        if (rule != null && rule.Delay > TimeSpan.Zero && rule.Kind != FaultKind.SlowAnswer)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _state.Stopping);
            await Task.Delay(rule.Delay, cts.Token);
        }
        if (rule?.Kind == FaultKind.DropBeforeRead)
        {
            ctx.Abort();
            return 0;
        }

        call.Body = await ReadBodyAsync(ctx);
        if (rule == null)
        {
            await HandleAsync(ctx, service, call, next);
            return ctx.Response.StatusCode;
        }

        if (!string.IsNullOrEmpty(rule.RetryAfter)) ctx.Response.Headers.RetryAfter = rule.RetryAfter;
        if (rule.Location != null) ctx.Response.Headers.Location = rule.Location;
        if (rule.OperationLocation != null) ctx.Response.Headers["Operation-Location"] = rule.OperationLocation;
        if (rule.Kind == FaultKind.Status && rule.StatusCode is int answered) service.OnFaultAnswer(ctx, answered);
        if (rule.Headers != null)
            foreach (var (name, value) in rule.Headers) ctx.Response.Headers[name] = value;
        switch (rule.Kind)
        {
            case FaultKind.Status when rule.StatusCode is int code:
                if (rule.ReasonPhrase != null) ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseFeature>()!.ReasonPhrase = rule.ReasonPhrase;
                await SimService.Raw(ctx, code, rule.Body != null ? rule.ContentType : service.ErrorContentType, rule.Body ?? service.ErrorBody(code, call.Path));
                return code;
            case FaultKind.MalformedJson:
                await SimService.Raw(ctx, rule.StatusCode ?? 200, "application/json", rule.Body ?? "{\"job\": {");
                return ctx.Response.StatusCode;
            case FaultKind.HtmlPage:
                await SimService.Raw(ctx, rule.StatusCode ?? 200, "text/html; charset=utf-8", rule.Body ?? HtmlErrorPage);
                return ctx.Response.StatusCode;
            case FaultKind.EmptyBody:
                await SimService.Raw(ctx, rule.StatusCode ?? 200, rule.ContentType, string.Empty);
                return ctx.Response.StatusCode;
            case FaultKind.DropAfterRead:
                await BufferedAsync(ctx, () => HandleAsync(ctx, service, call, next));
                ctx.Abort();
                return 0;
            case FaultKind.TruncatedBody:
                var answer = await BufferedAsync(ctx, () => HandleAsync(ctx, service, call, next));
                var half = answer.Length / 2;
                ctx.Response.ContentLength = half;
                await ctx.Response.Body.WriteAsync(answer.AsMemory(0, half), ctx.RequestAborted);
                return ctx.Response.StatusCode;
            case FaultKind.StalledBody:
                var full = await BufferedAsync(ctx, () => HandleAsync(ctx, service, call, next));
                // A status of the rule's own in place of the handler's (a gateway's 403 to a sign-in, say).
                if (rule.StatusCode is int stalledStatus) ctx.Response.StatusCode = stalledStatus;
                // A body of the rule's own in place of the handler's (its status and headers kept): an answer without
                // a body (Cloud Foundry's 202) has nothing to stall.
                if (rule.Body != null)
                {
                    full = Encoding.UTF8.GetBytes(rule.Body);
                    ctx.Response.ContentType = rule.ContentType;
                }
                ctx.Response.ContentLength = full.Length;
                await ctx.Response.Body.WriteAsync(full.AsMemory(0, full.Length / 2), ctx.RequestAborted);
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
                using (var stall = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _state.Stopping))
                {
                    try { await Task.Delay(Timeout.Infinite, stall.Token); }
                    catch (OperationCanceledException) { }
                }
                ctx.Abort();
                return 0;
            case FaultKind.SlowAnswer:
                var held = await BufferedAsync(ctx, () => HandleAsync(ctx, service, call, next));
                using (var slow = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, _state.Stopping))
                    await Task.Delay(rule.Delay, slow.Token);
                ctx.Response.ContentLength = held.Length;
                await ctx.Response.Body.WriteAsync(held, ctx.RequestAborted);
                return ctx.Response.StatusCode;
            default: // Status without a status code: only the delay (and Retry-After) applies
                await HandleAsync(ctx, service, call, next);
                return ctx.Response.StatusCode;
        }
    }

    private static async Task HandleAsync(HttpContext ctx, SimService service, SimCall call, RequestDelegate next)
    {
        if (ctx.GetEndpoint() == null)
        {
            await service.UnknownRouteAsync(ctx, call.Path);
            return;
        }
        try
        {
            await next(ctx);
        }
        catch (Exception e) when (e is not OperationCanceledException && e is not IOException && !ctx.Response.HasStarted)
        {
            ctx.Response.Clear();
            await SimService.Raw(ctx, 500, service.ErrorContentType, service.ErrorBody(500, call.Path));
        }
    }

    /// <summary>Runs the handler with its answer captured instead of sent; returns the captured body.</summary>
    private static async Task<byte[]> BufferedAsync(HttpContext ctx, Func<Task> handler)
    {
        var original = ctx.Features.Get<IHttpResponseBodyFeature>();
        using var buffer = new MemoryStream();
        ctx.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(buffer));
        try
        {
            await handler();
        }
        finally
        {
            ctx.Features.Set(original);
        }
        return buffer.ToArray();
    }

    private static async Task<string> ReadBodyAsync(HttpContext ctx)
    {
        if (ctx.Request.ContentLength == 0) return string.Empty;
        using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 4096, leaveOpen: true);
        return await reader.ReadToEndAsync(ctx.RequestAborted);
    }
}
