/* bgt-result-stream.c: a download's data, read in any order as it arrives
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>

#include "bgt-private.h"
#include "bgt-result-stream.h"

/**
 * BgtResultStream:
 *
 * The data of a #BgtDownload as a seekable #GInputStream, readable at any
 * time, in any order, while the download runs: a media player plays a
 * video as it downloads and seeks in it.
 *
 * The stream reads the partial file that the service hands out
 * (`OpenResult`), like bgt_download_open_result_async(), but never past
 * what is on disk: a read of bytes that are there returns at once; a read
 * of bytes that are not there yet asks the service to fetch them first
 * (bgt_download_request_range_async(): a connection goes there) and
 * waits, without blocking the main loop when asynchronous, until they
 * arrive (#BgtTransfer::ranges-added). When the download restarts from
 * zero, what was on disk is forgotten and reads wait again. A read fails
 * once the download fails or is canceled; at the end of a completed
 * download it returns 0.
 *
 * Out-of-order reads need a download created with the option
 * `random-access` from a server that answers ranges; otherwise reads wait
 * for the data to arrive in order.
 *
 * Get one with bgt_download_open_result_stream_async(). Seek with
 * g_seekable_seek(); %G_SEEK_END needs the size (bgt_result_stream_get_size()).
 * Synchronous reads wait by running the thread-default main context of the
 * thread that opened the stream, and may only be called from that thread.
 *
 * Since: 1.0
 */

/* A run of bytes on disk: [start, end) */
typedef struct
{
  guint64 start;
  guint64 end;
} Run;

typedef struct
{
  void *buffer;
  gsize count;
} ReadData;

struct _BgtResultStream
{
  GInputStream parent_instance;

  BgtDownload *download;
  GMainContext *context; /* where the download's signals come */
  GInputStream *file;    /* the partial file (OpenResult), read with pread() */
  int fd;
  goffset position;
  gint64 size;       /* -1 while unknown */
  GArray *runs;      /* of Run: sorted, merged; the data on disk */
  gboolean complete; /* the download completed: everything is there */
  GError *failure;   /* the download failed or was canceled */
  gulong ranges_added_id;
  gulong ranges_id;
  gulong status_id;
  gulong size_id;
  GTask *pending; /* a read waiting for data */
  gulong pending_cancel_id;
  guint64 requested_start; /* the last RequestRange, not to repeat it */
  guint64 requested_end;
};

static void bgt_result_stream_seekable_init (GSeekableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BgtResultStream, bgt_result_stream, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_SEEKABLE,
                                                      bgt_result_stream_seekable_init))

/* ---- What is on disk ---------------------------------------------------- */

static void
runs_add (GArray *runs, guint64 start, guint64 end)
{
  Run merged = { start, end };
  guint i = 0;

  if (start >= end)
    return;
  while (i < runs->len && g_array_index (runs, Run, i).end < start)
    i++;
  while (i < runs->len && g_array_index (runs, Run, i).start <= end)
    {
      Run *r = &g_array_index (runs, Run, i);

      merged.start = MIN (merged.start, r->start);
      merged.end = MAX (merged.end, r->end);
      g_array_remove_index (runs, i);
    }
  g_array_insert_val (runs, i, merged);
}

/* a(tt) (offset, length) pairs */
static void
runs_add_variant (GArray *runs, GVariant *pairs)
{
  GVariantIter iter;
  guint64 offset, length;

  g_variant_iter_init (&iter, pairs);
  while (g_variant_iter_next (&iter, "(tt)", &offset, &length))
    if (length <= G_MAXUINT64 - offset)
      runs_add (runs, offset, offset + length);
}

/* How many bytes from @offset on are on disk without a gap */
static guint64
available_at (BgtResultStream *self, guint64 offset)
{
  if (self->complete)
    return self->size >= 0 ? (guint64) MAX (self->size - (gint64) offset, 0) : G_MAXUINT64;
  for (guint i = 0; i < self->runs->len; i++)
    {
      Run r = g_array_index (self->runs, Run, i);

      if (r.start <= offset && offset < r.end)
        return r.end - offset;
    }
  return 0;
}

