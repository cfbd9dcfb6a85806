using System.Collections.Concurrent;
using System.Diagnostics;

namespace BackupTools.Simulator;

internal enum JobPhase { Pending, Running, Succeeded, Failed }

/// <summary>
/// One backup and the job creating it. Its state is computed from its creation time and duration (no timer per job),
/// so the store can hold many thousands cheaply.
/// </summary>
internal sealed class SimJob
{
    public string Provider { get; init; }
    public string JobId { get; init; }
    public string BackupId { get; init; }
    /// <summary>TaurusDB/DDS project id, ArcGIS store name; null elsewhere.</summary>
    public string Scope { get; init; }
    public string InstanceId { get; init; }
    public string Name { get; init; }
    public string Description { get; init; }
    public long RetentionDate { get; init; }
    public long Sequence { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public long StartTimestamp { get; init; }
    public TimeSpan Duration { get; init; }
    public TimeSpan NotFoundWindow { get; init; }
    public bool Fails { get; init; }
    public bool Weird { get; init; }

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(StartTimestamp);

    public bool IsFinal(TimeSpan elapsed) => elapsed >= Duration;

    /// <summary>Pending for the first 10% of the duration, then Running, then the outcome.</summary>
    public JobPhase PhaseAt(TimeSpan elapsed) =>
        elapsed >= Duration ? (Fails ? JobPhase.Failed : JobPhase.Succeeded)
        : elapsed.Ticks < Duration.Ticks / 10 ? JobPhase.Pending : JobPhase.Running;

    /// <summary>0-99 while running, 100 when done.</summary>
    public int PercentAt(TimeSpan elapsed) =>
        elapsed >= Duration ? 100 : (int)Math.Clamp(elapsed.Ticks * 100 / Math.Max(1, Duration.Ticks), 0, 99);

    public double FractionAt(TimeSpan elapsed) =>
        Duration <= TimeSpan.Zero ? 1 : Math.Clamp((double)elapsed.Ticks / Duration.Ticks, 0, 1);

    public DateTimeOffset EndsAt => CreatedAt + Duration;

    /// <summary>When the job last changed: now while running, its end once final.</summary>
    public DateTimeOffset UpdatedAt(TimeSpan elapsed) => IsFinal(elapsed) ? EndsAt : CreatedAt + elapsed;
}

/// <summary>All jobs and backups of one simulator; lock-free (ConcurrentDictionary).</summary>
internal sealed class SimJobStore
{
    private readonly ConcurrentDictionary<string, SimJob> _jobs = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, SimJob> _backups = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, SimJob> _names = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SimJob> _busy = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, SimJob> _latest = new(StringComparer.Ordinal);
    private long _sequence;

    public int Count => _jobs.Count;

    /// <summary>A new job with timing and outcome taken from the options now.</summary>
    public SimJob NewJob(SimulatorOptions options, string provider, string jobId, string backupId, string scope,
        string instanceId, string name, string description, long retentionDate = 0) => new()
    {
        Provider = provider,
        JobId = jobId,
        BackupId = backupId,
        Scope = scope,
        InstanceId = instanceId,
        Name = name,
        Description = description,
        RetentionDate = retentionDate,
        Sequence = Interlocked.Increment(ref _sequence),
        CreatedAt = DateTimeOffset.UtcNow,
        StartTimestamp = Stopwatch.GetTimestamp(),
        Duration = options.JobDuration,
        NotFoundWindow = options.NotFoundWindow,
        Fails = options.NameFails(name) || options.IsFailingInstance(instanceId),
        Weird = options.NameIsWeird(name),
    };

    /// <summary>Claims a backup name within a provider's scope (project, store); false when it is taken.</summary>
    public bool TryClaimName(SimJob job) => _names.TryAdd(job.Provider + "\u001f" + job.Scope + "\u001f" + job.Name, job);

    /// <summary>Claims the instance for this job; false while another job for it is still running.</summary>
    public bool TryClaimInstance(SimJob job, out SimJob running)
    {
        var key = job.Provider + "\u001f" + job.InstanceId;
        while (true)
        {
            if (_busy.TryAdd(key, job)) { running = null; return true; }
            if (!_busy.TryGetValue(key, out var current)) continue;
            if (!current.IsFinal(current.Elapsed)) { running = current; return false; }
            if (_busy.TryUpdate(key, job, current)) { running = null; return true; }
        }
    }

    /// <summary>Gives up the job's claim on its instance (its create was refused after all).</summary>
    public void ReleaseInstance(SimJob job) =>
        _busy.TryRemove(new KeyValuePair<string, SimJob>(job.Provider + "\u001f" + job.InstanceId, job));

    public void Add(SimJob job)
    {
        _jobs[job.JobId] = job;
        if (job.BackupId != null) _backups[job.BackupId] = job;
        _latest[job.Provider] = job;
    }

    public SimJob Find(string provider, string jobId) =>
        jobId != null && _jobs.TryGetValue(jobId, out var job) && job.Provider == provider ? job : null;

    public SimJob FindBackup(string provider, string backupId) =>
        backupId != null && _backups.TryGetValue(backupId, out var job) && job.Provider == provider ? job : null;

    /// <summary>The provider's most recent job, or null.</summary>
    public SimJob Latest(string provider) => _latest.TryGetValue(provider, out var job) ? job : null;

    /// <summary>The provider's backups matching the filter, oldest first.</summary>
    public List<SimJob> Backups(string provider, Func<SimJob, bool> filter)
    {
        var list = new List<SimJob>();
        foreach (var job in _backups.Values)
            if (job.Provider == provider && filter(job)) list.Add(job);
        list.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        return list;
    }

    public void Clear()
    {
        _jobs.Clear();
        _backups.Clear();
        _names.Clear();
        _busy.Clear();
        _latest.Clear();
    }
}
