/* bt-download.c: moves a download's bytes over HTTP(S) with libsoup
 *
 * One job is one attempt: a request (following redirects hop by hop), the
 * resume decision on its answer, and the body written to the destination.
 * The body is read in large chunks from the main loop (libsoup's streams
 * are pollable, so no thread is involved) and written synchronously: one
 * syscall per chunk, no thread-pool hop per write. When the job ends by
 * itself it reports to the transfer; once stopped it reports nothing.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "bt-download.h"
#include "bt-error.h"
#include "bt-resume.h"
#include "bt-tls.h"
#include "bt-localnet.h"
#include "bt-validate.h"

#define READ_BUFFER_SIZE (1024 * 1024)
#define MAX_REDIRECTS 10

typedef struct
{
  BtJob parent;
  BtTransfer *transfer;
  SoupSession *session;
  GSettings *settings;
  GCancellable *cancellable;
  gboolean stopped;
  gboolean timed_out;
  gboolean local_denied; /* connected to a local address it may not reach */

  GUri *origin_uri;  /* what the app asked for: credentials stay with its origin */
  GUri *current_uri; /* after redirects */
  const char *method;
  guint redirects;
  gboolean restarted;
  GError *open_error;

  SoupMessage *msg;
  GInputStream *stream;
  guint64 requested_offset; /* Range sent from here; 0 for none */
  guint8 *buffer;

  guint64 checkpoint_bytes; /* settings, read once per attempt */
  gint64 checkpoint_us;
  gint64 last_checkpoint_us;
  gint64 last_sync_us;

  guint watchdog_id;
  guint throttle_id; /* waiting before the next read, under a rate limit */
  gint64 request_started_us;
  gboolean in_body;
  guint64 window_bytes; /* for the low-speed check */
  guint window_seconds;
  guint64 rate_bytes; /* bytes since the last rate update */
} BtDownloadJob;

static void send_request (BtDownloadJob *job);

static void
job_free (BtDownloadJob *job)
{
  g_clear_handle_id (&job->watchdog_id, g_source_remove);
  g_clear_error (&job->open_error);
  g_clear_object (&job->stream);
  g_clear_object (&job->msg);
  g_clear_pointer (&job->origin_uri, g_uri_unref);
  g_clear_pointer (&job->current_uri, g_uri_unref);
  g_clear_object (&job->cancellable);
  g_clear_object (&job->settings);
  g_clear_object (&job->session);
  g_clear_object (&job->transfer);
  g_free (job->buffer);
  g_free (job);
}

/* The attempt is over: hand the result to the transfer, which decides
 * about retries. The job is gone afterwards. */
static void
job_finish (BtDownloadJob *job, BtErrorStatus error_status, const char *message, gboolean transient,
            guint retry_after_s)
{
  g_autoptr (BtTransfer) transfer = g_object_ref (job->transfer);

  bt_destination_close (transfer->destination);
  transfer->job = NULL;
  job_free (job);
  bt_transfer_attempt_done (transfer, error_status, message, transient, retry_after_s);
}

static void
job_stop (BtJob *base)
{
  BtDownloadJob *job = (BtDownloadJob *) base;

  /* Callbacks still in flight see "stopped" and free the job */
  job->stopped = TRUE;
  job->transfer->job = NULL;
  bt_destination_close (job->transfer->destination);
  g_clear_handle_id (&job->watchdog_id, g_source_remove);
  g_cancellable_cancel (job->cancellable);
  if (job->throttle_id != 0)
    {
      /* Nothing in flight while throttled: nobody else frees the job */
      g_clear_handle_id (&job->throttle_id, g_source_remove);
      job_free (job);
    }
}

static gboolean
uri_same_origin (GUri *a, GUri *b)
{
  return g_ascii_strcasecmp (g_uri_get_scheme (a), g_uri_get_scheme (b)) == 0
         && g_ascii_strcasecmp (g_uri_get_host (a), g_uri_get_host (b)) == 0
         && g_uri_get_port (a) == g_uri_get_port (b);
}

