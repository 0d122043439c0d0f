/* bgt-enums.c: helpers for the enumerations of libbgtransfer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "bgtransfer.h"
#include "bgt-private.h"
#include "bt-descriptions.h"
#include "bt-names.h"

/* The library's texts are in the "bgtransfer" domain, whatever the
 * application's own. Bound when the library is loaded, so that a program
 * that binds the domain elsewhere (the CLI run from the build tree) does
 * so after, and wins. */
__attribute__ ((constructor)) static void
bgt_i18n_init (void)
{
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
}

/**
 * bgt_status_is_finished:
 * @status: a #BgtStatus
 *
 * Tells whether a transfer in @status has ended.
 *
 * Returns: whether @status is an end: completed, canceled or error
 *
 * Since: 0.1
 */
gboolean
bgt_status_is_finished (BgtStatus status)
{
  return status == BGT_STATUS_COMPLETED || status == BGT_STATUS_CANCELED
         || status == BGT_STATUS_ERROR;
}

/**
 * bgt_status_is_paused:
 * @status: a #BgtStatus
 *
 * Tells whether a transfer in @status waits (for the app, the network,
 * the power policy or a retry).
 *
 * Returns: whether @status is one of the paused-… statuses
 *
 * Since: 0.1
 */
gboolean
bgt_status_is_paused (BgtStatus status)
{
  return status >= BGT_STATUS_PAUSED_BY_APPLICATION
         && status <= BGT_STATUS_PAUSED_RECOVERABLE_ERROR;
}

/* The bus strings come from common/bt-names.c, shared with the service,
 * whose tables are indexed by the same values as these enumerations.
 * tests/unit/test-names.c checks that the nicks of the GTypes (what GI
 * users see) are these strings too. */
G_STATIC_ASSERT (BT_N_KIND_NAMES == BGT_TRANSFER_KIND_UPLOAD + 1);
G_STATIC_ASSERT (BT_N_STATUS_NAMES == BGT_STATUS_ERROR + 1);
G_STATIC_ASSERT (BT_N_ERROR_STATUS_NAMES == BGT_ERROR_STATUS_UNKNOWN + 1);
G_STATIC_ASSERT (BT_N_PRIORITY_NAMES == BGT_PRIORITY_HIGH + 1);
G_STATIC_ASSERT (BT_N_COST_POLICY_NAMES == BGT_COST_POLICY_ALWAYS + 1);
G_STATIC_ASSERT (BT_N_NETWORK_STATE_NAMES == BGT_NETWORK_STATE_OFFLINE + 1);
G_STATIC_ASSERT (BT_N_POWER_STATE_NAMES == BGT_POWER_STATE_BATTERY_LOW + 1);
G_STATIC_ASSERT (BT_N_TRANSFER_BEHAVIOR_NAMES == BGT_TRANSFER_BEHAVIOR_SERIALIZED + 1);
G_STATIC_ASSERT (BT_N_IF_CHANGED_NAMES == BGT_IF_CHANGED_FAIL + 1);

static gboolean
names_of_type (GType type, const char *const **names, gsize *n_names)
{
#define NAMES(table, n) (*names = (table), *n_names = (n), TRUE)
  if (type == BGT_TYPE_TRANSFER_KIND)
    return NAMES (bt_kind_names, BT_N_KIND_NAMES);
  if (type == BGT_TYPE_STATUS)
    return NAMES (bt_status_names, BT_N_STATUS_NAMES);
  if (type == BGT_TYPE_ERROR_STATUS)
    return NAMES (bt_error_status_names, BT_N_ERROR_STATUS_NAMES);
  if (type == BGT_TYPE_PRIORITY)
    return NAMES (bt_priority_names, BT_N_PRIORITY_NAMES);
  if (type == BGT_TYPE_COST_POLICY)
    return NAMES (bt_cost_policy_names, BT_N_COST_POLICY_NAMES);
  if (type == BGT_TYPE_NETWORK_STATE)
    return NAMES (bt_network_state_names, BT_N_NETWORK_STATE_NAMES);
  if (type == BGT_TYPE_POWER_STATE)
    return NAMES (bt_power_state_names, BT_N_POWER_STATE_NAMES);
  if (type == BGT_TYPE_TRANSFER_BEHAVIOR)
    return NAMES (bt_transfer_behavior_names, BT_N_TRANSFER_BEHAVIOR_NAMES);
  if (type == BGT_TYPE_IF_CHANGED)
    return NAMES (bt_if_changed_names, BT_N_IF_CHANGED_NAMES);
#undef NAMES
  return FALSE;
}

/**
 * bgt_status_to_string:
 * @status: a #BgtStatus
 *
 * Gives the string the bus uses for @status, its nick.
 *
 * Returns: the string of @status on the bus, such as "paused-by-application"
 *
 * Since: 0.1
 */
const char *
bgt_status_to_string (BgtStatus status)
{
  return _bgt_enum_to_string (BGT_TYPE_STATUS, status);
}

/**
 * bgt_error_status_to_string:
 * @error_status: a #BgtErrorStatus
 *
 * Gives the string the bus uses for @error_status.
 *
 * Returns: the string of @error_status on the bus, such as "not-found";
 *   the empty string for %BGT_ERROR_STATUS_NONE
 *
 * Since: 0.1
 */
const char *
bgt_error_status_to_string (BgtErrorStatus error_status)
{
  return _bgt_enum_to_string (BGT_TYPE_ERROR_STATUS, error_status);
}

/**
 * bgt_error_status_get_description:
 * @error_status: a #BgtErrorStatus
 *
 * Says in words, for the user, what went wrong: "The file was not found
 * on the server" for %BGT_ERROR_STATUS_NOT_FOUND. Translated into the
 * language of the current locale.
 *
 * Returns: (transfer none): a sentence without a final period, or %NULL
 *   for a value out of range
 *
 * Since: 0.2
 */
const char *
bgt_error_status_get_description (BgtErrorStatus error_status)
{
  const char *description = bt_error_status_description (error_status);

  return description != NULL ? g_dgettext (GETTEXT_PACKAGE, description) : NULL;
}

/* The empty string gives @fallback, even for BgtErrorStatus: the caller
 * decides what an empty ErrorStatus means */
int
_bgt_enum_from_string (GType type, const char *str, int fallback)
{
  const char *const *names;
  gsize n_names;
  int value;

  g_return_val_if_fail (names_of_type (type, &names, &n_names), fallback);

  if (str == NULL || *str == '\0')
    return fallback;
  value = bt_names_lookup (names, n_names, str);
  return value >= 0 ? value : fallback;
}

/* NULL for a value out of range */
const char *
_bgt_enum_to_string (GType type, int value)
{
  const char *const *names;
  gsize n_names;

  g_return_val_if_fail (names_of_type (type, &names, &n_names), NULL);

  if (value < 0 || (gsize) value >= n_names)
    return NULL;
  return names[value];
}
