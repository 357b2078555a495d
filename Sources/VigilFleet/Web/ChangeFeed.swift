import Foundation
import Synchronization

/// Tells the page's open server-sent-event streams which devices changed, after each committed batch.
/// Each subscriber keeps the newest few notices only: a slow browser misses notices, never blocks the receiver.
public final class ChangeFeed: Sendable {
    private struct Subscribers {
        var next = 0
        var open: [Int: AsyncStream<String>.Continuation] = [:]
        var closed = false
    }
    private let subscribers = Mutex(Subscribers())

    public init() {}

    /// A stream of notices (`{"devices":[…]}` JSON), ended by `close()` or when the client goes.
    public func subscribe() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(8))
        let id: Int? = subscribers.withLock { s in
            guard !s.closed else { return nil }
            s.next += 1
            s.open[s.next] = continuation
            return s.next
        }
        guard let id else { continuation.finish(); return stream }
        continuation.onTermination = { [weak self] _ in self?.subscribers.withLock { _ = $0.open.removeValue(forKey: id) } }
        return stream
    }

    public var subscriberCount: Int { subscribers.withLock { $0.open.count } }

    /// Called by the receiver after a commit, with the devices the batch touched.
    public func publish(devices: [String]) {
        guard !devices.isEmpty else { return }
        let notice = Self.notice(devices)
        let targets = subscribers.withLock { Array($0.open.values) }
        for c in targets { c.yield(notice) }
    }

    /// Ends every stream (the server is stopping) and refuses new ones.
    public func close() {
        let targets = subscribers.withLock { s in
            s.closed = true
            defer { s.open = [:] }
            return Array(s.open.values)
        }
        for c in targets { c.finish() }
    }

    static func notice(_ devices: [String]) -> String {
        let data = (try? JSONEncoder().encode(["devices": devices.sorted()])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
