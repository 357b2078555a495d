import Foundation
import Testing
import VigilTestSupport

/// The real `vigil` on a real (simulated) gpiochip: scripts/gpio-vm boots the Debian kernel under
/// QEMU (TCG, icount), loads gpio-sim, and runs scripts/gpio-vm/vigil-gpio.sh, where a pulse
/// generator plays a DHT22 and a sound sensor. Needs root, x86_64 and Debian's packages (installed
/// by the harness); about two minutes the first time, then under one.
///
/// `VIGIL_GPIO_VM=required` (CI) fails when the VM cannot run; `skip` skips it; unset runs it where
/// it can (root, x86_64, Debian bookworm's packages installable) and says why when it cannot.
@Suite(.serialized) struct GPIOVMTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let mode = ProcessInfo.processInfo.environment["VIGIL_GPIO_VM"] ?? "auto"

    /// nil when the VM can run here, else why not.
    static let unavailable: String? = {
        if mode == "skip" { return "VIGIL_GPIO_VM=skip" }
        let check = root.appendingPathComponent("scripts/gpio-vm/prepare.sh").path
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-gpio-vm-check.txt").path
        guard let r = try? runToolCapturing("/bin/bash", [check, "--check"], outputFile: out, timeout: 60) else {
            return "scripts/gpio-vm/prepare.sh --check did not finish"
        }
        if r.status != 0 { return r.lines.filter { !$0.isEmpty }.joined(separator: "; ") }
        // Where it may skip, a machine that cannot install or build what the VM needs (no network,
        // another kernel ABI) skips; where it is required, the run itself reports the failure.
        if mode != "required" {
            guard let p = try? runToolCapturing("/bin/bash", [check], outputFile: out, timeout: 900) else {
                return "scripts/gpio-vm/prepare.sh did not finish in 15 minutes"
            }
            if p.status != 0 { return "scripts/gpio-vm/prepare.sh failed: " + (p.lines.last { !$0.isEmpty } ?? "exit \(p.status)") }
        }
        return nil
    }()

    static let skipNote: Comment = "GPIO VM test skipped: \(unavailable ?? "")"

    /// The scenario's output by section (`=== NAME` … `=== end NAME`).
    struct Sections {
        var byName: [String: [String]] = [:]
        init(_ lines: [String]) {
            var current: String?
            for raw in lines {
                let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : raw
                if line.hasPrefix("=== end ") { current = nil; continue }
                if line.hasPrefix("=== ") { current = String(line.dropFirst(4)); byName[current!] = []; continue }
                if let c = current { byName[c, default: []].append(line) }
            }
        }
        subscript(_ name: String) -> [String] { byName[name] ?? [] }
    }

    /// Runs a guest scenario of scripts/gpio-vm with the real vigil; `options` go to run.sh.
    static func runScenario(_ scenario: String = "vigil-gpio.sh", options: [String] = []) throws -> (status: Int32, sections: Sections, all: [String]) {
        let vigil = VigilProcess.binary
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-gpio-vm-\(getpid()).log").path
        let r = try runToolCapturing("/bin/bash", [root.appendingPathComponent("scripts/gpio-vm/run.sh").path,
                                                   "--vigil", vigil,
                                                   "--scenario", root.appendingPathComponent("scripts/gpio-vm/\(scenario)").path,
                                                   "--timeout", "300"] + options,
                                     outputFile: out, timeout: 900)
        return (r.status, Sections(r.lines), r.lines)
    }

    /// `2026-11-23T14:40:01.123Z climate temperature 21.5 °C` → ("temperature", 21.5)
    static func readings(_ lines: [String], source: String) -> [(channel: String, value: Double)] {
        lines.compactMap { line in
            let f = line.split(separator: " ")
            guard f.count >= 4, f[1] == source, let v = Double(f[3]) else { return nil }
            return (String(f[2]), v)
        }
    }

    static func counters(_ lines: [String], source: String) -> [String: Int] {
        guard let line = lines.first(where: { $0.hasPrefix("\(source): ") }) else { return [:] }
        var out: [String: Int] = [:]
        for pair in line.dropFirst(source.count + 2).split(separator: " ") {
            let kv = pair.split(separator: "=")
            if kv.count == 2, let v = Int(kv[1]) { out[String(kv[0])] = v }
        }
        return out
    }

    @Test(.enabled(if: unavailable == nil || mode == "required", skipNote), .timeLimit(.minutes(20)))
    func vigilReadsADHT22AndASoundSensorOnASimulatedGPIOChip() throws {
        if let why = Self.unavailable { Issue.record("VIGIL_GPIO_VM=required but the VM cannot run: \(why)"); return }
        let (status, s, all) = try Self.runScenario()
        #expect(status == 0, "scenario exit status; output:\n\(all.suffix(80).joined(separator: "\n"))")

        // 1. DHT22 frames through `vigil read`: the good frames' exact values, in order; the broken
        //    ones counted by kind and never delivered.
        let dht = Self.readings(s["read-dht"], source: "climate")
        #expect(dht.map(\.channel) == ["temperature", "humidity", "temperature", "humidity", "temperature", "humidity"], "\(s["read-dht"])")
        #expect(dht.map(\.value) == [21.5, 45.2, -3.4, 60.1, 23.1, 50.0], "\(s["read-dht"]); log: \(s["read-dht-log"])")
        let dc = Self.counters(s["read-dht"], source: "climate")
        #expect(dc == ["dht_reads": 6, "dht_good": 3, "dht_timeout": 1, "dht_short_frame": 1, "dht_checksum": 1,
                       "dht_implausible": 0, "gpio_errors": 0], "\(s["read-dht"])")
        // The silent sensor after the bad checksum: down (2 failures with 1 retry), then up again.
        #expect(s["read-dht-log"].contains { $0.contains("2 reads in a row failed, the last: timeout") }, "\(s["read-dht-log"])")

        // 2. Sound sensor edges: every pulse counted once; active time = 100 × 2 ms + 50 × 1 ms.
        let sound = Self.readings(s["read-sound"], source: "noise")
        let events = sound.filter { $0.channel == "sound_events" }.map(\.value)
        let duty = sound.filter { $0.channel == "sound_duty" }.map(\.value)
        #expect(events.count >= 4 && events.count == duty.count, "\(s["read-sound"])")
        #expect(events.reduce(0, +) == 150, "\(events)")
        #expect(abs(duty.reduce(0, +) - 0.25) < 0.002, "\(duty)")
        let sc = Self.counters(s["read-sound"], source: "noise")
        #expect(sc["gpio_edges"] == 300 && sc["gpio_repeated_edges"] == 0 && sc["gpio_errors"] == 0, "\(sc)")
        #expect(s["pulsegen-edges"].contains { $0.contains("rising=150") }, "\(s["pulsegen-edges"])")

        // 2b. Debounce on a real line: 5 bounces then a 600 ms hold are one press of 605 ms, though
        //     the kernel delivered all 12 edges; a level input held 1.5 s reads 1 in 3 windows of 0.5 s.
        let contact = Self.readings(s["read-contact"], source: "contacts")
        #expect(contact.filter { $0.channel == "presses" }.map(\.value).reduce(0, +) == 1, "\(s["read-contact"])")
        let pressed = contact.filter { $0.channel == "pressed" }.map(\.value).reduce(0, +) * 0.5
        #expect(abs(pressed - 0.605) < 0.002, "\(pressed) s")
        let door = contact.filter { $0.channel == "door" }.map { Int($0.value) }
        #expect(door.filter { $0 == 1 }.count == 3, "\(door)")
        #expect(door.drop { $0 == 0 }.prefix { $0 == 1 }.count == 3, "the three are one run: \(door)")
        let cc = Self.counters(s["read-contact"], source: "contacts")
        #expect(cc["gpio_edges"] == 14 && cc["gpio_repeated_edges"] == 0 && cc["gpio_errors"] == 0, "\(cc)")

        // `vigil probe` while vigil read held lines 6 and 7.
        #expect(s["probe"].contains("  /dev/gpiochip0  gpiochip0  \"vigil-sim\"  8 lines"), "\(s["probe"])")
        #expect(s["probe"].contains("       5  \"line5\"       input"))
        #expect(s["probe"].contains("       6  \"line6\"       input  used by \"vigil\""))
        #expect(s["probe"].contains("       7  \"line7\"       input  used by \"vigil\""))

        // 2c. ±20 µs of jitter on every DHT22 pulse, and a DHT11: every frame exact.
        let jittery = Self.readings(s["read-jitter"], source: "jittery")
        #expect(jittery.map(\.value) == [18.3, 55.5, 18.4, 55.0, -12.7, 99.9, 0.1, 0.1, 30.0, 20.0], "\(s["read-jitter"])")
        #expect(Self.counters(s["read-jitter"], source: "jittery")["dht_good"] == 5)
        #expect(Self.counters(s["read-jitter"], source: "jittery")["dht_reads"] == 5)
        let dht11 = Self.readings(s["read-jitter"], source: "old")
        #expect(dht11.map(\.channel) == ["t11", "h11", "t11", "h11", "t11", "h11"])
        #expect(dht11.map(\.value) == [24.1, 38.0, 25.0, 40.0, 26.2, 41.0], "\(s["read-jitter"])")
        let c11 = Self.counters(s["read-jitter"], source: "old")
        // After its three frames the DHT11 falls silent: later reads (how many depends on when the
        // DHT22's last frame ends the run) are timeouts, never other failures.
        #expect(c11["dht_good"] == 3 && c11["dht_checksum"] == 0 && c11["dht_short_frame"] == 0 && c11["dht_implausible"] == 0, "\(c11)")

        // 2d. A line held by gpiomon: the error names chip, line, call and holder, once; every retry
        //     (1 s, 2 s, … apart) is counted.
        let busyLog = s["read-busy-log"].filter { $0.contains("WARNING") }
        #expect(busyLog.count == 1, "\(s["read-busy-log"])")
        #expect(busyLog.first?.contains("vigil-sim lines 1: gpiochip 'vigil-sim' line 1: gpiod_line_request: Device or resource busy (line is used by 'gpiomon')") == true, "\(busyLog)")
        let bc = Self.counters(s["read-busy"], source: "held")
        #expect((bc["gpio_errors"] ?? 0) >= 2 && bc["gpio_windows"] == 0, "\(bc)")

        // 3. The agent end to end over MQTT: summaries with the good readings and the DHT counters;
        //    the silent frame made the source go down and the next good frame brought it back.
        var summaries: [String: [[String: Any]]] = [:]
        var health: [[String: Any]] = []
        for line in s["mqtt"] {
            guard let space = line.firstIndex(of: " ") else { continue }
            let topic = String(line[..<space])
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line[line.index(after: space)...].utf8)) as? [String: Any] else { continue }
            if topic.hasPrefix("vigil/vm-gw/summary/") { summaries[String(topic.dropFirst(20)), default: []].append(obj) }
            if topic == "vigil/vm-gw/health", obj["event"] != nil { health.append(obj) }
        }
        let t = summaries["temperature"] ?? [], h = summaries["humidity"] ?? []
        #expect(t.map { $0["count"] as? Int ?? -1 }.reduce(0, +) == 4, "\(s["mqtt"])")
        #expect(h.map { $0["count"] as? Int ?? -1 }.reduce(0, +) == 4)
        #expect(t.compactMap { $0["min"] as? Double }.min() == 20.0)
        #expect(t.compactMap { $0["max"] as? Double }.max() == 20.6)
        #expect(h.compactMap { $0["max"] as? Double }.max() == 41.5)
        let last = try #require(t.last)
        #expect(last["source"] as? String == "climate")
        #expect(last["source_dht_good"] as? Int == 4)
        #expect(last["source_dht_timeout"] as? Int == 1)
        #expect(last["source_dht_checksum"] as? Int == 0)
        #expect(health.map { $0["event"] as? String ?? "" } == ["source_up", "source_down", "source_up"], "\(health)")
        #expect(health.first?["reason"] as? String == "20.0 °C, 40.0 %RH")
        #expect(health.dropFirst().first?["path"] as? String == "vigil-sim line 4")
        #expect((health.dropFirst().first?["reason"] as? String)?.hasPrefix("1 read in a row failed, the last: timeout") == true)
    }
}
