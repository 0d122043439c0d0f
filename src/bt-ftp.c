/* bt-ftp.c: the FTP and explicit FTPS download engine, on GIO sockets
 *
 * libsoup has no FTP, so this speaks it itself, with blocking GIO calls in
 * a worker thread and the attempt's GCancellable:
 *
 *  1. open: log in (after AUTH TLS, PBSZ 0, PROT P for ftps://, with the
 *     same strict certificate checks as https), binary type, SIZE and MDTM
 *     as the resource's validators, passive mode (EPSV, then PASV, whose
 *     address is never followed: the data connection goes to the control
 *     connection's peer), REST to resume when the validators still match,
 *     RETR, and for FTPS the data connection's TLS, resuming the control
 *     connection's session (vsftpd's require_ssl_reuse);
 *  2. on the main loop, the core records the validators, and receives the
 *     data under the rules of every engine (rate limits, low speed,
 *     checkpoints; bt-attempt.c);
 *  3. close: the server's final reply (226) says whether all of it came.
 *
 * Every connection is checked against the local-network rule once made,
 * before anything is sent on it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-engine.h"
#include "bt-engines.h"
#include "bt-ftp-reply.h"
#include "bt-resume.h"
#include "bt-tls.h"

struct _BtEngineJob
{
  BtAttempt *attempt; /* a reference: the thread uses bt_attempt_check_peer() */
  GCancellable *cancellable;
  gboolean stopped;
  gboolean in_thread; /* a phase runs: its callback frees a stopped job */

  /* Inputs, copied for the thread */
  char *host;
  guint16 port;
  char *path;
  gboolean ftps;
  char *user;
  char *password;
  guint64 offset; /* where the data on disk ends, if it may be resumed */
  guint64 known_total;
  char *known_mdtm;
  guint timeout_s;

  /* The connections */
  GIOStream *control;
  GDataInputStream *control_in;
  GIOStream *data;

  /* Outputs of the thread */
  guint64 total;
  char *mdtm;
  gboolean rest_refused;
  guint code; /* a negative reply, if that is how it failed */
  char *text;
  GError *error;
};

static void
job_free (BtEngineJob *job)
{
  g_clear_pointer (&job->attempt, bt_attempt_unref);
  g_clear_object (&job->data);
  g_clear_object (&job->control_in);
  g_clear_object (&job->control);
  g_clear_object (&job->cancellable);
  g_free (job->host);
  g_free (job->path);
  g_free (job->user);
  if (job->password != NULL)
    memset (job->password, 0, strlen (job->password));
  g_free (job->password);
  g_free (job->known_mdtm);
  g_free (job->mdtm);
  g_free (job->text);
  g_clear_error (&job->error);
  g_free (job);
}

static void
job_stop (BtEngineJob *job)
{
  job->stopped = TRUE;
  g_cancellable_cancel (job->cancellable);
  if (!job->in_thread)
    job_free (job);
}

/* ---- The protocol, in the worker thread --------------------------------- */

static gboolean
fail_reply (BtEngineJob *job, guint code, const char *text)
{
  job->code = code != 0 ? code : 500;
  g_free (job->text);
  job->text = g_strdup (text);
  return FALSE;
}

static gboolean
fail_protocol (BtEngineJob *job, const char *message)
{
  if (job->error == NULL)
    job->error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_INVALID_DATA, message);
  return FALSE;
}

/* A reply: "123 text", or "123-…" lines ending with "123 text"
 * (bt_ftp_reply_add_line); 0 on error */
static guint
read_reply (BtEngineJob *job, char **out_text)
{
  BtFtpReply reply = { 0 };
  BtFtpReplyState state = BT_FTP_REPLY_MORE;
  guint code;

  while (state == BT_FTP_REPLY_MORE)
    {
      g_autofree char *line
          = g_data_input_stream_read_line (job->control_in, NULL, job->cancellable, &job->error);

      if (line == NULL)
        {
          if (job->error == NULL)
            job->error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                              "The FTP server closed the connection");
          bt_ftp_reply_clear (&reply);
          return 0;
        }
      state = bt_ftp_reply_add_line (&reply, line);
    }
  if (state != BT_FTP_REPLY_DONE)
    {
      fail_protocol (job, state == BT_FTP_REPLY_INVALID ? "Not an FTP server"
                                                        : "An FTP reply that does not end");
      bt_ftp_reply_clear (&reply);
      return 0;
    }
  code = bt_ftp_reply_get_code (&reply);
  if (out_text != NULL)
    *out_text = g_steal_pointer (&reply.first);
  bt_ftp_reply_clear (&reply);
  return code;
}