static BtErrorStatus
classify_error (const GError *error, gboolean *transient)
{
  *transient = TRUE;

  if (error->domain == G_RESOLVER_ERROR)
    return BT_ERROR_STATUS_HOST_NAME_NOT_RESOLVED;
  if (error->domain == G_TLS_ERROR)
    {
      *transient = FALSE;
      return g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS)
                 ? BT_ERROR_STATUS_PROTOCOL_ERROR
                 : BT_ERROR_STATUS_CERTIFICATE_INVALID;
    }
  if (error->domain == SOUP_SESSION_ERROR)
    {
      *transient = FALSE;
      return BT_ERROR_STATUS_PROTOCOL_ERROR;
    }
  if (error->domain == G_IO_ERROR)
    {
      switch (error->code)
        {
          case G_IO_ERROR_CONNECTION_REFUSED:
          case G_IO_ERROR_HOST_UNREACHABLE:
          case G_IO_ERROR_NETWORK_UNREACHABLE:
          case G_IO_ERROR_HOST_NOT_FOUND:
            return BT_ERROR_STATUS_CANNOT_CONNECT;
          case G_IO_ERROR_TIMED_OUT:
            return BT_ERROR_STATUS_TIMEOUT;
          case G_IO_ERROR_NO_SPACE:
            *transient = FALSE;
            return BT_ERROR_STATUS_DISK_FULL;
          default:
            return BT_ERROR_STATUS_CONNECTION_RESET;
        }
    }
  return BT_ERROR_STATUS_UNKNOWN;
}

static void
finish_with_error (BtDownloadJob *job, const GError *error)
{
  gboolean transient;
  BtErrorStatus status;

  if (job->local_denied)
    {
      job_finish (job, BT_ERROR_STATUS_FORBIDDEN,
                  "This application may not reach this machine or the local network", FALSE, 0);
      return;
    }
  if (job->timed_out)
    {
      job_finish (job, BT_ERROR_STATUS_TIMEOUT, "The server stopped sending data", TRUE, 0);
      return;
    }
  status = classify_error (error, &transient);
  job_finish (job, status, error->message, transient, 0);
}

static void
finish_with_write_error (BtDownloadJob *job, const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
    job_finish (job, BT_ERROR_STATUS_DISK_FULL, error->message, FALSE, 0);
  else
    job_finish (job, BT_ERROR_STATUS_DESTINATION_UNWRITABLE, error->message, FALSE, 0);
}

static void
set_bytes_received (BtTransfer *transfer, guint64 bytes)
{
  if (bytes < transfer->bytes_received)
    bt_transfer_reset_checkpoint (transfer, bytes); /* starting over */
  if (transfer->bytes_received == bytes)
    return;
  transfer->bytes_received = bytes;
  bt_transfer_changed (transfer, "BytesReceived");
  bt_transfer_changed (transfer, "RangesDownloaded");
}

/* ---- Watchdog: timeouts, low speed, rate -------------------------------- */

static gboolean
on_watchdog (gpointer user_data)
{
  BtDownloadJob *job = user_data;
  BtTransfer *transfer = job->transfer;
  guint64 rate;

  /* Smoothed rate, once a second */
  rate = transfer->rate == 0 ? job->rate_bytes : (transfer->rate * 3 + job->rate_bytes) / 4;
  job->rate_bytes = 0;
  if (rate != transfer->rate)
    {
      transfer->rate = rate;
      bt_transfer_changed (transfer, "Rate");
    }

  if (!job->in_body)
    {
      gint64 limit_s = (gint64) g_settings_get_uint (job->settings, "connect-timeout")
                       + g_settings_get_uint (job->settings, "response-timeout");

      if (g_get_monotonic_time () - job->request_started_us > limit_s * G_USEC_PER_SEC)
        {
          job->timed_out = TRUE;
          g_cancellable_cancel (job->cancellable);
        }
      return G_SOURCE_CONTINUE;
    }

  /* Low speed: fewer than low-speed-limit bytes/s over low-speed-time s */
  job->window_seconds++;
  if (job->window_seconds >= MAX (g_settings_get_uint (job->settings, "low-speed-time"), 1))
    {
      guint64 limit = g_settings_get_uint (job->settings, "low-speed-limit");

      if (job->window_bytes < limit * job->window_seconds)
        {
          job->timed_out = TRUE;
          g_cancellable_cancel (job->cancellable);
        }
      job->window_bytes = 0;
      job->window_seconds = 0;
    }
  return G_SOURCE_CONTINUE;
}

