/* bt-names.c: the strings of the D-Bus interface
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-names.h"

const char *const bt_kind_names[] = { "download", "upload" };
G_STATIC_ASSERT (G_N_ELEMENTS (bt_kind_names) == BT_N_KIND_NAMES);

const char *const bt_status_names[] = {
  "idle",
  "running",
  "paused-by-application",
  "paused-costed-network",
  "paused-no-network",
  "paused-system-policy",
  "paused-recoverable-error",
  "completed",
  "canceled",
  "error",
};
G_STATIC_ASSERT (G_N_ELEMENTS (bt_status_names) == BT_N_STATUS_NAMES);

const char *const bt_error_status_names[] = {
  "",
  "host-name-not-resolved",
  "cannot-connect",
  "timeout",
  "connection-reset",
  "certificate-invalid",
  "unauthorized",
  "proxy-authentication-required",
  "forbidden",
  "not-found",
  "gone",
  "requested-range-not-satisfiable",
  "server-error",
  "service-unavailable",
  "too-many-redirects",
  "insecure-redirect",
  "resource-changed",
  "checksum-mismatch",
  "disk-full",
  "destination-unwritable",
  "protocol-error",
  "unknown",
};
G_STATIC_ASSERT (G_N_ELEMENTS (bt_error_status_names) == BT_N_ERROR_STATUS_NAMES);

const char *const bt_priority_names[] = { "low", "default", "high" };
G_STATIC_ASSERT (G_N_ELEMENTS (bt_priority_names) == BT_N_PRIORITY_NAMES);

const char *const bt_cost_policy_names[] = { "unrestricted-only", "default", "always" };
G_STATIC_ASSERT (G_N_ELEMENTS (bt_cost_policy_names) == BT_N_COST_POLICY_NAMES);

const char *const bt_network_state_names[] = {
  "unrestricted", "metered", "metered-over-limit", "roaming", "background-restricted", "offline",
};
G_STATIC_ASSERT (G_N_ELEMENTS (bt_network_state_names) == BT_N_NETWORK_STATE_NAMES);

const char *const bt_power_state_names[] = { "normal", "power-saver", "battery-low" };
G_STATIC_ASSERT (G_N_ELEMENTS (bt_power_state_names) == BT_N_POWER_STATE_NAMES);

const char *const bt_transfer_behavior_names[] = { "parallel", "serialized" };
G_STATIC_ASSERT (G_N_ELEMENTS (bt_transfer_behavior_names) == BT_N_TRANSFER_BEHAVIOR_NAMES);

const char *const bt_if_changed_names[] = { "restart", "fail" };
G_STATIC_ASSERT (G_N_ELEMENTS (bt_if_changed_names) == BT_N_IF_CHANGED_NAMES);

const char *const bt_dbus_error_names[] = {
  BT_DBUS_ERROR_FAILED,
  BT_DBUS_ERROR_INVALID_ARGUMENT,
  BT_DBUS_ERROR_NOT_FOUND,
  BT_DBUS_ERROR_ACCESS_DENIED,
  BT_DBUS_ERROR_INVALID_STATE,
  BT_DBUS_ERROR_QUOTA_EXCEEDED,
  BT_DBUS_ERROR_UNSUPPORTED_SCHEME,
  BT_DBUS_ERROR_NOT_SUPPORTED,
  BT_DBUS_ERROR_SERVICE_UNAVAILABLE,
  BT_DBUS_ERROR_TRANSFER_FAILED,
  BT_DBUS_ERROR_TRANSFER_CANCELED,
};
G_STATIC_ASSERT (G_N_ELEMENTS (bt_dbus_error_names) == BT_N_DBUS_ERROR_NAMES);

/**
 * bt_names_lookup:
 * @names: one of the tables above
 * @n: its length
 * @str: (nullable): a string from the bus
 *
 * Returns: the index of @str in @names, which is the value of the matching
 *   enumeration, or -1 if it is not there
 */
int
bt_names_lookup (const char *const *names, gsize n, const char *str)
{
  g_return_val_if_fail (names != NULL, -1);

  if (str == NULL)
    return -1;
  for (gsize i = 0; i < n; i++)
    if (g_str_equal (names[i], str))
      return (int) i;
  return -1;
}
