/* bt-callers.c: who is calling: bus connections and their application ids
 *
 * Each connection is identified once, asynchronously, and cached until it
 * leaves the bus: GetConnectionCredentials gives its process, and
 * /proc/PID/root/.flatpak-info (opened without following links, as
 * xdg-desktop-portal does) tells a Flatpak app's id and whether it may use
 * the network. Anything that cannot be established fails closed: a caller
 * is never taken for an unsandboxed one by mistake.
 *
 * An unsandboxed caller is trusted as the same user; the app id it declares
 * only keeps its transfers apart from other apps'. It binds to the
 * connection at its first use (docs/contract.md "Applications and isolation"); a connection that
 * never declared one acts as the app "".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gunixfdlist.h>

#include "bt-callers.h"
#include "bt-error.h"

#define FLATPAK_INFO_MAX_SIZE (64 * 1024)

typedef struct
{
  char *app_id;
  gboolean declared; /* bound: by a declaration or by the sandbox */
  gboolean sandboxed;
} Caller;

struct _BtCallers
{
  GObject parent_instance;

  GDBusConnection *connection;
  guint name_owner_changed_id;
  GHashTable *callers; /* unique name → Caller */
  GHashTable *peers;   /* app id → GPtrArray of unique names */
  GHashTable *pending; /* unique name → GPtrArray of GTask */
  char *frontend;      /* the portal frontend's unique name, or NULL */
};

G_DEFINE_TYPE (BtCallers, bt_callers, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void
caller_free (Caller *caller)
{
  g_free (caller->app_id);
  g_free (caller);
}

static void
peers_remove (BtCallers *self, const char *app_id, const char *sender)
{
  GPtrArray *senders = g_hash_table_lookup (self->peers, app_id);

  if (senders == NULL)
    return;
  for (guint i = 0; i < senders->len; i++)
    {
      if (g_str_equal (g_ptr_array_index (senders, i), sender))
        {
          g_ptr_array_remove_index_fast (senders, i);
          break;
        }
    }
  if (senders->len == 0)
    g_hash_table_remove (self->peers, app_id);
}

static void
peers_add (BtCallers *self, const char *app_id, const char *sender)
{
  GPtrArray *senders = g_hash_table_lookup (self->peers, app_id);

  if (senders == NULL)
    {
      senders = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_insert (self->peers, g_strdup (app_id), senders);
    }
  g_ptr_array_add (senders, g_strdup (sender));
}

static void
on_name_owner_changed (GDBusConnection *connection, const char *sender_name,
                       const char *object_path, const char *interface_name, const char *signal_name,
                       GVariant *parameters, gpointer user_data)
{
  BtCallers *self = user_data;
  const char *name, *old_owner, *new_owner;
  Caller *caller;

  g_variant_get (parameters, "(&s&s&s)", &name, &old_owner, &new_owner);
  if (*new_owner != '\0' || name[0] != ':')
    return;

  caller = g_hash_table_lookup (self->callers, name);
  if (caller == NULL)
    return;

  g_debug ("Caller %s (app “%s”) left the bus", name, caller->app_id);
  if (g_strcmp0 (self->frontend, name) == 0)
    g_clear_pointer (&self->frontend, g_free);
  peers_remove (self, caller->app_id, name);
  g_hash_table_remove (self->callers, name);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
bt_callers_dispose (GObject *object)
{
  BtCallers *self = BT_CALLERS (object);

  if (self->name_owner_changed_id != 0)
    {
      g_dbus_connection_signal_unsubscribe (self->connection, self->name_owner_changed_id);
      self->name_owner_changed_id = 0;
    }
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (bt_callers_parent_class)->dispose (object);
}

static void
bt_callers_finalize (GObject *object)
{
  BtCallers *self = BT_CALLERS (object);

  g_hash_table_unref (self->callers);
  g_hash_table_unref (self->peers);
  g_hash_table_unref (self->pending);
  g_free (self->frontend);

  G_OBJECT_CLASS (bt_callers_parent_class)->finalize (object);
}

static void
bt_callers_class_init (BtCallersClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bt_callers_dispose;
  object_class->finalize = bt_callers_finalize;

  /* Emitted when a caller appears or leaves. */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
bt_callers_init (BtCallers *self)
{
  self->callers
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) caller_free);
  self->peers
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  self->pending
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
}

BtCallers *
bt_callers_new (GDBusConnection *connection)
{
  BtCallers *self = g_object_new (BT_TYPE_CALLERS, NULL);

  self->connection = g_object_ref (connection);
  self->name_owner_changed_id = g_dbus_connection_signal_subscribe (
      connection, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged",
      "/org/freedesktop/DBus", NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_name_owner_changed, self, NULL);
  return self;
}

gboolean
bt_app_id_is_valid (const char *app_id)
{
  /* "" is the anonymous app. A host app may call itself what it likes
   * (only activation needs a bus name, checked there); a sandboxed app's id
   * comes from its sandbox. */
  if (strlen (app_id) > 255 || !g_utf8_validate (app_id, -1, NULL))
    return FALSE;
  for (const char *p = app_id; *p != '\0'; p++)
    {
      if ((guchar) *p < 0x20 || *p == 0x7f)
        return FALSE;
    }
  return TRUE;
}

/* A sandboxed app's id: a well-known bus name, as Flatpak requires */
gboolean
bt_sandboxed_app_id_is_valid (const char *app_id)
{
  return g_dbus_is_name (app_id) && !g_dbus_is_unique_name (app_id);
}

/*
 * bt_callers_check_network:
 *
 * The network permission rule, for a caller identified by its sandbox and
 * for an app the portal frontend speaks for: a sandboxed app that could
 * not reach the network itself does not reach it through the service.
 */
gboolean
bt_callers_check_network (const char *app_id, gboolean sandboxed, gboolean network, GError **error)
{
  if (sandboxed && !network)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                   "The application %s has no network permission", app_id);
      return FALSE;
    }
  return TRUE;
}

