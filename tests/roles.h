/*
 * roles.h - the child roles of the multi-process tests. A test starts one
 * with role_start(NAME, ARG); the child runs the function and exits with its
 * result: 0 success, 1 a check failed, 2 bad argument, 3 ran out of time,
 * 100 + n a shared_* call failed with -n.
 */
#ifndef SHARED_ROLES_H
#define SHARED_ROLES_H

#include <stddef.h>
#include <stdint.h>

#define ROLE_FAIL(rc) (100 - (rc))

/* Splits "KEY:N" (rest NULL) or "KEY:N:REST" into its parts; 0 or -1. */
int role_arg(const char *arg, char *key, int64_t *n, char *rest,
             size_t rest_cap);

/* Names KEY.a and KEY.b (buffers of SHARED_KEY_MAX + 1); -1 if too long. */
int role_pair_keys(const char *key, char *a, char *b);

/* The last whole uint64_t record of an acknowledgement file (0 if none):
 * a killed writer may leave a partial record behind, which is ignored. */
uint64_t role_last_ack(const char *path);

/* test_contention.c */
int role_version(const char *arg);     /* KEY:V  key has version V */
int role_adder(const char *arg);       /* KEY:K  K x shared_add(KEY, 1) */
int role_cas_inc(const char *arg);     /* KEY:K  K CAS increments, retrying */
int role_pair_writer(const char *arg); /* KEY:N  N tx writing KEY.a = KEY.b */
int role_pair_reader(const char *arg); /* KEY:N  N locked reads: a == b */

/* test_wait.c */
int role_later(const char *arg);  /* KEY:MS:VALUE  set (or "-": del) later */
int role_waiter(const char *arg); /* KEY:SEEN  wait for a new version */
int role_ponger(const char *arg); /* KEY:N  answer KEY.a in KEY.b, N times */

/* test_channel.c */
int role_producer(const char *arg); /* CH:K:ID,ACKFILE  send K messages */
int role_consumer(const char *arg); /* CH:0:FILE  receive until "stop" */
int role_recv_one(const char *arg); /* CH:MS:WANT  receive WANT */

/* test_peers.c */
int role_stay(const char *arg); /* MARKER  attach, say so, stay */

/* posix/test_robust.c */
int role_fork_attach(const char *arg); /* fork while a thread attaches */
/* test_named.c */
int role_named(const char *arg);          /* FLAGS|NAME|CMD|ARG  see there */
int role_named_retry(const char *arg);    /* NAME|OTHER  open after a failure */
int role_named_race(const char *arg);     /* NAME  8 threads open it at once */
int role_named_env_open(const char *arg); /* NAME  open after env failed */
int role_named_noleak(const char *arg);   /* NAME  failed open keeps no fd */
int role_named_linked(const char *arg);   /* NAME|OPENED|CHECK  see there */

/* test_stack.c */
int role_tx_big(const char *arg); /* MARKER  die in a tx with a big value */

/* roles.c: creates MARKER, then stays until killed (returns 3 after a
 * minute). The tail of every role that parks for its test. */
int role_park(const char *marker);

/* test_torture.c */
int role_churn(const char *arg);        /* KEY:0:ACKFILE  write until killed */
int role_verify_churn(const char *arg); /* KEY:0:ACKFILE  check what is left */

/* tests/win/test_identity.c */
int role_wait_threads(const char *arg); /* STEP:N  N threads wait, stay */
/* tests/win/test_named_win.c */
int role_nw_ro_view(const char *arg);  /* NAME|FLAGS  read-only view check */
int role_xbit_driver(const char *arg); /* EXE|BITS  exchange with a peer */
int role_xbit_peer(const char *arg);   /* NAME  the driver's other side */
/* test_threads.c */
int role_threads(const char *arg); /* PREFIX:ROUNDS  threads doing it all */

/* test_hostile.c */
int role_hostile_user(const char *arg); /* PREFIX:MS:ID  API with an oracle */
int role_scribble(const char *arg);     /* SEED:MS  random bytes, live state */

/* Churn values: self-checking, numbered. */
uint32_t churn_value(unsigned char *buf, uint64_t i);
int churn_check(const unsigned char *buf, uint32_t len, uint64_t *i);

#endif /* SHARED_ROLES_H */
