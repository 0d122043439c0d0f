/* bt-changes.h: PropertiesChanged, coalesced and unicast to the owner
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "bt-callers.h"

G_BEGIN_DECLS

typedef struct _BtChanges BtChanges;

/* (transfer floating): the value of a property of the object */
typedef GVariant *(*BtChangesGetFunc) (gpointer object, const char *name);

/* Called as the changes go out, to send signals that go with them */
typedef void (*BtChangesFlushFunc) (gpointer object, BtChanges *changes);

BtChanges *bt_changes_new (const char *interface, const char *const *immediate,
                           BtChangesGetFunc get_value, gpointer object);
void bt_changes_set_flush_func (BtChanges *self, BtChangesFlushFunc func);
void bt_changes_emit (BtChanges *self, const char *signal_name, GVariant *parameters);
void bt_changes_free (BtChanges *self);
void bt_changes_attach (BtChanges *self, GDBusConnection *connection, BtCallers *callers,
                        const char *object_path, const char *app_id, gboolean via_portal);
void bt_changes_detach (BtChanges *self);
void bt_changes_add (BtChanges *self, const char *property);
void bt_changes_flush (BtChanges *self);
void bt_changes_flush_soon (BtChanges *self);

G_END_DECLS
