/* bt-error.c: the service's error domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-error.h"

#include "bt-names.h"

/* The names come from common/bt-names.h, shared with libbgtransfer */
static const GDBusErrorEntry bt_error_entries[] = {
  { BT_ERROR_FAILED, BT_DBUS_ERROR_FAILED },
  { BT_ERROR_INVALID_ARGUMENT, BT_DBUS_ERROR_INVALID_ARGUMENT },
  { BT_ERROR_NOT_FOUND, BT_DBUS_ERROR_NOT_FOUND },
  { BT_ERROR_ACCESS_DENIED, BT_DBUS_ERROR_ACCESS_DENIED },
  { BT_ERROR_INVALID_STATE, BT_DBUS_ERROR_INVALID_STATE },
  { BT_ERROR_QUOTA_EXCEEDED, BT_DBUS_ERROR_QUOTA_EXCEEDED },
  { BT_ERROR_UNSUPPORTED_SCHEME, BT_DBUS_ERROR_UNSUPPORTED_SCHEME },
};

/* BT_ERROR_NOT_SUPPORTED leaves as the standard
 * org.freedesktop.DBus.Error.NotSupported, which belongs to G_DBUS_ERROR:
 * registering it again would fail */
G_STATIC_ASSERT (G_N_ELEMENTS (bt_error_entries) == BT_ERROR_NOT_SUPPORTED);
/* The codes are those of bt_dbus_error_names[] (and BgtError) */
G_STATIC_ASSERT (BT_ERROR_NOT_SUPPORTED < BT_N_DBUS_ERROR_NAMES);

GQuark
bt_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("bt-service-error-quark", &quark, bt_error_entries,
                                      G_N_ELEMENTS (bt_error_entries));
  return (GQuark) quark;
}

/* Every error leaves the service through here: errors of other domains are
 * internal and must not leak their D-Bus mapping (or lack of it). */
void
bt_invocation_return_error (GDBusMethodInvocation *invocation, const GError *error)
{
  if (g_error_matches (error, BT_ERROR, BT_ERROR_NOT_SUPPORTED))
    {
      g_dbus_method_invocation_return_error_literal (invocation, G_DBUS_ERROR,
                                                     G_DBUS_ERROR_NOT_SUPPORTED, error->message);
      return;
    }
  if (error->domain == BT_ERROR)
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }

  g_dbus_method_invocation_return_error (invocation, BT_ERROR, BT_ERROR_FAILED, "%s",
                                         error->message);
}
