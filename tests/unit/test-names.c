/* Unit tests of the bus strings shared by the service and libbgtransfer
 * (common/bt-names.c): the tables themselves, the service's conversions,
 * the library's conversions and GEnum nicks, and the error domains
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <bgtransfer.h>

#include "bt-dbus.h"
#include "bt-error.h"
#include "bt-names.h"
#include "bt-policy.h"
#include "bt-types.h"

typedef struct
{
  const char *name;
  const char *const *names;
  gsize n_names;
  GType (*get_type) (void); /* the library's enumeration */
} Table;

static const Table tables[] = {
  { "kind", bt_kind_names, BT_N_KIND_NAMES, bgt_transfer_kind_get_type },
  { "status", bt_status_names, BT_N_STATUS_NAMES, bgt_status_get_type },
  { "error-status", bt_error_status_names, BT_N_ERROR_STATUS_NAMES, bgt_error_status_get_type },
  { "priority", bt_priority_names, BT_N_PRIORITY_NAMES, bgt_priority_get_type },
  { "cost-policy", bt_cost_policy_names, BT_N_COST_POLICY_NAMES, bgt_cost_policy_get_type },
  { "network-state", bt_network_state_names, BT_N_NETWORK_STATE_NAMES, bgt_network_state_get_type },
  { "power-state", bt_power_state_names, BT_N_POWER_STATE_NAMES, bgt_power_state_get_type },
  { "transfer-behavior", bt_transfer_behavior_names, BT_N_TRANSFER_BEHAVIOR_NAMES,
    bgt_transfer_behavior_get_type },
  { "if-changed", bt_if_changed_names, BT_N_IF_CHANGED_NAMES, bgt_if_changed_get_type },
};

static gboolean
is_kebab_case (const char *str)
{
  g_autoptr (GRegex) re = g_regex_new ("^[a-z0-9]+(-[a-z0-9]+)*$", 0, 0, NULL);

  return g_regex_match (re, str, 0, NULL);
}

static void
assert_no_duplicates (const char *const *names, gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      g_assert_nonnull (names[i]);
      for (gsize j = i + 1; j < n; j++)
        g_assert_cmpstr (names[i], !=, names[j]);
      g_assert_cmpint (bt_names_lookup (names, n, names[i]), ==, (int) i);
    }
}

static void
test_tables (void)
{
  for (gsize t = 0; t < G_N_ELEMENTS (tables); t++)
    {
      const Table *table = &tables[t];

      g_test_message ("table %s", table->name);
      assert_no_duplicates (table->names, table->n_names);
      for (gsize i = 0; i < table->n_names; i++)
        {
          /* only "no error" is the empty string */
          if (table->names == bt_error_status_names && i == 0)
            g_assert_cmpstr (table->names[i], ==, "");
          else
            g_assert_true (is_kebab_case (table->names[i]));
        }
      g_assert_cmpint (bt_names_lookup (table->names, table->n_names, "no-such-name"), ==, -1);
      g_assert_cmpint (bt_names_lookup (table->names, table->n_names, NULL), ==, -1);
    }
}

static void
test_dbus_error_names (void)
{
  assert_no_duplicates (bt_dbus_error_names, BT_N_DBUS_ERROR_NAMES);
  for (gsize i = 0; i < BT_N_DBUS_ERROR_NAMES; i++)
    {
      g_assert_true (g_str_has_prefix (bt_dbus_error_names[i], BT_DBUS_ERROR_PREFIX));
      /* error names follow the rules of interface names */
      g_assert_true (g_dbus_is_interface_name (bt_dbus_error_names[i]));
    }
  /* in the order of both sides' error codes */
  g_assert_cmpstr (bt_dbus_error_names[BT_ERROR_FAILED], ==, BT_DBUS_ERROR_FAILED);
  g_assert_cmpstr (bt_dbus_error_names[BT_ERROR_UNSUPPORTED_SCHEME], ==,
                   BT_DBUS_ERROR_UNSUPPORTED_SCHEME);
  g_assert_cmpstr (bt_dbus_error_names[BT_ERROR_NOT_SUPPORTED], ==, BT_DBUS_ERROR_NOT_SUPPORTED);
  g_assert_cmpstr (bt_dbus_error_names[BGT_ERROR_NOT_SUPPORTED], ==, BT_DBUS_ERROR_NOT_SUPPORTED);
  g_assert_cmpstr (bt_dbus_error_names[BGT_ERROR_TRANSFER_CANCELED], ==,
                   BT_DBUS_ERROR_TRANSFER_CANCELED);
}

