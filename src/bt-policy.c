/* bt-policy.c: the cost-policy matrix and the power rules
 *
 * NetworkState comes from GNetworkMonitor (available, connectivity,
 * metered), roaming from ModemManager when it runs, a metered data budget
 * counted here, and the user's restrict-background-data setting.
 * PowerState comes from GPowerProfileMonitor and UPower. The decisions
 * themselves are pure functions: the matrix of docs/contract.md, exactly.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "bt-settings.h"
#include "bt-names.h"
#include "bt-policy.h"

#define USAGE_SAVE_INTERVAL_US (5 * G_USEC_PER_SEC)

/* The strings on the bus come from common/bt-names.c, shared with the
 * library's BgtNetworkState and BgtPowerState */
G_STATIC_ASSERT (BT_N_NETWORK_STATE_NAMES == BT_NETWORK_OFFLINE + 1);
G_STATIC_ASSERT (BT_N_POWER_STATE_NAMES == BT_POWER_BATTERY_LOW + 1);

const char *
bt_network_state_to_string (BtNetworkState state)
{
  return bt_network_state_names[state];
}

const char *
bt_power_state_to_string (BtPowerState state)
{
  return bt_power_state_names[state];
}

BtNetworkState
bt_network_state_compute (gboolean available, gboolean metered, gboolean roaming,
                          gboolean over_limit, gboolean background_restricted)
{
  if (!available)
    return BT_NETWORK_OFFLINE;
  if (background_restricted)
    return BT_NETWORK_BACKGROUND_RESTRICTED;
  if (roaming)
    return BT_NETWORK_ROAMING;
  if (metered)
    return over_limit ? BT_NETWORK_METERED_OVER_LIMIT : BT_NETWORK_METERED;
  return BT_NETWORK_UNRESTRICTED;
}

BtPowerState
bt_power_state_compute (gboolean power_saver, gboolean on_battery, double percentage,
                        guint warning_level, guint low_percentage)
{
  if (on_battery
      && (percentage <= (double) low_percentage || warning_level >= BT_UPOWER_WARNING_LOW))
    return BT_POWER_BATTERY_LOW;
  if (power_saver)
    return BT_POWER_SAVER;
  return BT_POWER_NORMAL;
}

/*
 * The matrix of docs/contract.md "Network cost and power":
 *
 *   network state               unrestricted-only  default  always
 *   unrestricted                run                run      run
 *   metered, under the limit    pause              run      run
 *   metered, over the limit     pause              pause    run
 *   roaming                     pause              pause    run
 *   background data restricted  pause              pause    pause
 *
 * Offline is not a cost: whether a host can be reached is decided apart.
 */
gboolean
bt_cost_policy_allows (BtNetworkState state, BtCostPolicy policy)
{
  switch (state)
    {
      case BT_NETWORK_UNRESTRICTED:
      case BT_NETWORK_OFFLINE:
        return TRUE;
      case BT_NETWORK_METERED:
        return policy != BT_COST_POLICY_UNRESTRICTED_ONLY;
      case BT_NETWORK_METERED_OVER_LIMIT:
      case BT_NETWORK_ROAMING:
        return policy == BT_COST_POLICY_ALWAYS;
      case BT_NETWORK_BACKGROUND_RESTRICTED:
      default:
        return FALSE;
    }
}

/* Power saver and a low battery hold back low and default priority */
gboolean
bt_power_policy_allows (BtPowerState state, BtPriority priority)
{
  return state == BT_POWER_NORMAL || priority == BT_PRIORITY_HIGH;
}

struct _BtPolicy
{
  GObject parent_instance;

  GSettings *settings;
  GNetworkMonitor *network_monitor;
  GPowerProfileMonitor *power_monitor;
  GCancellable *cancellable;
  GDBusProxy *upower;
  GDBusProxy *display_device;
  GDBusObjectManager *modem_manager;

  BtNetworkState network_state;
  BtPowerState power_state;

  char *usage_path;
  gint64 period_start; /* real time, µs */
  guint64 metered_bytes;
  gint64 last_usage_save_us;
  gboolean usage_dirty;
};

