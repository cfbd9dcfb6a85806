using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace BackupTools.Async
{
    /// <summary>
    /// <c>task.NoContext()</c>: what <c>task.ConfigureAwait(false)</c> does (the rest of the method runs wherever the
    /// task completed, never posted back to a captured context), with an awaiter type of the core's own.
    /// </summary>
    /// <remarks>
    /// Why not ConfigureAwait(false) itself: its awaiter is a framework struct, and ReadyToRun does not compile a method
    /// instantiated over a framework struct into this assembly (its layout may change with the framework). Each await
    /// instantiates the builder's <c>AwaitUnsafeOnCompleted</c> over the awaiter and the state machine, so with the
    /// framework's awaiter every suspended method cost its first call the JIT of that plumbing; with this one, the
    /// precompiled copy of the core carries it (see <see cref="CoreTaskMethodBuilder{TResult}"/>).
    /// </remarks>
    public static class NoContextExtensions
    {
        /// <summary>Awaits <paramref name="task"/> without coming back to the caller's context.</summary>
        public static NoContextAwaiter<T> NoContext<T>(this Task<T> task) => new NoContextAwaiter<T>(task);

        /// <summary>Awaits <paramref name="task"/> without coming back to the caller's context.</summary>
        public static NoContextAwaiter NoContext(this Task task) => new NoContextAwaiter(task);

        /// <summary>
        /// What <c>await Task.Yield()</c> does outside any synchronization context: the rest of the method runs on the
        /// thread pool, at once. (<c>Task.Yield</c>'s awaiter is a framework struct too.)
        /// </summary>
        public static ThreadPoolYield ToThreadPool() => default;
    }

    /// <summary>The awaitable of <see cref="NoContextExtensions.ToThreadPool"/>.</summary>
    public readonly struct ThreadPoolYield : ICriticalNotifyCompletion
    {
        private static readonly WaitCallback RunAction = state => ((Action)state)();

        /// <summary>Itself (compiler use).</summary>
        public ThreadPoolYield GetAwaiter() => this;

        /// <summary>Never: the point is to go on elsewhere (compiler use).</summary>
        public bool IsCompleted => false;

        /// <summary>Nothing to return (compiler use).</summary>
        public void GetResult() { }

        /// <summary>Queues <paramref name="continuation"/> to the thread pool, flowing the execution context (compiler use).</summary>
        public void OnCompleted(Action continuation) => ThreadPool.QueueUserWorkItem(RunAction, continuation);

        /// <summary>Queues <paramref name="continuation"/> to the thread pool (compiler use).</summary>
        public void UnsafeOnCompleted(Action continuation) => ThreadPool.UnsafeQueueUserWorkItem(RunAction, continuation);
    }

    /// <summary>The awaiter of <see cref="NoContextExtensions.NoContext{T}(Task{T})"/>.</summary>
    public readonly struct NoContextAwaiter<T> : ICriticalNotifyCompletion
    {
        private readonly Task<T> _task;

        internal NoContextAwaiter(Task<T> task) => _task = task ?? throw new ArgumentNullException(nameof(task));

        /// <summary>Itself (compiler use).</summary>
        public NoContextAwaiter<T> GetAwaiter() => this;

        /// <summary>Whether the task has finished (compiler use).</summary>
        public bool IsCompleted => _task.IsCompleted;

        /// <summary>The task's result, or its exception thrown as an await throws it (compiler use).</summary>
        public T GetResult() => _task.GetAwaiter().GetResult();

        /// <summary>Runs <paramref name="continuation"/> when the task finishes, flowing the execution context (compiler use).</summary>
        public void OnCompleted(Action continuation) => _task.ConfigureAwait(false).GetAwaiter().OnCompleted(continuation);

        /// <summary>Runs <paramref name="continuation"/> when the task finishes (compiler use).</summary>
        public void UnsafeOnCompleted(Action continuation) => _task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(continuation);
    }

    /// <summary>The awaiter of <see cref="NoContextExtensions.NoContext(Task)"/>.</summary>
    public readonly struct NoContextAwaiter : ICriticalNotifyCompletion
    {
        private readonly Task _task;

        internal NoContextAwaiter(Task task) => _task = task ?? throw new ArgumentNullException(nameof(task));

        /// <summary>Itself (compiler use).</summary>
        public NoContextAwaiter GetAwaiter() => this;

        /// <summary>Whether the task has finished (compiler use).</summary>
        public bool IsCompleted => _task.IsCompleted;

        /// <summary>Throws the task's exception, if any, as an await throws it (compiler use).</summary>
        public void GetResult() => _task.GetAwaiter().GetResult();

        /// <summary>Runs <paramref name="continuation"/> when the task finishes, flowing the execution context (compiler use).</summary>
        public void OnCompleted(Action continuation) => _task.ConfigureAwait(false).GetAwaiter().OnCompleted(continuation);

        /// <summary>Runs <paramref name="continuation"/> when the task finishes (compiler use).</summary>
        public void UnsafeOnCompleted(Action continuation) => _task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(continuation);
    }
}
