/* bgt-client.c: the connection to the background transfer service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bgt-private.h"

/**
 * BgtClient:
 *
 * The connection of an application to the background transfer service.
 *
 * A client binds the application id it is created with to its bus
 * connection; the service then shows it that application's transfers only.
 * It lists them (after a restart of the app, say) with
 * bgt_client_list_transfers_async(), and gives each transfer as one
 * #BgtTransfer object, whose properties follow the service's.
 *
 * Since: 0.1
 */
struct _BgtClient
{
  GObject parent_instance;

  GDBusConnection *connection;
  char *app_id;
  GHashTable *transfers; /* object path → BgtTransfer (weak) */
  guint name_owner_id;
  guint manager_changed_id;
  char *network_state;
  char *power_state;
};

enum
{
  PROP_0,
  PROP_CONNECTION,
  PROP_APP_ID,
  PROP_NETWORK_STATE,
  PROP_POWER_STATE,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

static void bgt_client_initable_iface_init (GInitableIface *iface);
static void bgt_client_async_initable_iface_init (GAsyncInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (BgtClient, bgt_client, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      bgt_client_initable_iface_init)
                                   G_IMPLEMENT_INTERFACE (G_TYPE_ASYNC_INITABLE,
                                                          bgt_client_async_initable_iface_init))

static void
on_transfer_finalized (gpointer data, GObject *where_the_object_was)
{
  BgtClient *self = data;
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->transfers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      if (value == (gpointer) where_the_object_was)
        {
          g_hash_table_iter_remove (&iter);
          break;
        }
    }
}

static void
bgt_client_dispose (GObject *object)
{
  BgtClient *self = BGT_CLIENT (object);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->transfers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_object_weak_unref (value, on_transfer_finalized, self);
  g_hash_table_remove_all (self->transfers);
  if (self->name_owner_id != 0)
    {
      g_dbus_connection_signal_unsubscribe (self->connection, self->name_owner_id);
      self->name_owner_id = 0;
    }
  if (self->manager_changed_id != 0)
    {
      g_dbus_connection_signal_unsubscribe (self->connection, self->manager_changed_id);
      self->manager_changed_id = 0;
    }
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (bgt_client_parent_class)->dispose (object);
}

static void
bgt_client_finalize (GObject *object)
{
  BgtClient *self = BGT_CLIENT (object);

  g_free (self->app_id);
  g_free (self->network_state);
  g_free (self->power_state);
  g_hash_table_unref (self->transfers);

  G_OBJECT_CLASS (bgt_client_parent_class)->finalize (object);
}

