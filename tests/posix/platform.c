/*
 * platform.c (POSIX) - what the tests need to know about the POSIX backend:
 * the live region (the mapped shm object), the library's ELF exports, and a
 * private SHARED_INSTANCE per test run.
 */
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"

shared__region *live_region(void)
{
    static shared__region *r;
    shared_statistics st = {.size = sizeof st};
    if (r)
        return r;
    if (shared_stats(&st) != 0)
        return NULL;
    int fd = shm_open(st.object_name, O_RDWR, 0);
    if (fd < 0)
        return NULL;
    void *p = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    r = p == MAP_FAILED ? NULL : p;
    return r;
}

const char *library_path(void)
{
    static char path[4096];
    Dl_info info;
    if (!dladdr((void *)shared_set, &info) || !info.dli_fname)
        return NULL;
    snprintf(path, sizeof path, "%s", info.dli_fname);
    return path;
}

void platform_init(void)
{
    /* Children inherit the instance, so they share this run's segment and
     * no other test run's. */
    if (!getenv("SHARED_INSTANCE")) {
        char inst[32];
        snprintf(inst, sizeof inst, "test-%u", (unsigned)getpid());
        setenv("SHARED_INSTANCE", inst, 1);
    }
}

void platform_cleanup(void)
{
    shared_statistics st = {.size = sizeof st};
    proc_kill_all();
    if (shared_stats(&st) == 0 && st.object_name[0])
        shm_unlink(st.object_name);
}

/* Reads the library's ELF .dynsym from its file. */
int library_exports(char (*names)[EXPORT_NAME_MAX], int max)
{
    const char *path = library_path();
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *img = malloc((size_t)size);
    int n = -1;
    if (img && fread(img, 1, (size_t)size, f) == (size_t)size) {
        const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
        const Elf64_Shdr *sh = (const Elf64_Shdr *)(img + eh->e_shoff);
        n = 0;
        for (int s = 0; s < eh->e_shnum; s++) {
            if (sh[s].sh_type != SHT_DYNSYM)
                continue;
            const Elf64_Sym *sym = (const Elf64_Sym *)(img + sh[s].sh_offset);
            const char *str = (const char *)(img + sh[sh[s].sh_link].sh_offset);
            size_t count = sh[s].sh_size / sizeof *sym;
            for (size_t i = 0; i < count && n < max; i++) {
                const char *name = str + sym[i].st_name;
                if (ELF64_ST_BIND(sym[i].st_info) != STB_GLOBAL ||
                    sym[i].st_shndx == SHN_UNDEF ||
                    strncmp(name, "shared", 6) != 0)
                    continue;
                snprintf(names[n++], EXPORT_NAME_MAX, "%s", name);
            }
        }
    }
    free(img);
    fclose(f);
    return n;
}

typedef struct stack_job {
    void (*fn)(void *);
    void *arg;
} stack_job;

static void *stack_trampoline(void *p)
{
    stack_job *j = p;
    j->fn(j->arg);
    return NULL;
}

int run_on_stack(size_t stack_bytes, void (*fn)(void *), void *arg)
{
    stack_job j = {fn, arg};
    pthread_attr_t a;
    pthread_t t;
    int ok = pthread_attr_init(&a) == 0 &&
             pthread_attr_setstacksize(&a, stack_bytes) == 0 &&
             pthread_create(&t, &a, stack_trampoline, &j) == 0;
    pthread_attr_destroy(&a);
    return ok && pthread_join(t, NULL) == 0 ? 0 : -1;
}

int run_parallel(int n, void (*fn)(void *), void *const *args)
{
    pthread_t t[64];
    stack_job j[64];
    int started = 0, rc = 0;
    if (n < 0 || n > 64)
        return -1;
    for (; started < n; started++) {
        j[started] = (stack_job){fn, args[started]};
        if (pthread_create(&t[started], NULL, stack_trampoline, &j[started])) {
            rc = -1;
            break;
        }
    }
    for (int i = 0; i < started; i++)
        rc |= pthread_join(t[i], NULL) ? -1 : 0;
    return rc;
}
