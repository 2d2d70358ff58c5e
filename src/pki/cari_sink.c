/*
 * cari_sink.c — a libzip write source over a file descriptor, buffered.
 *
 * libzip's own file source writes through stdio and, for every entry, seeks
 * back to rewrite the entry's local header once its size and CRC are known
 * and then forward again: each seek flushes stdio, so a 10,000-entry
 * response cost ~50,000 system calls (write, lseek) on the thread that
 * makes it. This source keeps a window of the file in memory
 * (cari_sink_window octets from `base`): writes land in the window, a seek back into it costs
 * nothing, and the window is written out with one pwrite when it is full or
 * a write falls outside it. libzip still makes every octet of the archive;
 * the file's content is what it would write through its own source. The
 * caller owns the descriptor (made, synced, renamed and closed by it).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zip.h>

#include "cari_internal.h"

size_t cari_sink_window = 1u << 20;

typedef struct fd_sink {
    int fd;
    unsigned char *buf;
    size_t window; /* size of buf */
    uint64_t base; /* file offset of buf[0] */
    size_t len;    /* octets of the window written so far */
    uint64_t pos;  /* write position */
    uint64_t end;  /* file size */
    zip_error_t error;
} fd_sink;

/* Write the window out; it then starts at the write position. */
static int sink_flush(fd_sink *s)
{
    size_t off = 0;
    while (off < s->len) {
        ssize_t w = pwrite(s->fd, s->buf + off, s->len - off, (off_t)(s->base + off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            zip_error_set(&s->error, ZIP_ER_WRITE, w < 0 ? errno : EIO);
            return -1;
        }
        off += (size_t)w;
    }
    s->base = s->pos;
    s->len = 0;
    return 0;
}

static zip_int64_t sink_write(fd_sink *s, const unsigned char *data, zip_uint64_t n)
{
    zip_uint64_t done = 0;
    if ((s->pos < s->base || s->pos > s->base + s->len) && sink_flush(s) != 0)
        return -1; /* outside the window: it moves to the write position */
    while (done < n) {
        size_t at = (size_t)(s->pos - s->base);
        if (at == s->window) {
            if (sink_flush(s) != 0)
                return -1;
            at = 0;
        }
        size_t k = s->window - at;
        if (k > n - done)
            k = (size_t)(n - done);
        memcpy(s->buf + at, data + done, k);
        done += k;
        s->pos += k;
        if (s->pos - s->base > s->len)
            s->len = (size_t)(s->pos - s->base);
    }
    if (s->pos > s->end)
        s->end = s->pos;
    return (zip_int64_t)n;
}

static zip_int64_t sink_seek(fd_sink *s, void *data, zip_uint64_t len)
{
    zip_source_args_seek_t *a = ZIP_SOURCE_GET_ARGS(zip_source_args_seek_t, data, len, &s->error);
    if (!a)
        return -1;
    if (a->whence != SEEK_SET && a->whence != SEEK_CUR && a->whence != SEEK_END) {
        zip_error_set(&s->error, ZIP_ER_INVAL, 0);
        return -1;
    }
    int64_t from = a->whence == SEEK_SET ? 0 : a->whence == SEEK_CUR ? (int64_t)s->pos
                                                                      : (int64_t)s->end;
    int64_t to = from + a->offset;
    if (to < 0 || (a->offset > 0 && to < from)) {
        zip_error_set(&s->error, ZIP_ER_INVAL, 0);
        return -1;
    }
    s->pos = (uint64_t)to;
    return 0;
}

static zip_int64_t sink_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
    fd_sink *s = ud;
    switch (cmd) {
    case ZIP_SOURCE_OPEN: /* the archive is new: there is nothing to read */
    case ZIP_SOURCE_CLOSE:
    case ZIP_SOURCE_READ:
    case ZIP_SOURCE_SEEK:
    case ZIP_SOURCE_TELL:
    case ZIP_SOURCE_BEGIN_WRITE:
    case ZIP_SOURCE_ROLLBACK_WRITE: /* the caller removes the file */
    case ZIP_SOURCE_REMOVE:
        return 0;
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &s->error);
        if (!st)
            return -1;
        zip_stat_init(st);
        st->size = 0;
        st->valid |= ZIP_STAT_SIZE;
        return sizeof *st;
    }
    case ZIP_SOURCE_WRITE:
        return sink_write(s, data, len);
    case ZIP_SOURCE_SEEK_WRITE:
        return sink_seek(s, data, len);
    case ZIP_SOURCE_TELL_WRITE:
        return (zip_int64_t)s->pos;
    case ZIP_SOURCE_COMMIT_WRITE:
        return sink_flush(s) == 0 ? 0 : -1;
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&s->error, data, len);
    case ZIP_SOURCE_FREE:
        zip_error_fini(&s->error);
        free(s->buf);
        free(s);
        return 0;
    case ZIP_SOURCE_SUPPORTS:
        return ZIP_SOURCE_SUPPORTS_WRITABLE;
    default:
        zip_error_set(&s->error, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
}

zip_source_t *cari_fd_sink(int fd, zip_error_t *error)
{
    size_t window = cari_sink_window ? cari_sink_window : 1;
    fd_sink *s = calloc(1, sizeof *s);
    unsigned char *buf = malloc(window);
    zip_source_t *src = NULL;
    if (s && buf) {
        s->fd = fd;
        s->buf = buf;
        s->window = window;
        zip_error_init(&s->error);
        src = zip_source_function_create(sink_cb, s, error);
        if (!src)
            zip_error_fini(&s->error);
    } else {
        zip_error_set(error, ZIP_ER_MEMORY, 0);
    }
    if (!src) {
        free(buf);
        free(s);
    }
    return src;
}
