/* bt-http-download.c: the HTTP(S) download engine, over libsoup
 *
 * One job is one request, following redirects hop by hop (https→http and
 * credentials in a Location are refused; the core keeps secret headers and
 * credentials with the origin the app named), then the resume decision on
 * the answer (bt-resume.c), and the body handed to the core, which writes
 * it under the rules every engine shares (bt-attempt.c). A connection of
 * a segmented download is a job like any other: it asks for its range,
 * bounded, even from 0, and its answer is judged like a resume's.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-engine.h"
#include "bt-engines.h"
#include "bt-resume.h"
#include "bt-verify.h"

#define MAX_REDIRECTS 10

struct _BtEngineJob
{
  BtAttempt *attempt;
  gboolean stopped;
  GUri *current_uri; /* after redirects */
  const char *method;
  guint redirects;
  gboolean restarted;
  SoupMessage *msg;
  gboolean sending;         /* a request in flight will call back */
  guint64 requested_offset; /* Range sent from here; 0 for none */
  gboolean ranged;          /* a Range was sent (even from 0, for a segment) */
};

static void send_request (BtEngineJob *job);

static void
job_free (BtEngineJob *job)
{
  if (job->msg != NULL)
    g_signal_handlers_disconnect_by_data (job->msg, job);
  g_clear_object (&job->msg);
  g_clear_pointer (&job->current_uri, g_uri_unref);
  g_free (job);
}

static void
job_stop (BtEngineJob *job)
{
  /* A request in flight sees "stopped" in its callback and frees the job */
  job->stopped = TRUE;
  if (!job->sending)
    job_free (job);
}

/* ---- Response ----------------------------------------------------------- */

static gboolean
follow_redirect (BtEngineJob *job)
{
  const char *location
      = soup_message_headers_get_one (soup_message_get_response_headers (job->msg), "Location");
  g_autoptr (GUri) next = NULL;
  const char *scheme;

  if (location == NULL || *location == '\0')
    {
      bt_attempt_fail (job->attempt, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE, 0,
                       "Redirect without a Location");
      return FALSE;
    }
  if (++job->redirects > MAX_REDIRECTS)
    {
      bt_attempt_fail (job->attempt, BT_ERROR_STATUS_TOO_MANY_REDIRECTS, FALSE, 0,
                       "More than %d redirects", MAX_REDIRECTS);
      return FALSE;
    }
  next = g_uri_parse_relative (job->current_uri, location,
                               G_URI_FLAGS_ENCODED | G_URI_FLAGS_HAS_PASSWORD, NULL);
  if (next == NULL || g_uri_get_host (next) == NULL || *g_uri_get_host (next) == '\0')
    {
      bt_attempt_fail (job->attempt, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE, 0,
                       "Redirect to an invalid URI");
      return FALSE;
    }
  scheme = g_uri_get_scheme (next);
  if (g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0)
    {
      bt_attempt_fail (job->attempt, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE, 0,
                       "Redirect to a URI that is not http or https");
      return FALSE;
    }
  if (g_ascii_strcasecmp (g_uri_get_scheme (job->current_uri), "https") == 0
      && g_ascii_strcasecmp (scheme, "http") == 0)
    {
      bt_attempt_fail (job->attempt, BT_ERROR_STATUS_INSECURE_REDIRECT, FALSE, 0,
                       "Redirect from https to http refused");
      return FALSE;
    }
  if (g_uri_get_userinfo (next) != NULL)
    {
      bt_attempt_fail (job->attempt, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE, 0,
                       "Redirect to a URI with credentials");
      return FALSE;
    }

  if (soup_message_get_status (job->msg) == SOUP_STATUS_SEE_OTHER)
    job->method = SOUP_METHOD_GET;
  g_uri_unref (job->current_uri);
  job->current_uri = g_steal_pointer (&next);
  return TRUE;
}

static gboolean
validator_changed (BtEngineJob *job, SoupMessageHeaders *headers)
{
  const char *validator = bt_attempt_get_validator (job->attempt);
  const char *etag = soup_message_headers_get_one (headers, "ETag");

  if (validator == NULL)
    return FALSE;
  /* The validator sent in If-Range is the strong ETag if there was one */
  if (validator[0] == '"')
    return g_strcmp0 (etag, validator) != 0;
  return g_strcmp0 (soup_message_headers_get_one (headers, "Last-Modified"), validator) != 0;
}

