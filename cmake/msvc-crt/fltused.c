/*
 * fltused.c - `_fltused`, which the compiler references from every object
 * that uses floating point (MSVC's runtime defines it), for the clang-cl
 * toolchain on Wine's ucrtbase.
 */
int _fltused = 0x9875;
