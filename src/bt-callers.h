/* bt-callers.h: who is calling: bus connections and their application ids
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define BT_TYPE_CALLERS (bt_callers_get_type ())
G_DECLARE_FINAL_TYPE (BtCallers, bt_callers, BT, CALLERS, GObject)

BtCallers *bt_callers_new (GDBusConnection *connection);

void bt_callers_resolve_async (BtCallers *self, const char *sender, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
gboolean bt_callers_resolve_finish (BtCallers *self, GAsyncResult *result, GError **error);

const char *bt_callers_identify (BtCallers *self, const char *sender, const char *declared_app_id,
                                 GError **error);
const char *bt_callers_lookup (BtCallers *self, const char *sender);
gboolean bt_callers_is_sandboxed (BtCallers *self, const char *sender);
GPtrArray *bt_callers_get_peers (BtCallers *self, const char *app_id);
GPtrArray *bt_callers_get_audience (BtCallers *self, const char *app_id, gboolean via_portal);
void bt_callers_set_frontend (BtCallers *self, const char *sender);
guint bt_callers_get_n_callers (BtCallers *self);

gboolean bt_app_id_is_valid (const char *app_id);
gboolean bt_sandboxed_app_id_is_valid (const char *app_id);
gboolean bt_callers_check_network (const char *app_id, gboolean sandboxed, gboolean network,
                                   GError **error);
gboolean bt_parse_flatpak_info (const char *data, gsize length, char **out_app_id,
                                gboolean *out_network, GError **error);

G_END_DECLS