static void
bgt_client_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BgtClient *self = BGT_CLIENT (object);

  switch (prop_id)
    {
      case PROP_CONNECTION:
        g_value_set_object (value, self->connection);
        break;
      case PROP_APP_ID:
        g_value_set_string (value, self->app_id);
        break;
      case PROP_NETWORK_STATE:
        g_value_set_string (value, self->network_state);
        break;
      case PROP_POWER_STATE:
        g_value_set_string (value, self->power_state);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bgt_client_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  BgtClient *self = BGT_CLIENT (object);

  switch (prop_id)
    {
      case PROP_CONNECTION:
        self->connection = g_value_dup_object (value);
        break;
      case PROP_APP_ID:
        self->app_id = g_value_dup_string (value);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bgt_client_class_init (BgtClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bgt_client_dispose;
  object_class->finalize = bgt_client_finalize;

  /* Remote errors map to BGT_ERROR from the first call on */
  (void) BGT_ERROR;
  object_class->get_property = bgt_client_get_property;
  object_class->set_property = bgt_client_set_property;

  /**
   * BgtClient:connection:
   *
   * The bus connection to the service; %NULL at construction means the
   * session bus.
   *
   * Since: 0.1
   */
  props[PROP_CONNECTION]
      = g_param_spec_object ("connection", NULL, NULL, G_TYPE_DBUS_CONNECTION,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * BgtClient:app-id:
   *
   * The application id this client acts for, or %NULL for none declared.
   * Sandboxed applications are identified by their sandbox whatever this
   * says.
   *
   * Since: 0.1
   */
  props[PROP_APP_ID]
      = g_param_spec_string ("app-id", NULL, NULL, NULL,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * BgtClient:network-state:
   *
   * The state of the network as the service's cost policy sees it:
   * `unrestricted`, `metered`, `metered-over-limit`, `roaming`,
   * `background-restricted` or `offline` — why transfers wait in
   * %BGT_STATUS_PAUSED_COSTED_NETWORK or %BGT_STATUS_PAUSED_NO_NETWORK.
   * %NULL until known.
   *
   * Since: 0.1
   */
  props[PROP_NETWORK_STATE]
      = g_param_spec_string ("network-state", NULL, NULL, NULL,
                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /**
   * BgtClient:power-state:
   *
   * `normal`, `power-saver` or `battery-low`: why `low` and `default`
   * priority transfers wait in %BGT_STATUS_PAUSED_SYSTEM_POLICY. %NULL
   * until known.
   *
   * Since: 0.1
   */
  props[PROP_POWER_STATE]
      = g_param_spec_string ("power-state", NULL, NULL, NULL,
                             G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
bgt_client_init (BgtClient *self)
{
  self->transfers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

static void
on_rebound (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtClient *self = g_task_get_source_object (task);
  g_autoptr (GVariant) reply = NULL;
  GError *error = NULL;
  GHashTableIter iter;
  gpointer value;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, _bgt_error_convert (error));
      return;
    }
  g_hash_table_iter_init (&iter, self->transfers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    _bgt_transfer_refresh_all (value);
  g_task_return_boolean (task, TRUE);
}

static GVariant *app_id_options (BgtClient *self);

/* Binds the app id on the service's current instance (D-Bus-activating
 * one if there is none), then re-reads every transfer's state */
void
_bgt_client_rebind_async (BgtClient *self, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, NULL, callback, user_data);

  g_task_set_source_tag (task, _bgt_client_rebind_async);
  g_dbus_connection_call (self->connection, BGT_BUS_NAME, BGT_MANAGER_PATH, BGT_MANAGER_INTERFACE,
                          "GetTransfers", app_id_options (self), G_VARIANT_TYPE ("(ao)"),
                          G_DBUS_CALL_FLAGS_NONE, BGT_CALL_TIMEOUT_MS, NULL, on_rebound, task);
}

gboolean
_bgt_client_rebind_finish (BgtClient *self, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
on_rebound_quietly (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!_bgt_client_rebind_finish (BGT_CLIENT (source), result, &error))
    g_debug ("Cannot reach the service again: %s", error->message);
}

static void
rebind (BgtClient *self)
{
  _bgt_client_rebind_async (self, on_rebound_quietly, NULL);
}

static void
on_name_owner_changed (GDBusConnection *connection, const char *sender_name,
                       const char *object_path, const char *interface_name, const char *signal_name,
                       GVariant *parameters, gpointer user_data)
{
  BgtClient *self = user_data;
  const char *name, *old_owner, *new_owner;
  GHashTableIter iter;
  gpointer value;

  g_variant_get (parameters, "(&s&s&s)", &name, &old_owner, &new_owner);
  if (*new_owner == '\0')
    {
      /* The service went away under us (it never exits while we are
       * connected unless it crashed or was stopped): if someone waits
       * for a transfer, start it again, so that the transfer goes on */
      g_hash_table_iter_init (&iter, self->transfers);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (_bgt_transfer_has_waiters (value))
          {
            rebind (self);
            break;
          }
      return;
    }
  /* A new instance: the app id binds to the connection afresh, then the
   * transfers read their state again */
  rebind (self);
}

static GVariant *
app_id_options (BgtClient *self)
{
  GVariantBuilder options;

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  _bgt_client_add_app_id (self, &options);
  return g_variant_new ("(a{sv})", &options);
}

static void
update_state (BgtClient *self, GVariant *changed, const char *name, char **field, guint prop)
{
  const char *value;

  if (g_variant_lookup (changed, name, "&s", &value) && g_strcmp0 (value, *field) != 0)
    {
      g_free (*field);
      *field = g_strdup (value);
      g_object_notify_by_pspec (G_OBJECT (self), props[prop]);
    }
}

static void
update_manager_properties (BgtClient *self, GVariant *changed)
{
  update_state (self, changed, "NetworkState", &self->network_state, PROP_NETWORK_STATE);
  update_state (self, changed, "PowerState", &self->power_state, PROP_POWER_STATE);
}

static void
on_manager_changed (GDBusConnection *connection, const char *sender_name, const char *object_path,
                    const char *interface_name, const char *signal_name, GVariant *parameters,
                    gpointer user_data)
{
  g_autoptr (GVariant) changed = NULL;

  g_variant_get (parameters, "(&s@a{sv}@as)", NULL, &changed, NULL);
  update_manager_properties (BGT_CLIENT (user_data), changed);
}

static void
on_manager_properties (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BgtClient) self = user_data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) all = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, NULL);
  if (reply == NULL)
    return;
  g_variant_get (reply, "(@a{sv})", &all);
  update_manager_properties (self, all);
}

static void
subscribe (BgtClient *self)
{
  self->manager_changed_id = g_dbus_connection_signal_subscribe (
      self->connection, BGT_BUS_NAME, "org.freedesktop.DBus.Properties", "PropertiesChanged",
      BGT_MANAGER_PATH, BGT_MANAGER_INTERFACE, G_DBUS_SIGNAL_FLAGS_NONE, on_manager_changed, self,
      NULL);
  g_dbus_connection_call (self->connection, BGT_BUS_NAME, BGT_MANAGER_PATH,
                          "org.freedesktop.DBus.Properties", "GetAll",
                          g_variant_new ("(s)", BGT_MANAGER_INTERFACE), G_VARIANT_TYPE ("(a{sv})"),
                          G_DBUS_CALL_FLAGS_NONE, BGT_CALL_TIMEOUT_MS, NULL, on_manager_properties,
                          g_object_ref (self));
  self->name_owner_id = g_dbus_connection_signal_subscribe (
      self->connection, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged",
      "/org/freedesktop/DBus", BGT_BUS_NAME, G_DBUS_SIGNAL_FLAGS_NONE, on_name_owner_changed, self,
      NULL);
}

static gboolean
bgt_client_initable_init (GInitable *initable, GCancellable *cancellable, GError **error)
{
  BgtClient *self = BGT_CLIENT (initable);
  g_autoptr (GVariant) reply = NULL;
  GError *local_error = NULL;

  if (self->connection == NULL)
    {
      self->connection = g_bus_get_sync (G_BUS_TYPE_SESSION, cancellable, &local_error);
      if (self->connection == NULL)
        {
          g_propagate_error (error, _bgt_error_convert (local_error));
          return FALSE;
        }
    }
  /* Checks that the service answers (starting it) and binds the app id */
  reply = g_dbus_connection_call_sync (self->connection, BGT_BUS_NAME, BGT_MANAGER_PATH,
                                       BGT_MANAGER_INTERFACE, "GetTransfers", app_id_options (self),
                                       G_VARIANT_TYPE ("(ao)"), G_DBUS_CALL_FLAGS_NONE,
                                       BGT_CALL_TIMEOUT_MS, cancellable, &local_error);
  if (reply == NULL)
    {
      g_propagate_error (error, _bgt_error_convert (local_error));
      return FALSE;
    }
  subscribe (self);
  return TRUE;
}

static void
bgt_client_initable_iface_init (GInitableIface *iface)
{
  iface->init = bgt_client_initable_init;
}

static void
on_bound (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtClient *self = g_task_get_source_object (task);
  g_autoptr (GVariant) reply = NULL;
  GError *error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, _bgt_error_convert (error));
      return;
    }
  subscribe (self);
  g_task_return_boolean (task, TRUE);
}

static void
bind_app_id (GTask *task)
{
  BgtClient *self = g_task_get_source_object (task);

  g_dbus_connection_call (self->connection, BGT_BUS_NAME, BGT_MANAGER_PATH, BGT_MANAGER_INTERFACE,
                          "GetTransfers", app_id_options (self), G_VARIANT_TYPE ("(ao)"),
                          G_DBUS_CALL_FLAGS_NONE, BGT_CALL_TIMEOUT_MS,
                          g_task_get_cancellable (task), on_bound, task);
}

static void
on_bus (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtClient *self = g_task_get_source_object (task);
  GError *error = NULL;

  self->connection = g_bus_get_finish (result, &error);
  if (self->connection == NULL)
    {
      g_task_return_error (task, _bgt_error_convert (error));
      return;
    }
  bind_app_id (g_steal_pointer (&task));
}

static void
bgt_client_init_async (GAsyncInitable *initable, int io_priority, GCancellable *cancellable,
                       GAsyncReadyCallback callback, gpointer user_data)
{
  BgtClient *self = BGT_CLIENT (initable);
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, bgt_client_init_async);
  if (self->connection == NULL)
    g_bus_get (G_BUS_TYPE_SESSION, cancellable, on_bus, g_steal_pointer (&task));
  else
    bind_app_id (g_steal_pointer (&task));
}

