/* bt-attempt.c: one attempt at moving a transfer's bytes, and the rules
 * every engine is held to
 *
 * The core starts an attempt with the engine registered for the
 * transfer's kind and scheme (bt-engine.h). The engine speaks its
 * protocol; everything else is here, once for all engines:
 *
 *  - timeouts: connect-timeout + response-timeout while waiting for an
 *    answer, the low-speed watchdog while data flows (SPEC §8);
 *  - the received body is written here (bt_attempt_receive_body()), under
 *    the transfer's max-rate and the global max-download-rate, with
 *    checkpoints every checkpoint-interval-bytes or -ms and the short-body
 *    and long-body checks; uploads read their source through
 *    bt_attempt_open_source(), under max-rate and max-upload-rate;
 *  - validators are recorded, and stored, at the first response, so that
 *    a pause, a kill -9 or a restart resumes;
 *  - sandboxed apps do not reach this machine or the local network;
 *  - one error mapping (bt-error-map.c) decides the ErrorStatus and
 *    whether a retry may help; the transfer's state machine retries;
 *  - digests are verified and the data renamed into place before success.
 *
 * An attempt is reference-counted: the transfer holds one, and every
 * operation the core has in flight holds one, so that a stop (pause,
 * cancel, policy) simply cancels and lets the callbacks drop theirs.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "bt-attempt.h"
#include "bt-commit.h"
#include "bt-error.h"
#include "bt-error-map.h"
#include "bt-http-session.h"
#include "bt-localnet.h"
#include "bt-concat-stream.h"

#define READ_BUFFER_SIZE (1024 * 1024)

typedef enum
{
  PHASE_WAITING, /* connecting, waiting for an answer */
  PHASE_SENDING, /* a request body flowing out */
  PHASE_BODY,    /* data flowing in */
  PHASE_ENDING,  /* verifying and committing */
} Phase;

struct _BtAttempt
{
  gint ref_count;
  BtTransfer *transfer;
  const BtEngineVTable *engine;
  BtEngineJob *job; /* NULL once the engine reported its end */
  GCancellable *cancellable;
  GSettings *settings;
  SoupSession *session;
  GUri *uri;
  GUri *origin; /* credentials stay with the origin the app named */
  BtKind kind;
  char *host;               /* counted in host_load while the attempt lives */
  gboolean may_reach_local; /* read once: the check may run in a thread */

  gboolean stopped; /* the transfer no longer listens */
  gboolean ended;   /* reported to the transfer */
  gboolean timed_out;
  gboolean local_denied;
  gboolean repeatable;

  Phase phase;
  gint64 last_activity_us;
  guint watchdog_id;
  guint64 window_bytes; /* for the low-speed check */
  guint window_seconds;
  guint64 rate_bytes; /* since the last rate update */

  /* The body being received */
  GInputStream *stream;
  guint8 *buffer;
  gsize buffer_size;
  gboolean response_mode; /* an upload's reply: bounded, not throttled */
  guint64 response_limit;
  BtAttemptBodyDone done;
  gpointer done_data;
  guint throttle_id;

  /* Checkpoints */
  guint64 checkpoint_bytes;
  gint64 checkpoint_us;
  gint64 last_checkpoint_us;
  gint64 last_sync_us;
};

static GPtrArray *engines;
static GHashTable *host_load; /* host → connections of live attempts */

static void
host_load_add (const char *host, gint connections)
{
  guint load;

  if (host_load == NULL)
    host_load = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  load = GPOINTER_TO_UINT (g_hash_table_lookup (host_load, host)) + connections;
  if (load == 0)
    g_hash_table_remove (host_load, host);
  else
    g_hash_table_replace (host_load, g_strdup (host), GUINT_TO_POINTER (load));
}

/* The attempt's connections no longer count against its host */
static void
release_host (BtAttempt *self)
{
  g_autofree char *host = g_steal_pointer (&self->host);

  if (host != NULL)
    host_load_add (host, -(gint) self->engine->connections);
}

/*
 * bt_attempt_get_host_load:
 *
 * Returns: (transfer full) (element-type utf8 guint): the connections the
 *   running attempts have open, per host, for the scheduler
 */
GHashTable *
bt_attempt_get_host_load (void)
{
  GHashTable *copy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter iter;
  gpointer key, value;

  if (host_load == NULL)
    return copy;
  g_hash_table_iter_init (&iter, host_load);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (copy, g_strdup (key), value);
  return copy;
}

/*
 * bt_engine_connections_for:
 *
 * Returns: how many connections an attempt of @uri opens to its host
 */