/* ---- Reads -------------------------------------------------------------- */

/* The read @data from the current position, if it can be answered now:
 * %TRUE with the bytes read (0 at the end), or with @error */
static gboolean
try_read (BgtResultStream *self, ReadData *data, gssize *out_read, GError **error)
{
  guint64 available;
  gssize n;

  if (self->failure != NULL)
    {
      g_set_error_literal (error, self->failure->domain, self->failure->code,
                           self->failure->message);
      return TRUE;
    }
  if (data->count == 0 || (self->size >= 0 && self->position >= self->size))
    {
      *out_read = 0;
      return TRUE;
    }
  available = available_at (self, (guint64) self->position);
  if (available == 0)
    return FALSE;
  do
    n = pread (self->fd, data->buffer, (size_t) MIN ((guint64) data->count, available),
               (off_t) self->position);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    {
      int errsv = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   "Cannot read the downloaded data: %s", g_strerror (errsv));
      return TRUE;
    }
  if (n == 0 && !self->complete)
    return FALSE; /* the file was cut under us (a restart): wait for its data again */
  self->position += n;
  *out_read = n;
  return TRUE;
}

static void
on_range_requested (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  /* A download without random-access: its data comes in order anyway */
  if (!bgt_download_request_range_finish (BGT_DOWNLOAD (source), result, &error))
    g_debug ("RequestRange: %s", error->message);
}

/* Asks the service to fetch [position, position + count) first */
static void
request_range (BgtResultStream *self, gsize count)
{
  guint64 start = (guint64) self->position;
  guint64 end = start + MAX (count, 1);

  if (self->size >= 0)
    end = MIN (end, (guint64) self->size);
  if (end <= start || (start >= self->requested_start && end <= self->requested_end))
    return;
  self->requested_start = start;
  self->requested_end = end;
  bgt_download_request_range_async (self->download, (gint64) start, (gint64) (end - start), NULL,
                                    on_range_requested, NULL);
}

static void
finish_pending (BgtResultStream *self)
{
  g_autoptr (GTask) task = g_steal_pointer (&self->pending);
  GCancellable *cancellable = g_task_get_cancellable (task);

  if (self->pending_cancel_id != 0)
    g_cancellable_disconnect (cancellable, self->pending_cancel_id);
  self->pending_cancel_id = 0;
}

/* New data, a new state: the read waiting may be answered now */
static void
wake (BgtResultStream *self)
{
  g_autoptr (GError) error = NULL;
  ReadData *data;
  gssize n = 0;
  GTask *task = self->pending;

  if (task == NULL)
    return;
  data = g_task_get_task_data (task);
  if (!try_read (self, data, &n, &error))
    return;
  g_object_ref (task);
  finish_pending (self);
  if (error != NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_int (task, n);
  g_object_unref (task);
}

static gboolean
on_cancelled_idle (gpointer user_data)
{
  BgtResultStream *self = user_data;
  GTask *task = self->pending;

  if (task != NULL && g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    {
      g_object_ref (task);
      finish_pending (self);
      g_task_return_error_if_cancelled (task);
      g_object_unref (task);
    }
  return G_SOURCE_REMOVE;
}

static void
on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  BgtResultStream *self = user_data;

  /* Not from within the cancellable's handler: answered from the stream's
   * context */
  g_main_context_invoke_full (self->context, G_PRIORITY_DEFAULT, on_cancelled_idle,
                              g_object_ref (self), g_object_unref);
}

static void
bgt_result_stream_read_async (GInputStream *stream, void *buffer, gsize count, int io_priority,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  BgtResultStream *self = BGT_RESULT_STREAM (stream);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr (GError) error = NULL;
  ReadData *data = g_new0 (ReadData, 1);
  gssize n = 0;

  g_task_set_source_tag (task, bgt_result_stream_read_async);
  g_task_set_priority (task, io_priority);
  data->buffer = buffer;
  data->count = count;
  g_task_set_task_data (task, data, g_free);

  if (try_read (self, data, &n, &error))
    {
      if (error != NULL)
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_int (task, n);
      return;
    }
  request_range (self, count);
  self->pending = g_steal_pointer (&task);
  if (cancellable != NULL)
    self->pending_cancel_id
        = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), self, NULL);
}