static guint
command (BtEngineJob *job, const char *cmd, const char *argument, char **out_text)
{
  g_autofree char *line = NULL;
  GOutputStream *out = g_io_stream_get_output_stream (job->control);

  if (argument != NULL && (strchr (argument, '\r') != NULL || strchr (argument, '\n') != NULL))
    {
      fail_protocol (job, "Invalid FTP argument");
      return 0;
    }
  line = argument != NULL ? g_strdup_printf ("%s %s\r\n", cmd, argument)
                          : g_strdup_printf ("%s\r\n", cmd);
  if (!g_output_stream_write_all (out, line, strlen (line), NULL, job->cancellable, &job->error))
    return 0;
  return read_reply (job, out_text);
}

static void
set_control (BtEngineJob *job, GIOStream *stream)
{
  g_clear_object (&job->control_in);
  g_set_object (&job->control, stream);
  job->control_in = g_data_input_stream_new (g_io_stream_get_input_stream (stream));
  g_data_input_stream_set_newline_type (job->control_in, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (job->control_in), FALSE);
}

/* @session: (nullable): the control connection, whose TLS session the
 * data connection resumes (RFC 4217 §10.2; vsftpd requires it) */
static GIOStream *
start_tls (BtEngineJob *job, GIOStream *base, GTlsConnection *session)
{
  g_autoptr (GSocketConnectable) identity = g_network_address_new (job->host, job->port);
  g_autoptr (GIOStream) tls = g_tls_client_connection_new (base, identity, &job->error);

  if (tls == NULL)
    return NULL;
  bt_tls_configure (G_TLS_CONNECTION (tls));
  if (session != NULL)
    g_tls_client_connection_copy_session_state (G_TLS_CLIENT_CONNECTION (tls),
                                                G_TLS_CLIENT_CONNECTION (session));
  if (!g_tls_connection_handshake (G_TLS_CONNECTION (tls), job->cancellable, &job->error))
    return NULL;
  return g_steal_pointer (&tls);
}

/* Each address the name resolves to is checked against the local-network
 * rule before it is tried, so a refused app sends not even a SYN; the
 * connection made is checked again */
static GSocketConnection *
connect_to (BtEngineJob *job, GSocketConnectable *address)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddressEnumerator) addresses = g_socket_connectable_enumerate (address);
  g_autoptr (GError) denied = NULL;

  g_socket_client_set_timeout (client, job->timeout_s);
  for (;;)
    {
      g_autoptr (GSocketAddress) next
          = g_socket_address_enumerator_next (addresses, job->cancellable, &job->error);
      g_autoptr (GSocketConnection) connection = NULL;

      if (next == NULL)
        break;
      if (!bt_attempt_check_address (job->attempt, next, denied == NULL ? &denied : NULL))
        continue;
      g_clear_error (&job->error);
      connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (next), job->cancellable,
                                            &job->error);
      if (connection == NULL)
        {
          if (g_cancellable_is_cancelled (job->cancellable))
            return NULL;
          continue;
        }
      if (!bt_attempt_check_peer (job->attempt, connection, &job->error))
        return NULL;
      return g_steal_pointer (&connection);
    }
  if (job->error == NULL && denied != NULL)
    job->error = g_steal_pointer (&denied);
  else if (job->error == NULL)
    job->error
        = g_error_new (G_IO_ERROR, G_IO_ERROR_HOST_NOT_FOUND, "Cannot connect to %s", job->host);
  return NULL;
}

static gboolean
log_in (BtEngineJob *job)
{
  g_autoptr (GSocketConnectable) address = g_network_address_new (job->host, job->port);
  g_autoptr (GSocketConnection) connection = connect_to (job, address);
  g_autofree char *text = NULL;
  guint code;

  if (connection == NULL)
    return FALSE;
  set_control (job, G_IO_STREAM (connection));
  if ((code = read_reply (job, &text)) != 220)
    return code != 0 && fail_reply (job, code, text);

  if (job->ftps)
    {
      g_autoptr (GIOStream) tls = NULL;

      g_clear_pointer (&text, g_free);
      if ((code = command (job, "AUTH", "TLS", &text)) != 234)
        {
          if (code != 0)
            fail_protocol (job, "The FTP server does not offer TLS (AUTH TLS)");
          return FALSE;
        }
      tls = start_tls (job, G_IO_STREAM (connection), NULL);
      if (tls == NULL)
        return FALSE;
      set_control (job, tls);
      /* Replies read after the handshake also bring TLS 1.3's session
       * tickets, which the data connection resumes */
      if (command (job, "PBSZ", "0", NULL) != 200 || command (job, "PROT", "P", NULL) != 200)
        return fail_protocol (job, "The FTP server does not protect the data connection");
    }

  g_clear_pointer (&text, g_free);
  code = command (job, "USER", job->user, &text);
  if (code == 331 || code == 332)
    {
      g_clear_pointer (&text, g_free);
      code = command (job, "PASS", job->password, &text);
    }
  if (code != 230 && code != 202)
    return code != 0 && fail_reply (job, code, text);
  g_clear_pointer (&text, g_free);
  if ((code = command (job, "TYPE", "I", &text)) != 200)
    return code != 0 && fail_reply (job, code, text);
  return TRUE;
}

