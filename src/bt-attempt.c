/* bt-attempt.c: one attempt at moving a transfer's bytes, and the rules
 * every engine is held to
 *
 * The core starts an attempt with the engine registered for the
 * transfer's kind and scheme (bt-engine.h). The engine speaks its
 * protocol; everything else is here, once for all engines:
 *
 *  - timeouts: connect-timeout + response-timeout while waiting for an
 *    answer, the low-speed watchdog while data flows (docs/contract.md);
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
 *  - digests are verified and the data renamed into place before success;
 *  - a segmented download (bt-segmented.c) is the same engine many times:
 *    its attempt runs connections, each an attempt of its own that writes
 *    its segment at its offset under the same rules, the download's rate
 *    limits, checkpoints and policy shared by all of them.
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

#include "bt-settings.h"
#include "bt-attempt.h"
#include "bt-commit.h"
#include "bt-error.h"
#include "bt-error-map.h"
#include "bt-http-session.h"
#include "bt-localnet.h"
#include "bt-concat-stream.h"
#include "bt-segmented.h"

#define READ_BUFFER_SIZE (1024 * 1024)
/* How often a download waiting for the disk looks again */
#define WRITE_BACK_POLL_US (5 * G_TIME_SPAN_MILLISECOND)
/* A segmented download records its ranges once its writes pause this long */
#define QUIET_MS 100

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
  guint host_connections;   /* …with so many connections */
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

  /* A segmented download: this attempt runs the connections */
  guint segments_wanted; /* connections asked for; 0: one engine job, as ever */
  BtSegmented *segmented;
  gint64 last_write_us; /* of any of its connections */
  guint quiet_id;

  /* A connection of a segmented download: it writes [seg_pos, seg_end) */
  gboolean connection;
  BtAttempt *parent; /* not a reference: the parent stops its connections first */
  gboolean mirror;   /* its answers are checked against the first URI's, not recorded */
  guint64 seg_pos;
  guint64 seg_end;     /* BT_SIZE_UNKNOWN: to the end of the resource */
  guint64 request_end; /* where the range it asked for ends */
  guint64 request_written;
  guint64 conn_rate; /* bytes per second lately, smoothed */
  guint response_status;
  guint start_id; /* its next request starts from the main loop */
  guint begin_id; /* its engine starts from the main loop (bt_attempt_start()) */
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

static void
count_host (BtAttempt *self, guint connections)
{
  if (self->engine == NULL || g_uri_get_host (self->uri) == NULL)
    return;
  self->host = g_ascii_strdown (g_uri_get_host (self->uri), -1);
  self->host_connections = connections;
  host_load_add (self->host, (gint) connections);
}

/* The attempt's connections no longer count against its host */
static void
release_host (BtAttempt *self)
{
  g_autofree char *host = g_steal_pointer (&self->host);

  if (host != NULL)
    host_load_add (host, -(gint) self->host_connections);
}

/*
 * bt_attempt_get_host_load_of:
 *
 * Returns: the connections the running attempts have open to @host
 */
guint
bt_attempt_get_host_load_of (const char *host)
{
  g_autofree char *lower = host != NULL ? g_ascii_strdown (host, -1) : NULL;

  if (host_load == NULL || lower == NULL)
    return 0;
  return GPOINTER_TO_UINT (g_hash_table_lookup (host_load, lower));
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
  g_clear_handle_id (&self->start_id, g_source_remove);
  g_clear_handle_id (&self->quiet_id, g_source_remove);
  release_host (self);
  g_clear_pointer (&self->segmented, bt_segmented_free);
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

static gboolean on_watchdog (gpointer user_data);

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
  g_clear_handle_id (&self->start_id, g_source_remove);
  g_clear_handle_id (&self->quiet_id, g_source_remove);
  g_cancellable_cancel (self->cancellable); /* whatever of ours is in flight */
  if (job != NULL)
    self->engine->stop (job);
  if (self->connection)
    {
      /* The download goes on without it, or ends: its coordinator says */
      BtAttempt *parent = g_steal_pointer (&self->parent);

      g_clear_object (&self->stream);
      if (parent != NULL && parent->segmented != NULL)
        bt_segmented_connection_ended (parent->segmented, self, status, message, transient,
                                       retry_after_s);
      return;
    }
  if (self->segmented != NULL)
    bt_segmented_stop (self->segmented);
  bt_destination_close (bt_transfer_get_destination (self->transfer));
  transfer = g_object_ref (self->transfer);
  bt_transfer_attempt_done (transfer, self, status, message, transient, retry_after_s);
}

