/* bt-ftp.c: FTP and explicit FTPS downloads on GIO sockets
 *
 * libsoup has no FTP, so this speaks it itself: passive mode (EPSV, then
 * PASV, whose address is ignored in favour of the control connection's
 * host), binary type, REST to resume (a server without it means starting
 * over), SIZE and MDTM as the resource's validators. ftps:// is explicit
 * TLS (AUTH TLS, PBSZ 0, PROT P) with the same strict certificate checks
 * as https. The protocol runs in a worker thread with blocking GIO calls
 * and a GCancellable; progress goes to the main loop at most ten times a
 * second; the end (verification, rename) happens on the main loop.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "bt-error.h"
#include "bt-ftp.h"
#include "bt-resume.h"
#include "bt-tls.h"

#define BUFFER_SIZE (1024 * 1024)
#define MAX_REPLY_LINES 200

typedef struct
{
  BtJob parent;
  BtTransfer *transfer; /* main thread only */
  GCancellable *cancellable;
  gboolean stopped;
  guint progress_source;

  /* Inputs, copied for the thread */
  char *host;
  guint16 port;
  char *path;
  gboolean ftps;
  char *user;
  char *password;
  guint64 offset;
  guint64 known_total;
  char *known_mdtm;
  int fd;
  guint timeout_s;

  /* Outputs */
  guint64 received; /* bytes on disk; written by the thread, read atomically */
  guint64 total;
  char *mdtm;
  BtErrorStatus error_status;
  char *error_message;
  gboolean transient;
} BtFtpJob;

typedef struct
{
  GIOStream *stream;
  GDataInputStream *in;
  GOutputStream *out;
} Control;

static void
job_free (BtFtpJob *job)
{
  g_clear_handle_id (&job->progress_source, g_source_remove);
  g_clear_object (&job->transfer);
  g_clear_object (&job->cancellable);
  g_free (job->host);
  g_free (job->path);
  g_free (job->user);
  if (job->password != NULL)
    memset (job->password, 0, strlen (job->password));
  g_free (job->password);
  g_free (job->known_mdtm);
  g_free (job->mdtm);
  g_free (job->error_message);
  if (job->fd >= 0)
    close (job->fd);
  g_free (job);
}

static void
job_stop (BtJob *base)
{
  BtFtpJob *job = (BtFtpJob *) base;

  /* The thread sees the cancellable; its task frees the job */
  job->stopped = TRUE;
  job->transfer->job = NULL;
  bt_destination_close (job->transfer->destination);
  g_cancellable_cancel (job->cancellable);
}

gboolean
bt_ftp_parse_epsv (const char *text, guint16 *out_port)
{
  const char *open = strchr (text, '(');
  char delim;
  guint64 port;
  const char *p;
  char *end;

  /* "229 Entering Extended Passive Mode (|||6446|)" */
  if (open == NULL || open[1] == '\0')
    return FALSE;
  delim = open[1];
  p = open + 1;
  if (p[0] != delim || p[1] != delim || p[2] != delim)
    return FALSE;
  p += 3;
  port = g_ascii_strtoull (p, &end, 10);
  if (end == p || *end != delim || port == 0 || port > 65535)
    return FALSE;
  *out_port = (guint16) port;
  return TRUE;
}

gboolean
bt_ftp_parse_pasv (const char *text, guint16 *out_port)
{
  guint64 n[6];
  const char *p = text;

  /* "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)": only the port is
   * used; the address is never trusted (FAULTS S12) */
  while (*p != '\0' && !g_ascii_isdigit (*p))
    p++;
  if (g_str_has_prefix (p, "227"))
    {
      p += 3;
      while (*p != '\0' && !g_ascii_isdigit (*p))
        p++;
    }
  for (int i = 0; i < 6; i++)
    {
      char *end;

      n[i] = g_ascii_strtoull (p, &end, 10);
      if (end == p || n[i] > 255)
        return FALSE;
      p = end;
      if (i < 5)
        {
          if (*p != ',')
            return FALSE;
          p++;
        }
    }
  if (n[4] * 256 + n[5] == 0)
    return FALSE;
  *out_port = (guint16) (n[4] * 256 + n[5]);
  return TRUE;
}

