/* bt-manager.h: the Manager object, the queue and the service's lifetime
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define BT_MANAGER_PATH "/org/freedesktop/BackgroundTransfer"

#define BT_TYPE_MANAGER (bt_manager_get_type ())
G_DECLARE_FINAL_TYPE (BtManager, bt_manager, BT, MANAGER, GObject)

BtManager *bt_manager_new (GDBusConnection *connection, guint idle_timeout_s, GError **error);
void bt_manager_shutdown (BtManager *self);

G_END_DECLS
