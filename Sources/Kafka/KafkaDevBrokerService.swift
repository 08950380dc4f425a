#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import ServiceLifecycle

/// Hosts a `KafkaDevCluster` for a `ServiceGroup` until graceful shutdown.
///
/// List it before the services that use the broker: a `ServiceGroup` shuts services down in
/// reverse order, so the broker stays up while producers flush and consumers leave their group.
/// The cluster itself lives as long as this service is referenced.
public struct KafkaDevBrokerService: Service {
    /// The hosted cluster (create topics on it before starting the clients).
    public let cluster: KafkaDevCluster
    private let bootstrapFile: String?
    private let logger: Logger

    /// - Parameter bootstrapFile: if given, the bootstrap address is written there while the
    ///   service runs (for other processes to find the broker) and removed at shutdown.
    public init(cluster: KafkaDevCluster, bootstrapFile: String? = nil, logger: Logger) {
        self.cluster = cluster
        self.bootstrapFile = bootstrapFile
        self.logger = logger
    }

    /// Waits for graceful shutdown (or cancellation), publishing the address meanwhile.
    public func run() async throws {
        if let bootstrapFile {
            // Atomic, so a reader never sees half an address.
            try Data((cluster.bootstrapServers + "\n").utf8).write(to: URL(fileURLWithPath: bootstrapFile), options: .atomic)
        }
        logger.info(
            "Kafka development cluster up",
            metadata: ["kafka.bootstrap": "\(cluster.bootstrapServers)", "kafka.brokers": "\(cluster.brokerCount)"]
        )
        defer {
            if let bootstrapFile { try? FileManager.default.removeItem(atPath: bootstrapFile) }
            logger.info("Kafka development cluster stopping")
        }
        // Returns on graceful shutdown; throws CancellationError on cancellation, which ends us too.
        try? await gracefulShutdown()
    }
}
