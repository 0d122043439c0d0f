/* bt-flusher.c: a download's data on its way to the disk
 *
 * Every flush of a download's data goes through its BtFlusher, whichever
 * thread runs it: the write-back rounds while the data comes (below), the
 * flushing checkpoints (bt-transfer.c), the flush before the commit
 * (bt-commit.c). They take turns (one lock), and a flush that failed is
 * never forgotten by the next one. Linux reports a failed write-back once
 * per open file description, and all the fds of the data share one: the
 * flush that saw the error is the only one told, and a later flush would
 * succeed over the lost data ("fsyncgate"). So the first failure stands:
 * every later flush returns it, the writes fail with it
 * (bt_destination_write()), and the transfer goes back to what the last
 * good flush made durable before it forgets it (bt-attempt.c).
 *
 * Write-back: the data goes to the disk as it comes, not all at the end,
 * so that the flush before the rename has little left to wait for and the
 * disk works while the network does. Each time another WRITE_BACK_ROUND
 * bytes have been written, a worker thread flushes the file, one round at
 * a time: when the disk is slower, rounds grow rather than multiply. The
 * round flushes (fdatasync()), it does not only write back
 * (sync_file_range()): a disk with a volatile write cache (most, and every
 * virtual disk in write-back mode) takes data faster than it keeps it, and
 * what sync_file_range() left in that cache the final flush would wait for.
 * The main loop never waits for the disk; when the data not yet flushed
 * exceeds WRITE_BACK_WINDOW, the download reads no more until it is
 * (bt_flusher_lags(), bt-attempt.c), so that a slow disk sets the pace
 * without a large backlog for the end.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <gio/gio.h>

#include "bt-flusher.h"

#define WRITE_BACK_ROUND (32 * 1024 * 1024)
#define WRITE_BACK_WINDOW (128 * 1024 * 1024)

struct _BtFlusher
{
  GMutex lock; /* held by whoever flushes */
  int failure; /* errno of the first flush that failed, or 0 (atomic) */

  /* Write-back, the main loop's */
  guint generation; /* of the open fd: a round of an earlier one ends unseen */
  guint64 written;  /* bytes written through the fd, so far */
  guint64 started;  /* `written` when the round in flight (or the last) began */
  guint64 settled;  /* `written` when the last finished round began: on disk */
  gboolean running; /* a round is in flight */
};

typedef struct
{
  BtFlusher *flusher;
  int fd; /* its own: the destination may close its fd meanwhile */
  guint64 size;
} Job;

BtFlusher *
bt_flusher_new (void)
{
  BtFlusher *self = g_atomic_rc_box_new0 (BtFlusher);

  g_mutex_init (&self->lock);
  return self;
}

BtFlusher *
bt_flusher_ref (BtFlusher *self)
{
  return g_atomic_rc_box_acquire (self);
}

static void
bt_flusher_clear (BtFlusher *self)
{
  g_mutex_clear (&self->lock);
}

void
bt_flusher_unref (BtFlusher *self)
{
  g_atomic_rc_box_release_full (self, (GDestroyNotify) bt_flusher_clear);
}

/*
 * bt_flusher_flush:
 * @fd: the data (any of its fds)
 * @size: the data's final size, to set first, or %BT_FLUSHER_ANY_SIZE
 *
 * Flushes the data to the disk; any thread.
 *
 * Returns: 0, or the errno of the first flush of this data that failed
 *   (this one or an earlier one)
 */
int
bt_flusher_flush (BtFlusher *self, int fd, guint64 size)
{
  int failure;

  g_mutex_lock (&self->lock);
  if (size != BT_FLUSHER_ANY_SIZE && ftruncate (fd, (off_t) size) < 0)
    failure = errno; /* nothing was flushed: nothing was lost */
  else
    {
      if (fdatasync (fd) < 0)
        g_atomic_int_compare_and_exchange (&self->failure, 0, errno);
      failure = g_atomic_int_get (&self->failure);
    }
  g_mutex_unlock (&self->lock);
  return failure;
}

static void
job_free (Job *job)
{
  close (job->fd);
  bt_flusher_unref (job->flusher);
  g_free (job);
}

static void
flush_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  Job *job = task_data;
  int errsv = bt_flusher_flush (job->flusher, job->fd, job->size);

  if (errsv != 0)
    g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (errsv),
                             "Cannot flush the data: %s", g_strerror (errsv));
  else
    g_task_return_boolean (task, TRUE);
}

/*
 * bt_flusher_flush_async:
 * @fd: (transfer full): an fd of the data of its own, closed once flushed
 * @size: the data's final size, to set first, or %BT_FLUSHER_ANY_SIZE
 *
 * bt_flusher_flush() in a worker thread.
 */
void
bt_flusher_flush_async (BtFlusher *self, int fd, guint64 size, GAsyncReadyCallback callback,
                        gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, callback, user_data);
  Job *job = g_new0 (Job, 1);

  job->flusher = bt_flusher_ref (self);
  job->fd = fd;
  job->size = size;
  g_task_set_source_tag (task, bt_flusher_flush_async);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_run_in_thread (task, flush_thread);
}

gboolean
bt_flusher_flush_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_async_result_is_tagged (result, bt_flusher_flush_async), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Returns: the errno of the first flush of this data that failed, or 0 */
int
bt_flusher_get_failure (BtFlusher *self)
{
  return g_atomic_int_get (&self->failure);
}

/* The data after the last good flush is being fetched again: the failure
 * no longer stands in its way */
void
bt_flusher_forget_failure (BtFlusher *self)
{
  g_atomic_int_set (&self->failure, 0);
}

/* ---- Write-back --------------------------------------------------------- */

typedef struct
{
  BtFlusher *flusher;
  guint generation; /* of the fd it flushes */
} Round;

static void
on_round_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Round *round = user_data;
  BtFlusher *self = round->flusher;

  /* A failure is kept for the next write and the commit to report */
  bt_flusher_flush_finish (result, NULL);
  if (round->generation == self->generation) /* not of an fd since closed */
    {
      self->running = FALSE;
      self->settled = self->started;
    }
  bt_flusher_unref (round->flusher);
  g_free (round);
}

/* The next round starts with the next write that finds it due */
static void
round_start (BtFlusher *self, int data_fd)
{
  Round *round;
  int fd = fcntl (data_fd, F_DUPFD_CLOEXEC, 3);

  if (fd < 0)
    return; /* the final flush does it all */
  round = g_new0 (Round, 1);
  round->flusher = bt_flusher_ref (self);
  round->generation = self->generation;
  self->running = TRUE;
  self->started = self->written;
  bt_flusher_flush_async (self, fd, BT_FLUSHER_ANY_SIZE, on_round_done, round);
}

/* @len bytes were written through @fd */
void
bt_flusher_note_written (BtFlusher *self, int fd, gsize len)
{
  self->written += len;
  if (!self->running && self->written - self->started >= WRITE_BACK_ROUND)
    round_start (self, fd);
}

/* Whether the data not yet flushed has grown beyond the window: the
 * download should wait for the disk before it reads more */
gboolean
bt_flusher_lags (BtFlusher *self)
{
  return self->written - self->settled > WRITE_BACK_WINDOW;
}

/* The destination closed its fd: write-back starts afresh with the next
 * one; a round in flight ends on its own (its failure still counts) */
void
bt_flusher_fd_closed (BtFlusher *self)
{
  self->generation++;
  self->written = self->started = self->settled = 0;
  self->running = FALSE;
}
