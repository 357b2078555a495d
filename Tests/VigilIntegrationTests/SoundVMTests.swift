import Foundation
import Testing
import VigilTestSupport

/// `kind: microphone` on a real ALSA card: scripts/gpio-vm/run.sh --sound loads the kernel's
/// snd-aloop loopback card in the VM, and scripts/gpio-vm/vigil-sound.sh plays generated tones
/// into hw:Loopback,0,0 with aplay while `vigil read` captures hw:Loopback,1,0. Same gating as the
/// GPIO test (VIGIL_GPIO_VM), and in its serialized suite so that the two VMs never share the cores.
extension GPIOVMTests {
    /// A window is "of" a segment when level and peak both lie within this of the segment's level:
    /// the documented tolerance (measured: within 0.002 dB; S16 rounding and the A-weighting
    /// filter's start are the only errors, since the loopback copies samples exactly).
    static let soundToleranceDB = 0.1

    @Test(.enabled(if: unavailable == nil || mode == "required", skipNote), .timeLimit(.minutes(20)))
    func vigilMeasuresTonesPlayedIntoTheALSALoopbackCard() throws {
        if let why = Self.unavailable { Issue.record("VIGIL_GPIO_VM=required but the VM cannot run: \(why)"); return }
        let (status, s, all) = try Self.runScenario("vigil-sound.sh", options: ["--sound"])
        #expect(status == 0, "scenario exit status; output:\n\(all.suffix(80).joined(separator: "\n"))")

        let r = Self.readings(s["read-mic"], source: "mic")
        let level = r.filter { $0.channel == "level_db" }.map(\.value)
        let peak = r.filter { $0.channel == "peak_db" }.map(\.value)
        #expect(level.count == peak.count && level.count >= 8, "\(s["read-mic"])")
        // Each window: which segment of the file it lies wholly in, or nil when it straddles two
        // (the silence before the playback, 1 kHz at −20 dBFS, at −8 dBFS, digital silence).
        func segment(_ i: Int) -> Double? {
            for dB in [-20.0, -8.0] where abs(level[i] - dB) <= Self.soundToleranceDB && abs(peak[i] - dB) <= Self.soundToleranceDB {
                return dB
            }
            return level[i] == -120 && peak[i] == -120 ? -120 : nil
        }
        let segs = level.indices.map(segment)
        let desc = zip(level, peak).map { "\($0) / \($1)" }.joined(separator: "\n")
        // In file order: optional leading silence, then the two tones and the silence, each in at
        // least two whole windows (1.5 s segments, 0.5 s windows).
        let runs = segs.compactMap { $0 }.reduce(into: [(dB: Double, count: Int)]()) { acc, dB in
            if acc.last?.dB == dB { acc[acc.count - 1].count += 1 } else { acc.append((dB, 1)) }
        }
        let body = runs.first?.dB == -120 ? Array(runs.dropFirst()) : runs
        #expect(body.map(\.dB) == [-20, -8, -120], "windows (level / peak):\n\(desc)")
        #expect(body.allSatisfy { $0.count >= 2 }, "windows (level / peak):\n\(desc)")
        // The straddling windows: at most one per boundary, plus one more after the tone stops when
        // it stops in a window's last ~25 ms: the A-weighting filter rings on (−43 dB right after
        // the −8 dBFS tone, under −120 dB only 25 ms later). Each lies between its neighbours.
        #expect(segs.filter { $0 == nil }.count <= 4, "windows (level / peak):\n\(desc)")
        for i in segs.indices where segs[i] == nil {
            let before = segs[..<i].compactMap { $0 }.last ?? -120, after = segs[(i + 1)...].compactMap { $0 }.first ?? -120
            #expect(level[i] > min(before, after) && level[i] < max(before, after), "window \(i): \(level[i]) dB\n\(desc)")
        }
        // The step: exactly 12 dB, window for window.
        let tone20 = level.indices.filter { segs[$0] == -20 }.map { level[$0] }
        let tone8 = level.indices.filter { segs[$0] == -8 }.map { level[$0] }
        if let a = tone20.last, let b = tone8.first { #expect(abs((b - a) - 12) <= 0.01, "\(a) → \(b)") }
        // Nothing lost or clipped on the way: no xrun, no error, no full-scale sample.
        let c = Self.counters(s["read-mic"], source: "mic")
        #expect(c["xruns"] == 0 && c["errors"] == 0 && c["clipped"] == 0, "\(s["read-mic"])")
        // 0.5 s windows of 0.1 s periods; the run may stop inside a window.
        #expect((level.count * 5..<level.count * 5 + 5).contains(c["periods"] ?? -1), "\(c)")
        #expect(s["read-mic-log"].contains { $0.contains("capturing hw:Loopback,1,0 at 16000 Hz") }, "\(s["read-mic-log"])")
        #expect(s["aplay"].isEmpty, "aplay: \(s["aplay"])")
    }
}
