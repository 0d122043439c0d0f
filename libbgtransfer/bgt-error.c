/* bgt-error.c: the error domain of libbgtransfer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <gio/gio.h>

#include "bgtransfer.h"
#include "bgt-private.h"
#include "bt-names.h"

/* The names come from common/bt-names.h, shared with the service; the
 * codes are the indexes of bt_dbus_error_names[] */
static const GDBusErrorEntry bgt_error_entries[] = {
  { BGT_ERROR_FAILED, BT_DBUS_ERROR_FAILED },
  { BGT_ERROR_INVALID_ARGUMENT, BT_DBUS_ERROR_INVALID_ARGUMENT },
  { BGT_ERROR_NOT_FOUND, BT_DBUS_ERROR_NOT_FOUND },
  { BGT_ERROR_ACCESS_DENIED, BT_DBUS_ERROR_ACCESS_DENIED },
  { BGT_ERROR_INVALID_STATE, BT_DBUS_ERROR_INVALID_STATE },
  { BGT_ERROR_QUOTA_EXCEEDED, BT_DBUS_ERROR_QUOTA_EXCEEDED },
  { BGT_ERROR_UNSUPPORTED_SCHEME, BT_DBUS_ERROR_UNSUPPORTED_SCHEME },
  { BGT_ERROR_NOT_SUPPORTED, BT_DBUS_ERROR_NOT_SUPPORTED },
  { BGT_ERROR_SERVICE_UNAVAILABLE, BT_DBUS_ERROR_SERVICE_UNAVAILABLE },
  { BGT_ERROR_TRANSFER_FAILED, BT_DBUS_ERROR_TRANSFER_FAILED },
  { BGT_ERROR_TRANSFER_CANCELED, BT_DBUS_ERROR_TRANSFER_CANCELED },
};

G_STATIC_ASSERT (G_N_ELEMENTS (bgt_error_entries) == BGT_ERROR_TRANSFER_CANCELED + 1);
G_STATIC_ASSERT (BT_N_DBUS_ERROR_NAMES == BGT_ERROR_TRANSFER_CANCELED + 1);

/**
 * bgt_error_quark:
 *
 * The domain of %BGT_ERROR.
 *
 * Returns: the #GQuark of %BGT_ERROR, registered with GDBus so that the
 *   service's errors arrive in this domain
 *
 * Since: 0.1
 */
GQuark
bgt_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("bgt-error-quark", &quark, bgt_error_entries,
                                      G_N_ELEMENTS (bgt_error_entries));
  return (GQuark) quark;
}

/* Every error of a call to the service goes through here: the remote
 * prefix is stripped and the bus's own errors become BGT_ERROR ones. */
GError *
_bgt_error_convert (GError *error)
{
  (void) BGT_ERROR; /* registers the domain */

  /* An error that arrived before the domain was registered carries only
   * the remote name: map it by hand */
  if (error->domain == G_IO_ERROR && error->code == G_IO_ERROR_DBUS_ERROR)
    {
      g_autofree char *name = g_dbus_error_get_remote_error (error);

      int code = bt_names_lookup (bt_dbus_error_names, BT_N_DBUS_ERROR_NAMES, name);

      if (code >= 0)
        {
          error->domain = BGT_ERROR;
          error->code = code;
        }
      if (name != NULL && error->domain == G_IO_ERROR
          && g_str_equal (name, "org.freedesktop.DBus.Error.NotSupported"))
        {
          error->domain = G_DBUS_ERROR;
          error->code = G_DBUS_ERROR_NOT_SUPPORTED;
        }
    }
  if (g_dbus_error_is_remote_error (error))
    g_dbus_error_strip_remote_error (error);

  if (error->domain == G_DBUS_ERROR)
    {
      BgtError code;

      switch (error->code)
        {
          case G_DBUS_ERROR_SERVICE_UNKNOWN:
          case G_DBUS_ERROR_NAME_HAS_NO_OWNER:
          case G_DBUS_ERROR_NO_REPLY:
          case G_DBUS_ERROR_DISCONNECTED:
          case G_DBUS_ERROR_NO_SERVER:
          case G_DBUS_ERROR_TIMEOUT:
          case G_DBUS_ERROR_TIMED_OUT:
          case G_DBUS_ERROR_SPAWN_EXEC_FAILED:
          case G_DBUS_ERROR_SPAWN_FORK_FAILED:
          case G_DBUS_ERROR_SPAWN_CHILD_EXITED:
          case G_DBUS_ERROR_SPAWN_CHILD_SIGNALED:
          case G_DBUS_ERROR_SPAWN_FAILED:
          case G_DBUS_ERROR_SPAWN_SETUP_FAILED:
          case G_DBUS_ERROR_SPAWN_CONFIG_INVALID:
          case G_DBUS_ERROR_SPAWN_SERVICE_INVALID:
          case G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND:
          case G_DBUS_ERROR_SPAWN_PERMISSIONS_INVALID:
          case G_DBUS_ERROR_SPAWN_FILE_INVALID:
          case G_DBUS_ERROR_SPAWN_NO_MEMORY:
            code = BGT_ERROR_SERVICE_UNAVAILABLE;
            break;
          case G_DBUS_ERROR_NOT_SUPPORTED:
            code = BGT_ERROR_NOT_SUPPORTED;
            break;
          case G_DBUS_ERROR_UNKNOWN_OBJECT:
          case G_DBUS_ERROR_UNKNOWN_METHOD:
          case G_DBUS_ERROR_UNKNOWN_INTERFACE:
            code = BGT_ERROR_NOT_FOUND;
            break;
          case G_DBUS_ERROR_ACCESS_DENIED:
            code = BGT_ERROR_ACCESS_DENIED;
            break;
          case G_DBUS_ERROR_INVALID_ARGS:
            code = BGT_ERROR_INVALID_ARGUMENT;
            break;
          default:
            code = BGT_ERROR_FAILED;
            break;
        }
      error->domain = BGT_ERROR;
      error->code = code;
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
    {
      error->domain = BGT_ERROR;
      error->code = BGT_ERROR_SERVICE_UNAVAILABLE;
    }
  return error;
}
