/* bt-portal.c: the portal backend, org.freedesktop.impl.portal.BackgroundTransfer
 *
 * xdg-desktop-portal's frontend identifies the application that calls a
 * portal and asks a backend to act for it, passing the app id it
 * verified. This file is that backend for background transfers: a
 * dispatcher onto the Manager's own creation, listing and control code
 * (bt-manager.c, bt-transfer.c), so that every rule of the service (quotas,
 * options, the sandbox's rules, owner checks, durability before the
 * answer) holds once for both ways in.
 *
 * Who may call: an unsandboxed caller (bt-callers.c, as for everyone) that
 * owns org.freedesktop.portal.Desktop when it calls (GetNameOwner, for
 * every call). Whom it acts for: the app id of each call; a sandboxed
 * app's rules come from the options "sandboxed" and "network", since the
 * app's sandbox metadata is out of the service's reach (the caller is the
 * frontend). Who hears about the transfers: the app's connections and the
 * frontend's, which this file follows as the owner of the frontend's name
 * (bt_callers_set_frontend()). The interface and these choices are
 * documented in data/org.freedesktop.impl.portal.BackgroundTransfer.xml
 * and docs/portal.md.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-callers.h"
#include "bt-dbus.h"
#include "bt-error.h"
#include "bt-names.h"
#include "bt-portal.h"

#define BT_PORTAL_VERSION 1

struct _BtPortal
{
  GObject parent_instance;

  GDBusConnection *connection;
  BtManager *manager;
  BtCallers *callers;
  guint registration_id;
  guint watch_id;
  char *frontend_owner; /* the owner of the frontend's name, or NULL */
};

G_DEFINE_TYPE (BtPortal, bt_portal, G_TYPE_OBJECT)

/* ---- The frontend, for signals ----------------------------------------- */

typedef struct
{
  BtPortal *self;
  char *owner;
} Candidate;

static void
on_frontend_resolved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Candidate *candidate = user_data;
  BtPortal *self = candidate->self;
  g_autoptr (GError) error = NULL;

  if (!bt_callers_resolve_finish (BT_CALLERS (source), result, &error))
    g_debug ("The owner %s of %s is not identified: %s", candidate->owner, BT_PORTAL_FRONTEND_NAME,
             error->message);
  else if (g_strcmp0 (self->frontend_owner, candidate->owner) != 0)
    g_debug ("%s changed hands meanwhile", BT_PORTAL_FRONTEND_NAME);
  else if (bt_callers_is_sandboxed (self->callers, candidate->owner))
    g_debug ("The owner %s of %s is sandboxed: not a frontend", candidate->owner,
             BT_PORTAL_FRONTEND_NAME);
  else
    bt_callers_set_frontend (self->callers, candidate->owner);
  g_object_unref (candidate->self);
  g_free (candidate->owner);
  g_free (candidate);
}

static void
on_frontend_appeared (GDBusConnection *connection, const char *name, const char *owner,
                      gpointer user_data)
{
  BtPortal *self = user_data;
  Candidate *candidate = g_new0 (Candidate, 1);

  g_free (self->frontend_owner);
  self->frontend_owner = g_strdup (owner);
  bt_callers_set_frontend (self->callers, NULL);
  candidate->self = g_object_ref (self);
  candidate->owner = g_strdup (owner);
  bt_callers_resolve_async (self->callers, owner, NULL, on_frontend_resolved, candidate);
}

static void
on_frontend_vanished (GDBusConnection *connection, const char *name, gpointer user_data)
{
  BtPortal *self = user_data;

  g_clear_pointer (&self->frontend_owner, g_free);
  if (self->callers != NULL)
    bt_callers_set_frontend (self->callers, NULL);
}

/* ---- Methods ------------------------------------------------------------ */