static void fail (BtFtpJob *job, BtErrorStatus status, gboolean transient, const char *format, ...)
    G_GNUC_PRINTF (4, 5);

static void
fail (BtFtpJob *job, BtErrorStatus status, gboolean transient, const char *format, ...)
{
  va_list args;

  if (job->error_status != BT_ERROR_STATUS_NONE)
    return;
  va_start (args, format);
  job->error_message = g_strdup_vprintf (format, args);
  va_end (args);
  job->error_status = status;
  job->transient = transient;
}

static void
fail_gerror (BtFtpJob *job, const GError *error)
{
  if (error->domain == G_RESOLVER_ERROR)
    fail (job, BT_ERROR_STATUS_HOST_NAME_NOT_RESOLVED, TRUE, "%s", error->message);
  else if (error->domain == G_TLS_ERROR)
    fail (job, BT_ERROR_STATUS_CERTIFICATE_INVALID, FALSE, "%s", error->message);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED)
           || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE)
           || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE))
    fail (job, BT_ERROR_STATUS_CANNOT_CONNECT, TRUE, "%s", error->message);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    fail (job, BT_ERROR_STATUS_TIMEOUT, TRUE, "%s", error->message);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
    fail (job, BT_ERROR_STATUS_DISK_FULL, FALSE, "%s", error->message);
  else
    fail (job, BT_ERROR_STATUS_CONNECTION_RESET, TRUE, "%s", error->message);
}

/* A reply: "123 text", or "123-…" lines ending with "123 text" */
static guint
read_reply (BtFtpJob *job, Control *control, char **out_text)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *first = NULL;
  char code[4];

  for (int lines = 0; lines < MAX_REPLY_LINES; lines++)
    {
      g_autofree char *line
          = g_data_input_stream_read_line (control->in, NULL, job->cancellable, &error);

      if (line == NULL)
        {
          if (error != NULL)
            fail_gerror (job, error);
          else
            fail (job, BT_ERROR_STATUS_CONNECTION_RESET, TRUE,
                  "The FTP server closed the connection");
          return 0;
        }
      g_strchomp (line);
      if (first == NULL)
        {
          if (strlen (line) < 3 || !g_ascii_isdigit (line[0]) || !g_ascii_isdigit (line[1])
              || !g_ascii_isdigit (line[2]))
            {
              fail (job, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE, "Not an FTP server");
              return 0;
            }
          memcpy (code, line, 3);
          code[3] = '\0';
          first = g_strdup (line);
          if (line[3] != '-')
            break;
          continue;
        }
      if (g_str_has_prefix (line, code) && line[3] == ' ')
        break;
    }
  if (out_text != NULL)
    *out_text = g_steal_pointer (&first);
  return (guint) g_ascii_strtoull (code, NULL, 10);
}

static gboolean
send_command (BtFtpJob *job, Control *control, const char *command, const char *argument)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *line = NULL;

  if (argument != NULL && (strchr (argument, '\r') != NULL || strchr (argument, '\n') != NULL))
    {
      fail (job, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE, "Invalid FTP argument");
      return FALSE;
    }
  line = argument != NULL ? g_strdup_printf ("%s %s\r\n", command, argument)
                          : g_strdup_printf ("%s\r\n", command);
  if (!g_output_stream_write_all (control->out, line, strlen (line), NULL, job->cancellable,
                                  &error))
    {
      fail_gerror (job, error);
      return FALSE;
    }
  return TRUE;
}

static guint
command (BtFtpJob *job, Control *control, const char *cmd, const char *argument, char **out_text)
{
  if (!send_command (job, control, cmd, argument))
    return 0;
  return read_reply (job, control, out_text);
}

