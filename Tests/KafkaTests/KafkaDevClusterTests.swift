import Foundation
import Kafka
import ServiceLifecycle
import Testing

extension KafkaIntegrationTests {
    @Suite struct DevCluster {
        @Test("the admin client reads metadata; the 2.0.2 mock answers CreateTopics with an error")
        func adminAgainstMock() async throws {
            let cluster = try KafkaDevCluster(brokerCount: 1, logger: testLogger)
            let topic = uniqueTopic("admin")
            try await cluster.createTopic(topic, partitions: 5)
            let admin = try KafkaAdmin(configuration: KafkaAdminConfiguration(bootstrapServers: cluster.bootstrapServers), logger: testLogger)
            #expect(try await admin.partitionCount(of: topic) == 5)
            let error = await #expect(throws: KafkaError.self) {
                try await admin.createTopic(name: uniqueTopic("via-admin"), partitions: 1, replicationFactor: 1, timeout: .seconds(2))
            }
            print("KafkaAdmin.createTopic against the 2.0.2 mock: \(String(describing: error))")
        }

        @Test("the dev broker service publishes its address until graceful shutdown")
        func brokerServicePublishesAddress() async throws {
            let cluster = try KafkaDevCluster(brokerCount: 1, logger: testLogger)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("headcount-bootstrap-\(UUID().uuidString)").path
            let service = KafkaDevBrokerService(cluster: cluster, bootstrapFile: file, logger: testLogger)
            let group = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: testLogger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                var contents: String?
                for _ in 0..<100 where contents == nil {
                    contents = try? String(contentsOfFile: file, encoding: .utf8)
                    if contents == nil { try await Task.sleep(for: .milliseconds(20)) }
                }
                #expect(contents == cluster.bootstrapServers + "\n")
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            #expect(!FileManager.default.fileExists(atPath: file))
        }
    }
}
