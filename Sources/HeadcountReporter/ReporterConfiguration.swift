import Foundation
import HeadcountCertificate
import HeadcountCore
import HeadcountPipeline
import HeadcountStore

/// Settings of one reporter process.
public struct ReporterConfiguration: Sendable {
    /// The pipeline whose buckets are sealed.
    public var pipeline: Pipeline
    /// The key that signs every snapshot; its public half is published with the certificate.
    public var signingKey: SigningKey
    /// Time between sealing rounds while active; default 1 s (a bucket's seal trails the
    /// watermark passing its end by at most this plus one round).
    public var roundInterval: Duration = .seconds(1)
    /// Time between attempts to take the sealing lock while standing by; default 1 s.
    public var standbyInterval: Duration = .seconds(1)
    /// First pause after a lost connection or a failed round; default 1 s, doubling up to
    /// `maximumRetryDelay` while failures go on.
    public var retryDelay: Duration = .seconds(1)
    /// Cap of the retry backoff; default 10 s.
    public var maximumRetryDelay: Duration = .seconds(10)
    /// Bounds each sealing round's transaction (see `TransactionWatchdog`); default
    /// `TransactionWatchdog()`, whose lost-statement handler only logs.
    public var watchdog = TransactionWatchdog()
    /// At most this many late event ids are listed in one amendment; default 1,000.
    public var maximumListedLateEvents = 1_000
    /// The processing clock; default the system's UTC time. Injectable for tests.
    public var clock: @Sendable () -> Instant = ReporterConfiguration.systemClock

    public init(pipeline: Pipeline, signingKey: SigningKey) {
        self.pipeline = pipeline
        self.signingKey = signingKey
    }

    /// The system's UTC clock in milliseconds.
    public static let systemClock: @Sendable () -> Instant = {
        Instant(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }

    /// The pipeline as the certificate binds it (its hash is the chain's genesis).
    public var canonicalPipeline: PipelineCanonicalForm {
        PipelineCanonicalForm(id: pipeline.id, title: pipeline.title, rules: pipeline.rules)
    }
}
