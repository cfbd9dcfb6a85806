namespace BackupTools.Simulator;

/// <summary>
/// The API gateway's lock on an access key: "more than five failures in a row lock the AK for five minutes"
/// (shared/api/taurusdb.md). Failed signatures are counted per AK; a correct one resets the count; past
/// <see cref="SimulatorOptions.AkSkFailuresBeforeLock"/> the key is locked for <see cref="SimulatorOptions.AkSkLockout"/>,
/// and every request signed with it is refused meanwhile, a correct signature too.
/// </summary>
internal sealed class AkSkLocks
{
    private readonly Dictionary<string, (int Failures, DateTime LockedUntil)> _keys = new(StringComparer.Ordinal);

    /// <summary>True when <paramref name="accessKey"/> is locked now (its signature is then not even checked).</summary>
    public bool IsLocked(string accessKey)
    {
        if (accessKey == null) return false;
        lock (_keys) return _keys.TryGetValue(accessKey, out var k) && DateTime.UtcNow < k.LockedUntil;
    }

    /// <summary>Counts a checked signature of <paramref name="accessKey"/>: a failure toward the lock, a success resets the count.</summary>
    public void Record(string accessKey, bool verified, SimulatorOptions options)
    {
        if (accessKey == null) return;
        lock (_keys)
        {
            if (verified) { _keys.Remove(accessKey); return; }
            var failures = (_keys.TryGetValue(accessKey, out var k) ? k.Failures : 0) + 1;
            var lockout = options.AkSkLockout;
            _keys[accessKey] = failures > options.AkSkFailuresBeforeLock && lockout > TimeSpan.Zero
                ? (0, DateTime.UtcNow + lockout)
                : (failures, DateTime.MinValue);
        }
    }

    public void Clear()
    {
        lock (_keys) _keys.Clear();
    }
}