/* string → enum → string through the service's functions */
static void
test_service_round_trip (void)
{
  for (BtKind k = BT_KIND_DOWNLOAD; k <= BT_KIND_UPLOAD; k++)
    {
      BtKind out = -1;

      g_assert_cmpstr (bt_kind_to_string (k), ==, bt_kind_names[k]);
      g_assert_true (bt_kind_from_string (bt_kind_names[k], &out));
      g_assert_cmpint (out, ==, k);
    }
  for (BtStatus s = BT_STATUS_IDLE; s <= BT_STATUS_ERROR; s++)
    {
      BtStatus out = -1;

      g_assert_cmpstr (bt_status_to_string (s), ==, bt_status_names[s]);
      g_assert_true (bt_status_from_string (bt_status_names[s], &out));
      g_assert_cmpint (out, ==, s);
    }
  for (BtErrorStatus e = BT_ERROR_STATUS_NONE; e <= BT_ERROR_STATUS_UNKNOWN; e++)
    {
      g_assert_cmpstr (bt_error_status_to_string (e), ==, bt_error_status_names[e]);
      g_assert_cmpint (bt_error_status_from_string (bt_error_status_names[e]), ==, e);
    }
  for (BtPriority p = BT_PRIORITY_LOW; p <= BT_PRIORITY_HIGH; p++)
    {
      BtPriority out = -1;

      g_assert_cmpstr (bt_priority_to_string (p), ==, bt_priority_names[p]);
      g_assert_true (bt_priority_from_string (bt_priority_names[p], &out));
      g_assert_cmpint (out, ==, p);
    }
  for (BtCostPolicy c = BT_COST_POLICY_UNRESTRICTED_ONLY; c <= BT_COST_POLICY_ALWAYS; c++)
    {
      BtCostPolicy out = -1;

      g_assert_cmpstr (bt_cost_policy_to_string (c), ==, bt_cost_policy_names[c]);
      g_assert_true (bt_cost_policy_from_string (bt_cost_policy_names[c], &out));
      g_assert_cmpint (out, ==, c);
    }
  /* NetworkState and PowerState, as the Manager sends them */
  for (BtNetworkState n = BT_NETWORK_UNRESTRICTED; n <= BT_NETWORK_OFFLINE; n++)
    g_assert_cmpstr (bt_network_state_to_string (n), ==, bt_network_state_names[n]);
  for (BtPowerState p = BT_POWER_NORMAL; p <= BT_POWER_BATTERY_LOW; p++)
    g_assert_cmpstr (bt_power_state_to_string (p), ==, bt_power_state_names[p]);
}

static void
test_service_unknown (void)
{
  BtKind kind = BT_KIND_UPLOAD;
  BtStatus status = BT_STATUS_RUNNING;
  BtPriority priority = BT_PRIORITY_HIGH;
  BtCostPolicy policy = BT_COST_POLICY_ALWAYS;

  g_assert_false (bt_kind_from_string ("sideload", &kind));
  g_assert_false (bt_kind_from_string ("", &kind));
  g_assert_false (bt_kind_from_string (NULL, &kind));
  g_assert_cmpint (kind, ==, BT_KIND_UPLOAD);
  g_assert_false (bt_status_from_string ("Running", &status));
  g_assert_false (bt_status_from_string ("", &status));
  g_assert_cmpint (status, ==, BT_STATUS_RUNNING);
  g_assert_false (bt_priority_from_string ("urgent", &priority));
  g_assert_cmpint (priority, ==, BT_PRIORITY_HIGH);
  g_assert_false (bt_cost_policy_from_string ("never", &policy));
  g_assert_cmpint (policy, ==, BT_COST_POLICY_ALWAYS);

  /* a newer service's reason this one does not know */
  g_assert_cmpint (bt_error_status_from_string ("solar-flare"), ==, BT_ERROR_STATUS_UNKNOWN);
  g_assert_cmpint (bt_error_status_from_string (""), ==, BT_ERROR_STATUS_NONE);
}

