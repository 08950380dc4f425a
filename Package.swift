// swift-tools-version: 6.1
// Headcount: certified, tamper-evident attendance counts from join/leave event streams.
//
// The data's way, one target per step:
//   HeadcountAdapters → HeadcountPublisher → Kafka → HeadcountWorker → HeadcountStore → (reporter, certificate)
// with HeadcountCore as the pure counting engine that every step shares.
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Headcount",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "headcount", targets: ["headcount"]),
        .library(name: "HeadcountClient", targets: ["HeadcountClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        // Pinned to 1.33.x: HeadcountStore's transaction primitive, watchdog and event-loop
        // executor work around hangs of 1.33.2 on a connection the server closed (a dropped
        // write whose promise nobody fails, a lost COPY drain), and rely on its internals
        // (which thread writes reach the channel from, what `isClosed` says when). Re-check
        // them, and the tests of StoreTransactionTests and WorkerOutageTests, before moving on.
        .package(url: "https://github.com/vapor/postgres-nio", .upToNextMinor(from: "1.33.2")),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
    ],
    targets: [
        // The C boundary: librdkafka (Debian's librdkafka-dev) and its mock cluster. Only `Kafka` imports it.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // A thin, careful Swift wrapper: producer, consumer group, admin, the development mock cluster.
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The counting engine of COUNTING.md sections 1-3: pure, no I/O, no clock of its own.
        .target(
            name: "HeadcountCore",
            swiftSettings: strict
        ),
        // Simulated attendees (teachers on many devices, reconnects, heartbeats, retried
        // webhooks): the seed event's demo, the tests' scenarios and the benchmarks' load.
        .target(
            name: "HeadcountSimulation",
            dependencies: ["HeadcountCore"],
            swiftSettings: strict
        ),
        // Pipeline files (Pipelines/*.yaml): loading and validation.
        .target(
            name: "HeadcountPipeline",
            dependencies: [
                "HeadcountCore",
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        // Producer adapters, pure: platform payloads and reports → validated, pseudonymised
        // canonical events. No Kafka, so HeadcountClient can share them without librdkafka.
        .target(
            name: "HeadcountAdapters",
            dependencies: [
                "HeadcountCore",
                "HeadcountPipeline",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CSV", package: "CSV.swift"),
            ],
            swiftSettings: strict
        ),
        // Canonical events into the pipeline's topic, keyed by participant, acknowledged in chunks.
        .target(
            name: "HeadcountPublisher",
            dependencies: [
                "HeadcountAdapters",
                "HeadcountCore",
                "HeadcountPipeline",
                "Kafka",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The webhook receivers: one Hummingbird application for every pipeline's ingest
        // routes, answering only once Kafka acknowledged every event of a request.
        .target(
            name: "HeadcountIngest",
            dependencies: [
                "HeadcountCore",
                "HeadcountPipeline",
                "HeadcountAdapters",
                "HeadcountPublisher",
                "Kafka",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // For integrators publishing canonical events from Swift: the server's validation and
        // pseudonymisation, then HTTP to the canonical route with retries on 503.
        .target(
            name: "HeadcountClient",
            dependencies: [
                "HeadcountCore",
                "HeadcountAdapters",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // PostgreSQL: migrations, events, offsets, dead letters (PostgresNIO, pooled, COPY).
        .target(
            name: "HeadcountStore",
            dependencies: [
                "HeadcountCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Consumer workers: Kafka consumer group → PostgreSQL, offsets stored with the results.
        .target(
            name: "HeadcountWorker",
            dependencies: [
                "HeadcountCore",
                "HeadcountPipeline",
                "HeadcountStore",
                "Kafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Certification (COUNTING.md section 5): canonical JSON, Merkle roots and inclusion
        // proofs, the signed hash chain, and the certificate folder adjudicators verify offline.
        .target(
            name: "HeadcountCertificate",
            dependencies: [
                "HeadcountCore",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        // The reporting stage: watermark, sealing, signed hash chain, amendments, recount,
        // certificates (COUNTING.md sections 4-6).
        .target(
            name: "HeadcountReporter",
            dependencies: [
                "HeadcountCore",
                "HeadcountPipeline",
                "HeadcountStore",
                "HeadcountCertificate",
                // Only for the topic's high watermarks (KafkaHighWatermarkSource).
                "Kafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // What integration tests share: the test database and dev-cluster set-up, and the
        // rule that a missing service fails the run when CI=true.
        .target(
            name: "HeadcountTestSupport",
            dependencies: [
                "HeadcountStore",
                "Kafka",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/HeadcountTestSupport",
            swiftSettings: strict
        ),
        // Observability over HTTP: the Prometheus /metrics endpoint and the live dashboard
        // (sealed numbers read from the store, the watermark as the reporter computes it).
        .target(
            name: "HeadcountHTTP",
            dependencies: [
                "HeadcountCore",
                "HeadcountPipeline",
                "HeadcountStore",
                "HeadcountReporter",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Operations: `headcount status`, one report of Kafka, the store, the watermark and the workers.
        .target(
            name: "HeadcountOperations",
            dependencies: ["HeadcountCore", "HeadcountPipeline", "HeadcountStore", "HeadcountReporter"],
            swiftSettings: strict
        ),
        // What every command shares on its command line: pipeline, brokers, database, logging, clock.
        .target(
            name: "HeadcountCommandLine",
            dependencies: [
                "HeadcountCore",
                "HeadcountPipeline",
                "HeadcountStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // `headcount bench …`: benchmarks reporting ratios against limits measured in the same run.
        .target(
            name: "HeadcountBenchmarks",
            dependencies: [
                "HeadcountAdapters",
                "HeadcountPublisher",
                "HeadcountCertificate",
                "HeadcountCommandLine",
                "HeadcountCore",
                "HeadcountIngest",
                "HeadcountPipeline",
                "HeadcountReporter",
                "HeadcountSimulation",
                "HeadcountStore",
                "HeadcountWorker",
                "Kafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The thin executable: parses arguments and wires services together.
        .executableTarget(
            name: "headcount",
            dependencies: [
                "HeadcountCore",
                "HeadcountPipeline",
                "HeadcountAdapters",
                "HeadcountBenchmarks",
                "HeadcountCommandLine",
                "HeadcountPublisher",
                "HeadcountIngest",
                "HeadcountClient",
                "HeadcountCertificate",
                "HeadcountHTTP",
                "HeadcountOperations",
                "HeadcountReporter",
                "HeadcountSimulation",
                "HeadcountStore",
                "HeadcountWorker",
                "Kafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),

        .testTarget(
            name: "KafkaTests",
            dependencies: ["Kafka", "HeadcountTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HeadcountCoreTests",
            dependencies: [
                "HeadcountCore",
                "HeadcountSimulation",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HeadcountPipelineTests",
            dependencies: ["HeadcountPipeline", "HeadcountCore"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HeadcountStoreTests",
            dependencies: ["HeadcountStore", "HeadcountCore", "HeadcountTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HeadcountWorkerTests",
            dependencies: [
                "HeadcountWorker", "HeadcountAdapters", "HeadcountPublisher", "HeadcountSimulation", "HeadcountTestSupport", "HeadcountStore",
                "HeadcountCore", "HeadcountPipeline", "Kafka", "HeadcountReporter", "HeadcountCertificate",
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HeadcountCertificateTests",
            dependencies: ["HeadcountCertificate", "HeadcountCore", "HeadcountSimulation"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HeadcountReporterTests",
            dependencies: [
                "HeadcountReporter", "HeadcountWorker", "HeadcountAdapters", "HeadcountPublisher", "HeadcountSimulation", "HeadcountTestSupport",
                "HeadcountStore", "HeadcountCore", "HeadcountPipeline", "HeadcountCertificate", "Kafka",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HeadcountHTTPTests",
            dependencies: [
                "HeadcountHTTP", "HeadcountTestSupport", "HeadcountStore", "HeadcountCore", "HeadcountPipeline",
                "HeadcountCertificate",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HeadcountOperationsTests",
            dependencies: [
                "HeadcountOperations", "HeadcountWorker", "HeadcountReporter", "HeadcountAdapters", "HeadcountPublisher", "HeadcountTestSupport",
                "HeadcountStore", "HeadcountCore", "HeadcountPipeline", "HeadcountCertificate", "Kafka",
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "HeadcountIngestTests",
            dependencies: [
                "HeadcountIngest", "HeadcountAdapters", "HeadcountClient", "HeadcountCore", "HeadcountPipeline", "Kafka",
                "HeadcountTestSupport", "HeadcountCertificate",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "DeploymentTests",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
    ]
)