static gboolean
bgt_client_init_finish (GAsyncInitable *initable, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, initable), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
bgt_client_async_initable_iface_init (GAsyncInitableIface *iface)
{
  iface->init_async = bgt_client_init_async;
  iface->init_finish = bgt_client_init_finish;
}

/**
 * bgt_client_new_async:
 * @app_id: (nullable): the application id to act for, or %NULL
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when the client is ready
 * @user_data: data for @callback
 *
 * Connects to the service on the session bus, starting it if needed.
 *
 * Since: 0.1
 */
void
bgt_client_new_async (const char *app_id, GCancellable *cancellable, GAsyncReadyCallback callback,
                      gpointer user_data)
{
  g_async_initable_new_async (BGT_TYPE_CLIENT, G_PRIORITY_DEFAULT, cancellable, callback, user_data,
                              "app-id", app_id, NULL);
}

/**
 * bgt_client_new_finish:
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the client, or %NULL with @error set
 *   (%BGT_ERROR_SERVICE_UNAVAILABLE if the service cannot be reached)
 *
 * Since: 0.1
 */
BgtClient *
bgt_client_new_finish (GAsyncResult *result, GError **error)
{
  g_autoptr (GObject) source = g_async_result_get_source_object (result);
  GObject *object = g_async_initable_new_finish (G_ASYNC_INITABLE (source), result, error);

  return object != NULL ? BGT_CLIENT (object) : NULL;
}

