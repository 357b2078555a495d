import Testing
@testable import VigilFleetCore

/// Every delivery order of every subset: what the ledger concludes depends only on what arrived.
@Suite struct SeqLedgerExhaustiveTests {
    static func permutations<T>(_ items: [T]) -> [[T]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { i -> [[T]] in
            var rest = items
            let head = rest.remove(at: i)
            return permutations(rest).map { [head] + $0 }
        }
    }

    static func subsets<T>(_ items: [T]) -> [[T]] {
        (0..<(1 << items.count)).map { mask in items.indices.filter { mask & (1 << $0) != 0 }.map { items[$0] } }
    }

    /// All interleavings of `a` and `b`, each keeping its own order.
    static func interleavings<T>(_ a: [T], _ b: [T]) -> [[T]] {
        if a.isEmpty { return [b] }
        if b.isEmpty { return [a] }
        return interleavings(Array(a.dropFirst()), b).map { [a[0]] + $0 } + interleavings(a, Array(b.dropFirst())).map { [b[0]] + $0 }
    }

    /// One run 1…7 started by a live birth: any subset delivered in any order, then everything again.
    /// Each delivered seq is new or filled exactly once, every copy after that a duplicate; the gaps are the
    /// missing seqs below the highest delivered; two health reports (outbox empty) make them all lost.
    @Test func oneRunEveryOrderOfEverySubset() {
        let run: [UInt64] = Array(1...7)
        var cases = 0
        for delivered in Self.subsets(run) {
            for order in Self.permutations(delivered) {
                cases += 1
                var l = SeqLedger()
                l.birth(firstSeq: 1, live: true, now: 0)
                let first = order.map { l.receive($0, now: 0) }
                #expect(first.allSatisfy { $0 == .new || $0 == .filled(.open) })
                #expect(order.reversed().map { l.receive($0, now: 0) }.allSatisfy { $0 == .duplicate })
                let top = delivered.max() ?? 0
                let missing = Set(1...max(top, 1)).subtracting(delivered).filter { $0 <= top }
                #expect(Set(l.gaps.flatMap { $0.first...$0.last }) == missing)
                #expect(l.gaps.allSatisfy { $0.state == .open })
                #expect(l.filled == Int64(first.filter { $0 == .filled(.open) }.count))
                #expect(l.duplicates == Int64(order.count))
                _ = l.receive(8, now: 0); l.agentHealth(seq: 8, outboxEvents: 4)
                _ = l.receive(9, now: 0); l.agentHealth(seq: 9, outboxEvents: 0)
                let lostNow = Set(1...7).subtracting(delivered)
                #expect(Set(l.gaps.flatMap { $0.first...$0.last }) == lostNow)
                #expect(l.gaps.allSatisfy { $0.state == .lost })
                #expect((l.lost, l.skipped, l.open) == (Int64(lostNow.count), 0, 0))
            }
        }
        #expect(cases == 13_700)
    }

    /// A run killed after seq 1, its backlog (any subset of 2…5, any order) interleaved with the next run's
    /// 1001…1003 after that run's birth: above the old run's highest delivered seq everything up to 1000 is
    /// skipped, below it every missing seq is lost once the outbox is proven empty.
    @Test func killedRunBacklogInterleavedWithTheNextRun() {
        let next: [UInt64] = [1001, 1002, 1003]
        var cases = 0
        for delivered in Self.subsets([UInt64(2), 3, 4, 5]) {
            for backlog in Self.permutations(delivered) {
                for order in Self.interleavings(backlog, next) {
                    cases += 1
                    var l = SeqLedger()
                    _ = l.receive(1, now: 0)
                    l.birth(firstSeq: 1001, live: true, now: 0)
                    for s in order { #expect(l.receive(s, now: 0) != .duplicate) }
                    _ = l.receive(1004, now: 0); l.agentHealth(seq: 1004, outboxEvents: 3)
                    _ = l.receive(1005, now: 0); l.agentHealth(seq: 1005, outboxEvents: 0)
                    let top = delivered.max() ?? 1
                    let lost = Set(UInt64(2)..<max(top, 2)).subtracting(delivered)
                    let gapSeqs = { (state: Gap.State) in Set(l.gaps.filter { $0.state == state }.flatMap { $0.first...$0.last }) }
                    #expect(gapSeqs(.lost) == lost, "order \(order)")
                    #expect(gapSeqs(.skipped) == Set((top + 1)...1000), "order \(order)")
                    #expect(gapSeqs(.open).isEmpty)
                    #expect((l.lost, l.skipped) == (Int64(lost.count), Int64(1000 - top)))
                    #expect(order.map { l.receive($0, now: 0) }.allSatisfy { $0 == .duplicate })
                }
            }
        }
        #expect(cases == 1 + 4 * 4 + 12 * 10 + 24 * 20 + 24 * 35)
    }
}
