// The round trip of one cache line between CPU 0 and CPU 1, in ns: how far apart the two cores of
// this machine are. A training step hands each pass's output to the next across the cores, so its
// fraction of the sgemm rate follows this number (see the README's scaling notes).
// Run: gcc -O2 -pthread bench/c/pingpong.c -o /tmp/pingpong && /tmp/pingpong
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

enum { N = 200000 };
static _Atomic int flag __attribute__((aligned(64)));

static void pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static void *pong(void *arg) {
  (void)arg;
  pin(1);
  for (int i = 0; i < N; i++) {
    while (atomic_load_explicit(&flag, memory_order_acquire) != 1) {
    }
    atomic_store_explicit(&flag, 0, memory_order_release);
  }
  return 0;
}

int main(void) {
  pthread_t t;
  pin(0);
  pthread_create(&t, 0, pong, 0);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < N; i++) {
    atomic_store_explicit(&flag, 1, memory_order_release);
    while (atomic_load_explicit(&flag, memory_order_acquire) != 0) {
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  pthread_join(t, 0);
  printf("%.0f ns round trip\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / N);
  return 0;
}
