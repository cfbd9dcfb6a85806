using System;

namespace BackupTools.Validation
{
    /// <summary>
    /// A backup's retention date from what a user gives: a date (a DateTime without a zone is local time, as PowerShell
    /// users expect) or a period from now. Values the calendar cannot hold, and periods that are not positive, are
    /// refused before anything is sent, naming the parameter.
    /// </summary>
    internal static class Retention
    {
        /// <summary>
        /// The retention date from what was given: a date, a period, or neither (null: the service's own retention). Both
        /// are refused naming the rule, as the service takes one date: which of the two was meant cannot be told.
        /// </summary>
        public static DateTimeOffset? From(DateTime? date, TimeSpan? period)
        {
            if (date.HasValue && period.HasValue)
                throw Refused("Give -RetentionDate or -RetentionPeriod, not both: the backup has one retention date.", period.Value);
            return date.HasValue ? FromDate(date.Value) : period.HasValue ? FromNow(period.Value) : (DateTimeOffset?)null;
        }

        public static DateTimeOffset FromDate(DateTime value)
        {
            try
            {
                return value.Kind == DateTimeKind.Utc ? new DateTimeOffset(value, TimeSpan.Zero) : new DateTimeOffset(DateTime.SpecifyKind(value, DateTimeKind.Local));
            }
            catch (ArgumentOutOfRangeException)
            {
                throw Refused($"RetentionDate {value:s} is outside the calendar in this time zone.", value);
            }
        }

        public static DateTimeOffset FromNow(TimeSpan period)
        {
            if (period <= TimeSpan.Zero)
                throw Refused($"RetentionPeriod must be longer than zero (it was {Shown(period)}): the backup's retention date would not be in the future.", period);
            var now = DateTimeOffset.UtcNow;
            if (period > DateTimeOffset.MaxValue - now)
                throw Refused($"RetentionPeriod of {period.TotalDays:0} days ends outside the calendar (after the year 9999).", period);
            return now + period;
        }

        /// <summary>
        /// A period as the user can recognise it: whole days as a number of days (<c>-5 days</c>, what <c>-RetentionPeriod -5</c>
        /// gives), anything else as a TimeSpan (<c>-00:00:00.0010000</c>), which a number of days would round away
        /// (<c>-0 days</c>).
        /// </summary>
        internal static string Shown(TimeSpan period) =>
            period.Ticks % TimeSpan.TicksPerDay == 0
                ? (period.Ticks / TimeSpan.TicksPerDay).ToString(System.Globalization.CultureInfo.InvariantCulture) + " days"
                : period.ToString("c", System.Globalization.CultureInfo.InvariantCulture);

        /// <summary>
        /// The rule a retention date no longer in the future breaks, in terms of the parameter it came from: -RetentionPeriod
        /// (now plus the period, already past when the request is checked) or -RetentionDate.
        /// </summary>
        internal static string NotInFuture(BackupRequest request, DateTimeOffset retention) =>
            request.RetentionPeriod is TimeSpan period
                ? $"RetentionPeriod {Shown(period)} is too short: the retention date it gives (now plus the period) had already passed when the request was checked, and the backup's retention date must be in the future."
                : $"RetentionDate {retention:u} is not in the future.";

        private static BackupToolsException Refused(string message, object value) =>
            new BackupToolsException(ErrorIds.BackupParameterInvalid, BackupErrorCategory.InvalidArgument, message + " Nothing was sent.", value)
            {
                RecommendedAction = "Give a retention date in the future, or a period of days from now.",
            };
    }
}
