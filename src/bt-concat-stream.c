/* bt-concat-stream.c: one input stream after another
 *
 * Used for multipart bodies: only the current piece is being read, so a
 * body of any size costs a few small buffers.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-concat-stream.h"
#include "bt-rate.h"

struct _BtConcatInputStream
{
  GInputStream parent_instance;

  GPtrArray *streams;
  guint current;
  GPtrArray *limiters; /* BtRateLimiter */
};

G_DEFINE_TYPE (BtConcatInputStream, bt_concat_input_stream, G_TYPE_INPUT_STREAM)

/* Reads run in a worker thread (the stream is not pollable): a rate limit
 * simply sleeps there, a little at a time so that cancelling is quick */
static void
throttle (BtConcatInputStream *self, guint64 bytes, GCancellable *cancellable)
{
  gint64 now = g_get_monotonic_time ();
  gint64 wait = 0;

  for (guint i = 0; i < self->limiters->len; i++)
    {
      gint64 w = bt_rate_limiter_take (g_ptr_array_index (self->limiters, i), bytes, now);

      wait = MAX (wait, w);
    }
  while (wait > 0 && !g_cancellable_is_cancelled (cancellable))
    {
      gint64 step = MIN (wait, 100 * G_TIME_SPAN_MILLISECOND);

      g_usleep ((gulong) step);
      wait -= step;
    }
}

static gssize
bt_concat_input_stream_read (GInputStream *stream, void *buffer, gsize count,
                             GCancellable *cancellable, GError **error)
{
  BtConcatInputStream *self = BT_CONCAT_INPUT_STREAM (stream);

  for (guint i = 0; i < self->limiters->len; i++)
    count = bt_rate_limiter_chunk (g_ptr_array_index (self->limiters, i), count);

  while (self->current < self->streams->len)
    {
      gssize n = g_input_stream_read (g_ptr_array_index (self->streams, self->current), buffer,
                                      count, cancellable, error);

      if (n > 0)
        throttle (self, (guint64) n, cancellable);
      if (n != 0)
        return n;
      self->current++;
    }
  return 0;
}

static gboolean
bt_concat_input_stream_close (GInputStream *stream, GCancellable *cancellable, GError **error)
{
  BtConcatInputStream *self = BT_CONCAT_INPUT_STREAM (stream);
  gboolean ok = TRUE;

  for (guint i = 0; i < self->streams->len; i++)
    {
      GInputStream *child = g_ptr_array_index (self->streams, i);

      if (!g_input_stream_is_closed (child)
          && !g_input_stream_close (child, cancellable, ok ? error : NULL))
        ok = FALSE;
    }
  return ok;
}

static void
bt_concat_input_stream_finalize (GObject *object)
{
  BtConcatInputStream *self = BT_CONCAT_INPUT_STREAM (object);

  g_ptr_array_unref (self->streams);
  g_ptr_array_unref (self->limiters);
  G_OBJECT_CLASS (bt_concat_input_stream_parent_class)->finalize (object);
}

static void
bt_concat_input_stream_class_init (BtConcatInputStreamClass *klass)
{
  GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = bt_concat_input_stream_finalize;
  stream_class->read_fn = bt_concat_input_stream_read;
  stream_class->close_fn = bt_concat_input_stream_close;
}

static void
bt_concat_input_stream_init (BtConcatInputStream *self)
{
  self->limiters = g_ptr_array_new_with_free_func ((GDestroyNotify) bt_rate_limiter_unref);
}

void
bt_concat_input_stream_add_limiter (BtConcatInputStream *self, gpointer limiter)
{
  if (limiter != NULL)
    g_ptr_array_add (self->limiters, bt_rate_limiter_ref (limiter));
}

/*
 * bt_concat_input_stream_new:
 * @streams: (element-type GInputStream) (transfer none): the pieces
 */
GInputStream *
bt_concat_input_stream_new (GPtrArray *streams)
{
  BtConcatInputStream *self = g_object_new (BT_TYPE_CONCAT_INPUT_STREAM, NULL);

  self->streams = g_ptr_array_ref (streams);
  return G_INPUT_STREAM (self);
}
