namespace BackupTools.Simulator;

/// <summary>
/// How the simulator behaves. May be changed while the simulator runs: every scalar is read and written atomically
/// (volatile fields), and the simulator reads the two sets under a lock on the set itself, so change them while
/// requests are in flight only inside <c>lock (options.Tokens) { ... }</c> / <c>lock (options.FailingInstances) { ... }</c>.
/// </summary>
public sealed class SimulatorOptions
{
    private long _jobDurationTicks = TimeSpan.FromSeconds(2).Ticks;
    private long _notFoundWindowTicks;
    private long _akSkLockoutTicks = TimeSpan.FromMinutes(5).Ticks;
    private volatile int _akSkFailuresBeforeLock = 5;
    private long _tokenLifetimeTicks = -1; // -1 = null (never expires)
    private volatile string _failNamePrefix = "fail";
    private volatile string _unknownStatusNamePrefix = "weird";
    private volatile bool _reportProgress = true;
    private volatile bool _arcGisUseJobsProperty;
    private volatile bool _arcGisFailureInMessages;
    private volatile bool _arcGis109;
    private volatile string _statusUrlAuthority;
    private volatile bool _dataverseUsePascalCase;
    private long _dataverseListDelayTicks;
    private volatile bool _cloudFoundryInProgressAs422;
    private volatile bool _huaweiClaimsInstances;
    private volatile string _userName = "admin";
    private volatile string _password = "sim-password";
    private volatile string _clientId = "sim-client";
    private volatile string _clientSecret = "sim-secret";

    /// <summary>TCP port on 127.0.0.1; 0 picks a free one. Read once, at start.</summary>
    public int Port { get; set; }

    /// <summary>Time from create to the final state (captured per job when it is created).</summary>
    public TimeSpan JobDuration
    {
        get => new TimeSpan(Volatile.Read(ref _jobDurationTicks));
        set => Volatile.Write(ref _jobDurationTicks, Math.Max(0, value.Ticks));
    }

    /// <summary>
    /// The "not found right after create" window the simulator has when started as a program (the services' "first few
    /// seconds"); <c>--not-found-seconds 0</c> turns it off. Options made in code start at zero.
    /// </summary>
    public static readonly TimeSpan ProgramNotFoundWindow = TimeSpan.FromSeconds(2);

    /// <summary>TaurusDB/DDS: a new job id answers "not found" for this long after create.</summary>
    public TimeSpan NotFoundWindow
    {
        get => new TimeSpan(Volatile.Read(ref _notFoundWindowTicks));
        set => Volatile.Write(ref _notFoundWindowTicks, Math.Max(0, value.Ticks));
    }

    /// <summary>Accepted bearer / X-Auth-Token / ArcGIS tokens (never expire). Tokens the simulator issues are kept apart.</summary>
    public HashSet<string> Tokens { get; } = new(StringComparer.Ordinal) { "sim-token" };

    /// <summary>
    /// TaurusDB/DDS access keys (AK → SK) whose SDK-HMAC-SHA256 signatures are accepted. Change while requests are in
    /// flight only inside <c>lock (options.AccessKeys) { ... }</c>.
    /// </summary>
    public Dictionary<string, string> AccessKeys { get; } = new(StringComparer.Ordinal) { ["SIMAK000000000000000"] = "sim-secret-key" };

    /// <summary>
    /// TaurusDB/DDS: how long an access key stays locked once more than <see cref="AkSkFailuresBeforeLock"/> of its
    /// signatures in a row failed (taurusdb.md: five minutes). Meanwhile even a correct signature is refused with 401
    /// <c>APIG.0301</c>. Zero: never locked.
    /// </summary>
    public TimeSpan AkSkLockout
    {
        get => new TimeSpan(Volatile.Read(ref _akSkLockoutTicks));
        set => Volatile.Write(ref _akSkLockoutTicks, Math.Max(0, value.Ticks));
    }

    /// <summary>Failed signatures in a row an access key may have without being locked (taurusdb.md: "more than five").</summary>
    public int AkSkFailuresBeforeLock { get => _akSkFailuresBeforeLock; set => _akSkFailuresBeforeLock = Math.Max(0, value); }

    internal string SecretKeyOf(string accessKey)
    {
        lock (AccessKeys) return accessKey != null && AccessKeys.TryGetValue(accessKey, out var sk) ? sk : null;
    }

    /// <summary>A backup whose name (label) starts with this (case-insensitive) ends Failed. Null or empty: off.</summary>
    public string FailNamePrefix { get => _failNamePrefix; set => _failNamePrefix = value; }

