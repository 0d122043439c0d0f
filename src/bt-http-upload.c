/* bt-http-upload.c: the HTTP(S) upload engine over HTTP(S): PUT/POST, multipart, tus
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

#include "bt-engine.h"
#include "bt-engines.h"
#include "bt-resume.h"

#define TUS_VERSION "1.0.0"

typedef enum
{
  STEP_PLAIN,
  STEP_TUS_CREATE,
  STEP_TUS_HEAD,
  STEP_TUS_PATCH,
} Step;

struct _BtEngineJob
{
  BtAttempt *attempt;
  gboolean stopped;
  gboolean sending; /* a request in flight will call back */

  Step step;
  GUri *uri;
  SoupMessage *msg;
  guint64 offset; /* tus: where this PATCH starts */
  guint64 sent;   /* of the body, from offset */
};

static void send_step (BtEngineJob *job);

static void
job_free (BtEngineJob *job)
{
  if (job->msg != NULL)
    g_signal_handlers_disconnect_by_data (job->msg, job);
  g_clear_object (&job->msg);
  g_clear_pointer (&job->uri, g_uri_unref);
  g_free (job);
}

static void
job_stop (BtEngineJob *job)
{
  job->stopped = TRUE;
  if (!job->sending)
    job_free (job);
}

static void
on_wrote_body_data (SoupMessage *msg, guint chunk_size, gpointer user_data)
{
  BtEngineJob *job = user_data;

  if (job->stopped)
    return;
  /* Some of the body may have reached the server: a POST is not repeated
   * behind the app's back (FAULTS P7); PUT and tus may try again */
  if (!bt_attempt_is_tus (job->attempt)
      && g_ascii_strcasecmp (bt_attempt_get_method (job->attempt), "POST") == 0)
    bt_attempt_set_repeatable (job->attempt, FALSE);
  job->sent += chunk_size;
  bt_attempt_sent (job->attempt, job->offset + job->sent);
}

/* All of the body went out: now the server's answer is awaited */
static void
on_wrote_body (SoupMessage *msg, gpointer user_data)
{
  BtEngineJob *job = user_data;

  if (!job->stopped)
    bt_attempt_request_sent (job->attempt);
}

/* ---- The server's reply ------------------------------------------------- */

static void
on_response_read (BtAttempt *attempt, gpointer user_data)
{
  BtEngineJob *job = user_data;
  guint status = soup_message_get_status (job->msg);

  if (SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      bt_attempt_sent (attempt, job->offset + job->sent);
      bt_attempt_complete (attempt);
    }
  else
    bt_attempt_fail_message (job->attempt, job->msg);
  job_free (job);
}