guint
bt_engine_connections_for (BtKind kind, const char *uri)
{
  BtScheme scheme;
  g_autoptr (GUri) parsed = bt_validate_uri (uri, &scheme, NULL);
  const BtEngineVTable *engine = parsed != NULL ? bt_engine_lookup (kind, scheme) : NULL;

  return engine != NULL ? MAX (engine->connections, 1) : 1;
}

void
bt_engine_register (const BtEngineVTable *engine)
{
  if (engines == NULL)
    engines = g_ptr_array_new ();
  g_ptr_array_add (engines, (gpointer) engine);
}

const BtEngineVTable *
bt_engine_lookup (BtKind kind, BtScheme scheme)
{
  for (guint i = 0; engines != NULL && i < engines->len; i++)
    {
      const BtEngineVTable *engine = g_ptr_array_index (engines, i);

      if (engine->kind == kind && (engine->schemes & (1u << scheme)) != 0)
        return engine;
    }
  return NULL;
}

BtAttempt *
bt_attempt_ref (BtAttempt *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
bt_attempt_unref (BtAttempt *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  g_clear_handle_id (&self->throttle_id, g_source_remove);
  release_host (self);
  g_clear_object (&self->stream);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->settings);
  g_clear_object (&self->session);
  g_clear_pointer (&self->uri, g_uri_unref);
  g_clear_pointer (&self->origin, g_uri_unref);
  g_clear_object (&self->transfer);
  g_free (self->buffer);
  g_free (self);
}

/* ---- The end of an attempt ---------------------------------------------- */

/* Reports to the transfer, once. Whoever still runs is stopped: the
 * engine's job unless the engine itself reported (job already NULL). */
static void
end (BtAttempt *self, BtErrorStatus status, const char *message, gboolean transient,
     guint retry_after_s)
{
  BtEngineJob *job = g_steal_pointer (&self->job);
  g_autoptr (BtTransfer) transfer = NULL;

  if (self->stopped || self->ended)
    return;
  self->ended = TRUE;
  release_host (self);
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  g_clear_handle_id (&self->throttle_id, g_source_remove);
  g_cancellable_cancel (self->cancellable); /* whatever of ours is in flight */
  if (job != NULL)
    self->engine->stop (job);
  bt_destination_close (bt_transfer_get_destination (self->transfer));
  transfer = g_object_ref (self->transfer);
  bt_transfer_attempt_done (transfer, self, status, message, transient, retry_after_s);
}

static void
end_with_local_error (BtAttempt *self, const GError *error)
{
  /* Our side: the disk or the file, never worth a retry */
  end (self,
       g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE)
           ? BT_ERROR_STATUS_DISK_FULL
           : BT_ERROR_STATUS_DESTINATION_UNWRITABLE,
       error->message, FALSE, 0);
}

static void
end_with_error (BtAttempt *self, const GError *error)
{
  BtErrorStatus status;
  gboolean transient;

  if (self->local_denied)
    {
      end (self, BT_ERROR_STATUS_FORBIDDEN,
           "This application may not reach this machine or the local network", FALSE, 0);
      return;
    }
  if (self->timed_out)
    {
      end (self, BT_ERROR_STATUS_TIMEOUT,
           self->phase == PHASE_BODY      ? "The server stopped sending data"
           : self->phase == PHASE_SENDING ? "The server stopped taking data"
                                          : "The server did not answer in time",
           self->repeatable, 0);
      return;
    }
  status = bt_error_status_for_gerror (error, &transient);
  end (self, status, error->message, transient && self->repeatable, 0);
}

void
bt_attempt_fail (BtAttempt *self, BtErrorStatus status, gboolean transient, guint retry_after_s,
                 const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  self->job = NULL; /* the engine reported: it frees its job itself */
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  if (self->local_denied || self->timed_out)
    {
      /* The engine saw the cancellation we caused: say why */
      g_autoptr (GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, message);

      end_with_error (self, error);
      return;
    }
  end (self, status, message, transient && self->repeatable, retry_after_s);
}

void
bt_attempt_fail_error (BtAttempt *self, const GError *error)
{
  self->job = NULL;
  end_with_error (self, error);
}

void
bt_attempt_fail_http (BtAttempt *self, guint status, const char *reason, const char *retry_after)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  gboolean transient;
  BtErrorStatus error_status = bt_error_status_for_http (status, &transient);

  bt_attempt_fail (self, error_status, transient,
                   transient ? bt_retry_after_parse (retry_after, now) : 0, "HTTP %u %s", status,
                   reason != NULL && *reason != '\0' ? reason : soup_status_get_phrase (status));
}

/* The answer of @msg: its status, reason phrase and Retry-After */
void
bt_attempt_fail_message (BtAttempt *self, SoupMessage *msg)
{
  bt_attempt_fail_http (
      self, soup_message_get_status (msg), soup_message_get_reason_phrase (msg),
      soup_message_headers_get_one (soup_message_get_response_headers (msg), "Retry-After"));
}

