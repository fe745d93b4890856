#!/bin/sh
# A tiny build: compile, link, run. Under `dry build`, a second run replays everything.
set -e
echo "building at $(date +%T.%N)"
cc -c hello.c -o hello.o
cc hello.o -o hello
./hello
