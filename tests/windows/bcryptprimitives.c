/* Test-only stand-in for Windows' bcryptprimitives.dll, which wine 8 lacks: Rust's standard
   library takes its random numbers from ProcessPrng there (every Windows since 10 has it).
   This one asks BCryptGenRandom, which wine has. Never shipped. */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    return BCryptGenRandom(NULL, data, (ULONG)len, BCRYPT_USE_SYSTEM_PREFERRED_RNG) == 0;
}