void
bt_attempt_fail_ftp (BtAttempt *self, guint code, const char *text)
{
  gboolean transient;
  BtErrorStatus error_status = bt_error_status_for_ftp (code, &transient);

  bt_attempt_fail (self, error_status, transient, 0, "FTP %s", text != NULL ? text : "error");
}

/* ---- Completion --------------------------------------------------------- */

static void
on_committed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BtAttempt *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!bt_commit_finish (BT_TRANSFER (source), result, &error) && !self->stopped && !self->ended)
    end_with_local_error (self, error);
  else if (!self->stopped && !self->ended)
    end (self, BT_ERROR_STATUS_NONE, NULL, FALSE, 0);
  bt_attempt_unref (self);
}

/* The data is complete and checked: in place, durably, together with
 * whatever else completes meanwhile (bt-commit.c) */
static void
commit (BtAttempt *self)
{
  bt_commit_async (self->transfer, self->cancellable, on_committed, bt_attempt_ref (self));
}

static void
on_verified (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BtAttempt *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!bt_verify_finish (result, &error) && !self->stopped && !self->ended)
    {
      if (error->domain == BT_ERROR)
        end (self, BT_ERROR_STATUS_CHECKSUM_MISMATCH, error->message, FALSE, 0);
      else
        end_with_local_error (self, error);
    }
  else if (!self->stopped && !self->ended)
    commit (self);
  bt_attempt_unref (self);
}

/* Everything arrived (or was sent): check it, then put it in place. A
 * digest mismatch never reaches the destination. */
static void
complete (BtAttempt *self)
{
  BtTransfer *transfer = self->transfer;
  g_autoptr (GPtrArray) digests = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  int fd;

  if (self->stopped || self->ended)
    return;
  self->phase = PHASE_ENDING;
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  if (bt_transfer_get_total_bytes (transfer) == BT_SIZE_UNKNOWN)
    bt_transfer_set_total_bytes (transfer, bt_transfer_get_bytes_received (transfer));

  if (self->kind == BT_KIND_UPLOAD)
    {
      if (!bt_source_check_unchanged (bt_transfer_get_source (transfer), &error))
        {
          end (self, BT_ERROR_STATUS_RESOURCE_CHANGED, error->message, FALSE, 0);
          return;
        }
      if (bt_transfer_get_total_to_send (transfer) == BT_SIZE_UNKNOWN)
        bt_transfer_set_bytes_sent (transfer, bt_transfer_get_bytes_sent (transfer), TRUE);
      commit (self);
      return;
    }

  if (bt_transfer_get_checksum (transfer) != NULL)
    g_ptr_array_add (digests, bt_transfer_get_checksum (transfer));
  if (bt_transfer_get_server_digest (transfer) != NULL)
    g_ptr_array_add (digests, bt_transfer_get_server_digest (transfer));
  if (digests->len == 0)
    {
      commit (self);
      return;
    }
  fd = bt_destination_open_result (bt_transfer_get_destination (transfer), FALSE, &error);
  if (fd < 0)
    {
      end_with_local_error (self, error);
      return;
    }
  /* The digests stay owned by the transfer, which the attempt keeps alive */
  bt_verify_async (fd, digests, self->cancellable, on_verified, bt_attempt_ref (self));
}

void
bt_attempt_complete (BtAttempt *self)
{
  self->job = NULL;
  complete (self);
}

/* ---- Watchdog: timeouts, low speed, rate -------------------------------- */

static void
time_out (BtAttempt *self)
{
  g_debug ("Transfer %s: timed out", bt_transfer_get_id (self->transfer));
  self->timed_out = TRUE;
  g_cancellable_cancel (self->cancellable);
}

static gboolean
on_watchdog (gpointer user_data)
{
  BtAttempt *self = user_data;
  BtTransfer *transfer = self->transfer;
  guint64 old_rate = bt_transfer_get_rate (transfer);

  /* Smoothed rate, once a second */
  bt_transfer_set_rate (transfer,
                        old_rate == 0 ? self->rate_bytes : (old_rate * 3 + self->rate_bytes) / 4);
  self->rate_bytes = 0;

  if (self->phase == PHASE_WAITING)
    {
      gint64 limit_s
          = (gint64) bt_attempt_get_connect_timeout (self) + bt_attempt_get_response_timeout (self);

      if (g_get_monotonic_time () - self->last_activity_us > limit_s * G_USEC_PER_SEC)
        time_out (self);
      return G_SOURCE_CONTINUE;
    }

  /* Low speed, while data flows in or out: fewer than low-speed-limit
   * bytes/s over low-speed-time s */
  if (++self->window_seconds >= MAX (g_settings_get_uint (self->settings, "low-speed-time"), 1))
    {
      guint64 limit = g_settings_get_uint (self->settings, "low-speed-limit");

      if (self->window_bytes < limit * self->window_seconds)
        time_out (self);
      self->window_bytes = 0;
      self->window_seconds = 0;
    }
  return G_SOURCE_CONTINUE;
}