G_DEFINE_TYPE (BtPolicy, bt_policy, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static gboolean
is_roaming (BtPolicy *self)
{
  g_autolist (GDBusObject) objects = NULL;

  if (self->modem_manager == NULL)
    return FALSE;
  objects = g_dbus_object_manager_get_objects (self->modem_manager);
  for (GList *l = objects; l != NULL; l = l->next)
    {
      g_autoptr (GDBusInterface) iface
          = g_dbus_object_get_interface (l->data, "org.freedesktop.ModemManager1.Modem.Modem3gpp");
      g_autoptr (GVariant) state = NULL;

      if (iface == NULL)
        continue;
      state = g_dbus_proxy_get_cached_property (G_DBUS_PROXY (iface), "RegistrationState");
      /* MM_MODEM_3GPP_REGISTRATION_STATE_ROAMING, _ROAMING_SMS_ONLY,
       * _ROAMING_CSFB_NOT_PREFERRED */
      if (state != NULL && g_variant_is_of_type (state, G_VARIANT_TYPE_UINT32))
        {
          guint32 v = g_variant_get_uint32 (state);

          if (v == 5 || v == 7 || v == 10)
            return TRUE;
        }
    }
  return FALSE;
}

static gboolean
over_limit (BtPolicy *self)
{
  guint64 limit = bt_settings_get_uint64 (self->settings, "metered-data-limit");

  return limit > 0 && self->metered_bytes >= limit;
}

static gboolean
get_proxy_bool (GDBusProxy *proxy, const char *name)
{
  g_autoptr (GVariant) v = proxy != NULL ? g_dbus_proxy_get_cached_property (proxy, name) : NULL;

  return v != NULL && g_variant_is_of_type (v, G_VARIANT_TYPE_BOOLEAN) && g_variant_get_boolean (v);
}

static void
update (BtPolicy *self)
{
  BtNetworkState network;
  BtPowerState power;
  double percentage = 100.0;
  guint warning_level = 0;
  gboolean on_battery;

  network = bt_network_state_compute (
      g_network_monitor_get_network_available (self->network_monitor)
          && g_network_monitor_get_connectivity (self->network_monitor)
                 != G_NETWORK_CONNECTIVITY_LOCAL,
      g_network_monitor_get_network_metered (self->network_monitor), is_roaming (self),
      over_limit (self), bt_settings_get_boolean (self->settings, "restrict-background-data"));

  on_battery = get_proxy_bool (self->upower, "OnBattery");
  if (self->display_device != NULL && get_proxy_bool (self->display_device, "IsPresent"))
    {
      g_autoptr (GVariant) p
          = g_dbus_proxy_get_cached_property (self->display_device, "Percentage");
      g_autoptr (GVariant) w
          = g_dbus_proxy_get_cached_property (self->display_device, "WarningLevel");

      if (p != NULL && g_variant_is_of_type (p, G_VARIANT_TYPE_DOUBLE))
        percentage = g_variant_get_double (p);
      if (w != NULL && g_variant_is_of_type (w, G_VARIANT_TYPE_UINT32))
        warning_level = g_variant_get_uint32 (w);
    }
  power = bt_power_state_compute (
      self->power_monitor != NULL
          && g_power_profile_monitor_get_power_saver_enabled (self->power_monitor),
      on_battery, percentage, warning_level,
      bt_settings_get_uint (self->settings, "battery-low-percentage"));

  if (network == self->network_state && power == self->power_state)
    return;
  g_debug ("Network %s, power %s", bt_network_state_to_string (network),
           bt_power_state_to_string (power));
  self->network_state = network;
  self->power_state = power;
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
on_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  update (user_data);
}

static void
on_proxy_properties_changed (GDBusProxy *proxy, GVariant *changed, GStrv invalidated,
                             gpointer user_data)
{
  update (user_data);
}

static void
on_settings_changed (GSettings *settings, const char *key, gpointer user_data)
{
  update (user_data);
}

static void
on_upower_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  GDBusProxy *proxy = g_dbus_proxy_new_for_bus_finish (result, &error);
  BtPolicy *self;

  if (proxy == NULL)
    {
      g_debug ("No UPower: %s", error->message);
      return;
    }
  self = user_data;
  if (g_str_equal (g_dbus_proxy_get_object_path (proxy), "/org/freedesktop/UPower"))
    self->upower = proxy;
  else
    self->display_device = proxy;
  g_signal_connect (proxy, "g-properties-changed", G_CALLBACK (on_proxy_properties_changed), self);
  g_signal_connect_swapped (proxy, "notify::g-name-owner", G_CALLBACK (update), self);
  update (self);
}

