import HeadcountCore

/// How simulated attendees behave; every share is a probability in [0, 1].
///
/// The defaults (`standard`) describe teachers joining a two-hour webinar from laptops and
/// phones: most arrive around the start, some early and some late, a third of connections are
/// web clients that send heartbeats, connections drop and come back, and webhooks are retried.
public struct AttendeeProfile: Sendable, Hashable {
    /// Participants on a second device (phone next to the laptop); default 0.12.
    public var secondDeviceShare = 0.12
    /// Participants on a third device; default 0.03.
    public var thirdDeviceShare = 0.03
    /// Devices that connect before the window starts (up to 15 min); default 0.2.
    public var earlyJoinShare = 0.2
    /// Devices that connect late (anywhere up to 80 % into the window); default 0.15.
    public var lateJoinShare = 0.15
    /// Devices that leave well before the end; default 0.15.
    public var earlyLeaveShare = 0.15
    /// Devices that stay past the end (up to 10 min); default 0.3.
    public var stayAfterEndShare = 0.3
    /// Chance, per connection, that it drops and the device reconnects; default 0.35.
    public var reconnectShare = 0.35
    /// Of reconnects, those back within the reconnect grace; default 0.7.
    public var shortGapShare = 0.7
    /// Of reconnects, those that reuse the same session id; default 0.5.
    public var sameSessionRejoinShare = 0.5
    /// Sessions that send heartbeats; default 0.3.
    public var heartbeatSessionShare = 0.3
    /// Heartbeat period; default 30 s.
    public var heartbeatPeriod: Duration = .seconds(30)
    /// Heartbeats arrive up to this many milliseconds off their schedule; default 40.
    public var heartbeatJitterMilliseconds: Int64 = 40
    /// When set, connections that send no heartbeats of their own (platform clients) are
    /// confirmed this often, as a platform that reports its live participants does; default
    /// nil (no confirmations, the replay's story).
    ///
    /// Why a live rehearsal needs it under `rules.heartbeatTimeout` H: a connection silent for
    /// H counts as gone until more news comes (COUNTING.md section 2), and its leave an hour
    /// later reopens its presence across every minute sealed in between, so each such leave
    /// amends sealed minutes although it arrived on time. `keepAliveFor(rules:)` gives the
    /// longest period a live seal absorbs.
    public var keepAlivePeriod: Duration?
    /// Of heartbeat sessions, those whose join never arrives; default 0.1.
    public var heartbeatOnlyShare = 0.1
    /// Final leaves that never arrive (crashed app, closed lid); default 0.05.
    public var missingLeaveShare = 0.05
    /// Participants with one leave for a session that never joined; default 0.02.
    public var orphanLeaveShare = 0.02
    /// Events delivered twice with the same id and content (webhook retries); default 0.03.
    public var retryShare = 0.03
    /// Events whose id is reused by a different event (a buggy adapter); default 0.0005.
    public var conflictShare = 0.0005
    /// Whether events arrive in a random order rather than by participant and time; default true.
    public var shuffled = true

    public init() {}

    /// The defaults above.
    public static let standard = AttendeeProfile()

    /// The longest silence between two pieces of news of one connection that a live seal
    /// absorbs, with half the margin kept: H + (L − jitter) / 2, nil when H is unset.
    ///
    /// A bucket is sealed only once every partition's stored event time is L past it, and
    /// events arrive at most `arrivalJitter` after their moment, so news not stored yet is at
    /// least L − jitter after the sealing frontier; a connection last heard of at n counts
    /// until n + H. Silences up to H + L − jitter therefore never leave a sealed minute
    /// without a presence that later news proves.
    public static func keepAliveFor(rules: CountingRules, arrivalJitter: Duration) -> Duration? {
        guard let timeout = rules.heartbeatTimeout else { return nil }
        let slack = max(0, rules.allowedLateness.wholeMilliseconds - arrivalJitter.wholeMilliseconds)
        return .milliseconds(max(1_000, timeout.wholeMilliseconds + slack / 2))
    }
}
