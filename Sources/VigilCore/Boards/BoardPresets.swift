/// The board presets: the only copy of this data. `vigil check --board NAME` prints one;
/// boards/<id>.txt are generated from them (scripts/gen-boards.sh, checked by the tests).
public enum Boards {
    public static let all: [Board] = [zero2W, pi3BPlus, pi4B, pi5]

    // Shared by the four boards: the 40-pin header and its fixed functions.
    static let idEEPROM = [
        Board.ReservedLine(line: 0, reason: "ID_SD: HAT ID EEPROM (I2C0), read by the firmware at boot"),
        Board.ReservedLine(line: 1, reason: "ID_SC: HAT ID EEPROM (I2C0), read by the firmware at boot"),
    ]
    static let i2cPullUps = [
        Board.ReservedLine(line: 2, reason: "SDA1 (I2C1): fixed 1.8 kOhm pull-up to 3V3 on the board; reads high when idle"),
        Board.ReservedLine(line: 3, reason: "SCL1 (I2C1): fixed 1.8 kOhm pull-up to 3V3 on the board; reads high when idle"),
    ]
    static let bcmHeaderUART = [
        Board.ReservedLine(line: 14, reason: "TXD of the header UART (/dev/serial0 = /dev/ttyS0 when enable_uart=1)"),
        Board.ReservedLine(line: 15, reason: "RXD of the header UART (/dev/serial0 = /dev/ttyS0 when enable_uart=1)"),
    ]
    static let firmwareExpander = Board.GPIOChip(
        label: "raspberrypi-exp-gpio", usualDevice: "usually /dev/gpiochip1", lines: 8,
        note: "firmware GPIO expander: LEDs, power and camera control")

    static let bookwormNotes = [
        "On Raspberry Pi OS bookworm the boot configuration is /boot/firmware/config.txt (earlier releases: /boot/config.txt).",
        "Header GPIOs are 3.3 V logic and are not 5 V tolerant: power sensors from 3V3 (pins 1, 17) unless their output is level-shifted.",
        "The vigil service reaches /dev/gpiochip* through its gpio group (the package's udev rule gives the group access) and USB serial adapters through dialout.",
    ]

    /// The unit lets the agent open USB serial devices only; a header UART needs a drop-in.
    static func uartDropIn(_ devices: String, _ deviceClasses: String...) -> String {
        let lines = deviceClasses.map { "`DeviceAllow=char-\($0) rw`" }.joined(separator: " and ")
        return "The vigil service may open only USB serial devices (ttyUSB, ttyACM). To read \(devices), add \(lines) under [Service] with `systemctl edit vigil`."
    }

    /// The default wiring, the same on every 40-pin board: DS18B20 on GPIO4 (the w1-gpio default),
    /// DHT22 on GPIO17, the sound sensor on GPIO27, the ESP8266 on USB.
    static func standardWiring(usb: String) -> [SensorWiring] {
        [
            SensorWiring(sensor: .dht22, line: 17, wires: [
                .init("1 VCC", pin: 1),
                .init("2 DATA", pin: 11, "10 kOhm pull-up to 3V3"),
                .init("3 NC", pin: nil, "not connected"),
                .init("4 GND", pin: 9),
            ], parts: ["10 kOhm resistor from DATA to 3V3 (DHT22 modules on a small board usually have it already)",
                       "wires up to about 1 m; longer runs need a lower pull-up (4.7 kOhm)"],
            setup: ["Pins counted with the grille towards you, legs down, from the left.",
                    "No overlay is needed: Vigil drives the line through the gpiochip (libgpiod). Do not also enable dtoverlay=dht11 on GPIO17: the kernel driver would hold the line.",
                    "The DHT22 answers at most once every 2 s."]),
            SensorWiring(sensor: .sound, line: 27, wires: [
                .init("VCC", pin: 17, "3V3, not 5V: DO would swing to 5 V"),
                .init("GND", pin: 14),
                .init("DO", pin: 13, "digital output of the comparator"),
                .init("AO", pin: nil, "analog output: not connected (the Pi has no ADC)"),
            ], parts: [],
            setup: ["Turn the module's potentiometer until its DO LED just goes out in a quiet room.",
                    "DO changes level while the sound is above that threshold (low on most LM393 modules); count edges per interval for a loudness figure."]),
            SensorWiring(sensor: .ds18b20, line: 4, wires: [
                .init("GND (left)", pin: 6),
                .init("DQ (middle)", pin: 7, "4.7 kOhm pull-up to 3V3"),
                .init("VDD (right)", pin: 1),
            ], parts: ["4.7 kOhm resistor from DQ to 3V3 (waterproof probes: red = VDD, black = GND, yellow or white = DQ)"],
            setup: ["Pins counted with the flat side towards you, legs down, from the left.",
                    "Add `dtoverlay=w1-gpio,gpiopin=4` to config.txt and reboot.",
                    "Each sensor appears as /sys/bus/w1/devices/28-*/temperature (millidegrees Celsius); several DS18B20 can share the three wires.",
                    "The kernel then owns GPIO4: do not give it to another sensor."]),
            SensorWiring(sensor: .esp8266, line: nil, wires: [
                .init("USB connector", pin: nil, "a data-capable USB cable to \(usb)"),
            ], parts: [],
            setup: ["Flash boards/esp8266/vigil_esp8266.ino (its README has the ESP's own wiring): it prints a line such as temperature=21.5,humidity=40.1,sound=312 every second at 115200 baud.",
                    "It appears as /dev/ttyUSB0 (CH340, CP2102 USB-serial chips) or /dev/ttyACM0; `vigil probe` and `ls /dev/serial/by-id/` give the stable name.",
                    "The service may open ttyUSB and ttyACM devices (DeviceAllow=) as a member of dialout; unplugging and plugging it back in is fine.",
                    "The USB cable powers it: do not also connect its VIN/5V pin to the header.",
                    "Source: `kind: serial` with that path (or `usb: { vid, pid }`), `baud: 115200`, `format: kv`, as in examples/serial.yaml."]),
        ]
    }