/**
 * bgt_client_new_sync:
 * @app_id: (nullable): the application id to act for, or %NULL
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * The blocking variant of bgt_client_new_async().
 *
 * Returns: (transfer full): the client, or %NULL with @error set
 *
 * Since: 0.1
 */
BgtClient *
bgt_client_new_sync (const char *app_id, GCancellable *cancellable, GError **error)
{
  return g_initable_new (BGT_TYPE_CLIENT, cancellable, error, "app-id", app_id, NULL);
}

/**
 * bgt_client_new_for_connection_async:
 * @connection: a #GDBusConnection to a bus with the service
 * @app_id: (nullable): the application id to act for, or %NULL
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when the client is ready
 * @user_data: data for @callback
 *
 * Like bgt_client_new_async() on a given bus connection.
 *
 * Since: 0.1
 */
void
bgt_client_new_for_connection_async (GDBusConnection *connection, const char *app_id,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data)
{
  g_return_if_fail (G_IS_DBUS_CONNECTION (connection));
  g_async_initable_new_async (BGT_TYPE_CLIENT, G_PRIORITY_DEFAULT, cancellable, callback, user_data,
                              "connection", connection, "app-id", app_id, NULL);
}

/**
 * bgt_client_new_for_connection_finish:
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the client, or %NULL with @error set
 *
 * Since: 0.1
 */
BgtClient *
bgt_client_new_for_connection_finish (GAsyncResult *result, GError **error)
{
  return bgt_client_new_finish (result, error);
}

