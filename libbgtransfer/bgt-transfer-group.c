/* bgt-transfer-group.c: a named group of an application's transfers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bgt-private.h"

/**
 * BgtTransferGroup:
 *
 * A named group of an application's transfers (WinRT's
 * BackgroundTransferGroup): transfers join it when they are created with
 * #BgtDownloader:group or #BgtUploader:group set to its
 * #BgtTransferGroup:name. A group runs its transfers side by side
 * (%BGT_TRANSFER_BEHAVIOR_PARALLEL, the default) or one at a time in the
 * order they were created (%BGT_TRANSFER_BEHAVIOR_SERIALIZED).
 *
 * The object itself crosses the bus only when its behavior is set or its
 * transfers are listed: make one whenever convenient.
 *
 * Since: 1.0
 */
struct _BgtTransferGroup
{
  GObject parent_instance;

  BgtClient *client;
  char *name;
  BgtTransferBehavior behavior;
};

enum
{
  PROP_0,
  PROP_CLIENT,
  PROP_NAME,
  PROP_BEHAVIOR,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (BgtTransferGroup, bgt_transfer_group, G_TYPE_OBJECT)

static void
bgt_transfer_group_finalize (GObject *object)
{
  BgtTransferGroup *self = BGT_TRANSFER_GROUP (object);

  g_clear_object (&self->client);
  g_free (self->name);
  G_OBJECT_CLASS (bgt_transfer_group_parent_class)->finalize (object);
}

static void
bgt_transfer_group_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BgtTransferGroup *self = BGT_TRANSFER_GROUP (object);

