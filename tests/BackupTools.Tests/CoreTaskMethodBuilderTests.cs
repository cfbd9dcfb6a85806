using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Async;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// The core's own async plumbing (CoreTaskMethodBuilder, NoContext, ToThreadPool) behaves as the runtime's builder,
    /// ConfigureAwait(false) and Task.Yield it replaces, and every async method of the core uses it (or the precompiled
    /// copy would JIT-compile the runtime's plumbing on a runbook's first call again).
    /// </summary>
    /// <remarks>
    /// The state machines below are written out as the C# compiler writes them for
    /// <c>async Task&lt;int&gt; Add(Task&lt;int&gt; a, Task&lt;int&gt; b) { var x = await a.NoContext(); Seen = Flow.Value; return x + await b.NoContext(); }</c>:
    /// this test project cannot name the builder in <c>[AsyncMethodBuilder]</c> (the core's netstandard2.0 copy of that
    /// attribute and the runtime's clash here), and the compiler's calls are exactly what is under test.
    /// </remarks>
    public sealed class CoreTaskMethodBuilderTests
    {
        private static readonly AsyncLocal<string> Flow = new AsyncLocal<string>();

        private struct AddMachine : IAsyncStateMachine
        {
            public CoreTaskMethodBuilder<int> Builder;
            public int State;
            public Task<int> A, B;
            public StrongBox<string> Seen;
            public bool SafeAwait; // AwaitOnCompleted (an awaiter that is only INotifyCompletion) instead of AwaitUnsafeOnCompleted
            private int _x;
            private NoContextAwaiter<int> _awaiter;

            public void MoveNext()
            {
                try
                {
                    if (State == 0)
                    {
                        _awaiter = A.NoContext().GetAwaiter();
                        if (!_awaiter.IsCompleted) { Suspend(1); return; }
                    }
                    if (State <= 1)
                    {
                        _x = _awaiter.GetResult();
                        Seen.Value = Flow.Value;
                        _awaiter = B.NoContext().GetAwaiter();
                        if (!_awaiter.IsCompleted) { Suspend(2); return; }
                    }
                    var y = _awaiter.GetResult();
                    State = -2;
                    Builder.SetResult(_x + y);
                }
                catch (Exception ex)
                {
                    State = -2;
                    Builder.SetException(ex);
                }
            }

            private void Suspend(int state)
            {
                State = state;
                if (SafeAwait) Builder.AwaitOnCompleted(ref _awaiter, ref this);
                else Builder.AwaitUnsafeOnCompleted(ref _awaiter, ref this);
            }

            public void SetStateMachine(IAsyncStateMachine stateMachine) => Builder.SetStateMachine(stateMachine);
        }

        private static Task<int> Add(Task<int> a, Task<int> b, StrongBox<string> seen = null, bool safeAwait = false) =>
            Add(a, b, seen, safeAwait, out _);

        private static Task<int> Add(Task<int> a, Task<int> b, StrongBox<string> seen, bool safeAwait, out bool suspended)
        {
            var machine = new AddMachine { Builder = CoreTaskMethodBuilder<int>.Create(), A = a, B = b, Seen = seen ?? new StrongBox<string>(), SafeAwait = safeAwait };
            machine.Builder.Start(ref machine);
            suspended = machine.Builder.Suspended;
            return machine.Builder.Task;
        }

        /// <summary>A Debug build's state machine: a class, which the builder boxes by reference.</summary>
        private sealed class WaitMachine : IAsyncStateMachine
        {
            public CoreTaskMethodBuilder Builder;
            public int State;
            public Task Awaited;
            public int Resumed;
            private NoContextAwaiter _awaiter;

            public void MoveNext()
            {
                try
                {
                    if (State == 0)
                    {
                        _awaiter = Awaited.NoContext().GetAwaiter();
                        if (!_awaiter.IsCompleted)
                        {
                            State = 1;
                            var self = this;
                            Builder.AwaitUnsafeOnCompleted(ref _awaiter, ref self);
                            return;
                        }
                    }
                    _awaiter.GetResult();
                    Resumed++;
                    State = -2;
                    Builder.SetResult();
                }
                catch (Exception ex)
                {
                    State = -2;
                    Builder.SetException(ex);
                }
            }

            public void SetStateMachine(IAsyncStateMachine stateMachine) => Builder.SetStateMachine(stateMachine);
        }

        private static Task Wait(Task awaited, out WaitMachine machine)
        {
            machine = new WaitMachine { Builder = CoreTaskMethodBuilder.Create(), Awaited = awaited };
            var self = machine;
            machine.Builder.Start(ref self);
            return machine.Builder.Task;
        }

        [Fact]
        public void A_method_that_never_waits_returns_a_finished_task_without_a_box()
        {
            var task = Add(Task.FromResult(2), Task.FromResult(3), null, false, out var suspended);
            Assert.True(task.IsCompleted);
            Assert.Equal(5, task.Result);
            Assert.False(suspended);
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public async Task A_suspended_method_resumes_on_each_completion_and_its_task_carries_the_result_and_the_async_locals(bool safeAwait)
        {
            var a = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            var b = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            var seen = new StrongBox<string>();
            Flow.Value = "caller's";
            var task = Add(a.Task, b.Task, seen, safeAwait, out var suspended);
            Flow.Value = null;
            Assert.True(suspended);
            Assert.False(task.IsCompleted);
            // Completed from threads that never saw the caller's async local: the resumed method still sees it.
            await Task.Run(() => a.SetResult(40));
            await WaitUntil(() => seen.Value != null);
            Assert.Equal("caller's", seen.Value);
            Assert.False(task.IsCompleted);
            await Task.Run(() => b.SetResult(2));
            Assert.Equal(42, await task.WaitAsync(TimeSpan.FromSeconds(10)));
        }

        [Fact]
        public async Task An_exception_is_rethrown_by_an_await_as_the_same_object_whether_thrown_before_or_after_suspending()
        {
            var early = new InvalidOperationException("before any await");
            var before = Add(Task.FromException<int>(early), Task.FromResult(1));
            Assert.True(before.IsFaulted);
            Assert.Same(early, await Assert.ThrowsAsync<InvalidOperationException>(() => before));

            var b = new TaskCompletionSource<int>();
            var after = Add(Task.FromResult(1), b.Task);
            var late = new TimeoutException("after suspending");
            b.SetException(late);
            Assert.Same(late, await Assert.ThrowsAsync<TimeoutException>(() => after));
        }

        [Fact]
        public async Task A_cancellation_keeps_its_exception_so_a_timeout_stays_told_apart_from_the_users_Ctrl_C()
        {
            // HttpClient's timeout is a TaskCanceledException carrying a TimeoutException: the core tells it from a
            // cancellation by the caller by that inner exception, so the object must come through untouched.
            var b = new TaskCompletionSource<int>();
            var task = Add(Task.FromResult(1), b.Task);
            var timeout = new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout", new TimeoutException());
            b.SetException(timeout);
            var thrown = await Assert.ThrowsAsync<TaskCanceledException>(() => task);
            Assert.Same(timeout, thrown);
            Assert.IsType<TimeoutException>(thrown.InnerException);
            Assert.Same(timeout, Assert.Throws<TaskCanceledException>(() => task.GetAwaiter().GetResult()));
        }

        [Fact]
        public async Task The_builder_of_a_method_without_result_shares_one_finished_task_and_boxes_a_class_state_machine_by_reference()
        {
            var first = Wait(Task.CompletedTask, out var m1);
            var second = Wait(Task.CompletedTask, out _);
            Assert.True(first.IsCompleted);
            Assert.Same(first, second);
            Assert.Equal(1, m1.Resumed);

            var pending = new TaskCompletionSource<object>();
            var task = Wait(pending.Task, out var machine);
            Assert.False(task.IsCompleted);
            await Task.Run(() => pending.SetResult(null));
            await task.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(1, machine.Resumed); // the very instance was resumed, not a copy

            var failing = new TaskCompletionSource<object>();
            var failed = Wait(failing.Task, out _);
            var error = new InvalidOperationException("failed");
            failing.SetException(error);
            Assert.Same(error, await Assert.ThrowsAsync<InvalidOperationException>(() => failed));
        }

        [Fact]
        public async Task ToThreadPool_always_goes_on_elsewhere_on_the_thread_pool()
        {
            var awaiter = NoContextExtensions.ToThreadPool().GetAwaiter();
            Assert.False(awaiter.IsCompleted);
            var ran = new TaskCompletionSource<(bool Pool, int Thread)>(TaskCreationOptions.RunContinuationsAsynchronously);
            var caller = Environment.CurrentManagedThreadId;
            var thread = new Thread(() => awaiter.UnsafeOnCompleted(() =>
                ran.SetResult((Thread.CurrentThread.IsThreadPoolThread, Environment.CurrentManagedThreadId))));
            thread.Start();
            thread.Join();
            var (pool, id) = await ran.Task.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(pool);
            Assert.NotEqual(caller, id);
        }

        [Fact]
        public void Every_async_method_of_the_core_is_built_by_the_cores_builder_and_awaits_through_awaiters_of_the_core()
        {
            var core = typeof(BackupService).Assembly;
            var machines = core.GetTypes().Where(t => typeof(IAsyncStateMachine).IsAssignableFrom(t) && t.IsDefined(typeof(CompilerGeneratedAttribute))).ToList();
            Assert.True(machines.Count >= 30, $"only {machines.Count} async state machines found: the test no longer sees them");
            var offenders = new List<string>();
            foreach (var machine in machines)
            {
                var fields = machine.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
                var builder = fields.Single(f => f.Name == "<>t__builder").FieldType;
                var definition = builder.IsGenericType ? builder.GetGenericTypeDefinition() : builder;
                if (definition != typeof(CoreTaskMethodBuilder<>) && definition != typeof(CoreTaskMethodBuilder))
                    offenders.Add($"{machine.FullName} is built by {builder.Name}");
                // The awaiters a method suspends on are kept in fields named <>u__N.
                foreach (var awaiter in fields.Where(f => f.Name.StartsWith("<>u__", StringComparison.Ordinal)).Select(f => f.FieldType))
                {
                    if (awaiter.Assembly == core || !awaiter.IsValueType) continue;
                    // The one exception: the retry path awaits Polly's ValueTask (only after a first attempt failed).
                    if (machine.Name.Contains("ContinueInPipelineAsync") && awaiter.DeclaringType?.Name == "ConfiguredValueTaskAwaitable`1") continue;
                    offenders.Add($"{machine.FullName} awaits a {awaiter}");
                }
            }
            Assert.Empty(offenders);
        }

        private static async Task WaitUntil(Func<bool> condition)
        {
            var until = DateTime.UtcNow.AddSeconds(10);
            while (!condition())
            {
                Assert.True(DateTime.UtcNow < until, "the condition was not met within 10 s");
                await Task.Delay(5);
            }
        }
    }
}