static void
activity (BtAttempt *self, guint64 bytes)
{
  self->window_bytes += bytes;
  self->rate_bytes += bytes;
  self->last_activity_us = g_get_monotonic_time ();
}

/* ---- Receiving a body --------------------------------------------------- */

static void read_next (BtAttempt *self);

/* Every checkpoint-interval-bytes or -ms, whichever comes first, record
 * how far the data goes (SPEC §3 "Persistence"); flush it to the disk
 * first at most once per checkpoint-interval-ms, so that a fast download
 * does not wait for the disk (see bt_transfer_checkpoint_in_background()) */
static void
maybe_checkpoint (BtAttempt *self)
{
  BtTransfer *transfer = self->transfer;
  gint64 now = g_get_monotonic_time ();
  gboolean flush;

  if (bt_transfer_get_bytes_received (transfer) - bt_transfer_get_checkpoint_bytes (transfer)
          < self->checkpoint_bytes
      && now - self->last_checkpoint_us < self->checkpoint_us)
    return;
  self->last_checkpoint_us = now;
  flush = now - self->last_sync_us >= self->checkpoint_us;
  if (flush)
    self->last_sync_us = now;
  bt_transfer_checkpoint_in_background (transfer, flush);
}

static gboolean
on_throttled (gpointer user_data)
{
  BtAttempt *self = user_data;

  self->throttle_id = 0;
  read_next (self);
  return G_SOURCE_REMOVE;
}

/* Under a rate limit (the transfer's max-rate, the global
 * max-download-rate) the next read waits for the bucket */
static void
throttle_then_read (BtAttempt *self, guint64 bytes)
{
  gint64 now = g_get_monotonic_time ();
  /* Both buckets are charged (not inside MAX (), which evaluates twice) */
  gint64 own = bt_rate_limiter_take (bt_transfer_get_rate_limiter (self->transfer), bytes, now);
  gint64 global = bt_rate_limiter_take (bt_rate_limiter_get_global_download (), bytes, now);
  gint64 wait = MAX (own, global);

  if (wait <= 0 || self->response_mode)
    {
      read_next (self);
      return;
    }
  self->throttle_id
      = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint) (wait / 1000) + 1, on_throttled,
                            bt_attempt_ref (self), (GDestroyNotify) bt_attempt_unref);
}

static void
body_done (BtAttempt *self)
{
  BtAttemptBodyDone done = self->done;

  g_clear_object (&self->stream);
  self->phase = PHASE_WAITING;
  self->last_activity_us = g_get_monotonic_time ();
  if (done != NULL)
    done (self, self->done_data);
  else
    complete (self);
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BtAttempt *self = user_data;
  BtTransfer *transfer = self->transfer;
  BtDestination *destination = bt_transfer_get_destination (transfer);
  g_autoptr (GError) error = NULL;
  guint64 received = bt_transfer_get_bytes_received (transfer);
  guint64 total = bt_transfer_get_total_bytes (transfer);
  gssize n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (self->stopped || self->ended)
    goto out;
  if (n < 0)
    {
      end_with_error (self, error);
      goto out;
    }

  if (n == 0)
    {
      if (!self->response_mode && total != BT_SIZE_UNKNOWN && received < total)
        /* RFC 9112 §6.3: incomplete, never "completed"; the retry resumes */
        end (self, BT_ERROR_STATUS_CONNECTION_RESET,
             "The connection closed before the end of the data", TRUE, 0);
      else
        body_done (self);
      goto out;
    }

  activity (self, (guint64) n);
  if (self->response_mode)
    {
      /* Beyond the limit the reply is cut, never the service's memory */
      gsize keep
          = (gsize) MIN ((guint64) n, self->response_limit - MIN (self->response_limit, received));

      if (keep > 0 && !bt_destination_write (destination, received, self->buffer, keep, &error))
        {
          end_with_local_error (self, error);
          goto out;
        }
      if (keep > 0)
        bt_transfer_set_bytes_received (transfer, received + keep);
      read_next (self);
      goto out;
    }

  if (total != BT_SIZE_UNKNOWN && received + (guint64) n > total)
    {
      end (self, BT_ERROR_STATUS_PROTOCOL_ERROR, "The server sent more data than announced", TRUE,
           0);
      goto out;
    }
  if (!bt_destination_write (destination, received, self->buffer, (gsize) n, &error))
    {
      end_with_local_error (self, error);
      goto out;
    }
  bt_transfer_set_bytes_received (transfer, received + (guint64) n);
  if (bt_transfer_get_policy (transfer) != NULL)
    bt_policy_account (bt_transfer_get_policy (transfer), (guint64) n);
  maybe_checkpoint (self);
  throttle_then_read (self, (guint64) n);

out:
  bt_attempt_unref (self);
}

