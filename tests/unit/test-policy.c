/* Unit tests of the cost-policy matrix and the power rules (docs/contract.md)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-policy.h"

static void
test_matrix (void)
{
  /* Exactly the table of docs/contract.md: rows are network states, columns
   * unrestricted-only, default, always. */
  static const struct
  {
    BtNetworkState state;
    gboolean allows[3];
  } rows[] = {
    { BT_NETWORK_UNRESTRICTED, { TRUE, TRUE, TRUE } },
    { BT_NETWORK_METERED, { FALSE, TRUE, TRUE } },
    { BT_NETWORK_METERED_OVER_LIMIT, { FALSE, FALSE, TRUE } },
    { BT_NETWORK_ROAMING, { FALSE, FALSE, TRUE } },
    { BT_NETWORK_BACKGROUND_RESTRICTED, { FALSE, FALSE, FALSE } },
  };
  static const BtCostPolicy columns[]
      = { BT_COST_POLICY_UNRESTRICTED_ONLY, BT_COST_POLICY_DEFAULT, BT_COST_POLICY_ALWAYS };

  for (gsize r = 0; r < G_N_ELEMENTS (rows); r++)
    for (gsize c = 0; c < G_N_ELEMENTS (columns); c++)
      {
        g_test_message ("%s × %s", bt_network_state_to_string (rows[r].state),
                        bt_cost_policy_to_string (columns[c]));
        g_assert_cmpint (bt_cost_policy_allows (rows[r].state, columns[c]), ==, rows[r].allows[c]);
      }
}

static void
test_network_state (void)
{
  /* available, metered, roaming, over limit, restricted */
  g_assert_cmpint (bt_network_state_compute (FALSE, TRUE, TRUE, TRUE, TRUE), ==,
                   BT_NETWORK_OFFLINE);
  g_assert_cmpint (bt_network_state_compute (TRUE, FALSE, FALSE, FALSE, FALSE), ==,
                   BT_NETWORK_UNRESTRICTED);
  g_assert_cmpint (bt_network_state_compute (TRUE, TRUE, FALSE, FALSE, FALSE), ==,
                   BT_NETWORK_METERED);
  g_assert_cmpint (bt_network_state_compute (TRUE, TRUE, FALSE, TRUE, FALSE), ==,
                   BT_NETWORK_METERED_OVER_LIMIT);
  /* the budget counts only while metered */
  g_assert_cmpint (bt_network_state_compute (TRUE, FALSE, FALSE, TRUE, FALSE), ==,
                   BT_NETWORK_UNRESTRICTED);
  g_assert_cmpint (bt_network_state_compute (TRUE, TRUE, TRUE, FALSE, FALSE), ==,
                   BT_NETWORK_ROAMING);
  g_assert_cmpint (bt_network_state_compute (TRUE, FALSE, TRUE, FALSE, TRUE), ==,
                   BT_NETWORK_BACKGROUND_RESTRICTED);
}

static void
test_power (void)
{
  /* power saver, on battery, percentage, warning level, threshold */
  g_assert_cmpint (bt_power_state_compute (FALSE, FALSE, 5.0, 0, 10), ==, BT_POWER_NORMAL);
  g_assert_cmpint (bt_power_state_compute (FALSE, TRUE, 50.0, 1, 10), ==, BT_POWER_NORMAL);
  g_assert_cmpint (bt_power_state_compute (FALSE, TRUE, 10.0, 1, 10), ==, BT_POWER_BATTERY_LOW);
  g_assert_cmpint (bt_power_state_compute (FALSE, TRUE, 9.5, 1, 10), ==, BT_POWER_BATTERY_LOW);
  g_assert_cmpint (bt_power_state_compute (FALSE, TRUE, 40.0, BT_UPOWER_WARNING_LOW, 10), ==,
                   BT_POWER_BATTERY_LOW);
  g_assert_cmpint (bt_power_state_compute (TRUE, FALSE, 100.0, 0, 10), ==, BT_POWER_SAVER);
  g_assert_cmpint (bt_power_state_compute (TRUE, TRUE, 5.0, 0, 10), ==, BT_POWER_BATTERY_LOW);

  for (BtPowerState state = BT_POWER_NORMAL; state <= BT_POWER_BATTERY_LOW; state++)
    {
      g_assert_true (bt_power_policy_allows (state, BT_PRIORITY_HIGH));
      g_assert_cmpint (bt_power_policy_allows (state, BT_PRIORITY_DEFAULT), ==,
                       state == BT_POWER_NORMAL);
      g_assert_cmpint (bt_power_policy_allows (state, BT_PRIORITY_LOW), ==,
                       state == BT_POWER_NORMAL);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/policy/cost-matrix", test_matrix);
  g_test_add_func ("/policy/network-state", test_network_state);
  g_test_add_func ("/policy/power", test_power);

  return g_test_run ();
}