/* What GI users see: every nick of the library's GTypes is the bus string
 * of the common table, and string → enum (by nick) → string holds */
static void
test_library_nicks (void)
{
  for (gsize t = 0; t < G_N_ELEMENTS (tables); t++)
    {
      const Table *table = &tables[t];
      g_autoptr (GEnumClass) klass = g_type_class_ref (table->get_type ());

      g_test_message ("enum %s", g_type_name (table->get_type ()));
      g_assert_cmpuint (klass->n_values, ==, table->n_names);
      g_assert_cmpint (klass->minimum, ==, 0);
      g_assert_cmpint (klass->maximum, ==, (int) table->n_names - 1);
      for (gsize i = 0; i < table->n_names; i++)
        {
          GEnumValue *v = g_enum_get_value (klass, (int) i);

          g_assert_nonnull (v);
          /* BGT_ERROR_STATUS_NONE is "" on the bus; a nick cannot be */
          if (table->names == bt_error_status_names && i == 0)
            {
              g_assert_cmpstr (v->value_nick, ==, "none");
              continue;
            }
          g_assert_cmpstr (v->value_nick, ==, table->names[i]);
          v = g_enum_get_value_by_nick (klass, table->names[i]);
          g_assert_nonnull (v);
          g_assert_cmpint (v->value, ==, (int) i);
        }
    }
}

/* The library's public conversions agree with the service's */
static void
test_library_round_trip (void)
{
  for (BgtStatus s = BGT_STATUS_IDLE; s <= BGT_STATUS_ERROR; s++)
    {
      g_assert_cmpstr (bgt_status_to_string (s), ==, bt_status_names[s]);
      g_assert_cmpstr (bgt_status_to_string (s), ==, bt_status_to_string ((BtStatus) s));
    }
  for (BgtErrorStatus e = BGT_ERROR_STATUS_NONE; e <= BGT_ERROR_STATUS_UNKNOWN; e++)
    {
      g_assert_cmpstr (bgt_error_status_to_string (e), ==, bt_error_status_names[e]);
      g_assert_cmpstr (bgt_error_status_to_string (e), ==,
                       bt_error_status_to_string ((BtErrorStatus) e));
    }
  g_assert_cmpstr (bgt_error_status_to_string (BGT_ERROR_STATUS_NONE), ==, "");
}

/* The error domains register the common names. Each side in its own
 * process: registering a name twice is a warning. */
