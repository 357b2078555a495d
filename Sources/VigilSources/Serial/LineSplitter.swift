import VigilCore

/// Cuts a byte stream, arriving in chunks of any size, into lines.
///
/// - A line ends at LF, CR or CRLF; CRLF is one line break even when the CR ends one chunk and the
///   LF starts the next. Empty lines are not reported.
/// - A line holds at most `maxLineLength` bytes (the break not counted). A longer one is discarded
///   up to the next line break and counted in `overlongLines`; the line after it is intact.
/// - One buffer of `maxLineLength` bytes is allocated at `init`; nothing is allocated per line.
///   A line that lies whole inside one chunk is handed out straight from the chunk; only the
///   partial line at a chunk's end is copied. Lines are passed to a closure as
///   `UnsafeBufferPointer`s that are valid only during the call.
/// - A partial line at the end of the stream is never reported; call `reset()` when the stream is
///   cut (device reopened) so its remains do not glue onto the next line.
public final class LineSplitter {
    public let maxLineLength: Int
    /// Lines discarded for being longer than `maxLineLength`.
    public private(set) var overlongLines: Int {
        get { state.value.overlongLines }
        set { state.value.overlongLines = newValue }
    }
    /// Bytes held of the current partial line (never more than `maxLineLength`).
    public var bufferedCount: Int { count }

    private let buffer: UnsafeMutableBufferPointer<UInt8>
    /// Behind a pointer (`OwnedState`): no run-time exclusivity checks per line; one thread feeds.
    private let state = OwnedState(State())
    private struct State {
        var overlongLines = 0
        var count = 0
        /// The last byte seen was CR: a LF right after it is part of the same break.
        var afterCR = false
        /// Inside an overlong line: drop bytes up to the next break.
        var discarding = false
    }
    private var count: Int { get { state.value.count } set { state.value.count = newValue } }
    private var afterCR: Bool { get { state.value.afterCR } set { state.value.afterCR = newValue } }
    private var discarding: Bool { get { state.value.discarding } set { state.value.discarding = newValue } }

    private static let lf: UInt8 = 0x0A
    private static let cr: UInt8 = 0x0D

    public init(maxLineLength: Int) {
        precondition(maxLineLength > 0, "maxLineLength must be > 0")
        self.maxLineLength = maxLineLength
        buffer = .allocate(capacity: maxLineLength)
    }

    deinit {
        buffer.deallocate()
        state.free()
    }

    /// Forgets the partial line and any break or discard in progress (not the counters).
    public func reset() {
        count = 0
        afterCR = false
        discarding = false
    }

    /// Feeds one chunk; calls `onLine` for every line it completes, in order.
    public func feed(_ chunk: UnsafeBufferPointer<UInt8>, _ onLine: (UnsafeBufferPointer<UInt8>) -> Void) {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        var i = 0
        let n = chunk.count
        if afterCR {
            afterCR = false
            if base[0] == Self.lf { i = 1 }
        }
        // `start` is where the current line's bytes begin in this chunk.
        var start = i
        while i < n {
            let b = base[i]
            if b != Self.lf && b != Self.cr { i += 1; continue }
            // A break at i: the line is buffer[0..<count] + chunk[start..<i].
            endLine(UnsafeBufferPointer(start: base + start, count: i - start), onLine)
            if b == Self.cr {
                if i + 1 < n {
                    if base[i + 1] == Self.lf { i += 1 }
                } else {
                    afterCR = true
                }
            }
            i += 1
            start = i
        }
        // Keep the partial line.
        if start < n { append(UnsafeBufferPointer(start: base + start, count: n - start)) }
    }

    /// Feeds bytes from any contiguous collection (tests, tools).
    public func feed(_ bytes: some Collection<UInt8>, _ onLine: (UnsafeBufferPointer<UInt8>) -> Void) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { feed($0, onLine) }
        if done == nil { Array(bytes).withUnsafeBufferPointer { feed($0, onLine) } }
    }

    private func endLine(_ tail: UnsafeBufferPointer<UInt8>, _ onLine: (UnsafeBufferPointer<UInt8>) -> Void) {
        if discarding {
            discarding = false
            count = 0
            return
        }
        if count == 0 {
            if tail.count > maxLineLength { overlongLines += 1; return }
            if tail.count > 0 { onLine(tail) }
            return
        }
        guard count + tail.count <= maxLineLength else {
            overlongLines += 1
            count = 0
            return
        }
        copyIn(tail)
        onLine(UnsafeBufferPointer(rebasing: buffer[0..<count]))
        count = 0
    }

    private func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        if discarding { return }
        if count + bytes.count > maxLineLength {
            overlongLines += 1
            discarding = true
            count = 0
            return
        }
        copyIn(bytes)
    }

    /// Appends to the buffer; the caller has checked the room.
    private func copyIn(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let from = bytes.baseAddress, let to = buffer.baseAddress, bytes.count > 0 else { return }
        (to + count).update(from: from, count: bytes.count)
        count += bytes.count
    }
}
