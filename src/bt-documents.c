/* bt-documents.c: files of xdg-desktop-portal's document portal
 *
 * A Flatpak app gets the user's files from the FileChooser portal as
 * documents: $XDG_RUNTIME_DIR/doc/<doc-id>/<name> on the document portal's
 * FUSE file system (seen as /run/flatpak/doc/… or through by-app/<app>/ from
 * inside a sandbox). That file system numbers its files itself, and the
 * numbers change when it is mounted again (a logout): a descriptor's
 * device and inode there do not name the file for long. What lasts is the
 * document and the host file behind it. So for a descriptor on the
 * document portal the service records the document id and the host file,
 * whose path it learns from the file's extended attribute
 * user.document-portal.host-path (xdg-desktop-portal ≥ 1.19, read on the
 * descriptor) or else from the document portal's
 * org.freedesktop.portal.Documents.Info (every version; the service runs
 * outside the sandbox, where that call is allowed), and opens that host
 * file again after a restart (bt-fd-identity.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/xattr.h>

#include "bt-documents.h"
#include "bt-error.h"
#include "bt-names.h"

#define HOST_PATH_XATTR "user.document-portal.host-path"
#define INFO_TIMEOUT_MS 10000

static gboolean
is_plain_component (const char *part)
{
  return *part != '\0' && !g_str_equal (part, ".") && !g_str_equal (part, "..");
}

/*
 * bt_document_path_parse:
 * @path: an absolute path
 * @mount: where the document portal is mounted, without a trailing slash
 *
 * Whether @path is a file of the document portal under @mount:
 * <mount>/<doc-id>/<rest> or <mount>/by-app/<app-id>/<doc-id>/<rest>, where
 * <rest> is the document's file name (and, for an exported folder, the
 * path inside it).
 */
gboolean
bt_document_path_parse (const char *path, const char *mount, char **out_doc_id, char **out_rest)
{
  g_auto (GStrv) parts = NULL;
  gsize len = strlen (mount);
  guint first, n;

  if (len == 0 || strncmp (path, mount, len) != 0 || path[len] != '/')
    return FALSE;
  parts = g_strsplit (path + len + 1, "/", -1);
  n = g_strv_length (parts);
  first = n >= 3 && g_str_equal (parts[0], "by-app") ? 2 : 0;
  if (first == 2 && !is_plain_component (parts[1]))
    return FALSE;
  /* The document id, then at least a file name */
  if (n < first + 2 || !is_plain_component (parts[first]) || g_str_equal (parts[first], "by-app"))
    return FALSE;
  for (guint i = first + 1; i < n; i++)
    {
      if (!is_plain_component (parts[i]))
        return FALSE;
    }
  *out_doc_id = g_strdup (parts[first]);
  *out_rest = g_strjoinv ("/", parts + first + 1);
  return TRUE;
}

/* Under the document portal's usual mount points: $XDG_RUNTIME_DIR/doc
 * (the host's view) and /run/flatpak/doc (a sandbox's) */
gboolean
bt_document_path_parse_default (const char *path, char **out_doc_id, char **out_rest)
{
  g_autofree char *mount = g_build_filename (g_get_user_runtime_dir (), "doc", NULL);

  return bt_document_path_parse (path, mount, out_doc_id, out_rest)
         || bt_document_path_parse (path, "/run/flatpak/doc", out_doc_id, out_rest);
}

/*
 * bt_document_read_host_path:
 *
 * Returns: (nullable): the host path of the document portal's file open
 * at @fd, from its user.document-portal.host-path attribute; %NULL where
 * the document portal does not give it (before 1.19)
 */
char *
bt_document_read_host_path (int fd)
{
  char buffer[4097];
  ssize_t n = fgetxattr (fd, HOST_PATH_XATTR, buffer, sizeof buffer - 1);

  if (n <= 0)
    return NULL;
  buffer[n] = '\0';
  if (strlen (buffer) != (gsize) n || !g_path_is_absolute (buffer))
    return NULL;
  return g_strdup (buffer);
}

