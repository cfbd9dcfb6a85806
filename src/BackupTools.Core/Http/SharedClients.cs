using System;
using System.Diagnostics;
using System.Net.Http;
using System.Runtime.CompilerServices;
using System.Threading;

namespace BackupTools.Http
{
    /// <summary>
    /// The <see cref="HttpClient"/> a connection's calls use, taken from the factory (<see cref="BackupHttp.ClientFor(BackupConnection)"/>)
    /// once and then shared by every call of that connection for <see cref="Reuse"/>, instead of a new client (and its
    /// pending-requests token source) for each of thousands of creates and reads. Clients from the factory are
    /// stateless wrappers of the factory's pooled handler and thread-safe; taking a new one after <see cref="Reuse"/>
    /// keeps the factory's handler rotation (its handler lifetime is longer) working.
    /// </summary>
    internal static class SharedClients
    {
        internal static readonly TimeSpan Reuse = TimeSpan.FromMinutes(2);
        private static readonly long ReuseTicks = (long)(Reuse.TotalSeconds * Stopwatch.Frequency);
        private static readonly ConditionalWeakTable<BackupConnection, Slot> Slots = new ConditionalWeakTable<BackupConnection, Slot>();

        private sealed class Slot
        {
            public Taken Current;
        }

        private sealed class Taken
        {
            public Taken(HttpClient client, long until)
            {
                Client = client;
                Until = until;
            }

            public readonly HttpClient Client;
            public readonly long Until;
        }

        public static HttpClient For(BackupConnection connection)
        {
            var slot = Slots.GetValue(connection, _ => new Slot());
            var now = Stopwatch.GetTimestamp();
            var taken = Volatile.Read(ref slot.Current);
            if (taken != null && now < taken.Until) return taken.Client;
            // Two threads may both take one here; either is fine, and the other is simply not kept.
            taken = new Taken(BackupHttp.ClientFor(connection), now + ReuseTicks);
            Volatile.Write(ref slot.Current, taken);
            return taken.Client;
        }
    }
}
