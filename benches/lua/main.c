/* A tiny Lua interpreter: runs its first argument as a Lua chunk (default: a greeting). */
#include <stdio.h>
#include "lua.h"
#include "lauxlib.h"
#include "lualib.h"

int main(int argc, char **argv) {
    const char *chunk = argc > 1 ? argv[1] : "print('hello from ' .. _VERSION)";
    lua_State *L = luaL_newstate();
    if (L == NULL) return 1;
    luaL_openlibs(L);
    int status = luaL_dostring(L, chunk);
    if (status != LUA_OK) fprintf(stderr, "%s\n", lua_tostring(L, -1));
    lua_close(L);
    return status == LUA_OK ? 0 : 1;
}
