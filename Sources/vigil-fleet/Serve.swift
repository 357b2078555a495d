import ArgumentParser
import Dispatch
import Hummingbird
import Logging
import VigilCore
import VigilFleet

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs the JSON API in a task and the receiver on this thread until SIGTERM or SIGINT; then stops both.
func serve(receiver: FleetReceiver, api: FleetAPI, host: String, port: Int, stop: StopFlag, signals: sigset_t,
           logger: Logger) throws {
    let app = api.application(host: host, port: port, logger: logger)
    let finished = DispatchSemaphore(value: 0)
    let failed = StopFlag()   // raised when the server task failed (a port in use)
    let server = Task.detached {
        defer { finished.signal() }
        do {
            try await app.runService(gracefulShutdownSignals: [])
        } catch is CancellationError {
        } catch {
            logger.error("API on \(host):\(port) failed: \(error)")
            failed.raise()
            stop.raise()
        }
    }
    try startSignalWaiter(signals, logger) {
        stop.raise()
        api.feed.close()   // ends the open event streams, so the server can stop
        server.cancel()
    }
    receiver.run(until: stop)
    api.feed.close()
    server.cancel()
    finished.wait()
    if failed.isRaised { throw ExitCode(1) }
}

/// A thread that waits for SIGTERM or SIGINT (blocked everywhere else) and then calls `onSignal`.
func startSignalWaiter(_ signals: sigset_t, _ logger: Logger, onSignal: @escaping @Sendable () -> Void) throws {
    do {
        let waiter = try Threads.start {
            var s = signals
            var signal: Int32 = 0
            sigwait(&s, &signal)
            onSignal()
        }
        pthread_detach(waiter)
    } catch {
        logger.critical("\(error)")
        throw ExitCode(1)
    }
}

/// `HOST:PORT` for the page and API (`[v6]:PORT` too); whether it needs credentials is the caller's check.
enum HTTPAddress {
    static func parse(_ text: String) -> Result<(String, Int), OptionError> {
        guard let colon = text.lastIndex(of: ":") else { return .failure(OptionError("'\(text)' is not HOST:PORT")) }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return .failure(OptionError("'\(text)' is not HOST:PORT with a port 0 to 65535"))
        }
        guard !host.isEmpty else { return .failure(OptionError("'\(text)' has no host")) }
        return .success((host, port))
    }
}