/* ---- Body --------------------------------------------------------------- */

static void read_next (BtDownloadJob *job);
static void complete (BtDownloadJob *job);

static void
commit (BtDownloadJob *job)
{
  g_autoptr (GError) error = NULL;
  BtTransfer *transfer = job->transfer;

  if (!bt_transfer_commit_destination (transfer, &error))
    {
      finish_with_write_error (job, error);
      return;
    }
  job_finish (job, BT_ERROR_STATUS_NONE, NULL, FALSE, 0);
}

/* Every checkpoint-interval-bytes or -ms, whichever comes first, record
 * how far the data goes (SPEC §3 "Persistence"); flush it to the disk
 * first at most once per checkpoint-interval-ms, so that a fast download
 * does not wait for the disk (see bt_transfer_checkpoint_in_background()) */
static void
maybe_checkpoint (BtDownloadJob *job)
{
  BtTransfer *transfer = job->transfer;
  gint64 now = g_get_monotonic_time ();
  gboolean flush;

  if (transfer->bytes_received - transfer->checkpoint_bytes < job->checkpoint_bytes
      && now - job->last_checkpoint_us < job->checkpoint_us)
    return;
  job->last_checkpoint_us = now;
  flush = now - job->last_sync_us >= job->checkpoint_us;
  if (flush)
    job->last_sync_us = now;
  bt_transfer_checkpoint_in_background (transfer, flush);
}

static gboolean
on_throttled (gpointer user_data)
{
  BtDownloadJob *job = user_data;

  job->throttle_id = 0;
  read_next (job);
  return G_SOURCE_REMOVE;
}

/* Under a rate limit (the transfer's max-rate, the global
 * max-download-rate) the next read waits for the bucket */
static void
throttle_then_read (BtDownloadJob *job, guint64 bytes)
{
  gint64 now = g_get_monotonic_time ();
  /* Both buckets are charged (not inside MAX (), which evaluates twice) */
  gint64 own = bt_rate_limiter_take (job->transfer->rate_limiter, bytes, now);
  gint64 global = bt_rate_limiter_take (bt_rate_limiter_get_global_download (), bytes, now);
  gint64 wait = MAX (own, global);

  if (wait <= 0)
    {
      read_next (job);
      return;
    }
  job->throttle_id
      = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint) (wait / 1000) + 1, on_throttled, job, NULL);
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BtDownloadJob *job = user_data;
  BtTransfer *transfer = job->transfer;
  g_autoptr (GError) error = NULL;
  gssize n;

  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (job->stopped)
    {
      job_free (job);
      return;
    }
  if (n < 0)
    {
      finish_with_error (job, error);
      return;
    }

  if (n == 0)
    {
      if (transfer->total_bytes != BT_SIZE_UNKNOWN
          && transfer->bytes_received < transfer->total_bytes)
        {
          /* RFC 9112 §6.3: incomplete, never "completed"; the retry resumes */
          job_finish (job, BT_ERROR_STATUS_CONNECTION_RESET,
                      "The connection closed before the end of the body", TRUE, 0);
          return;
        }
      complete (job);
      return;
    }

  if (transfer->total_bytes != BT_SIZE_UNKNOWN
      && transfer->bytes_received + (guint64) n > transfer->total_bytes)
    {
      job_finish (job, BT_ERROR_STATUS_PROTOCOL_ERROR, "The server sent more data than announced",
                  TRUE, 0);
      return;
    }

  if (!bt_destination_write (transfer->destination, transfer->bytes_received, job->buffer,
                             (gsize) n, &error))
    {
      finish_with_write_error (job, error);
      return;
    }

  job->window_bytes += (guint64) n;
  job->rate_bytes += (guint64) n;
  set_bytes_received (transfer, transfer->bytes_received + (guint64) n);
  if (transfer->policy != NULL)
    bt_policy_account (transfer->policy, (guint64) n);
  maybe_checkpoint (job);
  throttle_then_read (job, (guint64) n);
}

static void
on_verified (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BtDownloadJob *job = user_data;
  g_autoptr (GError) error = NULL;

  if (!bt_verify_finish (result, &error) && !job->stopped)
    {
      if (error->domain == BT_ERROR)
        job_finish (job, BT_ERROR_STATUS_CHECKSUM_MISMATCH, error->message, FALSE, 0);
      else
        job_finish (job, BT_ERROR_STATUS_DESTINATION_UNWRITABLE, error->message, FALSE, 0);
      return;
    }
  if (job->stopped)
    {
      job_free (job);
      return;
    }
  commit (job);
}

