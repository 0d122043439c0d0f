/* bgtransfer.c: the command-line client of the background transfer service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>
#include <glib-unix.h>
#include <glib/gi18n.h>

#include <bgtransfer.h>

#include "bgtransfer-output.h"

#define EXIT_USAGE 2

typedef struct _Cli Cli;

typedef enum
{
  OPT_JSON = 1 << 0,
  OPT_QUIET = 1 << 1,
  OPT_CREATE = 1 << 2, /* what download and upload share */
  OPT_DOWNLOAD = 1 << 3,
  OPT_UPLOAD = 1 << 4,
  OPT_LIST = 1 << 5,
} OptionSet;

/* pause, resume, cancel, remove */
typedef struct
{
  void (*call) (BgtTransfer *transfer, GCancellable *cancellable, GAsyncReadyCallback callback,
                gpointer user_data);
  gboolean (*finish) (BgtTransfer *transfer, GAsyncResult *result, GError **error);
  const char *refused; /* N_(): with the id and the service's reason */
} Action;

typedef struct
{
  const char *name;
  const char *parameters;  /* N_() */
  const char *summary;     /* N_() */
  const char *description; /* N_(), or NULL */
  guint min_args, max_args;
  OptionSet options;
  gboolean (*prepare) (Cli *cli, GError **error); /* before connecting: local checks */
  void (*run) (Cli *cli);                         /* once connected */
  void (*with_transfer) (Cli *cli);               /* for run_on_transfer() */
  Action action;                                  /* for run_action() */
} Command;

struct _Cli
{
  const Command *command;
  GMainLoop *loop;
  GCancellable *cancellable;
  BgtClient *client;
  int exit_status;
  gboolean quitting;
  int signum; /* the signal that interrupted us, or 0 */
  guint signal_ids[2];
  void (*on_interrupt) (Cli *cli);

  /* Options as given */
  char *app_id;
  gboolean json;
  gboolean quiet;
  gboolean no_wait;
  gboolean overwrite;
  gboolean ids;
  gboolean resumable;
  char **part_args;
  GPtrArray *parts; /* BgtContentPart, from --part */
  char *cost_policy_name;
  char *priority_name;
  char *group;
  char *tag;
  char *checksum;
  char *user;
  char *proxy_user;
  char *method;
  char **header_args;
  char **mirrors;
  char *limit_rate;
  int connections;
  char *if_changed;
  gboolean notify;
  char *notify_success;
  char *notify_failure;
  char *completion_group;
  gboolean no_start;
  gboolean random_access;
  char **args;

  /* Options checked */
  BgtCostPolicy cost_policy;
  BgtPriority priority;
  GPtrArray *headers; /* name, value, name, value… */
  char *username;
  char *password;
  char *proxy_username;
  char *proxy_password;
  gint64 max_rate;       /* 0: none */
  int enum_arg;          /* set-priority, set-cost-policy, group: the value */
  GFile *file;           /* download: the destination; upload: the source */
  gboolean upload_stdin; /* upload: the source is "-" */

  /* The transfer followed by download, upload, wait and show */
  BgtTransfer *transfer;
  gboolean created; /* by us: an interruption detaches from it */
  CliProgress *progress;

  /* Actions on several ids */
  guint next_arg;
  gboolean failed;

  /* monitor */
  GListModel *listed;  /* the library's live list of the app's transfers */
  GHashTable *watches; /* object path → Watch */
  GPtrArray *rows;     /* the table's transfers: the live list's, in its order */
  gboolean table;      /* a table redrawn in place on a terminal */
  CliThrottle table_throttle;
  guint table_lines; /* drawn last time */
};

static void
wipe_string (char *str)
{
  if (str != NULL)
    memset (str, 0, strlen (str));
}

static void
cli_free (Cli *cli)
{
  for (guint i = 0; i < G_N_ELEMENTS (cli->signal_ids); i++)
    g_clear_handle_id (&cli->signal_ids[i], g_source_remove);
  if (cli->listed != NULL)
    g_signal_handlers_disconnect_by_data (cli->listed, cli);
  g_clear_object (&cli->listed);
  cli_throttle_clear (&cli->table_throttle);
  g_clear_pointer (&cli->rows, g_ptr_array_unref);
  g_clear_pointer (&cli->watches, g_hash_table_unref);
  g_clear_pointer (&cli->progress, cli_progress_free);
  g_clear_object (&cli->transfer);
  g_clear_object (&cli->file);
  g_clear_object (&cli->client);
  g_clear_object (&cli->cancellable);
  g_clear_pointer (&cli->loop, g_main_loop_unref);
  g_clear_pointer (&cli->headers, g_ptr_array_unref);
  wipe_string (cli->user);
  wipe_string (cli->password);
  wipe_string (cli->proxy_user);
  wipe_string (cli->proxy_password);
  g_free (cli->app_id);
  g_free (cli->cost_policy_name);
  g_free (cli->priority_name);
  g_free (cli->group);
  g_free (cli->tag);
  g_free (cli->checksum);
  g_free (cli->user);
  g_free (cli->method);
  g_free (cli->username);
  g_free (cli->password);
  g_free (cli->proxy_user);
  g_free (cli->proxy_username);
  g_free (cli->proxy_password);
  g_strfreev (cli->mirrors);
  g_free (cli->limit_rate);
  g_free (cli->if_changed);
  g_free (cli->notify_success);
  g_free (cli->notify_failure);
  g_free (cli->completion_group);
  g_strfreev (cli->header_args);
  g_strfreev (cli->part_args);
  g_clear_pointer (&cli->parts, g_ptr_array_unref);
  g_strfreev (cli->args);
  g_free (cli);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Cli, cli_free)

/* ---- Messages and the end ----------------------------------------------- */

static void print_error (const char *format, ...) G_GNUC_PRINTF (1, 2);

static void
print_error (const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("bgtransfer: %s\n", message);
}

/* Machine-readable output (JSON, ids, paths) goes out as UTF-8 whatever
 * the locale, unlike g_print() */
static void
print_raw_line (const char *line)
{
  fputs (line, stdout);
  fputc ('\n', stdout);
}

static int
usage_error (const char *command, const char *message)
{
  g_autofree char *help = NULL;

  help = command != NULL ? g_strdup_printf ("bgtransfer %s --help", command)
                         : g_strdup ("bgtransfer --help");
  print_error ("%s", message);
  /* TRANSLATORS: %s is a command line such as "bgtransfer --help" */
  g_printerr (_ ("Try '%s' for more information.\n"), help);
  return EXIT_USAGE;
}

static void
cli_quit (Cli *cli, int status)
{
  if (cli->quitting)
    return;
  cli->quitting = TRUE;
  cli->exit_status = status;
  g_main_loop_quit (cli->loop);
}

/* The service or the bus cannot be reached */
static gboolean
is_unreachable (const GError *error)
{
  return g_error_matches (error, BGT_ERROR, BGT_ERROR_SERVICE_UNAVAILABLE)
         || error->domain == G_DBUS_ERROR
         || (error->domain == G_IO_ERROR && error->code != G_IO_ERROR_CANCELLED);
}

/* An error after which nothing more can be done */
static gboolean
is_fatal (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || is_unreachable (error);
}

static void
cli_fail (Cli *cli, const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* Interrupted: the signal says it all */
      cli_quit (cli, cli->signum != 0 ? 128 + cli->signum : EXIT_FAILURE);
      return;
    }
  if (is_unreachable (error))
    print_error (_ ("cannot reach the background transfer service: %s"), error->message);
  else
    print_error ("%s", error->message);
  cli_quit (cli, EXIT_FAILURE);
}

/* A failed look-up of a transfer by id */
static void
print_lookup_error (const char *id, const GError *error)
{
  if (g_error_matches (error, BGT_ERROR, BGT_ERROR_NOT_FOUND))
    print_error (_ ("no transfer with id %s"), id);
  else if (g_error_matches (error, BGT_ERROR, BGT_ERROR_ACCESS_DENIED))
    print_error (_ ("transfer %s belongs to another application (see --app-id)"), id);
  else
    print_error ("%s", error->message);
}

static void
print_transfer_json (BgtTransfer *transfer, gboolean with_headers)
{
  g_autofree char *json = cli_transfer_to_json (transfer, NULL, with_headers);

  print_raw_line (json);
}

/* How a transfer that did not complete ended: the reason in words, then
 * the service's own (English) details */
