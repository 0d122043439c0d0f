/* bt-types.c: the enumerations of the interface and their bus strings
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-types.h"

#include "bt-names.h"

/* The strings themselves live in common/bt-names.c, shared with
 * libbgtransfer: here they are checked against the service's enumerations */
G_STATIC_ASSERT (BT_N_KIND_NAMES == BT_KIND_UPLOAD + 1);
G_STATIC_ASSERT (BT_N_STATUS_NAMES == BT_STATUS_ERROR + 1);
G_STATIC_ASSERT (BT_N_ERROR_STATUS_NAMES == BT_ERROR_STATUS_UNKNOWN + 1);
G_STATIC_ASSERT (BT_N_PRIORITY_NAMES == BT_PRIORITY_HIGH + 1);
G_STATIC_ASSERT (BT_N_COST_POLICY_NAMES == BT_COST_POLICY_ALWAYS + 1);

const char *
bt_kind_to_string (BtKind kind)
{
  g_return_val_if_fail (kind <= BT_KIND_UPLOAD, NULL);
  return bt_kind_names[kind];
}

const char *
bt_status_to_string (BtStatus status)
{
  g_return_val_if_fail (status <= BT_STATUS_ERROR, NULL);
  return bt_status_names[status];
}

const char *
bt_error_status_to_string (BtErrorStatus error_status)
{
  g_return_val_if_fail (error_status <= BT_ERROR_STATUS_UNKNOWN, NULL);
  return bt_error_status_names[error_status];
}

const char *
bt_priority_to_string (BtPriority priority)
{
  g_return_val_if_fail (priority <= BT_PRIORITY_HIGH, NULL);
  return bt_priority_names[priority];
}

const char *
bt_cost_policy_to_string (BtCostPolicy policy)
{
  g_return_val_if_fail (policy <= BT_COST_POLICY_ALWAYS, NULL);
  return bt_cost_policy_names[policy];
}

gboolean
bt_kind_from_string (const char *str, BtKind *out)
{
  int v = bt_names_lookup (bt_kind_names, BT_N_KIND_NAMES, str);

  if (v < 0)
    return FALSE;
  *out = (BtKind) v;
  return TRUE;
}

gboolean
bt_status_from_string (const char *str, BtStatus *out)
{
  int v = bt_names_lookup (bt_status_names, BT_N_STATUS_NAMES, str);

  if (v < 0)
    return FALSE;
  *out = (BtStatus) v;
  return TRUE;
}

/* "" is NONE; a string this version does not know is UNKNOWN */
BtErrorStatus
bt_error_status_from_string (const char *str)
{
  int v = bt_names_lookup (bt_error_status_names, BT_N_ERROR_STATUS_NAMES, str);

  return v < 0 ? BT_ERROR_STATUS_UNKNOWN : (BtErrorStatus) v;
}

gboolean
bt_priority_from_string (const char *str, BtPriority *out)
{
  int v = bt_names_lookup (bt_priority_names, BT_N_PRIORITY_NAMES, str);

  if (v < 0)
    return FALSE;
  *out = (BtPriority) v;
  return TRUE;
}

gboolean
bt_cost_policy_from_string (const char *str, BtCostPolicy *out)
{
  int v = bt_names_lookup (bt_cost_policy_names, BT_N_COST_POLICY_NAMES, str);

  if (v < 0)
    return FALSE;
  *out = (BtCostPolicy) v;
  return TRUE;
}

gboolean
bt_status_is_finished (BtStatus status)
{
  return status == BT_STATUS_COMPLETED || status == BT_STATUS_CANCELED || status == BT_STATUS_ERROR;
}