/* Keeps the reply body (also of an error answer: the app may want it) */
static void
read_response (BtEngineJob *job, GInputStream *stream)
{
  SoupMessageHeaders *headers = soup_message_get_response_headers (job->msg);

  bt_attempt_receive_response (job->attempt, stream,
                               soup_message_headers_get_encoding (headers)
                                       == SOUP_ENCODING_CONTENT_LENGTH
                                   ? (guint64) soup_message_headers_get_content_length (headers)
                                   : BT_SIZE_UNKNOWN,
                               on_response_read, job);
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

/* Whether the job goes on; if not, it has reported and must be freed */
static gboolean
next_step (BtEngineJob *job, guint status, SoupMessageHeaders *headers, GInputStream *stream)
{
  BtAttempt *attempt = job->attempt;

  switch (job->step)
    {
      case STEP_PLAIN:
        read_response (job, stream);
        return TRUE;

      case STEP_TUS_CREATE:
        {
          const char *location = soup_message_headers_get_one (headers, "Location");
          g_autoptr (GUri) upload_uri = NULL;
          g_autofree char *url = NULL;

          if (status != 201 || location == NULL)
            {
              if (SOUP_STATUS_IS_SUCCESSFUL (status))
                bt_attempt_fail (attempt, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE, 0,
                                 "The tus server created no upload");
              else
                bt_attempt_fail_message (job->attempt, job->msg);
              return FALSE;
            }
          upload_uri = g_uri_parse_relative (job->uri, location, G_URI_FLAGS_ENCODED, NULL);
          if (upload_uri == NULL)
            {
              bt_attempt_fail (attempt, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE, 0,
                               "The tus server gave an invalid upload URL");
              return FALSE;
            }
          url = g_uri_to_string (upload_uri);
          bt_attempt_record_resume_url (attempt, url); /* resumable from now on */
          job->offset = 0;
          job->step = STEP_TUS_PATCH;
          send_step (job);
          return TRUE;
        }

      case STEP_TUS_HEAD:
        if (status == 404 || status == 410 || status == 403)
          {
            /* The server forgot the upload: create it again */
            bt_attempt_record_resume_url (attempt, NULL);
            job->step = STEP_TUS_CREATE;
            send_step (job);
            return TRUE;
          }
        if (!SOUP_STATUS_IS_SUCCESSFUL (status))
          {
            bt_attempt_fail_message (job->attempt, job->msg);
            return FALSE;
          }
        job->offset = parse_offset (headers);
        if (job->offset == BT_SIZE_UNKNOWN || job->offset > bt_attempt_get_total_to_send (attempt))
          {
            bt_attempt_fail (attempt, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE, 0,
                             "The tus server reported an invalid offset");
            return FALSE;
          }
        g_debug ("Transfer %s: tus upload resumes at %" G_GUINT64_FORMAT,
                 bt_attempt_get_transfer_id (attempt), job->offset);
        job->step = STEP_TUS_PATCH;
        send_step (job);
        return TRUE;

      case STEP_TUS_PATCH:
      default:
        if (!SOUP_STATUS_IS_SUCCESSFUL (status))
          {
            bt_attempt_fail_message (job->attempt, job->msg);
            return FALSE;
          }
        if (parse_offset (headers) != bt_attempt_get_total_to_send (attempt))
          {
            /* Not all of it arrived: the next attempt asks again */
            bt_attempt_fail (attempt, BT_ERROR_STATUS_CONNECTION_RESET, TRUE, 0,
                             "The tus server did not take the whole upload");
            return FALSE;
          }
        read_response (job, stream);
        return TRUE;
    }
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BtEngineJob *job = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) stream = NULL;
  guint status;

  stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  job->sending = FALSE;
  if (job->stopped)
    {
      job_free (job);
      return;
    }
  if (stream == NULL)
    {
      bt_attempt_fail_error (job->attempt, error);
      job_free (job);
      return;
    }

  status = soup_message_get_status (job->msg);
  bt_attempt_record_response (job->attempt, status, soup_message_get_response_headers (job->msg),
                              job->uri);
  if (!next_step (job, status, soup_message_get_response_headers (job->msg), stream))
    job_free (job);
}

/* A proxy's challenge; the server's credentials went with the request */
static gboolean
on_authenticate (SoupMessage *msg, SoupAuth *auth, gboolean retrying, gpointer user_data)
{
  BtEngineJob *job = user_data;

  return !job->stopped && bt_attempt_answer_challenge (job->attempt, msg, auth, retrying);
}

static gboolean
add_request_headers (BtEngineJob *job, SoupMessageHeaders *headers)
{
  const char *username, *password;

  bt_attempt_add_request_headers (job->attempt, headers, job->uri);
  if (bt_attempt_get_credentials (job->attempt, FALSE, job->uri, &username, &password))
    {
      /* The body is a stream that cannot be sent twice: Basic auth is
       * offered at once instead of after a 401 */
      g_autofree char *pair = g_strdup_printf ("%s:%s", username, password);
      g_autofree char *encoded = g_base64_encode ((const guchar *) pair, strlen (pair));
      g_autofree char *value = g_strconcat ("Basic ", encoded, NULL);

      soup_message_headers_replace (headers, "Authorization", value);
      memset (pair, 0, strlen (pair));
    }
  return TRUE;
}