static void
record_validators (BtEngineJob *job, SoupMessageHeaders *headers, guint64 total)
{
  const char *etag = soup_message_headers_get_one (headers, "ETag");
  const char *last_modified = soup_message_headers_get_one (headers, "Last-Modified");
  const char *accept_ranges = soup_message_headers_get_one (headers, "Accept-Ranges");
  gboolean strong = bt_etag_is_strong (etag);

  /* Resuming is safe only with a validator for If-Range. Many servers that
   * honour ranges do not say Accept-Ranges; asking costs nothing (a 200
   * answer restarts), unless the server said "none" */
  bt_attempt_record_validators (
      job->attempt, total, strong ? etag : NULL, last_modified,
      (accept_ranges == NULL || !soup_header_contains (accept_ranges, "none"))
          && (strong || last_modified != NULL));
}

static void
record_digest (BtEngineJob *job, SoupMessageHeaders *headers, guint status)
{
  const char *repr = soup_message_headers_get_one (headers, "Repr-Digest");
  const char *content = soup_message_headers_get_one (headers, "Content-Digest");

  /* Content-Digest covers this message's content: the whole file only for
   * a full answer. Repr-Digest always covers the whole representation. */
  if (repr != NULL)
    bt_attempt_record_server_digest (job->attempt, "Repr-Digest", repr);
  else if (content != NULL && status != 206)
    bt_attempt_record_server_digest (job->attempt, "Content-Digest", content);
  else if (status != 206)
    bt_attempt_record_server_digest (job->attempt, NULL, NULL);
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

/* The answer to a range request, or to a plain one: where the body goes */
static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BtEngineJob *job = user_data;
  BtAttempt *attempt = job->attempt;
  g_autoptr (GError) error = NULL;
  g_autoptr (GInputStream) stream = NULL;
  SoupMessageHeaders *headers;
  BtResumeRequest request = { 0 };
  BtResumeAction action;
  guint64 offset, total;
  goffset content_length = -1;
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
      bt_attempt_fail_error (attempt, error);
      job_free (job);
      return;
    }

  status = soup_message_get_status (job->msg);
  headers = soup_message_get_response_headers (job->msg);
  bt_attempt_record_response (attempt, status, headers, job->current_uri);

  if (SOUP_STATUS_IS_REDIRECTION (status) && status != 304 && status != 300 && status != 305)
    {
      if (follow_redirect (job))
        send_request (job);
      else
        job_free (job);
      return;
    }

  if (!SOUP_STATUS_IS_SUCCESSFUL (status) && status != 416)
    {
      bt_attempt_fail_message (job->attempt, job->msg);
      job_free (job);
      return;
    }

  if (!content_length_is_valid (soup_message_headers_get_list (headers, "Content-Length")))
    {
      /* RFC 9112 §6.3: the framing cannot be trusted */
      bt_attempt_fail (attempt, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE, 0,
                       "The server sent an invalid Content-Length");
      job_free (job);
      return;
    }
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH)
    content_length = soup_message_headers_get_content_length (headers);

  request.offset = job->requested_offset;
  request.ranged = job->ranged;
  request.known_total = bt_attempt_get_known_total (attempt);
  request.validator_changed = job->ranged && validator_changed (job, headers);
  request.fail_if_changed = bt_attempt_get_fail_if_changed (attempt);
  action = bt_resume_decide (
      &request, SOUP_STATUS_IS_SUCCESSFUL (status) && status != 206 ? 200 : status,
      soup_message_headers_get_one (headers, "Content-Range"), content_length, &offset, &total);

  switch (action)
    {
      case BT_RESUME_CHANGED:
        bt_attempt_fail (attempt, BT_ERROR_STATUS_RESOURCE_CHANGED, FALSE, 0,
                         "The resource changed on the server since the download started");
        job_free (job);
        return;

      case BT_RESUME_PROTOCOL_ERROR:
        if (status == 416)
          bt_attempt_fail_message (job->attempt, job->msg);
        else
          bt_attempt_fail (attempt, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE, 0,
                           "The server answered with a range that was not asked for");
        job_free (job);
        return;

      case BT_RESUME_COMPLETE:
        bt_attempt_complete (attempt);
        job_free (job);
        return;

      case BT_RESUME_RESTART:
        if (status == 206 || status == 416)
          {
            /* The answer cannot be used: ask again for the whole resource */
            if (job->restarted)
              {
                bt_attempt_fail (attempt, BT_ERROR_STATUS_PROTOCOL_ERROR, TRUE, 0,
                                 "The server's ranges are inconsistent");
                job_free (job);
                return;
              }
            job->restarted = TRUE;
            if (!bt_attempt_restart_at (attempt, 0, "the server's partial answer cannot be used"))
              {
                job_free (job);
                return;
              }
            send_request (job);
            return;
          }
        /* A full body (200): written from zero over what was there */
        if (!bt_attempt_restart_at (attempt, 0, "the server sent the whole resource"))
          {
            job_free (job);
            return;
          }
        offset = 0;
        break;

      case BT_RESUME_WRITE:
      default:
        break;
    }

  /* Data beyond the resume point (unflushed or unverified) is dropped */
  if ((offset != bt_attempt_get_resume_offset (attempt) || !job->ranged)
      && !bt_attempt_restart_at (attempt, offset, NULL))
    {
      job_free (job);
      return;
    }

  record_validators (job, headers, total);
  record_digest (job, headers, status);

  /* The core writes the body; the job keeps the message until stopped */
  bt_attempt_receive_body (attempt, stream, NULL, NULL);
}