static gssize
bgt_result_stream_read_finish (GInputStream *stream, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, stream), -1);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bgt_result_stream_read_async,
                        -1);
  return g_task_propagate_int (G_TASK (result), error);
}

static void
wakeup_context (GCancellable *cancellable, gpointer user_data)
{
  g_main_context_wakeup (user_data);
}

/* A synchronous read waits by running the stream's main context, from the
 * thread that opened the stream */
static gssize
bgt_result_stream_read_fn (GInputStream *stream, void *buffer, gsize count,
                           GCancellable *cancellable, GError **error)
{
  BgtResultStream *self = BGT_RESULT_STREAM (stream);
  ReadData data = { buffer, count };
  gulong id = 0;
  gssize n = 0;

  if (!g_main_context_acquire (self->context))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "Read a result stream from the thread that opened it, or "
                           "asynchronously");
      return -1;
    }
  if (cancellable != NULL)
    id = g_cancellable_connect (cancellable, G_CALLBACK (wakeup_context), self->context, NULL);
  while (!try_read (self, &data, &n, error))
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          n = -1;
          break;
        }
      request_range (self, count);
      g_main_context_iteration (self->context, TRUE);
    }
  if (error != NULL && *error != NULL)
    n = -1;
  g_cancellable_disconnect (cancellable, id);
  g_main_context_release (self->context);
  return n;
}

/* ---- What the download says -------------------------------------------- */

static void
take_status (BgtResultStream *self)
{
  BgtStatus status = bgt_transfer_get_status (BGT_TRANSFER (self->download));

  if (status == BGT_STATUS_COMPLETED)
    self->complete = TRUE;
  else if (self->failure == NULL && status == BGT_STATUS_ERROR)
    self->failure
        = g_error_new_literal (BGT_ERROR, BGT_ERROR_TRANSFER_FAILED, "The download failed");
  else if (self->failure == NULL && status == BGT_STATUS_CANCELED)
    self->failure
        = g_error_new_literal (BGT_ERROR, BGT_ERROR_TRANSFER_CANCELED, "The download was canceled");
}

static void
take_size (BgtResultStream *self)
{
  self->size = bgt_transfer_get_total_bytes_to_receive (BGT_TRANSFER (self->download));
}

/* RangesDownloaded: the whole truth, it replaces what the signals said */
static void
take_ranges (BgtResultStream *self)
{
  g_autoptr (GVariant) ranges = bgt_transfer_dup_ranges (BGT_TRANSFER (self->download));

  g_array_set_size (self->runs, 0);
  if (ranges != NULL)
    runs_add_variant (self->runs, ranges);
}

static void
on_status (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  BgtResultStream *self = user_data;

  take_status (self);
  wake (self);
}

static void
on_size (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  BgtResultStream *self = user_data;

  take_size (self);
  wake (self);
}

static void
on_ranges (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  BgtResultStream *self = user_data;

  take_ranges (self);
  wake (self);
}

static void
on_ranges_added (BgtTransfer *transfer, GVariant *added, gboolean restarted, gpointer user_data)
{
  BgtResultStream *self = user_data;

  if (restarted)
    {
      /* What was read so far is void; what comes is the new version */
      g_array_set_size (self->runs, 0);
      self->requested_start = self->requested_end = 0;
    }
  if (added != NULL && g_variant_is_of_type (added, G_VARIANT_TYPE ("a(tt)")))
    runs_add_variant (self->runs, added);
  wake (self);
}

/* ---- Seeking ------------------------------------------------------------ */

static goffset
bgt_result_stream_tell (GSeekable *seekable)
{
  return BGT_RESULT_STREAM (seekable)->position;
}

static gboolean
bgt_result_stream_can_seek (GSeekable *seekable)
{
  return TRUE;
}

