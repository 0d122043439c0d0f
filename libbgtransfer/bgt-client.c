/* bgt-client.c: the connection to the background transfer service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bgt-call-queue.h"
#include "bgt-private.h"

/**
 * BgtClient:
 *
 * The connection of an application to the background transfer service.
 *
 * A client binds the application id it is created with to its bus
 * connection; the service then shows it that application's transfers only.
 * It lists them (after a restart of the app, say) with
 * bgt_client_list_transfers_async(), a list that stays up to date as
 * transfers come and go, and gives each transfer as one #BgtTransfer
 * object, whose properties follow the service's.
 *
 * However many transfers an application follows, the client listens to
 * the service through one signal subscription (one match rule on the
 * bus), and sends at most 64 calls at a time, the others in order as
 * replies come back: an application may create or follow thousands of
 * transfers at once without meeting the limits of the message bus. Use a
 * client from the main context it was created in.
 *
 * The service may be restarted under a client (after a crash, say): the
 * client binds its application id on the new instance and its objects
 * read their state again. A wait (bgt_transfer_wait_async()) starts the
 * service again itself. Creating a client, and looking a transfer up, ask
 * the next instance once more when the one that had the call died before
 * it answered; a call that changes something is never made twice, and
 * fails with %BGT_ERROR_SERVICE_UNAVAILABLE.
 *
 * Since: 0.1
 */
struct _BgtClient
{
  GObject parent_instance;

  GDBusConnection *connection;
  char *app_id;
  char *service_owner; /* the unique name of the service's current instance */
  guint instance;      /* counts the changes of the service's owner */
  guint signals_id;    /* the one subscription to the service's signals */
  guint name_owner_id;

  GHashTable *transfers;         /* object path → BgtTransfer, unowned (it unregisters) */
  GHashTable *completion_groups; /* object path → BgtCompletionGroup, unowned */
  GHashTable *loads;             /* object path → GPtrArray of GTask awaiting its GetAll */
  GPtrArray *rebinds;            /* GTask of _bgt_client_rebind_async(), or NULL */

  /* The live list of bgt_client_list_transfers_async(), kept up to date
   * while someone holds it */
  GListStore *live;        /* weak */
  GHashTable *live_paths;  /* the object paths in it */
  GHashTable *live_adding; /* object paths being loaded to join it */
  GPtrArray *live_waiters; /* GTask: while the first listing runs */
  GQueue live_events;      /* LiveEvent: signals heard during that listing */

  BgtNetworkState network_state;
  BgtPowerState power_state;
  guint service_version;
};

typedef struct
{
  gboolean added;
  char *path;
} LiveEvent;

