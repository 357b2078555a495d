import Glibc
import Testing
import VigilCore
import VigilSources

/// A raised stop signal wakes a thread asleep until a far deadline, or in `poll` on a device.
@Suite struct StopSignalTests {
    @Test func raisingWakesASleeperLongBeforeItsDeadline() throws {
        let stop = StopSignal()
        let start = Clock.monotonicNanos()
        let threads = ThreadGroup()
        try threads.start {
            usleep(50_000)
            stop.raise()
        }
        // A deadline ten minutes out: only the raise can end this sleep in time.
        let slept = stop.sleep(untilMonotonic: start + 600 * 1_000_000_000)
        threads.join()
        #expect(slept == false)
        #expect(Clock.monotonicNanos() - start < 300 * 1_000_000_000)
        // Raised stays raised: the next sleep returns at once.
        #expect(stop.sleep(untilMonotonic: .max) == false)
    }

    @Test func waitReportsTheReadableDescriptorAndThenTheRaise() {
        let stop = StopSignal()
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        var byte: UInt8 = 7
        #expect(write(fds[1], &byte, 1) == 1)
        #expect(stop.wait(fd: fds[0], timeoutMilliseconds: 60_000) & Int32(POLLIN) != 0)
        #expect(read(fds[0], &byte, 1) == 1)
        stop.raise()
        // Nothing to read, but raised: returns at once with no events on the descriptor.
        #expect(stop.wait(fd: fds[0], timeoutMilliseconds: 600_000) == 0)
        #expect(stop.isRaised)
    }

    @Test func timeoutsRoundUpToWholeMilliseconds() {
        #expect(StopSignal.milliseconds(until: 10_000_001, from: 0) == 11)
        #expect(StopSignal.milliseconds(until: 10_000_000, from: 0) == 10)
        #expect(StopSignal.milliseconds(until: 5, from: 10) == 0)
        #expect(StopSignal.milliseconds(until: .max, from: 0) == .max)
        #expect(StopSignal.milliseconds(until: .max, from: -5) == .max)
        #expect(StopSignal.milliseconds(until: .min, from: 1_000) == 0)
    }
}