static void
control_set_stream (Control *control, GIOStream *stream)
{
  g_clear_object (&control->in);
  g_clear_object (&control->stream);
  control->stream = g_object_ref (stream);
  control->in = g_data_input_stream_new (g_io_stream_get_input_stream (stream));
  g_data_input_stream_set_newline_type (control->in, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (control->in), FALSE);
  control->out = g_io_stream_get_output_stream (stream);
}

static GIOStream *
start_tls (BtFtpJob *job, GIOStream *base)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnectable) identity = g_network_address_new (job->host, job->port);
  g_autoptr (GIOStream) tls = g_tls_client_connection_new (base, identity, &error);

  if (tls == NULL)
    {
      fail (job, BT_ERROR_STATUS_CERTIFICATE_INVALID, FALSE, "%s", error->message);
      return NULL;
    }
  bt_tls_configure (G_TLS_CONNECTION (tls));
  if (!g_tls_connection_handshake (G_TLS_CONNECTION (tls), job->cancellable, &error))
    {
      fail_gerror (job, error);
      return NULL;
    }
  return g_steal_pointer (&tls);
}

static GSocketClient *
new_socket_client (BtFtpJob *job)
{
  GSocketClient *client = g_socket_client_new ();

  g_socket_client_set_timeout (client, job->timeout_s);
  return client;
}

static GIOStream *
open_data (BtFtpJob *job, Control *control)
{
  g_autoptr (GSocketClient) client = new_socket_client (job);
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  GSocketConnection *data;
  guint16 port = 0;
  guint code;

  code = command (job, control, "EPSV", NULL, &text);
  if (code == 229)
    {
      if (!bt_ftp_parse_epsv (text, &port))
        {
          fail (job, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE, "Invalid EPSV reply");
          return NULL;
        }
    }
  else if (code != 0)
    {
      g_clear_pointer (&text, g_free);
      code = command (job, control, "PASV", NULL, &text);
      if (code != 227 || !bt_ftp_parse_pasv (text, &port))
        {
          fail (job, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE,
                "The FTP server offers no passive mode (%s)", text != NULL ? text : "");
          return NULL;
        }
    }
  if (port == 0)
    return NULL;

  /* Always the control connection's host, whatever PASV said */
  data = g_socket_client_connect_to_host (client, job->host, port, job->cancellable, &error);
  if (data == NULL)
    {
      fail_gerror (job, error);
      return NULL;
    }
  return G_IO_STREAM (data);
}

