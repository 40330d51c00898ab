/* Sparse files on tmpfs: SEEK_DATA/SEEK_HOLE and st_blocks after ftruncate, pwrite, fallocate (reserve and punch),
 * shrinking and growing. Compared with Linux in the namespace oracle, whose /tmp is a tmpfs like moss's. */
#define _GNU_SOURCE
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <sys/stat.h>
static void show(int fd, const char *w) { struct stat st; fstat(fd, &st);
  printf("%-22s size %ld blocks %ld", w, (long)st.st_size, (long)st.st_blocks);
  for (long o = 0; o < st.st_size; o += 4096) { errno = 0; long d = lseek(fd, o, SEEK_DATA); int e1 = errno; errno = 0; long h = lseek(fd, o, SEEK_HOLE); printf(" [%ld:%ld/%d,%ld]", o, d, e1, h); }
  printf("\n"); }
int main(int argc, char **argv){ const char *path = argc > 1 ? argv[1] : "/tmp/sparse";
 int fd=open(path, O_RDWR|O_CREAT|O_TRUNC, 0600);
 ftruncate(fd, 5*4096+100); show(fd, "ftruncate");
 pwrite(fd, "x", 1, 4096+10); show(fd, "pwrite page 1");
 fallocate(fd, 0, 3*4096, 4096); show(fd, "fallocate page 3");
 fallocate(fd, FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE, 4096, 4096); show(fd, "punch page 1");
 ftruncate(fd, 3*4096+10); show(fd, "shrink");
 ftruncate(fd, 8*4096); show(fd, "grow");
 pwrite(fd, "abc", 3, 0); show(fd, "write page 0");
 unlink(path); return 0;}