static gboolean
check_no_options (GVariant *options, GError **error)
{
  if (g_variant_n_children (options) > 0)
    {
      const char *key;

      g_variant_get_child (options, 0, "{&sv}", &key, NULL);
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Unknown option “%s”", key);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_app_id (const char *app_id, gboolean sandboxed, GError **error)
{
  if (sandboxed ? !bt_sandboxed_app_id_is_valid (app_id) : !bt_app_id_is_valid (app_id))
    {
      g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                   "“%s” is not a valid application id%s", app_id,
                   sandboxed ? " for a sandboxed application" : "");
      return FALSE;
    }
  return TRUE;
}

/* Takes the portal's own options out of @options: "sandboxed" and
 * "network" say which rules apply; "app-id" has no place here. Given
 * twice, one is refused as the transfer's options are (bt_options_check()):
 * which of the two counts would be a guess. */
static GVariant *
split_options (GVariant *options, gboolean *out_sandboxed, gboolean *out_network, GError **error)
{
  guint seen = 0; /* the flags given so far: 1 sandboxed, 2 network */
  GVariantBuilder rest;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  *out_sandboxed = TRUE;
  *out_network = FALSE;
  g_variant_builder_init (&rest, G_VARIANT_TYPE_VARDICT);
  g_variant_iter_init (&iter, options);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr (GVariant) owned G_GNUC_UNUSED = value;
      gboolean *flag = g_str_equal (key, "sandboxed") ? out_sandboxed
                       : g_str_equal (key, "network") ? out_network
                                                      : NULL;
      guint bit = flag == out_sandboxed ? 1 : flag == out_network ? 2 : 0;

      if (g_str_equal (key, "app-id"))
        {
          g_variant_builder_clear (&rest);
          g_set_error_literal (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                               "The application is the app_id argument, not an option");
          return NULL;
        }
      if (flag != NULL && !g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        {
          g_variant_builder_clear (&rest);
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                       "Option “%s” must be of type “b”", key);
          return NULL;
        }
      if (seen & bit)
        {
          g_variant_builder_clear (&rest);
          g_set_error (error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT, "Option “%s” is given twice",
                       key);
          return NULL;
        }
      seen |= bit;
      if (flag != NULL)
        *flag = g_variant_get_boolean (value);
      else
        g_variant_builder_add (&rest, "{sv}", key, value);
    }
  return g_variant_ref_sink (g_variant_builder_end (&rest));
}

static GVariant *
reply_results (BtTransfer *transfer)
{
  GVariantBuilder results;

  g_variant_builder_init (&results, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&results, "{sv}", "transfer",
                         g_variant_new_object_path (bt_transfer_get_object_path (transfer)));
  g_variant_builder_add (&results, "{sv}", "id",
                         g_variant_new_string (bt_transfer_get_id (transfer)));
  return g_variant_new ("(u@a{sv})", 0, g_variant_builder_end (&results));
}

static void
handle_create (BtPortal *self, GDBusMethodInvocation *invocation, BtKind kind)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) options = NULL;
  g_autoptr (GVariant) rest = NULL;
  const char *handle, *app_id, *uri;
  gboolean sandboxed, network;
  BtCreator creator = { 0 };

  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(&o&s&s@a{sv})", &handle,
                 &app_id, &uri, &options);
  rest = split_options (options, &sandboxed, &network, &error);
  if (rest == NULL || !check_app_id (app_id, sandboxed, &error)
      || !bt_callers_check_network (app_id, sandboxed, network, &error))
    {
      bt_invocation_return_error (invocation, error);
      return;
    }
  g_debug ("Portal request %s: a %s for “%s”", handle, bt_kind_to_string (kind), app_id);
  creator.app_id = app_id;
  creator.sandboxed = sandboxed;
  creator.via_portal = TRUE;
  bt_manager_create_transfer (self->manager, invocation, kind, &creator, uri, rest, reply_results);
}

static void
handle_get_transfers (BtPortal *self, GDBusMethodInvocation *invocation)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) filter = NULL;
  g_autoptr (GVariant) declared = NULL;
  g_autoptr (GPtrArray) paths = NULL;
  GVariantBuilder builder;
  const char *app_id;

  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(&s@a{sv})", &app_id,
                 &filter);
  declared = g_variant_lookup_value (filter, "app-id", NULL);
  if (declared != NULL)
    g_set_error_literal (&error, BT_ERROR, BT_ERROR_INVALID_ARGUMENT,
                         "The application is the app_id argument, not a filter");
  else if (check_app_id (app_id, FALSE, &error))
    paths = bt_manager_list_transfers (self->manager, app_id, filter, &error);
  if (paths == NULL)
    {
      bt_invocation_return_error (invocation, error);
      return;
    }

  /* An archived transfer's properties come from its record: it is not
   * read back into the service for this */
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(oa{sv})"));
  for (guint i = 0; i < paths->len; i++)
    {
      const char *path = g_ptr_array_index (paths, i);
      g_autoptr (GVariant) properties = bt_manager_get_transfer_properties (self->manager, path);

      if (properties != NULL)
        g_variant_builder_add (&builder, "(o@a{sv})", path, properties);
    }
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(a(oa{sv}))", &builder));
}