static void
on_modem_manager_ready (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  GDBusObjectManager *manager = g_dbus_object_manager_client_new_for_bus_finish (result, &error);
  BtPolicy *self;

  if (manager == NULL)
    {
      g_debug ("No ModemManager: %s", error->message);
      return;
    }
  self = user_data;
  self->modem_manager = manager;
  g_signal_connect_swapped (manager, "object-added", G_CALLBACK (update), self);
  g_signal_connect_swapped (manager, "object-removed", G_CALLBACK (update), self);
  g_signal_connect_swapped (manager, "interface-proxy-properties-changed", G_CALLBACK (update),
                            self);
  update (self);
}

static void
load_usage (BtPolicy *self)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();

  if (g_key_file_load_from_file (file, self->usage_path, G_KEY_FILE_NONE, NULL))
    {
      self->period_start = g_key_file_get_int64 (file, "metered", "period-start", NULL);
      self->metered_bytes = g_key_file_get_uint64 (file, "metered", "bytes", NULL);
    }
  if (self->period_start <= 0 || self->period_start > g_get_real_time ())
    {
      self->period_start = g_get_real_time ();
      self->metered_bytes = 0;
    }
}

void
bt_policy_save (BtPolicy *self)
{
  g_autoptr (GKeyFile) file = g_key_file_new ();
  g_autoptr (GError) error = NULL;

  if (!self->usage_dirty)
    return;
  g_key_file_set_int64 (file, "metered", "period-start", self->period_start);
  g_key_file_set_uint64 (file, "metered", "bytes", self->metered_bytes);
  if (!g_key_file_save_to_file (file, self->usage_path, &error))
    g_warning ("Cannot save the metered data usage: %s", error->message);
  self->usage_dirty = FALSE;
  self->last_usage_save_us = g_get_monotonic_time ();
}

/* Counts bytes moved while the network is metered, for the data budget */
void
bt_policy_account (BtPolicy *self, guint64 bytes)
{
  gint64 period
      = (gint64) MAX (bt_settings_get_uint (self->settings, "metered-data-period-days"), 1)
        * G_TIME_SPAN_DAY;
  gboolean was_over;

  if (self->network_state != BT_NETWORK_METERED
      && self->network_state != BT_NETWORK_METERED_OVER_LIMIT
      && self->network_state != BT_NETWORK_ROAMING)
    return;

  if (g_get_real_time () - self->period_start >= period)
    {
      self->period_start = g_get_real_time ();
      self->metered_bytes = 0;
    }
  was_over = over_limit (self);
  self->metered_bytes += bytes;
  self->usage_dirty = TRUE;
  if (g_get_monotonic_time () - self->last_usage_save_us >= USAGE_SAVE_INTERVAL_US)
    bt_policy_save (self);
  if (over_limit (self) != was_over)
    update (self);
}

BtNetworkState
bt_policy_get_network_state (BtPolicy *self)
{
  return self->network_state;
}

BtPowerState
bt_policy_get_power_state (BtPolicy *self)
{
  return self->power_state;
}

static gboolean
host_is_loopback (const char *host)
{
  g_autoptr (GInetAddress) address = NULL;
  g_autofree char *bare = NULL;

  if (host == NULL)
    return FALSE;
  if (g_ascii_strcasecmp (host, "localhost") == 0 || g_str_has_suffix (host, ".localhost"))
    return TRUE;
  bare = g_strdup (host);
  if (bare[0] == '[')
    {
      bare[strlen (bare) - 1] = '\0';
      memmove (bare, bare + 1, strlen (bare));
    }
  address = g_inet_address_new_from_string (bare);
  return address != NULL && g_inet_address_get_is_loopback (address);
}

/*
 * bt_policy_is_offline_for:
 *
 * Whether a transfer to @uri must wait for the network. When
 * NetworkManager manages the network its word holds for every host; with
 * only the kernel's routes to go by (GLib's netlink monitor, as in a
 * network namespace with no default route) loopback hosts stay reachable.
 */
