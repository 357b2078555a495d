// libFuzzer target: a DS18B20's w1_slave (and temperature) attribute as the kernel might print it.
import VigilSources

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzW1Slave(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    for reading in [W1SlaveParser.parse(bytes), W1SlaveParser.parseTemperature(bytes)] {
        // A DS18B20 reports −55…+125 °C; any accepted temperature is a finite value in its range.
        if case .celsius(let c) = reading {
            precondition(c.isFinite && c >= -55 && c <= 125.0001, "accepted \(c) °C")
        }
        _ = reading.problem
    }
    return 0
}
