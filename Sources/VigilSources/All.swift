/// Every sensor kind, one line each (as Telegraf's `plugins/inputs/all`): a kind is its folder plus
/// its line here. The order is the order config errors list the kinds in.
public enum SourceKinds {
    public static let all: [any SourceKind.Type] = [
        SimulatorSourceConfig.self,
        SerialSourceConfig.self,
        DHTSourceConfig.self,
        DigitalInputsSourceConfig.self,
        DHTIIOSourceConfig.self,
        DS18B20SourceConfig.self,
        BME280SourceConfig.self,
        MicrophoneSourceConfig.self,
        ADS1x15SourceConfig.self,
    ]
}
