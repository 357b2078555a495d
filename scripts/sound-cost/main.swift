// The microphone source's per-sample work, alone: SECONDS of a 16 kHz mono tone through the meter
// (A-weighting, and BANDS octave bands), in 100 ms periods, as the source feeds it. Compiled with
// -O next to the meter's own files by scripts/sound-cost.sh, which runs it under callgrind twice
// (SECONDS_OF_AUDIO and 0) and takes the difference: the meter's instructions alone.
#if canImport(Glibc)
import Glibc
#endif

let env = { (name: String, fallback: Int) -> Int in getenv(name).flatMap { Int(String(cString: $0)) } ?? fallback }
let seconds = env("SECONDS_OF_AUDIO", 60), bandCount = env("BANDS", 0)
let rate = 16000, period = 1600
let bands = Array([125.0, 250, 500, 1000, 2000, 4000].prefix(bandCount))
var meter = SoundLevelMeter(rate: rate, channels: 1, framesPerWindow: rate, weighting: .a, bands: bands)
let buffer = UnsafeMutablePointer<Int16>.allocate(capacity: period)
var windows = 0, total = 0.0
var start = timespec(), end = timespec()
clock_gettime(CLOCK_MONOTONIC, &start)
// A 1 kHz tone repeats every 16 samples, so one period of it serves for all.
for i in 0..<period { buffer[i] = Int16(3277 * sin(2 * Double.pi * 1000 * Double(i) / Double(rate))) }
for _ in 0..<(seconds * rate / period) {
    meter.add(UnsafeBufferPointer(start: buffer, count: period)) { w, _ in windows += 1; total += w.levelDBFS }
}
clock_gettime(CLOCK_MONOTONIC, &end)
let elapsed = Double(end.tv_sec - start.tv_sec) + Double(end.tv_nsec - start.tv_nsec) / 1e9
print("\(seconds) s of audio, \(bands.count) bands: \(windows) windows, mean level \(total / Double(max(windows, 1))) dBFS, \(elapsed) s")
