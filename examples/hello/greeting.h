#define GREETING "hello from a build dry remembered"
