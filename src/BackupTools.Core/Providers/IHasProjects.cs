namespace BackupTools.Providers
{
    /// <summary>
    /// A provider whose connections and jobs belong to a project (TaurusDB, DDS): a job is read only with a connection
    /// to its own project. Which project a job is in is the provider's to say, as only it knows its addresses.
    /// </summary>
    internal interface IHasProjects
    {
        /// <summary>The job's project: its Scope, else the one its status address names; null when it names none.</summary>
        string ProjectOf(BackupJob job);
    }
}