/**
 * bgt_client_new_for_connection_sync:
 * @connection: a #GDBusConnection to a bus with the service
 * @app_id: (nullable): the application id to act for, or %NULL
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the client, or %NULL with @error set
 *
 * Since: 0.1
 */
BgtClient *
bgt_client_new_for_connection_sync (GDBusConnection *connection, const char *app_id,
                                    GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), NULL);
  return g_initable_new (BGT_TYPE_CLIENT, cancellable, error, "connection", connection, "app-id",
                         app_id, NULL);
}

/**
 * bgt_client_get_connection:
 * @self: a #BgtClient
 *
 * Returns: (transfer none): the bus connection
 *
 * Since: 0.1
 */
GDBusConnection *
bgt_client_get_connection (BgtClient *self)
{
  g_return_val_if_fail (BGT_IS_CLIENT (self), NULL);
  return self->connection;
}

/**
 * bgt_client_get_network_state:
 * @self: a #BgtClient
 *
 * Returns: (nullable): the #BgtClient:network-state
 *
 * Since: 0.1
 */
const char *
bgt_client_get_network_state (BgtClient *self)
{
  g_return_val_if_fail (BGT_IS_CLIENT (self), NULL);
  return self->network_state;
}

/**
 * bgt_client_get_power_state:
 * @self: a #BgtClient
 *
 * Returns: (nullable): the #BgtClient:power-state
 *
 * Since: 0.1
 */
const char *
bgt_client_get_power_state (BgtClient *self)
{
  g_return_val_if_fail (BGT_IS_CLIENT (self), NULL);
  return self->power_state;
}

/**
 * bgt_client_get_app_id:
 * @self: a #BgtClient
 *
 * Returns: (nullable): the declared application id
 *
 * Since: 0.1
 */
const char *
bgt_client_get_app_id (BgtClient *self)
{
  g_return_val_if_fail (BGT_IS_CLIENT (self), NULL);
  return self->app_id;
}

void
_bgt_client_add_app_id (BgtClient *self, GVariantBuilder *options)
{
  if (self->app_id != NULL)
    g_variant_builder_add (options, "{sv}", "app-id", g_variant_new_string (self->app_id));
}

void
_bgt_client_call (BgtClient *self, const char *method, GVariant *parameters, GUnixFDList *fd_list,
                  GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_dbus_connection_call_with_unix_fd_list (
      self->connection, BGT_BUS_NAME, BGT_MANAGER_PATH, BGT_MANAGER_INTERFACE, method, parameters,
      NULL, G_DBUS_CALL_FLAGS_NONE, BGT_CALL_TIMEOUT_MS, fd_list, cancellable, callback, user_data);
}

GVariant *
_bgt_client_call_finish (BgtClient *self, GAsyncResult *result, GError **error)
{
  GError *local_error = NULL;
  GVariant *reply = g_dbus_connection_call_with_unix_fd_list_finish (self->connection, NULL, result,
                                                                     &local_error);

  if (reply == NULL)
    g_propagate_error (error, _bgt_error_convert (local_error));
  return reply;
}

/* ---- Transfers ---------------------------------------------------------- */

static void
on_get_all (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtClient *self = g_task_get_source_object (task);
  const char *path = g_task_get_task_data (task);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) properties = NULL;
  GError *error = NULL;
  BgtTransfer *transfer;
  const char *kind = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, _bgt_error_convert (error));
      return;
    }
  g_variant_get (reply, "(@a{sv})", &properties);

  transfer = g_hash_table_lookup (self->transfers, path);
  if (transfer != NULL)
    {
      _bgt_transfer_update (transfer, properties);
      g_task_return_pointer (task, g_object_ref (transfer), g_object_unref);
      return;
    }

  g_variant_lookup (properties, "Kind", "&s", &kind);
  transfer = g_object_new (g_strcmp0 (kind, "upload") == 0 ? BGT_TYPE_UPLOAD : BGT_TYPE_DOWNLOAD,
                           "client", self, "object-path", path, NULL);
  _bgt_transfer_update (transfer, properties);
  g_hash_table_insert (self->transfers, g_strdup (path), transfer);
  g_object_weak_ref (G_OBJECT (transfer), on_transfer_finalized, self);
  g_task_return_pointer (task, transfer, g_object_unref);
}