static void
print_transfer_failure (BgtTransfer *transfer)
{
  BgtErrorStatus error_status = bgt_transfer_get_error_status (transfer);
  const char *message = bgt_transfer_get_error_message (transfer);

  if (bgt_transfer_get_status (transfer) == BGT_STATUS_CANCELED)
    {
      print_error ("%s: %s", cli_status_label (BGT_STATUS_CANCELED),
                   _ ("the transfer was canceled"));
      return;
    }
  if (error_status == BGT_ERROR_STATUS_NONE)
    error_status = BGT_ERROR_STATUS_UNKNOWN;
  if (message != NULL && *message != '\0')
    print_error ("%s (%s: %s)", bgt_error_status_get_description (error_status),
                 bgt_error_status_to_string (error_status), message);
  else
    print_error ("%s (%s)", bgt_error_status_get_description (error_status),
                 bgt_error_status_to_string (error_status));
}

/* ---- Following a transfer to its end ------------------------------------ */

static void
print_transfer_id (Cli *cli)
{
  if (cli->json)
    print_transfer_json (cli->transfer, FALSE);
  else
    print_raw_line (bgt_transfer_get_id (cli->transfer));
}

/* Interrupted while following a transfer we created: it goes on without us */
static void
detach (Cli *cli)
{
  g_autofree char *command = NULL;

  if (cli->app_id != NULL)
    {
      g_autofree char *quoted = g_shell_quote (cli->app_id);

      command = g_strdup_printf ("bgtransfer wait --app-id=%s %s", quoted,
                                 bgt_transfer_get_id (cli->transfer));
    }
  else
    command = g_strdup_printf ("bgtransfer wait %s", bgt_transfer_get_id (cli->transfer));
  print_transfer_id (cli);
  /* TRANSLATORS: %s is a command such as "bgtransfer wait ID" */
  print_error (_ ("detached; the transfer goes on: %s"), command);
  cli_quit (cli, 128 + cli->signum);
}

static void
on_waited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Cli *cli = user_data;
  BgtTransfer *transfer = BGT_TRANSFER (source);
  g_autoptr (GError) error = NULL;
  gboolean completed = bgt_transfer_wait_finish (transfer, result, &error);

  cli_progress_end (cli->progress);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      if (cli->created)
        detach (cli);
      else
        {
          print_error (_ ("stopped waiting; the transfer goes on"));
          cli_quit (cli, 128 + cli->signum);
        }
      return;
    }
  if (!completed && !g_error_matches (error, BGT_ERROR, BGT_ERROR_TRANSFER_FAILED)
      && !g_error_matches (error, BGT_ERROR, BGT_ERROR_TRANSFER_CANCELED))
    {
      cli_fail (cli, error);
      return;
    }

  if (cli->json)
    print_transfer_json (transfer, FALSE);
  if (!completed)
    {
      print_transfer_failure (transfer);
      cli_quit (cli, EXIT_FAILURE);
      return;
    }
  if (!cli->json && !cli->quiet && BGT_IS_DOWNLOAD (transfer))
    {
      const char *destination = bgt_download_get_destination (BGT_DOWNLOAD (transfer));
      g_autofree char *path = NULL;

      /* The file we asked for when the transfer does not say */
      if ((destination == NULL || *destination == '\0') && cli->file != NULL)
        destination = path = g_file_get_path (cli->file);
      if (destination != NULL && *destination != '\0')
        print_raw_line (destination);
    }
  cli_quit (cli, EXIT_SUCCESS);
}

static void
follow_transfer (Cli *cli)
{
  CliProgressMode mode;

  if (cli->quiet)
    mode = CLI_PROGRESS_NONE;
  else if (isatty (STDERR_FILENO))
    mode = CLI_PROGRESS_BAR;
  else
    mode = CLI_PROGRESS_LINES;
  cli->progress = cli_progress_new (cli->transfer, mode);
  bgt_transfer_wait_async (cli->transfer, cli->cancellable, on_waited, cli);
}

/* Takes @transfer, just created */
static void
follow_new_transfer (Cli *cli, BgtTransfer *transfer)
{
  cli->transfer = transfer;
  cli->created = TRUE;
  if (cli->signum != 0)
    detach (cli); /* interrupted while it was being created */
  else if (cli->no_wait)
    {
      print_transfer_id (cli);
      cli_quit (cli, EXIT_SUCCESS);
    }
  else
    follow_transfer (cli);
}

static void
fail_create (Cli *cli, const GError *error)
{
  if (is_fatal (error))
    {
      cli_fail (cli, error);
      return;
    }
  /* TRANSLATORS: %s is the service's reason, such as "Unsupported URI scheme “gopher”" */
  print_error (_ ("cannot create the transfer: %s"), error->message);
  cli_quit (cli, EXIT_FAILURE);
}

/* ---- download ----------------------------------------------------------- */

/* The file name a URI suggests: its last path segment, unescaped */
static char *
name_from_uri (const char *uri)
{
  g_autoptr (GUri) parsed
      = g_uri_parse (uri, G_URI_FLAGS_ENCODED | G_URI_FLAGS_PARSE_RELAXED, NULL);
  g_autofree char *name = NULL;
  const char *path, *segment;

  if (parsed == NULL)
    return g_strdup ("index.html");
  path = g_uri_get_path (parsed);
  segment = strrchr (path, '/');
  name = g_uri_unescape_string (segment != NULL ? segment + 1 : path, NULL);
  if (name == NULL || *name == '\0' || g_str_equal (name, ".") || g_str_equal (name, ".."))
    return g_strdup ("index.html");
  /* An escaped slash or control character makes no good file name */
  for (char *p = name; *p != '\0'; p++)
    if (*p == '/' || (guchar) *p < 0x20 || *p == 0x7f)
      *p = '_';
  return g_steal_pointer (&name);
}

static gboolean
prepare_download (Cli *cli, GError **error)
{
  const char *uri = cli->args[0];
  const char *dest = cli->args[1];
  g_autofree char *name = name_from_uri (uri);
  g_autofree char *path = NULL;

  if (dest == NULL)
    {
      g_autofree char *cwd = g_get_current_dir ();

      cli->file = g_file_new_build_filename (cwd, name, NULL);
      return TRUE;
    }
  cli->file = g_file_new_for_commandline_arg (dest);
  path = g_file_get_path (cli->file);
  if (path == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _ ("the destination “%s” is not a local file"), dest);
      return FALSE;
    }
  /* Into an existing directory: under the name the URI suggests */
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      GFile *child = g_file_get_child (cli->file, name);

      g_object_unref (cli->file);
      cli->file = child;
    }
  return TRUE;
}

/* ---- Creating a transfer ----------------------------------------------- */

static gboolean parse_enum (GType type, const char *nick, int *value);

/* Every option of the interface (docs/contract.md) is a flag, set on the library's
 * BgtDownloader or BgtUploader; the transfer it creates is then followed
 * like any other. */

/* "TITLE", or "TITLE\nBODY" */
static void
split_notify_text (const char *text, char **title, char **body)
{
  const char *newline;

  if (text == NULL)
    return;
  newline = strchr (text, '\n');
  *title = newline != NULL ? g_strndup (text, newline - text) : g_strdup (text);
  *body = newline != NULL ? g_strdup (newline + 1) : NULL;
}

/* The options of both kinds of transfer: BgtDownloader and BgtUploader
 * have the same properties for them */
static void
set_common_options (Cli *cli, GObject *creator)
{
  g_object_set (creator, "cost-policy", cli->cost_policy, "priority", cli->priority, "group",
                cli->group, "tag", cli->tag, "start", !cli->no_start, "max-rate", cli->max_rate,
                "method", cli->method, NULL);
  if (cli->notify || cli->notify_success != NULL || cli->notify_failure != NULL)
    {
      g_autofree char *success_title = NULL, *success_body = NULL;
      g_autofree char *failure_title = NULL, *failure_body = NULL;

      split_notify_text (cli->notify_success, &success_title, &success_body);
      split_notify_text (cli->notify_failure, &failure_title, &failure_body);
      g_object_set (creator, "show-notifications", TRUE, "notify-success-title", success_title,
                    "notify-success-body", success_body, "notify-failure-title", failure_title,
                    "notify-failure-body", failure_body, NULL);
    }
}

