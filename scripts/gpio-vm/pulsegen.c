// pulsegen: drives one gpio-sim line from inside the test VM by writing its
// sysfs `pull` attribute with microsecond timing.
//
//   pulsegen dht   --line-dir DIR --model dht22|dht11 --frames SPEC
//                  [--jitter-us J] [--seed S] [--response-us 60] [--wait-s 30]
//   pulsegen edges --line-dir DIR --bursts NxH/L[,NxH/L...]
//                  [--gap-ms 500] [--start-delay-ms 0] [--jitter-us J] [--seed S]
//
// DIR is /sys/devices/platform/gpio-sim.0/gpiochipN/sim_gpioX.
// Timing (see FACTS.md): sleep with clock_nanosleep until 10 us before each
// deadline, then spin; run at SCHED_FIFO 10. A busybox shell loop cannot do
// this: every usleep forks and overshoots by hundreds of microseconds.
// Deadlines are absolute, so errors do not accumulate over a frame or burst.
//
// Exit status: 0 done, 1 I/O or system error, 2 usage, 3 no start pulse
// within --wait-s.
// Build: gcc -O2 -static -o pulsegen pulsegen.c

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_US 1000LL
#define NS_PER_S 1000000000LL
#define SPIN_NS (10 * NS_PER_US)

static int pull_fd = -1, value_fd = -1;
static long long jitter_ns;
static uint64_t rng_state;

static void die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("pulsegen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(code);
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void sleep_abs(long long t)
{
	struct timespec ts = { .tv_sec = t / NS_PER_S, .tv_nsec = t % NS_PER_S };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

// Sleep most of the way, spin the rest: wake-up latency never lands late.
static void wait_until(long long deadline)
{
	if (deadline - now_ns() > SPIN_NS)
		sleep_abs(deadline - SPIN_NS);
	while (now_ns() < deadline)
		;
}

// splitmix64: seeded and libc-independent, so a seed means the same
// jitter sequence everywhere.
static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

// Nominal width plus uniform jitter in [-J, +J], never below 1 us.
static long long width_ns(long long nominal_us)
{
	long long w = nominal_us * NS_PER_US;
	if (jitter_ns > 0)
		w += (long long)(rng_next() % (uint64_t)(2 * jitter_ns + 1)) - jitter_ns;
	return w < NS_PER_US ? NS_PER_US : w;
}

static void set_level(int high)
{
	// The simulated input level is the line's pull; the fd stays open so
	// each edge costs one pwrite.
	const char *s = high ? "pull-up" : "pull-down";
	if (pwrite(pull_fd, s, strlen(s), 0) < 0)
		die(1, "write pull: %s", strerror(errno));
}

static int read_level(void)
{
	char c[4];
	ssize_t n = pread(value_fd, c, sizeof c, 0);
	if (n < 1)
		die(1, "read value: %s", n < 0 ? strerror(errno) : "empty");
	return c[0] == '1';
}

static void open_line(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/pull", dir);
	pull_fd = open(path, O_WRONLY);
	if (pull_fd < 0)
		die(1, "open %s: %s", path, strerror(errno));
	snprintf(path, sizeof path, "%s/value", dir);
	value_fd = open(path, O_RDONLY);
	if (value_fd < 0)
		die(1, "open %s: %s", path, strerror(errno));
}

static void go_realtime(void)
{
	struct sched_param sp = { .sched_priority = 10 };
	if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0)
		fprintf(stderr, "pulsegen: warning: SCHED_FIFO: %s\n", strerror(errno));
	if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0)
		fprintf(stderr, "pulsegen: warning: mlockall: %s\n", strerror(errno));
}

static long long parse_ll(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		die(2, "%s: not an integer: '%s'", opt, s);
	return v;
}

// ---------------------------------------------------------------- dht

enum kind { K_VALID, K_BADSUM, K_SILENT, K_SHORT };
static const char *kind_name[] = { "valid", "badsum", "silent", "short" };

struct frame {
	enum kind kind;
	double t, h;
	uint8_t b[5];
};

static void encode(struct frame *f, int dht11)
{
	long t10 = lround(fabs(f->t) * 10), h10 = lround(f->h * 10);
	int neg = f->t < 0;
	if (h10 < 0 || h10 > 0xffff || t10 > 0x7fff)
		die(2, "value out of range: %.1f/%.1f", f->t, f->h);
	if (dht11) {
		// humidity int, humidity tenths, temp int, temp tenths (sign in bit 7)
		if (h10 / 10 > 255 || t10 / 10 > 255)
			die(2, "value out of range for dht11: %.1f/%.1f", f->t, f->h);
		f->b[0] = (uint8_t)(h10 / 10);
		f->b[1] = (uint8_t)(h10 % 10);
		f->b[2] = (uint8_t)(t10 / 10);
		f->b[3] = (uint8_t)((t10 % 10) | (neg ? 0x80 : 0));
	} else {
		// humidity*10 (16 bit), temperature*10 (16 bit, sign in bit 15)
		f->b[0] = (uint8_t)(h10 >> 8);
		f->b[1] = (uint8_t)(h10 & 0xff);
		f->b[2] = (uint8_t)((t10 >> 8) | (neg ? 0x80 : 0));
		f->b[3] = (uint8_t)(t10 & 0xff);
	}
	f->b[4] = (uint8_t)(f->b[0] + f->b[1] + f->b[2] + f->b[3]);
	if (f->kind == K_BADSUM)
		f->b[4]++;
}

