/* bt-upload.c: sends an upload over HTTP(S): PUT/POST, multipart, tus
 *
 * A plain upload sends the whole body in one request (streamed from the
 * source) and keeps the server's reply for the app; after an interruption
 * it starts again from zero, and a POST is never repeated behind the app's
 * back once its body may have reached the server. A tus 1.0 upload
 * (protocol "tus") creates the upload once, records its URL in the state
 * store, and after any interruption asks the server for its offset (HEAD)
 * and continues from there (PATCH).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-concat-stream.h"
#include "bt-error.h"
#include "bt-resume.h"
#include "bt-upload.h"
#include "bt-localnet.h"
#include "bt-validate.h"

#define READ_BUFFER_SIZE (64 * 1024)
#define TUS_VERSION "1.0.0"

typedef enum
{
  STEP_PLAIN,
  STEP_TUS_CREATE,
  STEP_TUS_HEAD,
  STEP_TUS_PATCH,
} Step;

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

  Step step;
  GUri *uri;
  SoupMessage *msg;
  GInputStream *response;
  guint8 *buffer;
  guint64 response_limit; /* G_MAXUINT64: none */
  guint64 offset;         /* tus: where this PATCH starts */
  gboolean body_started;  /* some of the body may have reached the server */

  guint watchdog_id;
  gint64 request_started_us;
  guint64 window_bytes;
  guint window_seconds;
  guint64 rate_bytes;
} BtUploadJob;

static void send_step (BtUploadJob *job);

static void
job_free (BtUploadJob *job)
{
  g_clear_handle_id (&job->watchdog_id, g_source_remove);
  if (job->msg != NULL)
    g_signal_handlers_disconnect_by_data (job->msg, job);
  g_clear_object (&job->response);
  g_clear_object (&job->msg);
  g_clear_pointer (&job->uri, g_uri_unref);
  g_clear_object (&job->cancellable);
  g_clear_object (&job->settings);
  g_clear_object (&job->session);
  g_clear_object (&job->transfer);
  g_free (job->buffer);
  g_free (job);
}

static void
job_finish (BtUploadJob *job, BtErrorStatus error_status, const char *message, gboolean transient,
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
  BtUploadJob *job = (BtUploadJob *) base;

  job->stopped = TRUE;
  job->transfer->job = NULL;
  bt_destination_close (job->transfer->destination);
  g_clear_handle_id (&job->watchdog_id, g_source_remove);
  g_cancellable_cancel (job->cancellable);
}

static gboolean
is_tus (BtTransfer *transfer)
{
  return transfer->tus;
}

/* A failure after the body may have reached the server: a POST is not
 * repeated silently (FAULTS P7); PUT and tus may try again */
static gboolean
may_retry (BtUploadJob *job)
{
  return is_tus (job->transfer) || !job->body_started
         || g_ascii_strcasecmp (job->transfer->method, "POST") != 0;
}

static void
finish_with_error (BtUploadJob *job, const GError *error)
{
  BtErrorStatus status;
  gboolean transient = TRUE;

  if (job->local_denied)
    {
      job_finish (job, BT_ERROR_STATUS_FORBIDDEN,
                  "This application may not reach this machine or the local network", FALSE, 0);
      return;
    }
  if (job->timed_out)
    {
      job_finish (job, BT_ERROR_STATUS_TIMEOUT, "The server stopped taking data", may_retry (job),
                  0);
      return;
    }
  if (error->domain == G_RESOLVER_ERROR)
    status = BT_ERROR_STATUS_HOST_NAME_NOT_RESOLVED;
  else if (error->domain == G_TLS_ERROR)
    {
      status = BT_ERROR_STATUS_CERTIFICATE_INVALID;
      transient = FALSE;
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED)
           || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE)
           || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
    status = BT_ERROR_STATUS_CANNOT_CONNECT;
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    status = BT_ERROR_STATUS_TIMEOUT;
  else if (error->domain == BT_ERROR)
    {
      /* our source: unreadable or changed */
      status = BT_ERROR_STATUS_RESOURCE_CHANGED;
      transient = FALSE;
    }
  else if (error->domain == SOUP_SESSION_ERROR)
    {
      status = BT_ERROR_STATUS_PROTOCOL_ERROR;
      transient = FALSE;
    }
  else
    status = BT_ERROR_STATUS_CONNECTION_RESET;

  job_finish (job, status, error->message, transient && may_retry (job), 0);
}