/* The body is all there: check it against the digests, then move it into
 * place. A digest mismatch never reaches the destination. */
static void
complete (BtDownloadJob *job)
{
  BtTransfer *transfer = job->transfer;
  g_autoptr (GPtrArray) digests = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  int fd;

  g_clear_handle_id (&job->watchdog_id, g_source_remove);
  if (transfer->total_bytes == BT_SIZE_UNKNOWN)
    {
      transfer->total_bytes = transfer->bytes_received;
      bt_transfer_changed (transfer, "TotalBytesToReceive");
    }

  if (transfer->checksum != NULL)
    g_ptr_array_add (digests, transfer->checksum);
  if (transfer->server_digest != NULL)
    g_ptr_array_add (digests, transfer->server_digest);
  if (digests->len == 0)
    {
      commit (job);
      return;
    }

  fd = bt_destination_open_result (transfer->destination, FALSE, &error);
  if (fd < 0)
    {
      finish_with_write_error (job, error);
      return;
    }
  /* The digests stay owned by the transfer, which the job keeps alive */
  bt_verify_async (fd, digests, job->cancellable, on_verified, job);
}

static void
read_next (BtDownloadJob *job)
{
  gsize size = bt_rate_limiter_chunk (
      job->transfer->rate_limiter,
      bt_rate_limiter_chunk (bt_rate_limiter_get_global_download (), READ_BUFFER_SIZE));

  g_input_stream_read_async (job->stream, job->buffer, size, G_PRIORITY_DEFAULT, job->cancellable,
                             on_read, job);
}

/* ---- Response ----------------------------------------------------------- */

static void
store_response (BtDownloadJob *job)
{
  BtTransfer *transfer = job->transfer;
  SoupMessageHeaders *headers = soup_message_get_response_headers (job->msg);
  SoupMessageHeadersIter iter;
  const char *name, *value;
  g_autofree char *actual_uri = g_uri_to_string (job->current_uri);
  guint status = soup_message_get_status (job->msg);

  g_ptr_array_set_size (transfer->response_headers, 0);
  soup_message_headers_iter_init (&iter, headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    {
      g_ptr_array_add (transfer->response_headers, g_strdup (name));
      g_ptr_array_add (transfer->response_headers, g_strdup (value));
    }
  bt_transfer_changed (transfer, "ResponseHeaders");

  if (transfer->http_status != status)
    {
      transfer->http_status = status;
      bt_transfer_changed (transfer, "HttpStatus");
    }
  if (g_strcmp0 (transfer->actual_uri, actual_uri) != 0)
    {
      g_free (transfer->actual_uri);
      transfer->actual_uri = g_steal_pointer (&actual_uri);
      bt_transfer_changed (transfer, "ActualUri");
    }
}

static guint
parse_retry_after (SoupMessageHeaders *headers)
{
  const char *value = soup_message_headers_get_one (headers, "Retry-After");
  g_autoptr (GDateTime) date = NULL;
  g_autoptr (GDateTime) now = NULL;
  guint64 seconds;

  if (value == NULL)
    return 0;
  if (g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT64, &seconds, NULL))
    return (guint) MIN (seconds, 3600);
  date = soup_date_time_new_from_http_string (value);
  if (date == NULL)
    return 0;
  now = g_date_time_new_now_utc ();
  seconds = (guint64) MAX (g_date_time_difference (date, now) / G_USEC_PER_SEC, 1);
  return (guint) MIN (seconds, 3600);
}