static gboolean
bgt_result_stream_seek (GSeekable *seekable, goffset offset, GSeekType type,
                        GCancellable *cancellable, GError **error)
{
  BgtResultStream *self = BGT_RESULT_STREAM (seekable);
  goffset base = 0;

  if (g_input_stream_has_pending (G_INPUT_STREAM (self)))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PENDING,
                           "The stream has an outstanding operation");
      return FALSE;
    }
  if (type == G_SEEK_CUR)
    base = self->position;
  else if (type == G_SEEK_END)
    {
      if (self->size < 0)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               "The size of the download is not known yet");
          return FALSE;
        }
      base = self->size;
    }
  if ((offset < 0 && base + offset < 0) || (offset > 0 && base > G_MAXINT64 - offset))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Invalid seek position");
      return FALSE;
    }
  self->position = base + offset;
  return TRUE;
}

static gboolean
bgt_result_stream_can_truncate (GSeekable *seekable)
{
  return FALSE;
}

static gboolean
bgt_result_stream_truncate (GSeekable *seekable, goffset offset, GCancellable *cancellable,
                            GError **error)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "A download's data cannot be truncated");
  return FALSE;
}

static void
bgt_result_stream_seekable_init (GSeekableIface *iface)
{
  iface->tell = bgt_result_stream_tell;
  iface->can_seek = bgt_result_stream_can_seek;
  iface->seek = bgt_result_stream_seek;
  iface->can_truncate = bgt_result_stream_can_truncate;
  iface->truncate_fn = bgt_result_stream_truncate;
}

/* ---- Life --------------------------------------------------------------- */

static void
unsubscribe (BgtResultStream *self)
{
  if (self->download == NULL)
    return;
  g_clear_signal_handler (&self->ranges_added_id, self->download);
  g_clear_signal_handler (&self->ranges_id, self->download);
  g_clear_signal_handler (&self->status_id, self->download);
  g_clear_signal_handler (&self->size_id, self->download);
}

static gboolean
bgt_result_stream_close_fn (GInputStream *stream, GCancellable *cancellable, GError **error)
{
  BgtResultStream *self = BGT_RESULT_STREAM (stream);

  unsubscribe (self);
  self->fd = -1;
  return self->file == NULL || g_input_stream_close (self->file, cancellable, error);
}

static void
bgt_result_stream_dispose (GObject *object)
{
  BgtResultStream *self = BGT_RESULT_STREAM (object);

  unsubscribe (self);
  G_OBJECT_CLASS (bgt_result_stream_parent_class)->dispose (object);
}

static void
bgt_result_stream_finalize (GObject *object)
{
  BgtResultStream *self = BGT_RESULT_STREAM (object);

  g_clear_object (&self->file);
  g_clear_object (&self->download);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_array_unref (self->runs);
  g_clear_error (&self->failure);
  G_OBJECT_CLASS (bgt_result_stream_parent_class)->finalize (object);
}

static void
bgt_result_stream_class_init (BgtResultStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS (klass);

  object_class->dispose = bgt_result_stream_dispose;
  object_class->finalize = bgt_result_stream_finalize;
  stream_class->read_fn = bgt_result_stream_read_fn;
  stream_class->read_async = bgt_result_stream_read_async;
  stream_class->read_finish = bgt_result_stream_read_finish;
  stream_class->close_fn = bgt_result_stream_close_fn;
}

static void
bgt_result_stream_init (BgtResultStream *self)
{
  self->fd = -1;
  self->size = -1;
  self->runs = g_array_new (FALSE, FALSE, sizeof (Run));
}

/**
 * bgt_result_stream_get_download:
 * @self: a #BgtResultStream
 *
 * Gets the download whose data the stream reads.
 *
 * Returns: (transfer none): the download
 *
 * Since: 1.0
 */
BgtDownload *
bgt_result_stream_get_download (BgtResultStream *self)
{
  g_return_val_if_fail (BGT_IS_RESULT_STREAM (self), NULL);
  return self->download;
}

