using System;

namespace BackupTools.Jobs
{
    /// <summary>
    /// When to read a job's status next. Prompt and cheap: a short first read; then, where the service reports
    /// progress, near the expected end; otherwise a pause proportional to the job's age (so a completion is seen within
    /// about a fifth of the job's duration), between the floor and the cap, with jitter so thousands of jobs do not
    /// poll in lockstep. A service's <c>Retry-After</c> is a minimum; so is the provider's own.
    /// </summary>
    internal static class PollSchedule
    {
        internal const double AgeFraction = 0.2;
        internal const double Jitter = 0.1;
        internal const int MinPercentForEstimate = 5;

        /// <summary>
        /// The longest pause an extrapolation may give, in multiples of the job's age. The age is the client's clock less
        /// the job's start, which a service may give in whole seconds (TaurusDB) or on a clock of its own: an error of e
        /// in it becomes e·(100−p)/p in the estimate, some 7× at 12 %, and an 8 s job was seen at 12 s. Bounded so, a
        /// read comes at most three ages on, and the next, with a larger percentage, corrects it.
        /// </summary>
        internal const double MaxAgeMultipleForEstimate = 3;

        public static TimeSpan Next(TimeSpan age, int? percent, TimeSpan? retryAfter, TimeSpan floor, TimeSpan cap,
            TimeSpan providerMinimum, double random01)
        {
            if (cap < floor) cap = floor;
            double seconds;
            // A percentage under 5 is too coarse to extrapolate from (1 % after 0.5 s could mean anything up to a minute).
            if (percent is int p && p >= MinPercentForEstimate && p < 100)
            {
                var remaining = age.TotalSeconds * (100 - p) / p;
                seconds = Math.Min(remaining, age.TotalSeconds * MaxAgeMultipleForEstimate);
            }
            else
            {
                seconds = age.TotalSeconds * AgeFraction;
            }
            // Jitter of ±10 %, applied before clamping so the floor and cap hold exactly.
            seconds *= 1 + Jitter * (2 * random01 - 1);
            seconds = Math.Max(floor.TotalSeconds, Math.Min(cap.TotalSeconds, seconds));
            if (retryAfter is TimeSpan ra) seconds = Math.Max(seconds, ra.TotalSeconds);
            seconds = Math.Max(seconds, providerMinimum.TotalSeconds);
            return TimeSpan.FromSeconds(seconds);
        }
    }
}