static void
fail_http_status (BtDownloadJob *job, guint status)
{
  g_autofree char *message = NULL;
  BtErrorStatus error_status;
  gboolean transient = FALSE;

  switch (status)
    {
      case 401:
        error_status = BT_ERROR_STATUS_UNAUTHORIZED;
        break;
      case 403:
        error_status = BT_ERROR_STATUS_FORBIDDEN;
        break;
      case 404:
        error_status = BT_ERROR_STATUS_NOT_FOUND;
        break;
      case 407:
        error_status = BT_ERROR_STATUS_PROXY_AUTHENTICATION_REQUIRED;
        break;
      case 410:
        error_status = BT_ERROR_STATUS_GONE;
        break;
      case 416:
        error_status = BT_ERROR_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE;
        break;
      case 408:
      case 429:
        error_status = BT_ERROR_STATUS_SERVICE_UNAVAILABLE;
        transient = TRUE;
        break;
      case 503:
        error_status = BT_ERROR_STATUS_SERVICE_UNAVAILABLE;
        transient = TRUE;
        break;
      default:
        if (status >= 500 && status < 600)
          {
            error_status = BT_ERROR_STATUS_SERVER_ERROR;
            transient = TRUE;
          }
        else
          error_status = BT_ERROR_STATUS_PROTOCOL_ERROR;
        break;
    }

  message = g_strdup_printf ("HTTP %u %s", status,
                             soup_message_get_reason_phrase (job->msg) != NULL
                                 ? soup_message_get_reason_phrase (job->msg)
                                 : soup_status_get_phrase (status));
  job_finish (job, error_status, message, transient,
              transient ? parse_retry_after (soup_message_get_response_headers (job->msg)) : 0);
}

static gboolean
follow_redirect (BtDownloadJob *job)
{
  const char *location
      = soup_message_headers_get_one (soup_message_get_response_headers (job->msg), "Location");
  g_autoptr (GUri) next = NULL;
  g_autoptr (GError) error = NULL;
  const char *scheme;

  if (location == NULL || *location == '\0')
    {
      job_finish (job, BT_ERROR_STATUS_PROTOCOL_ERROR, "Redirect without a Location", FALSE, 0);
      return FALSE;
    }
  if (++job->redirects > MAX_REDIRECTS)
    {
      job_finish (job, BT_ERROR_STATUS_TOO_MANY_REDIRECTS, "More than 10 redirects", FALSE, 0);
      return FALSE;
    }
  next = g_uri_parse_relative (job->current_uri, location,
                               G_URI_FLAGS_ENCODED | G_URI_FLAGS_HAS_PASSWORD, &error);
  if (next == NULL || g_uri_get_host (next) == NULL || *g_uri_get_host (next) == '\0')
    {
      job_finish (job, BT_ERROR_STATUS_PROTOCOL_ERROR, "Redirect to an invalid URI", FALSE, 0);
      return FALSE;
    }
  scheme = g_uri_get_scheme (next);
  if (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0)
    {
      job_finish (job, BT_ERROR_STATUS_PROTOCOL_ERROR,
                  "Redirect to a URI that is not http or https", FALSE, 0);
      return FALSE;
    }
  if (g_ascii_strcasecmp (g_uri_get_scheme (job->current_uri), "https") == 0
      && g_ascii_strcasecmp (scheme, "http") == 0)
    {
      job_finish (job, BT_ERROR_STATUS_INSECURE_REDIRECT, "Redirect from https to http refused",
                  FALSE, 0);
      return FALSE;
    }
  if (g_uri_get_userinfo (next) != NULL)
    {
      job_finish (job, BT_ERROR_STATUS_PROTOCOL_ERROR, "Redirect to a URI with credentials", FALSE,
                  0);
      return FALSE;
    }

  if (soup_message_get_status (job->msg) == SOUP_STATUS_SEE_OTHER)
    job->method = SOUP_METHOD_GET;
  g_uri_unref (job->current_uri);
  job->current_uri = g_steal_pointer (&next);
  return TRUE;
}

static gboolean
validator_changed (BtTransfer *transfer, SoupMessageHeaders *headers)
{
  const char *etag = soup_message_headers_get_one (headers, "ETag");
  const char *last_modified = soup_message_headers_get_one (headers, "Last-Modified");

  if (transfer->etag != NULL)
    return g_strcmp0 (etag, transfer->etag) != 0;
  if (transfer->last_modified != NULL)
    return g_strcmp0 (last_modified, transfer->last_modified) != 0;
  return FALSE;
}