static void
ftp_thread (GTask *task, gpointer source_object, gpointer task_data, GCancellable *cancellable)
{
  BtFtpJob *job = task_data;
  g_autoptr (GSocketClient) client = new_socket_client (job);
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GIOStream) data = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *buffer = NULL;
  g_autofree char *text = NULL;
  Control control = { 0 };
  GInputStream *data_in;
  guint64 offset = job->offset;
  guint code;

  connection = g_socket_client_connect_to_host (client, job->host, job->port, cancellable, &error);
  if (connection == NULL)
    {
      fail_gerror (job, error);
      goto done;
    }
  control_set_stream (&control, G_IO_STREAM (connection));
  if ((code = read_reply (job, &control, NULL)) != 220)
    {
      if (code != 0)
        fail (job,
              code / 100 == 4 ? BT_ERROR_STATUS_SERVICE_UNAVAILABLE
                              : BT_ERROR_STATUS_PROTOCOL_ERROR,
              code / 100 == 4, "The FTP server refused the connection (%u)", code);
      goto done;
    }

  if (job->ftps)
    {
      g_autoptr (GIOStream) tls = NULL;

      if ((code = command (job, &control, "AUTH", "TLS", NULL)) != 234)
        {
          if (code != 0)
            fail (job, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE,
                  "The FTP server does not offer TLS (AUTH TLS: %u)", code);
          goto done;
        }
      tls = start_tls (job, G_IO_STREAM (connection));
      if (tls == NULL)
        goto done;
      control_set_stream (&control, tls);
      if (command (job, &control, "PBSZ", "0", NULL) != 200
          || command (job, &control, "PROT", "P", NULL) != 200)
        {
          fail (job, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE,
                "The FTP server does not protect the data connection");
          goto done;
        }
    }

  code = command (job, &control, "USER", job->user, NULL);
  if (code == 331 || code == 332)
    code = command (job, &control, "PASS", job->password, NULL);
  if (code != 230 && code != 202)
    {
      if (code != 0)
        fail (job, code == 530 ? BT_ERROR_STATUS_UNAUTHORIZED : BT_ERROR_STATUS_PROTOCOL_ERROR,
              code / 100 == 4, "The FTP server refused the login (%u)", code);
      goto done;
    }
  if ((code = command (job, &control, "TYPE", "I", NULL)) != 200)
    {
      if (code != 0)
        fail (job, BT_ERROR_STATUS_PROTOCOL_ERROR, FALSE, "Binary mode refused (%u)", code);
      goto done;
    }

  if (command (job, &control, "SIZE", job->path, &text) == 213)
    job->total = g_ascii_strtoull (text + 4, NULL, 10);
  g_clear_pointer (&text, g_free);
  if (job->error_status != BT_ERROR_STATUS_NONE)
    goto done;
  if (command (job, &control, "MDTM", job->path, &text) == 213)
    job->mdtm = g_strdup (g_strstrip (text + 4));
  g_clear_pointer (&text, g_free);
  if (job->error_status != BT_ERROR_STATUS_NONE)
    goto done;

  /* Resume only the same file: same size and modification time */
  if (offset > 0
      && ((job->known_total != BT_SIZE_UNKNOWN && job->total != job->known_total)
          || g_strcmp0 (job->known_mdtm, job->mdtm) != 0))
    offset = 0;

  data = open_data (job, &control);
  if (data == NULL)
    goto done;

  if (offset > 0)
    {
      g_autofree char *rest = g_strdup_printf ("%" G_GUINT64_FORMAT, offset);

      code = command (job, &control, "REST", rest, NULL);
      if (code != 350)
        offset = 0; /* no REST: start over */
      if (job->error_status != BT_ERROR_STATUS_NONE)
        goto done;
    }
  if (offset == 0 && ftruncate (job->fd, 0) < 0)
    {
      fail (job, BT_ERROR_STATUS_DESTINATION_UNWRITABLE, FALSE, "%s", g_strerror (errno));
      goto done;
    }
  __atomic_store_n (&job->received, offset, __ATOMIC_RELEASE);

  code = command (job, &control, "RETR", job->path, &text);
  if (code != 150 && code != 125)
    {
      if (code != 0)
        fail (job,
              code == 550       ? BT_ERROR_STATUS_NOT_FOUND
              : code / 100 == 4 ? BT_ERROR_STATUS_SERVICE_UNAVAILABLE
                                : BT_ERROR_STATUS_PROTOCOL_ERROR,
              code / 100 == 4, "%s", text != NULL ? text : "RETR refused");
      goto done;
    }

  if (job->ftps)
    {
      GIOStream *tls = start_tls (job, data);

      if (tls == NULL)
        goto done;
      g_object_unref (data);
      data = tls;
    }

  buffer = g_malloc (BUFFER_SIZE);
  data_in = g_io_stream_get_input_stream (data);
  for (;;)
    {
      gssize n = g_input_stream_read (data_in, buffer, BUFFER_SIZE, cancellable, &error);
      guint64 at = __atomic_load_n (&job->received, __ATOMIC_ACQUIRE);

      if (n < 0)
        {
          fail_gerror (job, error);
          goto done;
        }
      if (n == 0)
        break;
      for (gssize written = 0; written < n;)
        {
          ssize_t w = pwrite (job->fd, buffer + written, (size_t) (n - written),
                              (off_t) (at + (guint64) written));

          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            {
              fail (job,
                    errno == ENOSPC ? BT_ERROR_STATUS_DISK_FULL
                                    : BT_ERROR_STATUS_DESTINATION_UNWRITABLE,
                    FALSE, "%s", g_strerror (errno));
              goto done;
            }
          written += w;
        }
      __atomic_store_n (&job->received, at + (guint64) n, __ATOMIC_RELEASE);
    }
  g_io_stream_close (data, NULL, NULL);

  g_clear_pointer (&text, g_free);
  code = read_reply (job, &control, &text);
  if (code != 226 && code != 250)
    {
      if (code != 0)
        fail (job, BT_ERROR_STATUS_CONNECTION_RESET, TRUE, "The transfer did not finish (%s)",
              text);
      goto done;
    }
  if (job->total != BT_SIZE_UNKNOWN
      && __atomic_load_n (&job->received, __ATOMIC_ACQUIRE) != job->total)
    {
      fail (job, BT_ERROR_STATUS_CONNECTION_RESET, TRUE, "The transfer ended early");
      goto done;
    }
  send_command (job, &control, "QUIT", NULL);