enum
{
  PROP_0,
  PROP_CONNECTION,
  PROP_APP_ID,
  PROP_NETWORK_STATE,
  PROP_POWER_STATE,
  PROP_SERVICE_VERSION,
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
live_event_free (LiveEvent *event)
{
  g_free (event->path);
  g_free (event);
}

static void
bgt_client_dispose (GObject *object)
{
  BgtClient *self = BGT_CLIENT (object);

  g_hash_table_remove_all (self->transfers);
  g_hash_table_remove_all (self->completion_groups);
  g_clear_weak_pointer (&self->live);
  g_queue_clear_full (&self->live_events, (GDestroyNotify) live_event_free);
  if (self->signals_id != 0)
    {
      g_dbus_connection_signal_unsubscribe (self->connection, self->signals_id);
      self->signals_id = 0;
    }
  if (self->name_owner_id != 0)
    {
      g_dbus_connection_signal_unsubscribe (self->connection, self->name_owner_id);
      self->name_owner_id = 0;
    }
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (bgt_client_parent_class)->dispose (object);
}

static void
bgt_client_finalize (GObject *object)
{
  BgtClient *self = BGT_CLIENT (object);

  g_free (self->app_id);
  g_free (self->service_owner);
  g_hash_table_unref (self->transfers);
  g_hash_table_unref (self->completion_groups);
  g_hash_table_unref (self->loads);
  g_hash_table_unref (self->live_paths);
  g_hash_table_unref (self->live_adding);
  g_clear_pointer (&self->rebinds, g_ptr_array_unref);
  g_clear_pointer (&self->live_waiters, g_ptr_array_unref);

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
        g_value_set_enum (value, self->network_state);
        break;
      case PROP_POWER_STATE:
        g_value_set_enum (value, self->power_state);
        break;
      case PROP_SERVICE_VERSION:
        g_value_set_uint (value, self->service_version);
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
  object_class->get_property = bgt_client_get_property;
  object_class->set_property = bgt_client_set_property;

  /* Remote errors map to BGT_ERROR from the first call on */
  (void) BGT_ERROR;

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
   * The state of the network as the service's cost policy sees it: why
   * transfers wait in %BGT_STATUS_PAUSED_COSTED_NETWORK or
   * %BGT_STATUS_PAUSED_NO_NETWORK. Known from the construction of the
   * client on, and kept up to date.
   *
   * Since: 0.1
   */
  props[PROP_NETWORK_STATE] = g_param_spec_enum (
      "network-state", NULL, NULL, BGT_TYPE_NETWORK_STATE, BGT_NETWORK_STATE_UNRESTRICTED,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /**
   * BgtClient:power-state:
   *
   * The power state as the service sees it: why %BGT_PRIORITY_LOW and
   * %BGT_PRIORITY_DEFAULT transfers wait in
   * %BGT_STATUS_PAUSED_SYSTEM_POLICY. Known from the construction of the
   * client on, and kept up to date.
   *
   * Since: 0.1
   */
  props[PROP_POWER_STATE]
      = g_param_spec_enum ("power-state", NULL, NULL, BGT_TYPE_POWER_STATE, BGT_POWER_STATE_NORMAL,
                           G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  /**
   * BgtClient:service-version:
   *
   * The version of the service's D-Bus interface (the Manager's
   * `Version`), 1 for this library's.
   *
   * Since: 1.0
   */
  props[PROP_SERVICE_VERSION]
      = g_param_spec_uint ("service-version", NULL, NULL, 0, G_MAXUINT, 0,
                           G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
bgt_client_init (BgtClient *self)
{
  self->transfers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->completion_groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->loads
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_ptr_array_unref);
  self->live_paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->live_adding = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_queue_init (&self->live_events);
  self->network_state = BGT_NETWORK_STATE_UNRESTRICTED;
  self->power_state = BGT_POWER_STATE_NORMAL;
}

/* ---- The objects the client's subscription serves ------------------------ */

void
_bgt_client_register_transfer (BgtClient *self, BgtTransfer *transfer)
{
  g_hash_table_replace (self->transfers, g_strdup (bgt_transfer_get_object_path (transfer)),
                        transfer);
}

void
_bgt_client_unregister_transfer (BgtClient *self, BgtTransfer *transfer)
{
  const char *path = bgt_transfer_get_object_path (transfer);

  if (g_hash_table_lookup (self->transfers, path) == transfer)
    g_hash_table_remove (self->transfers, path);
}

void
_bgt_client_register_completion_group (BgtClient *self, BgtCompletionGroup *group)
{
  g_hash_table_replace (self->completion_groups,
                        g_strdup (bgt_completion_group_get_object_path (group)), group);
}

void
_bgt_client_unregister_completion_group (BgtClient *self, BgtCompletionGroup *group)
{
  const char *path = bgt_completion_group_get_object_path (group);

  if (g_hash_table_lookup (self->completion_groups, path) == group)
    g_hash_table_remove (self->completion_groups, path);
}

/* ---- Calls -------------------------------------------------------------- */

static GVariant *
app_id_options (BgtClient *self)
{
  GVariantBuilder options;

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  _bgt_client_add_app_id (self, &options);
  return g_variant_new ("(a{sv})", &options);
}

void
_bgt_client_add_app_id (BgtClient *self, GVariantBuilder *options)
{
  if (self->app_id != NULL)
    g_variant_builder_add (options, "{sv}", "app-id", g_variant_new_string (self->app_id));
}

void
_bgt_client_call (BgtClient *self, const char *object_path, const char *interface_name,
                  const char *method_name, GVariant *parameters, const GVariantType *reply_type,
                  GUnixFDList *fd_list, GCancellable *cancellable, GAsyncReadyCallback callback,
                  gpointer user_data)
{
  _bgt_call (self->connection, object_path, interface_name, method_name, parameters, reply_type,
             fd_list, cancellable, callback, user_data);
}

GVariant *
_bgt_client_call_finish (BgtClient *self, GAsyncResult *result, GUnixFDList **out_fd_list,
                         GError **error)
{
  return _bgt_call_finish (result, out_fd_list, error);
}

/* ---- The live list ------------------------------------------------------ */

static void
on_live_loaded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BgtClient *self = BGT_CLIENT (source);
  g_autofree char *path = user_data;
  g_autoptr (BgtTransfer) transfer = NULL;
  g_autoptr (GError) error = NULL;

  transfer = _bgt_client_load_transfer_finish (self, result, &error);
  /* Removed again meanwhile, or gone before we looked */
  if (!g_hash_table_remove (self->live_adding, path) || transfer == NULL)
    return;
  if (self->live != NULL && !g_hash_table_contains (self->live_paths, path))
    {
      g_hash_table_add (self->live_paths, g_strdup (path));
      g_list_store_append (self->live, transfer);
    }
}

static void
live_add (BgtClient *self, const char *path)
{
  if (g_hash_table_contains (self->live_paths, path)
      || g_hash_table_contains (self->live_adding, path))
    return;
  g_hash_table_add (self->live_adding, g_strdup (path));
  _bgt_client_load_transfer_async (self, path, NULL, on_live_loaded, g_strdup (path));
}

static void
live_remove (BgtClient *self, const char *path)
{
  BgtTransfer *transfer;
  guint position;

  g_hash_table_remove (self->live_adding, path);
  if (!g_hash_table_remove (self->live_paths, path))
    return;
  transfer = g_hash_table_lookup (self->transfers, path);
  if (transfer != NULL && g_list_store_find (self->live, transfer, &position))
    g_list_store_remove (self->live, position);
}

static void
live_event (BgtClient *self, gboolean added, const char *path)
{
  if (self->live_waiters != NULL)
    {
      /* The first listing runs: after it */
      LiveEvent *event = g_new0 (LiveEvent, 1);

      event->added = added;
      event->path = g_strdup (path);
      g_queue_push_tail (&self->live_events, event);
      return;
    }
  if (self->live == NULL)
    return; /* nobody holds the list */
  if (added)
    live_add (self, path);
  else
    live_remove (self, path);
}

/* After a restart of the service: what it lists now */
static void
live_reconcile (BgtClient *self, const char *const *paths)
{
  g_autoptr (GHashTable) listed = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer path;

  if (self->live == NULL || self->live_waiters != NULL)
    return;
  for (guint i = 0; paths[i] != NULL; i++)
    g_hash_table_add (listed, (gpointer) paths[i]);
  g_hash_table_iter_init (&iter, self->live_paths);
  while (g_hash_table_iter_next (&iter, &path, NULL))
    if (!g_hash_table_contains (listed, path))
      g_ptr_array_add (gone, g_strdup (path));
  for (guint i = 0; i < gone->len; i++)
    live_remove (self, g_ptr_array_index (gone, i));
  for (guint i = 0; paths[i] != NULL; i++)
    live_add (self, paths[i]);
}

/* ---- Signals ------------------------------------------------------------ */

static void
update_manager_properties (BgtClient *self, GVariant *properties)
{
  const char *value;
  guint version;

  if (g_variant_lookup (properties, "NetworkState", "&s", &value))
    {
      BgtNetworkState state
          = _bgt_enum_from_string (BGT_TYPE_NETWORK_STATE, value, self->network_state);

      if (state != self->network_state)
        {
          self->network_state = state;
          g_object_notify_by_pspec (G_OBJECT (self), props[PROP_NETWORK_STATE]);
        }
    }
  if (g_variant_lookup (properties, "PowerState", "&s", &value))
    {
      BgtPowerState state = _bgt_enum_from_string (BGT_TYPE_POWER_STATE, value, self->power_state);

      if (state != self->power_state)
        {
          self->power_state = state;
          g_object_notify_by_pspec (G_OBJECT (self), props[PROP_POWER_STATE]);
        }
    }
  if (g_variant_lookup (properties, "Version", "u", &version) && version != self->service_version)
    {
      self->service_version = version;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_SERVICE_VERSION]);
    }
}

static void
on_manager_signal (BgtClient *self, const char *interface_name, const char *signal_name,
                   GVariant *parameters)
{
  if (g_str_equal (interface_name, BGT_PROPERTIES_INTERFACE)
      && g_str_equal (signal_name, "PropertiesChanged")
      && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sa{sv}as)")))
    {
      g_autoptr (GVariant) changed = NULL;
      const char *iface;

      g_variant_get (parameters, "(&s@a{sv}@as)", &iface, &changed, NULL);
      if (g_str_equal (iface, BGT_MANAGER_INTERFACE))
        update_manager_properties (self, changed);
    }
  else if (g_str_equal (interface_name, BGT_MANAGER_INTERFACE)
           && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(o)")))
    {
      const char *path;

      g_variant_get (parameters, "(&o)", &path);
      if (g_str_equal (signal_name, "TransferAdded"))
        live_event (self, TRUE, path);
      else if (g_str_equal (signal_name, "TransferRemoved"))
        live_event (self, FALSE, path);
    }
}

/* Every signal of the service: one subscription, one match rule on the
 * bus, dispatched here to the object it is about */
static void
on_service_signal (GDBusConnection *connection, const char *sender_name, const char *object_path,
                   const char *interface_name, const char *signal_name, GVariant *parameters,
                   gpointer user_data)
{
  BgtClient *self = user_data;
  gpointer object;

  /* Only from the service itself: another peer may send us signals too */
  if (self->service_owner == NULL || g_strcmp0 (sender_name, self->service_owner) != 0)
    return;
  if (g_str_equal (object_path, BGT_MANAGER_PATH))
    on_manager_signal (self, interface_name, signal_name, parameters);
  else if ((object = g_hash_table_lookup (self->transfers, object_path)) != NULL)
    _bgt_transfer_handle_signal (object, interface_name, signal_name, parameters);
  else if ((object = g_hash_table_lookup (self->completion_groups, object_path)) != NULL)
    _bgt_completion_group_handle_signal (object, interface_name, signal_name, parameters);
}

static void
on_manager_properties (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BgtClient) self = user_data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) all = NULL;