/**
 * bgt_result_stream_get_size:
 * @self: a #BgtResultStream
 *
 * Gets the size of the download's data, known once the server has
 * answered; %G_SEEK_END needs it.
 *
 * Returns: the size in bytes, or -1 while it is not known
 *
 * Since: 1.0
 */
gint64
bgt_result_stream_get_size (BgtResultStream *self)
{
  g_return_val_if_fail (BGT_IS_RESULT_STREAM (self), -1);
  return self->size;
}

/**
 * bgt_result_stream_has_data:
 * @self: a #BgtResultStream
 * @offset: the first byte
 * @length: how many bytes
 *
 * Whether a read of these bytes would return at once, as far as the
 * stream knows from the service's signals (they come at most ten times a
 * second).
 *
 * Returns: %TRUE if [@offset, @offset + @length) is on disk
 *
 * Since: 1.0
 */
gboolean
bgt_result_stream_has_data (BgtResultStream *self, goffset offset, gsize length)
{
  g_return_val_if_fail (BGT_IS_RESULT_STREAM (self), FALSE);
  g_return_val_if_fail (offset >= 0, FALSE);
  return length == 0 || available_at (self, (guint64) offset) >= length;
}

/* ---- Opening -------------------------------------------------------------- */

static void
on_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtResultStream *self = g_task_get_task_data (task);
  g_autoptr (GArray) heard = NULL;
  GError *error = NULL;

  self->file = _bgt_transfer_open_fd_finish (BGT_TRANSFER (source), result,
                                             bgt_download_open_result_stream_async, &error);
  if (self->file == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  self->fd = g_unix_input_stream_get_fd (G_UNIX_INPUT_STREAM (self->file));
  /* What is on disk now, and what the signals told meanwhile */
  heard = g_array_copy (self->runs);
  take_size (self);
  take_status (self);
  take_ranges (self);
  for (guint i = 0; i < heard->len; i++)
    runs_add (self->runs, g_array_index (heard, Run, i).start, g_array_index (heard, Run, i).end);
  g_task_return_pointer (task, g_object_ref (self), g_object_unref);
}

/**
 * bgt_download_open_result_stream_async:
 * @self: a #BgtDownload
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when the stream is open
 * @user_data: data for @callback
 *
 * Opens the download's data for reading at any time, in any order, as it
 * arrives; see #BgtResultStream. Possible until the download is canceled
 * or fails.
 *
 * Since: 1.0
 */
void
bgt_download_open_result_stream_async (BgtDownload *self, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  BgtResultStream *stream;

  g_return_if_fail (BGT_IS_DOWNLOAD (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  stream = g_object_new (BGT_TYPE_RESULT_STREAM, NULL);
  stream->download = g_object_ref (self);
  stream->context = g_main_context_ref_thread_default ();
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bgt_download_open_result_stream_async);
  g_task_set_task_data (task, stream, g_object_unref);

  /* First the signals, then the state: nothing falls in between */
  stream->ranges_added_id
      = g_signal_connect (self, "ranges-added", G_CALLBACK (on_ranges_added), stream);
  stream->ranges_id = g_signal_connect (self, "notify::ranges", G_CALLBACK (on_ranges), stream);
  stream->status_id = g_signal_connect (self, "notify::status", G_CALLBACK (on_status), stream);
  stream->size_id
      = g_signal_connect (self, "notify::total-bytes-to-receive", G_CALLBACK (on_size), stream);
  _bgt_transfer_open_fd_async (BGT_TRANSFER (self), "OpenResult",
                               bgt_download_open_result_stream_async, cancellable, on_opened,
                               g_steal_pointer (&task));
}

/**
 * bgt_download_open_result_stream_finish:
 * @self: a #BgtDownload
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_download_open_result_stream_async().
 *
 * Returns: (transfer full): the stream, or %NULL with @error set
 *
 * Since: 1.0
 */
BgtResultStream *
bgt_download_open_result_stream_finish (BgtDownload *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (BGT_IS_DOWNLOAD (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (
      g_task_get_source_tag (G_TASK (result)) == bgt_download_open_result_stream_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