/* ---- Request ------------------------------------------------------------ */

static gboolean
on_authenticate (SoupMessage *msg, SoupAuth *auth, gboolean retrying, gpointer user_data)
{
  BtEngineJob *job = user_data;

  return !job->stopped && bt_attempt_answer_challenge (job->attempt, msg, auth, retrying);
}

static void
send_request (BtEngineJob *job)
{
  BtAttempt *attempt = job->attempt;
  SoupMessageHeaders *headers;
  guint64 offset = bt_attempt_get_resume_offset (attempt);
  guint64 end = bt_attempt_get_range_end (attempt);
  const char *validator = bt_attempt_get_validator (attempt);

  if (job->msg != NULL)
    g_signal_handlers_disconnect_by_data (job->msg, job);
  g_clear_object (&job->msg);
  job->msg = soup_message_new_from_uri (job->method, job->current_uri);
  soup_message_add_flags (job->msg, SOUP_MESSAGE_NO_REDIRECT);
  headers = soup_message_get_request_headers (job->msg);
  bt_attempt_guard_message (attempt, job->msg);
  bt_attempt_add_request_headers (attempt, headers, job->current_uri);
  g_signal_connect (job->msg, "authenticate", G_CALLBACK (on_authenticate), job);

  /* Byte offsets must mean bytes on disk */
  soup_message_headers_replace (headers, "Accept-Encoding", "identity");

  job->requested_offset = offset;
  job->ranged = offset > 0 || bt_attempt_is_segment (attempt);
  if (job->ranged)
    {
      g_autofree char *range
          = end != BT_SIZE_UNKNOWN ? g_strdup_printf (
                "bytes=%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, offset, end - 1)
                                   : g_strdup_printf ("bytes=%" G_GUINT64_FORMAT "-", offset);

      soup_message_headers_replace (headers, "Range", range);
      if (validator != NULL)
        soup_message_headers_replace (headers, "If-Range", validator);
    }

  bt_attempt_request_sent (attempt);
  job->sending = TRUE;
  soup_session_send_async (bt_attempt_get_soup_session (attempt), job->msg, G_PRIORITY_DEFAULT,
                           bt_attempt_get_cancellable (attempt), on_sent, job);
}

static BtEngineJob *
job_start (BtAttempt *attempt)
{
  BtEngineJob *job = g_new0 (BtEngineJob, 1);

  job->attempt = attempt;
  job->current_uri = g_uri_ref (bt_attempt_get_uri (attempt));
  job->method = bt_attempt_get_method (attempt);
  send_request (job);
  return job;
}

const BtEngineVTable bt_http_download_engine = {
  .name = "http-download",
  .kind = BT_KIND_DOWNLOAD,
  .schemes = (1u << BT_SCHEME_HTTP) | (1u << BT_SCHEME_HTTPS),
  .connections = 1,
  .segments = TRUE,
  .start = job_start,
  .stop = job_stop,
};
