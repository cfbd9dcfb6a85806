using System;
using System.IO;
using System.Reflection;
using System.Reflection.Emit;
using BackupTools.Commands;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// The answer Windows PowerShell 5.1 gets when one of the module's assemblies fails to load (its stand-in for
    /// binding redirects), run here on .NET: there is no Windows PowerShell on these machines, so this holds the
    /// handler's decisions, not its behaviour inside .NET Framework. Each test saves assemblies of unique names (never
    /// loaded before) into a scratch dependencies folder.
    /// </summary>
    public sealed class WindowsPowerShellResolveTests : IDisposable
    {
        private readonly string _dependencies = Path.Combine(Path.GetTempPath(), "backuptools-resolve-" + Guid.NewGuid().ToString("N").Substring(0, 8), "dependencies");

        public WindowsPowerShellResolveTests() => Directory.CreateDirectory(_dependencies);

        public void Dispose()
        {
            try { Directory.Delete(Path.GetDirectoryName(_dependencies), true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }

        /// <summary>Writes an empty assembly of a fresh name, version 1.0.0.0, into the dependencies folder.</summary>
        private string Probe()
        {
            var name = "BackupToolsProbe" + Guid.NewGuid().ToString("N").Substring(0, 12);
            var builder = new PersistedAssemblyBuilder(new AssemblyName(name) { Version = new Version(1, 0, 0, 0) }, typeof(object).Assembly);
            var module = builder.DefineDynamicModule(name);
            module.DefineType(name + ".Marker", TypeAttributes.Public | TypeAttributes.Class).CreateType();
            builder.Save(Path.Combine(_dependencies, name + ".dll"));
            return name;
        }

        [Fact]
        public void A_request_from_the_cmdlet_assembly_is_answered_from_dependencies_in_whatever_version_was_asked()
        {
            var name = Probe();
            var loaded = ModuleInitializer.ResolveFrom(_dependencies, name + ", Version=9.9.9.9, Culture=neutral, PublicKeyToken=null", typeof(ModuleInitializer).Assembly);
            Assert.NotNull(loaded);
            Assert.Equal(name, loaded.GetName().Name);
            Assert.Equal(new Version(1, 0, 0, 0), loaded.GetName().Version);
            Assert.Equal(Path.Combine(_dependencies, name + ".dll"), loaded.Location);
        }

        [Fact]
        public void A_request_from_an_assembly_of_the_dependencies_folder_is_answered_too()
        {
            var first = ModuleInitializer.ResolveFrom(_dependencies, Probe(), typeof(ModuleInitializer).Assembly);
            var second = Probe();
            var loaded = ModuleInitializer.ResolveFrom(_dependencies, second, first);
            Assert.NotNull(loaded);
            Assert.Equal(second, loaded.GetName().Name);
        }

        [Fact]
        public void Another_module_s_request_is_left_to_it_even_for_a_file_the_module_ships()
        {
            var name = Probe();
            Assert.Null(ModuleInitializer.ResolveFrom(_dependencies, name, typeof(object).Assembly));
            Assert.Null(ModuleInitializer.ResolveFrom(_dependencies, name, typeof(Xunit.Assert).Assembly));
            // With no requester, only the core is the module's (PowerShell resolving [BackupTools.BackupJob]).
            Assert.Null(ModuleInitializer.ResolveFrom(_dependencies, name, null));
        }

        [Fact]
        public void The_core_is_answered_with_no_requester()
        {
            // A stand-in core: the file name is what is looked up; its identity is the probe's.
            var name = Probe();
            File.Move(Path.Combine(_dependencies, name + ".dll"), Path.Combine(_dependencies, "BackupTools.Core.dll"));
            var loaded = ModuleInitializer.ResolveFrom(_dependencies, "BackupTools.Core, Version=0.1.0.0, Culture=neutral, PublicKeyToken=null", null);
            Assert.NotNull(loaded);
            Assert.Equal(name, loaded.GetName().Name);
        }

        [Theory]
        [InlineData("NotShipped")]
        [InlineData("..\\..\\outside")]
        [InlineData("../outside")]
        [InlineData("")]
        [InlineData("a\0b")]
        [InlineData(", Version=1.0.0.0")]
        public void A_name_the_folder_does_not_hold_or_no_name_at_all_gets_null(string requested)
        {
            File.WriteAllText(Path.Combine(Path.GetDirectoryName(_dependencies), "outside.dll"), "not an assembly");
            Assert.Null(ModuleInitializer.ResolveFrom(_dependencies, requested, typeof(ModuleInitializer).Assembly));
        }
    }
}