static BtErrorStatus
status_for_http (guint status, gboolean *transient)
{
  *transient = FALSE;
  switch (status)
    {
      case 401:
        return BT_ERROR_STATUS_UNAUTHORIZED;
      case 403:
        return BT_ERROR_STATUS_FORBIDDEN;
      case 404:
        return BT_ERROR_STATUS_NOT_FOUND;
      case 407:
        return BT_ERROR_STATUS_PROXY_AUTHENTICATION_REQUIRED;
      case 410:
        return BT_ERROR_STATUS_GONE;
      case 408:
      case 429:
      case 503:
        *transient = TRUE;
        return BT_ERROR_STATUS_SERVICE_UNAVAILABLE;
      default:
        if (status >= 500 && status < 600)
          {
            *transient = TRUE;
            return BT_ERROR_STATUS_SERVER_ERROR;
          }
        return BT_ERROR_STATUS_PROTOCOL_ERROR;
    }
}

static void
fail_http (BtUploadJob *job, guint status)
{
  g_autofree char *message = NULL;
  gboolean transient;
  BtErrorStatus error_status = status_for_http (status, &transient);
  const char *reason = soup_message_get_reason_phrase (job->msg);

  message = g_strdup_printf ("HTTP %u %s", status,
                             reason != NULL && *reason != '\0' ? reason
                                                               : soup_status_get_phrase (status));
  job_finish (job, error_status, message, transient && may_retry (job), 0);
}

/* ---- Progress and watchdog ---------------------------------------------- */

static void
set_bytes_sent (BtTransfer *transfer, guint64 bytes)
{
  if (transfer->bytes_sent == bytes)
    return;
  transfer->bytes_sent = bytes;
  bt_transfer_changed (transfer, "BytesSent");
}

static void
on_wrote_body_data (SoupMessage *msg, guint chunk_size, gpointer user_data)
{
  BtUploadJob *job = user_data;

  job->body_started = TRUE;
  job->window_bytes += chunk_size;
  job->rate_bytes += chunk_size;
  set_bytes_sent (job->transfer, job->transfer->bytes_sent + chunk_size);
}

static gboolean
on_watchdog (gpointer user_data)
{
  BtUploadJob *job = user_data;
  BtTransfer *transfer = job->transfer;
  guint64 rate = transfer->rate == 0 ? job->rate_bytes : (transfer->rate * 3 + job->rate_bytes) / 4;
  guint low_speed_time = MAX (g_settings_get_uint (job->settings, "low-speed-time"), 1);

  job->rate_bytes = 0;
  if (rate != transfer->rate)
    {
      transfer->rate = rate;
      bt_transfer_changed (transfer, "Rate");
    }

  /* Sending or waiting for the answer: something must move. The answer
   * to a large body may take a while: response-timeout covers that. */
  if (++job->window_seconds >= low_speed_time)
    {
      guint64 limit = g_settings_get_uint (job->settings, "low-speed-limit");
      gint64 waited = g_get_monotonic_time () - job->request_started_us;
      gint64 max_wait = (gint64) (g_settings_get_uint (job->settings, "connect-timeout")
                                  + g_settings_get_uint (job->settings, "response-timeout"))
                        * G_USEC_PER_SEC;

      if (job->window_bytes < limit * job->window_seconds && waited > max_wait)
        {
          job->timed_out = TRUE;
          g_cancellable_cancel (job->cancellable);
        }
      job->window_bytes = 0;
      job->window_seconds = 0;
    }
  return G_SOURCE_CONTINUE;
}

/* ---- The server's reply ------------------------------------------------- */