    /// <summary>Instance ids / store names / CF guids whose backups end Failed.</summary>
    public HashSet<string> FailingInstances { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>A backup whose name starts with this reports "Frobnicating" while running, then ends Succeeded. Null or empty: off.</summary>
    public string UnknownStatusNamePrefix { get => _unknownStatusNamePrefix; set => _unknownStatusNamePrefix = value; }

    /// <summary>TaurusDB/DDS jobs report "progress": "NN%" while running.</summary>
    public bool ReportProgress { get => _reportProgress; set => _reportProgress = value; }

    /// <summary>ArcGIS create answers <c>jobs</c> (newer releases) instead of <c>jobsUrl</c>.</summary>
    public bool ArcGisUseJobsProperty { get => _arcGisUseJobsProperty; set => _arcGisUseJobsProperty = value; }

    /// <summary>
    /// A failed ArcGIS job gives its reason in <c>messages</c> (as older deployments do) instead of in <c>result</c>
    /// (<c>{status: "error", messages}</c>), where Esri's Job page says it is.
    /// </summary>
    public bool ArcGisFailureInMessages { get => _arcGisFailureInMessages; set => _arcGisFailureInMessages = value; }

    /// <summary>
    /// ArcGIS behaves as a 10.9 deployment: the disaster-recovery store routes (<c>stores</c>, <c>stores/{store}/backups</c>,
    /// <c>stores/{store}/backups/create</c>) answer ArcGIS's not-found body (HTTP 200, code 404); the 10.9 create
    /// <c>backuprestore/backup</c> (the default store) still works.
    /// </summary>
    public bool ArcGis109 { get => _arcGis109; set => _arcGis109 = value; }

    /// <summary>
    /// Creates answer their job's status address on this host and port (<c>gis-internal.corp:7443</c>), as a deployment
    /// behind a web adaptor or proxy names its internal machine: ArcGIS's <c>jobsUrl</c>, Cloud Foundry's <c>Location</c>,
    /// Dataverse's <c>Operation-Location</c> and <c>OperationLocation</c>. Null: the address the request came to.
    /// </summary>
    public string StatusUrlAuthority { get => _statusUrlAuthority; set => _statusUrlAuthority = value; }

    /// <summary>Dataverse answers in PascalCase (its schema) instead of camelCase (its examples).</summary>
    public bool DataverseUsePascalCase { get => _dataverseUsePascalCase; set => _dataverseUsePascalCase = value; }

    /// <summary>
    /// Dataverse lists a backup (<c>GET api/v1.2/InstanceBackups?instanceId=</c>) only this long after its operation
    /// reports Succeeded, as the service has been seen to do. Zero (default): a backup is listed from its creation.
    /// </summary>
    public TimeSpan DataverseListDelay
    {
        get => new TimeSpan(Volatile.Read(ref _dataverseListDelayTicks));
        set => Volatile.Write(ref _dataverseListDelayTicks, Math.Max(0, value.Ticks));
    }

    /// <summary>
    /// Cloud Foundry refuses a backup of an instance with an operation in progress as v3 does: 422
    /// <c>CF-UnprocessableEntity</c> (code 10008, "There is an operation in progress for the service instance.")
    /// instead of 409 <c>CF-AsyncServiceInstanceOperationInProgress</c> (60016).
    /// </summary>
    public bool CloudFoundryInProgressAs422 { get => _cloudFoundryInProgressAs422; set => _cloudFoundryInProgressAs422 = value; }

    /// <summary>
    /// TaurusDB/DDS: a backup claims its instance while it runs, and a second create for that instance answers "another
    /// operation in progress" as the services document (TaurusDB 409 <c>DBS.200019</c>, DDS 403 <c>DBS.201015</c>). Off by
    /// default: tests and demos that start many backups of one instance keep working.
    /// </summary>
    public bool HuaweiClaimsInstances { get => _huaweiClaimsInstances; set => _huaweiClaimsInstances = value; }

    /// <summary>Lifetime of tokens issued by the simulator's token endpoints; null = never expire.</summary>
    public TimeSpan? TokenLifetime
    {
        get { var t = Volatile.Read(ref _tokenLifetimeTicks); return t < 0 ? null : new TimeSpan(t); }
        set => Volatile.Write(ref _tokenLifetimeTicks, value is TimeSpan v ? Math.Max(0, v.Ticks) : -1);
    }

    /// <summary>User accepted by IAM (TaurusDB/DDS), ArcGIS generateToken and the UAA password grant.</summary>
    public string UserName { get => _userName; set => _userName = value; }

    /// <summary>Password for <see cref="UserName"/>.</summary>
    public string Password { get => _password; set => _password = value; }

    /// <summary>UAA client_credentials client id.</summary>
    public string ClientId { get => _clientId; set => _clientId = value; }

    /// <summary>UAA client_credentials client secret.</summary>
    public string ClientSecret { get => _clientSecret; set => _clientSecret = value; }

    internal bool HasStaticToken(string token)
    {
        lock (Tokens) return Tokens.Contains(token);
    }

    internal bool IsFailingInstance(string id)
    {
        if (string.IsNullOrEmpty(id)) return false;
        lock (FailingInstances) return FailingInstances.Contains(id);
    }

    internal bool NameFails(string name) => HasPrefix(name, FailNamePrefix);

    internal bool NameIsWeird(string name) => HasPrefix(name, UnknownStatusNamePrefix);

    private static bool HasPrefix(string name, string prefix) =>
        !string.IsNullOrEmpty(prefix) && name != null && name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase);
}