static void
store_validators (BtTransfer *transfer, SoupMessageHeaders *headers)
{
  const char *etag = soup_message_headers_get_one (headers, "ETag");
  const char *last_modified = soup_message_headers_get_one (headers, "Last-Modified");
  const char *accept_ranges = soup_message_headers_get_one (headers, "Accept-Ranges");
  gboolean resumable;

  g_free (transfer->etag);
  transfer->etag = bt_etag_is_strong (etag) ? g_strdup (etag) : NULL;
  g_free (transfer->last_modified);
  transfer->last_modified = g_strdup (last_modified);

  /* Resuming is safe only with a strong validator for If-Range. Many
   * servers that honour ranges do not say Accept-Ranges; asking costs
   * nothing (a 200 answer restarts), unless the server said "none" */
  resumable = (accept_ranges == NULL || !soup_header_contains (accept_ranges, "none"))
              && (transfer->etag != NULL || transfer->last_modified != NULL);
  if (resumable != transfer->is_resumable)
    {
      transfer->is_resumable = resumable;
      bt_transfer_changed (transfer, "IsResumable");
    }
}

static void
store_digest (BtTransfer *transfer, SoupMessageHeaders *headers, guint status)
{
  const char *repr = soup_message_headers_get_one (headers, "Repr-Digest");
  const char *content = soup_message_headers_get_one (headers, "Content-Digest");
  BtDigest *digest = NULL;

  /* Content-Digest covers this message's content: the whole file only for
   * a full answer. Repr-Digest always covers the whole representation. */
  if (repr != NULL)
    digest = bt_digest_parse_header ("Repr-Digest", repr);
  if (digest == NULL && content != NULL && status != 206)
    digest = bt_digest_parse_header ("Content-Digest", content);

  if (digest != NULL || status != 206)
    {
      bt_digest_free (transfer->server_digest);
      transfer->server_digest = digest;
    }
}

/* A Content-Length, if any, is a decimal number; repeated (joined with
 * commas by libsoup), every copy must be the same (RFC 9110 §8.6) */
static gboolean
content_length_is_valid (const char *value)
{
  g_auto (GStrv) values = NULL;

  if (value == NULL)
    return TRUE;
  values = g_strsplit (value, ",", -1);
  for (guint i = 0; values[i] != NULL; i++)
    {
      const char *v = g_strstrip (values[i]);

      if (*v == '\0' || strspn (v, "0123456789") != strlen (v) || strlen (v) > 19)
        return FALSE;
      if (i > 0 && strcmp (v, values[0]) != 0)
        return FALSE;
    }
  return TRUE;
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BtDownloadJob *job = user_data;
  BtTransfer *transfer = job->transfer;
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) stream = NULL;
  g_autoptr (GError) local_error = NULL;
  SoupMessageHeaders *headers;
  BtResumeRequest request = { 0 };
  BtResumeAction action;
  guint64 offset, total;
  goffset content_length = -1;
  guint status;

  stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (job->stopped)
    {
      job_free (job);
      return;
    }
  if (stream == NULL)
    {
      finish_with_error (job, error);
      return;
    }

  status = soup_message_get_status (job->msg);
  headers = soup_message_get_response_headers (job->msg);
  store_response (job);

  if (SOUP_STATUS_IS_REDIRECTION (status) && status != 304 && status != 300 && status != 305)
    {
      if (follow_redirect (job))
        send_request (job);
      return;
    }

  if (!SOUP_STATUS_IS_SUCCESSFUL (status) && status != 416)
    {
      fail_http_status (job, status);
      return;
    }

  if (!content_length_is_valid (soup_message_headers_get_list (headers, "Content-Length")))
    {
      /* RFC 9112 §6.3: the framing cannot be trusted */
      job_finish (job, BT_ERROR_STATUS_PROTOCOL_ERROR, "The server sent an invalid Content-Length",
                  FALSE, 0);
      return;
    }

  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
    content_length = soup_message_headers_get_content_length (headers);

  request.offset = job->requested_offset;
  request.known_total = transfer->total_bytes;
  request.validator_changed = job->requested_offset > 0 && validator_changed (transfer, headers);
  request.fail_if_changed = transfer->fail_if_changed;
  action = bt_resume_decide (
      &request, SOUP_STATUS_IS_SUCCESSFUL (status) && status != 206 ? 200 : status,
      soup_message_headers_get_one (headers, "Content-Range"), content_length, &offset, &total);

  switch (action)
    {
      case BT_RESUME_CHANGED:
        job_finish (job, BT_ERROR_STATUS_RESOURCE_CHANGED,
                    "The resource changed on the server since the download started", FALSE, 0);
        return;

      case BT_RESUME_PROTOCOL_ERROR:
        if (status == 416)
          fail_http_status (job, status);
        else
          job_finish (job, BT_ERROR_STATUS_PROTOCOL_ERROR,
                      "The server answered with a range that was not asked for", FALSE, 0);
        return;

      case BT_RESUME_COMPLETE:
        complete (job);
        return;

      case BT_RESUME_RESTART:
        if (status == 206 || status == 416)
          {
            /* The answer cannot be used: ask again for the whole resource */
            if (job->restarted)
              {
                job_finish (job, BT_ERROR_STATUS_PROTOCOL_ERROR,
                            "The server's ranges are inconsistent", TRUE, 0);
                return;
              }
            job->restarted = TRUE;
            g_message ("Transfer %s: the server's partial answer cannot be used; restarting "
                       "from zero",
                       transfer->id);
            g_clear_pointer (&transfer->etag, g_free);
            g_clear_pointer (&transfer->last_modified, g_free);
            set_bytes_received (transfer, 0);
            if (!bt_destination_truncate (transfer->destination, 0, &local_error))
              {
                finish_with_write_error (job, local_error);
                return;
              }
            send_request (job);
            return;
          }
        /* A full body (200): write it from zero over what was there */
        g_message ("Transfer %s: the server sent the whole resource; restarted from zero",
                   transfer->id);
        if (!bt_destination_truncate (transfer->destination, 0, &local_error))
          {
            finish_with_write_error (job, local_error);
            return;
          }
        set_bytes_received (transfer, 0);
        offset = 0;
        break;

      case BT_RESUME_WRITE:
      default:
        break;
    }

  /* Data beyond the resume point (unflushed or unverified) is dropped */
  if (offset != transfer->bytes_received || job->requested_offset == 0)
    {
      if (!bt_destination_truncate (transfer->destination, offset, &local_error))
        {
          finish_with_write_error (job, local_error);
          return;
        }
      set_bytes_received (transfer, offset);
    }

  store_validators (transfer, headers);
  store_digest (transfer, headers, status);
  if (transfer->total_bytes != total)
    {
      transfer->total_bytes = total;
      bt_transfer_changed (transfer, "TotalBytesToReceive");
    }

  job->stream = g_steal_pointer (&stream);
  job->in_body = TRUE;
  read_next (job);
}

