// wavgen: writes a mono S16_LE WAV file of tone and silence segments for the sound scenario, so the
// guest needs no generator of its own. Levels are AES17 dBFS: a sine of amplitude 32768 × 10^(dB/20)
// reads that many dBFS (the microphone source's full scale is 32768).
//
//   wavgen OUT.wav RATE SEGMENT...
//   SEGMENT: HZ@DB:SECONDS (a sine starting at phase 0) or silence:SECONDS
//   wavgen /tmp/a.wav 16000 1000@-20:3 1000@-8:3 silence:3
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put32(FILE *f, uint32_t v) { for (int i = 0; i < 4; i++) fputc((v >> (8 * i)) & 0xff, f); }
static void put16(FILE *f, uint16_t v) { fputc(v & 0xff, f); fputc(v >> 8, f); }

static int usage(void) {
	fprintf(stderr, "usage: wavgen OUT.wav RATE SEGMENT...  (SEGMENT: HZ@DB:SECONDS or silence:SECONDS)\n");
	return 2;
}

int main(int argc, char **argv) {
	if (argc < 4) return usage();
	long rate = strtol(argv[2], NULL, 10);
	if (rate < 1000 || rate > 192000) { fprintf(stderr, "wavgen: bad rate '%s'\n", argv[2]); return 2; }
	// First pass: validate and count frames.
	double hz[64], db[64], secs[64];
	int n = argc - 3;
	if (n > 64) { fprintf(stderr, "wavgen: at most 64 segments\n"); return 2; }
	uint64_t frames = 0;
	for (int i = 0; i < n; i++) {
		const char *s = argv[3 + i];
		if (strncmp(s, "silence:", 8) == 0) {
			hz[i] = 0; db[i] = 0; secs[i] = atof(s + 8);
		} else if (sscanf(s, "%lf@%lf:%lf", &hz[i], &db[i], &secs[i]) != 3 || hz[i] <= 0 || db[i] > 0) {
			fprintf(stderr, "wavgen: bad segment '%s'\n", s); return 2;
		}
		if (secs[i] <= 0) { fprintf(stderr, "wavgen: bad duration in '%s'\n", s); return 2; }
		frames += (uint64_t)llround(secs[i] * rate);
	}
	FILE *f = fopen(argv[1], "wb");
	if (!f) { perror(argv[1]); return 1; }
	uint32_t bytes = (uint32_t)(frames * 2);
	fwrite("RIFF", 1, 4, f); put32(f, 36 + bytes); fwrite("WAVEfmt ", 1, 8, f);
	put32(f, 16); put16(f, 1); put16(f, 1); put32(f, (uint32_t)rate); put32(f, (uint32_t)rate * 2);
	put16(f, 2); put16(f, 16);
	fwrite("data", 1, 4, f); put32(f, bytes);
	for (int i = 0; i < n; i++) {
		long count = llround(secs[i] * rate);
		double amp = hz[i] > 0 ? 32768.0 * pow(10.0, db[i] / 20.0) : 0;
		for (long k = 0; k < count; k++) {
			double v = lround(amp * sin(2 * M_PI * hz[i] * (double)k / rate));
			if (v > 32767) v = 32767;
			if (v < -32768) v = -32768;
			put16(f, (uint16_t)(int16_t)v);
		}
	}
	if (fclose(f) != 0) { perror(argv[1]); return 1; }
	return 0;
}