static void
end_with_local_error (BtAttempt *self, const GError *error)
{
  /* What a failed flush lost is fetched again, when the transfer resumes */
  bt_transfer_rewind_after_failed_flush (self->transfer);
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
      if (error->domain == BT_ERROR && self->segmented != NULL
          && bt_segmented_retry_without_mirrors (self->segmented))
        {
          /* Mirrors' data went into it: fetched again from the first URI */
          self->phase = PHASE_BODY;
          self->watchdog_id = g_timeout_add_seconds (1, on_watchdog, self);
        }
      else if (error->domain == BT_ERROR)
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
  if (self->connection)
    {
      /* Its request is done; the coordinator gives it more, or stops it */
      g_clear_object (&self->stream);
      self->phase = PHASE_WAITING;
      if (self->parent != NULL && self->parent->segmented != NULL)
        bt_segmented_connection_idle (self->parent->segmented, self);
      return;
    }
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

  /* Smoothed rate, once a second (a download's connections count in its
   * attempt's) */
  if (!self->connection)
    bt_transfer_set_rate (transfer,
                          old_rate == 0 ? self->rate_bytes : (old_rate * 3 + self->rate_bytes) / 4);
  else
    self->conn_rate
        = self->conn_rate == 0 ? self->rate_bytes : (self->conn_rate * 3 + self->rate_bytes) / 4;
  self->rate_bytes = 0;

  /* The connections watch their own time; more may join when the hosts
   * have room */
  if (self->segmented != NULL)
    {
      bt_segmented_tick (self->segmented);
      return G_SOURCE_CONTINUE;
    }

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
  if (++self->window_seconds >= MAX (bt_settings_get_uint (self->settings, "low-speed-time"), 1))
    {
      guint64 limit = bt_settings_get_uint (self->settings, "low-speed-limit");

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
  if (self->connection && self->parent != NULL)
    self->parent->rate_bytes += bytes;
}

/* ---- Receiving a body --------------------------------------------------- */

static void read_next (BtAttempt *self);

/* Every checkpoint-interval-bytes or -ms, whichever comes first, record
 * how far the data goes (docs/contract.md "Persistence and resuming"); flush it to the disk
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

/* A segmented download's data arrives from many connections, often in
 * bursts (a server's rate limit): what a burst brought is recorded as soon
 * as the writes pause, not at the next write, so that a crash then costs
 * nothing. Written at offsets, the file's length cannot tell after a crash
 * what is data; only the recorded ranges can. */
static gboolean
on_quiet (gpointer user_data)
{
  BtAttempt *self = user_data;
  BtTransfer *transfer = self->transfer;
  gint64 now = g_get_monotonic_time ();

  if (bt_transfer_get_bytes_received (transfer) != bt_transfer_get_checkpoint_bytes (transfer)
      && now - self->last_write_us >= QUIET_MS * 1000)
    {
      self->last_checkpoint_us = now;
      bt_transfer_checkpoint_in_background (transfer, FALSE);
    }
  return G_SOURCE_CONTINUE;
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
 * max-download-rate) the next read waits for the bucket; when the disk
 * lags behind the network, for the disk (bt-flusher.c, write-back) */
static void
throttle_then_read (BtAttempt *self, guint64 bytes)
{
  gint64 now = g_get_monotonic_time ();
  /* Both buckets are charged (not inside MAX (), which evaluates twice) */
  gint64 own = bt_rate_limiter_take (bt_transfer_get_rate_limiter (self->transfer), bytes, now);
  gint64 global = bt_rate_limiter_take (bt_rate_limiter_get_global_download (), bytes, now);
  gint64 wait = MAX (own, global);

  if (!self->response_mode
      && bt_destination_write_back_lags (bt_transfer_get_destination (self->transfer)))
    wait = MAX (wait, WRITE_BACK_POLL_US);
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

/* A connection of a segmented download read @n bytes, or the end (0) or
 * an error (< 0) of its answer. It writes them at its offset, never
 * beyond its segment's end, which another connection may have moved back
 * meanwhile (work stealing): there it is done with this segment. */
static void
connection_read (BtAttempt *self, gssize n, const GError *error)
{
  BtTransfer *transfer = self->transfer;
  guint64 total = bt_transfer_get_total_bytes (transfer);
  g_autoptr (GError) write_error = NULL;
  guint64 keep;

  if (n < 0)
    {
      end_with_error (self, error);
      return;
    }
  if (n == 0)
    {
      /* The answer ended: if the segment goes on, another request asks
       * for the rest; an answer that brought nothing ends the connection */
      if (self->request_written == 0 && self->seg_pos < self->seg_end && total != BT_SIZE_UNKNOWN)
        {
          end (self, BT_ERROR_STATUS_CONNECTION_RESET,
               "The connection closed before the end of the data", TRUE, 0);
          return;
        }
      complete (self);
      return;
    }

  keep = MIN ((guint64) n, self->seg_end - self->seg_pos);
  if (keep == 0)
    {
      /* More than its segment (moved back meanwhile): the rest is another's */
      complete (self);
      return;
    }
  if (total != BT_SIZE_UNKNOWN && self->seg_pos + keep > total)
    {
      end (self, BT_ERROR_STATUS_PROTOCOL_ERROR, "The server sent more data than announced", TRUE,
           0);
      return;
    }
  if (!bt_destination_write (bt_transfer_get_destination (transfer), self->seg_pos, self->buffer,
                             (gsize) keep, &write_error))
    {
      end_with_local_error (self, write_error);
      return;
    }
  bt_transfer_add_received (transfer, self->seg_pos, keep);
  self->seg_pos += keep;
  self->request_written += keep;
  activity (self, keep);
  self->parent->last_write_us = self->last_activity_us;
  if (bt_transfer_get_policy (transfer) != NULL)
    bt_policy_account (bt_transfer_get_policy (transfer), keep);
  maybe_checkpoint (self->parent);
  /* Done with its segment: more work, or it stops (its coordinator). An
   * answer that ends there is read to its end first, so that its
   * connection serves the next request. */
  if (self->seg_pos >= self->seg_end && self->seg_pos != self->request_end)
    {
      complete (self);
      return;
    }
  throttle_then_read (self, keep);
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
  /* (A connection's answer it gave up for another request is no longer its stream) */
  if (self->stopped || self->ended || G_INPUT_STREAM (source) != self->stream)
    goto out;
  if (self->connection)
    {
      connection_read (self, n, error);
      goto out;
    }
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
  if (self->connection)
    {
      g_autoptr (BtAttempt) guard G_GNUC_UNUSED = bt_attempt_ref (self);

      /* Its answer was judged (a 206 where it asked, the same resource):
       * the coordinator may split the download now */
      self->request_written = 0;
      if (self->parent != NULL && self->parent->segmented != NULL)
        bt_segmented_connection_answered (self->parent->segmented, self);
      if (self->stopped || self->ended)
        return;
    }
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
                             ? bt_settings_get_uint64 (self->settings, "max-response-size")
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
  return bt_settings_get_uint (self->settings, "connect-timeout");
}

guint
bt_attempt_get_response_timeout (BtAttempt *self)
{
  return bt_settings_get_uint (self->settings, "response-timeout");
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
 * bt_attempt_answer_challenge:
 * @msg: the request @auth challenges
 * @retrying: whether these credentials were already refused
 *
 * The one answer to an HTTP authentication challenge, for every HTTP
 * engine: each set of credentials is offered once (a wrong password ends
 * in unauthorized, not a loop); a proxy's challenge is answered with the
 * proxy's credentials (the request never reached the server, so sending
 * it again repeats nothing); a server's challenge only for a download,
 * and only from the origin the app named. An upload's request body is
 * never sent twice behind the app's back: its engine offers the server's
 * credentials with the first request instead.
 *
 * Returns: whether @auth was answered
 */
gboolean
bt_attempt_answer_challenge (BtAttempt *self, SoupMessage *msg, SoupAuth *auth, gboolean retrying)
{
  gboolean proxy = soup_auth_is_for_proxy (auth);
  const char *username, *password;

  if (retrying || (!proxy && self->kind == BT_KIND_UPLOAD))
    return FALSE;
  if (!bt_attempt_get_credentials (self, proxy, soup_message_get_uri (msg), &username, &password))
    return FALSE;
  soup_auth_authenticate (auth, username, password);
  return TRUE;
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

  if (self->connection)
    return self->seg_pos;
  if (!bt_transfer_get_is_resumable (transfer) || bt_attempt_get_validator (self) == NULL)
    return 0;
  /* The data from the start without a gap (all of it, unless a segmented
   * download left holes) */
  return bt_range_set_get_prefix (bt_transfer_get_ranges (transfer));
}

/*
 * bt_attempt_is_segment:
 *
 * Returns: whether the attempt is a connection of a segmented download,
 *   which always asks for a range
 */
gboolean
bt_attempt_is_segment (BtAttempt *self)
{
  return self->connection;
}

/*
 * bt_attempt_get_range_end:
 *
 * Returns: where the range to ask for ends (exclusive), or
 *   %BT_SIZE_UNKNOWN for the end of the resource
 */
guint64
bt_attempt_get_range_end (BtAttempt *self)
{
  guint64 total = bt_transfer_get_total_bytes (self->transfer);

  if (!self->connection || self->seg_end == BT_SIZE_UNKNOWN
      || (total != BT_SIZE_UNKNOWN && self->seg_end >= total))
    return BT_SIZE_UNKNOWN;
  return self->seg_end;
}

/* The strong ETag, or else the modification time, recorded earlier. A
 * mirror of a download with a checksum may have another: the checksum
 * judges its data. */
const char *
bt_attempt_get_validator (BtAttempt *self)
{
  const char *etag = bt_transfer_get_etag (self->transfer);

  if (self->mirror && bt_transfer_get_checksum (self->transfer) != NULL)
    return NULL;
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
  if (self->connection)
    self->request_end = MIN (self->seg_end, bt_transfer_get_total_bytes (self->transfer));
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
  self->response_status = status;
  if (self->mirror)
    {
      /* What the app sees is the first URI's */
      g_ptr_array_unref (pairs);
      return;
    }
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
  /* A mirror's answer was checked against these (bt_attempt_get_validator()) */
  if (self->mirror)
    return;
  bt_transfer_set_validators (self->transfer, total, etag, last_modified, resumable);
}

void
bt_attempt_record_server_digest (BtAttempt *self, const char *header_name, const char *value)
{
  if (self->mirror)
    return;
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

  if (self->connection)
    {
      BtEngineJob *job = g_steal_pointer (&self->job);
      gboolean ok;

      /* A segment asks only where it stands: nothing to drop there */
      if (offset > 0)
        {
          self->job = job;
          return TRUE;
        }
      /* The engine keeps its job, whatever happens to the download */
      if (self->mirror)
        {
          end (self, BT_ERROR_STATUS_RESOURCE_CHANGED,
               why != NULL ? why : "The mirror's copy differs", FALSE, 0);
          return FALSE;
        }
      ok = self->parent != NULL && self->parent->segmented != NULL
           && bt_segmented_connection_restart (self->parent->segmented, self, why);
      if (ok)
        self->job = job;
      return ok;
    }

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

  self->begin_id = 0;
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
  if (self->segments_wanted > 0)
    {
      g_autoptr (BtAttempt) guard G_GNUC_UNUSED = bt_attempt_ref (self);

      /* Its connections count against their hosts themselves */
      self->phase = PHASE_BODY;
      self->quiet_id = g_timeout_add (QUIET_MS, on_quiet, self);
      self->segmented = bt_segmented_new (self, self->segments_wanted);
      bt_segmented_start (self->segmented);
      release_host (self);
      return G_SOURCE_REMOVE;
    }
  self->job = self->engine->start (self);
  return G_SOURCE_REMOVE;
}

/* How many connections a segmented download opens, or 0 for one engine
 * job as ever (the fast path): only a GET download whose engine fetches
 * parts, asking for more than one connection, for random access, or with
 * holes in its data from an earlier segmented attempt */
static guint
segments_wanted (BtAttempt *self)
{
  BtTransfer *transfer = self->transfer;
  guint n;

  if (self->kind != BT_KIND_DOWNLOAD || self->engine == NULL || !self->engine->segments
      || !g_str_equal (bt_transfer_get_method (transfer), "GET"))
    return 0;
  n = MIN (bt_transfer_get_connections (transfer),
           MAX (bt_settings_get_uint (self->settings, "max-connections-per-host"), 1));
  if (n <= 1 && !bt_transfer_get_random_access (transfer)
      && bt_range_set_is_prefix (bt_transfer_get_ranges (transfer)))
    return 0;
  return MAX (n, 1);
}

/*
 * bt_attempt_start:
 * @session: the service's HTTP session; a transfer with credentials gets
 *   one of its own, since libsoup caches them per session and host
 *
 * Starts an attempt with the engine registered for the transfer's kind and
 * scheme. The engine begins from the main loop, so that every outcome,
 * even an immediate one, reaches a transfer that holds its attempt; or at
 * once, when the caller says so (bt_attempt_begin_now()).
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
      = MAX (bt_settings_get_uint64 (self->settings, "checkpoint-interval-bytes"), 1);
  self->checkpoint_us
      = (gint64) bt_settings_get_uint (self->settings, "checkpoint-interval-ms") * 1000;
  self->last_checkpoint_us = self->last_sync_us = self->last_activity_us = g_get_monotonic_time ();
  if (bt_secrets_get_credential (secrets, FALSE, NULL, NULL)
      || bt_secrets_get_credential (secrets, TRUE, NULL, NULL))
    self->session = bt_soup_session_new (self->settings);
  else if (session != NULL)
    self->session = g_object_ref (session);

  if (self->engine != NULL)
    count_host (self, self->engine->connections);
  self->segments_wanted = segments_wanted (self);

  bt_transfer_count_attempt (transfer);
  self->begin_id = g_idle_add_full (G_PRIORITY_DEFAULT, on_start, bt_attempt_ref (self),
                                    (GDestroyNotify) bt_attempt_unref);
  return self;
}

/*
 * bt_attempt_begin_now:
 *
 * The engine of an attempt just started begins now rather than from the
 * main loop, for a caller that can take any outcome at once: the
 * scheduler, once its pass is over and the transfer holds the attempt. A
 * thousand small files each save a round of the main loop before their
 * request, while their slot would wait for it.
 */
void
bt_attempt_begin_now (BtAttempt *self)
{
  g_autoptr (BtAttempt) guard = NULL;

  if (self->begin_id == 0)
    return;
  guard = bt_attempt_ref (self); /* the idle's reference goes with it */
  g_clear_handle_id (&self->begin_id, g_source_remove);
  on_start (self);
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
  g_clear_handle_id (&self->start_id, g_source_remove);
  g_clear_handle_id (&self->quiet_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  if (job != NULL)
    self->engine->stop (job);
  if (self->connection)
    {
      /* The download's file stays open for the others */
      self->parent = NULL;
      g_clear_object (&self->stream);
      return;
    }
  if (self->segmented != NULL)
    bt_segmented_stop (self->segmented);
  bt_destination_close (bt_transfer_get_destination (self->transfer));
}

/* The app asked for a range first (RequestRange) */
void
bt_attempt_request_range (BtAttempt *self)
{
  if (self->segmented != NULL && !self->stopped && !self->ended)
    bt_segmented_request_range (self->segmented);
}

/* ---- Segmented downloads ------------------------------------------------ */

BtTransfer *
bt_attempt_get_transfer (BtAttempt *self)
{
  return self->transfer;
}

static gboolean
on_connection_start (gpointer user_data)
{
  BtAttempt *self = user_data;

  self->start_id = 0;
  if (self->stopped || self->ended)
    return G_SOURCE_REMOVE;
  if (self->engine == NULL || !self->engine->segments)
    {
      end (self, BT_ERROR_STATUS_PROTOCOL_ERROR, "No engine fetches parts of this URI", FALSE, 0);
      return G_SOURCE_REMOVE;
    }
  self->request_written = 0;
  self->phase = PHASE_WAITING;
  self->last_activity_us = g_get_monotonic_time ();
  self->job = self->engine->start (self);
  return G_SOURCE_REMOVE;
}

/*
 * bt_attempt_new_connection:
 * @parent: the attempt of the segmented download
 * @uri: the first URI or a mirror
 * @mirror: whether @uri is a mirror: its answers are checked against the
 *   validators of the first, not recorded
 * @pos: where its segment starts
 * @end: where it ends, or %BT_SIZE_UNKNOWN for the end of the resource
 *
 * A connection of a segmented download: the engine for @uri's scheme,
 * under the rules of every attempt (timeouts, the local-network rule, its
 * host's connection count), writing its segment at its offset. Its
 * request starts from the main loop; it reports to @parent's coordinator.
 *
 * Returns: (transfer full): the connection
 */
BtAttempt *
bt_attempt_new_connection (BtAttempt *parent, const char *uri, gboolean mirror, guint64 pos,
                           guint64 end)
{
  BtAttempt *self = g_new0 (BtAttempt, 1);
  BtScheme scheme = BT_SCHEME_HTTP;

  self->ref_count = 1;
  self->transfer = g_object_ref (parent->transfer);
  self->kind = parent->kind;
  self->uri = bt_validate_uri (uri, &scheme, NULL);
  self->engine = self->uri != NULL ? bt_engine_lookup (self->kind, scheme) : NULL;
  self->origin = self->uri != NULL ? g_uri_ref (self->uri) : NULL;
  self->cancellable = g_cancellable_new ();
  self->settings = g_object_ref (parent->settings);
  self->session = parent->session != NULL ? g_object_ref (parent->session) : NULL;
  self->repeatable = TRUE;
  self->may_reach_local = parent->may_reach_local;
  self->connection = TRUE;
  self->parent = parent;
  self->mirror = mirror;
  self->seg_pos = pos;
  self->seg_end = end;
  self->last_activity_us = g_get_monotonic_time ();
  count_host (self, 1);
  self->watchdog_id = g_timeout_add_seconds (1, on_watchdog, self);
  self->start_id = g_idle_add (on_connection_start, self);
  return self;
}

guint64
bt_attempt_connection_get_pos (BtAttempt *self)
{
  return self->seg_pos;
}

guint64
bt_attempt_connection_get_end (BtAttempt *self)
{
  return self->seg_end;
}

/* Its rate lately, in bytes per second; 0 until a second has passed */
guint64
bt_attempt_connection_get_rate (BtAttempt *self)
{
  return self->conn_rate;
}

/* The status of its last answer */
guint
bt_attempt_connection_get_status (BtAttempt *self)
{
  return self->response_status;
}

/* Its segment ends earlier (another connection took the rest) or later;
 * what it already asked the server for does not change */
void
bt_attempt_connection_set_end (BtAttempt *self, guint64 end)
{
  self->seg_end = MAX (end, self->seg_pos);
}

/* Where the connection's current request writes from now on (the engine
 * asks again from there itself, after a restart of the download) */
void
bt_attempt_connection_set_segment (BtAttempt *self, guint64 pos, guint64 end)
{
  self->seg_pos = pos;
  self->seg_end = end;
  self->request_written = 0;
}

/*
 * bt_attempt_connection_move:
 *
 * The connection gives up its answer, if any (its TCP connection closes:
 * HTTP/1.1 cannot stop a body half-way), and asks for [@pos, @end).
 */
void
bt_attempt_connection_move (BtAttempt *self, guint64 pos, guint64 end)
{
  BtEngineJob *job = g_steal_pointer (&self->job);

  if (self->stopped || self->ended)
    return;
  self->seg_pos = pos;
  self->seg_end = end;
  g_clear_handle_id (&self->throttle_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_clear_object (&self->stream);
  if (job != NULL)
    self->engine->stop (job);
  self->phase = PHASE_WAITING;
  self->last_activity_us = g_get_monotonic_time ();
  if (self->start_id == 0)
    self->start_id = g_idle_add (on_connection_start, self);
}

/* Every byte is there: verify and commit (the connections are stopped) */
void
bt_attempt_segments_complete (BtAttempt *self)
{
  complete (self);
}

/* The download cannot go on with this attempt */
void
bt_attempt_segments_fail (BtAttempt *self, BtErrorStatus status, const char *message,
                          gboolean transient, guint retry_after_s)
{
  end (self, status, message, transient, retry_after_s);
}

/*
 * bt_attempt_segments_restart:
 * @why: (nullable): for the journal
 *
 * The download starts over from zero (a 200 to a segment, a changed
 * validator): the data is dropped and the app told at once. Returns
 * %FALSE if the destination could not follow: the attempt has then ended.
 */
gboolean
bt_attempt_segments_restart (BtAttempt *self, const char *why)
{
  g_autoptr (GError) error = NULL;

  g_message ("Transfer %s: %s; restarting from 0", bt_transfer_get_id (self->transfer),
             why != NULL ? why : "the data cannot be used");
  if (!bt_destination_truncate (bt_transfer_get_destination (self->transfer), 0, &error))
    {
      end_with_local_error (self, error);
      return FALSE;
    }
  bt_transfer_set_bytes_received (self->transfer, 0);
  bt_transfer_restarted (self->transfer);
  return TRUE;
}
