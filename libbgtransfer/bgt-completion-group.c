/* bgt-completion-group.c: wakes the application when its transfers have ended
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bgt-private.h"

/**
 * BgtCompletionGroup:
 *
 * A group of transfers after whose end the service wakes the application
 * (WinRT's BackgroundTransferCompletionGroup).
 *
 * Create one with bgt_client_create_completion_group_async(), naming an
 * action of the application's #GApplication; create its members with
 * #BgtDownloader:completion-group or #BgtUploader:completion-group set to
 * it; then enable it with bgt_completion_group_enable_async(). Once every
 * member has ended (completed, failed or canceled), the service calls
 * `org.freedesktop.Application.ActivateAction` on the application's
 * well-known name, its app id, with one #GVariant parameter of type
 * `a{sv}`: `group` (the group's object path) and `transfers` (`aa{sv}`:
 * `id`, `status`, `error-status`, and `destination` or `source`). D-Bus
 * activation starts an application that is not running; one that runs
 * also hears #BgtCompletionGroup::completed here.
 *
 * Since: 1.0
 */
struct _BgtCompletionGroup
{
  GObject parent_instance;

  BgtClient *client;
  char *object_path;
  gboolean registered;
  char *action;
  gboolean enabled;
  GStrv members;
};

enum
{
  PROP_0,
  PROP_CLIENT,
  PROP_OBJECT_PATH,
  PROP_ACTION,
  PROP_ENABLED,
  PROP_MEMBERS,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

enum
{
  SIGNAL_COMPLETED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (BgtCompletionGroup, bgt_completion_group, G_TYPE_OBJECT)

static void
bgt_completion_group_dispose (GObject *object)
{
  BgtCompletionGroup *self = BGT_COMPLETION_GROUP (object);

  if (self->registered)
    {
      _bgt_client_unregister_completion_group (self->client, self);
      self->registered = FALSE;
    }
  g_clear_object (&self->client);
  G_OBJECT_CLASS (bgt_completion_group_parent_class)->dispose (object);
}

static void
bgt_completion_group_finalize (GObject *object)
{
  BgtCompletionGroup *self = BGT_COMPLETION_GROUP (object);

  g_free (self->object_path);
  g_free (self->action);
  g_strfreev (self->members);
  G_OBJECT_CLASS (bgt_completion_group_parent_class)->finalize (object);
}

static void
bgt_completion_group_constructed (GObject *object)
{
  BgtCompletionGroup *self = BGT_COMPLETION_GROUP (object);

  G_OBJECT_CLASS (bgt_completion_group_parent_class)->constructed (object);
  g_return_if_fail (self->client != NULL && self->object_path != NULL);
  /* The client's one subscription hears the service's signals for it */
  _bgt_client_register_completion_group (self->client, self);
  self->registered = TRUE;
}

static void
bgt_completion_group_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BgtCompletionGroup *self = BGT_COMPLETION_GROUP (object);