static void parse_th(const char *s, struct frame *f)
{
	char *end;
	f->t = strtod(s, &end);
	if (end == s || *end != '/')
		die(2, "bad frame '%s' (want T/H)", s);
	const char *hs = end + 1;
	f->h = strtod(hs, &end);
	if (end == hs || *end)
		die(2, "bad frame '%s' (want T/H)", s);
}

static int parse_frames(char *spec, struct frame **out, int dht11)
{
	int n = 0, cap = 0;
	struct frame *v = NULL;
	for (char *save = NULL, *tok = strtok_r(spec, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = realloc(v, (size_t)cap * sizeof *v);
			if (!v)
				die(1, "out of memory");
		}
		struct frame *f = &v[n++];
		memset(f, 0, sizeof *f);
		if (strcmp(tok, "silent") == 0) {
			f->kind = K_SILENT;
			continue;
		}
		if (strncmp(tok, "badsum:", 7) == 0) {
			f->kind = K_BADSUM;
			tok += 7;
		} else if (strncmp(tok, "short:", 6) == 0) {
			f->kind = K_SHORT;
			tok += 6;
		} else {
			f->kind = K_VALID;
		}
		parse_th(tok, f);
		encode(f, dht11);
	}
	if (n == 0)
		die(2, "--frames: no frames");
	*out = v;
	return n;
}

// Poll `value` until it reads `level`. Sleeping between polls matters: on
// one vCPU a spinning SCHED_FIFO task would starve the host under test.
static int wait_level(int level, long long give_up, long long poll_ns)
{
	while (read_level() != level) {
		long long t = now_ns();
		if (t >= give_up)
			return -1;
		sleep_abs(t + poll_ns);
	}
	return 0;
}

static void send_bits(const uint8_t *b, int nbits, long long *t)
{
	for (int i = 0; i < nbits; i++) {
		int bit = (b[i / 8] >> (7 - i % 8)) & 1;
		wait_until(*t);
		set_level(0);
		*t += width_ns(50);
		wait_until(*t);
		set_level(1);
		*t += width_ns(bit ? 70 : 27);
	}
}

static int run_dht(int argc, char **argv)
{
	const char *dir = NULL, *model = NULL;
	char *frames = NULL;
	long long jitter_us = 0, seed = 1, response_us = 60, wait_s = 30;
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i];
		if (i + 1 >= argc)
			die(2, "%s: missing value", o);
		const char *v = argv[++i];
		if (!strcmp(o, "--line-dir")) dir = v;
		else if (!strcmp(o, "--model")) model = v;
		else if (!strcmp(o, "--frames")) frames = strdup(v);
		else if (!strcmp(o, "--jitter-us")) jitter_us = parse_ll(o, v);
		else if (!strcmp(o, "--seed")) seed = parse_ll(o, v);
		else if (!strcmp(o, "--response-us")) response_us = parse_ll(o, v);
		else if (!strcmp(o, "--wait-s")) wait_s = parse_ll(o, v);
		else die(2, "dht: unknown option %s", o);
	}
	if (!dir || !frames)
		die(2, "dht: --line-dir and --frames are required");
	if (!model)
		model = "dht22";
	int dht11 = !strcmp(model, "dht11");
	if (!dht11 && strcmp(model, "dht22"))
		die(2, "--model: dht22 or dht11, not '%s'", model);
	if (jitter_us < 0 || response_us < 0 || wait_s <= 0)
		die(2, "negative jitter/response or non-positive wait");
	jitter_ns = jitter_us * NS_PER_US;
	rng_state = (uint64_t)seed;

	struct frame *fr;
	int n = parse_frames(frames, &fr, dht11);
	open_line(dir);
	go_realtime();
	set_level(1); // idle high, as the sensor's pull-up leaves it

	for (int k = 0; k < n; k++) {
		struct frame *f = &fr[k];
		long long give_up = now_ns() + wait_s * NS_PER_S;
		// Start pulse: the host drives low (>= 0.8 ms for a DHT22), then
		// releases and the line goes back to our pull-up. Polling for the low
		// every 200 us keeps an idle guest idle (icount then skips time fast);
		// the release is polled every 5 us because the response is timed from it.
		if (wait_level(0, give_up, 200 * NS_PER_US) != 0)
			die(3, "frame %d: no start pulse within %llds", k + 1, wait_s);
		if (wait_level(1, give_up, 5 * NS_PER_US) != 0)
			die(3, "frame %d: line not released within %llds", k + 1, wait_s);
		long long t = now_ns() + response_us * NS_PER_US;
		if (f->kind != K_SILENT) {
			wait_until(t);
			set_level(0); // response: low 80, high 80
			t += width_ns(80);
			wait_until(t);
			set_level(1);
			t += width_ns(80);
			send_bits(f->b, f->kind == K_SHORT ? 20 : 40, &t);
			if (f->kind != K_SHORT) {
				wait_until(t);
				set_level(0); // end of frame: low 50, then idle high
				t += width_ns(50);
				wait_until(t);
				set_level(1);
			} else {
				wait_until(t); // the 20th bit's high ends the frame
			}
		}
		if (f->kind == K_SILENT)
			fprintf(stderr, "pulsegen: frame %d silent sent\n", k + 1);
		else
			fprintf(stderr,
				"pulsegen: frame %d %s sent %02x %02x %02x %02x %02x t=%.1f h=%.1f\n",
				k + 1, kind_name[f->kind], f->b[0], f->b[1], f->b[2],
				f->b[3], f->b[4], f->t, f->h);
	}
	return 0;
}