static void
set_headers_and_credentials (Cli *cli, gpointer creator,
                             void (*set_header) (gpointer, const char *, const char *),
                             void (*set_credential) (gpointer, const char *, const char *),
                             void (*set_proxy_credential) (gpointer, const char *, const char *))
{
  for (guint i = 0; i + 1 < cli->headers->len; i += 2)
    set_header (creator, g_ptr_array_index (cli->headers, i),
                g_ptr_array_index (cli->headers, i + 1));
  if (cli->username != NULL)
    set_credential (creator, cli->username, cli->password);
  if (cli->proxy_username != NULL)
    set_proxy_credential (creator, cli->proxy_username, cli->proxy_password);
}

static void
on_download_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Cli *cli = user_data;
  g_autoptr (GError) error = NULL;
  BgtDownload *download
      = bgt_downloader_create_download_finish (BGT_DOWNLOADER (source), result, &error);

  if (download == NULL)
    fail_create (cli, error);
  else
    follow_new_transfer (cli, BGT_TRANSFER (download));
}

static void
on_upload_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Cli *cli = user_data;
  g_autoptr (GError) error = NULL;
  BgtUpload *upload = NULL;

  if (cli->parts != NULL)
    upload = bgt_uploader_create_multipart_upload_finish (BGT_UPLOADER (source), result, &error);
  else if (cli->upload_stdin)
    upload = bgt_uploader_create_upload_for_fd_finish (BGT_UPLOADER (source), result, &error);
  else
    upload = bgt_uploader_create_upload_finish (BGT_UPLOADER (source), result, &error);
  if (upload == NULL)
    fail_create (cli, error);
  else
    follow_new_transfer (cli, BGT_TRANSFER (upload));
}

/* --completion-group names the group by its object path: the library's
 * object for it first */
typedef void (*CreateFunc) (Cli *cli, BgtCompletionGroup *group);

typedef struct
{
  Cli *cli;
  CreateFunc create;
} GroupLookup;

static void
on_completion_group (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree GroupLookup *lookup = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (BgtCompletionGroup) group = NULL;

  group = bgt_client_get_completion_group_finish (BGT_CLIENT (source), result, &error);
  if (group == NULL)
    {
      fail_create (lookup->cli, error);
      return;
    }
  lookup->create (lookup->cli, group);
}

static void
with_completion_group (Cli *cli, CreateFunc create)
{
  GroupLookup *lookup;

  if (cli->completion_group == NULL)
    {
      create (cli, NULL);
      return;
    }
  lookup = g_new0 (GroupLookup, 1);
  lookup->cli = cli;
  lookup->create = create;
  /* Not cancellable: an interruption waits for the id, then detaches */
  bgt_client_get_completion_group_async (cli->client, cli->completion_group, NULL,
                                         on_completion_group, lookup);
}

static void
create_download (Cli *cli, BgtCompletionGroup *group)
{
  g_autoptr (BgtDownloader) downloader = bgt_downloader_new (cli->client);

  set_common_options (cli, G_OBJECT (downloader));
  set_headers_and_credentials (cli, downloader, (gpointer) bgt_downloader_set_request_header,
                               (gpointer) bgt_downloader_set_server_credential,
                               (gpointer) bgt_downloader_set_proxy_credential);
  bgt_downloader_set_completion_group (downloader, group);
  bgt_downloader_set_overwrite (downloader, cli->overwrite);
  bgt_downloader_set_checksum (downloader, cli->checksum);
  bgt_downloader_set_mirrors (downloader, (const char *const *) cli->mirrors);
  if (cli->connections > 0)
    bgt_downloader_set_connections (downloader, (guint) cli->connections);
  bgt_downloader_set_random_access (downloader, cli->random_access);
  if (cli->if_changed != NULL)
    {
      int value = BGT_IF_CHANGED_RESTART;

      parse_enum (BGT_TYPE_IF_CHANGED, cli->if_changed, &value);
      bgt_downloader_set_if_changed (downloader, value);
    }
  /* Not cancellable: an interruption waits for the id, then detaches */
  bgt_downloader_create_download_async (downloader, cli->args[0], cli->file, NULL,
                                        on_download_created, cli);
}

static void
run_download (Cli *cli)
{
  with_completion_group (cli, create_download);
}

/* ---- upload ------------------------------------------------------------- */

static gboolean
prepare_parts (Cli *cli, GError **error)
{
  cli->parts = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; cli->part_args[i] != NULL; i++)
    {
      const char *arg = cli->part_args[i];
      const char *eq = strchr (arg, '=');
      g_autofree char *name = NULL;

      if (eq == NULL || eq == arg)
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _ ("invalid part “%s”: use NAME=@FILE or NAME=VALUE"), arg);
          return FALSE;
        }
      name = g_strndup (arg, (gsize) (eq - arg));
      if (eq[1] == '@')
        {
          g_autoptr (GFile) file = g_file_new_for_commandline_arg (eq + 2);

          g_ptr_array_add (cli->parts, bgt_content_part_new_for_file (name, file));
        }
      else
        g_ptr_array_add (cli->parts, bgt_content_part_new_for_value (name, eq + 1));
    }
  return TRUE;
}

static gboolean
prepare_upload (Cli *cli, GError **error)
{
  const char *source = cli->args[0];
  g_autofree char *path = NULL;

  if (cli->part_args != NULL)
    {
      if (g_strv_length (cli->args) != 1)
        {
          g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                               _ ("with --part, give only the URI"));
          return FALSE;
        }
      return prepare_parts (cli, error);
    }
  if (g_strv_length (cli->args) != 2)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           _ ("give the FILE to upload and the URI"));
      return FALSE;
    }

  if (g_str_equal (source, "-"))
    {
      cli->upload_stdin = TRUE;
      return TRUE;
    }
  cli->file = g_file_new_for_commandline_arg (source);
  path = g_file_get_path (cli->file);
  if (path == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _ ("the source “%s” is not a local file"), source);
      return FALSE;
    }
  return TRUE;
}

static void
create_upload (Cli *cli, BgtCompletionGroup *group)
{
  const char *uri = cli->parts != NULL ? cli->args[0] : cli->args[1];
  g_autoptr (BgtUploader) uploader = bgt_uploader_new (cli->client);

  set_common_options (cli, G_OBJECT (uploader));
  set_headers_and_credentials (cli, uploader, (gpointer) bgt_uploader_set_request_header,
                               (gpointer) bgt_uploader_set_server_credential,
                               (gpointer) bgt_uploader_set_proxy_credential);
  bgt_uploader_set_completion_group (uploader, group);
  bgt_uploader_set_resumable (uploader, cli->resumable);
  /* Not cancellable: an interruption waits for the id, then detaches */
  if (cli->parts != NULL)
    bgt_uploader_create_multipart_upload_async (uploader, uri,
                                                (BgtContentPart **) cli->parts->pdata,
                                                cli->parts->len, NULL, on_upload_created, cli);
  else if (cli->upload_stdin)
    bgt_uploader_create_upload_for_fd_async (uploader, uri, STDIN_FILENO, NULL, on_upload_created,
                                             cli);
  else
    bgt_uploader_create_upload_async (uploader, uri, cli->file, NULL, on_upload_created, cli);
}

static void
run_upload (Cli *cli)
{
  with_completion_group (cli, create_upload);
}

/* ---- list --------------------------------------------------------------- */

static void
on_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Cli *cli = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GListModel) transfers = NULL;
  guint n;

  transfers = bgt_client_list_transfers_finish (BGT_CLIENT (source), result, &error);
  if (transfers == NULL)
    {
      cli_fail (cli, error);
      return;
    }
  n = g_list_model_get_n_items (transfers);
  if (cli->json)
    {
      g_autoptr (GString) out = g_string_new ("[");

      for (guint i = 0; i < n; i++)
        {
          g_autoptr (BgtTransfer) transfer = g_list_model_get_item (transfers, i);
          g_autofree char *json = cli_transfer_to_json (transfer, NULL, FALSE);

          g_string_append_printf (out, "%s\n  %s", i > 0 ? "," : "", json);
        }
      g_string_append (out, n > 0 ? "\n]\n" : "]\n");
      fputs (out->str, stdout);
    }
  else if (cli->ids)
    {
      for (guint i = 0; i < n; i++)
        {
          g_autoptr (BgtTransfer) transfer = g_list_model_get_item (transfers, i);

          print_raw_line (bgt_transfer_get_id (transfer));
        }
    }
  else
    cli_print_transfer_list (transfers);
  cli_quit (cli, EXIT_SUCCESS);
}