  reply = _bgt_client_call_finish (self, result, NULL, NULL);
  if (reply == NULL)
    return;
  g_variant_get (reply, "(@a{sv})", &all);
  update_manager_properties (self, all);
}

static void
refresh_manager_properties (BgtClient *self)
{
  _bgt_client_call (self, BGT_MANAGER_PATH, BGT_PROPERTIES_INTERFACE, "GetAll",
                    g_variant_new ("(s)", BGT_MANAGER_INTERFACE), G_VARIANT_TYPE ("(a{sv})"), NULL,
                    NULL, on_manager_properties, g_object_ref (self));
}

/* ---- A new instance of the service -------------------------------------- */

/* Whether a call failed because the service was not there to answer it.
 * Most often the instance that had the call died before it answered (a
 * crash, a kill -9): the next call D-Bus-activates a new instance, so a
 * call that only reads is worth making once more, after binding the app
 * id there. When no instance can be started, the second try fails as fast
 * as the first. */
static gboolean
is_instance_lost (const GError *error)
{
  return g_error_matches (error, BGT_ERROR, BGT_ERROR_SERVICE_UNAVAILABLE);
}

/* Whether the state read now from the service's current instance stays
 * current: its signals reach us until its owner changes, which bumps the
 * count (a reply of an instance is always routed before the bus says it
 * has gone) */
gboolean
_bgt_client_get_instance (BgtClient *self, guint *instance)
{
  *instance = self->instance;
  return self->service_owner != NULL;
}

static void
on_group_refreshed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  if (!bgt_completion_group_refresh_finish (BGT_COMPLETION_GROUP (source), result, &error))
    g_debug ("Cannot read a completion group again: %s", error->message);
}

static void
on_rebound (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BgtClient) self = user_data;
  g_autoptr (GPtrArray) tasks = g_steal_pointer (&self->rebinds);
  g_autoptr (GVariant) reply = NULL;
  g_autofree const char **paths = NULL;
  g_autoptr (GError) error = NULL;
  GHashTableIter iter;
  gpointer value;

  reply = _bgt_client_call_finish (self, result, NULL, &error);
  if (reply == NULL)
    {
      for (guint i = 0; i < tasks->len; i++)
        g_task_return_error (g_ptr_array_index (tasks, i), g_error_copy (error));
      return;
    }
  g_variant_get (reply, "(^a&o)", &paths);
  g_hash_table_iter_init (&iter, self->transfers);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    _bgt_transfer_refresh_all (value);
  g_hash_table_iter_init (&iter, self->completion_groups);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    bgt_completion_group_refresh_async (value, NULL, on_group_refreshed, NULL);
  refresh_manager_properties (self);
  live_reconcile (self, paths);
  for (guint i = 0; i < tasks->len; i++)
    g_task_return_boolean (g_ptr_array_index (tasks, i), TRUE);
}

/* Binds the app id on the service's current instance (D-Bus-activating
 * one if there is none), then reads every object's state again. Rebinds
 * asked for while one runs share it. */
