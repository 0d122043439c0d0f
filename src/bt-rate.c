/* bt-rate.c: token-bucket rate limits
 *
 * A limiter holds up to a quarter second of bytes; taking more than it
 * holds tells how long to wait before the next read. 0 means no limit.
 * Thread-safe: upload bodies are read from worker threads.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-rate.h"

#define MIN_CHUNK (16 * 1024)

struct _BtRateLimiter
{
  gatomicrefcount ref_count;
  GMutex lock;
  guint64 rate;  /* bytes per second, 0: none */
  double tokens; /* may go negative: a debt to wait off */
  gint64 last_us;
};

BtRateLimiter *
bt_rate_limiter_new (guint64 bytes_per_second)
{
  BtRateLimiter *self = g_new0 (BtRateLimiter, 1);

  g_atomic_ref_count_init (&self->ref_count);
  g_mutex_init (&self->lock);
  self->rate = bytes_per_second;
  return self;
}

BtRateLimiter *
bt_rate_limiter_ref (BtRateLimiter *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
bt_rate_limiter_unref (BtRateLimiter *self)
{
  if (self != NULL && g_atomic_ref_count_dec (&self->ref_count))
    {
      g_mutex_clear (&self->lock);
      g_free (self);
    }
}

void
bt_rate_limiter_set_rate (BtRateLimiter *self, guint64 bytes_per_second)
{
  g_mutex_lock (&self->lock);
  self->rate = bytes_per_second;
  self->tokens = 0;
  self->last_us = 0;
  g_mutex_unlock (&self->lock);
}

guint64
bt_rate_limiter_get_rate (BtRateLimiter *self)
{
  return self->rate;
}

/*
 * bt_rate_limiter_take:
 *
 * Accounts for @bytes just moved.
 *
 * Returns: microseconds to wait before moving more, 0 for none
 */
gint64
bt_rate_limiter_take (BtRateLimiter *self, guint64 bytes, gint64 now_us)
{
  gint64 wait = 0;
  double burst;

  if (self == NULL || self->rate == 0)
    return 0;

  g_mutex_lock (&self->lock);
  burst = MAX ((double) self->rate / 4, (double) MIN_CHUNK);
  if (self->last_us == 0)
    self->tokens = burst;
  else
    self->tokens = MIN (
        burst,
        self->tokens + (double) (now_us - self->last_us) * (double) self->rate / G_USEC_PER_SEC);
  self->last_us = now_us;
  self->tokens -= (double) bytes;
  if (self->tokens < 0)
    wait = (gint64) (-self->tokens * G_USEC_PER_SEC / (double) self->rate);
  g_mutex_unlock (&self->lock);
  return wait;
}

/* How much to read at once under this limit: small enough to keep the
 * rate smooth, never more than @max_chunk */
gsize
bt_rate_limiter_chunk (BtRateLimiter *self, gsize max_chunk)
{
  if (self == NULL || self->rate == 0)
    return max_chunk;
  return CLAMP ((gsize) (self->rate / 8), MIN_CHUNK, max_chunk);
}

BtRateLimiter *
bt_rate_limiter_get_global_download (void)
{
  static BtRateLimiter *limiter;

  if (g_once_init_enter (&limiter))
    g_once_init_leave (&limiter, bt_rate_limiter_new (0));
  return limiter;
}

BtRateLimiter *
bt_rate_limiter_get_global_upload (void)
{
  static BtRateLimiter *limiter;

  if (g_once_init_enter (&limiter))
    g_once_init_leave (&limiter, bt_rate_limiter_new (0));
  return limiter;
}
