// guest-probe: the guest side of dataplane-probe, as one small static C program for a guest that has no
// .NET (the busybox initramfs scripts/guest/build-image makes). Byte-compatible with
// src/DataPlane.Probe/ProbeMessage.cs, so the .NET tools on the client node measure it:
//
//   guest-probe udp-responder PORT
//       Reflects each UDP probe (>= 52 bytes, "DATAPLANE-PROBE", kind 1) as an ack: kind 2, sequence + 1,
//       the responder's monotonic time at offset 44, everything else echoed, back to the sender.
//       (dataplane-probe udp-client measures it.)
//   guest-probe tcp-client ADDR PORT DURATION_MS [INTERVAL_MS=10] [CONNECT_TIMEOUT_MS=30000]
//       ADDR is IPv6 or IPv4 (a dual-stack guest runs one of each). Connects (retrying while the network is not there yet), sends a 32-byte message (kind 3, sequence,
//       monotonic send time) every interval on an absolute grid for the duration (or until SIGUSR1/SIGTERM),
//       then the END marker (kind 4), shuts down its side and waits up to 5 s for the server's close.
//       (dataplane-probe tcp-server measures it; its same-host delay figure is meaningless here, since
//       the guest's monotonic clock is not the host's.)
//
// Every line it prints starts with "DPGUEST " and reports are one JSON object on one line, so a driver can
// pick them out of the serial console. Exit codes as dataplane-probe: 0 ok, 1 error, 2 a send failed, 64 usage.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "DATAPLANE-PROBE"
#define MAGIC_LEN 15
#define KIND_OFFSET 15
#define KIND_PROBE 1
#define KIND_ACK 2
#define KIND_TCP_DATA 3
#define KIND_TCP_END 4
// UDP probe: 16 run id (4), 20 sequence (8), 28 client monotonic (8), 36 client unix (8), 44 responder monotonic (8).
#define UDP_SEQ_OFFSET 20
#define UDP_RESPONDER_MONO_OFFSET 44
#define UDP_LEN 52
// TCP message: 16 sequence (8), 24 client monotonic (8).
#define TCP_SEQ_OFFSET 16
#define TCP_MONO_OFFSET 24
#define TCP_LEN 32

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void put_be64(uint8_t *p, uint64_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

static uint64_t get_be64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("DPGUEST ", stdout);
  vprintf(fmt, ap);
  fputc('\n', stdout);
  fflush(stdout);
  va_end(ap);
}

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

// ---------------------------------------------------------------------------------------------------------
static int udp_responder(int port) {
  int fd = socket(AF_INET6, SOCK_DGRAM, 0);
  if (fd < 0) {
    say("udp-responder {\"error\":\"socket: %s\"}", strerror(errno));
    return 1;
  }
  int zero = 0, big = 1 << 20;
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = in6addr_any};
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    say("udp-responder {\"error\":\"bind port %d: %s\"}", port, strerror(errno));
    return 1;
  }
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  say("udp-responder {\"listening\":%d}", port);
  static uint8_t buf[65536];
  unsigned long long received = 0, reflected = 0, malformed = 0;
  while (!stop_requested) {
    struct sockaddr_storage from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
    if (n < 0) {
      if (errno == EINTR) continue;
      continue;  // e.g. an ICMP error for an earlier reply
    }
    int64_t now = mono_ns();
    received++;
    if (n < UDP_LEN || memcmp(buf, MAGIC, MAGIC_LEN) != 0 || buf[KIND_OFFSET] != KIND_PROBE) {
      malformed++;
      continue;
    }
    buf[KIND_OFFSET] = KIND_ACK;
    put_be64(buf + UDP_SEQ_OFFSET, get_be64(buf + UDP_SEQ_OFFSET) + 1);
    put_be64(buf + UDP_RESPONDER_MONO_OFFSET, (uint64_t)now);
    if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fromlen) == n) reflected++;
  }
  say("udp-responder {\"received\":%llu,\"reflected\":%llu,\"malformed\":%llu}", received, reflected, malformed);
  return 0;
}

// ---------------------------------------------------------------------------------------------------------
// One non-blocking connect attempt with a deadline. Returns the connected socket or -1 (errno set).
static int connect_once(const struct sockaddr_storage *target, socklen_t target_len, int timeout_ms) {
  int fd = socket(target->ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (connect(fd, (const struct sockaddr *)target, target_len) == 0) goto connected;
  if (errno != EINPROGRESS) goto fail;
  struct pollfd p = {.fd = fd, .events = POLLOUT};
  int r = poll(&p, 1, timeout_ms);
  if (r == 0) {
    errno = ETIMEDOUT;
    goto fail;
  }
  if (r < 0) goto fail;
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) {
    errno = err;
    goto fail;
  }
connected:;
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
fail:;
  int saved = errno;
  close(fd);
  errno = saved;
  return -1;
}

static int send_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

static void write_message(uint8_t *m, int kind, uint64_t seq, int64_t mono) {
  memcpy(m, MAGIC, MAGIC_LEN);
  m[KIND_OFFSET] = (uint8_t)kind;
  put_be64(m + TCP_SEQ_OFFSET, seq);
  put_be64(m + TCP_MONO_OFFSET, (uint64_t)mono);
}

static void sleep_until(int64_t t) {
  struct timespec ts = {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop_requested) {
  }
}

