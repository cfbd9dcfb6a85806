using System.Globalization;
using System.Runtime.InteropServices;

namespace BackupTools.Simulator;

/// <summary>
/// <c>dotnet run --project src/BackupTools.Simulator -- [--port N] [--job-seconds S] [--not-found-seconds S]</c>:
/// runs the simulator until Ctrl+C or SIGTERM. Started this way, TaurusDB/DDS jobs are "not found" for their first 2 s
/// (<see cref="SimulatorOptions.ProgramNotFoundWindow"/>), as on the services.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // As the services do: a new TaurusDB/DDS job id is "not found" for its first seconds (--not-found-seconds 0: off).
        var options = new SimulatorOptions { NotFoundWindow = SimulatorOptions.ProgramNotFoundWindow };
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            try
            {
                switch (args[i])
                {
                    case "--port": options.Port = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--job-seconds": options.JobDuration = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture)); break;
                    case "--not-found-seconds": options.NotFoundWindow = TimeSpan.FromSeconds(double.Parse(Next(), CultureInfo.InvariantCulture)); break;
                    case "-h": case "--help": case "-?":
                        Console.WriteLine("Usage: BackupTools.Simulator [--port N] [--job-seconds S] [--not-found-seconds S]");
                        return 0;
                    default: throw new ArgumentException($"Unknown argument '{args[i]}'.");
                }
            }
            catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
            {
                Console.Error.WriteLine(e.Message);
                Console.Error.WriteLine("Usage: BackupTools.Simulator [--port N] [--job-seconds S] [--not-found-seconds S]");
                return 2;
            }
        }

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.TrySetResult(); };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });

        await using var sim = await BackupSimulator.StartAsync(options);
        Console.WriteLine($"BackupTools simulator listening on {sim.BaseAddress}");
        foreach (var (name, _) in ProviderNames.All)
            Console.WriteLine($"  {name,-12}  {sim.EndpointFor(name)}");
        Console.WriteLine($"  Token         {string.Join(", ", options.Tokens)} (X-Auth-Token, Authorization: Bearer, ArcGIS token)");
        Console.WriteLine($"  Credentials   {options.UserName} / {options.Password}; UAA client {options.ClientId} / {options.ClientSecret}");
        Console.WriteLine($"  Control       {sim.BaseAddress}_sim/counters, _sim/faults, _sim/reset, _sim/options, _sim/requests");
        Console.WriteLine($"  Jobs take {options.JobDuration.TotalSeconds:0.###} s; TaurusDB/DDS jobs are not found for their first {options.NotFoundWindow.TotalSeconds:0.###} s; Ctrl+C stops.");
        await stop.Task;
        return 0;
    }
}