gboolean
bt_policy_is_offline_for (BtPolicy *self, const char *uri)
{
  g_autoptr (GUri) parsed = NULL;

  if (self->network_state != BT_NETWORK_OFFLINE)
    return FALSE;
  if (g_str_equal (G_OBJECT_TYPE_NAME (self->network_monitor), "GNetworkMonitorNM"))
    return TRUE;
  parsed = g_uri_parse (uri, G_URI_FLAGS_ENCODED, NULL);
  return parsed == NULL || !host_is_loopback (g_uri_get_host (parsed));
}

static void
bt_policy_dispose (GObject *object)
{
  BtPolicy *self = BT_POLICY (object);

  g_cancellable_cancel (self->cancellable);
  if (self->network_monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->network_monitor, self);
  if (self->power_monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->power_monitor, self);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  if (self->upower != NULL)
    g_signal_handlers_disconnect_by_data (self->upower, self);
  if (self->display_device != NULL)
    g_signal_handlers_disconnect_by_data (self->display_device, self);
  if (self->modem_manager != NULL)
    g_signal_handlers_disconnect_by_data (self->modem_manager, self);
  if (self->usage_path != NULL)
    bt_policy_save (self);
  g_clear_object (&self->upower);
  g_clear_object (&self->display_device);
  g_clear_object (&self->modem_manager);
  g_clear_object (&self->power_monitor);
  self->network_monitor = NULL;
  g_clear_object (&self->settings);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (bt_policy_parent_class)->dispose (object);
}

static void
bt_policy_finalize (GObject *object)
{
  BtPolicy *self = BT_POLICY (object);

  g_free (self->usage_path);
  G_OBJECT_CLASS (bt_policy_parent_class)->finalize (object);
}

static void
bt_policy_class_init (BtPolicyClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bt_policy_dispose;
  object_class->finalize = bt_policy_finalize;

  /* NetworkState or PowerState changed */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
bt_policy_init (BtPolicy *self)
{
  self->cancellable = g_cancellable_new ();
  self->network_state = BT_NETWORK_UNRESTRICTED;
  self->power_state = BT_POWER_NORMAL;
}

BtPolicy *
bt_policy_new (GSettings *settings, const char *state_dir)
{
  BtPolicy *self = g_object_new (BT_TYPE_POLICY, NULL);
  static const char *const network_props[]
      = { "notify::network-available", "notify::network-metered", "notify::connectivity" };

  self->settings = g_object_ref (settings);
  self->usage_path = g_build_filename (state_dir, "metered-usage", NULL);
  load_usage (self);

  self->network_monitor = g_network_monitor_get_default ();
  for (gsize i = 0; i < G_N_ELEMENTS (network_props); i++)
    g_signal_connect (self->network_monitor, network_props[i], G_CALLBACK (on_notify), self);
  self->power_monitor = g_power_profile_monitor_dup_default ();
  if (self->power_monitor != NULL)
    g_signal_connect (self->power_monitor, "notify::power-saver-enabled", G_CALLBACK (on_notify),
                      self);
  g_signal_connect (self->settings, "changed", G_CALLBACK (on_settings_changed), self);

  /* Optional system services: absent ones simply do not count */
  g_dbus_proxy_new_for_bus (G_BUS_TYPE_SYSTEM, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, NULL,
                            "org.freedesktop.UPower", "/org/freedesktop/UPower",
                            "org.freedesktop.UPower", self->cancellable, on_upower_ready, self);
  g_dbus_proxy_new_for_bus (
      G_BUS_TYPE_SYSTEM, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, NULL, "org.freedesktop.UPower",
      "/org/freedesktop/UPower/devices/DisplayDevice", "org.freedesktop.UPower.Device",
      self->cancellable, on_upower_ready, self);
  g_dbus_object_manager_client_new_for_bus (
      G_BUS_TYPE_SYSTEM, G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_DO_NOT_AUTO_START,
      "org.freedesktop.ModemManager1", "/org/freedesktop/ModemManager1", NULL, NULL, NULL,
      self->cancellable, on_modem_manager_ready, self);

  self->network_state = BT_NETWORK_OFFLINE + 1; /* force the first computation */
  update (self);
  return self;
}
