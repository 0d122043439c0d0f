/* bt-bus-object.h: an object on the bus that belongs to an application
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "bt-callers.h"

G_BEGIN_DECLS

/* What an owned object tells the dispatcher about itself (a vtable) */
typedef struct
{
  const GDBusInterfaceInfo *info;
  const char *foreign_message; /* the AccessDenied text for another app */
  /* The owning app id; NULL for an object anyone may call */
  const char *(*get_owner) (gpointer object);
  /* Whether it still exists (a call may outlive a removal) */
  gboolean (*is_alive) (gpointer object);
  /* (transfer floating): a property of @info, or NULL */
  GVariant *(*get_property) (gpointer object, const char *name);
  /* A method of @info, from its owner */
  void (*method_call) (gpointer object, GDBusMethodInvocation *invocation);
} BtBusObjectVTable;

GVariant *bt_bus_object_get_all (const BtBusObjectVTable *vtable, gpointer object);
void bt_bus_object_dispatch (const BtBusObjectVTable *vtable, gpointer object, BtCallers *callers,
                             GDBusMethodInvocation *invocation);

G_END_DECLS