static void
read_next (BtAttempt *self)
{
  gsize size = self->buffer_size;

  if (self->stopped || self->ended)
    return;
  if (!self->response_mode)
    size = bt_rate_limiter_chunk (
        bt_transfer_get_rate_limiter (self->transfer),
        bt_rate_limiter_chunk (bt_rate_limiter_get_global_download (), self->buffer_size));
  g_input_stream_read_async (self->stream, self->buffer, size, G_PRIORITY_DEFAULT,
                             self->cancellable, on_read, bt_attempt_ref (self));
}

static void
receive (BtAttempt *self, GInputStream *stream, BtAttemptBodyDone done, gpointer user_data)
{
  g_set_object (&self->stream, stream);
  self->done = done;
  self->done_data = user_data;
  self->phase = PHASE_BODY;
  self->window_bytes = 0;
  self->window_seconds = 0;
  if (self->buffer == NULL)
    {
      guint64 total = bt_transfer_get_total_bytes (self->transfer);
      guint64 left = total - MIN (total, bt_transfer_get_bytes_received (self->transfer));

      /* A small body gets a small buffer (one more byte tells a longer
       * one): sixteen small downloads at once do not each hold 1 MiB,
       * which would stay in the heap long after */
      self->buffer_size = READ_BUFFER_SIZE;
      if (!self->response_mode && total != BT_SIZE_UNKNOWN && left < READ_BUFFER_SIZE)
        self->buffer_size = MAX ((gsize) left + 1, 4096);
      self->buffer = g_malloc (self->buffer_size);
    }
  read_next (self);
}

/*
 * bt_attempt_receive_body:
 * @done: (nullable): called at the end of the data, once it is all there;
 *   %NULL to complete the attempt then
 *
 * Reads @stream to its end into the destination at the current offset.
 */
void
bt_attempt_receive_body (BtAttempt *self, GInputStream *stream, BtAttemptBodyDone done,
                         gpointer user_data)
{
  self->response_mode = FALSE;
  receive (self, stream, done, user_data);
}

/*
 * bt_attempt_receive_response:
 * @total: the size the server announced, or %BT_SIZE_UNKNOWN
 *
 * An upload's reply: kept from zero, up to max-response-size when the
 * service keeps it itself.
 */
void
bt_attempt_receive_response (BtAttempt *self, GInputStream *stream, guint64 total,
                             BtAttemptBodyDone done, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  BtTransfer *transfer = self->transfer;

  if (!bt_destination_truncate (bt_transfer_get_destination (transfer), 0, &error))
    {
      self->job = NULL;
      end_with_local_error (self, error);
      return;
    }
  bt_transfer_set_bytes_received (transfer, 0);
  bt_transfer_set_total_bytes (transfer, total);
  self->response_mode = TRUE;
  self->response_limit = bt_transfer_get_response_in_state (transfer)
                             ? g_settings_get_uint64 (self->settings, "max-response-size")
                             : G_MAXUINT64;
  receive (self, stream, done, user_data);
}

/* ---- What the engines ask ----------------------------------------------- */

const char *
bt_attempt_get_transfer_id (BtAttempt *self)
{
  return bt_transfer_get_id (self->transfer);
}

GUri *
bt_attempt_get_uri (BtAttempt *self)
{
  return self->uri;
}

const char *
bt_attempt_get_method (BtAttempt *self)
{
  return bt_transfer_get_method (self->transfer);
}

GCancellable *
bt_attempt_get_cancellable (BtAttempt *self)
{
  return self->cancellable;
}

SoupSession *
bt_attempt_get_soup_session (BtAttempt *self)
{
  return self->session;
}

guint
bt_attempt_get_connect_timeout (BtAttempt *self)
{
  return g_settings_get_uint (self->settings, "connect-timeout");
}

guint
bt_attempt_get_response_timeout (BtAttempt *self)
{
  return g_settings_get_uint (self->settings, "response-timeout");
}

static gboolean
same_origin (GUri *a, GUri *b)
{
  return g_ascii_strcasecmp (g_uri_get_scheme (a), g_uri_get_scheme (b)) == 0
         && g_ascii_strcasecmp (g_uri_get_host (a), g_uri_get_host (b)) == 0
         && g_uri_get_port (a) == g_uri_get_port (b);
}

