/* The floor for a /proc sweep: open, read and close stat, statm and cmdline of every pid.
   Prints the median wall time of one sweep (ms), the process count, and the mean CPU time
   of one sweep (ms), over the given number of rounds. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double clock_ms(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long read_file(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  long n = read(fd, buf, size);
  close(fd);
  return n;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 20;
  static char buf[131072];
  char path[64];
  double *times = calloc(rounds, sizeof(double));
  long processes = 0;
  double cpu_start = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
  for (int r = 0; r < rounds; r++) {
    double start = clock_ms(CLOCK_MONOTONIC);
    DIR *proc = opendir("/proc");
    struct dirent *e;
    processes = 0;
    while ((e = readdir(proc)) != NULL) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
      if (read_file(path, buf, sizeof buf) < 0) continue;
      snprintf(path, sizeof path, "/proc/%s/statm", e->d_name);
      read_file(path, buf, sizeof buf);
      snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
      read_file(path, buf, sizeof buf);
      processes++;
    }
    closedir(proc);
    times[r] = clock_ms(CLOCK_MONOTONIC) - start;
  }
  double cpu_ms = (clock_ms(CLOCK_PROCESS_CPUTIME_ID) - cpu_start) / rounds;
  qsort(times, rounds, sizeof(double), cmp);
  printf("%.3f %ld %.3f\n", times[rounds / 2], processes, cpu_ms);
  return 0;
}
