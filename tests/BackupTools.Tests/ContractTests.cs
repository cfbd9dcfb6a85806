using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Reflection;
using BackupTools.Commands;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>The cmdlets' contracts, read by reflection and from the real engine's command metadata.</summary>
    public sealed class ContractTests
    {
        private static readonly Assembly Module = typeof(BackupCmdletBase).Assembly;

        public static IEnumerable<Type> CmdletTypes() =>
            Module.GetTypes().Where(t => !t.IsAbstract && typeof(PSCmdlet).IsAssignableFrom(t) && t.GetCustomAttribute<CmdletAttribute>() != null);

        public static IEnumerable<object[]> Cmdlets() => CmdletTypes().Select(t => new object[] { t.Name });

        private static Type TypeNamed(string name) => CmdletTypes().Single(t => t.Name == name);

        private static readonly HashSet<string> ApprovedVerbs = new HashSet<string>(
            new[] { typeof(VerbsCommon), typeof(VerbsCommunications), typeof(VerbsData), typeof(VerbsDiagnostic), typeof(VerbsLifecycle), typeof(VerbsOther), typeof(VerbsSecurity) }
                .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static)).Select(f => (string)f.GetValue(null)));

        [Fact]
        public void The_module_has_the_cmdlets_the_design_names()
        {
            var names = CmdletTypes().Select(t => { var a = t.GetCustomAttribute<CmdletAttribute>(); return a.VerbName + "-" + a.NounName; }).ToList();
            Assert.Contains("Connect-BackupService", names);
            Assert.Contains("New-InstanceBackup", names);
            Assert.Contains("Get-BackupJob", names);
            Assert.Contains("Wait-BackupJob", names);
            Assert.Contains("Get-BackupProvider", names);
        }

        [Theory]
        [MemberData(nameof(Cmdlets))]
        public void Every_cmdlet_uses_an_approved_verb_is_sealed_and_named_after_itself(string typeName)
        {
            var type = TypeNamed(typeName);
            var attribute = type.GetCustomAttribute<CmdletAttribute>();
            Assert.Contains(attribute.VerbName, ApprovedVerbs);
            Assert.True(type.IsSealed);
            Assert.Equal(attribute.VerbName + attribute.NounName + "Command", type.Name);
        }

        [Theory]
        [MemberData(nameof(Cmdlets))]
        public void Every_cmdlet_declares_a_specific_output_type(string typeName)
        {
            var outputs = TypeNamed(typeName).GetCustomAttributes<OutputTypeAttribute>().SelectMany(o => o.Type).ToList();
            Assert.NotEmpty(outputs);
            Assert.DoesNotContain(outputs, o => o.Type == typeof(object) || o.Type == typeof(PSObject));
        }

        [Theory]
        [MemberData(nameof(Cmdlets))]
        public void Cmdlets_that_change_a_service_support_ShouldProcess(string typeName)
        {
            var attribute = TypeNamed(typeName).GetCustomAttribute<CmdletAttribute>();
            var changes = attribute.VerbName == VerbsCommon.New || attribute.VerbName == VerbsCommon.Remove || attribute.VerbName == VerbsData.Restore;
            if (changes) Assert.True(attribute.SupportsShouldProcess, $"{typeName} changes state but does not support -WhatIf/-Confirm");
            // Never declared by hand.
            Assert.DoesNotContain(TypeNamed(typeName).GetProperties(), p => p.Name == "WhatIf" || p.Name == "Confirm");
        }

        [Theory]
        [MemberData(nameof(Cmdlets))]
        public void Parameter_sets_are_unambiguous(string typeName)
        {
            var type = TypeNamed(typeName);
            var metadata = new CommandMetadata(type);
            var sets = metadata.Parameters.Values
                .SelectMany(p => p.ParameterSets.Keys)
                .Where(s => s != ParameterAttribute.AllParameterSets).Distinct().ToList();
            if (sets.Count > 1)
                Assert.False(string.IsNullOrEmpty(metadata.DefaultParameterSetName), $"{typeName} has several sets and no default");
            foreach (var a in sets)
            foreach (var b in sets.Where(b => string.CompareOrdinal(a, b) < 0))
            {
                var onlyA = metadata.Parameters.Values.Where(p => p.ParameterSets.ContainsKey(a) && !p.ParameterSets.ContainsKey(b) && p.ParameterSets[a].IsMandatory);
                var onlyB = metadata.Parameters.Values.Where(p => p.ParameterSets.ContainsKey(b) && !p.ParameterSets.ContainsKey(a) && p.ParameterSets[b].IsMandatory);
                // When both remain after binding, PowerShell takes the default set (Get-BackupProvider's Provider set,
                // the default so that a piped object's Provider binds before its Name): never ambiguous.
                var eitherIsDefault = a == metadata.DefaultParameterSetName || b == metadata.DefaultParameterSetName;
                Assert.True(onlyA.Any() || onlyB.Any() || eitherIsDefault,
                    $"{typeName}: sets {a} and {b} cannot be told apart by a mandatory parameter, and neither is the default");
            }
            // Positions are unique within each set.
            foreach (var set in sets.DefaultIfEmpty(ParameterAttribute.AllParameterSets))
            {
                var positions = metadata.Parameters.Values
                    .SelectMany(p => p.ParameterSets.Where(s => s.Key == set || s.Key == ParameterAttribute.AllParameterSets).Select(s => s.Value.Position))
                    .Where(pos => pos != int.MinValue).ToList();
                Assert.Equal(positions.Count, positions.Distinct().Count());
            }
        }

        [Theory]
        [InlineData(typeof(WaitBackupJobCommand))]
        [InlineData(typeof(GetBackupJobCommand))]
        public void Jobs_bind_from_the_pipeline_by_value_and_after_serialization_by_their_properties(Type command)
        {
            var job = command.GetProperty("Job");
            var parameter = job.GetCustomAttributes<ParameterAttribute>().Single();
            Assert.True(parameter.ValueFromPipeline);
            Assert.Equal(typeof(BackupJob[]), job.PropertyType);
            Assert.NotNull(job.GetCustomAttribute<BackupJobTransformationAttribute>());

            // Every property a job has survives a trip through a property bag (what deserialization leaves).
            var original = new BackupJob("DDS", "https://dds.eu-de.otc.t-systems.com/", "job-1", "https://dds.eu-de.otc.t-systems.com/v3/p/jobs?id=job-1",
                "i1in02", "name1", "b1br02", "p", BackupKind.Instance, BackupJobState.Failed, "Failed", 40,
                DateTimeOffset.UtcNow.AddMinutes(-3), DateTimeOffset.UtcNow, DateTimeOffset.UtcNow,
                new[] { new BackupJobMessage("DBS.1", "broken", "x") }, new[] { new BackupJobMessage("W", "careful") });
            var bag = typeof(BackupJob).GetProperties().ToDictionary(p => p.Name, p => p.GetValue(original));
            bag["State"] = "Failed";
            bag["Errors"] = new List<object> { new Dictionary<string, object> { ["Code"] = "DBS.1", ["Message"] = "broken", ["Subject"] = "x" } };
            var back = BackupJob.FromProperties(bag);
            foreach (var p in typeof(BackupJob).GetProperties().Where(p => p.Name != nameof(BackupJob.Elapsed)))
            {
                var a = p.GetValue(original);
                var b = p.GetValue(back);
                if (a is BackupJobMessageCollection ma) Assert.Equal(ma.Select(m => m.ToString()), ((BackupJobMessageCollection)b).Select(m => m.ToString()));
                else Assert.Equal(a, b);
            }
        }

        [Fact]
        public void Elapsed_counts_to_now_while_running_and_never_grows_once_finished()
        {
            var created = DateTimeOffset.UtcNow.AddHours(-1);
            // Running: to now, not to the last status read (a minute after the start).
            var running = new BackupJob("DDS", "https://x/", "j", createdAt: created, lastCheckedAt: created.AddMinutes(1));
            Assert.InRange(running.Elapsed, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61));
            // Finished, as a mock builds it (no end, no read): zero, and the same on every read.
            var mock = new BackupJob("DDS", "https://x/", "j", state: BackupJobState.Failed, createdAt: created);
            Assert.Equal(TimeSpan.Zero, mock.Elapsed);
            System.Threading.Thread.Sleep(20);
            Assert.Equal(TimeSpan.Zero, mock.Elapsed);
            // Finished without an end time but read: to that read.
            var read = new BackupJob("DDS", "https://x/", "j", state: BackupJobState.Succeeded, createdAt: created, lastCheckedAt: created.AddMinutes(5));
            Assert.Equal(TimeSpan.FromMinutes(5), read.Elapsed);
            var ended = new BackupJob("DDS", "https://x/", "j", state: BackupJobState.Succeeded, createdAt: created, endedAt: created.AddMinutes(2), lastCheckedAt: created.AddMinutes(5));
            Assert.Equal(TimeSpan.FromMinutes(2), ended.Elapsed);
        }

        [Fact]
        public void New_InstanceBackup_takes_csv_rows_by_property_name()
        {
            var byName = typeof(NewInstanceBackupCommand).GetProperties()
                .Where(p => p.GetCustomAttributes<ParameterAttribute>().Any(a => a.ValueFromPipelineByPropertyName))
                .Select(p => p.Name).ToList();
            Assert.Contains("InstanceId", byName);
            Assert.Contains("Name", byName);
            Assert.Contains("Description", byName);
            Assert.Contains("Provider", byName);
        }

        [Fact]
        public void Secrets_are_secure_strings_at_the_surface()
        {
            foreach (var type in CmdletTypes())
            foreach (var p in type.GetProperties().Where(p => p.GetCustomAttributes<ParameterAttribute>().Any()))
            {
                var lower = p.Name.ToLowerInvariant();
                // A script block that produces tokens holds none itself.
                if (p.PropertyType == typeof(ScriptBlock) && lower.EndsWith("provider")) continue;
                if (lower.Contains("token") || lower.Contains("password") || lower.Contains("passcode") || lower.Contains("secret"))
                    Assert.True(p.PropertyType == typeof(System.Security.SecureString) || p.PropertyType == typeof(PSCredential),
                        $"{type.Name}.{p.Name} is {p.PropertyType.Name}");
            }
        }

        [Fact]
        public void No_cmdlet_mentions_a_provider_by_name()
        {
            var root = RepoRoot();
            var names = BackupService.ProviderNames.ToList();
            foreach (var file in Directory.GetFiles(Path.Combine(root, "src", "BackupTools"), "*.cs", SearchOption.AllDirectories))
            {
                // Code only: documentation comments may name services as examples.
                var code = string.Join("\n", File.ReadAllLines(file).Where(l => !l.TrimStart().StartsWith("//")));
                foreach (var name in names)
                    Assert.False(System.Text.RegularExpressions.Regex.IsMatch(code, $@"\b{name}\b", System.Text.RegularExpressions.RegexOptions.IgnoreCase),
                        $"{Path.GetFileName(file)} mentions provider {name} in code");
            }
        }

        internal static string RepoRoot()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "BackupTools.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("BackupTools.sln not found above " + AppContext.BaseDirectory);
        }
    }
}
