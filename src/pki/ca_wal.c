/*
 * ca_wal.c — WAL checkpoints of the CA store on a thread of their own.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that pushed the WAL
 * past 1,000 pages, on the committing thread: it reads the WAL's pages back,
 * writes them into ca.db and syncs it, while the thread that issues
 * certificates (the serial part of the signing pipeline) waits. Here the
 * committing connection only signals a checkpointer thread, which runs a
 * PASSIVE checkpoint on a second connection of its own: SQLite's documented
 * way to checkpoint without blocking the writer (it copies what is
 * committed and never waits for readers or writers). Durability is
 * unchanged: every COMMIT still syncs the WAL (synchronous = FULL) before
 * it returns; the checkpoint only moves committed pages into the database
 * file, and syncs it as before.
 * The thread starts the first time the WAL passes the threshold (most
 * commands never start it) and stops in bacsc_ca_close, before the store's
 * own connection closes (which, as the last connection, checkpoints what is
 * left and removes the WAL as before). If the thread or its connection
 * cannot be had, the committing connection checkpoints itself as SQLite
 * would have.
 */
#include "ca_internal.h"

#include "bacsc/error.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define CA_WAL_PAGES 1000 /* SQLite's default automatic checkpoint threshold */

struct ca_wal {
    char *path;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t tid;
    bool running, wanted, stop, failed;
};

static void *ckpt_main(void *arg)
{
    ca_wal *w = arg;
#ifdef __linux__
    prctl(PR_SET_NAME, "bacsc-ckpt", 0, 0, 0); /* named for ps, top and the tests */
#endif
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(w->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        db = NULL;
    }
    pthread_mutex_lock(&w->mu);
    w->failed = db == NULL;
    for (;;) {
        while (!w->wanted && !w->stop && !w->failed)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop || w->failed)
            break;
        w->wanted = false;
        pthread_mutex_unlock(&w->mu);
        /* SQLITE_BUSY (another checkpoint under way) is fine: it is done. */
        sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    sqlite3_close(db);
    return NULL;
}

/* Start the thread (asynchronous signals blocked in it). Under w->mu. */
static bool ckpt_start(ca_wal *w)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    w->running = pthread_create(&w->tid, NULL, ckpt_main, w) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    w->failed = !w->running;
    return w->running;
}

/* sqlite3_wal_hook: after each commit, with the WAL's size in pages. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    ca_wal *w = arg;
    if (pages < CA_WAL_PAGES)
        return SQLITE_OK;
    pthread_mutex_lock(&w->mu);
    bool handed = !w->failed && (w->running || ckpt_start(w));
    if (handed) {
        w->wanted = true;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    if (!handed) /* what SQLite's automatic checkpoint does */
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

int ca_wal_start(bacsc_ca *ca, const char *path)
{
    ca_wal *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return BACSC_ERR_NOMEM; /* SQLite's automatic checkpoint stays */
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    ca->wal = w;
    sqlite3_wal_hook(ca->db, wal_hook, w);
    return BACSC_OK;
}

void ca_wal_stop(bacsc_ca *ca)
{
    ca_wal *w = ca->wal;
    if (!w)
        return;
    if (ca->db) /* back to SQLite's own: no commit may signal a stopped thread */
        sqlite3_wal_autocheckpoint(ca->db, CA_WAL_PAGES);
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    bool join = w->running;
    pthread_mutex_unlock(&w->mu);
    if (join)
        pthread_join(w->tid, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->path);
    free(w);
    ca->wal = NULL;
}