/*
 * bt_parse_flatpak_info:
 *
 * Reads the app id and the network permission from a .flatpak-info file.
 */
gboolean
bt_parse_flatpak_info (const char *data, gsize length, char **out_app_id, gboolean *out_network,
                       GError **error)
{
  g_autoptr (GKeyFile) keyfile = g_key_file_new ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *app_id = NULL;
  g_auto (GStrv) shared = NULL;

  if (!g_key_file_load_from_data (keyfile, data, length, G_KEY_FILE_NONE, &local_error))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_ACCESS_DENIED, "Unreadable sandbox metadata: %s",
                   local_error->message);
      return FALSE;
    }
  app_id = g_key_file_get_string (keyfile, "Application", "name", NULL);
  if (app_id == NULL)
    app_id = g_key_file_get_string (keyfile, "Runtime", "name", NULL);
  if (app_id == NULL || *app_id == '\0' || !bt_sandboxed_app_id_is_valid (app_id))
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                           "The sandbox metadata names no valid application");
      return FALSE;
    }

  shared = g_key_file_get_string_list (keyfile, "Context", "shared", NULL, NULL);
  *out_network = shared != NULL && g_strv_contains ((const char *const *) shared, "network");
  *out_app_id = g_steal_pointer (&app_id);
  return TRUE;
}

typedef struct
{
  char *app_id; /* NULL: not sandboxed */
  gboolean network;
} Identity;

static void
identity_free (Identity *identity)
{
  g_free (identity->app_id);
  g_free (identity);
}

/* Reads /proc/PID/root/.flatpak-info without following links */
static Identity *
identify_process (guint32 pid, GError **error)
{
  g_autofree char *root_path = g_strdup_printf ("/proc/%u/root", pid);
  g_autofree char *data = NULL;
  Identity *identity;
  struct stat st;
  int root_fd, fd;
  ssize_t n;

  root_fd = open (root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    {
      /* Gone, or not ours to look at: never assume "unsandboxed" */
      g_set_error (error, BT_ERROR, BT_ERROR_ACCESS_DENIED, "Cannot identify the caller: %s",
                   g_strerror (errno));
      return NULL;
    }
  fd = openat (root_fd, ".flatpak-info", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0 && errno == ENOENT)
    {
      close (root_fd);
      return g_new0 (Identity, 1); /* a host process */
    }
  close (root_fd);
  if (fd < 0)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                   "Cannot read the caller's sandbox metadata: %s", g_strerror (errno));
      return NULL;
    }
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_size > FLATPAK_INFO_MAX_SIZE)
    {
      close (fd);
      g_set_error_literal (error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                           "The caller's sandbox metadata is not a regular file");
      return NULL;
    }
  data = g_malloc (FLATPAK_INFO_MAX_SIZE + 1);
  n = read (fd, data, FLATPAK_INFO_MAX_SIZE);
  close (fd);
  if (n < 0)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                   "Cannot read the caller's sandbox metadata: %s", g_strerror (errno));
      return NULL;
    }

  identity = g_new0 (Identity, 1);
  if (!bt_parse_flatpak_info (data, (gsize) n, &identity->app_id, &identity->network, error))
    {
      identity_free (identity);
      return NULL;
    }
  return identity;
}

/* The pid a pidfd refers to, from /proc/self/fdinfo; 0 if it has exited
 * or cannot be read */