static void
run_list (Cli *cli)
{
  bgt_client_list_transfers_async (cli->client, cli->cancellable, on_listed, cli);
}

/* ---- show, wait: one transfer by id ------------------------------------- */

static void
on_got_transfer (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Cli *cli = user_data;
  g_autoptr (GError) error = NULL;

  cli->transfer = bgt_client_get_transfer_finish (BGT_CLIENT (source), result, &error);
  if (cli->transfer == NULL)
    {
      if (is_fatal (error))
        cli_fail (cli, error);
      else
        {
          print_lookup_error (cli->args[0], error);
          cli_quit (cli, EXIT_FAILURE);
        }
      return;
    }
  cli->command->with_transfer (cli);
}

/* Ids are transfer ids or object paths: the library takes both */
static void
run_on_transfer (Cli *cli)
{
  bgt_client_get_transfer_async (cli->client, cli->args[0], cli->cancellable, on_got_transfer, cli);
}

static void
show_transfer (Cli *cli)
{
  if (cli->json)
    print_transfer_json (cli->transfer, TRUE);
  else
    cli_print_transfer_details (cli->transfer);
  cli_quit (cli, EXIT_SUCCESS);
}

/* ---- pause, resume, cancel, remove -------------------------------------- */

static void act_on_next (Cli *cli);

static void
on_action_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Cli *cli = user_data;
  const char *id = cli->args[cli->next_arg];
  g_autoptr (GError) error = NULL;

  if (!cli->command->action.finish (BGT_TRANSFER (source), result, &error))
    {
      if (is_fatal (error))
        {
          cli_fail (cli, error);
          return;
        }
      if (g_error_matches (error, BGT_ERROR, BGT_ERROR_NOT_FOUND)
          || g_error_matches (error, BGT_ERROR, BGT_ERROR_ACCESS_DENIED))
        print_lookup_error (id, error);
      else
        {
          /* The format comes from the command table: "%s" (the id), "%s" (why) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
          print_error (_ (cli->command->action.refused), id, error->message);
#pragma GCC diagnostic pop
        }
      cli->failed = TRUE;
    }
  cli->next_arg++;
  act_on_next (cli);
}

static void
on_action_target (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Cli *cli = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (BgtTransfer) transfer = NULL;

  transfer = bgt_client_get_transfer_finish (BGT_CLIENT (source), result, &error);
  if (transfer == NULL)
    {
      if (is_fatal (error))
        {
          cli_fail (cli, error);
          return;
        }
      print_lookup_error (cli->args[cli->next_arg], error);
      cli->failed = TRUE;
      cli->next_arg++;
      act_on_next (cli);
      return;
    }
  cli->command->action.call (transfer, cli->cancellable, on_action_done, cli);
}

static void
act_on_next (Cli *cli)
{
  if (cli->args[cli->next_arg] == NULL)
    {
      cli_quit (cli, cli->failed ? EXIT_FAILURE : EXIT_SUCCESS);
      return;
    }
  bgt_client_get_transfer_async (cli->client, cli->args[cli->next_arg], cli->cancellable,
                                 on_action_target, cli);
}

static void
run_action (Cli *cli)
{
  cli->next_arg = 0;
  act_on_next (cli);
}

/* ---- set-priority, set-cost-policy, set-uri, group --------------------- */

static gboolean
parse_enum (GType type, const char *nick, int *value)
{
  g_autoptr (GEnumClass) klass = g_type_class_ref (type);
  GEnumValue *enum_value = g_enum_get_value_by_nick (klass, nick);

  if (enum_value == NULL)
    return FALSE;
  *value = enum_value->value;
  return TRUE;
}

static gboolean
prepare_set_priority (Cli *cli, GError **error)
{
  if (parse_enum (BGT_TYPE_PRIORITY, cli->args[1], &cli->enum_arg))
    return TRUE;
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               _ ("invalid priority “%s”: use low, default or high"), cli->args[1]);
  return FALSE;
}

static gboolean
prepare_set_cost_policy (Cli *cli, GError **error)
{
  if (parse_enum (BGT_TYPE_COST_POLICY, cli->args[1], &cli->enum_arg))
    return TRUE;
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               _ ("invalid cost policy “%s”: use unrestricted-only, default or always"),
               cli->args[1]);
  return FALSE;
}

static gboolean
prepare_set_uri (Cli *cli, GError **error)
{
  if (g_uri_is_valid (cli->args[1], G_URI_FLAGS_PARSE_RELAXED, NULL))
    return TRUE;
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, _ ("invalid URI “%s”"),
               cli->args[1]);
  return FALSE;
}

static gboolean
prepare_group (Cli *cli, GError **error)
{
  if (parse_enum (BGT_TYPE_TRANSFER_BEHAVIOR, cli->args[1], &cli->enum_arg))
    return TRUE;
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               _ ("invalid behavior “%s”: use parallel or serialized"), cli->args[1]);
  return FALSE;
}

/* The end of a change: nothing to say on success */
static void
change_done (Cli *cli, gboolean done, GError *error)
{
  if (done)
    {
      cli_quit (cli, EXIT_SUCCESS);
      return;
    }
  if (is_fatal (error))
    {
      cli_fail (cli, error);
      return;
    }
  /* TRANSLATORS: the id, then the service's reason */
  print_error (_ ("cannot change transfer %s: %s"), cli->args[0], error->message);
  cli_quit (cli, EXIT_FAILURE);
}

static void
on_priority_set (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  gboolean done = bgt_transfer_set_priority_finish (BGT_TRANSFER (source), result, &error);

  change_done (user_data, done, error);
}

static void
set_priority (Cli *cli)
{
  bgt_transfer_set_priority_async (cli->transfer, cli->enum_arg, cli->cancellable, on_priority_set,
                                   cli);
}

static void
on_cost_policy_set (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  gboolean done = bgt_transfer_set_cost_policy_finish (BGT_TRANSFER (source), result, &error);

  change_done (user_data, done, error);
}

static void
set_cost_policy (Cli *cli)
{
  bgt_transfer_set_cost_policy_async (cli->transfer, cli->enum_arg, cli->cancellable,
                                      on_cost_policy_set, cli);
}

static void
on_uri_set (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  gboolean done = bgt_transfer_set_requested_uri_finish (BGT_TRANSFER (source), result, &error);

  change_done (user_data, done, error);
}

static void
set_uri (Cli *cli)
{
  bgt_transfer_set_requested_uri_async (cli->transfer, cli->args[1], cli->cancellable, on_uri_set,
                                        cli);
}

static void
on_group_configured (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Cli *cli = user_data;
  g_autoptr (GError) error = NULL;

  if (bgt_client_configure_group_finish (BGT_CLIENT (source), result, &error))
    {
      cli_quit (cli, EXIT_SUCCESS);
      return;
    }
  if (is_fatal (error))
    {
      cli_fail (cli, error);
      return;
    }
  /* TRANSLATORS: the group's name, then the service's reason */
  print_error (_ ("cannot configure group %s: %s"), cli->args[0], error->message);
  cli_quit (cli, EXIT_FAILURE);
}

static void
run_group (Cli *cli)
{
  bgt_client_configure_group_async (cli->client, cli->args[0], cli->enum_arg, cli->cancellable,
                                    on_group_configured, cli);
}

/* ---- monitor ------------------------------------------------------------ */

/* The library's live list of the app's transfers tells of them as they
 * come and go (the service's TransferAdded and TransferRemoved); each is
 * then followed through its properties. On a terminal, a table redrawn in
 * place; otherwise a line, or with --json a JSON object, per event. */

#define TABLE_INTERVAL_MS 250

typedef struct
{
  Cli *cli;
  BgtTransfer *transfer;
  CliThrottle throttle;
  BgtStatus shown_status;
  gint64 shown_bytes;
} Watch;

static void
watch_free (Watch *watch)
{
  g_signal_handlers_disconnect_by_data (watch->transfer, watch);
  cli_throttle_clear (&watch->throttle);
  g_object_unref (watch->transfer);
  g_free (watch);
}