void
_bgt_client_load_transfer_async (BgtClient *self, const char *object_path,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, _bgt_client_load_transfer_async);
  g_task_set_task_data (task, g_strdup (object_path), g_free);
  g_dbus_connection_call (self->connection, BGT_BUS_NAME, object_path,
                          "org.freedesktop.DBus.Properties", "GetAll",
                          g_variant_new ("(s)", BGT_TRANSFER_INTERFACE), G_VARIANT_TYPE ("(a{sv})"),
                          G_DBUS_CALL_FLAGS_NONE, BGT_CALL_TIMEOUT_MS, cancellable, on_get_all,
                          g_steal_pointer (&task));
}

BgtTransfer *
_bgt_client_load_transfer_finish (BgtClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

typedef struct
{
  GListStore *store;
  GPtrArray *paths; /* strings, in the service's order */
  GPtrArray *found; /* BgtTransfer or NULL, index for index */
  guint pending;
  GError *error;
} ListData;

static void
unref_if_set (gpointer object)
{
  if (object != NULL)
    g_object_unref (object);
}

static void
list_data_free (ListData *data)
{
  g_clear_object (&data->store);
  g_clear_pointer (&data->paths, g_ptr_array_unref);
  g_clear_pointer (&data->found, g_ptr_array_unref);
  g_clear_error (&data->error);
  g_free (data);
}

static void
on_listed_transfer (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  ListData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (BgtTransfer) transfer = NULL;

  transfer = _bgt_client_load_transfer_finish (BGT_CLIENT (source), result, &error);
  if (transfer == NULL && data->error == NULL
      && !g_error_matches (error, BGT_ERROR, BGT_ERROR_NOT_FOUND))
    data->error = g_steal_pointer (&error); /* one removed meanwhile is no error */
  if (transfer != NULL)
    {
      /* keep the service's order */
      for (guint i = 0; i < data->paths->len; i++)
        if (g_str_equal (g_ptr_array_index (data->paths, i),
                         bgt_transfer_get_object_path (transfer)))
          {
            g_ptr_array_index (data->found, i) = g_object_ref (transfer);
            break;
          }
    }
  if (--data->pending > 0)
    return;

  if (data->error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&data->error));
      return;
    }
  for (guint i = 0; i < data->found->len; i++)
    {
      gpointer item = g_ptr_array_index (data->found, i);

      if (item != NULL)
        g_list_store_append (data->store, item);
    }
  g_task_return_pointer (task, g_object_ref (data->store), g_object_unref);
}

static void
on_get_transfers (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtClient *self = g_task_get_source_object (task);
  ListData *data = g_task_get_task_data (task);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariantIter) iter = NULL;
  GError *error = NULL;
  const char *path;

  reply = _bgt_client_call_finish (self, result, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_variant_get (reply, "(ao)", &iter);
  while (g_variant_iter_next (iter, "&o", &path))
    g_ptr_array_add (data->paths, g_strdup (path));
  if (data->paths->len == 0)
    {
      g_task_return_pointer (task, g_object_ref (data->store), g_object_unref);
      return;
    }
  data->pending = data->paths->len;
  g_ptr_array_set_size (data->found, data->paths->len);
  for (guint i = 0; i < data->paths->len; i++)
    _bgt_client_load_transfer_async (self, g_ptr_array_index (data->paths, i),
                                     g_task_get_cancellable (task), on_listed_transfer,
                                     g_object_ref (task));
}

/**
 * bgt_client_list_transfers_async:
 * @self: a #BgtClient
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the list
 * @user_data: data for @callback
 *
 * Lists the application's transfers, oldest first, persisted ones
 * included: this is how an application finds its transfers again after a
 * restart.
 *
 * Since: 0.1
 */
