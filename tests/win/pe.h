/*
 * pe.h (Windows tests) - reading a loaded module's own PE headers.
 */
#ifndef SHARED_TEST_PE_H
#define SHARED_TEST_PE_H

#include <windows.h>

/* The section header named `name` (up to 8 bytes) of module m, or NULL. */
const IMAGE_SECTION_HEADER *pe_section(HMODULE m, const char *name);

/* The NT headers of module m. */
const IMAGE_NT_HEADERS *pe_nt(HMODULE m);

#endif /* SHARED_TEST_PE_H */
