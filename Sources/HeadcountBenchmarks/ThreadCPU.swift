import Foundation

/// CPU time of this process's threads by name (Linux `/proc/self/task/*/stat`), so a
/// benchmark can say what its CPU went to: NIO event loops (HTTP), the cooperative pool
/// (routes, adapters), librdkafka's producer and mock-broker threads.
///
/// Names are grouped with their digits removed ("NIO-ELT-0-#1" → "NIO-ELT--#"); threads that
/// ended between two snapshots are missing from the difference.
struct ThreadCPU {
    /// Clock ticks (user + system) per thread id, with its name.
    private var threads: [Int: (name: String, ticks: Int)] = [:]

    static func snapshot() -> ThreadCPU {
        var snapshot = ThreadCPU()
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        for task in tasks {
            guard let id = Int(task), let stat = try? String(contentsOfFile: "/proc/self/task/\(task)/stat", encoding: .utf8),
                let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
            else { continue }
            let name = String(stat[stat.index(after: open)..<close])
            // After "(comm) ": state is field 3 of stat(5); utime and stime are fields 14 and 15.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { continue }
            snapshot.threads[id] = (name, user + system)
        }
        return snapshot
    }

    /// Cores used per thread group between `earlier` and this snapshot, `elapsed` apart,
    /// largest first.
    func cores(since earlier: ThreadCPU, elapsed: Duration) -> [(group: String, cores: Double)] {
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        let seconds = max(elapsed / .seconds(1), 0.001)
        var groups: [String: Int] = [:]
        for (id, thread) in threads {
            let group = String(thread.name.filter { !$0.isNumber })
            groups[group, default: 0] += thread.ticks - (earlier.threads[id]?.ticks ?? 0)
        }
        return groups.map { ($0.key, Double($0.value) / ticksPerSecond / seconds) }
            .filter { $0.cores >= 0.005 }
            .sorted { $0.cores > $1.cores }
    }
}