static gboolean
on_authenticate (SoupMessage *msg, SoupAuth *auth, gboolean retrying, gpointer user_data)
{
  BtDownloadJob *job = user_data;
  BtSecrets *secrets = job->transfer->secrets;

  /* One try each: a wrong password ends in unauthorized, not a loop */
  if (retrying)
    return FALSE;
  if (soup_auth_is_for_proxy (auth))
    {
      if (secrets->proxy_username == NULL)
        return FALSE;
      soup_auth_authenticate (auth, secrets->proxy_username, secrets->proxy_password);
      return TRUE;
    }
  /* Server credentials stay with the origin the app named */
  if (secrets->server_username == NULL || !uri_same_origin (job->current_uri, job->origin_uri))
    return FALSE;
  soup_auth_authenticate (auth, secrets->server_username, secrets->server_password);
  return TRUE;
}

static void
send_request (BtDownloadJob *job)
{
  BtTransfer *transfer = job->transfer;
  SoupMessageHeaders *headers;
  gboolean same_origin = uri_same_origin (job->current_uri, job->origin_uri);

  g_clear_object (&job->msg);
  job->msg = soup_message_new_from_uri (job->method, job->current_uri);
  soup_message_add_flags (job->msg, SOUP_MESSAGE_NO_REDIRECT);
  headers = soup_message_get_request_headers (job->msg);
  if (!bt_transfer_may_reach_local_network (job->transfer))
    bt_forbid_local_network (job->msg, job->cancellable, &job->local_denied);

  for (guint i = 0; i + 1 < transfer->headers->len; i += 2)
    {
      const char *name = g_ptr_array_index (transfer->headers, i);

      /* Credentials never follow a redirect to another origin */
      if (!same_origin && bt_header_is_secret (name))
        continue;
      soup_message_headers_append (headers, name, g_ptr_array_index (transfer->headers, i + 1));
    }
  if (same_origin)
    {
      GPtrArray *secret_headers = transfer->secrets->headers;

      for (guint i = 0; i + 1 < secret_headers->len; i += 2)
        soup_message_headers_append (headers, g_ptr_array_index (secret_headers, i),
                                     g_ptr_array_index (secret_headers, i + 1));
    }
  g_signal_connect (job->msg, "authenticate", G_CALLBACK (on_authenticate), job);

  /* Byte offsets must mean bytes on disk */
  soup_message_headers_replace (headers, "Accept-Encoding", "identity");

  job->requested_offset = 0;
  if (transfer->bytes_received > 0 && transfer->is_resumable
      && (transfer->etag != NULL || transfer->last_modified != NULL))
    {
      g_autofree char *range
          = g_strdup_printf ("bytes=%" G_GUINT64_FORMAT "-", transfer->bytes_received);

      job->requested_offset = transfer->bytes_received;
      soup_message_headers_replace (headers, "Range", range);
      soup_message_headers_replace (
          headers, "If-Range", transfer->etag != NULL ? transfer->etag : transfer->last_modified);
    }

  job->in_body = FALSE;
  job->request_started_us = g_get_monotonic_time ();
  soup_session_send_async (job->session, job->msg, G_PRIORITY_DEFAULT, job->cancellable, on_sent,
                           job);
}

