/* bt-portal.h: the portal backend, org.freedesktop.impl.portal.BackgroundTransfer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "bt-manager.h"

G_BEGIN_DECLS

#define BT_TYPE_PORTAL (bt_portal_get_type ())
G_DECLARE_FINAL_TYPE (BtPortal, bt_portal, BT, PORTAL, GObject)

BtPortal *bt_portal_new (GDBusConnection *connection, BtManager *manager, GError **error);

G_END_DECLS