static void
watch_print (Watch *watch, const char *event)
{
  Cli *cli = watch->cli;
  BgtTransfer *transfer = watch->transfer;
  gint64 total;
  g_autoptr (GDateTime) now = NULL;
  g_autofree char *time = NULL;
  g_autofree char *state = NULL;

  cli_transfer_get_progress (transfer, &watch->shown_bytes, &total);
  watch->shown_status = bgt_transfer_get_status (transfer);
  if (cli->table)
    {
      cli_throttle_poke (&cli->table_throttle);
      return;
    }
  if (cli->json)
    {
      g_autofree char *json = cli_transfer_to_json (transfer, event, FALSE);

      print_raw_line (json);
      fflush (stdout);
      return;
    }

  now = g_date_time_new_now_local ();
  time = g_date_time_format (now, "%H:%M:%S");
  if (g_str_equal (event, "removed"))
    /* TRANSLATORS: monitor: a transfer that is no longer listed */
    g_print ("%s %s %s\n", time, bgt_transfer_get_id (transfer), _ ("removed"));
  else
    {
      state = cli_format_state (transfer);
      if (g_str_equal (event, "added"))
        g_print ("%s %s %s  %s\n", time, bgt_transfer_get_id (transfer), state,
                 bgt_transfer_get_uri (transfer));
      else
        g_print ("%s %s %s\n", time, bgt_transfer_get_id (transfer), state);
    }
  fflush (stdout);
}

/* A status change at once, progress at most once a second */
static void
on_watch_throttled (gpointer user_data)
{
  Watch *watch = user_data;
  gint64 bytes, total;

  cli_transfer_get_progress (watch->transfer, &bytes, &total);
  if (bgt_transfer_get_status (watch->transfer) != watch->shown_status)
    watch_print (watch, "status");
  else if (bytes != watch->shown_bytes)
    watch_print (watch, "progress");
}

static void
on_watch_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  Watch *watch = user_data;

  if (watch->cli->table)
    cli_throttle_poke (&watch->cli->table_throttle);
  else if (g_str_equal (pspec->name, "status"))
    cli_throttle_fire (&watch->throttle);
  else
    cli_throttle_poke (&watch->throttle);
}

/* Follows @transfer, row @index of the table */
static void
watch_add (Cli *cli, BgtTransfer *transfer, guint index)
{
  static const char *const signals[]
      = { "notify::status",     "notify::bytes-received",      "notify::total-bytes-to-receive",
          "notify::bytes-sent", "notify::total-bytes-to-send", "notify::rate" };
  Watch *watch = g_new0 (Watch, 1);

  watch->cli = cli;
  watch->transfer = g_object_ref (transfer);
  cli_throttle_init (&watch->throttle, 1000, on_watch_throttled, watch);
  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    g_signal_connect (transfer, signals[i], G_CALLBACK (on_watch_notify), watch);
  g_hash_table_replace (cli->watches, g_strdup (bgt_transfer_get_object_path (transfer)), watch);
  g_ptr_array_insert (cli->rows, (int) index, g_object_ref (transfer));
  watch_print (watch, "added");
}

/* Row @index left the list */
static void
watch_remove (Cli *cli, guint index)
{
  g_autoptr (BgtTransfer) transfer = g_object_ref (g_ptr_array_index (cli->rows, index));
  const char *path = bgt_transfer_get_object_path (transfer);
  Watch *watch = g_hash_table_lookup (cli->watches, path);

  g_ptr_array_remove_index (cli->rows, index);
  if (watch == NULL)
    return;
  watch_print (watch, "removed");
  g_hash_table_remove (cli->watches, path);
}

static void
draw_table (gpointer user_data)
{
  Cli *cli = user_data;
  glong rows = cli_terminal_rows (STDOUT_FILENO);
  g_autofree char *table
      = cli_format_table (cli->rows, cli_terminal_columns (STDOUT_FILENO), MAX (rows - 1, 3));
  g_auto (GStrv) lines = g_strsplit (table, "\n", -1);
  g_autoptr (GString) out = g_string_new (NULL);
  guint n = 0;

  /* Back to the table's first line, then each line over the old one */
  if (cli->table_lines > 0)
    g_string_append_printf (out, "\033[%uA\r", cli->table_lines);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (lines[i][0] == '\0' && lines[i + 1] == NULL)
        break;
      g_string_append_printf (out, "%s\033[K\n", lines[i]);
      n++;
    }
  g_string_append (out, "\033[J");
  cli->table_lines = n;
  fputs (out->str, stdout);
  fflush (stdout);
}

/* The rows mirror the live list: what left it is rows[position …
 * position + removed), what came is in the list at the same place */
static void
on_listed_changed (GListModel *list, guint position, guint removed, guint added, gpointer user_data)
{
  Cli *cli = user_data;

  for (guint i = 0; i < removed; i++)
    watch_remove (cli, position);
  for (guint i = 0; i < added; i++)
    {
      g_autoptr (BgtTransfer) transfer = g_list_model_get_item (list, position + i);

      watch_add (cli, transfer, position + i);
    }
}

static void
on_monitor_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Cli *cli = user_data;
  g_autoptr (GError) error = NULL;

  cli->listed = bgt_client_list_transfers_finish (BGT_CLIENT (source), result, &error);
  if (cli->listed == NULL)
    {
      if (cli->signum == 0)
        cli_fail (cli, error);
      return;
    }
  on_listed_changed (cli->listed, 0, 0, g_list_model_get_n_items (cli->listed), cli);
  g_signal_connect (cli->listed, "items-changed", G_CALLBACK (on_listed_changed), cli);
  if (cli->table)
    cli_throttle_fire (&cli->table_throttle);
}

static void
monitor_interrupt (Cli *cli)
{
  if (cli->table)
    cli_throttle_fire (&cli->table_throttle);
  cli_quit (cli, EXIT_SUCCESS); /* the way to end a monitor */
}

/* No polling: the live list changes as the service says, and the library
 * binds to a restarted service again by itself */
static void
run_monitor (Cli *cli)
{
  cli->watches
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) watch_free);
  cli->rows = g_ptr_array_new_with_free_func (g_object_unref);
  cli->table = !cli->json && isatty (STDOUT_FILENO);
  cli_throttle_init (&cli->table_throttle, TABLE_INTERVAL_MS, draw_table, cli);
  cli->on_interrupt = monitor_interrupt;
  bgt_client_list_transfers_async (cli->client, cli->cancellable, on_monitor_listed, cli);
}

/* ---- The commands ------------------------------------------------------- */