  switch (prop_id)
    {
      case PROP_CLIENT:
        g_value_set_object (value, self->client);
        break;
      case PROP_OBJECT_PATH:
        g_value_set_string (value, self->object_path);
        break;
      case PROP_ACTION:
        g_value_set_string (value, self->action);
        break;
      case PROP_ENABLED:
        g_value_set_boolean (value, self->enabled);
        break;
      case PROP_MEMBERS:
        g_value_set_boxed (value, self->members);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bgt_completion_group_set_property (GObject *object, guint prop_id, const GValue *value,
                                   GParamSpec *pspec)
{
  BgtCompletionGroup *self = BGT_COMPLETION_GROUP (object);

  switch (prop_id)
    {
      case PROP_CLIENT:
        self->client = g_value_dup_object (value);
        break;
      case PROP_OBJECT_PATH:
        self->object_path = g_value_dup_string (value);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

#define RO (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY)

static void
bgt_completion_group_class_init (BgtCompletionGroupClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = bgt_completion_group_constructed;
  object_class->dispose = bgt_completion_group_dispose;
  object_class->finalize = bgt_completion_group_finalize;
  object_class->get_property = bgt_completion_group_get_property;
  object_class->set_property = bgt_completion_group_set_property;

  /**
   * BgtCompletionGroup:client:
   *
   * The client the group belongs to.
   *
   * Since: 1.0
   */
  props[PROP_CLIENT]
      = g_param_spec_object ("client", NULL, NULL, BGT_TYPE_CLIENT,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * BgtCompletionGroup:object-path:
   *
   * The group's object path on the bus: the `group` of the parameter of
   * the action the service activates.
   *
   * Since: 1.0
   */
  props[PROP_OBJECT_PATH]
      = g_param_spec_string ("object-path", NULL, NULL, NULL,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * BgtCompletionGroup:action:
   *
   * The name of the application action activated once every member has
   * ended.
   *
   * Since: 1.0
   */
  props[PROP_ACTION] = g_param_spec_string ("action", NULL, NULL, NULL, RO);
  /**
   * BgtCompletionGroup:enabled:
   *
   * Whether bgt_completion_group_enable_async() was called: no more
   * members join, and the group fires once they have all ended.
   *
   * Since: 1.0
   */
  props[PROP_ENABLED] = g_param_spec_boolean ("enabled", NULL, NULL, FALSE, RO);
  /**
   * BgtCompletionGroup:members:
   *
   * The object paths of the member transfers. A transfer created through
   * this library joins the list when it is created; the service's own
   * list is read again with bgt_completion_group_refresh_async().
   *
   * Since: 1.0
   */
  props[PROP_MEMBERS] = g_param_spec_boxed ("members", NULL, NULL, G_TYPE_STRV, RO);
  g_object_class_install_properties (object_class, N_PROPS, props);

  /**
   * BgtCompletionGroup::completed:
   * @self: the #BgtCompletionGroup
   * @transfers: a #GVariant of type `aa{sv}`: for each member, `id` (s),
   *   `status` (s), `error-status` (s), and `destination` or `source` (s)
   *
   * Every member of the enabled group has ended. The service sends it to
   * the application's running clients when it activates the application's
   * action.
   *
   * Since: 1.0
   */
  signals[SIGNAL_COMPLETED]
      = g_signal_new ("completed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                      NULL, G_TYPE_NONE, 1, G_TYPE_VARIANT);
}

static void
bgt_completion_group_init (BgtCompletionGroup *self)
{
  self->members = g_new0 (char *, 1);
}

void
_bgt_completion_group_update (BgtCompletionGroup *self, GVariant *properties)
{
  const char *action;
  gboolean enabled;
  g_autofree const char **members = NULL;

  g_object_freeze_notify (G_OBJECT (self));
  if (g_variant_lookup (properties, "Action", "&s", &action) && g_strcmp0 (action, self->action))
    {
      g_free (self->action);
      self->action = g_strdup (action);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ACTION]);
    }
  if (g_variant_lookup (properties, "Enabled", "b", &enabled) && enabled != self->enabled)
    {
      self->enabled = enabled;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ENABLED]);
    }
  if (g_variant_lookup (properties, "Members", "^a&o", &members)
      && !g_strv_equal (members, (const char *const *) self->members))
    {
      g_strfreev (self->members);
      self->members = g_strdupv ((char **) members);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_MEMBERS]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

BgtCompletionGroup *
_bgt_completion_group_new (BgtClient *client, const char *object_path, GVariant *properties)
{
  BgtCompletionGroup *self = g_object_new (BGT_TYPE_COMPLETION_GROUP, "client", client,
                                           "object-path", object_path, NULL);

  _bgt_completion_group_update (self, properties);
  return self;
}

/* A transfer created with this group joined it */
void
_bgt_completion_group_add_member (BgtCompletionGroup *self, const char *transfer_path)
{
  guint n = g_strv_length (self->members);

  if (g_strv_contains ((const char *const *) self->members, transfer_path))
    return;
  self->members = g_renew (char *, self->members, n + 2);
  self->members[n] = g_strdup (transfer_path);
  self->members[n + 1] = NULL;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_MEMBERS]);
}

void
_bgt_completion_group_handle_signal (BgtCompletionGroup *self, const char *interface_name,
                                     const char *signal_name, GVariant *parameters)
{
  if (g_str_equal (interface_name, BGT_COMPLETION_GROUP_INTERFACE)
      && g_str_equal (signal_name, "Completed")
      && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(aa{sv})")))
    {
      g_autoptr (GVariant) transfers = g_variant_get_child_value (parameters, 0);

      g_signal_emit (self, signals[SIGNAL_COMPLETED], 0, transfers);
    }
  else if (g_str_equal (interface_name, BGT_PROPERTIES_INTERFACE)
           && g_str_equal (signal_name, "PropertiesChanged")
           && g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sa{sv}as)")))
    {
      g_autoptr (GVariant) changed = NULL;
      const char *iface;

      g_variant_get (parameters, "(&s@a{sv}@as)", &iface, &changed, NULL);
      if (g_str_equal (iface, BGT_COMPLETION_GROUP_INTERFACE))
        _bgt_completion_group_update (self, changed);
    }
}

/**
 * bgt_completion_group_get_client:
 * @self: a #BgtCompletionGroup
 *
 * Gets the #BgtCompletionGroup:client.
 *
 * Returns: (transfer none): the client
 *
 * Since: 1.0
 */
BgtClient *
bgt_completion_group_get_client (BgtCompletionGroup *self)
{
  g_return_val_if_fail (BGT_IS_COMPLETION_GROUP (self), NULL);
  return self->client;
}

/**
 * bgt_completion_group_get_object_path:
 * @self: a #BgtCompletionGroup
 *
 * Gets the #BgtCompletionGroup:object-path.
 *
 * Returns: the group's object path
 *
 * Since: 1.0
 */
const char *
bgt_completion_group_get_object_path (BgtCompletionGroup *self)
{
  g_return_val_if_fail (BGT_IS_COMPLETION_GROUP (self), NULL);
  return self->object_path;
}

/**
 * bgt_completion_group_get_action:
 * @self: a #BgtCompletionGroup
 *
 * Gets the #BgtCompletionGroup:action.
 *
 * Returns: (nullable): the #BgtCompletionGroup:action
 *
 * Since: 1.0
 */
const char *
bgt_completion_group_get_action (BgtCompletionGroup *self)
{
  g_return_val_if_fail (BGT_IS_COMPLETION_GROUP (self), NULL);
  return self->action;
}

/**
 * bgt_completion_group_get_enabled:
 * @self: a #BgtCompletionGroup
 *
 * Gets the #BgtCompletionGroup:enabled.
 *
 * Returns: the #BgtCompletionGroup:enabled
 *
 * Since: 1.0
 */
gboolean
bgt_completion_group_get_enabled (BgtCompletionGroup *self)
{
  g_return_val_if_fail (BGT_IS_COMPLETION_GROUP (self), FALSE);
  return self->enabled;
}

/**
 * bgt_completion_group_get_members:
 * @self: a #BgtCompletionGroup
 *
 * Gets the #BgtCompletionGroup:members.
 *
 * Returns: (transfer none) (array zero-terminated=1): the
 *   #BgtCompletionGroup:members
 *
 * Since: 1.0
 */
const char *const *
bgt_completion_group_get_members (BgtCompletionGroup *self)
{
  g_return_val_if_fail (BGT_IS_COMPLETION_GROUP (self), NULL);
  return (const char *const *) self->members;
}

static void
on_enabled (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtCompletionGroup *self = g_task_get_source_object (task);
  g_autoptr (GVariant) reply = NULL;
  GError *error = NULL;

  reply = _bgt_client_call_finish (self->client, result, NULL, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (!self->enabled)
    {
      self->enabled = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ENABLED]);
    }
  g_task_return_boolean (task, TRUE);
}

/**
 * bgt_completion_group_enable_async:
 * @self: a #BgtCompletionGroup
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when done
 * @user_data: data for @callback
 *
 * Says that no more members will join: the group fires once every member
 * has ended (at once if they all have).
 *
 * Since: 1.0
 */
void
bgt_completion_group_enable_async (BgtCompletionGroup *self, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (BGT_IS_COMPLETION_GROUP (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bgt_completion_group_enable_async);
  _bgt_client_call (self->client, self->object_path, BGT_COMPLETION_GROUP_INTERFACE, "Enable", NULL,
                    NULL, NULL, cancellable, on_enabled, g_steal_pointer (&task));
}

/**
 * bgt_completion_group_enable_finish:
 * @self: a #BgtCompletionGroup
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_completion_group_enable_async().
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
bgt_completion_group_enable_finish (BgtCompletionGroup *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (
      g_task_get_source_tag (G_TASK (result)) == bgt_completion_group_enable_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
on_refreshed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtCompletionGroup *self = g_task_get_source_object (task);
  g_autoptr (GVariant) reply = NULL;
  g_autoptr (GVariant) properties = NULL;
  GError *error = NULL;

  reply = _bgt_client_call_finish (self->client, result, NULL, &error);
  if (reply == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_variant_get (reply, "(@a{sv})", &properties);
  _bgt_completion_group_update (self, properties);
  g_task_return_boolean (task, TRUE);
}

/**
 * bgt_completion_group_refresh_async:
 * @self: a #BgtCompletionGroup
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when done
 * @user_data: data for @callback
 *
 * Reads the group's properties from the service again: its members
 * include those that other connections of the application added.
 *
 * Since: 1.0
 */
void
bgt_completion_group_refresh_async (BgtCompletionGroup *self, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (BGT_IS_COMPLETION_GROUP (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bgt_completion_group_refresh_async);
  _bgt_client_call (self->client, self->object_path, BGT_PROPERTIES_INTERFACE, "GetAll",
                    g_variant_new ("(s)", BGT_COMPLETION_GROUP_INTERFACE),
                    G_VARIANT_TYPE ("(a{sv})"), NULL, cancellable, on_refreshed,
                    g_steal_pointer (&task));
}

/**
 * bgt_completion_group_refresh_finish:
 * @self: a #BgtCompletionGroup
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_completion_group_refresh_async().
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
bgt_completion_group_refresh_finish (BgtCompletionGroup *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (
      g_task_get_source_tag (G_TASK (result)) == bgt_completion_group_refresh_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
