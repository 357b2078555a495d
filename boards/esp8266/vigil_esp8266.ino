// Vigil sensor node: NodeMCU (ESP8266) + DHT22 + analog sound sensor, one line a second over USB.
//
// Prints `temperature=21.5,humidity=40.1,sound=312` at 115200 baud — the `kv` format of a Vigil
// `kind: serial` source (see README.md beside this file and examples/serial.yaml).
// A failed DHT read leaves its fields out of the line: Vigil counts them as dropped readings,
// never as zeros.
//
// Libraries (Arduino Library Manager): "DHT sensor library" by Adafruit (and its dependency
// "Adafruit Unified Sensor"). Board: "NodeMCU 1.0 (ESP-12E Module)" from the esp8266 core.

#include <DHT.h>

static const uint8_t DHT_PIN = D2;        // GPIO4
static const uint8_t SOUND_PIN = A0;      // the ESP8266's only ADC, 0…1 V on the chip (0…3.3 V on NodeMCU)
static const uint32_t PERIOD_MS = 1000;   // one line a second
static const uint32_t SOUND_WINDOW_MS = 50; // loudness = peak-to-peak over this window

DHT dht(DHT_PIN, DHT22);
uint32_t nextLineAt = 0;

// Peak-to-peak amplitude of the microphone module's output: a loudness figure in ADC counts
// (0…1023) that does not depend on the module's DC bias.
int soundPeakToPeak() {
  int lo = 1023, hi = 0;
  const uint32_t until = millis() + SOUND_WINDOW_MS;
  while ((int32_t)(millis() - until) < 0) {
    const int v = analogRead(SOUND_PIN);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    yield();  // keep the Wi-Fi stack and watchdog happy
  }
  return hi - lo;
}

void setup() {
  Serial.begin(115200);
  dht.begin();
  delay(2000);  // the DHT22 needs ~2 s after power-up, and at least 2 s between reads
  nextLineAt = millis();
}

void loop() {
  if ((int32_t)(millis() - nextLineAt) < 0) return;
  nextLineAt += PERIOD_MS;

  const float t = dht.readTemperature();   // °C; NaN on timeout or checksum error
  const float h = dht.readHumidity();      // %RH
  const int s = soundPeakToPeak();

  bool first = true;
  if (!isnan(t)) { Serial.print("temperature="); Serial.print(t, 1); first = false; }
  if (!isnan(h)) { if (!first) Serial.print(','); Serial.print("humidity="); Serial.print(h, 1); first = false; }
  if (!first) Serial.print(',');
  Serial.print("sound=");
  Serial.print(s);
  Serial.print("\r\n");
}