static void
store_response (BtUploadJob *job)
{
  BtTransfer *transfer = job->transfer;
  SoupMessageHeaders *headers = soup_message_get_response_headers (job->msg);
  SoupMessageHeadersIter iter;
  const char *name, *value;
  g_autofree char *actual_uri = g_uri_to_string (job->uri);
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

static void
complete (BtUploadJob *job)
{
  BtTransfer *transfer = job->transfer;
  g_autoptr (GError) error = NULL;

  if (!bt_source_check_unchanged (transfer->source, &error))
    {
      job_finish (job, BT_ERROR_STATUS_RESOURCE_CHANGED, error->message, FALSE, 0);
      return;
    }
  if (transfer->total_bytes == BT_SIZE_UNKNOWN)
    {
      transfer->total_bytes = transfer->bytes_received;
      bt_transfer_changed (transfer, "TotalBytesToReceive");
    }
  if (!bt_transfer_commit_destination (transfer, &error))
    {
      job_finish (job, BT_ERROR_STATUS_DESTINATION_UNWRITABLE, error->message, FALSE, 0);
      return;
    }
  if (transfer->total_to_send == BT_SIZE_UNKNOWN)
    {
      transfer->total_to_send = transfer->bytes_sent;
      bt_transfer_changed (transfer, "TotalBytesToSend");
    }
  job_finish (job, BT_ERROR_STATUS_NONE, NULL, FALSE, 0);
}

static void read_response (BtUploadJob *job);

static void
on_response_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BtUploadJob *job = user_data;
  BtTransfer *transfer = job->transfer;
  g_autoptr (GError) error = NULL;
  guint status;
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
  if (n > 0)
    {
      /* Beyond the limit the reply is cut, never the service's memory */
      gsize keep = (gsize) MIN (
          (guint64) n, job->response_limit - MIN (job->response_limit, transfer->bytes_received));

      if (keep > 0
          && !bt_destination_write (transfer->destination, transfer->bytes_received, job->buffer,
                                    keep, &error))
        {
          job_finish (job, BT_ERROR_STATUS_DESTINATION_UNWRITABLE, error->message, FALSE, 0);
          return;
        }
      if (keep > 0)
        {
          transfer->bytes_received += keep;
          bt_transfer_changed (transfer, "BytesReceived");
        }
      read_response (job);
      return;
    }

  status = soup_message_get_status (job->msg);
  if (SOUP_STATUS_IS_SUCCESSFUL (status))
    complete (job);
  else
    fail_http (job, status);
}

static void
read_response (BtUploadJob *job)
{
  g_input_stream_read_async (job->response, job->buffer, READ_BUFFER_SIZE, G_PRIORITY_DEFAULT,
                             job->cancellable, on_response_read, job);
}

/* Keeps the reply body (also of an error answer: the app may want it) */
static void
start_reading_response (BtUploadJob *job, GInputStream *stream)
{
  BtTransfer *transfer = job->transfer;
  g_autoptr (GError) error = NULL;
  SoupMessageHeaders *headers = soup_message_get_response_headers (job->msg);

  job->response = g_object_ref (stream);
  transfer->bytes_received = 0;
  bt_transfer_changed (transfer, "BytesReceived");
  transfer->total_bytes
      = soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH
            ? (guint64) soup_message_headers_get_content_length (headers)
            : BT_SIZE_UNKNOWN;
  bt_transfer_changed (transfer, "TotalBytesToReceive");
  if (!bt_destination_truncate (transfer->destination, 0, &error))
    {
      job_finish (job, BT_ERROR_STATUS_DESTINATION_UNWRITABLE, error->message, FALSE, 0);
      return;
    }
  read_response (job);
}

/* ---- Steps -------------------------------------------------------------- */

