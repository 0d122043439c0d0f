/* bt-settings.c: the service's settings, read once until they change
 *
 * g_settings_get_*() looks the key up in the schema, asks the backend and
 * checks the value against the schema's range on every call; the
 * scheduler, the policy and every attempt read a few settings for each
 * transfer they touch, which made the settings a measurable share of the
 * service's time with a thousand small downloads. Here each value is read
 * once and kept until GSettings says that key changed (the backend says so
 * before anyone can read the new value), so a change still takes effect at
 * the next read.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-settings.h"

static GQuark
cache_quark (void)
{
  return g_quark_from_static_string ("bt-settings-cache");
}

static void
on_changed (GSettings *settings, const char *key, GHashTable *cache)
{
  if (key != NULL)
    g_hash_table_remove (cache, key);
  else
    g_hash_table_remove_all (cache);
}

static GHashTable *
get_cache (GSettings *settings)
{
  GHashTable *cache = g_object_get_qdata (G_OBJECT (settings), cache_quark ());

  if (cache == NULL)
    {
      cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                     (GDestroyNotify) g_variant_unref);
      g_object_set_qdata_full (G_OBJECT (settings), cache_quark (), cache,
                               (GDestroyNotify) g_hash_table_unref);
      g_signal_connect (settings, "changed", G_CALLBACK (on_changed), cache);
    }
  return cache;
}

/**
 * bt_settings_new:
 *
 * Returns: (transfer full): the service's settings, whose cache forgets a
 *   changed key before any other handler of #GSettings::changed runs
 */
GSettings *
bt_settings_new (void)
{
  GSettings *settings = g_settings_new ("org.freedesktop.BackgroundTransfer");

  get_cache (settings);
  return settings;
}

/* Returns: (transfer none): the value of @key */
static GVariant *
lookup (GSettings *settings, const char *key)
{
  GHashTable *cache = get_cache (settings);
  GVariant *value;

  value = g_hash_table_lookup (cache, key);
  if (value == NULL)
    {
      value = g_settings_get_value (settings, key);
      g_hash_table_insert (cache, g_strdup (key), value);
    }
  return value;
}

guint
bt_settings_get_uint (GSettings *settings, const char *key)
{
  return g_variant_get_uint32 (lookup (settings, key));
}

guint64
bt_settings_get_uint64 (GSettings *settings, const char *key)
{
  return g_variant_get_uint64 (lookup (settings, key));
}

gboolean
bt_settings_get_boolean (GSettings *settings, const char *key)
{
  return g_variant_get_boolean (lookup (settings, key));
}
