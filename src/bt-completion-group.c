/* bt-completion-group.c: wakes an application when its transfers have ended
 *
 * docs/contract.md "Completion groups": once enabled and every member has ended, the service calls
 * org.freedesktop.Application.ActivateAction on the app's well-known name
 * (its app id), which D-Bus-activates an app that is not running, and
 * sends Completed to the owner's live connections. An app can only be
 * woken by its own groups, so a sandboxed app can only wake itself.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-bus-object.h"
#include "bt-completion-group.h"
#include "bt-dbus.h"
#include "bt-error.h"

#define BT_COMPLETION_GROUP_INTERFACE "org.freedesktop.BackgroundTransfer.CompletionGroup"

struct _BtCompletionGroup
{
  GObject parent_instance;

  char *id;
  char *object_path;
  char *app_id;
  char *action;
  gboolean enabled;
  gboolean fired;
  GPtrArray *members; /* transfer ids */

  GDBusConnection *connection;
  BtCallers *callers;
  guint registration_id;
};

G_DEFINE_TYPE (BtCompletionGroup, bt_completion_group, G_TYPE_OBJECT)

enum
{
  SIGNAL_ENABLED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void
bt_completion_group_dispose (GObject *object)
{
  bt_completion_group_unexport (BT_COMPLETION_GROUP (object));
  G_OBJECT_CLASS (bt_completion_group_parent_class)->dispose (object);
}

static void
bt_completion_group_finalize (GObject *object)
{
  BtCompletionGroup *self = BT_COMPLETION_GROUP (object);

  g_free (self->id);
  g_free (self->object_path);
  g_free (self->app_id);
  g_free (self->action);
  g_ptr_array_unref (self->members);
  G_OBJECT_CLASS (bt_completion_group_parent_class)->finalize (object);
}

static void
bt_completion_group_class_init (BtCompletionGroupClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bt_completion_group_dispose;
  object_class->finalize = bt_completion_group_finalize;

  /* Enable() was called: the manager checks whether it can fire */
  signals[SIGNAL_ENABLED]
      = g_signal_new ("enabled", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                      G_TYPE_NONE, 1, G_TYPE_DBUS_METHOD_INVOCATION);
}

static void
bt_completion_group_init (BtCompletionGroup *self)
{
  self->members = g_ptr_array_new_with_free_func (g_free);
}

BtCompletionGroup *
bt_completion_group_new (const char *id, const char *app_id, const char *action)
{
  BtCompletionGroup *self = g_object_new (BT_TYPE_COMPLETION_GROUP, NULL);

  self->id = g_strdup (id);
  self->object_path = g_strconcat (BT_COMPLETION_GROUP_PATH_PREFIX, id, NULL);
  self->app_id = g_strdup (app_id);
  self->action = g_strdup (action);
  return self;
}

GVariant *
bt_completion_group_serialize (BtCompletionGroup *self)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "app-id", g_variant_new_string (self->app_id));
  g_variant_builder_add (&b, "{sv}", "action", g_variant_new_string (self->action));
  g_variant_builder_add (&b, "{sv}", "enabled", g_variant_new_boolean (self->enabled));
  g_variant_builder_add (&b, "{sv}", "fired", g_variant_new_boolean (self->fired));
  g_variant_builder_add (
      &b, "{sv}", "members",
      g_variant_new_strv ((const char *const *) self->members->pdata, self->members->len));
  return g_variant_builder_end (&b);
}

BtCompletionGroup *
bt_completion_group_new_from_record (const char *id, GVariant *record)
{
  g_autoptr (BtCompletionGroup) self = NULL;
  g_autofree const char **members = NULL;
  const char *app_id, *action;

  if (!g_variant_lookup (record, "app-id", "&s", &app_id)
      || !g_variant_lookup (record, "action", "&s", &action))
    return NULL;
  self = bt_completion_group_new (id, app_id, action);
  g_variant_lookup (record, "enabled", "b", &self->enabled);
  g_variant_lookup (record, "fired", "b", &self->fired);
  if (g_variant_lookup (record, "members", "^a&s", &members))
    for (guint i = 0; members[i] != NULL; i++)
      g_ptr_array_add (self->members, g_strdup (members[i]));
  return g_steal_pointer (&self);
}

static GVariant *
members_variant (BtCompletionGroup *self)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("ao"));
  for (guint i = 0; i < self->members->len; i++)
    {
      g_autofree char *path
          = g_strconcat ("/org/freedesktop/BackgroundTransfer/transfer/",
                         (const char *) g_ptr_array_index (self->members, i), NULL);
      g_variant_builder_add (&b, "o", path);
    }
  return g_variant_builder_end (&b);
}

static GVariant *
property_value (BtCompletionGroup *self, const char *name)
{
  if (g_str_equal (name, "Enabled"))
    return g_variant_new_boolean (self->enabled);
  if (g_str_equal (name, "Action"))
    return g_variant_new_string (self->action);
  if (g_str_equal (name, "Members"))
    return members_variant (self);
  return NULL;
}

/* Enable(), from the owner: the manager records it and answers */
static void
dispatch (gpointer object, GDBusMethodInvocation *invocation)
{
  BtCompletionGroup *self = object;

  if (!self->enabled)
    {
      self->enabled = TRUE;
      /* The handler answers (it takes a reference of its own) */
      g_signal_emit (self, signals[SIGNAL_ENABLED], 0, invocation);
      g_object_unref (invocation);
      return;
    }
  g_dbus_method_invocation_return_value (invocation, NULL);
}