    public static let zero2W = Board(
        id: "rpi-zero-2w", name: "Raspberry Pi Zero 2 W",
        aliases: ["zero2w", "zero-2-w", "pi-zero-2-w", "raspberry-pi-zero-2w"],
        soc: "RP3A0 (BCM2710A1), 4x Cortex-A53, 512 MB",
        headerChip: .init(label: "pinctrl-bcm2835", usualDevice: "usually /dev/gpiochip0", lines: 54,
                          note: "The header is not populated on a plain Zero 2 W: solder a 2x20 header or use the Zero 2 WH."),
        otherChips: [],
        reserved: idEEPROM + bcmHeaderUART,
        cautions: i2cPullUps,
        serialPorts: [
            .init(path: "/dev/serial0", description: "-> /dev/ttyS0, mini UART on GPIO14/15 (header pins 8/10) with enable_uart=1; the serial console unless disabled in raspi-config"),
            .init(path: "/dev/serial1", description: "-> /dev/ttyAMA0, PL011 UART used by Bluetooth"),
            .init(path: "/dev/ttyUSB0, /dev/ttyACM0", description: "USB-serial adapters and boards (ESP8266) on the USB OTG port"),
        ],
        usbPorts: "the micro-USB port labelled USB (not PWR IN), through a micro-USB OTG adapter",
        wiring: standardWiring(usb: "the micro-USB port labelled USB (not PWR IN), through a micro-USB OTG adapter"),
        notes: bookwormNotes + [uartDropIn("/dev/serial0 (ttyS0)", "ttyS"), "512 MB of RAM: the agent needs about 30 MB resident."])

    public static let pi3BPlus = Board(
        id: "rpi-3b-plus", name: "Raspberry Pi 3 Model B Plus",
        aliases: ["3b+", "3bplus", "pi3b+", "pi3bplus", "raspberry-pi-3b+", "raspberry-pi-3-b-plus"],
        soc: "BCM2837B0, 4x Cortex-A53, 1 GB",
        headerChip: .init(label: "pinctrl-bcm2835", usualDevice: "usually /dev/gpiochip0", lines: 54, note: ""),
        otherChips: [firmwareExpander],
        reserved: idEEPROM + bcmHeaderUART,
        cautions: i2cPullUps,
        serialPorts: [
            .init(path: "/dev/serial0", description: "-> /dev/ttyS0, mini UART on GPIO14/15 (header pins 8/10) with enable_uart=1; the serial console unless disabled in raspi-config"),
            .init(path: "/dev/serial1", description: "-> /dev/ttyAMA0, PL011 UART used by Bluetooth"),
            .init(path: "/dev/ttyUSB0, /dev/ttyACM0", description: "USB-serial adapters and boards (ESP8266) on any of the four USB-A ports"),
        ],
        usbPorts: "any of the four USB-A ports",
        wiring: standardWiring(usb: "any of the four USB-A ports"),
        notes: bookwormNotes + [uartDropIn("/dev/serial0 (ttyS0)", "ttyS")])

