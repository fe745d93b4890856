/* The kernel's floor for tracing a build with seccomp user notification, the mechanism dry's
 * tracer uses for its path probes (src/trace/notify.rs): runs argv[2..] under a filter that
 * notifies the same syscalls dry notifies (the stat family, access, readlink, close, and every
 * open; dry notifies only read-only opens and stops the others with ptrace, which costs more),
 * with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP as dry asks, and answers each notification at once.
 * No ptrace, no path read, no lookup, no record: whatever this costs over the untraced command,
 * any tracer that sees these syscalls through notifications costs at least as much.
 *
 * argv[1] is how far the supervisor goes per notification:
 *   block  a blocking SECCOMP_IOCTL_NOTIF_RECV, then SEND (CONTINUE): two ioctls
 *   poll   poll(2) on the listener first, as dry does (it also waits for SIGCHLD): three calls
 *   look   poll, RECV, process_vm_readv of the path argument, one statx of it, SEND: dry's
 *          minimum per probe
 * Options before the command: `-x close` leaves close to the kernel, `-x readlink` readlink and
 * readlinkat, `-x all` every syscall (the filter alone), to see what a class of notifications
 * costs on its own. `-t N` answers on N threads, each blocking in RECV (no poll, whatever the mode):
 * a notification wakes one of them on the tracee's CPU, so two tracees are answered at once.
 * `-w US` spins for US microseconds per notification before answering: a stand-in for a
 * tracer's own work per notification (dry's is ~20 µs on average, hashing included).
 * Prints "notifications N" on stderr when the command ends, and exits with its status. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif

static const int notified[] = {
    SYS_stat, SYS_lstat, SYS_newfstatat, SYS_statx, SYS_access, SYS_faccessat,
    SYS_faccessat2, SYS_readlink, SYS_readlinkat, SYS_close, SYS_open, SYS_openat,
};
#define N_NOTIFIED (sizeof notified / sizeof notified[0])

/* The syscalls that `-x` left out: 0 where notified[i] is notified. */
static int left_out[N_NOTIFIED];

static long notices;
static pid_t child;
static int listener, poll_first, look, threads = 1, work_us;

/* Waits for the command and ends the process with its status (the supervisor loop blocks in
 * RECV for ever once no tracee is left). */
static void *reaper(void *arg) {
    (void)arg;
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    fprintf(stderr, "notifications %ld\n", __atomic_load_n(&notices, __ATOMIC_RELAXED));
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static int install(void) {
    struct sock_filter prog[4 + N_NOTIFIED + 2];
    size_t n = 0, kept = 0;
    int nrs[N_NOTIFIED];
    for (size_t i = 0; i < N_NOTIFIED; i++)
        if (!left_out[i]) nrs[kept++] = notified[i];
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    for (size_t i = 0; i < kept; i++) {
        /* Jump to the notify return, which is (kept - i) instructions on. */
        prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nrs[i], kept - i, 0);
    }
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
    struct sock_fprog fprog = {.len = (unsigned short)n, .filter = prog};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return -1;
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fprog);
}

/* Marks the syscalls of `-x name` as left out; 0 if `name` is not one of them. */
static int leave_out(const char *name) {
    int close = strcmp(name, "close") == 0, readlink = strcmp(name, "readlink") == 0;
    int all = strcmp(name, "all") == 0;
    for (size_t i = 0; i < N_NOTIFIED; i++) {
        if (all || (close && notified[i] == SYS_close) ||
            (readlink && (notified[i] == SYS_readlink || notified[i] == SYS_readlinkat)))
            left_out[i] = 1;
    }
    return all || close || readlink;
}

/* Keeps the CPU busy for `us` microseconds (a stand-in for a tracer's own work). */
static void spin(int us) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do clock_gettime(CLOCK_MONOTONIC, &b);
    while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < us * 1000L);
}

