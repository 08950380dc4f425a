import Kafka
import Testing

/// Every test that talks to a broker, one at a time: each starts its own in-process dev cluster on
/// real TCP ports, and running them side by side on a small machine only makes timings flaky.
@Suite(.serialized, .timeLimit(.minutes(2)))
enum KafkaIntegrationTests {}