done:
  if (control.stream != NULL)
    g_io_stream_close (control.stream, NULL, NULL);
  g_clear_object (&control.in);
  g_clear_object (&control.stream);
  g_task_return_boolean (task, job->error_status == BT_ERROR_STATUS_NONE);
}

/* ---- Main loop side ------------------------------------------------------ */

static void
update_progress (BtFtpJob *job)
{
  BtTransfer *transfer = job->transfer;
  guint64 received = __atomic_load_n (&job->received, __ATOMIC_ACQUIRE);

  if (received < transfer->bytes_received)
    bt_transfer_reset_checkpoint (transfer, received); /* started over */
  if (received != transfer->bytes_received)
    {
      transfer->rate = received > transfer->bytes_received
                           ? (transfer->rate * 3 + (received - transfer->bytes_received) * 10) / 4
                           : transfer->rate;
      transfer->bytes_received = received;
      bt_transfer_changed (transfer, "BytesReceived");
      bt_transfer_changed (transfer, "RangesDownloaded");
      bt_transfer_changed (transfer, "Rate");
    }
}

static gboolean
on_progress (gpointer user_data)
{
  BtFtpJob *job = user_data;

  if (!job->stopped)
    update_progress (job);
  return G_SOURCE_CONTINUE;
}

static void
finish (BtFtpJob *job, BtErrorStatus status, const char *message, gboolean transient)
{
  g_autoptr (BtTransfer) transfer = g_object_ref (job->transfer);

  bt_destination_close (transfer->destination);
  transfer->job = NULL;
  job_free (job);
  bt_transfer_attempt_done (transfer, status, message, transient, 0);
}

static void
commit (BtFtpJob *job)
{
  g_autoptr (GError) error = NULL;

  if (!bt_transfer_commit_destination (job->transfer, &error))
    {
      finish (job,
              g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE)
                  ? BT_ERROR_STATUS_DISK_FULL
                  : BT_ERROR_STATUS_DESTINATION_UNWRITABLE,
              error->message, FALSE);
      return;
    }
  finish (job, BT_ERROR_STATUS_NONE, NULL, FALSE);
}

static void
on_verified (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BtFtpJob *job = user_data;
  g_autoptr (GError) error = NULL;
  gboolean ok = bt_verify_finish (result, &error);

  if (job->stopped)
    job_free (job);
  else if (!ok)
    finish (job, BT_ERROR_STATUS_CHECKSUM_MISMATCH, error->message, FALSE);
  else
    commit (job);
}

