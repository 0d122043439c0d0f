/* bt-types.c: the enumerations of the interface and their bus strings
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-types.h"

static const char *const kind_names[] = { "download", "upload" };

static const char *const status_names[] = {
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
G_STATIC_ASSERT (G_N_ELEMENTS (status_names) == BT_STATUS_ERROR + 1);

static const char *const error_status_names[] = {
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
G_STATIC_ASSERT (G_N_ELEMENTS (error_status_names) == BT_ERROR_STATUS_UNKNOWN + 1);

static const char *const priority_names[] = { "low", "default", "high" };
G_STATIC_ASSERT (G_N_ELEMENTS (priority_names) == BT_PRIORITY_HIGH + 1);

static const char *const cost_policy_names[] = { "unrestricted-only", "default", "always" };
G_STATIC_ASSERT (G_N_ELEMENTS (cost_policy_names) == BT_COST_POLICY_ALWAYS + 1);

const char *
bt_kind_to_string (BtKind kind)
{
  g_return_val_if_fail (kind <= BT_KIND_UPLOAD, NULL);
  return kind_names[kind];
}

const char *
bt_status_to_string (BtStatus status)
{
  g_return_val_if_fail (status <= BT_STATUS_ERROR, NULL);
  return status_names[status];
}

const char *
bt_error_status_to_string (BtErrorStatus error_status)
{
  g_return_val_if_fail (error_status <= BT_ERROR_STATUS_UNKNOWN, NULL);
  return error_status_names[error_status];
}

const char *
bt_priority_to_string (BtPriority priority)
{
  g_return_val_if_fail (priority <= BT_PRIORITY_HIGH, NULL);
  return priority_names[priority];
}

const char *
bt_cost_policy_to_string (BtCostPolicy policy)
{
  g_return_val_if_fail (policy <= BT_COST_POLICY_ALWAYS, NULL);
  return cost_policy_names[policy];
}

static gboolean
lookup (const char *const *names, gsize n_names, const char *str, int *out)
{
  for (gsize i = 0; i < n_names; i++)
    {
      if (g_str_equal (names[i], str))
        {
          *out = (int) i;
          return TRUE;
        }
    }
  return FALSE;
}

gboolean
bt_priority_from_string (const char *str, BtPriority *out)
{
  int v;

  if (!lookup (priority_names, G_N_ELEMENTS (priority_names), str, &v))
    return FALSE;
  *out = (BtPriority) v;
  return TRUE;
}

gboolean
bt_cost_policy_from_string (const char *str, BtCostPolicy *out)
{
  int v;

  if (!lookup (cost_policy_names, G_N_ELEMENTS (cost_policy_names), str, &v))
    return FALSE;
  *out = (BtCostPolicy) v;
  return TRUE;
}

gboolean
bt_status_is_finished (BtStatus status)
{
  return status == BT_STATUS_COMPLETED || status == BT_STATUS_CANCELED || status == BT_STATUS_ERROR;
}