static const Command commands[] = {
  {
      .name = "download",
      .parameters = N_ ("URI [DEST]"),
      .summary = N_ ("Download URI into a file and wait for the end"),
      .description = N_ ("DEST defaults to the last segment of the URI’s path in the current\n"
                         "directory; a DEST that is a directory receives that name. The\n"
                         "transfer runs in the background service: with --no-wait, or when\n"
                         "interrupted, the command leaves it running and prints its id."),
      .min_args = 1,
      .max_args = 2,
      .options = OPT_JSON | OPT_QUIET | OPT_CREATE | OPT_DOWNLOAD,
      .prepare = prepare_download,
      .run = run_download,
  },
  {
      .name = "upload",
      .parameters = N_ ("FILE URI | --part NAME=@FILE… URI"),
      .summary = N_ ("Upload FILE to URI, or a form of parts, and wait for the end"),
      .description = N_ ("FILE “-” sends the standard input. With --part, the body is "
                         "multipart/form-data: NAME=@FILE sends a file, NAME=VALUE a value."),
      .min_args = 1,
      .max_args = 2,
      .options = OPT_JSON | OPT_QUIET | OPT_CREATE | OPT_UPLOAD,
      .prepare = prepare_upload,
      .run = run_upload,
  },
  {
      .name = "list",
      .parameters = NULL,
      .summary = N_ ("List the application’s transfers"),
      .options = OPT_JSON | OPT_LIST,
      .run = run_list,
  },
  {
      .name = "show",
      .parameters = N_ ("ID"),
      .summary = N_ ("Show everything about a transfer"),
      .min_args = 1,
      .max_args = 1,
      .options = OPT_JSON,
      .run = run_on_transfer,
      .with_transfer = show_transfer,
  },
  {
      .name = "start",
      .parameters = N_ ("ID…"),
      .summary = N_ ("Start transfers created with --no-start"),
      .min_args = 1,
      .max_args = G_MAXUINT,
      .run = run_action,
      .action = { bgt_transfer_start_async, bgt_transfer_start_finish,
                  /* TRANSLATORS: the id, then the reason */
                  N_ ("cannot start transfer %s: %s") },
  },
  {
      .name = "pause",
      .parameters = N_ ("ID…"),
      .summary = N_ ("Pause transfers"),
      .min_args = 1,
      .max_args = G_MAXUINT,
      .run = run_action,
      .action = { bgt_transfer_pause_async, bgt_transfer_pause_finish,
                  /* TRANSLATORS: the id, then the reason */
                  N_ ("cannot pause transfer %s: %s") },
  },
  {
      .name = "resume",
      .parameters = N_ ("ID…"),
      .summary = N_ ("Resume paused transfers"),
      .min_args = 1,
      .max_args = G_MAXUINT,
      .run = run_action,
      .action = { bgt_transfer_resume_async, bgt_transfer_resume_finish,
                  N_ ("cannot resume transfer %s: %s") },
  },
  {
      .name = "cancel",
      .parameters = N_ ("ID…"),
      .summary = N_ ("Cancel transfers"),
      .min_args = 1,
      .max_args = G_MAXUINT,
      .run = run_action,
      .action = { bgt_transfer_cancel_async, bgt_transfer_cancel_finish,
                  N_ ("cannot cancel transfer %s: %s") },
  },
  {
      .name = "remove",
      .parameters = N_ ("ID…"),
      .summary = N_ ("Forget finished transfers"),
      .min_args = 1,
      .max_args = G_MAXUINT,
      .run = run_action,
      .action = { bgt_transfer_remove_async, bgt_transfer_remove_finish,
                  N_ ("cannot remove transfer %s: %s") },
  },
  {
      .name = "set-priority",
      .parameters = N_ ("ID PRIORITY"),
      .summary = N_ ("Move a transfer in the queue: low, default or high"),
      .min_args = 2,
      .max_args = 2,
      .prepare = prepare_set_priority,
      .run = run_on_transfer,
      .with_transfer = set_priority,
  },
  {
      .name = "set-cost-policy",
      .parameters = N_ ("ID POLICY"),
      .summary = N_ ("Change on which networks a transfer runs"),
      .description = N_ ("POLICY is unrestricted-only, default or always."),
      .min_args = 2,
      .max_args = 2,
      .prepare = prepare_set_cost_policy,
      .run = run_on_transfer,
      .with_transfer = set_cost_policy,
  },
  {
      .name = "set-uri",
      .parameters = N_ ("ID URI"),
      .summary = N_ ("Give a paused or failed transfer a new URI for the same resource"),
      .description = N_ ("Resuming it then continues from the data received so far if the\n"
                         "resource is still the same."),
      .min_args = 2,
      .max_args = 2,
      .prepare = prepare_set_uri,
      .run = run_on_transfer,
      .with_transfer = set_uri,
  },
  {
      .name = "group",
      .parameters = N_ ("NAME BEHAVIOR"),
      .summary = N_ ("Make a transfer group run its transfers in parallel or serialized"),
      .description = N_ ("BEHAVIOR is parallel (side by side, the default) or serialized (one\n"
                         "at a time, in the order they were created). Put transfers in a group\n"
                         "with download --group=NAME."),
      .min_args = 2,
      .max_args = 2,
      .prepare = prepare_group,
      .run = run_group,
  },
  {
      .name = "wait",
      .parameters = N_ ("ID"),
      .summary = N_ ("Wait for a transfer to end"),
      .description = N_ ("The exit status is 0 only if the transfer completed."),
      .min_args = 1,
      .max_args = 1,
      .options = OPT_JSON | OPT_QUIET,
      .run = run_on_transfer,
      .with_transfer = follow_transfer,
  },
  {
      .name = "monitor",
      .parameters = NULL,
      .summary = N_ ("Print the changes of the application’s transfers until interrupted"),
      .options = OPT_JSON,
      .run = run_monitor,
  },
};

static const Command *
find_command (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (commands[i].name, name))
      return &commands[i];
  return NULL;
}

static void
print_help (void)
{
  g_autoptr (GString) out = g_string_new (NULL);

  g_string_append_printf (out, "%s\n  bgtransfer %s\n\n", _ ("Usage:"),
                          _ ("COMMAND [OPTION…] [ARGUMENT…]"));
  g_string_append_printf (out, "%s\n\n",
                          _ ("Hands downloads and uploads to the background transfer service."));
  g_string_append_printf (out, "%s\n", _ ("Commands:"));
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (out, "  %-16s %s\n", commands[i].name, _ (commands[i].summary));
  g_string_append_printf (out, "\n%s\n", _ ("Options:"));
  g_string_append_printf (out, "  -h, --help   %s\n", _ ("Show help options"));
  g_string_append_printf (out, "  --version    %s\n\n", _ ("Print the version"));
  g_string_append_printf (out, "%s\n",
                          _ ("Run 'bgtransfer COMMAND --help' for the options of a command."));
  g_print ("%s", out->str);
}

/* ---- Options ------------------------------------------------------------ */

static void
add_entries (GArray *entries, const GOptionEntry *add, gsize n)
{
  g_array_append_vals (entries, add, (guint) n);
}

static GOptionEntry *
build_entries (Cli *cli)
{
  OptionSet set = cli->command->options;
  GArray *entries = g_array_new (TRUE, TRUE, sizeof (GOptionEntry));
  const GOptionEntry common[] = {
    { "app-id", 0, 0, G_OPTION_ARG_STRING, &cli->app_id,
      N_ ("Act for the application ID (default: $BGTRANSFER_APP_ID)"), N_ ("ID") },
  };
  const GOptionEntry json[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &cli->json, N_ ("Print JSON"), NULL },
  };
  const GOptionEntry quiet[] = {
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &cli->quiet,
      N_ ("Show no progress, and nothing on success"), NULL },
  };
  const GOptionEntry create[] = {
    { "cost-policy", 0, 0, G_OPTION_ARG_STRING, &cli->cost_policy_name,
      N_ ("On which networks to run: unrestricted-only, default or always"), N_ ("POLICY") },
    { "priority", 0, 0, G_OPTION_ARG_STRING, &cli->priority_name,
      N_ ("The place in the queue: low, default or high"), N_ ("PRIORITY") },
    { "group", 0, 0, G_OPTION_ARG_STRING, &cli->group, N_ ("Put the transfer in a transfer group"),
      N_ ("NAME") },
    { "tag", 0, 0, G_OPTION_ARG_STRING, &cli->tag, N_ ("Attach free text to the transfer"),
      N_ ("TEXT") },
    { "header", 'H', 0, G_OPTION_ARG_STRING_ARRAY, &cli->header_args,
      N_ ("Send a request header (repeatable)"), N_ ("'NAME: VALUE'") },
    { "user", 'u', 0, G_OPTION_ARG_STRING, &cli->user,
      N_ ("Answer the server's authentication with these credentials (asks for the password "
          "when not given)"),
      N_ ("USER[:PASSWORD]") },
    { "proxy-user", 0, 0, G_OPTION_ARG_STRING, &cli->proxy_user,
      N_ ("Answer the proxy's authentication with these credentials"), N_ ("USER[:PASSWORD]") },
    { "limit-rate", 0, 0, G_OPTION_ARG_STRING, &cli->limit_rate,
      N_ ("Move at most RATE bytes per second (suffixes k, M, G: 1024, 1024², 1024³)"),
      N_ ("RATE") },
    { "completion-group", 0, 0, G_OPTION_ARG_STRING, &cli->completion_group,
      N_ ("Join the completion group at this object path"), N_ ("PATH") },
    { "notify", 0, 0, G_OPTION_ARG_NONE, &cli->notify,
      N_ ("Show a desktop notification when the transfer ends"), NULL },
    { "notify-success", 0, 0, G_OPTION_ARG_STRING, &cli->notify_success,
      N_ ("The notification on success: a title, and a body after a line break"), N_ ("TEXT") },
    { "notify-failure", 0, 0, G_OPTION_ARG_STRING, &cli->notify_failure,
      N_ ("The notification on failure: a title, and a body after a line break"), N_ ("TEXT") },
    { "no-start", 0, 0, G_OPTION_ARG_NONE, &cli->no_start,
      N_ ("Create the transfer without starting it (see “bgtransfer start”); implies --no-wait"),
      NULL },
    { "no-wait", 0, 0, G_OPTION_ARG_NONE, &cli->no_wait,
      N_ ("Print the id of the transfer and return at once"), NULL },
  };
  const GOptionEntry download[] = {
    { "checksum", 0, 0, G_OPTION_ARG_STRING, &cli->checksum,
      N_ ("Fail unless the data has this digest (sha256:HEX or sha512:HEX)"),
      N_ ("ALGORITHM:HEX") },
    { "overwrite", 0, 0, G_OPTION_ARG_NONE, &cli->overwrite,
      N_ ("Replace the destination if it exists"), NULL },
    { "mirror", 0, 0, G_OPTION_ARG_STRING_ARRAY, &cli->mirrors,
      N_ ("Another URI of the same file, tried when the first fails (repeatable)"), N_ ("URI") },
    { "connections", 0, 0, G_OPTION_ARG_INT, &cli->connections,
      N_ ("Download over up to N connections at once (1 to 16)"), N_ ("N") },
    { "if-changed", 0, 0, G_OPTION_ARG_STRING, &cli->if_changed,
      N_ ("When the file changes on the server meanwhile: restart (the default) or fail"),
      N_ ("ACTION") },
    { "random-access", 0, 0, G_OPTION_ARG_NONE, &cli->random_access,
      N_ ("Let readers ask for any part of the file first, as a media player seeks"), NULL },
    { "method", 'X', 0, G_OPTION_ARG_STRING, &cli->method,
      N_ ("The HTTP request method (default: GET)"), N_ ("METHOD") },
  };
  const GOptionEntry upload[] = {
    { "method", 'X', 0, G_OPTION_ARG_STRING, &cli->method, N_ ("POST (the default) or PUT"),
      N_ ("METHOD") },
    { "resumable", 0, 0, G_OPTION_ARG_NONE, &cli->resumable,
      N_ ("Use the tus protocol, which resumes after an interruption"), NULL },
    { "tus", 0, 0, G_OPTION_ARG_NONE, &cli->resumable, N_ ("The same as --resumable"), NULL },
    { "part", 0, 0, G_OPTION_ARG_STRING_ARRAY, &cli->part_args,
      N_ ("A multipart/form-data part: NAME=@FILE or NAME=VALUE (repeatable)"), N_ ("NAME=@FILE") },
  };
  const GOptionEntry list[] = {
    { "ids", 0, 0, G_OPTION_ARG_NONE, &cli->ids, N_ ("Print only the ids, one a line"), NULL },
  };
  const GOptionEntry remaining[] = {
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &cli->args, NULL, NULL },
  };

  add_entries (entries, common, G_N_ELEMENTS (common));
  if (set & OPT_JSON)
    add_entries (entries, json, G_N_ELEMENTS (json));
  if (set & OPT_QUIET)
    add_entries (entries, quiet, G_N_ELEMENTS (quiet));
  if (set & OPT_CREATE)
    add_entries (entries, create, G_N_ELEMENTS (create));
  if (set & OPT_DOWNLOAD)
    add_entries (entries, download, G_N_ELEMENTS (download));
  if (set & OPT_UPLOAD)
    add_entries (entries, upload, G_N_ELEMENTS (upload));
  if (set & OPT_LIST)
    add_entries (entries, list, G_N_ELEMENTS (list));
  add_entries (entries, remaining, G_N_ELEMENTS (remaining));
  return (GOptionEntry *) (void *) g_array_free (entries, FALSE);
}

