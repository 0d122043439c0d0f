/* bt-settings.h: the service's settings, read once until they change
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

GSettings *bt_settings_new (void);
guint bt_settings_get_uint (GSettings *settings, const char *key);
guint64 bt_settings_get_uint64 (GSettings *settings, const char *key);
gboolean bt_settings_get_boolean (GSettings *settings, const char *key);

G_END_DECLS
