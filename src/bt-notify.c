/* bt-notify.c: desktop notifications when a transfer ends
 *
 * A transfer created with the option `notify` is announced through
 * org.freedesktop.Notifications when it completes or fails (never when
 * the app canceled it), once. The app's own texts are used; for an
 * outcome it gave no title for, the service's own text, in the
 * service's locale (docs/contract.md "Creating transfers"), naming the file and, on
 * failure, the reason in words.
 *
 * A completed download into a file the service knows by its path offers
 * the actions "Open" (the file's default application) and "Show in
 * Files" (org.freedesktop.FileManager1.ShowItems). The service listens
 * for ActionInvoked and NotificationClosed only for the notifications it
 * sent with actions, and forgets each once it is closed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "bt-descriptions.h"
#include "bt-notify.h"

#define NOTIFICATIONS_NAME "org.freedesktop.Notifications"
#define NOTIFICATIONS_PATH "/org/freedesktop/Notifications"
#define NOTIFICATIONS_IFACE "org.freedesktop.Notifications"
#define FILE_MANAGER_NAME "org.freedesktop.FileManager1"
#define FILE_MANAGER_PATH "/org/freedesktop/FileManager1"
#define FILE_MANAGER_IFACE "org.freedesktop.FileManager1"

#define ACTION_OPEN "open"
#define ACTION_SHOW_IN_FILES "show-in-files"

/* The notifications with actions shown on one bus connection */
typedef struct
{
  GDBusConnection *connection; /* not owned: we live in its data */
  guint subscription_id;
  GHashTable *files; /* notification id → URI of the file */
} Notifier;

static void
notifier_free (Notifier *notifier)
{
  if (notifier->subscription_id != 0)
    g_dbus_connection_signal_unsubscribe (notifier->connection, notifier->subscription_id);
  g_hash_table_unref (notifier->files);
  g_free (notifier);
}

static void
on_launched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *uri = user_data;

  if (!g_app_info_launch_default_for_uri_finish (result, &error))
    g_message ("Cannot open %s: %s", uri, error->message);
}

static void
on_shown (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  g_autofree char *uri = user_data;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    g_message ("Cannot show %s in the file manager: %s", uri, error->message);
}