static void
handle_control (BtPortal *self, GDBusMethodInvocation *invocation, const char *method)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GVariant) options = NULL;
  GVariant *parameters = g_dbus_method_invocation_get_parameters (invocation);
  const char *app_id, *path, *value = NULL;
  /* Held until answered: a removed transfer leaves the Manager's table */
  g_autoptr (BtTransfer) transfer = NULL;
  gboolean ok;

  if (g_variant_n_children (parameters) == 4)
    g_variant_get (parameters, "(&s&o&s@a{sv})", &app_id, &path, &value, &options);
  else
    g_variant_get (parameters, "(&s&o@a{sv})", &app_id, &path, &options);
  if (!check_no_options (options, &error)
      || (transfer = bt_manager_lookup_transfer (self->manager, app_id, path, &error)) == NULL)
    {
      bt_invocation_return_error (invocation, error);
      return;
    }

  if (g_str_equal (method, "Start"))
    ok = bt_transfer_start (transfer, &error);
  else if (g_str_equal (method, "Pause"))
    ok = bt_transfer_pause (transfer, &error);
  else if (g_str_equal (method, "Resume"))
    ok = bt_transfer_resume (transfer, &error);
  else if (g_str_equal (method, "Cancel"))
    ok = bt_transfer_cancel (transfer, &error);
  else if (g_str_equal (method, "Remove"))
    ok = bt_transfer_remove (transfer, &error);
  else if (g_str_equal (method, "SetPriority"))
    ok = bt_transfer_set_priority_named (transfer, value, &error);
  else
    ok = bt_transfer_set_cost_policy_named (transfer, value, &error);

  if (!ok)
    bt_invocation_return_error (invocation, error);
  else
    bt_transfer_return_when_saved (transfer, invocation);
}

static void
handle_properties (GDBusMethodInvocation *invocation)
{
  const char *method = g_dbus_method_invocation_get_method_name (invocation);
  GVariant *parameters = g_dbus_method_invocation_get_parameters (invocation);
  const char *iface, *name = "";
  GVariantBuilder all;

  g_variant_builder_init (&all, G_VARIANT_TYPE_VARDICT);
  if (g_str_equal (method, "GetAll"))
    {
      g_variant_get (parameters, "(&s)", &iface);
      if (g_str_equal (iface, BT_PORTAL_INTERFACE))
        g_variant_builder_add (&all, "{sv}", "version", g_variant_new_uint32 (BT_PORTAL_VERSION));
      g_dbus_method_invocation_return_value (invocation, g_variant_new ("(a{sv})", &all));
      return;
    }
  g_variant_builder_clear (&all);
  if (g_str_equal (method, "Get"))
    {
      g_variant_get (parameters, "(&s&s)", &iface, &name);
      if (g_str_equal (iface, BT_PORTAL_INTERFACE) && g_str_equal (name, "version"))
        {
          g_dbus_method_invocation_return_value (
              invocation, g_variant_new ("(v)", g_variant_new_uint32 (BT_PORTAL_VERSION)));
          return;
        }
      g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                             "No such property “%s”", name);
      return;
    }
  g_dbus_method_invocation_return_error_literal (invocation, G_DBUS_ERROR,
                                                 G_DBUS_ERROR_PROPERTY_READ_ONLY,
                                                 "The properties of the portal are read-only");
}

static void
dispatch (BtPortal *self, GDBusMethodInvocation *invocation)
{
  const char *method = g_dbus_method_invocation_get_method_name (invocation);

  if (g_str_equal (g_dbus_method_invocation_get_interface_name (invocation),
                   "org.freedesktop.DBus.Properties"))
    handle_properties (invocation);
  else if (g_str_equal (method, "CreateDownload"))
    handle_create (self, invocation, BT_KIND_DOWNLOAD);
  else if (g_str_equal (method, "CreateUpload"))
    handle_create (self, invocation, BT_KIND_UPLOAD);
  else if (g_str_equal (method, "GetTransfers"))
    handle_get_transfers (self, invocation);
  else
    handle_control (self, invocation, method);
}

/* ---- Who may call ------------------------------------------------------- */

typedef struct
{
  BtPortal *self;
  GDBusMethodInvocation *invocation;
} Call;

