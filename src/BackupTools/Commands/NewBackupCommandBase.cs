using System;
using System.Collections.Generic;
using System.Management.Automation;

namespace BackupTools.Commands
{
    /// <summary>
    /// What the creating cmdlets share: choosing the connection, ShouldProcess, starting the backup (concurrently with
    /// -ThrottleLimit), and -Wait. A creating cmdlet only declares its own parameters and builds its request.
    /// </summary>
    public abstract class NewBackupCommandBase : BackupCmdletBase
    {
        private readonly List<BackupJob> _created = new List<BackupJob>();
        // With -Wait: the connection each job was created with (rows may carry their own), to read it with.
        private readonly Dictionary<BackupJob, BackupConnection> _createdWith = new Dictionary<BackupJob, BackupConnection>(Jobs.JobIdentity.Comparer);
        // Names this command has started where the service keeps them unique: a later row repeating one is refused.
        private readonly Validation.NamesInCommand _names = new Validation.NamesInCommand();

        /// <summary>Which of the session's default connections to use, by provider name.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(CreatingProviderCompleter))]
        public string Provider { get; set; }

        /// <summary>
        /// The connection to use instead of the session's default: also a connection piped in (<c>$c | New-InstanceBackup</c>)
        /// or a pipeline object's Connection property. A piped connection bound only its Provider property before, and the
        /// session's latest connection of that provider (another project's) was used.
        /// </summary>
        [Parameter(ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ConnectionTransformation]
        public BackupConnection Connection { get; set; }

        /// <summary>Waits for each backup's job to finish and writes the finished jobs.</summary>
        [Parameter]
        public SwitchParameter Wait { get; set; }

        /// <summary>With -Wait: how long to wait at most (a TimeSpan or seconds). Default: until done.</summary>
        [Parameter]
        [SecondsToTimeSpan]
        public TimeSpan Timeout { get; set; }

        /// <summary>With -Wait: the shortest pause between two status reads (a TimeSpan or seconds).</summary>
        [Parameter]
        [SecondsToTimeSpan]
        public TimeSpan PollingInterval { get; set; }

        /// <summary>How many creates may be in flight at once when many come from the pipeline (default 1: one after another).</summary>
        [Parameter]
        [ValidateRange(1, 256)]
        public int ThrottleLimit { get; set; } = 1;

        /// <summary>
        /// How often a create is repeated when the service answers that another operation is in progress on the
        /// instance (with growing pauses, 2 s doubling to 60 s). 0 reports the conflict at once.
        /// </summary>
        [Parameter]
        [ValidateRange(0, 20)]
        public int BusyRetryCount { get; set; } = 5;

        /// <summary>
        /// How long one create request may take before it is abandoned (a TimeSpan or seconds; default 100 s). With -Wait,
        /// also how long each status read of the wait may take (otherwise 30 s).
        /// </summary>
        [Parameter]
        [SecondsToTimeSpan]
        public TimeSpan RequestTimeout { get; set; }

        /// <summary>The kind of backup this cmdlet starts; it selects the connection when none is named.</summary>
        protected abstract BackupKind Kind { get; }

        private static Dictionary<string, BackupKind> _kindByCommand;

        /// <summary>
        /// The kind of backup the creating cmdlet named <paramref name="commandName"/> starts (module-qualified or not),
        /// or null for another command. Read once from the cmdlets themselves, so a new creating cmdlet needs no entry.
        /// </summary>
        internal static BackupKind? KindStartedBy(string commandName)
        {
            var map = _kindByCommand;
            if (map == null)
            {
                map = new Dictionary<string, BackupKind>(StringComparer.OrdinalIgnoreCase);
                foreach (var type in typeof(NewBackupCommandBase).Assembly.GetTypes())
                {
                    if (type.IsAbstract || !type.IsSubclassOf(typeof(NewBackupCommandBase))) continue;
                    var cmdlet = (CmdletAttribute)Attribute.GetCustomAttribute(type, typeof(CmdletAttribute));
                    if (cmdlet == null) continue;
                    using (var command = (NewBackupCommandBase)Activator.CreateInstance(type))
                        map[cmdlet.VerbName + "-" + cmdlet.NounName] = command.Kind;
                }
                _kindByCommand = map;
            }
            var name = commandName ?? string.Empty;
            name = name.Substring(name.LastIndexOf('\\') + 1);
            return map.TryGetValue(name, out var kind) ? kind : (BackupKind?)null;
        }

        /// <summary>The words of the ShouldProcess action ("Start backup").</summary>
        protected abstract string Action { get; }

        /// <summary>The request for the current pipeline item.</summary>
        protected abstract BackupRequest BuildRequest();

        private Jobs.WaitOptions _waitOptions;
        private Http.CreateRetryOptions _retryOptions;

        /// <inheritdoc />
        protected override bool HeldJobsAreItsOwn => true;

        /// <inheritdoc />
        protected override void BeginProcessing()
        {
            // A bad -RequestTimeout ends the command here too: before -WhatIf says what it would do, before -Confirm asks.
            _retryOptions = RetryOptions();
            // With -Wait, a bad -PollingInterval ends the command here, before any backup is started.
            if (Wait)
            {
                _waitOptions = WaitOptionsFrom(Timeout, PollingInterval, any: false);
                // A -RequestTimeout the user gave limits the wait's status reads too (their own default is 30 s): a
                // service slow enough to need a longer limit for its creates may need it for its reads.
                if (MyInvocation.BoundParameters.ContainsKey(nameof(RequestTimeout))) _waitOptions.ReadTimeout = _retryOptions.RequestTimeout;
            }
            // Given without -Wait (not -Wait:$false, a splat's choice): said, as they do nothing. A warning, not an error:
            // $PSDefaultParameterValues may give them to every call.
            else if (!MyInvocation.BoundParameters.ContainsKey(nameof(Wait)) &&
                     (MyInvocation.BoundParameters.ContainsKey(nameof(Timeout)) || MyInvocation.BoundParameters.ContainsKey(nameof(PollingInterval))))
                WriteWarning("-Timeout and -PollingInterval apply only with -Wait; without it each job is written at once, and they were ignored. (Wait-BackupJob takes them too.)");
        }

        /// <inheritdoc />
        protected override void ProcessRecord()
        {
            BackupConnection connection;
            BackupRequest request = null;
            try
            {
                request = BuildRequest();
                connection = BackupService.ConnectionForNewBackup(Connection, Provider, Kind, Connections, request);
                BackupService.Validate(connection, request);
                // An earlier row's create of this name still in flight (a throttle limit): its outcome decides whether a
                // backup took the name, so this row waits for it (writing what ends meanwhile) rather than being refused
                // for a name a refused create leaves free.
                FinishStartsWhile(() => _names.IsPending(connection, request));
                _names.Check(connection, request);
            }
            catch (BackupToolsException ex)
            {
                // (which row it was: the request, without its secrets, where the error names none)
                WriteError(ex, request?.WithoutSecrets());
                return;
            }
            // The prompt names where the backup would start: two deployments or two regions otherwise read alike.
            if (!ShouldProcess($"{connection.Provider} {Http.Redact.Url(connection.Endpoint)}: {request}", Action))
            {
                // -WhatIf shows what the real run would do: that run takes the name here, and a later row repeating it
                // is refused. A row declined at -Confirm is not sent and leaves the name to a later row.
                if (WhatIfInEffect()) _names.Claim(connection, request, inFlight: false);
                return;
            }
            _names.Claim(connection, request);
            StartBackup(connection, request, job =>
            {
                _names.Settle(connection, request);
                if (Wait)
                {
                    _created.Add(job);
                    _createdWith[job] = connection;
                    Hold(job);
                }
                else WriteJob(job);
            }, ThrottleLimit, _retryOptions,
                // A create that cannot have started leaves no backup with the name: a later row may use it.
                failed => _names.GiveBack(connection, request, failed));
        }

        /// <summary>
        /// Whether ShouldProcess answers as -WhatIf: -WhatIf (or -WhatIf:$false) when given, otherwise $WhatIfPreference as
        /// this command sees it (a caller's -WhatIf sets it for the commands it runs), as the engine decides it.
        /// </summary>
        private bool WhatIfInEffect()
        {
            if (MyInvocation.BoundParameters.TryGetValue("WhatIf", out var given))
                return given is SwitchParameter s ? s.IsPresent : LanguagePrimitives.IsTrue(given);
            return LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference"));
        }

        private Http.CreateRetryOptions RetryOptions()
        {
            var options = new Http.CreateRetryOptions { BusyRetries = BusyRetryCount };
            if (MyInvocation.BoundParameters.ContainsKey(nameof(RequestTimeout)))
            {
                if (RequestTimeout <= TimeSpan.Zero)
                    ThrowTerminatingError(new BackupToolsException(ErrorIds.BackupParameterInvalid, BackupErrorCategory.InvalidArgument,
                        "RequestTimeout must be greater than zero.", RequestTimeout));
                options.RequestTimeout = RequestTimeout;
            }
            return options;
        }

        /// <inheritdoc />
        protected override void EndProcessing()
        {
            FinishStarts();
            if (Wait && _created.Count > 0)
                WaitForJobs(_created, _waitOptions, null, _createdWith);
            RanToEnd();
        }
    }
}
