import VigilCore
import VigilSources

/// Each source's loop on its own thread, feeding the sink made for it when it starts: the agent's
/// pipelines (`Agent`), or `vigil read`'s printer.
public final class SourceThreads: Service, @unchecked Sendable {
    public struct Loop {
        public var source: Source
        /// Made on `start`, just before the loop's thread starts.
        public var makeSink: () -> ReadingSink
        public init(source: Source, makeSink: @escaping () -> ReadingSink) { self.source = source; self.makeSink = makeSink }
    }

    public let serviceName = "sources"
    private let loops: [Loop]
    /// Raised by `stop`; every loop checks it.
    public let stopSignal: StopSignal
    private let threads = ThreadGroup()
    private let started: (Source) -> Void

    /// - Parameter started: called after each source's thread started (the agent logs it).
    public init(_ loops: [Loop], stopSignal: StopSignal = StopSignal(), started: @escaping (Source) -> Void = { _ in }) {
        self.loops = loops
        self.stopSignal = stopSignal
        self.started = started
    }

    public func start() throws {
        for loop in loops {
            let sink = loop.makeSink()
            do {
                try threads.start { [stopSignal] in loop.source.run(into: sink, until: stopSignal) }
            } catch {
                _ = stop(drainTimeout: 0)
                throw error
            }
            started(loop.source)
        }
    }

    /// Ends every loop and joins its thread; what the sinks hold is their owner's to flush.
    public func stop(drainTimeout: Double) -> Bool {
        stopSignal.raise()
        threads.join()
        return true
    }
}