/* The data connection, to the control connection's peer whatever a PASV
 * reply says (the FTP bounce, FAULTS S12) */
static GIOStream *
open_data (BtEngineJob *job)
{
  g_autoptr (GSocketAddress) peer = NULL;
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GIOStream) base = g_object_ref (job->control);
  g_autofree char *text = NULL;
  guint16 port = 0;
  guint code;

  code = command (job, "EPSV", NULL, &text);
  if (code == 229)
    {
      if (!bt_ftp_parse_epsv (text, &port))
        {
          fail_protocol (job, "Invalid EPSV reply");
          return NULL;
        }
    }
  else if (code != 0)
    {
      g_clear_pointer (&text, g_free);
      code = command (job, "PASV", NULL, &text);
      if (code != 227 || !bt_ftp_parse_pasv (text, &port))
        {
          if (code != 0)
            fail_protocol (job, "The FTP server offers no passive mode");
          return NULL;
        }
    }
  if (port == 0)
    return NULL;

  if (G_IS_TLS_CONNECTION (base))
    {
      GIOStream *plain = NULL;

      g_object_get (base, "base-io-stream", &plain, NULL);
      g_object_unref (base);
      base = plain;
    }
  peer = g_socket_connection_get_remote_address (G_SOCKET_CONNECTION (base), &job->error);
  if (peer == NULL)
    return NULL;
  address = g_inet_socket_address_new (
      g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (peer)), port);
  return G_IO_STREAM (connect_to (job, G_SOCKET_CONNECTABLE (address)));
}

static void
open_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  BtEngineJob *job = task_data;
  g_autoptr (GIOStream) data = NULL;
  g_autofree char *text = NULL;
  guint code;

  if (!log_in (job))
    goto done;

  if (command (job, "SIZE", job->path, &text) == 213 && !bt_ftp_parse_size (text, &job->total))
    job->total = BT_SIZE_UNKNOWN;
  g_clear_pointer (&text, g_free);
  if (job->error != NULL)
    goto done;
  if (command (job, "MDTM", job->path, &text) == 213)
    job->mdtm = bt_ftp_parse_mdtm (text);
  g_clear_pointer (&text, g_free);
  if (job->error != NULL)
    goto done;

  /* Resume only the same file: same size and modification time */
  if (job->offset > 0
      && ((job->known_total != BT_SIZE_UNKNOWN && job->total != job->known_total)
          || job->mdtm == NULL || g_strcmp0 (job->known_mdtm, job->mdtm) != 0))
    job->offset = 0;
  if (job->total != BT_SIZE_UNKNOWN && job->offset > job->total)
    job->offset = 0;

  data = open_data (job);
  if (data == NULL)
    goto done;

  if (job->offset > 0)
    {
      g_autofree char *rest = g_strdup_printf ("%" G_GUINT64_FORMAT, job->offset);

      code = command (job, "REST", rest, NULL);
      if (code == 0)
        goto done;
      if (code != 350)
        {
          job->rest_refused = TRUE;
          job->offset = 0;
        }
    }

  code = command (job, "RETR", job->path, &text);
  if (code != 150 && code != 125)
    {
      if (code != 0)
        fail_reply (job, code, text);
      goto done;
    }
  if (job->ftps)
    {
      GIOStream *tls = start_tls (job, data, G_TLS_CONNECTION (job->control));

      if (tls == NULL)
        goto done;
      g_object_unref (data);
      data = tls;
    }
  job->data = g_steal_pointer (&data);

done:
  g_task_return_boolean (task, TRUE);
}

static void
close_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  BtEngineJob *job = task_data;
  g_autofree char *text = NULL;
  guint code;

  /* The end of the data stream is the end of the file only if the
   * server says the transfer went well */
  g_io_stream_close (job->data, job->cancellable, NULL);
  code = read_reply (job, &text);
  if (code != 0 && code != 226 && code != 250)
    fail_reply (job, code, text);
  else if (code != 0)
    command (job, "QUIT", NULL, NULL);
  g_io_stream_close (job->control, NULL, NULL);
  g_task_return_boolean (task, TRUE);
}

/* ---- The main loop side ------------------------------------------------- */

static void run_in_thread (BtEngineJob *job, GTaskThreadFunc func, GAsyncReadyCallback callback);