/*
 * bt_attempt_add_request_headers:
 * @target: where the request goes (after redirects)
 *
 * The app's headers; its secret ones (Authorization, Cookie, …) only to
 * the origin it named: they never follow a redirect elsewhere.
 */
void
bt_attempt_add_request_headers (BtAttempt *self, SoupMessageHeaders *headers, GUri *target)
{
  GPtrArray *plain = bt_transfer_get_headers (self->transfer);
  GPtrArray *secret = bt_secrets_get_headers (bt_transfer_get_secrets (self->transfer));
  gboolean same = same_origin (target, self->origin);

  for (guint i = 0; i + 1 < plain->len; i += 2)
    {
      const char *name = g_ptr_array_index (plain, i);

      if (!same && bt_header_is_secret (name))
        continue;
      soup_message_headers_append (headers, name, g_ptr_array_index (plain, i + 1));
    }
  for (guint i = 0; same && i + 1 < secret->len; i += 2)
    soup_message_headers_append (headers, g_ptr_array_index (secret, i),
                                 g_ptr_array_index (secret, i + 1));
}

/*
 * bt_attempt_get_credentials:
 * @proxy: the proxy's credentials rather than the server's
 * @target: (nullable): where they would go; server credentials stay with
 *   the origin the app named
 *
 * Returns: whether there are credentials for @target
 */
gboolean
bt_attempt_get_credentials (BtAttempt *self, gboolean proxy, GUri *target,
                            const char **out_username, const char **out_password)
{
  BtSecrets *secrets = bt_transfer_get_secrets (self->transfer);

  if (!proxy && target != NULL && !same_origin (target, self->origin))
    return FALSE;
  return bt_secrets_get_credential (secrets, proxy, out_username, out_password);
}

/*
 * bt_attempt_get_resume_offset:
 *
 * Returns: where to ask the server to start: the data on disk, if the
 *   resource has a validator to check it against; 0 otherwise
 */
guint64
bt_attempt_get_resume_offset (BtAttempt *self)
{
  BtTransfer *transfer = self->transfer;

  if (!bt_transfer_get_is_resumable (transfer) || bt_attempt_get_validator (self) == NULL)
    return 0;
  return bt_transfer_get_bytes_received (transfer);
}

/* The strong ETag, or else the modification time, recorded earlier */
const char *
bt_attempt_get_validator (BtAttempt *self)
{
  const char *etag = bt_transfer_get_etag (self->transfer);

  return etag != NULL ? etag : bt_transfer_get_last_modified (self->transfer);
}

gboolean
bt_attempt_get_fail_if_changed (BtAttempt *self)
{
  return bt_transfer_get_fail_if_changed (self->transfer);
}

guint64
bt_attempt_get_known_total (BtAttempt *self)
{
  return bt_transfer_get_total_bytes (self->transfer);
}

const char *
bt_attempt_get_source_path (BtAttempt *self)
{
  BtSource *source = bt_transfer_get_source (self->transfer);

  return source != NULL ? bt_source_get_path (source) : NULL;
}

const char *
bt_attempt_get_content_type (BtAttempt *self)
{
  BtSource *source = bt_transfer_get_source (self->transfer);

  return source != NULL ? bt_source_get_content_type (source) : NULL;
}

guint64
bt_attempt_get_total_to_send (BtAttempt *self)
{
  return bt_transfer_get_total_to_send (self->transfer);
}

gboolean
bt_attempt_is_tus (BtAttempt *self)
{
  return bt_transfer_is_tus (self->transfer);
}

const char *
bt_attempt_get_resume_url (BtAttempt *self)
{
  return bt_transfer_get_resume_url (self->transfer);
}

/*
 * bt_attempt_open_source:
 *
 * The upload's data from @offset, under the transfer's max-rate and the
 * global max-upload-rate. A source that changed or vanished since the
 * transfer was created is an error of the BT_ERROR domain
 * (resource-changed).
 */
GInputStream *
bt_attempt_open_source (BtAttempt *self, guint64 offset, GError **error)
{
  BtSource *source = bt_transfer_get_source (self->transfer);
  g_autoptr (GInputStream) body = NULL;
  g_autoptr (GError) local_error = NULL;

  if (!bt_source_check_unchanged (source, &local_error)
      || (body = bt_source_open (source, offset, &local_error)) == NULL)
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_FAILED, local_error->message);
      return NULL;
    }
  bt_concat_input_stream_add_limiter (BT_CONCAT_INPUT_STREAM (body),
                                      bt_transfer_get_rate_limiter (self->transfer));
  bt_concat_input_stream_add_limiter (BT_CONCAT_INPUT_STREAM (body),
                                      bt_rate_limiter_get_global_upload ());
  bt_transfer_set_bytes_sent (self->transfer, offset, FALSE);
  return g_steal_pointer (&body);
}