  switch (prop_id)
    {
      case PROP_CLIENT:
        g_value_set_object (value, self->client);
        break;
      case PROP_NAME:
        g_value_set_string (value, self->name);
        break;
      case PROP_BEHAVIOR:
        g_value_set_enum (value, self->behavior);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bgt_transfer_group_set_property (GObject *object, guint prop_id, const GValue *value,
                                 GParamSpec *pspec)
{
  BgtTransferGroup *self = BGT_TRANSFER_GROUP (object);

  switch (prop_id)
    {
      case PROP_CLIENT:
        self->client = g_value_dup_object (value);
        break;
      case PROP_NAME:
        self->name = g_value_dup_string (value);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bgt_transfer_group_class_init (BgtTransferGroupClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = bgt_transfer_group_finalize;
  object_class->get_property = bgt_transfer_group_get_property;
  object_class->set_property = bgt_transfer_group_set_property;

  /**
   * BgtTransferGroup:client:
   *
   * The client the group belongs to.
   *
   * Since: 1.0
   */
  props[PROP_CLIENT]
      = g_param_spec_object ("client", NULL, NULL, BGT_TYPE_CLIENT,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * BgtTransferGroup:name:
   *
   * The group's name, unique within the application.
   *
   * Since: 1.0
   */
  props[PROP_NAME]
      = g_param_spec_string ("name", NULL, NULL, NULL,
                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * BgtTransferGroup:behavior:
   *
   * How the group runs its transfers, as last set through this object
   * (the service does not tell a group's behavior; it is
   * %BGT_TRANSFER_BEHAVIOR_PARALLEL until set). Change it with
   * bgt_transfer_group_set_behavior_async().
   *
   * Since: 1.0
   */
  props[PROP_BEHAVIOR] = g_param_spec_enum (
      "behavior", NULL, NULL, BGT_TYPE_TRANSFER_BEHAVIOR, BGT_TRANSFER_BEHAVIOR_PARALLEL,
      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
bgt_transfer_group_init (BgtTransferGroup *self)
{
  self->behavior = BGT_TRANSFER_BEHAVIOR_PARALLEL;
}

/**
 * bgt_transfer_group_new:
 * @client: a #BgtClient
 * @name: the group's name
 *
 * Gives the application's transfer group called @name; nothing crosses the
 * bus.
 *
 * Returns: (transfer full): the application's transfer group of that name
 *
 * Since: 1.0
 */
BgtTransferGroup *
bgt_transfer_group_new (BgtClient *client, const char *name)
{
  g_return_val_if_fail (BGT_IS_CLIENT (client), NULL);
  g_return_val_if_fail (name != NULL && *name != '\0', NULL);
  return g_object_new (BGT_TYPE_TRANSFER_GROUP, "client", client, "name", name, NULL);
}

/**
 * bgt_transfer_group_get_client:
 * @self: a #BgtTransferGroup
 *
 * Gets the #BgtTransferGroup:client.
 *
 * Returns: (transfer none): the client
 *
 * Since: 1.0
 */
BgtClient *
bgt_transfer_group_get_client (BgtTransferGroup *self)
{
  g_return_val_if_fail (BGT_IS_TRANSFER_GROUP (self), NULL);
  return self->client;
}

/**
 * bgt_transfer_group_get_name:
 * @self: a #BgtTransferGroup
 *
 * Gets the #BgtTransferGroup:name.
 *
 * Returns: the group's name
 *
 * Since: 1.0
 */
const char *
bgt_transfer_group_get_name (BgtTransferGroup *self)
{
  g_return_val_if_fail (BGT_IS_TRANSFER_GROUP (self), NULL);
  return self->name;
}

/**
 * bgt_transfer_group_get_behavior:
 * @self: a #BgtTransferGroup
 *
 * Gets the #BgtTransferGroup:behavior.
 *
 * Returns: the #BgtTransferGroup:behavior
 *
 * Since: 1.0
 */
BgtTransferBehavior
bgt_transfer_group_get_behavior (BgtTransferGroup *self)
{
  g_return_val_if_fail (BGT_IS_TRANSFER_GROUP (self), BGT_TRANSFER_BEHAVIOR_PARALLEL);
  return self->behavior;
}

static void
on_configured (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  BgtTransferGroup *self = g_task_get_source_object (task);
  BgtTransferBehavior behavior = GPOINTER_TO_INT (g_task_get_task_data (task));
  GError *error = NULL;

  if (!bgt_client_configure_group_finish (BGT_CLIENT (source), result, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (self->behavior != behavior)
    {
      self->behavior = behavior;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_BEHAVIOR]);
    }
  g_task_return_boolean (task, TRUE);
}

/**
 * bgt_transfer_group_set_behavior_async:
 * @self: a #BgtTransferGroup
 * @behavior: a #BgtTransferBehavior
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called when done
 * @user_data: data for @callback
 *
 * Makes the group run its transfers side by side or one at a time; the
 * service keeps it. #BgtTransferGroup:behavior follows once it is done.
 *
 * Since: 1.0
 */
void
bgt_transfer_group_set_behavior_async (BgtTransferGroup *self, BgtTransferBehavior behavior,
                                       GCancellable *cancellable, GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (BGT_IS_TRANSFER_GROUP (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bgt_transfer_group_set_behavior_async);
  g_task_set_task_data (task, GINT_TO_POINTER (behavior), NULL);
  bgt_client_configure_group_async (self->client, self->name, behavior, cancellable, on_configured,
                                    g_steal_pointer (&task));
}

/**
 * bgt_transfer_group_set_behavior_finish:
 * @self: a #BgtTransferGroup
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_transfer_group_set_behavior_async().
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
gboolean
bgt_transfer_group_set_behavior_finish (BgtTransferGroup *self, GAsyncResult *result,
                                        GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (
      g_task_get_source_tag (G_TASK (result)) == bgt_transfer_group_set_behavior_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
on_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  GListModel *model = bgt_client_find_transfers_finish (BGT_CLIENT (source), result, &error);

  if (model == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, model, g_object_unref);
}

/**
 * bgt_transfer_group_list_transfers_async:
 * @self: a #BgtTransferGroup
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async) (closure user_data): called with the list
 * @user_data: data for @callback
 *
 * Lists the group's transfers, oldest first (a list that stays as it
 * was).
 *
 * Since: 1.0
 */
void
bgt_transfer_group_list_transfers_async (BgtTransferGroup *self, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = NULL;

  g_return_if_fail (BGT_IS_TRANSFER_GROUP (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, bgt_transfer_group_list_transfers_async);
  bgt_client_find_transfers_async (self->client, self->name, NULL, 0, NULL, 0, cancellable,
                                   on_listed, g_steal_pointer (&task));
}

/**
 * bgt_transfer_group_list_transfers_finish:
 * @self: a #BgtTransferGroup
 * @result: the #GAsyncResult
 * @error: return location for a #GError
 *
 * Finishes bgt_transfer_group_list_transfers_async().
 *
 * Returns: (transfer full): a #GListModel of #BgtTransfer
 *
 * Since: 1.0
 */
GListModel *
bgt_transfer_group_list_transfers_finish (BgtTransferGroup *self, GAsyncResult *result,
                                          GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (
      g_task_get_source_tag (G_TASK (result)) == bgt_transfer_group_list_transfers_async, NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
