import Foundation
import HeadcountCore
import HeadcountOperations
import HeadcountPipeline
import HeadcountReporter
import HeadcountStore
import Testing

/// The report built from given readings, without services: what each partition shows, and
/// what `status` says when a source did not answer.
@Suite("Operations status from readings")
struct OperationsStatusTests {
    static let pipeline = try! Pipeline.parse(yaml: StatusTests.yaml, file: "status-test.yaml")
    static let now = pipeline.rules.windowEnd + .seconds(3600)

    static func progress(_ partition: Int32, next: Int64, storedAgo: Duration = .seconds(600)) -> PartitionActivity {
        PartitionActivity(partition: partition, nextOffset: next, maxEventAt: pipeline.rules.windowEnd - .seconds(60), updatedAt: now - storedAgo)
    }

    static func heartbeat(_ consumer: Int, _ partitions: [Int32], age: Duration) -> WorkerHeartbeat {
        WorkerHeartbeat(
            worker: "h/1/\(consumer)", host: "h", pid: 1, consumer: consumer, partitions: partitions, startedAt: now,
            partitionsAt: now, lastSeen: now - age, age: age)
    }

    @Test("lag is the high watermark minus the stored next offset; the watermark's own reasons; a stale worker's partitions are unowned")
    func partitions() throws {
        let stored = PipelineStatus(
            partitions: [Self.progress(0, next: 10), Self.progress(1, next: 5), Self.progress(2, next: 7, storedAgo: .seconds(1))],
            totals: .init(eventsStored: 22, deadLetters: ["malformed_json": 2]))
        let readings = OperationsStatus.Readings(
            kafka: .read([0: 10, 1: 9, 2: 7, 3: 4]), kafkaAddress: "k:9092", store: .success(stored),
            workers: .success([Self.heartbeat(0, [0, 1], age: .seconds(1)), Self.heartbeat(1, [2, 3], age: .seconds(60))]),
            databaseAddress: "postgres://db")
        let status = OperationsStatus(pipeline: Self.pipeline, readings: readings, now: Self.now, staleAfter: .seconds(15))
        #expect(status.partitions.map(\.lag) == [0, 4, 0, 4])
        #expect(status.totalLag == 8)
        #expect(status.partitions.map(\.watermarkReason) == ["caught_up_idle", "behind", "recently_stored", "behind"])
        #expect(status.partitions[3].watermarkOffer == nil, "messages and no progress row: holds sealing entirely")
        #expect(status.watermark.holdingPartitions.first == 3)
        #expect(status.workers.map(\.stale) == [false, true])
        #expect(status.unownedPartitions == [2, 3])
        #expect(status.deadLetters?.total == 2)
        #expect(status.isComplete)
        #expect(status.problems.contains { $0.contains("h/1/1") })
        #expect(status.text.contains("HOLDS: 4 not stored"))
        let json = try #require(try JSONSerialization.jsonObject(with: status.encodedJSON()) as? [String: Any])
        #expect(json["total_lag"] as? Int == 8)
    }

    @Test("Kafka unreachable: lag unknown, every partition holds; PostgreSQL unreachable: only Kafka's numbers; both not complete")
    func unreachable() {
        let noKafka = OperationsStatus(
            pipeline: Self.pipeline,
            readings: .init(
                kafka: .unavailable("Kafka at k:9092 did not answer"), kafkaAddress: "k:9092",
                store: .success(PipelineStatus(partitions: [Self.progress(0, next: 3)])), workers: .success([]), databaseAddress: "db"),
            now: Self.now, staleAfter: .seconds(15))
        #expect(!noKafka.isComplete)
        #expect(noKafka.totalLag == nil)
        #expect(noKafka.partitions.count == 4)
        #expect(noKafka.partitions.allSatisfy { $0.lag == nil && $0.holdsWatermark && $0.watermarkReason == "kafka_unknown" })
        #expect(noKafka.problems.first?.hasPrefix("Kafka unreachable") == true)

        let noDatabase = OperationsStatus(
            pipeline: Self.pipeline,
            readings: .init(
                kafka: .read([0: 5, 1: 0]), kafkaAddress: "k:9092", store: .failure(StoreError(.unavailable, "connection refused")),
                workers: .failure(StoreError(.unavailable, "connection refused")), databaseAddress: "db"),
            now: Self.now, staleAfter: .seconds(15))
        #expect(!noDatabase.isComplete)
        #expect(noDatabase.partitions.map(\.highWatermark) == [5, 0])
        #expect(noDatabase.partitions.allSatisfy { $0.lag == nil })
        #expect(noDatabase.watermark.now == nil && noDatabase.eventsStored == nil)
        #expect(noDatabase.problems == ["PostgreSQL unreachable: unavailable: connection refused"])
    }
}