void
_bgt_client_rebind_async (BgtClient *self, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (self, NULL, callback, user_data);

  g_task_set_source_tag (task, _bgt_client_rebind_async);
  if (self->rebinds != NULL)
    {
      g_ptr_array_add (self->rebinds, task);
      return;
    }
  self->rebinds = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (self->rebinds, task);
  _bgt_client_call (self, BGT_MANAGER_PATH, BGT_MANAGER_INTERFACE, "GetTransfers",
                    app_id_options (self), G_VARIANT_TYPE ("(ao)"), NULL, NULL, on_rebound,
                    g_object_ref (self));
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
on_name_owner_changed (GDBusConnection *connection, const char *sender_name,
                       const char *object_path, const char *interface_name, const char *signal_name,
                       GVariant *parameters, gpointer user_data)
{
  BgtClient *self = user_data;
  const char *name, *old_owner, *new_owner;
  GHashTableIter iter;
  gpointer value;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sss)")))
    return;
  g_variant_get (parameters, "(&s&s&s)", &name, &old_owner, &new_owner);
  /* What the objects know came from the previous instance */
  self->instance++;
  g_free (self->service_owner);
  self->service_owner = *new_owner != '\0' ? g_strdup (new_owner) : NULL;
  if (*new_owner == '\0')
    {
      /* The service went away under us (it never exits while we are
       * connected unless it crashed or was stopped): if someone waits
       * for a transfer, start it again, so that the transfer goes on */
      g_hash_table_iter_init (&iter, self->transfers);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (_bgt_transfer_has_waiters (value))
          {
            _bgt_client_rebind_async (self, on_rebound_quietly, NULL);
            break;
          }
      return;
    }
  /* A new instance: the app id binds to the connection afresh, then the
   * objects read their state again */
  _bgt_client_rebind_async (self, on_rebound_quietly, NULL);
}

static void
subscribe (BgtClient *self)
{
  /* sender, and nothing else: every signal of the service, for every
   * object of the app, in one match rule */
  self->signals_id = g_dbus_connection_signal_subscribe (self->connection, BGT_BUS_NAME, NULL, NULL,
                                                         NULL, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                                         on_service_signal, self, NULL);
  self->name_owner_id = g_dbus_connection_signal_subscribe (
      self->connection, "org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged",
      "/org/freedesktop/DBus", BGT_BUS_NAME, G_DBUS_SIGNAL_FLAGS_NONE, on_name_owner_changed, self,
      NULL);
}

/* ---- Construction ------------------------------------------------------- */

/* Binds the app id (D-Bus-activating the service), then reads who owns
 * the name and the manager's properties */
static gboolean
bind_sync (BgtClient *self, GCancellable *cancellable, GError **error)
{
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) all = NULL;
  GError *local_error = NULL;

  reply = g_dbus_connection_call_sync (self->connection, BGT_BUS_NAME, BGT_MANAGER_PATH,
                                       BGT_MANAGER_INTERFACE, "GetTransfers", app_id_options (self),
                                       G_VARIANT_TYPE ("(ao)"), G_DBUS_CALL_FLAGS_NONE,
                                       BGT_CALL_TIMEOUT_MS, cancellable, &local_error);
  if (reply == NULL)
    {
      g_propagate_error (error, _bgt_error_convert (local_error));
      return FALSE;
    }
  g_clear_pointer (&reply, g_variant_unref);
  reply = g_dbus_connection_call_sync (
      self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
      "GetNameOwner", g_variant_new ("(s)", BGT_BUS_NAME), G_VARIANT_TYPE ("(s)"),
      G_DBUS_CALL_FLAGS_NONE, BGT_CALL_TIMEOUT_MS, cancellable, &local_error);
  if (reply == NULL)
    {
      g_propagate_error (error, _bgt_error_convert (local_error));
      return FALSE;
    }
  g_clear_pointer (&self->service_owner, g_free);
  g_variant_get (reply, "(s)", &self->service_owner);
  g_clear_pointer (&reply, g_variant_unref);
  reply = g_dbus_connection_call_sync (
      self->connection, BGT_BUS_NAME, BGT_MANAGER_PATH, BGT_PROPERTIES_INTERFACE, "GetAll",
      g_variant_new ("(s)", BGT_MANAGER_INTERFACE), G_VARIANT_TYPE ("(a{sv})"),
      G_DBUS_CALL_FLAGS_NONE, BGT_CALL_TIMEOUT_MS, cancellable, &local_error);
  if (reply == NULL)
    {
      g_propagate_error (error, _bgt_error_convert (local_error));
      return FALSE;
    }
  g_variant_get (reply, "(@a{sv})", &all);
  update_manager_properties (self, all);
  return TRUE;
}

static gboolean
bgt_client_initable_init (GInitable *initable, GCancellable *cancellable, GError **error)
{
  BgtClient *self = BGT_CLIENT (initable);
  g_autoptr (GError) local_error = NULL;

  if (self->connection == NULL)
    {
      self->connection = g_bus_get_sync (G_BUS_TYPE_SESSION, cancellable, &local_error);
      if (self->connection == NULL)
        {
          g_propagate_error (error, _bgt_error_convert (g_steal_pointer (&local_error)));
          return FALSE;
        }
    }
  subscribe (self);
  /* Checks that the service answers (starting it) and binds the app id;
   * once more if the instance died meanwhile */
  if (bind_sync (self, cancellable, &local_error))
    return TRUE;
  if (!is_instance_lost (local_error))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  g_clear_error (&local_error);
  return bind_sync (self, cancellable, error);
}

static void
bgt_client_initable_iface_init (GInitableIface *iface)
{
  iface->init = bgt_client_initable_init;
}

static void bind_app_id (GTask *task);

/* Ends the initialisation with @error (taken), or binds once more if the
 * instance died meanwhile */
static void
fail_init (GTask *task, GError *error)
{
  if (is_instance_lost (error) && g_task_get_task_data (task) == NULL)
    {
      g_error_free (error);
      g_task_set_task_data (task, GINT_TO_POINTER (TRUE), NULL);
      bind_app_id (g_object_ref (task));
      return;
    }
  g_task_return_error (task, error);
}

static void
on_initial_properties (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtClient *self = g_task_get_source_object (task);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) all = NULL;
  GError *error = NULL;

  reply = _bgt_client_call_finish (self, result, NULL, &error);
  if (reply == NULL)
    {
      fail_init (task, error);
      return;
    }
  g_variant_get (reply, "(@a{sv})", &all);
  update_manager_properties (self, all);
  g_task_return_boolean (task, TRUE);
}

