using System;

namespace BackupTools.Jobs
{
    /// <summary>How a wait behaves. Defaults suit an interactive session; runbooks usually set <see cref="Timeout"/>.</summary>
    public sealed class WaitOptions
    {
        /// <summary>The longest delay a timer takes at once everywhere (int.MaxValue ms, 24.8 days); a longer timeout is waited in chunks.</summary>
        public static readonly TimeSpan LongestTimeout = TimeSpan.FromMilliseconds(int.MaxValue);
        /// <summary>The longest polling interval accepted.</summary>
        public static readonly TimeSpan LongestPollingInterval = TimeSpan.FromDays(1);

        /// <summary>
        /// Overall limit; null, <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> or <see cref="TimeSpan.MaxValue"/>
        /// wait until every job is final. Each unfinished job is read once more at the limit.
        /// </summary>
        public TimeSpan? Timeout { get; set; }
        /// <summary>The floor between two status reads of one job, and the delay before the first.</summary>
        public TimeSpan PollingInterval { get; set; } = TimeSpan.FromSeconds(1);
        /// <summary>The longest pause between two status reads of one job.</summary>
        public TimeSpan MaxPollingInterval { get; set; } = TimeSpan.FromSeconds(30);
        /// <summary>Return as soon as the first job is final.</summary>
        public bool Any { get; set; }
        /// <summary>Status requests in flight at once to one endpoint.</summary>
        public int MaxConcurrentRequestsPerEndpoint { get; set; } = 32;
        /// <summary>Consecutive failed status reads of one job (network, the statuses Resilience.IsTransientRead repeats, unreadable answers) before it is reported as failed to follow.</summary>
        public int MaxConsecutiveReadFailures { get; set; } = 20;
        /// <summary>
        /// How long one status read may take before it is abandoned and counted as a failed read (default 30 s; a
        /// create's request takes 100 s). A status read is a small GET that services answer within a second or two; a
        /// read that hangs holds one of its endpoint's slots, and at a create's 100 s the 20 reads that give a job up took
        /// over 33 minutes. New-*Backup -Wait sets it to its -RequestTimeout when that is given. A sign-in that a read
        /// needs (a token renewed mid-wait) takes the same limit.
        /// </summary>
        public TimeSpan ReadTimeout { get; set; } = DefaultReadTimeout;

        /// <summary>The default <see cref="ReadTimeout"/>: 30 seconds.</summary>
        public static readonly TimeSpan DefaultReadTimeout = TimeSpan.FromSeconds(30);

        /// <summary>
        /// With <see cref="EndpointOutageTime"/>: when this many status reads of the wait's jobs at one endpoint in a row
        /// got no answer at all (no connection, refused or reset, nothing within <see cref="ReadTimeout"/>), with no
        /// answer in between (an HTTP error is an answer, and starts the count again), over at least that time, every
        /// unfinished job of that endpoint is given up at once, each as its own 20th failed read would have given it up
        /// (<c>BackupServiceUnreachable</c>). 20, as for one job: the endpoint is given up on no less evidence than a job
        /// is, but 32 reads in flight gather it together instead of each job in turn (1,000 jobs on an endpoint that
        /// never answered took 17 hours).
        /// </summary>
        public int EndpointOutageFailures { get; set; } = 20;

        /// <summary>
        /// The least time the failures of <see cref="EndpointOutageFailures"/> must span, from the first seen to the last
        /// (default 5 minutes), spread over it: a failure more than a job's longest pause and twice <see cref="ReadTimeout"/>
        /// after the one before (90 s by default) starts the count again, since a stretch in which nothing was read (a
        /// laptop asleep) is no evidence of an outage. 32 reads failing together in a brief blip (a gateway restarting, a
        /// fail-over) never give an endpoint up, while an endpoint that has answered no read of any job for 5 minutes is
        /// taken to be down for this wait. One job alone, whose own 20 failed reads take 6 to 20 minutes with their pauses,
        /// is not given up sooner.
        /// </summary>
        public TimeSpan EndpointOutageTime { get; set; } = TimeSpan.FromMinutes(5);
    }
}
