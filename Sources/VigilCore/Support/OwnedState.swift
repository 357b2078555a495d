/// A value that one thread owns, kept behind a pointer instead of in a class's stored `var`.
///
/// Swift checks every access to a class's stored `var` at run time (dynamic exclusivity: a call into
/// the runtime that records the access in a thread-local set), which on the reading path cost about
/// 150 instructions an access — more than the detector's arithmetic. A hot class keeps its state in
/// an `OwnedState` and exposes it through computed properties (`_modify` yields the value in place):
/// accesses through the pointer are not checked at run time. Sound only while one thread at a time
/// uses the owner (a source's pipeline runs on its source's thread), as the owner documents.
/// The owner calls `free()` in its `deinit`.
public struct OwnedState<Value>: @unchecked Sendable {
    private let pointer: UnsafeMutablePointer<Value>

    public init(_ value: Value) {
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: value)
    }

    public var value: Value {
        @inline(__always) get { pointer.pointee }
        @inline(__always) nonmutating _modify { yield &pointer.pointee }
        @inline(__always) nonmutating set { pointer.pointee = newValue }
    }

    public func free() {
        pointer.deinitialize(count: 1)
        pointer.deallocate()
    }
}
