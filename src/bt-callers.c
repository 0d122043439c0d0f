/* bt-callers.c: who is calling: bus connections and their application ids
 *
 * An unsandboxed caller is trusted as the same user; the app id it declares
 * only keeps its transfers apart from other apps'. The id binds to the bus
 * connection at its first use (SPEC §8 "Identity"); a connection that never
 * declared one acts as the app "". Entries are dropped when the connection
 * leaves the bus.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "bt-callers.h"
#include "bt-error.h"

typedef struct
{
  char *app_id;
  gboolean declared;
} Caller;

struct _BtCallers
{
  GObject parent_instance;

  GDBusConnection *connection;
  guint name_owner_changed_id;
  GHashTable *callers; /* unique name → Caller */
  GHashTable *peers;   /* app id → GPtrArray of unique names */
};

G_DEFINE_TYPE (BtCallers, bt_callers, G_TYPE_OBJECT)

enum
{
  SIGNAL_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void
caller_free (Caller *caller)
{
  g_free (caller->app_id);
  g_free (caller);
}

static void
peers_remove (BtCallers *self, const char *app_id, const char *sender)
{
  GPtrArray *senders = g_hash_table_lookup (self->peers, app_id);

  if (senders == NULL)
    return;
  for (guint i = 0; i < senders->len; i++)
    {
      if (g_str_equal (g_ptr_array_index (senders, i), sender))
        {
          g_ptr_array_remove_index_fast (senders, i);
          break;
        }
    }
  if (senders->len == 0)
    g_hash_table_remove (self->peers, app_id);
}

static void
peers_add (BtCallers *self, const char *app_id, const char *sender)
{
  GPtrArray *senders = g_hash_table_lookup (self->peers, app_id);

  if (senders == NULL)
    {
      senders = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_insert (self->peers, g_strdup (app_id), senders);
    }
  g_ptr_array_add (senders, g_strdup (sender));
}

static void
on_name_owner_changed (GDBusConnection *connection, const char *sender_name,
                       const char *object_path, const char *interface_name, const char *signal_name,
                       GVariant *parameters, gpointer user_data)
{
  BtCallers *self = user_data;
  const char *name, *old_owner, *new_owner;
  Caller *caller;

  g_variant_get (parameters, "(&s&s&s)", &name, &old_owner, &new_owner);
  if (*new_owner != '\0' || name[0] != ':')
    return;

  caller = g_hash_table_lookup (self->callers, name);
  if (caller == NULL)
    return;

  g_debug ("Caller %s (app “%s”) left the bus", name, caller->app_id);
  peers_remove (self, caller->app_id, name);
  g_hash_table_remove (self->callers, name);
  g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
}

static void
bt_callers_dispose (GObject *object)
{
  BtCallers *self = BT_CALLERS (object);

  if (self->name_owner_changed_id != 0)
    {
      g_dbus_connection_signal_unsubscribe (self->connection, self->name_owner_changed_id);
      self->name_owner_changed_id = 0;
    }
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (bt_callers_parent_class)->dispose (object);
}

static void
bt_callers_finalize (GObject *object)
{
  BtCallers *self = BT_CALLERS (object);

  g_hash_table_unref (self->callers);
  g_hash_table_unref (self->peers);

  G_OBJECT_CLASS (bt_callers_parent_class)->finalize (object);
}

static void
bt_callers_class_init (BtCallersClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bt_callers_dispose;
  object_class->finalize = bt_callers_finalize;

  /* Emitted when a caller appears or leaves. */
  signals[SIGNAL_CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
bt_callers_init (BtCallers *self)
{
  self->callers
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) caller_free);
  self->peers
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
}

BtCallers *
bt_callers_new (GDBusConnection *connection)
{
  BtCallers *self = g_object_new (BT_TYPE_CALLERS, NULL);

  self->connection = g_object_ref (connection);
  self->name_owner_changed_id = g_dbus_connection_signal_subscribe (
      connection, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged",
      "/org/freedesktop/DBus", NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_name_owner_changed, self, NULL);
  return self;
}

gboolean
bt_app_id_is_valid (const char *app_id)
{
  /* "" is the anonymous app; otherwise a D-Bus-name-like reverse-DNS id, as
   * Flatpak requires, so that a completion group can activate it. */
  if (*app_id == '\0')
    return TRUE;
  return strlen (app_id) <= 255 && g_dbus_is_name (app_id) && !g_dbus_is_unique_name (app_id);
}

/*
 * bt_callers_identify:
 * @declared_app_id: (nullable): the "app-id" option of the call, if any
 *
 * Returns: the app id the call acts for, or %NULL with @error set.
 */
const char *
bt_callers_identify (BtCallers *self, const char *sender, const char *declared_app_id,
                     GError **error)
{
  Caller *caller = g_hash_table_lookup (self->callers, sender);

  if (declared_app_id != NULL && !bt_app_id_is_valid (declared_app_id))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "“%s” is not a valid application id",
                   declared_app_id);
      return NULL;
    }

  if (caller == NULL)
    {
      caller = g_new0 (Caller, 1);
      caller->app_id = g_strdup (declared_app_id != NULL ? declared_app_id : "");
      caller->declared = declared_app_id != NULL;
      g_hash_table_insert (self->callers, g_strdup (sender), caller);
      peers_add (self, caller->app_id, sender);
      g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
      return caller->app_id;
    }

  if (declared_app_id == NULL || g_str_equal (declared_app_id, caller->app_id))
    return caller->app_id;

  if (caller->declared)
    {
      g_set_error (error, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                   "This connection already acts for another application");
      return NULL;
    }

  /* First declaration on a connection that acted undeclared so far */
  peers_remove (self, caller->app_id, sender);
  g_free (caller->app_id);
  caller->app_id = g_strdup (declared_app_id);
  caller->declared = TRUE;
  peers_add (self, caller->app_id, sender);
  return caller->app_id;
}

/* The app id of a connection for calls that carry no options (methods and
 * properties of transfer objects). */
const char *
bt_callers_lookup (BtCallers *self, const char *sender)
{
  /* Registers an unknown sender as the undeclared app "" so that it hears
   * about that app's transfers from now on. */
  return bt_callers_identify (self, sender, NULL, NULL);
}

/*
 * bt_callers_get_peers:
 *
 * Returns: (transfer none) (nullable): the unique names of the connections
 * that act for @app_id.
 */
GPtrArray *
bt_callers_get_peers (BtCallers *self, const char *app_id)
{
  return g_hash_table_lookup (self->peers, app_id);
}

guint
bt_callers_get_n_callers (BtCallers *self)
{
  return g_hash_table_size (self->callers);
}
