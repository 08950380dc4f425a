import ArgumentParser
import HeadcountBenchmarks

/// `headcount`: certified, tamper-evident attendance counts from join and leave events.
///
/// This executable only parses arguments and wires services together; the work lives in
/// the library targets, in the order the data flows.
@main
struct Headcount: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "headcount",
        abstract: "Certified, tamper-evident attendance counts for huge online events.",
        discussion: """
            The data's way: adapters (publish) → Kafka → workers (work) → PostgreSQL.
            `demo` runs the seed event end to end on an embedded development broker.
            """,
        subcommands: [
            DemoCommand.self,
            SimulateCommand.self,
            PublishCommand.self,
            IngestCommand.self,
            ImportCommand.self,
            WorkCommand.self,
            CountCommand.self,
            ReportCommand.self,
            StatusCommand.self,
            RecountCommand.self,
            DashboardCommand.self,
            CertificateCommand.self,
            VerifyCommand.self,
            ProveCommand.self,
            KeygenCommand.self,
            MigrateCommand.self,
            DevBrokerCommand.self,
            TopicsCommand.self,
            BenchCommand.self,
        ])
}
