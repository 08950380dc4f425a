import HeadcountStore
import Testing

@testable import HeadcountWorker

/// The rebalance state machine on its own: no broker, no database.
@Suite("Partition state machine: assigned → loading → running → revoking")
struct PartitionStateMachineTests {
    typealias Machine = PartitionStateMachine

    static func progress(_ partition: Int32, from expected: Int64?, to next: Int64) -> PartitionProgress {
        PartitionProgress(partition: partition, expectedNextOffset: expected, nextOffset: next, maxEventAt: nil)
    }

    @Test("assigned partitions wait paused, are read together, then run from the stored offsets")
    func assignLoadRun() throws {
        var machine = Machine()
        #expect(machine.assigned([0, 1, 2]) == [.loadStoredOffsets])
        #expect(machine.states[0] == .assigned(generation: 1))
        #expect(machine.expectedNextOffset(0) == nil, "nothing is delivered before the partition runs")
        #expect(machine.owned == [0, 1, 2] && machine.running.isEmpty)

        let started = machine.loadStarted()
        let token = try #require(started)
        #expect(machine.states[1] == .loading(generation: 1))
        #expect(machine.offsetsLoaded([0: 40, 2: 7], asOf: token) == [.start([0: 40, 1: nil, 2: 7])])
        #expect(machine.states[1] == .running(nextOffset: nil), "nothing stored: from the beginning")
        #expect(machine.expectedNextOffset(0) == .some(40))
        #expect(machine.expectedNextOffset(1) == .some(nil))
        #expect(machine.loadStarted() == nil, "nothing left to read")
    }

    @Test("a stored batch moves the fence; a fenced one moves it to what the store holds")
    func batches() {
        var machine = Machine()
        _ = machine.assigned([3])
        let token = machine.loadStarted()!
        _ = machine.offsetsLoaded([3: 10], asOf: token)
        machine.batchStarted([3])
        #expect(machine.batchFinished(stored: [Self.progress(3, from: 10, to: 25)]).isEmpty)
        #expect(machine.expectedNextOffset(3) == .some(25))
        let resynced = machine.resynced(3, to: 30)
        #expect(resynced)
        #expect(machine.expectedNextOffset(3) == .some(30))
        let notRunning = machine.resynced(4, to: 1)
        #expect(!notRunning, "a partition not running here is not resynced")
    }

    @Test("a revoke during loading drops the partition, and the late read does not start it")
    func revokeDuringLoading() {
        var machine = Machine()
        _ = machine.assigned([0, 1])
        let token = machine.loadStarted()!
        machine.revoked([1])
        #expect(machine.states[1] == nil && machine.owned == [0])
        #expect(machine.offsetsLoaded([0: 5, 1: 9], asOf: token) == [.start([0: 5])])
        #expect(machine.running == [0])
    }

    @Test("a partition reassigned while loading waits for a read that began after the reassignment")
    func reassignDuringLoading() {
        var machine = Machine()
        _ = machine.assigned([0])
        let stale = machine.loadStarted()!
        machine.revoked([0])
        #expect(machine.assigned([0]) == [.loadStoredOffsets])
        // The stale read may have missed the previous owner's last commit.
        #expect(machine.offsetsLoaded([0: 5], asOf: stale) == [.loadStoredOffsets])
        #expect(machine.states[0] == .assigned(generation: 2))
        let fresh = machine.loadStarted()!
        #expect(machine.offsetsLoaded([0: 8], asOf: fresh) == [.start([0: 8])])
    }

    @Test("a revoke while its batch is in flight: revoking until the batch ends, then gone")
    func revokeInFlight() {
        var machine = Machine()
        _ = machine.assigned([0, 1])
        _ = machine.offsetsLoaded([:], asOf: machine.loadStarted()!)
        machine.batchStarted([0])
        machine.revoked([0, 1])
        #expect(machine.states[0] == .revoking, "its batch may still commit; the store's fence decides")
        #expect(machine.states[1] == nil, "not in the batch: gone at once")
        #expect(machine.anyRevoked([0]))
        #expect(machine.owned.isEmpty)
        #expect(machine.batchFinished(stored: [Self.progress(0, from: nil, to: 12)]).isEmpty)
        #expect(machine.states.isEmpty)
    }

    @Test("reassigned while its batch is in flight: its offset is read only after the batch ends")
    func reassignInFlight() {
        var machine = Machine()
        _ = machine.assigned([0])
        _ = machine.offsetsLoaded([0: 3], asOf: machine.loadStarted()!)
        machine.batchStarted([0])
        machine.revoked([0])
        _ = machine.assigned([0])
        #expect(machine.loadStarted() == nil, "the batch in flight decides where it continues")
        #expect(machine.batchFinished(stored: nil) == [.loadStoredOffsets])
        let token = machine.loadStarted()!
        #expect(machine.offsetsLoaded([0: 3], asOf: token) == [.start([0: 3])])
    }

    @Test("a failed read keeps the partitions loading; a failed start reads them again")
    func failures() {
        var machine = Machine()
        _ = machine.assigned([0])
        let first = machine.loadStarted()!
        // PostgreSQL did not answer: the next read covers the same partitions.
        #expect(machine.loadStarted() == first)
        _ = machine.offsetsLoaded([0: 1], asOf: first)
        #expect(machine.startFailed([0]) == [.loadStoredOffsets])
        #expect(machine.expectedNextOffset(0) == nil)
        _ = machine.offsetsLoaded([0: 1], asOf: machine.loadStarted()!)
        #expect(machine.running == [0])
    }

    @Test("an eager rebalance (everything revoked, then everything assigned) restarts every partition from the store")
    func eagerRound() {
        var machine = Machine()
        _ = machine.assigned([0, 1, 2, 3])
        _ = machine.offsetsLoaded([0: 1, 1: 2, 2: 3, 3: 4], asOf: machine.loadStarted()!)
        machine.revoked([0, 1, 2, 3])
        _ = machine.assigned([0, 1])
        #expect(machine.owned == [0, 1] && machine.running.isEmpty)
        #expect(machine.offsetsLoaded([0: 9, 1: 2], asOf: machine.loadStarted()!) == [.start([0: 9, 1: 2])])
    }
}