/* "Name: value" with a token for a name and no line break in the value */
static gboolean
parse_header (Cli *cli, const char *header)
{
  static const char token_chars[] = "!#$%&'*+-.^_`|~";
  const char *colon = strchr (header, ':');
  g_autofree char *name = NULL;

  if (colon == NULL || colon == header || strpbrk (colon, "\r\n") != NULL)
    return FALSE;
  name = g_strndup (header, colon - header);
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr (token_chars, *p) == NULL)
      return FALSE;
  g_ptr_array_add (cli->headers, g_steal_pointer (&name));
  g_ptr_array_add (cli->headers, g_strstrip (g_strdup (colon + 1)));
  return TRUE;
}

/* The method of a download is any token (GET by default); an upload is a
 * POST or a PUT */
static gboolean
check_method (Cli *cli, GError **error)
{
  char *upper = g_ascii_strup (cli->method, -1);

  g_free (cli->method);
  cli->method = upper;
  if (cli->command->options & OPT_UPLOAD)
    {
      if (g_str_equal (upper, "POST") || g_str_equal (upper, "PUT"))
        return TRUE;
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _ ("invalid method “%s”: use POST or PUT"), upper);
      return FALSE;
    }
  for (const char *p = upper; *p != '\0'; p++)
    {
      if (!g_ascii_isalpha (*p) && *p != '-' && *p != '_')
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, _ ("invalid method “%s”"),
                       upper);
          return FALSE;
        }
    }
  return *upper != '\0';
}

/* "500", "500k", "2M", "1G": bytes per second, the suffixes in 1024s */
static gboolean
parse_rate (const char *text, gint64 *rate)
{
  char *end = NULL;
  guint64 value, unit = 1;

  if (!g_ascii_isdigit (*text))
    return FALSE;
  value = g_ascii_strtoull (text, &end, 10);
  switch (g_ascii_tolower (*end))
    {
      case '\0':
        break;
      case 'k':
        unit = 1024;
        break;
      case 'm':
        unit = 1024 * 1024;
        break;
      case 'g':
        unit = 1024 * 1024 * 1024;
        break;
      default:
        return FALSE;
    }
  if (*end != '\0' && end[1] != '\0' && !g_str_equal (end + 1, "B") && !g_str_equal (end + 1, "iB"))
    return FALSE;
  if (value == 0 || value > (guint64) G_MAXINT64 / unit)
    return FALSE;
  *rate = (gint64) (value * unit);
  return TRUE;
}

/* The terminal's settings while a password is typed, to restore them if
 * the user gives up with Ctrl-C */
static struct termios saved_termios;

static void
restore_echo_and_die (int signum)
{
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved_termios);
  signal (signum, SIG_DFL);
  raise (signum);
}

/* Reads a line from the terminal on the standard input without echoing
 * it; NULL when there is no terminal to ask */
static char *
prompt_password (const char *prompt)
{
  g_autoptr (GString) password = g_string_new (NULL);
  struct termios silent;
  struct sigaction action = { 0 }, old_int, old_term;
  char c;

  if (!isatty (STDIN_FILENO) || tcgetattr (STDIN_FILENO, &saved_termios) != 0)
    return NULL;
  silent = saved_termios;
  silent.c_lflag &= ~(tcflag_t) ECHO;
  silent.c_lflag |= ECHONL;
  action.sa_handler = restore_echo_and_die;
  sigaction (SIGINT, &action, &old_int);
  sigaction (SIGTERM, &action, &old_term);
  /* Silent before the prompt shows, so that nothing typed is echoed */
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &silent);
  g_printerr ("%s", prompt);
  while (read (STDIN_FILENO, &c, 1) == 1 && c != '\n')
    g_string_append_c (password, c);
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved_termios);
  sigaction (SIGINT, &old_int, NULL);
  sigaction (SIGTERM, &old_term, NULL);
  return g_string_free (g_steal_pointer (&password), FALSE);
}

