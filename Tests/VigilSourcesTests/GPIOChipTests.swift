import Foundation
import Synchronization
import Testing
import VigilCore
@testable import VigilSources

/// The wrapper against this machine, which has no gpiochip: errors must name the chip, the call and
/// the OS's reason. (Requests, events and the sources run on a simulated chip in the QEMU harness.)
@Suite struct GPIOChipTests {
    static let hasChips = ((try? GPIOChips.list()) ?? []).isEmpty == false

    @Test(.enabled(if: !hasChips, "this machine has gpiochips"))
    func aMissingChipByLabelNamesTheLabelTheCallAndTheReason() {
        do {
            _ = try GPIOChip("vigil-no-such-chip")
            Issue.record("opened a chip that does not exist")
        } catch {
            #expect(error.description == "gpiochip 'vigil-no-such-chip': gpiod_chip_open_by_label: No such file or directory (no gpiochips found)")
            #expect(error.call == "gpiod_chip_open_by_label")
        }
    }

    @Test func eachWayOfNamingAChipUsesItsOwnCall() {
        for (query, call) in [("/dev/gpiochip97", "gpiod_chip_open"), ("gpiochip97", "gpiod_chip_open_by_name"),
                              ("97", "gpiod_chip_open_by_number"), ("pinctrl-rp1", "gpiod_chip_open_by_label")] where !Self.hasChips {
            do {
                _ = try GPIOChip(query)
                Issue.record("opened \(query)")
            } catch {
                #expect(error.call == call, "\(query)")
                #expect(error.chip == query)
            }
        }
    }

    @Test func listingFindsNoChipsInAnEmptyFolderAndNamesAMissingOne() throws {
        #expect(try GPIOChips.list(devicesAt: "/tmp").filter { $0.name.hasPrefix("gpiochip") }.isEmpty)
        #expect(throws: GPIOError.self) { try GPIOChips.list(devicesAt: "/nonexistent-vigil") }
    }

    @Test func aDHTSourceWithoutItsChipReportsDownWithTheReasonAndCountsIt() throws {
        let config = DHTSourceConfig(name: "climate", model: .dht22, chip: "vigil-no-such-chip", line: 4)
        let source = try DHTSource(config: config, chip: "vigil-no-such-chip")
        let stop = StopSignal()
        let sink = CollectingSink()
        let done = Atomic<Bool>(false)
        Thread.detachNewThread { source.run(into: sink, until: stop); done.store(true, ordering: .releasing) }
        #expect(waitUntil(5) { source.counters.gpioErrors >= 1 })
        stop.raise()
        #expect(waitUntil(5) { done.load(ordering: .acquiring) })
        #expect(sink.count == 0)
        let seen = sink.changes
        #expect(seen.count == 1)
        #expect(seen.first?.up == false)
        #expect(seen.first?.reason.hasPrefix("gpiochip 'vigil-no-such-chip': gpiod_chip_open_by_label: No such file or directory") == true)
        #expect(source.counters.reads == 0)
        #expect(sink.lastCounters?["gpio_errors"] == source.counters.gpioErrors)
        #expect(sink.countersAtChanges.first??["gpio_errors"] == 1)
    }
}