void
bt_attempt_guard_message (BtAttempt *self, SoupMessage *msg)
{
  if (!self->may_reach_local)
    bt_forbid_local_network (msg, self->cancellable, &self->local_denied);
}

/*
 * bt_attempt_check_address:
 *
 * The local-network rule for an address the engine is about to connect
 * to; may be called from any thread. The error (BT_ERROR_ACCESS_DENIED)
 * ends the attempt in forbidden, unless another address is reached.
 */
gboolean
bt_attempt_check_address (BtAttempt *self, GSocketAddress *address, GError **error)
{
  if (self->may_reach_local
      || (G_IS_INET_SOCKET_ADDRESS (address)
          && !bt_address_is_local (
              g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)))))
    return TRUE;
  g_set_error_literal (error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                       "This application may not reach this machine or the local network");
  return FALSE;
}

/*
 * bt_attempt_check_peer:
 *
 * The local-network rule for a connection the engine made itself; may be
 * called from any thread. The error (BT_ERROR_ACCESS_DENIED) ends the
 * attempt in forbidden.
 */
gboolean
bt_attempt_check_peer (BtAttempt *self, GSocketConnection *connection, GError **error)
{
  if (self->may_reach_local || bt_connection_may_be_reached (connection))
    return TRUE;
  g_set_error_literal (error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                       "This application may not reach this machine or the local network");
  return FALSE;
}

/* ---- What the engines tell ---------------------------------------------- */

void
bt_attempt_request_sent (BtAttempt *self)
{
  self->phase = PHASE_WAITING;
  self->last_activity_us = g_get_monotonic_time ();
}

void
bt_attempt_record_response (BtAttempt *self, guint status, SoupMessageHeaders *headers,
                            GUri *actual_uri)
{
  GPtrArray *pairs = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *actual = actual_uri != NULL ? g_uri_to_string (actual_uri) : NULL;
  SoupMessageHeadersIter iter;
  const char *name, *value;

  if (headers != NULL)
    {
      soup_message_headers_iter_init (&iter, headers);
      while (soup_message_headers_iter_next (&iter, &name, &value))
        {
          g_ptr_array_add (pairs, g_strdup (name));
          g_ptr_array_add (pairs, g_strdup (value));
        }
    }
  self->last_activity_us = g_get_monotonic_time ();
  bt_transfer_set_response (self->transfer, status, pairs, actual);
}

/*
 * bt_attempt_record_validators:
 * @total: the resource's size, or %BT_SIZE_UNKNOWN
 * @etag: (nullable): a strong entity tag
 * @last_modified: (nullable): the modification time (HTTP date, FTP MDTM)
 * @resumable: whether the server can send a part of the resource
 *
 * Called at the first response of each attempt: recorded in the store at
 * once, so that whatever stops the attempt, the next resumes.
 */
void
bt_attempt_record_validators (BtAttempt *self, guint64 total, const char *etag,
                              const char *last_modified, gboolean resumable)
{
  bt_transfer_set_validators (self->transfer, total, etag, last_modified, resumable);
}

void
bt_attempt_record_server_digest (BtAttempt *self, const char *header_name, const char *value)
{
  bt_transfer_set_server_digest (
      self->transfer, value != NULL ? bt_digest_parse_header (header_name, value) : NULL);
}

void
bt_attempt_record_resume_url (BtAttempt *self, const char *url)
{
  bt_transfer_set_resume_url (self->transfer, url);
}

/*
 * bt_attempt_restart_at:
 * @offset: where the data now starts over; 0 to start from zero
 * @why: (nullable): for the journal, when data is thrown away
 *
 * Drops the data beyond @offset. Returns %FALSE if the destination could
 * not follow: the attempt has then ended, and the engine frees its job.
 */
gboolean
bt_attempt_restart_at (BtAttempt *self, guint64 offset, const char *why)
{
  g_autoptr (GError) error = NULL;

  if (why != NULL)
    g_message ("Transfer %s: %s; restarting from %" G_GUINT64_FORMAT,
               bt_transfer_get_id (self->transfer), why, offset);
  if (!bt_destination_truncate (bt_transfer_get_destination (self->transfer), offset, &error))
    {
      self->job = NULL;
      end_with_local_error (self, error);
      return FALSE;
    }
  bt_transfer_set_bytes_received (self->transfer, offset);
  if (offset == 0)
    bt_transfer_restarted (self->transfer);
  return TRUE;
}

/* A failure after which the request must not be repeated behind the app's
 * back (a POST whose body may have reached the server, FAULTS P7) */