static const char *
get_owner (gpointer object)
{
  return BT_COMPLETION_GROUP (object)->app_id;
}

static GVariant *
get_property (gpointer object, const char *name)
{
  return property_value (BT_COMPLETION_GROUP (object), name);
}

static const BtBusObjectVTable bus_object_vtable = {
  .info = &org_freedesktop_background_transfer_completion_group_interface,
  .foreign_message = "This group belongs to another application",
  .get_owner = get_owner,
  .get_property = get_property,
  .method_call = dispatch,
};

static void
method_call (GDBusConnection *connection, const char *sender, const char *object_path,
             const char *interface_name, const char *method_name, GVariant *parameters,
             GDBusMethodInvocation *invocation, gpointer user_data)
{
  BtCompletionGroup *self = user_data;

  bt_bus_object_dispatch (&bus_object_vtable, self, self->callers, invocation);
}

static const GDBusInterfaceVTable group_vtable = {
  method_call,
  NULL,
  NULL,
  { 0 },
};

gboolean
bt_completion_group_export (BtCompletionGroup *self, GDBusConnection *connection,
                            BtCallers *callers, GError **error)
{
  self->registration_id = g_dbus_connection_register_object (
      connection, self->object_path,
      (GDBusInterfaceInfo *) &org_freedesktop_background_transfer_completion_group_interface,
      &group_vtable, self, NULL, error);
  if (self->registration_id == 0)
    return FALSE;
  self->connection = g_object_ref (connection);
  self->callers = g_object_ref (callers);
  return TRUE;
}

void
bt_completion_group_unexport (BtCompletionGroup *self)
{
  if (self->registration_id != 0)
    {
      g_dbus_connection_unregister_object (self->connection, self->registration_id);
      self->registration_id = 0;
    }
  g_clear_object (&self->connection);
  g_clear_object (&self->callers);
}

static char *
app_object_path (const char *app_id)
{
  /* The org.freedesktop.Application convention: /org/example/App */
  g_autofree char *path = g_strconcat ("/", app_id, NULL);

  for (char *p = path; *p != '\0'; p++)
    {
      if (*p == '.')
        *p = '/';
      else if (*p == '-')
        *p = '_';
    }
  return g_steal_pointer (&path);
}

static void
on_activated (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree char *app_id = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) reply
      = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);

  if (reply == NULL)
    g_message ("Could not wake the application %s: %s", app_id, error->message);
}

/*
 * bt_completion_group_fire:
 * @transfers: (transfer floating): aa{sv}, one dictionary per member
 */
void
bt_completion_group_fire (BtCompletionGroup *self, GVariant *transfers)
{
  g_autoptr (GVariant) members = g_variant_ref_sink (transfers);
  g_autoptr (GVariant) signal_params = NULL;
  GVariantBuilder info, params;
  GPtrArray *peers;

  self->fired = TRUE;

  /* Live owners hear it directly */
  signal_params = g_variant_ref_sink (g_variant_new ("(@aa{sv})", members));
  peers = self->callers != NULL ? bt_callers_get_peers (self->callers, self->app_id) : NULL;
  for (guint i = 0; peers != NULL && i < peers->len; i++)
    g_dbus_connection_emit_signal (self->connection, g_ptr_array_index (peers, i),
                                   self->object_path, BT_COMPLETION_GROUP_INTERFACE, "Completed",
                                   signal_params, NULL);

  /* …and the app is woken (D-Bus-activated if need be) through its name */
  if (self->connection == NULL || !g_dbus_is_name (self->app_id)
      || g_dbus_is_unique_name (self->app_id))
    return;
  g_variant_builder_init (&info, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&info, "{sv}", "group", g_variant_new_object_path (self->object_path));
  g_variant_builder_add (&info, "{sv}", "transfers", members);
  g_variant_builder_init (&params, G_VARIANT_TYPE ("av"));
  g_variant_builder_add (&params, "v", g_variant_builder_end (&info));
  {
    g_autofree char *path = app_object_path (self->app_id);

    g_dbus_connection_call (
        self->connection, self->app_id, path, "org.freedesktop.Application", "ActivateAction",
        g_variant_new ("(sav@a{sv})", self->action, &params, g_variant_new ("a{sv}", NULL)), NULL,
        G_DBUS_CALL_FLAGS_NONE, 30000, NULL, on_activated, g_strdup (self->app_id));
  }
}

const char *
bt_completion_group_get_id (BtCompletionGroup *self)
{
  return self->id;
}

const char *
bt_completion_group_get_object_path (BtCompletionGroup *self)
{
  return self->object_path;
}

const char *
bt_completion_group_get_app_id (BtCompletionGroup *self)
{
  return self->app_id;
}

gboolean
bt_completion_group_is_enabled (BtCompletionGroup *self)
{
  return self->enabled;
}

gboolean
bt_completion_group_has_fired (BtCompletionGroup *self)
{
  return self->fired;
}

/* (transfer none) (element-type utf8): the ids of its transfers */
GPtrArray *
bt_completion_group_get_members (BtCompletionGroup *self)
{
  return self->members;
}

void
bt_completion_group_add_member (BtCompletionGroup *self, const char *transfer_id)
{
  g_ptr_array_add (self->members, g_strdup (transfer_id));
}