/* Answers notifications for ever, as the mode says. */
static void *supervise(void *arg) {
    (void)arg;
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    char path[4096];
    struct statx sx;
    for (;;) {
        if (poll_first) {
            struct pollfd p = {.fd = listener, .events = POLLIN};
            if (poll(&p, 1, -1) < 0 && errno != EINTR) { perror("poll"); _exit(1); }
            if (p.revents & POLLHUP) pause(); /* the reaper ends the process */
        }
        memset(&req, 0, sizeof req);
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) continue;
        __atomic_add_fetch(&notices, 1, __ATOMIC_RELAXED);
        if (look) {
            int nr = req.data.nr;
            unsigned long addr = (nr == SYS_stat || nr == SYS_lstat || nr == SYS_access ||
                                  nr == SYS_readlink || nr == SYS_open)
                                     ? req.data.args[0] : req.data.args[1];
            struct iovec local = {path, sizeof path - 1}, remote = {(void *)addr, sizeof path - 1};
            if (nr != SYS_close && process_vm_readv(req.pid, &local, 1, &remote, 1, 0) > 0) {
                path[sizeof path - 1] = 0;
                statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx);
            }
        }
        if (work_us > 0) spin(work_us);
        memset(&resp, 0, sizeof resp);
        resp.id = req.id;
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    }
}

int main(int argc, char **argv) {
    int cmd = 2;
    while (cmd < argc && (strcmp(argv[cmd], "-x") == 0 || strcmp(argv[cmd], "-t") == 0 ||
                          strcmp(argv[cmd], "-w") == 0)) {
        if (cmd + 1 == argc) cmd = argc;
        else if (argv[cmd][1] == 't' && (threads = atoi(argv[cmd + 1])) < 1) cmd = argc;
        else if (argv[cmd][1] == 'w' && (work_us = atoi(argv[cmd + 1])) < 0) cmd = argc;
        else if (argv[cmd][1] == 'x' && !leave_out(argv[cmd + 1])) cmd = argc;
        else cmd += 2;
    }
    if (cmd >= argc || (strcmp(argv[1], "block") && strcmp(argv[1], "poll") && strcmp(argv[1], "look"))) {
        fprintf(stderr, "usage: notifyfloor block|poll|look [-t THREADS] [-w MICROSECONDS] [-x close|readlink|all]... COMMAND [ARG...]\n");
        return 2;
    }
    poll_first = strcmp(argv[1], "block") != 0 && threads == 1;
    look = strcmp(argv[1], "look") == 0;
    int pipefd[2], ack[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0 || pipe2(ack, O_CLOEXEC) < 0) { perror("pipe"); return 1; }
    child = fork();
    if (child < 0) { perror("fork"); return 1; }
    if (child == 0) {
        int fd = install();
        if (fd < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) { perror("seccomp"); _exit(127); }
        /* Neither write nor read is notified: the listener's number goes to the parent, which
         * takes it with pidfd_getfd and says so before the child goes on (an exec meanwhile
         * makes pidfd_getfd fail). */
        char go;
        if (write(pipefd[1], &fd, sizeof fd) != sizeof fd || read(ack[0], &go, 1) != 1) _exit(127);
        execvp(argv[cmd], argv + cmd);
        _exit(127);
    }
    int fd_in_child;
    if (read(pipefd[0], &fd_in_child, sizeof fd_in_child) != sizeof fd_in_child) {
        fprintf(stderr, "notifyfloor: the child could not install its filter\n");
        return 1;
    }
    int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
    listener = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, fd_in_child, 0);
    if (listener < 0) { perror("pidfd_getfd"); return 1; }
    ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, (__u64)SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
    if (write(ack[1], "", 1) != 1) { perror("write"); return 1; }
    pthread_t t;
    if (pthread_create(&t, NULL, reaper, NULL) != 0) { fprintf(stderr, "pthread_create\n"); return 1; }

    for (int i = 1; i < threads; i++) {
        if (pthread_create(&t, NULL, supervise, NULL) != 0) { fprintf(stderr, "pthread_create\n"); return 1; }
    }
    supervise(NULL);
    return 0;
}
