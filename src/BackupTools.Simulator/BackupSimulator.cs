using System.Net;
using BackupTools.Simulator.Services;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace BackupTools.Simulator;

/// <summary>
/// A real HTTP server on 127.0.0.1 that speaks the backup APIs of TaurusDB, DDS, Dataverse, ArcGIS Enterprise and
/// Cloud Foundry, each under its own prefix (see <see cref="EndpointFor"/>), plus control routes under <c>/_sim/</c>.
/// </summary>
public sealed class BackupSimulator : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly SimState _state;
    private readonly CancellationTokenSource _stopping;
    private int _disposed;

    private BackupSimulator(WebApplication app, SimState state, CancellationTokenSource stopping, Uri baseAddress)
    {
        _app = app;
        _state = state;
        _stopping = stopping;
        BaseAddress = baseAddress;
    }

    /// <summary>e.g. <c>http://127.0.0.1:54321/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The options in use; may be changed while running.</summary>
    public SimulatorOptions Options => _state.Options;

    public SimulatorCounters Counters => _state.Counters;

    public FaultSet Faults => _state.Faults;

    /// <summary>Jobs and backups currently held.</summary>
    public int JobCount => _state.Jobs.Count;

    /// <summary>
    /// Starts a simulator on <c>http://127.0.0.1:{options.Port}</c> (0 = a free port) and returns once it is listening.
    /// </summary>
    public static async Task<BackupSimulator> StartAsync(SimulatorOptions options = null, CancellationToken ct = default)
    {
        options ??= new SimulatorOptions();
        var stopping = new CancellationTokenSource();
        var state = new SimState(options, stopping.Token);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxConcurrentConnections = null;
            k.Limits.MaxConcurrentUpgradedConnections = null;
            k.Listen(IPAddress.Loopback, options.Port);
        });
        builder.Services.AddRoutingCore();
        var app = builder.Build();

        var middleware = new SimMiddleware(state);
        app.Use(middleware.InvokeAsync);
        foreach (var service in state.Services) service.Map(app.MapGroup("/" + service.Prefix));
        ControlApi.Map(app, state);

        try
        {
            await app.StartAsync(ct);
        }
        catch
        {
            await app.DisposeAsync();
            stopping.Dispose();
            throw;
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(address).Port;
        return new BackupSimulator(app, state, stopping, new Uri($"http://127.0.0.1:{port}/"));
    }

    /// <summary>
    /// The service root of a provider: "TaurusDB", "DDS", "Dataverse", "ArcGIS" or "CloudFoundry" (case-insensitive; the
    /// URL prefixes "taurusdb", "dds", "dataverse", "arcgis", "cf" work too).
    /// </summary>
    public Uri EndpointFor(string provider) => new(BaseAddress, ProviderNames.PrefixOf(provider) + "/");

    /// <summary>Clears jobs, counters, faults and the request log. Options and issued tokens stay.</summary>
    public void Reset() => _state.Reset();

    /// <summary>Ends every token the simulator's token endpoints issued (the static tokens stay valid).</summary>
    public void ExpireIssuedTokens() => _state.Tokens.ExpireAllIssued();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stopping.Cancel(); // ends injected delays at once
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            try { await _app.StopAsync(timeout.Token); }
            catch (OperationCanceledException) { }
        }
        await _app.DisposeAsync();
        _stopping.Dispose();
    }
}

/// <summary>The shared state of one simulator: options, jobs, counters, faults, tokens and the services.</summary>
internal sealed class SimState
{
    public SimState(SimulatorOptions options, CancellationToken stopping)
    {
        Options = options;
        Stopping = stopping;
        Tokens = new SimTokens(options);
        Services = new SimService[]
        {
            new TaurusDbApi(this), new DdsApi(this), new DataverseApi(this), new ArcGisApi(this), new CloudFoundryApi(this),
        };
    }

    public SimulatorOptions Options { get; }
    public CancellationToken Stopping { get; }
    public SimJobStore Jobs { get; } = new();
    public SimulatorCounters Counters { get; } = new();
    public FaultSet Faults { get; } = new();
    public SimTokens Tokens { get; }
    public AkSkLocks AkSkLocks { get; } = new();
    public SimService[] Services { get; }

    /// <summary>The service whose prefix starts <paramref name="path"/>, and the rest of the path (always starting with '/').</summary>
    public SimService ServiceFor(string path, out string rest)
    {
        rest = null;
        if (string.IsNullOrEmpty(path) || path[0] != '/') return null;
        var end = path.IndexOf('/', 1);
        var segment = end < 0 ? path.AsSpan(1) : path.AsSpan(1, end - 1);
        foreach (var service in Services)
        {
            if (segment.Equals(service.Prefix, StringComparison.OrdinalIgnoreCase))
            {
                rest = end < 0 ? "/" : path[end..];
                return service;
            }
        }
        return null;
    }

    public void Reset()
    {
        Faults.Clear();
        Jobs.Clear();
        Counters.Reset();
        AkSkLocks.Clear();
    }
}
