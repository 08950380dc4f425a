import Dispatch

extension DispatchQueue {
    /// Runs a blocking librdkafka call on this queue's thread and suspends the caller until it
    /// returns, so the cooperative pool never blocks on librdkafka.
    func runBlocking<Result: Sendable>(
        _ body: @escaping @Sendable () throws(KafkaError) -> Result
    ) async throws(KafkaError) -> Result {
        let outcome: Swift.Result<Result, KafkaError> = await withCheckedContinuation { continuation in
            self.async {
                continuation.resume(returning: Swift.Result { () throws(KafkaError) -> Result in try body() })
            }
        }
        return try outcome.get()
    }
}