void
bgt_client_list_transfers_async (BgtClient *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  ListData *data = g_new0 (ListData, 1);

  g_return_if_fail (BGT_IS_CLIENT (self));
  g_task_set_source_tag (task, bgt_client_list_transfers_async);
  data->store = g_list_store_new (BGT_TYPE_TRANSFER);
  data->paths = g_ptr_array_new_with_free_func (g_free);
  data->found = g_ptr_array_new_with_free_func (unref_if_set);
  g_task_set_task_data (task, data, (GDestroyNotify) list_data_free);
  _bgt_client_call (self, "GetTransfers", app_id_options (self), NULL, cancellable,
                    on_get_transfers, g_steal_pointer (&task));
}

/**
 * bgt_client_list_transfers_finish:
 * @self: a #BgtClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): a #GListModel of #BgtTransfer
 *
 * Since: 0.1
 */
GListModel *
bgt_client_list_transfers_finish (BgtClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bgt_client_list_transfers_async,
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_transfer_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  BgtTransfer *transfer = _bgt_client_load_transfer_finish (BGT_CLIENT (source), result, &error);

  if (transfer == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, transfer, g_object_unref);
}

/**
 * bgt_client_get_transfer_async:
 * @self: a #BgtClient
 * @id_or_path: a transfer's id or object path
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the transfer
 * @user_data: data for @callback
 *
 * Finds one of the application's transfers.
 *
 * Since: 0.1
 */
void
bgt_client_get_transfer_async (BgtClient *self, const char *id_or_path, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autofree char *path = NULL;

  g_return_if_fail (BGT_IS_CLIENT (self));
  g_return_if_fail (id_or_path != NULL);
  g_task_set_source_tag (task, bgt_client_get_transfer_async);

  path = g_str_has_prefix (id_or_path, "/")
             ? g_strdup (id_or_path)
             : g_strconcat (BGT_TRANSFER_PATH_PREFIX, id_or_path, NULL);
  if (!g_variant_is_object_path (path) || !g_str_has_prefix (path, BGT_TRANSFER_PATH_PREFIX))
    {
      g_task_return_new_error (task, BGT_ERROR, BGT_ERROR_NOT_FOUND, "No transfer “%s”",
                               id_or_path);
      return;
    }
  _bgt_client_load_transfer_async (self, path, cancellable, on_transfer_loaded,
                                   g_steal_pointer (&task));
}

/**
 * bgt_client_get_transfer_finish:
 * @self: a #BgtClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: (transfer full): the transfer (a #BgtDownload or #BgtUpload),
 *   or %NULL with @error set
 *
 * Since: 0.1
 */
BgtTransfer *
bgt_client_get_transfer_finish (BgtClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bgt_client_get_transfer_async,
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_configured (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GVariant) reply = NULL;
  GError *error = NULL;

  reply = _bgt_client_call_finish (g_task_get_source_object (task), result, &error);
  if (reply == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * bgt_client_configure_group_async:
 * @self: a #BgtClient
 * @group: a transfer group name of the application
 * @behavior: a #BgtTransferBehavior
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when done
 * @user_data: data for @callback
 *
 * Makes a group of transfers run side by side or one at a time.
 *
 * Since: 0.1
 */
void
bgt_client_configure_group_async (BgtClient *self, const char *group, BgtTransferBehavior behavior,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  GVariantBuilder options;

  g_task_set_source_tag (task, bgt_client_configure_group_async);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  _bgt_client_add_app_id (self, &options);
  g_variant_builder_add (&options, "{sv}", "behavior",
                         g_variant_new_string (behavior == BGT_TRANSFER_BEHAVIOR_SERIALIZED
                                                   ? "serialized"
                                                   : "parallel"));
  _bgt_client_call (self, "ConfigureGroup", g_variant_new ("(sa{sv})", group, &options), NULL,
                    cancellable, on_configured, g_steal_pointer (&task));
}

/**
 * bgt_client_configure_group_finish:
 * @self: a #BgtClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 *
 * Since: 0.1
 */
gboolean
bgt_client_configure_group_finish (BgtClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
