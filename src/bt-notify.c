/* bt-notify.c: desktop notifications when a transfer ends
 *
 * A transfer created with the option `notify` is announced through
 * org.freedesktop.Notifications when it completes or fails (never when
 * the app canceled it), once. The app's own texts are used; for an
 * outcome it gave no title for, the service's own text, in the
 * service's locale (SPEC §8.1 "Translations").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n.h>

#include "bt-notify.h"

/* What the user knows the transfer by: its file's name, else its URI */
static char *
display_name (BtTransfer *transfer)
{
  const char *path = NULL;

  if (bt_transfer_get_kind (transfer) == BT_KIND_DOWNLOAD)
    path = bt_destination_get_path (bt_transfer_get_destination (transfer));
  else if (bt_transfer_get_source (transfer) != NULL)
    path = bt_source_get_path (bt_transfer_get_source (transfer));
  if (path != NULL)
    return g_path_get_basename (path);
  return g_strdup (bt_transfer_get_current_uri (transfer));
}

static void
default_texts (BtTransfer *transfer, gboolean success, char **out_title, char **out_body)
{
  gboolean download = bt_transfer_get_kind (transfer) == BT_KIND_DOWNLOAD;
  g_autofree char *name = display_name (transfer);

  if (success)
    {
      *out_title = g_strdup (download ? _("Download complete") : _("Upload complete"));
      /* TRANSLATORS: %s is a file name */
      *out_body = g_strdup_printf (download ? _("“%s” is ready.") : _("“%s” was sent."), name);
    }
  else
    {
      *out_title = g_strdup (download ? _("Download failed") : _("Upload failed"));
      /* TRANSLATORS: %s is a file name */
      *out_body = g_strdup_printf (download ? _("“%s” could not be downloaded.")
                                            : _("“%s” could not be sent."),
                                   name);
    }
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
  g_autofree char *title = NULL;
  g_autofree char *body = NULL;
  const char *text;
  GVariant *notify = NULL;
  GVariantBuilder hints;

  if (!bt_transfer_take_notification (transfer, &notify) || notify == NULL
      || status == BT_STATUS_CANCELED)
    return;

  default_texts (transfer, success, &title, &body);
  if (g_variant_lookup (notify, success ? "success-title" : "failure-title", "&s", &text))
    {
      g_free (title);
      title = g_strdup (text);
      /* The app's title goes with the app's body, or none */
      g_free (body);
      body = g_strdup ("");
    }
  if (g_variant_lookup (notify, success ? "success-body" : "failure-body", "&s", &text))
    {
      g_free (body);
      body = g_strdup (text);
    }

  g_variant_builder_init (&hints, G_VARIANT_TYPE_VARDICT);
  if (*app_id != '\0')
    g_variant_builder_add (&hints, "{sv}", "desktop-entry", g_variant_new_string (app_id));
  g_dbus_connection_call (
      connection, "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
      "org.freedesktop.Notifications", "Notify",
      g_variant_new ("(susssasa{sv}i)", "bgtransfer", 0, "", title, body, NULL, &hints, -1), NULL,
      G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
}