/* Reports a failure of the thread, if any; the job is freed then */
static gboolean
report_failure (BtEngineJob *job)
{
  if (job->error != NULL)
    bt_attempt_fail_error (job->attempt, job->error);
  else if (job->code != 0)
    bt_attempt_fail_ftp (job->attempt, job->code, job->text);
  else
    return FALSE;
  job_free (job);
  return TRUE;
}

static void
on_closed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BtEngineJob *job = user_data;

  job->in_thread = FALSE;
  if (job->stopped)
    {
      job_free (job);
      return;
    }
  if (report_failure (job))
    return;
  bt_attempt_complete (job->attempt);
  job_free (job);
}

static void
on_body_done (BtAttempt *attempt, gpointer user_data)
{
  run_in_thread (user_data, close_thread, on_closed);
}

static void
on_opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BtEngineJob *job = user_data;
  BtAttempt *attempt = job->attempt;
  guint64 on_disk = bt_attempt_get_resume_offset (attempt);

  job->in_thread = FALSE;
  if (job->stopped)
    {
      job_free (job);
      return;
    }

  /* Recorded whatever happens next: a pause or a crash resumes with REST */
  bt_attempt_record_validators (attempt, job->total, NULL, job->mdtm, job->mdtm != NULL);
  if (report_failure (job))
    return;

  if (job->offset != on_disk || on_disk == 0)
    {
      const char *why = NULL;

      if (on_disk > 0 && job->rest_refused)
        why = "the FTP server refused REST";
      else if (on_disk > 0 && job->offset == 0)
        {
          if (bt_attempt_get_fail_if_changed (attempt))
            {
              bt_attempt_fail (attempt, BT_ERROR_STATUS_RESOURCE_CHANGED, FALSE, 0,
                               "The file changed on the server since the download started");
              job_free (job);
              return;
            }
          why = "the file changed on the server";
        }
      if (!bt_attempt_restart_at (attempt, job->offset, why))
        {
          job_free (job);
          return;
        }
      /* Starting over forgot the validators: they are the new file's */
      bt_attempt_record_validators (attempt, job->total, NULL, job->mdtm, job->mdtm != NULL);
    }
  bt_attempt_receive_body (attempt, g_io_stream_get_input_stream (job->data), on_body_done, job);
}

static void
run_in_thread (BtEngineJob *job, GTaskThreadFunc func, GAsyncReadyCallback callback)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, callback, job);

  g_task_set_source_tag (task, run_in_thread);
  g_task_set_task_data (task, job, NULL);
  job->in_thread = TRUE;
  g_task_run_in_thread (task, func);
}

static BtEngineJob *
job_start (BtAttempt *attempt)
{
  BtEngineJob *job = g_new0 (BtEngineJob, 1);
  GUri *uri = bt_attempt_get_uri (attempt);
  g_autofree char *path = g_uri_unescape_string (g_uri_get_path (uri), NULL);
  const char *username = NULL, *password = NULL;

  job->attempt = bt_attempt_ref (attempt);
  /* Its own, so that closing the connections here never races the core */
  job->cancellable = g_cancellable_new ();
  g_signal_connect_object (bt_attempt_get_cancellable (attempt), "cancelled",
                           G_CALLBACK (g_cancellable_cancel), job->cancellable, G_CONNECT_SWAPPED);
  job->ftps = g_ascii_strcasecmp (g_uri_get_scheme (uri), "ftps") == 0;
  job->host = g_strdup (g_uri_get_host (uri));
  job->port = g_uri_get_port (uri) > 0 ? (guint16) g_uri_get_port (uri) : 21;
  job->path = g_strdup (path != NULL && *path != '\0' ? path : "/");
  if (!bt_attempt_get_credentials (attempt, FALSE, NULL, &username, &password))
    {
      username = "anonymous";
      password = "anonymous@";
    }
  job->user = g_strdup (username);
  job->password = g_strdup (password);
  job->offset = bt_attempt_get_resume_offset (attempt);
  job->known_total = bt_attempt_get_known_total (attempt);
  job->known_mdtm = g_strdup (bt_attempt_get_validator (attempt));
  job->total = BT_SIZE_UNKNOWN;
  job->timeout_s = MAX (bt_attempt_get_response_timeout (attempt), 1);

  bt_attempt_request_sent (attempt);
  run_in_thread (job, open_thread, on_opened);
  return job;
}

const BtEngineVTable bt_ftp_download_engine = {
  .name = "ftp",
  .kind = BT_KIND_DOWNLOAD,
  .schemes = (1u << BT_SCHEME_FTP) | (1u << BT_SCHEME_FTPS),
  .connections = 2,
  .start = job_start,
  .stop = job_stop,
};