static void
on_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BtFtpJob *job = user_data;
  BtTransfer *transfer = job->transfer;
  g_autoptr (GPtrArray) digests = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  int fd;

  g_clear_handle_id (&job->progress_source, g_source_remove);
  if (job->stopped)
    {
      job_free (job);
      return;
    }

  update_progress (job);
  if (job->total != transfer->total_bytes)
    {
      transfer->total_bytes = job->total;
      bt_transfer_changed (transfer, "TotalBytesToReceive");
    }
  g_free (transfer->last_modified);
  transfer->last_modified = g_strdup (job->mdtm);
  if (transfer->is_resumable != (job->mdtm != NULL))
    {
      transfer->is_resumable = job->mdtm != NULL;
      bt_transfer_changed (transfer, "IsResumable");
    }

  if (job->error_status != BT_ERROR_STATUS_NONE)
    {
      g_autofree char *message = g_strdup (job->error_message);

      finish (job, job->error_status, message, job->transient);
      return;
    }

  if (transfer->total_bytes == BT_SIZE_UNKNOWN)
    {
      transfer->total_bytes = transfer->bytes_received;
      bt_transfer_changed (transfer, "TotalBytesToReceive");
    }
  if (transfer->checksum == NULL)
    {
      commit (job);
      return;
    }
  g_ptr_array_add (digests, transfer->checksum);
  fd = bt_destination_open_result (transfer->destination, FALSE, &error);
  if (fd < 0)
    {
      finish (job, BT_ERROR_STATUS_DESTINATION_UNWRITABLE, error->message, FALSE);
      return;
    }
  bt_verify_async (fd, digests, job->cancellable, on_verified, job);
}

BtJob *
bt_ftp_job_start (BtTransfer *transfer, GSettings *settings)
{
  BtFtpJob *job = g_new0 (BtFtpJob, 1);
  g_autoptr (GUri) uri
      = g_uri_parse (bt_transfer_get_current_uri (transfer), G_URI_FLAGS_ENCODED, NULL);
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  int fd;

  job->parent.stop = job_stop;
  job->transfer = g_object_ref (transfer);
  job->cancellable = g_cancellable_new ();
  job->fd = -1;
  job->ftps = g_ascii_strcasecmp (g_uri_get_scheme (uri), "ftps") == 0;
  job->host = g_strdup (g_uri_get_host (uri));
  job->port = g_uri_get_port (uri) > 0 ? (guint16) g_uri_get_port (uri) : 21;
  path = g_uri_unescape_string (g_uri_get_path (uri), NULL);
  job->path = g_strdup (path != NULL && *path != '\0' ? path : "/");
  job->user
      = g_strdup (transfer->secrets->server_username != NULL ? transfer->secrets->server_username
                                                             : "anonymous");
  job->password
      = g_strdup (transfer->secrets->server_password != NULL ? transfer->secrets->server_password
                                                             : "anonymous@");
  job->offset = transfer->last_modified != NULL ? transfer->bytes_received : 0;
  job->known_total = transfer->total_bytes;
  job->known_mdtm = g_strdup (transfer->last_modified);
  job->total = BT_SIZE_UNKNOWN;
  job->timeout_s = g_settings_get_uint (settings, "response-timeout");

  transfer->attempts++;
  bt_transfer_changed (transfer, "Attempts");

  fd = bt_destination_open (transfer->destination, &error);
  if (fd >= 0)
    job->fd = fcntl (fd, F_DUPFD_CLOEXEC, 3);
  if (job->fd < 0)
    fail (job, BT_ERROR_STATUS_DESTINATION_UNWRITABLE, FALSE, "%s",
          error != NULL ? error->message : g_strerror (errno));

  task = g_task_new (NULL, job->cancellable, on_done, job);
  g_task_set_source_tag (task, bt_ftp_job_start);
  g_task_set_task_data (task, job, NULL);
  job->progress_source = g_timeout_add (100, on_progress, job);
  if (job->fd < 0)
    g_task_return_boolean (task, FALSE);
  else
    g_task_run_in_thread (task, ftp_thread);
  return &job->parent;
}