/*
 * bt_document_host_file:
 * @document_host_path: the document's path on the host, as Info gives it
 * @rest: the part of the file's path after the document id
 *
 * The document's entry <doc-id>/<name> is the host path itself (<name> is
 * its last component); for an exported folder the path goes on inside it.
 *
 * Returns: (nullable): the host path of the file, or %NULL if the document
 * does not stand for a file of that name (any more)
 */
char *
bt_document_host_file (const char *document_host_path, const char *rest)
{
  g_autofree char *name = g_path_get_basename (document_host_path);
  const char *slash = strchr (rest, '/');
  gsize len = slash != NULL ? (gsize) (slash - rest) : strlen (rest);

  if (strlen (name) != len || strncmp (name, rest, len) != 0)
    return NULL;
  return slash != NULL ? g_build_filename (document_host_path, slash + 1, NULL)
                       : g_strdup (document_host_path);
}

static void
on_info (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) path = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  path = g_variant_get_child_value (reply, 0);
  if (g_variant_get_size (path) == 0 || !g_path_is_absolute (g_variant_get_bytestring (path)))
    {
      g_task_return_new_error (task, BT_ERROR, BT_ERROR_FAILED,
                               "The document portal gave no host path for the document");
      return;
    }
  g_task_return_pointer (task, g_variant_ref_sink (reply), (GDestroyNotify) g_variant_unref);
}

/*
 * bt_document_info_async:
 *
 * Asks the document portal (org.freedesktop.portal.Documents.Info) where
 * a document is on the host and which apps may use it.
 */
void
bt_document_info_async (GDBusConnection *connection, const char *doc_id, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (connection, cancellable, callback, user_data);

  g_task_set_source_tag (task, bt_document_info_async);
  g_dbus_connection_call (connection, BT_DOCUMENTS_NAME, BT_DOCUMENTS_PATH, BT_DOCUMENTS_INTERFACE,
                          "Info", g_variant_new ("(s)", doc_id), G_VARIANT_TYPE ("(aya{sas})"),
                          G_DBUS_CALL_FLAGS_NONE, INFO_TIMEOUT_MS, cancellable, on_info,
                          g_steal_pointer (&task));
}

/* Whether @error says that the document portal did not answer at all, as
 * opposed to an answer about the document */
gboolean
bt_document_portal_unreachable (const GError *error)
{
  return error->domain == G_DBUS_ERROR
         && (error->code == G_DBUS_ERROR_SERVICE_UNKNOWN
             || error->code == G_DBUS_ERROR_NAME_HAS_NO_OWNER
             || error->code == G_DBUS_ERROR_NO_REPLY || error->code == G_DBUS_ERROR_TIMEOUT
             || error->code == G_DBUS_ERROR_TIMED_OUT || error->code == G_DBUS_ERROR_DISCONNECTED
             || (error->code >= G_DBUS_ERROR_SPAWN_EXEC_FAILED
                 && error->code <= G_DBUS_ERROR_SPAWN_FAILED));
}

/* Whether the apps of a document (a{sas}, from Info) give @app_id
 * @permission ("read", "write") */
gboolean
bt_document_app_may (GVariant *apps, const char *app_id, const char *permission)
{
  g_autofree const char **granted = NULL;

  if (apps == NULL || !g_variant_lookup (apps, app_id, "^a&s", &granted))
    return FALSE;
  return g_strv_contains (granted, permission);
}

/*
 * bt_document_info_finish:
 * @out_apps: (out) (optional): the apps and their permissions ("read",
 *   "write", …), as a{sas}
 *
 * Returns: the document's path on the host, or %NULL with @error set: the
 * D-Bus error of the call (see bt_document_portal_unreachable())
 */
char *
bt_document_info_finish (GAsyncResult *result, GVariant **out_apps, GError **error)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) path = NULL;

  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bt_document_info_async, NULL);

  reply = g_task_propagate_pointer (G_TASK (result), error);
  if (reply == NULL)
    return NULL;
  path = g_variant_get_child_value (reply, 0);
  if (out_apps != NULL)
    *out_apps = g_variant_get_child_value (reply, 1);
  return g_strdup (g_variant_get_bytestring (path));
}