static void
on_owner (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtClient *self = g_task_get_source_object (task);
  g_autoptr (GVariant) reply = NULL;
  GError *error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      fail_init (task, _bgt_error_convert (error));
      return;
    }
  g_free (self->service_owner);
  g_variant_get (reply, "(s)", &self->service_owner);
  _bgt_client_call (self, BGT_MANAGER_PATH, BGT_PROPERTIES_INTERFACE, "GetAll",
                    g_variant_new ("(s)", BGT_MANAGER_INTERFACE), G_VARIANT_TYPE ("(a{sv})"), NULL,
                    g_task_get_cancellable (task), on_initial_properties, g_object_ref (task));
}

static void
on_bound (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtClient *self = g_task_get_source_object (task);
  g_autoptr (GVariant) reply = NULL;
  GError *error = NULL;

  reply = _bgt_client_call_finish (self, result, NULL, &error);
  if (reply == NULL)
    {
      fail_init (task, error);
      return;
    }
  /* Signals count only from the instance that owns the name */
  g_dbus_connection_call (self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetNameOwner",
                          g_variant_new ("(s)", BGT_BUS_NAME), G_VARIANT_TYPE ("(s)"),
                          G_DBUS_CALL_FLAGS_NONE, BGT_CALL_TIMEOUT_MS,
                          g_task_get_cancellable (task), on_owner, g_object_ref (task));
}

static void
bind_app_id (GTask *task)
{
  BgtClient *self = g_task_get_source_object (task);

  _bgt_client_call (self, BGT_MANAGER_PATH, BGT_MANAGER_INTERFACE, "GetTransfers",
                    app_id_options (self), G_VARIANT_TYPE ("(ao)"), NULL,
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
  subscribe (self);
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
    {
      subscribe (self);
      bind_app_id (g_steal_pointer (&task));
    }
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
 * Finishes bgt_client_new_async().
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
 * Finishes bgt_client_new_for_connection_async().
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
 * The blocking variant of bgt_client_new_for_connection_async().
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

/* ---- Getters ------------------------------------------------------------ */

/**
 * bgt_client_get_connection:
 * @self: a #BgtClient
 *
 * Gets the #BgtClient:connection.
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
 * Gets the #BgtClient:network-state.
 *
 * Returns: the #BgtClient:network-state
 *
 * Since: 0.1
 */
BgtNetworkState
bgt_client_get_network_state (BgtClient *self)
{
  g_return_val_if_fail (BGT_IS_CLIENT (self), BGT_NETWORK_STATE_UNRESTRICTED);
  return self->network_state;
}

/**
 * bgt_client_get_power_state:
 * @self: a #BgtClient
 *
 * Gets the #BgtClient:power-state.
 *
 * Returns: the #BgtClient:power-state
 *
 * Since: 0.1
 */
BgtPowerState
bgt_client_get_power_state (BgtClient *self)
{
  g_return_val_if_fail (BGT_IS_CLIENT (self), BGT_POWER_STATE_NORMAL);
  return self->power_state;
}

/**
 * bgt_client_get_service_version:
 * @self: a #BgtClient
 *
 * Gets the #BgtClient:service-version.
 *
 * Returns: the #BgtClient:service-version
 *
 * Since: 1.0
 */
guint
bgt_client_get_service_version (BgtClient *self)
{
  g_return_val_if_fail (BGT_IS_CLIENT (self), 0);
  return self->service_version;
}

/**
 * bgt_client_get_app_id:
 * @self: a #BgtClient
 *
 * Gets the #BgtClient:app-id.
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

/* ---- Loading transfers -------------------------------------------------- */

typedef struct
{
  BgtClient *self;
  char *path;
  gboolean retried;
} LoadData;

/* Takes @data; @reply or @error */
static void
finish_load (LoadData *data, GVariant *reply, const GError *error)
{
  g_autoptr (BgtClient) self = data->self;
  g_autofree char *path = data->path;
  g_autoptr (GPtrArray) waiters = NULL;
  g_autoptr (GVariant) properties = NULL;
  g_autoptr (BgtTransfer) transfer = NULL;
  g_autofree char *key = NULL;
  g_autoptr (GVariant) kind = NULL;

  g_free (data);
  g_hash_table_steal_extended (self->loads, path, (gpointer *) &key, (gpointer *) &waiters);
  if (reply == NULL)
    {
      for (guint i = 0; i < waiters->len; i++)
        g_task_return_error (g_ptr_array_index (waiters, i), g_error_copy (error));
      return;
    }
  g_variant_get (reply, "(@a{sv})", &properties);

  for (guint i = 0; i < waiters->len; i++)
    {
      GTask *task = g_ptr_array_index (waiters, i);
      const char *task_path = g_task_get_task_data (task);

      if (transfer == NULL)
        {
          transfer = g_hash_table_lookup (self->transfers, task_path);
          if (transfer != NULL)
            g_object_ref (transfer);
          else
            {
              /* Not g_variant_lookup(): it first flattens the whole
               * answer into one buffer, which costs three times what
               * reading it does (as the answer came off the bus, a tree
               * of values) */
              kind = g_variant_lookup_value (properties, "Kind", G_VARIANT_TYPE_STRING);
              transfer = g_object_new (
                  kind != NULL && g_str_equal (g_variant_get_string (kind, NULL), "upload")
                      ? BGT_TYPE_UPLOAD
                      : BGT_TYPE_DOWNLOAD,
                  "client", self, "object-path", task_path, NULL);
            }
          _bgt_transfer_update_all (transfer, properties);
        }
      if (!g_task_return_error_if_cancelled (task))
        g_task_return_pointer (task, g_object_ref (transfer), g_object_unref);
    }
}

static void send_get_all (LoadData *data);

static void
on_load_rebound (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LoadData *data = user_data;
  g_autoptr (GError) error = NULL;

  if (!_bgt_client_rebind_finish (BGT_CLIENT (source), result, &error))
    finish_load (data, NULL, error);
  else
    send_get_all (data);
}

static void
on_get_all (GObject *source, GAsyncResult *result, gpointer user_data)
{
  LoadData *data = user_data;
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GError) error = NULL;

  reply = _bgt_client_call_finish (data->self, result, NULL, &error);
  if (reply == NULL && !data->retried && is_instance_lost (error))
    {
      /* Asked once more, of the instance that D-Bus activation starts
       * next, once the app id is bound there */
      data->retried = TRUE;
      _bgt_client_rebind_async (data->self, on_load_rebound, data);
      return;
    }
  finish_load (data, reply, error);
}

static void
send_get_all (LoadData *data)
{
  /* Not cancellable: other loads may share it */
  _bgt_client_call (data->self, data->path, BGT_PROPERTIES_INTERFACE, "GetAll",
                    g_variant_new ("(s)", BGT_TRANSFER_INTERFACE), G_VARIANT_TYPE ("(a{sv})"), NULL,
                    NULL, on_get_all, data);
}

/* Reads a transfer's properties and gives its one object (made if there is
 * none yet). Loads of one path at a time share one call. */
void
_bgt_client_load_transfer_async (BgtClient *self, const char *object_path,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  GPtrArray *waiters = g_hash_table_lookup (self->loads, object_path);
  LoadData *data;

  g_task_set_source_tag (task, _bgt_client_load_transfer_async);
  g_task_set_task_data (task, g_strdup (object_path), g_free);
  if (waiters != NULL)
    {
      g_ptr_array_add (waiters, task);
      return;
    }
  waiters = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (waiters, task);
  g_hash_table_insert (self->loads, g_strdup (object_path), waiters);
  data = g_new0 (LoadData, 1);
  data->self = g_object_ref (self);
  data->path = g_strdup (object_path);
  send_get_all (data);
}

BgtTransfer *
_bgt_client_load_transfer_finish (BgtClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- Listing ------------------------------------------------------------ */

typedef struct
{
  GPtrArray *found; /* BgtTransfer or NULL, in the service's order */
  guint pending;
  GError *error;
} ListData;

typedef struct
{
  GTask *task;
  guint index;
} ListItem;

static void
unref_if_set (gpointer object)
{
  if (object != NULL)
    g_object_unref (object);
}

static void
list_data_free (ListData *data)
{
  g_clear_pointer (&data->found, g_ptr_array_unref);
  g_clear_error (&data->error);
  g_free (data);
}

static void
list_done (GTask *task)
{
  ListData *data = g_task_get_task_data (task);
  g_autoptr (GListStore) store = NULL;
  guint n = 0;

  if (data->error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&data->error));
      return;
    }
  /* One splice: one items-changed for a list of any length */
  for (guint i = 0; i < data->found->len; i++)
    if (g_ptr_array_index (data->found, i) != NULL)
      g_ptr_array_index (data->found, n++) = g_ptr_array_index (data->found, i);
  /* What moved down is referenced once, where it is now */
  for (guint i = n; i < data->found->len; i++)
    g_ptr_array_index (data->found, i) = NULL;
  store = g_list_store_new (BGT_TYPE_TRANSFER);
  g_list_store_splice (store, 0, 0, data->found->pdata, n);
  g_task_return_pointer (task, g_steal_pointer (&store), g_object_unref);
}

