import Testing
@testable import VigilFleetCore

/// The gap rule (docs/fleet.md, "Gaps"), rule by rule, with exact gaps and counts.
@Suite struct SeqLedgerTests {
    func gap(_ first: UInt64, _ last: UInt64, _ state: Gap.State, at t: Int64 = 0) -> Gap {
        Gap(first: first, last: last, state: state, openedNanos: t)
    }

    func receive(_ l: inout SeqLedger, _ seqs: [UInt64], now: Int64 = 0) -> [SeqVerdict] {
        seqs.map { l.receive($0, now: now) }
    }

    @Test func historyStartsAtTheFirstSeqSeen() {
        var l = SeqLedger()
        #expect(receive(&l, [41, 42, 43]) == [.new, .new, .new])
        #expect(l.floor == 41 && l.next == 44 && l.gaps == [])
        #expect(receive(&l, [40, 42]) == [.beforeHistory, .duplicate])
        #expect((l.beforeHistory, l.duplicates) == (1, 1))
    }

    @Test func rule1And2GapOpensAndFillsOutOfOrder() {
        var l = SeqLedger()
        _ = receive(&l, [1, 2])
        #expect(l.receive(7, now: 5) == .new)
        #expect(l.gaps == [gap(3, 6, .open, at: 5)])
        #expect(l.open == 4)
        #expect(receive(&l, [5, 3, 6, 4]) == [.filled(.open), .filled(.open), .filled(.open), .filled(.open)])
        #expect(l.gaps == [])
        #expect((l.filled, l.lost, l.open) == (4, 0, 0))
        #expect(receive(&l, [3, 7, 1]) == [.duplicate, .duplicate, .duplicate])
        #expect(l.duplicates == 3)
    }

    @Test func fillInTheMiddleSplitsAGap() {
        var l = SeqLedger()
        _ = receive(&l, [10, 20])
        _ = l.receive(15, now: 0)
        #expect(l.gaps == [gap(11, 14, .open), gap(16, 19, .open)])
        _ = receive(&l, [11, 19])
        #expect(l.gaps == [gap(12, 14, .open), gap(16, 18, .open)])
    }

    @Test func rule3BirthAfterAKillDeclaresTheTailSkipped() {
        var l = SeqLedger()
        _ = receive(&l, [1, 2, 3])
        l.birth(firstSeq: 1001, live: true, now: 9)
        #expect(l.gaps == [gap(4, 1000, .skipped, at: 9)])
        #expect((l.skipped, l.runStart, l.next) == (997, 1001, 1001))
        #expect(receive(&l, [1001, 1002]) == [.new, .new])
        #expect(l.gaps == [gap(4, 1000, .skipped, at: 9)])
        // The killed run's backlog drains after the birth: it shrinks the skip from below.
        #expect(receive(&l, [4, 5]) == [.filled(.skipped), .filled(.skipped)])
        #expect(l.gaps == [gap(6, 1000, .skipped, at: 9)])
        #expect((l.skipped, l.filled) == (995, 2))
        // A backlog seq that jumps: the seqs below it were used by the old run, so they are open, not skipped.
        _ = l.receive(8, now: 0)
        #expect(l.gaps == [gap(6, 7, .open, at: 9), gap(9, 1000, .skipped, at: 9)])
        #expect((l.skipped, l.open, l.filled) == (992, 2, 3))
    }

    @Test func rule3TheSameBirthAgainOrAnOlderOneChangesNothing() {
        var l = SeqLedger()
        _ = receive(&l, [1, 2])
        l.birth(firstSeq: 1001, live: false, now: 0)
        let before = l
        l.birth(firstSeq: 1001, live: false, now: 0)
        #expect(l == before)
        l.birth(firstSeq: 500, live: true, now: 0)
        #expect(l.resets == 1)
        #expect((l.gaps, l.next, l.runStart) == (before.gaps, before.next, before.runStart))
    }

    @Test func rule3BirthArrivingAfterItsRunsMessages() {
        var l = SeqLedger()
        _ = receive(&l, [1, 2, 1001, 1002])
        #expect(l.gaps == [gap(3, 1000, .open)])
        l.birth(firstSeq: 1001, live: true, now: 0)
        #expect(l.gaps == [gap(3, 1000, .skipped)])
        #expect((l.skipped, l.open) == (998, 0))
    }

    @Test func rule3OnlyTheMissingRunEndingBeforeFirstSeqIsSkipped() {
        var l = SeqLedger()
        _ = receive(&l, [1, 5, 1001, 1010])
        #expect(l.gaps == [gap(2, 4, .open), gap(6, 1000, .open), gap(1002, 1009, .open)])
        l.birth(firstSeq: 1001, live: true, now: 0)
        #expect(l.gaps == [gap(2, 4, .open), gap(6, 1000, .skipped), gap(1002, 1009, .open)])
    }

    @Test func rule3FirstBirthLiveStartsHistoryRetainedDoesNot() {
        var live = SeqLedger()
        live.birth(firstSeq: 2001, live: true, now: 0)
        #expect(live.receive(2003, now: 1) == .new)
        #expect(live.gaps == [gap(2001, 2002, .open, at: 1)])
        #expect(live.receive(1999, now: 1) == .beforeHistory)

        var retained = SeqLedger()
        retained.birth(firstSeq: 2001, live: false, now: 0)
        #expect(retained.receive(2003, now: 1) == .new)
        #expect(retained.gaps == [] && retained.floor == 2003)
        #expect(retained.receive(2001, now: 1) == .beforeHistory)
    }

