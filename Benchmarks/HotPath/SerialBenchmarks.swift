import Benchmark
import VigilCore
import VigilSources

/// Serial framing and parsing: bytes as they come off the port → one value per channel.
/// Each iteration is 4096 lines; lines/s = 4096 · 10⁹ / (ns per iteration).
func serialBenchmarks() {
    let fields = ["temperature", "humidity", "sound"].map { SerialFieldMapping(field: $0, channel: $0) }
    let render = { (format: SerialLineFormat) -> [UInt8] in
        // 4096 lines of simulator output, in the format under test.
        var model = try! SimulatorModel(channels: SimulatedChannel.defaults, faults: [], rateHz: 1, seed: 5)
        var f = SerialLineFormatter(format: format, fields: fields.map(\.field))
        var values = [Double?](repeating: nil, count: 3)
        var bytes: [UInt8] = []
        for _ in 0..<4096 {
            model.step { ch, x in values[ch] = x }
            bytes += Array(f.next(values).utf8)
        }
        return bytes
    }
    for format in [SerialLineFormat.kv, .csv, .json] {
        let stream = render(format)
        Benchmark("Serial split + parse, \(format.rawValue) (4096 lines)", configuration: .init(scalingFactor: .one)) { benchmark in
            let splitter = LineSplitter(maxLineLength: 512)
            let parser = LineParser(format: format, fields: fields)
            var sum = 0.0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                stream.withUnsafeBufferPointer { buf in
                    splitter.feed(buf) { line in
                        if case .data = parser.parse(line) { sum += parser.values[0] }
                    }
                }
            }
            benchmark.stopMeasurement()
            blackHole(sum)
        }
    }
}
