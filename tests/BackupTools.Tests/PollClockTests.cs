using System;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Jobs;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>The engine's shared clock and gate behave as the Task.Delay and SemaphoreSlim they replace.</summary>
    public sealed class PollClockTests
    {
        private static async Task Wait(Waiter waiter) => await waiter;

        [Fact]
        public async Task Pauses_end_in_due_order_and_a_zero_pause_at_once()
        {
            using var cts = new CancellationTokenSource();
            using var clock = new PollClock(cts.Token);
            var ended = new System.Collections.Concurrent.ConcurrentQueue<int>();
            // 1.5 s against 60 ms: only a 1.4 s stall in starting the second task could swap them (with 300 ms, a
            // clean-clone CI run, the machine's two cores busy with the other test classes at start-up, once did).
            var later = Task.Run(async () => { await clock.Delay(new Waiter(), TimeSpan.FromMilliseconds(1500)); ended.Enqueue(1500); });
            var sooner = Task.Run(async () => { await clock.Delay(new Waiter(), TimeSpan.FromMilliseconds(60)); ended.Enqueue(60); });
            Assert.True(clock.Delay(new Waiter(), TimeSpan.Zero).IsCompleted);
            await Task.WhenAll(later, sooner);
            Assert.Equal(new[] { 60, 1500 }, ended.ToArray());
        }

        [Fact]
        public async Task One_waiter_is_reused_pause_after_pause()
        {
            using var clock = new PollClock(CancellationToken.None);
            var waiter = new Waiter();
            for (var i = 0; i < 5; i++) await Wait(clock.Delay(waiter, TimeSpan.FromMilliseconds(5)));
        }

        [Fact]
        public async Task Cancelling_ends_every_pause_at_once_even_an_infinite_one()
        {
            using var cts = new CancellationTokenSource();
            using var clock = new PollClock(cts.Token);
            var infinite = Wait(clock.Delay(new Waiter(), Timeout.InfiniteTimeSpan));
            var hour = Wait(clock.Delay(new Waiter(), TimeSpan.FromHours(1)));
            await Task.Delay(50);
            Assert.False(infinite.IsCompleted);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => infinite);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hour);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Wait(clock.Delay(new Waiter(), TimeSpan.FromSeconds(1))));
        }

        [Fact]
        public void Pauses_out_of_Task_Delays_range_are_refused_as_it_refuses_them()
        {
            using var clock = new PollClock(CancellationToken.None);
            Assert.Throws<ArgumentOutOfRangeException>(() => clock.Delay(new Waiter(), TimeSpan.FromMilliseconds(-2)));
            Assert.Throws<ArgumentOutOfRangeException>(() => clock.Delay(new Waiter(), TimeSpan.FromDays(50)));
        }

        [Fact]
        public async Task The_gate_lets_a_limited_number_through_first_come_first_served()
        {
            using var cts = new CancellationTokenSource();
            using var gate = new EndpointGate(2, cts.Token);
            Assert.True(gate.Enter(new Waiter()).IsCompleted);
            Assert.True(gate.Enter(new Waiter()).IsCompleted);
            var third = gate.Enter(new Waiter());
            var fourth = gate.Enter(new Waiter());
            Assert.False(third.IsCompleted);
            var thirdDone = Wait(third);
            gate.Release();
            await thirdDone;
            Assert.False(fourth.IsCompleted);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Wait(fourth));
        }
    

        /// <summary>
        /// Two waits on one endpoint share its gate (its slots and its pause); cancelling one wait takes only its own
        /// queued reads out, and the gate leaves the process's table with its last wait.
        /// </summary>
        [Fact]
        public async Task Waits_on_one_endpoint_share_its_gate_and_cancel_only_their_own_reads()
        {
            var key = "test-endpoint-" + Guid.NewGuid().ToString("N");
            var first = EndpointGate.Use(key, 1);
            var second = EndpointGate.Use(key, 1);
            Assert.Same(first, second);
            using var one = new CancellationTokenSource();
            using var two = new CancellationTokenSource();
            Assert.True(first.Enter(new Waiter(), one.Token).IsCompleted);
            var queuedOne = first.Enter(new Waiter(), one.Token);
            var queuedTwo = second.Enter(new Waiter(), two.Token);
            Assert.False(queuedOne.IsCompleted);
            Assert.False(queuedTwo.IsCompleted);
            first.PauseFor(TimeSpan.FromSeconds(30));
            Assert.True(second.PauseLeft > TimeSpan.Zero);

            one.Cancel();
            first.CancelWaitersOf(one.Token);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Wait(queuedOne));
            Assert.False(queuedTwo.IsCompleted);
            first.Release();
            await Wait(queuedTwo);

            first.Unuse();
            Assert.Same(second, EndpointGate.Use(key, 1));
            second.Unuse();
            second.Unuse();
            var fresh = EndpointGate.Use(key, 1);
            Assert.NotSame(second, fresh);
            fresh.Unuse();
        }
    }
}
