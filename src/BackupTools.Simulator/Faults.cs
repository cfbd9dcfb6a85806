namespace BackupTools.Simulator;

/// <summary>What a fault does to the requests it hits.</summary>
public enum FaultKind
{
    /// <summary>Answer <see cref="FaultRule.StatusCode"/> instead of the real handler; with no status code, only delay (and add Retry-After).</summary>
    Status,
    /// <summary>Abort the connection before reading the request body; the service logic does not run.</summary>
    DropBeforeRead,
    /// <summary>Run the real handler (so a create does happen), then abort the connection without answering.</summary>
    DropAfterRead,
    /// <summary>200 with <c>{"job": {</c> (service logic does not run).</summary>
    MalformedJson,
    /// <summary>The real answer (handler runs), with only its first half sent.</summary>
    TruncatedBody,
    /// <summary>200 with a text/html error page (service logic does not run).</summary>
    HtmlPage,
    /// <summary>200 with an empty body (service logic does not run).</summary>
    EmptyBody,
    /// <summary>
    /// The real answer (handler runs), its headers and first half sent, then nothing more until the client gives up.
    /// With <see cref="FaultRule.Body"/>, that body (and <see cref="FaultRule.ContentType"/>) in place of the handler's,
    /// its status and headers kept: for an answer without a body, such as Cloud Foundry's 202. With
    /// <see cref="FaultRule.StatusCode"/>, that status in place of the handler's (the handler still runs).
    /// </summary>
    StalledBody,
    /// <summary>
    /// The real answer (handler runs, so a create does happen at once), held back for <see cref="FaultRule.Delay"/>
    /// before it is sent: an answer slow on its way back, while the service already holds what the request made.
    /// </summary>
    SlowAnswer,
}

/// <summary>One injected fault. Copied when added, so later changes to this object do not affect the armed rule.</summary>
public sealed class FaultRule
{
    /// <summary>Provider name (or URL prefix); null = any.</summary>
    public string Provider { get; set; }
    /// <summary>HTTP method; null = any.</summary>
    public string Method { get; set; }
    /// <summary>Substring (case-insensitive) of the path after the provider prefix, e.g. "/backups/create"; null = any.</summary>
    public string PathContains { get; set; }
    /// <summary>How many matching requests it hits before it is spent; int.MaxValue = always.</summary>
    public int Times { get; set; } = 1;
    /// <summary>Status to answer instead of the real handler (Status kind), the status of MalformedJson/HtmlPage/EmptyBody (default 200), or of StalledBody (default: the handler's).</summary>
    public int? StatusCode { get; set; }
    /// <summary>Body to send as is (StalledBody: half of it); default: the service's own error shape for that status (StalledBody: the handler's).</summary>
    public string Body { get; set; }
    public string ContentType { get; set; } = "application/json";
    /// <summary>Reason phrase of a Status answer's status line (service text, such as a gateway's); null: the standard one.</summary>
    public string ReasonPhrase { get; set; }
    /// <summary>Raw Retry-After header value ("2" or an HTTP date).</summary>
    public string RetryAfter { get; set; }
    /// <summary>Raw Location header value (a Cloud Foundry create's job address), sent with a Status answer.</summary>
    public string Location { get; set; }
    /// <summary>Raw Operation-Location header value (a Dataverse create's status address), sent with a Status answer.</summary>
    public string OperationLocation { get; set; }
    /// <summary>
    /// Raw headers sent with the answer (any kind that answers), after the service's own: for example Cloud Foundry's
    /// <c>X-RateLimit-Reset</c> on an injected 429. Null: none.
    /// </summary>
    public Dictionary<string, string> Headers { get; set; }
    /// <summary>Wait before answering (a "response that never comes" = a long delay); SlowAnswer: after the handler ran.</summary>
    public TimeSpan Delay { get; set; }
    public FaultKind Kind { get; set; } = FaultKind.Status;

    internal FaultRule Clone()
    {
        var copy = (FaultRule)MemberwiseClone();
        if (Headers != null) copy.Headers = new Dictionary<string, string>(Headers, StringComparer.OrdinalIgnoreCase);
        return copy;
    }
}

/// <summary>The armed faults. Adding and clearing take a lock; matching (every request) reads an immutable snapshot.</summary>
public sealed class FaultSet
{
    private readonly object _gate = new();
    private volatile ArmedFault[] _rules = Array.Empty<ArmedFault>();

    internal FaultSet() { }

    public void Add(FaultRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var armed = new ArmedFault(rule.Clone());
        lock (_gate) _rules = _rules.Where(r => !r.Spent).Append(armed).ToArray();
    }

    public void Clear()
    {
        lock (_gate) _rules = Array.Empty<ArmedFault>();
    }

    /// <summary>Rules not yet spent.</summary>
    public int Count => _rules.Count(r => !r.Spent);

    /// <summary>The first armed rule matching the request, which is charged one hit; null when none matches.</summary>
    internal FaultRule Take(string provider, string method, string path)
    {
        var rules = _rules;
        foreach (var rule in rules)
            if (rule.Matches(provider, method, path) && rule.TryHit())
                return rule.Rule;
        return null;
    }

    private sealed class ArmedFault
    {
        private int _remaining;

        public ArmedFault(FaultRule rule)
        {
            Rule = rule;
            Provider = rule.Provider == null ? null : ProviderNames.Canonical(rule.Provider) ?? rule.Provider;
            _remaining = rule.Times;
        }

        public FaultRule Rule { get; }
        private string Provider { get; }

        public bool Spent => Rule.Times != int.MaxValue && Volatile.Read(ref _remaining) <= 0;

        public bool Matches(string provider, string method, string path) =>
            (Provider == null || string.Equals(Provider, provider, StringComparison.OrdinalIgnoreCase)) &&
            (Rule.Method == null || string.Equals(Rule.Method, method, StringComparison.OrdinalIgnoreCase)) &&
            (Rule.PathContains == null || path.Contains(Rule.PathContains, StringComparison.OrdinalIgnoreCase));

        public bool TryHit()
        {
            if (Rule.Times == int.MaxValue) return true;
            while (true)
            {
                var n = Volatile.Read(ref _remaining);
                if (n <= 0) return false;
                if (Interlocked.CompareExchange(ref _remaining, n - 1, n) == n) return true;
            }
        }
    }
}
