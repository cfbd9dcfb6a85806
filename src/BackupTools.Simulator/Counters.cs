using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace BackupTools.Simulator;

/// <summary>One request the simulator answered (or dropped: <see cref="Status"/> 0).</summary>
/// <param name="Provider">Canonical provider name.</param>
/// <param name="Method">HTTP method.</param>
/// <param name="Path">The path after the provider prefix, e.g. <c>/v3/{project}/backups/create</c>.</param>
/// <param name="Query">The query string including '?', or empty.</param>
/// <param name="Status">The status sent; 0 when the connection was dropped without an answer.</param>
/// <param name="At">When the request arrived.</param>
/// <param name="Body">The request body as text (form or JSON); empty when there was none or it was never read.</param>
public sealed record SimRequest(string Provider, string Method, string Path, string Query, int Status, DateTimeOffset At, string Body);

/// <summary>What reached the simulator. Lock-free; all members may be read while requests are in flight.</summary>
public sealed class SimulatorCounters
{
    /// <summary>Most requests kept in <see cref="Requests"/>.</summary>
    public const int RequestLogCapacity = 100_000;

    private readonly ConcurrentDictionary<string, StrongBox<int>> _creates = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, StrongBox<int>> _backups = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, StrongBox<int>> _statusReads = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentQueue<SimRequest> _log = new();
    private int _logCount, _totalRequests, _totalCreates, _totalStatusReads;

    internal SimulatorCounters() { }

    /// <summary>Create requests that reached the service logic (after auth and fault injection) for that instance
    /// (TaurusDB/DDS instance id, Dataverse InstanceId, ArcGIS store name, CF service instance guid).</summary>
    public int CreatesFor(string provider, string instanceId) => Get(_creates, provider, instanceId);

    /// <summary>Backups actually created for that instance.</summary>
    public int BackupsFor(string provider, string instanceId) => Get(_backups, provider, instanceId);

    /// <summary>Status reads of that job that reached the service logic (after auth), including "not found" answers.</summary>
    public int StatusReadsFor(string provider, string jobId) => Get(_statusReads, provider, jobId);

    /// <summary>Create requests for any instance of that provider.</summary>
    public int CreatesFor(string provider) => Sum(_creates, provider);

    /// <summary>Backups created for any instance of that provider.</summary>
    public int BackupsFor(string provider) => Sum(_backups, provider);

    /// <summary>Requests to any provider route (control routes under /_sim/ excluded).</summary>
    public int TotalRequests => Volatile.Read(ref _totalRequests);

    public int TotalCreates => Volatile.Read(ref _totalCreates);

    public int TotalStatusReads => Volatile.Read(ref _totalStatusReads);

    /// <summary>A snapshot of the request log (oldest first, the last <see cref="RequestLogCapacity"/>).</summary>
    public IReadOnlyList<SimRequest> Requests => _log.ToArray();

    internal void CountRequest() => Interlocked.Increment(ref _totalRequests);

    internal void CountCreate(string provider, string instanceId)
    {
        Interlocked.Increment(ref _totalCreates);
        Increment(_creates, provider, instanceId);
    }

    internal void CountBackup(string provider, string instanceId) => Increment(_backups, provider, instanceId);

    internal void CountStatusRead(string provider, string jobId)
    {
        Interlocked.Increment(ref _totalStatusReads);
        Increment(_statusReads, provider, jobId);
    }

    internal void Log(SimRequest request)
    {
        _log.Enqueue(request);
        if (Interlocked.Increment(ref _logCount) > RequestLogCapacity && _log.TryDequeue(out _))
            Interlocked.Decrement(ref _logCount);
    }

    internal void Reset()
    {
        _creates.Clear();
        _backups.Clear();
        _statusReads.Clear();
        _log.Clear();
        Interlocked.Exchange(ref _logCount, 0);
        Interlocked.Exchange(ref _totalRequests, 0);
        Interlocked.Exchange(ref _totalCreates, 0);
        Interlocked.Exchange(ref _totalStatusReads, 0);
    }

    /// <summary>Per provider, per instance (or job) counts, for the control API.</summary>
    private static Dictionary<string, Dictionary<string, int>> Table(ConcurrentDictionary<string, StrongBox<int>> counts)
    {
        var table = new Dictionary<string, Dictionary<string, int>>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, box) in counts)
        {
            var cut = key.IndexOf(Separator);
            var provider = key[..cut];
            if (!table.TryGetValue(provider, out var row)) table[provider] = row = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            row[key[(cut + 1)..]] = Volatile.Read(ref box.Value);
        }
        return table;
    }

    internal Dictionary<string, Dictionary<string, int>> CreatesTable() => Table(_creates);
    internal Dictionary<string, Dictionary<string, int>> BackupsTable() => Table(_backups);
    internal Dictionary<string, Dictionary<string, int>> StatusReadsTable() => Table(_statusReads);

    private const char Separator = '\u001f';

    private static string Key(string provider, string id) => (ProviderNames.Canonical(provider) ?? provider ?? string.Empty) + Separator + (id ?? string.Empty);

    private static void Increment(ConcurrentDictionary<string, StrongBox<int>> counts, string provider, string id) =>
        Interlocked.Increment(ref counts.GetOrAdd(Key(provider, id), static _ => new StrongBox<int>()).Value);

    private static int Get(ConcurrentDictionary<string, StrongBox<int>> counts, string provider, string id) =>
        counts.TryGetValue(Key(provider, id), out var box) ? Volatile.Read(ref box.Value) : 0;

    private static int Sum(ConcurrentDictionary<string, StrongBox<int>> counts, string provider)
    {
        var prefix = Key(provider, null);
        var sum = 0;
        foreach (var (key, box) in counts)
            if (key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) sum += Volatile.Read(ref box.Value);
        return sum;
    }
}