SoupSession *
bt_download_session_new (GSettings *settings)
{
  SoupSession *session
      = g_object_new (SOUP_TYPE_SESSION, "max-conns", 256, "max-conns-per-host",
                      g_settings_get_uint (settings, "max-connections-per-host"), "timeout",
                      g_settings_get_uint (settings, "response-timeout"), "idle-timeout", 60,
                      "user-agent", "bgtransfer/" PACKAGE_VERSION " ", NULL);

  if (bt_tls_get_database () != NULL)
    g_object_set (session, "tls-database", bt_tls_get_database (), NULL);
  /* Bytes on disk are the bytes on the wire: no transparent decoding */
  soup_session_remove_feature_by_type (session, SOUP_TYPE_CONTENT_DECODER);
  return session;
}

static gboolean
on_open_failed (gpointer user_data)
{
  BtDownloadJob *job = user_data;
  g_autoptr (GError) error = g_steal_pointer (&job->open_error);

  if (job->stopped)
    job_free (job);
  else
    finish_with_write_error (job, error);
  return G_SOURCE_REMOVE;
}

BtJob *
bt_download_job_start (BtTransfer *transfer, SoupSession *session, GSettings *settings)
{
  BtDownloadJob *job = g_new0 (BtDownloadJob, 1);

  job->parent.stop = job_stop;
  job->transfer = g_object_ref (transfer);
  /* libsoup caches credentials per session and host: a transfer with
   * credentials gets a session of its own, so that they never serve
   * another transfer (or another app) */
  if (transfer->secrets->server_username != NULL || transfer->secrets->proxy_username != NULL)
    job->session = bt_download_session_new (settings);
  else
    job->session = g_object_ref (session);
  job->settings = g_object_ref (settings);
  job->cancellable = g_cancellable_new ();
  job->buffer = g_malloc (READ_BUFFER_SIZE);
  job->origin_uri = g_uri_parse (bt_transfer_get_current_uri (transfer),
                                 G_URI_FLAGS_ENCODED | G_URI_FLAGS_HAS_PASSWORD, NULL);
  job->current_uri = g_uri_ref (job->origin_uri);
  job->method = transfer->method;
  job->checkpoint_bytes = MAX (g_settings_get_uint64 (settings, "checkpoint-interval-bytes"), 1);
  job->checkpoint_us = (gint64) g_settings_get_uint (settings, "checkpoint-interval-ms") * 1000;
  job->last_checkpoint_us = job->last_sync_us = g_get_monotonic_time ();

  transfer->attempts++;
  bt_transfer_changed (transfer, "Attempts");

  if (bt_destination_open (transfer->destination, &job->open_error) < 0)
    {
      /* Reported from the main loop: the caller sets transfer->job first */
      g_idle_add (on_open_failed, job);
      return &job->parent;
    }

  job->watchdog_id = g_timeout_add_seconds (1, on_watchdog, job);
  send_request (job);
  return &job->parent;
}