static guint64
parse_offset (SoupMessageHeaders *headers)
{
  const char *value = soup_message_headers_get_one (headers, "Upload-Offset");
  guint64 offset;

  if (value == NULL || !g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT64, &offset, NULL))
    return BT_SIZE_UNKNOWN;
  return offset;
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BtUploadJob *job = user_data;
  BtTransfer *transfer = job->transfer;
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) stream = NULL;
  SoupMessageHeaders *headers;
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

  switch (job->step)
    {
      case STEP_PLAIN:
        start_reading_response (job, stream);
        return;

      case STEP_TUS_CREATE:
        {
          const char *location = soup_message_headers_get_one (headers, "Location");
          g_autoptr (GUri) upload_uri = NULL;

          if (status != 201 || location == NULL)
            {
              if (SOUP_STATUS_IS_SUCCESSFUL (status))
                job_finish (job, BT_ERROR_STATUS_PROTOCOL_ERROR, "The tus server created no upload",
                            FALSE, 0);
              else
                fail_http (job, status);
              return;
            }
          upload_uri = g_uri_parse_relative (job->uri, location, G_URI_FLAGS_ENCODED, NULL);
          if (upload_uri == NULL)
            {
              job_finish (job, BT_ERROR_STATUS_PROTOCOL_ERROR,
                          "The tus server gave an invalid upload URL", FALSE, 0);
              return;
            }
          g_free (transfer->tus_url);
          transfer->tus_url = g_uri_to_string (upload_uri);
          bt_transfer_save (transfer); /* resumable from now on */
          job->offset = 0;
          job->step = STEP_TUS_PATCH;
          send_step (job);
          return;
        }

      case STEP_TUS_HEAD:
        if (status == 404 || status == 410 || status == 403)
          {
            /* The server forgot the upload: create it again */
            g_clear_pointer (&transfer->tus_url, g_free);
            bt_transfer_save (transfer);
            job->step = STEP_TUS_CREATE;
            send_step (job);
            return;
          }
        if (!SOUP_STATUS_IS_SUCCESSFUL (status))
          {
            fail_http (job, status);
            return;
          }
        job->offset = parse_offset (headers);
        if (job->offset == BT_SIZE_UNKNOWN || job->offset > transfer->total_to_send)
          {
            job_finish (job, BT_ERROR_STATUS_PROTOCOL_ERROR,
                        "The tus server reported an invalid offset", FALSE, 0);
            return;
          }
        g_debug ("Transfer %s: tus upload resumes at %" G_GUINT64_FORMAT, transfer->id,
                 job->offset);
        job->step = STEP_TUS_PATCH;
        send_step (job);
        return;

      case STEP_TUS_PATCH:
      default:
        if (!SOUP_STATUS_IS_SUCCESSFUL (status))
          {
            fail_http (job, status);
            return;
          }
        if (parse_offset (headers) != transfer->total_to_send)
          {
            /* Not all of it arrived: the next attempt asks again */
            job_finish (job, BT_ERROR_STATUS_CONNECTION_RESET,
                        "The tus server did not take the whole upload", TRUE, 0);
            return;
          }
        start_reading_response (job, stream);
        return;
    }
}

static void
add_request_headers (BtUploadJob *job, SoupMessageHeaders *headers)
{
  BtTransfer *transfer = job->transfer;
  GPtrArray *secret = transfer->secrets->headers;

  for (guint i = 0; i + 1 < transfer->headers->len; i += 2)
    soup_message_headers_append (headers, g_ptr_array_index (transfer->headers, i),
                                 g_ptr_array_index (transfer->headers, i + 1));
  for (guint i = 0; i + 1 < secret->len; i += 2)
    soup_message_headers_append (headers, g_ptr_array_index (secret, i),
                                 g_ptr_array_index (secret, i + 1));
  if (transfer->secrets->server_username != NULL)
    {
      /* The body is a stream that cannot be sent twice: Basic auth is
       * offered at once instead of after a 401 */
      g_autofree char *pair = g_strdup_printf ("%s:%s", transfer->secrets->server_username,
                                               transfer->secrets->server_password);
      g_autofree char *encoded = g_base64_encode ((const guchar *) pair, strlen (pair));
      g_autofree char *value = g_strconcat ("Basic ", encoded, NULL);

      soup_message_headers_replace (headers, "Authorization", value);
      memset (pair, 0, strlen (pair));
    }
}

static gboolean
set_body (BtUploadJob *job, guint64 offset, const char *content_type)
{
  BtTransfer *transfer = job->transfer;
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) body = NULL;
  guint64 size = transfer->total_to_send;

  if (!bt_source_check_unchanged (transfer->source, &error))
    {
      job_finish (job, BT_ERROR_STATUS_RESOURCE_CHANGED, error->message, FALSE, 0);
      return FALSE;
    }
  body = bt_source_open (transfer->source, offset, &error);
  if (body == NULL)
    {
      job_finish (job, BT_ERROR_STATUS_RESOURCE_CHANGED, error->message, FALSE, 0);
      return FALSE;
    }
  bt_concat_input_stream_add_limiter (BT_CONCAT_INPUT_STREAM (body), transfer->rate_limiter);
  bt_concat_input_stream_add_limiter (BT_CONCAT_INPUT_STREAM (body),
                                      bt_rate_limiter_get_global_upload ());
  soup_message_set_request_body (job->msg, content_type, body,
                                 size == BT_SIZE_UNKNOWN ? -1 : (gssize) (size - offset));
  set_bytes_sent (transfer, offset);
  g_signal_connect (job->msg, "wrote-body-data", G_CALLBACK (on_wrote_body_data), job);
  return TRUE;
}

