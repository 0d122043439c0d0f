/* bt-policy.h: the cost-policy matrix and the power rules
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "bt-types.h"

G_BEGIN_DECLS

typedef enum
{
  BT_NETWORK_UNRESTRICTED,
  BT_NETWORK_METERED,
  BT_NETWORK_METERED_OVER_LIMIT,
  BT_NETWORK_ROAMING,
  BT_NETWORK_BACKGROUND_RESTRICTED,
  BT_NETWORK_OFFLINE,
} BtNetworkState;

typedef enum
{
  BT_POWER_NORMAL,
  BT_POWER_SAVER,
  BT_POWER_BATTERY_LOW,
} BtPowerState;

/* UPower's WarningLevel values */
#define BT_UPOWER_WARNING_LOW 3

const char *bt_network_state_to_string (BtNetworkState state);
const char *bt_power_state_to_string (BtPowerState state);

/* Pure decisions, unit-tested */
BtNetworkState bt_network_state_compute (gboolean available, gboolean metered, gboolean roaming,
                                         gboolean over_limit, gboolean background_restricted);
BtPowerState bt_power_state_compute (gboolean power_saver, gboolean on_battery, double percentage,
                                     guint warning_level, guint low_percentage);
gboolean bt_cost_policy_allows (BtNetworkState state, BtCostPolicy policy);
gboolean bt_power_policy_allows (BtPowerState state, BtPriority priority);

#define BT_TYPE_POLICY (bt_policy_get_type ())
G_DECLARE_FINAL_TYPE (BtPolicy, bt_policy, BT, POLICY, GObject)

BtPolicy *bt_policy_new (GSettings *settings, const char *state_dir);
BtNetworkState bt_policy_get_network_state (BtPolicy *self);
BtPowerState bt_policy_get_power_state (BtPolicy *self);
gboolean bt_policy_is_offline_for (BtPolicy *self, const char *uri);
void bt_policy_account (BtPolicy *self, guint64 bytes);
void bt_policy_save (BtPolicy *self);

G_END_DECLS