static gboolean
set_body (BtEngineJob *job, guint64 offset, const char *content_type)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) body = bt_attempt_open_source (job->attempt, offset, &error);
  guint64 size = bt_attempt_get_total_to_send (job->attempt);

  if (body == NULL)
    {
      bt_attempt_fail_error (job->attempt, error);
      return FALSE;
    }
  soup_message_set_request_body (job->msg, content_type, body,
                                 size == BT_SIZE_UNKNOWN ? -1 : (gssize) (size - offset));
  job->sent = 0;
  g_signal_connect (job->msg, "wrote-body-data", G_CALLBACK (on_wrote_body_data), job);
  g_signal_connect (job->msg, "wrote-body", G_CALLBACK (on_wrote_body), job);
  return TRUE;
}

/* Whether the step was sent; if not, the job has reported */
static gboolean
send_step_checked (BtEngineJob *job)
{
  BtAttempt *attempt = job->attempt;
  SoupMessageHeaders *headers;
  const char *method;

  if (job->msg != NULL)
    g_signal_handlers_disconnect_by_data (job->msg, job);
  g_clear_object (&job->msg);
  g_clear_pointer (&job->uri, g_uri_unref);
  job->uri = job->step == STEP_TUS_HEAD || job->step == STEP_TUS_PATCH
                 ? g_uri_parse (bt_attempt_get_resume_url (attempt), G_URI_FLAGS_ENCODED, NULL)
                 : g_uri_ref (bt_attempt_get_uri (attempt));
  if (job->uri == NULL)
    {
      bt_attempt_fail (attempt, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE, 0,
                       "The tus upload URL is invalid");
      return FALSE;
    }
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
        method = bt_attempt_get_method (attempt);
        break;
    }
  job->msg = soup_message_new_from_uri (method, job->uri);
  /* A streamed body cannot follow a redirect */
  soup_message_add_flags (job->msg, SOUP_MESSAGE_NO_REDIRECT);
  headers = soup_message_get_request_headers (job->msg);
  bt_attempt_guard_message (attempt, job->msg);
  g_signal_connect (job->msg, "authenticate", G_CALLBACK (on_authenticate), job);
  add_request_headers (job, headers);

  switch (job->step)
    {
      case STEP_PLAIN:
        {
          const char *type = bt_attempt_get_content_type (attempt);

          if (type == NULL)
            type = soup_message_headers_get_one (headers, "Content-Type");
          if (!set_body (job, 0, type != NULL ? type : "application/octet-stream"))
            return FALSE;
          break;
        }
      case STEP_TUS_CREATE:
        {
          g_autofree char *length
              = g_strdup_printf ("%" G_GUINT64_FORMAT, bt_attempt_get_total_to_send (attempt));
          const char *path = bt_attempt_get_source_path (attempt);

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
            return FALSE;
          break;
        }
    }

  bt_attempt_request_sent (attempt);
  job->sending = TRUE;
  soup_session_send_async (bt_attempt_get_soup_session (attempt), job->msg, G_PRIORITY_DEFAULT,
                           bt_attempt_get_cancellable (attempt), on_sent, job);
  return TRUE;
}

static void
send_step (BtEngineJob *job)
{
  if (!send_step_checked (job))
    job_free (job);
}

static BtEngineJob *
job_start (BtAttempt *attempt)
{
  BtEngineJob *job = g_new0 (BtEngineJob, 1);

  job->attempt = attempt;
  if (!bt_attempt_is_tus (attempt))
    job->step = STEP_PLAIN;
  else if (bt_attempt_get_resume_url (attempt) == NULL)
    job->step = STEP_TUS_CREATE;
  else
    job->step = STEP_TUS_HEAD;
  if (!send_step_checked (job))
    {
      job_free (job);
      return NULL;
    }
  return job;
}

const BtEngineVTable bt_http_upload_engine = {
  .name = "http-upload",
  .kind = BT_KIND_UPLOAD,
  .schemes = (1u << BT_SCHEME_HTTP) | (1u << BT_SCHEME_HTTPS),
  .connections = 1,
  .start = job_start,
  .stop = job_stop,
};
