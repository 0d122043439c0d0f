/* bt-changes.c: PropertiesChanged, coalesced and unicast to the owner
 *
 * docs/contract.md "Progress and change notification": a status changes
 * at once, counters at most ten times a second per object, and the
 * signals go only to the owning app's connections (and, for an object
 * created through the portal backend, to the portal frontend's:
 * bt_callers_get_audience()), never broadcast: another app on the bus
 * must not learn a URI or a byte count. Several changes of one step
 * (error status, message and status) leave as one signal.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-changes.h"

/* 8 per second at most for counters: under the 10/s of docs/contract.md with room
 * for timer jitter */
#define MIN_INTERVAL_US (125 * G_TIME_SPAN_MILLISECOND)

struct _BtChanges
{
  const char *interface;
  const char *const *immediate; /* NULL-terminated */
  BtChangesGetFunc get_value;
  BtChangesFlushFunc flush_func;
  gpointer object;

  GDBusConnection *connection; /* NULL while detached */
  BtCallers *callers;
  char *object_path;
  char *app_id;
  gboolean via_portal;

  GHashTable *dirty; /* interned property names */
  guint flush_source;
  gint64 last_flush_us;
};

/*
 * bt_changes_new:
 * @immediate: (array zero-terminated=1): the properties that go out at once
 * @get_value: reads a property of @object when the change goes out
 */
BtChanges *
bt_changes_new (const char *interface, const char *const *immediate, BtChangesGetFunc get_value,
                gpointer object)
{
  BtChanges *self = g_new0 (BtChanges, 1);

  self->interface = interface;
  self->immediate = immediate;
  self->get_value = get_value;
  self->object = object;
  self->dirty = g_hash_table_new (g_str_hash, g_str_equal);
  return self;
}

void
bt_changes_free (BtChanges *self)
{
  bt_changes_detach (self);
  g_hash_table_unref (self->dirty);
  g_free (self);
}

/*
 * bt_changes_attach:
 * @via_portal: the object was created through the portal backend: its
 *   frontend hears about it too
 */
void
bt_changes_attach (BtChanges *self, GDBusConnection *connection, BtCallers *callers,
                   const char *object_path, const char *app_id, gboolean via_portal)
{
  g_set_object (&self->connection, connection);
  g_set_object (&self->callers, callers);
  g_free (self->object_path);
  self->object_path = g_strdup (object_path);
  g_free (self->app_id);
  self->app_id = g_strdup (app_id);
  self->via_portal = via_portal;
}

/*
 * bt_changes_set_flush_func:
 *
 * @func runs each time the changes go out (also when no property changed),
 * to send with them the signals that are coalesced with them
 * (bt_changes_emit()).
 */
void
bt_changes_set_flush_func (BtChanges *self, BtChangesFlushFunc func)
{
  self->flush_func = func;
}

/*
 * bt_changes_emit:
 * @parameters: (transfer floating): the signal's parameters
 *
 * Sends a signal of the interface to the owner's connections only (and
 * the portal frontend's, see bt_changes_attach()).
 */
void
bt_changes_emit (BtChanges *self, const char *signal_name, GVariant *parameters)
{
  g_autoptr (GVariant) params = g_variant_ref_sink (parameters);
  g_autoptr (GPtrArray) peers = NULL;

  if (self->connection == NULL)
    return;
  peers = bt_callers_get_audience (self->callers, self->app_id, self->via_portal);
  for (guint i = 0; i < peers->len; i++)
    g_dbus_connection_emit_signal (self->connection, g_ptr_array_index (peers, i),
                                   self->object_path, self->interface, signal_name, params, NULL);
}

/* What is pending goes out first; nothing is sent afterwards */
void
bt_changes_detach (BtChanges *self)
{
  bt_changes_flush (self);
  g_clear_handle_id (&self->flush_source, g_source_remove);
  g_clear_object (&self->connection);
  g_clear_object (&self->callers);
  g_clear_pointer (&self->object_path, g_free);
  g_clear_pointer (&self->app_id, g_free);
}

void
bt_changes_flush (BtChanges *self)
{
  g_autoptr (GVariant) signal_params = NULL;
  GVariantBuilder changed;
  GHashTableIter iter;
  gpointer key;
  g_autoptr (GPtrArray) peers = NULL;

  g_clear_handle_id (&self->flush_source, g_source_remove);
  if (self->flush_func != NULL)
    self->flush_func (self->object, self);
  if (g_hash_table_size (self->dirty) == 0)
    return;

  self->last_flush_us = g_get_monotonic_time ();
  g_variant_builder_init (&changed, G_VARIANT_TYPE_VARDICT);
  g_hash_table_iter_init (&iter, self->dirty);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_variant_builder_add_value (
        &changed,
        g_variant_new_dict_entry (g_variant_new_string (key),
                                  g_variant_new_variant (self->get_value (self->object, key))));
  g_hash_table_remove_all (self->dirty);
  signal_params
      = g_variant_ref_sink (g_variant_new ("(sa{sv}as)", self->interface, &changed, NULL));

  if (self->connection == NULL)
    return;
  peers = bt_callers_get_audience (self->callers, self->app_id, self->via_portal);
  for (guint i = 0; i < peers->len; i++)
    {
      g_autoptr (GError) error = NULL;

      if (!g_dbus_connection_emit_signal (self->connection, g_ptr_array_index (peers, i),
                                          self->object_path, "org.freedesktop.DBus.Properties",
                                          "PropertiesChanged", signal_params, &error))
        g_debug ("Cannot notify %s: %s", (const char *) g_ptr_array_index (peers, i),
                 error->message);
    }
}

static gboolean
on_flush_timeout (gpointer user_data)
{
  BtChanges *self = user_data;

  self->flush_source = 0;
  bt_changes_flush (self);
  return G_SOURCE_REMOVE;
}

/* Everything pending goes out from the main loop, before anything else */
void
bt_changes_flush_soon (BtChanges *self)
{
  g_clear_handle_id (&self->flush_source, g_source_remove);
  self->flush_source = g_idle_add_full (G_PRIORITY_HIGH, on_flush_timeout, self, NULL);
}

/*
 * bt_changes_add:
 * @property: (not nullable): a property of the interface
 *
 * Announces a change: counters are coalesced; the others go out at once,
 * together with the pending counters, from the main loop but before
 * anything else.
 */
void
bt_changes_add (BtChanges *self, const char *property)
{
  gint64 now, due;

  g_hash_table_add (self->dirty, (gpointer) g_intern_string (property));

  if (g_strv_contains (self->immediate, property))
    {
      bt_changes_flush_soon (self);
      return;
    }
  if (self->flush_source != 0)
    return;
  now = g_get_monotonic_time ();
  due = self->last_flush_us + MIN_INTERVAL_US;
  self->flush_source
      = g_timeout_add_full (G_PRIORITY_DEFAULT, due > now ? (guint) ((due - now) / 1000) + 1 : 0,
                            on_flush_timeout, self, NULL);
}