static void
on_listed_transfer (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ListItem *item = user_data;
  g_autoptr (GTask) task = item->task;
  ListData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  BgtTransfer *transfer;

  transfer = _bgt_client_load_transfer_finish (BGT_CLIENT (source), result, &error);
  if (transfer == NULL && data->error == NULL
      && !g_error_matches (error, BGT_ERROR, BGT_ERROR_NOT_FOUND))
    data->error = g_steal_pointer (&error); /* one removed meanwhile is no error */
  g_ptr_array_index (data->found, item->index) = transfer;
  g_free (item);
  if (--data->pending == 0)
    list_done (task);
}

static void
on_get_transfers (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtClient *self = g_task_get_source_object (task);
  ListData *data = g_task_get_task_data (task);
  g_autoptr (GVariant) reply = NULL;
  g_autofree const char **paths = NULL;
  GError *error = NULL;
  guint n;

  reply = _bgt_client_call_finish (self, result, NULL, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_variant_get (reply, "(^a&o)", &paths);
  n = g_strv_length ((char **) paths);
  g_ptr_array_set_size (data->found, n);
  if (n == 0)
    {
      list_done (task);
      return;
    }
  data->pending = n;
  for (guint i = 0; i < n; i++)
    {
      ListItem *item = g_new0 (ListItem, 1);

      item->task = g_object_ref (task);
      item->index = i;
      _bgt_client_load_transfer_async (self, paths[i], g_task_get_cancellable (task),
                                       on_listed_transfer, item);
    }
}

/* GetTransfers(@filter), then each transfer loaded: a list that stays as
 * it was */
void
_bgt_client_list_async (BgtClient *self, GVariant *filter, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (self, cancellable, callback, user_data);
  ListData *data = g_new0 (ListData, 1);

  g_task_set_source_tag (task, _bgt_client_list_async);
  data->found = g_ptr_array_new_with_free_func (unref_if_set);
  g_task_set_task_data (task, data, (GDestroyNotify) list_data_free);
  _bgt_client_call (self, BGT_MANAGER_PATH, BGT_MANAGER_INTERFACE, "GetTransfers", filter,
                    G_VARIANT_TYPE ("(ao)"), NULL, cancellable, on_get_transfers,
                    g_steal_pointer (&task));
}

GListModel *
_bgt_client_list_finish (BgtClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_live_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (BgtClient) self = user_data;
  g_autoptr (GPtrArray) waiters = g_steal_pointer (&self->live_waiters);
  g_autoptr (GListModel) model = NULL;
  g_autoptr (GError) error = NULL;
  guint n;

  model = _bgt_client_list_finish (self, result, &error);
  if (model == NULL)
    {
      g_queue_clear_full (&self->live_events, (GDestroyNotify) live_event_free);
      for (guint i = 0; i < waiters->len; i++)
        g_task_return_error (g_ptr_array_index (waiters, i), g_error_copy (error));
      return;
    }
  g_set_weak_pointer (&self->live, G_LIST_STORE (model));
  g_hash_table_remove_all (self->live_paths);
  g_hash_table_remove_all (self->live_adding);
  n = g_list_model_get_n_items (model);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (BgtTransfer) transfer = g_list_model_get_item (model, i);

      g_hash_table_add (self->live_paths, g_strdup (bgt_transfer_get_object_path (transfer)));
    }
  /* What came and went during the listing */
  while (!g_queue_is_empty (&self->live_events))
    {
      LiveEvent *event = g_queue_pop_head (&self->live_events);

      if (event->added)
        live_add (self, event->path);
      else
        live_remove (self, event->path);
      live_event_free (event);
    }
  for (guint i = 0; i < waiters->len; i++)
    {
      GTask *task = g_ptr_array_index (waiters, i);

      if (!g_task_return_error_if_cancelled (task))
        g_task_return_pointer (task, g_object_ref (model), g_object_unref);
    }
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
 * The list is live: while someone holds it, a transfer that the
 * application creates (through any of its connections) is appended to it,
 * and one that is removed (bgt_transfer_remove_async(), or forgotten by
 * the service after its retention time) leaves it, each with
 * #GListModel::items-changed. A later call while the list is held gives
 * the same list.
 *
 * Since: 0.1
 */
void
bgt_client_list_transfers_async (BgtClient *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (BGT_IS_CLIENT (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bgt_client_list_transfers_async);
  if (self->live_waiters != NULL)
    {
      g_ptr_array_add (self->live_waiters, g_steal_pointer (&task));
      return;
    }
  if (self->live != NULL)
    {
      g_task_return_pointer (task, g_object_ref (self->live), g_object_unref);
      return;
    }
  self->live_waiters = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (self->live_waiters, g_steal_pointer (&task));
  /* Not cancellable: other callers may share it */
  _bgt_client_list_async (self, app_id_options (self), NULL, on_live_listed, g_object_ref (self));
}

/**
 * bgt_client_list_transfers_finish:
 * @self: a #BgtClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_client_list_transfers_async().
 *
 * Returns: (transfer full): a live #GListModel of #BgtTransfer
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
on_found (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  GListModel *model = _bgt_client_list_finish (BGT_CLIENT (source), result, &error);

  if (model == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, model, g_object_unref);
}

/**
 * bgt_client_find_transfers_async:
 * @self: a #BgtClient
 * @group: (nullable): only the transfers of this transfer group
 * @kinds: (array length=n_kinds) (nullable): only transfers of these kinds
 * @n_kinds: the length of @kinds; 0 for any kind
 * @statuses: (array length=n_statuses) (nullable): only transfers in one of
 *   these statuses
 * @n_statuses: the length of @statuses; 0 for any status
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the list
 * @user_data: data for @callback
 *
 * Lists the application's transfers that match, oldest first: the
 * service filters them (GetTransfers' `group`, `kind` and `status`). The
 * list stays as it was (see bgt_client_list_transfers_async() for a live
 * one), while its transfers follow the service as ever.
 *
 * Since: 1.0
 */
void
bgt_client_find_transfers_async (BgtClient *self, const char *group, const BgtTransferKind *kinds,
                                 guint n_kinds, const BgtStatus *statuses, guint n_statuses,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  GVariantBuilder filter;
  gboolean downloads = FALSE, uploads = FALSE;

  g_return_if_fail (BGT_IS_CLIENT (self));
  g_return_if_fail (kinds != NULL || n_kinds == 0);
  g_return_if_fail (statuses != NULL || n_statuses == 0);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bgt_client_find_transfers_async);
  g_variant_builder_init (&filter, G_VARIANT_TYPE_VARDICT);
  _bgt_client_add_app_id (self, &filter);
  if (group != NULL)
    g_variant_builder_add (&filter, "{sv}", "group", g_variant_new_string (group));
  for (guint i = 0; i < n_kinds; i++)
    {
      downloads |= kinds[i] == BGT_TRANSFER_KIND_DOWNLOAD;
      uploads |= kinds[i] == BGT_TRANSFER_KIND_UPLOAD;
    }
  /* Both kinds is any kind */
  if (downloads != uploads)
    g_variant_builder_add (&filter, "{sv}", "kind",
                           g_variant_new_string (_bgt_enum_to_string (
                               BGT_TYPE_TRANSFER_KIND,
                               downloads ? BGT_TRANSFER_KIND_DOWNLOAD : BGT_TRANSFER_KIND_UPLOAD)));
  if (n_statuses > 0)
    {
      GVariantBuilder names;

      g_variant_builder_init (&names, G_VARIANT_TYPE_STRING_ARRAY);
      for (guint i = 0; i < n_statuses; i++)
        {
          const char *name = _bgt_enum_to_string (BGT_TYPE_STATUS, statuses[i]);

          if (name != NULL)
            g_variant_builder_add (&names, "s", name);
        }
      g_variant_builder_add (&filter, "{sv}", "status", g_variant_builder_end (&names));
    }
  _bgt_client_list_async (self, g_variant_new ("(a{sv})", &filter), cancellable, on_found,
                          g_steal_pointer (&task));
}

/**
 * bgt_client_find_transfers_finish:
 * @self: a #BgtClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_client_find_transfers_async().
 *
 * Returns: (transfer full): a #GListModel of #BgtTransfer
 *
 * Since: 1.0
 */
GListModel *
bgt_client_find_transfers_finish (BgtClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == bgt_client_find_transfers_async,
                        NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- One transfer ------------------------------------------------------- */

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
  g_autoptr (GTask) task = NULL;
  g_autofree char *path = NULL;

  g_return_if_fail (BGT_IS_CLIENT (self));
  g_return_if_fail (id_or_path != NULL);
  task = g_task_new (self, cancellable, callback, user_data);
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
 * Finishes bgt_client_get_transfer_async().
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

/* ---- Transfer groups ---------------------------------------------------- */

static void
on_configured (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GVariant) reply = NULL;
  GError *error = NULL;

  reply = _bgt_client_call_finish (g_task_get_source_object (task), result, NULL, &error);
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
 * Makes a group of transfers run side by side or one at a time. The same
 * as bgt_transfer_group_set_behavior_async() on a #BgtTransferGroup of
 * that name.
 *
 * Since: 0.1
 */
void
bgt_client_configure_group_async (BgtClient *self, const char *group, BgtTransferBehavior behavior,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  GVariantBuilder options;

  g_return_if_fail (BGT_IS_CLIENT (self));
  g_return_if_fail (group != NULL);
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bgt_client_configure_group_async);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  _bgt_client_add_app_id (self, &options);
  g_variant_builder_add (
      &options, "{sv}", "behavior",
      g_variant_new_string (_bgt_enum_to_string (BGT_TYPE_TRANSFER_BEHAVIOR, behavior)));
  _bgt_client_call (self, BGT_MANAGER_PATH, BGT_MANAGER_INTERFACE, "ConfigureGroup",
                    g_variant_new ("(sa{sv})", group, &options), NULL, NULL, cancellable,
                    on_configured, g_steal_pointer (&task));
}

/**
 * bgt_client_configure_group_finish:
 * @self: a #BgtClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_client_configure_group_async().
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

/* ---- Completion groups -------------------------------------------------- */

static void
on_group_properties (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtClient *self = g_task_get_source_object (task);
  const char *path = g_task_get_task_data (task);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) properties = NULL;
  BgtCompletionGroup *group;
  GError *error = NULL;

  reply = _bgt_client_call_finish (self, result, NULL, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_variant_get (reply, "(@a{sv})", &properties);
  group = g_hash_table_lookup (self->completion_groups, path);
  if (group != NULL)
    {
      _bgt_completion_group_update (group, properties);
      g_object_ref (group);
    }
  else
    group = _bgt_completion_group_new (self, path, properties);
  g_task_return_pointer (task, group, g_object_unref);
}

static void
load_completion_group (GTask *task, const char *path)
{
  g_task_set_task_data (task, g_strdup (path), g_free);
  _bgt_client_call (g_task_get_source_object (task), path, BGT_PROPERTIES_INTERFACE, "GetAll",
                    g_variant_new ("(s)", BGT_COMPLETION_GROUP_INTERFACE),
                    G_VARIANT_TYPE ("(a{sv})"), NULL, g_task_get_cancellable (task),
                    on_group_properties, task);
}

static void
on_group_created (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  g_autoptr (GVariant) reply = NULL;
  GError *error = NULL;
  const char *path;

  reply = _bgt_client_call_finish (g_task_get_source_object (task), result, NULL, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_variant_get (reply, "(&o)", &path);
  load_completion_group (g_steal_pointer (&task), path);
}

/**
 * bgt_client_create_completion_group_async:
 * @self: a #BgtClient
 * @action: the name of the application action (a #GAction of its
 *   #GApplication) that the service activates once every member has ended
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the group
 * @user_data: data for @callback
 *
 * Creates a completion group: transfers join it when they are created
 * with #BgtDownloader:completion-group or #BgtUploader:completion-group;
 * once the group is enabled (bgt_completion_group_enable_async()) and
 * every member has ended, the service calls
 * `org.freedesktop.Application.ActivateAction` on the application's
 * well-known name (its app id), which starts the application if it is not
 * running, and a running client hears #BgtCompletionGroup::completed.
 *
 * Since: 1.0
 */
void
bgt_client_create_completion_group_async (BgtClient *self, const char *action,
                                          GCancellable *cancellable, GAsyncReadyCallback callback,
                                          gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  GVariantBuilder options;

  g_return_if_fail (BGT_IS_CLIENT (self));
  g_return_if_fail (action != NULL);
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bgt_client_create_completion_group_async);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  _bgt_client_add_app_id (self, &options);
  g_variant_builder_add (&options, "{sv}", "action", g_variant_new_string (action));
  _bgt_client_call (self, BGT_MANAGER_PATH, BGT_MANAGER_INTERFACE, "CreateCompletionGroup",
                    g_variant_new ("(a{sv})", &options), G_VARIANT_TYPE ("(o)"), NULL, cancellable,
                    on_group_created, g_steal_pointer (&task));
}

/**
 * bgt_client_create_completion_group_finish:
 * @self: a #BgtClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_client_create_completion_group_async().
 *
 * Returns: (transfer full): the new group, or %NULL with @error set
 *
 * Since: 1.0
 */
BgtCompletionGroup *
bgt_client_create_completion_group_finish (BgtClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (
      g_task_get_source_tag (G_TASK (result)) == bgt_client_create_completion_group_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * bgt_client_get_completion_group_async:
 * @self: a #BgtClient
 * @object_path: the group's object path, as the service gave it (in the
 *   parameter of the action it activates, say)
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the group
 * @user_data: data for @callback
 *
 * Finds one of the application's completion groups.
 *
 * Since: 1.0
 */
void
bgt_client_get_completion_group_async (BgtClient *self, const char *object_path,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (BGT_IS_CLIENT (self));
  g_return_if_fail (object_path != NULL);
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bgt_client_get_completion_group_async);
  if (!g_variant_is_object_path (object_path)
      || !g_str_has_prefix (object_path, BGT_COMPLETION_GROUP_PATH_PREFIX))
    {
      g_task_return_new_error (task, BGT_ERROR, BGT_ERROR_NOT_FOUND, "No completion group “%s”",
                               object_path);
      return;
    }
  load_completion_group (g_steal_pointer (&task), object_path);
}

/**
 * bgt_client_get_completion_group_finish:
 * @self: a #BgtClient
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_client_get_completion_group_async().
 *
 * Returns: (transfer full): the group, or %NULL with @error set
 *
 * Since: 1.0
 */
BgtCompletionGroup *
bgt_client_get_completion_group_finish (BgtClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (
      g_task_get_source_tag (G_TASK (result)) == bgt_client_get_completion_group_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