static void
send_step (BtUploadJob *job)
{
  BtTransfer *transfer = job->transfer;
  SoupMessageHeaders *headers;
  const char *method;

  if (job->msg != NULL)
    g_signal_handlers_disconnect_by_data (job->msg, job);
  g_clear_object (&job->msg);
  g_clear_pointer (&job->uri, g_uri_unref);
  job->uri = g_uri_parse (
      job->step == STEP_TUS_HEAD || job->step == STEP_TUS_PATCH ? transfer->tus_url : transfer->uri,
      G_URI_FLAGS_ENCODED, NULL);
  switch (job->step)
    {
      case STEP_TUS_CREATE:
        method = SOUP_METHOD_POST;
        break;
      case STEP_TUS_HEAD:
        method = SOUP_METHOD_HEAD;
        break;
      case STEP_TUS_PATCH:
        method = "PATCH";
        break;
      case STEP_PLAIN:
      default:
        method = transfer->method;
        break;
    }
  job->msg = soup_message_new_from_uri (method, job->uri);
  /* A streamed body cannot follow a redirect */
  soup_message_add_flags (job->msg, SOUP_MESSAGE_NO_REDIRECT);
  headers = soup_message_get_request_headers (job->msg);
  if (!bt_transfer_may_reach_local_network (job->transfer))
    bt_forbid_local_network (job->msg, job->cancellable, &job->local_denied);
  add_request_headers (job, headers);

  switch (job->step)
    {
      case STEP_PLAIN:
        {
          const char *type = bt_source_get_content_type (transfer->source);

          if (type == NULL)
            type = soup_message_headers_get_one (headers, "Content-Type");
          if (!set_body (job, 0, type != NULL ? type : "application/octet-stream"))
            return;
          break;
        }
      case STEP_TUS_CREATE:
        {
          g_autofree char *length = g_strdup_printf ("%" G_GUINT64_FORMAT, transfer->total_to_send);
          const char *path = bt_source_get_path (transfer->source);

          soup_message_headers_replace (headers, "Tus-Resumable", TUS_VERSION);
          soup_message_headers_replace (headers, "Upload-Length", length);
          if (path != NULL)
            {
              g_autofree char *base = g_path_get_basename (path);
              g_autofree char *encoded = g_base64_encode ((const guchar *) base, strlen (base));
              g_autofree char *metadata = g_strconcat ("filename ", encoded, NULL);

              soup_message_headers_replace (headers, "Upload-Metadata", metadata);
            }
          break;
        }
      case STEP_TUS_HEAD:
        soup_message_headers_replace (headers, "Tus-Resumable", TUS_VERSION);
        break;
      case STEP_TUS_PATCH:
        {
          g_autofree char *offset = g_strdup_printf ("%" G_GUINT64_FORMAT, job->offset);

          soup_message_headers_replace (headers, "Tus-Resumable", TUS_VERSION);
          soup_message_headers_replace (headers, "Upload-Offset", offset);
          soup_message_headers_remove (headers, "Content-Type");
          if (!set_body (job, job->offset, "application/offset+octet-stream"))
            return;
          break;
        }
    }

  job->request_started_us = g_get_monotonic_time ();
  soup_session_send_async (job->session, job->msg, G_PRIORITY_DEFAULT, job->cancellable, on_sent,
                           job);
}

static gboolean
on_start (gpointer user_data)
{
  BtUploadJob *job = user_data;

  if (job->stopped)
    job_free (job);
  else
    send_step (job);
  return G_SOURCE_REMOVE;
}

BtJob *
bt_upload_job_start (BtTransfer *transfer, SoupSession *session, GSettings *settings)
{
  BtUploadJob *job = g_new0 (BtUploadJob, 1);

  job->parent.stop = job_stop;
  job->transfer = g_object_ref (transfer);
  job->session = g_object_ref (session);
  job->settings = g_object_ref (settings);
  job->cancellable = g_cancellable_new ();
  job->buffer = g_malloc (READ_BUFFER_SIZE);
  job->response_limit = transfer->response_in_state
                            ? g_settings_get_uint64 (settings, "max-response-size")
                            : G_MAXUINT64;

  transfer->attempts++;
  bt_transfer_changed (transfer, "Attempts");

  if (!is_tus (transfer))
    job->step = STEP_PLAIN;
  else if (transfer->tus_url == NULL)
    job->step = STEP_TUS_CREATE;
  else
    job->step = STEP_TUS_HEAD;

  job->watchdog_id = g_timeout_add_seconds (1, on_watchdog, job);
  /* From the main loop: a failure is reported after transfer->job is set */
  g_idle_add (on_start, job);
  return &job->parent;
}