    @Test func rule4EmptyOutboxDeclaresLossBelowThePreviousReport() {
        var l = SeqLedger()
        _ = receive(&l, [1, 2, 4, 5])         // 3 missing
        l.agentHealth(seq: 5, outboxEvents: 0)
        // No earlier report: 3 might still be in flight.
        #expect(l.gaps == [gap(3, 3, .open)])
        _ = receive(&l, [6, 8, 9])            // 7 missing, just below the next report
        l.agentHealth(seq: 9, outboxEvents: 0)
        // Below 5 (the previous report): lost. 7 lies between the reports: still open.
        #expect(l.gaps == [gap(3, 3, .lost), gap(7, 7, .open)])
        #expect((l.lost, l.open) == (1, 1))
        _ = receive(&l, [10])
        l.agentHealth(seq: 10, outboxEvents: 0)
        #expect(l.gaps == [gap(3, 3, .lost), gap(7, 7, .lost)])
        #expect(l.lost == 2)
    }

    @Test func rule4AReportWithAPendingOutboxDeclaresNothing() {
        var l = SeqLedger()
        _ = receive(&l, [1, 3, 4, 6])
        l.agentHealth(seq: 4, outboxEvents: 3)
        l.agentHealth(seq: 6, outboxEvents: 2)
        #expect(l.gaps == [gap(2, 2, .open), gap(5, 5, .open)])
        _ = receive(&l, [7])
        l.agentHealth(seq: 7, outboxEvents: 0)
        #expect(l.gaps == [gap(2, 2, .lost), gap(5, 5, .lost)])
    }

    @Test func rule4AGapAcrossThePreviousReportSplits() {
        var l = SeqLedger()
        _ = receive(&l, [1, 2])
        l.agentHealth(seq: 2, outboxEvents: 5)
        _ = receive(&l, [10])
        // Seqs 3…9 missing; 2 was the previous report, so nothing below 2 is missing.
        l.agentHealth(seq: 10, outboxEvents: 0)
        #expect(l.gaps == [gap(3, 9, .open)])
        // A late report at 6 (reports can drain from a backlog too) makes 6 the previous one of 12.
        _ = l.receive(6, now: 0)
        l.agentHealth(seq: 6, outboxEvents: 1)
        _ = receive(&l, [12])
        #expect(l.gaps == [gap(3, 5, .open), gap(7, 9, .open), gap(11, 11, .open)])
        // The previous report below 12 is 10: below it everything missing is lost.
        l.agentHealth(seq: 12, outboxEvents: 0)
        #expect(l.healthSeqs == [2, 6, 10, 12])
        #expect(l.gaps == [gap(3, 5, .lost), gap(7, 9, .lost), gap(11, 11, .open)])
        #expect(l.lost == 6)
    }

    @Test func aLostSeqThatArrivesAfterAllIsRecovered() {
        var l = SeqLedger()
        _ = receive(&l, [1, 3])
        l.agentHealth(seq: 3, outboxEvents: 0)
        _ = receive(&l, [4])
        l.agentHealth(seq: 4, outboxEvents: 0)
        #expect(l.gaps == [gap(2, 2, .lost)])
        #expect(l.receive(2, now: 0) == .filled(.lost))
        #expect((l.lost, l.recovered, l.gaps) == (0, 1, []))
    }

    @Test func rule5CleanStopLosesWhatTheRunUsedAndNoSkipFollows() {
        var l = SeqLedger()
        _ = receive(&l, [1, 2, 4])
        l.cleanStop(lastSeq: 6, now: 3)
        #expect(l.gaps == [gap(3, 3, .lost), gap(5, 6, .lost, at: 3)])
        #expect((l.lost, l.next, l.cleanStopSeq) == (3, 7, 6))
        // The next run starts exactly after it: nothing skipped, the losses stay losses.
        l.birth(firstSeq: 7, live: true, now: 4)
        #expect(l.gaps == [gap(3, 3, .lost), gap(5, 6, .lost, at: 3)])
        #expect(l.skipped == 0)
        #expect(receive(&l, [7, 8]) == [.new, .new])
    }

    @Test func rule5CleanStopThenAStartAfterAReservedBlock() {
        var l = SeqLedger()
        _ = receive(&l, [1, 2])
        l.cleanStop(lastSeq: 2, now: 0)
        l.birth(firstSeq: 1001, live: true, now: 0)
        #expect(l.gaps == [gap(3, 1000, .skipped)])
    }

    @Test func rule3BirthAfterMessagesKeepsSeqsUpToACleanStopUsed() {
        var l = SeqLedger()
        _ = receive(&l, [1, 2])
        l.cleanStop(lastSeq: 4, now: 0)       // 3, 4 used and missing: lost
        _ = receive(&l, [1001])               // the new run's first message before its birth
        #expect(l.gaps == [gap(3, 4, .lost), gap(5, 1000, .open)])
        l.birth(firstSeq: 1001, live: true, now: 0)
        #expect(l.gaps == [gap(3, 4, .lost), gap(5, 1000, .skipped)])
        #expect((l.lost, l.skipped) == (2, 996))
    }

    @Test func memoryIsBoundedByForgettingTheOldestClosedGaps() {
        var l = SeqLedger()
        // Every other seq: 1, 3, 5, … leaves one-seq gaps.
        for k in 0...UInt64(SeqLedger.maxGaps + 10) { _ = l.receive(1 + 2 * k, now: 0) }
        #expect(l.gaps.count == SeqLedger.maxGaps)
        // All open: the 10 oldest were declared lost as they were forgotten.
        #expect((l.lost, l.floor) == (10, 21))
        #expect(l.gaps.first == gap(22, 22, .open))
        #expect(l.receive(2, now: 0) == .beforeHistory)
        #expect(l.receive(22, now: 0) == .filled(.open))
    }
}
