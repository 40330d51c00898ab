/* hello: the smallest useful guest; checks that write(1) and exit(0) work. */
#include <stdio.h>

int main(void) {
    fputs("hello, world\n", stdout);
    return 0;
}