static void
test_service_error_domain (void)
{
  if (g_test_subprocess ())
    {
      for (BtError code = BT_ERROR_FAILED; code < BT_ERROR_NOT_SUPPORTED; code++)
        {
          g_autoptr (GError) error = g_error_new_literal (BT_ERROR, code, "x");
          g_autofree char *name = g_dbus_error_encode_gerror (error);

          g_assert_cmpstr (name, ==, bt_dbus_error_names[code]);
        }
      /* NOT_SUPPORTED is not registered: it leaves as
       * org.freedesktop.DBus.Error.NotSupported (bt_invocation_return_error) */
      {
        g_autoptr (GError) error = g_error_new_literal (BT_ERROR, BT_ERROR_NOT_SUPPORTED, "x");
        g_autofree char *name = g_dbus_error_encode_gerror (error);

        g_assert_true (g_str_has_prefix (name, "org.gtk.GDBus.UnmappedGError."));
        g_assert_cmpstr (g_quark_to_string (BT_ERROR), ==, "bt-service-error-quark");
      }
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_library_error_domain (void)
{
  if (g_test_subprocess ())
    {
      for (BgtError code = BGT_ERROR_FAILED; code <= BGT_ERROR_TRANSFER_CANCELED; code++)
        {
          g_autoptr (GError) error = g_error_new_literal (BGT_ERROR, code, "x");
          g_autofree char *name = g_dbus_error_encode_gerror (error);

          g_assert_cmpstr (name, ==, bt_dbus_error_names[code]);
        }
      g_assert_cmpstr (g_quark_to_string (BGT_ERROR), ==, "bgt-error-quark");
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* The members both sides name are those of the interface (data/) */
static void
test_transfer_members (void)
{
  GDBusInterfaceInfo *info
      = (GDBusInterfaceInfo *) &org_freedesktop_background_transfer_transfer_interface;
  GDBusMethodInfo *request_range
      = g_dbus_interface_info_lookup_method (info, BT_TRANSFER_METHOD_REQUEST_RANGE);
  GDBusSignalInfo *ranges_added
      = g_dbus_interface_info_lookup_signal (info, BT_TRANSFER_SIGNAL_RANGES_ADDED);

  g_assert_nonnull (g_dbus_interface_info_lookup_method (info, BT_TRANSFER_METHOD_OPEN_RESULT));
  g_assert_nonnull (request_range);
  g_assert_cmpuint (g_strv_length ((GStrv) request_range->in_args), ==, 2);
  g_assert_cmpstr (request_range->in_args[0]->signature, ==, "t");
  g_assert_cmpstr (request_range->in_args[1]->signature, ==, "t");
  g_assert_nonnull (ranges_added);
  g_assert_cmpstr (ranges_added->args[0]->signature, ==, "a(tt)");
  g_assert_cmpstr (ranges_added->args[1]->signature, ==, "b");
  g_assert_cmpstr (
      g_dbus_interface_info_lookup_property (info, BT_TRANSFER_PROPERTY_RANGES_DOWNLOADED)
          ->signature,
      ==, "a(tt)");
  g_assert_cmpstr (
      g_dbus_interface_info_lookup_property (info, BT_TRANSFER_PROPERTY_TOTAL_BYTES)->signature, ==,
      "t");
  g_assert_cmpstr (
      g_dbus_interface_info_lookup_property (info, BT_TRANSFER_PROPERTY_STATUS)->signature, ==,
      "s");
}

/* bgt-version.h is generated from the project's version */
static void
test_library_version (void)
{
  g_autofree char *version
      = g_strdup_printf ("%d.%d.%d", BGT_MAJOR_VERSION, BGT_MINOR_VERSION, BGT_MICRO_VERSION);

  g_assert_cmpstr (version, ==, PACKAGE_VERSION);
  g_assert_cmpstr (BGT_VERSION_STRING, ==, PACKAGE_VERSION);
  g_assert_true (BGT_CHECK_VERSION (BGT_MAJOR_VERSION, BGT_MINOR_VERSION, BGT_MICRO_VERSION));
  g_assert_true (BGT_CHECK_VERSION (BGT_MAJOR_VERSION, 0, 0));
  g_assert_false (BGT_CHECK_VERSION (BGT_MAJOR_VERSION, BGT_MINOR_VERSION, BGT_MICRO_VERSION + 1));
  g_assert_false (BGT_CHECK_VERSION (BGT_MAJOR_VERSION + 1, 0, 0));
  /* The API of a 0.x tree is the 1.0 API being built */
  g_assert_cmpint (BGT_VERSION_MAX_ALLOWED, >=, BGT_VERSION_1_0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/names/tables", test_tables);
  g_test_add_func ("/names/transfer-members", test_transfer_members);
  g_test_add_func ("/names/dbus-error-names", test_dbus_error_names);
  g_test_add_func ("/names/service/round-trip", test_service_round_trip);
  g_test_add_func ("/names/service/unknown", test_service_unknown);
  g_test_add_func ("/names/service/error-domain", test_service_error_domain);
  g_test_add_func ("/names/library/nicks", test_library_nicks);
  g_test_add_func ("/names/library/round-trip", test_library_round_trip);
  g_test_add_func ("/names/library/error-domain", test_library_error_domain);
  g_test_add_func ("/names/library/version", test_library_version);

  return g_test_run ();
}