// ---------------------------------------------------------------- edges

static int run_edges(int argc, char **argv)
{
	const char *dir = NULL;
	char *bursts = NULL;
	long long gap_ms = 500, delay_ms = 0, jitter_us = 0, seed = 1;
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i];
		if (i + 1 >= argc)
			die(2, "%s: missing value", o);
		const char *v = argv[++i];
		if (!strcmp(o, "--line-dir")) dir = v;
		else if (!strcmp(o, "--bursts")) bursts = strdup(v);
		else if (!strcmp(o, "--gap-ms")) gap_ms = parse_ll(o, v);
		else if (!strcmp(o, "--start-delay-ms")) delay_ms = parse_ll(o, v);
		else if (!strcmp(o, "--jitter-us")) jitter_us = parse_ll(o, v);
		else if (!strcmp(o, "--seed")) seed = parse_ll(o, v);
		else die(2, "edges: unknown option %s", o);
	}
	if (!dir || !bursts)
		die(2, "edges: --line-dir and --bursts are required");
	if (gap_ms < 0 || delay_ms < 0 || jitter_us < 0)
		die(2, "negative gap, delay or jitter");
	jitter_ns = jitter_us * NS_PER_US;
	rng_state = (uint64_t)seed;

	// Parse everything before touching the line: a typo must not leave a
	// half-sent burst.
	struct { long long n, hi, lo; } b[256];
	int nb = 0;
	for (char *save = NULL, *tok = strtok_r(bursts, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (nb == 256)
			die(2, "--bursts: at most 256 bursts");
		char tail;
		if (sscanf(tok, "%lldx%lld/%lld%c", &b[nb].n, &b[nb].hi, &b[nb].lo, &tail) != 3 ||
		    b[nb].n < 0 || b[nb].hi < 1 || b[nb].lo < 1)
			die(2, "bad burst '%s' (want NxHIGH_US/LOW_US)", tok);
		nb++;
	}
	if (nb == 0)
		die(2, "--bursts: no bursts");

	open_line(dir);
	go_realtime();
	set_level(0);
	long long t = now_ns() + delay_ms * 1000 * NS_PER_US;
	long long rising = 0, high_ns = 0;
	for (int k = 0; k < nb; k++) {
		if (k > 0)
			t += gap_ms * 1000 * NS_PER_US;
		for (long long i = 0; i < b[k].n; i++) {
			wait_until(t);
			set_level(1);
			rising++;
			long long w = width_ns(b[k].hi);
			high_ns += w;
			t += w;
			wait_until(t);
			set_level(0);
			t += width_ns(b[k].lo);
		}
	}
	wait_until(t);
	fprintf(stderr, "pulsegen: edges rising=%lld high_us=%lld\n", rising,
		(high_ns + NS_PER_US / 2) / NS_PER_US);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stderr, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "dht"))
		return run_dht(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "edges"))
		return run_edges(argc, argv);
	fprintf(stderr,
		"usage: pulsegen dht --line-dir DIR [--model dht22|dht11] --frames SPEC\n"
		"                    [--jitter-us J] [--seed S] [--response-us 60] [--wait-s 30]\n"
		"       pulsegen edges --line-dir DIR --bursts NxH/L[,...] [--gap-ms 500]\n"
		"                    [--start-delay-ms D] [--jitter-us J] [--seed S]\n"
		"SPEC: comma separated T/H | badsum:T/H | short:T/H | silent\n");
	return 2;
}
