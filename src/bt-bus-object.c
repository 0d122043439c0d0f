/* bt-bus-object.c: the one way an application's object answers on the bus
 *
 * Transfers and completion groups belong to an application. Every call on
 * them, property reads included (GDBus routes Properties calls to the
 * method handler when the vtable has no get_property), first waits for the
 * caller's identity (bt-callers.c), then is refused with AccessDenied
 * unless it comes from the owning app (docs/contract.md "Applications and isolation"), and
 * only then reaches the object. Properties are read-only.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "bt-bus-object.h"
#include "bt-error.h"

typedef struct
{
  const BtBusObjectVTable *vtable;
  GObject *object;
  GDBusMethodInvocation *invocation;
} Call;

/*
 * bt_bus_object_get_all:
 *
 * Returns: (transfer floating): every property of the object's interface,
 * as Properties.GetAll answers them
 */
GVariant *
bt_bus_object_get_all (const BtBusObjectVTable *vtable, gpointer object)
{
  const GDBusInterfaceInfo *info = vtable->info;
  GVariantBuilder all;

  g_variant_builder_init (&all, G_VARIANT_TYPE_VARDICT);
  for (guint i = 0; info->properties != NULL && info->properties[i] != NULL; i++)
    {
      GVariant *value = vtable->get_property (object, info->properties[i]->name);

      /* Not g_variant_builder_add (…, "{sv}", …): no format to parse */
      if (value != NULL)
        g_variant_builder_add_value (
            &all, g_variant_new_dict_entry (g_variant_new_string (info->properties[i]->name),
                                            g_variant_new_variant (value)));
    }
  return g_variant_builder_end (&all);
}

static void
handle_properties (const BtBusObjectVTable *vtable, gpointer object,
                   GDBusMethodInvocation *invocation)
{
  const char *method = g_dbus_method_invocation_get_method_name (invocation);
  GVariant *parameters = g_dbus_method_invocation_get_parameters (invocation);
  const GDBusInterfaceInfo *info = vtable->info;
  const char *iface, *name;

  if (g_str_equal (method, "GetAll"))
    {
      g_variant_get (parameters, "(&s)", &iface);
      g_dbus_method_invocation_return_value (
          invocation, g_variant_new ("(@a{sv})", g_str_equal (iface, info->name)
                                                     ? bt_bus_object_get_all (vtable, object)
                                                     : g_variant_new ("a{sv}", NULL)));
      return;
    }
  if (g_str_equal (method, "Get"))
    {
      GVariant *value = NULL;

      g_variant_get (parameters, "(&s&s)", &iface, &name);
      if (g_str_equal (iface, info->name))
        value = vtable->get_property (object, name);
      if (value == NULL)
        g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS,
                                               "No such property “%s”", name);
      else
        g_dbus_method_invocation_return_value (invocation, g_variant_new ("(v)", value));
      return;
    }
  g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_PROPERTY_READ_ONLY,
                                         "The properties of %s are read-only", info->name);
}

static void
on_caller_resolved (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Call *call = user_data;
  const BtBusObjectVTable *vtable = call->vtable;
  GDBusMethodInvocation *invocation = call->invocation;
  g_autoptr (GError) error = NULL;
  const char *sender = g_dbus_method_invocation_get_sender (invocation);

  if (!bt_callers_resolve_finish (BT_CALLERS (source), result, &error))
    bt_invocation_return_error (invocation, error);
  else if (vtable->is_alive != NULL && !vtable->is_alive (call->object))
    g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT,
                                           "The object is gone");
  else if (vtable->get_owner != NULL
           && g_strcmp0 (bt_callers_lookup (BT_CALLERS (source), sender),
                         vtable->get_owner (call->object))
                  != 0)
    g_dbus_method_invocation_return_error_literal (invocation, BT_ERROR, BT_ERROR_ACCESS_DENIED,
                                                   vtable->foreign_message);
  else if (g_str_equal (g_dbus_method_invocation_get_interface_name (invocation),
                        "org.freedesktop.DBus.Properties"))
    handle_properties (vtable, call->object, invocation);
  else
    vtable->method_call (call->object, invocation);
  g_object_unref (call->object);
  g_free (call);
}

/*
 * bt_bus_object_dispatch:
 * @object: a GObject, kept alive until the call is answered or handed on
 * @invocation: (transfer full): the call
 *
 * Answers a call on an owned object, after the caller's identity and the
 * owner check.
 */
void
bt_bus_object_dispatch (const BtBusObjectVTable *vtable, gpointer object, BtCallers *callers,
                        GDBusMethodInvocation *invocation)
{
  Call *call = g_new0 (Call, 1);

  call->vtable = vtable;
  call->object = g_object_ref (object);
  call->invocation = invocation;
  bt_callers_resolve_async (callers, g_dbus_method_invocation_get_sender (invocation), NULL,
                            on_caller_resolved, call);
}
