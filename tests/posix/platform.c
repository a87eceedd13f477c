/*
 * platform.c (POSIX) - child processes, files and the live region for the
 * tests: posix_spawn of /proc/self/exe, SIGKILL, waitpid with a deadline.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

extern char **environ;

#define MAX_PROCS 64

static pid_t g_procs[MAX_PROCS];

int proc_start(const char *role, const char *arg)
{
    for (int h = 0; h < MAX_PROCS; h++) {
        if (g_procs[h])
            continue;
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0)
            return -1;
        self[n] = '\0';
        char *argv[] = {self, "--role", (char *)role, (char *)arg, NULL};
        pid_t pid;
        if (posix_spawn(&pid, self, NULL, NULL, argv, environ) != 0)
            return -1;
        g_procs[h] = pid;
        return h;
    }
    return -1;
}

int proc_wait(int h, uint32_t timeout_ms)
{
    if (h < 0 || h >= MAX_PROCS || !g_procs[h])
        return -2;
    for (uint32_t waited = 0;; waited++) {
        int status;
        pid_t r = waitpid(g_procs[h], &status, WNOHANG);
        if (r == g_procs[h]) {
            g_procs[h] = 0;
            if (WIFEXITED(status))
                return WEXITSTATUS(status);
            return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        }
        if (r < 0 && errno != EINTR)
            return -2;
        if (waited >= timeout_ms)
            return -1;
        proc_sleep_ms(1);
    }
}

void proc_kill(int h)
{
    if (h < 0 || h >= MAX_PROCS || !g_procs[h])
        return;
    kill(g_procs[h], SIGKILL);
    proc_wait(h, 10000);
    g_procs[h] = 0;
}

void proc_kill_all(void)
{
    for (int h = 0; h < MAX_PROCS; h++)
        proc_kill(h);
}

void proc_sleep_ms(uint32_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

uint32_t proc_id(void)
{
    return (uint32_t)getpid();
}

int file_wait(const char *path, uint32_t timeout_ms)
{
    for (uint32_t waited = 0; waited <= timeout_ms; waited += 2) {
        if (access(path, F_OK) == 0)
            return 1;
        proc_sleep_ms(2);
    }
    return 0;
}

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

void platform_setenv(const char *name, const char *value)
{
    setenv(name, value, 1);
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
