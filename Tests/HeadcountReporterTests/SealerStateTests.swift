import HeadcountCore
@testable import HeadcountReporter
import HeadcountStore
import HeadcountTestSupport
import Testing

/// What sealing needs and does not find is an error naming the bucket, never a skipped bucket.
@Suite("Sealer: missing state is an error, not a default", .serialized, .timeLimit(.minutes(2)))
struct SealerStateTests {
    typealias Support = ReporterSupport

    @Test("a sealed bucket without standing numbers stops the round, naming the bucket")
    func missingStanding() async throws {
        try await TestDatabase.withStore { _, url in
            let pipeline = try Support.pipeline(topic: "sealer-state")
            let clock = TestClock()
            _ = try await Support.sealEverything(pipeline, url: url, clock: clock)
            let connection = try await SealingConnection.open(url: url, logger: Support.logger)
            var sealer = Sealer(configuration: Support.configuration(pipeline, clock: clock))
            let kafka = HighWatermarks.read([:])
            let fence = try await connection.contributionFence()
            _ = try await connection.withRound(pipeline: pipeline.id) { round in
                try await sealer.run(round, now: clock.now(), fence: fence, kafka: kafka)
            }
            #expect(sealer.chain?.nextBucket == pipeline.rules.bucketCount)
            // As a bug that lost the reporter's record of bucket 3 would.
            sealer.standing[3] = nil
            // Progress moved since the last round: the round checks the sealed buckets for amendments.
            sealer.lastSeen = [99: 1]
            await #expect {
                _ = try await connection.withRound(pipeline: pipeline.id) { round in
                    try await sealer.run(round, now: clock.now(), fence: fence, kafka: kafka)
                }
            } throws: { error in
                guard let error = error as? ReporterError else { return false }
                return error.code == .inconsistent && !error.isRetriable && error.message.contains("bucket 3 of pipeline reporter-test")
            }
            await connection.close()
        }
    }
}