static void
on_notification_signal (GDBusConnection *connection, const char *sender, const char *path,
                        const char *interface, const char *signal, GVariant *parameters,
                        gpointer user_data)
{
  Notifier *notifier = user_data;
  const char *uri, *action;
  guint32 id, reason;

  if (g_str_equal (signal, "NotificationClosed")
      && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(uu)")))
    {
      g_variant_get (parameters, "(uu)", &id, &reason);
      g_hash_table_remove (notifier->files, GUINT_TO_POINTER (id));
      return;
    }
  if (!g_str_equal (signal, "ActionInvoked")
      || !g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(us)")))
    return;
  g_variant_get (parameters, "(u&s)", &id, &action);
  uri = g_hash_table_lookup (notifier->files, GUINT_TO_POINTER (id));
  if (uri == NULL)
    return; /* not ours, or closed already */

  if (g_str_equal (action, ACTION_OPEN))
    g_app_info_launch_default_for_uri_async (uri, NULL, NULL, on_launched, g_strdup (uri));
  else if (g_str_equal (action, ACTION_SHOW_IN_FILES))
    {
      const char *uris[] = { uri, NULL };

      g_dbus_connection_call (connection, FILE_MANAGER_NAME, FILE_MANAGER_PATH, FILE_MANAGER_IFACE,
                              "ShowItems", g_variant_new ("(^ass)", uris, ""), NULL,
                              G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_shown, g_strdup (uri));
    }
}

static Notifier *
notifier_get (GDBusConnection *connection)
{
  Notifier *notifier = g_object_get_data (G_OBJECT (connection), "bt-notifier");

  if (notifier != NULL)
    return notifier;
  notifier = g_new0 (Notifier, 1);
  notifier->connection = connection;
  notifier->files = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  /* Subscribed before the first Notify, so that no answer is missed */
  notifier->subscription_id = g_dbus_connection_signal_subscribe (
      connection, NOTIFICATIONS_NAME, NOTIFICATIONS_IFACE, NULL, NOTIFICATIONS_PATH, NULL,
      G_DBUS_SIGNAL_FLAGS_NONE, on_notification_signal, notifier, NULL);
  g_object_set_data_full (G_OBJECT (connection), "bt-notifier", notifier,
                          (GDestroyNotify) notifier_free);
  return notifier;
}

typedef struct
{
  GDBusConnection *connection;
  char *file_uri; /* for the actions, or NULL */
} NotifyData;

static void
notify_data_free (NotifyData *data)
{
  g_object_unref (data->connection);
  g_free (data->file_uri);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NotifyData, notify_data_free)

static void
on_notified (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (NotifyData) data = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply = NULL;
  guint32 id;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_debug ("No notification: %s", error->message);
      return;
    }
  if (data->file_uri == NULL)
    return;
  g_variant_get (reply, "(u)", &id);
  g_hash_table_replace (notifier_get (data->connection)->files, GUINT_TO_POINTER (id),
                        g_steal_pointer (&data->file_uri));
}

/* The path of the file the user knows the transfer by, if any */
static const char *
file_path (BtTransfer *transfer)
{
  if (bt_transfer_get_kind (transfer) == BT_KIND_DOWNLOAD)
    return bt_destination_get_path (bt_transfer_get_destination (transfer));
  if (bt_transfer_get_source (transfer) != NULL)
    return bt_source_get_path (bt_transfer_get_source (transfer));
  return NULL;
}

/* What the user knows the transfer by: its file's name, else its URI */
static char *
display_name (BtTransfer *transfer)
{
  const char *path = file_path (transfer);

  if (path != NULL)
    return g_filename_display_basename (path);
  return g_strdup (bt_transfer_get_current_uri (transfer));
}

static char *
default_title (BtTransfer *transfer, gboolean success)
{
  gboolean download = bt_transfer_get_kind (transfer) == BT_KIND_DOWNLOAD;

  if (success)
    return g_strdup (download ? _ ("Download complete") : _ ("Upload complete"));
  return g_strdup (download ? _ ("Download failed") : _ ("Upload failed"));
}

static char *
default_body (BtTransfer *transfer, gboolean success)
{
  gboolean download = bt_transfer_get_kind (transfer) == BT_KIND_DOWNLOAD;
  g_autofree char *name = display_name (transfer);
  const char *reason;

  if (success)
    /* TRANSLATORS: %s is a file name */
    return g_strdup_printf (download ? _ ("“%s” is ready.") : _ ("“%s” was sent."), name);

  reason = bt_error_status_description (bt_transfer_get_error_status (transfer));
  if (bt_transfer_get_error_status (transfer) == BT_ERROR_STATUS_NONE || reason == NULL)
    reason = bt_error_status_description (BT_ERROR_STATUS_UNKNOWN);
  /* TRANSLATORS: %s is a file name, then the reason, such as "The disk is full" */
  return g_strdup_printf (download ? _ ("“%s” could not be downloaded: %s.")
                                   : _ ("“%s” could not be sent: %s."),
                          name, g_dgettext (GETTEXT_PACKAGE, reason));
}

/*
 * bt_notify_transfer_ended:
 *
 * Shows the notification of a finished transfer, if the app asked for one
 * and it was not shown yet.
 */
void
bt_notify_transfer_ended (GDBusConnection *connection, BtTransfer *transfer)
{
  BtStatus status = bt_transfer_get_status (transfer);
  gboolean success = status == BT_STATUS_COMPLETED;
  const char *app_id = bt_transfer_get_app_id (transfer);
  const char *path = file_path (transfer);
  g_autofree char *title = NULL;
  g_autofree char *body = NULL;
  const char *text;
  GVariant *notify = NULL; /* not ours */
  GVariantBuilder actions, hints;
  NotifyData *data;

  if (!bt_transfer_take_notification (transfer, &notify) || notify == NULL
      || status == BT_STATUS_CANCELED)
    return;

  if (g_variant_lookup (notify, success ? "success-title" : "failure-title", "s", &title))
    {
      /* The app's title goes with the app's body, or none */
      if (!g_variant_lookup (notify, success ? "success-body" : "failure-body", "s", &body))
        body = g_strdup ("");
    }
  else
    {
      title = default_title (transfer, success);
      if (g_variant_lookup (notify, success ? "success-body" : "failure-body", "&s", &text))
        body = g_strdup (text);
      else
        body = default_body (transfer, success);
    }

  data = g_new0 (NotifyData, 1);
  data->connection = g_object_ref (connection);
  g_variant_builder_init (&actions, G_VARIANT_TYPE_STRING_ARRAY);
  if (success && bt_transfer_get_kind (transfer) == BT_KIND_DOWNLOAD && path != NULL)
    {
      data->file_uri = g_filename_to_uri (path, NULL, NULL);
      g_variant_builder_add (&actions, "s", ACTION_OPEN);
      /* TRANSLATORS: a button of the notification of a completed download */
      g_variant_builder_add (&actions, "s", _ ("Open"));
      g_variant_builder_add (&actions, "s", ACTION_SHOW_IN_FILES);
      /* TRANSLATORS: a button: shows the downloaded file in the file manager */
      g_variant_builder_add (&actions, "s", _ ("Show in Files"));
      notifier_get (connection);
    }
  g_variant_builder_init (&hints, G_VARIANT_TYPE_VARDICT);
  if (*app_id != '\0')
    g_variant_builder_add (&hints, "{sv}", "desktop-entry", g_variant_new_string (app_id));
  g_dbus_connection_call (
      connection, NOTIFICATIONS_NAME, NOTIFICATIONS_PATH, NOTIFICATIONS_IFACE, "Notify",
      g_variant_new ("(susssasa{sv}i)", "bgtransfer", 0, "", title, body, &actions, &hints, -1),
      G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_notified, data);
}
