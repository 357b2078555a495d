// libFuzzer target: a DS18B20's w1_slave (and temperature) attribute as the kernel might print it.
import VigilSources

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzW1Slave(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    // w1_slave: an accepted temperature is what the checked scratchpad holds, a signed 16-bit count
    // of 1/16 °C.
    let slave = W1SlaveParser.parse(bytes)
    if case .celsius(let c) = slave { precondition(c >= -2048 && c < 2048, "accepted \(c) °C") }
    _ = slave.problem
    // The plain `temperature` attribute carries no checksum, but the same register range.
    let plain = W1SlaveParser.parseTemperature(bytes)
    if case .celsius(let c) = plain { precondition(c >= -2048 && c < 2048, "accepted \(c) °C") }
    _ = plain.problem
    return 0
}
