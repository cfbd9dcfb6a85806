using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace BackupTools.Simulator;

internal enum TokenCheck { Missing, Valid, Invalid, Expired }

/// <summary>
/// Token checks shared by all services: the static <see cref="SimulatorOptions.Tokens"/> (never expire) plus the tokens the
/// simulator's own token endpoints issued, each with the expiry <see cref="SimulatorOptions.TokenLifetime"/> gave it.
/// Issued tokens survive <see cref="BackupSimulator.Reset"/>, like a real identity service's would.
/// </summary>
internal sealed class SimTokens
{
    private readonly SimulatorOptions _options;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _issued = new(StringComparer.Ordinal);

    public SimTokens(SimulatorOptions options) => _options = options;

    public TokenCheck Check(string token)
    {
        if (string.IsNullOrEmpty(token)) return TokenCheck.Missing;
        if (_issued.TryGetValue(token, out var expires))
            return DateTimeOffset.UtcNow < expires ? TokenCheck.Valid : TokenCheck.Expired;
        return _options.HasStaticToken(token) ? TokenCheck.Valid : TokenCheck.Invalid;
    }

    /// <summary>Ends every issued token now, as a revocation or a restarted identity service would.</summary>
    public void ExpireAllIssued()
    {
        var past = DateTimeOffset.UtcNow.AddSeconds(-1);
        foreach (var token in _issued.Keys) _issued[token] = past;
    }

    /// <summary>Issues a new token; <paramref name="expires"/> is null when it never expires.</summary>
    public string Issue(string prefix, out DateTimeOffset? expires)
    {
        var token = prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var lifetime = _options.TokenLifetime;
        expires = lifetime is TimeSpan l ? DateTimeOffset.UtcNow + l : null;
        _issued[token] = expires ?? DateTimeOffset.MaxValue;
        return token;
    }
}