static void
call_free (Call *call)
{
  g_object_unref (call->self);
  g_free (call);
}

static void
deny (GDBusMethodInvocation *invocation)
{
  g_dbus_method_invocation_return_error (invocation, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                                         "Only the portal frontend, an unsandboxed owner of %s, "
                                         "may call %s",
                                         BT_PORTAL_FRONTEND_NAME, BT_PORTAL_INTERFACE);
}

static void
on_frontend_owner (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Call *call = user_data;
  g_autoptr (GVariant) reply = NULL;
  const char *owner = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(&s)", &owner);
  if (g_strcmp0 (owner, g_dbus_method_invocation_get_sender (call->invocation)) == 0)
    dispatch (call->self, call->invocation);
  else
    deny (call->invocation);
  call_free (call);
}

static void
on_caller_resolved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Call *call = user_data;
  g_autoptr (GError) error = NULL;
  const char *sender = g_dbus_method_invocation_get_sender (call->invocation);

  if (!bt_callers_resolve_finish (BT_CALLERS (source), result, &error))
    {
      bt_invocation_return_error (call->invocation, error);
      call_free (call);
      return;
    }
  if (bt_callers_is_sandboxed (BT_CALLERS (source), sender))
    {
      deny (call->invocation);
      call_free (call);
      return;
    }
  /* Who owns the name now, not who owned it when this call was sent */
  g_dbus_connection_call (call->self->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetNameOwner",
                          g_variant_new ("(s)", BT_PORTAL_FRONTEND_NAME), G_VARIANT_TYPE ("(s)"),
                          G_DBUS_CALL_FLAGS_NONE, -1, NULL, on_frontend_owner, call);
}

static void
portal_method_call (GDBusConnection *connection, const char *sender, const char *object_path,
                    const char *interface_name, const char *method_name, GVariant *parameters,
                    GDBusMethodInvocation *invocation, gpointer user_data)
{
  Call *call = g_new0 (Call, 1);

  call->self = g_object_ref (user_data);
  call->invocation = invocation;
  bt_callers_resolve_async (call->self->callers, sender, NULL, on_caller_resolved, call);
}

static const GDBusInterfaceVTable portal_vtable = {
  portal_method_call,
  NULL, /* Properties calls reach portal_method_call, after the check */
  NULL,
  { 0 },
};

/* ---- Object ------------------------------------------------------------- */

static void
bt_portal_dispose (GObject *object)
{
  BtPortal *self = BT_PORTAL (object);

  if (self->watch_id != 0)
    {
      g_bus_unwatch_name (self->watch_id);
      self->watch_id = 0;
    }
  if (self->registration_id != 0)
    {
      g_dbus_connection_unregister_object (self->connection, self->registration_id);
      self->registration_id = 0;
    }
  g_clear_object (&self->callers);
  g_clear_object (&self->manager);
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (bt_portal_parent_class)->dispose (object);
}

static void
bt_portal_finalize (GObject *object)
{
  BtPortal *self = BT_PORTAL (object);

  g_free (self->frontend_owner);

  G_OBJECT_CLASS (bt_portal_parent_class)->finalize (object);
}

static void
bt_portal_class_init (BtPortalClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = bt_portal_dispose;
  object_class->finalize = bt_portal_finalize;
}

static void
bt_portal_init (BtPortal *self)
{
}

/*
 * bt_portal_new:
 *
 * Exports the portal backend next to @manager, whose code it uses.
 */
BtPortal *
bt_portal_new (GDBusConnection *connection, BtManager *manager, GError **error)
{
  g_autoptr (BtPortal) self = g_object_new (BT_TYPE_PORTAL, NULL);

  self->connection = g_object_ref (connection);
  self->manager = g_object_ref (manager);
  self->callers = g_object_ref (bt_manager_get_callers (manager));
  self->registration_id = g_dbus_connection_register_object (
      connection, BT_PORTAL_PATH,
      (GDBusInterfaceInfo *) &org_freedesktop_impl_portal_background_transfer_interface,
      &portal_vtable, self, NULL, error);
  if (self->registration_id == 0)
    return NULL;
  self->watch_id = g_bus_watch_name_on_connection (
      connection, BT_PORTAL_FRONTEND_NAME, G_BUS_NAME_WATCHER_FLAGS_NONE, on_frontend_appeared,
      on_frontend_vanished, self, NULL);
  return g_steal_pointer (&self);
}
