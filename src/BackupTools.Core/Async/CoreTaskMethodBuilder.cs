using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace BackupTools.Async
{
    /// <summary>
    /// The builder of the core's <c>async Task&lt;T&gt;</c> methods, named on each with
    /// <c>[AsyncMethodBuilder(typeof(CoreTaskMethodBuilder&lt;&gt;))]</c>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Why: the runtime's own builder instantiates its generic plumbing (Start, AwaitUnsafeOnCompleted, the box that
    /// carries the state machine across an await) over each state machine. That plumbing belongs to the framework, so
    /// ReadyToRun cannot compile those instantiations into this assembly, and a runbook's first call JIT-compiled about
    /// ten of them for every async method it went through. This builder's plumbing is this assembly's own, so the
    /// precompiled copy of the core carries it compiled, like the rest of the core.
    /// </para>
    /// <para>
    /// What it does, as the runtime's builder does: a method that finishes before its first real await returns a
    /// finished task and allocates no box; at its first real await the state machine is copied once into a box, which
    /// is also the source of the method's task; continuations of that task run synchronously when it completes; the
    /// execution context (async locals) flows across each await. One difference: a method that throws
    /// <see cref="OperationCanceledException"/> gives a faulted task holding that exception, where the runtime's gives a
    /// canceled task; awaiting either, or <c>GetAwaiter().GetResult()</c>, throws the same exception object (so
    /// <c>Task.WhenAll</c> over such tasks reports that exception among the others, where canceled tasks add none).
    /// Nor does <see cref="Start"/> undo async-local changes a method makes before its first await, as the runtime's
    /// does: the core's methods make none. On .NET Framework each await captures a new execution context (the public
    /// API has no shared default).
    /// </para>
    /// </remarks>
    public struct CoreTaskMethodBuilder<TResult>
    {
        private CoreTaskBox<TResult> _box;   // from the first real await on
        private Task<TResult> _finished;     // finished before that

        /// <summary>A builder for a new call (compiler use).</summary>
        public static CoreTaskMethodBuilder<TResult> Create() => default;

        internal bool Suspended => _box != null;

        /// <summary>The method's task (compiler use: read once <see cref="Start"/> has returned).</summary>
        public Task<TResult> Task =>
            _box?.Task ?? _finished ?? throw new InvalidOperationException("The task of an async method was read before the method ran.");

        /// <summary>Runs the method up to its first real await (compiler use).</summary>
        public void Start<TStateMachine>(ref TStateMachine stateMachine) where TStateMachine : IAsyncStateMachine =>
            stateMachine.MoveNext();

        /// <summary>Not used: the box holds the state machine itself (compiler use).</summary>
        public void SetStateMachine(IAsyncStateMachine stateMachine) { }

        /// <summary>Completes the method's task with its result (compiler use).</summary>
        public void SetResult(TResult result)
        {
            if (_box != null) _box.TrySetResult(result);
            else _finished = System.Threading.Tasks.Task.FromResult(result);
        }

        /// <summary>Fails the method's task with the exception it threw (compiler use).</summary>
        public void SetException(Exception exception)
        {
            if (exception == null) throw new ArgumentNullException(nameof(exception));
            if (_box != null) _box.TrySetException(exception);
            else _finished = System.Threading.Tasks.Task.FromException<TResult>(exception);
        }

        /// <summary>Resumes the method when <paramref name="awaiter"/> completes (compiler use).</summary>
        public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
            where TAwaiter : INotifyCompletion where TStateMachine : IAsyncStateMachine =>
            // OnCompleted flows the execution context itself.
            awaiter.OnCompleted(BoxOf(ref stateMachine, null).MoveNextAction);

        /// <summary>Resumes the method when <paramref name="awaiter"/> completes (compiler use).</summary>
        public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
            where TAwaiter : ICriticalNotifyCompletion where TStateMachine : IAsyncStateMachine =>
            awaiter.UnsafeOnCompleted(BoxOf(ref stateMachine, CaptureContext()).MoveNextAction);

        /// <summary>
        /// The execution context to resume in, without the caller's synchronization context: on .NET Framework the
        /// public <see cref="ExecutionContext.Capture"/> takes the synchronization context along and
        /// <see cref="ExecutionContext.Run"/> installs it again, which would undo <c>NoContext()</c> for whatever the
        /// method calls after its await (the runtime's builder captures without it). .NET's execution context never
        /// carries one.
        /// </summary>
        private static ExecutionContext CaptureContext()
        {
            var sync = SynchronizationContext.Current;
            if (sync == null) return ExecutionContext.Capture();
            SynchronizationContext.SetSynchronizationContext(null);
            try
            {
                return ExecutionContext.Capture();
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(sync);
            }
        }

        private CoreTaskBox<TResult> BoxOf<TStateMachine>(ref TStateMachine stateMachine, ExecutionContext context)
            where TStateMachine : IAsyncStateMachine
        {
            var box = _box;
            if (box == null)
            {
                var typed = new CoreTaskBox<TResult, TStateMachine>();
                // The builder inside the state machine learns its box before the copy, so the copy (which goes on
                // running the method) and the caller's original (whose Task the caller reads) both see it.
                _box = box = typed;
                typed.StateMachine = stateMachine;
            }
            box.Context = context;
            return box;
        }
    }

    /// <summary>The builder of the core's <c>async Task</c> methods; see <see cref="CoreTaskMethodBuilder{TResult}"/>.</summary>
    public struct CoreTaskMethodBuilder
    {
        // The result type is a class, so the framework's Task<object> and TaskCompletionSource<object> code it runs is
        // the shared code the framework ships precompiled (over a struct of the core's own, it would be JIT-compiled).
        private static readonly Task<object> Done = System.Threading.Tasks.Task.FromResult<object>(null);
        private CoreTaskMethodBuilder<object> _builder;
        private bool _done;

        /// <summary>A builder for a new call (compiler use).</summary>
        public static CoreTaskMethodBuilder Create() => default;

        /// <summary>The method's task (compiler use).</summary>
        public Task Task => _done ? Done : _builder.Task;

        /// <summary>Runs the method up to its first real await (compiler use).</summary>
        public void Start<TStateMachine>(ref TStateMachine stateMachine) where TStateMachine : IAsyncStateMachine =>
            stateMachine.MoveNext();

        /// <summary>Not used (compiler use).</summary>
        public void SetStateMachine(IAsyncStateMachine stateMachine) { }

        /// <summary>Completes the method's task (compiler use).</summary>
        public void SetResult()
        {
            if (_builder.Suspended) _builder.SetResult(null);
            else _done = true;   // finished before any real await: a shared finished task, as the runtime's builder gives
        }

        /// <summary>Fails the method's task (compiler use).</summary>
        public void SetException(Exception exception) => _builder.SetException(exception);

        /// <summary>Resumes the method when <paramref name="awaiter"/> completes (compiler use).</summary>
        public void AwaitOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
            where TAwaiter : INotifyCompletion where TStateMachine : IAsyncStateMachine =>
            _builder.AwaitOnCompleted(ref awaiter, ref stateMachine);

        /// <summary>Resumes the method when <paramref name="awaiter"/> completes (compiler use).</summary>
        public void AwaitUnsafeOnCompleted<TAwaiter, TStateMachine>(ref TAwaiter awaiter, ref TStateMachine stateMachine)
            where TAwaiter : ICriticalNotifyCompletion where TStateMachine : IAsyncStateMachine =>
            _builder.AwaitUnsafeOnCompleted(ref awaiter, ref stateMachine);
    }

    /// <summary>
    /// A suspended call of an async method: the source of its task, and what resumes it in the execution context its
    /// last await captured.
    /// </summary>
    internal abstract class CoreTaskBox<TResult> : TaskCompletionSource<TResult>
    {
        private static readonly ContextCallback ResumeInContext = state => ((CoreTaskBox<TResult>)state).Resume();
        internal ExecutionContext Context;
        internal readonly Action MoveNextAction;

        protected CoreTaskBox() => MoveNextAction = MoveNext;

        private void MoveNext()
        {
            var context = Context;
            if (context == null) Resume();
            else
            {
                Context = null;
                ExecutionContext.Run(context, ResumeInContext, this);
            }
        }

        protected abstract void Resume();
    }

    internal sealed class CoreTaskBox<TResult, TStateMachine> : CoreTaskBox<TResult> where TStateMachine : IAsyncStateMachine
    {
        internal TStateMachine StateMachine;

        protected override void Resume() => StateMachine.MoveNext();
    }
}

namespace System.Runtime.CompilerServices
{
    /// <summary>
    /// The compiler's marker of a method's own builder (C# 10). The netstandard2.0 copy of this attribute (in
    /// System.Threading.Tasks.Extensions) predates builders on methods and allows it on types only; the compiler
    /// matches it by name, so this one, which allows methods and lambdas too, is the one the core uses (hence CS0436,
    /// silenced in the project for this name clash alone).
    /// </summary>
    [AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct | AttributeTargets.Interface | AttributeTargets.Delegate |
                    AttributeTargets.Enum | AttributeTargets.Method, Inherited = false, AllowMultiple = false)]
    internal sealed class AsyncMethodBuilderAttribute : Attribute
    {
        public AsyncMethodBuilderAttribute(Type builderType) => BuilderType = builderType;

        public Type BuilderType { get; }
    }
}
