using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using BackupTools.Jobs;
using BackupTools.Session;
using BackupTools.Simulator;
using Xunit;

namespace BackupTools.Tests
{
    /// <summary>
    /// Which connection reads a job (its provider, endpoint and project, however the job was written down), and what
    /// Connect-BackupService refuses instead of dropping. Against the simulator over loopback; nothing may be sent with
    /// the wrong connection.
    /// </summary>
    public sealed class ConnectionChoiceTests : IClassFixture<SimulatorFixture>, IDisposable
    {
        private const string ProjectB = "fedcba9876543210fedcba9876543210";
        private readonly BackupSimulator _sim;

        public ConnectionChoiceTests(SimulatorFixture fixture)
        {
            _sim = fixture.Sim;
            _sim.Reset();
            _sim.Options.JobDuration = TimeSpan.FromMilliseconds(200);
            _sim.Options.NotFoundWindow = TimeSpan.Zero;
        }

        public void Dispose() => _sim.Reset();

        private Task<BackupJob> StartDds(BackupConnection c) =>
            BackupService.StartAsync(c, new BackupRequest { InstanceId = TestData.DdsInstance, Name = TestData.UniqueName() }, NullOperationLog.Instance, CancellationToken.None);

        /// <summary>
        /// A trimmed job (no Scope column) still names its project in its status address: with the session's one
        /// connection at its endpoint being to another project, it is not read with that project's credential, whether
        /// the store chooses or the connection is passed (-Connection).
        /// </summary>
        [Fact]
        public async Task A_job_whose_project_shows_only_in_its_status_address_is_not_read_with_the_one_connection_to_another_project()
        {
            var a = TestData.Connect(_sim, "DDS");
            var jobA = await StartDds(a);
            var trimmed = new BackupJob(jobA.Provider, jobA.Endpoint, jobA.JobId, jobA.StatusUrl, jobA.InstanceId, jobA.BackupName, createdAt: jobA.CreatedAt);
            Assert.Null(trimmed.Scope);
            Assert.Contains("/" + TestData.ProjectId + "/", trimmed.StatusUrl);
            var noEndpoint = new BackupJob(jobA.Provider, null, jobA.JobId, jobA.StatusUrl, createdAt: jobA.CreatedAt);

            var b = TestData.Connect(_sim, "DDS", scope: ProjectB);
            var store = new ConnectionStore();
            store.SetDefault(b);
            var before = _sim.Counters.TotalRequests;

            Assert.Null(store.ForJob(trimmed));
            Assert.Null(store.ForJob(noEndpoint));
            var events = new RecordingEvents();
            await BackupService.WaitAsync(new[] { trimmed }, store.ForJob, HuaweiFamilyTests.Fast, events, NullOperationLog.Instance, CancellationToken.None);
            var missing = Assert.Single(events.Errors);
            Assert.Equal(ErrorIds.ConnectionNotFound, missing.ErrorId);
            Assert.Contains(TestData.ProjectId, missing.Message);

            var passed = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.RefreshAsync(b, trimmed, NullOperationLog.Instance, CancellationToken.None));
            Assert.Equal(ErrorIds.ConnectionNotFound, passed.ErrorId);
            Assert.Contains(TestData.ProjectId, passed.Message);
            Assert.Contains(ProjectB, passed.Message);
            var waited = new RecordingEvents();
            await BackupService.WaitAsync(new[] { trimmed }, _ => b, HuaweiFamilyTests.Fast, waited, NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal(ErrorIds.ConnectionNotFound, Assert.Single(waited.Errors).ErrorId);
            Assert.Equal(before, _sim.Counters.TotalRequests);

            // With its own project's connection there too, that one reads it.
            store.SetDefault(a);
            Assert.Same(a, store.ForJob(trimmed));
            var done = await BackupService.RefreshAsync(store.ForJob(trimmed), trimmed, NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal(jobA.JobId, done.JobId);
        }

        /// <summary>A job that names another endpoint is not read with a connection passed for it (-Connection).</summary>
        [Fact]
        public async Task A_connection_to_another_endpoint_is_refused_for_a_job_that_names_its_endpoint()
        {
            var c = TestData.Connect(_sim, "DDS");
            var started = await StartDds(c);
            // A row of a CSV written elsewhere: its job id, project and real region, no status address.
            var row = new BackupJob("DDS", "https://dds.eu-nl.otc.t-systems.com/", started.JobId, scope: TestData.ProjectId, createdAt: started.CreatedAt);
            var before = _sim.Counters.TotalRequests;

            var refused = await Assert.ThrowsAsync<BackupToolsException>(() => BackupService.RefreshAsync(c, row, NullOperationLog.Instance, CancellationToken.None));
            Assert.Equal(ErrorIds.ConnectionNotFound, refused.ErrorId);
            Assert.Contains("https://dds.eu-nl.otc.t-systems.com/", refused.Message);
            Assert.Contains(c.Endpoint.ToString(), refused.Message);
            var events = new RecordingEvents();
            await BackupService.WaitAsync(new[] { row }, _ => c, HuaweiFamilyTests.Fast, events, NullOperationLog.Instance, CancellationToken.None);
            Assert.Equal(ErrorIds.ConnectionNotFound, Assert.Single(events.Errors).ErrorId);
            Assert.Empty(events.Finished);
            Assert.Equal(before, _sim.Counters.TotalRequests);

            // Its own endpoint, spelled otherwise (upper case, no trailing slash), is the same endpoint.
            var same = new BackupJob("DDS", c.Endpoint.ToString().ToUpperInvariant().TrimEnd('/'), started.JobId, scope: TestData.ProjectId, createdAt: started.CreatedAt);
            Assert.Equal(started.JobId, (await BackupService.RefreshAsync(c, same, NullOperationLog.Instance, CancellationToken.None)).JobId);
        }

        /// <summary>
        /// An endpoint written with its default port is the endpoint without it: the connection made with one reads
        /// jobs that name the other, and two objects of one job that differ only so are one job.
        /// </summary>
        [Theory]
        [InlineData("https://dds.example.com/", "https://dds.example.com:443/")]
        [InlineData("https://dds.example.com:443/", "HTTPS://DDS.Example.com")]
        [InlineData("https://dds.example.com/api/", "https://dds.example.com:443/api")]
        [InlineData("http://localhost/dds/", "http://LOCALHOST:80/dds")]
        public void An_endpoint_with_its_default_port_matches_the_connection_made_without_it(string connectedTo, string jobSays)
        {
            var c = BackupService.Connect(new ConnectRequest
            {
                Provider = "DDS", Endpoint = new Uri(connectedTo), Scope = TestData.ProjectId, AccessToken = TestData.Secure(TestData.Token),
            });
            var store = new ConnectionStore();
            store.SetDefault(c);
            var job = new BackupJob("DDS", jobSays, "job-1", scope: TestData.ProjectId);
            Assert.Same(c, store.ForJob(job));
            BackupService.CheckMatches(c, job);

            var created = new BackupJob("DDS", c.Endpoint.ToString(), "job-1", scope: TestData.ProjectId);
            Assert.Single(JobIdentity.Distinct(new[] { created, job }));
            // Another port is another endpoint.
            var elsewhere = new BackupJob("DDS", "https://dds.example.com:8443/", "job-1", scope: TestData.ProjectId);
            Assert.Null(store.ForJob(elsewhere));
            Assert.Equal(2, JobIdentity.Distinct(new[] { created, elsewhere }).Count);
        }

        /// <summary>
        /// A -Connection to another provider than the job's is refused with an action that fits what the user did: it
        /// told them to "pass -Connection", which they had just done (the catalogue's action for ConnectionNotFound).
        /// </summary>
        [Fact]
        public void A_connection_to_another_provider_recommends_one_to_the_job_s_own()
        {
            var c = BackupService.Connect(new ConnectRequest
            {
                Provider = "DDS", Endpoint = _sim.EndpointFor("DDS"), Scope = TestData.ProjectId, AccessToken = TestData.Secure(TestData.Token),
            });
            var job = new BackupJob("TaurusDB", _sim.EndpointFor("TaurusDB").ToString(), "job-1", scope: TestData.ProjectId);
            var ex = Assert.Throws<BackupToolsException>(() => BackupService.CheckMatches(c, job));
            Assert.Equal(ErrorIds.ConnectionNotFound, ex.ErrorId);
            Assert.NotEqual(ErrorIds.DefaultAction(ErrorIds.ConnectionNotFound), ex.RecommendedAction);
            Assert.Contains("TaurusDB", ex.RecommendedAction);
        }

        /// <summary>
        /// Several connections fit and none was chosen: the action is to choose one, as the message says. It was the
        /// catalogue's "Run Connect-BackupService, or pass -Connection", to a session that had connections to spare.
        /// </summary>
        [Fact]
        public void Several_fitting_connections_recommend_choosing_one_not_connecting()
        {
            BackupConnection To(string provider, Uri endpoint) => BackupService.Connect(new ConnectRequest
            {
                Provider = provider, Endpoint = endpoint, AccessToken = TestData.Secure(TestData.Token),
                Scope = provider == "DDS" || provider == "TaurusDB" ? TestData.ProjectId : null,
            });
            var store = new ConnectionStore();
            store.SetDefault(To("DDS", _sim.EndpointFor("DDS")));
            store.SetDefault(To("TaurusDB", _sim.EndpointFor("TaurusDB")));
            var services = Assert.Throws<BackupToolsException>(() => store.ForNewBackup(null, BackupKind.Instance));
            Assert.Equal(ErrorIds.ConnectionNotFound, services.ErrorId);
            Assert.Equal("Pass -Provider or -Connection to choose one.", services.RecommendedAction);

            store.SetDefault(To("DDS", new Uri("http://localhost:" + _sim.EndpointFor("DDS").Port + "/dds/")));
            foreach (var regions in new[] { () => store.ForNewBackup("DDS", BackupKind.Instance), () => store.ForNewBackup(null) })
            {
                var ex = Assert.Throws<BackupToolsException>(regions);
                Assert.StartsWith("Pass -", ex.RecommendedAction);
                Assert.DoesNotContain("Run Connect-BackupService", ex.RecommendedAction);
            }
        }

        /// <summary>
        /// A job list written by hand may carry a password in its addresses (https://user:password@host/): the job keeps
        /// neither, so no view, Export-Clixml or error that quotes its Endpoint (there is no connection there) shows it.
        /// </summary>
        [Fact]
        public void A_password_in_a_jobs_endpoint_or_status_address_is_not_kept_nor_quoted()
        {
            var job = BackupJob.FromProperties(new Dictionary<string, object>
            {
                ["Provider"] = "DDS", ["Endpoint"] = "https://ops:Pa55-userinfo@dds.example.com/", ["JobId"] = "job-1", ["Scope"] = TestData.ProjectId,
                ["StatusUrl"] = "https://ops:Pa55-userinfo@dds.example.com/v3/" + TestData.ProjectId + "/jobs?id=job-1",
            });
            Assert.Equal("https://dds.example.com/", job.Endpoint);
            Assert.Equal("https://dds.example.com/v3/" + TestData.ProjectId + "/jobs?id=job-1", job.StatusUrl);
            // Text that is no address keeps its shape, with what stands before the '@' masked.
            Assert.Equal("https://***@dds example.com/", new BackupJob("DDS", "https://ops:Pa55-userinfo@dds example.com/", "job-1").Endpoint);

            var store = new ConnectionStore();
            Assert.Null(store.ForJob(job));
            var ex = Assert.Throws<BackupToolsException>(() => BackupService.CheckMatches(null, job));
            Assert.Contains("https://dds.example.com/", ex.Message);
            Assert.DoesNotContain("Pa55-userinfo", ex.Message + ex.RecommendedAction);
            Assert.DoesNotContain("Pa55-userinfo", System.Management.Automation.PSSerializer.Serialize(job, 2));
        }

        /// <summary>
        /// A job list written by hand names the project as Connect-BackupService does (ProjectId, or its alias Project):
        /// that is the job's Scope, so a session connected only to another project says so instead of reading the job
        /// at that project's address.
        /// </summary>
        [Fact]
        public async Task A_ProjectId_or_Project_column_is_the_jobs_Scope()
        {
            Assert.Equal(TestData.ProjectId, BackupJob.FromProperties(new Dictionary<string, object> { ["Provider"] = "DDS", ["JobId"] = "j", ["ProjectId"] = TestData.ProjectId }).Scope);
            Assert.Equal(TestData.ProjectId, BackupJob.FromProperties(new System.Collections.Hashtable { ["Provider"] = "DDS", ["JobId"] = "j", ["project"] = TestData.ProjectId }).Scope);
            Assert.Equal("s", BackupJob.FromProperties(new Dictionary<string, object> { ["Provider"] = "DDS", ["JobId"] = "j", ["Scope"] = "s", ["ProjectId"] = "p" }).Scope);

            var started = await StartDds(TestData.Connect(_sim, "DDS"));
            using var ps = new PowerShellHost();
            ps.Set("token", TestData.Secure(TestData.Token));
            ps.Set("dds", _sim.EndpointFor("DDS").ToString());
            ps.Set("b", ProjectB);
            ps.Set("id", started.JobId);
            ps.Set("a", TestData.ProjectId);
            // A row as Import-Csv gives it (that cmdlet is not in the hosted engine): text properties, no Scope.
            const string Row = "[pscustomobject]@{ Provider = 'DDS'; Endpoint = $dds; JobId = $id; ProjectId = $a } | Get-BackupJob";
            var connected = ps.Run("$null = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $b -AccessToken $token");
            Assert.Empty(connected.Errors);
            var before = _sim.Counters.TotalRequests;

            var r = ps.Run(Row);
            var error = Assert.Single(r.Errors);
            Assert.Equal(ErrorIds.ConnectionNotFound, error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Contains(TestData.ProjectId, error.Exception.Message);
            Assert.Empty(r.Output);
            Assert.Equal(before, _sim.Counters.TotalRequests);

            // Connected to its project too, the row is read there.
            ps.Run("$null = Connect-BackupService -Provider DDS -Endpoint $dds -ProjectId $a -AccessToken $token");
            var read = ps.Run(Row);
            Assert.Empty(read.Errors);
            Assert.Equal(TestData.ProjectId, Assert.Single(read.Objects<BackupJob>()).Scope);
        }

        /// <summary>
        /// A job with neither Endpoint nor project, in a session with two projects at one endpoint: the message asks
        /// for both, as the Endpoint alone would lead only to a second error asking for the Scope.
        /// </summary>
        [Fact]
        public async Task A_job_without_an_endpoint_among_two_projects_of_one_endpoint_is_told_to_give_its_Scope_too()
        {
            var store = new ConnectionStore();
            store.SetDefault(TestData.Connect(_sim, "DDS"));
            store.SetDefault(TestData.Connect(_sim, "DDS", scope: ProjectB));
            var bare = new BackupJob("DDS", null, "job-1");
            var events = new RecordingEvents();
            await BackupService.WaitAsync(new[] { bare }, store.ForJob, HuaweiFamilyTests.Fast, events, NullOperationLog.Instance, CancellationToken.None);
            var error = Assert.Single(events.Errors);
            Assert.Equal(ErrorIds.ConnectionNotFound, error.ErrorId);
            Assert.Contains("Endpoint", error.Message);
            Assert.Contains("Scope", error.Message);
            Assert.Contains("-Connection", error.Message);
            Assert.Contains(ProjectB, error.Message);

            // With its Scope, the Endpoint is still needed only if several endpoints have that project: here one has.
            var scoped = new BackupJob("DDS", null, "job-1", scope: ProjectB);
            Assert.Equal(ProjectB, store.ForJob(scoped).Scope);
            Assert.Equal(0, _sim.Counters.TotalRequests);
        }

        /// <summary>
        /// With no -Provider and the session's fitting connections being one service at two endpoints (two regions),
        /// the advice is -Connection alone: -Provider would be refused in turn (the name does not choose a region).
        /// </summary>
        [Fact]
        public void One_service_at_two_endpoints_without_a_provider_is_told_to_pass_Connection_not_Provider()
        {
            var store = new ConnectionStore();
            foreach (var region in new[] { "eu-de", "eu-nl" })
                store.SetDefault(BackupService.Connect(new ConnectRequest { Provider = "DDS", Region = region, Scope = TestData.ProjectId, AccessToken = TestData.Secure(TestData.Token) }));

            foreach (var choose in new Func<BackupConnection>[] { () => store.ForNewBackup(null), () => store.ForNewBackup(null, BackupKind.Instance) })
            {
                var error = Assert.Throws<BackupToolsException>(choose);
                Assert.Equal(ErrorIds.ConnectionNotFound, error.ErrorId);
                Assert.Contains("-Connection", error.Message);
                Assert.DoesNotContain("-Provider", error.Message);
                Assert.Contains("dds.eu-de", error.Message);
                Assert.Contains("dds.eu-nl", error.Message);
            }
            var named = Assert.Throws<BackupToolsException>(() => store.ForNewBackup("DDS"));
            Assert.Contains("Pass -Connection", named.Message);
        }

        /// <summary>
        /// A -Provider that does not offer the kind of backup asked for is refused as such, whatever the session's
        /// connections to it: with none it was ConnectionNotFound ("run Connect-BackupService -Provider ArcGIS first"),
        /// and with two (two regions) "pass -Connection", each leading only to this refusal once followed.
        /// </summary>
        [Theory]
        [InlineData("ArcGIS", BackupKind.Instance, 0)]
        [InlineData("TaurusDB", BackupKind.DisasterRecovery, 0)]
        [InlineData("DDS", BackupKind.DisasterRecovery, 2)]
        public void A_named_provider_without_the_kind_is_refused_for_it_before_its_connections_are_looked_for(string provider, BackupKind kind, int connections)
        {
            var store = new ConnectionStore();
            foreach (var region in new[] { "eu-de", "eu-nl" }.Take(connections))
                store.SetDefault(BackupService.Connect(new ConnectRequest { Provider = provider, Region = region, Scope = TestData.ProjectId, AccessToken = TestData.Secure(TestData.Token) }));
            var request = new BackupRequest { Kind = kind, InstanceId = TestData.DdsInstance, Name = "not-offered" };

            var error = Assert.Throws<BackupToolsException>(() => BackupService.ConnectionForNewBackup(null, provider, kind, store, request));

            Assert.Equal(ErrorIds.ProviderOperationNotSupported, error.ErrorId);
            Assert.Equal(BackupErrorCategory.InvalidOperation, error.Category);
            Assert.Equal("not-offered", Assert.IsType<BackupRequest>(error.Target).Name);
            Assert.Equal(provider, error.Provider);
            // A name no provider has is still ProviderNotFound, and a provider that offers the kind still needs a connection.
            Assert.Equal(ErrorIds.ProviderNotFound, Assert.Throws<BackupToolsException>(() => BackupService.ConnectionForNewBackup(null, "Nope", kind, store, request)).ErrorId);
            Assert.Equal(ErrorIds.ConnectionNotFound, Assert.Throws<BackupToolsException>(() => BackupService.ConnectionForNewBackup(null, "CloudFoundry", BackupKind.Instance, store, request)).ErrorId);
        }

        /// <summary>-DomainName, like -IdentityEndpoint, applies only where the Credential method signs in to IAM: refused elsewhere, not dropped.</summary>
        [Theory]
        [InlineData("ArcGIS", null)]
        [InlineData("CloudFoundry", null)]
        [InlineData("TaurusDB", "AccessKey")]
        public void DomainName_is_refused_where_no_identity_service_uses_it(string provider, string method)
        {
            var request = new ConnectRequest { Provider = provider, Endpoint = new Uri("https://backup.example.com/"), DomainName = "contoso" };
            if (provider == "TaurusDB") request.Scope = TestData.ProjectId;
            if (method == "AccessKey") { request.AccessKeyId = "AKIDEXAMPLE0001"; request.SecretAccessKey = TestData.Secure("not-shown-secret"); }
            else { request.UserName = "operator"; request.Password = TestData.Secure("not-shown-secret"); }
            var ex = Assert.Throws<BackupToolsException>(() => BackupService.Connect(request));
            Assert.Equal(ErrorIds.ConnectionParameterInvalid, ex.ErrorId);
            Assert.Contains("-DomainName", ex.Message);
            Assert.Contains("TaurusDB, DDS", ex.Message);
            Assert.DoesNotContain("not-shown-secret", ex.Message);

            Assert.Equal(new[] { "TaurusDB", "DDS" }, BackupService.Providers.Where(p => p.SignsInWithIdentityService).Select(p => p.Name));
            var iam = BackupService.Connect(new ConnectRequest
            {
                Provider = "DDS", Endpoint = new Uri("https://dds.eu-de.otc.t-systems.com/"), Scope = TestData.ProjectId,
                UserName = "operator", Password = TestData.Secure("not-shown-secret"), DomainName = "contoso",
            });
            Assert.Equal("Credential", iam.AuthenticationMethod);
        }

        /// <summary>-Region for a service without regions says it has none, not "Known regions: .".</summary>
        [Theory]
        [InlineData("ArcGIS")]
        [InlineData("CloudFoundry")]
        public void Region_for_a_provider_without_regions_says_it_has_none(string provider)
        {
            var ex = Assert.Throws<BackupToolsException>(() => BackupService.Connect(new ConnectRequest
            {
                Provider = provider, Region = "west", AccessToken = TestData.Secure(TestData.Token),
            }));
            Assert.Equal(ErrorIds.ConnectionEndpointInvalid, ex.ErrorId);
            Assert.Contains($"{provider} has no regions", ex.Message);
            Assert.Contains("-Endpoint", ex.Message);
            Assert.DoesNotContain("Known regions", ex.Message);
        }
    }
}