    public static let pi4B = Board(
        id: "rpi-4b", name: "Raspberry Pi 4 Model B",
        aliases: ["4b", "pi4", "pi4b", "rpi4", "raspberry-pi-4", "raspberry-pi-4b"],
        soc: "BCM2711, 4x Cortex-A72, 1-8 GB",
        headerChip: .init(label: "pinctrl-bcm2711", usualDevice: "usually /dev/gpiochip0", lines: 58, note: ""),
        otherChips: [firmwareExpander],
        reserved: idEEPROM + bcmHeaderUART,
        cautions: i2cPullUps,
        serialPorts: [
            .init(path: "/dev/serial0", description: "-> /dev/ttyS0, mini UART on GPIO14/15 (header pins 8/10) with enable_uart=1; the serial console unless disabled in raspi-config"),
            .init(path: "/dev/serial1", description: "-> /dev/ttyAMA0, PL011 UART used by Bluetooth"),
            .init(path: "/dev/ttyAMA1-4", description: "extra PL011 UARTs with dtoverlay=uart2 ... uart5 (they take header GPIOs: check the overlay's pins)"),
            .init(path: "/dev/ttyUSB0, /dev/ttyACM0", description: "USB-serial adapters and boards (ESP8266) on any USB-A port"),
        ],
        usbPorts: "any USB-A port (the black USB 2.0 ones are enough)",
        wiring: standardWiring(usb: "any USB-A port (the black USB 2.0 ones are enough)"),
        notes: bookwormNotes + [uartDropIn("/dev/serial0 (ttyS0) or /dev/ttyAMA1-4", "ttyS", "ttyAMA")])

    public static let pi5 = Board(
        id: "rpi-5", name: "Raspberry Pi 5",
        aliases: ["5", "pi5", "rpi5", "raspberry-pi-5", "raspberry-pi-5-model-b"],
        soc: "BCM2712, 4x Cortex-A76, 2-16 GB; header GPIOs on the RP1 I/O controller",
        headerChip: .init(label: "pinctrl-rp1", usualDevice: "/dev/gpiochip0 on current kernels, /dev/gpiochip4 on early Raspberry Pi 5 kernels", lines: 54,
                          note: "The number of the RP1 chip changed between kernel releases: match the label."),
        otherChips: [
            .init(label: "gpio-brcmstb@107d508500", usualDevice: "BCM2712", lines: 32, note: "SoC GPIOs, not on the header"),
            .init(label: "gpio-brcmstb@107d508520", usualDevice: "BCM2712", lines: 4, note: "SoC GPIOs, not on the header"),
            .init(label: "gpio-brcmstb@107d517c00", usualDevice: "BCM2712", lines: 17, note: "SoC always-on GPIOs, not on the header"),
            .init(label: "gpio-brcmstb@107d517c20", usualDevice: "BCM2712", lines: 6, note: "SoC always-on GPIOs, not on the header"),
        ],
        reserved: idEEPROM + [
            Board.ReservedLine(line: 14, reason: "TXD0 of UART0 (/dev/ttyAMA0 with dtparam=uart0=on)"),
            Board.ReservedLine(line: 15, reason: "RXD0 of UART0 (/dev/ttyAMA0 with dtparam=uart0=on)"),
        ],
        cautions: i2cPullUps,
        serialPorts: [
            .init(path: "/dev/serial0", description: "-> /dev/ttyAMA10, the 3-pin debug UART connector between the HDMI ports"),
            .init(path: "/dev/ttyAMA0", description: "UART0 on GPIO14/15 (header pins 8/10) with dtparam=uart0=on in config.txt"),
            .init(path: "/dev/ttyUSB0, /dev/ttyACM0", description: "USB-serial adapters and boards (ESP8266) on any USB-A port"),
        ],
        usbPorts: "any USB-A port",
        wiring: standardWiring(usb: "any USB-A port"),
        notes: bookwormNotes + [uartDropIn("/dev/ttyAMA0 or /dev/serial0 (ttyAMA10)", "ttyAMA"), "Use the official 5 V / 5 A supply when USB devices draw power; with less the board limits USB current to 600 mA."])
}
