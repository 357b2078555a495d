// libFuzzer target: IIO sysfs attribute text (in_*_input values, the device name).
import VigilSources

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIIO(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    if let milli = IIOParsing.milliValue(bytes) {
        precondition(IIOParsing.units(fromMilli: milli).isFinite)
    }
    if let name = IIOParsing.deviceName(bytes) {
        precondition(!name.isEmpty, "an empty name is nil")
        _ = IIOParsing.nameMatches(name, wanted: "dht11@4")
        _ = IIOParsing.nameMatches("dht11@4", wanted: name)
    }
    return 0
}