static guint32
pid_of_pidfd (int pidfd)
{
  g_autofree char *path = g_strdup_printf ("/proc/self/fdinfo/%d", pidfd);
  g_autofree char *contents = NULL;
  const char *line;
  gint64 pid;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return 0;
  line = strstr (contents, "\nPid:");
  if (line == NULL)
    return 0;
  pid = g_ascii_strtoll (line + strlen ("\nPid:"), NULL, 10);
  return pid > 0 && pid <= G_MAXUINT32 ? (guint32) pid : 0;
}

/* With a pidfd from the bus (dbus-daemon ≥ 1.15 sends ProcessFD), the pid
 * cannot be recycled under us: it is checked before and after reading the
 * process's sandbox metadata */
static Identity *
identify_pidfd (int pidfd, guint32 pid, GError **error)
{
  Identity *identity;

  if (pid_of_pidfd (pidfd) != pid)
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                           "Cannot identify the caller: its process is gone");
      return NULL;
    }
  identity = identify_process (pid, error);
  if (identity != NULL && pid_of_pidfd (pidfd) != pid)
    {
      g_clear_pointer (&identity, identity_free);
      g_set_error_literal (error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                           "Cannot identify the caller: its process is gone");
    }
  return identity;
}

static void
complete_pending (BtCallers *self, const char *sender, const GError *error)
{
  g_autoptr (GPtrArray) tasks = NULL;
  g_autofree char *key = NULL;

  if (!g_hash_table_steal_extended (self->pending, sender, (gpointer *) &key, (gpointer *) &tasks))
    return;
  for (guint i = 0; i < tasks->len; i++)
    {
      GTask *task = g_ptr_array_index (tasks, i);

      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
    }
}

static void
on_credentials (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) first = user_data;
  BtCallers *self = g_task_get_source_object (first);
  const char *sender = g_task_get_task_data (first);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) credentials = NULL;
  g_autoptr (GUnixFDList) fds = NULL;
  g_autoptr (GError) error = NULL;
  Identity *identity = NULL;
  guint32 pid;
  gint32 fd_index;

  reply = g_dbus_connection_call_with_unix_fd_list_finish (G_DBUS_CONNECTION (source), &fds, result,
                                                           &error);
  if (reply == NULL)
    {
      g_clear_error (&error);
      g_set_error_literal (&error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                           "Cannot identify the caller: it left the bus");
    }
  else
    {
      g_variant_get (reply, "(@a{sv})", &credentials);
      if (!g_variant_lookup (credentials, "ProcessID", "u", &pid))
        g_set_error_literal (&error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                             "Cannot identify the caller: no process id");
      else if (fds != NULL && g_variant_lookup (credentials, "ProcessFD", "h", &fd_index))
        {
          int pidfd = g_unix_fd_list_get (fds, fd_index, &error);

          if (pidfd >= 0)
            {
              identity = identify_pidfd (pidfd, pid, &error);
              close (pidfd);
            }
        }
      else
        identity = identify_process (pid, &error);
    }

  if (identity != NULL
      && !bt_callers_check_network (identity->app_id, identity->app_id != NULL, identity->network,
                                    &error))
    g_clear_pointer (&identity, identity_free);

  if (identity != NULL && !g_hash_table_contains (self->callers, sender))
    {
      Caller *caller = g_new0 (Caller, 1);

      caller->sandboxed = identity->app_id != NULL;
      caller->declared = caller->sandboxed;
      caller->app_id = g_strdup (caller->sandboxed ? identity->app_id : "");
      g_hash_table_insert (self->callers, g_strdup (sender), caller);
      peers_add (self, caller->app_id, sender);
      g_debug ("Caller %s is %s app “%s”", sender, caller->sandboxed ? "sandboxed" : "host",
               caller->app_id);
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
    }
  g_clear_pointer (&identity, identity_free);

  complete_pending (self, sender, error);
}

/*
 * bt_callers_resolve_async:
 *
 * Makes sure @sender is identified; concurrent calls for one sender share
 * one lookup.
 */
void
bt_callers_resolve_async (BtCallers *self, const char *sender, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  GPtrArray *waiting;

  g_task_set_source_tag (task, bt_callers_resolve_async);
  if (g_hash_table_contains (self->callers, sender))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }

  waiting = g_hash_table_lookup (self->pending, sender);
  if (waiting != NULL)
    {
      g_ptr_array_add (waiting, g_steal_pointer (&task));
      return;
    }

  waiting = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (waiting, g_object_ref (task));
  g_hash_table_insert (self->pending, g_strdup (sender), waiting);
  g_task_set_task_data (task, g_strdup (sender), g_free);
  g_dbus_connection_call_with_unix_fd_list (
      self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
      "GetConnectionCredentials", g_variant_new ("(s)", sender), G_VARIANT_TYPE ("(a{sv})"),
      G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, on_credentials, g_steal_pointer (&task));
}

