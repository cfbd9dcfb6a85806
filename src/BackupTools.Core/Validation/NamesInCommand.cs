using System;
using System.Collections.Generic;
using BackupTools.Providers;

namespace BackupTools.Validation
{
    /// <summary>
    /// The backup names one command has started, where the service keeps names unique (DDS: "unique among the project's
    /// backups"). A later row repeating a name is refused before anything is sent: the service would refuse it
    /// (DDS.201201) and, after a create whose answer was lost, the lookup by name could report the earlier row's backup
    /// as this row's. Whether names are unique, and where, is the provider's word (<see cref="IReconcilesCreates"/>), so a
    /// new service needs no change here. A name is given back when its create failed and cannot have started (a
    /// refusal, busy retries used up): no backup holds it, so a later row may use it. With a throttle limit a later row
    /// can come while the earlier create is still in flight: the name is then pending (<see cref="IsPending"/>) and the
    /// command waits for that create's outcome before checking, so the refusal is never given for a name no backup took.
    /// One instance per command; not shared between runspaces; safe to call from any thread.
    /// </summary>
    internal sealed class NamesInCommand
    {
        // Names are case-sensitive (DDS: "letters (case-sensitive)"); the connection's key holds provider, endpoint and
        // project, the scope a provider's unique names live in. The value: true while the create is in flight.
        private readonly Dictionary<string, bool> _used = new Dictionary<string, bool>(StringComparer.Ordinal);

        /// <summary>Throws <see cref="ErrorIds.BackupParameterInvalid"/> when an earlier row of this command used the request's name.</summary>
        public void Check(BackupConnection connection, BackupRequest request)
        {
            var key = KeyOf(connection, request, out var provider);
            if (key == null) return;
            lock (_used)
                if (!_used.ContainsKey(key)) return;
            throw Rule.Breach(connection.Provider,
                $"Name '{Rule.Printable(request.Name)}' is already used by an earlier row of this command; {connection.Provider} backup names are unique in {provider.UniqueNamesIn}.",
                request.WithoutSecrets());
        }

        /// <summary>
        /// Records the request's name as used: call it once the create is going to be sent (<paramref name="inFlight"/>:
        /// pending until <see cref="Settle"/> or <see cref="GiveBack"/>), or, for -WhatIf, as used at once.
        /// </summary>
        public void Claim(BackupConnection connection, BackupRequest request, bool inFlight = true)
        {
            var key = KeyOf(connection, request, out _);
            if (key == null) return;
            lock (_used) _used[key] = inFlight;
        }

        /// <summary>True while the create of an earlier row with the request's name is in flight (its outcome decides the name).</summary>
        public bool IsPending(BackupConnection connection, BackupRequest request)
        {
            var key = KeyOf(connection, request, out _);
            if (key == null) return false;
            lock (_used) return _used.TryGetValue(key, out var inFlight) && inFlight;
        }

        /// <summary>The create of the request's name started (its job came back): the name stays used.</summary>
        public void Settle(BackupConnection connection, BackupRequest request)
        {
            var key = KeyOf(connection, request, out _);
            if (key == null) return;
            lock (_used) if (_used.ContainsKey(key)) _used[key] = false;
        }

        /// <summary>
        /// Gives the request's name back after its create ended in <paramref name="ended"/>, unless the create may have
        /// started (<see cref="BackupService.CreateMayHaveStarted"/>: a backup may then hold the name). Call it once per
        /// claimed create that failed.
        /// </summary>
        public void GiveBack(BackupConnection connection, BackupRequest request, Exception ended)
        {
            if (ended == null || BackupService.CreateMayHaveStarted(ended))
            {
                Settle(connection, request);
                return;
            }
            var key = KeyOf(connection, request, out _);
            if (key == null) return;
            lock (_used) _used.Remove(key);
        }

        private static string KeyOf(BackupConnection connection, BackupRequest request, out IReconcilesCreates provider)
        {
            provider = null;
            if (connection == null || request == null || string.IsNullOrEmpty(request.Name)) return null;
            provider = ProviderRegistry.Get(connection.Provider) as IReconcilesCreates;
            if (provider == null || !provider.NamesAreUnique) return null;
            return connection.Key + "\u001f" + request.Name;
        }
    }
}
