#!/bin/sh
# The same build as the Makefile, as a plain script: every object, the archive, the program.
set -eu
CC=${CC:-cc}
AR=${AR:-ar}
CFLAGS=${CFLAGS:-"-O2 -std=gnu99 -Wall -DLUA_COMPAT_5_3 -DLUA_USE_LINUX"}
objs=""
for c in $(ls *.c | grep -v '^main\.c$'); do
    o=${c%.c}.o
    $CC $CFLAGS -c "$c" -o "$o"
    objs="$objs $o"
done
$CC $CFLAGS -c main.c -o main.o
rm -f liblua.a
$AR rcs liblua.a $objs
$CC -o luamini main.o liblua.a -lm -ldl