gboolean
bt_callers_resolve_finish (BtCallers *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bt_callers_resolve_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/*
 * bt_callers_identify:
 * @declared_app_id: (nullable): the "app-id" option of the call, if any
 *
 * For a resolved sender, applies the binding rules of docs/contract.md.
 *
 * Returns: the app id the call acts for, or %NULL with @error set.
 */
const char *
bt_callers_identify (BtCallers *self, const char *sender, const char *declared_app_id,
                     GError **error)
{
  Caller *caller = g_hash_table_lookup (self->callers, sender);

  if (caller == NULL)
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_ACCESS_DENIED, "Unidentified caller");
      return NULL;
    }
  if (declared_app_id != NULL && !bt_app_id_is_valid (declared_app_id))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "“%s” is not a valid application id",
                   declared_app_id);
      return NULL;
    }
  if (declared_app_id == NULL || g_str_equal (declared_app_id, caller->app_id))
    return caller->app_id;

  if (caller->declared)
    {
      g_set_error_literal (error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                           caller->sandboxed
                               ? "A sandboxed application cannot act for another one"
                               : "This connection already acts for another application");
      return NULL;
    }

  /* First declaration on a connection that acted undeclared so far */
  peers_remove (self, caller->app_id, sender);
  g_free (caller->app_id);
  caller->app_id = g_strdup (declared_app_id);
  caller->declared = TRUE;
  peers_add (self, caller->app_id, sender);
  return caller->app_id;
}

/* The app id of a resolved connection, or NULL */
const char *
bt_callers_lookup (BtCallers *self, const char *sender)
{
  Caller *caller = g_hash_table_lookup (self->callers, sender);

  return caller != NULL ? caller->app_id : NULL;
}

gboolean
bt_callers_is_sandboxed (BtCallers *self, const char *sender)
{
  Caller *caller = g_hash_table_lookup (self->callers, sender);

  /* Unknown counts as sandboxed: fail closed */
  return caller == NULL || caller->sandboxed;
}

/*
 * bt_callers_get_peers:
 *
 * Returns: (transfer none) (nullable): the unique names of the connections
 * that act for @app_id.
 */
GPtrArray *
bt_callers_get_peers (BtCallers *self, const char *app_id)
{
  return g_hash_table_lookup (self->peers, app_id);
}

/*
 * bt_callers_get_audience:
 * @via_portal: whether the object was created through the portal backend
 *
 * Who hears about an object of @app_id (TransferAdded, PropertiesChanged
 * and the others): the app's own connections, and for an object created
 * through the portal backend, the portal frontend's connection too
 * (docs/contract.md "Applications and isolation").
 *
 * Returns: (transfer container) (element-type utf8): unique names, valid
 * until the callers change
 */
GPtrArray *
bt_callers_get_audience (BtCallers *self, const char *app_id, gboolean via_portal)
{
  GPtrArray *peers = g_hash_table_lookup (self->peers, app_id);
  GPtrArray *audience = g_ptr_array_new ();
  gboolean frontend_is_peer = FALSE;

  for (guint i = 0; peers != NULL && i < peers->len; i++)
    {
      g_ptr_array_add (audience, g_ptr_array_index (peers, i));
      frontend_is_peer |= g_strcmp0 (g_ptr_array_index (peers, i), self->frontend) == 0;
    }
  if (via_portal && self->frontend != NULL && !frontend_is_peer)
    g_ptr_array_add (audience, self->frontend);
  return audience;
}

/*
 * bt_callers_set_frontend:
 * @sender: (nullable): a resolved, unsandboxed connection, or %NULL
 *
 * Names the portal frontend's connection (bt-portal.c follows the owner
 * of org.freedesktop.portal.Desktop). It hears about the transfers
 * created through the portal, and being always connected in a desktop
 * session, it does not keep the service from leaving when idle.
 */
void
bt_callers_set_frontend (BtCallers *self, const char *sender)
{
  g_return_if_fail (sender == NULL
                    || (g_hash_table_contains (self->callers, sender)
                        && !bt_callers_is_sandboxed (self, sender)));

  if (g_strcmp0 (self->frontend, sender) == 0)
    return;
  g_free (self->frontend);
  self->frontend = g_strdup (sender);
  g_debug ("Portal frontend: %s", sender != NULL ? sender : "none");
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

/* The connections that keep the service running */
guint
bt_callers_get_n_callers (BtCallers *self)
{
  guint n = g_hash_table_size (self->callers) + g_hash_table_size (self->pending);

  return self->frontend != NULL ? n - 1 : n;
}