void
bt_attempt_set_repeatable (BtAttempt *self, gboolean repeatable)
{
  self->repeatable = repeatable;
}

void
bt_attempt_sent (BtAttempt *self, guint64 bytes_sent_in_all)
{
  guint64 before = bt_transfer_get_bytes_sent (self->transfer);

  if (self->phase == PHASE_WAITING)
    {
      /* The body flows: the low-speed watchdog watches it */
      self->phase = PHASE_SENDING;
      self->window_bytes = 0;
      self->window_seconds = 0;
    }
  if (bytes_sent_in_all > before)
    activity (self, bytes_sent_in_all - before);
  bt_transfer_set_bytes_sent (self->transfer, bytes_sent_in_all, FALSE);
}

/* ---- Life --------------------------------------------------------------- */

static gboolean
on_start (gpointer user_data)
{
  BtAttempt *self = user_data;
  g_autoptr (GError) error = NULL;

  if (self->stopped || self->ended)
    return G_SOURCE_REMOVE;
  if (self->engine == NULL)
    {
      end (self, BT_ERROR_STATUS_PROTOCOL_ERROR, "No engine speaks this URI's scheme", FALSE, 0);
      return G_SOURCE_REMOVE;
    }
  if (bt_destination_open (bt_transfer_get_destination (self->transfer), &error) < 0)
    {
      end_with_local_error (self, error);
      return G_SOURCE_REMOVE;
    }
  self->watchdog_id = g_timeout_add_seconds (1, on_watchdog, self);
  self->job = self->engine->start (self);
  return G_SOURCE_REMOVE;
}

/*
 * bt_attempt_start:
 * @session: the service's HTTP session; a transfer with credentials gets
 *   one of its own, since libsoup caches them per session and host
 *
 * Starts an attempt with the engine registered for the transfer's kind and
 * scheme. The engine begins from the main loop, so that every outcome,
 * even an immediate one, reaches a transfer that holds its attempt.
 *
 * Returns: (transfer full): the attempt
 */
BtAttempt *
bt_attempt_start (BtTransfer *transfer, SoupSession *session)
{
  BtAttempt *self = g_new0 (BtAttempt, 1);
  BtScheme scheme = BT_SCHEME_HTTP;
  BtSecrets *secrets = bt_transfer_get_secrets (transfer);

  self->ref_count = 1;
  self->transfer = g_object_ref (transfer);
  self->kind = bt_transfer_get_kind (transfer);
  self->uri = bt_validate_uri (bt_transfer_get_current_uri (transfer), &scheme, NULL);
  self->engine = self->uri != NULL ? bt_engine_lookup (self->kind, scheme) : NULL;
  self->origin = self->uri != NULL ? g_uri_ref (self->uri) : NULL;
  self->cancellable = g_cancellable_new ();
  self->settings = g_object_ref (bt_transfer_get_settings (transfer));
  self->repeatable = TRUE;
  self->may_reach_local = bt_transfer_may_reach_local_network (transfer);
  self->checkpoint_bytes
      = MAX (g_settings_get_uint64 (self->settings, "checkpoint-interval-bytes"), 1);
  self->checkpoint_us
      = (gint64) g_settings_get_uint (self->settings, "checkpoint-interval-ms") * 1000;
  self->last_checkpoint_us = self->last_sync_us = self->last_activity_us = g_get_monotonic_time ();
  if (bt_secrets_get_credential (secrets, FALSE, NULL, NULL)
      || bt_secrets_get_credential (secrets, TRUE, NULL, NULL))
    self->session = bt_soup_session_new (self->settings);
  else if (session != NULL)
    self->session = g_object_ref (session);

  if (self->engine != NULL && g_uri_get_host (self->uri) != NULL)
    {
      self->host = g_ascii_strdown (g_uri_get_host (self->uri), -1);
      host_load_add (self->host, (gint) self->engine->connections);
    }

  bt_transfer_count_attempt (transfer);
  g_idle_add_full (G_PRIORITY_DEFAULT, on_start, bt_attempt_ref (self),
                   (GDestroyNotify) bt_attempt_unref);
  return self;
}

/*
 * bt_attempt_stop:
 *
 * The transfer stops listening (pause, cancel, policy, shutdown): the
 * engine is stopped and nothing is reported any more.
 */
void
bt_attempt_stop (BtAttempt *self)
{
  BtEngineJob *job = g_steal_pointer (&self->job);

  if (self->stopped)
    return;
  self->stopped = TRUE;
  release_host (self);
  g_clear_handle_id (&self->watchdog_id, g_source_remove);
  g_clear_handle_id (&self->throttle_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  if (job != NULL)
    self->engine->stop (job);
  bt_destination_close (bt_transfer_get_destination (self->transfer));
}