static int tcp_client(const char *addr, int port, long duration_ms, long interval_ms, long connect_timeout_ms) {
  struct sockaddr_storage target = {0};
  socklen_t target_len;
  struct sockaddr_in6 *t6 = (struct sockaddr_in6 *)&target;
  struct sockaddr_in *t4 = (struct sockaddr_in *)&target;
  if (inet_pton(AF_INET6, addr, &t6->sin6_addr) == 1) {
    t6->sin6_family = AF_INET6;
    t6->sin6_port = htons((uint16_t)port);
    target_len = sizeof *t6;
  } else if (inet_pton(AF_INET, addr, &t4->sin_addr) == 1) {
    t4->sin_family = AF_INET;
    t4->sin_port = htons((uint16_t)port);
    target_len = sizeof *t4;
  } else {
    say("tcp-client {\"completed\":false,\"error\":\"bad IPv6 or IPv4 address %s\"}", addr);
    return 64;
  }
  int64_t t0 = mono_ns(), deadline = t0 + (int64_t)connect_timeout_ms * 1000000;
  int fd = -1, attempts = 0;
  const char *last_error = "timeout";
  while (fd < 0) {
    attempts++;
    int64_t left = (deadline - mono_ns()) / 1000000;
    if (left <= 0) break;
    fd = connect_once(&target, target_len, left < 3000 ? (int)left : 3000);
    if (fd >= 0) break;
    last_error = strerror(errno);
    // Not there yet (tentative address, no route, server not listening): try again shortly.
    usleep(200 * 1000);
  }
  if (fd < 0) {
    say("tcp-client {\"completed\":false,\"target\":\"%s\",\"port\":%d,\"attempts\":%d,\"error\":\"connect: %s\"}", addr, port,
        attempts, last_error);
    return 1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int64_t connected = mono_ns();
  // SIGUSR1/SIGTERM end the run early but in order (END marker, close), so a driver can run it "until told".
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  say("tcp-client {\"connected\":true,\"pid\":%d,\"target\":\"%s\",\"port\":%d,\"attempts\":%d,\"connectMs\":%.1f}", (int)getpid(),
      addr, port, attempts, (connected - t0) / 1e6);

  uint8_t m[TCP_LEN];
  int64_t interval = interval_ms * 1000000, span = duration_ms * 1000000;
  int64_t start = mono_ns(), next = start, max_gap = 0, last = 0;
  uint64_t seq = 0;
  long late = 0, resyncs = 0;
  const char *error = NULL;
  char errbuf[160];
  while (!stop_requested && next - start < span) {
    int64_t now = mono_ns();
    if (now < next) {
      sleep_until(next);
      if (stop_requested) break;
      now = mono_ns();
    } else if (now - next > interval) {
      // Stalled for a whole interval (e.g. the VM was paused): restart the grid rather than burst.
      resyncs++;
      next = now;
    }
    write_message(m, KIND_TCP_DATA, seq, now);
    if (send_all(fd, m, TCP_LEN) < 0) {
      snprintf(errbuf, sizeof errbuf, "send failed after %llu messages: %s", (unsigned long long)seq, strerror(errno));
      error = errbuf;
      break;
    }
    if (seq > 0) {
      if (now - last > max_gap) max_gap = now - last;
      if (now - last > interval + 1000000) late++;
    }
    last = now;
    seq++;
    next += interval;
  }
  if (!error) {
    write_message(m, KIND_TCP_END, seq, mono_ns());
    if (send_all(fd, m, TCP_LEN) < 0) {
      snprintf(errbuf, sizeof errbuf, "send of END failed: %s", strerror(errno));
      error = errbuf;
    } else {
      shutdown(fd, SHUT_WR);
      struct timeval tv = {.tv_sec = 5};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      uint8_t sink[256];
      while (recv(fd, sink, sizeof sink, 0) > 0) {
      }
    }
  }
  close(fd);
  say("tcp-client {\"completed\":%s,\"target\":\"%s\",\"port\":%d,\"sent\":%llu,\"durationMs\":%.1f,\"maxSendGapMs\":%.1f,"
      "\"lateSends\":%ld,\"resyncs\":%ld,\"stopped\":%s,\"error\":%s%s%s}",
      error ? "false" : "true", addr, port, (unsigned long long)seq, (mono_ns() - start) / 1e6, max_gap / 1e6, late, resyncs,
      stop_requested ? "true" : "false", error ? "\"" : "", error ? error : "null", error ? "\"" : "");
  return error ? 2 : 0;
}

static int usage(void) {
  fprintf(stderr,
          "usage: guest-probe udp-responder PORT\n"
          "       guest-probe tcp-client ADDR PORT DURATION_MS [INTERVAL_MS=10] [CONNECT_TIMEOUT_MS=30000]\n");
  return 64;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 3 && strcmp(argv[1], "udp-responder") == 0) {
    int port = atoi(argv[2]);
    if (port <= 0 || port > 65535) return usage();
    return udp_responder(port);
  }
  if (argc >= 5 && strcmp(argv[1], "tcp-client") == 0) {
    int port = atoi(argv[3]);
    long duration = atol(argv[4]), interval = argc > 5 ? atol(argv[5]) : 10, connect_timeout = argc > 6 ? atol(argv[6]) : 30000;
    if (port <= 0 || port > 65535 || duration <= 0 || interval <= 0 || connect_timeout <= 0) return usage();
    return tcp_client(argv[2], port, duration, interval, connect_timeout);
  }
  return usage();
}