/* "USER:PASSWORD", or "USER" and the password asked on the terminal */
static gboolean
parse_user (const char *arg, const char *option, char **username, char **password, GError **error)
{
  const char *colon = strchr (arg, ':');
  g_autofree char *prompt = NULL;

  if (colon == arg || *arg == '\0')
    {
      /* TRANSLATORS: %s is an option, --user or --proxy-user */
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, _ ("%s needs a user name"),
                   option);
      return FALSE;
    }
  if (colon != NULL)
    {
      *username = g_strndup (arg, colon - arg);
      *password = g_strdup (colon + 1);
      return TRUE;
    }
  *username = g_strdup (arg);
  /* TRANSLATORS: %s is a user name */
  prompt = g_strdup_printf (g_str_equal (option, "--proxy-user") ? _ ("Proxy password for %s: ")
                                                                 : _ ("Password for %s: "),
                            arg);
  *password = prompt_password (prompt);
  if (*password == NULL)
    {
      /* TRANSLATORS: %s is an option, --user or --proxy-user */
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _ ("%s USER without a password needs a terminal to ask for it; give "
                      "USER:PASSWORD instead"),
                   option);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_options (Cli *cli, GError **error)
{
  int value;

  if (cli->cost_policy_name != NULL)
    {
      if (!parse_enum (BGT_TYPE_COST_POLICY, cli->cost_policy_name, &value))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _ ("invalid cost policy “%s”: use unrestricted-only, default or always"),
                       cli->cost_policy_name);
          return FALSE;
        }
      cli->cost_policy = value;
    }
  if (cli->priority_name != NULL)
    {
      if (!parse_enum (BGT_TYPE_PRIORITY, cli->priority_name, &value))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _ ("invalid priority “%s”: use low, default or high"), cli->priority_name);
          return FALSE;
        }
      cli->priority = value;
    }
  for (guint i = 0; cli->header_args != NULL && cli->header_args[i] != NULL; i++)
    {
      if (!parse_header (cli, cli->header_args[i]))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _ ("invalid header “%s”: use 'Name: value'"), cli->header_args[i]);
          return FALSE;
        }
    }
  if (cli->method != NULL && !check_method (cli, error))
    return FALSE;
  if (cli->user != NULL && !parse_user (cli->user, "--user", &cli->username, &cli->password, error))
    return FALSE;
  if (cli->proxy_user != NULL
      && !parse_user (cli->proxy_user, "--proxy-user", &cli->proxy_username, &cli->proxy_password,
                      error))
    return FALSE;
  if (cli->limit_rate != NULL && !parse_rate (cli->limit_rate, &cli->max_rate))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _ ("invalid rate “%s”: use a number of bytes per second such as 500k or 2M"),
                   cli->limit_rate);
      return FALSE;
    }
  if (cli->connections != -1 && (cli->connections < 1 || cli->connections > 16))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _ ("invalid number of connections %d: use 1 to 16"), cli->connections);
      return FALSE;
    }
  if (cli->if_changed != NULL && !g_str_equal (cli->if_changed, "restart")
      && !g_str_equal (cli->if_changed, "fail"))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _ ("invalid value “%s” of --if-changed: use restart or fail"), cli->if_changed);
      return FALSE;
    }
  if (cli->completion_group != NULL && !g_variant_is_object_path (cli->completion_group))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _ ("invalid completion group “%s”: give its object path"),
                   cli->completion_group);
      return FALSE;
    }
  for (guint i = 0; cli->mirrors != NULL && cli->mirrors[i] != NULL; i++)
    {
      if (!g_uri_is_valid (cli->mirrors[i], G_URI_FLAGS_PARSE_RELAXED, NULL))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       _ ("invalid mirror URI “%s”"), cli->mirrors[i]);
          return FALSE;
        }
    }
  /* A transfer that does not start has no end to wait for */
  if (cli->no_start)
    cli->no_wait = TRUE;
  if (cli->json && cli->ids)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           _ ("--json and --ids do not go together"));
      return FALSE;
    }
  if (cli->app_id == NULL)
    cli->app_id = g_strdup (g_getenv ("BGTRANSFER_APP_ID"));
  if (cli->app_id != NULL && *cli->app_id == '\0')
    g_clear_pointer (&cli->app_id, g_free);
  return TRUE;
}

/* Parses the command's options and arguments; a usage error exits 2 */
static gboolean
cli_parse (Cli *cli, int argc, char **argv, int *status)
{
  const Command *command = cli->command;
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree GOptionEntry *entries = build_entries (cli);
  g_autofree char *prgname = g_strdup_printf ("bgtransfer %s", command->name);
  guint n_args;
  gboolean parsed;

  context = g_option_context_new (command->parameters);
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, command->summary);
  if (command->description != NULL)
    g_option_context_set_description (context, command->description);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);

  /* So that --help shows "bgtransfer download [OPTION…] URI [DEST]" */
  g_set_prgname (prgname);
  parsed = g_option_context_parse (context, &argc, &argv, &error);
  g_set_prgname ("bgtransfer");
  if (!parsed || !check_options (cli, &error))
    {
      *status = usage_error (command->name, error->message);
      return FALSE;
    }

  n_args = cli->args != NULL ? g_strv_length (cli->args) : 0;
  if (n_args < command->min_args || n_args > command->max_args)
    {
      g_autofree char *usage = NULL;
      g_autofree char *message = NULL;

      usage = g_strjoin (" ", "bgtransfer", command->name,
                         command->parameters != NULL ? _ (command->parameters) : NULL, NULL);
      /* TRANSLATORS: %s is a usage line such as "bgtransfer download URI [DEST]" */
      message = g_strdup_printf (n_args < command->min_args ? _ ("missing arguments; usage: %s")
                                                            : _ ("too many arguments; usage: %s"),
                                 usage);
      *status = usage_error (command->name, message);
      return FALSE;
    }
  if (cli->args == NULL)
    cli->args = g_new0 (char *, 1);
  if (command->prepare != NULL && !command->prepare (cli, &error))
    {
      *status = usage_error (command->name, error->message);
      return FALSE;
    }
  return TRUE;
}

/* ---- Running ------------------------------------------------------------ */

static void
on_signal (Cli *cli, int signum)
{
  if (cli->signum != 0)
    {
      cli_quit (cli, 128 + cli->signum); /* twice: do not wait any more */
      return;
    }
  cli->signum = signum;
  g_cancellable_cancel (cli->cancellable);
  if (cli->on_interrupt != NULL)
    cli->on_interrupt (cli);
}

static gboolean
on_sigint (gpointer user_data)
{
  on_signal (user_data, SIGINT);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_sigterm (gpointer user_data)
{
  on_signal (user_data, SIGTERM);
  return G_SOURCE_CONTINUE;
}

static void
on_client_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Cli *cli = user_data;
  g_autoptr (GError) error = NULL;

  cli->client = bgt_client_new_finish (result, &error);
  if (cli->client == NULL)
    {
      /* Whatever kept us from the bus, the service is out of reach */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && error->domain != BGT_ERROR)
        {
          print_error (_ ("cannot reach the background transfer service: %s"), error->message);
          cli_quit (cli, EXIT_FAILURE);
        }
      else
        cli_fail (cli, error);
      return;
    }
  cli->command->run (cli);
}

static int
cli_run (Cli *cli)
{
  cli->loop = g_main_loop_new (NULL, FALSE);
  cli->cancellable = g_cancellable_new ();
  cli->signal_ids[0] = g_unix_signal_add (SIGINT, on_sigint, cli);
  cli->signal_ids[1] = g_unix_signal_add (SIGTERM, on_sigterm, cli);
  bgt_client_new_async (cli->app_id, cli->cancellable, on_client_ready, cli);
  g_main_loop_run (cli->loop);
  return cli->exit_status;
}

int
main (int argc, char **argv)
{
  g_autoptr (Cli) cli = NULL;
  const Command *command;
  char *help_argv[] = { NULL, NULL, (char *) "--help", NULL };
  const char *localedir;
  int status = EXIT_SUCCESS;

  setlocale (LC_ALL, "");
  /* $BGTRANSFER_LOCALEDIR: the translations of a build tree, for its tests */
  localedir = g_getenv ("BGTRANSFER_LOCALEDIR");
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL && *localedir != '\0' ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("bgtransfer");

  if (argc < 2)
    return usage_error (NULL, _ ("no command given"));
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") || g_str_equal (argv[1], "-?"))
    {
      print_help ();
      return EXIT_SUCCESS;
    }
  if (g_str_equal (argv[1], "--version"))
    {
      g_print ("bgtransfer %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  if (g_str_equal (argv[1], "help"))
    {
      /* "bgtransfer help COMMAND" is "bgtransfer COMMAND --help" */
      if (argc < 3 || find_command (argv[2]) == NULL)
        {
          print_help ();
          return EXIT_SUCCESS;
        }
      help_argv[0] = argv[0];
      help_argv[1] = argv[2];
      argc = 3;
      argv = help_argv;
    }

  command = find_command (argv[1]);
  if (command == NULL)
    {
      g_autofree char *message = NULL;

      if (argv[1][0] == '-')
        message
            = g_strdup_printf (_ ("unknown option “%s”; options go after the command"), argv[1]);
      else
        message = g_strdup_printf (_ ("unknown command “%s”"), argv[1]);
      return usage_error (NULL, message);
    }

  cli = g_new0 (Cli, 1);
  cli->command = command;
  cli->cost_policy = BGT_COST_POLICY_DEFAULT;
  cli->priority = BGT_PRIORITY_DEFAULT;
  cli->connections = -1;
  cli->headers = g_ptr_array_new_with_free_func (g_free);
  /* The command's own argv: its name stands for the program */
  if (!cli_parse (cli, argc - 1, argv + 1, &status))
    return status;
  return cli_run (cli);
}
